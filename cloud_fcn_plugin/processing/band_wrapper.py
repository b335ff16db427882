"""Band rows that follow INPUT without loading a product's MTL file or folder as a layer.

QGIS's own band widget (``QgsProcessingBandWidgetWrapper``) loads the INPUT value as a
raster layer whenever it changes, to list its bands; a product's ``*_MTL.txt`` or folder
is no raster, so the dialog and every batch row printed "Could not load selected
layer/table. Dependent bands could not be populated" (review 2026-12-05, defect 7),
though the run reads the product well. For a product the band rows do not apply (the
band files are found by name): this wrapper leaves them empty, quietly, and for any other
value does what QGIS's Python band wrapper does (list the layer's bands).

The algorithm names this class in its band parameters' ``widget_wrapper`` metadata
(:func:`band_widget_metadata`), where QGIS still has Python widget wrappers (QGIS 3);
elsewhere QGIS's own widget stays.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from processing.gui.wrappers import BandWidgetWrapper

from .typed_values import MTL_SUFFIX


def is_product(value) -> bool:
    """Whether an INPUT value is a Landsat product's MTL file or folder (no raster)."""
    if not isinstance(value, str) or not value.strip():
        return False
    path = Path(value.strip())
    return path.name.upper().endswith(MTL_SUFFIX) or path.is_dir()


class ProductAwareBandWrapper(BandWidgetWrapper):
    """QGIS's band combo, empty and quiet for a product's MTL file or folder."""

    def __init__(self, *args, **kwargs) -> None:
        with warnings.catch_warnings():  # deprecated for QGIS 4, where it is not used
            warnings.simplefilter("ignore", DeprecationWarning)
            super().__init__(*args, **kwargs)

    def setLayer(self, layer) -> None:
        """List ``layer``'s bands; a product's MTL or folder has none to list."""
        super().setLayer(None if is_product(layer) else layer)

    def value(self):
        """The band chosen; ``None`` for "Not set" (the combo says -1, QGIS's own None)."""
        value = super().value()
        if isinstance(value, int) and value < 1:
            return None
        return value
