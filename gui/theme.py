"""Colours and sizes shared by every view, so a theme or a presentation scale changes them all.

The palette is Okabe-Ito (colour-blind safe). Correct and incorrect never differ by colour
alone: views also use a mark (✓/✗) or a symbol shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtGui import QColor, QPalette

from softmax_lab.core.contrast import MARK_RATIO, legible


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    grid_alpha: float
    logit: str  # logit bars
    probability: str  # probability bars
    correct: str
    incorrect: str
    ignored: str
    true_class: str  # outline / marker of the true class
    predicted: str  # outline / marker of the predicted class
    selection: str
    reduced_line: str
    heatmap: str  # a pyqtgraph colormap name
    scale: float = 1.0  # presentation scale for fonts, line widths and markers
    model_b: str = "#CC79A7"  # a second model's bars and curves, when two are compared

    def px(self, size: float) -> int:
        """A size in pixels at this theme's scale."""
        return max(1, round(size * self.scale))

    def scaled(self, scale: float) -> Theme:
        return replace(self, scale=scale)

    def text(self, colour: str, *on: str) -> str:
        """The variant of ``colour`` that text uses: the same hue, darkened (or lightened in the
        dark theme) until it reads at 4.5:1 on the background and on ``on`` (WCAG AA)."""
        return legible(colour, self.background, *on)

    def mark(self, colour: str, *on: str) -> str:
        """The variant of ``colour`` for outlines and markers: 3:1 on the background and ``on``."""
        return legible(colour, self.background, *on, ratio=MARK_RATIO)


LIGHT = Theme(
    name="light",
    background="#ffffff",
    foreground="#222222",
    grid_alpha=0.25,
    logit="#56B4E9",
    probability="#0072B2",
    correct="#0072B2",
    incorrect="#D55E00",
    ignored="#999999",
    true_class="#009E73",
    predicted="#E69F00",
    selection="#CC79A7",
    reduced_line="#222222",
    heatmap="viridis",
)

DARK = replace(
    LIGHT,
    name="dark",
    background="#1e1e1e",
    foreground="#e6e6e6",
    logit="#56B4E9",
    # Sky-blue logits next to light-blue probabilities could not be told apart on a dark
    # background; Okabe-Ito yellow can.
    probability="#F0E442",
    correct="#56B4E9",
    reduced_line="#e6e6e6",
)

THEMES = {t.name: t for t in (LIGHT, DARK)}

DARK_WINDOW = {
    "Window": "#2b2b2b",
    "AlternateBase": "#2f2f2f",
    "Button": "#353535",
    "PlaceholderText": "#9a9a9a",
}
"""Window colours of the dark theme besides its background and foreground."""


def window_palette(theme: Theme) -> QPalette:
    """The window's palette in ``theme``: Qt's own for light, the dark colours for dark."""
    palette = QPalette()
    if theme.name == "dark":
        colours = {
            "Base": theme.background,
            "Text": theme.foreground,
            "WindowText": theme.foreground,
            "ButtonText": theme.foreground,
            **DARK_WINDOW,
        }
        for role, colour in colours.items():
            palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    return palette
