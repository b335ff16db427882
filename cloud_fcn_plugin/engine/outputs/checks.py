"""Outputs checked before any work: not the input, not another output, right extension, writable."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import (
    CloudFcnError,
    OutputConflictError,
    OutputExistsError,
    OutputNotWritableError,
    ParameterError,
)
from ..files.gdal_read import os_reason
from ..params import DetectionParams
from ..scene.opened import Scene, open_input
from ..scene.read_set import ReadSet

#: Extensions of raster outputs: they are always written as GeoTIFF.
RASTER_SUFFIXES = (".tif", ".tiff")


#: Extensions of polygon outputs: they are always written as GeoPackage.
VECTOR_SUFFIXES = (".gpkg",)


_FORMAT_NAMES = {".tif": "a GeoTIFF", ".png": "a PNG picture", ".gpkg": "a GeoPackage"}


def check_output_path(
    path: str | Path,
    overwrite: bool,
    *,
    protected: Sequence[str | Path] | ReadSet = (),
    suffixes: Sequence[str] | None = None,
) -> Path:
    """Check an output can be written, before any computing starts.

    Args:
        path: the output file.
        overwrite: whether an existing file may be replaced.
        protected: files it must never replace (what the run reads, see
            :mod:`..scene.read_set`), compared resolved, links and hard links included.
        suffixes: the extensions the output may have (lower case), None for any.

    Returns:
        The absolute output path.

    Raises:
        OutputConflictError: the output is one of the ``protected`` files.
        ParameterError: the extension is not one of ``suffixes``.
        OutputExistsError: the file exists and ``overwrite`` is False.
        OutputNotWritableError: the folder is missing or not writable, or the path
            is a folder.
    """
    path = Path(path).expanduser().absolute()
    reads = protected if isinstance(protected, ReadSet) else ReadSet(protected)
    other = reads.find(path)
    if other is not None:
        raise OutputConflictError(
            f"{path} is the input {Path(other).name} (or one of its files): writing there "
            "would destroy it; choose another output name."
        )
    if suffixes is not None and path.suffix.lower() not in suffixes:
        kind = _FORMAT_NAMES.get(suffixes[0], suffixes[0])
        raise ParameterError(
            f"{path.name} does not end with {' or '.join(suffixes)}, but it would be written "
            f"as {kind}: name it {path.stem}{suffixes[0]}."
        )
    try:
        _check_destination(path, overwrite)
    except CloudFcnError:
        raise
    except OSError as exc:  # the OS rejects the name itself (too long, a link loop)
        raise OutputNotWritableError(f"Cannot write {path}: {os_reason(exc)}.") from exc
    return path


def _check_destination(path: Path, overwrite: bool) -> None:
    """The checks of :func:`check_output_path` that ask the file system; OSError passes."""
    if len(os.fsencode(path.name)) > _name_max(path.parent):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))
    if path.is_symlink():
        os.stat(path)  # ELOOP for a link that loops (a dangling link is replaced, not followed)
    if path.is_dir():
        raise OutputNotWritableError(f"{path} is a folder: give an output file name.")
    if not path.parent.is_dir():
        raise OutputNotWritableError(
            f"Output folder {path.parent} does not exist: create it or choose another one."
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputNotWritableError(
            f"Output folder {path.parent} is not writable: choose another folder."
        )
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(f"{path} exists: pass --overwrite or choose another name.")


def _name_max(folder: Path) -> int:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.pathconf(folder, "PC_NAME_MAX")
    return 255


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: equal once resolved (symbolic links) or hard-linked."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        if a.resolve() == b.resolve():
            return True
        return os.path.samefile(a, b)
    except (OSError, RuntimeError, ValueError):  # missing, too long, a link loop (RuntimeError)
        return False


def check_outputs(
    source: str | Path | Scene | None,
    outputs: Sequence[tuple[str, str | Path | None, Sequence[str] | None]],
    overwrite: bool,
) -> list[Path | None]:
    """Check every output of one run up front: writable, never an input file, all distinct.

    Args:
        source: what the run reads (raster, product folder, MTL or its opened scene), None
            for none.
        outputs: ``(label, path or None, allowed suffixes or None)`` per output.
        overwrite: whether existing outputs may be replaced.

    Returns:
        The absolute paths, None where none was given.

    Raises:
        OutputConflictError: an output is an input file, or two outputs share a path.
    """
    protected = open_input(source).read_set if source is not None else ReadSet()
    checked: list[Path | None] = []
    seen: list[tuple[str, Path]] = []
    for label, path, suffixes in outputs:
        if path is None:
            checked.append(None)
            continue
        absolute = Path(path).expanduser().absolute()
        for other_label, other in seen:
            if same_file(absolute, other):
                raise OutputConflictError(
                    f"The {label} and the {other_label} would both be written to {absolute}: "
                    "give each output its own path."
                )
        absolute = check_output_path(path, overwrite, protected=protected, suffixes=suffixes)
        seen.append((label, absolute))
        checked.append(absolute)
    return checked


def run_outputs(
    output_path: str | Path, params: DetectionParams
) -> list[tuple[str, str | Path | None, Sequence[str]]]:
    """The outputs of one run as :func:`check_outputs` takes them: the mask first."""
    return [
        ("mask", output_path, RASTER_SUFFIXES),
        ("probability", params.probability, RASTER_SUFFIXES),
        ("masked image", params.masked_image, RASTER_SUFFIXES),
        ("polygons", params.polygons, VECTOR_SUFFIXES),
        ("preview", params.preview, (".png",)),
    ]
