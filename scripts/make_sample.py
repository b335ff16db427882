#!/usr/bin/env python3
"""Rebuild the bundled demo scene from the shared real data.

Stacks bands B2-B5 (blue, green, red, NIR) of the Long Island TOA scene
(LC80130312015295LGN00, 120 m) into one compressed GeoTIFF, in Landsat band
order, the command line's default for a 4-band stack.

    python scripts/make_sample.py ../shared/data/scenes/LC80130312015295LGN00_toa_120m
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rasterio

BANDS = ("B2", "B3", "B4", "B5")
DESCRIPTIONS = ("B2 blue", "B3 green", "B4 red", "B5 NIR")
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "resources" / "sample"
OUTPUT = SAMPLE_DIR / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


def main() -> None:
    """Write the stacked sample scene."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene_dir", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    files = [next(args.scene_dir.glob(f"*_{band}_toa.tif")) for band in BANDS]
    with rasterio.open(files[0]) as first:
        profile = first.profile
    profile.update(
        count=4,
        compress="deflate",
        predictor=3,
        zlevel=9,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        nodata=0.0,
    )
    with rasterio.open(args.output, "w", **profile) as dst:
        for index, (path, description) in enumerate(zip(files, DESCRIPTIONS, strict=True), 1):
            with rasterio.open(path) as src:
                dst.write(src.read(1), index)
            dst.set_band_description(index, description)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
