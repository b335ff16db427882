"""The "Detect clouds" dock driven with pytest-qt, as a user clicks it."""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import Qgis, QgsApplication, QgsRasterLayer
from qgis.PyQt.QtCore import Qt

from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.gui.dock import DetectCloudsDock

pytestmark = [pytest.mark.qgis, pytest.mark.data]


@pytest.fixture()
def dock(qtbot, qgis_iface, processing_initialized) -> DetectCloudsDock:
    widget = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
    qgis_iface.currentLayerChanged.connect(widget.follow_layer)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    _wait_for_tasks(qtbot)


def _add(project, path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    assert layer.isValid()
    project.addMapLayer(layer)
    return layer


def _wait_for_tasks(qtbot, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout=timeout)


def _messages(iface) -> list[tuple[str, int]]:
    return [(item.text(), item.level()) for item in iface.messageBar().items()]


class TestPrefill:
    def test_follows_active_layer_and_prefills_stack_bands(
        self, dock, qgis_iface, clean_project, toa_stack, toa_band_file
    ):
        _add(clean_project, toa_band_file, "band file")
        stack = _add(clean_project, toa_stack, "stack")
        qgis_iface.setActiveLayer(stack)
        assert dock.layer_combo.currentLayer() is stack
        assert [c.currentBand() for c in dock.band_combos] == [3, 2, 1, 4]
        assert all(c.isEnabled() for c in dock.band_combos)
        assert "TOA" in dock.level_label.text()

    def test_product_band_file_reads_the_folder(
        self, dock, qgis_iface, clean_project, toa_band_file
    ):
        layer = _add(clean_project, toa_band_file, "band file")
        qgis_iface.setActiveLayer(layer)
        assert not any(c.isEnabled() for c in dock.band_combos)
        assert "LC80130312015295LGN00_toa_120m" in dock.band_note.text()
        assert dock.build_params().bands is None

    def test_threshold_slider_shows_its_value(self, qtbot, dock):
        dock.set_threshold(0.5)
        dock.threshold_slider.setFocus()
        qtbot.keyClick(dock.threshold_slider, Qt.Key.Key_PageUp)
        assert dock.threshold() == pytest.approx(0.55)
        assert dock.threshold_label.text() == "0.550"


@pytest.mark.slow
class TestRun:
    def test_run_builds_params_and_adds_styled_mask_above_source(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        below = _add(clean_project, toa_stack, "Long Island stack")
        qgis_iface.setActiveLayer(below)
        dock.model_widget.setFilePath(str(tiny_weights))
        dock.set_threshold(0.4)
        dock.product_combo.setCurrentIndex(dock.product_combo.findData("toa"))
        dock.tile_spin.setValue(96)
        dock.batch_spin.setValue(2)
        with qtbot.waitSignal(dock.params_built) as built, qtbot.waitSignal(
            dock.mask_added, timeout=60_000
        ) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
            assert dock.run_button.text() == "Cancel"
        params = built.args[0]
        assert dock.threshold_set_by_user
        assert params == DetectionParams(
            bands=(3, 2, 1, 4), product="toa", threshold=0.4, weights=Path(tiny_weights),
            tile_size=96, overlap=None, batch_size=2, device="auto", overwrite=True,
        )
        mask = added.args[0]
        assert mask.name() == "Long Island stack clouds"
        assert mask.renderer().type() == "paletted"
        order = [node.layer() for node in clean_project.layerTreeRoot().findLayers()]
        assert order.index(mask) == order.index(below) - 1
        assert mask.extent() == below.extent() and mask.crs() == below.crs()
        assert dock.cover_label.text().startswith("Cloud cover: ")
        assert "%" in dock.cover_label.text()
        assert dock.run_button.text() == "Run"
        assert dock.progress.value() == 100
        qgis_iface.setActiveLayer(mask)  # QGIS makes the new layer current
        assert dock.layer_combo.currentLayer() is below

    def test_two_runs_can_be_queued(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, toa_band_file, tiny_weights
    ):
        dock.model_widget.setFilePath(str(tiny_weights))
        added = []
        dock.mask_added.connect(added.append)
        for path, name in ((toa_stack, "stack"), (toa_band_file, "band file")):
            qgis_iface.setActiveLayer(_add(clean_project, path, name))
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(added) == 2, timeout=60_000)
        assert sorted(layer.name() for layer in added) == ["band file clouds", "stack clouds"]

    def test_cancel_during_a_run(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.model_widget.setFilePath(str(tiny_weights))
        dock.tile_spin.setValue(32)
        dock.overlap_spin.setValue(0)
        dock.batch_spin.setValue(1)
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        task = dock.tasks[dock.layer_combo.currentLayer().id()]
        qtbot.waitUntil(lambda: task.progress() > 0, timeout=30_000)
        assert dock.run_button.text() == "Cancel"
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        _wait_for_tasks(qtbot)
        qtbot.waitUntil(lambda: dock.run_button.text() == "Run")
        assert dock.cover_label.text() == "Cloud cover: canceled"
        assert ("Cloud detection in stack was canceled.", Qgis.MessageLevel.Info) in _messages(
            qgis_iface
        )
        assert [lyr.name() for lyr in clean_project.mapLayers().values()] == ["stack"]

    def test_failure_is_one_sentence_in_the_message_bar(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tmp_path
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.model_widget.setFilePath(str(tmp_path / "missing.safetensors"))
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        _wait_for_tasks(qtbot)
        qtbot.waitUntil(lambda: dock.cover_label.text() == "Cloud cover: failed")
        (text, level), = _messages(qgis_iface)
        assert level == Qgis.MessageLevel.Critical
        assert "missing.safetensors" in text and "\n" not in text
