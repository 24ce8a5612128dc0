"""The filter box above the table: type ``column == value`` (choices are offered as you type) or
any text to search the samples' texts; Enter applies it, clearing it shows every sample.

A view: it renders the text the controller gives for the current ``ViewState.filter`` and sends
what the user typed back (``sigFilterEntered``); parsing is the controller's (core.filtering).
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget
from superqt.utils import signals_blocked

from softmax_lab.gui.theme import LIGHT, Theme

PLACEHOLDER = "Filter: column == value, or text to search"


class FilterBox(QLineEdit):
    """One line; ``sigFilterEntered(text)`` on Enter, on a chosen completion and when cleared."""

    sigFilterEntered = Signal(str)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(PLACEHOLDER)
        self.setClearButtonEnabled(True)
        self.setToolTip(
            "Show only some samples: split == test (a metadata column equal to a value), "
            "or any words to find in the samples' texts. Enter applies; clear to show all."
        )
        self._choices = QStringListModel(self)
        completer = QCompleter(self._choices, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        completer.activated.connect(self._on_chosen)
        self.setCompleter(completer)
        self.returnPressed.connect(lambda: self.sigFilterEntered.emit(self.text()))
        self.textEdited.connect(self._on_edited)
        self._shown = ""
        self.set_theme(theme)

    def set_choices(self, choices: list[str]) -> None:
        if choices != self._choices.stringList():
            self._choices.setStringList(choices)

    def choices(self) -> list[str]:
        return self._choices.stringList()

    def render_filter(self, text: str) -> None:
        """Show the current filter's text (empty for filters the box does not make)."""
        self._shown = text
        if text != self.text():
            with signals_blocked(self):
                self.setText(text)

    def _on_chosen(self, text: str) -> None:
        self.sigFilterEntered.emit(text)

    def _on_edited(self, text: str) -> None:
        # The clear button (or deleting everything) shows every sample again at once.
        if not text and self._shown:
            self.sigFilterEntered.emit("")

    def set_theme(self, theme: Theme) -> None:
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        self.setFont(font)
