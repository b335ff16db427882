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
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from .classes import CLOUD_CODES, CLOUD_SHADOW
from .errors import OutputNotWritableError
from .outputs import discard_temporary, finish_temporary, new_temporary
from .raster_io import open_scene

OUTLINE_RGB = (255, 220, 0)
SHADOW_OUTLINE_RGB = (255, 0, 200)
FILL_RGB = (0, 0, 0)


def write_preview(
    input_path: str | Path,
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
    whole 30 m scenes.
    """
    with open_scene(input_path, bands=bands, product=product) as reader:
        step = max(1, math.ceil(max(reader.height, reader.width) / max_size))
        rgb, valid = _decimated_rgb(reader, step)
    with rasterio.open(mask_path) as mask_src:
        mask = mask_src.read(1, out_shape=valid.shape, resampling=Resampling.nearest)
    image = _stretch(rgb, valid)
    image[:, ~valid] = np.array(FILL_RGB, np.uint8)[:, None]
    image[:, _outline(mask == CLOUD_SHADOW)] = np.array(SHADOW_OUTLINE_RGB, np.uint8)[:, None]
    image[:, _outline(np.isin(mask, CLOUD_CODES))] = np.array(OUTLINE_RGB, np.uint8)[:, None]
    png_path = Path(png_path).expanduser().absolute()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "PNG", "width": image.shape[2], "height": image.shape[1]}
    # Like every output: a temporary file beside it, read back, then renamed.
    temp = new_temporary(png_path)
    try:
        # A quick-look is a picture, not a map: it carries no georeferencing on purpose.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(temp, "w", count=3, dtype="uint8", **profile) as dst:
                dst.write(image)
        finish_temporary(temp, png_path, overwrite)
    except RasterioIOError as exc:
        raise OutputNotWritableError(
            f"Writing the preview {png_path} failed ({exc}): choose another folder."
        ) from exc
    finally:
        discard_temporary(temp)
    return png_path


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
