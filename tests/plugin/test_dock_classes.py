"""The panel's classes, product QA band and probability layer, clicked in a real QGIS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsSettings
from qgis.PyQt.QtCore import Qt

from cloud_fcn_plugin.gui.dock import SETTINGS_GROUP, DetectCloudsDock
from tests.conftest import write_geotiff
from tests.plugin.test_processing_classes import NAME, _product

pytestmark = [pytest.mark.qgis]


@pytest.fixture()
def dock(qtbot, qgis_iface, qgis_processing) -> DetectCloudsDock:
    QgsSettings().remove(SETTINGS_GROUP)
    QgsProject.instance().layerTreeRoot().removeAllChildren()
    widget = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
    qgis_iface.currentLayerChanged.connect(widget.follow_layer)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    QgsProject.instance().layerTreeRoot().removeAllChildren()
    QgsProject.instance().removeAllMapLayers()
    QgsSettings().remove(SETTINGS_GROUP)


def _add(path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def _text(label) -> str:
    return label.text().replace("\u200b", "")


def _qa_item(dock):
    combo = dock.form.model_combo
    return combo.model().item(combo.findData("qa"))


class TestProductQaBand:
    def test_offered_only_where_the_input_has_a_qa_band(self, dock, qgis_iface, tmp_path):
        stack = write_geotiff(tmp_path / "stack.tif", np.full((4, 8, 8), 0.1, np.float32))
        qgis_iface.setActiveLayer(_add(stack, "stack"))
        assert not _qa_item(dock).isEnabled()
        assert "only offered for a Landsat product folder" in _qa_item(dock).toolTip()
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("qa"))
        assert not dock.run_button.isEnabled()
        assert "only offered for a Landsat product folder" in dock.form.problem
        band = _product(tmp_path / NAME)
        qgis_iface.setActiveLayer(_add(band, "product"))
        assert _qa_item(dock).isEnabled()
        assert dock.form.problem is None

    def test_run_shows_every_class_and_loads_the_mask(self, qtbot, dock, qgis_iface, tmp_path):
        band = _product(tmp_path / NAME)
        qgis_iface.setActiveLayer(_add(band, "product"))
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("qa"))
        assert "no threshold applies" in _text(dock.form.threshold_row.note)
        with qtbot.waitSignal(dock.params_built) as built, qtbot.waitSignal(
            dock.run_finished, timeout=90_000
        ) as finished:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        assert built.args[0]["MODEL_CHOICE"] == dock.form.model_combo.findData("qa")
        assert finished.args[0] is True
        cover = _text(dock.cover_label)
        valid = 30 * 28
        assert cover.startswith(f"Cloud cover: {100 * 60 / valid:.2f} % (thick ")
        assert f"shadow {100 * 36 / valid:.2f} %" in cover
        assert "nan" not in _text(dock.details_label)


class TestWorkflowClasses:
    def test_classes_to_mask_and_probability_layer_reach_the_parameters(self, dock):
        box = dock.form.workflow
        assert [check.isChecked() for check in box.class_checks] == [True, True, True]
        assert "MASK_CLASSES" not in box.parameters()  # all three: the default
        box.class_checks[1].setChecked(False)  # not thin cloud
        box.probability_check.setChecked(True)
        parameters = box.parameters()
        assert parameters["MASK_CLASSES"] == [0, 2]
        assert parameters["PROBABILITY"] == "TEMPORARY_OUTPUT"

    def test_they_survive_a_new_panel(self, qtbot, dock, qgis_iface):
        dock.form.workflow.class_checks[0].setChecked(False)
        dock.form.workflow.probability_check.setChecked(True)
        again = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
        qtbot.addWidget(again)
        try:
            checks = [c.isChecked() for c in again.form.workflow.class_checks]
            assert checks == [False, True, True]
            assert again.form.workflow.probability_check.isChecked()
        finally:
            again.shutdown()

    def test_probability_layer_is_loaded_beside_the_mask(
        self, qtbot, dock, qgis_iface, tiny_weights, tmp_path
    ):
        stack = write_geotiff(tmp_path / "stack.tif", np.full((4, 40, 40), 0.1, np.float32),
                              descriptions=["B2", "B3", "B4", "B5"])  # fmt: skip
        qgis_iface.setActiveLayer(_add(stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.workflow.probability_check.setChecked(True)
        with qtbot.waitSignal(dock.run_finished, timeout=90_000) as finished:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        assert finished.args[0] is True
        names = [layer.name() for layer in QgsProject.instance().mapLayers().values()]
        assert "stack cloud probability [temporary]" in names
        project = QgsProject.instance()
        probability = project.mapLayersByName("stack cloud probability [temporary]")[0]
        assert probability.renderer().type() == "singlebandgray"
        assert probability.renderer().grayBand() == 1
