"""The red, green, blue and NIR rows: band combos for a raster, band files for a product."""

from __future__ import annotations

from qgis.core import QgsMapLayer
from qgis.gui import QgsRasterBandComboBox
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QFormLayout, QLabel, QStackedWidget

from ..common.layer_input import LayerInput, resolve_bands
from .widgets import CurrentPageStack, describe, wrappable, wrapping_label

BAND_KEYS = ("RED", "GREEN", "BLUE", "NIR")
_LANDSAT = ("B4", "B3", "B2", "B5")


class BandRows(QObject):
    """Four rows of a form: a band combo, or the band file found, for each role.

    Left alone the combos follow the layer's band descriptions and no band is passed;
    once the user picks one, all four are passed as shown. A raster of fewer than four
    bands has nothing to pick: the combos stay empty and disabled.

    Signals:
        changed: the user picked a band.
    """

    changed = pyqtSignal()

    def __init__(self, form: QFormLayout) -> None:
        super().__init__()
        self.set_by_user = False
        self._quiet = False
        self.combos: list[QgsRasterBandComboBox] = []
        self.files: list[QLabel] = []
        self.stacks: list[QStackedWidget] = []
        labels = (self.tr("Red band"), self.tr("Green band"), self.tr("Blue band"),
                  self.tr("NIR band"))
        for label, number in zip(labels, _LANDSAT, strict=True):
            combo = QgsRasterBandComboBox()
            describe(combo, label, self.tr(
                "Band of the layer read as Landsat {band}. Left alone it follows the layer's "
                "band descriptions; a band you pick is used as given.").format(band=number))
            combo.bandChanged.connect(self._on_band_changed)
            found = wrapping_label()
            found.setAccessibleName(self.tr("{band} file found").format(band=label))
            stack = CurrentPageStack()
            stack.addWidget(combo)
            stack.addWidget(found)
            self.combos.append(combo)
            self.files.append(found)
            self.stacks.append(stack)
            form.addRow(label, stack)
        self.note = wrapping_label()
        form.addRow("", self.note)

    def show_layer(self, layer: QgsMapLayer | None, info: LayerInput | None) -> None:
        """Prefill the combos from ``info``, or list a product folder's band files."""
        self.set_by_user = False
        product = info is not None and info.is_product
        pickable = layer is not None and not product and layer.bandCount() >= 4
        self._quiet = True
        try:
            for combo in self.combos:
                combo.setLayer(layer if pickable else None)
            if info is not None and info.bands and not info.is_product:
                for combo, band in zip(self.combos, info.bands, strict=False):
                    combo.setBand(band)
        finally:
            self._quiet = False
        self.note.setText(wrappable(self.tr(
            "Landsat product folder {folder}: band files found by name."
        ).format(folder=info.path.name)) if info is not None and info.is_product else "")
        self.note.setVisible(bool(self.note.text()))
        self._show_band_files(info)
        for stack in self.stacks:
            stack.setEnabled(pickable or product)

    def resolved(self, info: LayerInput | None) -> tuple[int, int, int, int] | None:
        """The bands a run reads: the user's choice, else the layer's own guess."""
        if info is None or info.is_product:
            return None
        chosen = self.parameters(info)
        return resolve_bands(tuple(chosen.get(key) for key in BAND_KEYS), info)

    def parameters(self, info: LayerInput | None) -> dict[str, int]:
        """The RED, GREEN, BLUE, NIR parameters the user chose (none if untouched)."""
        if not self.set_by_user or (info is not None and info.is_product):
            return {}
        return {key: combo.currentBand() for key, combo in zip(BAND_KEYS, self.combos,
                                                                strict=True)
                if combo.currentBand() > 0}

    def _show_band_files(self, info: LayerInput | None) -> None:
        product = info is not None and info.is_product
        files = (info.band_files if product else None) or ()
        for index, (stack, label) in enumerate(zip(self.stacks, self.files, strict=True)):
            stack.setCurrentIndex(1 if product else 0)
            if product:
                path = files[index] if index < len(files) else None
                label.setText(
                    wrappable(path.name) if path else self.tr("found when the run starts")
                )
                label.setToolTip(str(path) if path else "")

    def _on_band_changed(self, *_args) -> None:
        if not self._quiet:
            self.set_by_user = True
            self.changed.emit()
