"""Undo history: commands that know how to apply and revert themselves, kept on two stacks,
with drags folded into one step and the "saved" point tracked. No numbers and no Qt here: the
document applies the commands and recomputes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from softmax_lab.core.changes import Change

__all__ = ["Change", "Command", "History"]


@dataclass
class Command:
    """One undoable step. ``merge_key`` lets a drag fold its many moves into one step."""

    text: str
    redo: Callable[[], None]
    undo: Callable[[], None]
    change: Change
    rows: np.ndarray | None = None  # rows whose logits alone changed, for a per-row recompute
    merge_key: object = None
    merge: Callable[[Command], bool] | None = field(default=None, repr=False)
    payload: Any = field(default=None, repr=False)  # what a later command hands to ``merge``
    context: Any = field(default=None, repr=False)
    """What the document's ``context_provider`` said when the edit was made (the window's
    selection, sort and filter), handed back through ``restored_context`` on undo and redo."""


class History:
    """The undo and redo stacks of one document."""

    def __init__(self) -> None:
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._clean_index: int | None = 0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    @property
    def is_modified(self) -> bool:
        return self._clean_index != len(self._undo)

    def mark_clean(self) -> None:
        self._clean_index = len(self._undo)

    def end_merge(self) -> None:
        """Close the current merge (a drag ended): the next edit starts a new undo step."""
        if self._undo:
            self._undo[-1].merge_key = None

    def record(self, command: Command, context: Any) -> None:
        """Keep an applied ``command``: folded into the last step when both carry the same merge
        key (a drag), else a new step that remembers ``context``. Redo is cleared."""
        top = self._undo[-1] if self._undo else None
        merged = (
            top is not None
            and command.merge_key is not None
            and top.merge_key == command.merge_key
            and top.merge is not None
            and top.merge(command)
        )
        if not merged:
            command.context = context
            if self._clean_index is not None and self._clean_index > len(self._undo):
                self._clean_index = None  # the clean state was undone and is now unreachable
            self._undo.append(command)
        self._redo.clear()

    def step_back(self) -> Command | None:
        """The command to undo (moved to the redo stack), or None."""
        if not self._undo:
            return None
        command = self._undo.pop()
        self._redo.append(command)
        return command

    def step_forward(self) -> Command | None:
        """The command to redo (moved back to the undo stack), or None."""
        if not self._redo:
            return None
        command = self._redo.pop()
        self._undo.append(command)
        return command
