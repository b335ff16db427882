#!/usr/bin/env python3
"""Score a checkpoint on a labelled Landsat 8 dataset with the engine's own inference.

Examples:
    python scripts/evaluate.py biome:../shared/data/l8biome_patches/val \\
        --weights runs/lite/best.safetensors --out-dir runs/lite/eval_val --sweep
    # 38-Cloud test: patches reassembled into scenes, scored against Entire_scene_gts
    python scripts/evaluate.py 38cloud-test:38-Cloud_test --out-dir eval_38cloud
    # A cross-validation of scripts/train.py --folds K, scored again from its
    # out-of-fold predictions (per fold, per biome; --threshold adds a fixed one)
    python scripts/evaluate.py cv:runs/unet/cv --threshold 0.5
    # Three seeds of one recipe averaged (an ensemble, still out of fold)
    python scripts/evaluate.py cv:runs/a_s0/cv,runs/a_s1/cv,runs/a_s2/cv

Datasets: ``biome:PATH``, ``38cloud:PATH`` (training layout, per-patch truth),
``38cloud-test:PATH`` (test layout, whole-scene truth), ``pairs:IMAGES,MASKS``,
or a bare ``PATH`` whose layout is recognised. Writes ``metrics.json``,
``metrics.md`` and ``overlays/*.png`` (image, truth, prediction, errors) for the
worst patches or scenes into ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from one_line import run_with_one_line_errors

from cloud_fcn_plugin.engine.errors import OutputNotWritableError, ParameterError
from cloud_fcn_plugin.engine.inference.predictor import load_predictor
from cloud_fcn_plugin.engine.training.crossval import load_cross_validation
from cloud_fcn_plugin.engine.training.datasets import (
    MaskCoding,
    cloud38_patches,
    detect_layout,
    from_spec,
    labelled,
)
from cloud_fcn_plugin.engine.training.evaluation import (
    Evaluation,
    check_pairs,
    evaluate_38cloud_scenes,
    evaluate_patches,
    save_overlay,
    to_json,
    to_markdown,
)
from cloud_fcn_plugin.engine.training.oof_scores import (
    average_out_of_fold,
    cv_report,
    report_markdown,
)


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 3,2,1,4: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description="Score cloud masks against ground truth: precision, recall, specificity, "
        "Jaccard and overall accuracy, pooled and averaged per patch or scene.",
    )
    parser.add_argument(
        "dataset",
        help="biome:PATH, 38cloud:PATH, 38cloud-test:PATH, pairs:IMAGES,MASKS, PATH, or "
        "cv:FOLDER (the cv/ folder of train.py --folds; cv:A,B,... their average)",
    )
    parser.add_argument(
        "--weights", type=Path, default=None, help="checkpoint (default: the bundled weights)"
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="folder for metrics.json, metrics.md and overlays/",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="decision threshold (default: the checkpoint's calibrated one)",
    )
    parser.add_argument("--sweep", action="store_true", help="also score thresholds 0.05..0.95")
    parser.add_argument(
        "--overlays",
        type=int,
        default=4,
        metavar="N",
        help="PNG overlays of the N worst patches or scenes (0 = none)",
    )
    parser.add_argument(
        "--valid-only",
        action="store_true",
        help="38cloud-test: score non-fill pixels only (the official protocol "
        "scores every pixel of the scene truth)",
    )
    parser.add_argument("--tile-size", type=int, default=None, help="default: the checkpoint's")
    parser.add_argument("--overlap", type=int, default=None, help="default: the checkpoint's")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument(
        "--pairs-bands", type=_ints, default=None, help="pairs: 1-based red,green,blue,NIR indices"
    )
    parser.add_argument("--pairs-product", default="auto", choices=("auto", "l1", "toa", "sr"))
    parser.add_argument(
        "--pairs-cloud-values",
        type=_ints,
        default=None,
        help="pairs: mask values meaning cloud (default: non-zero)",
    )
    parser.add_argument(
        "--pairs-fill-values", type=_ints, default=(), help="pairs: mask values meaning no label"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-patch lines")
    return parser


def check_out_dir(out: Path | None) -> None:
    """Make sure --out-dir can take the results before anything is computed.

    Raises:
        OutputNotWritableError: it is a file, or cannot be created or written.
    """
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise OutputNotWritableError(
            f"--out-dir {out} is a file, not a folder: give a folder for metrics.json."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritableError(
            f"--out-dir {out} cannot be created ({exc.strerror or exc}): choose a folder "
            "you can write to."
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputNotWritableError(
            f"--out-dir {out} is not writable: choose a folder you can write to."
        )


def run(args: argparse.Namespace) -> tuple[Evaluation, str]:
    """Evaluate the dataset; returns the evaluation and a title."""
    check_out_dir(args.out_dir)
    predictor = load_predictor(args.weights, args.device, args.batch_size)
    meta = predictor.metadata
    # Tiling overrides go into the metadata predict_scene reads its defaults from.
    if args.tile_size or args.overlap is not None:
        predictor.metadata = replace(
            meta,
            tile_size=args.tile_size or meta.tile_size,
            overlap=meta.overlap if args.overlap is None else args.overlap,
        )
    threshold = meta.threshold if args.threshold is None else args.threshold
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"--threshold must lie strictly between 0 and 1, got {threshold}.")
    log = None if args.quiet else print
    keep = max(0, args.overlays) if args.out_dir else 0
    layout, sep, rest = args.dataset.partition(":")
    if not sep:
        rest = args.dataset
        root = Path(rest)
        layout = "38cloud-test" if (root / "test_red").is_dir() else detect_layout(root)
    if layout == "38cloud-test":
        specs = cloud38_patches(rest, split="test")
        evaluation = evaluate_38cloud_scenes(
            predictor, specs, rest, threshold, args.valid_only, keep, log
        )
    else:
        coding = MaskCoding(cloud=args.pairs_cloud_values, fill=tuple(args.pairs_fill_values))
        specs = labelled(
            from_spec(
                args.dataset, bands=args.pairs_bands, product=args.pairs_product, coding=coding
            )
        )
        if not specs:
            raise ParameterError(f"{args.dataset} holds no patch with a mask: nothing to score.")
        check_pairs(specs)
        evaluation = evaluate_patches(predictor, specs, threshold, keep, log)
    weights = args.weights or "bundled weights"
    return evaluation, f"{args.dataset} with {weights}"


def write_outputs(evaluation: Evaluation, title: str, args: argparse.Namespace) -> None:
    """Write metrics.json, metrics.md and the overlays of the worst units."""
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "dataset": args.dataset,
        "weights": str(args.weights or "bundled"),
        **to_json(evaluation, args.sweep),
    }
    (out / "metrics.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (out / "metrics.md").write_text(to_markdown(evaluation, title, args.sweep), encoding="utf-8")
    for unit in evaluation.worst(args.overlays):
        if unit.probability is not None:
            save_overlay(unit, evaluation.threshold, out / "overlays" / f"{unit.name}.png")


def run_cross_validation(args: argparse.Namespace) -> None:
    """Score a cross-validation folder's out-of-fold predictions (several, comma-separated:
    their average, an ensemble); print and write the tables."""
    roots = [Path(p) for p in args.dataset.partition(":")[2].split(",") if p]
    check_out_dir(args.out_dir)
    loaded = [load_cross_validation(root) for root in roots]
    results, folds = loaded[0]
    if len(loaded) > 1:
        results = average_out_of_fold([run for run, _ in loaded])
    report = cv_report(results, folds, fixed=args.threshold)
    text = report_markdown(report)
    print(text)
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "metrics.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        (args.out_dir / "metrics.md").write_text(text, encoding="utf-8")
        print(f"Wrote {args.out_dir / 'metrics.json'} and {args.out_dir / 'metrics.md'}.")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_with_one_line_errors(
        lambda: evaluate(args), "evaluation", "Interrupted: nothing was written.",
        "--batch-size or --tile-size",
    )


def evaluate(args: argparse.Namespace) -> int:
    """Score what the arguments name, print the tables and write them if asked."""
    if args.dataset.startswith("cv:"):
        run_cross_validation(args)
        return 0
    evaluation, title = run(args)
    print(to_markdown(evaluation, title, args.sweep))
    if args.out_dir:
        write_outputs(evaluation, title, args)
        print(f"Wrote {args.out_dir / 'metrics.json'} and {args.out_dir / 'metrics.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
