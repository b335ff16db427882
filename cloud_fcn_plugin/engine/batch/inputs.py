"""The inputs of a batch: command-line items expanded into scene paths.

An item may be a raster, a Landsat product folder, a ``*_MTL.txt`` file, a glob
pattern, a folder of scenes, or a list file naming one such item per line. Folders and
patterns leave out hidden files and the batch's own ``*_cloudmask.tif`` masks; a
``**`` pattern walks each folder once, however symbolic links loop. A path the OS
rejects (too long, a link loop) is kept, to fail as its own row.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import ParameterError
from ..files.gate import LIST_BYTES, read_small_text
from ..scene.products import is_product_folder

RASTER_SUFFIXES = (".tif", ".tiff")
LIST_SUFFIXES = (".txt", ".lst")
MTL_SUFFIX = "_mtl.txt"
#: The name ending of a batch's masks (``<input stem>_cloudmask.tif``).
OUTPUT_SUFFIX = "_cloudmask.tif"
_MAX_LIST_DEPTH = 4
#: At most this many paths are looked at by one ``**`` pattern.
MAX_GLOB_PATHS = 1_000_000


def expand_inputs(items: Iterable[str | Path], *, read: list[Path] | None = None) -> list[Path]:
    """Turn command-line inputs into scene paths, in order, without duplicates.

    Each item may be a raster, a Landsat product folder, a ``*_MTL.txt`` file, a
    glob pattern (``archive/LC08_*``), a folder of product folders or rasters, or a
    text file listing one such input per line (``#`` starts a comment; relative
    lines are read from the list's folder). Paths that do not exist are kept: they
    are reported as failed scenes instead of stopping the batch.

    Args:
        items: the command-line inputs.
        read: receives the list files read, which belong to what the batch reads.

    Raises:
        ParameterError: a pattern or folder yields nothing, or no input is left.
    """
    found: list[Path] = []
    lists = read if read is not None else []
    for item in items:
        found.extend(_expand_item(str(item), None, 0, lists))
    scenes = _unique(found)
    if not scenes:
        raise ParameterError("No input scenes were given: pass rasters, folders or a list file.")
    return scenes


def _expand_item(item: str, base: Path | None, depth: int, lists: list[Path]) -> list[Path]:
    path = Path(item).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if not _exists(path) and glob.has_magic(item):
        return _expand_pattern(item, path)
    if is_file(path) and _is_list_file(path):
        lists.append(path)
        return _expand_list(path, depth, lists)
    if is_dir(path) and not is_product_folder(path):
        return _expand_folder(path)
    return [path]


def _expand_pattern(item: str, pattern: Path) -> list[Path]:
    matches = [Path(p) for p in sorted(bounded_glob(str(pattern)))]
    scenes = [p for p in matches if _looks_like_scene(p)]
    if not scenes:
        raise ParameterError(
            f"No scene matches {item!r}: check the pattern (it must match rasters, "
            "product folders or *_MTL.txt files)."
        )
    return scenes


def _expand_list(path: Path, depth: int, lists: list[Path]) -> list[Path]:
    if depth >= _MAX_LIST_DEPTH:
        raise ParameterError(f"{path}: input lists nest too deeply; list the scenes directly.")
    try:
        lines = read_small_text(path, "the input list", LIST_BYTES).splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ParameterError(f"Cannot read the input list {path}: {error}.") from error
    found: list[Path] = []
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if entry:
            found.extend(_expand_item(entry, path.parent, depth + 1, lists))
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
    if name.startswith(".") or name.endswith(OUTPUT_SUFFIX):
        return False  # hidden files (our own .partial outputs) and the masks of a batch
    if is_dir(path):
        return is_product_folder(path)
    return name.endswith(RASTER_SUFFIXES) or name.endswith(MTL_SUFFIX)


def is_file(path: Path) -> bool:
    """``Path.is_file`` that says False where the OS rejects the path (too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    """``Path.is_dir`` that says False where the OS rejects the path."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def bounded_glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, but ``**`` visits each folder once.

    Python's recursive glob follows every symbolic link to a folder, so two links to
    ``.`` give about 2^depth paths and it never ends; here a folder reached again
    (same device and inode) is not walked twice, and the walk is bounded.

    Raises:
        ParameterError: the pattern looks at more than :data:`MAX_GLOB_PATHS` paths.
    """
    parts = pattern.split(os.sep)
    if "**" not in parts:
        return glob.glob(pattern)
    first = parts.index("**")
    root = os.sep.join(parts[:first]) or (os.sep if pattern.startswith(os.sep) else "")
    roots = glob.glob(root) if glob.has_magic(root) else [root]
    wanted = re.compile(_translate(parts))
    matches: list[str] = []
    budget = [MAX_GLOB_PATHS]
    for top in roots:
        matches.extend(_walk_matching(top, wanted, budget, pattern))
    return matches


def _walk_matching(top: str, wanted: re.Pattern, budget: list[int], pattern: str) -> list[str]:
    matches: list[str] = []
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(top or ".", followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []  # a link back to a folder already walked: a loop
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        budget[0] -= len(dirs) + len(files)
        if budget[0] < 0:
            raise ParameterError(
                f"{pattern!r} looks at more than {MAX_GLOB_PATHS:,} paths: narrow the pattern "
                "or list the scenes in a file."
            )
        for name in (*dirs, *files):
            if name.startswith("."):
                continue
            candidate = (
                os.path.join(folder, name) if top else os.path.relpath(os.path.join(folder, name))
            )
            if wanted.fullmatch(candidate):
                matches.append(candidate)
    return matches


def _translate(parts: list[str]) -> str:
    """A regular expression of a glob pattern split at ``/``; ``**`` spans folders."""
    pieces = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            pieces.append(".*" if last else "(?:[^/]+/)*")
        else:
            pieces.append(_translate_part(part) + ("" if last else re.escape(os.sep)))
    return "".join(pieces)


def _translate_part(part: str) -> str:
    out, index = [], 0
    while index < len(part):
        char = part[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif (
            char == "["
            and "]" in part[index + 1 :]
            or (char == "[" and part[index : index + 1] == "]")
        ):
            end = part.index("]", index + 1)
            body = part[index:end]
            index = end + 1
            body = "^" + body[1:] if body.startswith("!") else body
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


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
