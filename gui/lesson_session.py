"""Lesson mode: a lesson file (``core.lessons``) stepped through with PgDn / PgUp (a clicker).

Each step replaces the table, labels and options (one undo step), selects the step's sample,
brings its view forward and tells the caption band and the formula panel what to show. The
step is view state (``lesson``, ``lesson_step``), so workspaces and autosave keep the place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import PlotId
from softmax_lab.core.lessons import Lesson, builtin_lessons, load_lesson
from softmax_lab.core.loaders import DataError
from softmax_lab.core.presets import PRESETS
from softmax_lab.core.settings import Settings

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

PLOT_SHOWS = {
    "sample": PlotId.SAMPLE,
    "loss": PlotId.LOSS,
    "gradient": PlotId.GRADIENT,
    "heatmap": PlotId.HEATMAP,
    "loss_curve": PlotId.CURVE,
}
"""A step's ``show`` that names a plot, and that plot."""
SIDE_SHOWS = ("formula", "scratch")
"""A step's ``show`` that names a side tab: the side panel shows for it, on stage too."""
NBSP = "\u00a0"
OPTION_NAMES = {
    "temperature": "T",
    "label_smoothing": "ε",
    "weight": "weights",
    "reduction": "reduction",
    "ignore_index": "ignore_index",
    "dtype": "dtype",
}
"""The options a caption names when they differ from the step's, with the names it uses."""


def _same(a: Any, b: Any) -> bool:
    """Two tables hold the same numbers (a missing one matches only a missing one)."""
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(
        np.array_equal(a, b, equal_nan=a.dtype.kind == b.dtype.kind == "f")
    )


class LessonSession(QObject):
    """The open lesson of one window (or none)."""

    sigChanged = Signal()  # a lesson opened, closed or moved to another step

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self.lesson: Lesson | None = None
        self.path = ""
        self._then: Callable[[bool], None] | None = None  # told how the opening lesson ends

    @staticmethod
    def builtin() -> list[Path]:
        return builtin_lessons()

    @property
    def active(self) -> bool:
        return self.lesson is not None

    @property
    def index(self) -> int:
        return int(self._c.view.lesson_step)

    def open(
        self, path: str | Path, step: int = 0, then: Callable[[bool], None] | None = None
    ) -> None:
        """Open a lesson file at ``step``, read in the "lesson" job (the window goes on
        meanwhile); a bad file says why and changes nothing. ``then(opened)`` follows (False
        also when a newer lesson is opened first)."""
        self._settle(False)
        self._c.jobs.start(
            "lesson",
            load_lesson,
            str(path),
            done=partial(self._opened, str(path), step),
            failed=self._open_failed,
        )
        self._then = then
        self._c.sigMessage.emit(f"Opening the lesson {Path(path).name}…")

    def _settle(self, opened: bool) -> None:
        then, self._then = self._then, None
        if then is not None:
            then(opened)

    def _opened(self, path: str, step: int, lesson: Lesson) -> None:
        self.lesson, self.path = lesson, path
        self.go(min(max(0, step), len(lesson.steps) - 1))
        # replaces "Opening the lesson …", which would otherwise stay its 8 s over the lesson
        self._c.sigMessage.emit(
            f"Opened the lesson “{lesson.title}”: {len(lesson.steps)} steps (PgDn / PgUp)"
        )
        self._settle(True)

    def _open_failed(self, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
        self._c.sigMessage.emit(f"Not opened: {reason}")
        self._settle(False)

    def close(self) -> None:
        if self.lesson is not None:
            self.lesson, self.path = None, ""
            self._c.update_view(lesson="", lesson_step=0)
            self.sigChanged.emit()

    def resume(self) -> None:
        """A workspace named a lesson: reopen it where it was, without replacing its table (the
        file read in the "lesson" job)."""
        view = self._c.view
        if not view.lesson or (self.lesson is not None and self.path == view.lesson):
            return
        self._settle(False)  # a lesson being opened gives way to the workspace's
        self._c.jobs.start(
            "lesson",
            load_lesson,
            view.lesson,
            done=partial(self._resumed, view.lesson),
            failed=partial(self._resume_failed, view.lesson),
        )

    def _resumed(self, path: str, lesson: Lesson) -> None:
        view = self._c.view
        if view.lesson != path:  # the window moved on while the file was read
            return
        self.lesson, self.path = lesson, path
        last = len(lesson.steps) - 1
        if not 0 <= view.lesson_step <= last:  # a workspace naming step 10^6 of a 5-step lesson
            self._c.update_view(lesson_step=min(max(0, view.lesson_step), last))
        self.sigChanged.emit()

    def _resume_failed(self, path: str, exc: BaseException) -> None:
        if self._c.view.lesson != path:
            return
        reason = str(exc) if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
        self._c.sigMessage.emit(f"The workspace's lesson could not be reopened: {reason}")
        self._c.update_view(lesson="", lesson_step=0)

    def go(self, index: int) -> None:
        """Show step ``index`` (0-based) of the open lesson."""
        lesson = self.lesson
        if lesson is None:
            return
        index = min(max(0, int(index)), len(lesson.steps) - 1)
        step = lesson.steps[index]
        args = step.document_args()
        # A lesson says how to compute, not where: the window keeps its device.
        settings = replace(args["settings"], device=self._c.document.settings.device)
        ok = self._c.replace_document(
            args["logits"],
            args["labels"],
            args["class_names"],
            settings=settings,
            soft_targets=args["soft_targets"],
            text=f"Lesson step {index + 1}: {step.title}",
        )
        if not ok:
            return
        changes: dict[str, object] = {
            "lesson": self.path,
            "lesson_step": index,
            "selected": step.selected,
        }
        side = next((need for need in step.needed() if need in SIDE_SHOWS), None)
        if side is not None:  # the Formula or Scratch tab, shown even on stage
            changes.update(side_tab=side, side_panel=True)
        elif self._c.view.presentation:
            changes["side_panel"] = False  # on stage the panel shows only for its own steps
        if step.show in PLOT_SHOWS:
            changes["plot_focus"] = None
            changes["view_tab"] = "sample"
        self._c.update_view(**changes)
        # A step is the lesson file's table, not the user's work: no "unsaved" mark for it.
        self._c.document.mark_clean()
        self._c.sigHistoryChanged.emit()
        self.sigChanged.emit()

    def step(self, delta: int) -> None:
        if self.lesson is not None:
            self.go(self.index + delta)

    def caption(self) -> tuple[str, str, str]:
        """(title, one or two sentences, "step 3 of 19") for the caption band; for presets
        outside a lesson, the preset's name and description. Every number in it is live: once
        the table or an option differs from the step's (an edit, the temperature sweep), the
        written sentences give way to what changed and the current loss and accuracy."""
        if self.lesson is not None:
            step = self.lesson.steps[self.index]
            # Short, so the title keeps the band's width at any scale (the lesson's own title is
            # in the window's title and the Lessons menu).
            counter = f"step {self.index + 1} of {len(self.lesson.steps)}"
            args = step.document_args()
            changed = self._changes(
                args["logits"], args["labels"], args["soft_targets"], args["settings"]
            )
            return step.title, self._live(step.caption, changed), counter
        data = self._c.source_caption()
        if data is not None:  # a file, a run's step, a notebook's table: what it is, in numbers
            return data[0], data[1], "PgDn / PgUp: the examples"
        preset = PRESETS[self._c.view.preset_index % len(PRESETS)]
        loaded = preset.new_document()
        s = self._c.document.settings
        settings = replace(loaded.settings, device=s.device)
        if "dtype" not in preset.settings:
            settings = replace(settings, dtype=s.dtype)  # a preset keeps the window's dtype
        changed = self._changes(loaded.logits, preset.labels, preset.soft_targets, settings)
        return (
            preset.name,
            self._live(preset.description, changed),
            "PgDn / PgUp: next / previous example",
        )

    def _live(self, written: str, changed: list[str] | None) -> str:
        """The written caption while the table is as it was loaded, else the changes and the
        live numbers ("Now T = 2.31 · mean loss 1.1124 · accuracy 33.3% (1/3)")."""
        if changed is None:
            return written
        parts = [*changed, *self._c.result_parts()]
        # Each part wraps whole ("mean loss 1.6242" never breaks before its number).
        return "Now " + "   ·   ".join(p.replace(" ", NBSP) for p in parts) if parts else written

    def _changes(
        self, logits: Any, labels: Any, soft_targets: Any, settings: Settings
    ) -> list[str] | None:
        """What differs between the window's table and options and the loaded ones, in words
        (None when nothing does)."""
        doc = self._c.document
        s = doc.settings
        changed = []
        for key, name in OPTION_NAMES.items():
            value, loaded = getattr(s, key), getattr(settings, key)
            if key == "device" or value == loaded:
                continue
            if key == "weight":
                shown = "none" if value is None else ", ".join(fmt.short(w) for w in value)
            elif isinstance(value, float):
                shown = fmt.short(value)
            else:
                shown = str(value)
            changed.append(f"{name} = {shown}")
        if s.target_mode != settings.target_mode or not (
            _same(doc.logits, logits)
            and (labels is None or _same(doc.labels, labels))
            and (soft_targets is None or _same(doc.soft_targets, soft_targets))
        ):
            changed.insert(0, "the table is edited")
        return changed or None

    def highlight(self) -> str:
        """The part of the formula the current step emphasises ("" outside a lesson)."""
        if self.lesson is None:
            return ""
        return self.lesson.steps[self.index].highlight

    def wants_side_panel(self) -> bool:
        """Whether the current step needs the Formula or Scratch tab (shown even on stage)."""
        return any(need in SIDE_SHOWS for need in self.needs())

    def needs(self) -> tuple[str, ...]:
        """What the current step must have on screen: its ``show`` and its ``needs`` (a plot, a
        side tab, "logits" or "targets": table columns); () outside a lesson."""
        if self.lesson is None:
            return ()
        return self.lesson.steps[self.index].needed()

    def needed_plots(self) -> set[PlotId]:
        """The plots the current step needs."""
        return {PLOT_SHOWS[need] for need in self.needs() if need in PLOT_SHOWS}

    def focused_plot(self) -> PlotId | None:
        """The plot the current step is about, if any."""
        if self.lesson is None:
            return None
        show = self.lesson.steps[self.index].show
        return None if show is None else PLOT_SHOWS.get(show)
