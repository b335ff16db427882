"""Styles the mask layer that Processing loads when an algorithm finishes."""

from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingLayerPostProcessorInterface

from ..common.run_group import RunGroup
from ..common.style import set_layer_abstract, style_mask_layer, style_probability_layer


class MaskStyler(QgsProcessingLayerPostProcessorInterface):
    """Applies the shipped QML to a finished cloud mask and records how it was made.

    With a ``group``, the mask goes into its run's layer-tree group, as the panel
    places it (:mod:`..common.run_group`).
    """

    def __init__(self, abstract: str = "", group: RunGroup | None = None) -> None:
        super().__init__()
        self.abstract = abstract
        self.group = group

    # Processing takes ownership of the C++ object, but the Python subclass must
    # stay referenced or its postProcessLayer override is lost to garbage collection.
    _alive: ClassVar[list[MaskStyler]] = []

    def postProcessLayer(self, layer, context, feedback) -> None:
        """Style the layer once it is loaded into the project."""
        if layer is not None and layer.isValid():
            style_mask_layer(layer)
            if self.abstract:
                set_layer_abstract(layer, self.abstract)
            if self.group is not None:
                self.group.add(layer, "mask", context.project())

    @classmethod
    def create(cls, abstract: str = "", group: RunGroup | None = None) -> MaskStyler:
        """Return a new styler kept alive for the rest of the session's runs."""
        styler = cls(abstract, group)
        # A few recent ones are enough: Processing runs one post-processor at a time.
        cls._alive = [*cls._alive[-15:], styler]
        return styler


class ProbabilityStyler(QgsProcessingLayerPostProcessorInterface):
    """Draws a loaded probability raster as its cloud band in grey, 0 to 1."""

    _alive: ClassVar[list[ProbabilityStyler]] = []

    def postProcessLayer(self, layer, context, feedback) -> None:
        """Style the layer once it is loaded into the project."""
        if layer is not None and layer.isValid():
            style_probability_layer(layer)

    @classmethod
    def create(cls) -> ProbabilityStyler:
        """Return a new styler kept alive for the rest of the session's runs."""
        styler = cls()
        cls._alive = [*cls._alive[-15:], styler]
        return styler
