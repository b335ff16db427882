"""The panel's parameters form: what ``cloud_fcn:detectclouds`` should run with.

The form only collects values: :meth:`ParametersForm.build_parameters` turns them into
the algorithm's parameter dict. Each group of rows is its own part (bands, threshold,
mask finishing: clean-up and extra outputs; advanced), with its own parameters and settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from qgis.core import QgsMapLayer, QgsProject, QgsRasterLayer, QgsSettings
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..common.choices import LEVEL_NAMES, MODEL_CHOICES, NO_QA_BAND_HELP, PRODUCT_CHOICES
from ..common.engine_call import choice_threshold, default_threshold, model_choice
from ..common.engine_text import translate_engine
from ..common.layer_input import LayerInput, describe_layer
from ..compat import RASTER_FILTER
from ..translation import tr
from .advanced_box import AdvancedBox
from .bands import BandRows
from .readiness import input_problem
from .threshold import ThresholdRow
from .widgets import (
    FormWrapper,
    WrappingCheck,
    describe,
    fit_form,
    shrinkable,
    wrappable,
    wrapping_label,
)
from .workflow_box import WorkflowBox

SETTINGS_GROUP = "cloud_fcn/panel"


class ParametersForm(QWidget):
    """Input layer, product level, model, bands, threshold, output and the two groups.

    Signals:
        changed: something that decides whether Run can start changed.
    """

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input: LayerInput | None = None
        #: The engine's sentence why a run cannot start on this input, or None.
        self.problem: str | None = None
        #: Whether the input has a product QA band ("Product QA band" is offered then).
        self.has_qa_band = False
        self._quiet = False  # set while the form itself changes widgets
        self._threshold_loaded = False
        self._layer_id: str | None = None  # the layer self.input describes
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self._build_input_rows(form)
        self.bands = BandRows(form)
        self.threshold_row = ThresholdRow()
        form.addRow(self.tr("Threshold"), self.threshold_row)
        form.addRow("", self.threshold_row.note)
        self._build_output_rows(form)
        layout.addLayout(fit_form(form))
        self.workflow = WorkflowBox()
        layout.addWidget(self.workflow)
        self.advanced = AdvancedBox()
        layout.addWidget(self.advanced)
        # Long layer names and labels must wrap, never widen the dock.
        for combo in (self.layer_combo, self.product_combo, self.model_combo,
                      self.advanced.device_combo, *self.bands.combos):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
            combo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            # Never squeezed: too narrow beside its label, the row puts it under the label.
            combo.setMinimumWidth(combo.fontMetrics().averageCharWidth() * 12)
        # Too narrow for label and field side by side (French, 150 %): labels go above.
        self._wrapper = FormWrapper(form, self, self._field_width)
        self._connect()

    def _field_width(self) -> int:
        """What a field needs beside its label: the output choices and the product
        level's whole name (the model's long names may elide: the list shows them)."""
        product = self.product_combo
        return max(self.fontMetrics().averageCharWidth() * 20,
                   self.temporary_radio.sizeHint().width(), self.file_radio.sizeHint().width(),
                   product.fontMetrics().horizontalAdvance(product.currentText()) + 40)

    def _build_input_rows(self, form: QFormLayout) -> None:
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(RASTER_FILTER)
        describe(self.layer_combo, self.tr("Input layer"), self.tr(
            "The Landsat 8/9 raster to find clouds in: a multi-band stack, or one band file "
            "of a product folder (the other bands are found beside it by name)."))
        form.addRow(self.tr("Input layer"), self.layer_combo)
        self.level_label = wrapping_label()
        self.level_label.setAccessibleName(self.tr("Detected product level"))
        form.addRow(self.tr("Detected"), self.level_label)
        self.product_combo = QComboBox()
        for code, label in PRODUCT_CHOICES:
            self.product_combo.addItem(tr(label), code)
        describe(self.product_combo, self.tr("Product level"), self.tr(
            "How the pixel values are scaled to reflectance. Auto-detect reads the MTL file, "
            "band names and value ranges, and warns when it had to guess."))
        form.addRow(self.tr("Product level"), self.product_combo)
        self.model_combo = QComboBox()
        for code, label in MODEL_CHOICES:
            self.model_combo.addItem(tr(label), code)
        describe(self.model_combo, self.tr("Model"), self.tr(
            "Automatic takes the 4-band model with the scene's own thermal and snow tests where "
            "the input has its thermal band (Level-1 products), the 4-band and 6-band models "
            "together on Level-2 products with ST_B10, the 6-band model (B2-B7, with thin "
            "cloud) where the input has B2-B7 without a thermal band, else the 4-band model; "
            "the full-band model runs only when chosen. Every model gets cloud shadow by "
            "geometry."))
        form.addRow(self.tr("Model"), self.model_combo)
        #: Says that the model file of Advanced is used instead of the Model list.
        self.model_note = wrapping_label()
        self.model_note.setAccessibleName(self.tr("Model file used"))
        self.model_note.setVisible(False)
        form.addRow("", self.model_note)
        #: One click for the product QA band's mask beside the network's (same group).
        self.qa_check = WrappingCheck(self.tr("Also load the product QA band's mask"))
        describe(self.qa_check, self.tr("Product QA band beside"), self.tr(
            "Where the input has a product QA band (QA_PIXEL or BQA), also decode it after the "
            "run and load its mask, styled like this one, into the run's group: compare the "
            "two without a second run."))
        form.addRow(self.qa_check)

    def _build_output_rows(self, form: QFormLayout) -> None:
        self.temporary_radio = QRadioButton(self.tr("Temporary layer"))
        describe(self.temporary_radio, self.tr("Temporary layer"), self.tr(
            "Write the mask to a temporary file: it is lost when QGIS exits."))
        self.file_radio = QRadioButton(self.tr("File"))
        describe(self.file_radio, self.tr("File"), self.tr("Write the mask to a GeoTIFF file."))
        self.temporary_radio.setChecked(True)
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.output_widget.setFilter(self.tr("GeoTIFF (*.tif *.tiff)"))
        self.output_widget.setEnabled(False)
        describe(self.output_widget, self.tr("Output file"), self.tr(
            "GeoTIFF file for the mask (0 = clear, 1 = thick cloud, 2 = thin cloud, "
            "3 = cloud shadow, 255 = no data)."))
        self.file_radio.toggled.connect(self.output_widget.setEnabled)
        shrinkable(self.output_widget)
        # One above the other: side by side they need more than a narrow dock in French.
        choice = QVBoxLayout()
        choice.setSpacing(2)
        choice.addWidget(self.temporary_radio)
        choice.addWidget(self.file_radio)
        form.addRow(self.tr("Output"), choice)
        form.addRow("", self.output_widget)

    def _connect(self) -> None:
        self.file_radio.toggled.connect(self.changed)
        self.output_widget.fileChanged.connect(self.changed)
        self.threshold_row.user_changed.connect(self.save_settings)
        self.threshold_row.reset_requested.connect(self._on_threshold_reset)
        # Remember the settings as they change (they survive a plugin reload).
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.advanced.model_widget.fileChanged.connect(self._on_model_changed)
        for signal in (self.product_combo.currentIndexChanged, self.file_radio.toggled,
                       self.output_widget.fileChanged, self.workflow.changed,
                       self.advanced.changed, self.qa_check.toggled):
            signal.connect(self.save_settings)
        self.bands.changed.connect(self._check_input)
        for check in self.workflow.class_checks:
            check.toggled.connect(self._check_input)
        self.product_combo.currentIndexChanged.connect(self._check_input)
        self.model_combo.currentIndexChanged.connect(self._check_input)
        self.layer_combo.layerChanged.connect(self._on_layer_changed)
        # Layers added together can change the combo's layer without layerChanged (its
        # index stays 0 while the sorted rows move under it): look again afterwards.
        QgsProject.instance().layersAdded.connect(self._on_layers_added)
        self._on_layer_changed(self.layer_combo.currentLayer())

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change widgets without saving settings."""
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    # ----------------------------------------------------------------- values
    def current_layer(self) -> QgsMapLayer | None:
        """The input layer chosen."""
        return self.layer_combo.currentLayer()

    def output_missing(self) -> bool:
        """Tell whether File is chosen without a path."""
        return self.file_radio.isChecked() and not self.output_widget.filePath().strip()

    def threshold(self) -> float:
        """Return the threshold the form shows."""
        return self.threshold_row.value()

    def set_threshold(self, value: float) -> None:
        """Set the user's threshold ``value`` (0..1): runs use it instead of the model's."""
        self.threshold_row.set_value(value)

    def reset_threshold(self) -> None:
        """Go back to the model's calibrated threshold (runs then pass none)."""
        self.threshold_row.reset()

    def build_parameters(self) -> dict[str, Any]:
        """Return the parameters of ``cloud_fcn:detectclouds`` the widgets describe.

        Only what the user chose is passed: unset bands follow the layer's band
        descriptions and an untouched threshold is the model's, as in the toolbox.
        """
        layer = self.current_layer()
        parameters: dict[str, Any] = {
            "INPUT": layer.source() if layer is not None else None,
            "PRODUCT": self.product_combo.currentIndex(),
            "MODEL_CHOICE": self.model_combo.currentIndex(),
        }
        advanced = self.advanced.parameters()
        parameters["BATCH_SIZE"] = advanced.pop("BATCH_SIZE")
        parameters["DEVICE"] = advanced.pop("DEVICE")
        parameters.update(self.bands.parameters(self.input))
        if self.threshold_row.set_by_user:
            parameters["THRESHOLD"] = self.threshold()
        parameters.update(advanced)
        if self.file_radio.isChecked():
            parameters["OUTPUT"] = self.output_widget.filePath().strip()
        else:
            parameters["OUTPUT"] = "TEMPORARY_OUTPUT"
        parameters.update(self.workflow.parameters())
        return parameters

    def run_settings(self) -> dict[str, Any]:
        """What besides model and threshold changes the mask, for names and abstracts."""
        parameters = self.build_parameters()
        return {
            "min_size": parameters.get("MIN_SIZE", 0),
            "buffer": parameters.get("BUFFER", 0),
            "bands": self.bands.resolved(self.input),
            "tile_size": parameters.get("TILE_SIZE"),
            "overlap": parameters.get("OVERLAP"),
            "weights": parameters.get("MODEL"),
        }

    # --------------------------------------------------------------- settings
    def save_settings(self, *_args) -> None:
        """Store the form's choices in the user profile (``QgsSettings``)."""
        if self._quiet:
            return
        settings = QgsSettings()
        settings.beginGroup(SETTINGS_GROUP)
        row = self.threshold_row
        settings.setValue("threshold", row.value() if row.set_by_user else "")
        settings.setValue("output", "file" if self.file_radio.isChecked() else "temporary")
        settings.setValue("output_path", self.output_widget.filePath())
        settings.setValue("product", self.product_combo.currentData())
        settings.setValue("model", self.model_combo.currentData())
        settings.setValue("qa_beside", self.qa_check.isChecked())
        self.advanced.save_settings(settings)
        self.workflow.save_settings(settings)
        settings.endGroup()

    def restore_settings(self) -> None:
        """Set the widgets from the stored settings (defaults where none are stored)."""
        settings = QgsSettings()
        settings.beginGroup(SETTINGS_GROUP)
        with self._quietly():
            for combo, key in ((self.product_combo, "product"), (self.model_combo, "model")):
                index = combo.findData(settings.value(key, "auto"))
                combo.setCurrentIndex(max(index, 0))
            self.advanced.restore_settings(settings)
            self.workflow.restore_settings(settings)
            self.qa_check.setChecked(settings.value("qa_beside", False, type=bool))
            self.output_widget.setFilePath(settings.value("output_path", "") or "")
            to_file = settings.value("output", "temporary") == "file"
            (self.file_radio if to_file else self.temporary_radio).setChecked(True)
            stored = settings.value("threshold", "")
            if stored not in ("", None):
                self.threshold_row.restore_user_value(float(stored))
            settings.endGroup()

    # ------------------------------------------------------------------ state
    def load_model_threshold(self) -> None:
        """Read the model's threshold the first time (it imports torch: seconds)."""
        if not self._threshold_loaded:
            self._on_model_changed()

    def _on_threshold_reset(self) -> None:
        self._on_model_changed()
        self.save_settings()

    def _on_model_changed(self, *_args) -> None:
        """Show the chosen model's calibrated threshold (kept aside if the user set one)."""
        if self._quiet:  # restoring settings: the threshold is read when the panel shows
            return
        self._show_model_file()
        self._offer_qa_beside()
        self._threshold_loaded = True
        no_threshold = self.model_combo.currentData() == "qa" and not self.advanced.weights()
        # The product QA band is decoded as it is: no threshold to set.
        self.threshold_row.setEnabled(not no_threshold)
        if no_threshold:
            self.threshold_row.set_model_default(0.5, self.tr(
                "The product QA band is decoded as it is: no threshold applies."))
            self.save_settings()
            return
        weights = self.advanced.weights()
        if weights:
            value, note = default_threshold(weights)
            note = note or self.tr("Calibrated threshold of {model}.").format(model=weights.name)
        else:
            choice = model_choice(
                self.model_combo.currentData(), self.input.path if self.input else None
            )
            value, note = choice_threshold(choice)
            if choice.also:
                note = note or self.tr(
                    "Each model of the ensemble is cut at its own calibrated threshold, "
                    "mapped onto 0.5."
                )
            note = note or self.tr("Calibrated threshold of {model}.").format(
                model=choice.path.name
            )
        self.threshold_row.set_model_default(value, note)
        self.save_settings()

    def _on_layers_added(self, *_args) -> None:
        QTimer.singleShot(0, self._follow_combo)

    def _follow_combo(self) -> None:
        """Describe the combo's layer if it is not the one described (see _connect)."""
        layer = self.layer_combo.currentLayer()
        if (layer.id() if layer is not None else None) != self._layer_id:
            self._on_layer_changed(layer)

    def _on_layer_changed(self, layer: QgsMapLayer | None) -> None:
        self._layer_id = layer.id() if layer is not None else None
        self.input = describe_layer(layer) if isinstance(layer, QgsRasterLayer) else None
        info = self.input
        self.bands.show_layer(layer, info)
        self._offer_qa_band(info)
        if info is None:
            self.level_label.setText(self.tr("Choose a raster layer."))
        else:
            self.level_label.setText(wrappable(self._level_sentence(info)))
        if self._threshold_loaded:
            self._on_model_changed()  # automatic choice may differ for this layer
        self._check_input()

    def _check_input(self, *_args) -> None:
        """Ask the engine whether it can read the input as chosen; tell the panel."""
        product = self.product_combo.currentData() or "auto"
        self.problem = input_problem(self.input, self.bands.resolved(self.input), product)
        if self.problem is None and self.model_combo.currentData() == "qa" and not (
            self.has_qa_band or self.advanced.weights()
        ):
            self.problem = tr(NO_QA_BAND_HELP)
        if self.problem is None and (
            "MASK_CLASSES" in self.workflow.keys and not self.workflow.masked_classes()
        ):
            self.problem = self.tr(
                "Tick at least one class to mask (Mask finishing): with none, the sieve, the "
                "buffer, the masked image and the polygons would have nothing to act on.")
        self.changed.emit()

    def _show_model_file(self) -> None:
        """A model file wins over the Model list: grey the list out and say which file runs."""
        weights = self.advanced.weights()
        self.model_combo.setEnabled(weights is None)
        self.model_note.setVisible(weights is not None)
        self.model_note.setText("" if weights is None else wrappable(self.tr(
            "The model file {name} is used (Advanced > Model file); clear it to choose a "
            "model here.").format(name=weights.name)))

    def _offer_qa_band(self, info: LayerInput | None) -> None:
        """Enable "Product QA band" only for an input with a QA band (QA_PIXEL or BQA)."""
        self.has_qa_band = False
        if info is not None:
            try:
                from ..engine.scene.qa_band import find_qa_band

                self.has_qa_band = find_qa_band(info.path) is not None
            except Exception:  # an undecidable BQA: the run says why, if chosen
                self.has_qa_band = True
        index = self.model_combo.findData("qa")
        item = self.model_combo.model().item(index) if index >= 0 else None
        if item is not None:
            item.setEnabled(self.has_qa_band)
            item.setToolTip("" if self.has_qa_band else tr(NO_QA_BAND_HELP))
        self._offer_qa_beside()

    def _offer_qa_beside(self) -> None:
        """The QA band beside the network's mask: for an input with one, a network run."""
        offered = self.has_qa_band and self.model_combo.currentData() != "qa"
        self.qa_check.setEnabled(offered)

    def qa_beside(self) -> bool:
        """Whether a run should also load the product QA band's mask beside its own."""
        return self.qa_check.isEnabled() and self.qa_check.isChecked()

    def _level_sentence(self, info: LayerInput) -> str:
        """The "Detected" sentence in the Product level combo's words."""
        if not info.level:
            return translate_engine(info.level_reason)
        # The engine's reason starts with its own name of the level: say the combo's.
        _engine_name, _, why = info.level_reason.split(";")[0].rstrip(".").partition(", ")
        sentence = tr(LEVEL_NAMES.get(info.level, info.level))
        if why:
            sentence += f", {translate_engine(why)}"
        if "if this is wrong" in info.level_reason:
            sentence += self.tr(" (a guess: choose the product level if it is wrong)")
        return sentence + "."
