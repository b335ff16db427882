"""Turning a finished run's results into styled, named, described layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import (
    QgsMapLayer,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ..common.engine_text import translate_engine
from ..common.names import mask_layer_name, temporary_suffix
from ..common.style import (
    mask_abstract,
    set_layer_abstract,
    style_mask_layer,
    style_masked_image,
    style_polygon_layer,
    style_probability_layer,
)
from ..translation import tr
from .runner import PanelRun


@dataclass
class LayerOutcome:
    """What the panel shows for a layer after its last run."""

    cover: str
    details: str = ""
    warnings: list[str] = field(default_factory=list)


def cover_sentence(results: dict, layer_name: str) -> str:
    """``Cloud cover: 12.30 % (thick 10.10 %, thin 2.20 %), shadow 3.40 % (layer)``.

    The product QA band's cloud cover follows where the input has one.
    """

    def number(key: str) -> float | None:
        value = results.get(key)
        return None if value is None else float(value)

    text = tr("Cloud cover: {cover:.2f} %").format(cover=number("CLOUD_COVER") or 0.0)
    thick, thin, shadow = (
        number(key) for key in ("THICK_CLOUD_COVER", "THIN_CLOUD_COVER", "SHADOW_COVER")
    )
    if thick is not None and thin is not None:
        text += tr(" (thick {thick:.2f} %, thin {thin:.2f} %)").format(thick=thick, thin=thin)
    if shadow is not None:
        text += tr(", shadow {shadow:.2f} %").format(shadow=shadow)
    text += f" ({layer_name})"
    qa = number("QA_CLOUD_COVER")
    if qa is not None:
        text += tr("; product QA band: {qa:.2f} % cloud").format(qa=qa)
    return text


def rethreshold_results(result, comparison) -> dict:
    """The algorithm's cover outputs for a re-thresholded mask (``DetectionResult``) and
    the product QA band's comparison with it (``QaComparison`` or ``None``)."""
    from ..engine.classes import CLOUD_SHADOW, THICK_CLOUD, THIN_CLOUD

    return {
        "CLOUD_COVER": result.cloud_cover,
        "THICK_CLOUD_COVER": result.class_cover(THICK_CLOUD),
        "THIN_CLOUD_COVER": result.class_cover(THIN_CLOUD),
        "SHADOW_COVER": result.class_cover(CLOUD_SHADOW),
        "QA_CLOUD_COVER": None if comparison is None else comparison.qa.cloud_cover,
    }


def rethreshold_outcome(kept, task, details: str) -> LayerOutcome:
    """What the panel shows after a new threshold: the sentence a run shows, the QA
    comparison recomputed on the new mask, and its warning where they now differ."""
    warnings = list(kept.notes)
    comparison = task.comparison
    if comparison is not None and comparison.warning():
        warnings.append(translate_engine(f"Warning: {comparison.warning()}"))
    return LayerOutcome(
        cover_sentence(rethreshold_results(task.result, comparison), kept.layer_name),
        details, warnings,
    )


def load_mask(run: PanelRun, results: dict) -> QgsRasterLayer:
    """The run's mask as a styled layer named after its source, model and threshold.

    The layer may be invalid (the caller says so); it is not yet in the project.
    """
    name = mask_layer_name(
        run.layer_name, results.get("USED_MODEL"), results.get("USED_THRESHOLD"),
        temporary=run.temporary, settings=run.settings,
    )
    mask = QgsRasterLayer(str(results.get("OUTPUT")), name, "gdal")
    if not mask.isValid():
        return mask
    style_mask_layer(mask)
    set_layer_abstract(mask, mask_abstract(run.layer_name, {
        "model": results.get("USED_MODEL"), "threshold": results.get("USED_THRESHOLD"),
        "device": results.get("USED_DEVICE"),
        "cloud_cover": float(results.get("CLOUD_COVER", 0.0)),
    }, run.settings))
    return mask


def load_extra_outputs(run: PanelRun, results: dict) -> list[tuple[str, QgsMapLayer]]:
    """The masked image, the probabilities and the polygons a run wrote, as valid layers.

    They are named as the toolbox names them; a temporary file says so. Returns
    ``(kind, layer)`` pairs, kinds as :data:`~..common.run_group.KIND_ORDER` names them.
    """
    layers: list[tuple[str, QgsMapLayer]] = []
    masked = results.get("MASKED_IMAGE")
    if masked and run.parameters.get("MASKED_IMAGE"):
        name = tr("{name} without clouds").format(name=run.layer_name)
        layer = QgsRasterLayer(str(masked), temporary_name(name, masked), "gdal")
        if layer.isValid():
            style_masked_image(layer, QgsProject.instance().mapLayer(run.layer_id))
            layers.append(("masked_image", layer))
    probability = results.get("PROBABILITY")
    if probability and run.load_probability:
        name = tr("{name} cloud probability").format(name=run.layer_name)
        layer = QgsRasterLayer(str(probability), temporary_name(name, probability), "gdal")
        if layer.isValid():
            style_probability_layer(layer)
            layers.append(("probability", layer))
    polygons = results.get("POLYGONS")
    if polygons and run.parameters.get("POLYGONS"):
        name = tr("{name} cloud polygons").format(name=run.layer_name)
        layer = QgsVectorLayer(str(polygons), temporary_name(name, polygons), "ogr")
        if layer.isValid():
            style_polygon_layer(layer)
            layers.append(("polygons", layer))
    return layers


def temporary_name(name: str, path: str) -> str:
    """Add the temporary marker to ``name`` when ``path`` is in Processing's temporary folder."""
    folder = Path(QgsProcessingUtils.tempFolder()).resolve()
    if folder in Path(path).resolve().parents:
        return f"{name} {temporary_suffix()}"
    return name
