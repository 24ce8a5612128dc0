"""The Dataset tab's label-free view: how sure the model is (confidence and entropy
histograms), what it predicts (counts per class) and the samples it is least sure about (the
closest calls by margin, the most spread-out by entropy). It is all a table without labels has,
and it is worth seeing with labels too. Numbers come from ``core.metrics.summarize_predictions``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from softmax_lab.core import formatting as fmt
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.dataset.summary import _cell, _fill_table, _table
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.metrics import PredictionSummary, ValueHistogram

N_LISTED = 50
KEYS = ("confidence", "entropy", "predicted")


class PredictionsView(QWidget):
    """Histograms, predicted-class counts and the most uncertain samples; activating a row of a
    list (double click or Enter) asks the window to show that sample."""

    sigSampleActivated = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._summary: PredictionSummary | None = None
        self._names: list[str] = []
        self._titles = {
            "confidence": "Confidence (max p)",
            "entropy": "Entropy of p (nats)",
            "predicted": "Predicted class",
        }
        self.headline = QLabel("No evaluation yet.")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plots_widget = pg.GraphicsLayoutWidget()
        # Three plots side by side must fit a 700-px tab: let the layout, not the titles, decide.
        self.plots_widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.plots_widget.setMinimumWidth(300)
        self.plots: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        self._class_axis = kit.CategoryAxis("bottom")
        for col, key in enumerate(KEYS):
            axes = {"bottom": self._class_axis} if key == "predicted" else None
            plot = self.plots_widget.addPlot(row=0, col=col, axisItems=axes)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            bars = pg.BarGraphItem(x=[], height=[], width=1.0)
            plot.addItem(bars)
            self.plots[key] = plot
            self.bars[key] = bars
        self.hover = kit.Hover(
            self.plots_widget,
            [(self.plots[key].getViewBox(), self._hover(key)) for key in KEYS],
        )

        self.margin_table = _table(
            ["sample", "pred", "confidence", "margin", "entropy"], stretch=[1]
        )
        self.entropy_table = _table(
            ["sample", "pred", "confidence", "margin", "entropy"], stretch=[1]
        )
        self.margin_label = QLabel("Closest calls: smallest margin p(top) − p(second) first")
        self.entropy_label = QLabel("Most spread out: highest entropy first")
        lists = QWidget()
        row = QHBoxLayout(lists)
        row.setContentsMargins(0, 0, 0, 0)
        for label, table in (
            (self.margin_label, self.margin_table),
            (self.entropy_label, self.entropy_table),
        ):
            column = QVBoxLayout()
            label.setWordWrap(True)
            column.addWidget(label)
            column.addWidget(table, 1)
            row.addLayout(column, 1)
            table.activated.connect(lambda index, t=table: self._on_activated(t, index))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plots_widget)
        splitter.addWidget(lists)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([340, 280])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.headline)
        layout.addWidget(splitter, 1)
        self.set_theme(theme)

    def set_summary(self, s: PredictionSummary, class_names: list[str], has_labels: bool) -> None:
        self._summary = s
        self._names = [str(n) for n in class_names]
        usable = s.n_samples - s.n_nonfinite
        where = "" if has_labels else " · no labels (File › Open labels… adds the loss views)"
        lines = [
            f"N = {s.n_samples:,} samples{where} · {s.n_classes:,} classes"
            + (f" · {s.n_nonfinite:,} without a prediction (non-finite)" if s.n_nonfinite else ""),
        ]
        if usable:
            lines.append(
                f"mean confidence = {fmt.metric(s.mean_confidence)} · mean entropy = "
                f"{fmt.metric(s.mean_entropy)} nats (0 = certain, log C = "
                f"{fmt.short(s.max_entropy)} = uniform)"
            )
        self._set_histogram("confidence", s.confidence_histogram)
        self._set_histogram("entropy", s.entropy_histogram)
        counts = s.predicted_counts.astype(np.float64)
        self.bars["predicted"].setOpts(
            x=np.arange(counts.size, dtype=np.float64), height=counts, width=0.8
        )
        self._class_axis.set_names(self._names)
        plot = self.plots["predicted"]
        plot.getViewBox().setXRange(-0.5, max(0.5, counts.size - 0.5), padding=0.02)
        plot.getViewBox().setYRange(0, max(1.0, float(counts.max(initial=0))) * 1.08, padding=0)
        top = int(np.argmax(counts)) if counts.size and counts.max() > 0 else None
        if top is not None:
            lines.append(
                f"predicted most often: {self._names[top]} ({fmt.count(counts[top])} samples); "
                f"{fmt.count((counts == 0).sum())} classes never predicted"
            )
        self.headline.setText("\n".join(lines))
        self._titles["predicted"] = "Predicted class (counts)"
        self._titles["confidence"] = "Confidence (max p)"
        self._titles["entropy"] = "Entropy of p (nats)"
        for key, title in self._titles.items():
            kit.set_title(self.plots[key], self._theme, title)
        self._fill(self.margin_table, s, s.lowest_margin[:N_LISTED])
        self._fill(self.entropy_table, s, s.highest_entropy[:N_LISTED])

    def _set_histogram(self, key: str, h: ValueHistogram) -> None:
        edges = h.edges
        width = float(edges[1] - edges[0]) if edges.size > 1 else 1.0
        centres = (edges[:-1] + edges[1:]) / 2
        self.bars[key].setOpts(x=centres, height=h.counts.astype(np.float64), width=width)
        vb = self.plots[key].getViewBox()
        vb.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
        vb.setYRange(0, max(1.0, float(h.counts.max(initial=0))) * 1.08, padding=0)

    def _fill(self, table: QTableWidget, s: PredictionSummary, samples: np.ndarray) -> None:
        rows = []
        for i in samples.tolist():
            rows.append(
                [
                    _cell(str(i), number=True, data=int(i)),
                    _cell(self._names[int(s.predictions[i])]),
                    _cell(fmt.short(s.confidence[i]), number=True),
                    _cell(fmt.short(s.margin[i]), number=True),
                    _cell(fmt.short(s.entropy[i]), number=True),
                ]
            )
        _fill_table(table, rows)

    def _on_activated(self, table: QTableWidget, index: QModelIndex) -> None:
        item = table.item(index.row(), 0)
        if item is not None:
            self.sigSampleActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _hover(self, key: str):
        def text_at(x: float, y: float) -> str | None:
            s = self._summary
            if s is None or not math.isfinite(x):
                return None
            if key == "predicted":
                c = math.floor(x + 0.5)
                if not 0 <= c < s.n_classes:
                    return None
                return f"predicted {self._names[c]}: {fmt.count(s.predicted_counts[c])} samples"
            h = s.confidence_histogram if key == "confidence" else s.entropy_histogram
            edges = h.edges
            if not edges[0] <= x <= edges[-1]:
                return None
            b = min(int(np.searchsorted(edges, x, side="right")) - 1, edges.size - 2)
            span = f"[{fmt.short(edges[b])}, {fmt.short(edges[b + 1])})"
            return f"{key} {span}: {fmt.count(h.counts[b])} samples"

        return text_at

    # --- what it shows (tests read these) -------------------------------------------------------

    def titles(self) -> dict[str, str]:
        return dict(self._titles)

    def heights(self, key: str) -> np.ndarray:
        opts = self.bars[key].opts
        return np.asarray(opts.get("height", []), dtype=np.float64)

    def listed(self, which: str) -> list[int]:
        table = self.margin_table if which == "margin" else self.entropy_table
        rows = (table.item(r, 0) for r in range(table.rowCount()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in rows if item is not None]

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.plots_widget.setBackground(theme.background)
        labels = {
            "confidence": ("max p", "samples"),
            "entropy": ("entropy (nats)", "samples"),
            "predicted": ("class", "samples"),
        }
        for key, plot in self.plots.items():
            kit.style_plot(plot, theme, *labels[key])
            kit.set_title(plot, theme, self._titles[key])
            self.bars[key].setOpts(
                brush=pg.mkBrush(kit.qcolor(theme.probability, 170)),
                pen=pg.mkPen(theme.probability, width=theme.px(1)),
            )
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.headline, self.margin_label, self.entropy_label):
            widget.setFont(font)
        for table in (self.margin_table, self.entropy_table):
            table.setFont(font)
            table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))
        self.hover.apply_theme(theme)
