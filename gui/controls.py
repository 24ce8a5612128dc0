"""The options panel: device, dtype, temperature, smoothing, reduction, weights, target mode.

Widgets render the document's settings (written back with their signals blocked, so there is no
feedback loop) and send changes to the controller, which validates them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSlider,
    QWidget,
)

from softmax_lab.core import formatting as fmt
from softmax_lab.core.changes import Change
from softmax_lab.core.constants import (
    DTYPE_NAMES,
    REDUCTIONS,
    TARGET_MODES,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
)
from softmax_lab.core.parsing import parse_number

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

SLIDER_STEPS = 1000
TARGET_MODE_TEXT = {"index": "class index", "probability": "probabilities"}


def slider_to_temperature(position: int) -> float:
    """Log scale: equal slider distances are equal ratios of T."""
    lo, hi = math.log10(TEMPERATURE_MIN), math.log10(TEMPERATURE_MAX)
    return 10 ** (lo + (hi - lo) * position / SLIDER_STEPS)


def temperature_to_slider(temperature: float) -> int:
    lo, hi = math.log10(TEMPERATURE_MIN), math.log10(TEMPERATURE_MAX)
    t = min(max(temperature, TEMPERATURE_MIN), TEMPERATURE_MAX)
    return round((math.log10(t) - lo) / (hi - lo) * SLIDER_STEPS)


class ControlsPanel(QWidget):
    """Every option of the loss, rendering the controller's document settings."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.device = QComboBox()
        self.device.addItems(controller.devices())
        self.device.setToolTip("where torch computes (CPU, CUDA, MPS)")
        self.dtype = QComboBox()
        self.dtype.addItems(list(DTYPE_NAMES))
        self.dtype.setToolTip("precision of the logits and the arithmetic")
        device_row = QHBoxLayout()
        device_row.addWidget(self.device, 1)
        device_row.addWidget(self.dtype, 1)
        form.addRow("Device", device_row)

        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(0, SLIDER_STEPS)
        self.temperature_slider.setToolTip(
            f"temperature T, log scale {fmt.short(TEMPERATURE_MIN)} … {fmt.short(TEMPERATURE_MAX)}:"
            " p = softmax(z / T)"
        )
        self.temperature = QDoubleSpinBox()
        self.temperature.setDecimals(4)
        self.temperature.setRange(TEMPERATURE_MIN, TEMPERATURE_MAX)
        self.temperature.setSingleStep(0.1)
        self.temperature.setToolTip("exact temperature")
        # Typing "0.5" must not apply 0 then 0.5: commit on Enter or focus-out only.
        self.temperature.setKeyboardTracking(False)
        t_row = QHBoxLayout()
        t_row.addWidget(self.temperature_slider, 3)
        t_row.addWidget(self.temperature, 1)
        form.addRow("Temperature T", t_row)

        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 1.0)
        self.smoothing.setDecimals(3)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setKeyboardTracking(False)
        self.smoothing.setToolTip("label smoothing ε: target = (1 − ε)·one-hot + ε / C")
        self.reduction = QComboBox()
        self.reduction.addItems(list(REDUCTIONS))
        self.reduction.setToolTip("how per-sample losses become one number")
        loss_row = QHBoxLayout()
        loss_row.addWidget(self.smoothing, 1)
        loss_row.addWidget(self.reduction, 1)
        form.addRow("Smoothing, reduction", loss_row)

        self.weights = QLineEdit()
        self.weights.setPlaceholderText("none (all 1) — e.g. 1, 2, 0.5")
        self.weights.setToolTip("one weight per class, comma separated; empty for none")
        form.addRow("Class weights", self.weights)

        self.target_mode = QComboBox()
        for mode in TARGET_MODES:
            self.target_mode.addItem(TARGET_MODE_TEXT[mode], mode)
        self.target_mode.setToolTip("hard labels, or a probability row per sample (soft labels)")
        form.addRow("Targets", self.target_mode)

        self.device.currentTextChanged.connect(lambda v: self._set(device=v))
        self.dtype.currentTextChanged.connect(lambda v: self._set(dtype=v))
        self.temperature_slider.valueChanged.connect(self._on_slider)
        # While the slider is dragged the plots' axes hold still, so a bar that shrinks is seen
        # to shrink; they fit again on release.
        self.temperature_slider.sliderPressed.connect(lambda: self._c.set_holding(True))
        self.temperature_slider.sliderReleased.connect(self._c.end_merge)
        self.temperature_slider.sliderReleased.connect(lambda: self._c.set_holding(False))
        self.temperature.valueChanged.connect(
            lambda v: self._set(temperature=v, merge_key="temperature")
        )
        self.temperature.editingFinished.connect(self._c.end_merge)
        self.smoothing.valueChanged.connect(
            lambda v: self._set(label_smoothing=v, merge_key="smoothing")
        )
        self.smoothing.editingFinished.connect(self._c.end_merge)
        self.reduction.currentTextChanged.connect(lambda v: self._set(reduction=v))
        self.weights.editingFinished.connect(self._on_weights)
        self.target_mode.currentIndexChanged.connect(
            lambda i: self._set(target_mode=self.target_mode.itemData(i))
        )

        controller.sigDataChanged.connect(self._on_data_changed)
        controller.sigLayoutChanged.connect(self.refresh)
        self.refresh()

    def _set(self, merge_key: object = None, **changes) -> None:
        if not self._c.set_options(merge_key=merge_key, **changes) or self._c.background.busy:
            self.refresh()  # refused, or computing in the background: show what was asked

    def _on_slider(self, position: int) -> None:
        self._set(temperature=round(slider_to_temperature(position), 4), merge_key="temperature")

    def _on_weights(self) -> None:
        text = self.weights.text().strip()
        if not text:
            self._set(weight=None)
            return
        try:
            values = [parse_number(v) for v in text.replace(";", ",").split(",") if v.strip()]
        except ValueError as exc:
            self._c.sigMessage.emit(f"Weights not changed: {exc}")
            self.refresh()
            return
        self._set(weight=values)

    def _on_data_changed(self, change: Change, _rows: object) -> None:
        if change & (Change.SETTINGS | Change.STRUCTURE):
            self.refresh()

    def refresh(self) -> None:
        """Write the settings into the widgets without echoing them back (the ones last asked
        for: on a large table they may still be computing)."""
        s = self._c.requested_settings
        widgets = (
            self.device,
            self.dtype,
            self.temperature_slider,
            self.temperature,
            self.smoothing,
            self.reduction,
            self.weights,
            self.target_mode,
        )
        blockers = [QSignalBlocker(w) for w in widgets]
        if self.device.findText(s.device) < 0:
            self.device.addItem(s.device)
        self.device.setCurrentText(s.device)
        self.dtype.setCurrentText(s.dtype)
        self.temperature_slider.setValue(temperature_to_slider(s.temperature))
        self.temperature.setValue(s.temperature)
        self.smoothing.setValue(s.label_smoothing)
        self.reduction.setCurrentText(s.reduction)
        self.weights.setText("" if s.weight is None else ", ".join(fmt.exact(w) for w in s.weight))
        self.target_mode.setCurrentIndex(self.target_mode.findData(s.target_mode))
        del blockers
