"""The loss curve: every sample as a dot at (its p(true), its loss) over the −log p reference,
and the selected sample's own loss as a function of its p(true) (smoothing, weights and soft
targets bend it away from −log p)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import LossCurve, reference_curve, thin_points
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

LEGEND_OFFSET = 10
"""Pixels between the legend and the plot's edges."""
LEGEND_CORNERS = ((1, 0), (0, 1), (0, 0), (1, 1))
"""Where the legend may go, in order of preference: top right (above the curve's tail), bottom
left (under the curve), top left, bottom right."""


class LossCurvePlot(pg.PlotWidget):
    """Click a dot to select its sample (``sigSampleClicked``)."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        kit.set_min_size(self)
        self._theme = theme
        self._vb: pg.ViewBox = self.getPlotItem().getViewBox()
        self._curve: LossCurve | None = None
        self._p = np.zeros(0)
        self._losses = np.zeros(0)
        self._selected = -1
        self._xy = np.zeros((0, 2))
        self._y_top = 5.0
        self._title = "Loss curve"
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        p, y = reference_curve()
        self.reference = pg.PlotDataItem(p, y, name="−log p(true)")
        self._reference_top: float | None = None  # the top the reference was cut at
        self.sample_curve = pg.PlotDataItem()
        self.sample_curve.setZValue(5)
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.setZValue(10)
        self.selected_marker = pg.ScatterPlotItem(pxMode=True, symbol="o")
        self.selected_marker.setZValue(20)
        self.legend = plot.addLegend(offset=(-10, 10))
        self._legend_corner: tuple[int, int] = (1, 0)
        self._banded = False  # the y axis has room above the data for the legend
        plot.addItem(self.reference)
        plot.addItem(self.sample_curve)
        plot.addItem(self.points)
        plot.addItem(self.selected_marker)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.selected_marker.sigClicked.connect(self._on_points_clicked)
        self.hover = kit.Hover(self, [(self._vb, self.hover_text_at)])
        self._vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, self._y_top), padding=0.04)
        self._vb.sigResized.connect(self._place_legend)
        self._vb.sigRangeChanged.connect(self._place_legend)
        self.set_theme(theme)

    def set_curve(self, curve: LossCurve, p_true: np.ndarray, losses: np.ndarray) -> None:
        """Place every dot of ``curve`` (``core.display.loss_curve``); ``p_true`` and ``losses``
        are the exact (N,) values, for hover."""
        self._curve = curve
        self._p = np.asarray(p_true, dtype=np.float64)
        self._losses = np.asarray(losses, dtype=np.float64)
        self._xy = np.column_stack([curve.x, curve.y])
        rescale = curve.y_top != self._y_top or self._banded
        self._y_top = curve.y_top
        if self._reference_top != self._y_top:  # the same on most edits: drawn once
            self._reference_top = self._y_top
            self.reference.setData(*self._reference_below(self._y_top))
        self._draw_points()
        if rescale:
            self._banded = False
            self._vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, self._y_top), padding=0.04)
        kit.set_legend_text(self.legend, self.reference, curve.reference_label, self._theme)
        n = self._p.size
        # Short enough for the desk at 1280 wide: "Loss curve · 12 samples · 10 off chart △".
        shown = curve.index.size
        title = "Loss curve · " + (fmt.plural(n, "sample") if shown == n else f"{shown:,} of {n:,}")
        if curve.clamped.any():
            title += f" · {int(curve.clamped.sum()):,} off chart △"
        self._title = title
        kit.set_title(self.getPlotItem(), self._theme, title)
        self._place_legend()

    def set_sample_curve(self, selected: int, p: np.ndarray, y: np.ndarray, shown: bool) -> None:
        """The selected sample's own loss over p(true) (``core.display.sample_loss_curve``);
        ``shown`` False when it coincides with the reference (nothing to add)."""
        self._selected = int(selected)
        finite = np.isfinite(y)
        below = finite & (np.asarray(y) <= self._y_top)  # none in the legend's band above
        self.sample_curve.setData(x=np.asarray(p)[below], y=np.asarray(y)[below])
        self.sample_curve.setVisible(shown and bool(finite.any()))
        visible = self.sample_curve.isVisible()
        if visible:
            kit.set_legend_text(self.legend, self.sample_curve, f"sample {selected}", self._theme)
        else:
            self.legend.removeItem(self.sample_curve)
            self.legend.updateSize()
        self._draw_selected()
        self._place_legend()

    def title(self) -> str:
        return self._title

    @staticmethod
    def _reference_below(top: float) -> tuple[np.ndarray, np.ndarray]:
        """The −log p reference up to the top of the data (the band above is the legend's)."""
        p, y = reference_curve()
        keep = y <= top
        return p[keep], y[keep]

    def _drawn_points(self) -> np.ndarray:
        """(x, y) in view coordinates of what the legend must not cover: the dots, the selected
        sample's marker, the reference curve and the sample's own curve."""
        parts = [self._xy[:: max(1, self._xy.shape[0] // 2000)]]
        for item in (self.reference, self.sample_curve):
            if item.isVisible():
                x, y = item.getData()
                if x is not None and len(x):
                    parts.append(np.column_stack([x, y])[:: max(1, len(x) // 400)])
        return np.concatenate(parts) if parts else np.zeros((0, 2))

    def _place_legend(self, *_args: object) -> None:
        """Put the legend in the corner of the plot where it covers no dot, curve or the
        selected sample's marker (top right unless something is drawn there)."""
        legend, vb = self.legend, self._vb
        width, height = legend.boundingRect().width(), legend.boundingRect().height()
        box_w, box_h = float(vb.width()), float(vb.height())
        if width <= 0 or box_w <= 0 or box_h <= 0:
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        points = self._drawn_points()
        finite = np.isfinite(points).all(axis=1)
        px = (points[finite, 0] - x0) / ((x1 - x0) or 1.0) * box_w
        py = (y1 - points[finite, 1]) / ((y1 - y0) or 1.0) * box_h
        margin, pad = float(self._theme.px(9)), float(LEGEND_OFFSET)
        best: tuple[int, tuple[int, int]] | None = None
        for corner in LEGEND_CORNERS:
            left = pad if corner[0] == 0 else box_w - pad - width
            top = pad if corner[1] == 0 else box_h - pad - height
            inside = (
                (px > left - margin)
                & (px < left + width + margin)
                & (py > top - margin)
                & (py < top + height + margin)
            )
            covered = int(inside.sum())
            if best is None or covered < best[0]:
                best = (covered, corner)
            if covered == 0:
                break
        assert best is not None
        corner = best[1]
        if best[0] and not self._banded:
            # Every corner covers something: a band above the data, where nothing is drawn.
            self._banded = True
            top = kit.headroom(vb, legend, 0.0, self._y_top)
            vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, top), padding=0.04)
            return  # the range change places it again, in the band
        if best[0] == 0 and corner != (1, 0):
            self._banded = False
        offset = (pad if corner[0] == 0 else -pad, pad if corner[1] == 0 else -pad)
        legend.anchor(itemPos=corner, parentPos=corner, offset=offset)
        self._legend_corner = corner

    def legend_corner(self) -> tuple[int, int]:
        """Where the legend is: (0 left / 1 right, 0 top / 1 bottom)."""
        return self._legend_corner

    def y_top(self) -> float:
        """The top of the y axis: losses above it are drawn at the edge."""
        return self._y_top

    def dots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sample index, x, y) of every placed dot, drawn or not (above POINT_LIMIT only one per
        screen cell is drawn)."""
        if self._curve is None:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        return self._curve.index, self._xy[:, 0], self._xy[:, 1]

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The dot nearest (x, y) in view coordinates, within a few pixels, with its exact p(true)
        and loss; None when no dot is near."""
        i = self._nearest(x, y)
        if i is None or self._curve is None:
            return None
        sample = int(self._curve.index[i])
        state = "✓ correct" if self._curve.correct[i] else "✗ incorrect"
        text = f"sample {sample} · {state}\np(true) = {fmt.precise(self._p[sample])}"
        text += f"\nloss = {fmt.precise(self._losses[sample])}"
        if self._curve.clamped[i]:
            text += " (drawn at the edge)"
        return text

    def _nearest(self, x: float, y: float) -> int | None:
        if self._xy.shape[0] == 0 or not (math.isfinite(x) and math.isfinite(y)):
            return None
        px_w, px_h = self._vb.viewPixelSize()
        if not (px_w > 0 and px_h > 0):
            px_w, px_h = 0.002, 0.01  # no geometry yet (never shown): a nominal pixel size
        dist = np.hypot((self._xy[:, 0] - x) / px_w, (self._xy[:, 1] - y) / px_h)
        i = int(np.argmin(dist))
        return i if dist[i] <= self._theme.px(10) else None

    def _on_points_clicked(self, _item: object, points: Sequence, _ev: object) -> None:
        if len(points):
            self.sigSampleClicked.emit(int(points[0].data()))

    def _draw_points(self) -> None:
        curve = self._curve
        if curve is None:
            return
        t = self._theme
        shown = thin_points(curve)
        codes = (np.where(curve.correct, 0, 1) + np.where(curve.clamped, 2, 0))[shown]
        symbols = np.array(["o", "x", "t1", "t1"])[codes]
        pens = [
            pg.mkPen(t.correct, width=t.px(1)),
            pg.mkPen(t.incorrect, width=t.px(2)),
            pg.mkPen(t.correct, width=t.px(2)),
            pg.mkPen(t.incorrect, width=t.px(2)),
        ]
        brushes = [pg.mkBrush(kit.qcolor(t.correct, 200))] + [pg.mkBrush(None)] * 3
        self.points.setData(
            x=curve.x[shown],
            y=curve.y[shown],
            symbol=symbols,
            size=t.px(8),
            pen=[pens[c] for c in codes],
            brush=[brushes[c] for c in codes],
            data=curve.index[shown],
        )
        self._draw_selected()

    def _draw_selected(self) -> None:
        if self._curve is None:
            return
        hit = np.flatnonzero(self._curve.index == self._selected)
        if hit.size:
            xy = self._xy[hit[:1]]
            self.selected_marker.setData(x=xy[:, 0], y=xy[:, 1], data=self._curve.index[hit[:1]])
        else:
            self.selected_marker.setData(x=np.zeros(0), y=np.zeros(0))

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, marker sizes; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(
            self.getPlotItem(), theme, x_label="p(true class)", y_label="the sample's loss"
        )
        kit.set_title(self.getPlotItem(), theme, self._title)
        self.reference.setPen(pg.mkPen(theme.foreground, width=theme.px(2)))
        self.sample_curve.setPen(kit.make_pen(theme.selection, theme.px(2.5), Qt.PenStyle.DashLine))
        self.selected_marker.setPen(pg.mkPen(theme.selection, width=theme.px(3)))
        self.selected_marker.setBrush(pg.mkBrush(None))
        self.selected_marker.setSize(theme.px(18))
        kit.style_legend(self.legend, theme)
        self._place_legend()
        self.hover.apply_theme(theme)
        if self._curve is not None:
            self._draw_points()
