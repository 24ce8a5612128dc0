"""The status bar's two voices: messages for 8 s at its left and the table's summary at its
right, each kept to the room the other leaves (Qt would draw the two over each other)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar

MESSAGE_MS = 8000


class StatusLine(QLabel):
    """The summary label, placed at the right of ``bar``; ``show_message`` uses the rest."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__()
        self._bar = bar
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addPermanentWidget(self)

    def show_message(self, text: str) -> None:
        """A message for 8 s, elided to the room left of the summary; the whole text is in the
        status bar's tooltip."""
        self._bar.setToolTip(text)
        self._bar.showMessage(self._elided(text), MESSAGE_MS)

    def _elided(self, text: str) -> str:
        bar = self._bar
        room = bar.width() - self.sizeHint().width() - 32
        return bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(room, 80))

    def set_summary(self, text: str) -> None:
        """The summary; a message on show is elided again to the room the new summary leaves
        (opening a file lengthens both at once)."""
        if text == self.text():
            return
        self.setText(text)
        bar = self._bar
        if bar.currentMessage() and bar.toolTip():
            shown = self._elided(bar.toolTip())
            if shown != bar.currentMessage():
                bar.showMessage(shown, MESSAGE_MS)  # Qt keeps no time left: a fresh 8 s
