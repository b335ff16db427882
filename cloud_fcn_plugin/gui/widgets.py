"""Small widget helpers the panel's parts share (labels that wrap, optional spin boxes)."""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QLabel, QSizePolicy, QSpinBox, QWidget

# Where a long word (a Landsat file name, a path) may break when a label wraps.
_BREAK_AFTER = "_/\\-."


def describe(widget: QWidget, name: str, tip: str) -> None:
    """Give a control its accessible name and tooltip."""
    widget.setAccessibleName(name)
    widget.setToolTip(tip)


def wrappable(text: str) -> str:
    """Let a label break long words (file names, paths) with zero-width spaces."""
    for char in _BREAK_AFTER:
        text = text.replace(char, char + "\u200b")
    return text


def wrapping_label(text: str = "") -> QLabel:
    """A label that wraps and never asks for more width than the dock has."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    label.setMinimumWidth(20)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def output_file_widget(file_filter: str) -> QgsFileWidget:
    """File widget for an output file."""
    widget = QgsFileWidget()
    widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
    widget.setFilter(file_filter)
    return widget


def optional_spin(minimum: int, maximum: int, special: str) -> QSpinBox:
    """Spin box whose minimum means "not set"."""
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSpecialValueText(special)
    spin.setValue(minimum)
    return spin
