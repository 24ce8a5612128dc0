"""The Dataset tab's tables and text: headline metrics and the worst classes, suspected label
issues, and the temperature fit's before and after."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Signal
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

if TYPE_CHECKING:
    from softmax_lab.core.calibration import TemperatureFit
    from softmax_lab.core.metrics import DatasetSummary, LabelIssue, PerClass

N_WORST_CLASSES = 20


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
        at_t = f" at temperature T = {fmt.short(temperature)}" if temperature != 1.0 else ""
        if math.isfinite(s.mean_loss) or (s.n_nonfinite == 0 and s.n_infinite_loss == 0):
            loss = f"mean loss = {fmt.metric(s.mean_loss)}{at_t}"
        elif s.n_nonfinite == 0 and s.mean_loss == math.inf:
            # p(true) = 0 for some rows: their loss is +∞, and so is the mean (torch agrees).
            loss = (
                f"mean loss = ∞ ({fmt.plural(s.n_infinite_loss, 'sample')} with p(true) = 0){at_t}"
                f" · mean over the finite losses = {fmt.metric(s.mean_loss_finite)}"
            )
        else:
            # torch's mean is NaN / inf as soon as one row is; say so, and give the finite mean.
            loss = (
                f"mean loss = {fmt.metric(s.mean_loss_finite)} over the finite rows{at_t} "
                f"(torch's mean over all rows: {'NaN' if math.isnan(s.mean_loss) else '∞'})"
            )
        lines = [
            f"N = {s.n_samples:,} samples · {s.n_valid:,} labelled · "
            f"{s.n_samples - s.n_valid:,} ignored · {s.n_nonfinite:,} without a prediction",
            f"accuracy (top-1) = {fmt.percent(s.accuracy)} · "
            + (
                f"top-{s.top_k} accuracy = {fmt.percent(s.top_k_accuracy)}"
                if s.top_k
                else "top-5 accuracy: not computed live for a table this large"
            ),
            loss,
            f"ECE = {fmt.metric(rel.ece)} · MCE = {fmt.metric(rel.mce)} "
            f"({rel.n_bins} equal-width confidence bins, N = {rel.n:,})",
        ]
        if s.n_nonfinite:
            lines.append(
                f"{fmt.plural(s.n_nonfinite, 'row')} without a prediction (NaN, +∞ or only −∞ "
                "logits): wrong in the accuracies, left out of the calibration, the confusion "
                "matrix, the per-class table and the histograms."
            )
        if s.n_infinite_loss:
            lines.append(
                f"{fmt.plural(s.n_infinite_loss, 'row')} with p(true) = 0 (the true class's logit "
                "is −∞): counted in the accuracy, the calibration, the confusion matrix, the "
                "per-class table and the histograms; only their loss is ∞."
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
                _cell(fmt.percent(pc.accuracy[c]), number=True),
                _cell(fmt.metric(pc.mean_loss[c]), number=True),
                _cell(fmt.percent(pc.precision[c]), number=True),
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
        rows = (table.item(r, 0) for r in range(table.rowCount()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in rows if item is not None]


# --------------------------------------------------------------------------------------------
# 5. label issues


class LabelIssuesView(QWidget):
    """The samples whose given label the model finds least plausible; activating a row (double
    click or Enter) asks the window to show that sample."""

    sigSampleActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QLabel("Double-click a row to open it.")
        self.method.setWordWrap(True)
        self.table = _table(
            ["sample", "given label", "predicted", "p(given)", "confidence"], stretch=[1, 2]
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.method)
        layout.addWidget(self.table, 1)
        self.table.activated.connect(self._on_activated)

    def set_issues(self, issues: list[LabelIssue], class_names: list[str], method: str) -> None:
        self.method.setText(f"Ranked by {method}. Double-click a row to open it.")
        rows = []
        for issue in issues:
            rows.append(
                [
                    _cell(str(issue.index), number=True, data=issue.index),
                    _cell(f"{class_names[issue.given]} ({issue.given})"),
                    _cell(f"{class_names[issue.predicted]} ({issue.predicted})"),
                    _cell(fmt.short(issue.p_given), number=True),
                    _cell(fmt.short(issue.confidence), number=True),
                ]
            )
        _fill_table(self.table, rows)

    def indices(self) -> list[int]:
        table = self.table
        rows = (table.item(r, 0) for r in range(table.rowCount()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in rows if item is not None]

    def _on_activated(self, index: QModelIndex) -> None:
        item = self.table.item(index.row(), 0)
        if item is not None:
            self.sigSampleActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))


# --------------------------------------------------------------------------------------------
# 6. temperature calibration


class TemperatureView(QWidget):
    """A button that asks for a temperature fit, and the fit's numbers before and after."""

    sigFitRequested = Signal()
    sigCompareRequested = Signal()  # compare the model at T = 1 with itself at the fitted T

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
        self.compare_button = QPushButton("Compare T = 1 with the fitted T")
        self.compare_button.setToolTip(
            "Model A: the logits at T = 1; model B: the same logits at the fitted T — "
            "the calibration before and after, sample by sample"
        )
        self.compare_button.setEnabled(False)
        self.compare_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
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
        layout.addWidget(self.compare_button)
        layout.addStretch(1)
        self.fit_button.clicked.connect(self.sigFitRequested)
        self.compare_button.clicked.connect(self.sigCompareRequested)

    def set_ready(self, ready: bool) -> None:
        self.fit_button.setEnabled(ready)

    def set_compare_ready(self, ready: bool) -> None:
        """A fit of the current logits is known: it can be compared with T = 1."""
        self.compare_button.setEnabled(ready)

    def set_running(self, running: bool) -> None:
        """While the window fits (off the GUI thread) the button is disabled."""
        self.fit_button.setEnabled(not running)
        self.fit_button.setText("Fitting…" if running else "Fit temperature")
        if running:
            self.status.setText("Fitting the temperature…")

    def show_fit(self, fit: TemperatureFit) -> None:
        values = {
            "temperature T": ("1", fmt.short(fit.temperature)),
            "mean NLL": (fmt.metric(fit.nll_before), fmt.metric(fit.nll_after)),
            "ECE": (fmt.metric(fit.ece_before), fmt.metric(fit.ece_after)),
        }
        for name, (before, after) in values.items():
            self.cells[(name, "before")].setText(before)
            self.cells[(name, "after")].setText(after)
        notes = [
            f"Fitted on {fmt.plural(fit.n_used, 'labelled row')} in "
            f"{fmt.plural(fit.iterations, 'pass', 'passes')} over the logits."
        ]
        if fit.excluded:
            notes.append(
                f"{fmt.plural(fit.excluded, 'row')} with NaN / +∞ logits (or a −∞ label) left out."
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
