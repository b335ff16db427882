"""Which network runs on an input: the 4-band model, the full-band model, or a file.

Two models are bundled: ``rgbn`` reads red, green, blue and NIR and runs on any
Landsat 8/9 input; ``fullband`` reads B2-B7 and cirrus B9 as reflectance and
thermal B10 as brightness temperature, which a Level-1 product folder, its MTL, or
a stack whose band descriptions name those bands (the L8 Biome layout) provides.

``auto`` takes the full-band model only where it can run *and* its cross-validated
pooled Jaccard on the L8 Biome patches, recorded in its checkpoint, beats the
4-band model's on the same folds; otherwise the 4-band model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bands import FULLBAND_BANDS, MODEL_BANDS, band_numbers, scaling_for
from .errors import ParameterError, UnsupportedDataError
from .params import MODEL_CHOICES
from .raster_io import InputInfo, inspect_input
from .resources import resource_path

MODEL_LABELS = {
    "auto": "Automatic (full-band where it helps)",
    "rgbn": "4-band (red, green, blue, NIR)",
    "fullband": "Full-band (B2-B7, cirrus, thermal)",
}
_SHORT_LABELS = {"rgbn": "4-band model", "fullband": "full-band model"}
_BUNDLED_FILES = {"rgbn": "cloudfcn_rgbn.safetensors", "fullband": "cloudfcn_fullband.safetensors"}


__all__ = ["MODEL_CHOICES", "ModelChoice", "choose_model"]


@dataclass(frozen=True)
class ModelChoice:
    """The checkpoint a run uses.

    Attributes:
        name: ``rgbn``, ``fullband`` or ``file``.
        path: the checkpoint.
        bands: Landsat band numbers the checkpoint reads, in its order.
        reason: one sentence saying which model runs and why.
    """

    name: str
    path: Path
    bands: tuple[int, ...]
    reason: str

    @property
    def label(self) -> str:
        """Short name for summaries and layer names: ``4-band model``, or the file's name."""
        return _SHORT_LABELS.get(self.name) or self.path.name


def bundled_model_path(name: str) -> Path:
    """Path of a bundled checkpoint (``rgbn`` or ``fullband``)."""
    if name not in _BUNDLED_FILES:
        raise ParameterError(f"Unknown bundled model {name!r}: choose rgbn or fullband.")
    return resource_path("weights", _BUNDLED_FILES[name])


def checkpoint_bands(path: Path) -> tuple[int, ...]:
    """Landsat band numbers a checkpoint reads (from its metadata, without loading weights)."""
    from .weights import read_metadata

    return band_numbers(read_metadata(path).bands)


@functools.cache
def _cv_jaccard(path: Path) -> float:
    """Cross-validated pooled Jaccard on the L8 Biome patches recorded in a checkpoint."""
    from .weights import read_metadata

    try:
        cv = read_metadata(path).metrics["cross_validation"]["at_oof"]["pooled_biome"]
        return float(cv["jaccard"])
    except (KeyError, TypeError, ValueError):
        return float("nan")


def fullband_preferred() -> bool:
    """Whether the bundled full-band model beat the 4-band one under cross-validation."""
    path = bundled_model_path("fullband")
    if not path.is_file():
        return False
    fullband, rgbn = _cv_jaccard(path), _cv_jaccard(bundled_model_path("rgbn"))
    return bool(np.isfinite(fullband) and (not np.isfinite(rgbn) or fullband > rgbn))


def fullband_readable(info: InputInfo, product: str = "auto") -> bool:
    """Whether the full-band model can read this input: its bands, at a level it scales.

    The levels are the ones :func:`~.bands.scaling_for` can turn into the model's input
    (Level-1 DN, floating-point TOA), asked of it rather than repeated here.
    """
    if not info.has_bands(FULLBAND_BANDS):
        return False
    level = info.level if product == "auto" else product
    try:
        scaling_for(level, FULLBAND_BANDS, info.mtl, dtype=info.dtype)
    except UnsupportedDataError:
        return False
    return True


def choose_model(
    input_path: str | Path | None,
    model: str = "auto",
    weights: str | Path | None = None,
    product: str = "auto",
) -> ModelChoice:
    """Decide which checkpoint runs on ``input_path``.

    Args:
        input_path: the input (inspected for its bands when ``model`` is ``auto``).
        model: ``auto``, ``rgbn`` or ``fullband``; ignored when ``weights`` is given.
        weights: a checkpoint file chosen by the user.
        product: the product level the run uses (``auto`` to infer it).

    Raises:
        ParameterError: unknown choice.
        WeightsError: the checkpoint's metadata is unreadable.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        return ModelChoice("file", path, checkpoint_bands(path), f"Model: {path.name} (chosen).")
    if model not in MODEL_CHOICES:
        raise ParameterError(
            f"Unknown model {model!r}: choose auto, rgbn, fullband or a .safetensors file."
        )
    name = model
    why = "chosen"
    if model == "auto":
        readable = input_path is not None and fullband_readable(inspect_input(input_path), product)
        name = "fullband" if readable and fullband_preferred() else "rgbn"
        why = (
            "automatic: the input has B2-B7, B9 and B10"
            if name == "fullband"
            else "automatic: "
            + (
                "the 4-band model scored better under cross-validation"
                if readable
                else "the input lacks the full-band model's B6, B7, B9 or B10"
            )
        )
    path = bundled_model_path(name)
    bands = MODEL_BANDS if name == "rgbn" else FULLBAND_BANDS
    return ModelChoice(name, path, bands, f"Model: {MODEL_LABELS[name]} ({why}).")
