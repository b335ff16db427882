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

    def summary(self) -> str:
        """Return the one-line summary the command line prints."""
        return (
            f"Cloud cover {self.cloud_cover:.2f}% of {self.valid_pixels:,} valid pixels "
            f"({self.width}x{self.height}), {self.seconds:.1f} s on {self.device}, "
            f"product {self.product}, {self.model or 'model'}, threshold {self.threshold:.3f} "
            f"-> {self.output}"
        )


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ParameterError(f"Unknown {what} {value!r}: choose one of {', '.join(choices)}.")
