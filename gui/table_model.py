"""The logits table as a Qt model over the document's arrays (no item per cell).

Columns: one per class (logits, or probabilities when the view shows them), then the target
(a label, or one probability column per class in soft-label mode), then read-only results:
prediction, p(true), loss and a correct/incorrect mark. Edits go to the document, which
validates them; a rejected edit emits ``sigRejected`` with the reason and changes nothing.
"""

from __future__ import annotations

import math
from enum import Enum

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from core.document import Change, Document
from core.parsing import parse_number
from gui.theme import LIGHT, Theme

Index = QModelIndex | QPersistentModelIndex
IGNORE_TEXT = "ignore"


class Column(Enum):
    CLASS = "class"
    LABEL = "label"
    SOFT = "soft"
    PREDICTION = "prediction"
    P_TRUE = "p_true"
    LOSS = "loss"
    MARK = "mark"


RESULT_COLUMNS = (Column.PREDICTION, Column.P_TRUE, Column.LOSS, Column.MARK)
RESULT_HEADERS = {
    Column.PREDICTION: "pred",
    Column.P_TRUE: "p(true)",
    Column.LOSS: "loss",
    Column.MARK: "✓/✗",
}


def format_value(value: float, digits: int = 4) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 10**-digits):
        return f"{value:.{max(1, digits - 1)}e}"
    return f"{value:.{digits}f}"


class LogitsTableModel(QAbstractTableModel):
    """Rows are samples; see the module docstring for the columns."""

    sigRejected = Signal(str)

    def __init__(self, document: Document, theme: Theme = LIGHT, parent=None) -> None:
        super().__init__(parent)
        self._doc = document
        self._theme = theme
        self._show_probabilities = False
        self._probabilities: np.ndarray | None = None
        self._row_cache: dict[int, np.ndarray] = {}
        # Sorting and filtering live here, as an index array: a proxy model would call data()
        # once per row from Python to sort, which is far too slow at 50,000 rows.
        self._order: np.ndarray | None = None
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter: tuple[str, object] | None = None
        self._columns = self.columnCount()
        document.subscribe(self._on_document_changed)

    # --- what the columns are -------------------------------------------------------------------

    @property
    def document(self) -> Document:
        return self._doc

    def column_kind(self, column: int) -> tuple[Column, int]:
        """(kind, class index or 0) of a model column."""
        c = self._doc.n_classes
        if column < c:
            return Column.CLASS, column
        column -= c
        n_target = c if self._doc.settings.target_mode == "probability" else 1
        if column < n_target:
            return (Column.SOFT, column) if self._soft else (Column.LABEL, 0)
        return RESULT_COLUMNS[column - n_target], 0

    def column_of(self, kind: Column, cls: int = 0) -> int:
        c = self._doc.n_classes
        if kind is Column.CLASS:
            return cls
        if kind in (Column.LABEL, Column.SOFT):
            return c + cls
        n_target = c if self._soft else 1
        return c + n_target + RESULT_COLUMNS.index(kind)

    @property
    def _soft(self) -> bool:
        return self._doc.settings.target_mode == "probability"

    # --- view options ---------------------------------------------------------------------------

    @property
    def show_probabilities(self) -> bool:
        return self._show_probabilities

    def set_show_probabilities(self, show: bool) -> None:
        if show != self._show_probabilities:
            self._row_cache.clear()
            self._show_probabilities = show
            self._class_cells_changed()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._class_cells_changed()

    # --- QAbstractTableModel --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return self._doc.n_samples if self._order is None else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        c = self._doc.n_classes
        return c + (c if self._soft else 1) + len(RESULT_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(self.sample_at(section))
            return None
        kind, cls = self.column_kind(section)
        names = self._doc.class_names
        if role == Qt.ItemDataRole.DisplayRole:
            if kind is Column.CLASS:
                return names[cls]
            if kind is Column.SOFT:
                return f"q({names[cls]})"
            if kind is Column.LABEL:
                return "label"
            return RESULT_HEADERS[kind]
        if role == Qt.ItemDataRole.ToolTipRole:
            return {
                Column.CLASS: f"logit z of class {names[cls]!r} (double-click the header to "
                f"rename)",
                Column.SOFT: f"target probability of class {names[cls]!r}",
                Column.LABEL: "true class of the sample (or 'ignore')",
                Column.PREDICTION: "predicted class: argmax of the logits",
                Column.P_TRUE: "probability the model gives the true class",
                Column.LOSS: "this sample's cross-entropy loss",
                Column.MARK: "✓ correct, ✗ wrong, — ignored, ⚠ non-finite",
            }[kind]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return base
        kind, _ = self.column_kind(index.column())
        editable = (kind is Column.CLASS and not self._show_probabilities) or kind in (
            Column.LABEL,
            Column.SOFT,
        )
        return base | Qt.ItemFlag.ItemIsEditable if editable else base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.sample_at(index.row())
        kind, cls = self.column_kind(index.column())
        ev = self._doc.evaluation
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if kind in (Column.LABEL, Column.PREDICTION, Column.MARK):
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if kind is Column.CLASS:
            return self._class_data(row, cls, role)
        if kind is Column.SOFT:
            value = float(self._doc.soft_targets[row, cls])
            if role == Qt.ItemDataRole.DisplayRole:
                return format_value(value)
            if role == Qt.ItemDataRole.EditRole:
                return repr(value)
            return None
        if kind is Column.LABEL:
            label = int(self._doc.labels[row])
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                if label == self._doc.settings.ignore_index:
                    return IGNORE_TEXT
                return self._doc.class_names[label]
            if role == Qt.ItemDataRole.UserRole:
                return label
            return None
        return self._result_data(ev, row, kind, role)

    def _class_data(self, row: int, cls: int, role: int):
        logit = float(self._doc.logits[row, cls])
        if role == Qt.ItemDataRole.DisplayRole:
            if self._show_probabilities:
                return format_value(self._probability(row, cls))
            return format_value(logit)
        if role == Qt.ItemDataRole.EditRole:
            return (
                "nan"
                if math.isnan(logit)
                else format_value(logit, 6)
                if math.isinf(logit)
                else repr(logit)
            )
        if role == Qt.ItemDataRole.BackgroundRole:
            p = self._probability(row, cls)
            if math.isnan(logit) or math.isnan(p):
                return QBrush(QColor(self._theme.incorrect).lighter(170))
            color = QColor(self._theme.probability)
            color.setAlphaF(0.08 + 0.6 * p)
            return QBrush(color)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"z = {logit!r}\np = {self._probability(row, cls)!r}\n"
                f"class {self._doc.class_names[cls]!r}, sample {row}"
            )
        return None

    def _result_data(self, ev, row: int, kind: Column, role: int):
        valid = bool(ev.valid[row])
        finite = bool(ev.finite[row])
        if role == Qt.ItemDataRole.DisplayRole:
            if kind is Column.PREDICTION:
                return self._doc.class_names[int(ev.predictions[row])] if finite else "NaN"
            if kind is Column.P_TRUE:
                return format_value(float(ev.p_true[row])) if valid else "—"
            if kind is Column.LOSS:
                return format_value(float(ev.losses[row])) if valid else "—"
            if not finite:
                return "⚠"
            if not valid:
                return "—"
            return "✓" if ev.correct[row] else "✗"
        if role == Qt.ItemDataRole.ForegroundRole and kind is Column.MARK:
            if not finite or (valid and not ev.correct[row]):
                return QBrush(QColor(self._theme.incorrect))
            return QBrush(QColor(self._theme.correct if valid else self._theme.ignored))
        if role == Qt.ItemDataRole.ToolTipRole:
            if not finite:
                return "this row's logits hold NaN, are all −∞, or its loss is infinite"
            return {
                Column.PREDICTION: f"argmax = class {int(ev.predictions[row])}",
                Column.P_TRUE: f"p(true) = {float(ev.p_true[row])!r}",
                Column.LOSS: f"loss = {float(ev.losses[row])!r}",
                Column.MARK: "correct" if ev.correct[row] else "wrong" if valid else "ignored",
            }[kind]
        return None

    def _probability(self, row: int, cls: int) -> float:
        return float(self._probabilities_row(row)[cls])

    def _probabilities_row(self, row: int) -> np.ndarray:
        # Small tables: the whole matrix once per evaluation. Large ones: only the visible rows,
        # each once (a row's cells all ask for it).
        ev = self._doc.evaluation
        if self._probabilities is None and ev.n_samples * ev.n_classes <= 1_000_000:
            self._probabilities = ev.probabilities
        if self._probabilities is not None:
            return self._probabilities[row]
        cached = self._row_cache.get(row)
        if cached is None:
            if len(self._row_cache) > 512:
                self._row_cache.clear()
            cached = self._row_cache[row] = ev.probabilities_of([row])[0]
        return cached

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        kind, cls = self.column_kind(index.column())
        row = self.sample_at(index.row())
        try:
            if kind is Column.CLASS and not self._show_probabilities:
                number = parse_number(value)
                self._doc.set_logits(
                    [row], [cls], number, text=f"Edit z[{row}, {self._doc.class_names[cls]}]"
                )
            elif kind is Column.SOFT:
                self._doc.set_soft_targets([row], [cls], parse_number(value))
            elif kind is Column.LABEL:
                self._doc.set_labels(
                    [row], self.label_from_value(value), text=f"Set label of sample {row}"
                )
            else:
                return False
        except ValueError as exc:
            self.sigRejected.emit(f"Not changed: {exc}")
            return False
        return True

    def label_from_value(self, value) -> int:
        """A label from a class name, a class index or 'ignore'."""
        if isinstance(value, (int, np.integer)):
            return int(value)
        text = str(value).strip()
        if text.lower() in (IGNORE_TEXT, str(self._doc.settings.ignore_index)):
            return self._doc.settings.ignore_index
        if text in self._doc.class_names:
            return self._doc.class_names.index(text)
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a class name or index") from None

    # --- sorting and filtering -------------------------------------------------------------------

    @property
    def is_reordered(self) -> bool:
        return self._order is not None

    def sample_at(self, row: int) -> int:
        """The sample shown in table row ``row``."""
        return int(row if self._order is None else self._order[row])

    def row_of(self, sample: int) -> int | None:
        """The table row showing ``sample``, or None if the filter hides it."""
        if self._order is None:
            return sample if 0 <= sample < self._doc.n_samples else None
        hits = np.flatnonzero(self._order == sample)
        return int(hits[0]) if len(hits) else None

    FILTERS = ("all", "wrong", "class", "predicted", "confusion", "non-finite", "rows")

    @property
    def filter_description(self) -> str:
        if self._filter is None:
            return ""
        kind, value = self._filter
        names = self._doc.class_names
        if kind == "wrong":
            return "wrong predictions only"
        if kind == "class":
            return f"true class {names[int(value)]}"
        if kind == "predicted":
            return f"predicted {names[int(value)]}"
        if kind == "confusion":
            t, p = value
            return f"true {names[int(t)]} predicted as {names[int(p)]}"
        if kind == "non-finite":
            return "non-finite rows"
        return f"{len(value)} chosen samples"

    def set_filter(self, kind: str = "all", value: object = None) -> None:
        """Show only some samples: wrong ones, a true class, a predicted class, a confusion
        cell ``(true, predicted)``, non-finite rows, or an explicit list of sample indices."""
        if kind not in self.FILTERS:
            raise ValueError(f"unknown filter {kind!r}")
        self._filter = None if kind == "all" else (kind, value)
        self._rebuild_order()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by any column (numbers by value, NaN last); header clicks call this."""
        self._sort = None if column < 0 else (column, order)
        self._rebuild_order()

    def sort_by(self, key: str, descending: bool = True) -> None:
        """Sort by a per-sample statistic: loss, confidence, margin, entropy, p_true."""
        self._sort = (
            key,
            Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder,
        )
        self._rebuild_order()

    def _sort_key(self, column) -> np.ndarray:
        ev = self._doc.evaluation
        if isinstance(column, str):
            return np.asarray(getattr(ev, column), dtype=np.float64)
        kind, cls = self.column_kind(column)
        if kind is Column.CLASS:
            if self._show_probabilities:
                return ev.probabilities_of(slice(None))[:, cls]
            return np.asarray(self._doc.logits[:, cls], dtype=np.float64)
        if kind is Column.SOFT:
            return self._doc.soft_targets[:, cls]
        if kind is Column.LABEL:
            return self._doc.labels.astype(np.float64)
        return {
            Column.PREDICTION: ev.predictions.astype(np.float64),
            Column.P_TRUE: ev.p_true,
            Column.LOSS: np.where(ev.valid, ev.losses, np.nan),
            Column.MARK: (~ev.correct).astype(np.float64) + 2.0 * ~ev.valid,
        }[kind]

    def _rebuild_order(self) -> None:
        self.beginResetModel()
        self._order = self._compute_order()
        self.endResetModel()

    def _compute_order(self) -> np.ndarray | None:
        if self._filter is None and self._sort is None:
            return None
        ev = self._doc.evaluation
        n = self._doc.n_samples
        rows = np.arange(n)
        if self._filter is not None:
            kind, value = self._filter
            if kind == "wrong":
                mask = ev.valid & ~ev.correct
            elif kind == "class":
                mask = ev.targets == int(value)
            elif kind == "predicted":
                mask = ev.predictions == int(value)
            elif kind == "confusion":
                t, p = value
                mask = ev.valid & (ev.targets == int(t)) & (ev.predictions == int(p))
            elif kind == "non-finite":
                mask = ~ev.finite
            else:
                chosen = np.asarray(value, dtype=np.int64)
                mask = np.zeros(n, dtype=bool)
                mask[chosen[(chosen >= 0) & (chosen < n)]] = True
            rows = rows[mask]
        if self._sort is not None:
            column, order = self._sort
            if isinstance(column, int) and column >= self.columnCount():
                self._sort = None
                return rows if self._filter is not None else None
            key = self._sort_key(column)[rows]
            # A stable sort with NaN last in both directions.
            nan = np.isnan(key)
            if order == Qt.SortOrder.DescendingOrder:
                key = -key
            rows = rows[np.lexsort((key, nan))]
        return rows

    # --- document -> model ----------------------------------------------------------------------

    def _on_document_changed(self, change: Change) -> None:
        self._probabilities = None
        self._row_cache.clear()
        if change & Change.STRUCTURE or (change & Change.SETTINGS and self._shape_changed()):
            self.beginResetModel()
            if change & Change.STRUCTURE:
                # Sample indices moved: a filter on them or on old class numbers is stale.
                self._filter = None
            self._columns = self.columnCount()
            self._order = self._compute_order()
            self.endResetModel()
            return
        # Values that move under a sort or filter keep their rows until the user sorts again:
        # a row jumping away while it is being typed into would be maddening.
        if change & Change.NAMES:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        self._columns = self.columnCount()
        rows = self._doc.changed_rows
        last = self.columnCount() - 1
        if rows is not None and len(rows) <= 64:
            # A cell edit or a drag: only those samples' rows moved (the reduced loss is not in
            # the table), so repaint them and not every visible cell.
            for sample in rows:
                row = self.row_of(int(sample))
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            return
        self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, last))

    def _shape_changed(self) -> bool:
        return self._columns != self.columnCount()

    def _class_cells_changed(self) -> None:
        self.dataChanged.emit(
            self.index(0, 0), self.index(self.rowCount() - 1, self._doc.n_classes - 1)
        )
