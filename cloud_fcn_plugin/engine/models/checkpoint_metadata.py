"""What a checkpoint says about itself (bands, statistics, classes, architecture), validated."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch

from ..classes import CLOUD_ONLY, validate_channel_classes
from ..errors import ParameterError, WeightsError, shown
from ..params import MAX_TILE_SIZE
from ..scene.bands import LANDSAT_BAND_NAMES, THERMAL_BAND, band_number_from_text
from . import build_model

METADATA_KEY = "cloud_fcn"


FORMAT_VERSION = 1


DEFAULT_BANDS = ("red", "green", "blue", "nir")


#: Bounds on what a checkpoint header may ask for, checked before anything is built: a
#: header is data from anywhere, and ``width`` 1000 once allocated 13.8 GB. The largest
#: model in use (``cloudnet``, width 1) has 36 million parameters.
MAX_WIDTH = 4.0


MAX_IN_CHANNELS = 16


MAX_PARAMETERS = 200_000_000


#: What normalisation statistics a trained model can have, per kind of band: reflectance
#: (means 0.04-0.46, stds 0.06-0.31 in the bundled models) and brightness temperature
#: in kelvin (272 and 23). A std of 1e-30 or a mean of 1e30 saturates every pixel.
_STATISTICS = {
    "reflectance": {"mean": (-1.0, 2.0), "min_std": 1e-3, "max_std": 10.0},
    "temperature": {"mean": (150.0, 400.0), "min_std": 1e-2, "max_std": 100.0},
}


#: The panchromatic band is on a 15 m grid, the others on 30 m: no model reads it.
_UNREADABLE_BANDS = {8}


@dataclass(frozen=True)
class CheckpointMetadata:
    """Everything needed to rebuild a model and run it as it was trained.

    Attributes:
        architecture: registry name, see ``available_models()``.
        arch_args: ``build_model`` arguments, e.g. ``{"width": 1.0, "in_channels": 4}``.
        bands: band names in the order the model expects them.
        mean: per-band mean applied to reflectance: ``(x - mean) / std``.
        std: per-band standard deviation (> 0).
        threshold: calibrated default decision threshold on the probability.
        tile_size: default tile size in pixels.
        overlap: default tile overlap in pixels.
        provenance: how it was made (command, data, date, git commit, epochs...).
        metrics: validation metrics.
        format_version: version of this metadata layout.
        classes: the model's output channels, in order (``engine.classes``):
            ``("cloud",)`` for one sigmoid channel (what checkpoints without the field
            hold), or softmaxed channels such as
            ``("clear", "thick_cloud", "thin_cloud", "cloud_shadow")``.
        shadow_threshold: decision threshold on the shadow probability, in (0, 1).
    """

    architecture: str
    arch_args: dict = field(default_factory=dict)
    bands: tuple[str, ...] = DEFAULT_BANDS
    mean: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    threshold: float = 0.5
    tile_size: int = 384
    overlap: int = 32
    provenance: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    classes: tuple[str, ...] = CLOUD_ONLY
    shadow_threshold: float = 0.5

    def __post_init__(self) -> None:
        # Normalise JSON lists to tuples and ints to floats so equality is by value.
        set_ = object.__setattr__
        set_(self, "bands", tuple(self.bands))
        set_(self, "classes", validate_channel_classes(self.classes))
        set_(self, "mean", _float_tuple("mean", self.mean))
        set_(self, "std", _float_tuple("std", self.std))
        for name in ("arch_args", "provenance", "metrics"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise ParameterError(f"{name} must be a JSON object, got {shown(value)}.")
            set_(self, name, dict(value))
        _validate(self)

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (tuples become lists)."""
        data = asdict(self)
        for key in ("bands", "mean", "std", "classes"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> CheckpointMetadata:
        """Build and validate metadata read from a checkpoint.

        Raises:
            WeightsError: a field is missing, unknown or invalid.
        """
        if not isinstance(data, Mapping):
            raise WeightsError("checkpoint metadata is not a JSON object; re-save the checkpoint.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"sha256"})
        if unknown:
            raise WeightsError(
                f"checkpoint metadata has unknown field(s) {', '.join(unknown)}; "
                "it was written by another version: update the plugin or re-save it."
            )
        missing = sorted({"architecture", "arch_args"} - set(data))
        if missing:
            raise WeightsError(
                f"checkpoint metadata lacks {', '.join(missing)}; re-save the checkpoint."
            )
        version = data.get("format_version", FORMAT_VERSION)
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise WeightsError(
                f"checkpoint format version {version} is newer than {FORMAT_VERSION}; "
                "update the plugin."
            )
        try:
            return cls(**{key: data[key] for key in known if key in data})
        except (ParameterError, TypeError, ValueError) as exc:
            raise WeightsError(f"invalid checkpoint metadata: {exc}") from None


def _float_tuple(name: str, values: Iterable[Any]) -> tuple[float, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ParameterError(f"{name} must be a list of numbers, got {shown(values)}.")
    values = tuple(values)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ParameterError(f"{name} must be a list of numbers, got {shown(list(values))}.")
    return tuple(float(v) for v in values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(meta: CheckpointMetadata) -> None:
    """Raise ParameterError with a one-line fix for the first invalid field."""
    if not isinstance(meta.architecture, str) or not meta.architecture:
        raise ParameterError("architecture must be a registry name, e.g. 'cloudfcn_lite'.")
    if not meta.bands or not all(isinstance(b, str) and b for b in meta.bands):
        raise ParameterError(f"bands must be non-empty band names, got {shown(meta.bands)}.")
    for name in ("mean", "std"):
        values = getattr(meta, name)
        if len(values) != len(meta.bands):
            raise ParameterError(
                f"{name} has {len(values)} values for {len(meta.bands)} bands; give one per band."
            )
        if not all(math.isfinite(v) for v in values):
            raise ParameterError(f"{name} must be finite, got {list(values)}.")
    if not all(v > 0 for v in meta.std):
        raise ParameterError(f"std must be > 0 for every band, got {list(meta.std)}.")
    _validate_bands(meta.bands)
    _validate_statistics(meta)
    if isinstance(meta.threshold, bool) or not isinstance(meta.threshold, int | float):
        raise ParameterError(f"threshold must be a number, got {shown(meta.threshold)}.")
    if not 0.0 <= meta.threshold <= 1.0:
        raise ParameterError(f"threshold must be within [0, 1], got {meta.threshold}.")
    if not 0.0 < meta.threshold < 1.0:
        # 0 calls every pixel cloud and 1 none: no calibration gives either.
        raise ParameterError(
            f"threshold must be strictly inside (0, 1), got {meta.threshold}: no calibrated "
            "model has it; re-save the checkpoint with its calibrated threshold."
        )
    if not _is_int(meta.tile_size) or meta.tile_size < 1:
        raise ParameterError(f"tile_size must be a positive integer, got {shown(meta.tile_size)}.")
    if meta.tile_size > MAX_TILE_SIZE:
        raise ParameterError(
            f"tile_size {shown(meta.tile_size)} exceeds {MAX_TILE_SIZE} pixels; re-save the "
            "checkpoint with a smaller tile_size."
        )
    _validate_shadow_threshold(meta.shadow_threshold)
    _validate_arch_args(meta)
    if not _is_int(meta.overlap) or not 0 <= meta.overlap < meta.tile_size:
        raise ParameterError(
            f"overlap must be an integer in [0, tile_size), got {shown(meta.overlap)}."
        )
    if not _is_int(meta.format_version) or meta.format_version < 1:
        raise ParameterError(
            f"format_version must be a positive integer, not {shown(meta.format_version)}."
        )
    try:
        json.dumps(meta.to_json_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"metadata must be plain JSON (no NaN, no objects): {exc}") from None


def _validate_bands(bands: tuple[str, ...]) -> None:
    """Each band a Landsat 8 band a model can read, none twice."""
    numbers = [band_number_from_text(name) for name in bands]
    for name, number in zip(bands, numbers, strict=True):
        if number is None:
            raise ParameterError(
                f"bands {list(bands)}: {shown(name)} is not a Landsat 8 band; the file names bands "
                f"no input has: use names such as {', '.join(LANDSAT_BAND_NAMES.values())}."
            )
        if number in _UNREADABLE_BANDS:
            raise ParameterError(
                f"bands {list(bands)} name {name} (B{number}), which no model can read (it is "
                "on the 15 m grid, the others on 30 m): the file is not a model of this plugin."
            )
    pairs = zip(bands, numbers, strict=True)
    repeated = sorted({name for name, number in pairs if numbers.count(number) > 1})
    if repeated:
        raise ParameterError(
            f"bands {list(bands)} names {', '.join(repeated)} more than once; a model reads "
            "each band once: re-save the checkpoint with the bands it was trained on."
        )


def _validate_statistics(meta: CheckpointMetadata) -> None:
    """Means and stds a trained model can have: reflectance, or kelvin for thermal bands."""
    for name, mean, std in zip(meta.bands, meta.mean, meta.std, strict=True):
        thermal = band_number_from_text(name) in (THERMAL_BAND, THERMAL_BAND + 1)
        kind = "temperature" if thermal else "reflectance"
        bounds = _STATISTICS[kind]
        low, high = bounds["mean"]
        if not low <= mean <= high:
            unit = " K" if thermal else ""
            raise ParameterError(
                f"mean {mean:g} of {name} is not a {kind} ({low:g} to {high:g}{unit}); "
                "the statistics are wrong: re-save the checkpoint with the training data's."
            )
        if not bounds["min_std"] <= std <= bounds["max_std"]:
            side = "below" if std < bounds["min_std"] else "above"
            limit = bounds["min_std"] if side == "below" else bounds["max_std"]
            raise ParameterError(
                f"std {std:g} of {name} is {side} {limit:g}, which no trained model has; "
                "re-save the checkpoint with the training data's statistics."
            )


def _validate_shadow_threshold(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"shadow_threshold must be a number, got {shown(value)}.")
    if not 0.0 < value < 1.0:
        raise ParameterError(f"shadow_threshold must be within (0, 1), got {value}.")


def _validate_arch_args(meta: CheckpointMetadata) -> None:
    """Bound the architecture arguments a header asks for before any model is built."""
    args = meta.arch_args
    width = args.get("width", 1.0)
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
        raise ParameterError(f"arch_args width must be a finite number, got {shown(width)}.")
    if not 0 < width <= MAX_WIDTH:
        raise ParameterError(
            f"arch_args width {width} is outside (0, {MAX_WIDTH:g}]; re-save the checkpoint "
            "with the width the model was trained with."
        )
    channels = args.get("in_channels", len(meta.bands))
    if not _is_int(channels) or channels != len(meta.bands) or channels > MAX_IN_CHANNELS:
        raise ParameterError(
            f"arch_args in_channels {shown(channels)} must equal the {len(meta.bands)} bands "
            f"(at most {MAX_IN_CHANNELS}); re-save the checkpoint."
        )
    outputs = args.get("out_channels", 1)
    if not _is_int(outputs) or outputs != len(meta.classes):
        raise ParameterError(
            f"arch_args out_channels {shown(outputs)} must equal the {len(meta.classes)} classes "
            f"{list(meta.classes)}; re-save the checkpoint with one channel per class."
        )
    for key, value in args.items():
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (not math.isfinite(value) or abs(value) > 1024)
        ):
            raise ParameterError(f"arch_args {key} = {value} is out of bounds; re-save it.")


def _check_model_size(meta: CheckpointMetadata, name: str) -> None:
    """Build the architecture on the meta device and count its parameters.

    The meta device allocates nothing, so a header asking for billions of parameters
    is refused before a byte is spent on it.
    """
    try:
        with torch.device("meta"):
            skeleton = build_model(meta.architecture, **meta.arch_args)
    except (ParameterError, TypeError, ValueError) as exc:
        raise WeightsError(f"{name}: bad arch_args: {exc}") from None
    parameters = sum(p.numel() for p in skeleton.parameters())
    if parameters > MAX_PARAMETERS:
        raise WeightsError(
            f"{name}: {meta.architecture} {meta.arch_args} has {parameters:,} parameters, more "
            f"than the {MAX_PARAMETERS:,} allowed; the header is wrong: re-save or re-train."
        )
