#!/usr/bin/env python3
"""Score public cloud models on the patches and groups of our grouped cross-validation.

The peer is ukis-csmask (DLR, Apache-2.0; Wieland et al. 2019, 2022): a U-Net with
an EfficientNet-B4 encoder shipped as ONNX, a 4-band (blue, green, red, NIR) and a
6-band (+ SWIR1 B6, SWIR2 B7) model, classes clear / cloud / cloud shadow. Its
Level-1C models are used: they take top-of-atmosphere reflectance in 0..1, which is
what the engine's reader gives for both collections here (Biome: TOA as stored;
38-Cloud: Level-1 DN as ``2e-5 * DN - 0.1``, no MTL, no sun-angle correction).

Nothing of ukis-csmask is a dependency of the project: ``make peers`` installs it
into its own virtual environment (``.venv-peers``) and runs this script with the
project's Python, which reads the patches with the engine's datasets code, hands
the reflectance to the peer environment through a temporary ``.npz``, and scores
the answers with the cross-validation's own code
(:func:`~cloud_fcn_plugin.engine.training.crossval.cv_report`), so the figures sit
beside ours on exactly the same patches, groups and folds. The peer's ``cloud``
class (argmax, its own decision) is the headline; its cloud probability (softmax
share of the cloud class, blended over its tiles) is also scored at the best pooled
threshold and at 0.5. Its ``cloud shadow`` class (argmax) is scored too, against the
labelled shadow of the L8 Biome masks, where shadow is known.

Examples:
    make peers                              # installs ukis-csmask[cpu] in .venv-peers, runs this
    .venv/bin/python scripts/compare_peers.py --out peers_output \\
        --folds-file runs/cv/cv/folds.json  # the folds of a train.py --folds run

Writes ``peers.json`` and ``peers.md`` into ``--out`` and prints the pooled Biome
Jaccard, precision and recall of each peer model, and its seconds per megapixel
(single thread) on a mosaic of the patches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATASETS = (
    f"biome:{DATA_DIR / 'l8biome_patches' / 'train'}",
    f"biome:{DATA_DIR / 'l8biome_patches' / 'val'}",
    f"38cloud:{DATA_DIR / '38cloud_sample' / '38-Cloud_training'}",
)
DEFAULT_PEER_PYTHON = REPO_ROOT / ".venv-peers" / "bin" / "python"
PEER = "ukis-csmask"
PEER_LEVEL = "l1c"  # its top-of-atmosphere models
PEER_BANDS = ("blue", "green", "red", "nir", "swir16", "swir22")  # its band names
CLOUD_CLASS = 1  # its classes: 0 clear, 1 cloud, 2 cloud shadow
SHADOW_CLASS = 2
# (key, label, number of bands); the peer picks its model from the band names it is given.
PEER_MODELS = (
    ("4b", "ukis-csmask 4-band (L1C)", 4),
    ("6b", "ukis-csmask 6-band (L1C)", 6),
)
# 1-based SWIR1, SWIR2 of the 8-band Biome patches, then two more bands: the reader takes four.
BIOME_SWIR = (5, 6, 7, 8)
SCENE_MEGAPIXELS = 7800 * 7800 / 1e6  # a full Landsat scene, for the cost estimate
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------- preparation


def peer_input(rgbn: np.ndarray, swir: np.ndarray | None = None) -> np.ndarray:
    """Arrange the engine's reflectance the way the peer takes it.

    Args:
        rgbn: (4, H, W) reflectance in the engine's order red, green, blue, NIR.
        swir: optional (2, H, W) reflectance of SWIR1 (B6) and SWIR2 (B7).

    Returns:
        (H, W, 4 or 6) float32 in the order of :data:`PEER_BANDS`.
    """
    if rgbn.ndim != 3 or rgbn.shape[0] != 4:
        raise ValueError(f"Expected (4, H, W) red, green, blue, NIR; got shape {rgbn.shape}.")
    red, green, blue, nir = rgbn
    planes = [blue, green, red, nir]
    if swir is not None:
        if swir.shape != (2, *rgbn.shape[1:]):
            raise ValueError(f"Expected (2, H, W) SWIR1, SWIR2; got shape {swir.shape}.")
        planes += [swir[0], swir[1]]
    return np.ascontiguousarray(np.stack(planes, axis=-1), dtype=np.float32)


def cloud_share(blended: np.ndarray) -> np.ndarray:
    """Cloud probability from the peer's class scores blended over its tiles.

    The peer adds each tile's softmax weighted by a taper window without dividing by
    the summed weights; the classes of a pixel share the weight, so dividing by the
    sum over classes gives back a probability (0 where no tile covered the pixel).
    """
    total = blended.sum(axis=-1)
    share = np.divide(blended[..., CLOUD_CLASS], total, out=np.zeros(total.shape), where=total > 0)
    return share.astype(np.float32)


def timing_mosaic(arrays: Sequence[np.ndarray], side: int) -> np.ndarray:
    """A ``side`` x ``side`` mosaic of equally sized patches (repeated as needed).

    Used only for timing: on a large input the peer's tile overlap and padding cost
    what they cost on a scene, not what they cost on one small patch.
    """
    if not arrays:
        raise ValueError("No patch to build the timing mosaic from.")
    height, width, channels = arrays[0].shape
    rows, cols = -(-side // height), -(-side // width)
    mosaic = np.zeros((rows * height, cols * width, channels), np.float32)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        mosaic[r * height : (r + 1) * height, c * width : (c + 1) * width] = arrays[k % len(arrays)]
    return mosaic[:side, :side]


def read_patch(spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peer input, cloud truth and scored pixels of one patch, read by the engine.

    Returns:
        ``(input (H, W, C), truth bool (H, W), valid bool (H, W))``; C is 6 for Biome
        patches (their SWIR bands are read too), else 4. Fill is 0 in the input.
    """
    from cloud_fcn_plugin.engine.scene.reader import open_scene

    with spec.open_reader() as reader:
        rgbn, valid = reader.read_all()
    swir = None
    if spec.dataset == "biome" and spec.image is not None:
        with open_scene(spec.image, bands=BIOME_SWIR, product=spec.product) as reader:
            pair, _ = reader.read_all()
        swir = np.where(valid, pair[:2], 0.0)
    truth, labelled = spec.read_truth()
    return peer_input(rgbn, swir), truth, valid & labelled


def read_shadow_truth(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cloud-shadow truth of one patch and where it is known (bool (H, W) each).

    From the datasets' own decoding (``PatchSpec.read_class_truth``): the L8 Biome
    masks label shadow (64); a source without a shadow class (38-Cloud) knows only
    that its cloud pixels are not shadow, so its clear pixels are left unscored.
    """
    classes = spec.read_class_truth()
    return classes[0] > 0.5, classes[1] > 0.5


def assign_folds(specs: Sequence[Any], folds: int, folds_file: Path | None) -> list[list[str]]:
    """The held-out groups of each fold: from a cross-validation's folds.json, or made here."""
    from cloud_fcn_plugin.engine.errors import ParameterError
    from cloud_fcn_plugin.engine.training.crossval import make_folds, patch_group

    if folds_file is None:
        return make_folds(specs, folds)
    held = json.loads(Path(folds_file).read_text(encoding="utf-8"))
    missing = sorted({patch_group(s) for s in specs} - {g for fold in held for g in fold})
    if missing:
        raise ParameterError(
            f"{folds_file} holds out no fold for {', '.join(missing)}: pass the folds.json of "
            "a cross-validation run on the same datasets, or --folds K."
        )
    return [list(fold) for fold in held]


# ----------------------------------------------------------------------- scoring


def _decision_block(markdown: str, title: str) -> list[str]:
    """The ``At threshold 0.5`` table of a report, retitled (a 0/1 map is exact at 0.5)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("### At threshold 0.5"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("### ")), len(lines))
    return [f"### {title}", *lines[start + 1 : end]]


def score_peer(
    names: Sequence[str],
    groups: Sequence[str],
    fold_of: dict[str, int],
    truths: Sequence[np.ndarray],
    valids: Sequence[np.ndarray],
    classes: dict[int, np.ndarray],
    clouds: dict[int, np.ndarray],
    folds: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """Score one peer model with the cross-validation's report.

    Args:
        names, groups, truths, valids: every patch, in order.
        fold_of: fold of each group.
        classes: the peer's class map by patch index (patches it could not run are absent).
        clouds: its cloud probability by patch index.
        folds: held-out groups of each fold.

    Returns:
        ``{"decision": report, "probability": report}``: the decision report scores the
        peer's own class map (cloud class = 1.0), read at 0.5; the probability report
        its cloud probability at the best pooled threshold and at 0.5.
    """
    from cloud_fcn_plugin.engine.training.crossval import OutOfFold, cv_report

    def results(maps: dict[int, np.ndarray]) -> list[OutOfFold]:
        return [
            OutOfFold(
                name=names[i],
                group=groups[i],
                fold=fold_of[groups[i]],
                gain=1.0,
                probability=maps[i],
                truth=truths[i],
                valid=valids[i],
            )
            for i in sorted(maps)
        ]

    decision = cv_report(
        results({i: (c == CLOUD_CLASS).astype(np.float32) for i, c in classes.items()}), folds
    )
    probability = cv_report(results(clouds), folds)
    return {"decision": decision, "probability": probability}


def score_peer_shadow(
    names: Sequence[str],
    groups: Sequence[str],
    fold_of: dict[str, int],
    shadows: Sequence[np.ndarray],
    known: Sequence[np.ndarray],
    classes: dict[int, np.ndarray],
    folds: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """Score the peer's cloud-shadow class (its argmax) where shadow is labelled.

    Args:
        names, groups: every patch, in order.
        fold_of: fold of each group.
        shadows: shadow truth per patch; ``known``: where it is labelled (and valid).
        classes: the peer's class map by patch index.
        folds: held-out groups of each fold.

    Returns:
        The cross-validation report of the 0/1 shadow map (read it at 0.5); patches
        with no labelled shadow pixel are left out.
    """
    from cloud_fcn_plugin.engine.training.crossval import OutOfFold, cv_report

    results = [
        OutOfFold(
            name=names[i], group=groups[i], fold=fold_of[groups[i]], gain=1.0,
            probability=(c == SHADOW_CLASS).astype(np.float32), truth=shadows[i],
            valid=known[i],
        )
        for i, c in sorted(classes.items())
        if known[i].any()
    ]  # fmt: skip
    return cv_report(results, folds)


def model_markdown(label: str, entry: dict[str, Any]) -> str:
    """Tables of one peer model in the format of the cross-validation report."""
    from cloud_fcn_plugin.engine.training.crossval import report_markdown

    decision = report_markdown(entry["decision"])
    probability = report_markdown(entry["probability"])
    tables = probability.splitlines()[2:]  # the protocol line is in the note
    lines = [f"## {label}", "", entry["note"], ""]
    lines += _decision_block(decision, "At its own decision (argmax of its classes is cloud)")
    lines += ["Cloud probability (softmax share of the cloud class):", "", *tables]
    if entry.get("shadow") is not None:
        shadow = report_markdown(entry["shadow"])
        lines += ["", *_decision_block(shadow, "Cloud shadow at its own decision (argmax)")]
    return "\n".join(lines).rstrip() + "\n"


def _pct(scores: dict[str, Any] | None, key: str) -> str:
    value = None if scores is None else scores.get(key)
    return "-" if value is None or value != value else f"{100 * value:.1f}"


def summary_markdown(models: dict[str, dict[str, Any]]) -> list[str]:
    """One row per peer model and rule, to set beside our figures in the README."""
    lines = [
        "| model | rule | Biome J | Biome P | Biome R | all J | s/MP (1 thread) | "
        "7800x7800 scene |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, entry in models.items():
        timing = entry.get("timing", {})
        per_mp = timing.get("seconds_per_megapixel")
        cost = "-" if per_mp is None else f"{per_mp:.2f}"
        scene = "-" if per_mp is None else f"{per_mp * SCENE_MEGAPIXELS / 60:.1f} min"
        rules = [
            ("argmax", entry["decision"], "at_0.5"),
            (f"p > {entry['probability']['threshold']:.3f}", entry["probability"], "at_oof"),
        ]
        if entry.get("shadow") is not None:
            rules.append(("shadow (argmax)", entry["shadow"], "at_0.5"))
        for rule, report, key in rules:
            block = report[key]
            cells = [_pct(block["pooled_biome"], k) for k in ("jaccard", "precision", "recall")]
            lines.append(
                f"| {label} | {rule} | {' | '.join(cells)} | {_pct(block['pooled'], 'jaccard')} "
                f"| {cost} | {scene} |"
            )
    return lines


# ---------------------------------------------------------------- the peer's side


def run_peer(inputs: Path, outputs: Path, threads: int, repeats: int) -> None:
    """Run every peer model on the patches of ``inputs`` (runs in the peers' environment).

    Only numpy, onnxruntime and ukis-csmask are imported here. The peer's public
    ``CSmask`` is run as documented; its blended class scores, which it reduces to
    an argmax, are kept on the way by wrapping the function that returns them.
    """
    import onnxruntime
    import ukis_csmask
    import ukis_csmask.mask as peer

    captured: dict[str, np.ndarray] = {}
    untile = peer.untile_array

    def keep_scores(*args: Any, **kwargs: Any) -> np.ndarray:
        captured["scores"] = untile(*args, **kwargs)
        return captured["scores"]

    peer.untile_array = keep_scores
    options = dict(
        product_level=PEER_LEVEL,
        intra_op_num_threads=threads,
        inter_op_num_threads=threads,
        providers=["CPUExecutionProvider"],
    )
    meta: dict[str, Any] = {
        "package": f"{PEER} {getattr(ukis_csmask, '__version__', '?')}",
        "onnxruntime": onnxruntime.__version__,
        "threads": threads,
        "models": {},
    }
    arrays: dict[str, np.ndarray] = {}
    with np.load(inputs, allow_pickle=False) as data:
        count = int(data["count"])
        patches = [data[str(i)] for i in range(count)]
        mosaic = data["mosaic"]
    for key, _, bands in PEER_MODELS:
        order = list(PEER_BANDS[:bands])
        seconds, pixels, skipped, model_file = 0.0, 0, [], None
        for i, image in enumerate(patches):
            if image.shape[2] < bands:
                skipped.append(i)
                continue
            start = time.perf_counter()
            result = peer.CSmask(np.ascontiguousarray(image[..., :bands]), order, **options)
            seconds += time.perf_counter() - start
            pixels += image.shape[0] * image.shape[1]
            scores = captured.pop("scores")
            classes = result.csm[..., 0]
            if not np.array_equal(np.argmax(scores, axis=-1), classes):
                raise RuntimeError(f"{PEER} changed: its class map is not the argmax of its scores")
            arrays[f"{key}.{i}.class"] = classes.astype(np.uint8)
            arrays[f"{key}.{i}.cloud"] = cloud_share(scores)
            model_file = result.model_file
        meta["models"][key] = {
            "model_file": Path(model_file).name if model_file else None,
            "skipped": skipped,
            "patch_seconds": round(seconds, 3),
            "patch_megapixels": pixels / 1e6,
            **_time_mosaic(
                peer, onnxruntime, model_file, mosaic[..., :bands], order, options, repeats
            ),
        }
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(outputs, **arrays)


def _time_mosaic(
    peer: Any,
    onnxruntime: Any,
    model_file: str | None,
    mosaic: np.ndarray,
    order: list[str],
    options: dict[str, Any],
    repeats: int,
) -> dict[str, Any]:
    """Seconds per megapixel of the peer on a mosaic, its model loading excluded."""
    if model_file is None or mosaic.shape[2] < len(order):
        return {}
    session = onnxruntime.SessionOptions()
    session.intra_op_num_threads = options["intra_op_num_threads"]
    session.inter_op_num_threads = options["inter_op_num_threads"]
    start = time.perf_counter()
    onnxruntime.InferenceSession(model_file, sess_options=session, providers=options["providers"])
    load = time.perf_counter() - start
    runs = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        peer.CSmask(np.ascontiguousarray(mosaic), order, **options)
        runs.append(time.perf_counter() - start)
    mp = mosaic.shape[0] * mosaic.shape[1] / 1e6
    return {
        "mosaic_side": mosaic.shape[0],
        "mosaic_seconds": [round(r, 3) for r in runs],
        "load_seconds": round(load, 3),
        "seconds_per_megapixel": round((min(runs) - load) / mp, 3),
    }


# ------------------------------------------------------------------------ running


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description=f"Score {PEER} on the patches, groups and folds of our grouped "
        "cross-validation (run it with `make peers`, which installs the peer apart).",
    )
    parser.add_argument(
        "datasets",
        nargs="*",
        default=list(DEFAULT_DATASETS),
        help="biome:PATH, 38cloud:PATH ... as for train.py (default: the shared Biome "
        "train and val patches and the 38-Cloud sample)",
    )
    parser.add_argument("--out", type=Path, default=Path("peers_output"), help="output folder")
    parser.add_argument("--folds", type=int, default=3, help="folds, as train.py --folds K")
    parser.add_argument(
        "--folds-file", type=Path, default=None, help="folds.json of a cross-validation run"
    )
    parser.add_argument(
        "--peer-python",
        type=Path,
        default=DEFAULT_PEER_PYTHON,
        help=f"Python of the environment that has {PEER} (made by `make peers`)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads of the peer")
    parser.add_argument(
        "--timing-side", type=int, default=2048, help="side of the timing mosaic (0: no timing)"
    )
    parser.add_argument("--timing-repeats", type=int, default=1)
    parser.add_argument("--peer-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    return parser


def _check_peer_python(path: Path) -> None:
    from cloud_fcn_plugin.engine.errors import InputNotFoundError

    if not path.is_file():
        raise InputNotFoundError(
            f"No Python at {path}: run `make peers`, which installs {PEER} into "
            ".venv-peers, or pass --peer-python."
        )


def _call_peer(args: argparse.Namespace, inputs: Path, outputs: Path) -> None:
    from cloud_fcn_plugin.engine.errors import ParameterError

    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(args.threads))}
    env.pop("PYTHONPATH", None)
    command = [
        str(args.peer_python),
        str(Path(__file__).resolve()),
        "--peer-worker",
        str(inputs),
        str(outputs),
        "--threads",
        str(args.threads),
        "--timing-repeats",
        str(args.timing_repeats),
    ]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise ParameterError(f"{PEER} failed in {args.peer_python} (see above).")


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Read the patches, run the peer apart, score it; returns the JSON report."""
    from cloud_fcn_plugin.engine.training.crossval import patch_group
    from cloud_fcn_plugin.engine.training.datasets import from_spec, labelled

    _check_peer_python(args.peer_python)
    specs = [s for text in args.datasets for s in labelled(from_spec(text))]
    held = assign_folds(specs, args.folds, args.folds_file)
    fold_of = {g: k for k, groups in enumerate(held) for g in groups}
    names = [s.name for s in specs]
    groups = [patch_group(s) for s in specs]
    patches, truths, valids = zip(*(read_patch(s) for s in specs), strict=True)
    shadows, shadow_known = zip(*(read_shadow_truth(s) for s in specs), strict=True)
    shadow_known = [k & v for k, v in zip(shadow_known, valids, strict=True)]
    six = [p for p in patches if p.shape[2] == len(PEER_BANDS)]
    side = args.timing_side
    mosaic = timing_mosaic(six or patches, side) if side else np.zeros((0, 0, 4), np.float32)
    with tempfile.TemporaryDirectory(prefix="cloud_fcn_peers_") as tmp:
        inputs, outputs = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        arrays = {str(i): patch for i, patch in enumerate(patches)}
        np.savez(inputs, count=len(patches), mosaic=mosaic, **arrays)
        _call_peer(args, inputs, outputs)
        with np.load(outputs, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            answers = {k: data[k] for k in data.files if k != "meta"}
    report: dict[str, Any] = {
        "peer": meta["package"],
        "onnxruntime": meta["onnxruntime"],
        "threads": meta["threads"],
        "input": (
            "top-of-atmosphere reflectance read by the engine (Biome: as stored; 38-Cloud: "
            "2e-5*DN-0.1, no MTL, no sun-angle correction), bands blue, green, red, NIR "
            f"(+ SWIR1 B6, SWIR2 B7 for the 6-band model); {PEER}'s {PEER_LEVEL} models"
        ),
        "datasets": list(args.datasets),
        "folds": held,
        "models": {},
    }
    for key, label, _ in PEER_MODELS:
        info = meta["models"][key]
        ran = [i for i in range(len(specs)) if f"{key}.{i}.class" in answers]
        classes = {i: answers[f"{key}.{i}.class"] for i in ran}
        clouds = {i: answers[f"{key}.{i}.cloud"] for i in classes}
        entry = score_peer(names, groups, fold_of, truths, valids, classes, clouds, held)
        entry["shadow"] = score_peer_shadow(
            names, groups, fold_of, shadows, shadow_known, classes, held
        )
        skipped = [names[i] for i in info["skipped"]]
        note = (
            f"{PEER} as published, not trained on these patches; scored on the patches, "
            f"groups and {len(held)} folds of our grouped cross-validation."
        )
        if skipped:
            note += (
                f" Not run on {len(skipped)} patch(es) that have no SWIR bands "
                f"({', '.join(sorted({groups[i] for i in info['skipped']}))}: red, green, blue "
                f"and NIR only), so its 'all' rows hold the other patches only."
            )
        for report_ in entry.values():
            report_["protocol"] = f"{label} on {len(classes)} patches, grouped as our CV"
        entry.update(note=note, skipped=skipped, timing=info)
        report["models"][label] = entry
    return report


def write_outputs(report: dict[str, Any], out: Path) -> None:
    """Write peers.json and peers.md."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    lines = [
        f"# {report['peer']} on the cross-validation patches",
        "",
        f"Input: {report['input']}. ONNX Runtime {report['onnxruntime']}, "
        f"{report['threads']} thread(s). Folds (held-out groups): "
        + "; ".join(f"{k}: {', '.join(g)}" for k, g in enumerate(report["folds"]))
        + ".",
        "",
        *summary_markdown(report["models"]),
        "",
        "J, P, R: pooled Jaccard, precision, recall (%). argmax: the peer's own decision; "
        "shadow (argmax): its cloud-shadow class against the labelled shadow (L8 Biome 64), "
        "on the pixels where shadow is known; "
        "p > t: its cloud probability at the threshold that maximises the pooled Jaccard of "
        "all these patches (chosen on them, as ours is chosen out of fold). s/MP: seconds per "
        "megapixel on one thread on a mosaic of the patches, model loading excluded; the "
        "scene column is that rate times 60.8 MP. A model that cannot run on a patch "
        "(6-band model, 4-band 38-Cloud) leaves it out of its 'all' figures.",
        "",
    ]
    lines += [model_markdown(label, entry) for label, entry in report["models"].items()]
    (out / "peers.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.peer_worker:
        run_peer(*args.peer_worker, threads=args.threads, repeats=args.timing_repeats)
        return 0
    from cloud_fcn_plugin.engine.errors import CloudFcnError

    try:
        report = compare(args)
        write_outputs(report, args.out)
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for label, entry in report["models"].items():
        decision = entry["decision"]["at_0.5"]
        best = entry["probability"]
        biome, pooled = decision["pooled_biome"], decision["pooled"]
        timing = entry["timing"].get("seconds_per_megapixel")
        print(
            f"{label}: Biome pooled J {_pct(biome, 'jaccard')} P {_pct(biome, 'precision')} "
            f"R {_pct(biome, 'recall')} (argmax); all pooled J {_pct(pooled, 'jaccard')}; "
            f"best threshold {best['threshold']:.3f}: Biome J "
            f"{_pct(best['at_oof']['pooled_biome'], 'jaccard')}; shadow Biome J "
            f"{_pct(entry['shadow']['at_0.5']['pooled_biome'], 'jaccard')} (argmax); "
            + (f"{timing:.2f} s/MP" if timing is not None else "not timed")
        )
    print(f"Wrote {args.out / 'peers.json'} and {args.out / 'peers.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
