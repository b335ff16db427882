"""Opening rasters for reading, with GDAL's failures turned into one line that says what to do.

Every reader of the engine opens its files through :func:`open_raster` and reads inside
:func:`reading`, so a truncated file, a VRT whose source is gone or a path GDAL must not
open (a FIFO, a device) never shows as a rasterio traceback.
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError

from ..errors import InputNotFoundError, InputReadError
from .gate import gate_raster, os_reason

__all__ = ["GDAL_ERRORS", "check_input_path", "open_raster", "os_reason", "reading"]

#: What GDAL raises through rasterio: RasterioIOError is an OSError, not a
#: RasterioError, in rasterio 1.3; GDAL's own CPLE_* errors derive from neither.
GDAL_ERRORS = (RasterioError, RasterioIOError, CPLE_BaseError)


def check_input_path(path: Path, *, folder_ok: bool = True) -> os.stat_result:
    """Stat an input before anything opens it: it exists, and is a regular file or a folder.

    GDAL's open blocks forever on a FIFO (and then ignores SIGTERM); a device or socket
    is no raster either, so they are refused by their type, before GDAL sees them. A
    file then passes the gate of :mod:`.gate` with every source behind it (a VRT's, at
    any depth): no system file, no raw band, no FIFO found through the input.

    Raises:
        InputNotFoundError: nothing is there.
        InputReadError: the OS rejects the path (too long, a link loop), or it is neither a
            regular file nor (with ``folder_ok``) a folder.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise InputNotFoundError(f"{path} does not exist: check the path and try again.") from exc
    except OSError as exc:
        raise InputReadError(f"Cannot open the input {path}: {os_reason(exc)}.") from exc
    except ValueError as exc:  # a NUL byte in the name
        raise InputReadError(f"Cannot open the input {path!r}: {exc}.") from exc
    if stat.S_ISREG(info.st_mode):
        gate_raster(path)
        return info
    if folder_ok and stat.S_ISDIR(info.st_mode):
        return info
    raise InputReadError(
        f"{path} is not a regular file (a FIFO, device or socket): GDAL cannot read a "
        "raster from it; give the raster file itself."
    )


def open_raster(path: Path) -> Any:
    """Open a raster for reading, turning GDAL failures into our errors."""
    check_input_path(path, folder_ok=False)
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
