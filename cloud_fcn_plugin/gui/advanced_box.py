"""The "Advanced" group: model file, tiling, batch size and device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QSpinBox

from ..common.choices import DEVICE_CHOICES
from ..common.engine_call import available_devices
from ..engine.params import MAX_TILE_SIZE, MIN_TILE_SIZE
from ..translation import tr
from .widgets import describe, fit_form, optional_spin, shrinkable

DEVICE_NAMES = dict(DEVICE_CHOICES)


class AdvancedBox(QgsCollapsibleGroupBox):
    """Model file, tile size, overlap, tiles per batch and device (collapsed at first).

    Signals:
        changed: a value changed (to be saved in the settings).
    """

    changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Advanced"))
        self.setCollapsed(True)
        form = QFormLayout(self)
        self.model_widget = QgsFileWidget()
        self.model_widget.setFilter(self.tr("Cloud FCN models (*.safetensors *.onnx *.pt *.pth)"))
        describe(self.model_widget, self.tr("Model file"), self.tr(
            "A checkpoint saved by the training script, or an ONNX model whose cloud_fcn "
            "metadata says its bands, normalisation and classes (needs ONNX Runtime); empty, "
            "the bundled model chosen with Model."))
        form.addRow(self.tr("Model file"), self.model_widget)
        self.tile_spin = optional_spin(MIN_TILE_SIZE - 1, MAX_TILE_SIZE, self.tr("Model's"))
        describe(self.tile_spin, self.tr("Tile size"), self.tr(
            "Tile edge in pixels; the lowest value takes the model's."))
        form.addRow(self.tr("Tile size"), self.tile_spin)
        self.overlap_spin = optional_spin(-1, 1024, self.tr("Model's"))
        describe(self.overlap_spin, self.tr("Tile overlap"), self.tr(
            "Pixels shared by neighbouring tiles; the lowest value takes the model's."))
        form.addRow(self.tr("Tile overlap"), self.overlap_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 256)
        self.batch_spin.setValue(4)
        describe(self.batch_spin, self.tr("Tiles per batch"), self.tr(
            "Tiles per forward pass: more is faster on a GPU and needs more memory."))
        form.addRow(self.tr("Tiles per batch"), self.batch_spin)
        self.device_combo = QComboBox()
        for code, label in DEVICE_CHOICES:
            self.device_combo.addItem(tr(label), code)
        describe(self.device_combo, self.tr("Device"), self.tr(
            "Where the network runs; devices this machine lacks are greyed out."))
        form.addRow(self.tr("Device"), self.device_combo)
        shrinkable(self.model_widget)
        fit_form(form, stacked=True)
        self.devices_checked = False
        for signal in (self.device_combo.currentIndexChanged, self.tile_spin.valueChanged,
                       self.overlap_spin.valueChanged, self.batch_spin.valueChanged):
            signal.connect(self.changed)

    def weights(self) -> Path | None:
        """The model file chosen, or ``None`` for the bundled model."""
        text = self.model_widget.filePath().strip()
        return Path(text) if text else None

    def parameters(self) -> dict[str, Any]:
        """BATCH_SIZE, DEVICE, and MODEL, TILE_SIZE, OVERLAP where they are set."""
        parameters: dict[str, Any] = {
            "BATCH_SIZE": self.batch_spin.value(),
            "DEVICE": self.device_combo.currentIndex(),
        }
        if self.weights() is not None:
            parameters["MODEL"] = str(self.weights())
        if self.tile_spin.value() != self.tile_spin.minimum():
            parameters["TILE_SIZE"] = self.tile_spin.value()
        if self.overlap_spin.value() != self.overlap_spin.minimum():
            parameters["OVERLAP"] = self.overlap_spin.value()
        return parameters

    def check_devices(self) -> dict[str, bool]:
        """Grey out the devices this machine lacks; return what is available."""
        self.devices_checked = True
        available = available_devices()
        model = self.device_combo.model()
        for index in range(self.device_combo.count()):
            code = self.device_combo.itemData(index)
            label = tr(DEVICE_NAMES[code])
            if code == "auto":
                best = next((c for c in ("cuda", "mps") if available.get(c)), "cpu")
                text = self.tr("Automatic (here: {device})").format(
                    device=tr(DEVICE_NAMES[best]))
            elif available.get(code, False):
                text = self.tr("{device} (available)").format(device=label)
            else:
                text = self.tr("{device} (not available)").format(device=label)
            self.device_combo.setItemText(index, text)
            item = model.item(index) if hasattr(model, "item") else None
            if item is not None and code != "auto":
                item.setEnabled(bool(available.get(code, False)))
        return available

    def save_settings(self, settings: QgsSettings) -> None:
        """Store the values in ``settings`` (its group already begun)."""
        settings.setValue("model_file", self.model_widget.filePath())
        settings.setValue("device", self.device_combo.currentData())
        settings.setValue("tile_size", self.tile_spin.value())
        settings.setValue("overlap", self.overlap_spin.value())
        settings.setValue("batch_size", self.batch_spin.value())

    def restore_settings(self, settings: QgsSettings) -> None:
        """Set the values from ``settings`` (its group already begun)."""
        index = self.device_combo.findData(settings.value("device", "auto"))
        self.device_combo.setCurrentIndex(max(index, 0))
        self.model_widget.setFilePath(settings.value("model_file", "") or "")
        for spin, key in ((self.tile_spin, "tile_size"), (self.overlap_spin, "overlap"),
                          (self.batch_spin, "batch_size")):
            spin.setValue(int(settings.value(key, spin.value())))
