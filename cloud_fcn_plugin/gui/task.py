"""The QgsTask that runs one cloud detection off the GUI thread."""

from __future__ import annotations

import traceback
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..common.engine_call import error_sentence, run_detection
from ..engine.errors import CanceledError
from ..engine.params import DetectionParams, DetectionResult

LOG_TAG = "Cloud FCN"


class DetectCloudsTask(QgsTask):
    """Runs the engine in ``run()`` and reports back in ``finished()`` on the GUI thread.

    Signals:
        succeeded: the :class:`DetectionResult`.
        failed: the one-sentence error (empty when the user canceled).
    """

    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(
        self,
        description: str,
        input_path: Path,
        output_path: Path,
        params: DetectionParams,
        source_layer_id: str,
    ) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.input_path = input_path
        self.output_path = output_path
        self.params = params
        self.source_layer_id = source_layer_id
        self.result: DetectionResult | None = None
        self.error: str = ""

    def run(self) -> bool:
        """Run the engine; never raise, as QGIS would swallow the traceback."""
        try:
            self.result = run_detection(
                self.input_path,
                self.output_path,
                self.params,
                progress=self.setProgress,
                is_canceled=self.isCanceled,
                log=self._log,
            )
        except CanceledError:
            return False
        except Exception as exc:  # reported in finished(), details to the log panel
            self.error = error_sentence(exc)
            details = traceback.format_exc()
            self._log(f"{self.description()} failed:\n{details}", Qgis.MessageLevel.Critical)
            return False
        return True

    def finished(self, ok: bool) -> None:
        """Hand the outcome to the dock on the GUI thread."""
        if ok and self.result is not None:
            self.succeeded.emit(self.result)
        else:
            self.failed.emit("" if self.isCanceled() and not self.error else self.error)

    def _log(self, message: str, level=Qgis.MessageLevel.Info) -> None:
        QgsMessageLog.logMessage(message, LOG_TAG, level)
