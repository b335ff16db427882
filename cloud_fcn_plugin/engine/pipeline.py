"""The short story of one run: open the scene, choose the model, predict, refine, write, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import rasterio

from .classes import CLOUD_CODES, LAYER_DESCRIPTIONS
from .errors import (
    BandMismatchError,
    CloudFcnError,
    ParameterError,
)
from .files.atomic import remove_partial_outputs
from .inference.decision import ClassCounts, classify
from .inference.memory import fit_scene_tile
from .inference.predictor import Predictor, load_predictor
from .inference.strips import IsCanceled, Progress, iter_probability_strips
from .inference.whole_scene import block_cache_bytes, resolve_tiling
from .models.choice import ModelChoice, choose_model
from .outputs.checks import check_outputs, run_outputs
from .outputs.settings_tag import recording
from .outputs.writer import MaskStrip, OutputPaths, ProgressStages, WrittenCounts, write_outputs
from .params import PHYSICS_MODEL, QA_MODEL, DetectionParams, DetectionResult
from .physics.shadow_stage import ShadowStage, open_shadow_stage
from .physics.stage import (
    PhysicsStage,
    physics_mask_strips,
    plan_fusion,
    plan_physics_only,
)
from .scene.bands import band_numbers
from .scene.opened import Scene, open_input
from .scene.qa_band import QaBand, QaComparison, iter_qa_strips, qa_counts
from .scene.reader import GDAL_ERRORS, SceneReader, open_scene

Log = Callable[[str], None]


def _network_mask_strips(
    reader: SceneReader,
    predictor: Predictor,
    tile_size: int,
    overlap: int,
    thresholds: tuple[float, float],
    progress: Progress | None,
    is_canceled: IsCanceled | None,
    physics: PhysicsStage | None = None,
    keep_probability: bool = True,
) -> Iterator[MaskStrip]:
    """The network's mask, strip by strip (see :func:`~.decision.classify`), the
    scene-relative physics applied to its cloud probability first where planned."""
    threshold, shadow_threshold = thresholds
    # Where no probability is written and the steps only lower it, pixels under the
    # threshold stay clear whatever the physics says: it need not look at them.
    lowers_only = physics is not None and physics.plan.settings.lowers_only
    floor = threshold if lowers_only and not keep_probability else 0.0
    for strip in iter_probability_strips(
        reader, predictor, tile_size, overlap, progress, is_canceled
    ):
        if physics is not None:
            physics.fuse(strip.row_off, strip.layers, strip.raw, strip.valid, floor)
        mask = classify(strip.layers, strip.valid, predictor.layout, threshold, shadow_threshold)
        yield MaskStrip(strip.row_off, mask, strip)


def _qa_mask_strips(
    qa: QaBand, progress: Progress | None, is_canceled: IsCanceled | None
) -> Iterator[MaskStrip]:
    for strip in iter_qa_strips(qa, progress, is_canceled):
        yield MaskStrip(strip.row_off, strip.mask)


def detect_clouds(
    input_path: str | Path | Scene,
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
    data (:mod:`.classes`); a cloud-only model writes 0, 1, 255 and the cloud shadow
    the geometry finds (``params.shadow``, :mod:`.physics.shadow_stage`). Where planned,
    the scene-relative physics (``params.physics``, :mod:`.physics.stage`) corrects the
    cloud probability first. With ``params.model == "qa"`` the product's own QA band is
    decoded instead of running a network (:mod:`.scene.qa_band`); with ``"physics"``
    Fmask's tests run alone. After a network run on a product with a QA band, the QA
    band's cover is reported beside the mask's, with a warning when they differ strongly.

    Args:
        input_path: multi-band GeoTIFF, Landsat product folder or ``*_MTL.txt``, or
            the :class:`~.scene.opened.Scene` a caller already opened.
        output_path: mask GeoTIFF to write (uint8 codes above).
        params: run parameters; defaults use the bundled weights.
        progress: receives the percentage done (0..100).
        is_canceled: polled between batches; true stops the run, leaving no output.
        log: receives human-readable notes (inferred product level, warnings).
        predictor: an already loaded model to reuse across scenes.
        model: the choice ``predictor`` was loaded for (see
            :func:`~cloud_fcn_plugin.engine.models.choice.choose_model`); made here
            from ``params`` when no predictor is given.

    Returns:
        The run's result with the cover of each class among the valid pixels.

    Raises:
        CloudFcnError: any bad input, with a one-line message that says what to do.
    """
    started = time.perf_counter()
    params = params or DetectionParams()
    log = log or (lambda message: None)
    scene = open_input(input_path)
    if params.model == QA_MODEL and predictor is None:
        return _detect_from_qa(scene, output_path, params, progress, is_canceled, log)
    if params.model == PHYSICS_MODEL and predictor is None:
        return _detect_from_physics(scene, output_path, params, progress, is_canceled, log)
    outputs = _check_outputs(scene, output_path, params)
    if predictor is None:
        model = choose_model(scene, params.model, params.weights, params.product)
        predictor = load_predictor(
            model.path, params.device, params.batch_size, log, also=model.also
        )
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
            scene,
            bands=params.bands,
            product=params.product,
            model_bands=band_numbers(meta.bands),
        ) as reader,
        rasterio.Env(GDAL_CACHEMAX=block_cache_bytes(reader)),
        ExitStack() as stack,
    ):
        for message in reader.messages:
            log(message)
        plan = plan_fusion(scene, reader.product, model.name if model else "file", params.physics)
        physics = (
            stack.enter_context(
                PhysicsStage(scene, plan, params.product, reader, band_numbers(meta.bands))
            )
            if plan
            else None
        )
        notes = [plan.reason] if plan else []
        for note in notes:
            log(note)
        # Before any pixel is read: the memory the strips and tiles need must be free.
        tile_size = fit_scene_tile(
            reader, predictor, tile_size, overlap, block_cache_bytes(reader), log
        )
        stage = ProgressStages(progress, params, outputs)
        strips = _network_mask_strips(
            reader, predictor, tile_size, overlap, (threshold, shadow_threshold),
            stage.tiles, is_canceled, physics, params.probability is not None,
        )  # fmt: skip
        descriptions = tuple(LAYER_DESCRIPTIONS[name] for name in predictor.layout.layers)
        shadow = open_shadow_stage(
            stack, scene, params, reader, band_numbers(meta.bands), physics
        )
        with recording(tile_size_used=tile_size):  # in the mask's tags: it changes the mask
            counts = write_outputs(
                scene, _grid(reader, params), strips, outputs, params, stage,
                is_canceled, descriptions, shadow,
            )  # fmt: skip
        notes += _shadow_notes(shadow, log)
        product, width, height = reader.product, reader.width, reader.height

    messages = [model.reason] if model else []
    messages += [*reader.messages, *notes]
    comparison = _compare_with_qa(scene, counts.mask, log)
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


def _check_outputs(scene: Scene, output_path: str | Path, params: DetectionParams) -> OutputPaths:
    checked = check_outputs(
        scene,
        run_outputs(output_path, params),
        params.overwrite,
    )
    # What an earlier run killed outright (SIGKILL) left beside these outputs; never the
    # files of a run still going (their PID is alive).
    # Never swept, whatever their names: the files the run reads.
    remove_partial_outputs((path for path in checked if path is not None), scene.read_set)
    output, probability_path, masked_image, polygons = checked[:4]
    assert output is not None
    return OutputPaths(output, probability_path, masked_image, polygons)


def _detect_from_qa(
    scene: Scene,
    output_path: str | Path,
    params: DetectionParams,
    progress: Progress | None,
    is_canceled: IsCanceled | None,
    log: Log,
) -> DetectionResult:
    """Decode the product's QA band into the mask (``--model qa``)."""
    started = time.perf_counter()
    qa = scene.require_qa()
    _refuse_probabilities(params, "product QA band")
    outputs = _check_outputs(scene, output_path, params)
    reason = f"Model: the product's QA band ({qa.label}, {qa.path.name})."
    log(reason)
    with rasterio.open(qa.path) as dataset:
        grid = {
            "width": dataset.width, "height": dataset.height, "crs": dataset.crs,
            "transform": dataset.transform, "overwrite": params.overwrite,
        }  # fmt: skip
    if outputs.masked_image is not None:
        _check_qa_grid(scene, qa, grid)
    stage = ProgressStages(progress, params, outputs)
    counts = write_outputs(
        scene, grid, _qa_mask_strips(qa, stage.tiles, is_canceled), outputs,
        params, stage, is_canceled, (),
    )  # fmt: skip
    return _result(
        outputs, counts, params, width=grid["width"], height=grid["height"],
        seconds=time.perf_counter() - started, device="cpu", product=qa.flavour,
        threshold=float("nan"), messages=[reason], model="product QA band", comparison=None,
    )  # fmt: skip


def _detect_from_physics(
    scene: Scene,
    output_path: str | Path,
    params: DetectionParams,
    progress: Progress | None,
    is_canceled: IsCanceled | None,
    log: Log,
) -> DetectionResult:
    """Fmask's scene-relative tests alone, no network (``--model physics``)."""
    started = time.perf_counter()
    _refuse_probabilities(params, "physics-only model")
    outputs = _check_outputs(scene, output_path, params)
    level = scene.info.level if params.product == "auto" else params.product
    plan = plan_physics_only(scene, level)
    reason = (
        "Model: physics only (Fmask's spectral and thermal tests relative to the scene, "
        f"bands {', '.join(f'B{b}' for b in plan.bands)})."
    )
    log(reason)
    with PhysicsStage(scene, plan, params.product) as physics:
        for message in physics.reader.messages:
            log(message)
        stage = ProgressStages(progress, params, outputs)
        strips = (
            MaskStrip(row_off, mask)
            for row_off, mask in physics_mask_strips(physics, stage.tiles, is_canceled)
        )
        with ExitStack() as stack:
            shadow = open_shadow_stage(stack, scene, params)
            counts = write_outputs(
                scene, _grid(physics.reader, params), strips, outputs, params, stage,
                is_canceled, (), shadow,
            )  # fmt: skip
        product, width, height = physics.reader.product, physics.reader.width, physics.reader.height
        messages = [reason, *physics.reader.messages, *_shadow_notes(shadow, log)]
    return _result(
        outputs, counts, params, width=width, height=height,
        seconds=time.perf_counter() - started, device="cpu", product=product,
        threshold=float("nan"), messages=messages, model="physics only", comparison=None,
    )  # fmt: skip


def _shadow_notes(shadow: ShadowStage | None, log: Log) -> list[str]:
    if shadow is None or not shadow.note:
        return []
    log(shadow.note)
    return [shadow.note]


def _refuse_probabilities(params: DetectionParams, model: str) -> None:
    """A model without a network has no probability layer to write."""
    if params.probability is not None:
        raise ParameterError(
            f"The {model} has no probabilities: drop the probability output, or choose a "
            "network model to get one."
        )


def _check_qa_grid(scene: Scene, qa: QaBand, grid: dict) -> None:
    """The masked image stacks the product's bands on the QA band's grid: they must match.

    Raises:
        BandMismatchError: the band files are not on the QA band's grid.
    """
    info = scene.info
    if (info.width, info.height, info.transform) != (
        grid["width"], grid["height"], grid["transform"]
    ):  # fmt: skip
        raise BandMismatchError(
            f"{qa.path.name} ({grid['width']}x{grid['height']}) is not on the grid of the "
            f"product's bands ({info.width}x{info.height}): the masked image needs both on one "
            "grid; replace the files with the product's own, or drop the masked image."
        )


def _compare_with_qa(scene: Scene, mask: ClassCounts, log: Log) -> QaComparison | None:
    """The product QA band's cover beside the mask's, logged; None without a QA band."""
    try:
        qa = scene.qa
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
    outputs: OutputPaths,
    counts: WrittenCounts,
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
        detected_cloud_cover=(detected.cloud_cover if detected.pixels != mask.pixels else None),
        masked_image=outputs.masked_image,
        polygons=outputs.polygons,
        polygon_count=counts.polygons,
        class_pixels=dict(mask.pixels),
        masked_classes=params.mask_classes,
        qa_comparison=comparison,
        **fields,  # type: ignore[arg-type]
    )
