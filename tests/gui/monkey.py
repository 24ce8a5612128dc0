"""A seeded "monkey" that drives the real window through random user actions.

Test-only code, not part of the app: used by the test suite (a few hundred steps) and by
``bench/monkey.py`` (100,000 steps), which puts this folder on its path. After
every step it checks that the window, the table and ``core`` agree; at the end, undoing
everything must give back the starting state exactly.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from softmax_lab.core import evaluate, save_logits
from softmax_lab.core.presets import PRESETS
from softmax_lab.gui.main_window import MainWindow
from softmax_lab.gui.table_model import Column

JUNK = [
    "",
    " ",
    "abc",
    "1,5",
    "1.2.3",
    "--1",
    "1e",
    "☃",
    "None",
    "0x",
    "[1]",
    "nan nan",
    "inf inf",
    "1 2",
    "e",
    "+",
    "-",
    ".",
    "∞∞",
    "1/2",
    "NaNa",
    "\x00",
    "1e5e5",
]
NUMBERS = [
    "0",
    "1",
    "-1",
    "2.5",
    "-0.001",
    "1e30",
    "-1e30",
    "1e-310",
    "inf",
    "-inf",
    "nan",
    "1000",
    "-1000",
    "3.14159",
    "−2",
]


@dataclass
class MonkeyReport:
    steps: int = 0
    actions: Counter = field(default_factory=Counter)
    rejected: int = 0
    seconds: float = 0.0
    undone_to_start: bool = False


class Monkey:
    """Random actions on one window; ``run(n)`` returns a report or raises on the first fault."""

    def __init__(self, window: MainWindow, seed: int, workdir: Path, check_every: int = 1) -> None:
        self.window = window
        self.rng = np.random.default_rng(seed)
        self.workdir = workdir
        self.check_every = check_every
        self.report = MonkeyReport()
        self._errors: list[BaseException] = []
        self._files = self._make_files()
        c = window.controller
        table = window.table
        self.actions: dict[str, Callable[[], None]] = {
            "type_number": self.type_number,
            "type_junk": self.type_junk,
            "set_label": self.set_label,
            "paste": self.paste,
            "paste_junk": self.paste_junk,
            "add_sample": c.add_sample,
            "duplicate_sample": c.duplicate_sample,
            "remove_sample": lambda: c.remove_samples(table.selected_samples()),
            "add_class": lambda: c.add_class(table.current_class()),
            "duplicate_class": lambda: c.duplicate_class(table.current_class()),
            "remove_class": lambda: c.remove_class(table.current_class()),
            "undo": c.undo,
            "redo": c.redo,
            "preset": lambda: c.apply_preset(int(self.rng.integers(len(PRESETS)))),
            "option": self.option,
            "select": self.select,
            "drag": self.drag,
            "toggle_probabilities": lambda: window.menu_actions.probabilities_action.trigger(),
            "randomize": lambda: c.randomize(int(self.rng.integers(1 << 30))),
            "load_file": self.load_file,
            "sort": self.sort,
            "filter": self.filter,
            "compare": self.compare,
            "stage": self.stage,
        }
        weights = {
            "type_number": 8,
            "type_junk": 4,
            "paste": 2,
            "paste_junk": 1,
            "undo": 4,
            "redo": 2,
            "option": 3,
            "select": 3,
            "drag": 3,
            "load_file": 0.2,
            "randomize": 0.5,
            "preset": 1,
        }
        self._names = list(self.actions)
        w = np.array([weights.get(n, 1.0) for n in self._names])
        self._p = w / w.sum()

    # --- actions --------------------------------------------------------------------------------

    def _cell(self) -> tuple[int, int]:
        doc = self.window.document
        return int(self.rng.integers(doc.n_samples)), int(self.rng.integers(doc.n_classes))

    def _set(self, row: int, column: int, text: str) -> bool:
        model = self.window.table_model
        ok = model.setData(model.index(row, column), text)
        if not ok:
            self.report.rejected += 1
        return ok

    def type_number(self) -> None:
        row, col = self._cell()
        self.window.controller.update_view(show_probabilities=False)
        self._set(row, col, str(self.rng.choice(NUMBERS)))

    def type_junk(self) -> None:
        row, col = self._cell()
        before = self.window.document.snapshot()
        self._set(row, col, str(self.rng.choice(JUNK)))
        self._same(before, self.window.document.snapshot(), "junk changed the table")

    def set_label(self) -> None:
        doc = self.window.document
        model = self.window.table_model
        row = int(self.rng.integers(doc.n_samples))
        if doc.settings.target_mode == "probability":
            col = doc.n_classes + int(self.rng.integers(doc.n_classes))
            self._set(row, col, str(self.rng.choice(["0", "0.5", "1", "-1", "x", "2"])))
            return
        choice = self.rng.choice([*doc.class_names, "ignore", "no such class", "99"])
        self._set(row, model.column_of(Column.LABEL), str(choice))

    def paste(self) -> None:
        row, col = self._cell()
        self.window.controller.update_view(show_probabilities=False)
        shape = (int(self.rng.integers(1, 5)), int(self.rng.integers(1, 5)))
        block = self.rng.normal(0, 3, shape).round(3)
        text = "\n".join("\t".join(repr(float(v)) for v in r) for r in block)
        index = self.window.table_model.index(row, col)
        self.window.table.setCurrentIndex(index)
        self.window.table.paste(text)

    def paste_junk(self) -> None:
        before = self.window.document.snapshot()
        self.window.table.setCurrentIndex(self.window.table_model.index(*self._cell()))
        self.window.table.paste(
            str(self.rng.choice(["1\tx", "1\t2\n3", "[[1, 2], [3]", "", "tensor([[nan, a]])"]))
        )
        self._same(before, self.window.document.snapshot(), "junk paste changed the table")

    def option(self) -> None:
        controls = self.window.controls
        pick = int(self.rng.integers(7))
        if pick == 0:
            controls.temperature.setValue(float(10 ** self.rng.uniform(-1.5, 1.5)))
        elif pick == 1:
            controls.smoothing.setValue(float(self.rng.choice([0.0, 0.1, 0.5, 1.0])))
        elif pick == 2:
            controls.reduction.setCurrentIndex(int(self.rng.integers(3)))
        elif pick == 3:
            n = self.window.document.n_classes + int(self.rng.integers(-1, 2))
            controls.weights.setText(
                ", ".join(str(self.rng.choice([0.5, 1, 2, -1, "x"])) for _ in range(max(n, 0)))
            )
            controls.weights.editingFinished.emit()
        elif pick == 4:
            controls.target_mode.setCurrentIndex(int(self.rng.integers(2)))
        elif pick == 5:
            controls.dtype.setCurrentIndex(int(self.rng.integers(controls.dtype.count())))
        else:
            controls.temperature_slider.setValue(int(self.rng.integers(0, 1001)))

    def sort(self) -> None:
        """A sort from the Sort box or a header click (the user's two ways)."""
        if self.rng.random() < 0.5:
            combo = self.window.sort_combo
            index = int(self.rng.integers(combo.count()))
            combo.setCurrentIndex(index)
            combo.activated.emit(index)
        else:
            model = self.window.table_model
            column = int(self.rng.integers(model.columnCount()))
            order = (
                Qt.SortOrder.DescendingOrder
                if self.rng.random() < 0.5
                else Qt.SortOrder.AscendingOrder
            )
            self.window.table.horizontalHeader().setSortIndicator(column, order)

    def filter(self) -> None:
        """A filter from the Show box, or a confusion-matrix drill-down."""
        if self.rng.random() < 0.7:
            combo = self.window.filter_combo
            index = int(self.rng.integers(min(combo.count(), 8)))
            combo.setCurrentIndex(index)
            combo.activated.emit(index)
        else:
            c = self.window.document.n_classes
            self.window.controller.show_confusion_cell(
                int(self.rng.integers(c)), int(self.rng.integers(c))
            )

    def select(self) -> None:
        self.window.select_sample(int(self.rng.integers(self.window.document.n_samples)))

    def drag(self) -> None:
        plot = self.window.sample_plot
        cls = int(self.rng.integers(self.window.document.n_classes))
        for value in self.rng.normal(0, 4, int(self.rng.integers(1, 6))):
            plot.sigLogitDragged.emit(cls, float(value))
        plot.sigDragFinished.emit(cls)

    def compare(self) -> None:
        """Compare with a model B (random logits of the table's shape), edit or drag B's side,
        switch which model the gradient shows, or stop comparing."""
        c = self.window.controller
        doc = self.window.document
        if not c.compare.active or self.rng.random() < 0.2:
            if c.compare.active and self.rng.random() < 0.5:
                c.compare.stop()
                return
            b = self.rng.normal(0, 2, size=doc.logits.shape)
            c.compare.attach(b, (str(self.rng.choice(["A", "old"])), "B"))
            return
        pick = int(self.rng.integers(3))
        if pick == 0:
            cls = int(self.rng.integers(doc.n_classes))
            for value in self.rng.normal(0, 4, int(self.rng.integers(1, 4))):
                c.compare.drag_logit_b(cls, float(value))
            c.end_drag()
        elif pick == 1:
            c.compare.set_gradient_model(str(self.rng.choice(["a", "b"])))
        else:
            c.compare.show_cell(bool(self.rng.random() < 0.5), bool(self.rng.random() < 0.5))

    def stage(self) -> None:
        """What a presenter does: presentation mode, one plot alone, the theme, the tabs, the
        next or previous example."""
        c = self.window.controller
        pick = int(self.rng.integers(5))
        if pick == 0:
            c.update_view(presentation=not c.view.presentation)
        elif pick == 1:
            focus = int(self.rng.integers(-1, 5))
            c.update_view(plot_focus=None if focus < 0 else focus)
        elif pick == 2:
            c.update_view(theme=str(self.rng.choice(["light", "dark"])))
        elif pick == 3:
            c.update_view(view_tab=str(self.rng.choice(["sample", "dataset"])))
        else:
            c.step_example(int(self.rng.choice([-1, 1])))

    def load_file(self) -> None:
        path = self._files[int(self.rng.integers(len(self._files)))]
        done: list[str] = []
        self.window.sigFileLoaded.connect(done.append)
        self.window.sigLoadFailed.connect(done.append)
        try:
            self.window.load_file(path, as_probabilities=False)
            deadline = time.monotonic() + 30
            while not done and time.monotonic() < deadline:
                QApplication.processEvents()
                time.sleep(0.002)
            if not done:
                raise AssertionError(f"loading {path} never finished")
        finally:
            self.window.sigFileLoaded.disconnect(done.append)
            self.window.sigLoadFailed.disconnect(done.append)

    def _make_files(self) -> list[Path]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        good = self.workdir / "monkey.npz"
        save_logits(
            good,
            rng.normal(size=(12, 4)).astype(np.float32),
            rng.integers(0, 4, 12),
            ["a", "b", "c", "d"],
        )
        csv = self.workdir / "monkey.csv"
        save_logits(csv, rng.normal(size=(5, 3)), rng.integers(0, 3, 5))
        broken = self.workdir / "broken.npy"
        broken.write_bytes(b"\x93NUMPY\x01\x00garbage")
        empty = self.workdir / "empty.csv"
        empty.write_text("")
        return [good, csv, broken, empty]

    # --- checks ---------------------------------------------------------------------------------

    @staticmethod
    def _same(a: tuple, b: tuple, message: str) -> None:
        for x, y in zip(a, b, strict=True):
            if isinstance(x, np.ndarray):
                if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
                    raise AssertionError(message)
            elif x != y:
                raise AssertionError(message)

    def check(self) -> None:
        """Window, table and core agree; no exception escaped."""
        if self._errors:
            raise self._errors[0]
        w = self.window
        doc = w.document
        ev = doc.evaluation
        n, c = doc.logits.shape
        model = w.table_model
        control = w.controller
        expected_columns = (
            c
            + (c if doc.settings.target_mode == "probability" else 1)
            + 4
            + len(control.table_columns())
        )
        assert model.rowCount() == control.row_count(), "table rows differ from the order"
        if control.view.filter.is_all:
            assert model.rowCount() == n, "table rows differ from the document"
        # One source of truth: the boxes and the header say what the table does.
        assert w.sort_combo.currentData() == control.view.sort, "the Sort box disagrees"
        assert (w.filter_combo.currentData() or control.view.filter) == control.view.filter, (
            "the Show box disagrees"
        )
        indicator = w.table.horizontalHeader().sortIndicatorSection()
        assert indicator == model.column_for_sort(control.view.sort), "the header disagrees"
        assert model.columnCount() == expected_columns, "table columns differ"
        reference = evaluate(doc.logits, doc.target(), **doc.settings.evaluate_kwargs())
        tol = 1e-3 if doc.settings.dtype in ("float16", "bfloat16") else 1e-5
        if not np.allclose(ev.losses, reference.losses, rtol=tol, atol=tol, equal_nan=True):
            raise AssertionError("the document's losses differ from core.evaluate")
        if not np.array_equal(ev.predictions[ev.finite], reference.predictions[ev.finite]):
            raise AssertionError("predictions differ from core.evaluate")
        bars = np.asarray(w.loss_plot.bars.getData()[1]) if n <= 2000 else None
        if bars is not None and len(bars) != n:
            raise AssertionError("the loss plot does not show every sample")
        assert 0 <= w.selected_sample < n
        row = w.selected_sample
        shown = np.asarray(w.sample_plot.probability_bars.getData()[1], dtype=float)
        if c <= 40 and len(shown) != c:
            raise AssertionError("the sample plot does not show every class")
        table_row = control.row_of(row)
        if table_row is None:
            return
        loss_text = model.index(table_row, model.column_of(Column.LOSS)).data()
        if ev.valid[row] and math.isfinite(float(ev.losses[row])) and loss_text in ("—", None):
            raise AssertionError("the table's loss cell is empty for a valid row")

    # --- running --------------------------------------------------------------------------------

    def _hook(self, kind, value, tb) -> None:
        self._errors.append(value)

    def run(self, steps: int, progress: Callable[[int], None] | None = None) -> MonkeyReport:
        start_state = self.window.document.snapshot()
        old_hook = sys.excepthook
        sys.excepthook = self._hook
        started = time.perf_counter()
        try:
            for step in range(steps):
                self.step()
                if progress is not None:
                    progress(step + 1)
            self.finish(start_state)
        finally:
            sys.excepthook = old_hook
            self.report.seconds = time.perf_counter() - started
        return self.report

    def step(self) -> None:
        """One random action, the events it queued, and (every ``check_every``) the checks."""
        name = self._names[int(self.rng.choice(len(self._names), p=self._p))]
        self.actions[name]()
        self.report.actions[name] += 1
        QApplication.processEvents()
        self.report.steps += 1
        if self.report.steps % self.check_every == 0:
            self.check()

    def finish(self, start_state: tuple) -> None:
        """The last checks; then undo everything, which must give back ``start_state``."""
        self.check()
        doc = self.window.document
        while doc.can_undo:
            doc.undo()
        self._same(
            doc.snapshot(), start_state, "undoing everything did not restore the starting state"
        )
        self.report.undone_to_start = True
        self.check()


@dataclass
class TroopReport:
    """Two windows' monkeys and a training thread's calls into the API, run together."""

    monkeys: list[MonkeyReport]
    api_calls: int = 0
    api_tables: int = 0
    api_undo_steps: int = 0
    autosaves_checked: int = 0
    seconds: float = 0.0


class Troop:
    """Two windows at once (each its own monkey and, with ``autosave``, its own autosave file)
    and a thread that calls the viewer API (``set_data``, ``selected``, ``screenshot``) on a
    third window all along, as a training loop would. After the run each window's autosave must
    hold that window's table (nothing lost, nothing crossed), the API window must show the last
    table the thread sent, and undoing everything must restore each monkey's starting state."""

    def __init__(self, seed: int, workdir: Path, check_every: int = 1, autosave: bool = True):
        import softmax_lab

        self.windows = [MainWindow(autosave=autosave) for _ in range(2)]
        for w in self.windows:
            w.show()
        self.monkeys = [
            Monkey(w, seed * 2 + i, workdir / f"w{i}", check_every)
            for i, w in enumerate(self.windows)
        ]
        self.rng = np.random.default_rng(seed + 10_000)
        self.viewer = softmax_lab.view(np.zeros((5, 3)), [0, 1, 2, 0, 1], title="API")
        self.report = TroopReport([m.report for m in self.monkeys])
        self._last: list[np.ndarray] = []
        self._stop = threading.Event()
        self._thread_errors: list[BaseException] = []

    def _training_loop(self) -> None:
        rng = np.random.default_rng(int(self.rng.integers(1 << 30)))
        try:
            while not self._stop.is_set():
                n, c = int(rng.integers(5, 60)), int(rng.integers(2, 12))
                logits = rng.normal(0, 3, (n, c))
                self.viewer.set_data(logits, rng.integers(0, c, n))
                self._last[:] = [logits]
                self.viewer.selected = int(rng.integers(0, 5))
                self.report.api_calls += 2
                if rng.random() < 0.01:
                    self.viewer.screenshot()
                    self.report.api_calls += 1
                time.sleep(0.001)  # a training step (and the GIL for the GUI thread)
        except BaseException as exc:
            self._thread_errors.append(exc)

    def run(self, steps: int, progress: Callable[[int], None] | None = None) -> TroopReport:
        starts = [m.window.document.snapshot() for m in self.monkeys]
        old_hook = sys.excepthook
        errors: list[BaseException] = []
        sys.excepthook = lambda kind, value, tb: errors.append(value)
        for m in self.monkeys:
            m._errors = errors
        started = time.perf_counter()
        thread = threading.Thread(target=self._training_loop, name="monkey-api", daemon=True)
        thread.start()
        try:
            for step in range(steps):
                self.monkeys[int(self.rng.integers(2))].step()
                if self._thread_errors:
                    raise self._thread_errors[0]
                if progress is not None:
                    progress(step + 1)
            self._stop.set()
            deadline = time.monotonic() + 60
            while thread.is_alive() and time.monotonic() < deadline:
                QApplication.processEvents()  # a screenshot call waits for this thread's answer
                thread.join(timeout=0.01)
            if thread.is_alive():
                raise AssertionError("the API thread did not stop (a call never returned)")
            if self._thread_errors:
                raise self._thread_errors[0]
            self._check_api()
            self._check_autosaves()
            for m, start in zip(self.monkeys, starts, strict=True):
                m.finish(start)
        finally:
            self._stop.set()
            sys.excepthook = old_hook
            self.report.seconds = time.perf_counter() - started
        return self.report

    def _check_api(self) -> None:
        v = self.viewer
        deadline = time.monotonic() + 60
        while self._last and not np.array_equal(v.logits, self._last[0]):
            if time.monotonic() > deadline:
                raise AssertionError("the API window never showed the last table sent")
            QApplication.processEvents()
            time.sleep(0.002)
        doc = v.window.document
        reference = evaluate(doc.logits, doc.target(), **doc.settings.evaluate_kwargs())
        if not np.allclose(doc.evaluation.losses, reference.losses, equal_nan=True):
            raise AssertionError("the API window's losses differ from core.evaluate")
        self.report.api_tables = v.stats["data"]
        while doc.can_undo:
            doc.undo()
            self.report.api_undo_steps += 1

    def _check_autosaves(self) -> None:
        from softmax_lab.core.workspace import load_workspace

        paths = set()
        written = 0
        for w in self.windows:
            session = w.files.session
            if session is None:
                continue
            w.files.write_autosave()
            self.report.autosaves_checked += 1
            if not w.document.is_modified:
                if session.path.exists():
                    raise AssertionError("a window with nothing unsaved kept an autosave")
                continue
            saved = load_workspace(session.path)
            if not np.array_equal(saved.logits, w.document.logits, equal_nan=True):
                raise AssertionError("a window's autosave does not hold its own table")
            paths.add(session.path)
            written += 1
        if len(paths) != written:
            raise AssertionError("two windows share an autosave file")

    def close(self) -> None:
        for w in self.windows:
            w.document.mark_clean()
            w.close()
        self.viewer.close()
        QApplication.processEvents()
