"""The "Detect clouds" dock panel.

The panel only collects values: it builds one frozen ``DetectionParams`` (emitted
as ``params_built``), hands it to a :class:`DetectCloudsTask`, and touches layers
and widgets again when the task reports back on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapLayer,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
)
from qgis.gui import (
    QgsCollapsibleGroupBox,
    QgsDockWidget,
    QgsFileWidget,
    QgsMapLayerComboBox,
    QgsRasterBandComboBox,
)
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import deps
from ..common.choices import (
    BAND_ROLES,
    DEVICE_CHOICES,
    LEVEL_NAMES,
    MODEL_CHOICES,
    PRODUCT_CHOICES,
)
from ..common.engine_call import default_threshold, model_checkpoint
from ..common.layer_input import LayerInput, describe_layer
from ..common.style import mask_layer_name, style_mask_layer
from ..compat import RASTER_FILTER
from ..engine.errors import ParameterError
from ..engine.params import DetectionParams
from .task import LOG_TAG, DetectCloudsTask

SLIDER_SCALE = 1000  # slider steps per unit of probability: 0.001 resolution


class DetectCloudsDock(QgsDockWidget):
    """Panel that detects clouds in the chosen raster layer.

    Signals:
        params_built: the ``DetectionParams`` of a run, emitted when Run is clicked.
        mask_added: the styled mask ``QgsRasterLayer`` once it is in the project.
    """

    params_built = pyqtSignal(object)
    mask_added = pyqtSignal(object)

    def __init__(self, iface, parent: QWidget | None = None) -> None:
        super().__init__("Detect clouds", parent)
        self.setObjectName("CloudFcnDetectCloudsDock")
        self.iface = iface
        self.tasks: dict[str, DetectCloudsTask] = {}
        self.mask_ids: set[str] = set()
        self.input: LayerInput | None = None
        self._build()
        self.refresh_dependencies()
        # Reading the weights' threshold imports torch (seconds): wait until the panel shows.
        self._threshold_loaded = False
        self.layer_combo.layerChanged.connect(self._on_layer_changed)
        self._on_layer_changed(self.layer_combo.currentLayer())

    # ----------------------------------------------------------------- building
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)

        self.torch_frame = QFrame()
        torch_layout = QVBoxLayout(self.torch_frame)
        torch_layout.setContentsMargins(0, 0, 0, 0)
        self.torch_label = QLabel(deps.missing_torch_message())
        self.torch_label.setWordWrap(True)
        self.install_button = QPushButton("Install PyTorch")
        self.install_button.clicked.connect(self.open_installer)
        torch_layout.addWidget(self.torch_label)
        torch_layout.addWidget(self.install_button)
        layout.addWidget(self.torch_frame)

        form = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(RASTER_FILTER)
        form.addRow("Input layer", self.layer_combo)
        self.level_label = QLabel()
        self.level_label.setWordWrap(True)
        form.addRow("Detected", self.level_label)
        self.product_combo = QComboBox()
        for code, label in PRODUCT_CHOICES:
            self.product_combo.addItem(label, code)
        form.addRow("Product level", self.product_combo)
        self.model_combo = QComboBox()
        for code, label in MODEL_CHOICES:
            self.model_combo.addItem(label, code)
        self.model_combo.setToolTip(
            "The full-band model reads B2-B7, cirrus and thermal from a Landsat product; "
            "automatic takes it only where it scored better under cross-validation."
        )
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        form.addRow("Model", self.model_combo)
        self.band_combos: list[QgsRasterBandComboBox] = []
        for role in BAND_ROLES:
            combo = QgsRasterBandComboBox()
            self.band_combos.append(combo)
            form.addRow(f"{role[0].upper()}{role[1:]} band", combo)
        self.band_note = QLabel()
        self.band_note.setWordWrap(True)
        form.addRow("", self.band_note)

        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, SLIDER_SCALE - 1)
        self.threshold_slider.setPageStep(SLIDER_SCALE // 20)
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(40)
        self.threshold_slider.valueChanged.connect(self._show_threshold)
        # Untouched, the slider follows the model that runs; moved, it is the user's value.
        self.threshold_set_by_user = False
        self.threshold_slider.sliderMoved.connect(self._on_threshold_moved)
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider)
        row.addWidget(self.threshold_label)
        form.addRow("Threshold", row)
        self.threshold_note = QLabel()
        self.threshold_note.setWordWrap(True)
        form.addRow("", self.threshold_note)

        self.temporary_radio = QRadioButton("Temporary layer")
        self.file_radio = QRadioButton("File")
        self.temporary_radio.setChecked(True)
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.output_widget.setFilter("GeoTIFF (*.tif *.tiff)")
        self.output_widget.setEnabled(False)
        self.file_radio.toggled.connect(self.output_widget.setEnabled)
        row = QHBoxLayout()
        row.addWidget(self.temporary_radio)
        row.addWidget(self.file_radio)
        form.addRow("Output", row)
        form.addRow("", self.output_widget)
        layout.addLayout(form)

        self.advanced = QgsCollapsibleGroupBox("Advanced")
        self.advanced.setCollapsed(True)
        advanced_form = QFormLayout(self.advanced)
        self.model_widget = QgsFileWidget()
        self.model_widget.setFilter("Cloud FCN weights (*.safetensors *.pt *.pth)")
        self.model_widget.setToolTip("Empty: the bundled model chosen above.")
        self.model_widget.fileChanged.connect(self._on_model_changed)
        advanced_form.addRow("Model file", self.model_widget)
        self.tile_spin = _optional_spin(31, 4096, "Model default")
        advanced_form.addRow("Tile size", self.tile_spin)
        self.overlap_spin = _optional_spin(-1, 2048, "Model default")
        advanced_form.addRow("Overlap", self.overlap_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 256)
        self.batch_spin.setValue(4)
        advanced_form.addRow("Tiles per batch", self.batch_spin)
        self.device_combo = QComboBox()
        for code, label in DEVICE_CHOICES:
            self.device_combo.addItem(label, code)
        advanced_form.addRow("Device", self.device_combo)
        layout.addWidget(self.advanced)

        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self._on_run_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.cover_label = QLabel("Cloud cover: –")
        layout.addWidget(self.run_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.cover_label)
        layout.addStretch(1)
        self.setWidget(body)

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
        """Return the threshold the slider shows."""
        return self.threshold_slider.value() / SLIDER_SCALE

    def set_threshold(self, value: float) -> None:
        """Set the user's threshold ``value`` (0..1): runs use it instead of the model's."""
        self.threshold_slider.setValue(round(value * SLIDER_SCALE))
        self._on_threshold_moved()

    def showEvent(self, event) -> None:
        """Read the model's calibrated threshold the first time the panel appears."""
        if not self._threshold_loaded:
            self._on_model_changed()
        super().showEvent(event)

    def _show_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / SLIDER_SCALE:.3f}")

    def _on_threshold_moved(self, *_args) -> None:
        self.threshold_set_by_user = True
        self.threshold_note.setText("Your threshold (change the model to reset it).")

    def _on_model_changed(self, *_args) -> None:
        self._threshold_loaded = True
        self.threshold_set_by_user = False
        path = self._weights() or model_checkpoint(
            self.model_combo.currentData(), self.input.path if self.input else None
        )
        value, note = default_threshold(path)
        self.threshold_slider.setValue(round(value * SLIDER_SCALE))
        self._show_threshold(self.threshold_slider.value())
        self.threshold_note.setText(note or f"Calibrated threshold of {path.name}.")

    def _weights(self) -> Path | None:
        text = self.model_widget.filePath().strip()
        return Path(text) if text else None

    def _on_layer_changed(self, layer: QgsMapLayer | None) -> None:
        for combo in self.band_combos:
            combo.setLayer(layer)
        self.input = describe_layer(layer) if isinstance(layer, QgsRasterLayer) else None
        info = self.input
        if info is None:
            self.level_label.setText("Choose a raster layer.")
            self.band_note.setText("")
        else:
            level = LEVEL_NAMES.get(info.level or "", "Unknown product level")
            # The engine's reason already names the level; fall back to the bare name.
            self.level_label.setText(info.level_reason or f"{level}.")
            if info.is_product:
                self.band_note.setText(
                    f"Landsat product folder {info.path.name}: the red, green, blue and NIR "
                    "files are found by name."
                )
            else:
                self.band_note.setText("")
                for combo, band in zip(self.band_combos, info.bands or (), strict=False):
                    combo.setBand(band)
        for combo in self.band_combos:
            combo.setEnabled(info is not None and not info.is_product)
        if self._threshold_loaded and not self.threshold_set_by_user:
            self._on_model_changed()  # automatic choice may differ for this layer
        self._update_run_button()

    def _current_task(self) -> DetectCloudsTask | None:
        layer = self.layer_combo.currentLayer()
        return self.tasks.get(layer.id()) if layer is not None else None

    def _update_run_button(self) -> None:
        task = self._current_task()
        self.run_button.setText("Cancel" if task is not None else "Run")
        ready = self.layer_combo.currentLayer() is not None and deps.torch_available()
        self.run_button.setEnabled(task is not None or ready)
        self.progress.setValue(int(task.progress()) if task is not None else 0)

    # -------------------------------------------------------------------- runs
    def build_params(self) -> DetectionParams:
        """Return the frozen parameters the widgets describe.

        Raises:
            ParameterError: no layer chosen, or the widgets hold an invalid combination.
        """
        if self.input is None:
            raise ParameterError("Choose a raster layer to detect clouds in.")
        if not self._threshold_loaded:
            self._on_model_changed()
        bands = None
        if not self.input.is_product:
            bands = tuple(combo.currentBand() for combo in self.band_combos)
            if min(bands) < 1:
                raise ParameterError("Choose the red, green, blue and NIR bands.")
        tile = self.tile_spin.value()
        overlap = self.overlap_spin.value()
        return DetectionParams(
            bands=bands,
            product=self.product_combo.currentData(),
            threshold=self.threshold() if self.threshold_set_by_user else None,
            weights=self._weights(),
            model=self.model_combo.currentData(),
            tile_size=None if tile == self.tile_spin.minimum() else tile,
            overlap=None if overlap == self.overlap_spin.minimum() else overlap,
            batch_size=self.batch_spin.value(),
            device=self.device_combo.currentData(),
            # A file chosen through the save dialog was confirmed there.
            overwrite=True,
        )

    def output_path(self, layer: QgsRasterLayer) -> Path:
        """Return where the mask goes: a new temporary file or the chosen file."""
        if self.file_radio.isChecked():
            text = self.output_widget.filePath().strip()
            if not text:
                raise ParameterError("Choose an output file, or pick Temporary layer.")
            path = Path(text)
            return path if path.suffix.lower() in (".tif", ".tiff") else path.with_suffix(".tif")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in layer.name()) or "layer"
        return Path(QgsProcessingUtils.generateTempFilename(f"{safe}_clouds.tif"))

    def _on_run_clicked(self) -> None:
        task = self._current_task()
        if task is not None:
            task.cancel()
            return
        layer = self.layer_combo.currentLayer()
        try:
            params = self.build_params()
            output = self.output_path(layer)
        except ParameterError as exc:
            self._push(str(exc), Qgis.MessageLevel.Warning)
            return
        self.params_built.emit(params)
        self.start_task(layer, params, output)

    def start_task(
        self, layer: QgsRasterLayer, params: DetectionParams, output: Path
    ) -> DetectCloudsTask:
        """Queue a detection of ``layer`` in QGIS's task manager."""
        source = describe_layer(layer)
        task = DetectCloudsTask(
            f"Detect clouds in {layer.name()}", source.path, output, params, layer.id()
        )
        layer_id, name = layer.id(), layer.name()
        task.succeeded.connect(lambda result: self._on_succeeded(layer_id, name, result))
        task.failed.connect(lambda error: self._on_failed(layer_id, name, error))
        task.progressChanged.connect(lambda value: self._on_progress(layer_id, value))
        self.tasks[layer_id] = task
        self.cover_label.setText("Cloud cover: running…")
        QgsApplication.taskManager().addTask(task)
        self._update_run_button()
        return task

    def _on_progress(self, layer_id: str, value: float) -> None:
        layer = self.layer_combo.currentLayer()
        if layer is not None and layer.id() == layer_id:
            self.progress.setValue(int(value))

    def _on_succeeded(self, layer_id: str, name: str, result) -> None:
        self.tasks.pop(layer_id, None)
        mask = QgsRasterLayer(str(result.output), mask_layer_name(name), "gdal")
        if not mask.isValid():
            self._on_failed(layer_id, name, f"The mask {result.output} could not be loaded.")
            return
        style_mask_layer(mask)
        self.mask_ids.add(mask.id())
        _add_above(mask, layer_id)
        self.cover_label.setText(f"Cloud cover: {result.cloud_cover:.2f} % ({name})")
        self._update_run_button()
        if self._current_task() is None:
            self.progress.setValue(100)
        self.mask_added.emit(mask)

    def _on_failed(self, layer_id: str, name: str, error: str) -> None:
        self.tasks.pop(layer_id, None)
        if error:
            self._push(error, Qgis.MessageLevel.Critical)
            self.cover_label.setText("Cloud cover: failed")
        else:
            self._push(f"Cloud detection in {name} was canceled.", Qgis.MessageLevel.Info)
            self.cover_label.setText("Cloud cover: canceled")
        self._update_run_button()

    def _push(self, text: str, level) -> None:
        self.iface.messageBar().pushMessage("Cloud FCN", text, level=level, duration=10)
        from qgis.core import QgsMessageLog

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
        for task in list(self.tasks.values()):
            task.cancel()
        self.tasks.clear()


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
