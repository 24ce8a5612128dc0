"""The one way Softmax Lab runs work off the GUI thread: :class:`Jobs`, over superqt's workers.

Each kind of job (``"load"``, ``"fit"``, ...) has a generation counter: starting a job, or
cancelling, makes every earlier job of that kind stale, and a stale job's result or error is
dropped when it arrives. Results are delivered on the GUI thread (superqt queues the worker's
signals there), so handlers may touch widgets and the document.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid
from superqt.utils import create_worker


class Jobs(QObject):
    """Background jobs by kind; ``sigBusy(kind, busy)`` says when a kind starts and stops."""

    sigBusy = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation: dict[str, int] = {}
        self._running: dict[str, int] = {}
        self._workers: set[Any] = set()

    def start(
        self,
        kind: str,
        work: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], object],
        failed: Callable[[BaseException], None],
    ) -> int:
        """Run ``work(*args)`` in a worker thread; ``done(result)`` or ``failed(exception)`` follow
        on the GUI thread unless a newer job of this kind was started (or cancelled) meanwhile.
        Returns the job's generation."""
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation
        # Errors go to ``failed``; superqt would otherwise re-raise them on the GUI thread.
        worker = create_worker(work, *args, _start_thread=False, _ignore_errors=True)

        def current() -> bool:
            # A window closed while the job ran took its controller (and these jobs) with it:
            # the result has no one to go to.
            return isValid(self) and self._generation.get(kind) == generation

        def returned(result: Any) -> None:
            if current():
                done(result)

        def errored(exc: BaseException) -> None:
            if current():
                failed(exc)

        def finished() -> None:
            self._workers.discard(worker)
            self._running[kind] = self._running.get(kind, 1) - 1
            if not self._running[kind] and isValid(self):
                self.sigBusy.emit(kind, False)

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(finished)
        # Keep a reference: a worker object collected before it finishes drops its signals.
        self._workers.add(worker)
        self._running[kind] = self._running.get(kind, 0) + 1
        if self._running[kind] == 1:
            self.sigBusy.emit(kind, True)
        worker.start()
        return generation

    def cancel(self, kind: str) -> None:
        """Forget the running job of this kind: whatever it produces is dropped. (Reading a file
        cannot be interrupted; nothing of it reaches the window.)"""
        self._generation[kind] = self._generation.get(kind, 0) + 1

    def busy(self, kind: str) -> bool:
        return self._running.get(kind, 0) > 0

    def is_current(self, kind: str, generation: int) -> bool:
        return self._generation.get(kind) == generation


BACKGROUND_NICE = 10


def yielding(work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` in a thread the OS runs after the GUI thread (nice +10 where threads can
    be reniced, i.e. Linux), waited for: a job's pass over a 1 GB table then never takes the
    core a frame needs. A fresh thread each time, since a pool thread could not be raised back.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        if hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        try:
            box["value"] = work(*args)
        except BaseException as exc:  # handed to the waiting worker, which reports it
            box["error"] = exc

    thread = threading.Thread(target=run, name="softmax-lab-background", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
