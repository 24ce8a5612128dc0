"""Text on bars, shared by the plots that draw bars: each bar's value and role at its end
(:class:`BarLabels`) and marks for values that could not be drawn as is (:class:`MarkPool`:
"−∞", "NaN", "1e+30").

Both keep a pool of text items that grows to what has been shown and is reused: nothing is made
or removed per update, and a plot that never shows 40 labels never makes them (a window builds
~500 such items otherwise, a tenth of its start-up).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from softmax_lab.core import formatting as fmt
from softmax_lab.core.contrast import TEXT_RATIO, contrast, text_on
from softmax_lab.gui.plotkit import CasedOutline, halo, place_end_label, style_text
from softmax_lab.gui.theme import Theme


class _TextPool:
    """Up to ``size`` text items on ``plot``, made the first time they are needed."""

    def __init__(self, plot: pg.PlotItem, size: int, z: float) -> None:
        self._plot = plot
        self._size = size
        self._z = z
        self._theme: Theme | None = None
        self.items: list[pg.TextItem] = []

    def _grow(self, n: int) -> None:
        while len(self.items) < min(n, self._size):
            item = pg.TextItem(anchor=(0.5, 1))
            item.setZValue(self._z)
            item.hide()
            if self._theme is not None:
                style_text(item, self._theme, 11)
            self._plot.addItem(item, ignoreBounds=True)
            self.items.append(item)


class MarkPool(_TextPool):
    """Text marks ("−∞", "NaN", "1e+30") for bars whose value could not be drawn as is."""

    def __init__(self, plot: pg.PlotItem, size: int) -> None:
        super().__init__(plot, size, 20)

    def show(self, marks: Sequence[tuple[float, float, str, bool]]) -> None:
        """marks: (x, y, text, hang_below) for each bar to label; the rest are hidden."""
        self._grow(len(marks))
        for i, item in enumerate(self.items):
            if i < len(marks):
                x, y, text, hang_below = marks[i]
                item.setText(text)
                item.setAnchor((0.5, 0 if hang_below else 1))
                item.setPos(x, y)
                item.show()
            else:
                item.hide()

    def texts(self) -> list[str]:
        return [item.toPlainText() for item in self.items if item.isVisible()]

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        for item in self.items:
            style_text(item, theme, 11)


VALUE_LABEL_BARS = 12
"""Up to this many bars, each carries its value at its end; beyond, only the true and predicted
classes do (with their role)."""


class BarLabels(_TextPool):
    """A label at the end of a bar: its value and, for the true or predicted class, its role on
    a second line; placed outside the bar when there is room in the view (over a halo, in the
    role's text colour), else just inside it, with no halo to cover the bar's top and in black
    or white, whichever reads on the bar (``bar_colours``: the fill of bars ending at or above
    zero and below it)."""

    def __init__(self, plot: pg.PlotItem, size: int) -> None:
        super().__init__(plot, size, 30)
        self.bar_colours = ("#ffffff", "#ffffff")
        self.bars: pg.BarGraphItem | None = None
        """The bars labelled: a value label over another bar is left out (the hover tells)."""
        self._vb = plot.getViewBox()
        self._entries: list[tuple[float, float, str, str | None]] = []
        self._vb.sigRangeChanged.connect(self.place)
        self._vb.sigResized.connect(self.place)

    def set(self, entries: Sequence[tuple[float, float, str, str | None]]) -> None:
        """entries: (x, bar end, text, colour or None for the foreground) per labelled bar."""
        self._entries = list(entries)[: self._size]
        self._grow(len(self._entries))
        for i, item in enumerate(self.items):
            if i < len(self._entries):
                text, color = self._entries[i][2], self._entries[i][3]
                if item.toPlainText() != text:  # re-laying out a text costs more than the rest
                    item.setText(text)
                if self._theme is not None:
                    wanted = pg.mkColor(color or self._theme.foreground)
                    if item.color != wanted:
                        item.setColor(wanted)
        self.place()

    def place(self, *_args: object) -> None:
        """Place every label; a value label that would overlap a role label (or an earlier
        value label: narrow bars at a large scale) is left out: the hover still tells it."""
        taken: list = []
        n = len(self._entries)
        # Role labels (the true and predicted class) claim their place first.
        order = sorted(range(n), key=lambda i: self._entries[i][3] is None)
        for i in order:
            item = self.items[i]
            x, end, _text, color = self._entries[i]
            margin = 0.0
            if color is not None and self._theme is not None:  # clear of its outline
                margin = self._theme.px(3) + CasedOutline.GAP
            outside = place_end_label(item, self._vb, x, end, margin)
            self._colour(item, outside, color, self.bar_colours[0 if end >= 0 else 1])
            item.show()
            item.updateTransform(force=True)
            rect = item.sceneBoundingRect()
            neighbours = self._other_bars_under(item, x)
            if neighbours and color is None:
                item.hide()  # a value over a neighbour's bar: the hover tells it
                continue
            if neighbours and outside and self._theme is not None:
                # A role over a neighbour's bar: no halo to hide it, in a shade of the role's
                # colour that reads on that bar and on the background alike (where one does:
                # else the halo stays, over the neighbour's side, not its top).
                ink = self._theme.text(color or "#000000", *neighbours)
                surfaces = (self._theme.background, *neighbours)
                if all(contrast(ink, s) >= TEXT_RATIO for s in surfaces):
                    item.fill = pg.mkBrush(None)
                    item.setColor(pg.mkColor(ink))
                    item.update()
            if _clashes(rect, taken):
                if self._entries[i][3] is None:
                    item.hide()  # a value: the hover tells it
                    continue
                rect = self._restack(item, rect, taken)  # a role: above or below the other
            taken.append(rect)
        for item in self.items[n:]:
            item.hide()

    def _bar_px(self) -> float:
        """A bar's width in pixels (infinite when unknown)."""
        bars, px = self.bars, self._vb.viewPixelSize()[0]
        if bars is None or not px:
            return float("inf")
        return float(bars.opts.get("width", 0.8)) / px

    def _other_bars_under(self, item: pg.TextItem, x: float) -> list[str]:
        """The fills of the bars other than its own that ``item`` lies over."""
        bars = self.bars
        if bars is None or bars.opts.get("x") is None or not item.isVisible():
            return []
        # The text's own box, less its padding: a touch at the corner is no cover.
        inner = item.sceneBoundingRect().adjusted(4, 3, -4, -3)
        area = self._vb.mapSceneToView(inner).boundingRect()
        half = float(bars.opts.get("width", 0.8)) / 2
        bx = np.asarray(bars.opts["x"], dtype=np.float64)
        height = np.asarray(bars.opts["height"], dtype=np.float64)
        n = min(bx.size, height.size)
        bx, height = bx[:n], height[:n]
        lo, hi = np.minimum(0.0, height), np.maximum(0.0, height)
        hit = (
            (np.abs(bx - x) >= 1e-9)  # not its own bar
            & (area.left() < bx + half)
            & (area.right() > bx - half)
            & (area.top() < hi)
            & (area.bottom() > lo)
        )
        positive, negative = self.bar_colours
        return [positive if h >= 0 else negative for h in height[hit].tolist()]

    def _colour(self, item: pg.TextItem, outside: bool, role: str | None, bar: str) -> None:
        if self._theme is None:
            return
        if outside:
            wanted = pg.mkColor(role or self._theme.foreground)
            fill = halo(self._theme)
        elif item.boundingRect().width() - 8 > self._bar_px():
            # Inside a bar narrower than the text: black or white would leave the bar; the
            # role's colour over a halo reads wherever it lies.
            wanted = pg.mkColor(role or self._theme.foreground)
            fill = halo(self._theme)
        else:
            wanted = pg.mkColor(text_on(bar))
            fill = pg.mkBrush(None)
        if item.color != wanted:
            item.setColor(wanted)
        if item.fill != fill:
            item.fill = fill
            item.update()

    def _restack(self, item: pg.TextItem, rect: QRectF, taken: list[QRectF]) -> QRectF:
        """Move a role label just above or below the labels it collides with, where it stays in
        the view and clear of the rest; where there is no such place it stays as it was."""
        view = self._vb.sceneBoundingRect()
        pixel_h = self._vb.viewPixelSize()[1] or 0.0
        for other in taken:
            for dy in (other.top() - rect.bottom() - 2, other.bottom() - rect.top() + 2):
                moved = rect.translated(0, dy)
                if view.contains(moved) and not _clashes(moved, taken):
                    pos = item.pos()
                    item.setPos(pos.x(), pos.y() - dy * pixel_h)  # scene y grows downwards
                    return moved
        return rect

    def texts(self) -> list[str]:
        return [item.toPlainText() for item in self.items if item.isVisible()]

    def height_px(self) -> float:
        """The tallest label's height in pixels (0 when none is shown)."""
        shown = [item.boundingRect().height() for item in self.items[: len(self._entries)]]
        return max(shown, default=0.0)

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        for i, item in enumerate(self.items):
            color = self._entries[i][3] if i < len(self._entries) else None
            style_text(item, theme, 11, color or theme.foreground)
        self.place()


def _clashes(rect: QRectF, taken: list[QRectF]) -> bool:
    return any((rect & o).width() > 1 and (rect & o).height() > 1 for o in taken)


def bar_label_entries(
    x: np.ndarray,
    ends: np.ndarray,
    values: np.ndarray,
    classes: np.ndarray,
    roles: dict[int, tuple[str, str]],
    clamped: np.ndarray,
) -> list[tuple[float, float, str, str | None]]:
    """Labels for the bars of a chart: every bar's value while there are few bars, else only the
    role bars; ``roles`` maps a class to (role text, colour). Values that could not be drawn
    are left to the bar marks."""
    few = len(x) <= VALUE_LABEL_BARS
    out = []
    for slot, cls in enumerate(classes.tolist()):
        role = roles.get(int(cls))
        if not few and role is None:
            continue
        value = "" if clamped[slot] else fmt.number(values[slot])
        text = "\n".join(part for part in (value, role[0] if role else "") if part)
        if text:
            out.append((float(x[slot]), float(ends[slot]), text, role[1] if role else None))
    return out


def bar_marks(x: np.ndarray, heights: np.ndarray, values: np.ndarray, mask: np.ndarray) -> list:
    """Marks for the masked bars: inside the clamped bar's far end (so the text never leaves the
    view), or just above 0 for NaN."""
    return [
        (float(x[slot]), float(heights[slot]), fmt.precise(values[slot]), heights[slot] > 0)
        for slot in np.flatnonzero(mask)
    ]
