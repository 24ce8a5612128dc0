"""Per-sample loss bars (an outline of bin maxima above BAR_CURVE_LIMIT samples) with the reduced
loss; correct / incorrect differ by colour and by marker shape ('o' / 'x')."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import BAR_CURVE_LIMIT, DRAW_LIMIT, drawable_heights, loss_outline
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme


def _vector(values: object, n: int, dtype: type, name: str) -> np.ndarray:
    array: np.ndarray = np.asarray(values, dtype=dtype).reshape(-1)
    if array.size != n:
        raise ValueError(f"{name} has {array.size} entries, expected {n}")
    return array


class LossPlot(pg.PlotWidget):
    """One bar per sample; click a bar to select its sample (``sigSampleClicked``)."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        vb, axis = kit.InteractiveViewBox(), kit.CategoryAxis("bottom")
        super().__init__(parent=parent, viewBox=vb, axisItems={"bottom": axis})
        self._vb, self._axis = vb, axis
        kit.set_min_size(self)
        self._theme = theme
        self._losses = np.zeros(0)
        self._correct = np.zeros(0, dtype=bool)
        self._valid = np.zeros(0, dtype=bool)
        self._bad = np.zeros(0, dtype=bool)  # loss not drawable as is (NaN, ±inf, huge)
        self._heights = np.zeros(0)
        self._reduced: float | None = None
        self._reduction = "none"
        self._selected = -1
        self._title = "Per-sample loss"
        self._ranged_count = -1  # sample count the x range was last fitted to
        self._frozen = False
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0.0)
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.curve.hide()
        self.marks = pg.ScatterPlotItem(pxMode=True)
        self.marks.setZValue(10)
        self.selection_line = pg.InfiniteLine(angle=90, movable=False)
        self.selection_line.setZValue(-5)
        self.reduced_line = pg.InfiniteLine(angle=0, movable=False)
        self.reduced_line.setZValue(15)
        self.reduced_line.hide()
        # "mean = X" (and "sum = X", or a mean that cannot be a line) lives in the ViewBox's pixel
        # space, top right, over a halo: never on a bar, never cut at the top.
        self.reduced_text = pg.TextItem(anchor=(1, 0))
        self.reduced_text.setParentItem(self._vb)
        self.reduced_text.setZValue(40)
        self.reduced_text.hide()
        for item in (self.bars, self.curve, self.marks):
            plot.addItem(item)
        plot.addItem(self.selection_line, ignoreBounds=True)
        plot.addItem(self.reduced_line, ignoreBounds=True)

        self.hover = kit.Hover(self, [(self._vb, self.hover_text_at)])
        self._vb.set_handlers(click=self._on_click)
        self._vb.sigResized.connect(self._place_reduced_text)
        self._vb.sigResized.connect(lambda _vb: self._fit_range(force_y=True))
        self.set_theme(theme)

    def set_losses(
        self,
        losses: np.ndarray,
        correct: np.ndarray,
        valid: np.ndarray,
        finite: np.ndarray,
        reduced: float | None,
        reduction: str,
    ) -> None:
        """Show per-sample losses (N,) with their correct / valid / finite flags (N,), and the
        reduced loss under ``reduction`` ("mean", "sum" or "none")."""
        losses = np.array(losses, dtype=np.float64).reshape(-1)
        n = losses.size
        self._losses = losses
        self._correct = _vector(correct, n, bool, "correct")
        self._valid = _vector(valid, n, bool, "valid")
        finite_flags = _vector(finite, n, bool, "finite")
        self._heights, bad = drawable_heights(losses)
        self._bad = bad | ~finite_flags
        self._reduced = None if reduced is None else float(reduced)
        self._reduction = reduction

        use_curve = n > BAR_CURVE_LIMIT
        if use_curve:
            x, peaks = loss_outline(self._heights)
            self.curve.setData(x=x, y=peaks)
            # The hidden bars drop their data so they cost nothing.
            self.bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        else:
            self.curve.setData(x=np.zeros(0), y=np.zeros(0))
            pens, brushes = self._bar_styles()
            kit.set_bars(
                self.bars, pens, brushes, x=np.arange(n, dtype=np.float64), height=self._heights
            )
        self.curve.setVisible(use_curve)
        self.bars.setVisible(not use_curve)
        self._update_marks()
        self._update_reduced()
        self._update_selection_line()
        self._axis.set_categories(n)
        self._update_title()
        self._fit_range()

    def set_selected(self, selected: int) -> None:
        """Move the selection mark; nothing else is redrawn."""
        if selected == self._selected:
            return
        self._selected = int(selected)
        self._update_selection_line()
        if self.bars.isVisible() and self._losses.size:
            pens, brushes = self._bar_styles()
            kit.set_bars(self.bars, pens, brushes)

    def hold_axes(self, hold: bool) -> None:
        """While something animates, is dragged or stepped through, the y axis only grows (and
        shrinks only when the data use under a tenth of it): a bar that shrinks is seen to
        shrink. On release it fits again."""
        self._frozen = hold
        if not hold and self._losses.size:
            self._fit_range(force_y=True)

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The sample under x (view coordinates) with its exact loss, or None."""
        i = self._index_at(x)
        if i is None:
            return None
        if not self._valid[i]:
            state = "ignored"
        else:
            state = "✓ correct" if self._correct[i] else "✗ incorrect"
        return f"sample {i} · {state}\nloss = {fmt.precise(self._losses[i])}"

    def title(self) -> str:
        return self._title

    def reduced_label(self) -> str | None:
        return self.reduced_text.toPlainText() if self.reduced_text.isVisible() else None

    def _update_selection_line(self) -> None:
        n = self._losses.size
        visible = 0 <= self._selected < n
        self.selection_line.setVisible(visible)
        if visible:
            self.selection_line.setValue(self._selected)

    def _index_at(self, x: float) -> int | None:
        if not math.isfinite(x):
            return None
        i = math.floor(x + 0.5)
        return i if 0 <= i < self._losses.size else None

    def _on_click(self, pos: QPointF) -> bool:
        i = self._index_at(pos.x())
        if i is None:
            return False
        self.sigSampleClicked.emit(i)
        return True

    def _codes(self) -> np.ndarray:
        """0 correct, 1 incorrect, 2 ignored, 3 not drawable (non-finite / huge)."""
        codes = np.where(self._correct, 0, 1)
        codes[~self._valid] = 2
        codes[self._bad & self._valid] = 3
        return codes

    def _bar_styles(self) -> tuple[list, list]:
        t = self._theme
        brushes = [
            pg.mkBrush(t.correct),
            pg.mkBrush(t.incorrect),
            pg.mkBrush(kit.qcolor(t.ignored, 150)),
            QBrush(kit.qcolor(t.incorrect), Qt.BrushStyle.BDiagPattern),
        ]
        no_pen = QPen(Qt.PenStyle.NoPen)
        pens = [no_pen, no_pen, no_pen, kit.make_pen(t.incorrect, 1)]
        codes = self._codes()
        pen_list = [pens[c] for c in codes]
        if 0 <= self._selected < codes.size:
            pen_list[self._selected] = kit.make_pen(t.selection, t.px(3))
        return pen_list, [brushes[c] for c in codes]

    def _update_marks(self) -> None:
        """Second cue next to colour: 'o' correct, 'x' incorrect, '_' ignored at the baseline, and
        a hollow '▲' on bars that are off the scale. In outline mode only the off-scale ones."""
        t = self._theme
        n = self._losses.size
        codes = self._codes()
        idx = np.flatnonzero(codes == 3) if n > BAR_CURVE_LIMIT else np.arange(n)
        codes = codes[idx]
        symbols = np.array(["o", "x", "_", "t1"])[codes]
        y = np.where(codes == 2, 0.0, self._heights[idx])
        size = t.px(8) if n <= 100 else t.px(5)
        pens = [
            pg.mkPen(t.correct, width=t.px(1)),
            pg.mkPen(t.incorrect, width=t.px(2)),
            pg.mkPen(t.ignored, width=t.px(2)),
            pg.mkPen(t.incorrect, width=t.px(2)),
        ]
        brushes = [pg.mkBrush(t.correct), pg.mkBrush(None), pg.mkBrush(None), pg.mkBrush(None)]
        self.marks.setData(
            x=idx.astype(np.float64),
            y=y,
            symbol=symbols,
            size=size,
            pen=[pens[c] for c in codes],
            brush=[brushes[c] for c in codes],
            data=idx,
        )

    def _update_reduced(self) -> None:
        reduced = self._reduced
        # A non-finite (or absurdly large) mean cannot be a line on the axis: text only.
        show_line = self._reduction == "mean" and reduced is not None and abs(reduced) <= DRAW_LIMIT
        self.reduced_line.setVisible(show_line)
        if show_line:
            self.reduced_line.setValue(reduced)
        show_text = self._reduction != "none" and reduced is not None
        if show_text:
            self.reduced_text.setText(f"{self._reduction} = {fmt.number(reduced)}")  # as the table
            self._place_reduced_text()
        self.reduced_text.setVisible(show_text)

    def _place_reduced_text(self) -> None:
        rect = self._vb.boundingRect()
        self.reduced_text.setPos(rect.right() - 6, rect.top() + 4)

    def _update_title(self) -> None:
        n = self._losses.size
        title = f"Per-sample loss · {fmt.plural(n, 'sample')}"
        if n > BAR_CURVE_LIMIT:
            title += " (maxima)"
        bad = int((self._bad & self._valid).sum())
        if bad:
            title += f" · {bad} non-finite ▲"
        self._title = title
        kit.set_title(self.getPlotItem(), self._theme, title)

    def _fit_range(self, force_y: bool = False) -> None:
        n = self._losses.size
        if n == 0:
            return
        force = n != self._ranged_count
        if force:
            self._vb.setXRange(-0.5, n - 0.5, padding=0.02)
            self._ranged_count = n
        lo = min(0.0, float(self._heights.min()))
        hi = max(0.0, float(self._heights.max()))
        if self.reduced_line.isVisible() and self._reduced is not None:
            hi = max(hi, self._reduced)
        if hi - lo <= 1e-12:
            hi = lo + 1.0
        if self.reduced_text.isVisible():
            # The reduced-loss label sits top right: keep a band above the bars free for it.
            hi = kit.headroom(self._vb, self.reduced_text, lo, hi)
        kit.fit_axis(self._vb, 1, lo, hi, force=force or force_y, hold=self._frozen)

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        plot = self.getPlotItem()
        kit.style_plot(plot, theme, x_label="sample", y_label="loss")
        kit.set_title(plot, theme, self._title)
        self.curve.setPen(pg.mkPen(theme.probability, width=theme.px(1)))
        self.curve.setBrush(pg.mkBrush(kit.qcolor(theme.probability, 110)))
        self.selection_line.setPen(kit.make_pen(theme.selection, theme.px(2), Qt.PenStyle.DashLine))
        self.reduced_line.setPen(
            kit.make_pen(theme.reduced_line, theme.px(2), Qt.PenStyle.DashLine)
        )
        kit.style_text(self.reduced_text, theme, 12)
        self.hover.apply_theme(theme)
        if self._losses.size:
            if self.bars.isVisible():
                pens, brushes = self._bar_styles()
                kit.set_bars(self.bars, pens, brushes)
            self._update_marks()
