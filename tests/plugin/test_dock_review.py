"""The panel against the 2026-12-05 desktop review, in the real QGIS (defects 4, 9, 10).

* 4: a new threshold kept the cover but dropped the class breakdown and the QA comparison
  (even after Reset), and left the first run's stale figure in the message bar.
* 9: after the user removed a run's mask, moving the threshold did nothing and said
  nothing; removing the group while a re-threshold ran reported a cover for layers that
  no longer existed.
* 10: unticking every class masked all three; "Product QA band" left the threshold enabled;
  a model file left the Model list enabled and showing "Automatic".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsRasterLayer
from qgis.PyQt.QtCore import Qt

from tests.plugin import test_dock
from tests.plugin.test_dock import _add, _messages, _run_and_wait, _text, _wait_for_tasks

pytestmark = [pytest.mark.qgis, pytest.mark.data]

# The panel as test_dock.py makes it (fresh settings, an empty layer tree).
dock = test_dock.dock
fresh_settings = test_dock.fresh_settings

GULF = "scenes/LC80200392015216LGN00_L1T_30m/LC80200392015216LGN00_B4.TIF"
#: The result sentence: cover by class, then the product QA band's cloud cover.
SENTENCE = re.compile(
    r"^Cloud cover: (?P<cover>[\d.]+) % \(thick [\d.]+ %, thin [\d.]+ %\), shadow [\d.]+ % "
    r"\((?P<layer>[^)]+)\); product QA band: (?P<qa>[\d.]+) % cloud$"
)


def _qa_warnings(iface) -> list[str]:
    return [text for text, level in _messages(iface)
            if level == Qgis.MessageLevel.Warning and "check the mask" in text]


class TestOneResultSentence:
    """Defect 4, on the review's own scene: the Gulf 30 m product whose BQA says 31.9 %."""

    @pytest.fixture()
    def gulf_run(self, qtbot, dock, qgis_iface, clean_project, data_dir):
        layer = _add(clean_project, data_dir / GULF, "LC80200392015216LGN00_B4")
        qgis_iface.setActiveLayer(layer)
        ok, results = _run_and_wait(qtbot, dock, timeout=180_000)
        assert ok, _text(dock.details_label)
        return results

    def _rethreshold(self, qtbot, dock, value: float | None) -> None:
        with qtbot.waitSignal(dock.rethresholded, timeout=120_000) as done:
            if value is None:
                dock.form.reset_threshold()
            else:
                dock.form.set_threshold(value)
        assert done.args[0]

    def test_after_run_and_every_new_threshold(self, qtbot, dock, qgis_iface, gulf_run):
        qa = float(gulf_run["QA_CLOUD_COVER"])
        first = SENTENCE.match(dock.cover_label.text())
        assert first, dock.cover_label.text()
        assert float(first["qa"]) == pytest.approx(qa, abs=0.006)
        assert "check the mask" in _text(dock.warnings_label)
        assert len(_qa_warnings(qgis_iface)) == 1

        self._rethreshold(qtbot, dock, 0.15)
        lower = SENTENCE.match(dock.cover_label.text())
        assert lower, dock.cover_label.text()  # the same sentence, breakdown and QA included
        assert float(lower["cover"]) > float(first["cover"])
        assert float(lower["qa"]) == pytest.approx(qa, abs=0.006)
        # The QA comparison is the new mask's, in the panel and (alone) in the message bar.
        warnings = _text(dock.warnings_label)
        assert f"this mask {float(lower['cover']):.1f} %" in warnings
        bar = _qa_warnings(qgis_iface)
        assert len(bar) == 1 and f"this mask {float(lower['cover']):.1f} %" in bar[0]

        self._rethreshold(qtbot, dock, None)  # Reset: the calibrated threshold again
        reset = SENTENCE.match(dock.cover_label.text())
        assert reset, dock.cover_label.text()
        assert "check the mask" in _text(dock.warnings_label)
        bar = _qa_warnings(qgis_iface)
        assert len(bar) == 1 and f"this mask {float(reset['cover']):.1f} %" in bar[0]


class TestRemovedLayers:
    """Defect 9."""

    @pytest.fixture()
    def kept_run(self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        with qtbot.waitSignal(dock.mask_added, timeout=90_000) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dock.run_button.text() == "Run")
        return added.args[0]

    def test_a_removed_mask_says_so_when_the_threshold_moves(
        self, qtbot, dock, clean_project, kept_run
    ):
        clean_project.removeMapLayer(kept_run.id())
        with qtbot.assertNotEmitted(dock.rethresholded, wait=600):
            dock.form.set_threshold(0.4)
        assert dock.cover_label.text() == (
            "The mask of this run was removed: Run again to apply a new threshold.")
        assert not dock.kept and dock._rethreshold_task is None
        # Nothing about the deleted run is left to read as current.
        assert "Cloud cover" not in _text(dock.details_label)

    def test_removing_the_group_during_a_new_threshold_reports_no_cover(
        self, qtbot, dock, clean_project, kept_run
    ):
        root = clean_project.layerTreeRoot()
        group = root.children()[0]
        with qtbot.waitSignal(dock.rethresholded, timeout=60_000) as done:
            dock.form.set_threshold(0.4)
            dock._rethreshold_now()  # no wait for the slider's pause
            assert dock._rethreshold_task is not None
            root.removeChildNode(group)  # the run's layers go with it
        assert done.args == [False, None]
        assert dock.cover_label.text() == (
            "The mask of this run was removed: Run again to apply a new threshold.")
        assert [layer.name() for layer in clean_project.mapLayers().values()] == ["stack"]
        _wait_for_tasks(qtbot)


class TestForm:
    """Defect 10."""

    def test_no_class_ticked_disables_run_and_says_why(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        if "MASK_CLASSES" not in dock.form.workflow.keys:
            pytest.skip("the algorithm offers no MASK_CLASSES")
        assert dock.run_button.isEnabled()
        for check in dock.form.workflow.class_checks:
            check.setChecked(False)
        assert not dock.run_button.isEnabled()
        assert not dock.problem_label.isHidden()
        assert "Tick at least one class to mask" in _text(dock.problem_label)
        dock.form.workflow.class_checks[2].setChecked(True)
        assert dock.run_button.isEnabled()
        assert dock.build_parameters()["MASK_CLASSES"] == [2]

    def test_product_qa_band_disables_the_threshold(
        self, qtbot, dock, qgis_iface, clean_project, data_dir
    ):
        layer = _add(clean_project, data_dir / GULF, "gulf")
        qgis_iface.setActiveLayer(layer)
        row = dock.form.threshold_row
        assert row.isEnabled()
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("qa"))
        assert not row.isEnabled()
        assert "no threshold applies" in row.note.text()
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("auto"))
        assert row.isEnabled()

    def test_the_ensemble_shows_its_own_threshold_and_says_why(self, qtbot, dock):
        row = dock.form.threshold_row
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("ensemble"))
        assert row.isEnabled() and row.value() == 0.5
        assert "its own calibrated threshold" in _text(row.note)
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("sixband"))
        assert row.value() == 0.369 and "cloudfcn_sixband.safetensors" in _text(row.note)

    def test_a_model_file_disables_the_model_list_and_says_it_is_used(
        self, qtbot, dock, tiny_weights
    ):
        combo = dock.form.model_combo
        assert combo.isEnabled() and dock.form.model_note.isHidden()
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        assert not combo.isEnabled()
        assert not dock.form.model_note.isHidden()
        assert "tiny.safetensors is used" in _text(dock.form.model_note)
        dock.form.advanced.model_widget.setFilePath("")
        assert combo.isEnabled() and dock.form.model_note.isHidden()

    def test_layers_added_together_are_followed(
        self, qtbot, dock, clean_project, toa_stack, data_dir
    ):
        """Found on the way: QgsMapLayerComboBox moved to another layer without layerChanged
        when two layers were added at once, and Run stayed disabled."""
        gulf = QgsRasterLayer(str(data_dir / GULF), "LC80200392015216LGN00_B4", "gdal")
        stack = QgsRasterLayer(str(toa_stack), "LC8 stack", "gdal")
        clean_project.addMapLayers([stack, gulf])
        qtbot.waitUntil(dock.run_button.isEnabled)
        assert dock.form.input is not None
        assert dock.form.input.path == Path(dock.layer_combo.currentLayer().source())


class TestQaBandBeside:
    """Issue 25, item 6: the product QA band's mask beside the network's, one click."""

    def test_one_click_loads_the_qa_mask_into_the_run_group(
        self, qtbot, dock, qgis_iface, clean_project, data_dir, toa_stack
    ):
        import numpy as np
        import rasterio

        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        assert not dock.form.qa_check.isEnabled()  # a stack has no QA band
        layer = _add(clean_project, data_dir / GULF, "LC80200392015216LGN00_B4")
        qgis_iface.setActiveLayer(layer)
        assert dock.form.qa_check.isEnabled()
        dock.form.qa_check.setChecked(True)
        with qtbot.waitSignal(dock.qa_mask_added, timeout=180_000) as added:
            ok, results = _run_and_wait(qtbot, dock, timeout=180_000)
        assert ok
        qa_layer = added.args[0]
        assert qa_layer is not None and qa_layer.isValid()
        group = clean_project.layerTreeRoot().children()[0]
        names = [child.name() for child in group.children()]
        assert names[:2] == [
            f"LC80200392015216LGN00_B4 clouds ({results['USED_MODEL']}, "
            f"{results['USED_THRESHOLD']:.3f}) "
            "[temporary]",
            "LC80200392015216LGN00_B4 clouds (product QA band) [temporary]",
        ]
        # Styled like the network's mask, and its cloud cover is the run's QA figure.
        assert qa_layer.renderer().type() == "paletted"
        labels = [c.label for c in qa_layer.renderer().classes()]
        assert labels == ["0 clear", "1 thick cloud", "2 thin cloud", "3 cloud shadow"]
        with rasterio.open(qa_layer.source()) as src:
            mask = src.read(1)
        valid = mask != 255
        cover = 100.0 * np.isin(mask[valid], (1, 2)).sum() / valid.sum()
        assert cover == pytest.approx(results["QA_CLOUD_COVER"], abs=0.01)

    def test_not_offered_with_the_product_qa_band_as_the_model(
        self, qtbot, dock, qgis_iface, clean_project, data_dir
    ):
        qgis_iface.setActiveLayer(_add(clean_project, data_dir / GULF, "gulf"))
        dock.form.qa_check.setChecked(True)
        dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("qa"))
        assert not dock.form.qa_check.isEnabled() and not dock.form.qa_beside()


class TestCancelWording:
    """Defect 10, last point: cancel read "Task complete: ... canceled"."""

    def test_the_panel_task_is_silent_where_qgis_allows_and_says_canceled(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        from qgis.core import QgsTask

        from cloud_fcn_plugin.gui.runner import SILENT

        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.advanced.tile_spin.setValue(32)
        dock.form.advanced.overlap_spin.setValue(0)
        dock.form.advanced.batch_spin.setValue(1)
        from qgis.core import QgsApplication
        from qgis.gui import QgsMessageBarItem

        manager = QgsApplication.taskManager()

        def notify(task_id: int, status: int) -> None:
            """What QGIS 3.22's QgisApp does without a notification area."""
            task = manager.task(task_id)
            if task is not None and status == QgsTask.TaskStatus.Complete:
                qgis_iface.messageBar().pushItem(
                    QgsMessageBarItem("Task complete", task.description()))

        manager.statusChanged.connect(notify)
        self._notify = notify
        with qtbot.waitSignal(dock.run_finished, timeout=90_000):
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
            run = dock.runs[dock.layer_combo.currentLayer().id()]
            if SILENT is not None:  # QGIS 3.26+: no "Task complete" notice at all
                assert run.task.flags() & SILENT
            else:  # QGIS 3.22 has no such flag: its notice names the cancel
                assert not hasattr(QgsTask.Flag, "Silent")
            qtbot.waitUntil(lambda: run.progress > 0, timeout=60_000)
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        qtbot.wait(200)
        manager.statusChanged.disconnect(notify)
        assert dock.cover_label.text() == "Cloud cover: canceled"
        items = qgis_iface.messageBar().items()
        assert "Cloud detection in stack was canceled." in [item.text() for item in items]
        assert not [item for item in items if "complete" in (item.title() + item.text()).lower()]
