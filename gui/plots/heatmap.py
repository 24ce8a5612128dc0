"""Samples (rows, downwards) x classes (columns) of probabilities on a fixed [0, 1] colour scale,
with each row's true class marked where rows are tall enough to see it, and the selected row
outlined."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import show_row_markers
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme


class ProbabilityHeatmap(pg.PlotWidget):
    """Click a cell to select its sample (``sigSampleClicked``)."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        vb = kit.InteractiveViewBox()
        x_axis, y_axis = kit.CategoryAxis("bottom"), kit.CategoryAxis("left")
        super().__init__(parent=parent, viewBox=vb, axisItems={"bottom": x_axis, "left": y_axis})
        self._vb, self._x_axis, self._y_axis = vb, x_axis, y_axis
        self._title = "Probabilities"
        kit.set_min_size(self)
        self._theme = theme
        self._values = np.zeros((0, 0))  # as given, for hover
        self._bad = np.zeros((0, 0), dtype=bool)
        self._rows = np.zeros(0, dtype=np.int64)
        self._targets = np.zeros(0, dtype=np.int64)
        self._valid = np.zeros(0, dtype=bool)
        self._names: list[str] = []
        self._columns: np.ndarray | None = None
        self._n_samples = 0
        self._selected = -1
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.invertY(True)
        self._vb.disableAutoRange()

        self.image = pg.ImageItem(axisOrder="row-major")
        # NaN / ±inf cells: drawn as 0 underneath, then painted in a distinct flat colour on top.
        self.nan_overlay = pg.ImageItem(axisOrder="row-major")
        self.nan_overlay.setZValue(1)
        self.true_markers = pg.ScatterPlotItem(pxMode=True, symbol="o")
        self.true_markers.setZValue(5)
        # The selected row's outline: a closed 5-point curve.
        self.selection_outline = pg.PlotDataItem()
        self.selection_outline.setZValue(6)
        self.selection_outline.hide()
        plot.addItem(self.image)
        plot.addItem(self.nan_overlay)
        plot.addItem(self.true_markers)
        plot.addItem(self.selection_outline, ignoreBounds=True)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0), interactive=False, colorMapMenu=False, width=14
        )
        self.colorbar.setImageItem(self.image, insert_in=plot)

        self.hover = kit.Hover(self, [(self._vb, self.hover_text_at)])
        self._vb.set_handlers(click=self._on_click)
        self._vb.sigResized.connect(self._update_markers)
        self.set_theme(theme)

    def pixel_rows(self) -> float:
        """The height of the image area in pixels: how many rows can be shown one per pixel."""
        return max(1.0, float(self._vb.height()) or float(self.height()) * 0.7)

    def set_probabilities(
        self,
        probabilities: np.ndarray,
        targets: np.ndarray,
        valid: np.ndarray,
        class_names: list[str],
        rows: np.ndarray | None = None,
        n_samples: int | None = None,
        columns: np.ndarray | None = None,
        n_classes: int | None = None,
    ) -> None:
        """Show the display matrix (R, C). ``rows`` (R,) maps display rows to sample indices when
        only some samples are shown (None = row r is sample r); ``targets``/``valid`` are per shown
        row, targets as display columns. ``columns`` (C,) likewise maps display columns to class
        indices when only some of ``n_classes`` classes are shown."""
        # float64, so that huge entries stay exact for hover instead of overflowing a float32 cast.
        values = np.array(probabilities, dtype=np.float64, ndmin=2)
        if values.ndim != 2:
            raise ValueError(f"probabilities must be 2-D, got shape {values.shape}")
        r, c = values.shape
        if len(class_names) != c:
            raise ValueError(f"{len(class_names)} class names for {c} columns")
        old_shape = self._values.shape
        self._values = values
        self._bad = ~np.isfinite(values)
        self._rows = np.arange(r, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        if self._rows.size != r:
            raise ValueError(f"rows has {self._rows.size} entries, expected {r}")
        self._n_samples = r if n_samples is None else int(n_samples)
        self._targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        self._valid = np.asarray(valid, dtype=bool).reshape(-1)
        if self._targets.size != r or self._valid.size != r:
            raise ValueError(f"targets and valid need {r} entries")
        self._names = list(class_names)
        self._columns = None if columns is None else np.asarray(columns, dtype=np.int64)

        if r and c:
            shown = np.clip(np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
            self.image.setImage(shown.astype(np.float32), autoLevels=False, levels=(0.0, 1.0))
            self.image.setRect(QRectF(-0.5, -0.5, c, r))
            self._draw_overlay()
            self.nan_overlay.setRect(QRectF(-0.5, -0.5, c, r))
        self.image.setVisible(bool(r and c))
        self.nan_overlay.setVisible(bool(r and c and self._bad.any()))
        self._update_markers()
        self._update_selection()

        self._x_axis.set_names(self._names)
        sample_of = self._rows
        widest_row = str(sample_of.max(initial=0))
        self._y_axis.set_categories(r, lambda i: str(int(sample_of[i])), widest_row)
        classes = fmt.plural(c, "class", "classes")
        if columns is not None:
            classes = f"{c:,} of {int(n_classes or c):,} classes in play"
        if rows is None:
            title = f"Probabilities · {fmt.plural(r, 'sample')} × {classes}"
        else:
            title = (
                f"Probabilities · {r:,} of {self._n_samples:,} samples (evenly spaced) × {classes}"
            )
        if self._bad.any():
            title += " · grey = NaN/∞"
        self._title = title
        kit.set_title(self.getPlotItem(), self._theme, title)
        if (r, c) != old_shape and r and c:
            self._vb.setRange(xRange=(-0.5, c - 0.5), yRange=(-0.5, r - 0.5), padding=0)

    def set_names(self, class_names: list[str]) -> None:
        """Every class's name (those of the shown columns are taken when only some show)."""
        if self._columns is not None and len(class_names) != len(self._columns):
            class_names = [class_names[i] for i in self._columns]
        self._names = list(class_names)
        self._x_axis.set_names(self._names)

    def set_selected(self, selected: int) -> None:
        self._selected = int(selected)
        self._update_selection()

    def title(self) -> str:
        return self._title

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The cell under (x, y) in view coordinates: sample, class and exact probability."""
        cell = self._cell_at(x, y)
        if cell is None:
            return None
        row, col = cell
        sample = int(self._rows[row])
        cls = col if self._columns is None else int(self._columns[col])
        text = f"sample {sample} · {self._names[col]} (class {cls})\n"
        text += f"p = {fmt.precise(self._values[row, col])}"
        if self._valid[row] and self._targets[row] == col:
            text += "\ntrue class"
        return text

    def _cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        col, row = math.floor(x + 0.5), math.floor(y + 0.5)
        r, c = self._values.shape
        return (row, col) if 0 <= row < r and 0 <= col < c else None

    def _on_click(self, pos: QPointF) -> bool:
        cell = self._cell_at(pos.x(), pos.y())
        if cell is None:
            return False
        self.sigSampleClicked.emit(int(self._rows[cell[0]]))
        return True

    def _update_markers(self) -> None:
        r, c = self._values.shape
        show = show_row_markers(r, self.pixel_rows())
        marked = self._valid & (self._targets >= 0) & (self._targets < c)
        rows_marked = np.flatnonzero(marked) if show else np.zeros(0, dtype=np.int64)
        self.true_markers.setData(
            x=self._targets[rows_marked].astype(np.float64),
            y=rows_marked.astype(np.float64),
            data=rows_marked,
        )
        self.true_markers.setVisible(bool(show and rows_marked.size))

    def _draw_overlay(self) -> None:
        r, c = self._bad.shape
        rgba = np.zeros((r, c, 4), dtype=np.uint8)
        if self._bad.any():
            color = kit.qcolor(self._theme.ignored)
            rgba[self._bad] = (color.red(), color.green(), color.blue(), 255)
        self.nan_overlay.setImage(rgba, autoLevels=False, levels=(0, 255))

    def _update_selection(self) -> None:
        hits = np.flatnonzero(self._rows == self._selected)
        r, c = self._values.shape
        if hits.size == 0 or c == 0:
            self.selection_outline.hide()
            return
        row = int(hits[0])
        left, right, top, bottom = -0.5, c - 0.5, row - 0.5, row + 0.5
        self.selection_outline.setData(
            x=[left, right, right, left, left], y=[top, top, bottom, bottom, top]
        )
        self.selection_outline.show()

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colour map, colours, fonts; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        plot = self.getPlotItem()
        kit.style_plot(plot, theme, x_label="class", y_label="sample")
        kit.set_title(plot, theme, self._title)
        plot.showGrid(x=False, y=False)
        self.colorbar.setColorMap(pg.colormap.get(theme.heatmap))
        for name in ("left", "right", "top", "bottom"):
            self.colorbar.getAxis(name).setPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTickFont(kit.scaled_font(theme, 10))
        kit.no_si_prefix(self.colorbar.axis)
        # Reserve the tick labels' width: a narrow plot would otherwise squeeze them out.
        ticks = QFontMetrics(kit.scaled_font(theme, 10)).horizontalAdvance("0.8")
        self.colorbar.axis.setWidth(ticks + theme.px(12))
        self.true_markers.setPen(pg.mkPen(theme.true_class, width=theme.px(2)))
        self.true_markers.setBrush(pg.mkBrush(255, 255, 255, 230))
        self.true_markers.setSize(theme.px(8))
        self.selection_outline.setPen(kit.make_pen(theme.selection, theme.px(3)))
        self.hover.apply_theme(theme)
        if self._bad.size:
            self._draw_overlay()
