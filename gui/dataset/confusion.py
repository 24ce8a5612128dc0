"""The confusion matrix (rows = true, columns = predicted) as an image, in counts or row shares;
click a cell to list its samples."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import MAX_CONFUSION_CLASSES
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

MAX_CELL_TEXT = 15  # up to this many classes the cells carry their numbers


class ConfusionView(QWidget):
    """The confusion matrix (rows = true, columns = predicted) as an image, in counts or row
    proportions; above MAX_CONFUSION_SHOWN classes only the most confused classes are shown."""

    sigCellClicked = Signal(int, int)  # true class, predicted class

    MODES = ("counts", "row shares (of the true class)")

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._counts = np.zeros((0, 0), dtype=np.int64)  # shown sub-matrix
        self._shares = np.zeros((0, 0))  # shown sub-matrix of the full row-normalized matrix
        self._classes = np.zeros(0, dtype=np.int64)
        self._names: list[str] = []
        self._title = "Confusion matrix"

        self.mode = QComboBox()
        self.mode.addItems(list(self.MODES))
        self.errors_scale = QCheckBox("colour scale: errors only (diagonal saturates)")
        self.errors_scale.setChecked(True)
        self.errors_scale.setToolTip(
            "Scale the colours to the largest off-diagonal cell, so confusions stand out"
        )
        self.note = QLabel()
        self.note.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("show"))
        self.mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        controls.addWidget(self.mode)
        controls.addWidget(self.errors_scale)
        controls.addStretch(1)

        vb = kit.InteractiveViewBox()
        self._x_axis, self._y_axis = kit.CategoryAxis("bottom"), kit.CategoryAxis("left")
        self.plot = pg.PlotWidget(
            viewBox=vb, axisItems={"bottom": self._x_axis, "left": self._y_axis}
        )
        self._vb = vb
        item = self.plot.getPlotItem()
        item.hideButtons()
        vb.invertY(True)
        vb.setAspectLocked(False)
        vb.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0), interactive=False, colorMapMenu=False, width=14
        )
        self.colorbar.setImageItem(self.image, insert_in=item)
        # Numbers in the cells for small matrices: a pool (cell (r, c) at r * MAX_CELL_TEXT + c)
        # that grows to the largest matrix shown and is reused.
        self.cell_texts: list[pg.TextItem] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)

        self.hover = kit.Hover(self.plot, [(vb, self.hover_text_at)])
        vb.set_handlers(click=self._on_click)
        self.mode.currentIndexChanged.connect(self._redraw)
        self.errors_scale.toggled.connect(self._redraw)
        self.set_theme(theme)

    @property
    def normalized(self) -> bool:
        return self.mode.currentIndex() == 1

    def set_confusion(
        self,
        confusion: np.ndarray | None,
        shares: np.ndarray | None,
        classes: np.ndarray | None,
        class_names: list[str],
        n_classes: int,
        left_out: int = 0,
    ) -> None:
        """Show the rows/columns `classes` of the (C, C) counts and their row-normalized shares
        (both from core); None when the matrix was too large to compute. ``left_out``: labelled
        rows without a prediction (NaN or only −∞ logits), which the matrix cannot hold."""
        self._names = list(class_names)
        if confusion is None or shares is None:
            self._classes = np.zeros(0, dtype=np.int64)
            self._counts = np.zeros((0, 0), dtype=np.int64)
            self._shares = np.zeros((0, 0))
            self.note.setText(
                f"No confusion matrix for {n_classes:,} classes (the limit is "
                f"{MAX_CONFUSION_CLASSES:,}); see the per-class table under Metrics."
            )
        else:
            self._classes = np.asarray(classes, dtype=np.int64)
            index = np.ix_(self._classes, self._classes)
            self._counts = confusion[index]
            self._shares = shares[index]
            k = self._classes.size
            if k < n_classes:
                hidden = int(confusion.sum() - self._counts.sum())
                self.note.setText(
                    f"Showing the {k} classes involved in the most errors (as true or predicted "
                    f"class) of {n_classes:,}; {hidden:,} samples fall outside these rows and "
                    "columns. Row shares are of all samples of the true class. Click a cell to "
                    "list its samples."
                )
            else:
                self.note.setText("Click a cell to list its samples.")
            if left_out:
                self.note.setText(
                    f"{left_out:,} labelled samples without a prediction (NaN or only −∞ logits) "
                    "are left out. " + self.note.text()
                )
        labels = [self._names[c] for c in self._classes]
        self._x_axis.set_names(labels)
        self._y_axis.set_names(labels)
        k = self._classes.size
        if k:
            self._vb.setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0)
        self._redraw()

    def displayed(self) -> np.ndarray:
        """The matrix the image shows now: counts or row shares of the shown classes."""
        return self._shares if self.normalized else self._counts

    def shown_classes(self) -> np.ndarray:
        return self._classes

    def _redraw(self) -> None:
        data = self.displayed().astype(np.float64)
        k = data.shape[0]
        self.image.setVisible(k > 0)
        self.colorbar.setVisible(k > 0)
        if k:
            off = data[~np.eye(k, dtype=bool)]
            if self.errors_scale.isChecked() and off.size and off.max() > 0:
                top = float(off.max())
            else:
                top = float(data.max()) if data.max() > 0 else 1.0
            self.image.setImage(data, autoLevels=False, levels=(0.0, top))
            self.image.setRect(QRectF(-0.5, -0.5, k, k))
            self.colorbar.setLevels(values=(0.0, top))
        self._update_cell_texts(data)
        what = "row share" if self.normalized else "count"
        self._title = f"Confusion matrix · {k} × {k} · colour = {what}" if k else "Confusion matrix"
        kit.set_title(self.plot.getPlotItem(), self._theme, self._title)

    def _grow_cell_texts(self, n: int) -> None:
        item = self.plot.getPlotItem()
        while len(self.cell_texts) < n:
            text = pg.TextItem(anchor=(0.5, 0.5))
            text.setZValue(10)
            text.hide()
            text.setFont(kit.scaled_font(self._theme, 10))
            item.addItem(text, ignoreBounds=True)
            self.cell_texts.append(text)

    def _update_cell_texts(self, data: np.ndarray) -> None:
        k = data.shape[0]
        show = 0 < k <= MAX_CELL_TEXT
        lo, hi = self.image.getLevels() if show else (0.0, 1.0)
        span = (hi - lo) or 1.0
        cmap = pg.colormap.get(self._theme.heatmap)
        if show:
            self._grow_cell_texts((k - 1) * MAX_CELL_TEXT + k)
        for i, text in enumerate(self.cell_texts):
            row, col = divmod(i, MAX_CELL_TEXT)
            if not (show and row < k and col < k):
                text.hide()
                continue
            value = data[row, col]
            text.setText(f"{100 * value:.0f}%" if self.normalized else f"{int(value):,}")
            # Dark ink on light cells and light ink on dark ones, whatever the colour map.
            fill = cmap.map(min(1.0, max(0.0, (value - lo) / span)), mode="qcolor")
            r, g, b = fill.redF(), fill.greenF(), fill.blueF()
            text.setColor("#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#ffffff")
            text.setPos(col, row)
            text.show()

    def _cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        col, row = math.floor(x + 0.5), math.floor(y + 0.5)
        k = self._classes.size
        return (row, col) if 0 <= row < k and 0 <= col < k else None

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The cell under (x, y) in view coordinates: "true A → predicted B: count (row %)"."""
        cell = self._cell_at(x, y)
        if cell is None:
            return None
        row, col = cell
        true, pred = int(self._classes[row]), int(self._classes[col])
        count = int(self._counts[row, col])
        return (
            f"true {self._names[true]} → predicted {self._names[pred]}: "
            f"{count:,} ({fmt.percent(self._shares[row, col])} of the row)"
        )

    def _on_click(self, pos: QPointF) -> bool:
        cell = self._cell_at(pos.x(), pos.y())
        if cell is None:
            return False
        self.sigCellClicked.emit(int(self._classes[cell[0]]), int(self._classes[cell[1]]))
        return True

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.plot.setBackground(theme.background)
        item = self.plot.getPlotItem()
        kit.style_plot(item, theme, "predicted class", "true class")
        item.showGrid(x=False, y=False)
        kit.set_title(item, theme, self._title)
        self.colorbar.setColorMap(pg.colormap.get(theme.heatmap))
        self.colorbar.axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTickFont(kit.scaled_font(theme, 10))
        kit.no_si_prefix(self.colorbar.axis)
        for text in self.cell_texts:
            text.setFont(kit.scaled_font(theme, 10))
        self.hover.apply_theme(theme)
        self._update_cell_texts(self.displayed().astype(np.float64))
