"""A new threshold on a run's kept probability raster, without running the network again.

A run that wrote its probability (``DetectionParams.probability``, float32) can be
thresholded again in a fraction of the network's time: the strips come from that
raster instead of the network, and everything after that is the run's own code
(:func:`~.decision.classify`, then the sieve, buffer, masked image and polygons of
``pipeline._write_outputs``), so a re-thresholded mask is the mask a full run at that
threshold writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import rasterio

from ..classes import CLOUD_ONLY, LAYER_DESCRIPTIONS, ChannelLayout
from ..errors import CanceledError, InputReadError, ParameterError
from ..files.gdal_read import reading
from ..inference.decision import classify
from ..inference.strips import IsCanceled, Progress
from ..params import DetectionParams, DetectionResult
from ..physics.shadow_stage import open_shadow_stage
from ..pipeline import _check_outputs, _result
from ..scene.opened import open_input
from ..scene.reader import GDAL_ERRORS
from .probability_source import check_probability_source
from .refine import row_windows
from .writer import PROBABILITY_NODATA, MaskStrip, ProgressStages, write_outputs

#: Layer name of each probability band description (``pipeline`` writes them).
_LAYER_NAMES = {text: name for name, text in LAYER_DESCRIPTIONS.items()}
#: The channels that give a probability raster's layers (cloud, thin, shadow).
_CLASSES = {
    ("cloud",): CLOUD_ONLY,
    ("cloud", "thin"): ("clear", "thick_cloud", "thin_cloud"),
    ("cloud", "shadow"): ("clear", "cloud", "cloud_shadow"),
    ("cloud", "thin", "shadow"): ("clear", "thick_cloud", "thin_cloud", "cloud_shadow"),
}
_STRIP_ROWS = 512
_BLOCK_CACHE_BYTES = 16 * 2**20


def rethreshold(
    probability_path: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    params: DetectionParams,
    *,
    model: str = "",
    device: str = "cpu",
    product: str = "",
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
) -> DetectionResult:
    """Write the mask (and the run's other outputs) of ``params.threshold``.

    Args:
        probability_path: the float32 probability raster a run wrote.
        input_path: that run's input (the masked image reads its bands).
        output_path: the mask GeoTIFF to write.
        params: the threshold, shadow threshold, sieve, buffer, masked classes and the
            masked image and polygons paths; ``params.threshold`` must be set.
        model, device, product: what the run used, for the result.
        progress: receives the percentage done (0..100).
        is_canceled: polled between strips and by GDAL; true stops, leaving no output.

    Raises:
        ParameterError: no threshold, or a probability raster in percent.
        InputReadError: the probability raster cannot be read.
        CanceledError: ``is_canceled()`` returned true.
    """
    started = time.perf_counter()
    if params.threshold is None:
        raise ParameterError("Re-thresholding needs a threshold: pass one between 0 and 1.")
    params = replace(params, probability=None)
    scene = open_input(input_path)
    outputs = _check_outputs(scene, output_path, params)
    path = Path(probability_path)
    check_probability_source(  # an input: gated, never replaced
        path, input_path, (outputs.mask, outputs.masked_image, outputs.polygons, params.preview)
    )
    try:
        dataset = rasterio.open(path)
    except GDAL_ERRORS as exc:
        raise InputReadError(
            f"The probability raster {path} cannot be read ({exc}): run the detection again."
        ) from exc
    # A small block cache makes GDAL compress the mask's blocks while the strips are
    # written (outside the GIL), not all at once when the file closes (under it): a
    # whole scene in the cache held QGIS's GUI thread for seconds at the end.
    with dataset, rasterio.Env(GDAL_CACHEMAX=_BLOCK_CACHE_BYTES), ExitStack() as stack:
        layout = _layout(dataset, path)
        # The full run's shadow, so that the mask is the one a run at this threshold gives.
        shadow_stage = open_shadow_stage(stack, scene, params)
        grid = {"width": dataset.width, "height": dataset.height, "crs": dataset.crs,
                "transform": dataset.transform, "overwrite": params.overwrite}  # fmt: skip
        shadow = params.shadow_threshold if params.shadow_threshold is not None else 0.5
        stage = ProgressStages(progress, params, outputs)
        strips = _probability_mask_strips(
            dataset, layout, (params.threshold, shadow), stage.tiles, is_canceled
        )
        counts = write_outputs(
            scene, grid, strips, outputs, params, stage, is_canceled, (), shadow_stage
        )
    return _result(
        outputs, counts, params, width=grid["width"], height=grid["height"],
        seconds=time.perf_counter() - started, device=device, product=product,
        threshold=params.threshold, model=model, comparison=None,
        messages=[shadow_stage.note] if shadow_stage and shadow_stage.note else [],
    )  # fmt: skip


def _layout(dataset, path: Path) -> ChannelLayout:
    """The channel layout whose blended layers the raster's bands are."""
    if dataset.dtypes[0] != "float32":
        raise ParameterError(
            f"{path.name} holds probabilities in percent ({dataset.dtypes[0]}): re-thresholding "
            "needs the float32 probability a run writes by default; run the detection again."
        )
    names = tuple(_LAYER_NAMES.get(text or "", "") for text in dataset.descriptions)
    if names not in _CLASSES:
        raise ParameterError(
            f"{path.name} is not a cloud probability raster of this plugin (bands "
            f"{dataset.descriptions}): run the detection again."
        )
    return ChannelLayout(_CLASSES[names])


def _probability_mask_strips(
    dataset,
    layout: ChannelLayout,
    thresholds: tuple[float, float],
    progress: Progress | None,
    is_canceled: IsCanceled | None,
) -> Iterator[MaskStrip]:
    """The mask of the kept probabilities, strip by strip (see :func:`~.decision.classify`)."""
    threshold, shadow_threshold = thresholds
    nodata = PROBABILITY_NODATA["float32"]
    for window in row_windows(dataset.height, dataset.width, _STRIP_ROWS):
        if is_canceled is not None and is_canceled():
            raise CanceledError("Canceled by the user: no output was written.")
        with reading(Path(dataset.name)):  # a truncated raster: one line
            layers = dataset.read(window=window)
        valid = np.isfinite(layers[0]) & (layers[0] != nodata)
        mask = classify(layers, valid, layout, threshold, shadow_threshold)
        if progress is not None:
            progress(100.0 * (window.row_off + window.height) / dataset.height)
        yield MaskStrip(window.row_off, mask)
