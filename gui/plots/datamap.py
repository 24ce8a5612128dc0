"""The data map of a recorded run (Swayamdipta et al. 2020): one point per sample at (its
variability, its confidence) over the run's steps, shaded and shaped by how often it was
predicted right, with the three regions bounded and labelled. Hover names a sample, a click
selects it, and a lasso (or a box) drawn with the left button asks for its samples
(``sigShapeSelected``). The wheel zooms; right-drag scales the axes."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    from softmax_lab.core.cartography import DataMap

SHADE_NAMES = ("right at 0–20% of steps", "20–40%", "40–60%", "60–80%", "80–100%")
# Correct and wrong never differ by colour alone: the rarely right are crosses, the mostly right
# discs, with three shapes between.
SHADE_SYMBOLS = ("x", "t", "s", "d", "o")
SELECT_MODES = ("lasso", "box")
REGION_TEXT = {
    "easy-to-learn": "easy to learn",
    "ambiguous": "ambiguous",
    "hard-to-learn": "hard to learn",
}


def shade_colors(theme: Theme) -> list[str]:
    """Okabe-Ito, from the wrong colour through grey to the correct colour."""
    return [theme.incorrect, "#E69F00", "#999999", "#009E73", theme.correct]


class DataMapPlot(pg.PlotWidget):
    """``set_map`` places every sample; ``set_selected`` rings one."""

    sigSampleClicked = Signal(int)
    sigShapeSelected = Signal(object, str)  # (K, 2) vertices in data coordinates, mode

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        vb = kit.InteractiveViewBox()
        super().__init__(parent=parent, viewBox=vb)
        self._vb = vb
        kit.set_min_size(self)
        self._theme = theme
        self._map: DataMap | None = None
        self._xy = np.zeros((0, 2))
        self._index = np.zeros(0, dtype=np.int64)  # the samples on the map, in _xy order
        self._labels = np.zeros(0, dtype=np.int64)
        self._forgetting = np.zeros(0)
        self._names: list[str] = []
        self._selected = -1
        self._mode = "lasso"
        self._shape: list[QPointF] = []
        self._title = "Data map"
        self._ranged_key: object = None
        plot = self.getPlotItem()
        plot.hideButtons()
        vb.disableAutoRange()
        vb.setMenuEnabled(False)

        self.shades = [pg.ScatterPlotItem(pxMode=True, name=name) for name in SHADE_NAMES]
        for item in self.shades:
            plot.addItem(item)
            # A click on a point is the point's (the scatter takes it before the view box).
            item.sigClicked.connect(self._on_points_clicked)
        self.split_line = pg.InfiniteLine(angle=90, movable=False)
        self.confidence_line = pg.PlotDataItem()
        for item in (self.split_line, self.confidence_line):
            item.setZValue(-5)
            plot.addItem(item, ignoreBounds=True)
        self.region_labels = {name: pg.TextItem() for name in REGION_TEXT}
        for item in self.region_labels.values():
            item.setZValue(30)
            plot.addItem(item, ignoreBounds=True)
        self.selected_marker = pg.ScatterPlotItem(pxMode=True, symbol="o")
        self.selected_marker.setZValue(40)
        plot.addItem(self.selected_marker)
        self.shape_curve = pg.PlotDataItem()
        self.shape_curve.setZValue(50)
        plot.addItem(self.shape_curve, ignoreBounds=True)
        # Bottom right: under the arch of the points (variability can reach sqrt(c (1 - c))
        # only at middling confidence), where the map is usually empty.
        self.legend = pg.LegendItem(offset=(-10, -10))
        self.legend.setParentItem(plot.getViewBox())
        for item, name in zip(self.shades, SHADE_NAMES, strict=True):
            self.legend.addItem(item, name)
        self.empty_text = pg.TextItem(anchor=(0.5, 0.5))
        self.empty_text.setParentItem(vb)
        vb.sigResized.connect(self._place_empty_text)

        self.hover = kit.Hover(self, [(vb, self.hover_text_at)])
        vb.set_handlers(
            click=self._on_click,
            drag_start=self._on_drag_start,
            drag_move=self._on_drag_move,
            drag_finish=self._on_drag_finish,
        )
        vb.setRange(xRange=(0.0, 0.5), yRange=(0.0, 1.0), padding=0.04)
        self.set_theme(theme)
        self.set_empty("No run open")

    # --- data in ----------------------------------------------------------------------------

    def set_map(
        self,
        data_map: DataMap,
        forgetting: np.ndarray,
        labels: np.ndarray,
        class_names: list[str],
    ) -> None:
        """Place every sample of ``data_map`` (``core.cartography.data_map``); ``forgetting``
        (N,) and ``labels`` (N,) are for hover, with ``class_names``."""
        self._map = data_map
        self._index = np.flatnonzero(data_map.on_map)
        self._xy = np.column_stack(
            [data_map.variability[self._index], data_map.confidence[self._index]]
        )
        self._forgetting = np.asarray(forgetting, dtype=np.float64)
        self._labels = np.asarray(labels, dtype=np.int64)
        self._names = list(class_names)
        self.empty_text.hide()
        self._draw_points()
        self._draw_regions()
        self._draw_selected()
        n = data_map.n_samples
        title = (
            f"Data map · {self._index.size:,} of {n:,} samples · "
            f"{fmt.plural(data_map.n_steps, 'step')} · T = {fmt.short(data_map.temperature)}"
        )
        self._title = title
        kit.set_title(self.getPlotItem(), self._theme, title)
        self._fit_range()

    def set_empty(self, message: str) -> None:
        """No map to show (no run, no labels, still computing): say why."""
        self._map = None
        self._xy = np.zeros((0, 2))
        self._index = np.zeros(0, dtype=np.int64)
        for item in self.shades:
            item.setData(x=np.zeros(0), y=np.zeros(0))
        self.selected_marker.setData(x=np.zeros(0), y=np.zeros(0))
        for item in self.region_labels.values():
            item.hide()
        self.split_line.hide()
        self.confidence_line.setData(x=np.zeros(0), y=np.zeros(0))
        self.clear_shape()
        self.empty_text.setText(message)
        self.empty_text.show()
        self._place_empty_text()
        self._title = "Data map"
        kit.set_title(self.getPlotItem(), self._theme, self._title)

    def set_names(self, class_names: list[str]) -> None:
        self._names = list(class_names)

    def set_selected(self, sample: int) -> None:
        """Ring the selected sample; nothing else is redrawn."""
        self._selected = int(sample)
        self._draw_selected()

    def set_select_mode(self, mode: str) -> None:
        """What a left drag draws: "lasso" (a free shape) or "box"."""
        if mode not in SELECT_MODES:
            raise ValueError(f"select mode must be one of {SELECT_MODES}, not {mode!r}")
        self._mode = mode

    @property
    def select_mode(self) -> str:
        return self._mode

    def clear_shape(self) -> None:
        """Forget the last lasso or box (the table no longer shows its samples)."""
        self._shape = []
        self.shape_curve.setData(x=np.zeros(0), y=np.zeros(0))

    # --- reading (for tests) ----------------------------------------------------------------

    def title(self) -> str:
        return self._title

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(sample index, (K, 2) variability/confidence) of every point on the map."""
        return self._index, self._xy

    def region_texts(self) -> dict[str, str]:
        return {k: v.toPlainText() for k, v in self.region_labels.items() if v.isVisible()}

    def hover_text_at(self, x: float, y: float) -> str | None:
        i = self._nearest(x, y)
        m = self._map
        if i is None or m is None:
            return None
        sample = int(self._index[i])
        label = int(self._labels[sample]) if sample < self._labels.size else -1
        name = elide(self._names[label]) if 0 <= label < len(self._names) else str(label)
        right = round(m.correctness[sample] * m.n_steps)
        forgot = self._forgetting[sample] if sample < self._forgetting.size else math.nan
        forgot_text = "—" if math.isnan(forgot) else fmt.plural(int(forgot), "time")
        region = REGION_TEXT.get(str(m.regions[sample]), "")
        return (
            f"sample {sample} · label {name} · {region}\n"
            f"confidence {fmt.number(m.confidence[sample])} · "
            f"variability {fmt.number(m.variability[sample])}\n"
            f"right at {right} of {m.n_steps} steps · forgotten {forgot_text}"
        )

    # --- drawing ----------------------------------------------------------------------------

    def _draw_points(self) -> None:
        m, t = self._map, self._theme
        if m is None:
            return
        shade = m.shade[self._index]
        colors = shade_colors(t)
        many = self._index.size > 5000
        size = t.px(4 if many else 7)
        alpha = 140 if many else 200
        for k, item in enumerate(self.shades):
            rows = np.flatnonzero(shade == k)
            symbol = SHADE_SYMBOLS[k]
            hollow = symbol == "x"
            item.setData(
                x=self._xy[rows, 0],
                y=self._xy[rows, 1],
                symbol=symbol,
                size=size,
                pen=pg.mkPen(kit.qcolor(colors[k], alpha), width=t.px(1.5 if hollow else 0.6)),
                brush=pg.mkBrush(None) if hollow else pg.mkBrush(kit.qcolor(colors[k], alpha)),
                data=self._index[rows],
            )

    def _draw_regions(self) -> None:
        m = self._map
        if m is None:
            return
        split = m.variability_split
        top = float(np.nanmax(m.variability[self._index])) if self._index.size else 0.5
        edge = split if math.isfinite(split) else max(top, 1e-3) * 1.05
        self.split_line.setVisible(math.isfinite(split))
        if math.isfinite(split):
            self.split_line.setValue(split)
        self.confidence_line.setData(x=[0.0, edge], y=[m.confidence_split] * 2)
        # Along the boundaries, where points are sparse: easy to learn just above the confidence
        # line, hard to learn just under it (their clusters sit at the top and bottom corners).
        places = {
            "easy-to-learn": (0.0, m.confidence_split, (0.0, 1.0)),
            "hard-to-learn": (0.0, m.confidence_split, (0.0, 0.0)),
            "ambiguous": (edge, m.confidence_split, (0.0, 0.5)),
        }
        for name, item in self.region_labels.items():
            x, y, anchor = places[name]
            count = m.counts.get(name, 0)
            item.setText(f"{REGION_TEXT[name]} · {count:,}")
            item.setAnchor(anchor)
            item.setPos(x, y)
            item.setVisible(name != "ambiguous" or math.isfinite(split))

    def _draw_selected(self) -> None:
        m = self._map
        if m is None or not 0 <= self._selected < m.n_samples or not m.on_map[self._selected]:
            self.selected_marker.setData(x=np.zeros(0), y=np.zeros(0))
            return
        s = self._selected
        self.selected_marker.setData(x=[m.variability[s]], y=[m.confidence[s]], data=np.array([s]))

    def _fit_range(self) -> None:
        """x from 0 to the largest variability, y [0, 1]: refitted when the map outgrows it."""
        if not self._xy.size:
            return
        hi = float(np.nanmax(self._xy[:, 0]))
        hi = max(hi, 1e-3)
        key = self._map.n_samples if self._map is not None else None
        force = key != self._ranged_key
        self._ranged_key = key
        kit.fit_axis(self._vb, 0, 0.0, hi * 1.05, force=force)
        if force:
            self._vb.setYRange(0.0, 1.0, padding=0.04)

    def _place_empty_text(self) -> None:
        rect = self._vb.boundingRect()
        self.empty_text.setPos(rect.center())

    # --- mouse ------------------------------------------------------------------------------

    def _nearest(self, x: float, y: float) -> int | None:
        if self._xy.shape[0] == 0 or not (math.isfinite(x) and math.isfinite(y)):
            return None
        px_w, px_h = self._vb.viewPixelSize()
        if not (px_w > 0 and px_h > 0):
            px_w, px_h = 0.002, 0.004  # no geometry yet (never shown): a nominal pixel size
        dist = np.hypot((self._xy[:, 0] - x) / px_w, (self._xy[:, 1] - y) / px_h)
        i = int(np.nanargmin(dist))
        return i if dist[i] <= self._theme.px(8) else None

    def _on_click(self, pos: QPointF) -> bool:
        i = self._nearest(pos.x(), pos.y())
        if i is None:
            return False
        self.sigSampleClicked.emit(int(self._index[i]))
        return True

    def _on_points_clicked(self, _item: object, points: Sequence, _ev: object) -> None:
        if len(points):
            self.sigSampleClicked.emit(int(points[0].data()))

    def _on_drag_start(self, pos: QPointF) -> bool:
        if self._map is None:
            return False
        self._shape = [pos]
        self._draw_shape(pos)
        return True

    def _on_drag_move(self, pos: QPointF) -> None:
        if self._mode == "lasso":
            self._shape.append(pos)
        self._draw_shape(pos)

    def _on_drag_finish(self, pos: QPointF) -> None:
        if self._mode == "lasso":
            self._shape.append(pos)
        self._draw_shape(pos)
        vertices = self._vertices(pos)
        self.sigShapeSelected.emit(vertices, self._mode)

    def _vertices(self, pos: QPointF) -> np.ndarray:
        if self._mode == "box":
            a = self._shape[0]
            return np.array([[a.x(), a.y()], [pos.x(), pos.y()]])
        return np.array([[p.x(), p.y()] for p in self._shape])

    def _draw_shape(self, pos: QPointF) -> None:
        if not self._shape:
            return
        if self._mode == "box":
            a = self._shape[0]
            xs = [a.x(), pos.x(), pos.x(), a.x(), a.x()]
            ys = [a.y(), a.y(), pos.y(), pos.y(), a.y()]
        else:
            xs = [p.x() for p in self._shape] + [self._shape[0].x()]
            ys = [p.y() for p in self._shape] + [self._shape[0].y()]
        self.shape_curve.setData(x=xs, y=ys)

    # --- style ------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, marker sizes; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        plot = self.getPlotItem()
        kit.style_plot(plot, theme, x_label="variability (std of p(true))", y_label="confidence")
        plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        kit.set_title(plot, theme, self._title)
        dash = kit.make_pen(theme.foreground, theme.px(1.5), Qt.PenStyle.DashLine)
        self.split_line.setPen(dash)
        self.confidence_line.setPen(dash)
        for item in self.region_labels.values():
            kit.style_text(item, theme, 11)
        kit.style_text(self.empty_text, theme, 12)
        self.selected_marker.setPen(pg.mkPen(theme.selection, width=theme.px(3)))
        self.selected_marker.setBrush(pg.mkBrush(None))
        self.selected_marker.setSize(theme.px(18))
        self.shape_curve.setPen(kit.make_pen(theme.selection, theme.px(2), Qt.PenStyle.DashLine))
        self.legend.setLabelTextColor(theme.foreground)
        self.legend.setLabelTextSize(f"{theme.px(8)}pt")
        self.legend.setBrush(pg.mkBrush(kit.qcolor(theme.background, 215)))
        self.legend.setPen(pg.mkPen(kit.qcolor(theme.foreground, 80)))
        self.hover.apply_theme(theme)
        if self._map is not None:
            self._draw_points()
