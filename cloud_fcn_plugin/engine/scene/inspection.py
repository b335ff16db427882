"""What an input is, read cheaply from its headers: :func:`inspect_input`.

Band guess for a multi-band raster without band descriptions naming the bands:
4 bands are Landsat B2, B3, B4, B5 (red=3, green=2, blue=1, NIR=4); 8 floating-point
bands whose last band holds kelvin (150-400) are the L8 Biome layout B2, B3, B4, B5,
B6, B7, B9, B10 (red=3, green=2, blue=1, NIR=4); any other stack of 7 or more bands is
taken as B1, B2, ... (red=4, green=3, blue=2, NIR=5). Anything else must be told.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from ..errors import BandMismatchError, InputReadError, ParameterError, UnsupportedDataError
from ..files.gdal_read import check_input_path, open_raster, reading
from .bands import FULLBAND_BANDS, LEVEL_NAMES, MODEL_BANDS, band_number_from_text
from .mtl import MtlMetadata, parse_mtl
from .products import MTL_FILE, ROLES, band_candidates, find_mtl, pick_band_file, product_band_files
from .scaling import infer_level

Bands = tuple[int, int, int, int]

_SAMPLE_SIDE = 256  # side of the sample used to infer the product level
_SAMPLE_CELLS = 8  # sample windows per side


@dataclass(frozen=True)
class InputInfo:
    """What :func:`inspect_input` learnt about an input without reading its pixels.

    Attributes:
        path: the raster file, product folder, or red band file.
        kind: ``"raster"``, ``"landsat_product"`` or ``"band_files"``.
        width: columns.
        height: rows.
        crs: coordinate reference system, None when not georeferenced.
        transform: pixel-to-map affine transform (identity when not georeferenced).
        band_count: bands of a raster; 4 for product folders and band files.
        band_descriptions: band labels of a raster; the roles otherwise.
        default_bands: guessed 1-based (red, green, blue, NIR) indices of a raster,
            None when they cannot be guessed or the input is not a raster.
        band_files: (red, green, blue, NIR) files of a product folder or band files.
        level: ``"l1"``, ``"toa"`` or ``"sr"``.
        level_reason: how the level was decided and how to override it.
        mtl: parsed MTL file of a product folder, if there is one.
        nodata: declared nodata value of the red band, if any.
        dtype: data type of the raw pixels.
        notes: further human notes (how the bands were guessed).
        landsat_bands: Landsat band number -> where it is: the file of a product
            folder, or the 1-based index in a raster whose band descriptions name it
            (or that has the L8 Biome layout). Empty when unknown.
    """

    path: Path
    kind: str
    width: int
    height: int
    crs: CRS | None
    transform: Affine
    band_count: int
    band_descriptions: tuple[str, ...]
    default_bands: Bands | None
    band_files: tuple[Path, ...] | None
    level: str
    level_reason: str
    mtl: MtlMetadata | None
    nodata: float | None
    dtype: str = "uint16"
    notes: tuple[str, ...] = ()
    landsat_bands: dict[int, Path | int] = field(default_factory=dict)

    def has_bands(self, numbers: Sequence[int]) -> bool:
        """Whether every Landsat band of ``numbers`` can be read from this input."""
        return all(b in self.landsat_bands for b in numbers)


def check_data_type(path: Path, dtype: str) -> None:
    """Refuse pixels that cannot be Landsat DN or reflectance (complex, 8-bit)."""
    if "complex" in str(dtype):
        raise UnsupportedDataError(
            f"{path.name} holds complex numbers ({dtype}), not Landsat DN or reflectance: "
            "use the Landsat bands as delivered (16-bit DN) or reflectance (floating point)."
        )
    if np.dtype(dtype).itemsize == 1:
        raise UnsupportedDataError(
            f"{path.name} holds 8-bit values ({dtype}, 0-255), a picture rather than Landsat "
            "data: use the Landsat bands as delivered (16-bit DN) or reflectance "
            "(floating point)."
        )


def sample_band(dataset: Any, index: int) -> np.ndarray:
    """A spread-out sample of one band, at most 256 x 256 pixels.

    It is made of 8 x 8 small windows on an even grid: a decimated read of a
    raster without overviews decompresses every block (0.3 s and all the blocks
    in GDAL's cache for a 4,096 px scene, before any work starts).
    """
    rows, cols = _sample_spans(dataset.height), _sample_spans(dataset.width)
    return np.block([
        [dataset.read(index, window=Window(c, r, width, height)) for c, width in cols]
        for r, height in rows
    ])  # fmt: skip


def _sample_spans(length: int) -> list[tuple[int, int]]:
    """``(offset, size)`` of the sample windows along one axis."""
    if length <= _SAMPLE_SIDE:
        return [(0, length)]
    size = _SAMPLE_SIDE // _SAMPLE_CELLS
    return [(i * (length - size) // (_SAMPLE_CELLS - 1), size) for i in range(_SAMPLE_CELLS)]


def _crs(dataset: Any) -> CRS | None:
    return dataset.crs if dataset.crs else None


# ------------------------------------------------------------------ band guessing


def _bands_from_descriptions(descriptions: Sequence[str]) -> Bands | None:
    numbers = [band_number_from_text(d) if d else None for d in descriptions]
    found = {}
    for index, number in enumerate(numbers, start=1):
        if number is not None:
            if number in found:
                return None  # two bands claim the same Landsat band: do not guess
            found[number] = index
    if all(b in found for b in MODEL_BANDS):
        red, green, blue, nir = (found[b] for b in MODEL_BANDS)
        return red, green, blue, nir
    return None


def _stack_band_numbers(dataset: Any) -> dict[int, Path | int]:
    """Landsat band number -> 1-based index, from band descriptions or the Biome layout."""
    numbers = [band_number_from_text(d) if d else None for d in dataset.descriptions]
    named = {n: i for i, n in enumerate(numbers, start=1) if n is not None}
    if len(named) == sum(n is not None for n in numbers) and len(named) >= 4:
        return dict(named)
    if _looks_like_biome(dataset):
        return {b: i for i, b in enumerate(FULLBAND_BANDS, start=1)}
    return {}


def _looks_like_biome(dataset: Any) -> bool:
    """L8 Biome patches end with thermal B10 in kelvin; a B1..B8 stack ends with pan."""
    if dataset.count != 8 or np.dtype(dataset.dtypes[7]).kind != "f":
        return False
    last = sample_band(dataset, 8)
    last = last[np.isfinite(last) & (last != 0)]
    return last.size > 0 and 150.0 <= float(np.median(last)) <= 400.0


def _guess_bands(dataset: Any) -> tuple[Bands | None, str]:
    """Guess (red, green, blue, NIR) indices of a multi-band raster, with a note."""
    name, count = Path(dataset.name).name, dataset.count
    by_description = _bands_from_descriptions(dataset.descriptions)
    if by_description:
        note = f"Bands {by_description} (red, green, blue, NIR) from the band names in {name}."
        return by_description, note
    if count == 4:
        return (3, 2, 1, 4), f"{name} has 4 bands: taken as Landsat B2, B3, B4, B5."
    if _looks_like_biome(dataset):
        return (3, 2, 1, 4), (
            f"{name} has 8 bands ending with a thermal band in kelvin: taken as the L8 Biome "
            "layout B2, B3, B4, B5, B6, B7, B9, B10."
        )
    if count >= 7:
        return (4, 3, 2, 5), f"{name} has {count} bands: taken as Landsat B1, B2, B3, ..."
    return None, f"Cannot tell which of the {count} bands of {name} are red, green, blue, NIR."


# ------------------------------------------------------------------ inspection


def _inspect_raster(path: Path) -> InputInfo:
    with open_raster(path) as dataset, reading(path):
        bands, note = _guess_bands(dataset)
        index = bands[0] if bands else 1
        check_data_type(path, dataset.dtypes[index - 1])
        descriptions = tuple(d or "" for d in dataset.descriptions)
        level, reason = infer_level(
            dataset.dtypes[index - 1], sample_band(dataset, index), (path.name, *descriptions)
        )
        return InputInfo(
            path=path,
            kind="raster",
            width=dataset.width,
            height=dataset.height,
            crs=_crs(dataset),
            transform=dataset.transform,
            band_count=dataset.count,
            band_descriptions=descriptions,
            default_bands=bands,
            band_files=None,
            level=level,
            level_reason=reason,
            mtl=None,
            nodata=dataset.nodatavals[index - 1],
            dtype=dataset.dtypes[index - 1],
            notes=(note,),
            landsat_bands=_stack_band_numbers(dataset),
        )


def _inspect_files(
    path: Path, files: Sequence[Path], kind: str, mtl: MtlMetadata | None
) -> InputInfo:
    """Headers of four single-band files on one grid, plus the product level."""
    headers = [single_band_header(file) for file in files]
    check_same_grid(files, headers)
    red = headers[0]
    if mtl is not None:
        label = "PROCESSING_LEVEL" if mtl.collection == 2 else "DATA_TYPE"
        level = mtl.level
        reason = f"{LEVEL_NAMES[level]}, from the {label} of {mtl.path.name}"
    else:
        level, reason = infer_level(red["dtype"], red["sample"], [f.name for f in files])
    return InputInfo(
        path=path,
        kind=kind,
        width=red["width"],
        height=red["height"],
        crs=red["crs"],
        transform=red["transform"],
        band_count=4,
        band_descriptions=ROLES,
        default_bands=None,
        band_files=tuple(files),
        level=level,
        level_reason=reason,
        mtl=mtl,
        nodata=red["nodata"],
        dtype=red["dtype"],
    )


def single_band_header(file: Path) -> dict[str, Any]:
    with open_raster(file) as dataset, reading(file):
        if dataset.count != 1:
            raise BandMismatchError(
                f"{file} has {dataset.count} bands but band files must have one each: "
                "pass it as a raster with bands=(red, green, blue, NIR) instead."
            )
        check_data_type(file, dataset.dtypes[0])
        return {
            "width": dataset.width,
            "height": dataset.height,
            "crs": _crs(dataset),
            "transform": dataset.transform,
            "dtype": dataset.dtypes[0],
            "nodata": dataset.nodatavals[0],
            "sample": sample_band(dataset, 1),
        }


def check_same_grid(files: Sequence[Path], headers: list[dict[str, Any]]) -> None:
    def grid(h: dict[str, Any]) -> tuple[Any, ...]:
        return h["width"], h["height"], h["transform"]

    for file, header in zip(files[1:], headers[1:], strict=True):
        if grid(header) != grid(headers[0]):
            raise BandMismatchError(
                f"{file.name} ({header['width']}x{header['height']}) is not on the grid of "
                f"{files[0].name} ({headers[0]['width']}x{headers[0]['height']}): "
                "the band files must share one grid."
            )


def _inspect_folder(folder: Path, mtl: MtlMetadata | None) -> InputInfo:
    mtl = mtl if mtl is not None else find_mtl(folder)
    files = product_band_files(folder, mtl)
    if files is not None:
        info = _inspect_files(folder, files, "landsat_product", mtl)
        found = {
            band: pick_band_file(folder, band, candidates, mtl)
            for band, candidates in band_candidates(folder).items()
        }
        return replace(info, landsat_bands=found)
    rasters = [p for p in folder.iterdir() if p.suffix.lower() in (".tif", ".tiff")]
    if len(rasters) == 1:
        return _inspect_raster(rasters[0])  # a folder holding one stacked raster
    raise InputReadError(
        f"{folder} holds no Landsat band files (*_B4.TIF, *_SR_B4.TIF, *_B4_toa.tif): "
        "choose a product folder, its MTL file or a raster."
    )


def inspect_input(path: str | Path) -> InputInfo:
    """Describe a raster, Landsat product folder or ``*_MTL.txt`` file cheaply.

    Reads headers and at most a 256 x 256 decimated sample of one band.

    Raises:
        InputNotFoundError: the path does not exist.
        InputReadError: GDAL cannot read it, a folder holds no band files, or it is not a
            regular file or folder (a FIFO).
        BandMismatchError: a product folder lacks one of B2-B5.
        MetadataError: the MTL file is malformed.
    """
    path = Path(path).expanduser()
    if stat.S_ISDIR(check_input_path(path).st_mode):
        return _inspect_folder(path, None)
    if MTL_FILE.search(path.name):
        return _inspect_folder(path.parent, parse_mtl(path))
    return _inspect_raster(path)


def inspect_band_files(files: Sequence[str | Path]) -> InputInfo:
    """Describe four single-band files given in the order red, green, blue, NIR."""
    paths = _four_files(files)
    return _inspect_files(paths[0], paths, "band_files", None)


def _four_files(files: Sequence[str | Path]) -> tuple[Path, ...]:
    if len(files) != 4:
        raise ParameterError(
            f"Band files must be four paths (red, green, blue, NIR), got {len(files)}."
        )
    return tuple(Path(f).expanduser() for f in files)
