"""The "Detect clouds" dock panel: a front end of ``cloud_fcn:detectclouds``.

The panel only collects values. Run builds the algorithm's parameter dict (emitted
as ``params_built``) and runs the algorithm with ``QgsProcessingAlgRunnerTask``, as
QGIS's own algorithm dialog does: the same checks, messages, warnings and Processing
history entry as the toolbox. The feedback's progress drives the progress bar, Cancel
cancels the task, and the mask is added to the map in the task's completion slot, on
the GUI thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapLayer,
    QgsMessageLog,
    QgsProcessingAlgRunnerTask,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import (
    QgsCollapsibleGroupBox,
    QgsDockWidget,
    QgsFileWidget,
    QgsMapLayerComboBox,
    QgsRasterBandComboBox,
)
from qgis.PyQt.QtCore import QCoreApplication, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import deps
from ..common.choices import DEVICE_CHOICES, LEVEL_NAMES, MODEL_CHOICES, PRODUCT_CHOICES
from ..common.engine_call import available_devices, default_threshold, model_checkpoint
from ..common.layer_input import LayerInput, describe_layer
from ..common.style import (
    TEMPORARY_SUFFIX,
    mask_abstract,
    mask_layer_name,
    set_layer_abstract,
    style_mask_layer,
    style_polygon_layer,
)
from ..compat import RASTER_FILTER
from ..engine.params import MAX_BUFFER, MAX_TILE_SIZE, MIN_TILE_SIZE
from .runner import (
    ALGORITHM_ID,
    PanelFeedback,
    PanelRun,
    processing_context,
    record_in_history,
)

LOG_TAG = "Cloud FCN"
SETTINGS_GROUP = "cloud_fcn/panel"
SLIDER_SCALE = 1000  # slider steps per unit of probability: 0.001 resolution
BAND_KEYS = ("RED", "GREEN", "BLUE", "NIR")
#: The algorithm's optional workflow parameters (buffer, sieve, extra outputs).
WORKFLOW_KEYS = ("BUFFER", "MIN_SIZE", "MASKED_IMAGE", "POLYGONS")
DEVICE_NAMES = dict(DEVICE_CHOICES)
# Where a long word (a Landsat file name, a path) may break when a label wraps.
_BREAK_AFTER = "_/\\-."


@dataclass
class LayerOutcome:
    """What the panel shows for a layer after its last run."""

    cover: str
    details: str = ""
    warnings: list[str] = field(default_factory=list)


class DetectCloudsDock(QgsDockWidget):
    """Panel that runs ``cloud_fcn:detectclouds`` on the chosen raster layer.

    Signals:
        params_built: the algorithm's parameter dict of a run, emitted when Run is clicked.
        mask_added: the styled mask ``QgsRasterLayer`` once it is in the project.
        run_finished: ``(ok, results)`` of every run, after the panel has shown them.
    """

    params_built = pyqtSignal(object)
    mask_added = pyqtSignal(object)
    run_finished = pyqtSignal(bool, object)

    def __init__(self, iface, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("DetectCloudsDock", "Detect clouds"), parent)
        self.setObjectName("CloudFcnDetectCloudsDock")
        self.iface = iface
        self.runs: dict[str, PanelRun] = {}
        self.outcomes: dict[str, LayerOutcome] = {}
        self.mask_ids: set[str] = set()
        self.input: LayerInput | None = None
        self.threshold_set_by_user = False
        self.bands_set_by_user = False
        self.default_threshold_value = 0.5
        self._quiet = False  # set while the panel itself changes widgets
        self._threshold_loaded = False
        self._devices_checked = False
        self._build()
        self.restore_settings()
        self.refresh_dependencies()
        # Reading the weights' threshold and the devices imports torch (seconds): that
        # waits until the panel shows (showEvent).
        self.layer_combo.layerChanged.connect(self._on_layer_changed)
        self._on_layer_changed(self.layer_combo.currentLayer())

    # ----------------------------------------------------------------- building
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)

        self.torch_frame = QFrame()
        torch_layout = QVBoxLayout(self.torch_frame)
        torch_layout.setContentsMargins(0, 0, 0, 0)
        self.torch_label = _wrapping_label(deps.missing_torch_message())
        self.install_button = QPushButton(self.tr("Install PyTorch"))
        _describe(self.install_button, self.tr("Install PyTorch"),
                  self.tr("Install PyTorch into a folder the plugin owns, showing pip's output."))
        self.install_button.clicked.connect(self.open_installer)
        torch_layout.addWidget(self.torch_label)
        torch_layout.addWidget(self.install_button)
        layout.addWidget(self.torch_frame)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(RASTER_FILTER)
        _describe(self.layer_combo, self.tr("Input layer"), self.tr(
            "The Landsat 8/9 raster to find clouds in: a multi-band stack, or one band file "
            "of a product folder (the other bands are found beside it by name)."))
        form.addRow(self.tr("Input layer"), self.layer_combo)
        self.level_label = _wrapping_label()
        self.level_label.setAccessibleName(self.tr("Detected product level"))
        form.addRow(self.tr("Detected"), self.level_label)
        self.product_combo = QComboBox()
        for code, label in PRODUCT_CHOICES:
            self.product_combo.addItem(self.tr(label), code)
        _describe(self.product_combo, self.tr("Product level"), self.tr(
            "How the pixel values are scaled to reflectance. Auto-detect reads the MTL file, "
            "band names and value ranges, and warns when it had to guess."))
        form.addRow(self.tr("Product level"), self.product_combo)
        self.model_combo = QComboBox()
        for code, label in MODEL_CHOICES:
            self.model_combo.addItem(self.tr(label), code)
        _describe(self.model_combo, self.tr("Model"), self.tr(
            "The full-band model reads B2-B7, cirrus and thermal from a Landsat product; "
            "automatic takes it only where it scored better under cross-validation."))
        form.addRow(self.tr("Model"), self.model_combo)

        self.band_combos: list[QgsRasterBandComboBox] = []
        self.band_files: list[QLabel] = []
        self.band_stacks: list[QStackedWidget] = []
        band_labels = (self.tr("Red band"), self.tr("Green band"), self.tr("Blue band"),
                       self.tr("NIR band"))
        landsat = ("B4", "B3", "B2", "B5")
        for label, number in zip(band_labels, landsat, strict=True):
            combo = QgsRasterBandComboBox()
            _describe(combo, label, self.tr(
                "Band of the layer read as Landsat {band}. Left alone it follows the layer's "
                "band descriptions; a band you pick is used as given.").format(band=number))
            combo.bandChanged.connect(self._on_band_changed)
            found = _wrapping_label()
            found.setAccessibleName(self.tr("{band} file found").format(band=label))
            stack = QStackedWidget()
            stack.addWidget(combo)
            stack.addWidget(found)
            stack.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.band_combos.append(combo)
            self.band_files.append(found)
            self.band_stacks.append(stack)
            form.addRow(label, stack)
        self.band_note = _wrapping_label()
        form.addRow("", self.band_note)

        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, SLIDER_SCALE - 1)
        self.threshold_slider.setPageStep(SLIDER_SCALE // 20)
        _describe(self.threshold_slider, self.tr("Threshold slider"), self.tr(
            "Cloud probability above which a pixel is cloud. Lower finds more thin cloud."))
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(1 / SLIDER_SCALE, 1 - 1 / SLIDER_SCALE)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.01)
        _describe(self.threshold_spin, self.tr("Threshold"), self.tr(
            "Type the cloud probability threshold (0.001 to 0.999)."))
        self.threshold_reset = QToolButton()
        self.threshold_reset.setText(self.tr("Reset"))
        _describe(self.threshold_reset, self.tr("Reset threshold"), self.tr(
            "Go back to the threshold calibrated with the model."))
        self.threshold_slider.valueChanged.connect(self._on_slider_changed)
        self.threshold_spin.valueChanged.connect(self._on_spin_changed)
        self.threshold_reset.clicked.connect(self.reset_threshold)
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_spin)
        row.addWidget(self.threshold_reset)
        form.addRow(self.tr("Threshold"), row)
        self.threshold_note = _wrapping_label()
        form.addRow("", self.threshold_note)

        self.temporary_radio = QRadioButton(self.tr("Temporary layer"))
        _describe(self.temporary_radio, self.tr("Temporary layer"), self.tr(
            "Write the mask to a temporary file: it is lost when QGIS exits."))
        self.file_radio = QRadioButton(self.tr("File"))
        _describe(self.file_radio, self.tr("File"), self.tr("Write the mask to a GeoTIFF file."))
        self.temporary_radio.setChecked(True)
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.output_widget.setFilter(self.tr("GeoTIFF (*.tif *.tiff)"))
        self.output_widget.setEnabled(False)
        _describe(self.output_widget, self.tr("Output file"), self.tr(
            "GeoTIFF file for the cloud mask (1 = cloud, 0 = clear, 255 = no data)."))
        self.file_radio.toggled.connect(self.output_widget.setEnabled)
        self.file_radio.toggled.connect(self._update_run_button)
        self.output_widget.fileChanged.connect(self._update_run_button)
        row = QHBoxLayout()
        row.addWidget(self.temporary_radio)
        row.addWidget(self.file_radio)
        row.addStretch(1)
        form.addRow(self.tr("Output"), row)
        form.addRow("", self.output_widget)
        layout.addLayout(form)
        self._build_workflow(layout)

        self.advanced = QgsCollapsibleGroupBox(self.tr("Advanced"))
        self.advanced.setCollapsed(True)
        advanced_form = QFormLayout(self.advanced)
        self.model_widget = QgsFileWidget()
        self.model_widget.setFilter(self.tr("Cloud FCN weights (*.safetensors *.pt *.pth)"))
        _describe(self.model_widget, self.tr("Model file"), self.tr(
            "A checkpoint saved by the training script; empty, the bundled model chosen "
            "with Model."))
        advanced_form.addRow(self.tr("Model file"), self.model_widget)
        self.tile_spin = _optional_spin(MIN_TILE_SIZE - 1, MAX_TILE_SIZE, self.tr("Model's"))
        _describe(self.tile_spin, self.tr("Tile size"), self.tr(
            "Tile edge in pixels; the lowest value takes the model's."))
        advanced_form.addRow(self.tr("Tile size"), self.tile_spin)
        self.overlap_spin = _optional_spin(-1, 1024, self.tr("Model's"))
        _describe(self.overlap_spin, self.tr("Tile overlap"), self.tr(
            "Pixels shared by neighbouring tiles; the lowest value takes the model's."))
        advanced_form.addRow(self.tr("Tile overlap"), self.overlap_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 256)
        self.batch_spin.setValue(4)
        _describe(self.batch_spin, self.tr("Tiles per batch"), self.tr(
            "Tiles per forward pass: more is faster on a GPU and needs more memory."))
        advanced_form.addRow(self.tr("Tiles per batch"), self.batch_spin)
        self.device_combo = QComboBox()
        for code, label in DEVICE_CHOICES:
            self.device_combo.addItem(self.tr(label), code)
        _describe(self.device_combo, self.tr("Device"), self.tr(
            "Where the network runs; devices this machine lacks are greyed out."))
        advanced_form.addRow(self.tr("Device"), self.device_combo)
        layout.addWidget(self.advanced)

        self.run_button = QPushButton(self.tr("Run"))
        _describe(self.run_button, self.tr("Run"), self.tr(
            "Run Detect clouds (Processing) on the layer; while it runs, cancel it."))
        self.run_button.clicked.connect(self._on_run_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # no "0%" before any run
        self.progress.setAccessibleName(self.tr("Progress"))
        self.cover_label = _wrapping_label(self.tr("Cloud cover: –"))
        self.cover_label.setAccessibleName(self.tr("Cloud cover"))
        self.details_label = _wrapping_label()
        self.details_label.setAccessibleName(self.tr("Run details"))
        self.warnings_label = _wrapping_label()
        self.warnings_label.setAccessibleName(self.tr("Warnings"))
        self.warnings_label.setStyleSheet("QLabel { color: #b25d00; }")
        layout.addWidget(self.run_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.cover_label)
        layout.addWidget(self.details_label)
        layout.addWidget(self.warnings_label)
        layout.addStretch(1)
        self.body = body
        # A scroll area: the panel fits any dock height, never taller than the window.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)

        # Long layer names and labels must wrap, never widen the dock.
        for combo in (self.layer_combo, self.product_combo, self.model_combo,
                      self.device_combo, *self.band_combos):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
            combo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        # Remember the settings as they change (they survive a plugin reload).
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.model_widget.fileChanged.connect(self._on_model_changed)
        for signal in (self.product_combo.currentIndexChanged,
                       self.device_combo.currentIndexChanged, self.tile_spin.valueChanged,
                       self.overlap_spin.valueChanged, self.batch_spin.valueChanged,
                       self.file_radio.toggled, self.output_widget.fileChanged,
                       self.buffer_spin.valueChanged, self.min_size_spin.valueChanged,
                       self.masked_check.toggled, self.polygons_check.toggled):
            signal.connect(self.save_settings)

    def _build_workflow(self, layout: QVBoxLayout) -> None:
        """Buffer, sieve, masked image and polygons: off by default, shown when the
        algorithm offers them (``BUFFER``, ``MIN_SIZE``, ``MASKED_IMAGE``, ``POLYGONS``)."""
        self.workflow = QgsCollapsibleGroupBox(self.tr("Clean-up and extra outputs"))
        self.workflow.setCollapsed(True)
        workflow_form = QFormLayout(self.workflow)
        self.buffer_spin = _optional_spin(0, MAX_BUFFER, self.tr("Off"))
        _describe(self.buffer_spin, self.tr("Cloud buffer"), self.tr(
            "Grow the cloud mask by this many pixels: cloud edges and thin fringes are where "
            "masks leak. Off keeps the clouds as detected."))
        workflow_form.addRow(self.tr("Cloud buffer (pixels)"), self.buffer_spin)
        self.min_size_spin = _optional_spin(0, 1_000_000, self.tr("Off"))
        _describe(self.min_size_spin, self.tr("Smallest cloud"), self.tr(
            "Drop cloud patches of fewer pixels than this (sieve), before the buffer. Off "
            "keeps every patch."))
        workflow_form.addRow(self.tr("Smallest cloud (pixels)"), self.min_size_spin)
        self.masked_check = QCheckBox(self.tr("Masked image"))
        _describe(self.masked_check, self.tr("Masked image"), self.tr(
            "Also write the input with every cloud and fill pixel set to no data."))
        self.masked_widget = _output_file_widget(self.tr("GeoTIFF (*.tif *.tiff)"))
        _describe(self.masked_widget, self.tr("Masked image file"), self.tr(
            "GeoTIFF for the masked image; empty, a temporary file."))
        self.polygons_check = QCheckBox(self.tr("Cloud polygons"))
        _describe(self.polygons_check, self.tr("Cloud polygons"), self.tr(
            "Also write the clouds as polygons with their area, in the input's CRS."))
        self.polygons_widget = _output_file_widget(self.tr("GeoPackage (*.gpkg)"))
        _describe(self.polygons_widget, self.tr("Cloud polygons file"), self.tr(
            "GeoPackage for the cloud polygons; empty, a temporary file."))
        for check, widget in ((self.masked_check, self.masked_widget),
                              (self.polygons_check, self.polygons_widget)):
            widget.setEnabled(False)
            check.toggled.connect(widget.setEnabled)
            workflow_form.addRow(check, widget)
        layout.addWidget(self.workflow)
        algorithm = QgsApplication.processingRegistry().algorithmById(ALGORITHM_ID)
        self.workflow_keys = {
            key for key in WORKFLOW_KEYS
            if algorithm is not None and algorithm.parameterDefinition(key) is not None
        }
        rows = {"BUFFER": (self.buffer_spin,), "MIN_SIZE": (self.min_size_spin,),
                "MASKED_IMAGE": (self.masked_check, self.masked_widget),
                "POLYGONS": (self.polygons_check, self.polygons_widget)}
        for key, widgets in rows.items():
            for widget in widgets:
                widget.setVisible(key in self.workflow_keys)
                label = workflow_form.labelForField(widget)
                if label is not None:
                    label.setVisible(key in self.workflow_keys)
        self.workflow.setVisible(bool(self.workflow_keys))

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change widgets without saving settings or marking values as the user's."""
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    # ----------------------------------------------------------------- settings
    def save_settings(self, *_args) -> None:
        """Store the panel's choices in the user profile (``QgsSettings``)."""
        if self._quiet:
            return
        settings = QgsSettings()
        settings.beginGroup(SETTINGS_GROUP)
        settings.setValue("threshold", self.threshold() if self.threshold_set_by_user else "")
        settings.setValue("output", "file" if self.file_radio.isChecked() else "temporary")
        settings.setValue("output_path", self.output_widget.filePath())
        settings.setValue("product", self.product_combo.currentData())
        settings.setValue("model", self.model_combo.currentData())
        settings.setValue("model_file", self.model_widget.filePath())
        settings.setValue("device", self.device_combo.currentData())
        settings.setValue("tile_size", self.tile_spin.value())
        settings.setValue("overlap", self.overlap_spin.value())
        settings.setValue("batch_size", self.batch_spin.value())
        settings.setValue("buffer", self.buffer_spin.value())
        settings.setValue("min_size", self.min_size_spin.value())
        settings.setValue("masked_image", self.masked_check.isChecked())
        settings.setValue("polygons", self.polygons_check.isChecked())
        settings.endGroup()

    def restore_settings(self) -> None:
        """Set the widgets from the stored settings (defaults where none are stored)."""
        settings = QgsSettings()
        settings.beginGroup(SETTINGS_GROUP)
        with self._quietly():
            for combo, key in ((self.product_combo, "product"), (self.model_combo, "model"),
                               (self.device_combo, "device")):
                index = combo.findData(settings.value(key, "auto"))
                combo.setCurrentIndex(max(index, 0))
            self.model_widget.setFilePath(settings.value("model_file", "") or "")
            for spin, key in ((self.tile_spin, "tile_size"), (self.overlap_spin, "overlap"),
                              (self.batch_spin, "batch_size"), (self.buffer_spin, "buffer"),
                              (self.min_size_spin, "min_size")):
                spin.setValue(int(settings.value(key, spin.value())))
            for check, key in ((self.masked_check, "masked_image"),
                               (self.polygons_check, "polygons")):
                check.setChecked(settings.value(key, False, type=bool))
            self.output_widget.setFilePath(settings.value("output_path", "") or "")
            to_file = settings.value("output", "temporary") == "file"
            (self.file_radio if to_file else self.temporary_radio).setChecked(True)
            stored = settings.value("threshold", "")
            if stored not in ("", None):
                self._show_threshold(float(stored))
                self.threshold_set_by_user = True
                self.threshold_note.setText(self.tr("Your threshold."))
            settings.endGroup()

    # ------------------------------------------------------------------ state
    def follow_layer(self, layer: QgsMapLayer | None) -> None:
        """Select the active layer when it is a raster (connected to currentLayerChanged).

        Masks this panel made are skipped: QGIS makes a new layer current, and the
        panel should stay on the scene the user is working on.
        """
        if isinstance(layer, QgsRasterLayer) and layer.id() not in self.mask_ids:
            self.layer_combo.setLayer(layer)

    def refresh_dependencies(self) -> None:
        """Show the PyTorch banner and block Run while torch is missing."""
        deps.add_deps_to_path()
        missing = not deps.torch_available()
        self.torch_label.setText(deps.missing_torch_message())
        self.torch_frame.setVisible(missing)
        self._update_run_button()

    def threshold(self) -> float:
        """Return the threshold the panel shows."""
        return round(self.threshold_spin.value(), 3)

    def set_threshold(self, value: float) -> None:
        """Set the user's threshold ``value`` (0..1): runs use it instead of the model's."""
        self._show_threshold(value)
        self._mark_threshold_set()

    def reset_threshold(self) -> None:
        """Go back to the model's calibrated threshold (runs then pass none)."""
        self.threshold_set_by_user = False
        self._on_model_changed()
        self.save_settings()

    def showEvent(self, event) -> None:
        """Read the model's threshold and the available devices the first time it shows."""
        if not self._threshold_loaded:
            self._on_model_changed()
        if not self._devices_checked:
            self.check_devices()
        super().showEvent(event)

    def check_devices(self) -> dict[str, bool]:
        """Grey out the devices this machine lacks; return what is available."""
        self._devices_checked = True
        available = available_devices()
        model = self.device_combo.model()
        for index in range(self.device_combo.count()):
            code = self.device_combo.itemData(index)
            label = self.tr(DEVICE_NAMES[code])
            if code == "auto":
                best = next((c for c in ("cuda", "mps") if available.get(c)), "cpu")
                text = self.tr("Automatic (here: {device})").format(
                    device=self.tr(DEVICE_NAMES[best]))
            elif available.get(code, False):
                text = self.tr("{device} (available)").format(device=label)
            else:
                text = self.tr("{device} (not available)").format(device=label)
            self.device_combo.setItemText(index, text)
            item = model.item(index) if hasattr(model, "item") else None
            if item is not None and code != "auto":
                item.setEnabled(bool(available.get(code, False)))
        return available

    def _show_threshold(self, value: float) -> None:
        """Put ``value`` on the slider and the spin box without marking it the user's."""
        with self._quietly():
            self.threshold_spin.setValue(value)
            self.threshold_slider.setValue(round(value * SLIDER_SCALE))

    def _on_slider_changed(self, value: int) -> None:
        if self._quiet:
            return
        with self._quietly():
            self.threshold_spin.setValue(value / SLIDER_SCALE)
        self._mark_threshold_set()

    def _on_spin_changed(self, value: float) -> None:
        if self._quiet:
            return
        with self._quietly():
            self.threshold_slider.setValue(round(value * SLIDER_SCALE))
        self._mark_threshold_set()

    def _mark_threshold_set(self) -> None:
        self.threshold_set_by_user = True
        self.threshold_note.setText(self.tr(
            "Your threshold; the model's calibrated one is {value:.3f}."
        ).format(value=self.default_threshold_value))
        self.save_settings()

    def _on_model_changed(self, *_args) -> None:
        """Show the chosen model's calibrated threshold (kept aside if the user set one)."""
        if self._quiet:  # restoring settings: the threshold is read when the panel shows
            return
        self._threshold_loaded = True
        path = self._weights() or model_checkpoint(
            self.model_combo.currentData(), self.input.path if self.input else None
        )
        value, note = default_threshold(path)
        self.default_threshold_value = value
        if self.threshold_set_by_user:
            self.threshold_note.setText(self.tr(
                "Your threshold; the model's calibrated one is {value:.3f}."
            ).format(value=value))
        else:
            self._show_threshold(value)
            self.threshold_note.setText(
                note or self.tr("Calibrated threshold of {model}.").format(model=path.name)
            )
        self.save_settings()

    def _weights(self) -> Path | None:
        text = self.model_widget.filePath().strip()
        return Path(text) if text else None

    def _on_band_changed(self, *_args) -> None:
        if not self._quiet:
            self.bands_set_by_user = True

    def _on_layer_changed(self, layer: QgsMapLayer | None) -> None:
        self.input = describe_layer(layer) if isinstance(layer, QgsRasterLayer) else None
        self.bands_set_by_user = False
        info = self.input
        with self._quietly():
            for combo in self.band_combos:
                combo.setLayer(layer)
            if info is not None and info.bands and not info.is_product:
                for combo, band in zip(self.band_combos, info.bands, strict=False):
                    combo.setBand(band)
        if info is None:
            self.level_label.setText(self.tr("Choose a raster layer."))
            self.band_note.setText("")
        else:
            self.level_label.setText(_wrappable(self._level_sentence(info)))
            self.band_note.setText(_wrappable(self.tr(
                "Landsat product folder {folder}: band files found by name."
            ).format(folder=info.path.name)) if info.is_product else "")
        self.band_note.setVisible(bool(self.band_note.text()))
        self._show_band_files(info)
        self._show_outcome(layer)
        if self._threshold_loaded:
            self._on_model_changed()  # automatic choice may differ for this layer
        self._update_run_button()

    def _level_sentence(self, info: LayerInput) -> str:
        """The "Detected" sentence in the Product level combo's words."""
        if not info.level:
            return info.level_reason
        # The engine's reason starts with its own name of the level: say the combo's.
        _engine_name, _, why = info.level_reason.split(";")[0].rstrip(".").partition(", ")
        sentence = self.tr(LEVEL_NAMES.get(info.level, info.level))
        if why:
            sentence += f", {why}"
        if "if this is wrong" in info.level_reason:
            sentence += self.tr(" (a guess: choose the product level if it is wrong)")
        return sentence + "."

    def _show_band_files(self, info: LayerInput | None) -> None:
        """Band combos for a raster; the band files found for a product folder."""
        product = info is not None and info.is_product
        files = (info.band_files if product else None) or ()
        for index, (stack, label) in enumerate(zip(self.band_stacks, self.band_files,
                                                   strict=True)):
            stack.setCurrentIndex(1 if product else 0)
            if product:
                path = files[index] if index < len(files) else None
                label.setText(
                    _wrappable(path.name) if path else self.tr("found when the run starts")
                )
                label.setToolTip(str(path) if path else "")
            stack.setEnabled(info is not None)

    def _show_outcome(self, layer: QgsMapLayer | None) -> None:
        """Show the current layer's last result (never another layer's)."""
        run = self.runs.get(layer.id()) if layer is not None else None
        outcome = self.outcomes.get(layer.id()) if layer is not None else None
        if run is not None:
            self.cover_label.setText(self.tr("Cloud cover: running…"))
            self.details_label.setText("")
            self.warnings_label.setText("")
        elif outcome is not None:
            self.cover_label.setText(outcome.cover)
            self.details_label.setText(_wrappable(outcome.details))
            self.warnings_label.setText(_wrappable("\n".join(outcome.warnings)))
        else:
            self.cover_label.setText(self.tr("Cloud cover: –"))
            self.details_label.setText("")
            self.warnings_label.setText("")

    def _current_run(self) -> PanelRun | None:
        layer = self.layer_combo.currentLayer()
        return self.runs.get(layer.id()) if layer is not None else None

    def _update_run_button(self, *_args) -> None:
        run = self._current_run()
        self.run_button.setText(self.tr("Cancel") if run is not None else self.tr("Run"))
        no_file = self.file_radio.isChecked() and not self.output_widget.filePath().strip()
        ready = (
            self.layer_combo.currentLayer() is not None and deps.torch_available() and not no_file
        )
        self.run_button.setEnabled(run is not None or ready)
        if no_file and run is None:
            self.run_button.setToolTip(self.tr("Choose an output file, or pick Temporary layer."))
        else:
            self.run_button.setToolTip(self.tr(
                "Run Detect clouds (Processing) on the layer; while it runs, cancel it."))
        self.progress.setTextVisible(run is not None)
        self.progress.setValue(int(run.progress) if run is not None else 0)

    # -------------------------------------------------------------------- runs
    def build_parameters(self) -> dict[str, Any]:
        """Return the parameters of ``cloud_fcn:detectclouds`` the widgets describe.

        Only what the user chose is passed: unset bands follow the layer's band
        descriptions and an untouched threshold is the model's, as in the toolbox.
        """
        layer = self.layer_combo.currentLayer()
        parameters: dict[str, Any] = {
            "INPUT": layer.source() if layer is not None else None,
            "PRODUCT": self.product_combo.currentIndex(),
            "MODEL_CHOICE": self.model_combo.currentIndex(),
            "BATCH_SIZE": self.batch_spin.value(),
            "DEVICE": self.device_combo.currentIndex(),
        }
        if self.bands_set_by_user and not (self.input and self.input.is_product):
            for key, combo in zip(BAND_KEYS, self.band_combos, strict=True):
                if combo.currentBand() > 0:
                    parameters[key] = combo.currentBand()
        if self.threshold_set_by_user:
            parameters["THRESHOLD"] = self.threshold()
        if self._weights() is not None:
            parameters["MODEL"] = str(self._weights())
        if self.tile_spin.value() != self.tile_spin.minimum():
            parameters["TILE_SIZE"] = self.tile_spin.value()
        if self.overlap_spin.value() != self.overlap_spin.minimum():
            parameters["OVERLAP"] = self.overlap_spin.value()
        if self.file_radio.isChecked():
            parameters["OUTPUT"] = self.output_widget.filePath().strip()
        else:
            parameters["OUTPUT"] = "TEMPORARY_OUTPUT"
        if "BUFFER" in self.workflow_keys and self.buffer_spin.value() > 0:
            parameters["BUFFER"] = self.buffer_spin.value()
        if "MIN_SIZE" in self.workflow_keys and self.min_size_spin.value() > 0:
            parameters["MIN_SIZE"] = self.min_size_spin.value()
        for key, check, widget in (("MASKED_IMAGE", self.masked_check, self.masked_widget),
                                   ("POLYGONS", self.polygons_check, self.polygons_widget)):
            if key in self.workflow_keys and check.isChecked():
                parameters[key] = widget.filePath().strip() or "TEMPORARY_OUTPUT"
        return parameters

    def _on_run_clicked(self) -> None:
        run = self._current_run()
        if run is not None:
            if run.task is not None:
                run.task.cancel()
            return
        layer = self.layer_combo.currentLayer()
        if layer is None:
            return
        parameters = self.build_parameters()
        self.params_built.emit(parameters)
        self.start_run(layer, parameters)

    def start_run(self, layer: QgsRasterLayer, parameters: dict[str, Any]) -> PanelRun | None:
        """Run the algorithm on ``layer`` in QGIS's task manager, as the toolbox does."""
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALGORITHM_ID)
        if algorithm is None:
            self._push(self.tr("The Processing algorithm {id} is not registered.").format(
                id=ALGORITHM_ID), Qgis.MessageLevel.Critical)
            return None
        feedback = PanelFeedback()
        context = processing_context(feedback)
        ok, message = algorithm.checkParameterValues(parameters, context)
        if not ok:
            self._push(message, Qgis.MessageLevel.Warning)
            return None
        run = PanelRun(
            layer.id(), layer.name(), parameters, context, feedback,
            temporary=parameters["OUTPUT"] == "TEMPORARY_OUTPUT",
        )
        self.runs[layer.id()] = run
        record_in_history(algorithm, parameters, context)
        feedback.progressChanged.connect(lambda value, r=run: self._on_progress(r, value))
        task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
        task.setDescription(self.tr("Detect clouds in {layer}").format(layer=layer.name()))
        run.task = task
        self.outcomes.pop(layer.id(), None)
        self._show_outcome(layer)
        self._update_run_button()
        if task.isCanceled():  # the algorithm's prepare step refused
            self._on_executed(run, False, {})
            return run
        task.executed.connect(lambda ok, results, r=run: self._on_executed(r, ok, results))
        QgsApplication.taskManager().addTask(task)
        return run

    def _on_progress(self, run: PanelRun, value: float) -> None:
        run.progress = value
        if self._current_run() is run:
            self.progress.setValue(int(value))

    def _on_executed(self, run: PanelRun, ok: bool, results: dict) -> None:
        """The task's completion slot, on the GUI thread: add the mask, show the outcome."""
        self.runs.pop(run.layer_id, None)
        run.task = None
        warnings = list(dict.fromkeys(run.feedback.warnings))
        if ok:
            outcome = self._add_mask(run, results, warnings)
        elif run.feedback.isCanceled():
            outcome = LayerOutcome(self.tr("Cloud cover: canceled"), warnings=warnings)
            self._push(self.tr("Cloud detection in {layer} was canceled.").format(
                layer=run.layer_name), Qgis.MessageLevel.Info)
        else:
            error = next((e for e in reversed(run.feedback.errors) if e.strip()), "")
            error = error.strip() or self.tr("Cloud detection in {layer} failed.").format(
                layer=run.layer_name)
            outcome = LayerOutcome(self.tr("Cloud cover: failed"), error, warnings)
            self._push(error, Qgis.MessageLevel.Critical)
        for warning in warnings:
            QgsMessageLog.logMessage(warning, LOG_TAG, Qgis.MessageLevel.Warning)
        if warnings:
            self.iface.messageBar().pushMessage(
                LOG_TAG, " ".join(warnings), level=Qgis.MessageLevel.Warning, duration=15
            )
        if outcome is not None:
            self.outcomes[run.layer_id] = outcome
        layer = self.layer_combo.currentLayer()
        if layer is not None and layer.id() == run.layer_id:
            self._show_outcome(layer)
            self.progress.setValue(100 if ok else 0)
        self._update_run_button()
        if ok and layer is not None and layer.id() == run.layer_id:
            self.progress.setTextVisible(True)
            self.progress.setValue(100)
        self.run_finished.emit(ok, results)

    def _add_mask(self, run: PanelRun, results: dict, warnings: list[str]) -> LayerOutcome:
        output = results.get("OUTPUT")
        name = mask_layer_name(
            run.layer_name, results.get("USED_MODEL"), results.get("USED_THRESHOLD"),
            temporary=run.temporary,
        )
        mask = QgsRasterLayer(str(output), name, "gdal")
        if not mask.isValid():
            error = self.tr("The mask {path} could not be loaded.").format(path=output)
            self._push(error, Qgis.MessageLevel.Critical)
            return LayerOutcome(self.tr("Cloud cover: failed"), error, warnings)
        style_mask_layer(mask)
        cover = float(results.get("CLOUD_COVER", 0.0))
        set_layer_abstract(mask, mask_abstract(run.layer_name, {
            "model": results.get("USED_MODEL"), "threshold": results.get("USED_THRESHOLD"),
            "device": results.get("USED_DEVICE"), "cloud_cover": cover,
        }))
        self.mask_ids.add(mask.id())
        self._add_extra_outputs(run, results)
        _add_above(mask, run.layer_id)
        device = str(results.get("USED_DEVICE", ""))
        details = self.tr("{model}, threshold {threshold:.3f}, ran on {device}.").format(
            model=results.get("USED_MODEL"), threshold=float(results.get("USED_THRESHOLD", 0)),
            device=self.tr(DEVICE_NAMES.get(device.split(":")[0], device)),
        )
        if run.temporary:
            note = self.tr(
                "The mask is a temporary file: it is lost when QGIS exits unless you save it "
                "(Export > Save As)."
            )
            details += " " + note
            self._push(note, Qgis.MessageLevel.Info)
        self.mask_added.emit(mask)
        return LayerOutcome(
            self.tr("Cloud cover: {cover:.2f} % ({layer})").format(
                cover=cover, layer=run.layer_name),
            details, warnings,
        )

    def _add_extra_outputs(self, run: PanelRun, results: dict) -> None:
        """Add the masked image and the cloud polygons a run wrote, above its source.

        They are named as the toolbox names them; a temporary file says so.
        """
        masked = results.get("MASKED_IMAGE")
        if masked and run.parameters.get("MASKED_IMAGE"):
            name = self.tr("{name} without clouds").format(name=run.layer_name)
            layer = QgsRasterLayer(str(masked), _temporary_name(name, masked), "gdal")
            if layer.isValid():
                self.mask_ids.add(layer.id())
                _add_above(layer, run.layer_id)
        polygons = results.get("POLYGONS")
        if polygons and run.parameters.get("POLYGONS"):
            name = self.tr("{name} cloud polygons").format(name=run.layer_name)
            layer = QgsVectorLayer(str(polygons), _temporary_name(name, polygons), "ogr")
            if layer.isValid():
                style_polygon_layer(layer)
                self.mask_ids.add(layer.id())
                _add_above(layer, run.layer_id)

    def _push(self, text: str, level) -> None:
        self.iface.messageBar().pushMessage(LOG_TAG, text, level=level, duration=10)
        QgsMessageLog.logMessage(text, LOG_TAG, level)

    def open_installer(self) -> None:
        """Open the PyTorch installer; refresh the panel when it succeeds."""
        from .installer import TorchInstallerDialog

        dialog = TorchInstallerDialog(self)
        dialog.completed.connect(lambda _ok: self.refresh_dependencies())
        dialog.show()
        self._installer = dialog

    def shutdown(self) -> None:
        """Cancel this panel's running tasks (on unload)."""
        for run in list(self.runs.values()):
            if run.task is not None:
                with contextlib.suppress(RuntimeError):  # already deleted by the manager
                    run.task.cancel()
        self.runs.clear()


def _describe(widget: QWidget, name: str, tip: str) -> None:
    """Give a control its accessible name and tooltip."""
    widget.setAccessibleName(name)
    widget.setToolTip(tip)


def _wrappable(text: str) -> str:
    """Let a label break long words (file names, paths) with zero-width spaces."""
    for char in _BREAK_AFTER:
        text = text.replace(char, char + "\u200b")
    return text


def _wrapping_label(text: str = "") -> QLabel:
    """A label that wraps and never asks for more width than the dock has."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    label.setMinimumWidth(20)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _temporary_name(name: str, path: str) -> str:
    """Add the temporary marker to ``name`` when ``path`` is in Processing's temporary folder."""
    folder = Path(QgsProcessingUtils.tempFolder()).resolve()
    if folder in Path(path).resolve().parents:
        return f"{name} {TEMPORARY_SUFFIX}"
    return name


def _output_file_widget(file_filter: str) -> QgsFileWidget:
    """File widget for an optional output file."""
    widget = QgsFileWidget()
    widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
    widget.setFilter(file_filter)
    return widget


def _optional_spin(minimum: int, maximum: int, special: str) -> QSpinBox:
    """Spin box whose minimum means "not set"."""
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSpecialValueText(special)
    spin.setValue(minimum)
    return spin


def _add_above(layer: QgsRasterLayer, source_id: str) -> None:
    """Add ``layer`` to the project just above the layer it was computed from."""
    project = QgsProject.instance()
    project.addMapLayer(layer, False)
    root = project.layerTreeRoot()
    node = root.findLayer(source_id)
    if node is None:
        root.insertLayer(0, layer)
        return
    parent = node.parent()
    parent.insertLayer(parent.children().index(node), layer)
