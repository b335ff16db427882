"""Small generated rasters and product folders for the scene tests (and those of the outputs
and the file gate), and where the shared real scenes keep their bands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

CRS_UTM = CRS.from_epsg(32617)
TRANSFORM = Affine(30.0, 0.0, 400000.0, 0.0, -30.0, 4000000.0)
BAND_GLOBS = {
    "l1_900m": "*_B{}.TIF",
    "toa_120m": "*_B{}_toa.tif",
    "sr_600m": "*_SR_B{}.TIF",
}


def write_raster(
    path: Path,
    data: np.ndarray,
    *,
    nodata: float | None = None,
    descriptions: Sequence[str] | None = None,
    georeferenced: bool = True,
) -> Path:
    """Write a (C, H, W) array as a GeoTIFF; tiny generated fixtures for unit tests."""
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "nodata": nodata,
    }
    if georeferenced:
        profile.update(crs=CRS_UTM, transform=TRANSFORM)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data)
        for index, text in enumerate(descriptions or (), start=1):
            dataset.set_band_description(index, text)
    return path


def dn_stack(bands: int = 4, shape: tuple[int, int] = (40, 50), seed: int = 0) -> np.ndarray:
    """Level-1-like DN (7000..30000) with a fill corner."""
    rng = np.random.default_rng(seed)
    data = rng.integers(7000, 30000, size=(bands, *shape), dtype=np.uint16)
    data[:, :5, :5] = 0
    return data


def product_folder(folder: Path, bands: Sequence[int], pattern: str, data: np.ndarray) -> Path:
    """Single-band files named like a Landsat product (band b gets data[b % len(data)])."""
    folder.mkdir(exist_ok=True)
    for band in bands:
        write_raster(folder / pattern.format(band), data[band % len(data)][None])
    return folder


def band_file(scene: Path, key: str, band: int) -> Path:
    return next(scene.glob(BAND_GLOBS[key].format(band)))
