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

from ..common.style import (
    TEMPORARY_SUFFIX,
    mask_abstract,
    mask_layer_name,
    set_layer_abstract,
    style_mask_layer,
    style_masked_image,
    style_polygon_layer,
)
from ..translation import tr
from .runner import PanelRun


@dataclass
class LayerOutcome:
    """What the panel shows for a layer after its last run."""

    cover: str
    details: str = ""
    warnings: list[str] = field(default_factory=list)


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
    """The masked image and the cloud polygons a run wrote, as valid styled layers.

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
        return f"{name} {TEMPORARY_SUFFIX}"
    return name
