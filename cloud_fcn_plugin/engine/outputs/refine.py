"""The mask refined on disk: small patches sieved, masked classes buffered, by GDAL's algorithms."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import rasterio
from osgeo import gdal
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ..classes import CLASS_CODES, CLEAR, CODE_NAMES, DEFAULT_MASKED_CODES
from ..errors import OutputNotWritableError
from ..files.atomic import discard_temporary, new_temporary
from ..files.gdal_calls import gdal_call, raise_if_canceled
from ..files.gdal_read import GDAL_ERRORS
from ..timing import timed
from .raster import MASK_CLOUD, MASK_NODATA, AtomicRasterWriter

Fraction = Callable[[float], None]
IsCanceled = Callable[[], bool]


#: Pixel connectivity of the sieve and the polygons (GDAL's default for both).
CONNECTEDNESS = 4


_ROWS = 256  # rows per window of the passes between GDAL's algorithms


_FAR = 65535  # proximity value of pixels beyond the buffer


_WORK_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "ZLEVEL=1", "BIGTIFF=IF_SAFER"]


def row_windows(height: int, width: int, rows: int = _ROWS) -> Iterator[Window]:
    """Full-width windows of ``rows`` rows, top to bottom (the last one shorter)."""
    for row in range(0, height, rows):
        yield Window(0, row, width, min(rows, height - row))


# ------------------------------------------------------------------ GDAL plumbing


def _work_raster(beside: Path, width: int, height: int, data_type: int) -> tuple[Path, Any]:
    """A hidden temporary GeoTIFF beside ``beside``, open in GDAL for writing."""
    path = new_temporary(beside)
    try:
        with gdal_call("Creating a work file", beside, None):
            dataset = gdal.GetDriverByName("GTiff").Create(
                str(path), width, height, 1, data_type, _WORK_OPTIONS
            )
    except BaseException:
        discard_temporary(path)
        raise
    if dataset is None:
        discard_temporary(path)
        raise OutputNotWritableError(
            f"Cannot create a work file in {beside.parent}: free disk space or choose another "
            "folder."
        )
    return path, dataset


def _closed_work_raster(beside: Path, width: int, height: int, data_type: int) -> Path:
    """A new empty work GeoTIFF, closed (for rasterio to fill); its close is checked.

    On a full disk GDAL only logs that writing the header failed: unchecked, the empty
    file then fails to open in rasterio with a misleading "not a supported format".
    """
    path, created = _work_raster(beside, width, height, data_type)
    try:
        with gdal_call("Creating a work file", beside, None):
            created.FlushCache()
            created = None
    except BaseException:
        created = None
        discard_temporary(path)
        raise
    return path


@contextlib.contextmanager
def _filling_work_file(path: Path, beside: Path, what: str) -> Iterator[None]:
    """Turn a GDAL error while rasterio fills a work file into one line; drop the file."""
    try:
        yield
    except GDAL_ERRORS as exc:
        discard_temporary(path)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OutputNotWritableError(
            f"{what} for {beside.name} failed ({reason}): check free disk space in "
            f"{beside.parent} or choose another folder."
        ) from exc
    except BaseException:
        discard_temporary(path)
        raise


def _open_band(path: Path) -> tuple[Any, Any]:
    dataset = gdal.Open(str(path))
    if dataset is None:
        raise OutputNotWritableError(f"Cannot read back the work file {path}: check the disk.")
    return dataset, dataset.GetRasterBand(1)


def _open(path: Path, mode: str = "r") -> Any:
    # Work files carry no georeferencing: they are on the mask's grid by construction.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path, mode)


# ------------------------------------------------------------------ sieve and buffer


@timed("post-processing")
def refine_mask(
    raw: Path,
    out: AtomicRasterWriter,
    *,
    min_size: int,
    buffer: int,
    masked_codes: Iterable[int] = DEFAULT_MASKED_CODES,
    present_codes: Iterable[int] | None = None,
    progress: Fraction | None = None,
    is_canceled: IsCanceled | None = None,
) -> dict[int, int]:
    """Sieve, then buffer, the masked classes of the finished mask ``raw`` into ``out``.

    The sieve drops patches of masked pixels (the masked classes together) of fewer
    than ``min_size`` pixels: they become clear. The buffer turns every valid pixel
    within ``buffer`` pixels of a kept masked pixel, that is not one itself, into the
    class of the nearest one (ties: the lower code). Unmasked classes are left alone
    unless a buffer covers them.

    Args:
        raw: a closed uint8 mask (0 clear, 1 thick, 2 thin, 3 shadow, 255 nodata).
        out: the writer of the refined mask, on the grid of ``raw``.
        min_size: drop masked patches of fewer pixels (0 or 1: none).
        buffer: grow the masked classes by this many pixels (0: not at all).
        masked_codes: the codes sieved and buffered (thick, thin and shadow by default).
        present_codes: the codes ``raw`` holds, when known (saves passes over the file).
        progress: receives the fraction done (0..1).
        is_canceled: polled between steps and by GDAL's callbacks.

    Returns:
        The pixels of each code 0-3 in the refined mask.

    Raises:
        CanceledError: ``is_canceled()`` returned true.
        OutputNotWritableError: a work file could not be written (full disk).
    """
    masked = tuple(sorted(set(masked_codes)))
    present = CLASS_CODES if present_codes is None else tuple(sorted(set(present_codes)))
    grown = [c for c in masked if c in present] if buffer > 0 else []
    steps = 1 + (min_size > 1) + bool(grown) + len(grown)
    done = [0]

    def step_progress(fraction: float) -> None:
        if progress is not None:
            progress((done[0] + fraction) / steps)

    def next_step() -> None:
        done[0] += 1
        step_progress(0.0)

    work: list[Path] = []
    try:
        with _open(raw) as source:
            width, height = source.width, source.height
        # Whether the mask already is 0 / 1 (masked) / 255: a cloud-only mask is.
        binary = all(c == CLEAR or (c == MASK_CLOUD and c in masked) for c in present)
        sieved = None
        if min_size > 1:
            union = raw
            if not binary:
                union = _recode(raw, out.path, width, height, _masked_union(masked), is_canceled)
                work.append(union)
            sieved = _sieve(union, out.path, min_size, step_progress, is_canceled)
            work.append(sieved)
            next_step()
        distances = []
        if grown:
            kept = raw
            if sieved is not None or not all(c in masked for c in present if c != CLEAR):
                kept = _kept_masked(raw, sieved, out.path, width, height, masked, is_canceled)
                work.append(kept)
            next_step()
            for code in grown:
                near = _proximity(kept, out.path, buffer, code, step_progress, is_canceled)
                work.append(near)
                distances.append((code, near))
                next_step()
        return _combine(raw, sieved, distances, masked, out, step_progress, is_canceled)
    except GDAL_ERRORS as exc:  # reading a work file back, or writing the mask, on a full disk
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OutputNotWritableError(
            f"Refining the mask {out.path.name} failed ({reason}): check free disk space in "
            f"{out.path.parent} or choose another folder."
        ) from exc
    finally:
        for path in work:
            discard_temporary(path)


def _masked_union(masked: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """Recode a mask block to 1 on masked codes, 0 elsewhere, 255 kept (what the sieve sees)."""

    def recode(values: np.ndarray) -> np.ndarray:
        out = np.isin(values, masked).view(np.uint8)
        out[values == MASK_NODATA] = MASK_NODATA
        return out

    return recode


def _recode(
    raw: Path,
    beside: Path,
    width: int,
    height: int,
    recode: Callable[[np.ndarray], np.ndarray],
    is_canceled: IsCanceled | None,
) -> Path:
    """Write ``recode(block)`` of every window of ``raw`` into a new uint8 work file."""
    path = _closed_work_raster(beside, width, height, gdal.GDT_Byte)
    with (
        _filling_work_file(path, beside, "Sieving the clouds"),
        _open(raw) as mask,
        _open(path, "r+") as out,
    ):
        for window in row_windows(height, width):
            raise_if_canceled(is_canceled)
            out.write(recode(mask.read(1, window=window)), 1, window=window)
    return path


def _gdal_to_work_file(
    source_path: Path,
    beside: Path,
    data_type: int,
    what: str,
    algorithm: Callable[[Any, Any, Any], int],
    progress: Fraction,
    is_canceled: IsCanceled | None,
) -> Path:
    """Run a GDAL raster algorithm from one band into a new work file; return the file.

    ``algorithm(source_band, target_band, callback)`` returns GDAL's error code; the work
    file is deleted if anything fails or the run is canceled.
    """
    source, band = _open_band(source_path)
    path, target = _work_raster(beside, source.RasterXSize, source.RasterYSize, data_type)
    try:
        with gdal_call(what, beside, is_canceled) as call:
            call.append(algorithm(band, target.GetRasterBand(1), call.callback(progress)))
            target.FlushCache()
        target = None
    except BaseException:
        target = None
        discard_temporary(path)
        raise
    finally:
        source = None
    return path


def _sieve(
    raw: Path, beside: Path, min_size: int, progress: Fraction, is_canceled: IsCanceled | None
) -> Path:
    """GDAL's sieve of the masked patches into a work file on the mask's grid.

    GDAL merges a patch smaller than ``min_size`` only into a neighbour at least that
    big, so a ``min_size`` beyond every clear area once kept every cloud (audit M1).
    The sieve therefore sees masked pixels against all others (fill included), inside
    a frame of open ground of at least ``min_size`` pixels that joins the open ground
    at the scene's edges; beyond the raster's own size no patch can be kept at all.
    Only its verdict on masked pixels is used (see :func:`_combine`): a small patch
    merged into the open ground is dropped; holes it fills are ignored.
    """
    dataset, _ = _open_band(raw)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    dataset = None
    if min_size > width * height:
        return _closed_work_raster(beside, width, height, gdal.GDT_Byte)  # all 0: none kept

    def sieve(band: Any, target: Any, callback: Any) -> int:
        return gdal.SieveFilter(band, None, target, min_size, CONNECTEDNESS, callback=callback)

    frame = _frame_width(min_size, width, height)
    framed = _gdal_to_work_file(
        _framed_source(raw, width, height, frame),  # type: ignore[arg-type]  # GDAL reads VRT text
        beside, gdal.GDT_Byte, "Sieving the clouds", sieve, progress, is_canceled,
    )  # fmt: skip
    try:
        return _cropped(framed, beside, frame, width, height)
    finally:
        discard_temporary(framed)


def _frame_width(min_size: int, width: int, height: int) -> int:
    """Pixels of open ground around the mask whose area reaches ``min_size``."""
    # (width + 2f)(height + 2f) - width * height = 4f^2 + 2f(width + height) >= min_size
    half = (width + height) / 4
    return max(1, math.ceil(math.sqrt(half * half + min_size / 4) - half))


def _framed_source(raw: Path, width: int, height: int, frame: int) -> str:
    """VRT text: the mask inside a frame of 0, masked pixels 1 and all others 0."""
    name = xml_escape(str(raw))
    return (
        f'<VRTDataset rasterXSize="{width + 2 * frame}" rasterYSize="{height + 2 * frame}">'
        '<VRTRasterBand dataType="Byte" band="1"><ComplexSource>'
        f'<SourceFilename relativeToVRT="0">{name}</SourceFilename><SourceBand>1</SourceBand>'
        f'<SrcRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>'
        f'<DstRect xOff="{frame}" yOff="{frame}" xSize="{width}" ySize="{height}"/>'
        f"<LUT>0:0,1:1,{MASK_NODATA - 1}:1,{MASK_NODATA}:0</LUT>"
        "</ComplexSource></VRTRasterBand></VRTDataset>"
    )


def _cropped(framed: Path, beside: Path, frame: int, width: int, height: int) -> Path:
    """The mask's own grid cut out of the framed sieve, as a new work file."""
    path = new_temporary(beside)
    try:
        with gdal_call("Sieving the clouds", beside, None):
            result = gdal.Translate(
                str(path), str(framed), format="GTiff", srcWin=[frame, frame, width, height],
                creationOptions=_WORK_OPTIONS,
            )  # fmt: skip
            if result is None:
                raise RuntimeError(gdal.GetLastErrorMsg() or "gdal.Translate failed")
            result.FlushCache()
            result = None
    except BaseException:
        discard_temporary(path)
        raise
    return path


def _kept_masked(
    raw: Path,
    sieved: Path | None,
    beside: Path,
    width: int,
    height: int,
    masked: tuple[int, ...],
    is_canceled: IsCanceled | None,
) -> Path:
    """The masked pixels the sieve kept, with their codes, 0 elsewhere (what the buffer grows)."""
    path = _closed_work_raster(beside, width, height, gdal.GDT_Byte)
    with _filling_work_file(path, beside, "Buffering the clouds"), contextlib.ExitStack() as stack:
        mask = stack.enter_context(_open(raw))
        sieve = stack.enter_context(_open(sieved)) if sieved is not None else None
        out = stack.enter_context(_open(path, "r+"))
        for window in row_windows(height, width):
            raise_if_canceled(is_canceled)
            values = mask.read(1, window=window)
            kept = np.isin(values, masked)
            if sieve is not None:
                kept &= sieve.read(1, window=window) == 1
            out.write(np.where(kept, values, np.uint8(CLEAR)), 1, window=window)
    return path


def _proximity(
    kept: Path,
    beside: Path,
    buffer: int,
    code: int,
    progress: Fraction,
    is_canceled: IsCanceled | None,
) -> Path:
    """Distance in pixels to the nearest ``code`` pixel, up to ``buffer`` (farther: _FAR)."""
    options = [
        f"VALUES={code}", "DISTUNITS=PIXEL", f"MAXDIST={buffer}", f"NODATA={_FAR}",
    ]  # fmt: skip

    def proximity(band: Any, target: Any, callback: Any) -> int:
        return gdal.ComputeProximity(band, target, options, callback=callback)

    what = f"Buffering the {CODE_NAMES.get(code, 'masked pixels')}"
    return _gdal_to_work_file(kept, beside, gdal.GDT_UInt16, what, proximity, progress, is_canceled)


def _combine(
    raw: Path,
    sieved: Path | None,
    distances: list[tuple[int, Path]],
    masked: tuple[int, ...],
    out: AtomicRasterWriter,
    progress: Fraction,
    is_canceled: IsCanceled | None,
) -> dict[int, int]:
    """Write the refined mask window by window; return the pixels of each code 0-3."""
    counts = np.zeros(256, np.int64)
    with contextlib.ExitStack() as stack:
        mask = stack.enter_context(_open(raw))
        sieve = stack.enter_context(_open(sieved)) if sieved is not None else None
        near = [(code, stack.enter_context(_open(path))) for code, path in distances]
        for window in row_windows(mask.height, mask.width):
            raise_if_canceled(is_canceled)
            values = mask.read(1, window=window)
            refined = values.copy()
            kept = np.isin(values, masked)
            if sieve is not None:
                kept &= sieve.read(1, window=window) == 1
                refined[np.isin(values, masked) & ~kept] = CLEAR  # sieved away
            if near:
                nearest = np.full(values.shape, _FAR, np.uint16)
                for code, dataset in near:  # in code order: ties stay with the lower code
                    distance = dataset.read(1, window=window)
                    closer = distance < nearest
                    nearest[closer] = distance[closer]
                    grow = closer & ~kept & (values != MASK_NODATA)
                    refined[grow] = code
            counts += np.bincount(refined.ravel(), minlength=256)
            out.write(refined, int(window.row_off), 0)
            progress((window.row_off + window.height) / mask.height)
    return {code: int(counts[code]) for code in CLASS_CODES}
