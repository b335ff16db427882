"""One gate for every file a run opens: the input and everything found through it.

A run reads more than the path it is given: the band files, MTL and QA band of a
product folder, the sources of a VRT at any depth, a checkpoint's JSON sidecar, a
list file, a probability raster to re-threshold. Each is opened only after it passed
the same gate:

* it is a regular file (a FIFO blocks GDAL and Python forever, a device never ends);
* it is not under ``/proc`` or ``/sys`` (``/proc/self/environ`` is a "regular file" that
  holds the process's secrets), followed through links;
* a text or JSON file is no larger than the bound its kind has, and is read through
  that bound (:func:`read_small_text`, :func:`read_small_json`): a 2 GB sidecar or
  ``/dev/zero`` never fills the memory;
* a VRT's sources pass the gate too, at any depth, before GDAL opens the VRT (GDAL
  opens them as it opens the VRT); raw-band VRTs (bytes of any file read as pixels) and
  Python pixel functions are refused, and GDAL is told the same
  (``GDAL_VRT_ENABLE_RAWRASTERBAND=NO``, which GDAL honours from 3.7 on; before that,
  this gate is the only guard, so every raster of a run is opened through it).

Refusals are one line naming the file and what to do; they never quote the file's
contents.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from ..errors import InputNotFoundError, InputReadError
from . import safe_json

# GDAL reads its configuration from the environment whenever an option is looked up:
# no VRT opened by this process reads the raw bytes of a file as pixels.
os.environ["GDAL_VRT_ENABLE_RAWRASTERBAND"] = "NO"

#: Folders whose files are the system's, never data: refused wherever a link leads.
SYSTEM_ROOTS = ("/proc", "/sys")

#: Size bounds by kind of small file, in bytes (real ones are 1-30 kB).
MTL_BYTES = 1 << 20
SIDECAR_BYTES = 1 << 20
LIST_BYTES = 64 << 20
STATE_BYTES = 64 << 20
VRT_BYTES = 64 << 20

#: At most this many VRT sources are walked behind one input.
MAX_SOURCES = 100_000

_VRT_MAGIC = b"<VRTDataset"
_SOURCE_TAGS = ("SourceFilename", "SourceDataset")


def os_reason(error: OSError) -> str:
    """What an OSError means for a path, in words that say what to do."""
    if error.errno == errno.ENAMETOOLONG:
        return "its name is too long for the file system: choose a shorter name"
    if error.errno == errno.ELOOP:
        return "it is a symbolic link that loops back on itself: fix or remove the link"
    return f"{error.strerror or type(error).__name__}: check the path"


def _is_system_path(path: Path) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return any(real == root or real.startswith(root + os.sep) for root in SYSTEM_ROOTS)


def gate_file(
    path: str | Path,
    what: str = "the input",
    *,
    folder_ok: bool = False,
    max_bytes: int | None = None,
) -> os.stat_result:
    """Let a file through the gate, or refuse it in one line (see the module).

    Args:
        path: the file.
        what: what it is, for messages ("the MTL file", "a source of x.vrt").
        folder_ok: a folder is accepted too (a product folder given as the input).
        max_bytes: the largest size its kind may have, None for no bound (rasters).

    Returns:
        Its ``os.stat`` (links followed).

    Raises:
        InputNotFoundError: nothing is there.
        InputReadError: the OS rejects the path, it is not a regular file (or folder),
            it is a system file (``/proc``, ``/sys``), or it is larger than ``max_bytes``.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise InputNotFoundError(
            f"{path} ({what}) does not exist: check the path and try again."
        ) from exc
    except OSError as exc:
        raise InputReadError(f"Cannot open {path} ({what}): {os_reason(exc)}.") from exc
    except ValueError as exc:  # a NUL byte in the name
        raise InputReadError(f"Cannot open {path!r} ({what}): {exc}.") from exc
    if folder_ok and stat.S_ISDIR(info.st_mode):
        return info
    if not stat.S_ISREG(info.st_mode):
        raise InputReadError(
            f"{path} ({what}) is not a regular file (a FIFO, device, socket or folder): "
            "nothing is read from it; give the data file itself."
        )
    if _is_system_path(path):
        raise InputReadError(
            f"{path} ({what}) is a system file under /proc or /sys, not data: nothing is "
            "read from it; give the data file itself."
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise InputReadError(
            f"{path} ({what}) is {info.st_size:,} bytes, more than the {max_bytes:,} such a "
            "file can have: it is not the file it should be; use the original."
        )
    return info


def read_small_bytes(path: str | Path, what: str, max_bytes: int) -> bytes:
    """Read a small file whole after the gate, never more than ``max_bytes``.

    The file is opened without blocking and checked again once open, so one swapped
    for a FIFO or a larger file between the check and the open is still refused.

    Raises:
        InputNotFoundError, InputReadError: as :func:`gate_file`, or reading failed.
    """
    path = Path(path)
    gate_file(path, what, max_bytes=max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputReadError(f"Cannot read {path} ({what}): {os_reason(exc)}.") from exc
    with contextlib.closing(os.fdopen(fd, "rb")) as stream:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputReadError(
                    f"{path} ({what}) is not a regular file: nothing is read from it; give "
                    "the data file itself."
                )
            data = stream.read(max_bytes + 1)
        except OSError as exc:
            raise InputReadError(f"Cannot read {path} ({what}): {os_reason(exc)}.") from exc
    if len(data) > max_bytes:
        raise InputReadError(
            f"{path} ({what}) holds more than the {max_bytes:,} bytes such a file can have: "
            "it is not the file it should be; use the original."
        )
    return data


def read_small_text(path: str | Path, what: str, max_bytes: int) -> str:
    """:func:`read_small_bytes` decoded as UTF-8 (undecodable bytes replaced)."""
    return read_small_bytes(path, what, max_bytes).decode("utf-8", errors="replace")


def read_small_json(path: str | Path, what: str, max_bytes: int, **options: Any) -> Any:
    """A small JSON file read through the gate and :func:`~.safe_json.loads`.

    Raises:
        InputNotFoundError, InputReadError: as :func:`read_small_bytes`.
        ValueError: the text is not JSON (or is nested too deep).
    """
    return safe_json.loads(read_small_bytes(path, what, max_bytes), **options)


# --------------------------------------------------------------------------- rasters


def gate_raster(path: str | Path, what: str = "the input") -> os.stat_result:
    """Let a raster through the gate, with every source behind it when it is a VRT.

    Raises:
        InputNotFoundError: the raster or a source of a VRT does not exist.
        InputReadError: the raster or a source fails the gate (see the module), or a
            VRT has a raw band, a Python pixel function or a source that is no file.
    """
    path = Path(path)
    info = gate_file(path, what)
    folders: dict[Path, list[os.DirEntry]] = {}
    seen: set[str] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        key = os.path.realpath(current)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_SOURCES:
            raise InputReadError(
                f"{path} refers to more than {MAX_SOURCES:,} files: split it into smaller "
                "mosaics."
            )
        if current is not path:
            try:
                gate_file(current, f"a source of {path.name}")
            except InputNotFoundError:
                raise InputReadError(
                    f"{path} refers to {current}, which is missing: copy the missing file "
                    "back, or rebuild the VRT."
                ) from None
        _gate_sidecars(current, folders)
        if is_vrt(current):
            todo.extend(vrt_sources(current))
    return info


def _gate_sidecars(raster: Path, folders: dict[Path, list[os.DirEntry]]) -> None:
    """The files GDAL may open beside a raster pass the gate too.

    Opening ``X.TIF`` GDAL looks for ``X.TIF.aux.xml``, ``X.TIF.msk``, ``X.TIF.ovr``,
    ``X.aux``, ``X.tfw`` and more: a FIFO among them blocks the open forever. Every
    entry of the raster's folder named ``X.`` or ``X_`` onwards that is no folder must
    pass :func:`gate_file` (``folders``: the listings already read, by folder).
    """
    folder = raster.parent
    if folder not in folders:
        try:
            with os.scandir(folder) as entries:
                folders[folder] = list(entries)
        except OSError:
            folders[folder] = []  # GDAL lists nothing there either
    stem = raster.name.split(".")[0]
    for entry in folders[folder]:
        name = entry.name
        if name == raster.name or not name.startswith((f"{stem}.", f"{stem}_")):
            continue
        if entry.is_dir():
            continue
        try:
            gate_file(Path(entry.path), f"a file GDAL reads beside {raster.name}")
        except InputNotFoundError:
            continue  # a dangling link: GDAL finds nothing there either


def is_vrt(path: Path) -> bool:
    """Whether a (gated, regular) file is VRT XML, by its first bytes."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(1024)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_VRT_MAGIC)


def vrt_sources(vrt: Path) -> list[Path]:
    """The files a VRT reads, resolved as GDAL would; refuse what no VRT of data needs.

    Raises:
        InputReadError: not valid XML, a raw band, a Python pixel function, or a source
            that is not a file on disk (``/vsi...`` or a driver's connection string).
    """
    text = read_small_bytes(vrt, "a VRT", VRT_BYTES)
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise InputReadError(
            f"{vrt} is not a valid VRT (XML error at line {exc.position[0]}): fix it or "
            "give the rasters themselves."
        ) from None
    sources = []
    for element in root.iter():
        if element.get("subClass") == "VRTRawRasterBand":
            raise InputReadError(
                f"{vrt} has a raw band (VRTRawRasterBand), which reads the bytes of any file "
                "as pixels: it is refused; give a GeoTIFF or a VRT of rasters."
            )
        if element.tag == "PixelFunctionLanguage" and (element.text or "").strip().lower() == (
            "python"
        ):
            raise InputReadError(
                f"{vrt} has a Python pixel function, which would run code: it is refused; "
                "give a GeoTIFF or a VRT of rasters."
            )
        if element.tag in _SOURCE_TAGS:
            sources.append(_source_path(vrt, element))
    return sources


def _source_path(vrt: Path, element: Any) -> Path:
    name = (element.text or "").strip()
    if not name or name.startswith("/vsi") or name.startswith("<") or _has_driver_prefix(name):
        raise InputReadError(
            f"{vrt} refers to a source that is not a file on disk ({len(name)} characters, "
            "a /vsi path, an inline dataset or a driver's connection string): only files are "
            "read; give the rasters themselves."
        )
    source = Path(name)
    if element.get("relativeToVRT", "0") == "1" and not source.is_absolute():
        source = vrt.parent / source
    return source


def _has_driver_prefix(name: str) -> bool:
    # "HDF5:file:sub", "NETCDF:...", "GTIFF_DIR:..." and the like, but not "C:\\data".
    head, sep, _rest = name.partition(":")
    return bool(sep) and len(head) > 1 and "/" not in head and "\\" not in head
