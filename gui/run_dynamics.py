"""A recorded run's training dynamics in the window: the dynamics and data map (computed off the
GUI thread, one pass at a time, again when T or the labels change or steps arrive), the table's
dynamics columns, selections on the data map, and the selected sample's trajectory.

:class:`RunDynamics` is owned by the run session (``controller.runs.analysis``, see
:mod:`gui.runs_session`), which tells it which run is shown (:meth:`RunDynamics.reset`) and
when to look again (:meth:`RunDynamics.schedule`, :meth:`RunDynamics.refresh_trajectory`). Like
the session it calls into ``core`` and knows no widget; the session forwards its signals as
``sigDynamicsChanged``, ``sigDynamicsBusy`` and ``sigTrajectoryChanged``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.cartography import (
    DataMap,
    Trajectory,
    data_map,
    dynamics_columns,
    sample_trajectory,
    samples_in_box,
    samples_in_polygon,
)
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.dynamics import TrainingDynamics, training_dynamics
from softmax_lab.core.loaders import DataError
from softmax_lab.core.runs import Run
from softmax_lab.core.view_state import Filter, TableColumn

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

DYNAMICS_DELAY_MS = 250
"""Changes of T or labels within this pause start one recomputation, not one each."""


class _Stale(Exception):
    """Raised inside a dynamics job that a newer one replaced: stop reading the run."""


class RunDynamics(QObject):
    """The shown run's dynamics, data map and trajectory; see the module docstring."""

    sigChanged = Signal()  # new dynamics and data map, or none
    sigBusy = Signal(bool)
    sigTrajectoryChanged = Signal()

    def __init__(self, controller: Controller, parent: QObject) -> None:
        super().__init__(parent)
        self._c = controller
        self.run: Run | None = None
        self.dynamics: TrainingDynamics | None = None
        self.map: DataMap | None = None
        self.trajectory: Trajectory | None = None
        self._key: tuple | None = None
        self._pending = False
        self._restart = False
        self._trajectory_key: tuple | None = None
        self._timer = QTimer(self, singleShot=True, interval=DYNAMICS_DELAY_MS)
        self._timer.timeout.connect(self._start)
        controller.sigSelectionChanged.connect(lambda _sample: self.refresh_trajectory())
        controller.jobs.sigBusy.connect(self._on_busy)
        # Held weakly: the controller's list makes no reference cycle through its child.
        columns = weakref.WeakMethod(self._columns)
        controller.add_column_provider(lambda: (columns() or list)())

    def reset(self, run: Run | None) -> None:
        """Another run (or none) is shown: what was computed for the last one is dropped."""
        self.run = run
        self.dynamics = self.map = self.trajectory = None
        self._key = self._trajectory_key = None
        self._c.jobs.cancel("dynamics")

    def stale(self) -> bool:
        """Whether the dynamics shown were computed from other inputs (T, labels, steps)."""
        return self._inputs() != self._key

    # --- dynamics -------------------------------------------------------------------------------

    def _labels(self) -> np.ndarray | None:
        """The labels the dynamics use: the table's (edits included) when it has labels and the
        run's rows, else the run's."""
        doc, run = self._c.document, self.run
        if run is None:
            return None
        if doc.n_samples == run.n_samples and doc.has_labels:
            labels = np.asarray(doc.labels, dtype=np.int64)
            ignore = doc.settings.ignore_index
            if ignore != IGNORE_INDEX:
                labels = np.where(labels == ignore, IGNORE_INDEX, labels)
            return labels
        return run.labels

    def _inputs(self) -> tuple | None:
        run = self.run
        labels = self._labels()
        if run is None or labels is None or not run.steps:
            return None
        temperature = float(self._c.document.settings.temperature)
        return (id(run), len(run.steps), temperature, hash(labels.tobytes()))

    def schedule(self, *, restart: bool = False, now: bool = False) -> None:
        """Compute the dynamics again: after a short pause (``now`` at once); ``restart``
        cancels a pass under way instead of waiting for it."""
        if restart:
            self._pending = False
            self._c.jobs.cancel("dynamics")
        if now:
            self._start(force=restart)
        else:
            self._restart = restart or self._restart
            self._timer.start()

    def _start(self, force: bool = False) -> None:
        restart = force or self._restart
        self._restart = False
        self._timer.stop()
        key = self._inputs()
        run, labels = self.run, self._labels()
        if key is None or run is None or labels is None:
            if run is not None and run.steps and labels is None:
                self._c.sigMessage.emit(
                    "The run has no labels: its data map and dynamics need them (set labels)"
                )
            return
        if key == self._key:
            return
        if self._c.jobs.busy("dynamics") and not restart:
            self._pending = True  # one pass at a time while steps keep arriving
            return
        temperature = key[2]
        generation: dict[str, int] = {}
        jobs = self._c.jobs

        def progress(_done: int, _total: int) -> None:
            if "g" in generation and not jobs.is_current("dynamics", generation["g"]):
                raise _Stale

        def work() -> tuple[tuple, TrainingDynamics, DataMap]:
            # training_dynamics reads a snapshot of the steps: a live run may grow meanwhile.
            dynamics = training_dynamics(
                run, temperature=temperature, labels=labels, progress=progress
            )
            return (*key[:1], dynamics.n_steps, *key[2:]), dynamics, data_map(dynamics)

        generation["g"] = jobs.start(
            "dynamics", work, done=self._on_dynamics, failed=self._on_dynamics_failed
        )

    def _on_dynamics(self, result: tuple[tuple, TrainingDynamics, DataMap]) -> None:
        key, dynamics, geometry = result
        if self.run is None or key[0] != id(self.run):
            return
        self.dynamics, self.map, self._key = dynamics, geometry, key
        self._c.refresh_columns()
        self.sigChanged.emit()
        if self._pending or self._inputs() != key:
            self._pending = False
            self.schedule()

    def _on_dynamics_failed(self, exc: BaseException) -> None:
        if isinstance(exc, _Stale):
            return
        self._c.sigMessage.emit(f"Could not compute the run's dynamics: {exc}")

    def _on_busy(self, kind: str, busy: bool) -> None:
        if kind == "dynamics":
            self.sigBusy.emit(busy)
            if not busy and self._pending:
                self._pending = False
                self.schedule()

    def _columns(self) -> list[TableColumn]:
        d, m = self.dynamics, self.map
        if d is None or m is None or self.run is None or d.n_samples != self._c.document.n_samples:
            return []
        return dynamics_columns(d, m)

    # --- selections on the data map -------------------------------------------------------------

    def select_on_map(self, shape: Sequence[Any], mode: str) -> int:
        """Show in the table the samples inside a lasso (``shape``: (K, 2) vertices) or a box
        (two corners) drawn on the data map; returns how many. None inside: nothing changes."""
        m = self.map
        if m is None:
            return 0
        if mode == "box":
            a, b = shape[0], shape[-1]
            chosen = samples_in_box(m.variability, m.confidence, a, b)
        else:
            chosen = samples_in_polygon(m.variability, m.confidence, shape)
        if chosen.size == 0:
            self._c.sigMessage.emit(f"No sample inside the {mode}: the table is unchanged")
            return 0
        region = m.region_of(chosen) or "data map"
        self._c.set_filter(Filter("samples", chosen, label=f"{region} ({mode})"))
        self._c.sigMessage.emit(
            f"Table: {fmt.plural(chosen.size, 'sample')} inside the {mode} on the data map"
        )
        if self._c.row_of(self._c.selected) is None:
            self._c.select(int(chosen[0]))
        return int(chosen.size)

    def show_region(self, region: str) -> None:
        """Show the samples of one region of the data map in the table."""
        if self.map is not None:
            self._c.set_filter(Filter("column", ("region", region), label=f"{region} (region)"))
            if self._c.row_count() and self._c.row_of(self._c.selected) is None:
                self._c.select(self._c.sample_at(0))  # the selection follows into the table

    # --- trajectory -----------------------------------------------------------------------------

    def refresh_trajectory(self) -> None:
        """The selected sample's trajectory through the run's steps, when its inputs changed."""
        run = self.run
        doc = self._c.document
        sample = self._c.selected
        if run is None or not run.steps or not 0 <= sample < run.n_samples:
            if self.trajectory is not None:
                self.trajectory, self._trajectory_key = None, None
                self.sigTrajectoryChanged.emit()
            return
        labels = self._labels()
        label = IGNORE_INDEX if labels is None else int(labels[sample])
        s = doc.settings
        key = (id(run), len(run.steps), sample, label, s.temperature, s.dtype)
        if key == self._trajectory_key:
            return
        try:
            trajectory = sample_trajectory(
                run, sample, label=label, temperature=s.temperature, dtype=s.dtype
            )
        except (ValueError, DataError, KeyError) as exc:
            self._c.sigMessage.emit(f"No trajectory for sample {sample}: {exc}")
            trajectory = None
        self.trajectory, self._trajectory_key = trajectory, key
        self.sigTrajectoryChanged.emit()
