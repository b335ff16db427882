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
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from one_line import run_with_one_line_errors

from cloud_fcn_plugin.engine.scene.bands import BAND_SETS, band_set
from cloud_fcn_plugin.engine.training.augment import AugmentConfig
from cloud_fcn_plugin.engine.training.config import SCHEDULES, TrainConfig
from cloud_fcn_plugin.engine.training.datasets import MaskCoding, PatchSpec
from cloud_fcn_plugin.engine.training.launch import (
    TrainingRequest,
    check_request,
    recalibrate_on,
    train,
)
from cloud_fcn_plugin.engine.training.losses import LOSSES
from cloud_fcn_plugin.engine.training.patch_sets import (
    DataOptions,
    load_patch_sets,
    split_validation,
)

# Read from here by tests/scripts/test_train.py, as before it moved to the engine.
__all__ = ["build_parser", "config_from_args", "load_datasets", "main", "split_validation"]


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
    # fmt: off
    add = parser.add_argument_group("data").add_argument
    add("--train", action="append", default=[], metavar="DATASET",
        help="training dataset (repeat to mix): 38cloud:PATH, biome:PATH, "
        "pairs:IMAGES,MASKS or PATH")
    add("--val", action="append", default=[], metavar="DATASET",
        help="validation dataset (repeatable), kept apart from training")
    add("--val-split", type=float, default=0.0,
        help="without --val: share of the training patches held out")
    add("--nonempty", action="store_true",
        help="38-Cloud/95-Cloud: only the patches of the *nonempty*.csv list")
    add("--pairs-bands", type=_ints, default=None,
        help="pairs: 1-based red,green,blue,NIR band indices of the images")
    add("--pairs-product", default="auto", choices=("auto", "l1", "toa", "sr"),
        help="pairs: product level of the images")
    add("--pairs-cloud-values", type=_ints, default=None,
        help="pairs: mask values meaning cloud (default: any non-zero value)")
    add("--pairs-fill-values", type=_ints, default=(), help="pairs: mask values meaning no label")
    add("--pairs-shadow-values", type=_ints, default=None,
        help="pairs: mask values meaning cloud shadow (default: shadow not labelled)")
    add("--pairs-thin-values", type=_ints, default=None,
        help="pairs: cloud values meaning thin cloud (default: thick and thin not told apart)")
    add("--pairs-soft", type=int, default=None, metavar="N",
        help="pairs: the masks hold a teacher's cloud share, value v meaning (v - 1) / N, "
        "0 no label (prepare_training_data.py --soft writes them with N = 200)")
    add = parser.add_argument_group("model and optimisation").add_argument
    add("--arch", default=defaults.architecture, help="model registry name")
    add("--bands", choices=tuple(BAND_SETS), default=defaults.bands,
        help="model inputs: rgbn (red, green, blue, NIR), sixband (B2-B7 reflectance, what "
        "Level-2 products carry) or fullband (B2-B7, B9 reflectance and B10 kelvin); patches "
        "without these bands, such as 38-Cloud's, are left out")
    add("--multiclass", action="store_true",
        help="four output channels (clear, thick cloud, thin cloud, cloud shadow) trained with "
        "partial labels: a class a dataset does not label is ignored there")
    add("--indices", action="store_true",
        help="append spectral indices (NDSI, NDVI, NDWI, SWIR1/SWIR2) of the bands to the "
        "network input: the ratios Fmask tests, invariant to brightness")
    add("--width", type=float, default=defaults.width, help="channel multiplier")
    add("--patch-size", type=int, default=defaults.patch_size)
    add("--batch-size", type=int, default=defaults.batch_size)
    add("--epochs", type=int, default=defaults.epochs)
    add("--samples-per-epoch", type=int, default=defaults.samples_per_epoch)
    add("--lr", type=float, default=defaults.lr)
    add("--weight-decay", type=float, default=defaults.weight_decay)
    add("--schedule", choices=SCHEDULES, default=defaults.schedule)
    add("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    add("--plateau-patience", type=int, default=defaults.plateau_patience,
        help="plateau schedule: epochs without progress before lowering the rate")
    add("--plateau-factor", type=float, default=defaults.plateau_factor,
        help="plateau schedule: factor applied to the rate")
    add("--loss", choices=LOSSES, default=defaults.loss)
    add("--label-smoothing", type=float, default=defaults.label_smoothing)
    add("--pos-weight", type=float, default=None, help="BCE weight of cloud")
    add("--ema", type=float, default=defaults.ema,
        help="decay of a moving average of the weights that is validated and saved (0 = off)")
    add("--patience", type=int, default=defaults.patience,
        help="early stopping patience in epochs (0 = off)")
    add("--select-by", choices=("calibrated", "fixed"), default=defaults.select_by,
        help="best epoch by validation Jaccard at its best threshold, or at 0.5")
    add("--max-minutes", type=float, default=defaults.max_minutes,
        help="stop after the epoch that passes this wall time (0 = off)")
    add("--calibrate-metric", default=defaults.calibrate_metric,
        choices=("jaccard", "overall_accuracy"))
    add("--val-gains", type=_floats, default=defaults.val_gains,
        help="brightness gains at which validation patches are scored and the threshold "
        "calibrated (0.7 = a TOA patch in Level-1 form at 44 degrees sun elevation)")
    add("--tile-size", type=int, default=defaults.tile_size,
        help="inference tile size stored in the checkpoint")
    add("--overlap", type=int, default=defaults.overlap,
        help="inference tile overlap stored in the checkpoint")
    add = parser.add_argument_group("augmentation").add_argument
    add("--bright-clear", type=float, default=defaults.bright_clear,
        help="draw patches with clear ground as bright as cloud (snow, sand) up to 1 + this "
        "many times as often")
    add("--no-augment", action="store_true", help="crops only")
    add("--gain-toa", type=_pair, default=aug.gain_toa,
        help="brightness gain range of TOA patches (sun elevation)")
    add("--gain-l1", type=_pair, default=aug.gain_l1,
        help="brightness gain range of Level-1 patches (missing sun correction)")
    add("--band-jitter", type=float, default=aug.band_jitter)
    add("--noise", type=float, default=aug.noise)
    add("--scale-prob", type=float, default=aug.scale_prob)
    add("--scale-range", type=_pair, default=aug.scale_range,
        help="pixel size factor range (1 = 30 m, 4 = 120 m)")
    add("--mix-prob", type=float, default=aug.mix_prob,
        help="probability of cut-and-paste of real cloud/clear areas")
    add("--synthetic-prob", type=float, default=aug.synthetic_prob,
        help="probability of a synthetic cloud and its shadow (fractal transparency, the "
        "spectrum of another patch's real cloud)")
    add("--synthetic-cumulus", type=float, default=aug.synthetic_cumulus,
        help="share of the synthetic clouds that are fields of small cumulus")
    add("--surface-prob", type=float, default=aug.surface_prob,
        help="probability of taking a path radiance off blue, green and red "
        "(surface-reflectance-like input, as Level-2 products give it)")
    add = parser.add_argument_group("run").add_argument
    add("--out", type=Path, default=None, help="output folder (required to train)")
    add("--recalibrate", type=Path, default=None, metavar="CHECKPOINT",
        help="only choose this checkpoint's threshold anew on --val (at --val-gains) and "
        "store it with the validation metrics; no training")
    add("--resume", type=Path, default=None, help="last.safetensors of a run")
    add("--overwrite", action="store_true",
        help="replace the run already in --out (its models, logs and cross-validation folds)")
    add("--folds", type=int, default=0,
        help="grouped cross-validation first (folds by biome/scene; --train and --val are "
        "pooled), then the final model on every patch, stamped with the out-of-fold "
        "threshold and metrics")
    add("--jobs", type=int, default=1, help="--folds: folds trained at once, one process each")
    add("--cv-only", action="store_true", help="--folds: stop after the cross-validation")
    add("--seed", type=int, default=defaults.seed)
    add("--device", default=defaults.device, choices=("auto", "cpu", "cuda", "mps"))
    add("--no-amp", action="store_true", help="no mixed precision on CUDA")
    add("--workers", type=int, default=defaults.workers)
    add("--threads", type=int, default=defaults.threads,
        help="torch CPU threads (0 = torch's default)")
    # fmt: on
    return parser


def augment_config(args: argparse.Namespace) -> AugmentConfig:
    """The augmentation knobs from the arguments."""
    if args.no_augment:
        return AugmentConfig.off()
    return AugmentConfig(
        gain_toa=args.gain_toa, gain_l1=args.gain_l1, band_jitter=args.band_jitter,
        noise=args.noise, scale_prob=args.scale_prob, scale_range=args.scale_range,
        mix_prob=args.mix_prob, synthetic_prob=args.synthetic_prob,
        synthetic_cumulus=args.synthetic_cumulus, surface_prob=args.surface_prob,
        surface_channels=surface_channels(args.bands) if args.surface_prob > 0 else (),
    )  # fmt: skip


def surface_channels(bands: str) -> tuple[int, ...]:
    """The channels of blue, green and red (B2, B3, B4) in a band set's patches."""
    numbers = band_set(bands)
    return tuple(numbers.index(number) for number in (2, 3, 4))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training recipe from the arguments."""
    # The options carry the recipe's field names, all but the four given here.
    named = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return TrainConfig(
        out_dir=args.out, architecture=args.arch, amp=not args.no_amp,
        augment=augment_config(args), **named,
    )  # fmt: skip


def data_options(args: argparse.Namespace) -> DataOptions:
    """How the dataset strings are read, from the arguments."""
    coding = MaskCoding(
        cloud=args.pairs_cloud_values, fill=tuple(args.pairs_fill_values),
        shadow=args.pairs_shadow_values, thin=args.pairs_thin_values, soft=args.pairs_soft,
    )  # fmt: skip
    return DataOptions(args.bands, args.nonempty, args.pairs_bands, args.pairs_product, coding)


def load_datasets(args: argparse.Namespace, texts: list[str]) -> list[PatchSpec]:
    """Labelled patch specs of several dataset strings, concatenated (set_snow_veto.py too)."""
    return load_patch_sets(texts, data_options(args), log=print)


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
        threshold, pooled = recalibrate_on(
            args.recalibrate, args.val, data_options(args), args.calibrate_metric,
            args.val_gains, command, log=print,
        )  # fmt: skip
        print(
            f"{args.recalibrate}: threshold {threshold:.3f}, validation pooled Jaccard "
            f"{pooled['jaccard']:.4f}, OA {pooled['overall_accuracy']:.4f}"
        )
        return 0
    request = TrainingRequest(
        args.train, args.val, data_options(args), command, args.val_split, args.resume,
        args.overwrite, args.folds, args.jobs, args.cv_only,
    )  # fmt: skip
    check_request(request, args.out)
    print(train(request, config_from_args(args), log=print).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
