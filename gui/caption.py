"""The caption band: the current lesson step's (or example's) title and one-line explanation,
large, above the plots — what a presenter would otherwise have to say, readable from the back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from softmax_lab.core.contrast import over
from softmax_lab.gui.text import PlainLabel
from softmax_lab.gui.theme import LIGHT, Theme

MAX_TEXT_LINES = 7
"""The caption's text takes at most this many lines; the title at most two."""
TITLE_PT, TEXT_PT, COUNTER_PT = 17.0, 14.0, 10.0
"""Point sizes at scale 1x (the desk's body text is 10 pt): the caption reads from afar."""
TINT_ALPHA = 40 / 255
"""The band's tint: the selection colour this opaque over the background."""


class CaptionBand(QFrame):
    """Title, explanation and "step 3 of 19"; ``set_caption`` renders, ``set_theme`` restyles."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("captionBand")
        # Titles and captions come from lesson files: plain text, wrapping anywhere, never
        # widening the window (gui/text.py).
        self.title = PlainLabel()
        self.text = PlainLabel()
        self.counter = QLabel()
        self.counter.setTextFormat(Qt.TextFormat.PlainText)
        for label in (self.title, self.text, self.counter):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.counter, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 8)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.text)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.set_theme(theme)

    def set_caption(self, title: str, text: str, counter: str) -> None:
        self.title.setText(title)
        self.text.setText(text)
        self.counter.setText(counter)

    def caption_text(self) -> str:
        return "\n".join(w.text() for w in (self.title, self.text, self.counter) if w.text())

    def title_point_size(self) -> float:
        return self.title.font().pointSizeF()

    def set_theme(self, theme: Theme) -> None:
        for label, size, bold in (
            (self.title, TITLE_PT, True),
            (self.text, TEXT_PT, False),
            (self.counter, COUNTER_PT, False),
        ):
            font = QFont(label.font())
            font.setPointSizeF(size * theme.scale)
            font.setBold(bold)
            label.setFont(font)
        # At most a few lines tall: text set directly (not through a lesson, whose captions are
        # bounded) is clipped rather than pushing the table and plots off the window.
        line = self.text.fontMetrics().lineSpacing()
        self.text.setMaximumHeight(MAX_TEXT_LINES * line + 4)
        self.title.setMaximumHeight(2 * self.title.fontMetrics().lineSpacing() + 4)
        palette = self.palette()
        tint = over(theme.selection, TINT_ALPHA, theme.background)  # opaque: what the eye sees
        palette.setColor(QPalette.ColorRole.Window, QColor(tint))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(theme.text(theme.foreground, tint)))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        muted = QPalette(palette)
        muted.setColor(QPalette.ColorRole.WindowText, QColor(theme.text(theme.ignored, tint)))
        self.counter.setPalette(muted)
