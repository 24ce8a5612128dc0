"""One sample across a recorded run: its p(true) (left axis) and loss (right axis) at every step,
and its logits for the true class and its strongest rivals, with the step the table shows
marked in both. A click in either plot asks for that step (``sigStepClicked``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import elide
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.cartography import Trajectory

SYMBOL_LIMIT = 150
"""Above this many steps the lines carry no per-step ✓/✗ marks (they would be a smear)."""
RIVAL_COLORS = ("#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")


class TrajectoryPlot(pg.GraphicsLayoutWidget):
    """``set_trajectory`` draws a sample's steps; ``set_current_step`` moves the marks."""

    sigStepClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumSize(*kit.MIN_PLOT_SIZE)
        self._theme = theme
        self._traj: Trajectory | None = None
        self._names: list[str] = []
        self._current: int | None = None
        self._titles = ["p(true) and loss", "logits"]
        vb_p, vb_z = kit.InteractiveViewBox(), kit.InteractiveViewBox()
        self.p_plot = self.addPlot(row=0, col=0, viewBox=vb_p)
        self.z_plot = self.addPlot(row=0, col=1, viewBox=vb_z)
        self._vbs = (vb_p, vb_z)
        for plot in (self.p_plot, self.z_plot):
            plot.hideButtons()
            plot.getViewBox().disableAutoRange()
            plot.getViewBox().setMenuEnabled(False)

        # The loss on its own axis (right) in a second view box that follows the first's x.
        self.loss_vb = pg.ViewBox()
        self.p_plot.showAxis("right")
        self.p_plot.scene().addItem(self.loss_vb)
        self.p_plot.getAxis("right").linkToView(self.loss_vb)
        self.loss_vb.setXLink(self.p_plot)
        self.loss_vb.disableAutoRange()
        self.loss_vb.setMouseEnabled(x=False, y=False)
        vb_p.sigResized.connect(self._align_loss_box)

        self.p_line = pg.PlotDataItem(name="p(true)")
        self.p_marks = pg.ScatterPlotItem(pxMode=True)
        self.loss_line = pg.PlotDataItem(name="loss")
        self.p_plot.addItem(self.p_line)
        self.p_plot.addItem(self.p_marks)
        # A click on a mark is the mark's (the scatter takes it before the view box).
        self.p_marks.sigClicked.connect(
            lambda _item, points, _ev: self._on_click(points[0].pos()) if len(points) else None
        )
        self.loss_vb.addItem(self.loss_line)
        self.half_line = pg.InfiniteLine(angle=0, movable=False, pos=0.5)
        self.half_line.setZValue(-10)
        self.p_plot.addItem(self.half_line, ignoreBounds=True)

        self.z_lines = [pg.PlotDataItem() for _ in range(5)]
        for line in self.z_lines:
            self.z_plot.addItem(line)
        # One row of names along the top, in headroom the y range leaves for it.
        self.z_legend = pg.LegendItem(offset=(6, 2), colCount=len(self.z_lines))
        self.z_legend.setParentItem(vb_z)

        self.step_lines = [pg.InfiniteLine(angle=90, movable=False) for _ in range(2)]
        for plot, line in zip((self.p_plot, self.z_plot), self.step_lines, strict=True):
            line.setZValue(20)
            plot.addItem(line, ignoreBounds=True)
        self.empty_text = pg.TextItem(anchor=(0.5, 0.5))
        self.empty_text.setParentItem(vb_p)
        vb_p.sigResized.connect(self._place_empty_text)

        self.hover = kit.Hover(self, [(vb_p, self.hover_text_at), (vb_z, self.hover_text_at)])
        for vb in self._vbs:
            vb.set_handlers(click=self._on_click)
        self.set_theme(theme)
        self.set_trajectory(None, [])

    # --- data in ----------------------------------------------------------------------------

    def set_trajectory(self, trajectory: Trajectory | None, class_names: list[str]) -> None:
        """Draw ``trajectory`` (``core.cartography.sample_trajectory``), or say there is none."""
        self._traj = trajectory
        self._names = list(class_names)
        t = trajectory
        if t is None or t.n_steps == 0:
            for item in (self.p_line, self.loss_line, *self.z_lines):
                item.setData(x=np.zeros(0), y=np.zeros(0))
            self.p_marks.setData(x=np.zeros(0), y=np.zeros(0))
            self.z_legend.clear()
            self.empty_text.setText("Select a sample of a run to follow it across steps")
            self.empty_text.show()
            self._set_titles("p(true) and loss", "logits")
            self._draw_current()
            return
        self.empty_text.hide()
        x = t.steps.astype(np.float64)
        self.p_line.setData(x=x, y=np.nan_to_num(t.p_true, nan=np.nan), connect="finite")
        loss = np.where(np.isfinite(t.loss), t.loss, np.nan)
        self.loss_line.setData(x=x, y=loss, connect="finite")
        self._draw_marks()
        self.z_legend.clear()
        shown = min(len(t.classes), len(self.z_lines))
        for k, line in enumerate(self.z_lines):
            if k < shown:
                z = t.logits[:, k]
                line.setData(x=x, y=np.where(np.isfinite(z), z, np.nan), connect="finite")
                cls = int(t.classes[k])
                name = elide(self._names[cls]) if cls < len(self._names) else str(cls)
                is_true = cls == t.label
                self.z_legend.addItem(line, f"{name} (label)" if is_true else name)
            else:
                line.setData(x=np.zeros(0), y=np.zeros(0))
        self._style_lines()
        labelled = 0 <= t.label < len(self._names)  # its name is in the legend beside
        self._set_titles(
            f"Sample {t.sample} · {'p(true), loss' if labelled else 'no label'}",
            f"Sample {t.sample} · logits",
        )
        self._fit(x, loss, t.logits[:, :shown])
        self._draw_current()

    def set_current_step(self, step: int | None) -> None:
        """Mark the step the table shows (None: hide the marks)."""
        self._current = None if step is None else int(step)
        self._draw_current()

    # --- reading (for tests) ----------------------------------------------------------------

    def titles(self) -> list[str]:
        return list(self._titles)

    def current_step(self) -> int | None:
        return self._current if self.step_lines[0].isVisible() else None

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.z_legend.items]

    def hover_text_at(self, x: float, _y: float) -> str | None:
        i = self._index_at(x)
        t = self._traj
        if i is None or t is None:
            return None
        cls = int(t.predicted[i])
        predicted = elide(self._names[cls]) if cls < len(self._names) else str(cls)
        if t.label < 0:
            state = "ignored"
        else:
            state = "✓ correct" if t.correct[i] else "✗ wrong"
        return (
            f"step {fmt.count(t.steps[i])} · {state} · predicted {predicted}\n"
            f"p(true) = {fmt.precise(t.p_true[i])} · loss = {fmt.precise(t.loss[i])}"
        )

    # --- drawing ----------------------------------------------------------------------------

    def _draw_marks(self) -> None:
        t, th = self._traj, self._theme
        if t is None or t.n_steps > SYMBOL_LIMIT or t.label < 0:
            self.p_marks.setData(x=np.zeros(0), y=np.zeros(0))
            return
        ok = np.isfinite(t.p_true)
        codes = np.where(t.correct, 0, 1)[ok]
        pens = [pg.mkPen(th.correct, width=th.px(1.5)), pg.mkPen(th.incorrect, width=th.px(2))]
        brushes = [pg.mkBrush(th.correct), pg.mkBrush(None)]
        self.p_marks.setData(
            x=t.steps[ok].astype(np.float64),
            y=t.p_true[ok],
            symbol=np.array(["o", "x"])[codes],
            size=th.px(8),
            pen=[pens[c] for c in codes],
            brush=[brushes[c] for c in codes],
        )

    def _draw_current(self) -> None:
        t = self._traj
        visible = t is not None and self._current is not None and t.n_steps > 0
        for line in self.step_lines:
            line.setVisible(visible)
            if visible:
                line.setValue(self._current)

    def _fit(self, x: np.ndarray, loss: np.ndarray, logits: np.ndarray) -> None:
        lo, hi = float(x.min()), float(x.max())
        if hi - lo < 1:
            lo, hi = lo - 0.5, hi + 0.5
        for plot in (self.p_plot, self.z_plot):
            plot.getViewBox().setXRange(lo, hi, padding=0.03)
        self.p_plot.getViewBox().setYRange(0.0, 1.0, padding=0.04)
        finite = loss[np.isfinite(loss)]
        top = float(finite.max()) if finite.size else 1.0
        self.loss_vb.setYRange(0.0, max(top, 1e-3) * 1.08, padding=0.0)
        values = logits[np.isfinite(logits)]
        if values.size:
            lo, hi = float(values.min()), float(values.max())
            span = max(hi - lo, 1e-6)
            # Headroom above the lines for the legend's row of class names.
            self.z_plot.getViewBox().setYRange(lo - 0.05 * span, hi + 0.45 * span, padding=0.0)

    def _style_lines(self) -> None:
        th, t = self._theme, self._traj
        self.p_line.setPen(pg.mkPen(th.probability, width=th.px(2)))
        self.loss_line.setPen(kit.make_pen(th.foreground, th.px(1.5), Qt.PenStyle.DashLine))
        for k, line in enumerate(self.z_lines):
            is_true = t is not None and k < len(t.classes) and int(t.classes[k]) == t.label
            color = th.true_class if is_true else RIVAL_COLORS[k % len(RIVAL_COLORS)]
            style = Qt.PenStyle.SolidLine if is_true else Qt.PenStyle.DashLine
            line.setPen(kit.make_pen(color, th.px(3 if is_true else 2), style))

    def _set_titles(self, p_title: str, z_title: str) -> None:
        self._titles = [p_title, z_title]
        kit.set_title(self.p_plot, self._theme, p_title)
        kit.set_title(self.z_plot, self._theme, z_title)

    def _align_loss_box(self) -> None:
        self.loss_vb.setGeometry(self.p_plot.getViewBox().sceneBoundingRect())
        self.loss_vb.linkedViewChanged(self.p_plot.getViewBox(), self.loss_vb.XAxis)

    def _place_empty_text(self) -> None:
        self.empty_text.setPos(self._vbs[0].boundingRect().center())

    # --- mouse ------------------------------------------------------------------------------

    def _index_at(self, x: float) -> int | None:
        t = self._traj
        if t is None or t.n_steps == 0 or not math.isfinite(x):
            return None
        i = int(np.argmin(np.abs(t.steps - x)))
        width = self._vbs[0].viewPixelSize()[0] or 1.0
        span = max(float(t.steps[-1] - t.steps[0]), 1.0) / max(t.n_steps - 1, 1)
        return i if abs(t.steps[i] - x) <= max(span / 2, width * 6) else None

    def _on_click(self, pos: QPointF) -> bool:
        i = self._index_at(pos.x())
        if i is None or self._traj is None:
            return False
        self.sigStepClicked.emit(int(self._traj.steps[i]))
        return True

    # --- style ------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.p_plot, theme, x_label="step")
        kit.style_plot(self.z_plot, theme, x_label="step", y_label="logit")
        size = {"font-size": f"{theme.px(9)}pt"}
        # The axis titles take their line's colour: no legend needed over the lines.
        self.p_plot.setLabel("left", "p(true)", color=theme.probability, **size)
        self.p_plot.setLabel("right", "loss (dashed)", color=theme.foreground, **size)
        for plot, title in zip((self.p_plot, self.z_plot), self._titles, strict=True):
            kit.set_title(plot, theme, title)
        self.half_line.setPen(
            kit.make_pen(kit.qcolor(theme.foreground, 90), theme.px(1), Qt.PenStyle.DotLine)
        )
        for line in self.step_lines:
            line.setPen(kit.make_pen(theme.selection, theme.px(2.5)))
        for legend in (self.z_legend,):
            legend.setLabelTextColor(theme.foreground)
            legend.setLabelTextSize(f"{theme.px(8)}pt")
            legend.setBrush(pg.mkBrush(kit.qcolor(theme.background, 215)))
            legend.setPen(pg.mkPen(kit.qcolor(theme.foreground, 80)))
        kit.style_text(self.empty_text, theme, 12)
        self.hover.apply_theme(theme)
        self._style_lines()
        self._draw_marks()
