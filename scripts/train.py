#!/usr/bin/env python3
"""Train a cloud detection network on labelled Landsat 8 patches, headless.

Examples:
    # The bundled weights' recipe (2-core CPU, 15 to 35 minutes; the best epoch is kept):
    python scripts/train.py --train biome:../shared/data/l8biome_patches/train \\
        --train 38cloud:../shared/data/38cloud_sample/38-Cloud_training \\
        --val biome:../shared/data/l8biome_patches/val --val-gains 1.0,0.85,0.7 \\
        --arch cloudfcn_lite --width 1.0 --patch-size 224 --batch-size 8 \\
        --samples-per-epoch 384 --epochs 80 --lr 2e-3 --weight-decay 5e-4 \\
        --schedule cosine --warmup-epochs 2 --loss both --label-smoothing 0.05 \\
        --ema 0.995 --gain-toa 0.45,1.1 --mix-prob 0.4 --scale-prob 0.3 \\
        --tile-size 512 --overlap 16 --threads 2 --seed 0 --max-minutes 58 \\
        --select-by fixed --out runs/lite

    # Cloud-Net's setting on the full 38-Cloud download (GPU): 384 px patches seen
    # at 192 px (--scale-range 2,2), soft Jaccard, Adam 1e-4, batch 12, plateau
    # decay x0.7 after 15 stale epochs, early stop after 20, geometric augmentation:
    python scripts/train.py --train 38cloud:38-Cloud_training --val-split 0.2 \\
        --arch cloudnet --patch-size 192 --scale-prob 1 --scale-range 2,2 \\
        --gain-toa 1,1 --gain-l1 1,1 --band-jitter 0 --noise 0 --mix-prob 0 \\
        --batch-size 12 --samples-per-epoch 6720 --epochs 2000 --loss jaccard \\
        --lr 1e-4 --weight-decay 0 --schedule plateau --plateau-patience 15 \\
        --plateau-factor 0.7 --patience 20 --workers 8 --threads 0 --out runs/cloudnet

    # Continue an interrupted run with the same arguments plus --resume:
    python scripts/train.py ... --out runs/lite --resume runs/lite/last.safetensors

A folder that already holds a run is never written over unasked: continue it with
--resume, or replace it with --overwrite. Cross-validation folds are reused only
when the recipe that trained them is the one given.

Datasets are ``38cloud:PATH``, ``biome:PATH``, ``pairs:IMAGES_DIR,MASKS_DIR`` or a
bare ``PATH`` whose layout is recognised; repeat ``--train`` to mix several.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from one_line import run_with_one_line_errors

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.scene.bands import BAND_SETS, band_set
from cloud_fcn_plugin.engine.training.augment import AugmentConfig
from cloud_fcn_plugin.engine.training.config import SCHEDULES, TrainConfig
from cloud_fcn_plugin.engine.training.crossval import (
    cross_validate,
    report_markdown,
    stamp_checkpoint,
)
from cloud_fcn_plugin.engine.training.datasets import MaskCoding, PatchSpec, from_spec, labelled
from cloud_fcn_plugin.engine.training.losses import LOSSES
from cloud_fcn_plugin.engine.training.run_folder import check_run_folder, remove_run
from cloud_fcn_plugin.engine.training.trainer import Trainer
from cloud_fcn_plugin.engine.training.validation import recalibrate


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH such as 0.5,1.2: {text!r}") from None
    return low, high


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 1,0.85,0.7: {text!r}") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 192,255: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    defaults = TrainConfig(out_dir=Path("runs/train"))
    aug = AugmentConfig()
    parser = argparse.ArgumentParser(
        description="Train a cloud detection FCN on Landsat 8 patches (red, green, blue, NIR).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--train",
        action="append",
        default=[],
        metavar="DATASET",
        help="training dataset (repeat to mix): 38cloud:PATH, biome:PATH, "
        "pairs:IMAGES,MASKS or PATH",
    )
    data.add_argument(
        "--val",
        action="append",
        default=[],
        metavar="DATASET",
        help="validation dataset (repeatable), kept apart from training",
    )
    data.add_argument(
        "--val-split",
        type=float,
        default=0.0,
        help="without --val: share of the training patches held out",
    )
    data.add_argument(
        "--nonempty",
        action="store_true",
        help="38-Cloud/95-Cloud: only the patches of the *nonempty*.csv list",
    )
    data.add_argument(
        "--pairs-bands",
        type=_ints,
        default=None,
        help="pairs: 1-based red,green,blue,NIR band indices of the images",
    )
    data.add_argument(
        "--pairs-product",
        default="auto",
        choices=("auto", "l1", "toa", "sr"),
        help="pairs: product level of the images",
    )
    data.add_argument(
        "--pairs-cloud-values",
        type=_ints,
        default=None,
        help="pairs: mask values meaning cloud (default: any non-zero value)",
    )
    data.add_argument(
        "--pairs-fill-values", type=_ints, default=(), help="pairs: mask values meaning no label"
    )
    data.add_argument(
        "--pairs-shadow-values",
        type=_ints,
        default=None,
        help="pairs: mask values meaning cloud shadow (default: shadow not labelled)",
    )
    data.add_argument(
        "--pairs-thin-values",
        type=_ints,
        default=None,
        help="pairs: cloud values meaning thin cloud (default: thick and thin not told apart)",
    )
    model = parser.add_argument_group("model and optimisation")
    model.add_argument("--arch", default=defaults.architecture, help="model registry name")
    model.add_argument(
        "--bands",
        choices=tuple(BAND_SETS),
        default=defaults.bands,
        help="model inputs: rgbn (red, green, blue, NIR), sixband (B2-B7 reflectance, what "
        "Level-2 products carry) or fullband (B2-B7, B9 reflectance and B10 kelvin); patches "
        "without these bands, such as 38-Cloud's, are left out",
    )
    model.add_argument(
        "--multiclass",
        action="store_true",
        help="four output channels (clear, thick cloud, thin cloud, cloud shadow) trained with "
        "partial labels: a class a dataset does not label is ignored there",
    )
    model.add_argument(
        "--indices",
        action="store_true",
        help="append spectral indices (NDSI, NDVI, NDWI, SWIR1/SWIR2) of the bands to the "
        "network input: the ratios Fmask tests, invariant to brightness",
    )
    model.add_argument("--width", type=float, default=defaults.width, help="channel multiplier")
    model.add_argument("--patch-size", type=int, default=defaults.patch_size)
    model.add_argument("--batch-size", type=int, default=defaults.batch_size)
    model.add_argument("--epochs", type=int, default=defaults.epochs)
    model.add_argument("--samples-per-epoch", type=int, default=defaults.samples_per_epoch)
    model.add_argument("--lr", type=float, default=defaults.lr)
    model.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    model.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule)
    model.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    model.add_argument(
        "--plateau-patience",
        type=int,
        default=defaults.plateau_patience,
        help="plateau schedule: epochs without progress before lowering the rate",
    )
    model.add_argument(
        "--plateau-factor",
        type=float,
        default=defaults.plateau_factor,
        help="plateau schedule: factor applied to the rate",
    )
    model.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    model.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    model.add_argument("--pos-weight", type=float, default=None, help="BCE weight of cloud")
    model.add_argument(
        "--ema",
        type=float,
        default=defaults.ema,
        help="decay of a moving average of the weights that is validated and saved (0 = off)",
    )
    model.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="early stopping patience in epochs (0 = off)",
    )
    model.add_argument(
        "--select-by",
        choices=("calibrated", "fixed"),
        default=defaults.select_by,
        help="best epoch by validation Jaccard at its best threshold, or at 0.5",
    )
    model.add_argument(
        "--max-minutes",
        type=float,
        default=defaults.max_minutes,
        help="stop after the epoch that passes this wall time (0 = off)",
    )
    model.add_argument(
        "--calibrate-metric",
        default=defaults.calibrate_metric,
        choices=("jaccard", "overall_accuracy"),
    )
    model.add_argument(
        "--val-gains",
        type=_floats,
        default=defaults.val_gains,
        help="brightness gains at which validation patches are scored and the threshold "
        "calibrated (0.7 = a TOA patch in Level-1 form at 44 degrees sun elevation)",
    )
    model.add_argument(
        "--tile-size",
        type=int,
        default=defaults.tile_size,
        help="inference tile size stored in the checkpoint",
    )
    model.add_argument(
        "--overlap",
        type=int,
        default=defaults.overlap,
        help="inference tile overlap stored in the checkpoint",
    )
    augment = parser.add_argument_group("augmentation")
    augment.add_argument(
        "--bright-clear",
        type=float,
        default=defaults.bright_clear,
        help="draw patches with clear ground as bright as cloud (snow, sand) up to 1 + this "
        "many times as often",
    )
    augment.add_argument("--no-augment", action="store_true", help="crops only")
    augment.add_argument(
        "--gain-toa",
        type=_pair,
        default=aug.gain_toa,
        help="brightness gain range of TOA patches (sun elevation)",
    )
    augment.add_argument(
        "--gain-l1",
        type=_pair,
        default=aug.gain_l1,
        help="brightness gain range of Level-1 patches (missing sun correction)",
    )
    augment.add_argument("--band-jitter", type=float, default=aug.band_jitter)
    augment.add_argument("--noise", type=float, default=aug.noise)
    augment.add_argument("--scale-prob", type=float, default=aug.scale_prob)
    augment.add_argument(
        "--scale-range",
        type=_pair,
        default=aug.scale_range,
        help="pixel size factor range (1 = 30 m, 4 = 120 m)",
    )
    augment.add_argument(
        "--mix-prob",
        type=float,
        default=aug.mix_prob,
        help="probability of cut-and-paste of real cloud/clear areas",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--out", type=Path, default=None, help="output folder (required to train)")
    run.add_argument(
        "--recalibrate",
        type=Path,
        default=None,
        metavar="CHECKPOINT",
        help="only choose this checkpoint's threshold anew on --val (at --val-gains) and "
        "store it with the validation metrics; no training",
    )
    run.add_argument("--resume", type=Path, default=None, help="last.safetensors of a run")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (its models, logs and cross-validation folds)",
    )
    run.add_argument(
        "--folds",
        type=int,
        default=0,
        help="grouped cross-validation first (folds by biome/scene; --train and --val are "
        "pooled), then the final model on every patch, stamped with the out-of-fold "
        "threshold and metrics",
    )
    run.add_argument(
        "--jobs", type=int, default=1, help="--folds: folds trained at once, one process each"
    )
    run.add_argument(
        "--cv-only", action="store_true", help="--folds: stop after the cross-validation"
    )
    run.add_argument("--seed", type=int, default=defaults.seed)
    run.add_argument("--device", default=defaults.device, choices=("auto", "cpu", "cuda", "mps"))
    run.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    run.add_argument("--workers", type=int, default=defaults.workers)
    run.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help="torch CPU threads (0 = torch's default)",
    )
    return parser


def augment_config(args: argparse.Namespace) -> AugmentConfig:
    """The augmentation knobs from the arguments."""
    if args.no_augment:
        return AugmentConfig.off()
    return AugmentConfig(
        gain_toa=args.gain_toa,
        gain_l1=args.gain_l1,
        band_jitter=args.band_jitter,
        noise=args.noise,
        scale_prob=args.scale_prob,
        scale_range=args.scale_range,
        mix_prob=args.mix_prob,
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training recipe from the arguments."""
    return TrainConfig(
        out_dir=args.out,
        architecture=args.arch,
        width=args.width,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        epochs=args.epochs,
        samples_per_epoch=args.samples_per_epoch,
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup_epochs=args.warmup_epochs,
        plateau_patience=args.plateau_patience,
        plateau_factor=args.plateau_factor,
        loss=args.loss,
        label_smoothing=args.label_smoothing,
        pos_weight=args.pos_weight,
        ema=args.ema,
        seed=args.seed,
        device=args.device,
        amp=not args.no_amp,
        workers=args.workers,
        threads=args.threads,
        patience=args.patience,
        select_by=args.select_by,
        max_minutes=args.max_minutes,
        tile_size=args.tile_size,
        overlap=args.overlap,
        calibrate_metric=args.calibrate_metric,
        val_gains=args.val_gains,
        augment=augment_config(args),
        bands=args.bands,
        bright_clear=args.bright_clear,
        indices=args.indices,
        multiclass=args.multiclass,
    )


def load_datasets(args: argparse.Namespace, texts: list[str]) -> list[PatchSpec]:
    """Labelled patch specs of several dataset strings, concatenated."""
    coding = MaskCoding(
        cloud=args.pairs_cloud_values,
        fill=tuple(args.pairs_fill_values),
        shadow=args.pairs_shadow_values,
        thin=args.pairs_thin_values,
    )
    bands = tuple(args.pairs_bands) if args.pairs_bands else None
    if bands is not None and len(bands) != 4:
        raise ParameterError("--pairs-bands takes four indices: red,green,blue,NIR.")
    specs: list[PatchSpec] = []
    for text in texts:
        specs += labelled(
            from_spec(
                text, nonempty=args.nonempty, bands=bands, product=args.pairs_product, coding=coding
            )
        )
    if args.bands == "rgbn":
        return specs
    numbers = band_set(args.bands)
    kept = [replace(s, model_bands=numbers) for s in specs if s.band_files is None]
    if len(kept) < len(specs):
        print(f"Left out {len(specs) - len(kept)} patches stored as four band files (no B6-B10).")
    return kept


def split_validation(
    specs: list[PatchSpec], fraction: float, seed: int
) -> tuple[list[PatchSpec], list[PatchSpec]]:
    """Hold out a reproducible random share of the patches for validation."""
    if not 0.0 <= fraction < 1.0:
        raise ParameterError(f"--val-split must be in [0, 1), got {fraction}.")
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(specs))
    count = round(fraction * len(specs))
    held = {int(i) for i in order[:count]}
    return [s for i, s in enumerate(specs) if i not in held], [specs[i] for i in sorted(held)]


def describe(texts: list[str], specs: list[PatchSpec]) -> dict:
    """Provenance entry of a dataset: the strings given and the patch names used."""
    return {"datasets": texts, "patches": len(specs), "names": [s.name for s in specs]}


def recalibrate_only(args: argparse.Namespace, command: str) -> int:
    """Choose the threshold of an existing checkpoint on --val and store it."""
    val = load_datasets(args, args.val)
    if not val:
        raise ParameterError("--recalibrate needs labelled patches given with --val.")
    note = {"command": command, "validation_data": describe(args.val, val)}
    threshold, metrics = recalibrate(
        args.recalibrate, val, args.calibrate_metric, args.val_gains, note
    )
    pooled = metrics["at_calibrated_threshold"]["pooled"]
    print(
        f"{args.recalibrate}: threshold {threshold:.3f}, validation pooled Jaccard "
        f"{pooled['jaccard']:.4f}, OA {pooled['overall_accuracy']:.4f}"
    )
    return 0


def cross_validate_then_train(
    args: argparse.Namespace, config: TrainConfig, specs: list[PatchSpec], provenance: dict
) -> int:
    """Cross-validate the recipe, then train it on every patch and stamp the CV figures."""
    cv_dir = config.out_dir / "cv"
    report = cross_validate(
        replace(config, out_dir=cv_dir), specs, args.folds, args.jobs, provenance, log=print
    )
    print(report_markdown(report))
    if args.cv_only:
        print(f"Cross-validation report: {cv_dir / 'report.md'}")
        return 0
    final = {**provenance, "train_data": describe(args.train + args.val, specs)}
    final["validation_data"] = describe([], [])
    trainer = Trainer(config, specs, (), final, log=print)
    last = config.out_dir / "last.safetensors"
    if args.resume is not None:
        trainer.resume(args.resume)
    trainer.fit()
    stamp_checkpoint(last, report)
    print(f"Done: {last} (threshold {report['threshold']:.3f} from the cross-validation).")
    return 0


def check_out(args: argparse.Namespace) -> None:
    """Refuse, before any work, a --out that would replace a run unasked."""
    if args.resume is not None and args.overwrite:
        raise ParameterError("--resume continues the run in --out, --overwrite replaces it: "
                             "give one of them.")
    final_model = not (args.folds and args.cv_only)
    check_run_folder(
        args.out, resume=args.resume is not None, overwrite=args.overwrite, final_model=final_model
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_with_one_line_errors(
        lambda: run(args, sys.argv[1:] if argv is None else argv), "training",
        "Interrupted: resume with --resume <out>/last.safetensors.",
        "--batch-size or --patch-size",
    )


def run(args: argparse.Namespace, argv_used: list[str]) -> int:
    """Recalibrate, cross-validate or train as the arguments ask; returns the exit status."""
    command = shlex.join(["python", "scripts/train.py", *argv_used])
    if args.recalibrate is not None:
        return recalibrate_only(args, command)
    if not args.train or args.out is None:
        raise ParameterError("Training needs --train DATASET and --out FOLDER.")
    check_out(args)
    config = config_from_args(args)
    train = load_datasets(args, args.train)
    val = load_datasets(args, args.val)
    if not val and args.val_split:
        train, val = split_validation(train, args.val_split, args.seed)
    provenance = {
        "command": command,
        "train_data": describe(args.train, train),
        "validation_data": describe(args.val or [f"val-split {args.val_split}"], val),
    }
    if args.overwrite:
        remove_run(args.out)  # asked for, and only now that the data has loaded
    if args.folds:
        return cross_validate_then_train(args, config, train + val, provenance)
    trainer = Trainer(config, train, val, provenance, log=print)
    if args.resume is not None:
        trainer.resume(args.resume)
    summary = trainer.fit()
    best = summary.get("best") or summary.get("last")
    print(f"Done: {best['path']} (threshold {best['threshold']:.3f}); log in {config.out_dir}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
