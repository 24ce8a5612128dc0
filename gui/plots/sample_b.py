"""Model B on the selected-sample plot: a second model's bars beside the first's, their marks,
the end labels that name both models' predictions, and the heading's colour swatches.

A part of :class:`gui.plots.sample.SamplePlot` (which mixes it in); kept in its own module so that
the one-model plot reads as it did. Comparing, A's bar of a class sits left of the class's slot
and B's right of it; B's bars are hatched in the model-B colour with a thin outline of it.
"""

from __future__ import annotations

import math
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
    from softmax_lab.gui.theme import Theme

OFFSET = 0.2
"""Comparing two models: A's bar is centred this far left of its class's slot, B's right."""
BAR_B = 0.38
"""The width of each model's bar when two share a slot."""


class ModelB:
    """Model B's items and drawing; see the module docstring."""

    _theme: Theme
    _names: list[str]
    _logits: np.ndarray
    _probabilities: np.ndarray
    _true: int | None
    _predicted: int | None
    _shown: np.ndarray
    _heights: np.ndarray
    logit_plot: pg.PlotItem
    probability_plot: pg.PlotItem

    def _init_model_b(self) -> None:
        # Model B (comparing): None, or its logits, probabilities and prediction.
        self._logits_b: np.ndarray | None = None
        self._probabilities_b = np.zeros(0)
        self._predicted_b: int | None = None
        self._heights_b = np.zeros(0)
        self._clamped_b = np.zeros(0, dtype=bool)
        self._model_names = ("A", "B")
        self.logit_bars_b = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        self.probability_bars_b = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        self.logit_plot.addItem(self.logit_bars_b)
        self.probability_plot.addItem(self.probability_bars_b)
        # B's marks (80 text items) are made once, the first time two models are compared: a
        # plot that never compares does not carry them.
        self._marks_b: tuple[marks.MarkPool, marks.MarkPool] | None = None

    @property
    def logit_marks_b(self) -> marks.MarkPool:
        return self._b_marks()[0]

    @property
    def probability_marks_b(self) -> marks.MarkPool:
        return self._b_marks()[1]

    def _b_marks(self) -> tuple[marks.MarkPool, marks.MarkPool]:
        if self._marks_b is None:
            self._marks_b = (
                marks.MarkPool(self.logit_plot, MAX_BARS),
                marks.MarkPool(self.probability_plot, MAX_BARS),
            )
            for pool in self._marks_b:
                pool.apply_theme(self._theme)
        return self._marks_b

    @property
    def comparing(self) -> bool:
        return self._logits_b is not None

    def swatches(self, heading_html: str) -> str:
        """The heading (HTML) with its model glyphs coloured as the bars are: ▮ in A's colour
        (solid bars), ▨ in B's (hatched bars). The heading names the models after them."""
        t = self._theme
        return heading_html.replace("▮", f"<span style='color:{t.probability}'>▮</span>").replace(
            "▨", f"<span style='color:{t.model_b}'>▨</span>"
        )

    def _ranking(self) -> np.ndarray:
        """What picks the shown classes of a wide vocabulary: p, or the larger p of A and B."""
        if self._logits_b is None:
            return self._probabilities
        a = np.where(np.isnan(self._probabilities), -np.inf, self._probabilities)
        b = np.where(np.isnan(self._probabilities_b), -np.inf, self._probabilities_b)
        return np.maximum(a, b)

    def _hover_b(self, cls: int) -> tuple[list[str], list[str]]:
        """The hover lines and roles of a class while comparing: both models' numbers."""
        assert self._logits_b is not None
        a, b = self._model_names
        lines = [
            f"{self._names[cls]}  (class {cls})",
            f"A ({a}): logit = {fmt.precise(self._logits[cls])}, "
            f"p = {fmt.precise(self._probabilities[cls])}",
            f"B ({b}): logit = {fmt.precise(self._logits_b[cls])}, "
            f"p = {fmt.precise(self._probabilities_b[cls])}",
        ]
        roles = [
            r
            for r, c in (
                ("true", self._true),
                ("predicted by A", self._predicted),
                ("predicted by B", self._predicted_b),
            )
            if c == cls
        ]
        return lines, roles

    def _redraw_b(self, x: np.ndarray) -> None:
        """Model B's bars and marks (emptied when not comparing)."""
        if self._logits_b is None:
            for bars in (self.logit_bars_b, self.probability_bars_b):
                bars.setOpts(x=[], height=[])
            for pool in self._marks_b or ():
                pool.show([])
            return
        shown = self._shown
        logits = self._logits_b[shown]
        probabilities = self._probabilities_b[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles_b()
        kit.set_bars(self.logit_bars_b, pens, brushes, x=x, height=self._heights_b, width=BAR_B)
        kit.set_bars(
            self.probability_bars_b, prob_pens, prob_brushes, x=x, height=prob_heights, width=BAR_B
        )
        self.logit_marks_b.show(marks.bar_marks(x, self._heights_b, logits, self._clamped_b))
        self.probability_marks_b.show(marks.bar_marks(x, prob_heights, probabilities, prob_bad))

    def _bar_styles_b(self) -> tuple[list, list, list, list]:
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
        for cls in self._shown:
            if cls == self._true:
                pens.append(true_pen)
            elif cls == self._predicted_b:
                pens.append(pred_pen)
            else:
                pens.append(outline)
        brushes = [clamped if bad else brush for bad in self._clamped_b]
        return pens, brushes, pens, [brush] * len(pens)

    def _end_label(self, role: str) -> tuple[str, int, tuple[float, ...]] | None:
        """(text, class, x offsets of the bars it names) of one end label, or None. One model:
        "true" and "pred" ("true = pred" when they agree). Two: "true", "pred A" and "pred B",
        merged where they name the same class ("true = pred B", "pred A = pred B")."""
        true, a = self._true, self._predicted
        if self._logits_b is None:
            same = true is not None and true == a
            if role == "true" and true is not None:
                return ("true = pred" if same else "true", true, (0.0,))
            if role == "pred" and a is not None and not same:
                return ("pred", a, (0.0,))
            return None
        b = self._predicted_b
        owners = {"true": true, "pred": a, "pred_b": b}
        cls = owners[role]
        if cls is None:
            return None
        # The first role naming a class shows the merged label; the others stay hidden.
        first = next(r for r in ("true", "pred", "pred_b") if owners[r] == cls)
        if role != first:
            return None
        words = {"true": "true", "pred": "pred A", "pred_b": "pred B"}
        named = [r for r in ("true", "pred", "pred_b") if owners[r] == cls]
        offsets = {"true": (-OFFSET, OFFSET), "pred": (-OFFSET,), "pred_b": (OFFSET,)}
        spots = tuple(sorted({o for r in named for o in offsets[r]}))
        return (" = ".join(words[r] for r in named), cls, spots)

    def _label_y(self, plot_key: str, slot: int, offsets: tuple[float, ...]) -> float:
        """Where a label over these bars goes: the end of the longest of them."""
        ends = []
        for offset in offsets:
            b = offset > 0
            if plot_key == "logit":
                ends.append(float((self._heights_b if b else self._heights)[slot]))
            else:
                p = float((self._probabilities_b if b else self._probabilities)[self._shown[slot]])
                ends.append(float(np.clip(p, 0.0, 1.0)) if math.isfinite(p) else 0.0)
        return max(ends, key=abs)

    def _restyle_b(self, theme: Theme) -> None:
        for pool in self._marks_b or ():
            pool.apply_theme(theme)
        if self._logits_b is not None:
            pens, brushes, prob_pens, prob_brushes = self._bar_styles_b()
            kit.set_bars(self.logit_bars_b, pens, brushes)
            kit.set_bars(self.probability_bars_b, prob_pens, prob_brushes)
