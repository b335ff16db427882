#!/usr/bin/env python3
"""Give a U-Net checkpoint Fmask's snow test as a veto on its cloud (weights unchanged).

The veto (``engine/models/snow_veto.py``) has no weights: it is a rule on the bands the
model already reads (green, NIR, SWIR1), stored as architecture arguments. So it can be
added to a trained model, and its effect measured on the stored cross-validation folds
(``--cv``: every fold's checkpoint gets the veto, its held-out patches are predicted
again through the engine, and the report is written to ``CV_veto<NDSI>`` beside the
original). With ``--cv``, everything after ``--`` is the ``train.py`` data options of
that run, so the held-out patches are found again.

Example::

    .venv/bin/python scripts/set_snow_veto.py runs/mc_sb_final/last.safetensors \\
        -o runs/mc_sb_final/veto.safetensors --ndsi 0.5 --cv runs/mc_sb/cv -- \\
        --train biome:../shared/data/l8biome_patches/train ... --bands sixband
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from one_line import run_with_one_line_errors

from cloud_fcn_plugin.engine.errors import CloudFcnError, OutputExistsError, ParameterError
from cloud_fcn_plugin.engine.files.gate import STATE_BYTES, read_small_json
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint, save_checkpoint
from cloud_fcn_plugin.engine.training.crossval import stamp_checkpoint

VETO_BANDS = ("green", "nir", "swir1")


def add_veto(source: Path, target: Path, ndsi: float) -> None:
    """Write ``source`` with the snow veto at ``ndsi`` to ``target``."""
    model, metadata = load_checkpoint(source, device="cpu")
    missing = [b for b in VETO_BANDS if b not in metadata.bands]
    if missing or "index_mean" not in metadata.arch_args:
        raise ParameterError(
            f"{source.name} reads {', '.join(metadata.bands)}: the snow veto needs green, NIR "
            "and SWIR1 and a model trained with --indices."
        )
    args = dict(metadata.arch_args)
    args["snow_veto"] = float(ndsi)
    args["veto_bands"] = [metadata.bands.index(b) for b in VETO_BANDS]
    vetoed = build_model(metadata.architecture, **args)
    vetoed.load_state_dict(model.state_dict())
    provenance = {**metadata.provenance, "snow_veto": f"added by set_snow_veto.py, NDSI {ndsi}"}
    save_checkpoint(target, vetoed, replace(metadata, arch_args=args, provenance=provenance))


def read_folds(cv: Path) -> list:
    """The folds of a cv/ folder, read through the gate (bounded, never a traceback).

    Raises:
        CloudFcnError: the folder or its folds.json is missing, too large or not JSON.
    """
    path = cv / "folds.json"
    try:
        folds = read_small_json(path, "the folds of --cv", STATE_BYTES)
    except ValueError:
        raise ParameterError(
            f"{path} is not valid JSON: point --cv at the cv/ folder of train.py --folds, or "
            "run train.py --folds again."
        ) from None
    if not isinstance(folds, list) or not all(isinstance(fold, list) for fold in folds):
        raise ParameterError(
            f"{path} is not a list of folds: point --cv at the cv/ folder of train.py --folds."
        )
    return folds


def veto_folder(cv: Path, ndsi: float, overwrite: bool) -> Path:
    """Where the re-scored folds go; an earlier one is replaced only with ``--overwrite``.

    Raises:
        OutputExistsError: it holds files and ``overwrite`` is False.
    """
    out = cv.with_name(f"{cv.name}_veto{ndsi:g}")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out} already holds re-scored folds: pass --overwrite to replace them, or "
            "choose another --ndsi."
        )
    return out


def veto_cross_validation(
    cv: Path, ndsi: float, train_args: list[str], folds: list | None = None,
    out: Path | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Predict every fold's held-out patches again with the veto; return the folder, report."""
    from cloud_fcn_plugin.engine.training.crossval import (
        OOF_GAINS,
        patch_group,
        predict_out_of_fold,
        save_out_of_fold,
        write_report,
    )

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import train

    options = train.build_parser().parse_args(train_args)
    specs = train.load_datasets(options, options.train)
    folds = read_folds(cv) if folds is None else folds
    out = out or cv.with_name(f"{cv.name}_veto{ndsi:g}")
    out.mkdir(exist_ok=True)
    shutil.copy(cv / "folds.json", out / "folds.json")
    for k, groups in enumerate(folds):
        (out / f"fold{k}").mkdir(exist_ok=True)
        checkpoint = out / f"fold{k}" / "last.safetensors"
        add_veto(cv / f"fold{k}" / "last.safetensors", checkpoint, ndsi)
        held_out = [spec for spec in specs if patch_group(spec) in groups]
        save_out_of_fold(
            out / f"fold{k}" / "oof.npz",
            predict_out_of_fold(checkpoint, held_out, k, gains=OOF_GAINS),
        )
    return out, write_report(out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--ndsi", type=float, default=0.4, help="NDSI above which snow is vetoed")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--cv", type=Path, help="a cv/ folder of train.py --folds to re-score")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    train_args = argv[split + 1 :]
    if args.output.resolve() == args.checkpoint.resolve():
        print(f"error: {args.output} is the input checkpoint: name another output.",
              file=sys.stderr)
        return 1
    if args.output.exists() and not args.overwrite:
        print(f"error: {args.output} exists: pass --overwrite to replace it.", file=sys.stderr)
        return 1
    return run_with_one_line_errors(
        lambda: _run(args, train_args), "adding the snow veto",
        f"Interrupted: {args.output} may lack the cross-validation stamp; run again with "
        "--overwrite.", "--batch-size",
    )  # fmt: skip


def _run(args: argparse.Namespace, train_args: list[str]) -> int:
    try:
        # --cv is checked before anything is written: a bad folder leaves no output.
        folds = read_folds(args.cv) if args.cv is not None else None
        out = veto_folder(args.cv, args.ndsi, args.overwrite) if args.cv is not None else None
        add_veto(args.checkpoint, args.output, args.ndsi)
        print(f"{args.checkpoint} -> {args.output} (snow veto at NDSI {args.ndsi})")
        if args.cv is not None:
            out, report = veto_cross_validation(args.cv, args.ndsi, train_args, folds, out)
            stamp_checkpoint(args.output, report)
            print(
                f"cross-validation with the veto: {out / 'report.md'}; {args.output} carries "
                f"its thresholds ({report['threshold']:.3f}) and figures"
            )
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
