"""Styles the mask layer that Processing loads when an algorithm finishes."""

from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingLayerPostProcessorInterface

from ..common.style import set_layer_abstract, style_mask_layer


class MaskStyler(QgsProcessingLayerPostProcessorInterface):
    """Applies the shipped QML to a finished cloud mask and records how it was made."""

    def __init__(self, abstract: str = "") -> None:
        super().__init__()
        self.abstract = abstract

    # Processing takes ownership of the C++ object, but the Python subclass must
    # stay referenced or its postProcessLayer override is lost to garbage collection.
    _alive: ClassVar[list[MaskStyler]] = []

    def postProcessLayer(self, layer, context, feedback) -> None:
        """Style the layer once it is loaded into the project."""
        if layer is not None and layer.isValid():
            style_mask_layer(layer)
            if self.abstract:
                set_layer_abstract(layer, self.abstract)

    @classmethod
    def create(cls, abstract: str = "") -> MaskStyler:
        """Return a new styler kept alive for the rest of the session's runs."""
        styler = cls(abstract)
        # A few recent ones are enough: Processing runs one post-processor at a time.
        cls._alive = [*cls._alive[-15:], styler]
        return styler
