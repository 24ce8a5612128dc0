"""Where the first window goes on a screen: the user's last place if it still fits, else most of
the screen, centred. Rectangles are (x, y, width, height) in the screen's logical pixels."""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[int, int, int, int]

FIRST_WINDOW_SHARE = 0.9
"""The first window covers at most this share of the screen's available width and height."""
FIRST_WINDOW_MAX = (1920, 1200)
"""…and no more than this: on a 4K screen a window of 3456 px says little more than 1920 px."""


def fits(rect: Sequence[int], available: Sequence[int], minimum: Sequence[int] = (0, 0)) -> bool:
    """Whether ``rect`` lies wholly inside ``available`` and is at least ``minimum`` large."""
    x, y, w, h = (int(v) for v in rect)
    ax, ay, aw, ah = (int(v) for v in available)
    return (
        w >= minimum[0]
        and h >= minimum[1]
        and x >= ax
        and y >= ay
        and x + w <= ax + aw
        and y + h <= ay + ah
    )


def first_window_rect(
    available: Sequence[int],
    saved: Sequence[int] | None = None,
    minimum: Sequence[int] = (0, 0),
) -> Rect:
    """The first window's place: ``saved`` (the user's last) when it fits ``available`` (the
    screen less its panels) and ``minimum``; otherwise at most 90 % of ``available`` (and of
    ``FIRST_WINDOW_MAX``), at least ``minimum`` (capped by the screen), centred."""
    ax, ay, aw, ah = (int(v) for v in available)
    if saved is not None and len(saved) == 4 and fits(saved, available, minimum):
        return tuple(int(v) for v in saved)  # type: ignore[return-value]
    w = min(round(aw * FIRST_WINDOW_SHARE), FIRST_WINDOW_MAX[0])
    h = min(round(ah * FIRST_WINDOW_SHARE), FIRST_WINDOW_MAX[1])
    w, h = min(max(w, int(minimum[0])), aw), min(max(h, int(minimum[1])), ah)
    return ax + (aw - w) // 2, ay + (ah - h) // 2, w, h
