"""Small widget helpers the panel's parts share (labels that wrap, optional spin boxes)."""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QSize, Qt
from qgis.PyQt.QtWidgets import QLabel, QSizePolicy, QSpinBox, QStackedWidget, QWidget

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


class WrappingLabel(QLabel):
    """A word-wrapped label whose height hint is what its text needs at its width.

    The panel sits in a ``QScrollArea``, which lays it out from size hints and not from
    ``heightForWidth``: a plain wrapping ``QLabel`` asks for the height of its text at
    a narrow guessed width, and the form shows that height as an empty band.
    """

    def sizeHint(self) -> QSize:
        return self._fit(super().sizeHint())

    def minimumSizeHint(self) -> QSize:
        return self._fit(super().minimumSizeHint())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.updateGeometry()  # the height hint depends on the width just given

    def _fit(self, hint: QSize) -> QSize:
        if self.wordWrap() and self.text() and self.width() > 0:
            return QSize(hint.width(), self.heightForWidth(self.width()))
        return hint


class CurrentPageStack(QStackedWidget):
    """A stacked widget as tall as its current page, not as its tallest page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.currentChanged.connect(lambda _index: self.updateGeometry())

    def sizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()


def wrapping_label(text: str = "") -> QLabel:
    """A label that wraps and never asks for more width than the dock has."""
    label = WrappingLabel(text)
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
