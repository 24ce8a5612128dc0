"""The table's label editor: a list of the class names plus "ignore" that opens at once."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from softmax_lab.gui.table_model import IGNORE_TEXT, LogitsTableModel


class LabelDelegate(QStyledItemDelegate):
    """A list of the class names plus "ignore", as wide as the longest name, that opens at once
    and jumps to a class as its name is typed."""

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        model = index.model()
        assert isinstance(model, LogitsTableModel)  # the delegate of this view's model only
        combo = QComboBox(parent)
        combo.addItems([*model.controller.class_names, IGNORE_TEXT])
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        metrics = QFontMetrics(combo.font())
        widest = max(metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
        combo.view().setMinimumWidth(widest + 48)
        # Commit as soon as a choice is made: one click to open, one to pick.
        combo.activated.connect(lambda _=None, c=combo: self.commitData.emit(c))
        QTimer.singleShot(0, combo.showPopup)
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)  # made by createEditor
        text = index.data(Qt.ItemDataRole.EditRole)
        editor.setCurrentIndex(max(0, editor.findText(text)))

    def setModelData(
        self,
        editor: QWidget,
        model: QAbstractItemModel,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        assert isinstance(editor, QComboBox)  # made by createEditor
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
