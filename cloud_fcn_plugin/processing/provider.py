"""The ``cloud_fcn`` Processing provider."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..engine.files.resources import resource_path
from ..translation import tr
from .detect_algorithm import DetectCloudsAlgorithm


class CloudFcnProvider(QgsProcessingProvider):
    """Holds the cloud detection algorithm for the toolbox, models, batch and qgis_process."""

    def loadAlgorithms(self) -> None:
        """Register the provider's algorithms."""
        self.addAlgorithm(DetectCloudsAlgorithm())

    def id(self) -> str:
        """Return the fixed provider id used in algorithm ids."""
        return "cloud_fcn"

    def name(self) -> str:
        """Return the name shown in the toolbox."""
        return "Cloud FCN"

    def longName(self) -> str:
        """Return the descriptive provider name."""
        return tr("Cloud FCN (Landsat 8/9 cloud detection)")

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        """Offer GeoTIFF only: the engine writes every raster output as a GeoTIFF."""
        return ["tif"]

    def supportedOutputVectorLayerExtensions(self) -> list[str]:
        """Offer GeoPackage only: the engine writes the cloud polygons as a GeoPackage."""
        return ["gpkg"]

    def icon(self) -> QIcon:
        """Return the plugin icon."""
        return QIcon(str(resource_path("icons", "cloud_fcn.svg")))
