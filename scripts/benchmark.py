#!/usr/bin/env python3
"""Benchmark whole-scene cloud detection: network alone, engine, naive pipeline, QGIS.

Examples:
    python scripts/benchmark.py --size 4096 --output bench_output
    python scripts/benchmark.py --size 7800 --output bench_output --qgis --batch-scaling

Builds a realistic Level-1 scene (see ``benchmark_scene.py``), then measures in one
run, each in a fresh subprocess so memory and warm caches do not leak between them:

1. ``network``: forward passes on ready tensors of the tile size (the limit);
2. ``engine``: ``detect_clouds`` through ``scripts/detect.py``'s code path, reading and
   writing GeoTIFFs, in megapixels of valid input per second;
3. ``naive``: the same model on the whole scene loaded as float32, non-overlapping
   tiles, batch of one, ``torch.no_grad()`` instead of inference mode;

and the peak resident memory of each (``VmHWM`` of the subprocess). It prints
a table and writes ``benchmark.json`` and ``benchmark.md`` to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(SCRIPTS))

from benchmark_report import print_table, write_reports  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CLOUD_FCN_DATA", REPO.parent / "shared" / "data"))
KINDS = ("network", "engine", "naive")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description="Benchmark whole-scene cloud detection against the network alone."
    )
    parser.add_argument("--size", type=int, default=4096, help="scene side in pixels")
    parser.add_argument("--output", type=Path, default=Path("bench_output"),
                        help="folder for benchmark.json and benchmark.md")
    parser.add_argument("--weights", type=Path,
                        help="checkpoint (default: bundled, else an untrained cloudfcn_lite)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the shared real-data folder the scene is tiled from")
    parser.add_argument("--scene", type=Path, help="benchmark this scene instead of building one")
    parser.add_argument("--workdir", type=Path,
                        help="keep the scene and outputs here (default: a temporary folder)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    parser.add_argument("--tile-size", type=int, help="tile edge (default: the model's)")
    parser.add_argument("--overlap", type=int, help="tile overlap (default: the model's)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--network-seconds", type=float, default=10.0,
                        help="how long to time the network alone")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each measurement this many times and keep the fastest")
    parser.add_argument("--skip", nargs="*", choices=KINDS, default=[],
                        help="measurements to leave out (the naive one needs scene-sized memory)")
    parser.add_argument("--qgis", action="store_true",
                        help="also time the Processing algorithm through qgis_process")
    parser.add_argument("--batch-scaling", action="store_true",
                        help="also measure scenes per minute with 1 and 2 Dask workers")
    parser.add_argument("--batch-scenes", type=int, default=4,
                        help="scenes per batch-scaling measurement")
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    return parser


# ------------------------------------------------------------------ preparation


def prepare_weights(weights: Path | None, workdir: Path) -> tuple[Path, str]:
    """Return the checkpoint to benchmark and a note on where it came from."""
    from cloud_fcn_plugin.engine.resources import default_weights_path

    if weights is not None:
        return weights, f"checkpoint {weights}"
    bundled = default_weights_path()
    if bundled.is_file():
        return bundled, "bundled weights"
    from cloud_fcn_plugin.engine.models import build_model
    from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
    from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint

    # Speed does not depend on the weights' values, so an untrained model is a fair stand-in.
    path = workdir / "cloudfcn_lite_untrained.safetensors"
    model = build_model("cloudfcn_lite")
    metadata = CheckpointMetadata(
        architecture="cloudfcn_lite", arch_args=dict(model.arch_args),
        provenance={"note": "untrained, made by scripts/benchmark.py"},
    )  # fmt: skip
    save_checkpoint(path, model, metadata)
    return path, "untrained cloudfcn_lite (no bundled weights yet; speed is the same)"


def _scene_bands(weights: Path) -> int:
    """Bands of the scene to build: 6 (B2-B7) for a model that reads SWIR, else 4 (B2-B5)."""
    if weights.suffix == ".onnx":
        return 4
    from cloud_fcn_plugin.engine.models.checkpoints import read_metadata

    return 6 if {"swir1", "swir2"} <= set(read_metadata(weights).bands) else 4


def prepare_scene(args: argparse.Namespace, workdir: Path, weights: Path) -> dict[str, Any]:
    """Build (or describe) the scene, with the bands ``weights`` reads; return its facts."""
    import numpy as np
    import rasterio

    if args.scene is not None:
        with rasterio.open(args.scene) as dataset:
            valid = 0
            for _, window in dataset.block_windows(1):
                valid += int(np.count_nonzero(dataset.read(window=window).all(axis=0)))
            size = f"{dataset.width}x{dataset.height}"
            return {"path": str(args.scene), "size": size, "pixels": dataset.width *
                    dataset.height, "valid_pixels": valid, "built_seconds": 0.0}
    from benchmark_scene import build_scene

    started = time.perf_counter()
    bands = _scene_bands(weights)
    name = f"LC08_L1TP_017033_20200601_20200608_02_T1_B2-B{bands + 1}_synthetic{args.size}.tif"
    info = build_scene(workdir / name, args.size, args.data, bands=bands)
    return {
        "path": str(info.path), "size": f"{args.size}x{args.size}", "pixels": args.size**2,
        "valid_pixels": info.valid_pixels, "fill_fraction": round(info.fill_fraction, 3),
        "patches": info.patches, "built_seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip


# ------------------------------------------------------------------ measurements (child side)


def _setup_torch(spec: dict[str, Any]) -> Any:
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    return torch


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started (exec), in MB.

    Linux's ``ru_maxrss`` survives ``exec`` and so starts at the parent's resident
    size at fork time; ``VmHWM`` belongs to the new program alone.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _sync(torch: Any, device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure_network(spec: dict[str, Any]) -> dict[str, Any]:
    """Time forward passes on ready tensors of the tile size (no I/O, no blending).

    Two ways of using the cores are timed and the faster is the limit: one forward
    pass of ``batch_size`` tiles on all torch threads, and (on the CPU) one thread per
    core each running single tiles on one torch thread, as the engine does there.
    """
    torch = _setup_torch(spec)
    from cloud_fcn_plugin.engine.inference.predictor import load_predictor

    predictor = load_predictor(spec["weights"], spec["device"], spec["batch_size"])
    tile = spec.get("tile_size") or predictor.metadata.tile_size
    side = tile + (-tile % predictor.size_multiple)
    seconds = spec["network_seconds"]
    batched = _forward_rate(torch, predictor, predictor.batch_size, side, seconds)
    pooled = None
    if predictor.device.type == "cpu" and predictor.cpu_workers > 1:
        pooled = _pooled_forward_rate(torch, predictor, side, seconds)
    best = max(batched, pooled or batched, key=lambda rate: rate["tiles_per_s"])
    pixels_per_s = best["tiles_per_s"] * tile * tile
    return {"seconds": best["seconds"], "megapixels": best["tiles"] * tile * tile / 1e6,
            "mpx_per_s": pixels_per_s / 1e6, "tile_size": tile,
            "batched_mpx_per_s": batched["tiles_per_s"] * tile * tile / 1e6,
            "pooled_mpx_per_s": pooled and pooled["tiles_per_s"] * tile * tile / 1e6,
            "way": "pooled" if best is pooled else "batched",
            "cpu_workers": predictor.cpu_workers, **_torch_facts(torch, predictor)}


def _forward_rate(
    torch: Any, predictor: Any, batch_size: int, side: int, seconds: float
) -> dict[str, float]:
    """Tiles per second of ``batch_size``-tile forward passes on the calling thread."""
    bands = len(predictor.metadata.bands)
    batch = torch.randn(batch_size, bands, side, side, device=predictor.device)
    cuda = predictor.mixed_precision
    tiles, elapsed = 0, 0.0
    with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=cuda):
        for _ in range(2):  # warm-up: oneDNN/cuDNN pick their kernels on the first passes
            predictor.model(batch)
        _sync(torch, predictor.device)
        started = time.perf_counter()
        while elapsed < seconds or tiles < 3 * batch_size:
            predictor.model(batch)
            _sync(torch, predictor.device)
            tiles += batch_size
            elapsed = time.perf_counter() - started
    return {"tiles": tiles, "seconds": elapsed, "tiles_per_s": tiles / elapsed}


def _pooled_forward_rate(
    torch: Any, predictor: Any, side: int, seconds: float
) -> dict[str, float]:
    """Tiles per second of ``cpu_workers`` threads, each on one core with one tile a pass."""
    import threading

    workers = predictor.cpu_workers
    ready = threading.Barrier(workers + 1)
    counts: list[int] = []
    stop = threading.Event()

    def work() -> None:
        torch.get_num_threads()  # let torch set the thread up first, then pin it to one core
        torch.set_num_threads(1)
        tile = torch.randn(1, len(predictor.metadata.bands), side, side)
        count = 0
        with torch.inference_mode():
            for _ in range(2):
                predictor.model(tile)
            ready.wait()
            while not stop.is_set():
                predictor.model(tile)
                count += 1
        counts.append(count)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    # Passes still running at the stop are counted, so time until the last one ends.
    elapsed = time.perf_counter() - started
    return {"tiles": sum(counts), "seconds": elapsed, "tiles_per_s": sum(counts) / elapsed}


def _torch_facts(torch: Any, predictor: Any) -> dict[str, Any]:
    model = predictor.model
    return {
        "device": str(predictor.device),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "model": getattr(model, "architecture", type(model).__name__),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tile": predictor.metadata.tile_size,
        "overlap": predictor.metadata.overlap,
    }


def measure_engine(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``detect_clouds`` exactly as ``scripts/detect.py`` builds its parameters."""
    torch = _setup_torch(spec)
    import detect

    from cloud_fcn_plugin.engine import pipeline
    from cloud_fcn_plugin.engine.inference.predictor import load_predictor

    argv = [spec["scene"], "-o", spec["mask"], "--weights", spec["weights"], "--quiet",
            "--overwrite", "--device", spec["device"], "--batch-size", str(spec["batch_size"])]
    for option in ("tile_size", "overlap"):
        if spec.get(option) is not None:
            argv += [f"--{option.replace('_', '-')}", str(spec[option])]
    params = detect.params_from_args(detect.build_parser().parse_args(argv))
    started = time.perf_counter()
    # Loading the model is part of the run, as in detect.py; holding the predictor lets us
    # read how many pixels (tiles with margins and padding) went through the network.
    predictor = load_predictor(params.weights, params.device, params.batch_size)
    result = pipeline.detect_clouds(spec["scene"], spec["mask"], params, predictor=predictor)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "megapixels": result.valid_pixels / 1e6,
            "mpx_per_s": result.valid_pixels / 1e6 / elapsed,
            "computed_megapixels": predictor.pixels_computed / 1e6,
            "cloud_cover": round(result.cloud_cover, 2), "device": result.device,
            "torch_threads": torch.get_num_threads()}


def measure_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """The straightforward way: whole scene as float32, plain tiles, batch of one."""
    torch = _setup_torch(spec)
    import numpy as np
    import rasterio

    from cloud_fcn_plugin.engine.inference.predictor import load_predictor
    from cloud_fcn_plugin.engine.scene.scaling import normalize

    started = time.perf_counter()
    predictor = load_predictor(spec["weights"], spec["device"], 1)
    model, meta = predictor.model, predictor.metadata
    tile = spec.get("tile_size") or meta.tile_size
    with rasterio.open(spec["scene"]) as dataset:
        profile = dataset.profile
        dn = dataset.read().astype(np.float32)  # B2, B3, B4, B5
    valid = (dn != 0).all(axis=0)
    reflectance = dn[[2, 1, 0, 3]] * 2.0e-5 - 0.1  # red, green, blue, NIR
    scene = normalize(reflectance, valid, meta.mean, meta.std)
    height, width = valid.shape
    padded = np.zeros((4, height + -height % tile, width + -width % tile), np.float32)
    padded[:, :height, :width] = scene
    probability = np.zeros(padded.shape[1:], np.float32)
    with torch.no_grad():
        for row in range(0, padded.shape[1], tile):
            for col in range(0, padded.shape[2], tile):
                x = torch.from_numpy(padded[None, :, row : row + tile, col : col + tile].copy())
                out = torch.sigmoid(model(x.to(predictor.device)))
                probability[row : row + tile, col : col + tile] = out[0, 0].cpu().numpy()
    mask = (probability[:height, :width] > meta.threshold).astype(np.uint8)
    mask[~valid] = 255
    profile.update(count=1, dtype="uint8", nodata=255, predictor=1)
    with rasterio.open(spec["naive_mask"], "w", **profile) as out_file:
        out_file.write(mask, 1)
    elapsed = time.perf_counter() - started
    pixels = int(np.count_nonzero(valid))
    return {"seconds": elapsed, "megapixels": pixels / 1e6, "mpx_per_s": pixels / 1e6 / elapsed,
            "computed_megapixels": padded.shape[1] * padded.shape[2] / 1e6,
            "device": str(predictor.device), "torch_threads": torch.get_num_threads()}


MEASURES = {"network": measure_network, "engine": measure_engine, "naive": measure_naive}


def child_main(kind: str, spec_text: str) -> int:
    """Run one measurement in this (fresh) process and print its JSON result."""
    spec = json.loads(spec_text)
    result = MEASURES[kind](spec)
    result["peak_rss_mb_self"] = round(_peak_rss_mb(), 1)
    print("BENCHMARK-RESULT " + json.dumps(result))
    return 0


# ------------------------------------------------------------------ measurements (parent side)


def _cpu_seconds_of_others(exclude: set[int]) -> dict[int, float]:
    import psutil

    seconds = {}
    for process in psutil.process_iter(["pid", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None and process.info["pid"] not in exclude:
            seconds[process.info["pid"]] = times.user + times.system
    return seconds


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh Python; add its peak RSS and the background load."""
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", kind,
               "--spec", json.dumps(spec)]
    before = _cpu_seconds_of_others({os.getpid()})
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    after = _cpu_seconds_of_others({os.getpid(), process.pid})
    if process.returncode != 0:
        raise RuntimeError(f"{kind} measurement failed:\n{stderr[-3000:]}")
    line = next(ln for ln in stdout.splitlines() if ln.startswith("BENCHMARK-RESULT "))
    result = json.loads(line.split(" ", 1)[1])
    others = sum(max(0.0, t - before.get(pid, t)) for pid, t in after.items())
    result["peak_rss_mb"] = result.pop("peak_rss_mb_self")
    result["other_processes_cores"] = round(others / wall, 2)
    return result


def measure_all(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run every measurement ``--repeat`` times, interleaved, and keep the fastest of each."""
    kinds = [kind for kind in KINDS if kind not in args.skip]
    best: dict[str, dict[str, Any]] = {}
    for attempt in range(max(args.repeat, 1)):
        for kind in kinds:
            print(f"[{attempt + 1}/{args.repeat}] measuring {kind} ...", file=sys.stderr)
            result = run_child(kind, spec)
            if kind not in best or result["mpx_per_s"] > best[kind]["mpx_per_s"]:
                best[kind] = result
    return best


def _qgis_env(home: Path) -> dict[str, str]:
    """Environment for ``qgis_process`` with its own HOME (hence profile) and our torch."""
    import site

    venv = [p for p in site.getsitepackages() if p.startswith(sys.prefix)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGIS_")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(home),
               PYTHONPATH=os.pathsep.join(venv))
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command; return (seconds, exit code, output tail)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                              cwd=env.get("HOME"), check=False)
        seconds = time.perf_counter() - started
        log.seek(0)
        tail = log.read()[-2000:]
    return seconds, done.returncode, tail


def measure_qgis(spec: dict[str, Any], workdir: Path, repeats: int = 1) -> dict[str, Any]:
    """Time ``qgis_process run cloud_fcn:detectclouds`` against ``scripts/detect.py``.

    The plugin is linked into a throw-away QGIS profile with ``install_dev.py``.
    Both are timed as whole processes, start-up included, and by the detection
    time each reports in its summary line (``... 5.8 s on cpu``), which leaves out
    QGIS's start-up (loading providers and plugins), a constant per process. The
    two run alternately ``repeats`` times and the fastest of each is kept, so a
    burst of load on a shared machine does not decide the ratio.
    """
    # Debian's qgis_process wrapper adds an option the binary rejects.
    qgis_process = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if qgis_process is None:
        return {"available": False, "reason": "qgis_process is not installed"}
    home = workdir / "qgis_home"
    home.mkdir(exist_ok=True)
    env = _qgis_env(home)
    profile = home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    install = subprocess.run([sys.executable, str(SCRIPTS / "install_dev.py"), "--profile-dir",
                              str(profile)], env=env, capture_output=True, text=True)
    listing = subprocess.run([qgis_process, "list"], capture_output=True, text=True, env=env,
                             cwd=home, timeout=300)
    if install.returncode != 0 or "cloud_fcn:detectclouds" not in listing.stdout:
        return {"available": False, "reason": "the cloud_fcn Processing provider did not load: "
                + (install.stderr or listing.stderr)[-500:]}
    qgis_cmd = [qgis_process, "run", "cloud_fcn:detectclouds", "--", f"INPUT={spec['scene']}",
                f"MODEL={spec['weights']}", f"BATCH_SIZE={spec['batch_size']}",
                f"OUTPUT={workdir / 'qgis_mask.tif'}"]
    cli_cmd = [sys.executable, str(SCRIPTS / "detect.py"), spec["scene"], "-o",
               str(workdir / "cli_mask.tif"), "--weights", spec["weights"], "--batch-size",
               str(spec["batch_size"]), "--quiet", "--overwrite"]
    runs: dict[str, list[tuple[float, float | None]]] = {"cli": [], "qgis": []}
    for _ in range(max(repeats, 1)):
        for name, command, run_env in (("cli", cli_cmd, {**os.environ, "HOME": str(home)}),
                                       ("qgis", qgis_cmd, env)):
            seconds, code, log = _timed(command, run_env)
            if code:
                return {"available": True, "error": f"{name}: {log}"}
            runs[name].append((seconds, _reported_seconds(log)))
    cli_seconds = min(seconds for seconds, _ in runs["cli"])
    qgis_seconds = min(seconds for seconds, _ in runs["qgis"])
    result = {"available": True, "runs": repeats, "cli_seconds": round(cli_seconds, 2),
              "qgis_seconds": round(qgis_seconds, 2),
              "ratio": round(qgis_seconds / cli_seconds, 3),
              "note": "wall time of each whole process, start-up included, fastest of the runs"}
    cli_run = min((run for _, run in runs["cli"] if run), default=None)
    qgis_run = min((run for _, run in runs["qgis"] if run), default=None)
    if cli_run and qgis_run:
        result.update(cli_run_seconds=cli_run, qgis_run_seconds=qgis_run,
                      run_ratio=round(qgis_run / cli_run, 3))
    return result


def _reported_seconds(log: str) -> float | None:
    """The detection time in the engine's summary line, which both front ends print."""
    found = re.findall(r"\), ([0-9.]+) s on ", log)
    return float(found[-1]) if found else None


def measure_scaling(args: argparse.Namespace, spec: dict[str, Any]) -> Any:
    """Scenes per minute with 1 and 2 local Dask workers (``engine.batch``), if present."""
    try:
        from cloud_fcn_plugin.engine.batch.run import measure_batch_scaling
    except ImportError as error:
        return {"available": False, "reason": f"engine.batch is not usable: {error}"}
    rows = measure_batch_scaling([spec["scene"]], spec["weights"], (1, 2),
                                 device=spec["device"], batch_size=spec["batch_size"],
                                 repeat=args.batch_scenes)
    return {"available": True, "rows": rows}


# ------------------------------------------------------------------ report


def machine_facts() -> dict[str, Any]:
    """The machine the figures come from."""
    import psutil

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Engine and naive throughput relative to the network alone."""
    out: dict[str, Any] = {}
    network = results.get("network", {}).get("mpx_per_s")
    engine = results.get("engine")
    if network and engine:
        out["engine_vs_network_valid"] = round(engine["mpx_per_s"] / network, 3)
        computed = engine["computed_megapixels"] / engine["seconds"]
        out["engine_vs_network_computed"] = round(computed / network, 3)
        out["computed_per_valid_pixel"] = round(
            engine["computed_megapixels"] / engine["megapixels"], 3
        )
    if engine and results.get("naive"):
        out["engine_speedup_vs_naive"] = round(
            engine["mpx_per_s"] / results["naive"]["mpx_per_s"], 2
        )
        out["naive_vs_engine_memory"] = round(
            results["naive"]["peak_rss_mb"] / engine["peak_rss_mb"], 2
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the scene, run the measurements, print and write the report."""
    args = build_parser().parse_args(argv)
    if args.measure:
        return child_main(args.measure, args.spec or "{}")
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="cloud-fcn-bench-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = run_benchmark(args, workdir)
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(report)
    for path in write_reports(report, args.output):
        print(f"wrote {path}")
    return 0


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Everything but printing: returns the report as a JSON-ready dict."""
    machine = machine_facts()
    weights, weights_note = prepare_weights(args.weights, workdir)
    print(f"weights: {weights_note}", file=sys.stderr)
    scene = prepare_scene(args, workdir, weights)
    print(f"scene: {scene['size']}, {scene['valid_pixels'] / 1e6:.1f} Mpx valid, "
          f"built in {scene['built_seconds']} s", file=sys.stderr)
    spec = {"scene": scene["path"], "weights": str(weights), "device": args.device,
            "batch_size": args.batch_size, "tile_size": args.tile_size, "overlap": args.overlap,
            "threads": args.threads, "network_seconds": args.network_seconds,
            "mask": str(workdir / "engine_mask.tif"), "naive_mask": str(workdir / "naive.tif")}
    results = measure_all(args, spec)
    facts = results.get("network") or results.get("engine") or {}
    report: dict[str, Any] = {
        "command": "python scripts/benchmark.py " + " ".join(argv_text(args)),
        "machine": machine, "scene": scene, "weights": weights_note,
        "model": {k: facts.get(k) for k in ("model", "parameters", "tile", "overlap")},
        "device": facts.get("device"), "torch": facts.get("torch"),
        "torch_threads": facts.get("torch_threads"), "batch_size": args.batch_size,
        "results": results, "ratios": ratios(results),
    }  # fmt: skip
    if args.qgis:
        print("measuring qgis_process vs the command line ...", file=sys.stderr)
        report["qgis"] = measure_qgis(spec, workdir, args.repeat)
    if args.batch_scaling:
        print("measuring batch scaling ...", file=sys.stderr)
        report["batch_scaling"] = measure_scaling(args, spec)
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def argv_text(args: argparse.Namespace) -> list[str]:
    """The options that shaped this run, as a command line."""
    parts = [f"--size {args.size}" if args.scene is None else f"--scene {args.scene}",
             f"--output {args.output}"]
    for name in ("weights", "device", "batch_size", "tile_size", "overlap", "threads", "repeat"):
        value = getattr(args, name)
        default = build_parser().get_default(name)
        if value is not None and value != default:
            parts.append(f"--{name.replace('_', '-')} {value}")
    parts += ["--qgis"] * args.qgis + ["--batch-scaling"] * args.batch_scaling
    return parts


if __name__ == "__main__":
    sys.exit(main())
