"""The French plugin run on a real scene: no English where the user reads (review defect 5).

The review found the QA warning, the level sentence, the model name, the group and layer
names, the legend and the Processing log lines in English under a French QGIS. Here the
plugin's French translation is installed, the bundled sample (a real Landsat 8 scene) and
the review's Gulf product (whose BQA disagrees with the mask: the QA warning) are run
through the panel and through Processing, and every text of the panel, the message bar,
the layer tree (names and legend) and the Processing log is searched for English words.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from qgis.core import (
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsLayerTreeModel,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
)
from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAbstractButton, QComboBox, QLabel

from cloud_fcn_plugin import translation
from cloud_fcn_plugin.gui.dock import SETTINGS_GROUP, DetectCloudsDock
from cloud_fcn_plugin.gui.runner import PanelFeedback
from tests.plugin.english import QGIS_LOG_LINES, english_words

pytestmark = [pytest.mark.qgis, pytest.mark.data]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"
GULF = "scenes/LC80200392015216LGN00_L1T_30m/LC80200392015216LGN00_B4.TIF"


class Recording:
    """Keeps everything an algorithm writes into the Processing log (``lines``)."""

    def _keep(self, text: str) -> None:
        if not hasattr(self, "lines"):
            self.lines = []
        self.lines.append(text)

    def pushInfo(self, info: str) -> None:
        self._keep(info)
        super().pushInfo(info)

    def pushWarning(self, warning: str) -> None:
        self._keep(warning)
        super().pushWarning(warning)

    def pushCommandInfo(self, info: str) -> None:
        self._keep(info)
        super().pushCommandInfo(info)

    def reportError(self, error: str, fatalError: bool = False) -> None:
        self._keep(error)
        super().reportError(error, fatalError)

    def setProgressText(self, text: str) -> None:
        self._keep(text)
        super().setProgressText(text)


class RecordingFeedback(Recording, QgsProcessingFeedback):
    """The toolbox's feedback, recorded."""


class RecordingPanelFeedback(Recording, PanelFeedback):
    """The panel's feedback, recorded."""


@pytest.fixture()
def french(qgis_app) -> Iterator[None]:
    translator = translation.PluginTranslator()
    if translator.install("fr") is None:
        pytest.skip("cloud_fcn_fr.qm is not compiled: `make i18n`")
    yield
    translator.remove()


@pytest.fixture()
def french_dock(qtbot, french, qgis_iface, qgis_processing, monkeypatch
                ) -> Iterator[DetectCloudsDock]:
    monkeypatch.setattr("cloud_fcn_plugin.gui.dock.PanelFeedback", RecordingPanelFeedback)
    QgsSettings().remove(SETTINGS_GROUP)
    root = QgsProject.instance().layerTreeRoot()
    root.removeAllChildren()
    dock = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
    qgis_iface.currentLayerChanged.connect(dock.follow_layer)
    qtbot.addWidget(dock)
    dock.show()
    for box in dock.findChildren(QgsCollapsibleGroupBox):  # every text the panel has
        box.setCollapsed(False)
    yield dock
    dock.shutdown()
    root.removeAllChildren()
    QgsProject.instance().removeAllMapLayers()
    QgsSettings().remove(SETTINGS_GROUP)


def _panel_texts(dock: DetectCloudsDock) -> list[str]:
    texts = []
    for widget in dock.body.findChildren(QLabel) + dock.body.findChildren(QAbstractButton):
        if widget.isVisibleTo(dock.body) and widget.text():
            texts.append(widget.text())
    texts += [combo.currentText() for combo in dock.body.findChildren(QComboBox)
              if combo.isVisibleTo(dock.body)]
    return [*texts, dock.windowTitle()]


def _tree_texts(project: QgsProject) -> list[str]:
    root = project.layerTreeRoot()
    model = QgsLayerTreeModel(root)
    texts = []

    def walk(group: QgsLayerTreeGroup) -> None:
        for node in group.children():
            if isinstance(node, QgsLayerTreeGroup):
                texts.append(node.name())
                walk(node)
            elif isinstance(node, QgsLayerTreeLayer):
                texts.append(node.layer().name())
                for legend in model.layerLegendNodes(node):
                    texts.append(str(legend.data(Qt.ItemDataRole.DisplayRole) or ""))

    walk(root)
    return texts


def _english(texts: list[str]) -> dict[str, list[str]]:
    return {text: english_words(text) for text in texts if english_words(text)}


def _run_in_panel(qtbot, dock, qgis_iface, layer: QgsRasterLayer) -> list[str]:
    """Run the panel on ``layer``; return the lines its run wrote into the Processing log."""
    qgis_iface.setActiveLayer(layer)
    qtbot.waitUntil(dock.run_button.isEnabled)
    with qtbot.waitSignal(dock.run_finished, timeout=180_000) as finished:
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        run = dock.runs[layer.id()]
    assert finished.args[0], dock.details_label.text()
    return run.feedback.lines


def test_a_french_run_reads_french_everywhere(
    qtbot, french_dock, qgis_iface, tmp_path, data_dir
):
    from qgis import processing

    dock = french_dock
    project = QgsProject.instance()
    sample = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, sample)
    stack = QgsRasterLayer(str(sample), sample.stem, "gdal")
    gulf = QgsRasterLayer(str(data_dir / GULF), "LC80200392015216LGN00_B4", "gdal")
    project.addMapLayers([stack, gulf])
    dock.form.workflow.polygons_check.setChecked(True)  # their legend too
    log = _run_in_panel(qtbot, dock, qgis_iface, stack)
    log += _run_in_panel(qtbot, dock, qgis_iface, gulf)
    assert "vérifiez le masque" in dock.warnings_label.text()  # the QA warning, in French
    with qtbot.waitSignal(dock.rethresholded, timeout=120_000):
        dock.form.set_threshold(0.2)
    # The toolbox's run of the same scenes (what its dialog's log shows).
    for source in (sample, data_dir / GULF):
        feedback = RecordingFeedback()
        processing.run("cloud_fcn:detectclouds", {
            "INPUT": str(source), "OUTPUT": str(tmp_path / f"{source.stem}_mask.tif"),
            "MIN_SIZE": 2, "BUFFER": 1, "POLYGONS": str(tmp_path / f"{source.stem}.gpkg"),
        }, feedback=feedback)
        log += feedback.lines
    assert log
    bar = [item.text() for item in qgis_iface.messageBar().items()]
    assert any("vérifiez le masque" in text for text in bar)
    found = {
        "panel": _english(_panel_texts(dock)),
        "message bar": _english(bar),
        "layer tree": _english(_tree_texts(project)),
        "Processing log": _english([line for line in log if not QGIS_LOG_LINES.match(line)]),
    }
    assert found == {"panel": {}, "message bar": {}, "layer tree": {}, "Processing log": {}}
