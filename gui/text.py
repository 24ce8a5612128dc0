"""Labels that show text from files (lesson captions, token texts) as the plain text it is.

A QLabel guesses rich text from a leading ``<``: a lesson caption ``<img src='…'>`` would load a
local file, ``<h1>`` would render huge, ``&amp;`` would show as ``&``. And a one-word caption of
10,000 characters would ask for a window 100,000 px wide, since a label never breaks a word.
:func:`plain_label` makes a label that shows text literally (``Qt.TextFormat.PlainText``),
wraps, and never asks its window for more width than it has (:class:`PlainLabel`);
:func:`breakable` lets a word longer than a line wrap anywhere (a zero-width space every few
characters of a long word).
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

BREAK_EVERY = 24
"""A word longer than this gets a break opportunity every this many characters."""
ZERO_WIDTH_SPACE = "\u200b"
_LONG_WORD = re.compile(rf"\S{{{BREAK_EVERY + 1},}}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def breakable(text: str) -> str:
    """``text`` with control characters shown as "�" and long words breakable anywhere."""
    text = _CONTROL.sub("\ufffd", text)

    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        return ZERO_WIDTH_SPACE.join(
            word[i : i + BREAK_EVERY] for i in range(0, len(word), BREAK_EVERY)
        )

    return _LONG_WORD.sub(split, text)


class PlainLabel(QLabel):
    """A wrapping plain-text label whose width the layout decides (see the module's text).
    ``text()`` returns what was set, without the added break opportunities."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plain = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setMinimumWidth(1)
        policy = self.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.setSizePolicy(policy)

    def setText(self, text: str) -> None:
        self._plain = text
        super().setText(breakable(text))

    def text(self) -> str:
        return self._plain
