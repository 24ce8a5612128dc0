"""The table view: label combo editor, copy/paste of blocks, renaming classes from the header."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QInputDialog,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from core.parsing import format_block, parse_block
from gui.table_model import IGNORE_TEXT, Column, LogitsTableModel


class LabelDelegate(QStyledItemDelegate):
    """A combo of class names plus 'ignore' (which maps to ignore_index)."""

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        model: LogitsTableModel = index.model()
        combo = QComboBox(parent)
        combo.addItems([*model.document.class_names, IGNORE_TEXT])
        # Commit as soon as a choice is made: one click to open, one to pick.
        combo.activated.connect(lambda _=None, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QComboBox, index) -> None:
        text = index.data(Qt.ItemDataRole.EditRole)
        editor.setCurrentIndex(max(0, editor.findText(text)))

    def setModelData(self, editor: QComboBox, model: LogitsTableModel, index) -> None:
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class LogitsTableView(QTableView):
    """Copy (Ctrl+C) and paste (Ctrl+V) blocks; double-click a class header to rename it."""

    sigMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # At the desk PgUp/PgDn page through rows when the table has focus; in presentation
        # mode the window's preset shortcuts take them.
        self.pages_rows = True
        self._label_delegate = LabelDelegate(self)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setAlternatingRowColors(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(62)
        header.setMinimumSectionSize(40)
        header.sectionDoubleClicked.connect(self._rename_class)
        self.verticalHeader().setDefaultSectionSize(24)

    def setModel(self, model: LogitsTableModel) -> None:
        super().setModel(model)
        # Header clicks sort (in the model, by numpy); start unsorted, in table order.
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        model.modelReset.connect(self._set_delegates)
        self._set_delegates()

    def table_model(self) -> LogitsTableModel:
        return self.model()

    def _set_delegates(self) -> None:
        model = self.table_model()
        for column in range(model.columnCount()):
            kind, _ = model.column_kind(column)
            self.setItemDelegateForColumn(
                column, self._label_delegate if kind is Column.LABEL else None
            )

    # --- rename ---------------------------------------------------------------------------------

    def _rename_class(self, section: int) -> None:
        model = self.table_model()
        kind, cls = model.column_kind(section)
        if kind is not Column.CLASS:
            return
        old = model.document.class_names[cls]
        name, ok = QInputDialog.getText(self, "Rename class", f"New name for {old!r}:", text=old)
        if ok:
            self.rename_class(cls, name)

    def rename_class(self, cls: int, name: str) -> None:
        try:
            self.table_model().document.rename_class(cls, name)
        except ValueError as exc:
            self.sigMessage.emit(f"Not renamed: {exc}")

    # --- clipboard ------------------------------------------------------------------------------

    def event(self, event) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and self.pages_rows
            and event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste(QGuiApplication.clipboard().text())
        else:
            super().keyPressEvent(event)

    def copy_selection(self) -> str:
        """Selected cells as tab-separated text (logits at full precision) to the clipboard."""
        indexes = self.selectedIndexes() or (
            [self.currentIndex()] if self.currentIndex().isValid() else []
        )
        if not indexes:
            return ""
        rows = sorted({i.row() for i in indexes})
        cols = sorted({i.column() for i in indexes})
        model = self.table_model()
        if all(model.column_kind(c)[0] is Column.CLASS for c in cols) and not (
            model.show_probabilities
        ):
            samples = [model.sample_at(r) for r in rows]
            text = format_block(model.document.logits[samples][:, cols])
        else:
            text = "\n".join("\t".join(str(model.index(r, c).data()) for c in cols) for r in rows)
        QGuiApplication.clipboard().setText(text)
        self.sigMessage.emit(f"Copied {len(rows)} x {len(cols)} cells")
        return text

    def paste(self, text: str) -> None:
        """Paste a block of logits at the top-left of the selection; rows grow, columns clip."""
        model = self.table_model()
        indexes = self.selectedIndexes() or [self.currentIndex()]
        valid = [i for i in indexes if i.isValid()]
        row = min((i.row() for i in valid), default=0)
        col = min((i.column() for i in valid), default=0)
        if model.column_kind(col)[0] is not Column.CLASS or model.show_probabilities:
            self.sigMessage.emit("Not pasted: select a logit cell (in the logits view) first")
            return
        try:
            block = parse_block(text)
            if model.is_reordered and block.shape[0] > 1:
                raise ValueError(
                    "the table is sorted or filtered: show all samples in table "
                    "order to paste several rows"
                )
            message = model.document.paste_logits(model.sample_at(row), col, block)
        except ValueError as exc:
            self.sigMessage.emit(f"Not pasted: {exc}")
            return
        self.sigMessage.emit(message[0].upper() + message[1:])
