"""The one way Softmax Lab runs work off the GUI thread: :class:`Jobs`.

Each kind of job (``"load"``, ``"fit"``, ...) has a generation counter: starting a job, or
cancelling, makes every earlier job of that kind stale, and a stale job's result or error is
dropped when it arrives. Results are delivered on the GUI thread (a relay object that lives
there receives them as queued signals), so handlers may touch widgets and the document.

Every job runs in a daemon thread of its own: a job stuck in a read that never ends (a FIFO, a
dead network drive) cannot keep the process alive once its windows have closed; quitting always
works. (A thread pool's threads are joined at exit, and such a job would hang it forever.)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal
from shiboken6 import isValid


class _Relay(QObject):
    """Lives on the GUI thread for the whole process (never deleted, so a job that ends late
    never emits from a dead object); runs each delivered callback there."""

    sigDeliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.sigDeliver.connect(self._run)

    def _run(self, callback: Callable[[], None]) -> None:
        callback()


_relays: list[_Relay] = []


def _relay() -> _Relay:
    if not _relays:
        relay = _Relay()
        app = QCoreApplication.instance()
        if app is not None:
            relay.moveToThread(app.thread())
        _relays.append(relay)
    return _relays[0]


class Jobs(QObject):
    """Background jobs by kind; ``sigBusy(kind, busy)`` says when a kind starts and stops."""

    sigBusy = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation: dict[str, int] = {}
        self._running: dict[str, int] = {}
        self._relay = _relay()

    def start(
        self,
        kind: str,
        work: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], object],
        failed: Callable[[BaseException], None],
    ) -> int:
        """Run ``work(*args)`` in a daemon thread; ``done(result)`` or ``failed(exception)``
        follow on the GUI thread unless a newer job of this kind was started (or cancelled)
        meanwhile. Returns the job's generation."""
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation

        def current() -> bool:
            # A window closed while the job ran took its controller (and these jobs) with it:
            # the result has no one to go to.
            return isValid(self) and self._generation.get(kind) == generation

        def deliver(ok: bool, value: Any) -> None:  # on the GUI thread
            if not isValid(self):
                return
            self._running[kind] = self._running.get(kind, 1) - 1
            try:
                if current():
                    (done if ok else failed)(value)
            finally:
                if not self._running[kind] and isValid(self):
                    self.sigBusy.emit(kind, False)

        relay = self._relay

        def run() -> None:  # in the job's thread
            try:
                outcome = (True, work(*args))
            except BaseException as exc:  # handed to ``failed`` on the GUI thread
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the process is shutting Qt down
                relay.sigDeliver.emit(lambda: deliver(*outcome))

        self._running[kind] = self._running.get(kind, 0) + 1
        if self._running[kind] == 1:
            self.sigBusy.emit(kind, True)
        threading.Thread(target=run, name=f"softmax-lab-{kind}", daemon=True).start()
        return generation

    def cancel(self, kind: str) -> None:
        """Forget the running job of this kind: whatever it produces is dropped. (Reading a file
        cannot be interrupted; nothing of it reaches the window, and its thread, a daemon, never
        keeps the process from exiting.)"""
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


def raise_priority(thread_id: int) -> bool:
    """Run a thread that :func:`yielding` ranked below the GUI thread at the process's own
    priority again (``thread_id``: its ``threading.get_native_id()``): once a drag is released
    the window waits for that pass, and on a busy machine a nice +10 thread barely runs. False
    where the OS refuses (Linux lets only a privileged process lower a nice value) or cannot."""
    if not hasattr(os, "setpriority"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, thread_id, os.getpriority(os.PRIO_PROCESS, 0))
    except OSError:
        return False
    return True
