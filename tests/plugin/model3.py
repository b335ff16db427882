"""Graphical models (.model3) built as the modeler builds them, for the Processing tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterRasterLayer,
)

ALG = "cloud_fcn:detectclouds"
static = QgsProcessingModelChildParameterSource.fromStaticValue
from_child = QgsProcessingModelChildParameterSource.fromChildOutput
from_parameter = QgsProcessingModelChildParameterSource.fromModelParameter


def model_output(name: str, child: str, child_output: str) -> QgsProcessingModelOutput:
    """A model output ``name`` that is ``child``'s ``child_output``."""
    output = QgsProcessingModelOutput(name, name)
    output.setChildId(child)
    output.setChildOutputName(child_output)
    return output


def detection_model(name: str, weights: Path, **values: Any) -> QgsProcessingModelAlgorithm:
    """A model with a "scene" raster parameter and a "detect" step writing the "mask" output.

    The step gets the weights and, as the modeler's dialog stores every default
    explicitly, the product, batch size and device defaults; ``values`` add to them.
    """
    model = QgsProcessingModelAlgorithm(name, "Cloud FCN tests")
    model.addModelParameter(
        QgsProcessingParameterRasterLayer("scene", "Scene"), QgsProcessingModelParameter("scene")
    )
    detect = QgsProcessingModelChildAlgorithm(ALG)
    detect.setChildId("detect")
    detect.addParameterSources("INPUT", [from_parameter("scene")])
    statics = {"MODEL": str(weights), "PRODUCT": 0, "BATCH_SIZE": 4, "DEVICE": 0, **values}
    for key, value in statics.items():
        detect.addParameterSources(key, [static(value)])
    detect.setModelOutputs({"mask": model_output("mask", "detect", "OUTPUT")})
    model.addChildAlgorithm(detect)
    return model


def saved_and_reloaded(
    model: QgsProcessingModelAlgorithm, path: Path
) -> QgsProcessingModelAlgorithm:
    """Save ``model`` as a .model3 file and load it back, as a user reopening it would."""
    assert model.toFile(str(path))
    reloaded = QgsProcessingModelAlgorithm()
    assert reloaded.fromFile(str(path))
    ok, errors = reloaded.validate()
    assert ok, errors
    return reloaded
