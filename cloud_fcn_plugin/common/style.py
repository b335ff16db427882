"""Styling and naming of cloud mask layers."""

from __future__ import annotations

from pathlib import Path

from ..engine.resources import resource_path


def mask_style_path() -> Path:
    """Return the QML style shipped for cloud masks."""
    return resource_path("styles", "cloud_mask.qml")


def style_mask_layer(layer) -> bool:
    """Apply the shipped cloud mask style to ``layer``; return whether it was applied."""
    message, ok = layer.loadNamedStyle(str(mask_style_path()))
    if ok:
        layer.triggerRepaint()
    return bool(ok)


def mask_layer_name(source_name: str) -> str:
    """Name the mask after the layer it was computed from."""
    return f"{source_name} clouds"
