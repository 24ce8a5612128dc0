"""The temperature's two jobs that take time: the sweep (Ctrl+Space plays T 0.1 → 10 → 0.1 live,
one undo step) and the fit (the T that minimises the NLL, computed off the GUI thread by
``core.calibration``, then applied as one undo step). Owned by the controller; knows no widget
and not the controller: it gets the document, the jobs and the three intents it needs, and
announces the fit (``sigFitRunning``, ``sigFitted``, ``sigMessage``), which the controller
passes on as its own ``sigFitRunning``, ``sigTemperatureFitted`` and ``sigMessage``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.calibration import TemperatureFit, fit_temperature
from softmax_lab.core.constants import TEMPERATURE_MAX, TEMPERATURE_MIN
from softmax_lab.core.display import temperature_sweep

if TYPE_CHECKING:
    from softmax_lab.core.document import Document
    from softmax_lab.gui.workers import Jobs

PLAY_INTERVAL_MS = 50


class TemperatureSession(QObject):
    """The sweep and the fit of one window's temperature. ``set_options(merge_key=, text=,
    **changes)`` changes the loss options as the controller does (True when applied),
    ``end_merge()`` closes a run of merged changes, ``set_holding(on)`` holds the plots' axes."""

    sigFitRunning = Signal(bool)
    sigFitted = Signal(object)  # TemperatureFit
    sigMessage = Signal(str)

    def __init__(
        self,
        document: Document,
        jobs: Jobs,
        *,
        set_options: Callable[..., bool],
        end_merge: Callable[[], Any],
        set_holding: Callable[[bool], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._document = document
        self._jobs = jobs
        self._set_options = set_options
        self._end_merge = end_merge
        self._set_holding = set_holding
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
            self._set_holding(True)
        else:
            self._play_timer.stop()
            self._end_merge()
            self._set_holding(False)

    def _play_step(self) -> None:
        temperature = temperature_sweep(self._play_phase)
        self._play_phase += 1
        if not self._set_options(
            merge_key=("play", self._play_serial), text="Play temperature", temperature=temperature
        ):
            self.set_playing(False)

    # --- the fit --------------------------------------------------------------------------------

    def fit(self) -> None:
        """Find the T that minimises the NLL (core.calibration, off the GUI thread), then apply
        it."""
        doc = self._document
        if doc.settings.target_mode != "index":
            self.sigMessage.emit("Temperature fitting needs class labels, not probability targets")
            return
        # The worker reads its own copy: an edit during the fit must not race with it.
        logits = doc.logits if not doc.logits.flags.writeable else doc.logits.copy()
        s = doc.settings
        weight = None if s.weight is None else np.asarray(s.weight)
        self.sigFitRunning.emit(True)
        self.sigMessage.emit("Fitting the temperature…")
        labels = doc.labels.copy()

        def work() -> TemperatureFit:
            return fit_temperature(
                logits, labels, ignore_index=s.ignore_index, weight=weight, device=s.device
            )

        self._jobs.start("fit", work, done=self._on_fitted, failed=self._on_fit_failed)

    def _on_fit_failed(self, exc: BaseException) -> None:
        self.sigFitRunning.emit(False)
        self.sigMessage.emit(f"Could not fit the temperature: {exc}")

    def _on_fitted(self, fit: TemperatureFit) -> None:
        self.sigFitRunning.emit(False)
        temperature = min(max(round(float(fit.temperature), 4), TEMPERATURE_MIN), TEMPERATURE_MAX)
        self._set_options(text="Fit temperature", temperature=temperature)
        self.sigMessage.emit(
            f"Fitted T = {fmt.short(fit.temperature)}: NLL {fmt.number(fit.nll_before)} → "
            f"{fmt.number(fit.nll_after)}, ECE {fmt.number(fit.ece_before)} → "
            f"{fmt.number(fit.ece_after)}"
        )
        self.sigFitted.emit(fit)
