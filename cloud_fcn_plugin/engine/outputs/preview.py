"""A PNG quick-look: the scene in true colour with the clouds and shadows outlined.

Cloud (thick and thin together) is outlined in yellow, cloud shadow in magenta, so the
two never read as one.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning

from ..classes import CLOUD_CODES, CLOUD_SHADOW
from ..errors import OutputNotWritableError
from ..files.atomic import AtomicOutput, discard_temporary, new_temporary, verify_temporary
from ..files.gdal_read import GDAL_ERRORS
from ..scene.opened import Scene, open_input
from ..scene.reader import open_scene
from .checks import check_output_path

OUTLINE_RGB = (255, 220, 0)
SHADOW_OUTLINE_RGB = (255, 0, 200)
FILL_RGB = (0, 0, 0)


def write_preview(
    input_path: str | Path | Scene,
    mask_path: str | Path,
    png_path: str | Path,
    *,
    bands: tuple[int, int, int, int] | None = None,
    product: str = "auto",
    max_size: int = 1024,
    overwrite: bool = True,
) -> Path:
    """Write a true-colour PNG of the scene with cloud outlines, at most ``max_size`` wide.

    The scene is read strip by strip and decimated, so memory stays small for
    whole 30 m scenes. A run writes it with its other outputs through
    :class:`AtomicPreviewWriter` instead, committed together with them.
    """
    with AtomicPreviewWriter(
        png_path, input_path, bands=bands, product=product, overwrite=overwrite
    ) as writer:
        writer.write(Path(mask_path), max_size=max_size)
        return writer.commit()


class AtomicPreviewWriter(AtomicOutput):
    """The PNG quick-look of a run, written to a temporary file and committed with the rest.

    Written from the finished (not yet committed) mask, read back by :meth:`finish`, so a
    full disk on the preview leaves the previous mask, preview and every other output
    as they were.
    """

    def __init__(
        self,
        path: str | Path,
        input_path: str | Path | Scene,
        *,
        bands: tuple[int, int, int, int] | None = None,
        product: str = "auto",
        overwrite: bool = False,
    ) -> None:
        self.path = check_output_path(path, overwrite, suffixes=(".png",))
        self.overwrite = overwrite
        self.scene, self.bands, self.product = open_input(input_path), bands, product
        self.temp_path = new_temporary(self.path)
        self._committed = self._finished = False

    def write(self, mask_path: Path, *, max_size: int = 1024) -> None:
        """Draw the scene and the mask's outlines into the temporary PNG."""
        with open_scene(self.scene, bands=self.bands, product=self.product) as reader:
            step = max(1, math.ceil(max(reader.height, reader.width) / max_size))
            rgb, valid = _decimated_rgb(reader, step)
        with rasterio.open(mask_path) as mask_src:
            mask = mask_src.read(1, out_shape=valid.shape, resampling=Resampling.nearest)
        image = _stretch(rgb, valid)
        image[:, ~valid] = np.array(FILL_RGB, np.uint8)[:, None]
        shadow = _outline(mask == CLOUD_SHADOW)
        image[:, shadow] = np.array(SHADOW_OUTLINE_RGB, np.uint8)[:, None]
        image[:, _outline(np.isin(mask, CLOUD_CODES))] = np.array(OUTLINE_RGB, np.uint8)[:, None]
        profile = {"driver": "PNG", "width": image.shape[2], "height": image.shape[1]}
        try:
            # A quick-look is a picture, not a map: it carries no georeferencing on purpose.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(self.temp_path, "w", count=3, dtype="uint8", **profile) as dst:
                    dst.write(image)
        except GDAL_ERRORS as exc:  # libpng's write error on a full disk
            self.abort()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise OutputNotWritableError(
                f"Writing the preview {self.path} failed ({reason}): free disk space or choose "
                "another folder; any previous file there is unchanged."
            ) from exc

    def finish(self) -> None:
        """Read the PNG back and sync it, without renaming it."""
        if self._committed or self._finished:
            return
        try:
            verify_temporary(self.temp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def abort(self) -> None:
        """Drop the temporary PNG; the destination stays as it was."""
        discard_temporary(self.temp_path)


def _decimated_rgb(reader, step: int) -> tuple[np.ndarray, np.ndarray]:
    rows_out = math.ceil(reader.height / step)
    cols_out = math.ceil(reader.width / step)
    rgb = np.zeros((3, rows_out, cols_out), np.float32)
    valid = np.zeros((rows_out, cols_out), bool)
    strip_rows = step * max(1, 256 // step)
    for row in range(0, reader.height, strip_rows):
        height = min(strip_rows, reader.height - row)
        reflectance, strip_valid = reader.read(row, 0, height, reader.width)
        out = slice(row // step, row // step + math.ceil(height / step))
        rgb[:, out] = reflectance[:3, ::step, ::step]
        valid[out] = strip_valid[::step, ::step]
    return rgb, valid


def _stretch(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Scale each band between its 2nd and 98th percentile, with a mild gamma."""
    out = np.zeros(rgb.shape, np.uint8)
    for band in range(3):
        values = rgb[band][valid]
        low, high = np.percentile(values, (2, 98)) if values.size else (0.0, 1.0)
        scaled = np.clip((rgb[band] - low) / max(high - low, 1e-6), 0.0, 1.0) ** 0.8
        out[band] = np.rint(scaled * 255).astype(np.uint8)
    return out


def _outline(cloud: np.ndarray) -> np.ndarray:
    """Return the cloud pixels that touch a non-cloud pixel (4-neighbourhood)."""
    padded = np.pad(cloud, 1, mode="edge")
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return cloud & ~interior
