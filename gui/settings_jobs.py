"""Option changes on large tables, re-evaluated off the GUI thread.

One pass of ``evaluate`` over a language model's 2,048 x 128,256 logits takes about half a
second on two cores: done on the GUI thread, every step of the temperature slider would freeze
the window. :class:`BackgroundSettings` (owned by the controller) takes option changes of
tables above ``BACKGROUND_SETTINGS_CELLS`` cells, checks them at once on one row (a bad value
is refused as before), and evaluates in a worker. Requests that arrive meanwhile are coalesced:
when a result comes back it is applied — as an ordinary ``Document.set_settings`` step with the
evaluation handed over, so undo, redo and slider merging work as for small tables — and the
newest request, if any, is started. The widgets show the requested settings meanwhile.

A document change made meanwhile by anyone else restarts the job on the new data; an undo or
redo cancels the request (the user stepped back through history). A change of only the smoothing
(from a smoothed evaluation) or the reduction needs no pass: it is applied at once, in O(N)
(``Document.derived_evaluation``). After the release of a drag the last value's pass runs
at normal priority and is the first and only one computed: a stale pass is cancelled, the delay
before the next pass is skipped, and a pass already computing the released value is kept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import BACKGROUND_SETTINGS_CELLS
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.kernels import background_threads, cancel_scope, thread_limit
from softmax_lab.gui.workers import Jobs, raise_priority, yielding

if TYPE_CHECKING:
    from softmax_lab.core.document import Document
    from softmax_lab.core.settings import Settings


NEXT_PASS_DELAY_MS = 40
"""After applying a result, the next pass starts this much later: the window paints first."""

BACKGROUND_KEYS = frozenset(
    {"temperature", "label_smoothing", "reduction", "weight", "device", "dtype"}
)
"""Options whose change only re-evaluates the table (a target-mode change also builds soft
targets, and stays on the GUI thread)."""


class BackgroundSettings:
    """See the module docstring. ``cells`` is the size above which changes go off-thread.
    It gets the document and the jobs, not the controller: ``message(text)`` tells the user
    (a refused value), ``refused()`` has the widgets show the document's real options again."""

    def __init__(
        self,
        document: Document,
        jobs: Jobs,
        *,
        message: Callable[[str], object],
        refused: Callable[[], object],
        parent: QObject | None = None,
    ) -> None:
        self._document = document
        self._jobs = jobs
        self._message = message
        self._refused = refused
        self.cells = BACKGROUND_SETTINGS_CELLS
        self._wanted: tuple[Settings, object, str | None] | None = None
        self._running: tuple[Settings, object, str | None, int] | None = None
        self._generation = 0
        self._applying = False
        self._end_merge = False
        self._before: Settings | None = None  # the options when the recomputing began
        self._cancel: threading.Event | None = None  # the running pass's
        self._pass_thread: int | None = None  # the thread of a running pass ranked below the GUI
        self._next = QTimer(parent, singleShot=True, interval=NEXT_PASS_DELAY_MS)
        self._next.timeout.connect(self._start_next)

    # --- reading ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A request is being computed or waits to be."""
        return self._running is not None or self._wanted is not None

    def requested(self) -> Settings:
        """The settings the user asked for last (the document's own when nothing is pending)."""
        if self._wanted is not None:
            return self._wanted[0]
        if self._running is not None:  # the last request, being computed
            return self._running[0]
        return self._document.settings

    def handles(self, changes: dict[str, Any]) -> bool:
        doc = self._document
        return (
            bool(changes)
            and set(changes) <= BACKGROUND_KEYS
            and (doc.n_samples * doc.n_classes > self.cells)
        )

    # --- requests -----------------------------------------------------------------------------

    def request(self, merge_key: object, text: str | None, changes: dict[str, Any]) -> bool:
        """Ask for new options; False (with a message) when they are invalid."""
        doc = self._document
        if "weight" in changes and changes["weight"] is not None:
            changes["weight"] = tuple(float(w) for w in np.asarray(changes["weight"]).ravel())
        new = replace(self.requested(), **changes)
        try:  # the same checks as a full evaluation, on one row: a bad value is refused now
            evaluate(doc.logits[:1], doc.target()[:1], **new.evaluate_kwargs())
        except ValueError as exc:
            self._message(f"Not changed: {exc}")
            return False
        if new == doc.settings and self._running is None:
            self._wanted = None
            return True
        self._wanted = (new, merge_key, text)
        if self._running is None:
            n, c = doc.n_samples, doc.n_classes
            if self._before is None:
                self._before = doc.settings
            if doc.derived_evaluation(doc.evaluation, new) is None:  # else it is in at once
                self._message(f"Recomputing {n:,} × {c:,} with {_describe(doc.settings, new)}…")
            self._start()
        return True

    def end_merge(self) -> None:
        """The drag ended: close the undo step once the last requested result is in."""
        if self.busy:
            self._end_merge = True
            self._hurry()
        else:
            self._document.end_merge()

    def _hurry(self) -> None:
        """The drag was released: the last value's pass starts now. A pass still computing an
        older value is cancelled (it stops within a row block); during the drag such passes
        are let finish, so that the window follows the drag."""
        if self._wanted is None:
            return  # the running pass is the last value's
        if self._next.isActive():
            self._next.stop()
        elif (
            self._running is not None
            and follows_from(self._running[0], self._wanted[0])
            and self._raised()
        ):
            return  # the last value follows from the running pass's result in O(N): kept
        elif self._cancel is not None:
            self._cancel.set()
            self._jobs.cancel("settings")  # its result or error is dropped
            if self._pass_thread is not None:
                # Let it reach its next row block's check and stop: at nice +10 on a busy
                # machine it crept on beside the last value's pass for tens of ms.
                raise_priority(self._pass_thread)
        self._running = None
        self._start()

    def _raised(self) -> bool:
        """A running pass the window now waits for runs at normal priority (False: it is stuck
        below every other process on the machine, and is better started again at normal one)."""
        thread = self._pass_thread
        return thread is None or raise_priority(thread)

    def document_changed(self, context: Any) -> None:
        """Called by the controller first thing after every document change."""
        if self._applying:
            return
        self._generation += 1
        if context is not None and self.busy:  # an undo or a redo: drop the request
            if self._cancel is not None:
                self._cancel.set()
            self._jobs.cancel("settings")
            self._next.stop()
            self._running = self._wanted = None
            self._finish_merge()

    # --- the job ------------------------------------------------------------------------------

    def _start(self) -> None:
        assert self._wanted is not None
        settings, key, text = self._wanted
        self._wanted = None
        doc = self._document
        derived = doc.derived_evaluation(doc.evaluation, settings)
        if derived is not None:
            # Only the smoothing (or the reduction) moved from what the document holds: the
            # result is O(N) from its per-row terms, here and now, with no pass to wait for.
            self._running = (settings, key, text, self._generation)
            self._done(derived)
            return
        logits = doc.logits
        target = doc.target()
        target = target.copy() if target.ndim == 1 else target  # labels may be edited meanwhile
        kwargs = settings.evaluate_kwargs()
        self._running = (settings, key, text, self._generation)
        # Once the drag is released nothing else competes for the cores: the last pass takes
        # them all (during a drag one is left to the GUI thread).
        threads = max(1, os.cpu_count() or 1) if self._end_merge else background_threads()
        cancel = self._cancel = threading.Event()

        niced = not self._end_merge

        def work() -> Evaluation:
            me = threading.get_native_id()
            if niced:  # in yielding's thread: the release may raise it back (see _hurry)
                self._pass_thread = me
            try:
                # Thread-local: set in the thread.
                with thread_limit(threads), cancel_scope(cancel):
                    return evaluate(logits, target, **kwargs)
            finally:
                if self._pass_thread == me:
                    self._pass_thread = None

        # During a drag a pass runs in a thread the OS ranks below the GUI thread (nice +10), so
        # the window follows the mouse. After the release the window only waits for this pass:
        # it runs at normal priority. (With several threads the pass's blocks run in the shared
        # pool, at normal priority anyway; a one-thread pass ran niced, behind every other
        # process on a busy machine.)
        runner = (lambda fn: yielding(fn)) if niced else (lambda fn: fn())
        self._jobs.start("settings", runner, work, done=self._done, failed=self._failed)

    def _done(self, evaluation: Evaluation) -> None:
        assert self._running is not None
        settings, key, text, generation = self._running
        self._running = None
        doc = self._document
        if generation != self._generation:
            # The table changed while we computed: compute again unless something newer waits.
            if self._wanted is None:
                self._wanted = (settings, key, text)
        else:
            if self._wanted is not None and follows_from(settings, self._wanted[0]):
                # What was asked for since differs only in the smoothing or the reduction: it
                # follows from this result in O(N), and is applied in its place.
                derived = evaluation.with_options(
                    self._wanted[0].label_smoothing, self._wanted[0].reduction
                )
                if derived is not None:
                    (settings, key, text), evaluation = self._wanted, derived
                    self._wanted = None
            changes = {
                f.name: getattr(settings, f.name)
                for f in fields(settings)
                if getattr(settings, f.name) != getattr(doc.settings, f.name)
            }
            if changes:
                self._applying = True
                try:
                    doc.set_settings(text, merge_key=key, evaluation=evaluation, **changes)
                except ValueError as exc:
                    self._message(f"Not changed: {exc}")
                finally:
                    self._applying = False
        if self._wanted is not None and self._wanted[0] == doc.settings:
            self._wanted = None
        if self._wanted is not None:
            # Let the window paint what it just got before the next pass competes with it; after
            # the release the last value goes at once (the window paints while it computes).
            self._running = (self._wanted[0], None, None, self._generation)
            self._next.start(0 if self._end_merge else NEXT_PASS_DELAY_MS)
        else:
            self._say_done()
            self._finish_merge()

    def _say_done(self) -> None:
        """Replace the "Recomputing…" message once the last result is in (it stayed for its
        8 s while the window already showed the new numbers)."""
        before, self._before = self._before, None
        doc = self._document
        if before is not None and before != doc.settings:
            n, c = doc.n_samples, doc.n_classes
            self._message(f"Recomputed {n:,} × {c:,} with {_describe(before, doc.settings)}")

    def _start_next(self) -> None:
        self._running = None
        if self._wanted is not None:
            self._start()
        else:
            self._finish_merge()

    def _failed(self, exc: BaseException) -> None:
        self._running = None
        self._wanted = None
        self._finish_merge()
        self._message(f"Not changed: {exc}")
        self._refused()  # the widgets show the real options

    def _finish_merge(self) -> None:
        if self._end_merge:
            self._end_merge = False
            self._document.end_merge()


def follows_from(computed: Settings, wanted: Settings) -> bool:
    """Whether ``wanted``'s evaluation follows in O(N) from ``computed``'s without a pass
    (``Evaluation.with_options``, which has the last word): they differ only in the smoothing
    (on in both) or the reduction, with hard labels on the CPU."""
    same_rest = (
        replace(wanted, label_smoothing=computed.label_smoothing, reduction=computed.reduction)
        == computed
    )
    smoothing = computed.label_smoothing == wanted.label_smoothing or (
        computed.label_smoothing > 0 and wanted.label_smoothing > 0
    )
    return same_rest and smoothing and computed.target_mode == "index" and computed.device == "cpu"


def _describe(old: Settings, settings: Settings) -> str:
    parts = []
    for f in fields(settings):
        value = getattr(settings, f.name)
        if value != getattr(old, f.name):
            shown = fmt.short(value) if isinstance(value, float) else str(value)
            parts.append(f"T = {shown}" if f.name == "temperature" else f"{f.name} {shown}")
    return ", ".join(parts) or "the same options"
