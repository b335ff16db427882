"""The inputs of a batch: command-line items expanded into scene paths.

An item may be a raster, a Landsat product folder, a ``*_MTL.txt`` file, a glob
pattern, a folder of scenes, or a list file naming one such item per line.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from .errors import ParameterError
from .products import is_product_folder

RASTER_SUFFIXES = (".tif", ".tiff")
LIST_SUFFIXES = (".txt", ".lst")
MTL_SUFFIX = "_mtl.txt"
_MAX_LIST_DEPTH = 4


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Turn command-line inputs into scene paths, in order, without duplicates.

    Each item may be a raster, a Landsat product folder, a ``*_MTL.txt`` file, a
    glob pattern (``archive/LC08_*``), a folder of product folders or rasters, or a
    text file listing one such input per line (``#`` starts a comment; relative
    lines are read from the list's folder). Paths that do not exist are kept: they
    are reported as failed scenes instead of stopping the batch.

    Raises:
        ParameterError: a pattern or folder yields nothing, or no input is left.
    """
    found: list[Path] = []
    for item in items:
        found.extend(_expand_item(str(item), None, 0))
    scenes = _unique(found)
    if not scenes:
        raise ParameterError("No input scenes were given: pass rasters, folders or a list file.")
    return scenes


def _expand_item(item: str, base: Path | None, depth: int) -> list[Path]:
    path = Path(item).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists() and glob.has_magic(item):
        return _expand_pattern(item, path)
    if path.is_file() and _is_list_file(path):
        return _expand_list(path, depth)
    if path.is_dir() and not is_product_folder(path):
        return _expand_folder(path)
    return [path]


def _expand_pattern(item: str, pattern: Path) -> list[Path]:
    matches = [Path(p) for p in sorted(glob.glob(str(pattern), recursive=True))]
    scenes = [p for p in matches if _looks_like_scene(p)]
    if not scenes:
        raise ParameterError(
            f"No scene matches {item!r}: check the pattern (it must match rasters, "
            "product folders or *_MTL.txt files)."
        )
    return scenes


def _expand_list(path: Path, depth: int) -> list[Path]:
    if depth >= _MAX_LIST_DEPTH:
        raise ParameterError(f"{path}: input lists nest too deeply; list the scenes directly.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ParameterError(f"Cannot read the input list {path}: {error}.") from error
    found: list[Path] = []
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if entry:
            found.extend(_expand_item(entry, path.parent, depth + 1))
    return found


def _expand_folder(folder: Path) -> list[Path]:
    scenes = [p for p in sorted(folder.iterdir()) if _looks_like_scene(p)]
    if not scenes:
        raise ParameterError(
            f"{folder} holds no Landsat product folders or GeoTIFFs: "
            "point at the folder that contains the scenes."
        )
    return scenes


def _is_list_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(LIST_SUFFIXES) and not name.endswith(MTL_SUFFIX)


def _looks_like_scene(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith("."):
        return False  # hidden files, including our own .partial outputs
    if path.is_dir():
        return is_product_folder(path)
    return name.endswith(RASTER_SUFFIXES) or name.endswith(MTL_SUFFIX)


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    unique = []
    for path in paths:
        # normpath, not resolve: symlinked copies are distinct scenes with distinct names.
        key = Path(os.path.normpath(path.absolute()))
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
