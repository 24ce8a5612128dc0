"""An edit made into an undo step: the :class:`~core.history.Command` that applies one of
:mod:`core.edits`' descriptions to whatever holds the table (a
:class:`~core.document.Document`: any object with a ``table`` attribute) and reverts it.

Swaps keep the old table by reference, cell writes keep the old block, field edits keep the old
fields: undo restores them exactly, whatever happened in between. Each step can fold a later one
with the same merge key (a drag, a slider, a training loop's burst) so that undo goes back to
before the first and redo forward to the last.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from softmax_lab.core.edits import Cells, Fields, Swap
from softmax_lab.core.history import Command
from softmax_lab.core.table import Holder

__all__ = ["cells_command", "ensure_writable", "fields_command", "swap_command"]


def swap_command(holder: Holder, edit: Swap, merge_key: object = None) -> Command:
    """From the current table to ``edit.after``; a folded later swap hands on its whole table,
    or only its ``merge_fields``."""
    before = holder.table
    box = {"after": edit.after}
    fields = edit.merge_fields
    payload: Any = edit.after if fields is None else {f: getattr(edit.after, f) for f in fields}

    def redo() -> None:
        holder.table = box["after"]

    def undo() -> None:
        holder.table = before

    def merge(later: Command) -> bool:
        if isinstance(later.payload, dict):
            box["after"] = replace(box["after"], **later.payload)
        else:
            box["after"] = later.payload
        return True

    return Command(
        edit.text, redo, undo, edit.change, merge_key=merge_key, merge=merge, payload=payload
    )


def cells_command(holder: Holder, edit: Cells, merge_key: object = None) -> Command:
    """A block of cells written in place; a folded later write to the same cells (a drag) keeps
    the first "before" and the latest "after". A read-only array (a memory map) is copied first."""
    box = {"new": edit.new}

    def write(values: np.ndarray, fields: Any) -> None:
        # Again on every redo: undo may have swapped back a table holding the read-only array.
        ensure_writable(holder, edit.name)
        getattr(holder.table, edit.name)[edit.where] = values
        if fields:
            holder.table = replace(holder.table, **fields)

    def merge(later: Command) -> bool:
        box["new"] = later.payload
        return True

    return Command(
        edit.text,
        lambda: write(box["new"], edit.fields),
        lambda: write(edit.old, edit.old_fields),
        edit.change,
        rows=edit.rows,
        merge_key=merge_key,
        merge=merge,
        payload=edit.new,
    )


def fields_command(holder: Holder, edit: Fields, merge_key: object = None) -> Command:
    """Fields of whatever table is current set (names, options), and set back on undo."""
    box = {"new": edit.new}

    def redo() -> None:
        holder.table = replace(holder.table, **box["new"])

    def undo() -> None:
        holder.table = replace(holder.table, **edit.old)

    def merge(later: Command) -> bool:
        box["new"] = later.payload
        return True

    return Command(
        edit.text,
        redo,
        undo,
        edit.change,
        merge_key=merge_key,
        merge=merge if edit.mergeable else None,
        payload=edit.new,
    )


def ensure_writable(holder: Holder, name: str) -> None:
    """A memory-mapped file is read-only: its array is copied on the first edit, never before."""
    array = getattr(holder.table, name)
    if not array.flags.writeable:
        changes: dict[str, Any] = {name: np.array(array)}
        holder.table = replace(holder.table, **changes)
