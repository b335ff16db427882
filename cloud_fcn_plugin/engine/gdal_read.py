"""Opening rasters for reading, with GDAL's failures turned into one line that says what to do.

Every reader of the engine opens its files through :func:`open_raster` and reads inside
:func:`reading`, so a truncated file, a VRT whose source is gone or a path GDAL must not
open (a FIFO, a device) never shows as a rasterio traceback.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError

from .errors import InputNotFoundError, InputReadError

#: What GDAL raises through rasterio: RasterioIOError is an OSError, not a
#: RasterioError, in rasterio 1.3; GDAL's own CPLE_* errors derive from neither.
GDAL_ERRORS = (RasterioError, RasterioIOError, CPLE_BaseError)


def open_raster(path: Path) -> Any:
    """Open a raster for reading, turning GDAL failures into our errors."""
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist: check the path and try again.")
    try:
        # 38-Cloud and Biome patches carry no georeferencing; that is expected here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except GDAL_ERRORS as exc:
        raise InputReadError(
            f"{path} is not a raster GDAL can read: {exc}. Choose a GeoTIFF, a Landsat "
            "product folder or its MTL file."
        ) from exc


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn GDAL read errors (a truncated file, a VRT whose source is gone) into one line."""
    try:
        yield
    except GDAL_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputReadError(
            f"Reading {path} failed ({reason}): the file is truncated or corrupt, or a file "
            "it refers to is missing: download or copy it again."
        ) from exc
