"""Contrast between colours as WCAG 2 measures it, and the darker (or lighter) variant of a hue
that reads against a background: text at least 4.5:1 (AA), marks at least 3:1.

The palette keeps its Okabe-Ito hues; only the text and mark variants move toward black (on a
light background) or white (on a dark one) until they reach the ratio. Colours are ``#rrggbb``
strings, as the themes write them.
"""

from __future__ import annotations

from functools import lru_cache

TEXT_RATIO = 4.5
"""WCAG AA for body text."""
MARK_RATIO = 3.0
"""WCAG AA for graphical objects (outlines, markers)."""

# The colour functions are cached: the table asks for the tint and ink of every class cell it
# paints (a 50,000 x 1,000 table repaints hundreds of cells at each step of a T drag), and a tint
# takes one of a few hundred #rrggbb values.


@lru_cache(maxsize=4096)
def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` (or ``#rgb``) as three 0–255 integers; ValueError for anything else."""
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def hex_colour(red: float, green: float, blue: float) -> str:
    return "#" + "".join(f"{min(255, max(0, round(v))):02x}" for v in (red, green, blue))


@lru_cache(maxsize=4096)
def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2): 0 for black, 1 for white."""

    def linear(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(colour: str, alpha: float, background: str) -> str:
    """``colour`` at opacity ``alpha`` (0–1) painted over ``background``: what the eye sees."""
    top, bottom = rgb(colour), rgb(background)
    return hex_colour(*(alpha * t + (1 - alpha) * b for t, b in zip(top, bottom, strict=True)))


@lru_cache(maxsize=4096)
def legible(colour: str, *backgrounds: str, ratio: float = TEXT_RATIO) -> str:
    """``colour`` itself when it reaches ``ratio`` against every background, else the nearest
    mix of it with black (light backgrounds) or white (dark ones) that does: the same hue,
    darker or lighter. Falls back to black or white when no mix reaches the ratio."""
    if not backgrounds:
        return colour
    if all(contrast(colour, b) >= ratio for b in backgrounds):
        return colour
    dark = sum(luminance(b) for b in backgrounds) / len(backgrounds) < 0.18
    target = (255, 255, 255) if dark else (0, 0, 0)
    base = rgb(colour)
    for step in range(1, 101):
        share = step / 100
        mixed = hex_colour(
            *((1 - share) * c + share * t for c, t in zip(base, target, strict=True))
        )
        if all(contrast(mixed, b) >= ratio for b in backgrounds):
            return mixed
    return hex_colour(*target)


@lru_cache(maxsize=4096)
def text_on(fill: str, candidates: tuple[str, ...] = ("#000000", "#ffffff")) -> str:
    """The candidate that reads best on ``fill`` (e.g. a label inside a bar)."""
    return max(candidates, key=lambda c: contrast(c, fill))
