"""What an edit touched (``Change`` flags): the one word of the document that views hear, so a
view may import it (it is on the views' allow-list) without reaching into the document."""

from __future__ import annotations

import enum

__all__ = ["Change"]


class Change(enum.Flag):
    """What an edit touched, so views can skip what did not move."""

    NONE = 0
    LOGITS = enum.auto()
    TARGETS = enum.auto()
    NAMES = enum.auto()
    STRUCTURE = enum.auto()  # rows or classes added or removed
    SETTINGS = enum.auto()
    INPUTS = enum.auto()  # images, texts or metadata attached: no number changes
    LOGITS_B = enum.auto()  # the second model's logits (attached, edited or detached)
    ALL = LOGITS | TARGETS | NAMES | STRUCTURE | SETTINGS | INPUTS | LOGITS_B
