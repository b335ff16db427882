"""The outputs of one run written from the mask strips, committed together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import (
    NoValidPixelsError,
)
from ..files.atomic import AtomicOutput
from ..inference.decision import ClassCounts
from ..inference.strips import IsCanceled, Progress, Strip
from ..params import DetectionParams
from ..physics.shadow_stage import ShadowStage
from ..scene.opened import Scene
from .masked_image import image_bands, write_masked_image
from .polygons import AtomicPolygonWriter
from .raster import MASK_CLASS_TAGS, MASK_COLORMAP, MASK_NODATA, AtomicRasterWriter
from .refine import refine_mask
from .settings_tag import settings_tags

PROBABILITY_NODATA = {"float32": -1.0, "uint8": 255}


def encode_probability(probability: np.ndarray, valid: np.ndarray, dtype: str) -> np.ndarray:
    """Return probabilities as float32 (0..1) or uint8 percent, with nodata on fill.

    ``probability`` is one layer (rows, cols) or several (L, rows, cols).
    """
    if dtype == "uint8":
        # Clipped first: a value outside 0..1 must never wrap round (300 % as 44).
        encoded = np.rint(np.clip(probability, 0.0, 1.0) * 100.0).astype(np.uint8)
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


@dataclass(frozen=True)
class OutputPaths:
    """The checked output paths of one run."""

    mask: Path
    probability: Path | None
    masked_image: Path | None
    polygons: Path | None


@dataclass(frozen=True)
class WrittenCounts:
    mask: ClassCounts  # the mask written
    detected: ClassCounts  # before sieve and buffer
    polygons: int | None


# Short: QGIS heads the mask's legend with "Band 1: <description>", cut after a few words
# in the Layers panel (issue 18, item 13). The codes are named by the colour table's
# categories and the class tags (MASK_CLASS_TAGS).
_MASK_DESCRIPTION = "cloud mask"


def write_outputs(
    scene: Scene,
    grid: dict,
    strips: Iterator[MaskStrip],
    outputs: OutputPaths,
    params: DetectionParams,
    stage: ProgressStages,
    is_canceled: IsCanceled | None,
    probability_descriptions: tuple[str, ...],
    shadow: ShadowStage | None = None,
) -> WrittenCounts:
    """Stream the mask strips into the output files; commit them only when all went well.

    With a ``shadow`` stage the mask strips are gathered by it and the mask is written
    once the cloud shadow is added (the probabilities still stream).

    Without post-processing the strips go straight into the mask. With a sieve or
    buffer they go into a hidden work mask that :func:`~.refine.refine_mask`
    turns into the mask; the masked image and the polygons are then made from the
    finished mask (see :mod:`.refine` and :mod:`.masked_image`). Post-processing acts on
    the classes of ``params.mask_classes``.
    """
    mask_options = {
        "dtype": "uint8",
        "nodata": MASK_NODATA,
        "colormap": MASK_COLORMAP,
        "description": _MASK_DESCRIPTION,
        "tags": {**MASK_CLASS_TAGS, **settings_tags(params)},
    }
    bands = image_bands(scene) if outputs.masked_image is not None else None
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
            if shadow is None:
                detected.add(strip.mask)
            else:
                network = strip.probabilities
                if network is None:
                    shadow.observe(strip.row_off, strip.mask)
                else:
                    shadow.observe(strip.row_off, strip.mask, network.raw)
            # Only what is written stays alive while the next strip is computed.
            probability = strip.probabilities if len(writers) > 1 else None
            row_off, strip_mask = strip.row_off, None if shadow else strip.mask
            del strip
            if pending is not None:
                pending.result()
            pending = pool.submit(
                _write_strip, writers, row_off, strip_mask, probability, params.probability_dtype
            )
        if pending is not None:
            pending.result()
        pool.shutdown()
        if shadow is not None:
            whole = shadow.finish()
            detected.add(whole)
            raw.write(whole, 0, 0)
        if detected.valid == 0:
            raise NoValidPixelsError(
                f"{scene.name} has no valid pixels (every pixel is fill: 0, NaN or nodata): "
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
                    params.preview, scene, bands=params.bands, product=params.product,
                    overwrite=params.overwrite,
                )
            )  # fmt: skip
            preview.write(mask.temp_path)
            writers.append(preview)
        # Every output is read back and synced before any is renamed: a full disk on the
        # probabilities must not leave a new mask beside the old probabilities.
        for writer in writers:
            writer.finish()
        # The GeoPackage first: the only commit that can fail for another reason than the
        # disk (another program), and it fails before any file was renamed.
        for writer in sorted(writers, key=lambda w: not getattr(w, "commits_first", False)):
            writer.commit()
    return WrittenCounts(final, detected, polygon_count)


class ProgressStages:
    """Splits the progress bar: the tiles first, then equal shares per post-processing step."""

    def __init__(self, progress: Progress | None, params: DetectionParams, outputs: OutputPaths):
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
    mask: np.ndarray | None,
    probability: Strip | None,
    probability_dtype: str,
) -> None:
    if mask is not None:  # None: the shadow stage writes the mask once it is whole
        writers[0].write(mask, row_off, 0)
    if probability is not None:
        encoded = encode_probability(probability.layers, probability.valid, probability_dtype)
        writers[1].write(encoded, row_off, 0)
