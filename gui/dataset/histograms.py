"""Per-sample loss and confidence histograms, correct vs wrong: filled curve vs outline."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.metrics import Histogram

KEYS = ("loss", "confidence")


class CountAxis(pg.AxisItem):
    """A y axis of counts: ticks at whole numbers only (no 0.5 or 1.5 samples)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = [
            (spacing, [v for v in values if abs(v - round(v)) < 1e-9])
            for spacing, values in super().tickValues(minVal, maxVal, size)
            if spacing >= 1
        ]
        if not any(values for _, values in levels):  # a range of 0 to 1.2: every whole number
            low, high = math.ceil(minVal), math.floor(maxVal)
            levels = [(1.0, [float(v) for v in range(low, high + 1)])] if high >= low else []
        return levels

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [fmt.count(round(v * scale)) for v in values]


class HistogramView(pg.GraphicsLayoutWidget):
    """Two histograms side by side; the bins and counts come from ``core.metrics``."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._theme = theme
        self._titles = {"loss": "Per-sample loss", "confidence": "Confidence (max p)"}
        self._histograms: dict[str, Histogram | None] = {"loss": None, "confidence": None}
        self.loss_plot = self.addPlot(row=0, col=0, axisItems={"left": CountAxis("left")})
        self.confidence_plot = self.addPlot(row=0, col=1, axisItems={"left": CountAxis("left")})
        self.plots = {"loss": self.loss_plot, "confidence": self.confidence_plot}
        self.legends: dict[str, pg.LegendItem] = {}
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        # The confidence histogram piles up at 1, so its legend goes top left.
        for key, offset in (("loss", (-10, 10)), ("confidence", (10, 10))):
            plot = self.plots[key]
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            legend = plot.addLegend(offset=offset)
            correct = pg.PlotDataItem(stepMode="center", fillLevel=0.0, name="✓ correct")
            wrong = pg.PlotDataItem(stepMode="center", name="✗ wrong")
            wrong.setZValue(5)
            plot.addItem(correct)
            plot.addItem(wrong)
            self.legends[key] = legend
            self.curves[key] = (correct, wrong)
        for key, plot in self.plots.items():
            plot.getViewBox().sigResized.connect(lambda _vb, key=key: self._fit_y(key))
        self.loss_hist_correct, self.loss_hist_wrong = self.curves["loss"]
        self.confidence_hist_correct, self.confidence_hist_wrong = self.curves["confidence"]
        self.hover = kit.Hover(
            self,
            [
                (self.loss_plot.getViewBox(), self.loss_hover_text_at),
                (self.confidence_plot.getViewBox(), self.confidence_hover_text_at),
            ],
        )
        self.set_theme(theme)

    def set_histograms(self, loss: Histogram, confidence: Histogram) -> None:
        for key, histogram in (("loss", loss), ("confidence", confidence)):
            self._histograms[key] = histogram
            edges = histogram.edges
            correct_curve, wrong_curve = self.curves[key]
            correct_curve.setData(x=edges, y=histogram.correct.astype(np.float64))
            wrong_curve.setData(x=edges, y=histogram.wrong.astype(np.float64))
            legend = self.legends[key]
            legend.getLabel(correct_curve).setText(
                f"✓ correct (filled) · {fmt.count(histogram.correct.sum())}"
            )
            legend.getLabel(wrong_curve).setText(
                f"✗ wrong (outline) · {fmt.count(histogram.wrong.sum())}"
            )
            if edges.size:
                self.plots[key].getViewBox().setXRange(edges[0], edges[-1], padding=0.02)
            self._fit_y(key)
        suffix = (
            f" · {loss.n_hidden:,} ignored or without a prediction not shown"
            if loss.n_hidden
            else ""
        )
        loss_title = "Per-sample loss"
        if not math.isnan(loss.overflow):
            loss_title += f" · last bin holds ≥ {fmt.short(loss.overflow, 3)}"
            if loss.n_infinite:
                loss_title += f" (with {loss.n_infinite:,} losses of ∞)"
        self._titles = {"loss": loss_title + suffix, "confidence": "Confidence (max p)" + suffix}
        for key, plot in self.plots.items():
            kit.set_title(plot, self._theme, self._titles[key])

    def _fit_y(self, key: str) -> None:
        """Leave room above the tallest bin for the legend, which sits inside the plot: the
        headroom is the legend's share of the view's height in pixels."""
        h = self._histograms[key]
        if h is None:
            return
        top = max(1.0, float(h.correct.max(initial=0)), float(h.wrong.max(initial=0)))
        vb = self.plots[key].getViewBox()
        legend = self.legends[key]
        legend.updateSize()
        legend_px = legend.boundingRect().height() + 24  # its 10 px offset and a gap below
        share = min(0.6, legend_px / max(1.0, vb.height()))
        # A sliver below 0, so the "0" tick label is not clipped at the axis end.
        vb.setYRange(-0.02 * top, top / (1.0 - share), padding=0.0)

    def counts(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edges, correct counts, wrong counts) of the "loss" or "confidence" histogram."""
        h = self._histograms[key]
        if h is None:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        return h.edges, h.correct.astype(np.float64), h.wrong.astype(np.float64)

    def titles(self) -> dict[str, str]:
        return dict(self._titles)

    def loss_hover_text_at(self, x: float, y: float) -> str | None:
        return self._hover_text("loss", x)

    def confidence_hover_text_at(self, x: float, y: float) -> str | None:
        return self._hover_text("confidence", x)

    def _hover_text(self, key: str, x: float) -> str | None:
        h = self._histograms[key]
        if h is None:
            return None
        edges = h.edges
        if edges.size < 2 or not math.isfinite(x) or not edges[0] <= x <= edges[-1]:
            return None
        b = min(int(np.searchsorted(edges, x, side="right")) - 1, edges.size - 2)
        last = b == edges.size - 2
        lo = fmt.short(edges[b])
        if last and key == "loss" and not math.isnan(h.overflow):
            span = f"[{lo}, ∞)"
        else:
            span = f"[{lo}, {fmt.short(edges[b + 1])}{']' if last else ')'}"
        return f"{key} {span}\n✓ correct: {int(h.correct[b]):,}\n✗ wrong: {int(h.wrong[b]):,}"

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        for key, plot in self.plots.items():
            kit.style_plot(plot, theme, key, "samples")
            kit.set_title(plot, theme, self._titles[key])
            correct_curve, wrong_curve = self.curves[key]
            correct_curve.setPen(pg.mkPen(theme.correct, width=theme.px(1)))
            correct_curve.setBrush(pg.mkBrush(kit.qcolor(theme.correct, 110)))
            wrong_curve.setPen(pg.mkPen(theme.incorrect, width=theme.px(2.5)))
            kit.style_legend(self.legends[key], theme)
            self._fit_y(key)
        self.hover.apply_theme(theme)
