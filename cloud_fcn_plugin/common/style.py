"""Styling, naming and describing cloud mask layers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine.files.resources import resource_path
from .choices import MASK_VALUES_HELP
from .engine_text import translate_engine

#: The mask's classes by value, as the legend names them (``classes.CODE_NAMES``).
LEGEND_CLASSES = {0: "clear", 1: "thick cloud", 2: "thin cloud", 3: "cloud shadow"}
#: The band description the engine gives the mask (``pipeline._MASK_DESCRIPTION``).
MASK_BAND_DESCRIPTION = "cloud mask"


def mask_style_path() -> Path:
    """Return the QML style shipped for masks (light fills, a legend of the four classes)."""
    return resource_path("styles", "cloud_mask.qml")


def style_mask_layer(layer) -> bool:
    """Apply the shipped cloud mask style to ``layer``; return whether it was applied."""
    message, ok = layer.loadNamedStyle(str(mask_style_path()))
    if ok:
        translate_legend(layer)
        layer.triggerRepaint()
    return bool(ok)


def describe_mask_band(path) -> None:
    """Write the mask band's description ("cloud mask", which QGIS's legend shows as
    "Band 1: cloud mask") in the user's language, into the mask this run just wrote.

    Only the mask: the engine reads the probability raster's band descriptions back
    (re-thresholding), never the mask's.
    """
    text = translate_engine(MASK_BAND_DESCRIPTION)
    if text == MASK_BAND_DESCRIPTION:
        return
    try:
        from osgeo import gdal

        dataset = gdal.Open(str(path), gdal.GA_Update)
        if dataset is None:
            return
        band = dataset.GetRasterBand(1)
        if band.GetDescription() == MASK_BAND_DESCRIPTION:
            band.SetDescription(text)
        band = dataset = None  # closing writes the description
    except Exception:  # a legend in English is no reason to fail a finished run
        return


def translate_legend(layer) -> None:
    """Name the mask's classes in the legend in the user's language (``1 nuage épais``)."""
    renderer = layer.renderer()
    if renderer is None or not hasattr(renderer, "classes"):
        return
    classes = renderer.classes()
    for item in classes:
        name = LEGEND_CLASSES.get(int(item.value))
        if name is not None:
            renderer.setLabel(item.value, f"{int(item.value)} {translate_engine(name)}")


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
        translate_polygon_legend(layer)
        layer.triggerRepaint()
    return bool(ok)


def translate_polygon_legend(layer) -> None:
    """Name the polygons' classes in the legend in the user's language."""
    renderer = layer.renderer()
    if renderer is None or not hasattr(renderer, "categories"):
        return
    for index, category in enumerate(renderer.categories()):
        try:
            value = int(category.value())
        except (TypeError, ValueError):
            continue
        name = LEGEND_CLASSES.get(value)
        if name is not None:
            renderer.updateCategoryLabel(index, f"{value} {translate_engine(name)}")


def mask_abstract(source_name: str, result, settings: Mapping[str, Any] | None = None) -> str:
    """Describe a finished run for the layer's metadata (Layer Properties > Metadata).

    Args:
        source_name: the input layer's name.
        result: the engine's ``DetectionResult`` or a mapping with ``model``,
            ``threshold``, ``device``, ``cloud_cover`` and optionally ``product``.
        settings: the other settings that change the mask (:func:`settings_sentence`).
    """
    get = result.get if isinstance(result, dict) else lambda key: getattr(result, key, None)
    product = f", product level {get('product')}" if get("product") else ""
    return (
        f"Cloud mask of {source_name} made by Cloud FCN with the {get('model')}, "
        f"{_threshold_words(get('threshold'))}, on {get('device')}{product}; "
        f"{settings_sentence(settings or {})}; cloud cover "
        f"{float(get('cloud_cover')):.2f} % of the valid pixels. Values: {MASK_VALUES_HELP}."
    )


def settings_sentence(settings: Mapping[str, Any]) -> str:
    """The settings besides model and threshold that change a mask, in words.

    Args:
        settings: any of ``min_size``, ``buffer`` (pixels; 0 or missing: off),
            ``bands`` (red, green, blue, NIR indices), ``tile_size``, ``overlap``
            (pixels; missing: the model's), ``weights`` (a checkpoint file).
    """
    min_size, buffer = settings.get("min_size") or 0, settings.get("buffer") or 0
    parts = [
        f"smallest cloud {int(min_size)} px" if min_size else "no sieve",
        f"buffer {int(buffer)} px" if buffer else "no buffer",
    ]
    if settings.get("bands"):
        parts.append("bands " + ", ".join(str(b) for b in settings["bands"])
                     + " as red, green, blue, NIR")
    for key, words in (("tile_size", "tile size"), ("overlap", "tile overlap")):
        value = settings.get(key)
        parts.append(f"{words} {int(value)} px" if value is not None else f"the model's {words}")
    if settings.get("weights"):
        parts.append(f"weights {settings['weights']}")
    return ", ".join(parts)


def style_masked_image(layer, source=None) -> bool:
    """Draw a masked image in true colour: red, green and blue found by band description.

    The engine names its bands (``B4 red``, ``B3 green``, ``B2 blue``); a raster without
    such names is drawn with the bands of ``source`` (the input layer) when that has as
    many bands and a colour renderer; else QGIS's default rendering stays. Return
    whether true colour was set.
    """
    from qgis.core import QgsMultiBandColorRenderer

    bands = true_colour_bands([layer.bandName(b) for b in range(1, layer.bandCount() + 1)])
    if bands is None and source is not None and source.bandCount() == layer.bandCount():
        drawn = source.renderer()
        if isinstance(drawn, QgsMultiBandColorRenderer):
            bands = (drawn.redBand(), drawn.greenBand(), drawn.blueBand())
    if bands is None:
        return False
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), *bands))
    layer.setDefaultContrastEnhancement()
    layer.triggerRepaint()
    return True


def true_colour_bands(names: Sequence[str]) -> tuple[int, int, int] | None:
    """The 1-based (red, green, blue) bands among band ``names``, or ``None``.

    A name matches by its colour word (``B4 red``, ``Band 3: red``) or, for a Landsat
    band list, by its number (B4, B3, B2).
    """
    found = []
    for colour, landsat in (("red", "B4"), ("green", "B3"), ("blue", "B2")):
        by_word = [i for i, n in enumerate(names, 1) if re.search(rf"\b{colour}\b", n, re.I)]
        by_number = [i for i, n in enumerate(names, 1) if re.search(rf"\b{landsat}\b", n)]
        match = by_word if len(by_word) == 1 else by_number
        if len(match) != 1:
            return None
        found.append(match[0])
    return tuple(found) if len(set(found)) == 3 else None


def set_layer_abstract(layer, abstract: str) -> None:
    """Write ``abstract`` into the layer's metadata (shown in Layer Properties)."""
    metadata = layer.metadata()
    metadata.setAbstract(abstract)
    if not metadata.title():
        metadata.setTitle(layer.name())
    layer.setMetadata(metadata)


def _threshold_words(threshold) -> str:
    """``threshold 0.420``, or ``no threshold`` for the product QA band (NaN or None)."""
    value = float("nan") if threshold is None else float(threshold)
    return "no threshold" if value != value else f"threshold {value:.3f}"


def style_probability_layer(layer) -> None:
    """Show band 1 (the cloud probability) in grey from 0 to 1, the other bands one click away.

    QGIS would draw a three-band probability raster as a colour composite, which reads
    as a picture rather than a probability. Values in percent (uint8) run 0 to 100.
    """
    from qgis.core import Qgis, QgsContrastEnhancement, QgsSingleBandGrayRenderer

    renderer = QgsSingleBandGrayRenderer(layer.dataProvider(), 1)
    enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(1))
    enhancement.setContrastEnhancementAlgorithm(
        QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum
    )
    top = 100.0 if layer.dataProvider().dataType(1) == Qgis.DataType.Byte else 1.0
    enhancement.setMinimumValue(0.0)
    enhancement.setMaximumValue(top)
    renderer.setContrastEnhancement(enhancement)
    layer.setRenderer(renderer)
