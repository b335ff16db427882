"""The parameters and result of one cloud detection run.

Both front ends (dock panel, Processing algorithm) and the scripts build one
``DetectionParams`` and hand it to :func:`cloud_fcn_plugin.engine.pipeline.detect_clouds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ParameterError

PRODUCT_LEVELS = ("auto", "l1", "toa", "sr")
#: Bundled models (``engine.model_choice`` picks among them).
MODEL_CHOICES = ("auto", "rgbn", "fullband")
DEVICES = ("auto", "cpu", "cuda", "mps")
PROBABILITY_DTYPES = ("float32", "uint8")
#: Tile edges allowed, in pixels. Memory grows with the square of the tile (a 100,000 px
#: tile on a 4,096 px scene took 3.3 GB instead of 0.7); 2,048 px is four times the
#: bundled model's tile and still fits a CPU's RAM with the largest architecture.
MIN_TILE_SIZE, MAX_TILE_SIZE = 32, 2048
#: Largest cloud buffer, in pixels (15 km at 30 m): more would mask whole scenes.
MAX_BUFFER = 500


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
        model: bundled model when no ``weights`` are given: ``auto`` (the full-band
            model where the input has its bands and it scored better, else the
            4-band one), ``rgbn`` or ``fullband``.
        tile_size: tile edge in pixels; ``None`` takes the checkpoint's.
        overlap: pixels shared by neighbouring tiles; ``None`` takes the checkpoint's.
        batch_size: tiles per forward pass.
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda`` or ``mps``.
        probability: optional path of a cloud probability raster.
        probability_dtype: ``float32`` (0..1) or ``uint8`` (percent, 255 nodata).
        overwrite: replace existing outputs instead of refusing.
        buffer: grow the clouds by this many pixels (every valid pixel within this
            Euclidean distance of a cloud pixel becomes cloud); 0 leaves them as detected.
        min_size: drop cloud patches (4-connected) of fewer pixels than this before the
            buffer is applied; 0 or 1 keeps every patch.
        masked_image: optional GeoTIFF path: the input with cloud (after sieve and
            buffer) and fill pixels set to nodata.
        polygons: optional GeoPackage path: the clouds (after sieve and buffer) as
            polygons with their area, in the input's CRS.
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

    def __post_init__(self) -> None:
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
        if not isinstance(self.min_size, int) or self.min_size < 0:
            raise ParameterError(
                f"Minimum cloud size must be a whole number of pixels, 0 or more, got "
                f"{self.min_size!r}: 0 keeps every cloud patch."
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
        return (
            f"Cloud cover {self.cloud_cover:.2f}%{detected} of {self.valid_pixels:,} valid "
            f"pixels ({self.width}x{self.height}), {self.seconds:.1f} s on {self.device}, "
            f"product {self.product}, {self.model or 'model'}, threshold {self.threshold:.3f} "
            f"-> {self.output}{extra}"
        )


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ParameterError(f"Unknown {what} {value!r}: choose one of {', '.join(choices)}.")
