"""Whole-scene cloud detection: stream strips of tiles through the network.

The scene is processed one row of tiles at a time. Each row of tiles is read as
one full-width strip (on a reader thread, one strip ahead), normalised, cut into
tiles, predicted in batches, and blended into a rolling accumulator with the
tile window. Once the next row of tiles starts at row ``r``, every row above
``r`` is final: it is thresholded and handed to the writer thread. Memory thus
depends on the scene width and the tile size, never on the scene height.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import rasterio

from .bands import InputTransform, band_numbers, input_transform
from .classes import CLOUD_CODES, LAYER_DESCRIPTIONS
from .decision import ClassCounts, classify
from .errors import (
    BandMismatchError,
    CanceledError,
    CloudFcnError,
    NoValidPixelsError,
    ParameterError,
)
from .memory import fit_scene_tile
from .model_choice import ModelChoice, choose_model
from .outputs import (
    MASK_CLASS_TAGS,
    MASK_COLORMAP,
    MASK_NODATA,
    RASTER_SUFFIXES,
    VECTOR_SUFFIXES,
    AtomicOutput,
    AtomicRasterWriter,
    check_outputs,
    remove_partial_outputs,
)
from .params import QA_MODEL, DetectionParams, DetectionResult
from .postprocess import AtomicPolygonWriter, image_bands, refine_mask, write_masked_image
from .predict import Predictor, load_predictor
from .qa_band import QaBand, QaComparison, find_qa_band, iter_qa_strips, qa_counts, require_qa_band
from .raster_io import GDAL_ERRORS, SceneReader, open_scene
from .settings_tag import settings_tags
from .threads import single_threaded_blas
from .tiling import PlannedTile, axis_offsets, blend_window, plan_tiles

Progress = Callable[[float], None]
IsCanceled = Callable[[], bool]
Log = Callable[[str], None]

_BLOCK_CACHE_MIN = 64 * 2**20
PROBABILITY_NODATA = {"float32": -1.0, "uint8": 255}


@dataclass(frozen=True)
class Strip:
    """Final rows of the scene: probability layers and the valid-pixel mask.

    Attributes:
        row_off: first row of the strip in the scene.
        layers: (L, rows, cols) blended probabilities, laid out as the predictor's
            ``layout.layers`` (cloud first).
        valid: (rows, cols) True on pixels with data.
    """

    row_off: int
    layers: np.ndarray
    valid: np.ndarray

    @property
    def probability(self) -> np.ndarray:
        """The cloud probability (thick + thin) of the strip."""
        return self.layers[0]


def iter_probability_strips(
    reader: SceneReader,
    predictor: Predictor,
    tile_size: int,
    overlap: int,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
) -> Iterator[Strip]:
    """Yield the scene's probability layers top to bottom, in final strips.

    Tiles that hold only fill are skipped and the others are cut down to their
    valid pixels plus some fill (see :func:`~.tiling.plan_tiles`); they are blended
    with the tile window and divided by the summed weights. Up to
    ``predictor.tasks_in_flight`` tasks are predicted while earlier ones are
    blended, across strip boundaries, so the workers never wait for a strip to end.

    Raises:
        CanceledError: ``is_canceled()`` returned true between two tasks.
    """
    height, width = reader.height, reader.width
    rows = axis_offsets(height, tile_size, overlap)
    cols = axis_offsets(width, tile_size, overlap)
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    meta = predictor.metadata
    transform = input_transform(reader.scaling, meta.mean, meta.std)
    assembler = _Assembler(
        blend_window(tile_h, tile_w, overlap),
        width,
        len(rows) * len(cols),
        progress,
        len(predictor.layout.layers),
    )
    try:
        with single_threaded_blas():
            for index, (raw, valid) in enumerate(_read_ahead(reader, rows, tile_h, width)):
                tiles = plan_tiles(valid, rows[index], cols, tile_w, (height, width))
                assembler.skipped(len(cols) - len(tiles))
                for batch in _batches(tiles, predictor.tiles_per_task):
                    if is_canceled is not None and is_canceled():
                        raise CanceledError("Canceled by the user: no output was written.")
                    yield from assembler.drain(keep=predictor.tasks_in_flight - 1)
                    prepare = partial(_network_input, raw, valid, batch, transform)
                    assembler.submit(batch, predictor.submit(prepare, batch[0].edges))
                final = (rows[index + 1] if index + 1 < len(rows) else height) - rows[index]
                assembler.end_strip(rows[index], final, valid)
            yield from assembler.drain(keep=0)
    finally:
        assembler.cancel()


def _batches(tiles: list[PlannedTile], size: int) -> Iterator[list[PlannedTile]]:
    """Group consecutive tiles of one shape and edge set, at most ``size`` at a time."""
    batch: list[PlannedTile] = []
    for tile in tiles:
        if batch and (
            len(batch) == size or (tile.shape, tile.edges) != (batch[0].shape, batch[0].edges)
        ):
            yield batch
            batch = []
        batch.append(tile)
    if batch:
        yield batch


def _network_input(
    raw: np.ndarray, valid: np.ndarray, tiles: list[PlannedTile], transform: InputTransform
) -> np.ndarray:
    """The tiles (N, C, H, W) as network input; runs on the predicting thread."""
    inputs = [
        transform.apply(raw[:, tile.rows, tile.strip_cols], valid[tile.rows, tile.strip_cols])
        for tile in tiles
    ]
    return inputs[0][None] if len(inputs) == 1 else np.stack(inputs)


def _read_ahead(
    reader: SceneReader, rows: list[int], tile_h: int, width: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield raw full-width strips and their valid masks, reading the next on another thread."""
    with ThreadPoolExecutor(1, thread_name_prefix="cloud-fcn-read") as pool:
        pending: Future = pool.submit(reader.read_raw, rows[0], 0, tile_h, width)
        for index in range(len(rows)):
            strip = pending.result()
            if index + 1 < len(rows):
                pending = pool.submit(reader.read_raw, rows[index + 1], 0, tile_h, width)
            yield strip


@dataclass(frozen=True)
class _StripEnd:
    """Queue marker: every tile of the strip at ``row`` has been submitted."""

    row: int
    final: int
    valid: np.ndarray


class _Assembler:
    """Blends predicted tiles in submission order into a rolling strip accumulator."""

    def __init__(
        self,
        window: np.ndarray,
        width: int,
        total_tiles: int,
        progress: Progress | None,
        layers: int = 1,
    ) -> None:
        tile_h = window.shape[0]
        self.window = window
        self.prob_sum = np.zeros((layers, tile_h, width), np.float32)
        self.weight_sum = np.zeros((tile_h, width), np.float32)
        self._weighted = np.empty((layers, *window.shape), np.float32)
        self.pending: deque[tuple[list[PlannedTile], Future] | _StripEnd] = deque()
        self.in_flight = 0
        self.done, self.total = 0, total_tiles
        self.progress = progress

    def submit(self, tiles: list[PlannedTile], future: Future) -> None:
        """Queue the future probabilities of ``tiles``."""
        self.pending.append((tiles, future))
        self.in_flight += 1

    def end_strip(self, row: int, final: int, valid: np.ndarray) -> None:
        """Queue the end of a strip: its first ``final`` rows are then complete."""
        self.pending.append(_StripEnd(row, final, valid))

    def skipped(self, tiles: int) -> None:
        """Count fill-only tiles as done."""
        if tiles:
            self._advance(tiles)

    def drain(self, keep: int) -> Iterator[Strip]:
        """Blend finished work until at most ``keep`` tasks are in flight; yield strips."""
        while self.pending and (self.in_flight > keep or isinstance(self.pending[0], _StripEnd)):
            item = self.pending.popleft()
            if isinstance(item, _StripEnd):
                yield self._finish(item)
                continue
            tiles, future = item
            self.in_flight -= 1
            self._blend(tiles, future.result())

    def cancel(self) -> None:
        """Drop queued work (after an error or a cancel)."""
        for item in self.pending:
            if not isinstance(item, _StripEnd):
                item[1].cancel()
        self.pending.clear()

    def _blend(self, tiles: list[PlannedTile], probabilities: np.ndarray) -> None:
        for tile, probability in zip(tiles, probabilities, strict=True):
            # A tile cut to its valid pixels keeps the weights its part of the window has.
            window = self.window[tile.rows, tile.cols]
            weighted = self._weighted[:, : window.shape[0], : window.shape[1]]
            np.multiply(probability, window, out=weighted)
            self.prob_sum[:, tile.rows, tile.strip_cols] += weighted
            self.weight_sum[tile.rows, tile.strip_cols] += window
        self._advance(len(tiles))

    def _finish(self, end: _StripEnd) -> Strip:
        strip = Strip(
            end.row,
            _blended(self.prob_sum[:, : end.final], self.weight_sum[: end.final]),
            end.valid[: end.final],
        )
        _shift_up(self.prob_sum, end.final)
        _shift_up(self.weight_sum, end.final)
        return strip

    def _advance(self, tiles: int) -> None:
        self.done += tiles
        if self.progress is not None:
            self.progress(100.0 * self.done / self.total)


def _blended(prob_sum: np.ndarray, weight_sum: np.ndarray) -> np.ndarray:
    out = np.zeros_like(prob_sum)
    np.divide(prob_sum, weight_sum, out=out, where=weight_sum > 0)
    return out


def _shift_up(buffer: np.ndarray, rows: int) -> None:
    """Drop the first ``rows`` rows (axis -2) of a rolling buffer and zero the freed rows."""
    height = buffer.shape[-2]
    if rows < height:
        buffer[..., : height - rows, :] = buffer[..., rows:, :].copy()
    buffer[..., max(height - rows, 0) :, :] = 0.0


def _block_cache_bytes(reader: SceneReader) -> int:
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


def encode_probability(probability: np.ndarray, valid: np.ndarray, dtype: str) -> np.ndarray:
    """Return probabilities as float32 (0..1) or uint8 percent, with nodata on fill.

    ``probability`` is one layer (rows, cols) or several (L, rows, cols).
    """
    if dtype == "uint8":
        encoded = np.rint(probability * 100.0).astype(np.uint8)
    else:
        encoded = probability.astype(np.float32, copy=True)
    encoded[..., ~valid] = PROBABILITY_NODATA[dtype]
    return encoded


@dataclass(frozen=True)
class MaskStrip:
    """Final rows of the mask, with the probabilities they came from (if any)."""

    row_off: int
    mask: np.ndarray
    probabilities: Strip | None = None


def _network_mask_strips(
    reader: SceneReader,
    predictor: Predictor,
    tile_size: int,
    overlap: int,
    thresholds: tuple[float, float],
    progress: Progress | None,
    is_canceled: IsCanceled | None,
) -> Iterator[MaskStrip]:
    """The network's mask, strip by strip (see :func:`~.decision.classify`)."""
    threshold, shadow_threshold = thresholds
    for strip in iter_probability_strips(
        reader, predictor, tile_size, overlap, progress, is_canceled
    ):
        mask = classify(strip.layers, strip.valid, predictor.layout, threshold, shadow_threshold)
        yield MaskStrip(strip.row_off, mask, strip)


def _qa_mask_strips(
    qa: QaBand, progress: Progress | None, is_canceled: IsCanceled | None
) -> Iterator[MaskStrip]:
    for strip in iter_qa_strips(qa, progress, is_canceled):
        yield MaskStrip(strip.row_off, strip.mask)


def detect_clouds(
    input_path: str | Path,
    output_path: str | Path,
    params: DetectionParams | None = None,
    *,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
    log: Log | None = None,
    predictor: Predictor | None = None,
    model: ModelChoice | None = None,
) -> DetectionResult:
    """Detect clouds (and shadow) in a Landsat scene and write the mask GeoTIFF.

    The mask holds 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow and 255 no
    data (:mod:`.classes`); a cloud-only model writes 0, 1 and 255. With
    ``params.model == "qa"`` the product's own QA band is decoded instead of running
    a network (:mod:`.qa_band`). After a network run on a product with a QA band, the
    QA band's cover is reported beside the mask's, with a warning when they differ
    strongly.

    Args:
        input_path: multi-band GeoTIFF, Landsat product folder or ``*_MTL.txt``.
        output_path: mask GeoTIFF to write (uint8 codes above).
        params: run parameters; defaults use the bundled weights.
        progress: receives the percentage done (0..100).
        is_canceled: polled between batches; true stops the run, leaving no output.
        log: receives human-readable notes (inferred product level, warnings).
        predictor: an already loaded model to reuse across scenes.
        model: the choice ``predictor`` was loaded for (see
            :func:`~cloud_fcn_plugin.engine.model_choice.choose_model`); made here
            from ``params`` when no predictor is given.

    Returns:
        The run's result with the cover of each class among the valid pixels.

    Raises:
        CloudFcnError: any bad input, with a one-line message that says what to do.
    """
    started = time.perf_counter()
    params = params or DetectionParams()
    log = log or (lambda message: None)
    if params.model == QA_MODEL and predictor is None:
        return _detect_from_qa(input_path, output_path, params, progress, is_canceled, log)
    outputs = _check_outputs(input_path, output_path, params)
    if predictor is None:
        model = choose_model(input_path, params.model, params.weights, params.product)
        predictor = load_predictor(model.path, params.device, params.batch_size, log)
    model_name = model.label if model else "given model"
    if model is not None:
        log(model.reason)
    tile_size, overlap = resolve_tiling(params, predictor)
    meta = predictor.metadata
    threshold = params.threshold if params.threshold is not None else meta.threshold
    shadow_threshold = (
        params.shadow_threshold if params.shadow_threshold is not None else meta.shadow_threshold
    )

    with (
        open_scene(
            input_path,
            bands=params.bands,
            product=params.product,
            model_bands=band_numbers(meta.bands),
        ) as reader,
        rasterio.Env(GDAL_CACHEMAX=_block_cache_bytes(reader)),
    ):
        for message in reader.messages:
            log(message)
        # Before any pixel is read: the memory the strips and tiles need must be free.
        tile_size = fit_scene_tile(
            reader, predictor, tile_size, overlap, _block_cache_bytes(reader), log
        )
        stage = _Stages(progress, params, outputs)
        strips = _network_mask_strips(
            reader, predictor, tile_size, overlap, (threshold, shadow_threshold),
            stage.tiles, is_canceled,
        )  # fmt: skip
        descriptions = tuple(LAYER_DESCRIPTIONS[name] for name in predictor.layout.layers)
        counts = _write_outputs(
            Path(input_path), _grid(reader, params), strips, outputs, params, stage,
            is_canceled, descriptions,
        )  # fmt: skip
        product, width, height = reader.product, reader.width, reader.height

    messages = [model.reason, *reader.messages] if model else list(reader.messages)
    comparison = _compare_with_qa(input_path, counts.mask, log)
    if comparison is not None:
        messages.append(comparison.summary())
        if comparison.warning():
            messages.append(comparison.warning())
    return _result(
        outputs, counts, params, width=width, height=height,
        seconds=time.perf_counter() - started, device=str(predictor.device),
        product=product, threshold=threshold, messages=messages, model=model_name,
        comparison=comparison,
    )  # fmt: skip


def _check_outputs(input_path: str | Path, output_path: str | Path, params: DetectionParams):
    checked = check_outputs(
        input_path,
        [
            ("mask", output_path, RASTER_SUFFIXES),
            ("probability", params.probability, RASTER_SUFFIXES),
            ("masked image", params.masked_image, RASTER_SUFFIXES),
            ("polygons", params.polygons, VECTOR_SUFFIXES),
            ("preview", params.preview, (".png",)),
        ],
        params.overwrite,
    )
    # What an earlier run killed outright (SIGKILL) left beside these outputs; never the
    # files of a run still going (their PID is alive).
    remove_partial_outputs(path for path in checked if path is not None)
    output, probability_path, masked_image, polygons = checked[:4]
    assert output is not None
    return _Outputs(output, probability_path, masked_image, polygons)


def _detect_from_qa(
    input_path: str | Path,
    output_path: str | Path,
    params: DetectionParams,
    progress: Progress | None,
    is_canceled: IsCanceled | None,
    log: Log,
) -> DetectionResult:
    """Decode the product's QA band into the mask (``--model qa``)."""
    started = time.perf_counter()
    qa = require_qa_band(input_path)
    if params.probability is not None:
        raise ParameterError(
            "The product QA band has no probabilities: drop the probability output, or "
            "choose a network model to get one."
        )
    outputs = _check_outputs(input_path, output_path, params)
    reason = f"Model: the product's QA band ({qa.label}, {qa.path.name})."
    log(reason)
    with rasterio.open(qa.path) as dataset:
        grid = {
            "width": dataset.width, "height": dataset.height, "crs": dataset.crs,
            "transform": dataset.transform, "overwrite": params.overwrite,
        }  # fmt: skip
    if outputs.masked_image is not None:
        _check_qa_grid(input_path, qa, grid)
    stage = _Stages(progress, params, outputs)
    counts = _write_outputs(
        Path(input_path), grid, _qa_mask_strips(qa, stage.tiles, is_canceled), outputs,
        params, stage, is_canceled, (),
    )  # fmt: skip
    return _result(
        outputs, counts, params, width=grid["width"], height=grid["height"],
        seconds=time.perf_counter() - started, device="cpu", product=qa.flavour,
        threshold=float("nan"), messages=[reason], model="product QA band", comparison=None,
    )  # fmt: skip


def _check_qa_grid(input_path: str | Path, qa: QaBand, grid: dict) -> None:
    """The masked image stacks the product's bands on the QA band's grid: they must match.

    Raises:
        BandMismatchError: the band files are not on the QA band's grid.
    """
    from .raster_io import inspect_input

    info = inspect_input(input_path)
    if (info.width, info.height, info.transform) != (
        grid["width"], grid["height"], grid["transform"]
    ):  # fmt: skip
        raise BandMismatchError(
            f"{qa.path.name} ({grid['width']}x{grid['height']}) is not on the grid of the "
            f"product's bands ({info.width}x{info.height}): the masked image needs both on one "
            "grid; replace the files with the product's own, or drop the masked image."
        )


def _compare_with_qa(input_path: str | Path, mask: ClassCounts, log: Log) -> QaComparison | None:
    """The product QA band's cover beside the mask's, logged; None without a QA band."""
    try:
        qa = find_qa_band(input_path)
        if qa is None:
            return None
        comparison = QaComparison(qa, qa_counts(qa), mask)
    except (CloudFcnError, *GDAL_ERRORS) as exc:
        log(f"The product's QA band could not be compared with the mask ({exc}).")
        return None
    log(comparison.summary())
    warning = comparison.warning()
    if warning:
        log(f"Warning: {warning}")
    return comparison


def _grid(reader: SceneReader, params: DetectionParams) -> dict:
    return {
        "width": reader.width,
        "height": reader.height,
        "crs": reader.crs,
        "transform": reader.transform,
        "overwrite": params.overwrite,
    }


def _result(
    outputs: _Outputs,
    counts: _Counts,
    params: DetectionParams,
    *,
    comparison: QaComparison | None,
    **fields: object,
) -> DetectionResult:
    mask, detected = counts.mask, counts.detected
    return DetectionResult(
        output=outputs.mask,
        probability=outputs.probability,
        cloud_cover=mask.cloud_cover,
        valid_pixels=mask.valid,
        cloud_pixels=mask.pixels_of(CLOUD_CODES),
        detected_cloud_cover=(
            detected.cloud_cover if detected.pixels != mask.pixels else None
        ),
        masked_image=outputs.masked_image,
        polygons=outputs.polygons,
        polygon_count=counts.polygons,
        class_pixels=dict(mask.pixels),
        masked_classes=params.mask_classes,
        qa_comparison=comparison,
        **fields,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class _Outputs:
    """The checked output paths of one run."""

    mask: Path
    probability: Path | None
    masked_image: Path | None
    polygons: Path | None


@dataclass(frozen=True)
class _Counts:
    mask: ClassCounts  # the mask written
    detected: ClassCounts  # before sieve and buffer
    polygons: int | None


# Short: QGIS heads the mask's legend with "Band 1: <description>", cut after a few words
# in the Layers panel (issue 18, item 13). The codes are named by the colour table's
# categories and the class tags (MASK_CLASS_TAGS).
_MASK_DESCRIPTION = "cloud mask"


def _write_outputs(
    input_path: Path,
    grid: dict,
    strips: Iterator[MaskStrip],
    outputs: _Outputs,
    params: DetectionParams,
    stage: _Stages,
    is_canceled: IsCanceled | None,
    probability_descriptions: tuple[str, ...],
) -> _Counts:
    """Stream the mask strips into the output files; commit them only when all went well.

    Without post-processing the strips go straight into the mask. With a sieve or
    buffer they go into a hidden work mask that :func:`~.postprocess.refine_mask`
    turns into the mask; the masked image and the polygons are then made from the
    finished mask (see :mod:`.postprocess`). Post-processing acts on the classes of
    ``params.mask_classes``.
    """
    mask_options = {
        "dtype": "uint8",
        "nodata": MASK_NODATA,
        "colormap": MASK_COLORMAP,
        "description": _MASK_DESCRIPTION,
        "tags": {**MASK_CLASS_TAGS, **settings_tags(params)},
    }
    bands = image_bands(input_path) if outputs.masked_image is not None else None
    detected = ClassCounts()
    masked = params.mask_classes
    with ExitStack() as stack:
        mask = stack.enter_context(AtomicRasterWriter(outputs.mask, **mask_options, **grid))
        # The strips' target: the mask, or a work mask (never committed) to be refined.
        raw = (
            stack.enter_context(AtomicRasterWriter(outputs.mask, **mask_options, **grid))
            if params.refines_mask
            else mask
        )
        writers: list[AtomicOutput] = [raw]
        if outputs.probability is not None:
            percent = " (percent)" if params.probability_dtype == "uint8" else ""
            writers.append(
                stack.enter_context(
                    AtomicRasterWriter(
                        outputs.probability,
                        dtype=params.probability_dtype,
                        nodata=PROBABILITY_NODATA[params.probability_dtype],
                        count=len(probability_descriptions),
                        descriptions=[d + percent for d in probability_descriptions],
                        **grid,
                    )
                )
            )
        # Writing (compression) runs on its own thread, overlapping the next strip's compute.
        pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="cloud-fcn-write"))
        pending: Future | None = None
        for strip in strips:
            detected.add(strip.mask)
            # Only what is written stays alive while the next strip is computed.
            probability = strip.probabilities if len(writers) > 1 else None
            row_off, strip_mask = strip.row_off, strip.mask
            del strip
            if pending is not None:
                pending.result()
            pending = pool.submit(
                _write_strip, writers, row_off, strip_mask, probability, params.probability_dtype
            )
        if pending is not None:
            pending.result()
        pool.shutdown()
        if detected.valid == 0:
            raise NoValidPixelsError(
                f"{input_path.name} has no valid pixels (every pixel is fill: 0, NaN or nodata): "
                "check the input file and the band selection."
            )
        final = detected
        if params.refines_mask:
            raw.finish()
            final = ClassCounts.of(
                refine_mask(
                    raw.temp_path, mask, min_size=params.min_size, buffer=params.buffer,
                    masked_codes=masked, progress=stage.next(), is_canceled=is_canceled,
                    present_codes=[c for c, n in detected.pixels.items() if n],
                )
            )  # fmt: skip
            writers[0] = mask
        mask.finish()  # the masked image and the polygons read it back
        polygon_count = None
        if outputs.masked_image is not None and bands is not None:
            image = stack.enter_context(
                AtomicRasterWriter(
                    outputs.masked_image, dtype=bands.dtype, nodata=bands.nodata,
                    count=len(bands.sources), descriptions=bands.descriptions, **grid,
                )
            )  # fmt: skip
            write_masked_image(
                bands, mask.temp_path, image, masked_codes=masked,
                progress=stage.next(), is_canceled=is_canceled,
            )  # fmt: skip
            writers.append(image)
        if outputs.polygons is not None:
            shapes = stack.enter_context(
                AtomicPolygonWriter(
                    outputs.polygons, overwrite=params.overwrite, layer=params.polygons_layer
                )
            )
            polygon_count = shapes.write(
                mask.temp_path, masked_codes=masked, progress=stage.next(),
                is_canceled=is_canceled,
            )  # fmt: skip
            writers.append(shapes)
        if params.preview is not None:
            # Imported here: previews are for the scripts, not shipped in the plugin zip.
            from .preview import AtomicPreviewWriter

            preview = stack.enter_context(
                AtomicPreviewWriter(
                    params.preview, input_path, bands=params.bands, product=params.product,
                    overwrite=params.overwrite,
                )
            )  # fmt: skip
            preview.write(mask.temp_path)
            writers.append(preview)
        # Every output is read back and synced before any is renamed: a full disk on the
        # probabilities must not leave a new mask beside the old probabilities.
        for writer in writers:
            writer.finish()
        for writer in writers:
            writer.commit()
    return _Counts(final, detected, polygon_count)


class _Stages:
    """Splits the progress bar: the tiles first, then equal shares per post-processing step."""

    def __init__(self, progress: Progress | None, params: DetectionParams, outputs: _Outputs):
        steps = (
            params.refines_mask
            + (outputs.masked_image is not None)
            + (outputs.polygons is not None)
        )
        self.progress = progress
        self.tiles_share = 100.0 - 10.0 * steps
        self.step_share = (100.0 - self.tiles_share) / steps if steps else 0.0
        self.started = 0

    def tiles(self, percent: float) -> None:
        """Progress of the tiles, 0..100."""
        if self.progress is not None:
            self.progress(percent * self.tiles_share / 100.0)

    def next(self) -> Callable[[float], None]:
        """The progress callback (fraction 0..1) of the next post-processing step."""
        start = self.tiles_share + self.started * self.step_share
        self.started += 1

        def report(fraction: float) -> None:
            if self.progress is not None:
                self.progress(start + fraction * self.step_share)

        return report


def _write_strip(
    writers: list[AtomicRasterWriter],
    row_off: int,
    mask: np.ndarray,
    probability: Strip | None,
    probability_dtype: str,
) -> None:
    writers[0].write(mask, row_off, 0)
    if probability is not None:
        encoded = encode_probability(probability.layers, probability.valid, probability_dtype)
        writers[1].write(encoded, row_off, 0)
