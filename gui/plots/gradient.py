"""∂loss/∂logits of the selected sample as bars: positive and negative in different colours, a
zero line, the true class outlined, and a word of why when there is no gradient."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import MAX_BARS, SampleView, drawable_heights, shown_classes
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui import plotmarks as marks
from softmax_lab.gui.theme import LIGHT, Theme


class GradientPlot(pg.PlotWidget):
    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        self._axis = kit.CategoryAxis("bottom")
        super().__init__(parent=parent, axisItems={"bottom": self._axis})
        kit.set_min_size(self)
        self._theme = theme
        self._vb: pg.ViewBox = self.getPlotItem().getViewBox()
        self._gradient = np.zeros(0)
        self._names: list[str] = []
        self._true: int | None = None
        self._shown = np.zeros(0, dtype=np.int64)
        self._heights = np.zeros(0)
        self._clamped = np.zeros(0, dtype=bool)
        self._ranged = False
        self._frozen = False
        self._sample = -1
        self._model = ""
        self._title = "Gradient ∂loss/∂z"
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.zero_line = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.marks = marks.MarkPool(plot, MAX_BARS)
        self.labels = marks.BarLabels(plot, MAX_BARS)
        self.labels.bars = self.bars
        # Why there is nothing to show (an ignored sample): centred in the view, over a halo.
        self.note = pg.TextItem(anchor=(0.5, 0.5))
        self.note.setParentItem(self._vb)
        self.note.setZValue(40)
        self.note.hide()
        plot.addItem(self.bars)
        self.casing = kit.CasedOutline(plot)  # the true class's outline, outside its bar
        plot.addItem(self.zero_line, ignoreBounds=True)
        self.hover = kit.Hover(self, [(self._vb, self.hover_text_at)])
        self._vb.sigResized.connect(self._place_labels)
        self._vb.sigResized.connect(self._refit)
        self.set_theme(theme)

    def set_gradient(self, view: SampleView, class_names: list[str], model: str = "") -> None:
        """Show the gradient of ``view`` (``core.display.SampleView``); ``model`` names whose
        it is when two models are compared ("B (mlp)"), "" otherwise."""
        gradient = view.gradient
        n = gradient.size
        if len(class_names) != n:
            raise ValueError(f"{len(class_names)} class names for {n} gradient entries")
        self._gradient = gradient
        self._names = list(class_names)
        self._true = view.true_class
        self._sample = view.index
        self._model = model
        self._shown = shown_classes(np.abs(np.where(np.isnan(gradient), 0.0, gradient)))
        x = np.arange(self._shown.size, dtype=np.float64)
        values = gradient[self._shown]
        self._heights, self._clamped = drawable_heights(values)
        pens, brushes = self._bar_styles()
        kit.set_bars(self.bars, pens, brushes, x=x, height=self._heights)
        self._case()
        self.marks.show(marks.bar_marks(x, self._heights, values, self._clamped))
        self._axis.set_names([self._names[int(c)] for c in self._shown])
        self.note.setText(view.note or "")
        self.note.setVisible(bool(view.note))
        self._update_title()
        self._vb.setXRange(-0.6, self._shown.size - 0.4, padding=0)
        self._place_labels()
        if self._heights.size:
            self._fit(force=not self._ranged)
            self._ranged = True

    def _fit(self, force: bool) -> None:
        lo = min(0.0, float(self._heights.min()))
        hi = max(0.0, float(self._heights.max()))
        # Room beyond the longest bars for their value labels (outside the bars, never on them).
        lo, hi = self.labels.fit_range(lo, hi)
        force = force or not self.labels.have_room()  # a held axis, too tight for them
        kit.fit_axis(self._vb, 1, lo, hi, force=force, hold=self._frozen)

    def _refit(self, *_args: object) -> None:
        """A new height (a resize, a new scale): the labels' room in data units changed."""
        if self._heights.size:
            self._fit(force=True)

    def set_names(self, class_names: list[str]) -> None:
        self._names = list(class_names)
        self._axis.set_names([self._names[int(c)] for c in self._shown])

    def hold_axes(self, hold: bool) -> None:
        """While something animates, is dragged or stepped through, the y axis only grows (and
        shrinks only when the data use under a tenth of it); on release it fits again."""
        self._frozen = hold
        if not hold and self._heights.size:
            self._fit(force=True)

    def shown_classes(self) -> np.ndarray:
        """Class indices of the bars, left to right."""
        return self._shown.copy()

    def note_text(self) -> str | None:
        return self.note.toPlainText() if self.note.isVisible() else None

    def title(self) -> str:
        return self._title

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The class under x (view coordinates) with its exact gradient entry, or None."""
        if not math.isfinite(x):
            return None
        slot = math.floor(x + 0.5)
        if not 0 <= slot < self._shown.size:
            return None
        cls = int(self._shown[slot])
        text = f"{self._names[cls]}  (class {cls})\n∂loss/∂z = {fmt.precise(self._gradient[cls])}"
        if cls == self._true:
            text += "\ntrue class"
        return text

    def _bar_styles(self) -> tuple[list, list]:
        t = self._theme
        # Descent moves each logit against its gradient: positive bars are pushed down.
        positive, negative = pg.mkBrush(t.incorrect), pg.mkBrush(t.correct)
        hatched = QBrush(kit.qcolor(t.foreground), Qt.BrushStyle.BDiagPattern)
        plain = QPen(Qt.PenStyle.NoPen)
        pens, brushes = [], []
        for slot in range(self._shown.size):
            bad = bool(self._clamped[slot])
            if bad:
                brushes.append(hatched)
            else:
                brushes.append(positive if self._heights[slot] > 0 else negative)
            pens.append(kit.make_pen(t.foreground, 1) if bad else plain)
        return pens, brushes

    def _case(self) -> None:
        roles = ["true" if cls == self._true else None for cls in self._shown]
        x = np.arange(self._shown.size, dtype=np.float64)
        self.casing.set(self._theme, x.tolist(), np.asarray(self._heights).tolist(), 0.8, roles)

    def _update_title(self) -> None:
        n = self._gradient.size
        of = f" of {self._model}" if self._model else ""
        title = f"Gradient ∂loss/∂z{of} · sample {self._sample}"
        if self._shown.size < n:
            title += f" · top {self._shown.size} of {n:,} by |g|"
        if self._true is not None and self._true not in self._shown:
            title += f" · true #{self._true} not shown"
        self._title = title
        kit.set_title(self.getPlotItem(), self._theme, title)

    def _place_labels(self, *_args: object) -> None:
        rect = self._vb.boundingRect()
        self.note.setPos(rect.center())
        t = self._theme
        roles = {} if self._true is None else {self._true: ("true", t.text(t.true_class))}
        x = np.arange(self._shown.size, dtype=np.float64)
        self.labels.set(
            marks.bar_label_entries(
                x, self._heights, self._gradient[self._shown], self._shown, roles, self._clamped
            )
        )

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.getPlotItem(), theme, y_label="∂loss/∂z")
        kit.set_title(self.getPlotItem(), theme, self._title)
        self.zero_line.setPen(pg.mkPen(theme.foreground, width=1))
        self.labels.bar_colours = (theme.incorrect, theme.correct)  # as _bar_styles fills them
        self.labels.apply_theme(theme)
        kit.style_text(self.note, theme, 12)
        self.marks.apply_theme(theme)
        self.hover.apply_theme(theme)
        pens, brushes = self._bar_styles()
        kit.set_bars(self.bars, pens, brushes)
        self._case()
