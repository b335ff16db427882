"""How a run and its layers are named: the run's label, the mask's name, the temporary mark."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..translation import tr
from .engine_text import translate_engine


def temporary_suffix() -> str:
    """``[temporary]`` in the user's language."""
    return tr("[temporary]")


def run_label(
    model: str | None,
    threshold: float | None,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """The short label of a run: model, threshold, and sieve and buffer where set."""
    settings = settings or {}
    model = translate_engine(model) if model else model
    parts = [part for part in (model, None if _no_threshold(threshold) else f"{threshold:.3f}")
             if part]
    if settings.get("min_size"):
        parts.append(tr("sieve {pixels} px").format(pixels=int(settings["min_size"])))
    if settings.get("buffer"):
        parts.append(tr("buffer {pixels} px").format(pixels=int(settings["buffer"])))
    return ", ".join(parts)


def mask_layer_name(
    source_name: str,
    model: str | None = None,
    threshold: float | None = None,
    *,
    temporary: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """Name the mask after its source, the model, threshold, sieve and buffer that made it.

    Two runs with other settings give two names (identical reruns are numbered where
    they are placed, :mod:`.run_group`); a temporary mask says so, as it is lost when
    QGIS exits.
    """
    details = run_label(model, threshold, settings)
    name = tr("{name} clouds").format(name=source_name)
    if details:
        name += f" ({details})"
    if temporary:
        name += f" {temporary_suffix()}"
    return name


def _no_threshold(threshold: float | None) -> bool:
    """No threshold applies: none given, or NaN (the product QA band is decoded as it is)."""
    return threshold is None or threshold != threshold
