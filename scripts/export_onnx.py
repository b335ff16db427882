#!/usr/bin/env python3
"""Export a checkpoint as an ONNX model that carries the plugin's metadata contract.

Examples:
    python scripts/export_onnx.py rgbn -o cloudfcn_rgbn.onnx
    python scripts/export_onnx.py runs/unet/best.safetensors -o my_model.onnx --overwrite
    python scripts/detect.py scene.tif -o mask.tif --model cloudfcn_rgbn.onnx

The file's ``metadata_props`` say its bands, normalisation, classes, output kind,
threshold and tiling (the ``cloud_fcn.*`` keys: see the README, Bring your own
model); the exported model gives the torch model's mask up to float rounding.
Needs the ``onnx`` package besides torch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_fcn_plugin.engine.errors import CloudFcnError


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "checkpoint",
        help="a bundled model (rgbn, sixband, fullband) or a .safetensors checkpoint",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.onnx")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    return parser


def checkpoint_path(text: str) -> Path:
    """The checkpoint a bundled model's name or a path names."""
    from cloud_fcn_plugin.engine.models.choice import bundled_model_path

    if Path(text).suffix:
        return Path(text)
    return bundled_model_path(text)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        from cloud_fcn_plugin.engine.models.onnx_export import export_onnx
        from cloud_fcn_plugin.engine.models.onnx_model import read_onnx_metadata

        path = export_onnx(checkpoint_path(args.checkpoint), args.output,
                           overwrite=args.overwrite)
        meta = read_onnx_metadata(path)
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"Wrote {path}: bands {', '.join(meta.bands)}, classes {', '.join(meta.classes)}, "
        f"threshold {meta.threshold:.3f}, tiles {meta.tile_size} px."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
