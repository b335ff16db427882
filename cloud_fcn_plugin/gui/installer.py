"""Dialog that installs PyTorch (or ONNX Runtime) with pip into the plugin-owned folder.

pip's output is shown live.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QProcess, pyqtSignal
from qgis.PyQt.QtGui import QFont, QTextCursor
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from .. import deps


class TorchInstallerDialog(QDialog):
    """Runs ``pip install --target`` in a QProcess and streams its output.

    pip runs once per index (torch from PyTorch's, then the rest from the registry),
    one run after the other; the first failure ends the installation. With
    ``package="onnxruntime"`` it installs ONNX Runtime instead, for ``.onnx`` models.

    Signals:
        completed: ``True`` when pip succeeded and torch is importable from the folder.
    """

    completed = pyqtSignal(bool)

    def __init__(
        self,
        parent=None,
        program: str | None = None,
        arguments: list[str] | None = None,
        commands: list[list[str]] | None = None,
        package: str = "torch",
    ) -> None:
        super().__init__(parent)
        cuda = deps.has_nvidia_gpu()
        self.package = package
        onnx = package == "onnxruntime"
        self.program = program or deps.python_executable()
        if arguments is not None:
            commands = [arguments]
        if commands is None:
            commands = deps.onnxruntime_install_commands() if onnx else (
                deps.pip_install_commands(cuda)
            )
        self.commands = commands
        self.arguments = self.commands[0]
        self._step = 0
        self._name = "ONNX Runtime" if onnx else "PyTorch"
        self._available = deps.onnxruntime_available if onnx else deps.torch_available
        self.setWindowTitle(f"Install {self._name}")
        self.resize(720, 420)
        build = "CUDA" if cuda else "CPU"
        size = "about 20 MB, CPU build" if onnx else (
            f"{build} build, about {'2.5 GB' if cuda else '200 MB'}"
        )
        self.status = QLabel(
            f"{self._name} ({size}) will be installed into {deps.deps_dir()}, a folder only "
            "this plugin uses."
        )
        self.status.setWordWrap(True)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(QFont("monospace"))
        self.output.setPlainText(
            "".join(f"$ {self.program} {' '.join(command)}\n" for command in self.commands)
        )
        self.buttons = QDialogButtonBox()
        self.install_button = QPushButton("Install")
        self.buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.install_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.output)
        layout.addWidget(self.buttons)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)

    def start(self) -> None:
        """Start pip; output appears as it is printed."""
        deps.deps_dir().mkdir(parents=True, exist_ok=True)
        self.install_button.setEnabled(False)
        self.status.setText(f"Installing {self._name}… this can take several minutes.")
        self._step = 0
        self.process.start(self.program, self.commands[0])

    def is_running(self) -> bool:
        """Tell whether pip is still running."""
        return self.process.state() != QProcess.ProcessState.NotRunning

    def reject(self) -> None:
        """Stop pip when the dialog is closed mid-install."""
        if self.is_running():
            self.process.kill()
            self.process.waitForFinished(3000)
        super().reject()

    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        self.output.moveCursor(QTextCursor.MoveOperation.End)
        self.output.insertPlainText(text)
        self.output.ensureCursorVisible()

    def _finished(self, exit_code: int, _status=None) -> None:
        self._read_output()
        ok = exit_code == 0
        if ok and self._step + 1 < len(self.commands):
            self._step += 1
            self.process.start(self.program, self.commands[self._step])
            return
        if ok:
            deps.add_deps_to_path()
            ok = self._available()
        ready = "ONNX models are ready to run" if self.package == "onnxruntime" else (
            "cloud detection is ready"
        )
        self.status.setText(
            f"{self._name} is installed: {ready}."
            if ok
            else f"Installation failed (pip exit code {exit_code}): see pip's output above."
        )
        self.install_button.setEnabled(not ok)
        self.completed.emit(ok)

    def _error(self, _error) -> None:
        if self.process.state() == QProcess.ProcessState.NotRunning:
            self.status.setText(f"Could not start {self.program}: {self.process.errorString()}")
            self.install_button.setEnabled(True)
            self.completed.emit(False)
