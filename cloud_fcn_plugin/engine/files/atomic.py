"""Files that never look finished before they are: hidden, verified, synced, renamed on commit.

Every output is written to a hidden temporary file in the destination folder
(:func:`new_temporary`), verified and synced, and renamed into place only on commit
(:class:`AtomicOutput`). What a killed run left behind is swept by :func:`remove_partial_outputs`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import socket
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ..errors import (
    OutputExistsError,
    OutputNotWritableError,
)
from .gdal_read import GDAL_ERRORS


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
        _replace_pam_sidecar(temp, path)
        _sync_folder(path.parent)
    except OSError as exc:
        raise OutputNotWritableError(
            f"Cannot rename the finished file onto {path}: {exc.strerror or exc}; "
            "choose another output folder."
        ) from exc


def _replace_pam_sidecar(temp: Path, path: Path) -> None:
    """The old output's ``.aux.xml`` goes with it: GDAL would read it over the new file.

    A statistics file QGIS or ``gdalinfo -stats`` left beside the old output (with a
    geotransform or statistics of its own) would otherwise rule the new one. The new
    file's own, if GDAL wrote one, takes its place.
    """
    new, old = temp.with_name(temp.name + ".aux.xml"), path.with_name(path.name + ".aux.xml")
    with contextlib.suppress(OSError):
        if os.path.lexists(new):
            os.replace(new, old)
        elif os.path.lexists(old):
            old.unlink()


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


class _Finds(Protocol):
    def find(self, path: str | Path) -> Path | None: ...


def remove_partial_outputs(outputs: Iterable[Path], reads: _Finds | None = None) -> list[Path]:
    """Delete the hidden ``.NAME.partial-PID@HOST-*`` files dead processes left for these outputs.

    Only needed after a process was killed outright (SIGKILL, a worker shut down
    mid-scene): every other failure already removes its temporary file. A file whose
    PID is alive on this machine belongs to a run still writing it and is left alone;
    so is one written on another host, one whose name carries no PID, and one the run
    reads (``reads``, its :class:`~..scene.read_set.ReadSet`): an input named like a
    leftover is an input, never swept.
    """
    removed = []
    for output in outputs:
        for leftover in leftover_partials(Path(output)):
            if not _owner_is_dead(leftover, Path(output)):
                continue
            if reads is not None and reads.find(leftover) is not None:
                continue
            try:
                leftover.unlink()
                removed.append(leftover)
            except OSError:
                pass  # best effort: a leftover hidden file must not hide the real outcome
    return removed
