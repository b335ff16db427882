"""Names that differ between QGIS 3.22 (Qt5) and QGIS 3.36+/4 (Qt6)."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsMapLayerProxyModel,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
)

try:  # Qt 6 moved QAction from QtWidgets to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

# QGIS 3.36 moved these enums into Qgis; QGIS 4 drops the old class-scoped names.
if hasattr(Qgis, "ProcessingParameterFlag"):
    FLAG_ADVANCED = Qgis.ProcessingParameterFlag.Advanced
else:
    FLAG_ADVANCED = QgsProcessingParameterDefinition.Flag.FlagAdvanced

if hasattr(Qgis, "ProcessingNumberParameterType"):
    NUMBER_DOUBLE = Qgis.ProcessingNumberParameterType.Double
    NUMBER_INTEGER = Qgis.ProcessingNumberParameterType.Integer
else:
    NUMBER_DOUBLE = QgsProcessingParameterNumber.Type.Double
    NUMBER_INTEGER = QgsProcessingParameterNumber.Type.Integer

if hasattr(Qgis, "LayerFilter"):
    RASTER_FILTER = Qgis.LayerFilter.RasterLayer
else:
    RASTER_FILTER = QgsMapLayerProxyModel.Filter.RasterLayer

__all__ = [
    "FLAG_ADVANCED", "NUMBER_DOUBLE", "NUMBER_INTEGER", "QAction", "RASTER_FILTER",
]
