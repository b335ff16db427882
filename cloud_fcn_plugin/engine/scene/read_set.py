"""What a run reads: every file behind its input, which no output and no deletion may touch.

:func:`input_files` is the one notion of "the input" that every output check uses
(:func:`~..outputs.checks.check_outputs`, the batch's report and ``--resume``): a raster's own
files (overviews, ``.aux.xml``), the sources of a VRT at any depth, every file of a
product folder (given as the folder, its MTL or one of its band files).
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from collections.abc import Iterable
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from ..errors import CloudFcnError
from ..files.gate import gate_raster
from ..files.gdal_read import GDAL_ERRORS
from .products import MTL_FILE

#: At most this many files are walked behind one input (a VRT of a whole archive).
MAX_FILES = 100_000


def input_files(path: str | Path) -> list[Path]:
    """Every file an input is read from, which no output may replace and no run may delete.

    A raster's own files (``.aux.xml``, overviews) and the sources of a VRT at any
    depth, each VRT opened once (a VRT that refers to itself ends the walk); or every
    file of a product folder (given as the folder or its MTL). Never raises: a path
    that cannot be opened is its own read set.
    """
    path = Path(path).expanduser()
    folder = _product_folder(path)
    if folder is not None:
        with contextlib.suppress(OSError):
            return [f for f in folder.iterdir() if _is_regular(f)] + [path]
        return [path]
    return _raster_files(path)


def _product_folder(path: Path) -> Path | None:
    try:
        if path.is_dir():
            return path
    except OSError:
        return None
    return path.parent if MTL_FILE.search(path.name) else None


def _raster_files(path: Path) -> list[Path]:
    """The file, and every file GDAL lists for it, walked through VRT sources."""
    files: list[Path] = []
    seen: set[str] = set()
    todo = [path]
    while todo and len(files) < MAX_FILES:
        current = todo.pop()
        key = os.path.normpath(os.path.abspath(current))
        if key in seen:
            continue
        seen.add(key)
        files.append(current)
        if _is_regular(current) and _passes_gate(current):
            todo.extend(f for f in _listed_files(current) if f != current)
    return files


def _passes_gate(path: Path) -> bool:
    # GDAL opens a VRT's sources as it opens the VRT: only a VRT whose sources all pass
    # the gate (no FIFO, no system file) is opened to list them; the run refuses the rest.
    try:
        gate_raster(path)
    except CloudFcnError:
        return False
    return True


def _listed_files(path: Path) -> list[Path]:
    # Regular files only: GDAL's open blocks on a FIFO (see gdal_read.check_input_path).
    with contextlib.suppress(*GDAL_ERRORS, OSError), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            return [Path(f) for f in dataset.files]
    return []


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


class ReadSet:
    """Files a run reads, to be told apart from an output fast (resolved names and inodes).

    Checking each output of a batch of thousands of scenes against every file of every
    scene with :func:`~..outputs.checks.same_file` would resolve millions of paths; this resolves
    each file once. Links and hard links are caught as by ``same_file``.
    """

    def __init__(self, files: Iterable[str | Path] = ()) -> None:
        self._names: dict[str, Path] = {}
        self._inodes: dict[tuple[int, int], Path] = {}
        for file in files:
            self.add(file)

    def add(self, file: str | Path) -> None:
        """Add one file (a path that cannot be resolved is kept by its name)."""
        file = Path(file)
        self._names.setdefault(_resolved(file), file)
        with contextlib.suppress(OSError, ValueError):
            info = os.stat(file)
            self._inodes.setdefault((info.st_dev, info.st_ino), file)

    def add_input(self, path: str | Path) -> None:
        """Add every file behind an input (see :func:`input_files`)."""
        for file in input_files(path):
            self.add(file)

    def find(self, path: str | Path) -> Path | None:
        """The file of the set that ``path`` names, or None."""
        path = Path(path)
        found = self._names.get(_resolved(path))
        if found is not None:
            return found
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return None
        return self._inodes.get((info.st_dev, info.st_ino))


def _resolved(path: Path) -> str:
    try:
        return str(path.expanduser().resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop is a RuntimeError in 3.11
        return os.path.normpath(os.path.abspath(path))
