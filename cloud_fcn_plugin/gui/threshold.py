"""The threshold row: a slider and a spin box kept in step, a Reset button and a note."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .widgets import describe, wrappable, wrapping_label

SLIDER_SCALE = 1000  # slider steps per unit of probability: 0.001 resolution


class ThresholdRow(QWidget):
    """Cloud probability threshold: the model's calibrated one until the user sets one.

    Signals:
        user_changed: the user moved the slider or typed a value (the value).
        reset_requested: Reset was clicked; the owner shows the model's threshold again.
    """

    user_changed = pyqtSignal(float)
    reset_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_by_user = False
        self.default_value = 0.5
        self._quiet = False
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, SLIDER_SCALE - 1)
        self.slider.setPageStep(SLIDER_SCALE // 20)
        describe(self.slider, self.tr("Threshold slider"), self.tr(
            "Cloud probability above which a pixel is cloud. Lower finds more thin cloud."))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(1 / SLIDER_SCALE, 1 - 1 / SLIDER_SCALE)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.setMinimumWidth(60)
        self.spin.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        describe(self.spin, self.tr("Threshold"), self.tr(
            "Type the cloud probability threshold (0.001 to 0.999)."))
        self.reset_button = QToolButton()
        self.reset_button.setText(self.tr("Reset"))
        describe(self.reset_button, self.tr("Reset threshold"), self.tr(
            "Go back to the threshold calibrated with the model."))
        #: The sentence under the row (placed by the form).
        self.note = wrapping_label()
        self.slider.valueChanged.connect(self._on_slider_changed)
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.reset_button.clicked.connect(self.reset)
        # The slider on its own line, the value and Reset under it: side by side the
        # three need more than a narrow dock ("Réinitialiser").
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.slider)
        row = QHBoxLayout()
        row.addWidget(self.spin, 1)
        row.addWidget(self.reset_button)
        column.addLayout(row)

    def value(self) -> float:
        """Return the threshold shown."""
        return round(self.spin.value(), 3)

    def show_value(self, value: float) -> None:
        """Show ``value`` on the slider and the spin box without marking it the user's."""
        with self._quietly():
            self.spin.setValue(value)
            self.slider.setValue(round(value * SLIDER_SCALE))

    def set_value(self, value: float) -> None:
        """Set the user's threshold ``value``."""
        self.show_value(value)
        self._mark_user()

    def restore_user_value(self, value: float) -> None:
        """Show a threshold the user set in an earlier session (no signal)."""
        self.show_value(value)
        self.set_by_user = True
        self.note.setText(self.tr("Your threshold."))

    def set_model_default(self, value: float, note: str) -> None:
        """Record the model's calibrated ``value``; show it unless the user set one."""
        self.default_value = value
        if self.set_by_user:
            self.note.setText(self._user_note())
        else:
            self.show_value(value)
            self.note.setText(wrappable(note))

    def reset(self) -> None:
        """Forget the user's threshold; the owner shows the model's again."""
        self.set_by_user = False
        self.reset_requested.emit()

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    def _on_slider_changed(self, value: int) -> None:
        if self._quiet:
            return
        with self._quietly():
            self.spin.setValue(value / SLIDER_SCALE)
        self._mark_user()

    def _on_spin_changed(self, value: float) -> None:
        if self._quiet:
            return
        with self._quietly():
            self.slider.setValue(round(value * SLIDER_SCALE))
        self._mark_user()

    def _mark_user(self) -> None:
        self.set_by_user = True
        self.note.setText(self._user_note())
        self.user_changed.emit(self.value())

    def _user_note(self) -> str:
        return self.tr("Your threshold; the model's calibrated one is {value:.3f}.").format(
            value=self.default_value
        )
