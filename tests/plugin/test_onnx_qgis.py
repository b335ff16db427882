"""An ONNX model in real QGIS: Processing's MODEL file and the panel's Model file.

The model is the bundled 4-band U-Net exported with torch.onnx.export; its mask on
the bundled demo scene must be the torch model's.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
)
from qgis.PyQt.QtCore import Qt

from cloud_fcn_plugin import deps
from cloud_fcn_plugin.gui.dock import SETTINGS_GROUP, DetectCloudsDock
from cloud_fcn_plugin.gui.installer import TorchInstallerDialog
from tests.onnx_models import RGBN_WEIGHTS, SAMPLE, export_bundled, with_metadata

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
# The ONNX export is held to float32 torch (see the fixture).
pytestmark = [pytest.mark.qgis, pytest.mark.usefixtures("float32_torch")]

ALG = "cloud_fcn:detectclouds"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_bundled(tmp_path_factory.mktemp("onnx"))


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    """A copy of the demo scene: tests never write beside the bundled one."""
    return Path(shutil.copy(SAMPLE, tmp_path / SAMPLE.name))


def _run(parameters: dict) -> dict:
    from qgis import processing

    return processing.run(ALG, parameters, feedback=QgsProcessingFeedback())


def _read(path: str | Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


class TestProcessing:
    def test_onnx_mask_equals_the_torch_mask(self, qgis_processing, exported, scene, tmp_path):
        results = {
            name: _run({"INPUT": str(scene), "MODEL": str(model), "DEVICE": "cpu",
                        "OUTPUT": str(tmp_path / f"{name}.tif"),
                        "PROBABILITY": str(tmp_path / f"{name}_p.tif")})
            for name, model in (("torch", RGBN_WEIGHTS), ("onnx", exported))
        }
        assert results["onnx"]["USED_MODEL"] == "rgbn.onnx"
        assert results["onnx"]["USED_THRESHOLD"] == pytest.approx(
            results["torch"]["USED_THRESHOLD"]
        )
        torch_p, onnx_p = _read(tmp_path / "torch_p.tif"), _read(tmp_path / "onnx_p.tif")
        assert np.abs(torch_p - onnx_p).max() < 1e-4
        assert np.count_nonzero(_read(tmp_path / "torch.tif") != _read(tmp_path / "onnx.tif")) <= 2
        assert results["onnx"]["CLOUD_COVER"] == pytest.approx(
            results["torch"]["CLOUD_COVER"], abs=0.01
        )

    def test_unsafe_metadata_is_one_sentence(self, qgis_processing, exported, scene, tmp_path):
        bad = with_metadata(exported, tmp_path / "bad.onnx", {"cloud_fcn.mean": "[1, 2]"})
        output = tmp_path / "mask.tif"
        with pytest.raises(QgsProcessingException) as caught:
            _run({"INPUT": str(scene), "MODEL": str(bad), "OUTPUT": str(output)})
        message = str(caught.value)
        assert "bad.onnx" in message and "mean has 2 values for 4 bands" in message
        assert "\n" not in message.strip() and "Traceback" not in message
        assert not output.exists()

    def test_without_onnxruntime_one_sentence_says_how_to_install(
        self, qgis_processing, exported, scene, tmp_path, monkeypatch
    ):
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
        with pytest.raises(QgsProcessingException) as caught:
            _run({"INPUT": str(scene), "MODEL": str(exported),
                  "OUTPUT": str(tmp_path / "mask.tif")})
        message = str(caught.value)
        assert "ONNX Runtime is not installed" in message and "Install ONNX Runtime" in message
        assert "\n" not in message.strip()


@pytest.fixture()
def dock(qtbot, qgis_iface, qgis_processing):
    QgsSettings().remove(SETTINGS_GROUP)
    tree = QgsProject.instance().layerTreeRoot()
    tree.removeAllChildren()
    widget = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    qtbot.waitUntil(lambda: QgsApplication.taskManager().countActiveTasks() == 0,
                    timeout=60_000)
    tree.removeAllChildren()
    QgsSettings().remove(SETTINGS_GROUP)


class TestPanel:
    def test_run_with_an_onnx_model_file(
        self, qtbot, dock, qgis_iface, clean_project, exported, scene, tmp_path
    ):
        layer = QgsRasterLayer(str(scene), "demo", "gdal")
        clean_project.addMapLayer(layer)
        dock.layer_combo.setLayer(layer)
        dock.form.advanced.model_widget.setFilePath(str(exported))
        assert not dock.torch_frame.isVisibleTo(dock)
        assert dock.form.threshold() == pytest.approx(0.306, abs=1e-3)  # from the metadata
        with qtbot.waitSignal(dock.params_built) as built, qtbot.waitSignal(
            dock.run_finished, timeout=120_000
        ) as finished:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        assert built.args[0]["MODEL"] == str(exported)
        ok, results = finished.args
        assert ok, results
        assert results["USED_MODEL"] == "rgbn.onnx"
        torch_mask = tmp_path / "torch.tif"
        _run({"INPUT": str(scene), "MODEL": str(RGBN_WEIGHTS), "OUTPUT": str(torch_mask)})
        different = np.count_nonzero(_read(results["OUTPUT"]) != _read(torch_mask))
        assert different <= 2  # pixels within float noise of the threshold

    def test_onnx_file_without_onnxruntime_offers_its_installer(
        self, qtbot, dock, clean_project, exported, scene, monkeypatch
    ):
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
        layer = QgsRasterLayer(str(scene), "demo", "gdal")
        clean_project.addMapLayer(layer)
        dock.layer_combo.setLayer(layer)
        dock.form.advanced.model_widget.setFilePath(str(exported))
        assert dock.torch_frame.isVisibleTo(dock)
        assert dock.torch_label.text() == deps.missing_onnxruntime_message("rgbn.onnx")
        assert dock.install_button.text() == "Install ONNX Runtime"
        assert not dock.run_button.isEnabled()
        dock.install_button.click()
        dialog = dock._installer
        qtbot.addWidget(dialog)
        assert dialog.windowTitle() == "Install ONNX Runtime"
        assert dialog.commands == deps.onnxruntime_install_commands()
        assert deps.ONNXRUNTIME_REQUIREMENT in dialog.commands[0]
        dialog.reject()
        dock.form.advanced.model_widget.setFilePath("")  # back to the bundled model
        assert not dock.torch_frame.isVisibleTo(dock)
        assert dock.run_button.isEnabled()


def test_onnxruntime_installer_reports_success(qtbot, qgis_app, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(tmp_path / "deps"))
    dialog = TorchInstallerDialog(
        program=sys.executable, arguments=["-c", "print('Successfully installed onnxruntime')"],
        package="onnxruntime",
    )
    qtbot.addWidget(dialog)
    assert "ONNX Runtime (about 20 MB, CPU build) will be installed" in dialog.status.text()
    with qtbot.waitSignal(dialog.completed, timeout=30_000) as done:
        dialog.start()
    assert done.args == [True]  # onnxruntime is importable in the test environment
    assert dialog.status.text() == "ONNX Runtime is installed: ONNX models are ready to run."


@pytest.mark.slow
def test_qgis_process_runs_an_onnx_model_as_typed(exported, scene, tmp_path):
    from tests.plugin.qgis_subprocess import QGIS_PROCESS, qgis_env, run
    from tests.plugin.test_qgis_process import _install_dev

    if shutil.which(QGIS_PROCESS) is None:
        pytest.skip("qgis_process is not installed")
    home = tmp_path / "home"
    home.mkdir()
    _install_dev(home)
    output = tmp_path / "mask.tif"
    result = run(
        [QGIS_PROCESS, "run", "cloud_fcn:detectclouds", "--",
         f"INPUT={scene}", f"MODEL={exported}", "DEVICE=cpu", f"OUTPUT={output}"],
        qgis_env(home, hide_torch=False),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rgbn.onnx" in result.stdout
    torch_mask = tmp_path / "torch.tif"
    torch_run = run(
        [QGIS_PROCESS, "run", "cloud_fcn:detectclouds", "--",
         f"INPUT={scene}", f"MODEL={RGBN_WEIGHTS}", "DEVICE=cpu", f"OUTPUT={torch_mask}"],
        qgis_env(home, hide_torch=False),
    )
    assert torch_run.returncode == 0, torch_run.stderr
    assert np.count_nonzero(_read(output) != _read(torch_mask)) <= 2
