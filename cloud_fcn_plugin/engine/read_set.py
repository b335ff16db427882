"""What a run reads: every file behind its input, which no output and no deletion may touch.

:func:`input_files` is the one notion of "the input" that every output check uses
(:func:`~.outputs.check_outputs`, the batch's report and ``--resume``): a raster's own
files (overviews, ``.aux.xml``), the sources of a VRT at any depth, every file of a
product folder (given as the folder, its MTL or one of its band files).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from .gdal_read import GDAL_ERRORS
from .products import MTL_FILE


def input_files(path: str | Path) -> list[Path]:
    """Every file an input is read from, which no output may replace.

    A raster's own files (a VRT's sources, ``.aux.xml`` and overviews included),
    or every file of a product folder (given as the folder or its MTL).
    """
    path = Path(path).expanduser()
    folder = path if path.is_dir() else path.parent if MTL_FILE.search(path.name) else None
    if folder is not None:
        with contextlib.suppress(OSError):
            return [f for f in folder.iterdir() if f.is_file()] + [path]
        return [path]
    files = [path]
    with contextlib.suppress(*GDAL_ERRORS, OSError), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            files += [Path(f) for f in dataset.files]
    return files
