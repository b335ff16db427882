#!/usr/bin/env python3
"""Detect clouds in a Landsat 8/9 scene and write a georeferenced cloud mask.

Examples:
    python scripts/detect.py scene_B2-B5.tif -o mask.tif
    python scripts/detect.py LC08_L1TP_..._T1/ -o mask.tif --probability prob.tif
    python scripts/detect.py stack.tif -o mask.tif --bands 4,3,2,5 --product toa

A 4-band GeoTIFF is read in Landsat band order B2, B3, B4, B5 (blue, green, red,
NIR) unless ``--bands`` gives the 1-based indices of red, green, blue and NIR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_fcn_plugin.engine.errors import CanceledError, CloudFcnError
from cloud_fcn_plugin.engine.params import (
    DEVICES,
    PRODUCT_LEVELS,
    DetectionParams,
)


def parse_bands(text: str) -> tuple[int, int, int, int]:
    """Parse ``"4,3,2,5"`` into four 1-based band indices (red, green, blue, NIR)."""
    try:
        bands = tuple(int(part) for part in text.split(","))
    except ValueError:
        bands = ()
    if len(bands) != 4 or min(bands) < 1:
        raise argparse.ArgumentTypeError(
            f"--bands takes four 1-based indices RED,GREEN,BLUE,NIR such as 3,2,1,4, got {text!r}"
        )
    return bands  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description="Detect clouds in a Landsat 8/9 scene with a fully convolutional network.",
        epilog="A 4-band GeoTIFF is read in Landsat band order B2, B3, B4, B5 "
        "(blue, green, red, NIR) unless --bands says otherwise.",
    )
    parser.add_argument(
        "input", type=Path, help="multi-band GeoTIFF, Landsat product folder or *_MTL.txt"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="cloud mask GeoTIFF to write"
    )
    parser.add_argument("--bands", type=parse_bands, help="1-based band indices RED,GREEN,BLUE,NIR")
    parser.add_argument(
        "--product",
        choices=PRODUCT_LEVELS,
        default="auto",
        help="product level: Level-1 DN, TOA reflectance or Level-2 SR",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        help="cloud probability threshold (default: the model's calibrated one)",
    )
    parser.add_argument("--probability", type=Path, help="also write the cloud probability here")
    parser.add_argument(
        "--probability-dtype",
        choices=("float32", "uint8"),
        default="float32",
        help="float32 0..1, or uint8 percent with 255 nodata",
    )
    parser.add_argument("--weights", type=Path, help="checkpoint (.safetensors); default: bundled")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--tile-size", type=int, help="tile edge in pixels (default: the model's)")
    parser.add_argument("--overlap", type=int, help="pixels shared by neighbouring tiles")
    parser.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    parser.add_argument(
        "--preview", type=Path, help="also write a PNG quick-look with cloud outlines"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def params_from_args(args: argparse.Namespace) -> DetectionParams:
    """Turn parsed arguments into the engine's parameters."""
    return DetectionParams(
        bands=args.bands,
        product=args.product,
        threshold=args.threshold,
        weights=args.weights,
        tile_size=args.tile_size,
        overlap=args.overlap,
        batch_size=args.batch_size,
        device=args.device,
        probability=args.probability,
        probability_dtype=args.probability_dtype,
        overwrite=args.overwrite,
    )


def run(args: argparse.Namespace) -> int:
    """Run one detection; return the process exit code."""
    from tqdm import tqdm

    from cloud_fcn_plugin.engine.pipeline import detect_clouds
    from cloud_fcn_plugin.engine.preview import write_preview
    from cloud_fcn_plugin.engine.raster_io import check_output_path

    params = params_from_args(args)
    if args.preview is not None:
        check_output_path(args.preview, args.overwrite)
    bar = tqdm(
        total=100,
        unit="%",
        # None: tqdm draws the bar only on a terminal, not into logs and pipes.
        disable=True if args.quiet else None,
        file=sys.stderr,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% [{elapsed}<{remaining}]",
    )

    def progress(percent: float) -> None:
        bar.update(percent - bar.n)

    try:
        result = detect_clouds(
            args.input,
            args.output,
            params,
            progress=progress,
            log=lambda message: bar.write(f"note: {message}", file=sys.stderr),
        )
    finally:
        bar.close()
    if args.preview is not None:
        write_preview(
            args.input, result.output, args.preview, bands=args.bands, product=args.product
        )
    print(result.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run, and turn engine errors into one line."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CanceledError as error:
        print(f"canceled: {error}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("canceled: interrupted, no output was written.", file=sys.stderr)
        return 130
    except CloudFcnError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        print(
            "error: PyTorch is not installed: run `make setup` or "
            "`pip install torch` in this Python environment.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
