"""The input's bands written with the masked classes set to nodata."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..classes import DEFAULT_MASKED_CODES
from ..errors import BandMismatchError
from ..files.gdal_calls import raise_if_canceled
from ..files.gdal_read import open_raster, reading
from ..scene.bands import LANDSAT_BAND_NAMES
from ..scene.opened import Scene, open_input
from .raster import MASK_NODATA, AtomicRasterWriter
from .refine import Fraction, IsCanceled, _open, row_windows

#: Reflective 30 m bands of a product folder put in the masked image (not pan B8,
#: not thermal B10/B11).
REFLECTIVE_BANDS = (1, 2, 3, 4, 5, 6, 7, 9)


# ------------------------------------------------------------------ masked image


@dataclass(frozen=True)
class ImageBands:
    """The bands a masked image is made of.

    Attributes:
        sources: (file, 1-based band index) per output band.
        descriptions: band descriptions of the output.
        dtype: data type of the output: the input's.
        nodata: nodata of the output: the input's declared one, else NaN for floating
            point, 0 (Landsat's fill code) for unsigned integers, the smallest value for
            signed integers.
    """

    sources: tuple[tuple[Path, int], ...]
    descriptions: tuple[str, ...]
    dtype: str
    nodata: float


def image_bands(source: str | Path | Scene) -> ImageBands:
    """Every band of a raster; the reflective 30 m bands of a Landsat product folder.

    A product folder (or its MTL) gives B1-B7 and B9 where present, as one stack with
    band descriptions such as ``B4 red``; the 15 m pan band B8 and the thermal bands
    are left out.

    Raises:
        BandMismatchError: a band file of the product is not on the grid of the others.
    """
    info = open_input(source).info
    if info.kind == "raster":
        with _open(info.path) as dataset:
            count = dataset.count
            dtype = np.result_type(*dataset.dtypes).name
            descriptions = tuple(
                text or f"band {index}" for index, text in enumerate(dataset.descriptions, 1)
            )
            declared = dataset.nodatavals[0]
        sources = tuple((info.path, index) for index in range(1, count + 1))
        return ImageBands(sources, descriptions, dtype, _image_nodata(dtype, declared))
    numbers = [b for b in REFLECTIVE_BANDS if b in info.landsat_bands]
    files = [Path(info.landsat_bands[b]) for b in numbers]
    dtypes = []
    for number, file in zip(numbers, files, strict=True):
        with _open(file) as dataset:
            if (dataset.width, dataset.height, dataset.transform) != (
                info.width, info.height, info.transform
            ):  # fmt: skip
                raise BandMismatchError(
                    f"{file.name} (B{number}, {dataset.width}x{dataset.height}) is not on the "
                    f"grid of the product's other bands ({info.width}x{info.height}): the "
                    "masked image stacks the 30 m bands; replace the file with the product's own."
                )
            dtypes.append(dataset.dtypes[0])
    dtype = np.result_type(*dtypes).name
    descriptions = tuple(f"B{b} {LANDSAT_BAND_NAMES[b]}" for b in numbers)
    return ImageBands(
        tuple((f, 1) for f in files), descriptions, dtype, _image_nodata(dtype, info.nodata)
    )


def _image_nodata(dtype: str, declared: float | None) -> float:
    if declared is not None:
        return declared
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return float("nan")
    return 0 if kind.kind == "u" else int(np.iinfo(kind).min)


def write_masked_image(
    bands: ImageBands,
    mask_path: Path,
    out: AtomicRasterWriter,
    *,
    masked_codes: Iterable[int] = DEFAULT_MASKED_CODES,
    progress: Fraction | None = None,
    is_canceled: IsCanceled | None = None,
) -> None:
    """Copy ``bands`` into ``out`` window by window, nodata on masked classes and fill."""
    masked_values = (*sorted(set(masked_codes)), MASK_NODATA)
    with contextlib.ExitStack() as stack:
        mask = stack.enter_context(_open(mask_path))
        datasets = {}
        for file, _ in bands.sources:
            if file not in datasets:
                datasets[file] = stack.enter_context(open_raster(file))
        for window in row_windows(mask.height, mask.width):
            raise_if_canceled(is_canceled)
            masked = np.isin(mask.read(1, window=window), masked_values)
            block = np.empty(
                (len(bands.sources), int(window.height), int(window.width)), bands.dtype
            )
            for index, (file, band) in enumerate(bands.sources):
                with reading(file):  # bands the model never read may be damaged
                    block[index] = datasets[file].read(band, window=window)
                block[index][masked] = bands.nodata
            out.write(block, int(window.row_off), 0)
            if progress is not None:
                progress((window.row_off + window.height) / mask.height)
