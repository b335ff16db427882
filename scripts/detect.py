#!/usr/bin/env python3
"""Detect clouds in a Landsat 8/9 scene and write a georeferenced cloud mask.

Examples:
    python scripts/detect.py scene_B2-B5.tif -o mask.tif
    python scripts/detect.py LC08_L1TP_..._T1/ -o mask.tif --probability prob.tif
    python scripts/detect.py stack.tif -o mask.tif --bands 4,3,2,5 --product toa
    python scripts/detect.py LC08_L1TP_..._T1/ -o mask.tif --min-size 20 --buffer 3 \
        --masked-image cloudfree.tif --polygons clouds.gpkg

Many scenes (each mask is ``<input stem>_cloudmask.tif`` in ``--output-dir``):
    python scripts/detect.py archive/ --output-dir masks/ --report report.csv
    python scripts/detect.py "archive/LC08_*" scenes.txt --output-dir masks/ --scheduler local:4
    python scripts/detect.py archive/ --output-dir masks/ --scheduler tcp://head:8786 --resume

The product's own QA band instead of a network (product folders and their MTL only):
    python scripts/detect.py LC08_L2SP_..._T1/ -o qa_mask.tif --model qa

A 4-band GeoTIFF is read in Landsat band order B2, B3, B4, B5 (blue, green, red,
NIR) unless ``--bands`` gives the 1-based indices of red, green, blue and NIR.

The mask holds 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow and 255 no data
(a cloud-only model writes 0, 1 and 255).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# GDAL prints its errors to stderr besides returning them; the engine raises them as one
# line that says what to do, so the copies are dropped (set CPL_LOG to keep them).
os.environ.setdefault("CPL_LOG", os.devnull)

from cloud_fcn_plugin.engine.batch.exit_status import ending
from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.files.interrupts import raise_if_terminated, terminate_as_interrupt
from cloud_fcn_plugin.engine.params import (
    DEVICES,
    MAX_BUFFER,
    MAX_TILE_SIZE,
    MIN_TILE_SIZE,
    MODEL_CHOICES,
    PHYSICS_CHOICES,
    PRODUCT_LEVELS,
    SHADOW_CHOICES,
    DetectionParams,
)


def parse_bands(text: str) -> tuple[int, int, int, int]:
    """Parse ``"4,3,2,5"`` into four 1-based band indices (red, green, blue, NIR)."""
    try:
        bands = tuple(int(part) for part in text.split(","))
    except ValueError:
        bands = ()
    if len(bands) != 4 or min(bands) < 1 or len(set(bands)) != 4:
        raise argparse.ArgumentTypeError(
            "--bands takes four different 1-based indices RED,GREEN,BLUE,NIR such as 3,2,1,4, "
            f"got {text!r}"
        )
    return bands  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description="Detect clouds in a Landsat 8/9 scene with a fully convolutional network.",
        epilog="The mask holds 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow and 255 no "
        "data (a cloud-only model writes 0, 1 and 255). A 4-band GeoTIFF is read in Landsat "
        "band order B2, B3, B4, B5 (blue, green, red, NIR) unless --bands says otherwise.",
    )
    # fmt: off
    add = parser.add_argument
    add("inputs", nargs="+", metavar="INPUT",
        help="multi-band GeoTIFF, Landsat product folder or *_MTL.txt; for a batch also "
        "a glob, a folder of product folders or a .txt list with one input per line")
    add("-o", "--output", type=Path,
        help="mask GeoTIFF to write (one input): 0 clear, 1 thick cloud, 2 thin cloud, "
        "3 cloud shadow, 255 no data")
    add("--output-dir", type=Path,
        help="folder for the masks of many inputs, named <input stem>_cloudmask.tif")
    add("--scheduler",
        help="local[:N]: a Dask cluster of N workers on this machine (default one per core); "
        "tcp://HOST:PORT: a running dask scheduler; default: one scene after another here")
    add("--resume", action="store_true", help="skip scenes whose mask exists and is complete")
    add("--report", type=Path, help="write the batch report here (.json, otherwise CSV)")
    add("--bands", type=parse_bands, help="1-based band indices RED,GREEN,BLUE,NIR")
    add("--product", choices=PRODUCT_LEVELS, default="auto",
        help="product level: Level-1 DN, TOA reflectance or Level-2 SR")
    add("--threshold", type=float,
        help="cloud probability threshold (default: the model's calibrated one)")
    add("--shadow-threshold", type=float,
        help="cloud shadow probability threshold (models with a shadow class; default: the "
        "model's)")
    add("--probability", type=Path,
        help="also write the probabilities here: band 1 cloud (thick + thin), then thin cloud "
        "and cloud shadow where the model has those classes")
    add("--probability-dtype", choices=("float32", "uint8"), default="float32",
        help="float32 0..1, or uint8 percent with 255 nodata")
    add("--model", default="auto",
        metavar="auto|rgbn|sixband|fullband|ensemble|qa|physics|FILE",
        help="auto: the 4-band model with the scene's thermal and snow tests where the input "
        "has its thermal band B10 (Level-1 products), the ensemble on Level-2 products with "
        "ST_B10, the 6-band model where it has B2-B7 without a thermal band, else the 4-band "
        "model; rgbn, sixband, fullband: that bundled model; ensemble: the 4-band and 6-band "
        "models together, cloud where either finds it; qa: "
        "decode the product's own QA band (QA_PIXEL or BQA: product folders and their MTL "
        "only); physics: Fmask's scene-relative tests alone, no network; FILE: "
        "a checkpoint (.safetensors), or an ONNX model (.onnx, needs onnxruntime) whose "
        "cloud_fcn.* metadata gives its bands, normalisation and classes")
    add("--physics", choices=PHYSICS_CHOICES, default="auto",
        help="the scene-relative thermal and snow tests beside the network: auto (where they "
        "were measured to help: the bundled 4- and 6-band models on inputs with B10 or ST_B10), "
        "on (any model), off")
    add("--shadow", choices=SHADOW_CHOICES, default="auto",
        help="cloud shadow: auto or geometry (by geometry, each cloud cast along the sun onto "
        "dark pixels, for every model), network (the model's own shadow class only)")
    add("--weights", type=Path, help="same as --model FILE")
    add("--device", choices=DEVICES, default="auto")
    add("--tile-size", type=int,
        help=f"tile edge in pixels, {MIN_TILE_SIZE} to {MAX_TILE_SIZE} (default: the model's)")
    add("--overlap", type=int, help="pixels shared by neighbouring tiles")
    add("--batch-size", type=int, default=4, help="tiles per forward pass")
    add = parser.add_argument_group(
        "finishing the mask (off by default; the sieve comes before the buffer)"
    ).add_argument
    add("--min-size", type=int, default=0, metavar="N",
        help="drop patches of masked classes of fewer than N pixels (4-connected)")
    add("--buffer", type=int, default=0, metavar="N",
        help=f"grow the masked classes by N pixels (0 to {MAX_BUFFER}), never into fill")
    add("--mask-classes", default="thick,thin,shadow", metavar="CLASSES",
        help="the classes --min-size, --buffer, --masked-image and --polygons act on, "
        "comma-separated among thick, thin and shadow (default: all three)")
    add("--masked-image", type=Path, metavar="FILE.tif",
        help="also write the input with the masked classes and fill set to nodata (all bands "
        "of a stack; B1-B7, B9 of a product folder)")
    add("--polygons", type=Path, metavar="FILE.gpkg",
        help="also write the masked classes as polygons with their class and area in m2, in "
        "the input's CRS")
    add = parser.add_argument
    add("--preview", type=Path, help="also write a PNG quick-look with cloud outlines")
    add("--overwrite", action="store_true", help="replace existing outputs")
    add("--quiet", action="store_true", help="no progress bar")
    # fmt: on
    return parser


def model_file(args: argparse.Namespace) -> Path | None:
    """The checkpoint given with --weights or as --model FILE, if any."""
    if args.weights is not None and args.model != "auto":
        raise ParameterError(
            "Give the model once: --model rgbn|sixband|fullband|qa|FILE or --weights FILE."
        )
    if args.model in MODEL_CHOICES:
        return args.weights
    return Path(args.model)


def params_from_args(args: argparse.Namespace) -> DetectionParams:
    """Turn parsed arguments into the engine's parameters."""
    return DetectionParams(
        bands=args.bands, product=args.product, threshold=args.threshold,
        weights=model_file(args), model=args.model if args.model in MODEL_CHOICES else "auto",
        tile_size=args.tile_size, overlap=args.overlap, batch_size=args.batch_size,
        device=args.device, probability=args.probability,
        probability_dtype=args.probability_dtype, overwrite=args.overwrite,
        buffer=args.buffer, min_size=args.min_size, masked_image=args.masked_image,
        polygons=args.polygons, mask_classes=args.mask_classes,
        shadow_threshold=args.shadow_threshold, preview=args.preview, physics=args.physics,
        shadow=args.shadow,
    )  # fmt: skip


BATCH_ONLY = ("scheduler", "resume", "report", "output_dir")


def is_batch(args: argparse.Namespace) -> bool:
    """Whether the arguments ask for a batch rather than the single-scene run."""
    return (
        args.output is None
        or len(args.inputs) > 1
        or any(getattr(args, name) not in (None, False) for name in BATCH_ONLY)
    )


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject contradictory output options as usage errors (exit code 2)."""
    if args.output is not None and args.output_dir is not None:
        parser.error("give either -o OUT.tif (one input) or --output-dir DIR, not both")
    if args.output is None and args.output_dir is None:
        parser.error("give -o OUT.tif for one input, or --output-dir DIR for many")
    if args.output is not None and len(args.inputs) > 1:
        parser.error("-o names one mask: use --output-dir DIR with several inputs")
    single = ("probability", "preview", "masked_image", "polygons")
    if is_batch(args) and any(getattr(args, name) is not None for name in single):
        parser.error(
            "--probability, --preview, --masked-image and --polygons take one file: use them "
            "with one input and -o"
        )


def run(args: argparse.Namespace) -> int:
    """Run one detection, or a batch; return the process exit code."""
    if is_batch(args):
        return run_many(args)
    from tqdm import tqdm

    from cloud_fcn_plugin.engine.batch.plan import check_scene_outputs
    from cloud_fcn_plugin.engine.pipeline import detect_clouds

    params = params_from_args(args)
    scene = Path(args.inputs[0])
    check_scene_outputs(scene, args.output, params)
    # None: tqdm draws the bar only on a terminal, not into logs and pipes.
    bar = tqdm(total=100, unit="%", disable=True if args.quiet else None, file=sys.stderr,
               bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% [{elapsed}<{remaining}]")  # fmt: skip
    try:
        result = detect_clouds(
            scene, args.output, params,
            progress=lambda percent: bar.update(percent - bar.n),
            is_canceled=raise_if_terminated,
            log=lambda message: bar.write(note_line(message), file=sys.stderr),
        )  # fmt: skip
    finally:
        bar.close()
    print(result.summary())
    return 0


def note_line(message: str) -> str:
    """``note: ...``, or ``warning: ...`` for the engine's warnings."""
    if message.startswith("Warning: "):
        return "warning: " + message.removeprefix("Warning: ")
    return f"note: {message}"


def run_many(args: argparse.Namespace) -> int:
    """Run a batch with a progress bar over scenes; exit code 1 if any scene was not done."""
    from tqdm import tqdm

    from cloud_fcn_plugin.engine.batch import run as batch
    from cloud_fcn_plugin.engine.batch.plan import plan_batch

    params = params_from_args(args)
    plan = plan_batch(args.inputs, output=args.output, output_dir=args.output_dir,
                      report=args.report)  # fmt: skip
    # None: tqdm draws the bar only on a terminal, not into logs and pipes.
    bar = tqdm(total=len(plan.jobs), unit="scene", disable=True if args.quiet else None,
               file=sys.stderr)  # fmt: skip

    def on_done(report: batch.SceneReport) -> None:
        bar.update(1)
        if report.status in ("failed", "canceled"):
            bar.write(f"failed: {report.input}: {report.error}", file=sys.stderr)

    try:
        reports = batch.run_batch(
            plan.jobs, params, scheduler=args.scheduler, resume=args.resume, read=plan.lists,
            on_done=on_done, log=lambda message: bar.write(note_line(message), file=sys.stderr),
        )  # fmt: skip
    finally:
        bar.close()
    print(batch.format_table(reports))
    if args.report is not None:
        print(f"report: {batch.write_report(reports, args.report)}")
    return 1 if batch.batch_failed(reports) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run, and turn any failure into one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        # SIGTERM and SIGHUP unwind like Ctrl-C: the writers remove their temporary files.
        with terminate_as_interrupt():
            return run(args)
    except (Exception, KeyboardInterrupt) as error:
        line, code = ending(error)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
