"""Model A against model B over the dataset: the 2 x 2 agreement matrix (click a cell to list its
samples), both reliability curves on one diagram with both ECEs, both loss histograms on shared
bins, and each class's accuracy under both models with the difference. Every number comes from
``core.compare.compare_dataset``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import elide
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.dataset.histograms import CountAxis
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.compare import ComparisonDataset

CELLS = {
    (False, False): ("both wrong", "A wrong, B wrong"),
    (False, True): ("fixed", "A wrong, B right"),
    (True, False): ("broken", "A right, B wrong"),
    (True, True): ("both right", "A right, B right"),
}
"""(A right, B right) -> (name, what it means)."""


class AgreementMatrix(QWidget):
    """Four buttons, rows A wrong / right and columns B wrong / right, each with its count and
    share; a click asks for that cell's samples (``sigCellClicked(a_right, b_right)``)."""

    sigCellClicked = Signal(bool, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Agreement")
        self.title.setWordWrap(True)
        grid = QGridLayout()
        grid.setSpacing(4)
        self.column_heads = [QLabel(), QLabel()]
        self.row_heads = [QLabel(), QLabel()]
        for i, label in enumerate(self.column_heads):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(label, 0, i + 1)
        for i, label in enumerate(self.row_heads):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, i + 1, 0)
        self.cells: dict[tuple[bool, bool], QPushButton] = {}
        for (a_right, b_right), (name, meaning) in CELLS.items():
            button = QPushButton()
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setMinimumHeight(56)
            button.setToolTip(f"{name}: {meaning}. Click to list these samples in the table.")
            button.clicked.connect(
                lambda _=False, a=a_right, b=b_right: self.sigCellClicked.emit(a, b)
            )
            grid.addWidget(button, int(a_right) + 1, int(b_right) + 1)
            self.cells[(a_right, b_right)] = button
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        self.note = QLabel("Click a cell to list its samples, the largest Δloss first.")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addLayout(grid, 1)
        layout.addWidget(self.note)
        self._counts = np.zeros((2, 2), dtype=np.int64)
        self.set_names(("A", "B"))

    def set_names(self, names: tuple[str, str]) -> None:
        a, b = (elide(n) for n in names)
        self.column_heads[0].setText(f"B ({b}) wrong")
        self.column_heads[1].setText(f"B ({b}) right")
        self.row_heads[0].setText(f"A ({a})\nwrong")
        self.row_heads[1].setText(f"A ({a})\nright")

    def set_counts(self, counts: np.ndarray) -> None:
        self._counts = np.asarray(counts, dtype=np.int64)
        total = int(self._counts.sum())
        for (a_right, b_right), button in self.cells.items():
            n = int(self._counts[int(a_right), int(b_right)])
            share = fmt.percent(n / total) if total else fmt.MISSING
            name = CELLS[(a_right, b_right)][0]
            button.setText(f"{name}\n{n:,}  ({share})")
            button.setEnabled(n > 0)
        self.title.setText(
            f"Agreement over {fmt.plural(total, 'labelled sample')}: "
            f"{int(self._counts[0, 1]):,} fixed, {int(self._counts[1, 0]):,} broken"
        )

    def counts(self) -> np.ndarray:
        return self._counts.copy()

    def cell_text(self, a_right: bool, b_right: bool) -> str:
        return self.cells[(a_right, b_right)].text()

    def set_theme(self, theme: Theme) -> None:
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.title, self.note, *self.column_heads, *self.row_heads):
            widget.setFont(font)
        big = self.font()
        big.setPointSizeF(12 * theme.scale)
        tints = {
            (False, True): theme.correct,
            (True, False): theme.incorrect,
            (False, False): theme.ignored,
            (True, True): theme.ignored,
        }
        for key, button in self.cells.items():
            button.setFont(big)
            colour = kit.qcolor(tints[key], 60)
            border = kit.qcolor(tints[key], 200)
            width = theme.px(3) if key in ((False, True), (True, False)) else theme.px(1)
            button.setStyleSheet(
                f"QPushButton {{ background: rgba({colour.red()}, {colour.green()}, "
                f"{colour.blue()}, {colour.alpha()}); border: {width}px solid "
                f"{border.name()}; color: {theme.foreground}; padding: 4px; }}"
                "QPushButton:disabled { color: gray; }"
            )


class ComparePlots(pg.GraphicsLayoutWidget):
    """Both reliability curves on one diagram, and both loss histograms on shared bins."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._theme = theme
        self._data: ComparisonDataset | None = None
        self._names = ("A", "B")
        self._titles = {"reliability": "Reliability", "loss": "Per-sample loss"}
        self.reliability_plot = self.addPlot(row=0, col=0)
        self.loss_plot = self.addPlot(row=1, col=0, axisItems={"left": CountAxis("left")})
        kit.set_min_size(self)
        # Long titles must not widen the window: the page's layout decides the width.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        for plot in (self.reliability_plot, self.loss_plot):
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
        # Bottom right: a reliability curve rarely passes there (accuracy far below confidence).
        self.reliability_legend = self.reliability_plot.addLegend(offset=(-10, -10))
        self.diagonal = pg.PlotDataItem([0.0, 1.0], [0.0, 1.0], name="perfect calibration")
        self.reliability_plot.addItem(self.diagonal)
        self.reliability_a = pg.PlotDataItem(name="A", connect="finite", symbol="o")
        self.reliability_b = pg.PlotDataItem(name="B", connect="finite", symbol="s")
        self.loss_legend = self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_a = pg.PlotDataItem(stepMode="center", fillLevel=0.0, name="A")
        self.loss_b = pg.PlotDataItem(stepMode="center", name="B")
        self.loss_b.setZValue(5)
        for item in (self.reliability_a, self.reliability_b):
            self.reliability_plot.addItem(item)
        for item in (self.loss_a, self.loss_b):
            self.loss_plot.addItem(item)
        self.reliability_plot.getViewBox().setRange(
            xRange=(-0.02, 1.02), yRange=(-0.03, 1.05), padding=0
        )
        self.hover = kit.Hover(
            self,
            [
                (self.reliability_plot.getViewBox(), self.reliability_hover_text_at),
                (self.loss_plot.getViewBox(), self.loss_hover_text_at),
            ],
        )
        self.set_theme(theme)

    def set_data(self, data: ComparisonDataset, names: tuple[str, str]) -> None:
        self._data, self._names = data, names
        a, b = (elide(n) for n in names)
        ra, rb = data.reliability_a, data.reliability_b
        centres = 0.5 * (ra.bin_edges[:-1] + ra.bin_edges[1:])
        for curve, accuracy in (
            (self.reliability_a, ra.bin_accuracy),
            (self.reliability_b, rb.bin_accuracy),
        ):
            # Empty bins are NaN (the line breaks there); with no filled bin at all (no scored
            # row) there is nothing to draw, and pyqtgraph would warn on an all-NaN bound.
            if np.isfinite(accuracy).any():
                curve.setData(x=centres, y=accuracy)
            else:
                curve.setData(x=[], y=[])
        self.reliability_legend.getLabel(self.reliability_a).setText(
            f"A {a}: ECE {fmt.metric(ra.ece)}"
        )
        self.reliability_legend.getLabel(self.reliability_b).setText(
            f"B {b}: ECE {fmt.metric(rb.ece)}"
        )
        self._titles["reliability"] = (
            f"Reliability · ECE A {fmt.metric(ra.ece)} · B {fmt.metric(rb.ece)}"
        )
        h = data.loss
        self.loss_a.setData(x=h.edges, y=h.a.astype(np.float64))
        self.loss_b.setData(x=h.edges, y=h.b.astype(np.float64))
        self.loss_legend.getLabel(self.loss_a).setText(f"A {a} (filled) · {h.n_a:,}")
        self.loss_legend.getLabel(self.loss_b).setText(f"B {b} (outline) · {h.n_b:,}")
        s = data.summary
        self._titles["loss"] = (
            f"Per-sample loss · mean A {fmt.metric(s['mean_loss_a'])} · "
            f"B {fmt.metric(s['mean_loss_b'])}"
        )
        top = max(1.0, float(h.a.max(initial=0)), float(h.b.max(initial=0)))
        self.loss_plot.getViewBox().setRange(
            xRange=(float(h.edges[0]), float(h.edges[-1])), yRange=(-0.02 * top, 1.35 * top)
        )
        self._apply_titles()

    def titles(self) -> dict[str, str]:
        return dict(self._titles)

    def reliability_hover_text_at(self, x: float, y: float) -> str | None:
        data = self._data
        if data is None or not math.isfinite(x) or not 0.0 <= x <= 1.0:
            return None
        ra, rb = data.reliability_a, data.reliability_b
        edges = ra.bin_edges
        i = min(max(int(np.searchsorted(edges, x, side="left")) - 1, 0), ra.n_bins - 1)
        lines = [f"confidence ({fmt.short(edges[i], 3)}, {fmt.short(edges[i + 1], 3)}]"]
        for tag, rel in (("A", ra), ("B", rb)):
            n = int(rel.bin_count[i])
            if n:
                lines.append(
                    f"{tag}: accuracy {fmt.metric(rel.bin_accuracy[i])}, mean confidence "
                    f"{fmt.metric(rel.bin_confidence[i])} · {fmt.plural(n, 'sample')}"
                )
            else:
                lines.append(f"{tag}: no samples")
        return "\n".join(lines)

    def loss_hover_text_at(self, x: float, y: float) -> str | None:
        data = self._data
        if data is None or not math.isfinite(x):
            return None
        edges = data.loss.edges
        if not edges[0] <= x <= edges[-1]:
            return None
        i = min(int(np.searchsorted(edges, x, side="right")) - 1, edges.size - 2)
        last = i == edges.size - 2 and not math.isnan(data.loss.overflow)
        hi = "∞)" if last else f"{fmt.short(edges[i + 1])})"
        return (
            f"loss [{fmt.short(edges[i])}, {hi}\nA: {int(data.loss.a[i]):,}\n"
            f"B: {int(data.loss.b[i]):,}"
        )

    def _apply_titles(self) -> None:
        kit.set_title(self.reliability_plot, self._theme, self._titles["reliability"])
        kit.set_title(self.loss_plot, self._theme, self._titles["loss"])

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.reliability_plot, theme, "confidence (max p)", "accuracy")
        kit.style_plot(self.loss_plot, theme, "loss", "samples")
        self._apply_titles()
        self.diagonal.setPen(kit.make_pen(theme.foreground, theme.px(1.5), Qt.PenStyle.DashLine))
        size = theme.px(8)
        self.reliability_a.setPen(kit.make_pen(theme.probability, theme.px(2)))
        self.reliability_a.setSymbolBrush(pg.mkBrush(theme.probability))
        self.reliability_a.setSymbolPen(pg.mkPen(theme.probability))
        self.reliability_a.setSymbolSize(size)
        self.reliability_b.setPen(kit.make_pen(theme.model_b, theme.px(2), Qt.PenStyle.DashLine))
        self.reliability_b.setSymbolBrush(pg.mkBrush(theme.background))
        self.reliability_b.setSymbolPen(pg.mkPen(theme.model_b, width=theme.px(2)))
        self.reliability_b.setSymbolSize(size)
        self.loss_a.setPen(pg.mkPen(theme.probability, width=theme.px(1)))
        self.loss_a.setBrush(pg.mkBrush(kit.qcolor(theme.probability, 90)))
        self.loss_b.setPen(kit.make_pen(theme.model_b, theme.px(2.5)))
        for legend in (self.reliability_legend, self.loss_legend):
            legend.setLabelTextColor(theme.foreground)
            legend.setLabelTextSize(f"{theme.px(9)}pt")
            legend.setBrush(pg.mkBrush(kit.qcolor(theme.background, 200)))
            legend.setPen(pg.mkPen(kit.qcolor(theme.foreground, 80)))
            for _sample, label in legend.items:
                label.setText(label.text, color=theme.foreground, size=f"{theme.px(9)}pt")
        self.hover.apply_theme(theme)


class ClassTable(QWidget):
    """Each class's accuracy under A and B and the difference, the largest drop first."""

    HEADERS = ("class", "samples", "A", "B", "B − A")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Per-class accuracy of A and B")
        self.label.setWordWrap(True)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.table, 1)
        self._classes = np.zeros(0, dtype=np.int64)

    def set_classes(self, data: ComparisonDataset, class_names: list[str]) -> None:
        classes = data.classes
        order = classes.order()
        self._classes = order
        table = self.table
        table.setUpdatesEnabled(False)
        table.setRowCount(len(order))
        for r, c in enumerate(order):
            diff = float(classes.difference[c])
            sign = "+" if diff > 0 else ""
            name = class_names[c]
            cells = (
                (name if name == str(c) else f"{elide(name)} ({c})", False),
                (f"{int(classes.count[c]):,}", True),
                (fmt.percent(classes.accuracy_a[c]), True),
                (fmt.percent(classes.accuracy_b[c]), True),
                (
                    f"{sign}{fmt.percent(diff)}".replace("-", fmt.MINUS)
                    if math.isfinite(diff)
                    else fmt.MISSING,
                    True,
                ),
            )
            for col, (text, number) in enumerate(cells):
                item = QTableWidgetItem(text)
                if number:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, col, item)
        table.setUpdatesEnabled(True)
        worse = int((classes.difference[order] < 0).sum())
        better = int((classes.difference[order] > 0).sum())
        self.label.setText(
            f"Per-class accuracy of A and B: B is better on "
            f"{fmt.plural(better, 'class', 'classes')}, worse on {worse:,} (largest drop first)"
        )

    def classes(self) -> list[int]:
        return [int(c) for c in self._classes]

    def row_texts(self, row: int) -> list[str]:
        cells = (self.table.item(row, c) for c in range(self.table.columnCount()))
        return [item.text() if item is not None else "" for item in cells]


class ComparisonView(QWidget):
    """The Dataset tab's "A vs B" page: the agreement matrix and the class table on the left,
    both reliability curves and both loss histograms on the right."""

    sigCellClicked = Signal(bool, bool)  # A right, B right

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = AgreementMatrix()
        self.plots = ComparePlots(theme)
        self.class_table = ClassTable()
        self.empty = QLabel("Compare with a second model (File › Compare with…) to see this.")
        self.empty.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.empty, 0, 0, 1, 2)
        grid.addWidget(self.matrix, 1, 0)
        grid.addWidget(self.class_table, 2, 0)
        grid.addWidget(self.plots, 1, 1, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(1, 2)
        grid.setRowStretch(2, 3)
        self.matrix.sigCellClicked.connect(self.sigCellClicked)
        self.set_theme(theme)
        self.set_data(None, ("A", "B"), [])

    def set_data(
        self, data: ComparisonDataset | None, names: tuple[str, str], class_names: list[str]
    ) -> None:
        """Show one comparison (``core.compare.compare_dataset``); None: nothing to compare."""
        shown = data is not None
        self.empty.setVisible(not shown)
        for widget in (self.matrix, self.plots, self.class_table):
            widget.setVisible(shown)
        if data is None:
            return
        self.matrix.set_names(names)
        self.matrix.set_counts(data.agreement)
        self.plots.set_data(data, names)
        self.class_table.set_classes(data, class_names)

    def set_theme(self, theme: Theme) -> None:
        self.matrix.set_theme(theme)
        self.plots.set_theme(theme)
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.class_table.label, self.class_table.table, self.empty):
            widget.setFont(font)
        self.class_table.table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))
