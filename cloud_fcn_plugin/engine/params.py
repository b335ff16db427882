"""The parameters and result of one cloud detection run.

Both front ends (dock panel, Processing algorithm) and the scripts build one
``DetectionParams`` and hand it to :func:`cloud_fcn_plugin.engine.pipeline.detect_clouds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classes import CLOUD_SHADOW, CODE_NAMES, DEFAULT_MASKED_CODES, describe_codes
from .classes import parse_mask_classes as _parse_mask_classes
from .errors import ParameterError

#: The callbacks of a run: progress in percent (0..100), and whether to stop now.
Progress = Callable[[float], None]
IsCanceled = Callable[[], bool]

PRODUCT_LEVELS = ("auto", "l1", "toa", "sr")
#: The "model" that decodes the product's own QA band instead of running a network.
QA_MODEL = "qa"
#: The "model" that runs Fmask's scene-relative tests alone (engine/physics), no network.
PHYSICS_MODEL = "physics"
#: The 4-band and 6-band models together, cloud where either finds it (engine/models/union.py).
ENSEMBLE = "ensemble"
#: Bundled models (``engine.models.choice`` picks among them), the product QA band and
#: the physics alone. New entries go last: Processing stores the index.
MODEL_CHOICES = ("auto", "rgbn", "fullband", QA_MODEL, "sixband", PHYSICS_MODEL, ENSEMBLE)
#: The physics stage beside a network: ``auto`` where it was measured to help (the
#: model and input kind of engine/physics/stage.py), ``on`` for any model, ``off``.
PHYSICS_CHOICES = ("auto", "on", "off")
#: Cloud shadow: ``auto`` and ``geometry`` (the geometry, for every model: measured best
#: out of fold), ``network`` (the model's own shadow class, none for a cloud-only model).
#: See engine/physics/shadow_stage.py.
SHADOW_CHOICES = ("auto", "geometry", "network")
DEVICES = ("auto", "cpu", "cuda", "mps")
PROBABILITY_DTYPES = ("float32", "uint8")
#: Tile edges allowed, in pixels. Memory grows with the square of the tile (a 100,000 px
#: tile on a 4,096 px scene took 3.3 GB instead of 0.7); 2,048 px is four times the
#: bundled model's tile and still fits a CPU's RAM with the largest architecture.
MIN_TILE_SIZE, MAX_TILE_SIZE = 32, 2048
#: Largest cloud buffer, in pixels (15 km at 30 m): more would mask whole scenes.
MAX_BUFFER = 500
#: Largest minimum cloud size, in pixels: GDAL's sieve takes a C int.
MAX_MIN_SIZE = 2**31 - 1
#: The GeoPackage layer of the cloud polygons unless another is given.
POLYGON_LAYER = "clouds"


@dataclass(frozen=True)
class DetectionParams:
    """Everything that decides how a scene is turned into a cloud mask.

    Attributes:
        bands: 1-based band indices of red, green, blue and NIR in a multi-band
            raster, or ``None`` to guess them (B2-B5 order for a 4-band stack).
            Ignored for Landsat product folders, whose band files are found by name.
        product: ``auto``, ``l1`` (Level-1 DN), ``toa`` or ``sr`` (Level-2).
        threshold: probability above which a pixel is cloud; ``None`` takes the
            calibrated threshold stored with the weights.
        weights: checkpoint path; ``None`` takes a bundled model (see ``model``).
        model: bundled model when no ``weights`` are given: ``auto`` (the 6-band
            model where the input has B2-B7, else the 4-band one; see
            ``engine.models.choice``), ``rgbn``, ``sixband``, ``fullband``, ``qa``:
            decode the product's own QA band (``QA_PIXEL`` or ``BQA``) instead of
            running a network, or ``physics``: Fmask's scene-relative tests alone.
        physics: the scene-relative physics beside the network (see
            ``PHYSICS_CHOICES``): ``auto``, ``on`` or ``off``.
        shadow: how cloud shadow is found (see ``SHADOW_CHOICES``): ``auto``,
            ``geometry`` or ``network``.
        tile_size: tile edge in pixels; ``None`` takes the checkpoint's.
        overlap: pixels shared by neighbouring tiles; ``None`` takes the checkpoint's.
        batch_size: tiles per forward pass.
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda`` or ``mps``.
        probability: optional path of a cloud probability raster.
        probability_dtype: ``float32`` (0..1) or ``uint8`` (percent, 255 nodata).
        overwrite: replace existing outputs instead of refusing.
        buffer: grow the masked classes by this many pixels (every valid pixel within
            this Euclidean distance takes the class of the nearest masked pixel); 0
            leaves them as detected.
        min_size: drop patches (4-connected) of the masked classes of fewer pixels than
            this before the buffer is applied (they become clear); 0 or 1 keeps every patch.
        masked_image: optional GeoTIFF path: the input with cloud (after sieve and
            buffer) and fill pixels set to nodata.
        polygons: optional GeoPackage path: the clouds (after sieve and buffer) as
            polygons with their area, in the input's CRS.
        mask_classes: mask codes the buffer, the sieve, the masked image and the
            polygons act on (1 thick cloud, 2 thin cloud, 3 cloud shadow); all three
            by default.
        shadow_threshold: probability above which a pixel is cloud shadow (models
            with a shadow class); ``None`` takes the checkpoint's.
        polygons_layer: the GeoPackage layer of the polygons; other layers of an
            existing GeoPackage are kept.
        preview: optional PNG path: a true-colour quick-look with the clouds outlined,
            written and committed with the other outputs.
    """

    bands: tuple[int, int, int, int] | None = None
    product: str = "auto"
    threshold: float | None = None
    weights: Path | None = None
    model: str = "auto"
    tile_size: int | None = None
    overlap: int | None = None
    batch_size: int = 4
    device: str = "auto"
    probability: Path | None = None
    probability_dtype: str = "float32"
    overwrite: bool = False
    buffer: int = 0
    min_size: int = 0
    masked_image: Path | None = None
    polygons: Path | None = None
    mask_classes: tuple[int, ...] = DEFAULT_MASKED_CODES
    shadow_threshold: float | None = None
    polygons_layer: str = POLYGON_LAYER
    preview: Path | None = None
    physics: str = "auto"
    shadow: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask_classes", _parse_mask_classes(self.mask_classes))
        if self.shadow_threshold is not None and not 0.0 < self.shadow_threshold < 1.0:
            raise ParameterError(
                f"Shadow threshold must lie strictly between 0 and 1, got {self.shadow_threshold}."
            )
        if self.bands is not None and (len(self.bands) != 4 or min(self.bands) < 1):
            raise ParameterError(
                f"Bands must be four 1-based indices (red, green, blue, NIR), got {self.bands}."
            )
        if self.bands is not None and len(set(self.bands)) != 4:
            raise ParameterError(
                f"Bands {tuple(self.bands)} name one band twice: red, green, blue and NIR are "
                "four different bands; pass four different indices."
            )
        _check_choice("product level", self.product, PRODUCT_LEVELS)
        _check_choice("device", self.device, DEVICES)
        _check_choice("model", self.model, MODEL_CHOICES)
        _check_choice("physics", self.physics, PHYSICS_CHOICES)
        _check_choice("shadow", self.shadow, SHADOW_CHOICES)
        _check_choice("probability data type", self.probability_dtype, PROBABILITY_DTYPES)
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ParameterError(
                f"Threshold must lie strictly between 0 and 1, got {self.threshold}."
            )
        if self.tile_size is not None and not MIN_TILE_SIZE <= self.tile_size <= MAX_TILE_SIZE:
            raise ParameterError(
                f"Tile size must be {MIN_TILE_SIZE} to {MAX_TILE_SIZE} pixels, got "
                f"{self.tile_size}: larger tiles only cost memory; try 512."
            )
        if self.overlap is not None and self.overlap < 0:
            raise ParameterError(f"Overlap must be zero or more pixels, got {self.overlap}.")
        if (
            self.tile_size is not None
            and self.overlap is not None
            and (2 * self.overlap >= self.tile_size)
        ):
            raise ParameterError(
                f"Overlap {self.overlap} is too large for tile size {self.tile_size}: "
                "use less than half the tile size."
            )
        if self.batch_size < 1:
            raise ParameterError(f"Batch size must be at least 1, got {self.batch_size}.")
        if not isinstance(self.buffer, int) or not 0 <= self.buffer <= MAX_BUFFER:
            raise ParameterError(
                f"Buffer must be a whole number of pixels from 0 to {MAX_BUFFER}, got "
                f"{self.buffer!r}: 0 keeps the clouds as detected, 2 or 3 covers their edges."
            )
        if not isinstance(self.min_size, int) or not 0 <= self.min_size <= MAX_MIN_SIZE:
            raise ParameterError(
                f"Minimum cloud size must be a whole number of pixels, 0 or more and at most "
                f"{MAX_MIN_SIZE:,}, got {self.min_size!r}: 0 keeps every cloud patch."
            )

    @property
    def refines_mask(self) -> bool:
        """Whether the mask is sieved or buffered after thresholding."""
        return self.buffer > 0 or self.min_size > 1


@dataclass
class DetectionResult:
    """What a finished run produced and measured."""

    output: Path
    probability: Path | None
    cloud_cover: float
    valid_pixels: int
    cloud_pixels: int
    width: int
    height: int
    seconds: float
    device: str
    product: str
    threshold: float
    messages: list[str] = field(default_factory=list)
    model: str = ""
    #: Cloud cover as the network found it, before sieve and buffer; None when the
    #: mask was not refined (``cloud_cover`` is always that of the mask written).
    detected_cloud_cover: float | None = None
    masked_image: Path | None = None
    polygons: Path | None = None
    #: Cloud polygons written to ``polygons``.
    polygon_count: int | None = None
    #: Pixels of each mask code (0 clear, 1 thick, 2 thin, 3 shadow) in the mask written.
    class_pixels: dict[int, int] = field(default_factory=dict)
    #: The codes the buffer, sieve, masked image and polygons acted on.
    masked_classes: tuple[int, ...] = DEFAULT_MASKED_CODES
    #: The product QA band's cover beside the mask's (a ``qa_band.QaComparison``), None
    #: when the input has no QA band or the mask is the QA band.
    qa_comparison: Any = None

    @property
    def shadow_cover(self) -> float:
        """Cloud shadow, percent of the valid pixels."""
        return self.class_cover(CLOUD_SHADOW)

    def class_cover(self, code: int) -> float:
        """Percent of the valid pixels holding ``code``."""
        if not self.valid_pixels:
            return 0.0
        return 100.0 * self.class_pixels.get(code, 0) / self.valid_pixels

    def class_covers(self) -> dict[str, float]:
        """Class name -> percent of the valid pixels, for every class."""
        return {name: self.class_cover(code) for code, name in CODE_NAMES.items()}

    def class_summary(self) -> str:
        """``"clear 80.1 %, thick cloud 15.0 %, thin cloud 2.9 %, cloud shadow 2.0 %"``."""
        return ", ".join(f"{name} {value:.1f} %" for name, value in self.class_covers().items())

    def _threshold_words(self) -> str:
        # NaN: the product QA band, decoded as it is.
        if self.threshold != self.threshold:
            return "no threshold"
        return f"threshold {self.threshold:.3f}"

    def summary(self) -> str:
        """Return the one-line summary the command line prints."""
        detected = (
            f" ({self.detected_cloud_cover:.2f}% before sieve and buffer)"
            if self.detected_cloud_cover is not None
            else ""
        )
        extra = "".join(
            f", {what} -> {path}"
            for what, path in (("masked image", self.masked_image), ("polygons", self.polygons))
            if path is not None
        )
        if extra and set(self.masked_classes) != set(DEFAULT_MASKED_CODES):
            extra += f" (masking {describe_codes(self.masked_classes)})"
        return (
            f"Cloud cover {self.cloud_cover:.2f}%{detected}, shadow {self.shadow_cover:.2f}% "
            f"of {self.valid_pixels:,} valid pixels ({self.width}x{self.height}; "
            f"{self.class_summary()}), {self.seconds:.1f} s on {self.device}, "
            f"product {self.product}, {self.model or 'model'}, {self._threshold_words()} "
            f"-> {self.output}{extra}"
        )


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ParameterError(f"Unknown {what} {value!r}: choose one of {', '.join(choices)}.")
