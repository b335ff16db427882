"""The "Mask finishing" group (clean-up and extra outputs): sieve, buffer, masked image,
polygons.

Which classes they act on (thick cloud, thin cloud, cloud shadow: all by default) is
chosen here too, and whether the probability layer is loaded beside the mask.
"""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QCheckBox, QFormLayout, QVBoxLayout, QWidget

from ..common.choices import MASK_CLASS_CHOICES
from ..engine.params import MAX_BUFFER
from ..translation import tr
from .runner import ALGORITHM_ID
from .widgets import WrappingCheck, describe, fit_form, optional_spin, output_file_widget

#: The algorithm's optional workflow parameters (buffer, sieve, extra outputs).
WORKFLOW_KEYS = ("BUFFER", "MIN_SIZE", "MASKED_IMAGE", "POLYGONS", "MASK_CLASSES", "PROBABILITY")


class WorkflowBox(QgsCollapsibleGroupBox):
    """Buffer, sieve, masked image and polygons: off by default, shown when the
    algorithm offers them (``BUFFER``, ``MIN_SIZE``, ``MASKED_IMAGE``, ``POLYGONS``).

    Signals:
        changed: a value changed (to be saved in the settings).
    """

    changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Mask finishing"))
        self.setCollapsed(True)
        form = QFormLayout(self)
        self.class_checks = []
        classes = QWidget()
        # One above the other: side by side they made the panel 516 px wide (review
        # 2026-12-05, defect 3).
        row = QVBoxLayout(classes)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        for _, label in MASK_CLASS_CHOICES:
            check = QCheckBox(tr(label))  # marked in the @default context (choices.py)
            check.setChecked(True)
            describe(check, tr(label), self.tr(
                "Mask this class: the buffer, the sieve, the masked image and the polygons act "
                "on the classes ticked here."))
            row.addWidget(check)
            self.class_checks.append(check)
        form.addRow(self.tr("Classes to mask"), classes)
        self.buffer_spin = optional_spin(0, MAX_BUFFER, self.tr("Off"))
        describe(self.buffer_spin, self.tr("Cloud buffer"), self.tr(
            "Grow the classes to mask by this many pixels: cloud edges and thin fringes are "
            "where masks leak. Off keeps them as detected."))
        form.addRow(self.tr("Cloud buffer (pixels)"), self.buffer_spin)
        self.min_size_spin = optional_spin(0, 1_000_000, self.tr("Off"))
        describe(self.min_size_spin, self.tr("Smallest cloud"), self.tr(
            "Drop patches of the classes to mask with fewer pixels than this (sieve), before "
            "the buffer. Off keeps every patch."))
        form.addRow(self.tr("Smallest cloud (pixels)"), self.min_size_spin)
        self.masked_check = WrappingCheck(self.tr("Masked image"))
        describe(self.masked_check, self.tr("Masked image"), self.tr(
            "Also write the input with the classes to mask and fill set to no data."))
        self.masked_widget = output_file_widget(self.tr("GeoTIFF (*.tif *.tiff)"))
        describe(self.masked_widget, self.tr("Masked image file"), self.tr(
            "GeoTIFF for the masked image; empty, a temporary file."))
        self.polygons_check = WrappingCheck(self.tr("Cloud polygons"))
        describe(self.polygons_check, self.tr("Cloud polygons"), self.tr(
            "Also write the classes to mask as polygons with their class and area, in the "
            "input's CRS."))
        self.polygons_widget = output_file_widget(self.tr("GeoPackage (*.gpkg)"))
        describe(self.polygons_widget, self.tr("Cloud polygons file"), self.tr(
            "GeoPackage for the cloud polygons; empty, a temporary file."))
        for check, widget in ((self.masked_check, self.masked_widget),
                              (self.polygons_check, self.polygons_widget)):
            widget.setEnabled(False)
            check.toggled.connect(widget.setEnabled)
            form.addRow(check)  # the check, then its file picker under it: each the
            form.addRow(widget)  # dock's whole width
        self.probability_check = WrappingCheck(self.tr("Load the probability layer"))
        describe(self.probability_check, self.tr("Probability layer"), self.tr(
            "Also write the network's probabilities (band 1 cloud, then thin cloud and shadow "
            "where the model has them) to a temporary file and load it beside the mask: it "
            "shows where the network hesitated."))
        form.addRow(self.probability_check)
        self.keys = _offered_keys()
        rows = {"BUFFER": (self.buffer_spin,), "MIN_SIZE": (self.min_size_spin,),
                "MASKED_IMAGE": (self.masked_check, self.masked_widget),
                "POLYGONS": (self.polygons_check, self.polygons_widget),
                "MASK_CLASSES": (classes,), "PROBABILITY": (self.probability_check,)}
        for key, widgets in rows.items():
            for widget in widgets:
                widget.setVisible(key in self.keys)
                label = form.labelForField(widget)
                if label is not None:
                    label.setVisible(key in self.keys)
        fit_form(form, stacked=True)
        self.setVisible(bool(self.keys))
        for signal in (self.buffer_spin.valueChanged, self.min_size_spin.valueChanged,
                       self.masked_check.toggled, self.polygons_check.toggled,
                       self.probability_check.toggled,
                       *(check.toggled for check in self.class_checks)):
            signal.connect(self.changed)

    def masked_classes(self) -> list[int]:
        """Indices (into ``MASK_CLASS_CHOICES``) of the classes ticked."""
        return [i for i, check in enumerate(self.class_checks) if check.isChecked()]

    def parameters(self) -> dict[str, Any]:
        """The workflow parameters that are set (none by default)."""
        parameters: dict[str, Any] = {}
        if "BUFFER" in self.keys and self.buffer_spin.value() > 0:
            parameters["BUFFER"] = self.buffer_spin.value()
        if "MIN_SIZE" in self.keys and self.min_size_spin.value() > 0:
            parameters["MIN_SIZE"] = self.min_size_spin.value()
        for key, check, widget in (("MASKED_IMAGE", self.masked_check, self.masked_widget),
                                   ("POLYGONS", self.polygons_check, self.polygons_widget)):
            if key in self.keys and check.isChecked():
                parameters[key] = widget.filePath().strip() or "TEMPORARY_OUTPUT"
        chosen = self.masked_classes()
        if "MASK_CLASSES" in self.keys and len(chosen) < len(self.class_checks):
            # None ticked masks nothing: the engine needs one, so the default stands in.
            parameters["MASK_CLASSES"] = chosen or list(range(len(self.class_checks)))
        if "PROBABILITY" in self.keys and self.probability_check.isChecked():
            parameters["PROBABILITY"] = "TEMPORARY_OUTPUT"
        return parameters

    def save_settings(self, settings: QgsSettings) -> None:
        """Store the values in ``settings`` (its group already begun)."""
        settings.setValue("buffer", self.buffer_spin.value())
        settings.setValue("min_size", self.min_size_spin.value())
        settings.setValue("masked_image", self.masked_check.isChecked())
        settings.setValue("polygons", self.polygons_check.isChecked())
        settings.setValue("probability_layer", self.probability_check.isChecked())
        settings.setValue("mask_classes", ",".join(map(str, self.masked_classes())))

    def restore_settings(self, settings: QgsSettings) -> None:
        """Set the values from ``settings`` (its group already begun)."""
        for spin, key in ((self.buffer_spin, "buffer"), (self.min_size_spin, "min_size")):
            spin.setValue(int(settings.value(key, spin.value())))
        for check, key in ((self.masked_check, "masked_image"),
                           (self.polygons_check, "polygons")):
            check.setChecked(settings.value(key, False, type=bool))
        self.probability_check.setChecked(settings.value("probability_layer", False, type=bool))
        stored = settings.value("mask_classes", None)
        if stored not in (None, ""):
            ticked = {int(i) for i in str(stored).split(",") if i.strip().isdigit()}
            for index, check in enumerate(self.class_checks):
                check.setChecked(index in ticked)


def _offered_keys() -> set[str]:
    """The workflow parameters the registered algorithm declares."""
    algorithm = QgsApplication.processingRegistry().algorithmById(ALGORITHM_ID)
    return {
        key for key in WORKFLOW_KEYS
        if algorithm is not None and algorithm.parameterDefinition(key) is not None
    }
