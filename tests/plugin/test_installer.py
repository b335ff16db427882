"""The PyTorch installer dialog streams its process's output live."""

from __future__ import annotations

import sys

import pytest

from cloud_fcn_plugin.gui.installer import TorchInstallerDialog

pytestmark = pytest.mark.qgis

# Stands in for pip: prints, then waits, so the test sees output before it ends.
SLOW_PIP = (
    "import sys, time; print('Collecting torch', flush=True); time.sleep(1.5); "
    "print('Successfully installed torch')"
)


@pytest.fixture()
def dialog_factory(qtbot, qgis_app, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(tmp_path / "deps"))

    def make(code: str) -> TorchInstallerDialog:
        dialog = TorchInstallerDialog(program=sys.executable, arguments=["-c", code])
        qtbot.addWidget(dialog)
        return dialog

    return make


def test_output_is_shown_while_running_and_success_reported(qtbot, dialog_factory):
    dialog = dialog_factory(SLOW_PIP)
    with qtbot.waitSignal(dialog.completed, timeout=30_000) as done:
        dialog.install_button.click()
        qtbot.waitUntil(lambda: "Collecting torch" in dialog.output.toPlainText())
        assert dialog.is_running()
        assert not dialog.install_button.isEnabled()
    assert done.args == [True]  # torch is importable in the test environment
    assert "Successfully installed torch" in dialog.output.toPlainText()
    assert dialog.status.text() == "PyTorch is installed: cloud detection is ready."


def test_failure_names_the_exit_code(qtbot, dialog_factory):
    dialog = dialog_factory("import sys; print('ERROR: no matching distribution'); sys.exit(3)")
    with qtbot.waitSignal(dialog.completed, timeout=30_000) as done:
        dialog.start()
    assert done.args == [False]
    assert "ERROR: no matching distribution" in dialog.output.toPlainText()
    assert "exit code 3" in dialog.status.text()
    assert dialog.install_button.isEnabled()


def test_default_command_is_pip_target(qgis_app, qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(tmp_path / "deps"))
    dialog = TorchInstallerDialog()
    qtbot.addWidget(dialog)
    assert dialog.arguments[:3] == ["-m", "pip", "install"]
    assert str(tmp_path / "deps") in dialog.output.toPlainText()


def test_commands_run_one_after_the_other_and_stop_at_a_failure(qtbot, qgis_app, tmp_path):
    def make(*codes: str) -> TorchInstallerDialog:
        commands = [["-c", code] for code in codes]
        dialog = TorchInstallerDialog(program=sys.executable, commands=commands)
        qtbot.addWidget(dialog)
        return dialog

    dialog = make("print('torch from its index')", "print('the rest from the registry')")
    with qtbot.waitSignal(dialog.completed, timeout=30_000) as done:
        dialog.start()
    assert done.args == [True]
    text = dialog.output.toPlainText()
    assert text.index("torch from its index") < text.index("the rest from the registry")

    dialog = make("import sys; sys.exit(4)", "print('must not run')")
    with qtbot.waitSignal(dialog.completed, timeout=30_000) as done:
        dialog.start()
    assert done.args == [False] and "exit code 4" in dialog.status.text()
    assert "must not run\n" not in dialog.output.toPlainText().split("\n", 2)[-1]


def test_default_commands_are_the_two_pip_runs(qgis_app, qtbot, monkeypatch, tmp_path):
    from cloud_fcn_plugin import deps

    monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(tmp_path / "deps"))
    dialog = TorchInstallerDialog()
    qtbot.addWidget(dialog)
    assert dialog.commands == deps.pip_install_commands(deps.has_nvidia_gpu())
    assert len(dialog.commands) == 2
