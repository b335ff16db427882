#!/usr/bin/env python3
"""Benchmark whole-scene cloud detection end to end, stage by stage (engine timing hooks).

Examples:
    python scripts/benchmark.py --size 7800 --repeat 3 --output bench_output
    python scripts/benchmark.py --size 2048 --inputs product --backend torch onnxruntime

Builds a realistic Level-1 4-band stack and a Level-1 product folder (B2-B7, B9, B10
and an MTL) of ``--size`` pixels (``--inputs level2``: a Level-2 one, SR_B2-SR_B7 and
ST_B10) from the shared real patches (see
``benchmark_scene.py``), or takes ``--scene`` inputs. Each case (input x CPU back end
x the ``--shadow``, ``--physics`` and ``--model`` choices compared) runs ``detect_clouds`` as
``scripts/detect.py`` does, in a fresh process, with the engine's timing collector
open (:mod:`cloud_fcn_plugin.engine.timing`); the cases run interleaved, ``--repeat``
rounds, so a burst of load on a shared machine hits them
alike. Reported per case: median, fastest and slowest seconds, the peak resident
memory (``VmHWM``, what ``/usr/bin/time -v`` calls maximum resident set size), the CPU
seconds of each stage of the median run, and the time ratios of the cases to the
first one, round by round. Written to ``--output``/benchmark.json and benchmark.md,
and with ``--readme README.md`` between its ``<!-- benchmark:start -->`` and
``<!-- benchmark:end -->`` lines (the README's Performance section).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
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

from cloud_fcn_plugin.engine.models.onnx_backend import BACKEND_VARIABLE, BACKENDS  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CLOUD_FCN_DATA", REPO.parent / "shared" / "data"))
INPUTS = ("stack", "product", "level2")
#: What is built unless ``--inputs`` says otherwise.
DEFAULT_INPUTS = ("stack", "product")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="side of the built inputs, px")
    parser.add_argument("--inputs", nargs="+", choices=INPUTS, default=list(DEFAULT_INPUTS),
                        help="inputs to build: a 4-band stack, a Level-1 product folder, a "
                             "Level-2 one")
    parser.add_argument("--scene", type=Path, action="append", default=[],
                        help="benchmark this input (repeatable) instead of building any")
    parser.add_argument("--backend", nargs="+", default=["auto"],
                        choices=BACKENDS,
                        help="CPU back ends to compare (auto: the engine's choice)")
    parser.add_argument("--shadow", nargs="+", default=["auto"],
                        choices=("auto", "geometry", "network"),
                        help="--shadow of detect.py to compare (network: no shadow stage)")
    parser.add_argument("--physics", nargs="+", default=["auto"], choices=("auto", "on", "off"),
                        help="--physics of detect.py to compare (off: the network alone)")
    parser.add_argument("--model", nargs="+", default=["auto"],
                        help="--model of detect.py to compare (e.g. sixband ensemble)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--output", type=Path, default=Path("bench_output"),
                        help="folder for benchmark.json and benchmark.md")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the shared real-data folder the inputs are tiled from")
    parser.add_argument("--workdir", type=Path, help="keep inputs and masks here")
    parser.add_argument("--readme", type=Path,
                        help="also put the report between the benchmark markers of this file")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    return parser  # fmt: skip


# ------------------------------------------------------------------ child: one run


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (exec'd fresh), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one detection as ``scripts/detect.py`` does, inside a timing collection."""
    import detect

    from cloud_fcn_plugin.engine import timing
    from cloud_fcn_plugin.engine.pipeline import detect_clouds

    argv = [spec["input"], "-o", spec["mask"], "--quiet", "--overwrite",
            "--model", spec["model"], "--device", spec["device"],
            "--shadow", spec.get("shadow", "auto"),
            "--physics", spec.get("physics", "auto")]  # fmt: skip
    params = detect.params_from_args(detect.build_parser().parse_args(argv))
    with timing.collecting() as profile:
        result = detect_clouds(spec["input"], spec["mask"], params)
    return {"seconds": profile.wall, "valid_mpx": result.valid_pixels / 1e6,
            "model": result.model, "device": result.device,
            "cloud_cover": round(result.cloud_cover, 3), "profile": profile.as_dict(),
            "table": profile.table(), "peak_rss_mb": round(_peak_rss_mb(), 1)}  # fmt: skip


# ------------------------------------------------------------------ parent


def prepare_inputs(args: argparse.Namespace, workdir: Path) -> list[Path]:
    """The inputs to measure: ``--scene`` ones, else those built in ``workdir``."""
    if args.scene:
        return list(args.scene)
    from benchmark_scene import build_level2_product, build_product, build_scene

    built = []
    for kind in args.inputs:
        started = time.perf_counter()
        if kind == "stack":
            name = f"LC08_L1TP_017033_20200601_20200608_02_T1_B2-B5_{args.size}.tif"
            info = build_scene(workdir / name, args.size, args.data)
        elif kind == "level2":
            info = build_level2_product(workdir / f"level2_{args.size}", args.size, args.data)
        else:
            info = build_product(workdir / f"product{args.size}", args.size, args.data)
        print(f"built {info.path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        built.append(info.path)
    return built


def run_case(spec: dict[str, Any], backend: str) -> dict[str, Any]:
    """One run in a fresh Python with the back end chosen by the environment."""
    env = dict(os.environ)
    env.pop(BACKEND_VARIABLE, None)
    if backend != "auto":
        env[BACKEND_VARIABLE] = backend
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the run of {spec['input']} failed:\n{done.stderr[-3000:]}")
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCHMARK-RESULT "))
    return json.loads(line.split(" ", 1)[1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, fastest and slowest of a case's runs, with the median run's profile."""
    seconds = [run["seconds"] for run in runs]
    median_run = sorted(runs, key=lambda run: run["seconds"])[(len(runs) - 1) // 2]
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3), "seconds": [round(s, 3) for s in seconds],
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "valid_mpx": round(median_run["valid_mpx"], 2), "model": median_run["model"],
            "device": median_run["device"], "cloud_cover": median_run["cloud_cover"],
            "profile": median_run["profile"], "table": median_run["table"]}  # fmt: skip


def ratios(cases: list[tuple[str, ...]], rounds: list[dict[str, float]]) -> dict[str, Any]:
    """Time ratios, per round, of cases that differ in one respect only: median, range.

    ``cases`` are (input, back end, compared choices...) in the order given; a later case
    is divided by an earlier one (list the 4-band stack first to get product / stack).
    """
    names = [case_name(*case) for case in cases]
    out = {}
    for j, later in enumerate(cases):
        for i, earlier in enumerate(cases[:j]):
            if sum(a != b for a, b in zip(later, earlier, strict=True)) != 1:
                continue
            values = [r[names[j]] / r[names[i]] for r in rounds]
            out[f"{names[j]} / {names[i]}"] = {
                "median": round(statistics.median(values), 3),
                "min": round(min(values), 3), "max": round(max(values), 3),
            }  # fmt: skip
    return out


def case_name(name: str, backend: str, *choices: str) -> str:
    """``input [back end]``, with the choices compared (``shadow auto``, ``physics off``)."""
    return f"{name} [{', '.join((backend, *choices))}]"


#: detect.py options a benchmark can compare, each named in the cases where several values are.
COMPARED = ("shadow", "physics", "model")


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Build the inputs, run every case ``--repeat`` rounds interleaved; return the report."""
    inputs = prepare_inputs(args, workdir)
    varied = [option for option in COMPARED if len(getattr(args, option)) > 1]
    choices = list(itertools.product(*(getattr(args, option) for option in varied)))
    cases = [(path, backend, dict(zip(varied, values, strict=True)))
             for path in inputs for backend in args.backend for values in choices]  # fmt: skip
    keys = [(path.name, backend, *(f"{option} {value}" for option, value in chosen.items()))
            for path, backend, chosen in cases]  # fmt: skip
    names = [case_name(*key) for key in keys]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    rounds = []
    for attempt in range(max(args.repeat, 1)):
        times = {}
        for index, (name, (path, backend, chosen)) in enumerate(zip(names, cases, strict=True)):
            spec = {"input": str(path), "mask": str(workdir / f"mask_{index}_{attempt}.tif"),
                    "device": args.device}  # fmt: skip
            spec |= {option: chosen.get(option, getattr(args, option)[0]) for option in COMPARED}
            print(f"[{attempt + 1}/{args.repeat}] {name} ...", file=sys.stderr)
            result = run_case(spec, backend)
            runs[name].append(result)
            times[name] = result["seconds"]
        rounds.append(times)
    return {"command": "python scripts/benchmark.py " + " ".join(sys.argv[1:]),
            "machine": machine(), "cases": {name: summarise(runs[name]) for name in names},
            "ratios": ratios(keys, rounds),
            "rounds": rounds}  # fmt: skip


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the cases, the ratios, then each case's stages."""
    lines = [f"Command: `{report['command']}`", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['logical_cores']} "
             f"logical cores, load average {report['machine']['load_average']}", "",
             "| case | model | valid Mpx | median s | fastest - slowest s | peak RSS MB |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, case in report["cases"].items():
        lines.append(f"| {name} | {case['model']} | {case['valid_mpx']} | {case['median_s']:.2f} "
                     f"| {case['min_s']:.2f} - {case['max_s']:.2f} | {case['peak_rss_mb']:.0f} |")
    if report["ratios"]:
        lines += ["", "| ratio of times, per round | median | range |", "|---|---:|---:|"]
        for name, ratio in report["ratios"].items():
            lines.append(f"| {name} | {ratio['median']:.3f} | {ratio['min']:.3f} - "
                         f"{ratio['max']:.3f} |")  # fmt: skip
    for name, case in report["cases"].items():
        lines += ["", f"Stages of the median run of {name} (CPU seconds of the threads):", "",
                  case["table"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--measure``, one run of it) and write the report."""
    args = build_parser().parse_args(argv)
    if args.measure:
        print("BENCHMARK-RESULT " + json.dumps(measure(json.loads(args.measure))))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cloud-fcn-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        report = run_benchmark(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(report)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output / "benchmark.md").write_text(text)
    print(f"wrote {args.output / 'benchmark.json'} and {args.output / 'benchmark.md'}")
    if args.readme is not None:
        update_readme(args.readme, text)
        print(f"updated {args.readme}")
    return 0


def update_readme(path: Path, text: str) -> None:
    """Replace what lies between the benchmark markers of ``path`` with ``text``."""
    content = path.read_text(encoding="utf-8")
    start, end = "<!-- benchmark:start -->\n", "<!-- benchmark:end -->"
    if start not in content or end not in content:
        raise SystemExit(f"{path} has no {start.strip()} ... {end} lines to fill.")
    head, rest = content.split(start, 1)
    path.write_text(head + start + text + rest[rest.index(end) :], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
