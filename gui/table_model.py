"""The logits table as a Qt model over the controller's document (no item per cell).

Columns: one per class (logits, or probabilities when the view shows them), then the target
(a label, or one probability column per class in soft-label mode), then read-only results:
prediction, p(true), loss and a correct/incorrect mark. Rows follow the controller's order
(sort and filter). Edits go to the controller, which validates them; a rejected edit changes
nothing and the controller says why.

Per-class columns exist only up to ``core.constants.TABLE_CLASS_COLUMNS`` classes
(``core.display.table_class_columns``): a language model's 128k-token vocabulary gets the target,
result and extra columns only, and ``hidden_classes_note`` says so.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from softmax_lab.core import formatting as fmt
from softmax_lab.core.contrast import over, text_on
from softmax_lab.core.display import hidden_classes_note, table_class_columns
from softmax_lab.core.view_state import Sort

if TYPE_CHECKING:
    import numpy as np

    from softmax_lab.core.changes import Change
    from softmax_lab.core.row_order import TableColumn
    from softmax_lab.gui.controller import Controller

Index = QModelIndex | QPersistentModelIndex
IGNORE_TEXT = "ignore"


def cell_tint(p: float) -> float:
    """The opacity of the probability colour behind a class cell: deeper for likelier classes."""
    return 0.08 + 0.6 * min(max(p, 0.0), 1.0)


NO_LABELS_TEXT = "no labels"  # the loss and correctness columns of a table without labels
TEXT_CELL_CHARS = 300  # a text cell shows this much of its text, on one line (elided to fit)


class Column(Enum):
    CLASS = "class"
    LABEL = "label"
    SOFT = "soft"
    PREDICTION = "prediction"
    P_TRUE = "p_true"
    LOSS = "loss"
    MARK = "mark"
    EXTRA = "extra"  # a column a feature adds (metadata, training dynamics, a second model)


RESULT_COLUMNS = (Column.PREDICTION, Column.P_TRUE, Column.LOSS, Column.MARK)
RESULT_HEADERS = {
    Column.PREDICTION: "pred",
    Column.P_TRUE: "p(true)",
    Column.LOSS: "loss",
    Column.MARK: "✓/✗",
}
SORT_KEYS = {
    Column.LABEL: "label",
    Column.PREDICTION: "prediction",
    Column.P_TRUE: "p_true",
    Column.LOSS: "loss",
    Column.MARK: "mark",
}


ANSWERED_ROLES = frozenset(
    int(role)
    for role in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.EditRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.UserRole,
        Qt.ItemDataRole.DecorationRole,  # the inputs' thumbnails
    )
)


BASE_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
EDITABLE_FLAGS = BASE_FLAGS | Qt.ItemFlag.ItemIsEditable


class LogitsTableModel(QAbstractTableModel):
    """Rows are samples in the controller's order; see the module docstring for the columns."""

    def __init__(self, controller: Controller, parent=None) -> None:
        super().__init__(parent)
        self._c = controller
        self._plan: tuple[object, list[TableColumn], tuple[tuple[Column, int], ...]] | None = None
        self._columns = self.columnCount()
        controller.sigLayoutChanged.connect(self._reset)
        controller.sigOrderChanged.connect(self._reset)
        controller.sigDataChanged.connect(self._on_data_changed)
        controller.sigNamesChanged.connect(self._on_names_changed)
        controller.sigStyleChanged.connect(lambda _theme: self._class_cells_changed())
        controller.sigViewChanged.connect(self._on_view_changed)

    # --- what the columns are -------------------------------------------------------------------

    @property
    def controller(self) -> Controller:
        return self._c

    @property
    def _soft(self) -> bool:
        return self._c.document.settings.target_mode == "probability"

    @property
    def show_probabilities(self) -> bool:
        return bool(self._c.view.show_probabilities)

    @property
    def class_columns(self) -> int:
        """How many per-class columns the table has (0 beyond TABLE_CLASS_COLUMNS classes)."""
        return table_class_columns(self._c.document.n_classes)

    def hidden_classes_note(self) -> str:
        """Why there are no logit columns ("" when every class has one)."""
        return hidden_classes_note(self._c.document.n_classes)

    def column_kind(self, column: int) -> tuple[Column, int]:
        """(kind, class index or 0) of a model column."""
        kinds = self._kinds()
        if 0 <= column < len(kinds):
            return kinds[column]
        return self._kind_of(column)

    def _kinds(self) -> tuple[tuple[Column, int], ...]:
        """Every column's kind, worked out once per table state and set of extra columns (Qt
        asks a cell's kind several times per paint: its data for each role, its flags)."""
        table, extras = self._c.document.table, self._c.table_columns()
        plan = self._plan
        if plan is None or plan[0] is not table or plan[1] is not extras:
            count = self._column_count(len(extras))
            plan = self._plan = (table, extras, tuple(map(self._kind_of, range(count))))
        return plan[2]

    def _kind_of(self, column: int) -> tuple[Column, int]:
        c = self.class_columns
        if column < c:
            return Column.CLASS, column
        column -= c
        n_target = c if self._soft else 1
        if column < n_target:
            return (Column.SOFT, column) if self._soft else (Column.LABEL, 0)
        column -= n_target
        if column < len(RESULT_COLUMNS):
            return RESULT_COLUMNS[column], 0
        return Column.EXTRA, column - len(RESULT_COLUMNS)

    def column_of(self, kind: Column, cls: int = 0) -> int:
        c = self.class_columns
        if kind is Column.CLASS:
            return cls
        if kind in (Column.LABEL, Column.SOFT):
            return c + cls
        n_target = c if self._soft else 1
        if kind is Column.EXTRA:
            return c + n_target + len(RESULT_COLUMNS) + cls
        return c + n_target + RESULT_COLUMNS.index(kind)

    def sort_key(self, column: int) -> str:
        kind, cls = self.column_kind(column)
        if kind is Column.CLASS:
            return f"{'probability' if self.show_probabilities else 'logit'}:{cls}"
        if kind is Column.SOFT:
            return f"target:{cls}"
        if kind is Column.EXTRA:
            return f"extra:{self._c.table_columns()[cls].key}"
        return SORT_KEYS[kind]

    def holds_numbers(self, column: int) -> bool:
        """Whether a column shows numbers (never elided) rather than names or text."""
        kind, index = self.column_kind(column)
        if kind is Column.EXTRA:
            return self._c.table_columns()[index].kind not in ("text", "image")
        return kind not in (Column.LABEL, Column.PREDICTION)

    def column_for_sort(self, sort: Sort | None) -> int:
        """The column a sort orders by, or −1 for a sort by a statistic with no column."""
        if sort is None:
            return -1
        for column in range(self.columnCount()):
            if self.sort_key(column) == sort.key:
                return column
        return -1

    # --- QAbstractTableModel --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._c.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._kinds())

    def _column_count(self, extras: int) -> int:
        c = self.class_columns
        return c + (c if self._soft else 1) + len(RESULT_COLUMNS) + extras

    def sample_at(self, row: int) -> int:
        return self._c.sample_at(row)

    def row_of(self, sample: int) -> int | None:
        return self._c.row_of(sample)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(self.sample_at(section))
            return None
        kind, cls = self.column_kind(section)
        names = self._c.class_names
        if kind is Column.EXTRA:
            column = self._c.table_columns()[cls]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.header
            return column.tooltip or None if role == Qt.ItemDataRole.ToolTipRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            # Comparing two models: A's columns say so on a second line, as B's do.
            tag = "\nA" if self._c.comparing else ""
            if kind is Column.CLASS:
                return names[cls] + tag
            if kind is Column.SOFT:
                return f"q({names[cls]})"
            titles = self._c.column_titles()
            if kind is Column.LABEL:
                return titles.get("label", "label")
            return titles.get(kind.value, RESULT_HEADERS[kind]) + tag
        if role == Qt.ItemDataRole.ToolTipRole:
            return {
                Column.CLASS: f"logit z of class {names[cls]!r} (double-click the header to "
                "rename)",
                Column.SOFT: f"target probability of class {names[cls]!r}",
                Column.LABEL: "true class of the sample (or 'ignore')",
                Column.PREDICTION: "predicted class: argmax of the logits",
                Column.P_TRUE: "probability the model gives the true class",
                Column.LOSS: "this sample's cross-entropy loss",
                Column.MARK: "✓ correct, ✗ wrong, — ignored, ⚠ non-finite",
            }[kind]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = BASE_FLAGS
        if not index.isValid():
            return base
        kind, cls = self.column_kind(index.column())
        editable = (kind is Column.CLASS and not self.show_probabilities) or kind in (
            Column.LABEL,
            Column.SOFT,
        )
        if kind is Column.EXTRA:
            editable = self._c.table_columns()[cls].editable
        return EDITABLE_FLAGS if editable else base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in ANSWERED_ROLES:
            return None  # Qt asks ~8 roles per cell per paint; most have no answer here
        return self._cell(index.row(), index.column(), role)

    def display_text(self, row: int, column: int):
        """What the cell at (``row``, ``column``) shows, as ``data`` gives it, without making
        a QModelIndex (the view measures every visible cell after each scroll); None outside
        the table."""
        if not (0 <= row < self.rowCount() and 0 <= column < self.columnCount()):
            return None
        return self._cell(row, column, Qt.ItemDataRole.DisplayRole)

    def _cell(self, table_row: int, column: int, role: int):
        row = self.sample_at(table_row)
        kind, cls = self.column_kind(column)
        if kind is Column.EXTRA:
            assert self._plan is not None  # column_kind made it
            return self._extra_data(row, self._plan[1][cls], role)
        doc = self._c.document
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if kind in (Column.LABEL, Column.PREDICTION, Column.MARK):
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if kind is Column.CLASS:
            return self._class_data(row, cls, role)
        if kind is Column.SOFT:
            assert doc.soft_targets is not None
            value = float(doc.soft_targets[row, cls])
            if role == Qt.ItemDataRole.DisplayRole:
                return fmt.number(value)
            if role == Qt.ItemDataRole.EditRole:
                return fmt.exact(value)
            return None
        if kind is Column.LABEL:
            label = int(doc.labels[row])
            if role == Qt.ItemDataRole.DisplayRole and not doc.has_labels:
                return fmt.MISSING
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                if label == doc.settings.ignore_index:
                    return IGNORE_TEXT
                return doc.class_names[label]
            if role == Qt.ItemDataRole.UserRole:
                return label
            if role == Qt.ItemDataRole.ToolTipRole:
                return "double-click to choose the label (type to jump to a class)"
            return None
        return self._result_data(row, kind, role)

    def _class_data(self, row: int, cls: int, role: int):
        logit = float(self._c.document.logits[row, cls])
        if role == Qt.ItemDataRole.DisplayRole:
            if self.show_probabilities:
                return fmt.number(self._probability(row, cls))
            return fmt.number(logit)
        if role == Qt.ItemDataRole.EditRole:
            return fmt.exact(logit)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            p = self._probability(row, cls)
            theme = self._c.theme
            if math.isnan(logit) or math.isnan(p):
                fill = QColor(theme.incorrect).lighter(170).name()
            else:
                fill = over(theme.probability, cell_tint(p), theme.background)
            if role == Qt.ItemDataRole.ForegroundRole:  # the text reads on its tint (4.5:1)
                inks = (theme.foreground, theme.background, "#000000", "#ffffff")
                return QBrush(QColor(text_on(fill, inks)))
            return QBrush(QColor(fill))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"z = {fmt.exact(logit)}\np = {fmt.precise(self._probability(row, cls))}\n"
                f"class {self._c.class_names[cls]!r}, sample {row}"
            )
        return None

    def _result_data(self, row: int, kind: Column, role: int):
        ev = self._c.evaluation
        valid = bool(ev.valid[row])
        finite = bool(ev.finite[row])
        predicted = bool(ev.has_prediction[row])
        if kind is not Column.PREDICTION and not self._c.document.has_labels:
            return self._no_labels_data(role)
        if role == Qt.ItemDataRole.DisplayRole:
            if kind is Column.PREDICTION:
                return self._c.class_names[int(ev.predictions[row])] if predicted else fmt.NAN
            if kind is Column.P_TRUE:
                return fmt.number(float(ev.p_true[row])) if valid else fmt.MISSING
            if kind is Column.LOSS:
                return fmt.number(float(ev.losses[row])) if valid else fmt.MISSING
            if not predicted:
                return "⚠"
            if not valid:
                return fmt.MISSING
            return "✓" if ev.correct[row] else "✗"
        if role == Qt.ItemDataRole.ForegroundRole and kind is Column.MARK:
            theme = self._c.theme
            if not predicted or (valid and not ev.correct[row]):
                return QBrush(QColor(theme.text(theme.incorrect)))
            return QBrush(QColor(theme.text(theme.correct if valid else theme.ignored)))
        if role == Qt.ItemDataRole.ToolTipRole:
            if not predicted:
                return "this row's logits hold NaN, +∞ or only −∞: no prediction"
            if not finite and valid:
                return (
                    f"argmax = class {int(ev.predictions[row])}; loss = ∞ because p(true) = 0 "
                    "(the true class's logit is −∞)"
                )
            return {
                Column.PREDICTION: f"argmax = class {int(ev.predictions[row])}",
                Column.P_TRUE: f"p(true) = {fmt.precise(float(ev.p_true[row]))}",
                Column.LOSS: f"loss = {fmt.precise(float(ev.losses[row]))}",
                Column.MARK: "correct" if ev.correct[row] else "wrong" if valid else "ignored",
            }[kind]
        return None

    def _no_labels_data(self, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return NO_LABELS_TEXT
        if role == Qt.ItemDataRole.ForegroundRole:
            theme = self._c.theme
            return QBrush(QColor(theme.text(theme.ignored)))
        if role == Qt.ItemDataRole.ToolTipRole:
            return "this table has no labels: File › Open labels… attaches them"
        return None

    def _extra_data(self, row: int, column: TableColumn, role: int):
        value = column.values[row]
        if column.kind == "image":
            if role == Qt.ItemDataRole.DecorationRole:
                return self._c.inputs_session.thumbnail(int(value))
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"sample {int(value)}'s image"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if column.kind == "text":
                return " ".join(str(value)[:TEXT_CELL_CHARS].split())
            if column.kind == "bool":
                return "true" if bool(value) else "false"
            if column.kind == "count":
                return fmt.count(value) if value >= 0 else fmt.MISSING
            if column.kind == "image":
                return None
            return fmt.number(float(value))
        if role == Qt.ItemDataRole.EditRole and column.editable:
            return fmt.exact(float(value)) if column.kind == "number" else str(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.kind == "text":
                return str(value)
            return f"{column.header} = {value}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column.kind == "text":
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _probability(self, row: int, cls: int) -> float:
        return float(self._c.probabilities_row(row)[cls])

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        kind, cls = self.column_kind(index.column())
        row = self.sample_at(index.row())
        if kind is Column.CLASS and not self.show_probabilities:
            return self._c.edit_logit(row, cls, value)
        if kind is Column.SOFT:
            return self._c.edit_target(row, cls, value)
        if kind is Column.LABEL:
            return self._c.edit_label(row, value)
        if kind is Column.EXTRA and self._c.table_columns()[cls].editable:
            return self._c.edit_column(self._c.table_columns()[cls].key, row, value)
        return False

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """A header click: sort by that column (numbers by value, NaN last)."""
        if column < 0:
            self._c.set_sort(None)
            return
        descending = order == Qt.SortOrder.DescendingOrder
        self._c.set_sort(Sort(self.sort_key(column), descending))

    # --- controller -> model --------------------------------------------------------------------

    def _reset(self) -> None:
        self.beginResetModel()
        self._columns = self.columnCount()
        self.endResetModel()

    def _on_data_changed(self, change: Change, rows: np.ndarray | None) -> None:
        if self.columnCount() != self._columns:
            self._reset()
            return
        # Values that move under a sort or filter keep their rows until the user sorts again:
        # a row jumping away while it is being typed into would be maddening.
        last = self.columnCount() - 1
        if rows is not None and len(rows) <= 64:
            # A cell edit or a drag: only those samples' rows moved (the reduced loss is not in
            # the table), so repaint them and not every visible cell.
            for sample in rows:
                row = self.row_of(int(sample))
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            return
        self._all_changed(last)

    def _all_changed(self, last_column: int) -> None:
        if self.rowCount():  # an empty (filtered) table has no index range to name
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, last_column))

    def _on_names_changed(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        self._all_changed(self._columns - 1)

    def _on_view_changed(self, fields: frozenset[str]) -> None:
        if "show_probabilities" in fields:
            self._class_cells_changed()

    def _class_cells_changed(self) -> None:
        if self.class_columns:
            self._all_changed(self.class_columns - 1)
