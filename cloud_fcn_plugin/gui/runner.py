"""Running ``cloud_fcn:detectclouds`` from the panel as QGIS's algorithm dialog does.

The dialog (``processing/gui/AlgorithmDialog.py`` in QGIS 3.22) writes the run's
Python command into the Processing history (``ProcessingLog.addToLog``), pushes the
algorithm to the recently used list, and runs it in a ``QgsProcessingAlgRunnerTask``
with a context from ``processing.tools.dataobjects.createContext``. The panel does
the same with the pieces below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsTask,
)

ALGORITHM_ID = "cloud_fcn:detectclouds"
#: QgsTask's "no system notification" flag (QGIS 3.26 and later), or None.
SILENT = getattr(QgsTask.Flag, "Silent", None)


class PanelFeedback(QgsProcessingFeedback):
    """The run's feedback: records the algorithm's warnings and its error for the panel.

    ``pushWarning`` and ``reportError`` are called on the task's thread; the lists are
    read in the completion slot, on the GUI thread, once the task has finished.
    """

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.errors: list[str] = []
        #: The engine's notes as it wrote them (English) and as they were shown.
        self.engine_messages: list[tuple[str, str]] = []

    def record_engine_message(self, english: str, shown: str) -> None:
        """Keep an engine note in both languages (called by the algorithm's log)."""
        self.engine_messages.append((english, shown))

    def qa_warnings(self) -> set[str]:
        """The warnings (as shown) that compare the mask with the product QA band."""
        from ..common.engine_call import QA_WARNING_MARKER

        return {shown for english, shown in self.engine_messages
                if QA_WARNING_MARKER in english}

    def pushWarning(self, warning: str) -> None:
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N803
        self.errors.append(error)
        super().reportError(error, fatalError)


class PanelTask(QgsProcessingAlgRunnerTask):
    """The algorithm dialog's runner task, ending as complete after a clean cancel.

    QGIS (``QgisApp::onTaskCompleteShowNotify``) announces every task of ten seconds or
    more that ends *terminated* as "Task failed" and one that completes as "Task
    complete", on top of the panel's own message. A cancel the algorithm honoured is no
    failure: the task completes and its description says it was canceled. Where QGIS
    lets a task be silent (``QgsTask.Flag.Silent``, QGIS 3.26 and later) the panel's
    tasks are, and the panel alone says how a run ended ("... was canceled."); QGIS 3.22
    has no such flag: the panel takes QGIS's "Task complete: ...: canceled" off the
    message bar (``DetectCloudsDock._drop_notice``).
    """

    def __init__(
        self,
        algorithm: QgsProcessingAlgorithm,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        canceled_description: str = "",
    ) -> None:
        if SILENT is not None:  # QGIS 3.26 and later: the panel says how the run ended
            super().__init__(algorithm, parameters, context, feedback,
                             QgsTask.Flag.CanCancel | SILENT)
        else:
            super().__init__(algorithm, parameters, context, feedback)
        self._feedback = feedback
        self._canceled_description = canceled_description

    @property
    def panel_feedback(self) -> QgsProcessingFeedback:
        """The run's feedback (its warnings and errors, for the panel)."""
        return self._feedback

    def run(self) -> bool:
        """Run the algorithm (task thread); a clean cancel counts as done."""
        return super().run() or self._feedback.isCanceled()

    def finished(self, result: bool) -> None:
        """Say in the description that the run was canceled (GUI thread)."""
        if self._feedback.isCanceled() and self._canceled_description:
            self.setDescription(self._canceled_description)
        super().finished(result)


@dataclass
class PanelRun:
    """One run of the algorithm started from the panel, until its task completes."""

    layer_id: str
    layer_name: str
    parameters: dict[str, Any]
    context: QgsProcessingContext
    feedback: PanelFeedback
    task: PanelTask | None = None
    temporary: bool = True
    progress: float = 0.0
    #: The settings besides model and threshold that change the mask (sieve, buffer,
    #: bands, tiling, weights), for the layer names and abstract.
    settings: dict[str, Any] = field(default_factory=dict)
    #: The file or product folder the engine reads (for re-thresholding).
    input_path: Path | None = None
    #: Whether the user asked for the probability layer (a kept probability is not shown).
    load_probability: bool = False
    #: Whether to load the product QA band's mask beside the network's once it is in.
    qa_beside: bool = False
    #: The task's description once canceled (what QGIS's own notice would show).
    task_description: str = ""


def record_in_history(algorithm, parameters: dict[str, Any], context) -> None:
    """Write the run into the Processing history, as the algorithm dialog does."""
    command = algorithm.asPythonCommand(parameters, context)
    try:
        from qgis.gui import QgsGui
    except ImportError:  # pragma: no cover - the panel needs qgis.gui anyway
        return
    registry = getattr(QgsGui, "historyProviderRegistry", None)
    if registry is not None:  # QGIS 3.24 and later
        registry().addEntry("processing", {
            "python_command": command, "algorithm_id": algorithm.id(),
            "parameters": {k: str(v) for k, v in parameters.items()},
        })
    elif command:
        try:
            from processing.core.ProcessingLog import ProcessingLog
        except ImportError:  # Processing plugin disabled: no history to write
            ProcessingLog = None  # noqa: N806
        if ProcessingLog is not None:
            ProcessingLog.addToLog(command)
    recent = QgsGui.instance().processingRecentAlgorithmLog()
    if recent is not None:
        recent.push(algorithm.id())


def processing_context(feedback: QgsProcessingFeedback) -> QgsProcessingContext:
    """A context like the algorithm dialog's (``processing.tools.dataobjects``)."""
    try:
        from processing.tools import dataobjects

        return dataobjects.createContext(feedback)
    except ImportError:
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        context.setFeedback(feedback)
        return context
