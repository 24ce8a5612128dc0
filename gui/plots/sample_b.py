"""Model B on the selected-sample plot: a second model's bars beside the first's, their marks and
its numbers, owned by :class:`gui.plots.sample.SamplePlot` as ``plot.b``; the plot places them
and the end labels that name both models' predictions.

Comparing, A's bar of a class sits left of the class's slot and B's right of it; B's bars are
hatched in the model-B colour with a thin outline of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import MAX_BARS
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui import plotmarks as marks

if TYPE_CHECKING:
    from softmax_lab.core.display import SampleView
    from softmax_lab.gui.theme import Theme

OFFSET = 0.2
"""Comparing two models: A's bar is centred this far left of its class's slot, B's right."""
BAR_B = 0.38
"""The width of each model's bar when two share a slot."""


class ModelB:
    """Model B's bars on the logit and probability plots, its marks and its numbers of the
    shown sample (``logits`` None: not comparing, the bars are empty)."""

    def __init__(self, logit_plot: pg.PlotItem, probability_plot: pg.PlotItem, theme: Theme):
        self._theme = theme
        self._plots = (logit_plot, probability_plot)
        self.logits: np.ndarray | None = None
        self.probabilities = np.zeros(0)
        self.predicted: int | None = None
        self.names = ("A", "B")
        """What the legend and the hover call the two models."""
        self.heights = np.zeros(0)
        """The drawn heights of B's logit bars (the plot clamps both models' together)."""
        self.clamped = np.zeros(0, dtype=bool)
        self.logit_bars = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        self.probability_bars = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        logit_plot.addItem(self.logit_bars)
        probability_plot.addItem(self.probability_bars)
        # B's marks (80 text items) are made once, the first time two models are compared: a
        # plot that never compares does not carry them.
        self._marks: tuple[marks.MarkPool, marks.MarkPool] | None = None

    @property
    def active(self) -> bool:
        return self.logits is not None

    def set(self, other: SampleView | None, names: tuple[str, str]) -> None:
        """B's view of the shown sample, or None when not comparing."""
        self.names = (str(names[0]), str(names[1]))
        self.logits = None if other is None else other.logits
        self.probabilities = np.zeros(0) if other is None else other.probabilities
        self.predicted = None if other is None else other.predicted

    @property
    def logit_marks(self) -> marks.MarkPool:
        return self._pools()[0]

    @property
    def probability_marks(self) -> marks.MarkPool:
        return self._pools()[1]

    def _pools(self) -> tuple[marks.MarkPool, marks.MarkPool]:
        if self._marks is None:
            self._marks = (
                marks.MarkPool(self._plots[0], MAX_BARS),
                marks.MarkPool(self._plots[1], MAX_BARS),
            )
            for pool in self._marks:
                pool.apply_theme(self._theme)
        return self._marks

    def ranking(self, probabilities: np.ndarray) -> np.ndarray:
        """What picks the shown classes of a wide vocabulary: A's ``probabilities``, or the
        larger p of A and B."""
        if self.logits is None:
            return probabilities
        a = np.where(np.isnan(probabilities), -np.inf, probabilities)
        b = np.where(np.isnan(self.probabilities), -np.inf, self.probabilities)
        return np.maximum(a, b)

    def hover(
        self,
        cls: int,
        class_names: list[str],
        logits: np.ndarray,
        probabilities: np.ndarray,
        true: int | None,
        predicted: int | None,
    ) -> tuple[list[str], list[str]]:
        """The hover lines and roles of a class while comparing: both models' numbers (A's are
        ``logits``, ``probabilities`` and ``predicted``)."""
        assert self.logits is not None
        a, b = self.names
        lines = [
            f"{class_names[cls]}  (class {cls})",
            f"A ({a}): logit = {fmt.precise(logits[cls])}, p = {fmt.precise(probabilities[cls])}",
            f"B ({b}): logit = {fmt.precise(self.logits[cls])}, "
            f"p = {fmt.precise(self.probabilities[cls])}",
        ]
        roles = [
            r
            for r, c in (
                ("true", true),
                ("predicted by A", predicted),
                ("predicted by B", self.predicted),
            )
            if c == cls
        ]
        return lines, roles

    def redraw(self, x: np.ndarray, shown: np.ndarray, true: int | None) -> None:
        """B's bars and marks of the ``shown`` classes at ``x`` (emptied when not comparing)."""
        if self.logits is None:
            for bars in (self.logit_bars, self.probability_bars):
                bars.setOpts(x=[], height=[])
            for pool in self._marks or ():
                pool.show([])
            return
        logits = self.logits[shown]
        probabilities = self.probabilities[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles(shown, true)
        kit.set_bars(self.logit_bars, pens, brushes, x=x, height=self.heights, width=BAR_B)
        kit.set_bars(
            self.probability_bars, prob_pens, prob_brushes, x=x, height=prob_heights, width=BAR_B
        )
        self.logit_marks.show(marks.bar_marks(x, self.heights, logits, self.clamped))
        self.probability_marks.show(marks.bar_marks(x, prob_heights, probabilities, prob_bad))

    def _bar_styles(self, shown: np.ndarray, true: int | None) -> tuple[list, list, list, list]:
        """Model B's bars: the model-B colour, hatched, with a thin outline of it (so that the
        two models differ by pattern as well as colour); the true class outlined solid and B's
        prediction dashed, as for A; a clamped logit cross-hatched."""
        t = self._theme
        outline = kit.make_pen(t.model_b, t.px(1.5))
        true_pen = kit.make_pen(t.true_class, t.px(3))
        pred_pen = kit.make_pen(t.predicted, t.px(3), Qt.PenStyle.DashLine)
        brush = QBrush(kit.qcolor(t.model_b), Qt.BrushStyle.FDiagPattern)
        clamped = QBrush(kit.qcolor(t.model_b), Qt.BrushStyle.DiagCrossPattern)
        pens = []
        for cls in shown:
            if cls == true:
                pens.append(true_pen)
            elif cls == self.predicted:
                pens.append(pred_pen)
            else:
                pens.append(outline)
        brushes = [clamped if bad else brush for bad in self.clamped]
        return pens, brushes, pens, [brush] * len(pens)

    def restyle(self, theme: Theme, shown: np.ndarray, true: int | None) -> None:
        self._theme = theme
        for pool in self._marks or ():
            pool.apply_theme(theme)
        if self.logits is not None:
            pens, brushes, prob_pens, prob_brushes = self._bar_styles(shown, true)
            kit.set_bars(self.logit_bars, pens, brushes)
            kit.set_bars(self.probability_bars, prob_pens, prob_brushes)
