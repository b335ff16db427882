"""Build any architecture by its registry name (the name stored in checkpoints)."""

from __future__ import annotations

import inspect
import math

from ..errors import ParameterError
from .base import SegmentationModel
from .cloudnet import CloudNet
from .fcn8s import FCN8s
from .lite import CloudFcnLite
from .pixel_linear import PixelLinear
from .unet import UNet

_REGISTRY: dict[str, type[SegmentationModel]] = {
    "cloudfcn_lite": CloudFcnLite,
    "cloudnet": CloudNet,
    "fcn8s": FCN8s,
    "pixel_linear": PixelLinear,
    "unet": UNet,
}


def available_models() -> list[str]:
    """Return the registry names of every architecture, sorted."""
    return sorted(_REGISTRY)


def _model_class(name: str) -> type[SegmentationModel]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown model {name!r}; choose one of: {', '.join(available_models())}."
        ) from None


def _check_arguments(name: str, width: float, in_channels: int, kwargs: dict) -> None:
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
        raise ParameterError(f"model width must be a finite number, got {width!r}.")
    if width <= 0:
        raise ParameterError(f"model width must be > 0, got {width}; try 0.5, 1.0 or 2.0.")
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ParameterError(f"in_channels must be a positive integer, got {in_channels!r}.")
    outputs = kwargs.get("out_channels", 1)
    if isinstance(outputs, bool) or not isinstance(outputs, int) or not 1 <= outputs <= 8:
        raise ParameterError(
            f"out_channels must be an integer from 1 to 8 (one per class), got {outputs!r}."
        )
    accepted = set(inspect.signature(_REGISTRY[name]).parameters) - {"width", "in_channels"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise ParameterError(
            f"model {name!r} does not take {', '.join(unknown)}; extra arguments: {allowed}."
        )


def build_model(
    name: str, width: float = 1.0, in_channels: int = 4, **kwargs: object
) -> SegmentationModel:
    """Build an untrained model by registry name.

    Args:
        name: one of ``available_models()``.
        width: channel multiplier (> 0); channel counts are rounded, at least 1.
        in_channels: number of input bands (red, green, blue, NIR by default).
        **kwargs: architecture-specific arguments; every architecture takes
            ``out_channels`` (default 1: one cloud logit; several: one logit per class).

    Returns:
        The model in training mode, with ``architecture`` and ``arch_args`` set.

    Raises:
        ParameterError: unknown name, bad width, channels or extra argument.
    """
    cls = _model_class(name)
    _check_arguments(name, width, in_channels, kwargs)
    model = cls(width=float(width), in_channels=in_channels, **kwargs)
    model.architecture = name
    model.arch_args = {"width": float(width), "in_channels": in_channels, **kwargs}
    return model
