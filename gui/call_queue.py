"""Calls to the GUI thread from any thread, for the Python viewer (:mod:`gui.viewer`).

A :class:`CallQueue` lives on the GUI thread. ``submit`` from the GUI thread applies at once
(after what other threads queued earlier); from another thread it queues the call and wakes the
GUI thread with a queued signal. While it waits, each kind of call collapses to its latest
(``"call"``, an answer someone waits for, is never collapsed), and the queue is drained for at
most ``DRAIN_BUDGET_S`` per event-loop turn: the rest waits for a later turn, after the window
has painted and run its timers. ``call`` runs a function on the GUI thread and returns its
result (the owner's ``apply`` gets ``("call", (fn, future))`` and settles the future).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from itertools import count
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

GUI_CALL_TIMEOUT_S = 30.0
"""How long a call from another thread that needs an answer (``screenshot``) waits for the GUI
thread; it needs an event loop running there (``run()``, or IPython's ``%gui qt``)."""

DRAIN_BUDGET_S = 0.05
"""How long one event-loop turn applies queued calls before the window gets to paint (at least
one call is applied per turn)."""


def on_gui_thread() -> bool:
    """Whether this is the QApplication's thread (False when there is no QApplication)."""
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


class CallQueue(QObject):
    """Calls waiting for the GUI thread, applied there by ``apply(kind, payload)``; see the
    module docstring. Made on the GUI thread; ``submit`` and ``call`` work from any thread."""

    sigWake = Signal()

    def __init__(self, apply: Callable[[str, Any], None]) -> None:
        super().__init__()
        self._apply = apply
        self._lock = threading.Lock()
        self._pending: dict[object, tuple[str, Any]] = {}
        """Calls waiting for the GUI thread, oldest first: one per kind (the latest), each
        ``call`` (an answer someone waits for) on its own."""
        self._calls = count()
        self._woken = False  # a wake-up is on its way to the GUI thread
        self.turns = 0
        """Drain turns the GUI thread took."""
        self.sigWake.connect(self.drain_turn)
        self.again = QTimer(self, singleShot=True, interval=1)
        self.again.timeout.connect(self.drain_turn)

    def submit(self, kind: str, payload: Any) -> None:
        """Apply ``kind`` with ``payload`` on the GUI thread: now when called there, else soon."""
        if on_gui_thread():
            self.drain()  # calls queued earlier from other threads go first
            self._apply(kind, payload)
            return
        with self._lock:
            # Not yet shown: only the latest of a kind matters, in the place of the latest call.
            key: object = (kind, next(self._calls)) if kind == "call" else kind
            self._pending.pop(key, None)
            self._pending[key] = (kind, payload)
            if self._woken:
                return
            self._woken = True
        self.sigWake.emit()

    def _take(self) -> tuple[str, Any] | None:
        with self._lock:
            if not self._pending:
                self._woken = False
                return None
            return self._pending.pop(next(iter(self._pending)))

    def drain(self) -> None:
        """Everything queued, now (before a call made on the GUI thread)."""
        while (item := self._take()) is not None:
            self._apply(*item)

    def drain_turn(self) -> None:
        """One event-loop turn's share of the queue: calls until ``DRAIN_BUDGET_S`` is spent,
        the rest on a later turn, so that the window paints and its timers run between."""
        self.turns += 1
        deadline = time.monotonic() + DRAIN_BUDGET_S
        try:
            while (item := self._take()) is not None:
                self._apply(*item)
                if time.monotonic() >= deadline:
                    break
        finally:  # whatever ended the turn (the budget, an error), the rest is not forgotten
            with self._lock:
                more = bool(self._pending)
                if not more:
                    self._woken = False  # the next call wakes the GUI thread again
            if more:
                self.again.start()

    def call(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` run on the GUI thread, its result or its exception (from any thread)."""
        if on_gui_thread():
            self.drain()
            return fn()
        future: Future = Future()
        self.submit("call", (fn, future))
        try:
            return future.result(timeout=GUI_CALL_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(
                "the GUI thread did not answer: is its event loop running "
                "(softmax_lab.run(), or %gui qt in IPython)?"
            ) from None
