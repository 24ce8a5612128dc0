"""The temperature's two jobs that take time: the sweep (Ctrl+Space plays T 0.1 → 10 → 0.1 live,
one undo step) and the fit (the T that minimises the NLL, computed off the GUI thread by
``core.calibration``, then applied as one undo step). Owned by the controller; knows no widget.
The controller's ``sigFitRunning`` and ``sigTemperatureFitted`` announce the fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer

from softmax_lab.core import formatting as fmt
from softmax_lab.core.calibration import TemperatureFit, fit_temperature
from softmax_lab.core.constants import TEMPERATURE_MAX, TEMPERATURE_MIN
from softmax_lab.core.display import temperature_sweep

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

PLAY_INTERVAL_MS = 50


class TemperatureSession(QObject):
    """The sweep and the fit of one window's temperature."""

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self._play_timer = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._play_step)
        self._play_phase = 0
        self._play_serial = 0

    # --- the sweep ------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def set_playing(self, on: bool) -> None:
        """Sweep T 0.1 → 10 → 0.1 (log scale) live; one undo step restores T."""
        if on == self.playing:
            return
        if on:
            self._play_phase = 0
            self._play_serial += 1
            self._play_timer.start()  # first: sigAnimating's listeners read ``playing``
            self._c.set_holding(True)
        else:
            self._play_timer.stop()
            self._c.end_merge()
            self._c.set_holding(False)

    def _play_step(self) -> None:
        temperature = temperature_sweep(self._play_phase)
        self._play_phase += 1
        if not self._c.set_options(
            merge_key=("play", self._play_serial), text="Play temperature", temperature=temperature
        ):
            self.set_playing(False)

    # --- the fit --------------------------------------------------------------------------------

    def fit(self) -> None:
        """Find the T that minimises the NLL (core.calibration, off the GUI thread), then apply
        it."""
        c = self._c
        doc = c.document
        if doc.settings.target_mode != "index":
            c.sigMessage.emit("Temperature fitting needs class labels, not probability targets")
            return
        # The worker reads its own copy: an edit during the fit must not race with it.
        logits = doc.logits if not doc.logits.flags.writeable else doc.logits.copy()
        s = doc.settings
        weight = None if s.weight is None else np.asarray(s.weight)
        c.sigFitRunning.emit(True)
        c.sigMessage.emit("Fitting the temperature…")
        labels = doc.labels.copy()

        def work() -> TemperatureFit:
            return fit_temperature(
                logits, labels, ignore_index=s.ignore_index, weight=weight, device=s.device
            )

        c.jobs.start("fit", work, done=self._on_fitted, failed=self._on_fit_failed)

    def _on_fit_failed(self, exc: BaseException) -> None:
        self._c.sigFitRunning.emit(False)
        self._c.sigMessage.emit(f"Could not fit the temperature: {exc}")

    def _on_fitted(self, fit: TemperatureFit) -> None:
        c = self._c
        c.sigFitRunning.emit(False)
        temperature = min(max(round(float(fit.temperature), 4), TEMPERATURE_MIN), TEMPERATURE_MAX)
        c.set_options(text="Fit temperature", temperature=temperature)
        c.sigMessage.emit(
            f"Fitted T = {fmt.short(fit.temperature)}: NLL {fmt.number(fit.nll_before)} → "
            f"{fmt.number(fit.nll_after)}, ECE {fmt.number(fit.ece_before)} → "
            f"{fmt.number(fit.ece_after)}"
        )
        c.sigTemperatureFitted.emit(fit)
