"""The panel at the default dock width, in English and French, at 100 % and 150 % scaling.

Review 2026-12-05, defect 3: expanding "Clean-up and extra outputs" made the panel 516 px
wide in a 298 px dock with no scroll bar, and in French it was clipped even with the groups
collapsed. Here every group is opened and every control must lie inside the scroll area's
viewport width and within its scroll range, with its text whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QPoint
from qgis.PyQt.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSlider,
    QWidget,
)

from cloud_fcn_plugin import translation
from cloud_fcn_plugin.gui.dock import SETTINGS_GROUP, DetectCloudsDock

pytestmark = [pytest.mark.qgis, pytest.mark.data]

#: QGIS 3's default dock width (the review's dock), and QGIS 4's is no wider.
DOCK_WIDTH = 298
CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QSlider, QgsFileWidget)


@pytest.fixture(params=["en", "fr"])
def language(request, qgis_app) -> Iterator[str]:
    translator = translation.PluginTranslator()
    if request.param == "fr":
        if translation.translation_file("fr") is None:
            pytest.skip("cloud_fcn_fr.qm is not compiled: `make i18n`")
        translator.install("fr")
    yield request.param
    translator.remove()


@pytest.fixture(params=[1.0, 1.5], ids=["100%", "150%"])
def scaling(request, qgis_app) -> Iterator[float]:
    """Screen scaling as QGIS 3 on Linux does it: every font 1.5 times larger in pixels."""
    before = QgsApplication.font()
    font = QgsApplication.font()
    font.setPointSizeF(before.pointSizeF() * request.param)
    QgsApplication.setFont(font)
    yield request.param
    QgsApplication.setFont(before)


@pytest.fixture()
def expanded_dock(qtbot, qgis_iface, qgis_processing, language, scaling, toa_band_file):
    QgsSettings().remove(SETTINGS_GROUP)
    project = QgsProject.instance()
    layer = QgsRasterLayer(str(toa_band_file), "LC80130312015295LGN00_B4_toa", "gdal")
    project.addMapLayer(layer)
    window = qgis_iface.mainWindow()
    window.show()
    dock = DetectCloudsDock(qgis_iface, window)
    qtbot.addWidget(dock)
    dock.setFloating(True)
    dock.show()
    dock.layer_combo.setLayer(layer)
    # Every option that shows a widget: both groups open, both file pickers on.
    for box in dock.findChildren(QgsCollapsibleGroupBox):
        box.setCollapsed(False)
    dock.form.workflow.masked_check.setChecked(True)
    dock.form.workflow.polygons_check.setChecked(True)
    dock.form.file_radio.setChecked(True)
    dock.resize(DOCK_WIDTH, 700)
    qtbot.wait(100)
    yield dock
    dock.shutdown()
    project.removeAllMapLayers()
    QgsSettings().remove(SETTINGS_GROUP)


def _part_of_a_control(widget: QWidget, body: QWidget) -> bool:
    """Whether ``widget`` is inside a combo, spin box, file picker or line edit, or is a
    group's collapse arrow: the control as a whole is checked instead."""
    compound = QComboBox | QAbstractSpinBox | QgsFileWidget | QLineEdit
    parent = widget.parent()
    if isinstance(parent, QgsCollapsibleGroupBox) and not isinstance(widget, QgsFileWidget):
        return isinstance(widget, QAbstractButton) and not widget.text()
    while parent is not None and parent is not body:
        if isinstance(parent, compound):
            return True
        parent = parent.parent()
    return False


def _shown(widget: QWidget, body: QWidget) -> bool:
    return widget.isVisibleTo(body) and widget.width() > 0


def test_every_control_is_reachable_at_the_default_dock_width(qtbot, expanded_dock):
    _assert_reachable(expanded_dock)


def test_the_result_fits_too(qtbot, expanded_dock, tiny_weights):
    """After a run: the cover sentence, the details and the warnings wrap inside the dock."""
    dock = expanded_dock
    dock.form.temporary_radio.setChecked(True)
    dock.form.advanced.model_widget.setFilePath(str(tiny_weights))
    with qtbot.waitSignal(dock.run_finished, timeout=120_000) as finished:
        dock.run_button.click()
    assert finished.args[0]
    qtbot.wait(100)
    assert dock.details_label.text()
    _assert_reachable(dock)


def _assert_reachable(dock) -> None:
    scroll = dock.widget()
    viewport = scroll.viewport()
    body = dock.body
    assert body.width() <= viewport.width(), "the panel is wider than its dock"
    checked = 0
    for widget in body.findChildren(QWidget):
        if not _shown(widget, body):
            continue
        is_label = isinstance(widget, QLabel) and bool(widget.text())
        if not (isinstance(widget, CONTROLS) or is_label):
            continue
        if _part_of_a_control(widget, body):
            continue  # the parts of a compound widget, a group's collapse arrow
        corner = widget.mapTo(body, QPoint(0, 0))
        name = widget.accessibleName() or getattr(widget, "text", lambda: "")() or widget
        assert corner.x() >= 0, name
        assert corner.x() + widget.width() <= viewport.width() + 1, (
            f"{name} ends at {corner.x() + widget.width()} px in a {viewport.width()} px view"
        )
        assert corner.y() >= 0 and corner.y() + widget.height() <= body.height() + 1, name
        assert body.height() <= viewport.height() + scroll.verticalScrollBar().maximum() + 1
        if isinstance(widget, QAbstractButton) and widget.text():
            # Its whole text shows (Réinitialiser, Couche temporaire...).
            assert widget.width() >= widget.sizeHint().width() - 1, widget.text()
        elif isinstance(widget, CONTROLS):
            wanted = min(40, widget.sizeHint().width())
            assert widget.width() >= wanted, (
                f"{name} in {type(widget.parent()).__name__} is squeezed to {widget.width()} px")
        if is_label and not widget.wordWrap():
            assert widget.width() >= widget.sizeHint().width() - 1, widget.text()
        elif is_label:  # a word too long for the line (a file name) is cut off
            room = widget.contentsRect().width()
            for word in re.split(r"[\s\u200b]+", widget.text()):
                assert widget.fontMetrics().horizontalAdvance(word) <= room + 1, (
                    f"{word!r} of {widget.text()!r} is cut off at {room} px")
        checked += 1
    assert checked > 30
    # The lowest control can be scrolled to.
    scroll.ensureWidgetVisible(dock.warnings_label)
    assert scroll.verticalScrollBar().value() >= 0
