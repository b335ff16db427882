"""The finishing steps of ``cloud_fcn:detectclouds``: sieve, buffer, masked image, polygons.

Parameters ``MIN_SIZE`` and ``BUFFER`` (pixels, 0 = off) refine the mask, acting on the
classes chosen in ``MASK_CLASSES`` (thick cloud, thin cloud and shadow by default); the optional
destinations ``MASKED_IMAGE`` (GeoTIFF) and ``POLYGONS`` (GeoPackage) are made from the
refined mask by the engine (see :mod:`cloud_fcn_plugin.engine.outputs.refine`). The
algorithm declares them with :func:`add_workflow_parameters`, reads them with
:func:`workflow_values` and loads the outputs with :func:`workflow_results`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from qgis.core import (
    Qgis,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorDestination,
    QgsProcessingUtils,
    QgsProject,
)

from ..common.choices import MASK_CLASS_CHOICES, mask_class_words
from ..common.names import temporary_suffix
from ..common.run_group import RunGroup
from ..common.style import style_masked_image, style_polygon_layer
from ..compat import NUMBER_INTEGER
from ..engine.params import MAX_BUFFER, MAX_MIN_SIZE, POLYGON_LAYER, DetectionResult
from ..translation import tr

MIN_SIZE = "MIN_SIZE"
BUFFER = "BUFFER"
MASKED_IMAGE = "MASKED_IMAGE"
POLYGONS = "POLYGONS"
MASK_CLASSES = "MASK_CLASSES"

# QGIS 3.36 moved the source types into Qgis; QGIS 4 drops QgsProcessing.TypeVectorPolygon.
if hasattr(Qgis, "ProcessingSourceType"):
    _POLYGON_TYPE = Qgis.ProcessingSourceType.VectorPolygon
else:
    _POLYGON_TYPE = QgsProcessing.SourceType.TypeVectorPolygon

def add_workflow_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    """Declare MIN_SIZE, BUFFER, MASKED_IMAGE and POLYGONS (all off by default).

    All four are optional: models and scripts saved before they existed still run.
    """
    min_size = QgsProcessingParameterNumber(
        MIN_SIZE, tr("Minimum cloud size (pixels)"), NUMBER_INTEGER, 0, optional=True,
        minValue=0, maxValue=MAX_MIN_SIZE,
    )  # fmt: skip
    min_size.setHelp(tr("Cloud patches of fewer pixels are dropped; 0 keeps every patch."))
    buffer = QgsProcessingParameterNumber(
        BUFFER, tr("Cloud buffer (pixels)"), NUMBER_INTEGER, 0, optional=True, minValue=0,
        maxValue=MAX_BUFFER,
    )  # fmt: skip
    buffer.setHelp(tr("Clouds grow by this many pixels, after the sieve; 0 leaves them."))
    algorithm.addParameter(min_size)
    algorithm.addParameter(buffer)
    classes = QgsProcessingParameterEnum(
        MASK_CLASSES, tr("Classes to mask"), options=[tr(label) for _, label in MASK_CLASS_CHOICES],
        allowMultiple=True, defaultValue=list(range(len(MASK_CLASS_CHOICES))), optional=True,
    )  # fmt: skip
    classes.setHelp(tr("What the sieve, the buffer, the masked image and the polygons act on; "
                       "unset: thick cloud, thin cloud and cloud shadow. By name or number: "
                       "thick (0), thin (1), shadow (2)."))  # fmt: skip
    algorithm.addParameter(classes)
    algorithm.addParameter(
        QgsProcessingParameterRasterDestination(
            MASKED_IMAGE, tr("Masked image"), optional=True, createByDefault=False
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterVectorDestination(
            POLYGONS, tr("Cloud polygons"), _POLYGON_TYPE, optional=True, createByDefault=False
        )
    )


def workflow_values(
    algorithm: QgsProcessingAlgorithm, parameters: dict[str, Any], context: QgsProcessingContext
) -> dict[str, Any]:
    """The DetectionParams fields of these parameters: ``buffer``, ``min_size``, paths."""
    masked = algorithm.parameterAsOutputLayer(parameters, MASKED_IMAGE, context)
    polygons, table = _geopackage_destination(
        algorithm.parameterAsOutputLayer(parameters, POLYGONS, context), context
    )
    return {
        "polygons_layer": table,
        "mask_classes": _mask_classes(algorithm, parameters, context),
        "min_size": _int(algorithm, parameters, MIN_SIZE, context),
        "buffer": _int(algorithm, parameters, BUFFER, context),
        "masked_image": Path(masked) if masked else None,
        "polygons": Path(polygons) if polygons else None,
    }


def _geopackage_destination(destination: str, context: QgsProcessingContext) -> tuple[str, str]:
    """The file and table of a "Save to GeoPackage..." destination.

    ``ogr:dbname='F.gpkg' table="T" (geom)`` writes the layer ``T`` into ``F.gpkg``,
    keeping its other layers, as QGIS's own algorithms do; a plain path writes the
    layer ``clouds``. The layer Processing loads is keyed ``F.gpkg|layername=T``.
    """
    match = _OGR_DBNAME.match(destination or "")
    if match is None:
        return destination, POLYGON_LAYER
    path = match.group(1).replace("''", "'")
    table_match = _OGR_TABLE.search(destination)
    table = table_match.group(1).replace('""', '"') if table_match else POLYGON_LAYER
    if context.willLoadLayerOnCompletion(destination):
        layers = context.layersToLoadOnCompletion()
        layers[f"{path}|layername={table}"] = layers.pop(destination)
        context.setLayersToLoadOnCompletion(layers)
    return path, table


_OGR_TABLE = re.compile(r'\stable="((?:[^"]|"")*)"')
_OGR_DBNAME = re.compile(r"^ogr:dbname='((?:[^']|'')*)'")


def _mask_classes(algorithm, parameters, context) -> str | None:
    """The engine's ``"thick,thin,shadow"`` of MASK_CLASSES; None (the default) when unset.

    Names (``thick``, ``shadow``) are accepted as well as indices, as qgis_process users type.
    """
    value = parameters.get(MASK_CLASSES)
    if value in (None, "", []):
        return None
    words = [w.strip().lower() for w in str(value).split(",")] if isinstance(value, str) else None
    names = [code for code, _ in MASK_CLASS_CHOICES]
    if words and all(w in names for w in words):
        return ",".join(words)
    indices = algorithm.parameterAsEnums(parameters, MASK_CLASSES, context)
    return mask_class_words(indices) if indices else None


def _int(algorithm, parameters, key, context) -> int:
    if parameters.get(key) in (None, ""):
        return 0
    return algorithm.parameterAsInt(parameters, key, context)


def workflow_results(
    context: QgsProcessingContext,
    source_name: str,
    result: DetectionResult,
    group: RunGroup | None = None,
    source_id: str = "",
) -> dict[str, Any]:
    """Name and style the outputs Processing loads; return their entries of the results.

    With a ``group``, they join their run's layer-tree group (polygons on top), as the
    panel places them; the masked image is drawn in true colour like the input
    (``source_id``, the input layer's id where it is in the project).
    """
    results: dict[str, Any] = {}
    if result.masked_image is not None:
        path = str(result.masked_image)
        results[MASKED_IMAGE] = path
        if context.willLoadLayerOnCompletion(path):
            details = context.layerToLoadOnCompletionDetails(path)
            details.name = _temporary_marked(tr("{} without clouds").format(source_name), path)
            details.forceName = True
            details.setPostProcessor(OutputPlacer.create(
                "masked_image", group,
                lambda layer, project: style_masked_image(layer, project.mapLayer(source_id)),
            ))
    if result.polygons is not None:
        results[POLYGONS] = str(result.polygons)
        path = _polygon_layer_key(context, str(result.polygons))
        if context.willLoadLayerOnCompletion(path):
            details = context.layerToLoadOnCompletionDetails(path)
            details.name = _temporary_marked(tr("{} cloud polygons").format(source_name), path)
            details.forceName = True
            details.setPostProcessor(OutputPlacer.create(
                "polygons", group, lambda layer, _project: style_polygon_layer(layer)
            ))
    return results


def _polygon_layer_key(context: QgsProcessingContext, path: str) -> str:
    """The key Processing loads the polygons by: the file, or ``file|layername=T``."""
    for key in context.layersToLoadOnCompletion():
        if key.startswith(f"{path}|layername="):
            return key
    return path


def is_temporary(path: str) -> bool:
    """Tell whether an output lies in Processing's temporary folder (gone when QGIS exits)."""
    folder = Path(QgsProcessingUtils.tempFolder()).resolve()
    return folder in Path(path).resolve().parents


def _temporary_marked(name: str, path: str) -> str:
    """``name``, followed by ``[temporary]`` for an output lost when QGIS exits."""
    return f"{name} {temporary_suffix()}" if is_temporary(path) else name


class OutputPlacer(QgsProcessingLayerPostProcessorInterface):
    """Styles a loaded extra output and puts it into its run's group.

    Args:
        kind: ``polygons`` or ``masked_image`` (:data:`..common.run_group.KIND_ORDER`).
        group: the run's group, or ``None`` to leave the layer where Processing put it.
        style: ``style(layer, project)`` applied first.
    """

    # Processing owns the C++ object; the Python subclass must stay referenced.
    _alive: ClassVar[list[OutputPlacer]] = []

    def __init__(self, kind: str, group: RunGroup | None, style) -> None:
        super().__init__()
        self.kind, self.group, self.style = kind, group, style

    def postProcessLayer(self, layer, context, feedback) -> None:
        """Style and place the layer once it is in the project."""
        if layer is not None and layer.isValid():
            project = context.project() or QgsProject.instance()
            self.style(layer, project)
            if self.group is not None:
                self.group.add(layer, self.kind, project)

    @classmethod
    def create(cls, kind: str, group: RunGroup | None, style) -> OutputPlacer:
        """Return a new placer kept alive for the rest of the session's runs."""
        placer = cls(kind, group, style)
        cls._alive = [*cls._alive[-15:], placer]
        return placer
