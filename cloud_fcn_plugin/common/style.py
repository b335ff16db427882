"""Styling, naming and describing cloud mask layers."""

from __future__ import annotations

from pathlib import Path

from ..engine.resources import resource_path
from .choices import MASK_VALUES_HELP

#: What QGIS users read after a temporary output's name: it is gone when QGIS exits.
TEMPORARY_SUFFIX = "[temporary]"


def mask_style_path() -> Path:
    """Return the QML style shipped for cloud masks (light fill, legend "cloud", "clear")."""
    return resource_path("styles", "cloud_mask.qml")


def style_mask_layer(layer) -> bool:
    """Apply the shipped cloud mask style to ``layer``; return whether it was applied."""
    message, ok = layer.loadNamedStyle(str(mask_style_path()))
    if ok:
        layer.triggerRepaint()
    return bool(ok)


def polygon_style_path() -> Path:
    """Return the QML style shipped for cloud polygons (outline with a light fill)."""
    return resource_path("styles", "cloud_polygons.qml")


def style_polygon_layer(layer) -> bool:
    """Apply the shipped cloud polygon style to ``layer``; return whether it was applied."""
    path = polygon_style_path()
    if not path.is_file():
        return False
    message, ok = layer.loadNamedStyle(str(path))
    if ok:
        layer.triggerRepaint()
    return bool(ok)


def mask_layer_name(
    source_name: str,
    model: str | None = None,
    threshold: float | None = None,
    *,
    temporary: bool = False,
) -> str:
    """Name the mask after its source, the model and threshold that made it.

    Two runs with another threshold or model give two names; a temporary mask says so,
    as it is lost when QGIS exits.
    """
    details = [part for part in (model, None if threshold is None else f"{threshold:.3f}") if part]
    name = f"{source_name} clouds"
    if details:
        name += f" ({', '.join(details)})"
    if temporary:
        name += f" {TEMPORARY_SUFFIX}"
    return name


def mask_abstract(source_name: str, result) -> str:
    """Describe a finished run for the layer's metadata (Layer Properties > Metadata).

    Args:
        source_name: the input layer's name.
        result: the engine's ``DetectionResult`` or a mapping with ``model``,
            ``threshold``, ``device``, ``cloud_cover`` and optionally ``product``.
    """
    get = result.get if isinstance(result, dict) else lambda key: getattr(result, key, None)
    product = f", product level {get('product')}" if get("product") else ""
    return (
        f"Cloud mask of {source_name} made by Cloud FCN with the {get('model')}, "
        f"threshold {float(get('threshold')):.3f}, on {get('device')}{product}; cloud cover "
        f"{float(get('cloud_cover')):.2f} % of the valid pixels. Values: {MASK_VALUES_HELP}."
    )


def set_layer_abstract(layer, abstract: str) -> None:
    """Write ``abstract`` into the layer's metadata (shown in Layer Properties)."""
    metadata = layer.metadata()
    metadata.setAbstract(abstract)
    if not metadata.title():
        metadata.setTitle(layer.name())
    layer.setMetadata(metadata)
