"""What the panel does after a run: keep it for the live threshold, load the QA band beside.

:class:`FollowUps` holds the dock's methods that act on a finished run: the product QA
band's mask loaded into the run's group on request, and the kept run whose mask a new
threshold re-makes in the background (:mod:`.live_threshold`). The dock
(:mod:`.dock`) mixes them in; they use its attributes (the form, the kept run, the
message bar entries).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..common.engine_text import translate_engine
from ..common.names import mask_layer_name
from ..common.run_group import RunGroup
from ..common.style import style_mask_layer
from .live_threshold import Finish, KeptRun, RethresholdTask, rerun_key, swap_layers
from .results import (
    LayerOutcome,
    rethreshold_outcome,
)
from .runner import (
    ALGORITHM_ID,
    PanelFeedback,
    PanelRun,
    PanelTask,
    processing_context,
)

#: A new threshold waits this long for the next one (a slider drag makes one task).
RETHRESHOLD_DELAY_MS = 150


# The dock's translation context: these are its sentences, moved here with its methods.
_translate = QCoreApplication.translate


class FollowUps:
    """The dock's follow-ups of a finished run (mixed into :class:`~.dock.DetectCloudsDock`)."""

    def _load_qa_beside(self, run: PanelRun, group: RunGroup) -> None:
        """Run the algorithm again with "Product QA band" on the run's input (a tenth of
        a second: no network) and put its mask, styled like the run's, into its group."""
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALGORITHM_ID)
        if algorithm is None:
            return
        qa_index = self.form.model_combo.findData("qa")
        parameters = {key: run.parameters[key] for key in (
            "INPUT", "PRODUCT", "BATCH_SIZE", "DEVICE", "MIN_SIZE", "BUFFER", "MASK_CLASSES")
            if key in run.parameters}
        parameters.update({"MODEL_CHOICE": qa_index, "OUTPUT": "TEMPORARY_OUTPUT"})
        feedback = PanelFeedback()
        context = processing_context(feedback)
        task = PanelTask(algorithm, parameters, context, feedback)
        task.setDescription(
            _translate("DetectCloudsDock", "Product QA band of {layer}")
            .format(layer=run.layer_name)
        )
        self._qa_tasks.append(task)
        # The context must outlive the task (QGIS keeps no reference to it).
        task.context = context
        task.executed.connect(lambda ok, results, t=task: self._on_qa_beside(
            run, group, t, ok, results))
        if task.isCanceled():  # the algorithm's prepare step refused
            self._on_qa_beside(run, group, task, False, {})
            return
        QgsApplication.taskManager().addTask(task)

    def _on_qa_beside(self, run: PanelRun, group: RunGroup, task: PanelTask, ok: bool,
                      results: dict) -> None:
        """Load the product QA band's mask into the run's group (GUI thread)."""
        with contextlib.suppress(ValueError):
            self._qa_tasks.remove(task)
        layer = None
        if ok and results.get("OUTPUT"):
            name = mask_layer_name(run.layer_name, results.get("USED_MODEL"), float("nan"),
                                   temporary=run.temporary, settings=run.settings)
            layer = QgsRasterLayer(str(results["OUTPUT"]), name, "gdal")
            if layer.isValid() and group.group() is not None:
                style_mask_layer(layer)
                self.mask_ids.add(layer.id())
                group.add(layer, "qa_mask")
            else:
                layer = None
        if layer is None:
            errors = [e.strip() for e in task.panel_feedback.errors if e.strip()]
            self._push(_translate("DetectCloudsDock",
                                  "The product QA band's mask of {layer} could not be loaded{why}.")
                       .format(layer=run.layer_name, why=f": {errors[-1]}" if errors else ""),
                       Qgis.MessageLevel.Warning, run.layer_id)
        self.qa_mask_added.emit(layer)

    # ------------------------------------------------------- interactive threshold
    def _can_keep_probability(self, parameters: dict[str, Any]) -> bool:
        """Whether the run can keep its probability: a network model, temporary outputs.

        A re-threshold writes new temporary files; a file the user chose keeps what Run
        wrote (never replaced unasked), so such runs are not re-thresholded.
        """
        outputs = [parameters.get(key) for key in ("OUTPUT", "MASKED_IMAGE", "POLYGONS")]
        return (self.form.model_combo.currentData() != "qa"
                and all(value in (None, "TEMPORARY_OUTPUT") for value in outputs))

    def _keep(self, run: PanelRun, results: dict, layers: dict[str, str],
              group: RunGroup, notes: list[str]) -> None:
        probability = results.get("PROBABILITY")
        if not probability or run.input_path is None:
            self.kept.pop(run.layer_id, None)
            return
        self.kept[run.layer_id] = KeptRun(
            run.layer_id, run.layer_name, run.input_path, Path(probability),
            rerun_key(run.parameters), layers, group, str(results.get("USED_MODEL", "")),
            str(results.get("USED_DEVICE", "")), dict(run.settings),
            self._shadow_threshold(run),
            Finish.of(run.parameters, float(results.get("USED_THRESHOLD", 0.5))),
            notes=notes,
        )

    def _shadow_threshold(self, run: PanelRun) -> float | None:
        """The shadow threshold of the run's checkpoint (``None`` where it cannot be read)."""
        try:
            from ..common.engine_call import model_checkpoint
            from ..engine.models.checkpoints import read_metadata

            weights = run.parameters.get("MODEL")
            path = Path(weights) if weights else model_checkpoint(
                self.form.model_combo.currentData(), run.input_path)
            return float(read_metadata(path).shadow_threshold)
        except Exception:  # the engine's default then
            return None

    def _wanted(self) -> tuple[KeptRun, Finish] | None:
        """The kept run of the current layer and what the form asks of it, if it applies."""
        layer = self.layer_combo.currentLayer()
        kept = self.kept.get(layer.id()) if layer is not None else None
        if kept is None or layer.id() in self.runs:
            return None
        if QgsProject.instance().mapLayer(kept.layers["mask"]) is None:
            self._forget_removed(kept)
            return None
        parameters = self.build_parameters()
        if rerun_key(parameters) != kept.key:
            return None  # another input, model, bands...: Run again
        return kept, Finish.of(parameters, self.form.threshold())

    def _schedule_rethreshold(self, *_args) -> None:
        if self._wanted() is not None:
            self._rethreshold_timer.start()  # restarts: a slider drag makes one task

    def _rethreshold_now(self) -> None:
        """Start re-thresholding, or cancel the one running so the newest value follows."""
        if self._rethreshold_task is not None:
            self._rethreshold_task.cancel()  # its end starts the next one
            return
        wanted = self._wanted()
        if wanted is None or wanted[1] == wanted[0].shown:
            return
        kept, values = wanted
        task = RethresholdTask(kept, values, self._on_rethresholded)
        self._rethreshold_task = task
        if self.layer_combo.currentLayer().id() == kept.layer_id:
            self.cover_label.setText(
                _translate("DetectCloudsDock", "Cloud cover: re-thresholding…")
            )
        QgsApplication.taskManager().addTask(task)

    def _forget_removed(self, kept: KeptRun) -> None:
        """The user removed the run's mask (or its group): say so, show no cover for it."""
        self.kept.pop(kept.layer_id, None)
        self._clear_bar(kept.layer_id)
        for path in kept.made_files:
            with contextlib.suppress(OSError):
                path.unlink()
        self.outcomes[kept.layer_id] = LayerOutcome(_translate("DetectCloudsDock",
            "The mask of this run was removed: Run again to apply a new threshold."))
        layer = self.layer_combo.currentLayer()
        if layer is not None and layer.id() == kept.layer_id:
            self._show_outcome(layer)

    def _on_rethresholded(self, task: RethresholdTask, ok: bool) -> None:
        """The re-threshold task's end, on the GUI thread: swap the layers, show the cover."""
        self._rethreshold_task = None
        kept = task.kept
        if ok and QgsProject.instance().mapLayer(kept.layers["mask"]) is None:
            # The user removed the run (its mask or group) while it was re-thresholded.
            kept.made_files = [*kept.made_files, *task.outputs.values()]
            self._forget_removed(kept)
            self.rethresholded.emit(False, None)
            return
        mask = swap_layers(task) if ok else None
        if mask is not None:
            details = _translate("DetectCloudsDock",
                "{model}, threshold {threshold:.3f}: re-thresholded from the last run's "
                "probability in {seconds:.1f} s, without running the network again. The mask "
                "is a temporary file: it is lost when QGIS exits unless you save it "
                "(Export > Save As)."
            ).format(model=translate_engine(kept.model), threshold=kept.shown.threshold,
                     seconds=task.seconds)
            self.outcomes[kept.layer_id] = rethreshold_outcome(kept, task, details)
            self._clear_bar(kept.layer_id)
            qa_warnings = [w for w in self.outcomes[kept.layer_id].warnings
                           if w not in kept.notes]
            if qa_warnings:  # the new figures replace the run's in the message bar too
                self._push(" ".join(qa_warnings), Qgis.MessageLevel.Warning, kept.layer_id,
                           duration=15)
        elif task.error:
            self._push(task.error, Qgis.MessageLevel.Critical, kept.layer_id)
            self.outcomes[kept.layer_id] = LayerOutcome(
                _translate("DetectCloudsDock", "Cloud cover: failed"), task.error)
        layer = self.layer_combo.currentLayer()
        if layer is not None and layer.id() == kept.layer_id:
            self._show_outcome(layer)
        if ok or task.error:
            self.rethresholded.emit(ok, mask)
        self._rethreshold_now()  # the user may have moved on meanwhile
