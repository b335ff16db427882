"""The "Detect clouds" dock driven with pytest-qt, as a user clicks it.

The panel is a front end of ``cloud_fcn:detectclouds``: runs go through Processing,
so what the panel shows is what the algorithm says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsTask,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QSlider,
)

from cloud_fcn_plugin.gui.dock import SETTINGS_GROUP, DetectCloudsDock

pytestmark = [pytest.mark.qgis, pytest.mark.data]

ALG = "cloud_fcn:detectclouds"


@pytest.fixture()
def fresh_settings(qgis_app):
    QgsSettings().remove(SETTINGS_GROUP)
    yield
    QgsSettings().remove(SETTINGS_GROUP)


@pytest.fixture()
def dock(qtbot, qgis_iface, qgis_processing, fresh_settings) -> DetectCloudsDock:
    tree = QgsProject.instance().layerTreeRoot()
    tree.removeAllChildren()  # groups of earlier runs outlive their layers
    widget = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
    qgis_iface.currentLayerChanged.connect(widget.follow_layer)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    _wait_for_tasks(qtbot)
    tree.removeAllChildren()


def _add(project, path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    assert layer.isValid()
    project.addMapLayer(layer)
    return layer


def _wait_for_tasks(qtbot, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout=timeout)


def _messages(iface) -> list[tuple[str, int]]:
    return [(item.text(), item.level()) for item in iface.messageBar().items()]


def _text(label) -> str:
    """A label's text without the zero-width spaces that let long words wrap."""
    return label.text().replace("\u200b", "")


def _eight_bit_picture(path: Path) -> Path:
    """A small 4-band 8-bit GeoTIFF, as a photo or a rendered map would be."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(0).integers(0, 255, (4, 64, 64), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=4, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000, 4500000, 30, 30)) as out:
        out.write(data)
    return path


def _described_copy(source: Path, path: Path, descriptions: tuple[str, ...]) -> Path:
    """A copy of ``source`` whose bands carry ``descriptions``."""
    import rasterio

    with rasterio.open(source) as src:
        profile, data = src.profile, src.read()
    with rasterio.open(path, "w", **profile) as out:
        out.write(data)
        for band, text in enumerate(descriptions, start=1):
            out.set_band_description(band, text)
    return path


def _run_and_wait(qtbot, dock, timeout: int = 90_000):
    with qtbot.waitSignal(dock.run_finished, timeout=timeout) as finished:
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    return finished.args


class TestPrefill:
    def test_follows_active_layer_and_prefills_stack_bands(
        self, dock, qgis_iface, clean_project, toa_stack, toa_band_file
    ):
        _add(clean_project, toa_band_file, "band file")
        stack = _add(clean_project, toa_stack, "stack")
        qgis_iface.setActiveLayer(stack)
        assert dock.layer_combo.currentLayer() is stack
        assert [c.currentBand() for c in dock.form.bands.combos] == [3, 2, 1, 4]
        assert all(s.currentIndex() == 0 and s.isEnabled() for s in dock.form.bands.stacks)
        # Untouched bands are not passed: the algorithm follows the layer, as the toolbox.
        assert not {"RED", "GREEN", "BLUE", "NIR"} & set(dock.build_parameters())

    def test_detected_sentence_uses_the_combo_words(
        self, dock, qgis_iface, clean_project, toa_stack
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        text = _text(dock.form.level_label)
        assert text.startswith("Top-of-atmosphere reflectance (TOA)")
        assert "(l1, toa or sr)" not in text and "--product" not in text

    def test_bands_set_by_the_user_are_passed_as_given(
        self, dock, qgis_iface, clean_project, toa_stack
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.bands.combos[0].setBand(4)
        dock.form.bands.combos[3].setBand(3)
        parameters = dock.build_parameters()
        assert [parameters[k] for k in ("RED", "GREEN", "BLUE", "NIR")] == [4, 2, 1, 3]

    def test_product_folder_shows_the_band_files_found(
        self, dock, qgis_iface, clean_project, toa_band_file
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_band_file, "band file"))
        assert all(stack.currentIndex() == 1 for stack in dock.form.bands.stacks)
        assert [_text(label) for label in dock.form.bands.files] == [
            f"LC80130312015295LGN00_B{b}_toa.tif" for b in (4, 3, 2, 5)
        ]
        assert "LC80130312015295LGN00_toa_120m" in _text(dock.form.bands.note)
        assert not {"RED", "GREEN", "BLUE", "NIR"} & set(dock.build_parameters())

    def test_threshold_slider_spin_box_and_reset(self, qtbot, dock, tiny_weights):
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))  # threshold 0.5
        assert dock.form.threshold() == pytest.approx(0.5)
        assert not dock.form.threshold_row.set_by_user
        assert "THRESHOLD" not in dock.build_parameters()
        dock.form.threshold_row.slider.setFocus()
        qtbot.keyClick(dock.form.threshold_row.slider, Qt.Key.Key_PageUp)
        assert dock.form.threshold() == pytest.approx(0.55)
        assert dock.form.threshold_row.spin.text() == "0.550"
        dock.form.threshold_row.spin.setValue(0.321)  # typed
        assert dock.form.threshold_row.slider.value() == 321
        assert dock.build_parameters()["THRESHOLD"] == pytest.approx(0.321)
        qtbot.mouseClick(dock.form.threshold_row.reset_button, Qt.MouseButton.LeftButton)
        assert dock.form.threshold() == pytest.approx(0.5)
        assert "THRESHOLD" not in dock.build_parameters()

    def test_a_checkpoint_with_hostile_json_is_a_note_not_a_slot_exception(
        self, dock, tiny_weights, tmp_path
    ):
        # Audit H4: JSON nested 100,000 deep raised RecursionError inside this slot.
        from safetensors.torch import load_file, save_file

        deep = tmp_path / "deep_json.safetensors"
        save_file(load_file(tiny_weights), deep, metadata={"cloud_fcn": "[" * 100_000})
        dock.form.advanced.model_widget.setFilePath(str(deep))
        assert dock.form.threshold() == pytest.approx(0.5)
        assert "not valid JSON" in _text(dock.form.threshold_row.note)

    def test_file_output_without_a_path_disables_run(
        self, dock, qgis_iface, clean_project, toa_stack, tmp_path
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        assert dock.run_button.isEnabled()
        dock.form.file_radio.setChecked(True)
        assert not dock.run_button.isEnabled()
        dock.form.output_widget.setFilePath(str(tmp_path / "mask.tif"))
        assert dock.run_button.isEnabled()
        assert dock.build_parameters()["OUTPUT"] == str(tmp_path / "mask.tif")

    def test_progress_bar_shows_no_percentage_before_a_run(self, dock):
        assert not dock.progress.isTextVisible()
        assert dock.progress.value() == 0

    def test_long_names_wrap_instead_of_widening_the_dock(
        self, dock, qgis_iface, clean_project, toa_band_file
    ):
        narrow = dock.body.minimumSizeHint().width()
        name = "Landsat scene with a very long name " * 8
        qgis_iface.setActiveLayer(_add(clean_project, toa_band_file, name))
        assert dock.body.minimumSizeHint().width() <= max(narrow, 360)

    def test_every_control_has_a_tooltip_and_an_accessible_name(self, dock):
        controls = [
            widget
            for kind in (QComboBox, QAbstractSpinBox, QSlider, QAbstractButton)
            for widget in dock.body.findChildren(kind)
            # Parts of composite widgets (file widget's button, group box's arrow).
            if type(widget).__name__ not in ("QToolButton", "QgsGroupBoxCollapseButton")
            or widget is dock.form.threshold_row.reset_button
        ]
        assert len(controls) >= 15
        for widget in (*controls, dock.form.output_widget, dock.form.advanced.model_widget):
            assert widget.toolTip(), widget
            assert widget.accessibleName(), widget

    def test_device_choice_shows_what_is_available(self, dock):
        available = dock.form.advanced.check_devices()
        combo = dock.form.advanced.device_combo
        texts = [combo.itemText(i) for i in range(combo.count())]
        assert texts[0].startswith("Automatic (here: ")
        assert "CPU (available)" in texts
        model = dock.form.advanced.device_combo.model()
        for index in range(1, dock.form.advanced.device_combo.count()):
            code = dock.form.advanced.device_combo.itemData(index)
            assert model.item(index).isEnabled() == available[code]


class TestBeforeRun:
    """An input the engine cannot read says so before Run, and Run stays disabled."""

    @staticmethod
    def _refusal(path: Path, weights: Path, tmp_path: Path) -> str:
        """The sentence the algorithm itself refuses ``path`` with."""
        from qgis import processing
        from qgis.core import QgsProcessingException

        with pytest.raises(QgsProcessingException) as caught:
            processing.run(ALG, {"INPUT": str(path), "MODEL": str(weights),
                                 "OUTPUT": str(tmp_path / "mask.tif")},
                           feedback=QgsProcessingFeedback())
        return str(caught.value).strip()

    def test_three_band_raster_shows_the_nir_sentence_and_disables_run(
        self, dock, qgis_iface, clean_project, scene_dirs, tiny_weights, tmp_path
    ):
        rgb = next(scene_dirs["rgb_30m"].glob("*.TIF"))  # read in place
        expected = self._refusal(rgb, tiny_weights, tmp_path)
        assert "NIR" in expected
        qgis_iface.setActiveLayer(_add(clean_project, rgb, "rgb"))
        assert _text(dock.problem_label) == expected
        assert not dock.problem_label.isHidden()
        assert not dock.run_button.isEnabled()
        assert dock.run_button.toolTip() == expected
        # No combo claims that band 1 is red, green, blue and NIR.
        for combo, stack in zip(dock.form.bands.combos, dock.form.bands.stacks, strict=True):
            assert "Band 1" not in combo.currentText() and not stack.isEnabled()

    def test_eight_bit_picture_shows_the_engine_sentence(
        self, dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        picture = _eight_bit_picture(tmp_path / "photo.tif")
        expected = self._refusal(picture, tiny_weights, tmp_path)
        assert "8-bit" in expected
        qgis_iface.setActiveLayer(_add(clean_project, picture, "photo"))
        assert _text(dock.problem_label) == expected
        assert not dock.run_button.isEnabled()
        # A readable layer clears the sentence and enables Run again.
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        assert dock.problem_label.isHidden() and dock.run_button.isEnabled()


class TestLayout:
    """No empty bands, no stretched combos: every row as tall as its content (issue 18.11)."""

    @pytest.fixture()
    def narrow_dock(self, qtbot, dock, qgis_iface):
        qgis_iface.mainWindow().show()  # the dock is visible only in a visible window
        dock.setFloating(True)
        dock.resize(430, 900)
        qtbot.wait(50)
        return dock

    def _assert_rows_fit(self, qtbot, dock) -> None:
        from cloud_fcn_plugin.gui.widgets import WrappingLabel

        qtbot.wait(50)
        labels = [label for label in dock.body.findChildren(WrappingLabel)
                  if label.isVisible() and label.text()]
        assert labels
        for label in labels:
            assert label.height() <= label.heightForWidth(label.width()) + 1, label.text()
        for combo, stack in zip(dock.form.bands.combos, dock.form.bands.stacks, strict=True):
            page = stack.currentWidget()
            assert stack.height() <= page.sizeHint().height() + 1, page
            if page is combo:
                assert combo.height() == combo.sizeHint().height()

    def test_product_folder_rows_are_tight(
        self, qtbot, narrow_dock, qgis_iface, clean_project, toa_band_file
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_band_file, "band file"))
        self._assert_rows_fit(qtbot, narrow_dock)

    def test_band_combos_keep_their_height_after_a_product_folder(
        self, qtbot, narrow_dock, qgis_iface, clean_project, toa_band_file, toa_stack
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_band_file, "band file"))
        qtbot.wait(50)
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        self._assert_rows_fit(qtbot, narrow_dock)


class TestSettings:
    def test_settings_survive_a_plugin_reload(self, qgis_iface, no_provider, fresh_settings,
                                              tmp_path):
        import cloud_fcn_plugin

        plugin = cloud_fcn_plugin.classFactory(qgis_iface)
        plugin.initGui()
        try:
            dock = plugin.dock
            dock.form.set_threshold(0.37)
            dock.form.file_radio.setChecked(True)
            dock.form.output_widget.setFilePath(str(tmp_path / "mask.tif"))
            dock.form.model_combo.setCurrentIndex(dock.form.model_combo.findData("rgbn"))
            dock.form.product_combo.setCurrentIndex(dock.form.product_combo.findData("toa"))
            dock.form.advanced.device_combo.setCurrentIndex(dock.form.advanced.device_combo.findData("cpu"))
            dock.form.advanced.tile_spin.setValue(256)
            dock.form.advanced.overlap_spin.setValue(8)
            dock.form.advanced.batch_spin.setValue(2)
        finally:
            plugin.unload()
        QgsApplication.processEvents()

        plugin = cloud_fcn_plugin.classFactory(qgis_iface)
        plugin.initGui()
        try:
            dock = plugin.dock
            assert dock.form.threshold() == pytest.approx(0.37)
            assert dock.form.threshold_row.set_by_user
            assert dock.form.file_radio.isChecked()
            assert dock.form.output_widget.filePath() == str(tmp_path / "mask.tif")
            assert dock.form.model_combo.currentData() == "rgbn"
            assert dock.form.product_combo.currentData() == "toa"
            assert dock.form.advanced.device_combo.currentData() == "cpu"
            assert (dock.form.advanced.tile_spin.value(), dock.form.advanced.overlap_spin.value(),
                    dock.form.advanced.batch_spin.value()) == (256, 8, 2)
            dock.show()  # reading the model's threshold keeps the user's
            assert dock.form.threshold() == pytest.approx(0.37)
        finally:
            plugin.unload()


@pytest.mark.slow
class TestRun:
    def test_run_passes_parameters_and_adds_named_styled_mask_above_source(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        below = _add(clean_project, toa_stack, "Long Island stack")
        qgis_iface.setActiveLayer(below)
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.set_threshold(0.4)
        dock.form.product_combo.setCurrentIndex(dock.form.product_combo.findData("toa"))
        dock.form.advanced.tile_spin.setValue(96)
        dock.form.advanced.batch_spin.setValue(2)
        with qtbot.waitSignal(dock.params_built) as built, qtbot.waitSignal(
            dock.mask_added, timeout=90_000
        ) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
            assert dock.run_button.text() == "Cancel"
            assert dock.progress.isTextVisible()
        assert built.args[0] == {
            "INPUT": str(toa_stack), "PRODUCT": 2, "MODEL_CHOICE": 0, "BATCH_SIZE": 2,
            "DEVICE": 0, "THRESHOLD": 0.4, "MODEL": str(tiny_weights), "TILE_SIZE": 96,
            "OUTPUT": "TEMPORARY_OUTPUT", "PROBABILITY": "TEMPORARY_OUTPUT",
        }
        mask = added.args[0]
        assert mask.name() == "Long Island stack clouds (tiny.safetensors, 0.400) [temporary]"
        assert "on cpu" in mask.metadata().abstract()
        assert mask.renderer().type() == "paletted"
        top = clean_project.layerTreeRoot().children()[0]  # the run's group, on top
        assert top.name() == "Clouds: Long Island stack (tiny.safetensors, 0.400)"
        assert [node.layer() for node in top.findLayers()] == [mask]
        assert mask.extent() == below.extent() and mask.crs() == below.crs()
        qtbot.waitUntil(lambda: dock.run_button.text() == "Run")
        assert _text(dock.cover_label).startswith("Cloud cover: ")
        assert "%" in dock.cover_label.text()
        details = _text(dock.details_label)
        assert "threshold 0.400" in details and "ran on CPU" in details
        assert "lost when QGIS exits" in details
        assert dock.progress.value() == 100
        qgis_iface.setActiveLayer(mask)  # QGIS makes the new layer current
        assert dock.layer_combo.currentLayer() is below

    def test_the_mask_legend_is_short(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        """Issue 18, item 13: no long band description heading the legend."""
        from qgis.core import QgsLayerTreeModel

        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        with qtbot.waitSignal(dock.mask_added, timeout=90_000) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        mask = added.args[0]
        model = QgsLayerTreeModel(clean_project.layerTreeRoot())
        node = clean_project.layerTreeRoot().findLayer(mask.id())
        labels = [legend.data(Qt.ItemDataRole.DisplayRole)
                  for legend in model.layerLegendNodes(node)]
        assert labels[0].startswith("Band 1: cloud mask")  # QGIS adds " (Palette)"
        assert all(len(label) <= 30 for label in labels), labels

    def test_a_panel_run_is_in_the_processing_history(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        from processing.core.ProcessingLog import ProcessingLog
        from qgis.gui import QgsGui

        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        before = len(ProcessingLog.getLogEntries())
        ok, _results = _run_and_wait(qtbot, dock)
        assert ok
        entries = ProcessingLog.getLogEntries()
        assert len(entries) == before + 1
        command = entries[-1].text
        assert command.startswith(f"processing.run(\"{ALG}\"")
        assert str(toa_stack) in command and str(tiny_weights) in command
        recent = QgsGui.instance().processingRecentAlgorithmLog().recentAlgorithmIds()
        assert recent[0] == ALG

    def test_warnings_are_shown_in_the_panel(
        self, qtbot, dock, qgis_iface, clean_project, scene_dirs, tiny_weights
    ):
        sr_band = scene_dirs["sr_600m"] / "LC08_L2SP_001062_20201031_20201106_02_T2_SR_B4.TIF"
        qgis_iface.setActiveLayer(_add(clean_project, sr_band, "band file"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        ok, _results = _run_and_wait(qtbot, dock)
        assert ok
        # Level-2 scaled without its MTL: the algorithm warns (a level read from the file
        # name alone is a note, issue 18 item 9).
        assert "without MTL" in _text(dock.warnings_label)
        assert "choose another product level" not in _text(dock.warnings_label)
        levels = [level for _text_, level in _messages(qgis_iface)]
        assert Qgis.MessageLevel.Warning in levels

    def test_layer_switch_shows_that_layer_not_the_last_cover(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, toa_band_file, tiny_weights
    ):
        other = _add(clean_project, toa_band_file, "other")
        stack = _add(clean_project, toa_stack, "stack")
        qgis_iface.setActiveLayer(stack)
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        ok, _results = _run_and_wait(qtbot, dock)
        assert ok and "(stack)" in dock.cover_label.text()
        qgis_iface.setActiveLayer(other)
        assert dock.cover_label.text() == "Cloud cover: –"
        assert dock.details_label.text() == "" and dock.warnings_label.text() == ""
        qgis_iface.setActiveLayer(stack)
        assert "(stack)" in dock.cover_label.text()

    def test_two_runs_can_be_queued(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, toa_band_file, tiny_weights
    ):
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        added = []
        dock.mask_added.connect(added.append)
        for path, name in ((toa_stack, "stack"), (toa_band_file, "band file")):
            qgis_iface.setActiveLayer(_add(clean_project, path, name))
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(added) == 2, timeout=90_000)
        assert sorted(layer.name().split(" clouds")[0] for layer in added) == [
            "band file", "stack"
        ]

    def test_cancel_during_a_run(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.advanced.tile_spin.setValue(32)
        dock.form.advanced.overlap_spin.setValue(0)
        dock.form.advanced.batch_spin.setValue(1)
        manager = QgsApplication.taskManager()
        statuses: list[int] = []
        descriptions: list[str] = []
        finished = []
        dock.run_finished.connect(lambda ok, _results: finished.append(ok))
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        run = dock.runs[dock.layer_combo.currentLayer().id()]
        task_id = manager.taskId(run.task)


        def seen(tid: int, status: int) -> None:  # what QgisApp reads to word its notice
            task = manager.task(tid) if tid == task_id else None
            if task is not None:
                statuses.append(status)
                descriptions.append(task.description())

        manager.statusChanged.connect(seen)
        try:
            qtbot.waitUntil(lambda: run.progress > 0, timeout=60_000)
            assert dock.run_button.text() == "Cancel"
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
            _wait_for_tasks(qtbot)
            # QGIS announces a *terminated* task as "Task failed": a clean cancel completes.
            qtbot.waitUntil(lambda: QgsTask.TaskStatus.Complete in statuses)
        finally:
            manager.statusChanged.disconnect(seen)
        assert QgsTask.TaskStatus.Terminated not in statuses
        assert descriptions[-1] == "Detect clouds and shadows in stack: canceled"
        assert finished == [False]
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
        dock.form.advanced.model_widget.setFilePath(str(tmp_path / "missing.safetensors"))
        ok, _results = _run_and_wait(qtbot, dock)
        assert not ok
        assert dock.cover_label.text() == "Cloud cover: failed"
        errors = [text for text, level in _messages(qgis_iface)
                  if level == Qgis.MessageLevel.Critical]
        assert len(errors) == 1
        assert "missing.safetensors" in errors[0] and "\n" not in errors[0]


class TestPlacement:
    """Each run's outputs in one group, newest on top, with names no other layer has."""

    @pytest.mark.slow
    def test_each_run_is_a_group_newest_on_top_with_unique_names(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        for threshold in (0.4, 0.6, 0.6):  # the last an identical rerun
            dock.form.set_threshold(threshold)
            ok, _results = _run_and_wait(qtbot, dock)
            assert ok
        root = clean_project.layerTreeRoot()
        assert [child.name() for child in root.children()] == [
            "Clouds: stack (tiny.safetensors, 0.600) #2",
            "Clouds: stack (tiny.safetensors, 0.600)",
            "Clouds: stack (tiny.safetensors, 0.400)",
            "stack",
        ]
        names = [layer.name() for layer in clean_project.mapLayers().values()]
        assert len(set(names)) == len(names) == 4
        newest = root.children()[0].findLayers()[0].layer()
        assert newest.name() == "stack clouds (tiny.safetensors, 0.600) #2 [temporary]"


@pytest.mark.slow
class TestLiveThreshold:
    """A new threshold re-thresholds the last run's probability instead of a new run."""

    def _run(self, qtbot, dock, qgis_iface, clean_project, stack_path, weights):
        stack = _add(clean_project, stack_path, "stack")
        qgis_iface.setActiveLayer(stack)
        dock.form.advanced.model_widget.setFilePath(str(weights))
        with qtbot.waitSignal(dock.params_built) as built, qtbot.waitSignal(
            dock.mask_added, timeout=90_000
        ) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dock.run_button.text() == "Run")
        assert built.args[0]["PROBABILITY"] == "TEMPORARY_OUTPUT"
        # Kept for re-thresholding, not shown unless the user asks for the layer.
        assert not [lyr for lyr in clean_project.mapLayers().values()
                    if "probability" in lyr.name()]
        return stack, added.args[0]

    @staticmethod
    def _full_run_mask(parameters: dict, path: Path):
        """The mask a full Processing run with ``parameters`` writes, as an array."""
        import rasterio
        from qgis import processing

        results = processing.run(ALG, {**parameters, "OUTPUT": str(path)},
                                 feedback=QgsProcessingFeedback())
        with rasterio.open(path) as src:
            return src.read(1), results["CLOUD_COVER"]

    def test_a_new_threshold_rethresholds_the_kept_probability(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        import rasterio
        from processing.core.ProcessingLog import ProcessingLog

        if not {"BUFFER", "MIN_SIZE"} <= set(dock.form.workflow.keys):
            pytest.skip("cloud_fcn:detectclouds does not offer sieve and buffer")
        dock.form.workflow.min_size_spin.setValue(2)
        dock.form.workflow.buffer_spin.setValue(1)
        _stack, mask = self._run(qtbot, dock, qgis_iface, clean_project, toa_stack,
                                 tiny_weights)
        layers_before = set(clean_project.mapLayers())
        history = len(ProcessingLog.getLogEntries())
        with qtbot.waitSignal(dock.rethresholded, timeout=60_000) as done:
            dock.form.set_threshold(0.4)
            assert not dock.runs  # no network run
        ok, layer = done.args
        assert ok and layer is mask  # the same layer, on the new file
        assert set(clean_project.mapLayers()) == layers_before
        assert len(ProcessingLog.getLogEntries()) == history
        assert mask.name() == (
            "stack clouds (tiny.safetensors, 0.400, sieve 2 px, buffer 1 px) [temporary]"
        )
        group = clean_project.layerTreeRoot().children()[0]
        assert group.name() == "Clouds: stack (tiny.safetensors, 0.400, sieve 2 px, buffer 1 px)"
        assert "threshold 0.400" in mask.metadata().abstract()
        # Exactly the mask and cover a full run at that threshold gives.
        expected, cover = self._full_run_mask(
            {"INPUT": str(toa_stack), "MODEL": str(tiny_weights), "THRESHOLD": 0.4,
             "MIN_SIZE": 2, "BUFFER": 1}, tmp_path / "full.tif")
        with rasterio.open(mask.source()) as src:
            assert (src.read(1) == expected).all()
        assert f"Cloud cover: {cover:.2f} %" in dock.cover_label.text()
        assert "without running the network again" in _text(dock.details_label)

    def test_a_changed_model_setting_needs_run(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        self._run(qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights)
        dock.form.advanced.tile_spin.setValue(96)  # another tiling: another probability
        with qtbot.assertNotEmitted(dock.rethresholded, wait=600):
            dock.form.set_threshold(0.4)

    def test_a_slider_drag_ends_at_its_last_value(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        import rasterio

        _stack, mask = self._run(qtbot, dock, qgis_iface, clean_project, toa_stack,
                                 tiny_weights)
        seen = []
        dock.rethresholded.connect(lambda ok, _layer: seen.append(ok))
        dock.form.threshold_row.slider.setFocus()
        for _step in range(5):  # PageDown five times: 0.500 -> 0.250
            qtbot.keyClick(dock.form.threshold_row.slider, Qt.Key.Key_PageDown)
        qtbot.waitUntil(lambda: "0.250" in mask.name(), timeout=60_000)
        assert 1 <= len(seen) <= 2  # one task for the drag (two if the first had started)
        expected, _cover = self._full_run_mask(
            {"INPUT": str(toa_stack), "MODEL": str(tiny_weights), "THRESHOLD": 0.25},
            tmp_path / "full.tif")
        with rasterio.open(mask.source()) as src:
            assert (src.read(1) == expected).all()

    def test_unloading_during_a_rethreshold_is_quiet(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        _stack, mask = self._run(qtbot, dock, qgis_iface, clean_project, toa_stack,
                                 tiny_weights)
        source = mask.source()
        with qtbot.assertNotEmitted(dock.rethresholded, wait=100):
            dock.form.set_threshold(0.4)
            dock._rethreshold_now()  # no wait for the slider's pause
            dock.shutdown()
            _wait_for_tasks(qtbot)
        assert mask.source() == source  # canceled: the run's own file stays

    def test_an_output_file_is_never_rethresholded(
        self, qtbot, dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.file_radio.setChecked(True)
        dock.form.output_widget.setFilePath(str(tmp_path / "mask.tif"))
        with qtbot.waitSignal(dock.params_built) as built:
            ok, _results = _run_and_wait(qtbot, dock)
        assert ok and "PROBABILITY" not in built.args[0]
        with qtbot.assertNotEmitted(dock.rethresholded, wait=600):
            dock.form.set_threshold(0.4)


class TestWorkflow:
    """Buffer, sieve, masked image and polygons: panel controls for the algorithm's options."""

    @pytest.fixture()
    def workflow_dock(self, dock):
        if not {"BUFFER", "MIN_SIZE", "MASKED_IMAGE", "POLYGONS"} <= set(dock.form.workflow.keys):
            assert dock.form.workflow.isHidden() == (not dock.form.workflow.keys)
            pytest.skip("cloud_fcn:detectclouds does not offer the workflow options yet")
        return dock

    def test_off_by_default_and_passed_when_set(
        self, workflow_dock, qgis_iface, clean_project, toa_stack, tmp_path
    ):
        dock = workflow_dock
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        assert not {"BUFFER", "MIN_SIZE", "MASKED_IMAGE", "POLYGONS"} & set(
            dock.build_parameters()
        )
        dock.form.workflow.buffer_spin.setValue(2)
        dock.form.workflow.min_size_spin.setValue(10)
        dock.form.workflow.masked_check.setChecked(True)
        dock.form.workflow.polygons_check.setChecked(True)
        dock.form.workflow.polygons_widget.setFilePath(str(tmp_path / "clouds.gpkg"))
        parameters = dock.build_parameters()
        assert parameters["BUFFER"] == 2 and parameters["MIN_SIZE"] == 10
        assert parameters["MASKED_IMAGE"] == "TEMPORARY_OUTPUT"
        assert parameters["POLYGONS"] == str(tmp_path / "clouds.gpkg")

    @pytest.mark.slow
    def test_run_adds_masked_image_and_polygons(
        self, qtbot, workflow_dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        dock = workflow_dock
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.workflow.buffer_spin.setValue(1)
        dock.form.workflow.masked_check.setChecked(True)
        dock.form.workflow.polygons_check.setChecked(True)
        dock.form.workflow.polygons_widget.setFilePath(str(tmp_path / "clouds.gpkg"))
        ok, results = _run_and_wait(qtbot, dock)
        assert ok, _messages(qgis_iface)
        names = sorted(layer.name() for layer in clean_project.mapLayers().values())
        # Named as the toolbox names them.
        assert "stack without clouds [temporary]" in names
        assert "stack cloud polygons" in names
        polygons = clean_project.mapLayersByName("stack cloud polygons")[0]
        renderer = polygons.renderer()  # one symbol, or one per class
        if hasattr(renderer, "symbol"):
            alphas = [renderer.symbol().color().alpha()]
        else:
            categories = renderer.categories()  # each symbol lives as long as its category
            alphas = [category.symbol().color().alpha() for category in categories]
        assert all(alpha < 160 for alpha in alphas)  # light fill
        assert (tmp_path / "clouds.gpkg").is_file()

    @pytest.mark.slow
    def test_vectors_on_top_and_the_masked_image_in_true_colour(
        self, qtbot, workflow_dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        dock = workflow_dock
        described = _described_copy(toa_stack, tmp_path / "described.tif",
                                     ("B2 blue", "B3 green", "B4 red", "B5 NIR"))
        qgis_iface.setActiveLayer(_add(clean_project, described, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.workflow.masked_check.setChecked(True)
        dock.form.workflow.polygons_check.setChecked(True)
        ok, _results = _run_and_wait(qtbot, dock)
        assert ok, _messages(qgis_iface)
        group = clean_project.layerTreeRoot().children()[0]
        kinds = [node.layer().name().removesuffix(" [temporary]") for node in group.findLayers()]
        assert kinds == [
            "stack cloud polygons", "stack clouds (tiny.safetensors, 0.500)",
            "stack without clouds",
        ]
        masked = group.findLayers()[2].layer()
        renderer = masked.renderer()
        assert renderer.type() == "multibandcolor"
        assert (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) == (3, 2, 1)

    @pytest.mark.slow
    def test_a_new_threshold_remakes_the_masked_image_and_polygons(
        self, qtbot, workflow_dock, qgis_iface, clean_project, toa_stack, tiny_weights, tmp_path
    ):
        from qgis import processing

        dock = workflow_dock
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.workflow.masked_check.setChecked(True)
        dock.form.workflow.polygons_check.setChecked(True)
        ok, _results = _run_and_wait(qtbot, dock)
        assert ok, _messages(qgis_iface)
        group = clean_project.layerTreeRoot().children()[0]
        polygons, _mask, masked = (node.layer() for node in group.findLayers())
        sources = (polygons.source(), masked.source())
        with qtbot.waitSignal(dock.rethresholded, timeout=60_000) as done:
            dock.form.set_threshold(0.4)
        assert done.args[0]
        assert (polygons.source(), masked.source()) != sources  # new files, same layers
        full = processing.run(ALG, {
            "INPUT": str(toa_stack), "MODEL": str(tiny_weights), "THRESHOLD": 0.4,
            "OUTPUT": str(tmp_path / "mask.tif"), "POLYGONS": str(tmp_path / "p.gpkg"),
        }, feedback=QgsProcessingFeedback())
        expected = QgsVectorLayer(full["POLYGONS"], "expected", "ogr").featureCount()
        assert polygons.featureCount() == expected > 0
        assert masked.renderer().type() == "multibandcolor"

    @pytest.mark.slow
    def test_every_setting_in_the_name_or_the_abstract(
        self, qtbot, workflow_dock, qgis_iface, clean_project, toa_stack, tiny_weights
    ):
        dock = workflow_dock
        qgis_iface.setActiveLayer(_add(clean_project, toa_stack, "stack"))
        dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
        dock.form.set_threshold(0.45)
        dock.form.workflow.min_size_spin.setValue(2)
        dock.form.workflow.buffer_spin.setValue(1)
        dock.form.advanced.tile_spin.setValue(96)
        with qtbot.waitSignal(dock.mask_added, timeout=90_000) as added:
            qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        mask = added.args[0]
        assert mask.name() == (
            "stack clouds (tiny.safetensors, 0.450, sieve 2 px, buffer 1 px) [temporary]"
        )
        abstract = mask.metadata().abstract()
        for words in ("tiny.safetensors", "threshold 0.450", "smallest cloud 2 px",
                      "buffer 1 px", "bands 3, 2, 1, 4 as red, green, blue, NIR",
                      "tile size 96 px", "the model's tile overlap", str(tiny_weights),
                      "on cpu"):
            assert words in abstract, words
