"""The reliability diagram: accuracy per confidence bin against the diagonal of perfect
calibration, the gap to it hatched, and the number of samples per bin underneath."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.metrics import Reliability


class ReliabilityView(pg.GraphicsLayoutWidget):
    """Accuracy per confidence bin against the diagonal of perfect calibration, the gap to it
    shaded, and the number of samples per bin underneath."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._theme = theme
        self._reliability: Reliability | None = None
        self._drawn_bins = np.zeros(0, dtype=np.int64)
        self._title = "Reliability"
        self.plot = self.addPlot(row=0, col=0)
        self.count_plot = self.addPlot(row=1, col=0)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.plot, self.count_plot):
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
        self.count_plot.setXLink(self.plot)
        legend = self.plot.addLegend(offset=(10, 10))
        self.legend = legend
        self.diagonal = pg.PlotDataItem([0.0, 1.0], [0.0, 1.0], name="perfect calibration")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.0, name="accuracy")
        self.gap_bars = pg.BarGraphItem(
            x=[], y0=[], height=[], width=0.0, name="gap to mean confidence"
        )
        self.gap_bars.setZValue(2)
        self.count_bars = pg.BarGraphItem(x=[], height=[], width=0.0)
        self.plot.addItem(self.bars)
        self.plot.addItem(self.gap_bars)
        self.plot.addItem(self.diagonal)
        self.count_plot.addItem(self.count_bars)
        self._fit_ranges()
        self.hover = kit.Hover(
            self,
            [
                (self.plot.getViewBox(), self.hover_text_at),
                (self.count_plot.getViewBox(), self.hover_text_at),
            ],
        )
        self.set_theme(theme)

    def set_reliability(self, rel: Reliability, left_out: int = 0) -> None:
        """Draw one bar per non-empty bin (an empty bin has no accuracy to show); ``left_out``:
        labelled rows without a prediction, which the title names."""
        self._reliability = rel
        edges = rel.bin_edges
        width = float(edges[1] - edges[0]) * 0.92
        filled = np.flatnonzero(rel.bin_count > 0)
        self._drawn_bins = filled
        centers = (0.5 * (edges[:-1] + edges[1:]))[filled]
        accuracy = rel.bin_accuracy[filled]
        confidence = rel.bin_confidence[filled]
        self.bars.setOpts(x=centers, height=accuracy, width=width)
        self.gap_bars.setOpts(
            x=centers,
            y0=np.minimum(accuracy, confidence),
            height=np.abs(confidence - accuracy),
            width=width,
        )
        self.count_bars.setOpts(
            x=centers, height=rel.bin_count[filled].astype(np.float64), width=width
        )
        self._fit_ranges()
        self._title = (
            f"Reliability · ECE = {fmt.metric(rel.ece)} · MCE = {fmt.metric(rel.mce)} · "
            f"N = {rel.n:,} · {rel.n_bins} bins"
            + (f" · {left_out:,} without a prediction left out" if left_out else "")
        )
        kit.set_title(self.plot, self._theme, self._title)

    def title(self) -> str:
        return self._title

    def _fit_ranges(self) -> None:
        # A little beyond [0, 1], so that the 0 and 1 tick labels are not clipped at the ends.
        self.plot.getViewBox().setRange(xRange=(-0.02, 1.02), yRange=(-0.03, 1.05), padding=0)
        counts = self._reliability.bin_count if self._reliability is not None else np.zeros(1)
        top = max(1.0, float(counts.max(initial=0)))
        self.count_plot.getViewBox().setYRange(0.0, top * 1.1, padding=0)

    def drawn_bins(self) -> np.ndarray:
        """The bins (indices into the Reliability arrays) that have a bar: the non-empty ones."""
        return self._drawn_bins

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The confidence bin under x (view coordinates): its count, accuracy and confidence."""
        rel = self._reliability
        if rel is None or not math.isfinite(x) or not 0.0 <= x <= 1.0:
            return None
        edges = rel.bin_edges
        b = min(max(int(np.searchsorted(edges, x, side="left")) - 1, 0), rel.n_bins - 1)
        text = f"confidence ({fmt.short(edges[b], 3)}, {fmt.short(edges[b + 1], 3)}]"
        text += f" · {fmt.plural(int(rel.bin_count[b]), 'sample')}"
        if rel.bin_count[b]:
            gap = rel.bin_confidence[b] - rel.bin_accuracy[b]
            kind = "over-confident" if gap > 0 else "under-confident"
            text += (
                f"\naccuracy = {fmt.metric(rel.bin_accuracy[b])}"
                f"\nmean confidence = {fmt.metric(rel.bin_confidence[b])}"
                f"\ngap = {fmt.metric(abs(gap))} ({kind})"
            )
        return text

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.plot, theme, "", "accuracy")
        kit.style_plot(self.count_plot, theme, "confidence (max p)", "samples")
        # Equal axis widths keep the two plots' x axes (linked) aligned pixel for pixel.
        for plot in (self.plot, self.count_plot):
            plot.getAxis("left").setWidth(theme.px(52))
        kit.set_title(self.plot, theme, self._title)
        self.bars.setOpts(
            brush=pg.mkBrush(kit.qcolor(theme.correct, 190)), pen=pg.mkPen(theme.correct, width=1)
        )
        # Hatched as well as coloured, so the gap does not depend on telling colours apart.
        gap_brush = QBrush(kit.qcolor(theme.incorrect, 220), Qt.BrushStyle.BDiagPattern)
        self.gap_bars.setOpts(brush=gap_brush, pen=pg.mkPen(theme.incorrect, width=theme.px(1)))
        self.count_bars.setOpts(
            brush=pg.mkBrush(kit.qcolor(theme.ignored, 170)), pen=pg.mkPen(None)
        )
        self.diagonal.setPen(kit.make_pen(theme.foreground, theme.px(1.5), Qt.PenStyle.DashLine))
        kit.style_legend(self.legend, theme)
        self.hover.apply_theme(theme)
