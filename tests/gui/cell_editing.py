"""Typing into a table cell as a user does, shared by the table and window tests."""

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit


def type_into_cell(qtbot, view, index, text: str) -> None:
    """Select a cell, open its editor as a double-click would, clear it, type, press Enter."""
    view.setCurrentIndex(index)
    view.edit(index)
    editors = [e for e in view.findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, "no cell editor opened"
    editor = editors[0]
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The delegate commits on a queued call, as after a real key press.
    qtbot.waitUntil(lambda: not shiboken6.isValid(editor) or not editor.isVisible())
