#!/usr/bin/env python3
"""Write each labelled L8 Biome patch as a Level-2-like product folder, for the product path.

The Biome patches are top-of-atmosphere reflectance; no surface reflectance of them
exists here. This writes them as Collection 2 Level-2 product folders (``SR_B1..SR_B7``
as DN with the Level-2 scaling, ``ST_B10`` from the patch's brightness temperature,
no QA band (there is no CFMask answer to give), the MTL of the shared Level-2 scene ``005009`` with
``SUN_ELEVATION = 90`` so that no sun direction is taken from it), with
``NAME.labels.tif`` beside each folder, as ``../shared/tools/biome_products.py`` does
for Level-1. ``--path-radiance`` subtracts a reflectance per band first, a crude
atmospheric correction (the blue, green and red haze a Level-2 product removes), so
the folders can be read both ways: TOA taken as SR, and darker, SR-like.

Usage (from the project root):
    .venv/bin/python scripts/biome_level2_products.py /tmp/level2
    .venv/bin/python scripts/biome_level2_products.py /tmp/level2_sr --path-radiance 0.06,0.03,0.02
    .venv/bin/python scripts/product_check.py /tmp/level2_sr --config "4-band=--model rgbn" ...
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
SCENE = "scenes/LC08_L2SP_005009_20150710_C2_500m"
SR_SCALE, SR_OFFSET, ST_SCALE, ST_OFFSET = 2.75e-5, -0.2, 0.00341802, 149.0
#: Level-2 band -> the patch's band (blue B2 stands in for coastal B1).
PATCH_BAND = {1: 0, 2: 0, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5}


def write_band(path: Path, values: np.ndarray) -> None:
    profile = dict(
        driver="GTiff", width=values.shape[1], height=values.shape[0], count=1, dtype="uint16",
        crs="EPSG:32617", transform=from_origin(500000, 4000000, 30, 30), nodata=0,
        compress="deflate",
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.clip(np.round(values), 1, 65535).astype(np.uint16)[None])


def write_product(image: Path, out: Path, mtl: Path, haze: tuple[float, ...]) -> None:
    """One patch as ``out/NAME/`` with ``out/NAME.labels.tif`` beside it."""
    name, product_id = image.stem, mtl.name.removesuffix("_MTL.txt")
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    text = re.sub(r"SUN_ELEVATION = \S+", "SUN_ELEVATION = 90.00000000", mtl.read_text())
    (folder / mtl.name).write_text(text)
    with rasterio.open(image) as src:
        bands = src.read().astype(np.float64)
    for number, index in PATCH_BAND.items():
        haze_here = haze[index] if index < len(haze) else 0.0
        sr = bands[index] - haze_here
        write_band(folder / f"{product_id}_SR_B{number}.TIF", (sr - SR_OFFSET) / SR_SCALE)
    write_band(folder / f"{product_id}_ST_B10.TIF", (bands[7] - ST_OFFSET) / ST_SCALE)
    shutil.copy(image.parent.parent / "Masks" / image.name, out / f"{name}.labels.tif")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the product folders")
    parser.add_argument(
        "--path-radiance", default="0", help="reflectance subtracted from blue,green,red,... first"
    )
    args = parser.parse_args()
    haze = tuple(float(v) for v in args.path_radiance.split(","))
    (mtl,) = (DATA_DIR / SCENE).glob("*_MTL.txt")
    images = sorted(DATA_DIR.glob("l8biome_patches/*/Images/*.tif"))
    if not images:
        raise SystemExit(f"No Biome patches under {DATA_DIR}: set CLOUD_FCN_DATA.")
    for image in images:
        write_product(image, args.out, mtl, haze)
    print(f"{len(images)} Level-2-like product folders in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
