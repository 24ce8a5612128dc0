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
FIT_FACTORS = (1.0, 0.9, 0.8, 0.7, 0.6)
"""On stage, the caption's type shrinks by these steps (to 60 %) while it takes more than its
share of the height (``set_max_height``)."""
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
        self._max_height: int | None = None
        self._scale = theme.scale
        self._factor = 1.0
        self.set_theme(theme)

    def set_caption(self, title: str, text: str, counter: str) -> None:
        self.title.setText(title)
        self.text.setText(text)
        self.counter.setText(counter)
        self._fit()

    def set_max_height(self, pixels: int | None) -> None:
        """On stage: the band takes at most ``pixels`` (its type shrinks, to FIT_MIN of its
        size, until its wrapped text fits), so that at 3x on 1280 x 800 the table and the
        plots keep their room; None at the desk."""
        self._max_height = pixels
        self._fit()

    def _fit(self) -> None:
        if self._max_height is None:
            if self._factor != 1.0:
                self._fonts(1.0)
            return
        width = self.width()
        for factor in FIT_FACTORS:
            self._fonts(factor)
            layout = self.layout()
            needed = layout.totalHeightForWidth(width) if layout is not None else 0
            if needed <= self._max_height:
                break

    def _fonts(self, factor: float) -> None:
        self._factor = factor
        for label, size, bold in (
            (self.title, TITLE_PT, True),
            (self.text, TEXT_PT, False),
            (self.counter, COUNTER_PT, False),
        ):
            font = QFont(label.font())
            font.setPointSizeF(size * self._scale * factor)
            font.setBold(bold)
            label.setFont(font)
        # At most a few lines tall: text set directly (not through a lesson, whose captions are
        # bounded) is clipped rather than pushing the table and plots off the window.
        line = self.text.fontMetrics().lineSpacing()
        self.text.setMaximumHeight(MAX_TEXT_LINES * line + 4)
        self.title.setMaximumHeight(2 * self.title.fontMetrics().lineSpacing() + 4)

    def caption_text(self) -> str:
        return "\n".join(w.text() for w in (self.title, self.text, self.counter) if w.text())

    def title_point_size(self) -> float:
        return self.title.font().pointSizeF()

    def set_theme(self, theme: Theme) -> None:
        self._scale = theme.scale
        self._fonts(1.0)
        self._fit()
        palette = self.palette()
        tint = over(theme.selection, TINT_ALPHA, theme.background)  # opaque: what the eye sees
        palette.setColor(QPalette.ColorRole.Window, QColor(tint))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(theme.text(theme.foreground, tint)))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        muted = QPalette(palette)
        muted.setColor(QPalette.ColorRole.WindowText, QColor(theme.text(theme.ignored, tint)))
        self.counter.setPalette(muted)
