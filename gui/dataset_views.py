"""Dataset-wide views of one evaluation: loss / confidence histograms, the confusion matrix, the
reliability diagram, a metrics summary, suspected label issues and temperature calibration.

Every number comes from :mod:`core.metrics` (one ``summarize`` call per evaluation); this module
only bins for display, picks what to show and formats. Plot items are created once and updated in
place, as in ``gui.plots``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QModelIndex, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.evaluation import Evaluation
from core.metrics import (
    LABEL_ISSUE_METHOD,
    MAX_CONFUSION_CLASSES,
    DatasetSummary,
    LabelIssue,
    PerClass,
    Reliability,
    TemperatureFit,
    most_confused_classes,
    row_normalized,
    summarize,
)
from gui.plots import HoverLabel, make_pen, qcolor, scaled_font
from gui.theme import LIGHT, Theme

__all__ = [
    "MAX_CONFUSION_SHOWN",
    "ConfusionView",
    "DatasetPanel",
    "HistogramView",
    "LabelIssuesView",
    "MetricsView",
    "ReliabilityView",
    "TemperatureView",
]

MAX_CONFUSION_SHOWN = 50  # above this many classes the matrix shows the most confused ones
MAX_CELL_TEXT = 15  # up to this many classes the confusion cells carry their numbers
N_WORST_CLASSES = 20
N_LABEL_ISSUES = 50
N_LOSS_BINS = 40
N_CONFIDENCE_BINS = 20
RELIABILITY_BINS = 15
_NAME_CHARS = 12  # class names longer than this are elided on axes (hover shows them in full)


# --------------------------------------------------------------------------------------------
# formatting and small shared pieces


def _number(value: float, digits: int = 4) -> str:
    """A metric for display: `digits` decimals, "—" when there is nothing to show (NaN)."""
    v = float(value)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def _percent(value: float) -> str:
    v = float(value)
    return "—" if not math.isfinite(v) else f"{100 * v:.1f}%"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _elide(name: str, limit: int = _NAME_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _style_plot(plot: pg.PlotItem, theme: Theme, x_label: str, y_label: str) -> None:
    """Colours, fonts and grid of one PlotItem, all scaled by the theme."""
    tick_font = scaled_font(theme, 11)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.foreground, width=1))
        axis.setTextPen(pg.mkPen(theme.foreground))
        axis.setTickFont(tick_font)
        # "(x0.001)" scale prefixes confuse more than they save.
        axis.setSIPrefixEnableRanges(())  # enableAutoSIPrefix(False) alone still rescales
        axis.enableAutoSIPrefix(False)
    style = {"color": theme.foreground, "font-size": f"{theme.px(9)}pt"}
    plot.setLabel("bottom", x_label, **style)
    plot.setLabel("left", y_label, **style)
    plot.showGrid(x=False, y=True, alpha=theme.grid_alpha)


def _set_title(plot: pg.PlotItem, theme: Theme, title: str) -> None:
    plot.setTitle(title, color=theme.foreground, size=f"{theme.px(10)}pt")
    # PlotItem hard-codes a 30 px title row; larger presentation scales need more.
    plot.layout.setRowFixedHeight(0, theme.px(26))
    plot.titleLabel.setMaximumHeight(theme.px(26))


class _ClickViewBox(pg.ViewBox):
    """A ViewBox that offers left clicks (in view coordinates) to its owner before its own menu."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.click_handler: Callable[[QPointF], bool] | None = None

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        if (
            ev.button() == Qt.MouseButton.LeftButton
            and self.click_handler is not None
            and self.click_handler(self.mapToView(ev.pos()))
        ):
            ev.accept()
            return
        super().mouseClickEvent(ev)


def _follow_mouse(
    scene: pg.GraphicsScene, targets: Sequence[tuple[pg.ViewBox, HoverLabel, Callable]]
) -> None:
    """Show hover text for whichever of `targets` (view box, label, text_at(x, y)) is under the
    mouse, and hide the others."""

    def moved(scene_pos: QPointF) -> None:
        for vb, label, text_at in targets:
            text = None
            if vb.sceneBoundingRect().contains(scene_pos):
                view = vb.mapSceneToView(scene_pos)
                text = text_at(view.x(), view.y())
            if text is None:
                label.hide()
            else:
                label.show_at(scene_pos, text)

    scene.sigMouseMoved.connect(moved)


class _CategoryAxis(pg.AxisItem):
    """An axis labelling integer positions with class names, thinning the labels so they never
    overlap (the stride adapts to zoom and widget size at every repaint)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.setStyle(hideOverlappingLabels=45)
        self._labels: list[str] = []
        self._widest = ""

    def set_labels(self, labels: list[str]) -> None:
        self._labels = labels
        self._widest = max(labels, key=len, default="")
        self.fit_width()
        self.picture = None
        self.update()

    def fit_width(self) -> None:
        """A vertical axis as wide as its widest label: pyqtgraph hides labels that do not fit."""
        if self.orientation in ("left", "right"):
            metrics = QFontMetricsF(self.style["tickFont"] or QFont())
            label_room = 2 * metrics.height()  # the rotated axis title
            self.setWidth(round(metrics.horizontalAdvance(self._widest or "0") + label_room + 8))

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        count = len(self._labels)
        lo_v, hi_v = sorted((minVal, maxVal))
        if count == 0 or size <= 0 or hi_v <= lo_v:
            return []
        lo, hi = max(0, math.ceil(lo_v)), min(count - 1, math.floor(hi_v))
        if hi < lo:
            return []
        metrics = QFontMetricsF(self.style["tickFont"] or QFont())
        if self.orientation in ("bottom", "top"):
            needed = metrics.horizontalAdvance(self._widest) + 10
        else:
            needed = metrics.height() + 2
        stride = max(1, math.ceil(needed / (size / (hi_v - lo_v))))
        return [(float(stride), list(range(lo + (-lo) % stride, hi + 1, stride)))]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        n = len(self._labels)
        return [self._labels[int(v)] if 0 <= int(v) < n else "" for v in values]


def _table(headers: list[str], stretch: Sequence[int] = ()) -> QTableWidget:
    """A read-only, row-selecting table with the given column headers; the `stretch` columns
    (names) take the spare width, the number columns fit their contents."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    for column in stretch:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    header.setStretchLastSection(False)
    return table


def _cell(text: str, *, number: bool = False, data: object = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


def _fill_table(table: QTableWidget, rows: list[list[QTableWidgetItem]]) -> None:
    table.setRowCount(len(rows))
    for r, items in enumerate(rows):
        for c, item in enumerate(items):
            table.setItem(r, c, item)


# --------------------------------------------------------------------------------------------
# 1. histograms


class HistogramView(pg.GraphicsLayoutWidget):
    """Per-sample loss and confidence histograms, correct vs wrong: filled curve vs outline."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._theme = theme
        self._titles = {"loss": "Per-sample loss", "confidence": "Confidence (max p)"}
        self._edges = {"loss": np.zeros(0), "confidence": np.zeros(0)}
        self._counts = {"loss": (np.zeros(0), np.zeros(0)), "confidence": (np.zeros(0),) * 2}
        self._overflow = math.nan  # the loss the last bin starts to hold everything above
        self.loss_plot = self.addPlot(row=0, col=0)
        self.confidence_plot = self.addPlot(row=0, col=1)
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
        self._hovers = {key: HoverLabel(plot.getViewBox()) for key, plot in self.plots.items()}
        _follow_mouse(
            self.scene(),
            [
                (self.loss_plot.getViewBox(), self._hovers["loss"], self.loss_hover_text_at),
                (
                    self.confidence_plot.getViewBox(),
                    self._hovers["confidence"],
                    self.confidence_hover_text_at,
                ),
            ],
        )
        self.set_theme(theme)

    def set_data(
        self, losses: np.ndarray, confidence: np.ndarray, correct: np.ndarray, shown: np.ndarray
    ) -> None:
        """Histogram the `shown` rows (valid and finite) of per-sample losses and confidences,
        split by `correct`."""
        losses = np.asarray(losses, dtype=np.float64)
        confidence = np.asarray(confidence, dtype=np.float64)
        right = shown & correct
        wrong = shown & ~correct
        hidden = int((~shown).sum())

        finite = losses[shown & np.isfinite(losses)]
        lo = min(0.0, float(finite.min())) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 1.0
        # A few huge losses would squash every other bar into the first one: above the 99.5th
        # percentile (when the maximum is far beyond it) everything piles into the last bin.
        self._overflow = math.nan
        if finite.size:
            q = float(np.quantile(finite, 0.995))
            if hi > 3 * q and q > lo:
                hi, self._overflow = q, q
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, N_LOSS_BINS + 1)
        self._set("loss", edges, np.clip(losses, lo, hi), right, wrong)
        self._set(
            "confidence", np.linspace(0.0, 1.0, N_CONFIDENCE_BINS + 1), confidence, right, wrong
        )
        suffix = f" · {hidden:,} ignored / non-finite not shown" if hidden else ""
        loss_title = "Per-sample loss"
        if not math.isnan(self._overflow):
            loss_title += f" · last bin holds ≥ {self._overflow:.3g}"
        self._titles = {"loss": loss_title + suffix, "confidence": "Confidence (max p)" + suffix}
        for key, plot in self.plots.items():
            _set_title(plot, self._theme, self._titles[key])

    def _set(
        self, key: str, edges: np.ndarray, values: np.ndarray, right: np.ndarray, wrong: np.ndarray
    ) -> None:
        n_right = np.histogram(values[right], bins=edges)[0].astype(np.float64)
        n_wrong = np.histogram(values[wrong], bins=edges)[0].astype(np.float64)
        self._edges[key] = edges
        self._counts[key] = (n_right, n_wrong)
        correct_curve, wrong_curve = self.curves[key]
        correct_curve.setData(x=edges, y=n_right)
        wrong_curve.setData(x=edges, y=n_wrong)
        legend = self.legends[key]
        legend.getLabel(correct_curve).setText(f"✓ correct (filled) · {int(right.sum()):,}")
        legend.getLabel(wrong_curve).setText(f"✗ wrong (outline) · {int(wrong.sum()):,}")
        self.plots[key].getViewBox().setXRange(edges[0], edges[-1], padding=0.02)
        self._fit_y(key)

    def _fit_y(self, key: str) -> None:
        """Leave room above the tallest bin for the legend, which sits inside the plot: the
        headroom is the legend's share of the view's height in pixels."""
        n_right, n_wrong = self._counts[key]
        top = max(1.0, float(n_right.max(initial=0)), float(n_wrong.max(initial=0)))
        vb = self.plots[key].getViewBox()
        legend = self.legends[key]
        legend.updateSize()
        legend_px = legend.boundingRect().height() + 24  # its 10 px offset and a gap below
        share = min(0.6, legend_px / max(1.0, vb.height()))
        # A sliver below 0, so the "0" tick label is not clipped at the axis end.
        vb.setYRange(-0.02 * top, top / (1.0 - share), padding=0.0)

    def counts(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edges, correct counts, wrong counts) of the "loss" or "confidence" histogram."""
        return (self._edges[key], *self._counts[key])

    def loss_hover_text_at(self, x: float, y: float) -> str | None:
        return self._hover_text("loss", x)

    def confidence_hover_text_at(self, x: float, y: float) -> str | None:
        return self._hover_text("confidence", x)

    def _hover_text(self, key: str, x: float) -> str | None:
        edges = self._edges[key]
        if edges.size < 2 or not math.isfinite(x) or not edges[0] <= x <= edges[-1]:
            return None
        b = min(int(np.searchsorted(edges, x, side="right")) - 1, edges.size - 2)
        right, wrong = self._counts[key]
        # numpy's bins are [lo, hi) except the last, [lo, hi]; an overflow bin reaches to ∞.
        last = b == edges.size - 2
        if last and key == "loss" and not math.isnan(self._overflow):
            span = f"[{edges[b]:.4g}, ∞)"
        else:
            span = f"[{edges[b]:.4g}, {edges[b + 1]:.4g}{']' if last else ')'}"
        return f"{key} {span}\n✓ correct: {int(right[b]):,}\n✗ wrong: {int(wrong[b]):,}"

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        labels = {"loss": "loss", "confidence": "confidence"}
        for key, plot in self.plots.items():
            _style_plot(plot, theme, labels[key], "samples")
            _set_title(plot, theme, self._titles[key])
            correct_curve, wrong_curve = self.curves[key]
            correct_curve.setPen(pg.mkPen(theme.correct, width=theme.px(1)))
            correct_curve.setBrush(pg.mkBrush(qcolor(theme.correct, 110)))
            wrong_curve.setPen(pg.mkPen(theme.incorrect, width=theme.px(2.5)))
            legend = self.legends[key]
            legend.setLabelTextColor(theme.foreground)
            legend.setLabelTextSize(f"{theme.px(9)}pt")
            legend.setBrush(pg.mkBrush(qcolor(theme.background, 200)))
            legend.setPen(pg.mkPen(qcolor(theme.foreground, 80)))
            for _sample, label in legend.items:
                label.setText(label.text, color=theme.foreground, size=f"{theme.px(9)}pt")
            self._hovers[key].apply_theme(theme)
            self._fit_y(key)


# --------------------------------------------------------------------------------------------
# 2. confusion matrix


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

        vb = _ClickViewBox()
        self._x_axis, self._y_axis = _CategoryAxis("bottom"), _CategoryAxis("left")
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
        # Numbers in the cells for small matrices: a fixed pool, created once, shown as needed.
        self.cell_texts = [pg.TextItem(anchor=(0.5, 0.5)) for _ in range(MAX_CELL_TEXT**2)]
        for text in self.cell_texts:
            text.setZValue(10)
            text.hide()
            item.addItem(text, ignoreBounds=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)

        self._hover = HoverLabel(vb)
        vb.click_handler = self._on_click
        _follow_mouse(self.plot.scene(), [(vb, self._hover, self.hover_text_at)])
        self.mode.currentIndexChanged.connect(self._redraw)
        self.errors_scale.toggled.connect(self._redraw)
        self.set_theme(theme)

    @property
    def normalized(self) -> bool:
        return self.mode.currentIndex() == 1

    def set_normalized(self, on: bool) -> None:
        self.mode.setCurrentIndex(1 if on else 0)

    def set_confusion(
        self,
        confusion: np.ndarray | None,
        shares: np.ndarray | None,
        classes: np.ndarray,
        class_names: list[str],
        n_classes: int,
    ) -> None:
        """Show the rows/columns `classes` of the (C, C) counts and their row-normalized shares
        (both from core); None when the matrix was too large to compute."""
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
        labels = [_elide(self._names[c]) for c in self._classes]
        self._x_axis.set_labels(labels)
        self._y_axis.set_labels(labels)
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
        _set_title(self.plot.getPlotItem(), self._theme, self._title)

    def _update_cell_texts(self, data: np.ndarray) -> None:
        k = data.shape[0]
        show = 0 < k <= MAX_CELL_TEXT
        lo, hi = self.image.getLevels() if show else (0.0, 1.0)
        span = (hi - lo) or 1.0
        cmap = pg.colormap.get(self._theme.heatmap)
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
            f"{count:,} ({_percent(self._shares[row, col])} of the row)"
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
        _style_plot(item, theme, "predicted class", "true class")
        item.showGrid(x=False, y=False)
        self._y_axis.fit_width()
        _set_title(item, theme, self._title)
        self.colorbar.setColorMap(pg.colormap.get(theme.heatmap))
        self.colorbar.axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTickFont(scaled_font(theme, 10))
        self.colorbar.axis.setSIPrefixEnableRanges(())
        self.colorbar.axis.enableAutoSIPrefix(False)
        for text in self.cell_texts:
            text.setFont(scaled_font(theme, 10))
        self._hover.apply_theme(theme)
        self._update_cell_texts(self.displayed().astype(np.float64))


# --------------------------------------------------------------------------------------------
# 3. reliability diagram


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
        self._hover = HoverLabel(self.plot.getViewBox())
        self._count_hover = HoverLabel(self.count_plot.getViewBox())
        _follow_mouse(
            self.scene(),
            [
                (self.plot.getViewBox(), self._hover, self.hover_text_at),
                (self.count_plot.getViewBox(), self._count_hover, self.hover_text_at),
            ],
        )
        self.set_theme(theme)

    def set_reliability(self, rel: Reliability) -> None:
        """Draw one bar per non-empty bin (an empty bin has no accuracy to show)."""
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
            f"Reliability · ECE = {_number(rel.ece)} · MCE = {_number(rel.mce)} · "
            f"N = {rel.n:,} · {rel.n_bins} bins"
        )
        _set_title(self.plot, self._theme, self._title)

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
        text = f"confidence ({edges[b]:.3g}, {edges[b + 1]:.3g}]"
        text += f" · {_plural(int(rel.bin_count[b]), 'sample')}"
        if rel.bin_count[b]:
            gap = rel.bin_confidence[b] - rel.bin_accuracy[b]
            kind = "over-confident" if gap > 0 else "under-confident"
            text += (
                f"\naccuracy = {_number(rel.bin_accuracy[b])}"
                f"\nmean confidence = {_number(rel.bin_confidence[b])}"
                f"\ngap = {_number(abs(gap))} ({kind})"
            )
        return text

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.background)
        _style_plot(self.plot, theme, "", "accuracy")
        _style_plot(self.count_plot, theme, "confidence (max p)", "samples")
        # Equal axis widths keep the two plots' x axes (linked) aligned pixel for pixel.
        for plot in (self.plot, self.count_plot):
            plot.getAxis("left").setWidth(theme.px(52))
        _set_title(self.plot, theme, self._title)
        self.bars.setOpts(
            brush=pg.mkBrush(qcolor(theme.correct, 190)), pen=pg.mkPen(theme.correct, width=1)
        )
        # Hatched as well as coloured, so the gap does not depend on telling colours apart.
        gap_brush = QBrush(qcolor(theme.incorrect, 220), Qt.BrushStyle.BDiagPattern)
        self.gap_bars.setOpts(brush=gap_brush, pen=pg.mkPen(theme.incorrect, width=theme.px(1)))
        self.count_bars.setOpts(brush=pg.mkBrush(qcolor(theme.ignored, 170)), pen=pg.mkPen(None))
        self.diagonal.setPen(make_pen(theme.foreground, theme.px(1.5), Qt.PenStyle.DashLine))
        self.legend.setLabelTextColor(theme.foreground)
        self.legend.setBrush(pg.mkBrush(qcolor(theme.background, 200)))
        self.legend.setPen(pg.mkPen(qcolor(theme.foreground, 80)))
        for _sample, label in self.legend.items:
            label.setText(label.text, color=theme.foreground, size=f"{theme.px(9)}pt")
        self._hover.apply_theme(theme)
        self._count_hover.apply_theme(theme)


# --------------------------------------------------------------------------------------------
# 4. metrics summary


class MetricsView(QWidget):
    """The headline numbers, and the classes the model gets most wrong."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary_label = QLabel("No evaluation yet.")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary_label.setWordWrap(True)
        self.worst_label = QLabel(f"The {N_WORST_CLASSES} classes with the lowest accuracy")
        self.worst_table = _table(
            ["class", "name", "samples", "accuracy", "mean loss", "precision"], stretch=[1]
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.worst_label)
        layout.addWidget(self.worst_table, 1)

    def set_summary(self, s: DatasetSummary, class_names: list[str], temperature: float) -> None:
        rel = s.reliability
        at_t = f" at temperature T = {temperature:.4g}" if temperature != 1.0 else ""
        if math.isfinite(s.mean_loss) or s.n_nonfinite == 0:
            loss = f"mean loss = {_number(s.mean_loss)}{at_t}"
        else:
            # torch's mean is NaN / inf as soon as one row is; say so, and give the finite mean.
            loss = (
                f"mean loss = {_number(s.mean_loss_finite)} over the finite rows{at_t} "
                f"(torch's mean over all rows: {'NaN' if math.isnan(s.mean_loss) else '∞'})"
            )
        lines = [
            f"N = {s.n_samples:,} samples · {s.n_valid:,} labelled · "
            f"{s.n_samples - s.n_valid:,} ignored · {s.n_nonfinite:,} non-finite",
            f"accuracy (top-1) = {_percent(s.accuracy)} · "
            + (
                f"top-{s.top_k} accuracy = {_percent(s.top_k_accuracy)}"
                if s.top_k
                else "top-5 accuracy: not computed live for a table this large"
            ),
            loss,
            f"ECE = {_number(rel.ece)} · MCE = {_number(rel.mce)} "
            f"({rel.n_bins} equal-width confidence bins, N = {rel.n:,})",
        ]
        if s.n_nonfinite:
            lines.append(
                f"{_plural(s.n_nonfinite, 'non-finite row')} (NaN or ±∞ logits or loss): wrong "
                "in the accuracies, left out of the calibration, the confusion matrix, the "
                "per-class table and the histograms."
            )
        self.summary_label.setText("\n".join(lines))
        self._fill_worst(s.per_class, class_names)

    def _fill_worst(self, pc: PerClass, names: list[str]) -> None:
        worst = pc.worst(N_WORST_CLASSES)
        rows = [
            [
                _cell(str(c), number=True, data=int(c)),
                _cell(names[c]),
                _cell(f"{int(pc.count[c]):,}", number=True),
                _cell(_percent(pc.accuracy[c]), number=True),
                _cell(_number(pc.mean_loss[c]), number=True),
                _cell(_percent(pc.precision[c]), number=True),
            ]
            for c in worst
        ]
        _fill_table(self.worst_table, rows)
        self.worst_label.setText(
            f"The {len(worst)} classes with the lowest accuracy (then the highest mean loss)"
        )

    def text(self) -> str:
        return self.summary_label.text()

    def worst_classes(self) -> list[int]:
        table = self.worst_table
        return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(table.rowCount())]


# --------------------------------------------------------------------------------------------
# 5. label issues


class LabelIssuesView(QWidget):
    """The samples whose given label the model finds least plausible; activating a row (double
    click or Enter) asks the window to show that sample."""

    sigSampleActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QLabel(f"Ranked by {LABEL_ISSUE_METHOD}. Double-click a row to open it.")
        self.method.setWordWrap(True)
        self.table = _table(
            ["sample", "given label", "predicted", "p(given)", "confidence"], stretch=[1, 2]
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.method)
        layout.addWidget(self.table, 1)
        self.table.activated.connect(self._on_activated)

    def set_issues(self, issues: list[LabelIssue], class_names: list[str]) -> None:
        rows = []
        for issue in issues:
            rows.append(
                [
                    _cell(str(issue.index), number=True, data=issue.index),
                    _cell(f"{class_names[issue.given]} ({issue.given})"),
                    _cell(f"{class_names[issue.predicted]} ({issue.predicted})"),
                    _cell(f"{issue.p_given:.4g}", number=True),
                    _cell(f"{issue.confidence:.4g}", number=True),
                ]
            )
        _fill_table(self.table, rows)

    def indices(self) -> list[int]:
        table = self.table
        return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(table.rowCount())]

    def _on_activated(self, index: QModelIndex) -> None:
        item = self.table.item(index.row(), 0)
        if item is not None:
            self.sigSampleActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))


# --------------------------------------------------------------------------------------------
# 6. temperature calibration


class TemperatureView(QWidget):
    """A button that asks for a temperature fit, and the fit's numbers before and after."""

    sigFitRequested = Signal()

    ROWS = ("temperature T", "mean NLL", "ECE")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = QLabel(
            "Temperature scaling (Guo et al. 2017) divides every logit by one T > 0 fitted to "
            "minimise the mean NLL of the labelled rows. It changes the confidences, never the "
            "predictions: T > 1 softens an over-confident model, T < 1 sharpens it."
        )
        intro.setWordWrap(True)
        self.fit_button = QPushButton("Fit temperature")
        self.fit_button.setEnabled(False)
        self.fit_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.status = QLabel("Load or evaluate a dataset, then fit.")
        self.status.setWordWrap(True)
        grid = QGridLayout()
        self.cells: dict[tuple[str, str], QLabel] = {}
        for col, head in enumerate(("", "before (T = 1)", "after")):
            label = QLabel(f"<b>{head}</b>")
            grid.addWidget(label, 0, col)
        for row, name in enumerate(self.ROWS, start=1):
            grid.addWidget(QLabel(name), row, 0)
            for col, when in enumerate(("before", "after"), start=1):
                cell = QLabel("—")
                cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(cell, row, col)
                self.cells[(name, when)] = cell
        grid.setColumnStretch(3, 1)
        grid.setHorizontalSpacing(24)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(intro)
        layout.addWidget(self.fit_button)
        layout.addLayout(grid)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.fit_button.clicked.connect(self.sigFitRequested)

    def set_ready(self, ready: bool) -> None:
        self.fit_button.setEnabled(ready)

    def set_running(self, running: bool) -> None:
        """While the window fits (off the GUI thread) the button is disabled."""
        self.fit_button.setEnabled(not running)
        self.fit_button.setText("Fitting…" if running else "Fit temperature")
        if running:
            self.status.setText("Fitting the temperature…")

    def show_fit(self, fit: TemperatureFit) -> None:
        values = {
            "temperature T": ("1", f"{fit.temperature:.4g}"),
            "mean NLL": (_number(fit.nll_before), _number(fit.nll_after)),
            "ECE": (_number(fit.ece_before), _number(fit.ece_after)),
        }
        for name, (before, after) in values.items():
            self.cells[(name, "before")].setText(before)
            self.cells[(name, "after")].setText(after)
        notes = [
            f"Fitted on {_plural(fit.n_used, 'labelled row')} in "
            f"{_plural(fit.iterations, 'pass', 'passes')} over the logits."
        ]
        if fit.excluded:
            notes.append(
                f"{_plural(fit.excluded, 'row')} with NaN / +∞ logits (or a −∞ label) left out."
            )
        if fit.at_bound:
            notes.append(
                "The optimum lies at the edge of the search range: the NLL keeps "
                "falling beyond it (nearly separable data)."
            )
        self.fit_button.setEnabled(True)
        self.fit_button.setText("Fit temperature")
        self.status.setText(" ".join(notes))

    def text(self) -> str:
        rows = [
            f"{name}: {self.cells[(name, 'before')].text()} → {self.cells[(name, 'after')].text()}"
            for name in self.ROWS
        ]
        return "\n".join([*rows, self.status.text()])


# --------------------------------------------------------------------------------------------
# the panel


class DatasetPanel(QWidget):
    """Tabs of dataset-wide views of one evaluation; :meth:`set_evaluation` recomputes the
    metrics (via ``core.metrics.summarize``) and updates every view in place."""

    sigConfusionCellClicked = Signal(int, int)  # true class, predicted class
    sigSampleActivated = Signal(int)
    sigFitTemperatureRequested = Signal()

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.summary: DatasetSummary | None = None
        self.confusion: np.ndarray | None = None
        self.confusion_normalized: np.ndarray | None = None
        self.reliability: Reliability | None = None
        self.per_class: PerClass | None = None
        self.label_issues: list[LabelIssue] = []
        self.ranking = np.zeros(0, dtype=np.int64)
        self.class_names: list[str] = []

        self.histograms = HistogramView(theme)
        self.confusion_view = ConfusionView(theme)
        self.reliability_view = ReliabilityView(theme)
        self.metrics_view = MetricsView()
        self.label_issues_view = LabelIssuesView()
        self.temperature_view = TemperatureView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for widget, name in (
            (self.histograms, "Histograms"),
            (self.confusion_view, "Confusion"),
            (self.reliability_view, "Reliability"),
            (self.metrics_view, "Metrics"),
            (self.label_issues_view, "Label issues"),
            (self.temperature_view, "Temperature"),
        ):
            self.tabs.addTab(widget, name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

        # The items tests and the window reach for, by their plain names.
        self.loss_hist_correct = self.histograms.loss_hist_correct
        self.loss_hist_wrong = self.histograms.loss_hist_wrong
        self.confidence_hist_correct = self.histograms.confidence_hist_correct
        self.confidence_hist_wrong = self.histograms.confidence_hist_wrong
        self.confusion_image = self.confusion_view.image
        self.confusion_mode = self.confusion_view.mode
        self.reliability_bars = self.reliability_view.bars
        self.reliability_gap_bars = self.reliability_view.gap_bars
        self.reliability_count_bars = self.reliability_view.count_bars
        self.label_issue_table = self.label_issues_view.table
        self.fit_button = self.temperature_view.fit_button

        self.confusion_view.sigCellClicked.connect(self.sigConfusionCellClicked)
        self.label_issues_view.sigSampleActivated.connect(self.sigSampleActivated)
        self.temperature_view.sigFitRequested.connect(self.sigFitTemperatureRequested)
        self.set_theme(theme)

    def set_evaluation(self, ev: Evaluation, class_names: list[str], top_k: int = 5) -> None:
        """Recompute every dataset metric of `ev` and show it. O(N) plus one streamed top-k
        pass over the logits (skipped with ``top_k=0``); nothing else touches the (N, C)
        table."""
        if len(class_names) != ev.n_classes:
            raise ValueError(f"{len(class_names)} class names for {ev.n_classes} classes")
        names = [str(name) for name in class_names]
        s = summarize(ev, n_bins=RELIABILITY_BINS, n_label_issues=N_LABEL_ISSUES, top_k=top_k)
        self.summary = s
        self.class_names = names
        self.confusion = s.confusion
        self.confusion_normalized = None if s.confusion is None else row_normalized(s.confusion)
        self.reliability = s.reliability
        self.per_class = s.per_class
        self.label_issues = s.label_issues
        self.ranking = s.ranking

        shown = ev.valid & ev.finite
        self.histograms.set_data(ev.losses, ev.confidence, ev.correct, shown)
        classes = (
            np.zeros(0, dtype=np.int64)
            if s.confusion is None
            else most_confused_classes(s.confusion, MAX_CONFUSION_SHOWN)
        )
        self.confusion_view.set_confusion(
            s.confusion, self.confusion_normalized, classes, names, ev.n_classes
        )
        self.reliability_view.set_reliability(s.reliability)
        self.metrics_view.set_summary(s, names, ev.options.temperature)
        self.label_issues_view.set_issues(s.label_issues, names)
        self.temperature_view.set_ready(s.n_valid > s.n_nonfinite and ev.target_kind == "index")

    def show_temperature_fit(self, fit: TemperatureFit) -> None:
        self.temperature_view.show_fit(fit)

    def set_fit_running(self, running: bool) -> None:
        self.temperature_view.set_running(running)

    def metrics_text(self) -> str:
        return self.metrics_view.text()

    def set_theme(self, theme: Theme) -> None:
        """Restyle every view in place (colours, fonts, scale); nothing is recomputed."""
        self._theme = theme
        for view in (self.histograms, self.confusion_view, self.reliability_view):
            view.set_theme(theme)
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (
            self.tabs,
            self.metrics_view,
            self.label_issues_view,
            self.temperature_view,
            self.confusion_view.mode,
            self.confusion_view.errors_scale,
            self.confusion_view.note,
        ):
            widget.setFont(font)
        for table in (self.label_issue_table, self.metrics_view.worst_table):
            table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))
