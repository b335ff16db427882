"""The mask's raster format (codes, colour table, class names) and the atomic GeoTIFF writer."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ..classes import CLEAR, CLOUD_SHADOW, CODE_NAMES, NODATA, THICK_CLOUD, THIN_CLOUD
from ..errors import (
    OutputNotWritableError,
    ParameterError,
)
from ..files.atomic import (
    AtomicOutput,
    _forget,
    new_temporary,
    verify_temporary,
)
from ..files.gdal_read import GDAL_ERRORS
from ..timing import stage
from .checks import check_output_path

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


def write_mask_colormap(dataset: Any, band: int = 1) -> None:
    """Attach :data:`MASK_COLORMAP` to a band of a dataset open for writing."""
    dataset.write_colormap(band, MASK_COLORMAP)


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
                    # A mask written whole after the shadow stage is compressed as the
                    # file closes, after the pass: on two threads (not every core, which
                    # would oversubscribe a batch's workers).
                    NUM_THREADS=2,
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
        with stage("writing"):
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
        with stage("writing"):
            self._finish()

    def _finish(self) -> None:
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
