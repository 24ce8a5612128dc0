"""The compare header: shown above the window's views while two models are compared. It names
both models with their summaries, counts what B fixed and broke, picks whose gradient the
Gradient plot shows, and stops comparing. It only draws what it is given and sends intents."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)
from superqt.utils import signals_blocked

from softmax_lab.core.constants import elide
from softmax_lab.gui.theme import LIGHT, Theme


class CompareBar(QFrame):
    """One line per model and a line of counts, a "gradient of" box and a stop button."""

    sigStopRequested = Signal()
    sigGradientModelChosen = Signal(str)  # "a" or "b"

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # As tall as its text: a tall window gives its height to the views, not to this bar.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._theme = theme
        self._lines: dict[str, str] = {}
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        # Two lines that never wrap (a wrapped label asks for height it then keeps): on a narrow
        # window the line ends are cut, and the tooltip holds the whole text.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gradient_box = QComboBox()
        self.gradient_box.setToolTip("whose gradient ∂loss/∂z the Gradient plot shows")
        self.gradient_label = QLabel("Gradient of")
        self.stop_button = QPushButton("Stop comparing")
        self.stop_button.setToolTip("Back to one model (Undo brings model B back)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.gradient_label)
        layout.addWidget(self.gradient_box)
        layout.addWidget(self.stop_button)
        self.stop_button.clicked.connect(self.sigStopRequested)
        self.gradient_box.activated.connect(
            lambda i: self.sigGradientModelChosen.emit(self.gradient_box.itemData(i))
        )
        self.set_names(("A", "B"))
        self.set_theme(theme)

    def set_names(self, names: tuple[str, str]) -> None:
        with signals_blocked(self.gradient_box):
            current = self.gradient_box.currentData() or "a"
            self.gradient_box.clear()
            for key, tag, name in (("a", "A", names[0]), ("b", "B", names[1])):
                self.gradient_box.addItem(f"{tag} ({elide(name, 20)})", key)
            self.gradient_box.setCurrentIndex(0 if current == "a" else 1)

    def set_gradient_model(self, model: str) -> None:
        with signals_blocked(self.gradient_box):
            self.gradient_box.setCurrentIndex(0 if model == "a" else 1)

    def set_header(self, lines: dict[str, str]) -> None:
        """``lines``: "a", "b" (each model's name and summary) and "counts"."""
        self._lines = dict(lines)
        self._render()

    def text(self) -> str:
        return self.label.text()

    def plain_text(self) -> str:
        return "\n".join(self._lines.get(k, "") for k in ("a", "b", "counts"))

    def _render(self) -> None:
        t = self._theme
        a, b, counts = (escape(self._lines.get(k, "")) for k in ("a", "b", "counts"))
        # The swatches match the sample plot: A solid, B hatched in the model-B colour.
        self.label.setText(
            f"<span style='color:{t.probability}'>▮</span> {a}&nbsp;&nbsp;│&nbsp;&nbsp;"
            f"<span style='color:{t.model_b}'>▨</span> {b}<br>{counts}"
        )
        self.label.setToolTip(self.plain_text())

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.label, self.gradient_box, self.gradient_label, self.stop_button):
            widget.setFont(font)
        self._render()
