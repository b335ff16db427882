"""Outputs that never look finished before they are: checks up front, atomic writes.

Every output is checked before any work (:func:`check_outputs`: never the input, never
another output, the right extension, writable) and written to a hidden temporary file
in the destination folder (:func:`new_temporary`), verified and synced, and renamed
into place only on commit (:class:`AtomicOutput`, :class:`AtomicRasterWriter`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import socket
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from .classes import CLEAR, CLOUD_SHADOW, CODE_NAMES, NODATA, THICK_CLOUD, THIN_CLOUD
from .errors import (
    CloudFcnError,
    OutputConflictError,
    OutputExistsError,
    OutputNotWritableError,
    ParameterError,
)
from .gdal_read import GDAL_ERRORS, os_reason
from .read_set import ReadSet, input_files

#: Values of the cloud mask raster (see :mod:`.classes`: 2 thin cloud, 3 cloud shadow).
MASK_CLEAR, MASK_CLOUD, MASK_NODATA = CLEAR, THICK_CLOUD, NODATA

#: Colour table of the mask: clear dark (meant transparent), thick cloud white, thin
#: cloud light blue, shadow dark violet, nodata transparent. GeoTIFF palettes drop
#: alpha, so QGIS styles do the transparency.
MASK_COLORMAP: dict[int, tuple[int, int, int, int]] = {
    MASK_CLEAR: (40, 40, 40, 0),
    MASK_CLOUD: (255, 255, 255, 255),
    THIN_CLOUD: (150, 200, 255, 255),
    CLOUD_SHADOW: (90, 40, 130, 255),
    MASK_NODATA: (0, 0, 0, 0),
}
#: Band metadata of the mask naming each code, stored inside the GeoTIFF (GDAL's
#: category names would need a ``.aux.xml`` sidecar: a second file per output).
MASK_CLASS_TAGS: dict[str, str] = {
    **{f"CLASS_{code}": name for code, name in CODE_NAMES.items()},
    f"CLASS_{NODATA}": "no data",
}

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
            :mod:`.read_set`), compared resolved, links and hard links included.
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
    input_path: str | Path | None,
    outputs: Sequence[tuple[str, str | Path | None, Sequence[str] | None]],
    overwrite: bool,
) -> list[Path | None]:
    """Check every output of one run up front: writable, never an input file, all distinct.

    Args:
        input_path: what the run reads (raster, product folder or MTL), None for none.
        outputs: ``(label, path or None, allowed suffixes or None)`` per output.
        overwrite: whether existing outputs may be replaced.

    Returns:
        The absolute paths, None where none was given.

    Raises:
        OutputConflictError: an output is an input file, or two outputs share a path.
    """
    protected = ReadSet(input_files(input_path) if input_path is not None else [])
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


def write_mask_colormap(dataset: Any, band: int = 1) -> None:
    """Attach :data:`MASK_COLORMAP` to a band of a dataset open for writing."""
    dataset.write_colormap(band, MASK_COLORMAP)


class AtomicOutput:
    """What every atomic output shares: a temporary file renamed into place on commit.

    Subclasses set ``path``, ``temp_path``, ``overwrite`` and ``_committed`` /
    ``_finished`` (False), and implement :meth:`finish` (complete, verify and sync the
    temporary file) and :meth:`abort` (drop it). Leaving a ``with`` block without
    :meth:`commit` aborts, so the destination stays as it was.
    """

    path: Path
    temp_path: Path
    overwrite: bool
    _committed: bool
    _finished: bool

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.abort()

    def finish(self) -> None:
        """Complete and verify the temporary file (see the subclasses)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Drop the temporary file (see the subclasses)."""
        raise NotImplementedError

    def commit(self) -> Path:
        """Finish the file (see :meth:`finish`) and rename it into place; return the final path."""
        if self._committed:
            return self.path
        self.finish()
        try:
            rename_temporary(self.temp_path, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._committed = True
        return self.path


class AtomicRasterWriter(AtomicOutput):
    """Writes a tiled GeoTIFF (one band, or ``count``) that appears only when complete.

    Pixels go to a hidden ``.<name>.partial-<pid>-<random>`` file in the destination
    folder, unique to this writer (two writers of one path in one process do not
    share it); :meth:`commit` closes it, reads every block back, syncs it to disk and
    only then renames it into place, so a full disk fails loudly and leaves the old
    file as it was. Leaving the ``with`` block without committing (an exception,
    KeyboardInterrupt, or simply no commit) deletes it and leaves the destination
    untouched; so does a SIGTERM or SIGHUP (see :func:`remove_live_temporaries`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        crs: CRS | None,
        transform: Affine,
        dtype: str | np.dtype,
        nodata: float | None,
        colormap: dict[int, tuple[int, ...]] | None = None,
        description: str | None = None,
        overwrite: bool = False,
        block_size: int = 256,
        count: int = 1,
        descriptions: Sequence[str] = (),
        tags: dict[str, str] | None = None,
    ) -> None:
        if block_size < 16 or block_size % 16:
            raise ParameterError(f"Block size must be a multiple of 16, got {block_size}.")
        self.path = check_output_path(path, overwrite)
        self.overwrite = overwrite
        self.width, self.height, self.count = width, height, count
        self.dtype = np.dtype(dtype)
        self.temp_path = new_temporary(self.path)
        self._committed = self._finished = False
        self._dataset = None
        try:
            # Anything, a SIGTERM included, may stop this before the with block is entered.
            self._dataset = self._create(crs, transform, nodata, block_size)
            if colormap is not None:
                self._dataset.write_colormap(1, colormap)
            if description:
                self._dataset.set_band_description(1, description)
            for band, text in enumerate(descriptions, start=1):
                self._dataset.set_band_description(band, text)
            if tags:
                self._dataset.update_tags(1, **tags)
        except BaseException:
            self.abort()
            raise

    def _create(self, crs: CRS | None, transform: Affine, nodata: float | None, block: int):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                return rasterio.open(
                    self.temp_path, "w", driver="GTiff", width=self.width,
                    height=self.height, count=self.count, dtype=self.dtype.name, crs=crs,
                    transform=transform, nodata=nodata, tiled=True, blockxsize=block,
                    blockysize=block, compress="DEFLATE", BIGTIFF="IF_SAFER",
                )  # fmt: skip
        except GDAL_ERRORS as exc:
            _forget(self.temp_path)
            raise OutputNotWritableError(
                f"Cannot create {self.temp_path}: {exc}; choose another output folder."
            ) from exc

    def write(self, array: np.ndarray, row_off: int, col_off: int) -> None:
        """Write a (h, w) block, or (count, h, w) for several bands, at a pixel offset.

        Parts outside the raster are dropped.
        """
        if self._dataset is None or self._dataset.closed:
            raise ParameterError(f"{self.path.name} is already committed or aborted.")
        if array.ndim == 2 and self.count == 1:
            array = array[None]
        if array.ndim != 3 or array.shape[0] != self.count:
            raise ParameterError(
                f"Write a (rows, cols) array, or ({self.count}, rows, cols) for {self.count} "
                f"bands, got shape {array.shape}."
            )
        r0, r1 = max(row_off, 0), min(row_off + array.shape[1], self.height)
        c0, c1 = max(col_off, 0), min(col_off + array.shape[2], self.width)
        if r0 >= r1 or c0 >= c1:
            return
        block = array[:, r0 - row_off : r1 - row_off, c0 - col_off : c1 - col_off]
        window = Window(c0, r0, c1 - c0, r1 - r0)
        self._dataset.write(block.astype(self.dtype, copy=False), window=window)

    def finish(self) -> None:
        """Close the file, read it back whole and sync it to disk, without renaming it.

        A run with several outputs finishes them all before committing any, so a
        full disk on the last one leaves the previous files of every output as they were.

        Raises:
            OutputNotWritableError: writing failed (a full disk); the temporary file is gone.
        """
        if self._committed or self._finished:
            return
        try:
            self._dataset.close()
        except GDAL_ERRORS as exc:
            self.abort()
            raise OutputNotWritableError(
                f"Writing {self.path} failed: {exc}; check free disk space."
            ) from exc
        try:
            verify_temporary(self.temp_path, self.path, (self.width, self.height, self.dtype))
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def abort(self) -> None:
        """Drop the temporary file; the destination stays as it was."""
        if self._dataset is not None and not self._dataset.closed:
            # The file is deleted next, so a failing close does not matter.
            with contextlib.suppress(*GDAL_ERRORS):
                self._dataset.close()
        _forget(self.temp_path)


# Files GDAL may leave beside a temporary output: PAM metadata, SQLite journals (GeoPackage).
_SIDECARS = (".aux.xml", "-journal", "-wal", "-shm")

# Temporary outputs of this process not yet renamed or removed; a SIGTERM handler
# removes them (remove_live_temporaries), as leaving a with block does.
_LIVE_TEMPORARIES: set[Path] = set()


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it.
_UMASK = _read_umask()


def _host_token() -> str:
    # The host in temporary names, without "-" (it ends the owner part of the name).
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"


#: This host, as it appears in temporary names (see :func:`new_temporary`).
_HOST = _host_token()


def partial_prefix(path: Path) -> str:
    """The start of every temporary file name of ``path``: ``.NAME.partial-``."""
    return f".{path.name}.partial-"


def new_temporary(path: Path, suffix: str = "") -> Path:
    """Create an empty hidden ``.NAME.partial-PID@HOST-RANDOM`` file beside ``path``, unique.

    PID and host tell a later run whether the writer is still alive (see
    :func:`remove_partial_outputs`).

    ``suffix`` ends the name, for drivers that go by the extension (GeoPackage).

    Raises:
        OutputNotWritableError: the folder cannot be written.
    """
    try:
        fd, name = tempfile.mkstemp(
            prefix=f"{partial_prefix(path)}{os.getpid()}@{_HOST}-", suffix=suffix, dir=path.parent
        )
    except OSError as exc:
        raise OutputNotWritableError(
            f"Cannot create a file in {path.parent}: {exc.strerror or exc}; choose another "
            "output folder."
        ) from exc
    os.close(fd)
    temp = Path(name)
    _LIVE_TEMPORARIES.add(temp)
    # mkstemp makes the file private (0600); the output gets the usual permissions.
    with contextlib.suppress(OSError):
        os.chmod(temp, 0o666 & ~_UMASK)
    return temp


def finish_temporary(
    temp: Path,
    path: Path,
    overwrite: bool,
    expect: tuple[int, int, np.dtype | str] | None = None,
) -> None:
    """Verify a finished temporary raster, sync it to disk and rename it onto ``path``.

    GDAL only logs the errors of a full disk and of a failed flush; reading every
    block back is what tells a complete file from a truncated one.

    Args:
        temp: the temporary file, closed.
        path: its final name.
        overwrite: whether an existing ``path`` may be replaced.
        expect: ``(width, height, dtype)`` the file must have, None to skip that check.

    Raises:
        OutputNotWritableError: the file does not read back whole, or syncing or
            renaming it failed; ``path`` is left as it was.
        OutputExistsError: ``path`` appeared meanwhile and ``overwrite`` is False.
    """
    verify_temporary(temp, path, expect)
    rename_temporary(temp, path, overwrite)


def verify_temporary(
    temp: Path, path: Path, expect: tuple[int, int, np.dtype | str] | None = None
) -> None:
    """Read every block of a finished temporary raster back and sync it to disk.

    Raises:
        OutputNotWritableError: it does not read back whole, or syncing it failed.
    """
    try:
        _verify_raster(temp, expect)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except (*GDAL_ERRORS, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OutputNotWritableError(
            f"Writing {path} failed, the file written is incomplete ({reason}): free disk "
            "space or choose another folder; any previous file there is unchanged."
        ) from exc


def write_text_file(path: Path, text: str, *, overwrite: bool) -> Path:
    """Write a small text output (a report) atomically: temporary file, sync, rename.

    Raises:
        OutputNotWritableError: writing failed (a full disk); any previous file is whole.
        OutputExistsError: ``path`` exists and ``overwrite`` is False.
    """
    temp = new_temporary(path)
    try:
        try:
            with temp.open("w", encoding="utf-8", newline="") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:
            raise OutputNotWritableError(
                f"Writing {path} failed ({exc.strerror or exc}): free disk space or choose "
                "another folder; any previous file there is unchanged."
            ) from exc
        rename_temporary(temp, path, overwrite)
    finally:
        discard_temporary(temp)
    return path


def rename_temporary(temp: Path, path: Path, overwrite: bool) -> None:
    """Rename a verified temporary file onto ``path``.

    Raises:
        OutputExistsError: ``path`` appeared meanwhile and ``overwrite`` is False.
        OutputNotWritableError: the rename failed.
    """
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} appeared while computing: pass --overwrite or choose another name."
        )
    try:
        os.replace(temp, path)
        _LIVE_TEMPORARIES.discard(temp)
        _sync_folder(path.parent)
    except OSError as exc:
        raise OutputNotWritableError(
            f"Cannot rename the finished file onto {path}: {exc.strerror or exc}; "
            "choose another output folder."
        ) from exc


def _verify_raster(path: Path, expect: tuple[int, int, np.dtype | str] | None) -> None:
    """Read every block of a raster; raise ValueError or a GDAL error when it is not whole."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            if expect is not None:
                width, height, dtype = expect
                found = (dataset.width, dataset.height, dataset.dtypes[0])
                if found != (width, height, np.dtype(dtype).name):
                    raise ValueError(f"it reads as {found}, not {(width, height, dtype)}")
            rows = max(dataset.block_shapes[0][0], 1024 // max(dataset.count, 1))
            for row in range(0, dataset.height, rows):
                window = Window(0, row, dataset.width, min(rows, dataset.height - row))
                dataset.read(window=window)


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder itself is synced (POSIX only).
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def discard_temporary(temp: Path) -> None:
    """Remove a temporary file unless it was renamed into place (safe to call always)."""
    if temp in _LIVE_TEMPORARIES:
        _forget(temp)


def _forget(temp: Path) -> None:
    """Remove a temporary file (and GDAL's sidecar) and stop tracking it."""
    _remove(temp)
    for sidecar in _SIDECARS:
        _remove(temp.with_name(temp.name + sidecar))
    _LIVE_TEMPORARIES.discard(temp)


def remove_live_temporaries() -> list[Path]:
    """Delete this process's unfinished temporary outputs; return them.

    Meant for signal handlers (SIGTERM, SIGHUP), which may not wait for the ``with``
    blocks of the writers to unwind: it takes no lock and never raises.
    """
    removed = []
    for temp in list(_LIVE_TEMPORARIES):
        _remove(temp)
        for sidecar in _SIDECARS:
            _remove(temp.with_name(temp.name + sidecar))
        _LIVE_TEMPORARIES.discard(temp)
        removed.append(temp)
    return removed


def _owner_is_dead(leftover: Path, output: Path) -> bool:
    """Whether ``.NAME.partial-PID@HOST-...`` was written by a process no longer running.

    Only a process of this host can be looked up: a file written on another host (a
    remote Dask worker on a shared file system) is never taken for dead.
    """
    owner = leftover.name[len(partial_prefix(output)) :].partition("-")[0]
    pid_text, _, host = owner.partition("@")
    if host and host != _HOST:
        return False
    if not pid_text.isdigit() or int(pid_text) <= 0:
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # alive under another user (or not a PID): not ours to delete
    return False


def leftover_partials(path: Path) -> list[Path]:
    """Temporary files of ``path`` that a killed process left behind (any owner)."""
    return sorted(path.parent.glob(glob.escape(partial_prefix(path)) + "*"))


def _remove(path: Path) -> None:
    # Best effort: a leftover hidden file must not hide the real error.
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def remove_partial_outputs(outputs: Iterable[Path]) -> list[Path]:
    """Delete the hidden ``.NAME.partial-PID@HOST-*`` files dead processes left for these outputs.

    Only needed after a process was killed outright (SIGKILL, a worker shut down
    mid-scene): every other failure already removes its temporary file. A file whose
    PID is alive on this machine belongs to a run still writing it and is left alone;
    so is one written on another host, and one whose name carries no PID.
    """
    removed = []
    for output in outputs:
        for leftover in leftover_partials(Path(output)):
            if not _owner_is_dead(leftover, Path(output)):
                continue
            try:
                leftover.unlink()
                removed.append(leftover)
            except OSError:
                pass  # best effort: a leftover hidden file must not hide the real outcome
    return removed
