"""Which network runs on an input: one of the bundled models, or a file.

Three models are bundled, each reading a band set some products carry:

* ``sixband`` reads B2-B7 (blue to SWIR2), what every Level-1 and Level-2 product
  and most TOA stacks hold, and sees snow and ice by SWIR (plus spectral indices
  computed inside the network);
* ``rgbn`` reads red, green, blue and NIR and runs on any Landsat 8/9 input;
* ``fullband`` reads B2-B7, cirrus B9 and thermal B10 (Level-1 products, L8 Biome
  stacks). It is offered by name only.

The ``ensemble`` runs ``sixband`` and ``rgbn`` together (engine/models/union.py).

``auto`` runs the 4-band model on Level-1 products, the ensemble on Level-2 products
(both with the physics stage, which needs their thermal band), and otherwise the first
model of :data:`AUTO_ORDER` the input supports. The order is
the README's decision ("Accuracy and the bundled models"), taken on the grouped
cross-validation *and* on the whole real scenes, not on a CV difference smaller than
the spread between seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError, UnsupportedDataError
from ..files.resources import resource_path
from ..params import ENSEMBLE, MODEL_CHOICES
from ..scene.bands import FULLBAND_BANDS, MODEL_BANDS, SIXBAND_BANDS, THERMAL_BAND, band_numbers
from ..scene.opened import Scene, open_input
from ..scene.reader import InputInfo
from ..scene.scaling import scaling_for


@dataclass(frozen=True)
class BundledModel:
    """A model shipped in ``resources/weights``.

    Attributes:
        file: checkpoint file name.
        bands: Landsat band numbers it reads, in its order.
        short: short name for summaries and layer names.
        label: what the model reads, for choices and sentences.
    """

    file: str
    bands: tuple[int, ...]
    short: str
    label: str


BUNDLED: dict[str, BundledModel] = {
    "rgbn": BundledModel(
        "cloudfcn_rgbn.safetensors", MODEL_BANDS, "4-band model", "4-band (red, green, blue, NIR)"
    ),
    "sixband": BundledModel(
        "cloudfcn_sixband.safetensors", SIXBAND_BANDS, "6-band model",
        "6-band (B2-B7: blue to SWIR2)",
    ),
    "fullband": BundledModel(
        "cloudfcn_fullband.safetensors", FULLBAND_BANDS, "full-band model",
        "Full-band (B2-B7, cirrus, thermal)",
    ),
}
#: What ``auto`` tries, best first: the first model whose bands the input has runs.
AUTO_ORDER: tuple[str, ...] = ("sixband", "rgbn")
#: Ensembles of bundled models (engine/models/union.py): the base first.
ENSEMBLES: dict[str, tuple[str, ...]] = {ENSEMBLE: ("sixband", "rgbn")}
ENSEMBLE_SHORT = "4-band + 6-band ensemble"
MODEL_LABELS = (
    {"auto": "Automatic (chosen by the input's bands)"}
    | {name: model.label for name, model in BUNDLED.items()}
    | {ENSEMBLE: "4-band + 6-band together (cloud where either finds it)"}
)

__all__ = ["MODEL_CHOICES", "ModelChoice", "choose_model"]


@dataclass(frozen=True)
class ModelChoice:
    """The checkpoint a run uses.

    Attributes:
        name: ``rgbn``, ``fullband`` or ``file``.
        path: the checkpoint.
        bands: Landsat band numbers the checkpoint reads, in its order.
        reason: one sentence saying which model runs and why.
        also: the other members where the choice is an ensemble (``path`` is its base).
    """

    name: str
    path: Path
    bands: tuple[int, ...]
    reason: str
    also: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        """Short name for summaries and layer names: ``4-band model``, or the file's name."""
        if self.name in ENSEMBLES:
            return ENSEMBLE_SHORT
        bundled = BUNDLED.get(self.name)
        return bundled.short if bundled is not None else self.path.name


def bundled_model_path(name: str) -> Path:
    """Path of a bundled checkpoint (``rgbn``, ``sixband`` or ``fullband``)."""
    if name not in BUNDLED:
        raise ParameterError(f"Unknown bundled model {name!r}: choose {', '.join(BUNDLED)}.")
    return resource_path("weights", BUNDLED[name].file)


def checkpoint_bands(path: Path) -> tuple[int, ...]:
    """Landsat band numbers a checkpoint reads (from its metadata, without loading weights)."""
    from .checkpoints import read_metadata

    return band_numbers(read_metadata(path).bands)


def readable(name: str, info: InputInfo, product: str = "auto") -> bool:
    """Whether a bundled model (or every member of an ensemble) can read this input: its
    bands, at a level it scales.

    The levels are the ones :func:`~..scene.scaling.scaling_for` can turn into the model's input
    (the full-band model's thermal band rules out surface reflectance, for instance),
    asked of it rather than repeated here.
    """
    if name in ENSEMBLES:
        return all(readable(member, info, product) for member in ENSEMBLES[name])
    bands = BUNDLED[name].bands
    if not info.has_bands(bands):
        return False
    level = info.level if product == "auto" else product
    try:
        scaling_for(level, bands, info.mtl, dtype=info.dtype)
    except UnsupportedDataError:
        return False
    return True


def _automatic(source: str | Path | Scene | None, product: str) -> tuple[str, str]:
    """The model ``auto`` runs on an input, and why, in words an analyst follows.

    A Level-1 (or TOA) input with its thermal band runs the 4-band model with the
    scene-relative physics (engine/physics/stage.py): on the Biome patches as product
    folders it scored 89.2 pooled cloud Jaccard against the 6-band model's 84.9, with 5
    patches more than 3 points below the 4-band one (docs/physics_eval.md). A Level-2
    product with ST_B10 runs the ensemble: out of fold it beat the 6-band model by 7-8
    points on the Biome patches as Level-2 folders, every seed, and matched or beat it on
    the shared scenes' QA_PIXEL (docs/ensemble_cv.md).
    """
    info = open_input(source).info if source is not None else None
    if info is not None and _thermal_level_one(info, product) and readable("rgbn", info, product):
        return "rgbn", (
            "automatic: the input has its thermal band (B10), so the 4-band model runs with "
            "the scene's own thermal and snow tests, the best measured on Level-1 products"
        )
    if info is not None and _thermal_level_two(info, product) and _bundled(ENSEMBLE, info, product):
        return ENSEMBLE, (
            "automatic: a Level-2 product with its surface temperature (ST_B10), so the 4-band "
            "and 6-band models run together with the scene's own thermal and snow tests, the "
            "best measured on Level-2 products"
        )
    name = next(
        (c for c in AUTO_ORDER if info is not None and _bundled(c, info, product)),
        AUTO_ORDER[-1],
    )
    if name == "sixband":
        return name, "automatic: the input has SWIR1 and SWIR2 (B6, B7), which tell snow from cloud"
    return name, "automatic: the input has no SWIR1 and SWIR2 (B6, B7); red, green, blue, NIR only"


def _thermal_level_one(info: InputInfo, product: str) -> bool:
    level = info.level if product == "auto" else product
    return level in ("l1", "toa") and info.has_bands((THERMAL_BAND,))


def _thermal_level_two(info: InputInfo, product: str) -> bool:
    level = info.level if product == "auto" else product
    return level == "sr" and info.has_bands((THERMAL_BAND,))


def _bundled(name: str, info: InputInfo, product: str) -> bool:
    """Whether ``name`` (a model or an ensemble) reads the input and its weights are here."""
    members = ENSEMBLES.get(name, (name,))
    return readable(name, info, product) and all(bundled_model_path(m).is_file() for m in members)


def choose_model(
    source: str | Path | Scene | None,
    model: str = "auto",
    weights: str | Path | None = None,
    product: str = "auto",
) -> ModelChoice:
    """Decide which checkpoint runs on an input.

    Args:
        source: the input or its opened scene (inspected for its bands when ``model``
            is ``auto``).
        model: ``auto`` or a bundled model's name; ignored when ``weights`` is given.
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
            f"Unknown model {model!r}: choose {', '.join(MODEL_CHOICES)} or a .safetensors file."
        )
    name, why = _automatic(source, product) if model == "auto" else (model, "chosen")
    reason = f"Model: {MODEL_LABELS[name]} ({why})."
    if name in ENSEMBLES:
        base, *others = ENSEMBLES[name]
        paths = tuple(bundled_model_path(member) for member in others)
        return ModelChoice(name, bundled_model_path(base), BUNDLED[base].bands, reason, paths)
    return ModelChoice(name, bundled_model_path(name), BUNDLED[name].bands, reason)
