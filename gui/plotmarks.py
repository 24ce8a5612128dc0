"""Text on bars, shared by the plots that draw bars: each bar's value and role at its end
(:class:`BarLabels`) and marks for values that could not be drawn as is (:class:`MarkPool`:
"−∞", "NaN", "1e+30").

Both keep a pool of text items that grows to what has been shown and is reused: nothing is made
or removed per update, and a plot that never shows 40 labels never makes them (a window builds
~500 such items otherwise, a tenth of its start-up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF

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
    a second line; placed outside the bar, in the room the plot's y range leaves for it
    (:meth:`fit_range`, from the view box's height and the font's line height). Where that room
    would take more than ``ROOM_MAX`` of the view, the labels are ``compact``: the value only
    (the outline still says the role, the hover says all). A label that still finds no room
    outside goes inside its bar only where it fits there whole, with no halo to cover the bar's
    top and in black or white, whichever reads on the bar (``bar_colours``: the fill of bars
    ending at or above zero and below it); else it is left out (the hover tells)."""

    ROOM_MAX = 0.4
    """The most of a view box's height two-line labels' room may take (else ``compact``)."""
    ROOM_LIMIT = 0.5
    """The most one-line labels' room may take, above and below the bars together: beyond it
    the bars keep the view and a value label without room is left to the hover. A side with a
    role label keeps its whole room (up to ``ROLE_ROOM_MAX``): a role is not left out for room
    given to the value labels."""
    ROLE_ROOM_MAX = 0.75
    """The most the role labels' room may take of a view box's height (the bars keep the rest)."""

    def __init__(self, plot: pg.PlotItem, size: int) -> None:
        super().__init__(plot, size, 30)
        self.bar_colours = ("#ffffff", "#ffffff")
        self.bars: pg.BarGraphItem | None = None
        """The bars labelled: a value label over another bar is left out (the hover tells)."""
        self._vb = plot.getViewBox()
        self._entries: list[tuple[float, float, str, str | None]] = []
        self.compact = False
        """The value only, no role line: a view too low for two lines (see fit_range)."""
        self._vb.sigRangeChanged.connect(self.place)
        self._vb.sigResized.connect(self.place)

    def set(self, entries: Sequence[tuple[float, float, str, str | None]]) -> None:
        """entries: (x, bar end, text, colour or None for the foreground) per labelled bar."""
        self._entries = list(entries)[: self._size]
        self._grow(len(self._entries))
        self._retext()

    def _retext(self) -> None:
        for i, item in enumerate(self.items):
            if i < len(self._entries):
                text, color = self._entries[i][2], self._entries[i][3]
                if self.compact:
                    text = text.split("\n")[0]
                if item.toPlainText() != text:  # re-laying out a text costs more than the rest
                    item.setText(text)
                if self._theme is not None:
                    wanted = pg.mkColor(color or self._theme.foreground)
                    if item.color != wanted:
                        item.setColor(wanted)
        self.place()

    def _lines(self, above: bool) -> int:
        """The most lines of a label beyond a bar's end above 0 (``above``) or below it."""
        return max((e[2].count("\n") + 1 for e in self._entries if (e[1] >= 0) == above), default=0)

    def _label_px(self, lines: int) -> float:
        """The height in pixels of a label of ``lines`` lines, outline margin included: the
        font's line spacing and the text item's padding."""
        if lines == 0 or self._theme is None:
            return 0.0
        self._grow(1)
        text = self.items[0].textItem
        line = math.ceil(QFontMetricsF(text.font()).lineSpacing())  # a text lays out whole px
        margin = self._theme.px(3) + CasedOutline.GAP  # a role's outline, outside its bar
        return lines * line + 2 * text.document().documentMargin() + 3 + margin

    def fit_range(self, lo: float, hi: float, padding: float = 0.1) -> tuple[float, float]:
        """The y range to ask for (the view box pads it by ``padding`` on each side) so that
        the labels fit beyond the ends of bars spanning [lo, hi]: above the bars ending over 0,
        below those ending under it. Decides ``compact`` (one line) when the labels' room would
        take more than ROOM_MAX of the view box's height."""
        height = float(self._vb.height())
        if height <= 0:
            return lo, hi
        lines = (self._lines(above=True), self._lines(above=False))
        shares = [self._label_px(n) / height for n in lines]
        compact = max(lines) > 1 and sum(shares) > self.ROOM_MAX
        if compact != self.compact:
            self.compact = compact
            self._retext()
        shares = self._shares(height)
        # The view spans (1 + 2 padding) x of the asked range x = span + top + bottom; beyond a
        # labelled end it must leave ``share`` of the view: room + padding x >= share view.
        need = [max(0.0, share * (1 + 2 * padding) - padding) if share else 0.0 for share in shares]
        span = (hi - lo) or 1.0
        x = span / max(1e-6, 1 - sum(need))
        return lo - need[1] * x, hi + need[0] * x

    def have_room(self) -> bool:
        """Whether the view as it is leaves the labels their room beyond the bars' ends (a held
        axis may not: the plot then fits again)."""
        height = float(self._vb.height())
        if height <= 0 or not self._entries:
            return True
        view_lo, view_hi = self._vb.viewRange()[1]
        px = height / ((view_hi - view_lo) or 1.0)  # pixels per data unit
        shares = self._shares(height)
        for above in (True, False):
            ends = [e[1] for e in self._entries if (e[1] >= 0) == above]
            if not ends:
                continue
            room = (view_hi - max(ends)) if above else (min(ends) - view_lo)
            if room * px < shares[0 if above else 1] * height - 0.5:
                return False
        return True

    def _shares(self, height: float) -> list[float]:
        """The labels' room above and below the bars, each a share of the view box's
        ``height``: a label's height (one line when ``compact``). Where they would take more
        than ROOM_LIMIT (a low view), a side with a role label keeps its room (up to
        ROLE_ROOM_MAX: the bars keep the rest) and the value labels' side gets what is left."""
        lines = [self._lines(above=True), self._lines(above=False)]
        if self.compact:
            lines = [min(n, 1) for n in lines]
        shares = [self._label_px(n) / height for n in lines]
        if sum(shares) <= self.ROOM_LIMIT:
            return shares
        roles = [self._has_role(above=True), self._has_role(above=False)]
        kept = sum(share for share, role in zip(shares, roles, strict=True) if role)
        if kept > self.ROLE_ROOM_MAX:  # a tiny view: the bars keep a quarter of it
            return [
                share * self.ROLE_ROOM_MAX / kept if role else 0.0
                for share, role in zip(shares, roles, strict=True)
            ]
        rest = sum(share for share, role in zip(shares, roles, strict=True) if not role)
        left = max(0.0, self.ROOM_LIMIT - kept)
        scale = min(1.0, left / rest) if rest else 0.0
        return [share if role else share * scale for share, role in zip(shares, roles, strict=True)]

    def _has_role(self, above: bool) -> bool:
        """Whether a role label (the true or predicted class) lies beyond a bar's end above 0
        (``above``) or below it."""
        return any(e[3] is not None for e in self._entries if (e[1] >= 0) == above)

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
            margin_px = 0.0
            if color is not None and self._theme is not None:  # clear of its outline
                margin_px = self._theme.px(3) + CasedOutline.GAP
            outside = place_end_label(item, self._vb, x, end, margin_px)
            if not outside and not self._fits_inside(item, end):
                item.hide()  # no room beyond the bar nor in it: the hover tells
                continue
            self._colour(item, outside, color, self.bar_colours[0 if end >= 0 else 1])
            item.show()
            item.updateTransform(force=True)
            rect = item.sceneBoundingRect()
            neighbours = self._other_bars_under(item, x)
            # A role wider than its bar, over a longer neighbour: beyond that one's end.
            beyond = neighbours and outside and color is not None
            if beyond and self._beyond_neighbours(item, x, end, margin_px):
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
            elif outside and self._other_bars_under(item, x, pad=0):
                # Only its halo's edge reaches a neighbour's bar (a label wider than a narrow
                # bar): the text itself sits on the background, a halo would notch the bar.
                item.fill = pg.mkBrush(None)
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

    def _other_bars_under(self, item: pg.TextItem, x: float, pad: int = 1) -> list[str]:
        """The fills of the bars other than its own that ``item`` lies over: its text (``pad``
        1, the box less its padding: a touch at the corner is no cover) or its whole box (0)."""
        bars = self.bars
        if bars is None or bars.opts.get("x") is None or not item.isVisible():
            return []
        inner = item.sceneBoundingRect().adjusted(4 * pad, 3 * pad, -4 * pad, -3 * pad)
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

    def _beyond_neighbours(self, item: pg.TextItem, x: float, end: float, margin: float) -> bool:
        """Move ``item`` past the ends of the other bars it lies over (on its side of 0), where
        it stays in the view; False, and left where it was, where it would not."""
        bars = self.bars
        if bars is None or bars.opts.get("x") is None:
            return False
        area = self._vb.mapSceneToView(item.sceneBoundingRect()).boundingRect()
        half = float(bars.opts.get("width", 0.8)) / 2
        ends = [
            float(height)
            for bx, height in zip(bars.opts["x"], bars.opts["height"], strict=False)
            if abs(float(bx) - x) >= 1e-9
            and area.left() < bx + half
            and area.right() > bx - half
            and (float(height) >= 0) == (end >= 0)
        ]
        if not ends:
            return False
        far = max(ends) if end >= 0 else min(ends)
        if place_end_label(item, self._vb, x, far, margin):
            item.updateTransform(force=True)
            return True
        place_end_label(item, self._vb, x, end, margin)
        item.updateTransform(force=True)
        return False

    def _fits_inside(self, item: pg.TextItem, end: float) -> bool:
        """Whether the text (less its padding) lies whole inside its bar, from its end."""
        rect = item.boundingRect()
        pixel_h = self._vb.viewPixelSize()[1] or 0.0
        length_px = abs(end) / pixel_h if pixel_h else float("inf")
        return rect.width() - 8 <= self._bar_px() and rect.height() - 6 <= length_px

    def _colour(self, item: pg.TextItem, outside: bool, role: str | None, bar: str) -> None:
        if self._theme is None:
            return
        if outside:
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
