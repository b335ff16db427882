"""Tiling settings of a run, and whole (small) scenes predicted in memory for evaluation."""

from __future__ import annotations

import numpy as np

from ..errors import (
    ParameterError,
)
from ..outputs.raster import MASK_NODATA
from ..params import DetectionParams
from ..scene.reader import SceneReader
from .memory import fit_scene_tile
from .predictor import Predictor
from .strips import IsCanceled, Progress, iter_probability_strips

_BLOCK_CACHE_MIN = 64 * 2**20


def block_cache_bytes(reader: SceneReader) -> int:
    """GDAL block cache for one run: four block rows of the input, at least 64 MB.

    GDAL keeps decompressed blocks until its cache (5 % of the RAM by default) is
    full, so memory grew with the scene; consecutive strips share one block row
    only. The limit holds while ``rasterio.Env`` is open and is restored after.
    """
    itemsize = np.dtype(reader.info.dtype).itemsize
    return max(_BLOCK_CACHE_MIN, 4 * reader.block_shape[0] * reader.width * 4 * itemsize)


def resolve_tiling(params: DetectionParams, predictor: Predictor) -> tuple[int, int]:
    """Return ``(tile_size, overlap)``: the parameters', else the checkpoint's."""
    tile_size = params.tile_size or predictor.metadata.tile_size
    overlap = params.overlap if params.overlap is not None else predictor.metadata.overlap
    if 2 * overlap >= tile_size:
        raise ParameterError(
            f"Overlap {overlap} is too large for tile size {tile_size}: "
            "use less than half the tile size."
        )
    return tile_size, overlap


def predict_layers(
    reader: SceneReader,
    predictor: Predictor,
    *,
    tile_size: int | None = None,
    overlap: int | None = None,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the probability layers (L, H, W) and valid mask of a (small) scene in memory.

    The layers are ``predictor.layout.layers`` (cloud, then thin and shadow where the
    model has them). This is the same tiled, blended inference as :func:`detect_clouds`,
    for evaluation on patches where the arrays fit in memory.
    """
    tile_size, overlap = resolve_tiling(
        DetectionParams(tile_size=tile_size, overlap=overlap), predictor
    )
    tile_size = fit_scene_tile(reader, predictor, tile_size, overlap)
    layers = np.zeros((len(predictor.layout.layers), reader.height, reader.width), np.float32)
    valid = np.zeros((reader.height, reader.width), bool)
    for strip in iter_probability_strips(
        reader, predictor, tile_size, overlap, progress, is_canceled
    ):
        rows = slice(strip.row_off, strip.row_off + len(strip.valid))
        layers[:, rows] = strip.layers
        valid[rows] = strip.valid
    return layers, valid


def predict_scene(
    reader: SceneReader,
    predictor: Predictor,
    *,
    tile_size: int | None = None,
    overlap: int | None = None,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the cloud probability (H, W) and valid mask of a (small) scene in memory.

    The cloud layer of :func:`predict_layers` (thick + thin for a multi-class model).
    """
    layers, valid = predict_layers(
        reader,
        predictor,
        tile_size=tile_size,
        overlap=overlap,
        progress=progress,
        is_canceled=is_canceled,
    )
    return layers[0], valid


def threshold_mask(probability: np.ndarray, valid: np.ndarray, threshold: float) -> np.ndarray:
    """Return the uint8 mask: 1 cloud (probability above ``threshold``), 0 clear, 255 nodata."""
    mask = np.greater(probability, threshold).view(np.uint8)  # True is 1: no copy needed
    mask[~valid] = MASK_NODATA
    return mask
