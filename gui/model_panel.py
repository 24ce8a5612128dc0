"""The Model panel: what a live model reads (a prompt, or one text per line) and the generation
controls (Step, Play, Back). It only draws what it is given and sends intents."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from softmax_lab.core.constants import elide

PLACEHOLDERS = {
    "causal-lm": "Type a prompt: each token becomes a row, the last one is selected",
    "text-classification": "One text per line: each line becomes a row with the model's logits",
    "image-classification": "Drop images on the window: each becomes a row",
}


class ModelPanel(QFrame):
    """Shown while a model is open: its name, the input box, and for a causal LM the generation
    buttons and a line that says why the last token was drawn."""

    sigTextChanged = Signal(str)
    sigStepRequested = Signal()
    sigBackRequested = Signal()
    sigPlayToggled = Signal(bool)
    sigCloseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.close_button = QPushButton("Close model")
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("modelInput")
        self.editor.setTabChangesFocus(True)
        self.editor.setMaximumHeight(96)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Draw one token at the Top-k/p tab's T, k and p")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Draw a token every moment until stopped (64 at most)")
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("Take the last drawn token back")
        self.why = QLabel()
        self.why.setTextFormat(Qt.TextFormat.PlainText)
        self.why.setWordWrap(True)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.close_button)
        self.generate_row = QWidget()
        buttons = QHBoxLayout(self.generate_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(QLabel("Generate"))
        for button in (self.step_button, self.play_button, self.back_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(head)
        layout.addWidget(self.editor)
        layout.addWidget(self.generate_row)
        layout.addWidget(self.why)

        self.editor.textChanged.connect(lambda: self.sigTextChanged.emit(self.editor.toPlainText()))
        self.step_button.clicked.connect(self.sigStepRequested)
        self.back_button.clicked.connect(self.sigBackRequested)
        self.play_button.toggled.connect(self.sigPlayToggled)
        self.close_button.clicked.connect(self.sigCloseRequested)
        self.set_model("", "")

    def set_model(self, name: str, kind: str) -> None:
        self.setVisible(bool(kind))
        self.title.setText(f"Model · {elide(name, 60)} · {kind}" if kind else "")
        self.title.setToolTip(name)
        self.editor.setPlaceholderText(PLACEHOLDERS.get(kind, ""))
        self.editor.setVisible(kind != "image-classification")
        self.generate_row.setVisible(kind == "causal-lm")
        self.why.setVisible(kind == "causal-lm")
        self.set_generation(0, False)

    def set_text(self, text: str) -> None:
        if text != self.editor.toPlainText():
            with signals_blocked(self.editor):
                self.editor.setPlainText(text)

    def set_generation(self, steps: int, playing: bool) -> None:
        with signals_blocked(self.play_button):
            self.play_button.setChecked(playing)
            self.play_button.setText("Stop" if playing else "Play")
        self.back_button.setEnabled(steps > 0 and not playing)
        self.status.setText(f"{steps} drawn" if steps else "")
        if not steps:
            self.why.setText("")

    def set_why(self, text: str) -> None:
        self.why.setText(text)

    def set_busy(self, busy: bool) -> None:
        """A model run is in flight: say so (the buttons stay live; a newer run supersedes it)."""
        self.title.setText(
            self.title.text().removesuffix(" · running…") + (" · running…" if busy else "")
        )
