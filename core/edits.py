"""What each edit of the document does, as pure functions of the current table.

Each function takes a :class:`~core.table.TableState` and the user's arguments, checks them
(``ValueError`` names the problem; nothing is changed) and returns what the edit is, never
applying it: the :class:`~core.document.Document` turns that into an undo step, applies it and
tells its listeners. Three shapes of edit:

- :class:`Swap`: a new table swapped in (rows or classes added or removed, a new file): the old
  one is kept by reference for undo, which costs nothing.
- :class:`Cells`: a block of cells written into an array in place (a cell edit, a drag), so that
  editing one logit of 50,000 x 1,000 copies nothing but that block.
- :class:`Fields`: some fields of whatever table is current set to new values (class names,
  options).

No Qt, no history and no evaluation here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from softmax_lab.core import table
from softmax_lab.core.changes import Change
from softmax_lab.core.constants import class_name
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.settings import check_settings
from softmax_lab.core.table import TableState, one_hot

__all__ = [
    "MODELS",
    "Cells",
    "Fields",
    "Swap",
    "attach_labels",
    "attach_model_b",
    "class_names",
    "detach_model_b",
    "duplicate_class",
    "duplicate_samples",
    "free_name",
    "insert_class",
    "insert_samples",
    "label_cells",
    "logit_cells",
    "paste",
    "remove_classes",
    "remove_samples",
    "rename_class",
    "replace_all",
    "replace_logits",
    "set_inputs",
    "settings",
    "soft_target_cells",
]

MODELS = ("a", "b")


@dataclass(frozen=True, eq=False)
class Swap:
    """One step from the current table to ``after``. ``merge_fields``: the fields a later swap
    with the same merge key hands on when the two are folded into one step (None: all of it)."""

    text: str
    after: TableState
    change: Change
    merge_fields: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Cells:
    """``new`` written at ``where`` of the table's array ``name`` (``old``: what was there), and
    ``fields`` / ``old_fields`` set on the table with it. ``rows``: the samples whose logits
    alone changed (a per-row recompute), or None."""

    text: str
    name: str
    where: tuple[np.ndarray, ...]
    new: np.ndarray
    old: np.ndarray
    change: Change
    rows: np.ndarray | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    old_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Fields:
    """``new`` fields set on the current table; undo sets ``old``. ``mergeable``: a later edit
    with the same merge key may fold into this one (a slider being dragged)."""

    text: str
    new: Mapping[str, Any]
    old: Mapping[str, Any]
    change: Change
    mergeable: bool = True


# --- cells -----------------------------------------------------------------------------------


def _block(state: TableState, rows: Sequence[int], cols: Sequence[int], values: Any) -> tuple:
    r = table.index_array(rows, state.logits.shape[0])
    c = table.index_array(cols, state.logits.shape[1])
    new = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(r), len(c))).copy()
    return r, c, new


def logit_cells(
    state: TableState,
    rows: Sequence[int],
    cols: Sequence[int],
    values: Any,
    *,
    text: str = "Edit logits",
    model: str = "a",
) -> Cells:
    """A block of model ``"a"``'s or ``"b"``'s logits (any float: ``inf``/``-inf``/NaN are
    data)."""
    if model not in MODELS or (model == "b" and state.logits_b is None):
        raise ValueError("there is no model B to edit" if model == "b" else f"no model {model!r}")
    r, c, new = _block(state, rows, cols, values)
    name = "logits" if model == "a" else "logits_b"
    where = np.ix_(r, c)
    old = getattr(state, name)[where].copy()
    change = Change.LOGITS if model == "a" else Change.LOGITS_B
    return Cells(text, name, where, new, old, change, rows=np.unique(r))


def label_cells(
    state: TableState, rows: Sequence[int], labels: Any, *, text: str = "Edit labels"
) -> Cells:
    """Labels of some samples (a label typed into a file without labels starts using them)."""
    r = table.index_array(rows, state.logits.shape[0])
    new = np.broadcast_to(table.labels_array(labels), (len(r),)).copy()
    old = state.labels[r].copy()
    return Cells(
        text,
        "labels",
        (r,),
        new,
        old,
        Change.TARGETS,
        fields={"has_labels": True},
        old_fields={"has_labels": state.has_labels},
    )


def soft_target_cells(
    state: TableState,
    rows: Sequence[int],
    cols: Sequence[int],
    values: Any,
    *,
    text: str = "Edit target probabilities",
) -> Cells:
    r, c, new = _block(state, rows, cols, values)
    if not np.isfinite(new).all() or (new < 0).any():
        raise ValueError("target probabilities must be finite numbers >= 0")
    if state.soft_targets is None:
        raise ValueError("switch the targets to probabilities first")
    where = np.ix_(r, c)
    return Cells(text, "soft_targets", where, new, state.soft_targets[where].copy(), Change.TARGETS)


def paste(state: TableState, row: int, col: int, block: Any) -> tuple[Cells | Swap, str]:
    """A block pasted at (row, col), and what happened in words. Rows past the end grow the table
    (new samples get label 0); columns past the last class are clipped, since a paste should not
    invent classes."""
    n, c = state.logits.shape
    block = np.atleast_2d(np.asarray(block, dtype=np.float64))
    row = int(np.clip(row, 0, n - 1))
    col = int(np.clip(col, 0, c - 1))
    k, m = block.shape
    extra = max(0, row + k - n)
    width = min(m, c - col)
    clipped = block[:, :width]
    notes = [f"pasted {k} x {width}"]
    if extra:
        notes.append(f"added {extra} sample{'s' if extra > 1 else ''}")
    if width < m:
        s = "s" if m - width > 1 else ""
        notes.append(f"clipped {m - width} column{s} that did not fit ({c} classes)")
    text = f"Paste {k} x {width}"
    if not extra:
        cells = logit_cells(state, range(row, row + k), range(col, col + width), clipped, text=text)
        return cells, ", ".join(notes)
    grown = table.new_rows(state, n, np.zeros((extra, c)), None)
    logits = np.array(grown.logits)
    logits[row : row + k, col : col + width] = clipped
    swap = Swap(
        text, replace(grown, logits=logits), Change.STRUCTURE | Change.LOGITS | Change.TARGETS
    )
    return swap, ", ".join(notes)


# --- fields ----------------------------------------------------------------------------------


def rename_class(state: TableState, col: int, name: str) -> Fields:
    name = str(name).strip()
    if not name:
        raise ValueError("a class name cannot be empty")
    before = state.class_names
    if name in before and before.index(name) != col:
        raise ValueError(f"there is already a class named {name!r}")
    after = (*before[:col], name, *before[col + 1 :])
    text = f"Rename class {before[col]!r} to {name!r}"
    return Fields(text, {"class_names": after}, {"class_names": before}, Change.NAMES)


def class_names(state: TableState, names: Sequence[str], *, text: str = "Rename classes") -> Fields:
    """Every class name at once (a tokenizer chosen for a language model's vocabulary)."""
    new = tuple(str(n) for n in names)
    n_classes = state.logits.shape[1]
    if len(new) != n_classes:
        raise ValueError(f"got {len(new):,} names for {n_classes:,} classes")
    if len(set(new)) != len(new):
        raise ValueError("class names must be unique")
    return Fields(text, {"class_names": new}, {"class_names": state.class_names}, Change.NAMES)


def settings(state: TableState, text: str | None = None, **changes: Any) -> Fields | None:
    """Options changed (checked by :func:`~core.settings.check_settings`), or None when nothing
    changes. Entering probability mode starts the soft targets from the labels' one-hot (and
    such a step is never folded into another)."""
    changes = check_settings(changes, state.logits.shape[1])
    old, new = state.settings, replace(state.settings, **changes)
    if new == old:
        return None
    to_soft = new.target_mode == "probability" and old.target_mode == "index"
    fields: dict[str, Any] = {"settings": new}
    if to_soft:
        fields["soft_targets"] = one_hot(state.labels, state.logits.shape[1], new.ignore_index)
    label = text or "Change " + ", ".join(sorted(changes))
    change = Change.SETTINGS | (Change.TARGETS if to_soft else Change.NONE)
    old_fields = {"settings": old, "soft_targets": state.soft_targets}
    return Fields(label, fields, old_fields, change, mergeable=not to_soft)


# --- swaps: rows -----------------------------------------------------------------------------


def attach_labels(state: TableState, labels: Any, *, text: str = "Attach labels") -> Swap:
    """Labels for every sample at once (a labels file)."""
    new = table.labels_array(labels)
    n = state.logits.shape[0]
    if new.shape != (n,):
        raise ValueError(f"got {new.size:,} labels for {n:,} samples")
    return Swap(text, replace(state, labels=new, has_labels=True), Change.TARGETS)


def insert_samples(
    state: TableState,
    at: int,
    logits: Any,
    labels: Any = None,
    soft_targets: Any = None,
    *,
    text: str = "Add samples",
    copies: SampleInputs | None = None,
    logits_b: Any = None,
) -> Swap:
    """Rows inserted before ``at``; their inputs are ``copies`` (a duplicate) or blanks, and
    model B's rows ``logits_b`` (a duplicate) or A's."""
    n, c = state.logits.shape
    block = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    if block.shape[1] != c:
        raise ValueError(f"new rows need {c} logits, got {block.shape[1]}")
    at = int(np.clip(at, 0, n))
    after = table.new_rows(state, at, block, labels, soft_targets, copies, logits_b)
    return Swap(text, after, Change.STRUCTURE | Change.TARGETS)


def remove_samples(state: TableState, rows: Sequence[int], *, text: str = "Remove samples") -> Swap:
    n = state.logits.shape[0]
    r = np.unique(table.index_array(rows, n))
    if len(r) >= n:
        raise ValueError("the table needs at least one sample")
    return Swap(text, table.delete_rows(state, r), Change.STRUCTURE | Change.TARGETS)


def duplicate_samples(state: TableState, rows: Sequence[int]) -> Swap:
    """Copies of ``rows`` (inputs and model B's rows too) inserted after the last of them."""
    r = np.unique(table.index_array(rows, state.logits.shape[0]))
    return insert_samples(
        state,
        int(r[-1]) + 1,
        state.logits[r],
        state.labels[r],
        None if state.soft_targets is None else state.soft_targets[r],
        text="Duplicate samples",
        copies=state.inputs.take(r),
        logits_b=None if state.logits_b is None else state.logits_b[r],
    )


# --- swaps: classes --------------------------------------------------------------------------


def free_name(state: TableState) -> str:
    """The first default class name ("class k", k from the class count) not yet taken."""
    i = state.logits.shape[1]
    while class_name([], i) in state.class_names:
        i += 1
    return class_name([], i)


def insert_class(
    state: TableState,
    at: int,
    name: str | None = None,
    logits: Any = 0.0,
    *,
    text: str = "Add class",
    logits_b: Any = None,
) -> Swap:
    n, c = state.logits.shape
    at = int(np.clip(at, 0, c))
    name = name or free_name(state)
    if name in state.class_names:
        raise ValueError(f"there is already a class named {name!r}")
    column = np.broadcast_to(np.asarray(logits, dtype=np.float64), (n,)).copy()
    column_b = (
        None
        if logits_b is None
        else np.broadcast_to(np.asarray(logits_b, dtype=np.float64), (n,)).copy()
    )
    after = table.insert_class(state, at, name, column, column_b)
    return Swap(text, after, Change.STRUCTURE | Change.TARGETS)


def remove_classes(state: TableState, cols: Sequence[int], *, text: str = "Remove classes") -> Swap:
    c = np.unique(table.index_array(cols, state.logits.shape[1]))
    if len(c) >= state.logits.shape[1]:
        raise ValueError("the table needs at least one class")
    return Swap(text, table.delete_classes(state, c), Change.STRUCTURE | Change.TARGETS)


def duplicate_class(state: TableState, col: int) -> Swap:
    """A copy of class ``col`` ("name copy", "name copy 2", …) inserted after it."""
    base = state.class_names[col]
    name, i = base + " copy", 2
    while name in state.class_names:
        name, i = f"{base} copy {i}", i + 1
    return insert_class(
        state,
        col + 1,
        name,
        state.logits[:, col],
        text="Duplicate class",
        logits_b=None if state.logits_b is None else state.logits_b[:, col],
    )


# --- swaps: whole tables and models ----------------------------------------------------------


def replace_all(
    state: TableState,
    logits: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    soft_targets: Any = None,
    settings: Any = None,
    *,
    text: str = "Replace table",
    inputs: SampleInputs | None = None,
    has_labels: bool = True,
    logits_b: Any = None,
    model_names: tuple[str, str] = ("A", "B"),
    binary: bool = False,
    source: Any = None,
) -> Swap:
    """A whole new table. ``inputs`` None keeps the current ones when the row count stays and
    drops them otherwise; ``settings`` None keeps the current options but the class weights."""
    n_new = table.logits_array(logits).shape[0]
    if inputs is None:
        inputs = state.inputs if n_new == state.logits.shape[0] else None
    after = table.new_state(
        logits,
        labels,
        class_names,
        soft_targets,
        settings or replace(state.settings, weight=None),
        inputs,
        has_labels,
        logits_b,
        model_names,
        binary=binary,
        source=source,
    )
    return Swap(text, after, Change.ALL)


def replace_logits(state: TableState, logits: Any, *, text: str, source: Any = None) -> Swap:
    """Model A's whole logits swapped for another array of the same shape, kept by reference (a
    memory map stays one); folded swaps hand on only the logits and the source."""
    array = table.logits_array(logits)
    if array.shape != state.logits.shape:
        raise ValueError(
            f"the new logits are {array.shape[0]:,} x {array.shape[1]:,}; the table is "
            f"{state.logits.shape[0]:,} x {state.logits.shape[1]:,}"
        )
    after = replace(state, logits=array, source=source)
    return Swap(text, after, Change.LOGITS, merge_fields=("logits", "source"))


def set_inputs(state: TableState, inputs: SampleInputs, *, text: str = "Attach inputs") -> Swap:
    after = replace(state, inputs=table.check_inputs(inputs, state.logits.shape[0]))
    return Swap(text, after, Change.INPUTS)


def attach_model_b(
    state: TableState,
    logits_b: Any,
    names: tuple[str, str] = ("A", "B"),
    *,
    text: str | None = None,
) -> Swap:
    array = table.check_model_b(logits_b, state.logits.shape)
    names = (str(names[0]) or "A", str(names[1]) or "B")
    after = replace(state, logits_b=array, model_names=names)
    return Swap(text or f"Compare with {names[1]}", after, Change.LOGITS_B)


def detach_model_b(state: TableState) -> Swap | None:
    if state.logits_b is None:
        return None
    text = f"Stop comparing with {state.model_names[1]}"
    return Swap(text, replace(state, logits_b=None), Change.LOGITS_B)
