"""The "Detect clouds and shadows" dock panel: a front end of ``cloud_fcn:detectclouds``.

The panel only collects values (:mod:`.form`). Run builds the algorithm's parameter
dict (emitted as ``params_built``) and runs the algorithm with
``QgsProcessingAlgRunnerTask``, as QGIS's own algorithm dialog does: the same checks,
messages, warnings and Processing history entry as the toolbox. The feedback's
progress drives the progress bar, Cancel cancels the task, and the outputs are added
to the map (:mod:`.results`, :mod:`.placement`) in the task's completion slot, on the
GUI thread.
"""

from __future__ import annotations

import contextlib
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapLayer,
    QgsMessageLog,
    QgsRasterLayer,
)
from qgis.gui import QgsDockWidget, QgsMessageBarItem
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QFrame,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .. import deps
from ..common.engine_text import translate_engine
from ..common.names import run_label
from ..common.run_group import RunGroup
from ..translation import tr
from .advanced_box import DEVICE_NAMES
from .follow_ups import RETHRESHOLD_DELAY_MS, FollowUps
from .form import SETTINGS_GROUP, ParametersForm
from .live_threshold import KeptRun, RethresholdTask
from .results import (
    LayerOutcome,
    cover_sentence,
    load_extra_outputs,
    load_mask,
)
from .runner import (
    ALGORITHM_ID,
    PanelFeedback,
    PanelRun,
    PanelTask,
    processing_context,
    record_in_history,
)
from .widgets import describe, wrappable, wrapping_label

__all__ = ["SETTINGS_GROUP", "DetectCloudsDock", "LayerOutcome"]

LOG_TAG = "Cloud FCN"


class DetectCloudsDock(FollowUps, QgsDockWidget):
    """Panel that runs ``cloud_fcn:detectclouds`` on the chosen raster layer.

    Signals:
        params_built: the algorithm's parameter dict of a run, emitted when Run is clicked.
        mask_added: the styled mask ``QgsRasterLayer`` once it is in the project.
        run_finished: ``(ok, results)`` of every run, after the panel has shown them.
        rethresholded: ``(ok, mask layer or None)`` once a new threshold, sieve or buffer
            was applied to the last run's kept probability (:mod:`.live_threshold`).
        qa_mask_added: the product QA band's mask layer, loaded beside a run's mask when
            the user asked for it (``None`` when it could not be made).
    """

    params_built = pyqtSignal(object)
    mask_added = pyqtSignal(object)
    run_finished = pyqtSignal(bool, object)
    rethresholded = pyqtSignal(bool, object)
    qa_mask_added = pyqtSignal(object)

    def __init__(self, iface, parent: QWidget | None = None) -> None:
        super().__init__(
            QCoreApplication.translate("DetectCloudsDock", "Detect clouds and shadows"), parent)
        self.setObjectName("CloudFcnDetectCloudsDock")
        self.iface = iface
        self.runs: dict[str, PanelRun] = {}
        self.outcomes: dict[str, LayerOutcome] = {}
        self.mask_ids: set[str] = set()
        #: The package the banner offers to install (``torch``, ``onnxruntime``), if any.
        self.missing_package: str | None = None
        #: Input layer id -> its last run, kept for re-thresholding.
        self.kept: dict[str, KeptRun] = {}
        self._rethreshold_task: RethresholdTask | None = None
        #: Input layer id -> the message bar entries its last run or threshold pushed
        #: (replaced by the next ones, never left stale beside them).
        self._bar_items: dict[str, list] = {}
        #: The product QA band runs started beside a network run (kept until they end).
        self._qa_tasks: list[PanelTask] = []
        self._rethreshold_timer = QTimer(self)
        self._rethreshold_timer.setSingleShot(True)
        self._rethreshold_timer.setInterval(RETHRESHOLD_DELAY_MS)
        self._rethreshold_timer.timeout.connect(self._rethreshold_now)
        self._build()
        self.form.restore_settings()
        self.refresh_dependencies()
        # Reading the weights' threshold and the devices imports torch (seconds): that
        # waits until the panel shows (showEvent).
        self.form.changed.connect(self._update_run_button)
        for signal in (self.form.threshold_row.user_changed,
                       self.form.threshold_row.reset_requested,
                       self.form.workflow.buffer_spin.valueChanged,
                       self.form.workflow.min_size_spin.valueChanged):
            signal.connect(self._schedule_rethreshold)
        # An .onnx model file needs ONNX Runtime: its banner follows the file chosen.
        self.form.advanced.model_widget.fileChanged.connect(self.refresh_dependencies)
        self.layer_combo.layerChanged.connect(self._show_outcome)
        self._show_outcome(self.layer_combo.currentLayer())

    # ----------------------------------------------------------------- building
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)

        self.torch_frame = QFrame()
        torch_layout = QVBoxLayout(self.torch_frame)
        torch_layout.setContentsMargins(0, 0, 0, 0)
        self.torch_label = wrapping_label(deps.missing_torch_message())
        self.install_button = QPushButton(self.tr("Install PyTorch"))
        describe(self.install_button, self.tr("Install PyTorch"),
                 self.tr("Install PyTorch into a folder the plugin owns, showing pip's output."))
        self.install_button.clicked.connect(self.open_installer)
        torch_layout.addWidget(self.torch_label)
        torch_layout.addWidget(self.install_button)
        layout.addWidget(self.torch_frame)

        self.form = ParametersForm()
        #: The input layer combo (the panel follows the active layer through it).
        self.layer_combo = self.form.layer_combo
        layout.addWidget(self.form)

        # Why Run is disabled, in the engine's words, right where the user looks for Run.
        self.problem_label = wrapping_label()
        self.problem_label.setAccessibleName(self.tr("Why the run cannot start"))
        self.problem_label.setStyleSheet("QLabel { color: #b00020; }")
        self.problem_label.setVisible(False)
        layout.addWidget(self.problem_label)

        self.run_button = QPushButton(self.tr("Run"))
        describe(self.run_button, self.tr("Run"), self.tr(
            "Run Detect clouds and shadows (Processing) on the layer; while it runs, cancel "
            "it."))
        self.run_button.clicked.connect(self._on_run_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # no "0%" before any run
        self.progress.setAccessibleName(self.tr("Progress"))
        self.cover_label = wrapping_label(self.tr("Cloud cover: –"))
        self.cover_label.setAccessibleName(self.tr("Cloud cover"))
        self.details_label = wrapping_label()
        self.details_label.setAccessibleName(self.tr("Run details"))
        self.warnings_label = wrapping_label()
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

    # ------------------------------------------------------------------ state
    def follow_layer(self, layer: QgsMapLayer | None) -> None:
        """Select the active layer when it is a raster (connected to currentLayerChanged).

        Masks this panel made are skipped: QGIS makes a new layer current, and the
        panel should stay on the scene the user is working on.
        """
        if isinstance(layer, QgsRasterLayer) and layer.id() not in self.mask_ids:
            self.layer_combo.setLayer(layer)

    def refresh_dependencies(self, *_args) -> None:
        """Show the banner of a missing package and block Run while it is missing.

        PyTorch always; ONNX Runtime too when the model file is an ``.onnx`` model.
        """
        deps.add_deps_to_path()
        self.missing_package = None
        weights = self.form.advanced.weights()
        if not deps.torch_available():
            self.missing_package = "torch"
            self.torch_label.setText(deps.missing_torch_message())
            self.install_button.setText(self.tr("Install PyTorch"))
        elif (
            weights is not None and weights.suffix.lower() == ".onnx"
            and not deps.onnxruntime_available()
        ):
            self.missing_package = "onnxruntime"
            self.torch_label.setText(deps.missing_onnxruntime_message(weights.name))
            self.install_button.setText(self.tr("Install ONNX Runtime"))
        self.install_button.setAccessibleName(self.install_button.text())
        self.torch_frame.setVisible(self.missing_package is not None)
        self._update_run_button()

    def showEvent(self, event) -> None:
        """Read the model's threshold and the available devices the first time it shows."""
        self.form.load_model_threshold()
        if not self.form.advanced.devices_checked:
            self.form.advanced.check_devices()
        super().showEvent(event)

    def _show_outcome(self, layer: QgsMapLayer | None) -> None:
        """Show the current layer's last result (never another layer's)."""
        run = self.runs.get(layer.id()) if layer is not None else None
        outcome = self.outcomes.get(layer.id()) if layer is not None else None
        if run is not None:
            self.cover_label.setText(self.tr("Cloud cover: running…"))
            self.details_label.setText("")
            self.warnings_label.setText("")
        elif outcome is not None:
            self.cover_label.setText(wrappable(outcome.cover))
            self.details_label.setText(wrappable(outcome.details))
            self.warnings_label.setText(wrappable("\n".join(outcome.warnings)))
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
        no_file = self.form.output_missing()
        problem = self.form.problem
        ready = (
            self.layer_combo.currentLayer() is not None and self.missing_package is None
            and not no_file and problem is None
        )
        self.run_button.setEnabled(run is not None or ready)
        self.problem_label.setText(wrappable(problem or ""))
        self.problem_label.setVisible(problem is not None)
        if problem is not None and run is None:
            self.run_button.setToolTip(problem)
        elif no_file and run is None:
            self.run_button.setToolTip(self.tr("Choose an output file, or pick Temporary layer."))
        else:
            self.run_button.setToolTip(self.tr(
                "Run Detect clouds and shadows (Processing) on the layer; while it runs, "
                "cancel it."))
        self.progress.setTextVisible(run is not None)
        self.progress.setValue(int(run.progress) if run is not None else 0)

    # -------------------------------------------------------------------- runs
    def build_parameters(self) -> dict[str, Any]:
        """Return the parameters of ``cloud_fcn:detectclouds`` the form describes."""
        return self.form.build_parameters()

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
        shown = "PROBABILITY" in parameters  # the user asked to see it
        if self._can_keep_probability(parameters):
            parameters.setdefault("PROBABILITY", "TEMPORARY_OUTPUT")  # kept for a new threshold
        self.params_built.emit(parameters)
        self.start_run(layer, parameters, load_probability=shown)

    def start_run(self, layer: QgsRasterLayer, parameters: dict[str, Any], *,
                  load_probability: bool | None = None) -> PanelRun | None:
        """Run the algorithm on ``layer`` in QGIS's task manager, as the toolbox does.

        ``load_probability``: whether to load the probability layer (by default: when
        ``parameters`` ask for it; a probability kept only for re-thresholding is not).
        """
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
            settings=self.form.run_settings(),
            input_path=self.form.input.path if self.form.input else None,
            load_probability=("PROBABILITY" in parameters if load_probability is None
                              else load_probability),
            qa_beside=self.form.qa_beside(),
        )
        self.runs[layer.id()] = run
        self._clear_bar(layer.id())  # the last run's figures are stale from now on
        record_in_history(algorithm, parameters, context)
        feedback.progressChanged.connect(lambda value, r=run: self._on_progress(r, value))
        canceled = self.tr("Detect clouds and shadows in {layer}: canceled").format(
            layer=layer.name())
        run.task_description = canceled
        task = PanelTask(algorithm, parameters, context, feedback, canceled)
        task.setDescription(
            self.tr("Detect clouds and shadows in {layer}").format(layer=layer.name()))
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
        ok = ok and not run.feedback.isCanceled()  # the task completes after a clean cancel
        warnings = list(dict.fromkeys(run.feedback.warnings))
        if ok:
            outcome = self._add_outputs(run, results, warnings)
        elif run.feedback.isCanceled():
            outcome = LayerOutcome(self.tr("Cloud cover: canceled"), warnings=warnings)
            if run.task_description:  # QGIS 3.22 announces it as "Task complete"
                QTimer.singleShot(0, lambda text=run.task_description: self._drop_notice(text))
            self._push(self.tr("Cloud detection in {layer} was canceled.").format(
                layer=run.layer_name), Qgis.MessageLevel.Info, run.layer_id)
        else:
            error = next((e for e in reversed(run.feedback.errors) if e.strip()), "")
            error = error.strip() or self.tr("Cloud detection in {layer} failed.").format(
                layer=run.layer_name)
            outcome = LayerOutcome(self.tr("Cloud cover: failed"), error, warnings)
            self._push(error, Qgis.MessageLevel.Critical, run.layer_id)
        for warning in warnings:
            QgsMessageLog.logMessage(warning, LOG_TAG, Qgis.MessageLevel.Warning)
        if warnings:
            self._push(" ".join(warnings), Qgis.MessageLevel.Warning, run.layer_id,
                       duration=15, log=False)
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

    def _add_outputs(self, run: PanelRun, results: dict, warnings: list[str]) -> LayerOutcome:
        """Add the mask and the extra outputs to the project; return what to show."""
        self._clear_bar(run.layer_id)  # a re-threshold's, if one ended meanwhile
        mask = load_mask(run, results)
        if not mask.isValid():
            error = self.tr("The mask {path} could not be loaded.").format(
                path=results.get("OUTPUT"))
            self._push(error, Qgis.MessageLevel.Critical, run.layer_id)
            return LayerOutcome(self.tr("Cloud cover: failed"), error, warnings)
        group = RunGroup(run.layer_name, run_label(
            results.get("USED_MODEL"), results.get("USED_THRESHOLD"), run.settings))
        layers = {}
        for kind, layer in [("mask", mask), *load_extra_outputs(run, results)]:
            self.mask_ids.add(layer.id())
            group.add(layer, kind)
            layers[kind] = layer.id()
        qa_warnings = run.feedback.qa_warnings()
        self._keep(run, results, layers, group,
                   notes=[warning for warning in warnings if warning not in qa_warnings])
        device = str(results.get("USED_DEVICE", ""))
        threshold = float(results.get("USED_THRESHOLD") or 0.0)
        template = (self.tr("{model}, ran on {device}.") if threshold != threshold
                    else self.tr("{model}, threshold {threshold:.3f}, ran on {device}."))
        details = template.format(
            model=translate_engine(str(results.get("USED_MODEL", ""))), threshold=threshold,
            device=tr(DEVICE_NAMES.get(device.split(":")[0], device)),
        )
        if run.temporary:
            note = self.tr(
                "The mask is a temporary file: it is lost when QGIS exits unless you save it "
                "(Export > Save As)."
            )
            details += " " + note
            self._push(note, Qgis.MessageLevel.Info, run.layer_id)
        self.mask_added.emit(mask)
        if run.qa_beside:
            self._load_qa_beside(run, group)
        return LayerOutcome(
            cover_sentence(results, run.layer_name),
            details, warnings,
        )

    # ------------------------------------------------- product QA band beside the mask
    def _push(self, text: str, level, layer_id: str | None = None, *, duration: int = 10,
              log: bool = True) -> None:
        """Show ``text`` in the message bar (and the log); an entry about ``layer_id``'s
        run is replaced by that layer's next run or threshold (:meth:`_clear_bar`)."""
        item = QgsMessageBarItem(LOG_TAG, text, level, duration)
        self.iface.messageBar().pushItem(item)
        if layer_id is not None:
            self._bar_items.setdefault(layer_id, []).append(item)
        if log:
            QgsMessageLog.logMessage(text, LOG_TAG, level)

    def _drop_notice(self, description: str) -> None:
        """Take QGIS's own notice about a task the user canceled off the message bar.

        QGIS 3.22 has no silent task flag: ``QgisApp::onTaskCompleteShowNotify`` pushes
        "Task complete: <description>" for a task of ten seconds or more, in the message
        bar where the desktop has no notification area, right after the panel said
        "... was canceled.". A canceled run is not "complete": that notice goes.
        """
        bar = self.iface.messageBar()
        for item in list(bar.items()):
            with contextlib.suppress(RuntimeError):
                if item.text() == description and item.title() != LOG_TAG:
                    bar.popWidget(item)

    def _clear_bar(self, layer_id: str) -> None:
        """Take the message bar entries of ``layer_id``'s last run off the bar."""
        bar = self.iface.messageBar()
        for item in self._bar_items.pop(layer_id, []):
            with contextlib.suppress(RuntimeError):  # gone already (its time was up)
                if item in bar.items():
                    bar.popWidget(item)

    def open_installer(self) -> None:
        """Open the installer of the missing package; refresh the panel when it succeeds."""
        from .installer import TorchInstallerDialog

        dialog = TorchInstallerDialog(self, package=self.missing_package or "torch")
        dialog.completed.connect(lambda _ok: self.refresh_dependencies())
        dialog.show()
        self._installer = dialog

    def shutdown(self) -> None:
        """Cancel this panel's running tasks (on unload)."""
        self._rethreshold_timer.stop()
        if self._rethreshold_task is not None:
            with contextlib.suppress(RuntimeError):  # already deleted by the manager
                self._rethreshold_task.detach()
            self._rethreshold_task = None
        for task in self._qa_tasks:
            with contextlib.suppress(RuntimeError):  # already deleted by the manager
                task.cancel()
        for run in list(self.runs.values()):
            if run.task is not None:
                with contextlib.suppress(RuntimeError):  # already deleted by the manager
                    run.task.cancel()
        self.runs.clear()
