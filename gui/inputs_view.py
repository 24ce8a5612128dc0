"""What the selected sample is: its image large, its text and its metadata, beside its logits and
probabilities in the Sample & loss tab; and, for a table without labels, the notice that stands
where the loss plots would be, with the way to attach labels.

Views only: they show what they are handed and emit intent (``sigOpenLabels``).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QTextOption
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from softmax_lab.gui.text import ZERO_WIDTH_SPACE, breakable
from softmax_lab.gui.theme import LIGHT, Theme
from softmax_lab.gui.thumbnails import draw_image, fitted_rect

MIN_IMAGE_PIXELS = 96  # a quarter of the sample's row at 1024 x 640 still holds it


class ImageCanvas(QWidget):
    """One picture, as large as the widget allows with its aspect kept (small images are scaled
    up pixel for pixel)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._border = QColor(LIGHT.ignored)
        self.setMinimumSize(MIN_IMAGE_PIXELS, MIN_IMAGE_PIXELS)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None) -> None:
        self._image = QImage() if image is None else image
        self.update()

    def image(self) -> QImage:
        return self._image

    def set_border(self, colour: str) -> None:
        self._border = QColor(colour)
        self.update()

    def drawn_rect(self):
        """Where the picture lands in the widget (for tests: what a user sees)."""
        return fitted_rect(self._image.size(), self.rect().adjusted(4, 4, -4, -4))

    def paintEvent(self, event) -> None:
        if self._image.isNull():
            return
        painter = QPainter(self)
        target = draw_image(painter, self._image, self.rect().adjusted(4, 4, -4, -4))
        painter.setPen(self._border)
        painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()

    def sizeHint(self) -> QSize:
        return QSize(200, 200)


MAX_TEXT_SHOWN = 100_000
"""Characters of a sample's text the text box shows (the data keeps all of them)."""


def shown_text(text: str) -> str:
    """``text`` as the text box shows it, in time linear in its length: at most MAX_TEXT_SHOWN
    characters (with a note of how many there are), long words breakable (gui.text: Qt lays
    out an unbroken line in quadratic time; a 300,000-character word took 48 s)."""
    note = ""
    if len(text) > MAX_TEXT_SHOWN:
        note = f"\n… ({len(text):,} characters; the first {MAX_TEXT_SHOWN:,} are shown)"
        text = text[:MAX_TEXT_SHOWN]
    return breakable(text) + note


class InputsView(QWidget):
    """The selected sample's input: a caption, the image, the text, the metadata."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.canvas = ImageCanvas()
        self.text_box = QPlainTextEdit()
        self.text_box.setReadOnly(True)
        self.text_box.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self._text: str | None = None
        self.text_box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.metadata_label = QLabel()
        self.metadata_label.setTextFormat(Qt.TextFormat.RichText)
        self.metadata_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metadata_label.setWordWrap(True)
        self.metadata_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.caption)
        layout.addWidget(self.canvas, 3)
        layout.addWidget(self.text_box, 2)
        layout.addWidget(self.metadata_label)
        self._metadata: list[tuple[str, str]] = []
        self.set_theme(theme)
        self.set_sample("", None, None, [])

    def set_sample(
        self,
        caption: str,
        image: QImage | None,
        text: str | None,
        metadata: list[tuple[str, str]],
    ) -> None:
        """Show one sample's input (parts that are None / empty are hidden)."""
        self.caption.setText(caption)
        self.canvas.set_image(image)
        self.canvas.setVisible(image is not None)
        if text is None:
            self.text_box.clear()
        elif text != self._text:
            self.text_box.setPlainText(shown_text(text))
        self._text = text
        self.text_box.setVisible(text is not None)
        self._metadata = list(metadata)
        rows = "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>&nbsp;{html.escape(v)}</td></tr>"
            for k, v in metadata
        )
        self.metadata_label.setText(f"<table cellspacing='0'>{rows}</table>" if rows else "")
        self.metadata_label.setVisible(bool(metadata))

    # --- what it shows (tests read these, as a user reads the widget) ---------------------------

    def image(self) -> QImage:
        return self.canvas.image()

    def text(self) -> str:
        shown = self.text_box.toPlainText().replace(ZERO_WIDTH_SPACE, "")
        return shown if self.text_box.isVisibleTo(self) else ""

    def metadata(self) -> list[tuple[str, str]]:
        return list(self._metadata)

    def set_theme(self, theme: Theme) -> None:
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.caption, self.text_box, self.metadata_label):
            widget.setFont(font)
        bold = QFont(font)
        bold.setBold(True)
        self.caption.setFont(bold)
        self.canvas.set_border(theme.ignored)
        palette = self.canvas.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(theme.background))
        self.canvas.setPalette(palette)
        self.canvas.setAutoFillBackground(True)


class NoLabelsNotice(QWidget):
    """Stands in for the loss, gradient and loss-curve plots of a table without labels."""

    sigOpenLabels = Signal()

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(
            "<b>No labels</b><br>This table came without labels, so there is no loss, no "
            "gradient and no correctness yet. Predictions, confidence, margin and entropy are "
            "all shown: sort the table by them, or see the Dataset tab for the most uncertain "
            "samples.<br><br>Attach labels from a .npy, .npz, .pt, .csv or .txt file (class "
            "numbers or names), or type a label into the table."
        )
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton("Open labels…")
        self.button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.button.clicked.connect(self.sigOpenLabels)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 12)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        self.label.setFont(font)
        self.button.setFont(font)

    def text(self) -> str:
        return self.label.text()
