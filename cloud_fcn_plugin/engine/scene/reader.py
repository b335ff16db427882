"""Windowed reading of Landsat inputs: rasters, product folders, MTL files, band files.

Three kinds of input are understood, all read by window so memory does not grow
with the scene:

* ``raster``: one multi-band GeoTIFF (or any raster GDAL reads), with the red, green,
  blue and NIR band indices given or guessed;
* ``landsat_product``: a Landsat 8/9 product folder (Collection 1 or 2, Level-1
  ``*_B4.TIF``, Level-2 ``*_SR_B4.TIF`` or TOA ``*_B4_toa.tif``), or its ``*_MTL.txt``;
* ``band_files``: four single-band files (red, green, blue, NIR), the 38-Cloud layout.

What an input is comes from :mod:`.inspection` (headers only), product folders from
:mod:`.products`, "what this run reads" from :mod:`.read_set`; they are re-exported here.

Outputs are written by :mod:`..outputs`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from rasterio.enums import ColorInterp, Resampling
from rasterio.windows import Window
from scipy import ndimage

from ..errors import BandMismatchError, InputReadError, ParameterError, UnsupportedDataError
from ..files.gdal_read import GDAL_ERRORS, open_raster, reading
from ..timing import stage
from .bands import LEVEL_NAMES, LEVELS, MODEL_BANDS, THERMAL_BAND
from .inspection import (
    Bands,
    InputInfo,
    check_data_type,
    check_same_grid,
    inspect_band_files,
    inspect_input,
    sample_band,
    single_band_header,
)
from .opened import Scene, open_input
from .products import ROLES, is_product_folder, product_folder_of
from .read_set import input_files
from .scaling import Scaling, scaling_for, to_reflectance

__all__ = [
    "GDAL_ERRORS",
    "InputInfo",
    "SceneReader",
    "input_files",
    "inspect_band_files",
    "inspect_input",
    "is_product_folder",
    "open_scene",
    "product_folder_of",
]


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

    @property
    def band_count(self) -> int:
        """Bands each read returns (4, or the model's bands)."""
        return len(self._sources)

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
        valid = self.valid(raw)
        reflectance = self.reflectance(raw, valid)
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
        :func:`~cloud_fcn_plugin.engine.scene.scaling.input_transform`); fill is as in :meth:`read`.
        """
        if height <= 0 or width <= 0:
            raise ParameterError(f"Window size must be positive, got {height} x {width}.")
        if (
            row_off < 0
            or col_off < 0
            or row_off + height > self.height
            or (col_off + width > self.width)
        ):
            raise ParameterError(
                f"Window rows {row_off}+{height}, columns {col_off}+{width} leave the "
                f"{self.width}x{self.height} raster: use read() for windows past its edge."
            )
        raw = self._read_window(Window(col_off, row_off, width, height))
        with stage("valid mask"):
            return raw, self.valid(raw)

    def reflectance(
        self, raw: np.ndarray, valid: np.ndarray, channels: Sequence[int] | None = None
    ) -> np.ndarray:
        """What :meth:`read` returns for values :meth:`read_raw` gave: scaled, fill 0.

        Args:
            raw: (C, h, w) as :meth:`read_raw` gave them. Without ``channels`` a writable
                float32 ``raw`` is scaled in place (see ``to_reflectance``): pass a copy
                where another stage still reads it.
            valid: (h, w) where they hold data.
            channels: only these of the C bands, in this order (None: all), into a new
                array.
        """
        scaling = self.scaling if channels is None else self.scaling.select(channels)
        reflectance = to_reflectance(raw, scaling, channels)
        fill = ~valid
        for band in reflectance:  # 2-D masks per band: 5 times faster than [:, fill]
            band[fill] = 0.0
        return reflectance

    def overview_factor(self, most: int) -> int | None:
        """The largest decimation of at most ``most`` that every band file stores as an
        overview (USGS Collection 2 band files are Cloud Optimized GeoTIFFs with
        internal overviews), None if they share none. (External overview files passed
        the file gate when the band files were opened.)"""
        with self._lock:
            shared = set.intersection(*(set(ds.overviews(i)) for ds, i in self._sources))
        fitting = [f for f in shared if 1 < f <= most]
        return max(fitting) if fitting else None

    def read_overview(self, factor: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole scene from the band files' overviews of ``factor`` (C, h, w), as stored,
        and where it holds data.

        An overview made by averaging mixes fill into the pixels at the footprint's edge,
        so the pixels next to fill count as fill too.

        Raises:
            InputReadError: an overview cannot be read.
        """
        shape = (-(-self.height // factor), -(-self.width // factor))
        bands = []
        with self._lock, stage("read"):
            for dataset, index in self._sources:
                with reading(Path(dataset.name)):  # a damaged overview: one line naming the file
                    bands.append(
                        dataset.read(index, out_shape=shape, resampling=Resampling.nearest)
                    )
        raw = np.stack(bands)
        # Eroded by one pixel (4-neighbours); the scene's border is no fill.
        return raw, ndimage.binary_erosion(self.valid(raw), border_value=1)

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Read the whole scene; meant for small patches (training, tests)."""
        return self.read(0, 0, self.height, self.width)

    def _read_window(self, window: Window) -> np.ndarray:
        try:
            with self._lock, stage("read"):
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
        # Band files straight into one array: no per-band arrays to stack (a copy of the strip).
        dtype = np.result_type(*(ds.dtypes[i - 1] for ds, i in self._sources))
        out = np.empty((len(self._sources), int(window.height), int(window.width)), dtype)
        for band, (dataset, index) in zip(out, self._sources, strict=True):
            dataset.read(index, window=window, out=band)
        return out

    def valid(self, raw: np.ndarray, channels: Sequence[int] | None = None) -> np.ndarray:
        """Where values :meth:`read_raw` gave hold data (see :meth:`read` for fill); with
        ``channels``, where those of the C bands do (band footprints differ)."""
        nodata = self._nodata
        if channels is not None:
            raw, nodata = raw[list(channels)], [nodata[c] for c in channels]
        # Landsat DN products reserve 0 for fill in each band (band footprints differ by a
        # pixel at the scene edge); in reflectance a single 0 can be a real dark value.
        # Band by band: a (bands, rows, columns) boolean temporary would cost a quarter of
        # the strip's memory again.
        dn_coded = raw.dtype.kind in "iu" and self.product in ("l1", "sr")
        combine = np.logical_or if dn_coded else np.logical_and
        invalid = raw[0] == 0
        for band in raw[1:]:
            combine(invalid, band == 0, out=invalid)
        for band, value in zip(raw, nodata, strict=True):
            if raw.dtype.kind == "f":
                invalid |= ~np.isfinite(band)  # NaN and +-inf: no reflectance is infinite
            if value is not None and not np.isnan(value):
                invalid |= band == value
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
        dataset = open_raster(info.path)
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
            datasets.append(open_raster(file))
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
    with open_raster(path) as dataset, reading(path):
        sample = sample_band(dataset, int(place) if info.kind == "raster" else 1)
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
            f"{info.path.name} lacks {', '.join(f'B{b}' for b in missing)}: the model reads "
            f"{wanted} (a Landsat product folder or MTL, or a stack whose band descriptions "
            "name them); choose the 4-band model (--model rgbn)."
        )
    places = [info.landsat_bands[b] for b in numbers]
    if info.kind == "raster":
        dataset = open_raster(info.path)
        return [(dataset, int(i)) for i in places], [
            f"Bands {', '.join(f'B{b}' for b in numbers)} = {tuple(places)} of {info.path.name}."
        ]
    files = [Path(p) for p in places]
    check_same_grid(files, [single_band_header(f) for f in files])
    datasets: list[Any] = []
    try:
        for file in files:
            datasets.append(open_raster(file))
    except Exception:
        for dataset in datasets:
            dataset.close()
        raise
    return [(ds, 1) for ds in datasets], []


def _check_picture_bands(path: Path, dataset: Any, chosen: Bands) -> None:
    """Refuse alpha and palette bands and 8-bit or complex pixels among the chosen bands."""
    for role, index in zip(ROLES, chosen, strict=True):
        check_data_type(path, dataset.dtypes[index - 1])
        interpretation = dataset.colorinterp[index - 1]
        if interpretation in (ColorInterp.alpha, ColorInterp.palette):
            raise UnsupportedDataError(
                f"Band {index} of {path.name}, taken as {role}, is a picture's "
                f"{interpretation.name} band, not Landsat data: use the Landsat bands "
                "(B2-B5) or pass the right ones with --bands."
            )


def open_scene(
    path: str | Path | Scene | None = None,
    *,
    bands: Sequence[int] | None = None,
    product: str = "auto",
    band_files: Sequence[str | Path] | None = None,
    model_bands: Sequence[int] = MODEL_BANDS,
    surface_temperature: bool = False,
) -> SceneReader:
    """Open a raster, Landsat product folder, MTL file or four band files for reading.

    Args:
        path: raster, product folder or ``*_MTL.txt``, or its opened
            :class:`~.opened.Scene` (not inspected again); None when ``band_files`` is given.
        bands: 1-based (red, green, blue, NIR) indices into a multi-band raster; None
            takes the guess of :func:`inspect_input`.
        product: ``"auto"``, ``"l1"``, ``"toa"`` or ``"sr"``.
        band_files: (red, green, blue, NIR) single-band files, e.g. 38-Cloud patches.
        model_bands: Landsat band numbers to read, in this order; other than the
            default (B4, B3, B2, B5), they are found through
            :attr:`InputInfo.landsat_bands` and ``bands`` is not used.
        surface_temperature: read a Level-2 B10 (ST_B10) as kelvin (the physics stage).

    Raises:
        ParameterError: both or neither of ``path`` and ``band_files``, or a bad product.
        BandMismatchError: the bands cannot be found or are out of range.
    """
    if (path is None) == (band_files is None):
        raise ParameterError("Give either an input path or four band files, not both/neither.")
    if product != "auto" and product not in LEVELS:
        raise ParameterError(f"Unknown product level {product!r}: use auto, l1, toa or sr.")
    info = open_input(path).info if path is not None else inspect_band_files(band_files or ())
    level, reason = _resolve_level(info, product)
    model_bands = tuple(model_bands)
    celsius = THERMAL_BAND in model_bands and _thermal_in_celsius(info, level)
    scaling = scaling_for(
        level, model_bands, info.mtl, dtype=info.dtype, celsius=celsius,
        surface_temperature=surface_temperature,
    )  # fmt: skip
    if model_bands == MODEL_BANDS:
        sources, notes = _open_sources(info, bands)
    else:
        sources, notes = _open_landsat_bands(info, model_bands)
    messages = [f"Product: {reason}", f"Scaling: {scaling.reason}.", *notes]
    return SceneReader(info, sources, level, reason, scaling, messages)
