"""Small widget helpers the panel's parts share (labels that wrap, optional spin boxes)."""

from __future__ import annotations

import re
from collections.abc import Callable

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QEvent, QObject, QSize, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

# Where a long word (a Landsat file name, a path) may break when a label wraps.
_BREAK_AFTER = "_/\\-."
_LONG_WORD = re.compile(r"[^\s\u200b]{13,}")
_LONG_RUN = re.compile(r"[^\s\u200b]{10}(?=[^\s\u200b]{2})")


def describe(widget: QWidget, name: str, tip: str) -> None:
    """Give a control its accessible name and tooltip."""
    widget.setAccessibleName(name)
    widget.setToolTip(tip)


def wrappable(text: str) -> str:
    """Let a label break long words (file names, paths) with zero-width spaces.

    Only words of more than twelve characters: after ``_ / \\ - .``, and inside any run
    of more than ten characters with no break (a Landsat scene id is 21, wider than a
    narrow dock at 150 %). Numbers and ordinary words are left whole.
    """
    return _LONG_WORD.sub(lambda match: _breakable(match.group(0)), text)


def _breakable(word: str) -> str:
    for char in _BREAK_AFTER:
        word = word.replace(char, char + "\u200b")
    return _LONG_RUN.sub("\\g<0>\u200b", word)


class WrappingLabel(QLabel):
    """A word-wrapped label whose height hint is what its text needs at its width.

    The panel sits in a ``QScrollArea``, which lays it out from size hints and not from
    ``heightForWidth``: a plain wrapping ``QLabel`` asks for the height of its text at
    a narrow guessed width, and the form shows that height as an empty band.
    """

    def sizeHint(self) -> QSize:
        return self._fit(super().sizeHint())

    def minimumSizeHint(self) -> QSize:
        # Any width will do: the text wraps (long words break at _BREAK_AFTER).
        hint = self._fit(super().minimumSizeHint())
        if self.wordWrap():
            hint.setWidth(min(hint.width(), self.minimumWidth() or 20))
        return hint

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


def fit_form(form: QFormLayout, *, stacked: bool = False) -> QFormLayout:
    """Let a form fit a narrow dock: long rows put their field under the label, and the
    labels wrap (a French or 150 % label is wider than half the dock).

    ``stacked``: every label above its field (the groups, whose fields are wide).
    """
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows if stacked
                          else QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        label = item.widget() if item is not None else None
        if isinstance(label, QLabel) and not isinstance(label, WrappingLabel):
            label.setWordWrap(True)
    return form


class FormWrapper(QObject):
    """Puts a form's labels above their fields when the labels leave the fields too little.

    ``QFormLayout.WrapLongRows`` keeps the label column as wide as its widest label
    (word-wrapped or not) and squeezes the fields beside it, off the dock's edge in
    French or at 150 %; this watches the widget holding the form and switches to
    ``WrapAllRows`` below the width where every field keeps ``field_width`` pixels.
    """

    def __init__(self, form: QFormLayout, holder: QWidget,
                 field_width: int | Callable[[], int]) -> None:
        super().__init__(holder)
        self.form, self._field_width = form, field_width
        holder.installEventFilter(self)

    @property
    def field_width(self) -> int:
        """The width every field keeps beside its label (computed now if a function)."""
        width = self._field_width
        return width() if callable(width) else width

    def needed_width(self) -> int:
        """The width under which the labels go above their fields."""
        labels = [self.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                  for row in range(self.form.rowCount())]
        widest = max((item.widget().sizeHint().width() for item in labels
                      if item is not None and item.widget() is not None
                      and not item.widget().isHidden()), default=0)
        margins = self.form.contentsMargins()
        return (widest + self.form.horizontalSpacing() + self.field_width
                + margins.left() + margins.right())

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            narrow = event.size().width() < self.needed_width()
            policy = (QFormLayout.RowWrapPolicy.WrapAllRows if narrow
                      else QFormLayout.RowWrapPolicy.DontWrapRows)
            if self.form.rowWrapPolicy() != policy:
                self.form.setRowWrapPolicy(policy)
        return False


class WrappingCheck(QWidget):
    """A check box whose text wraps: a bare ``QCheckBox`` and a label beside it.

    A ``QCheckBox`` never wraps its text and asks for its whole width; this one fits
    any dock. Clicking the label toggles the box, as clicking a check box's text does.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox()
        self.label = wrapping_label(text)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.label.setBuddy(self.box)
        self.label.mousePressEvent = lambda _event: self.box.toggle()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)
        self.toggled = self.box.toggled
        self.isChecked = self.box.isChecked
        self.setChecked = self.box.setChecked

    def setAccessibleName(self, name: str) -> None:
        self.box.setAccessibleName(name)
        super().setAccessibleName(name)

    def setToolTip(self, tip: str) -> None:
        self.box.setToolTip(tip)
        self.label.setToolTip(tip)
        super().setToolTip(tip)


def output_file_widget(file_filter: str) -> QgsFileWidget:
    """File widget for an output file."""
    widget = QgsFileWidget()
    widget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
    widget.setFilter(file_filter)
    return shrinkable(widget)


def shrinkable(widget: QWidget, minimum: int = 80) -> QWidget:
    """Let a wide widget (a file picker, a combo) take the width the dock has."""
    widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    widget.setMinimumWidth(minimum)
    return widget


def optional_spin(minimum: int, maximum: int, special: str) -> QSpinBox:
    """Spin box whose minimum means "not set"."""
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSpecialValueText(special)
    spin.setValue(minimum)
    return shrinkable(spin, 100)
