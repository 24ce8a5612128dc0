"""A recorded training run in the window: which step the table shows, following a live run,
playing through steps. The run's training dynamics (data map, trajectory, table columns) are
computed by the :class:`~gui.run_dynamics.RunDynamics` it owns (``runs.analysis``).

:class:`RunsSession` is owned by the controller (``controller.runs``) and, like it, calls into
``core`` and knows no widget: the training tab and the step bar render what it publishes and
send intent back. The document says which run and step the table shows (``Document.source`` is
a ``core.runs.RunStep``), so undo and redo move the step bar with the table.

How steps relate to undo and edits:

* Moving to another step replaces model A's logits (labels, class names, inputs and options
  stay) as an undo step. Consecutive moves (the slider, the step keys, play, follow latest) are
  one undo step until something else is done: Undo returns to the step shown before them.
* Editing a logit edits the table of the step shown, never the run's files: the edit stays
  with that step (moving away and back shows it again) and is undone as any edit. The data map,
  the trajectory and the dynamics columns show the run as recorded.
* Editing a label changes it at every step (labels are the run's, not a step's), and the
  dynamics are recomputed with it: fixing a flipped label moves its sample on the data map.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.cartography import DataMap, Trajectory
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Change
from softmax_lab.core.dynamics import TrainingDynamics
from softmax_lab.core.loaders import DataError
from softmax_lab.core.opening import NoStepYet, PreparedRun, copy_on_write, prepare_run, run_inputs
from softmax_lab.core.runs import MANIFEST, Run, RunStep, load_run
from softmax_lab.gui.run_dynamics import RunDynamics

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

POLL_MS = 400
"""How often a run's manifest is checked for new steps (one ``stat`` when nothing changed)."""
PLAY_MS = 250
"""One step per this many milliseconds while playing."""
HOLD_MS = 900
"""Axes stay still this long after the last single step, so that a walk through steps is seen."""
LIVE_S = 10.0
"""A run whose last step arrived less than this long ago is called live."""
POLL_JOB, WAIT_JOB = "run poll", "run wait"
"""The Jobs kinds that read a live run's manifest off the GUI thread."""
STEP_MERGE = "run steps"
"""The merge key of every step move: consecutive moves are one undo step."""


class RunsSession(QObject):
    """The run the table shows, its steps and its dynamics; see the module docstring."""

    sigRunChanged = Signal()  # a run came or went (the training tab and step bar follow)
    sigStepsChanged = Signal()  # the run's steps grew (a live run)
    sigStepChanged = Signal()  # the table shows another step
    sigDynamicsChanged = Signal()  # new dynamics and data map, or none
    sigDynamicsBusy = Signal(bool)
    sigTrajectoryChanged = Signal()
    sigPlayingChanged = Signal(bool)
    sigFollowChanged = Signal(bool)
    sigOpened = Signal(str)  # path
    sigOpenFailed = Signal(str)  # message
    sigWaitingEnded = Signal()  # waiting for a run stopped (it opens, was cancelled or replaced)
    sigWaiting = Signal(str, str)  # path, message: the run has no step yet; it opens at the first

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self.run: Run | None = None
        self.step: int | None = None
        self.follow = True
        self.last_arrival: float | None = None
        self._edited: dict[tuple[Run, int], np.ndarray] = {}
        self._problems_shown = 0
        self._scrubbing = False
        self._holding = False
        self._pending: set[str] = set()  # what announce() has to tell after a document change
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self.poll)
        self.waiting_for: str | None = None  # a run folder with no step yet, opened at its first
        self._wait = QTimer(self, interval=POLL_MS)
        self._wait.timeout.connect(self._check_waiting)
        self._play = QTimer(self, interval=PLAY_MS)
        self._play.timeout.connect(self._play_step)
        self._hold = QTimer(self, singleShot=True, interval=HOLD_MS)
        self._hold.timeout.connect(self._release_axes)
        self.analysis = RunDynamics(controller, self)  # dynamics, data map, trajectory
        self.analysis.sigChanged.connect(self.sigDynamicsChanged)
        self.analysis.sigBusy.connect(self.sigDynamicsBusy)
        self.analysis.sigTrajectoryChanged.connect(self.sigTrajectoryChanged)

    # --- reading ------------------------------------------------------------------------------

    @property
    def steps(self) -> list[int]:
        return [] if self.run is None else list(self.run.steps)

    @property
    def step_index(self) -> int:
        """Where the shown step is in ``steps`` (-1 when no run step is shown)."""
        if self.run is None or self.step is None:
            return -1
        try:
            return self.run.steps.index(self.step)
        except ValueError:
            return -1

    @property
    def dynamics(self) -> TrainingDynamics | None:
        return self.analysis.dynamics

    @property
    def map(self) -> DataMap | None:
        return self.analysis.map

    @property
    def trajectory(self) -> Trajectory | None:
        return self.analysis.trajectory

    @property
    def playing(self) -> bool:
        return self._play.isActive()

    @property
    def live(self) -> bool:
        """Steps arrived recently (the run is being written)."""
        return self.last_arrival is not None and time.monotonic() - self.last_arrival < LIVE_S

    def step_text(self) -> str:
        """``step 1,200 · 12 of 30`` for the step bar."""
        if self.run is None or self.step is None:
            return "no run"
        index, total = self.step_index, len(self.run.steps)
        return f"step {fmt.count(self.step)} · {index + 1:,} of {total:,}"

    # --- opening --------------------------------------------------------------------------------

    def open(self, path: str | Path) -> None:
        """Open a run folder off the GUI thread (at its latest step, following it): emits
        ``sigOpened`` or ``sigOpenFailed``; a failure leaves the table as it was."""
        path = str(path)
        self._stop_waiting()
        self._c.jobs.start(
            "load",
            prepare_run,
            path,
            self._c.document.settings,
            done=self._on_prepared,
            failed=partial(self._on_open_failed, path),
        )

    def _on_prepared(self, p: PreparedRun) -> None:
        name = p.run.path.name
        self.set_playing(False)
        if not self._c.replace_document(
            p.logits,
            p.labels,
            p.run.class_names,
            settings=p.settings,
            evaluation=p.evaluation,
            text=f"Open run {name}",
            inputs=p.inputs,
            has_labels=p.has_labels,
            source=RunStep(p.run, p.step),
        ):
            self.sigOpenFailed.emit(f"{name}: could not be used")
            return
        self._problems_shown = len(p.run.problems)
        self.set_follow(True)
        steps = len(p.run.steps)
        notes = "; ".join(p.notices)
        self._c.sigMessage.emit(
            f"Opened run {name}: {fmt.plural(steps, 'step')} of {p.run.n_samples:,} × "
            f"{p.run.n_classes:,}, showing step {fmt.count(p.step)}"
            + (f" — {notes}" if notes else "")
        )
        self.sigOpened.emit(p.path)

    def _on_open_failed(self, path: str, exc: BaseException) -> None:
        if isinstance(exc, NoStepYet):  # a writer that just started: open at its first step
            self.waiting_for = path
            self._wait.start()
            message = str(exc)
            self._c.sigMessage.emit(message)
            self.sigWaiting.emit(path, message)
        elif isinstance(exc, DataError):
            self.sigOpenFailed.emit(str(exc))
        else:  # a bug must reach the user as a message, not a dead thread
            self.sigOpenFailed.emit(f"{path}: could not open ({type(exc).__name__}: {exc})")

    def _check_waiting(self) -> None:
        """Look for the first step off the GUI thread: what the manifest claims (10^7 classes,
        a million missing steps) costs the window nothing while it waits."""
        path = self.waiting_for
        if path is None or self._c.jobs.busy(WAIT_JOB):
            return
        if Path(path).name != MANIFEST and not (Path(path) / MANIFEST).is_file():
            return  # the writer has not made the folder or written its manifest yet
        self._c.jobs.start(
            WAIT_JOB,
            _has_steps,
            path,
            done=partial(self._on_waited, path),
            failed=partial(self._on_wait_failed, path),
        )

    def _on_waited(self, path: str, has_steps: bool) -> None:
        if has_steps and self.waiting_for == path:
            self.open(path)

    def _on_wait_failed(self, path: str, exc: BaseException) -> None:
        if self.waiting_for != path:
            return
        self._stop_waiting()  # the folder went away or went bad meanwhile
        message = str(exc) if isinstance(exc, DataError) else f"{path}: {type(exc).__name__}"
        self.sigOpenFailed.emit(message)

    def _stop_waiting(self) -> None:
        was = self.waiting_for is not None
        self.waiting_for = None
        self._wait.stop()
        self._c.jobs.cancel(WAIT_JOB)
        if was:
            self.sigWaitingEnded.emit()

    def stop_waiting(self) -> None:
        """Cancel waiting for a run's first step (the waiting dialog's Cancel)."""
        if self.waiting_for is not None:
            self._stop_waiting()
            self._c.sigMessage.emit("Stopped waiting for the run; nothing changed")

    # --- following the document -----------------------------------------------------------------

    def document_changed(self, change: Change) -> None:
        """Told by the controller first, before it reads the table's columns: the run and step
        the document now shows (a run's columns come and go with it). What follows from that
        (signals, the trajectory, the dynamics) waits for :meth:`announce`, which the controller
        calls after the views have the new table, so that a run opens with one table reset."""
        doc = self._c.document
        source = doc.source
        if self.waiting_for is not None and change == Change.ALL:
            self._stop_waiting()  # another table was opened meanwhile: it stays
        run = source.run if isinstance(source, RunStep) else None
        if run is not self.run:
            self._set_run(run)
            self._pending.add("run")
        step = source.step if run is not None else None
        if step != self.step:
            self.step = step
            self._pending.add("step")
        edited = change == Change.LOGITS and doc.changed_rows is not None
        if run is not None and step is not None and edited:
            self._edited[(run, step)] = doc.logits  # an edit stays with its step
        if run is not None and change & (Change.TARGETS | Change.SETTINGS | Change.STRUCTURE):
            if self.analysis.stale():
                self._pending.add("dynamics")
            self._pending.add("trajectory")

    def announce(self) -> None:
        """What :meth:`document_changed` found, told once the table and the views are current."""
        pending, self._pending = self._pending, set()
        if "run" in pending:
            if self.run is not None:
                self.analysis.schedule(restart=True, now=True)
                self.analysis.refresh_trajectory()
            self.sigRunChanged.emit()
            self.sigDynamicsChanged.emit()
            self.sigTrajectoryChanged.emit()
        if "step" in pending:
            self.sigStepChanged.emit()
        if "run" not in pending and self.run is not None:
            if "dynamics" in pending:
                self.analysis.schedule(restart=True)
            if "trajectory" in pending:
                self.analysis.refresh_trajectory()

    def _set_run(self, run: Run | None) -> None:
        self.set_playing(False)
        self.run = run
        self.analysis.reset(run)
        self._c.jobs.cancel(POLL_JOB)
        if run is None:
            self._poll.stop()
            self.last_arrival = None
        else:
            self._poll.start()

    # --- live runs ------------------------------------------------------------------------------

    def poll(self) -> None:
        """Read new steps of the run off the GUI thread (the timer calls this while a run is
        shown); with "follow latest" the table moves to the newest when they arrive."""
        run = self.run
        if run is None or self._c.jobs.busy(POLL_JOB):
            return
        # Run.refresh replaces ``steps`` rather than appending: the GUI thread's reads of the
        # run stay consistent while the worker reads the new manifest and step headers.
        self._c.jobs.start(
            POLL_JOB,
            run.refresh,
            done=partial(self._on_polled, run),
            failed=partial(self._on_poll_failed, run),
        )

    def _on_poll_failed(self, run: Run, exc: BaseException) -> None:
        if run is self.run:
            self._c.sigMessage.emit(f"Run {run.path.name}: could not be read ({exc})")

    def _on_polled(self, run: Run, new: list[int]) -> list[int]:
        if run is not self.run:
            return []
        if len(run.problems) > self._problems_shown:
            self._c.sigMessage.emit(f"Run {run.path.name}: {run.problems[-1]}")
            self._problems_shown = len(run.problems)
        if not new:
            return []
        self.last_arrival = time.monotonic()
        self.sigStepsChanged.emit()
        if self.follow and not self._scrubbing and not self.playing:
            self.go_to(run.steps[-1])
        self.analysis.schedule()
        self.analysis.refresh_trajectory()
        return new

    def set_follow(self, on: bool) -> None:
        """Keep the table on the newest step as steps arrive (and go there now)."""
        on = bool(on)
        if on != self.follow:
            self.follow = on
            self.sigFollowChanged.emit(on)
        if on and self.run is not None and self.run.steps:
            self.go_to(self.run.steps[-1])

    # --- moving through steps -------------------------------------------------------------------

    def go_to(self, step: int, *, text: str | None = None) -> bool:
        """Show ``step`` of the run (one undo step with the moves around it; see the module
        docstring). False, with a message, when it cannot be read."""
        run = self.run
        if run is None or step not in run.steps:
            return False
        if step == self.step:
            return True
        doc = self._c.document
        try:
            array = self._edited.get((run, step))
            if array is None:
                array = copy_on_write(run.logits(step))
            source = RunStep(run, step)
            label = text or f"Go to step {fmt.count(step)}"
            if doc.logits.shape == array.shape:
                doc.replace_logits(array, text=label, source=source, merge_key=STEP_MERGE)
            else:
                # Rows or classes were added or removed since: the run's table comes back.
                inputs, _ = run_inputs(run)
                labels = run.labels if run.labels is not None else None
                doc.replace_all(
                    array,
                    labels if labels is not None else np.full(run.n_samples, IGNORE_INDEX),
                    run.class_names,
                    settings=doc.settings,
                    text=label,
                    inputs=inputs,
                    has_labels=labels is not None,
                    source=source,
                )
                self._c.sigMessage.emit(
                    f"Step {fmt.count(step)}: the run's {run.n_samples:,} × {run.n_classes:,} "
                    "table is back (samples or classes had been added or removed)"
                )
        except (ValueError, DataError, KeyError) as exc:
            self._c.sigMessage.emit(f"Not moved to step {fmt.count(step)}: {exc}")
            self.set_playing(False)
            return False
        view = self._c.view
        if view.sort is not None or not view.filter.is_all:
            self._c.set_sort(view.sort)  # the new step's numbers order the table again
        return True

    def step_by(self, delta: int) -> None:
        """Move ``delta`` steps (clamped); the axes hold still for a moment."""
        steps = self.steps
        if not steps:
            return
        index = self.step_index
        target = min(max((index if index >= 0 else 0) + int(delta), 0), len(steps) - 1)
        self._hold_axes()
        if target != index:
            self._leave_follow(target, len(steps))
            self.go_to(steps[target])

    def go_to_index(self, index: int) -> None:
        steps = self.steps
        if steps:
            index = min(max(int(index), 0), len(steps) - 1)
            self._hold_axes()
            self._leave_follow(index, len(steps))
            self.go_to(steps[index])

    def _leave_follow(self, index: int, total: int) -> None:
        # Moving away from the newest step stops following; moving to it starts again.
        if self.follow != (index == total - 1):
            self.follow = index == total - 1
            self.sigFollowChanged.emit(self.follow)

    # The slider: a drag holds the axes and is one undo step with the moves around it.
    def begin_scrub(self) -> None:
        self._scrubbing = True
        self._c.set_holding(True)

    def scrub_to(self, index: int) -> None:
        steps = self.steps
        if steps:
            index = min(max(int(index), 0), len(steps) - 1)
            self._leave_follow(index, len(steps))
            self.go_to(steps[index])

    def end_scrub(self) -> None:
        self._scrubbing = False
        self._hold_axes()

    def _hold_axes(self) -> None:
        self._holding = True
        self._c.set_holding(True)
        self._hold.start()

    def _release_axes(self) -> None:
        self._holding = False
        if not self.playing and not self._scrubbing:
            self._c.set_holding(False)

    # --- play -----------------------------------------------------------------------------------

    def set_playing(self, on: bool) -> None:
        """Play the run's steps forward from the shown one (from the first at the end)."""
        on = bool(on) and self.run is not None and len(self.run.steps) > 1
        if on == self.playing:
            return
        if on:
            self._c.temperature.set_playing(False)  # one animation at a time: no T sweep
            if self.step_index >= len(self.steps) - 1:
                self.go_to(self.steps[0], text="Play steps")
            self._c.set_holding(True)
            self._play.start()
        else:
            self._play.stop()
            self._hold_axes()
        self.sigPlayingChanged.emit(on)

    def _play_step(self) -> None:
        steps = self.steps
        index = self.step_index
        if index + 1 >= len(steps):
            self.set_playing(False)
            return
        self._leave_follow(index + 1, len(steps))
        if not self.go_to(steps[index + 1], text="Play steps"):
            self.set_playing(False)


def _has_steps(path: str) -> bool:
    """Whether the run at ``path`` has a step yet (read in a worker: the manifest may be big)."""
    return bool(load_run(path).steps)
