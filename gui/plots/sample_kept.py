"""What a sampler could draw, drawn over the selected sample's probability bars (a live model).

A part of :class:`gui.plots.sample.SamplePlot` (it owns one): given the controller's
``SamplerMarks`` for the selected row (the kept set at the live T / top-k / top-p, its mass, the
token drawn there), the kept bars keep their colour and the dropped ones are greyed and hatched,
a dashed line marks the cut where the kept bars are the leftmost ones, a triangle under the axis
marks the token drawn, and a caption under the plot says how many tokens were kept and how much of
the probability they hold. It only draws: every number comes in ``SamplerMarks``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import Theme

if TYPE_CHECKING:
    from softmax_lab.core.models import SamplerMarks

LEGEND = "grey bars: dropped"
DRAWN_Y = -0.012
"""Where the drawn token's triangle sits: just under the probability axis' zero."""


class KeptMarks:
    """The kept set's marks on one probability plot (nothing shown while ``marks`` is None)."""

    def __init__(
        self, plot: pg.PlotItem, layout: pg.GraphicsLayout, cell: tuple[int, int], theme: Theme
    ) -> None:
        self._plot = plot
        self._layout = layout
        self._cell = cell
        self._theme = theme
        self.marks: SamplerMarks | None = None
        self.kept_slots = np.zeros(0, dtype=bool)
        """For each shown bar (left to right): kept by the sampler (all True without marks)."""
        self.cut = pg.InfiniteLine(
            angle=90, movable=False, label="cut", labelOpts={"position": 0.92}
        )
        self.drawn = pg.ScatterPlotItem(symbol="t1", pxMode=True)
        for item in (self.cut, self.drawn):
            plot.addItem(item, ignoreBounds=True)
            item.setZValue(20)
            item.hide()
        # Under the plot, in the layout only while there is something to say.
        self.caption = kit.WrappingLabel("", justify="center")
        self.caption.hide()
        self.caption_text = ""
        self.set_theme(theme)

    @property
    def active(self) -> bool:
        """A kept set that drops something (else the bars stay as they are)."""
        return self.marks is not None and not self.marks.all_kept

    def set_marks(self, marks: SamplerMarks | None) -> None:
        self.marks = marks

    def brushes(self, shown: np.ndarray, kept_brush: QBrush) -> list[QBrush]:
        """The probability bars' brushes: the kept ones ``kept_brush``, the dropped ones grey and
        hatched (so they read as dropped without colour too)."""
        marks = self.marks
        if marks is None or marks.kept.shape[0] <= (int(shown.max()) if shown.size else -1):
            self.kept_slots = np.ones(shown.size, dtype=bool)
            return [kept_brush] * shown.size
        self.kept_slots = np.asarray(marks.kept[shown], dtype=bool)
        if not self.active:
            return [kept_brush] * shown.size
        dropped = QBrush(kit.qcolor(self._theme.ignored), Qt.BrushStyle.Dense4Pattern)
        return [kept_brush if k else dropped for k in self.kept_slots]

    def place(self, shown: np.ndarray, x: np.ndarray) -> None:
        """Put the cut line, the drawn token's triangle and the caption where ``shown`` is drawn
        at ``x`` (call after ``brushes``)."""
        marks = self.marks
        if marks is None or len(self.kept_slots) != shown.size:
            for item in (self.cut, self.drawn):
                item.hide()
            self._show_caption("")
            return
        kept = self.kept_slots
        n = int(kept.sum())
        # The cut is a line only where the kept bars are the leftmost ones (bars ranked by p).
        prefix = 0 < n < shown.size and bool(kept[:n].all())
        self.cut.setVisible(self.active and prefix)
        if prefix:
            self.cut.setPos(float(x[n - 1] + x[n]) / 2)
        slot: np.ndarray = (
            np.flatnonzero(shown == marks.drawn) if marks.drawn is not None else np.zeros(0, int)
        )
        if len(slot):
            self.drawn.setData(x=[float(x[slot[0]])], y=[DRAWN_Y])
            self.drawn.show()
        else:
            self.drawn.hide()
        text = marks.caption
        if marks.drawn is not None:
            text += " ▲" if len(slot) else " (not among the bars)"
        self._show_caption(text + (f" · {LEGEND}" if self.active else ""))

    def _show_caption(self, text: str) -> None:
        self.caption_text = text
        label = self.caption
        shown = label.scene() is not None and label.isVisible()
        if text and not shown:
            # Under both plots, as the heading is over them: a cell of its own would make its
            # column as wide as the text and squeeze the logits' plot.
            self._layout.addItem(label, row=self._cell[0], col=self._cell[1], colspan=2)
            label.show()
        elif not text and shown:
            self._layout.removeItem(label)
            label.hide()
        if text:
            t = self._theme
            label.setText(
                html.escape(text).replace("\n", "<br>"), color=t.foreground, size=f"{t.px(9)}pt"
            )

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        pen = kit.make_pen(theme.foreground, 1.5, Qt.PenStyle.DashLine)
        self.cut.setPen(pen)
        self.cut.label.setColor(theme.foreground)
        self.cut.label.setFont(kit.scaled_font(theme, 9))
        self.drawn.setSize(theme.px(11))
        self.drawn.setBrush(pg.mkBrush(theme.foreground))
        self.drawn.setPen(pg.mkPen(theme.background, width=1))
        if self.caption_text:
            self._show_caption(self.caption_text)

    def hover_line(self, cls: int) -> str | None:
        """For the hover text: whether the sampler could draw ``cls`` (None without marks)."""
        marks = self.marks
        if marks is None or not 0 <= cls < marks.kept.shape[0]:
            return None
        line = "kept: the sampler could draw it" if marks.kept[cls] else "dropped by the sampler"
        return line + (" · drawn here" if cls == marks.drawn else "")
