"""Windowed reading of Landsat inputs: rasters, product folders, MTL files, band files.

Three kinds of input are understood, all read by window so memory does not grow
with the scene:

* ``raster``: one multi-band GeoTIFF (or any raster GDAL reads), with the red, green,
  blue and NIR band indices given or guessed;
* ``landsat_product``: a Landsat 8/9 product folder (Collection 1 or 2, Level-1
  ``*_B4.TIF``, Level-2 ``*_SR_B4.TIF`` or TOA ``*_B4_toa.tif``), or its ``*_MTL.txt``;
* ``band_files``: four single-band files (red, green, blue, NIR), the 38-Cloud layout.

Band guess for a multi-band raster without band descriptions naming the bands:
4 bands are Landsat B2, B3, B4, B5 (red=3, green=2, blue=1, NIR=4); 8 floating-point
bands whose last band holds kelvin (150-400) are the L8 Biome layout B2, B3, B4, B5,
B6, B7, B9, B10 (red=3, green=2, blue=1, NIR=4); any other stack of 7 or more bands is
taken as B1, B2, ... (red=4, green=3, blue=2, NIR=5). Anything else must be told.

Outputs are written by :mod:`.outputs`.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError
from rasterio.windows import Window

from .bands import (
    BAND_FILE_PATTERN,
    FULLBAND_BANDS,
    LEVEL_NAMES,
    LEVELS,
    MODEL_BANDS,
    THERMAL_BAND,
    Scaling,
    band_number_from_text,
    infer_level,
    scaling_for,
    to_reflectance,
)
from .errors import (
    BandMismatchError,
    CloudFcnError,
    InputNotFoundError,
    InputReadError,
    ParameterError,
    UnsupportedDataError,
)
from .mtl import MtlMetadata, parse_mtl

Bands = tuple[int, int, int, int]

_ROLES = ("red", "green", "blue", "NIR")
#: What GDAL raises through rasterio: RasterioIOError is an OSError, not a
#: RasterioError, in rasterio 1.3; GDAL's own CPLE_* errors derive from neither.
GDAL_ERRORS = (RasterioError, RasterioIOError, CPLE_BaseError)
_SAMPLE_SIDE = 256  # side of the sample used to infer the product level
_SAMPLE_CELLS = 8  # sample windows per side
_MTL_FILE = re.compile(r"_MTL\.txt$", re.IGNORECASE)


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


# ------------------------------------------------------------------ opening files


def _open(path: Path) -> Any:
    """Open a raster for reading, turning GDAL failures into our errors."""
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist: check the path and try again.")
    try:
        # 38-Cloud and Biome patches carry no georeferencing; that is expected here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except GDAL_ERRORS as exc:
        raise InputReadError(
            f"{path} is not a raster GDAL can read: {exc}. Choose a GeoTIFF, a Landsat "
            "product folder or its MTL file."
        ) from exc


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn GDAL read errors (a truncated file, a VRT whose source is gone) into one line."""
    try:
        yield
    except GDAL_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputReadError(
            f"Reading {path} failed ({reason}): the file is truncated or corrupt, or a file "
            "it refers to is missing: download or copy it again."
        ) from exc


def _check_data_type(path: Path, dtype: str) -> None:
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


def _sample(dataset: Any, index: int) -> np.ndarray:
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
    last = _sample(dataset, 8)
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
    with _open(path) as dataset, _reading(path):
        bands, note = _guess_bands(dataset)
        index = bands[0] if bands else 1
        _check_data_type(path, dataset.dtypes[index - 1])
        descriptions = tuple(d or "" for d in dataset.descriptions)
        level, reason = infer_level(
            dataset.dtypes[index - 1], _sample(dataset, index), (path.name, *descriptions)
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
    headers = [_single_band_header(file) for file in files]
    _check_same_grid(files, headers)
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
        band_descriptions=_ROLES,
        default_bands=None,
        band_files=tuple(files),
        level=level,
        level_reason=reason,
        mtl=mtl,
        nodata=red["nodata"],
        dtype=red["dtype"],
    )


def _single_band_header(file: Path) -> dict[str, Any]:
    with _open(file) as dataset, _reading(file):
        if dataset.count != 1:
            raise BandMismatchError(
                f"{file} has {dataset.count} bands but band files must have one each: "
                "pass it as a raster with bands=(red, green, blue, NIR) instead."
            )
        _check_data_type(file, dataset.dtypes[0])
        return {
            "width": dataset.width,
            "height": dataset.height,
            "crs": _crs(dataset),
            "transform": dataset.transform,
            "dtype": dataset.dtypes[0],
            "nodata": dataset.nodatavals[0],
            "sample": _sample(dataset, 1),
        }


def _check_same_grid(files: Sequence[Path], headers: list[dict[str, Any]]) -> None:
    def grid(h: dict[str, Any]) -> tuple[Any, ...]:
        return h["width"], h["height"], h["transform"]

    for file, header in zip(files[1:], headers[1:], strict=True):
        if grid(header) != grid(headers[0]):
            raise BandMismatchError(
                f"{file.name} ({header['width']}x{header['height']}) is not on the grid of "
                f"{files[0].name} ({headers[0]['width']}x{headers[0]['height']}): "
                "the band files must share one grid."
            )


def is_product_folder(folder: Path) -> bool:
    """Whether the reader opens ``folder`` as a Landsat product: an MTL or B2-B5 band files."""
    if not folder.is_dir():
        return False
    if any(_MTL_FILE.search(p.name) for p in folder.iterdir()):
        return True
    return not set(_band_candidates(folder)).isdisjoint(MODEL_BANDS)


def product_folder_of(path: str | Path) -> Path | None:
    """The product folder a band file belongs to, or None when it is to be read as itself.

    A file named like a band file (``*_B4.TIF``) is a band of the product beside it only
    when it has one band on the grid of its sibling band files; a stack that happens
    to be named ``mystack_B4.tif`` is read as the stack it is.
    """
    path = Path(path).expanduser()
    folder = path.parent
    if not BAND_FILE_PATTERN.search(path.name) or not path.is_file():
        return None
    if not is_product_folder(folder):
        return None
    try:
        with _open(path) as dataset:
            if dataset.count != 1:
                return None
            grid = (dataset.width, dataset.height, dataset.transform)
        candidates = _band_candidates(folder)
        siblings = [
            f for band in MODEL_BANDS for f in candidates.get(band, []) if f.name != path.name
        ]
        for sibling in siblings:
            with _open(sibling) as dataset:
                sibling_grid = (dataset.width, dataset.height, dataset.transform)
                if dataset.count == 1 and sibling_grid == grid:
                    return folder
    except (OSError, CloudFcnError):
        return None
    return None


def input_files(path: str | Path) -> list[Path]:
    """Every file an input is read from, which no output may replace.

    A raster's own files (a VRT's sources, ``.aux.xml`` and overviews included),
    or every file of a product folder (given as the folder or its MTL).
    """
    path = Path(path).expanduser()
    folder = path if path.is_dir() else path.parent if _MTL_FILE.search(path.name) else None
    if folder is not None:
        with contextlib.suppress(OSError):
            return [f for f in folder.iterdir() if f.is_file()] + [path]
        return [path]
    files = [path]
    with contextlib.suppress(*GDAL_ERRORS, OSError), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as dataset:
            files += [Path(f) for f in dataset.files]
    return files


def _find_mtl(folder: Path) -> MtlMetadata | None:
    candidates = sorted(p for p in folder.iterdir() if _MTL_FILE.search(p.name))
    return parse_mtl(candidates[0]) if candidates else None


def _band_candidates(folder: Path) -> dict[int, list[Path]]:
    """Landsat band files of a folder by band number (case-insensitive names)."""
    found: dict[int, list[Path]] = {}
    for file in sorted(folder.iterdir()):
        match = BAND_FILE_PATTERN.search(file.name)
        if match and file.is_file() and (match.group(1) or "").upper() != "ST_":
            found.setdefault(int(match.group(2)), []).append(file)
    return found


def _variant_rank(file: Path) -> int:
    """Prefer surface reflectance, then TOA, then Level-1 when a folder holds several."""
    name = file.name.upper()
    return 0 if "SR_B" in name else 1 if "_TOA." in name else 2


def _pick_band_file(folder: Path, band: int, candidates: list[Path], mtl: MtlMetadata | None):
    if mtl is not None and band in mtl.band_files:
        wanted = mtl.band_files[band].lower()
        for file in candidates:
            if file.name.lower() == wanted:
                return file
    return min(candidates, key=lambda f: (_variant_rank(f), f.name))


def _product_band_files(folder: Path, mtl: MtlMetadata | None) -> tuple[Path, ...] | None:
    """(red, green, blue, NIR) files of a product folder; None when it has no band files."""
    candidates = _band_candidates(folder)
    if not candidates:
        return None
    missing = [b for b in MODEL_BANDS if b not in candidates]
    if missing:
        names = ", ".join(f"B{b} ({_ROLES[MODEL_BANDS.index(b)]})" for b in missing)
        found = ", ".join(f"B{b}" for b in sorted(candidates))
        raise BandMismatchError(
            f"{folder} lacks band {names} (found {found}): cloud detection needs B2, B3, B4 "
            "and B5; add the missing band file of the product."
        )
    return tuple(_pick_band_file(folder, b, candidates[b], mtl) for b in MODEL_BANDS)


def _inspect_folder(folder: Path, mtl: MtlMetadata | None) -> InputInfo:
    mtl = mtl if mtl is not None else _find_mtl(folder)
    files = _product_band_files(folder, mtl)
    if files is not None:
        info = _inspect_files(folder, files, "landsat_product", mtl)
        found = {
            band: _pick_band_file(folder, band, candidates, mtl)
            for band, candidates in _band_candidates(folder).items()
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
        InputReadError: GDAL cannot read it, or a folder holds no band files.
        BandMismatchError: a product folder lacks one of B2-B5.
        MetadataError: the MTL file is malformed.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist: check the path and try again.")
    if path.is_dir():
        return _inspect_folder(path, None)
    if _MTL_FILE.search(path.name):
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


# ------------------------------------------------------------------ reading


class SceneReader:
    """Reads windows of a scene as float32 reflectance (red, green, blue, NIR).

    Build it with :func:`open_scene`. Reads are serialised by a lock, so one reader
    may be used from any thread (for example a read-ahead thread), one call at a
    time; open one reader per thread for parallel reads.

    Attributes:
        width, height, crs, transform: the grid of the scene.
        product: resolved product level (``"l1"``, ``"toa"``, ``"sr"``).
        product_reason: how the level was decided.
        scaling: the DN-to-reflectance scaling applied by :meth:`read`.
        nodata: declared nodata of the red band, if any.
        block_shape: (rows, cols) of the natural read block of the red band.
        messages: human notes on what was inferred.
        info: the :class:`InputInfo` the reader was built from.
    """

    def __init__(
        self,
        info: InputInfo,
        sources: list[tuple[Any, int]],
        product: str,
        product_reason: str,
        scaling: Scaling,
        messages: list[str],
    ) -> None:
        self.info = info
        self._sources = sources
        self._datasets = list({id(ds): ds for ds, _ in sources}.values())
        self._lock = threading.Lock()
        self.width, self.height = info.width, info.height
        self.crs, self.transform = info.crs, info.transform
        self.product, self.product_reason = product, product_reason
        self.scaling = scaling
        self.nodata = info.nodata
        first, index = sources[0]
        self.block_shape: tuple[int, int] = tuple(first.block_shapes[index - 1])
        self.messages = messages
        self._nodata = [ds.nodatavals[i - 1] for ds, i in sources]

    def __enter__(self) -> SceneReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying datasets; safe to call twice."""
        with self._lock:
            for dataset in self._datasets:
                dataset.close()

    def profile(self) -> dict[str, Any]:
        """Creation options that put an output on the grid of this scene."""
        return {
            "driver": "GTiff",
            "width": self.width,
            "height": self.height,
            "crs": self.crs,
            "transform": self.transform,
        }

    def read(
        self, row_off: int, col_off: int, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Read a window as reflectance (C, h, w) float32 and a valid mask (h, w).

        C is 4 (red, green, blue, NIR) unless the reader was opened for other bands
        (``model_bands`` of :func:`open_scene`); a thermal band is in kelvin.

        The window may extend past the raster edge: pixels outside are fill. Fill
        pixels are False in the mask and 0 in the reflectance: 0 in every band (in
        any band for integer Level-1/Level-2 DN, where 0 is Landsat's fill code), NaN
        or the declared nodata in any band.
        """
        if height <= 0 or width <= 0:
            raise ParameterError(f"Window size must be positive, got {height} x {width}.")
        r0, r1 = max(row_off, 0), min(row_off + height, self.height)
        c0, c1 = max(col_off, 0), min(col_off + width, self.width)
        if r0 >= r1 or c0 >= c1:
            empty = np.zeros((len(self._sources), height, width), np.float32)
            return empty, np.zeros((height, width), bool)
        raw = self._read_window(Window(c0, r0, c1 - c0, r1 - r0))
        valid = self._valid(raw)
        reflectance = to_reflectance(raw, self.scaling)
        fill = ~valid
        for band in reflectance:  # 2-D masks per band: 5 times faster than [:, fill]
            band[fill] = 0.0
        if (r1 - r0, c1 - c0) == (height, width):
            return reflectance, valid
        # Only edge windows pay for the padded copy.
        rows, cols = slice(r0 - row_off, r1 - row_off), slice(c0 - col_off, c1 - col_off)
        padded = np.zeros((len(self._sources), height, width), np.float32)
        padded[:, rows, cols] = reflectance
        padded_valid = np.zeros((height, width), bool)
        padded_valid[rows, cols] = valid
        return padded, padded_valid

    def read_raw(
        self, row_off: int, col_off: int, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Read a window inside the raster as stored (C, h, w) and its valid mask (h, w).

        The values are the file's, unscaled (see :attr:`scaling` and
        :func:`~cloud_fcn_plugin.engine.bands.input_transform`); fill is as in :meth:`read`.
        """
        if height <= 0 or width <= 0:
            raise ParameterError(f"Window size must be positive, got {height} x {width}.")
        if row_off < 0 or col_off < 0 or row_off + height > self.height or (
            col_off + width > self.width
        ):
            raise ParameterError(
                f"Window rows {row_off}+{height}, columns {col_off}+{width} leave the "
                f"{self.width}x{self.height} raster: use read() for windows past its edge."
            )
        raw = self._read_window(Window(col_off, row_off, width, height))
        return raw, self._valid(raw)

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Read the whole scene; meant for small patches (training, tests)."""
        return self.read(0, 0, self.height, self.width)

    def _read_window(self, window: Window) -> np.ndarray:
        try:
            with self._lock:
                return self._read_raw(window)
        except GDAL_ERRORS as exc:
            rows, cols = window.toranges()
            raise InputReadError(
                f"Reading rows {rows[0]}-{rows[1]}, columns {cols[0]}-{cols[1]} of "
                f"{self.info.path} failed: {exc}. "
                "The file may be truncated or corrupt: download it again."
            ) from exc

    def _read_raw(self, window: Window) -> np.ndarray:
        if len(self._datasets) == 1:
            dataset = self._datasets[0]
            return dataset.read([i for _, i in self._sources], window=window)
        return np.stack([ds.read(i, window=window) for ds, i in self._sources])

    def _valid(self, raw: np.ndarray) -> np.ndarray:
        # Landsat DN products reserve 0 for fill in each band (band footprints differ by a
        # pixel at the scene edge); in reflectance a single 0 can be a real dark value.
        # Band by band: a (bands, rows, columns) boolean temporary would cost a quarter of
        # the strip's memory again.
        dn_coded = raw.dtype.kind in "iu" and self.product in ("l1", "sr")
        combine = np.logical_or if dn_coded else np.logical_and
        invalid = raw[0] == 0
        for band in raw[1:]:
            combine(invalid, band == 0, out=invalid)
        for band, nodata in zip(raw, self._nodata, strict=True):
            if raw.dtype.kind == "f":
                invalid |= ~np.isfinite(band)  # NaN and +-inf: no reflectance is infinite
            if nodata is not None and not np.isnan(nodata):
                invalid |= band == nodata
        return np.logical_not(invalid, out=invalid)


def _check_bands(info: InputInfo, bands: Sequence[int] | None) -> Bands:
    """Validate (red, green, blue, NIR) indices for a raster input."""
    name, count = info.path.name, info.band_count
    if count < 4:
        raise BandMismatchError(
            f"{name} has {count} band(s) but cloud detection needs red, green, blue and NIR: "
            "no NIR band is available; use a raster or product folder that includes NIR "
            "(Landsat 8 B5)."
        )
    chosen = tuple(bands) if bands is not None else info.default_bands
    if chosen is None:
        raise BandMismatchError(
            f"Cannot tell which of the {count} bands of {name} are red, green, blue and NIR: "
            "pass them, e.g. bands=(4, 3, 2, 5) or --bands 4,3,2,5."
        )
    if len(chosen) != 4 or any(not 1 <= b <= count for b in chosen):
        raise BandMismatchError(
            f"Bands {chosen} do not fit {name}, which has {count} bands: pass four indices "
            f"(red, green, blue, NIR) between 1 and {count}."
        )
    if len(set(chosen)) != 4:
        raise BandMismatchError(
            f"Bands {chosen} of {name} name one band twice: red, green, blue and NIR are "
            "four different bands; pass four different indices."
        )
    red, green, blue, nir = (int(b) for b in chosen)
    return red, green, blue, nir


def _resolve_level(info: InputInfo, product: str) -> tuple[str, str]:
    if product == "auto":
        return info.level, info.level_reason
    if product not in LEVELS:
        raise ParameterError(f"Unknown product level {product!r}: use auto, l1, toa or sr.")
    reason = f"{LEVEL_NAMES[product]}, as chosen with --product {product}"
    if product != info.level:
        reason += f" (detection said {LEVEL_NAMES[info.level]})"
    return product, reason + "."


def _open_sources(info: InputInfo, bands: Sequence[int] | None) -> tuple[list, list[str]]:
    """Open the datasets and pick the (dataset, band index) of each role."""
    if info.kind == "raster":
        chosen = _check_bands(info, bands)
        dataset = _open(info.path)
        try:
            _check_picture_bands(info.path, dataset, chosen)
        except Exception:
            dataset.close()
            raise
        notes = [f"Bands (red, green, blue, NIR) = {chosen}."] if bands else list(info.notes)
        return [(dataset, b) for b in chosen], notes
    notes = []
    if bands is not None:
        notes.append(f"Bands {tuple(bands)} ignored: the band files are known by name.")
    datasets = []
    try:
        for file in info.band_files or ():
            datasets.append(_open(file))
    except Exception:
        for dataset in datasets:
            dataset.close()
        raise
    return [(ds, 1) for ds in datasets], notes


def _thermal_in_celsius(info: InputInfo, level: str) -> bool:
    """Whether a floating-point TOA thermal band holds degrees Celsius rather than kelvin.

    TOA products store brightness temperature either way (the L8 Biome stacks in
    kelvin, others in degrees Celsius); the values tell: Earth's surfaces and cloud
    tops lie between 180 and 340 K, that is between -93 and 67 degrees Celsius.

    Raises:
        UnsupportedDataError: the values fit neither unit.
    """
    place = info.landsat_bands.get(THERMAL_BAND)
    if level != "toa" or place is None or np.dtype(info.dtype).kind != "f":
        return False
    path = info.path if info.kind == "raster" else Path(place)
    with _open(path) as dataset, _reading(path):
        sample = _sample(dataset, int(place) if info.kind == "raster" else 1)
    sample = sample[np.isfinite(sample) & (sample != 0)]
    median = float(np.median(sample)) if sample.size else float("nan")
    if 150.0 <= median <= 400.0:
        return False
    if -100.0 <= median <= 80.0:
        return True
    raise UnsupportedDataError(
        f"The thermal band B10 of {info.path.name} holds values around {median:.4g}, neither "
        "kelvin nor degrees Celsius: choose the 4-band model (--model rgbn)."
    )


def _open_landsat_bands(info: InputInfo, numbers: Sequence[int]) -> tuple[list, list[str]]:
    """Open the (dataset, band index) of each Landsat band in ``numbers``."""
    missing = [b for b in numbers if b not in info.landsat_bands]
    if missing:
        wanted = ", ".join(f"B{b}" for b in numbers)
        raise BandMismatchError(
            f"{info.path.name} lacks {', '.join(f'B{b}' for b in missing)}: the full-band "
            f"model reads {wanted} (a Landsat product folder or MTL, or a stack whose band "
            "descriptions name them); choose the 4-band model (--model rgbn)."
        )
    places = [info.landsat_bands[b] for b in numbers]
    if info.kind == "raster":
        dataset = _open(info.path)
        return [(dataset, int(i)) for i in places], [
            f"Bands {', '.join(f'B{b}' for b in numbers)} = {tuple(places)} of {info.path.name}."
        ]
    files = [Path(p) for p in places]
    _check_same_grid(files, [_single_band_header(f) for f in files])
    datasets: list[Any] = []
    try:
        for file in files:
            datasets.append(_open(file))
    except Exception:
        for dataset in datasets:
            dataset.close()
        raise
    return [(ds, 1) for ds in datasets], []


def _check_picture_bands(path: Path, dataset: Any, chosen: Bands) -> None:
    """Refuse alpha and palette bands and 8-bit or complex pixels among the chosen bands."""
    for role, index in zip(_ROLES, chosen, strict=True):
        _check_data_type(path, dataset.dtypes[index - 1])
        interpretation = dataset.colorinterp[index - 1]
        if interpretation in (ColorInterp.alpha, ColorInterp.palette):
            raise UnsupportedDataError(
                f"Band {index} of {path.name}, taken as {role}, is a picture's "
                f"{interpretation.name} band, not Landsat data: use the Landsat bands "
                "(B2-B5) or pass the right ones with --bands."
            )


def open_scene(
    path: str | Path | None = None,
    *,
    bands: Sequence[int] | None = None,
    product: str = "auto",
    band_files: Sequence[str | Path] | None = None,
    model_bands: Sequence[int] = MODEL_BANDS,
) -> SceneReader:
    """Open a raster, Landsat product folder, MTL file or four band files for reading.

    Args:
        path: raster, product folder or ``*_MTL.txt``; None when ``band_files`` is given.
        bands: 1-based (red, green, blue, NIR) indices into a multi-band raster; None
            takes the guess of :func:`inspect_input`.
        product: ``"auto"``, ``"l1"``, ``"toa"`` or ``"sr"``.
        band_files: (red, green, blue, NIR) single-band files, e.g. 38-Cloud patches.
        model_bands: Landsat band numbers to read, in this order; other than the
            default (B4, B3, B2, B5), they are found through
            :attr:`InputInfo.landsat_bands` and ``bands`` is not used.

    Raises:
        ParameterError: both or neither of ``path`` and ``band_files``, or a bad product.
        BandMismatchError: the bands cannot be found or are out of range.
    """
    if (path is None) == (band_files is None):
        raise ParameterError("Give either an input path or four band files, not both/neither.")
    if product != "auto" and product not in LEVELS:
        raise ParameterError(f"Unknown product level {product!r}: use auto, l1, toa or sr.")
    info = inspect_input(path) if path is not None else inspect_band_files(band_files or ())
    level, reason = _resolve_level(info, product)
    model_bands = tuple(model_bands)
    celsius = THERMAL_BAND in model_bands and _thermal_in_celsius(info, level)
    scaling = scaling_for(level, model_bands, info.mtl, dtype=info.dtype, celsius=celsius)
    if model_bands == MODEL_BANDS:
        sources, notes = _open_sources(info, bands)
    else:
        sources, notes = _open_landsat_bands(info, model_bands)
    messages = [f"Product: {reason}", f"Scaling: {scaling.reason}.", *notes]
    return SceneReader(info, sources, level, reason, scaling, messages)


