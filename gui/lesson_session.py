"""Lesson mode: a lesson file (``core.lessons``) stepped through with PgDn / PgUp (a clicker).

Each step replaces the table, labels and options (one undo step), selects the step's sample,
brings its view forward and tells the caption band and the formula panel what to show. The
step is view state (``lesson``, ``lesson_step``), so workspaces and autosave keep the place.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from softmax_lab.core.display import PlotId
from softmax_lab.core.lessons import Lesson, LessonError, builtin_lessons, load_lesson
from softmax_lab.core.presets import PRESETS

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


class LessonSession(QObject):
    """The open lesson of one window (or none)."""

    sigChanged = Signal()  # a lesson opened, closed or moved to another step

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self.lesson: Lesson | None = None
        self.path = ""

    @staticmethod
    def builtin() -> list[Path]:
        return builtin_lessons()

    @property
    def active(self) -> bool:
        return self.lesson is not None

    @property
    def index(self) -> int:
        return int(self._c.view.lesson_step)

    def open(self, path: str | Path, step: int = 0) -> bool:
        """Open a lesson file at ``step``; a bad file says why and changes nothing."""
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            self._c.sigMessage.emit(f"Not opened: {exc}")
            return False
        self.lesson, self.path = lesson, str(path)
        self.go(min(max(0, step), len(lesson.steps) - 1))
        return True

    def close(self) -> None:
        if self.lesson is not None:
            self.lesson, self.path = None, ""
            self._c.update_view(lesson="", lesson_step=0)
            self.sigChanged.emit()

    def resume(self) -> None:
        """A workspace named a lesson: reopen it where it was, without replacing its table."""
        view = self._c.view
        if not view.lesson or (self.lesson is not None and self.path == view.lesson):
            return
        try:
            self.lesson, self.path = load_lesson(view.lesson), view.lesson
        except LessonError as exc:
            self._c.sigMessage.emit(f"The workspace's lesson could not be reopened: {exc}")
            self._c.update_view(lesson="", lesson_step=0)
            return
        self.sigChanged.emit()

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
        if step.show in SIDE_SHOWS:
            changes.update(side_tab=step.show, side_panel=True)
        elif self._c.view.presentation:
            changes["side_panel"] = False  # on stage the panel shows only for its own steps
        if step.show in PLOT_SHOWS:
            changes["plot_focus"] = None
            changes["view_tab"] = "sample"
        self._c.update_view(**changes)
        self.sigChanged.emit()

    def step(self, delta: int) -> None:
        if self.lesson is not None:
            self.go(self.index + delta)

    def caption(self) -> tuple[str, str, str]:
        """(title, one or two sentences, "step 3 of 19") for the caption band; for presets
        outside a lesson, the preset's name and description."""
        if self.lesson is not None:
            step = self.lesson.steps[self.index]
            counter = f"{self.lesson.title} · step {self.index + 1} of {len(self.lesson.steps)}"
            return step.title, step.caption, counter
        data = self._c.source_caption()
        if data is not None:  # a file, a run's step, a notebook's table: what it is, in numbers
            return data[0], data[1], "PgDn / PgUp: the examples"
        preset = PRESETS[self._c.view.preset_index % len(PRESETS)]
        return preset.name, preset.description, "PgDn / PgUp: next / previous example"

    def highlight(self) -> str:
        """The part of the formula the current step emphasises ("" outside a lesson)."""
        if self.lesson is None:
            return ""
        return self.lesson.steps[self.index].highlight

    def wants_side_panel(self) -> bool:
        """Whether the current step is about the Formula or Scratch tab (shown even on stage)."""
        return self.lesson is not None and self.lesson.steps[self.index].show in SIDE_SHOWS

    def focused_plot(self) -> PlotId | None:
        """The plot the current step is about, if any."""
        if self.lesson is None:
            return None
        show = self.lesson.steps[self.index].show
        return None if show is None else PLOT_SHOWS.get(show)
