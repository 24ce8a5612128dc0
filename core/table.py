"""The document's table as a value, and the pure operations that add or remove rows and classes.

A :class:`TableState` holds everything that changes shape together: model A's logits and, when
two models are compared, model B's; the labels, the probability targets, the class names, the
settings (class weights follow their classes) and each sample's inputs. Operations return a new
state and never change the old one, so that undo can restore it exactly. Checking what a user
hands in (:func:`normalise`, :func:`labels_array`, :func:`index_array`) lives here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar, overload

import numpy as np

from softmax_lab.core.constants import default_class_names
from softmax_lab.core.inputs import NO_INPUTS, SampleInputs


@dataclass(frozen=True, eq=False)
class TableState:
    """One consistent table. Arrays may be shared with earlier states: never write into one that
    a state holds unless the document owns it (see ``core.steps.ensure_writable``)."""

    logits: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    soft_targets: np.ndarray | None
    settings: Any  # core.document.Settings (kept untyped here to avoid an import cycle)
    inputs: SampleInputs = NO_INPUTS
    logits_b: np.ndarray | None = None
    """A second model's logits over the same samples and classes, or None."""
    model_names: tuple[str, str] = ("A", "B")
    has_labels: bool = True
    """False for a file that came without labels: no loss, no correctness until labels come."""
    binary: bool = False
    """The table came as one score z per sample (a binary classifier), shown as classes [0, z]."""
    source: Any = None
    """Where model A's logits came from when that matters to the window (a step of a recorded
    run: ``core.runs.RunStep``), else None; undo restores it with the table."""


class Holder(Protocol):
    """What holds a table (a :class:`~core.document.Document`): its current state."""

    table: TableState


T = TypeVar("T")


class TableField(Generic[T]):
    """A field of a holder's current ``table``: read from it, and written by swapping in a copy
    of the table with that field changed (the old table, which undo may hold, stays)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, holder: None, owner: type) -> TableField[T]: ...
    @overload
    def __get__(self, holder: Holder, owner: type) -> T: ...
    def __get__(self, holder: Holder | None, owner: type) -> T | TableField[T]:
        if holder is None:
            return self
        return getattr(holder.table, self.name)

    def __set__(self, holder: Holder, value: T) -> None:
        changes: dict[str, Any] = {self.name: value}
        holder.table = replace(holder.table, **changes)


def one_hot(labels: np.ndarray, n_classes: int, ignore_index: int) -> np.ndarray:
    out = np.zeros((len(labels), n_classes))
    valid = (labels >= 0) & (labels < n_classes) & (labels != ignore_index)
    out[np.flatnonzero(valid), labels[valid]] = 1.0
    return out


def labels_array(labels: Any) -> np.ndarray:
    array = np.atleast_1d(np.asarray(labels))
    if array.dtype.kind == "f":
        if not (np.isfinite(array).all() and (array == np.round(array)).all()):
            raise ValueError("labels must be whole numbers")
    elif array.dtype.kind not in "iub":
        raise ValueError("labels must be whole numbers")
    return array.astype(np.int64)


def index_array(index: Sequence[int] | np.ndarray, size: int) -> np.ndarray:
    array = np.atleast_1d(np.asarray(index, dtype=np.int64))
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(f"index out of range 0..{size - 1}")
    return array


def logits_array(logits: Any, what: str = "logits") -> np.ndarray:
    array = np.asarray(logits)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{what} must be numbers")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{what} must be a non-empty samples x classes table, got shape {array.shape}"
        )
    if array.dtype.kind != "f" or array.dtype == np.float16:
        array = array.astype(np.float64)
    return array


def normalise(
    logits: Any, labels: Any, class_names: Sequence[str] | None, soft: Any
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None]:
    """Checked (logits, labels, names, soft targets) of a new table; ``ValueError`` names the
    problem."""
    array = logits_array(logits)
    n, c = array.shape
    lab = np.zeros(n, dtype=np.int64) if labels is None else labels_array(labels)
    if lab.shape != (n,):
        raise ValueError(f"got {lab.size} labels for {n} samples")
    names = default_class_names(c) if class_names is None else list(class_names)
    if len(names) != c:
        raise ValueError(f"got {len(names)} class names for {c} classes")
    if len(set(names)) != len(names):
        raise ValueError("class names must be unique")
    soft_array = None
    if soft is not None:
        soft_array = np.asarray(soft, dtype=np.float64)
        if soft_array.shape != (n, c):
            raise ValueError(f"soft targets must be {n} x {c}")
    return array, lab, names, soft_array


def check_inputs(inputs: SampleInputs | None, n: int) -> SampleInputs:
    if inputs is None or inputs.is_empty:
        return NO_INPUTS
    lengths = [len(a) for a in (inputs.images, inputs.texts) if a is not None]
    lengths += [len(v) for v in inputs.metadata.values()]
    if any(length != n for length in lengths):
        raise ValueError(f"the inputs describe {lengths[0]} samples, the table has {n}")
    return inputs


def check_model_b(logits_b: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = logits_array(logits_b, "model B's logits")
    if array.shape[0] != shape[0]:
        raise ValueError(f"model B has {array.shape[0]:,} samples, model A {shape[0]:,}")
    if array.shape[1] != shape[1]:
        raise ValueError(f"model B has {array.shape[1]:,} classes, model A {shape[1]:,}")
    return array


def new_state(
    logits: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    soft: Any = None,
    settings: Any = None,
    inputs: SampleInputs | None = None,
    has_labels: bool = True,
    logits_b: Any = None,
    model_names: tuple[str, str] = ("A", "B"),
    *,
    binary: bool = False,
    source: Any = None,
) -> TableState:
    """A checked new table (``ValueError`` names what is wrong). Probability targets start from
    the one-hot of the labels when the settings ask for them and none are given."""
    from softmax_lab.core.settings import Settings

    settings = settings or Settings()
    array, lab, names, soft_array = normalise(logits, labels, class_names, soft)
    if settings.target_mode == "probability" and soft_array is None:
        soft_array = one_hot(lab, array.shape[1], settings.ignore_index)
    b = None if logits_b is None else check_model_b(logits_b, array.shape)
    return TableState(
        array,
        lab,
        tuple(names),
        soft_array,
        settings,
        check_inputs(inputs, array.shape[0]),
        b,
        (model_names[0], model_names[1]),
        bool(has_labels),
        bool(binary),
        source,
    )


def target(state: TableState) -> np.ndarray:
    """What ``evaluate`` gets: labels (N,) or soft targets (N, C), by the target mode."""
    if state.settings.target_mode == "probability" and state.soft_targets is not None:
        return state.soft_targets
    return state.labels


def snapshot(state: TableState) -> tuple:
    """A comparable copy of ``state``'s data: logits, labels, soft targets, class names (a
    list), settings, model B's logits, ``has_labels``."""
    soft = None if state.soft_targets is None else state.soft_targets.copy()
    b = None if state.logits_b is None else state.logits_b.copy()
    names = list(state.class_names)
    return (
        state.logits.copy(),
        state.labels.copy(),
        soft,
        names,
        state.settings,
        b,
        state.has_labels,
    )


# --- rows ------------------------------------------------------------------------------------


def new_rows(
    state: TableState,
    at: int,
    block: np.ndarray,
    labels: Any,
    soft: Any = None,
    copies: SampleInputs | None = None,
    block_b: Any = None,
) -> TableState:
    """``block``'s rows inserted before ``at`` with ``labels`` (None: 0), their probability
    targets ``soft`` (None: the labels' one-hot, when the table has them) and inputs ``copies``
    (None: blanks); model B gets ``block_b`` or A's rows."""
    k = block.shape[0]
    lab = (
        np.zeros(k, dtype=np.int64)
        if labels is None
        else np.broadcast_to(labels_array(labels), (k,)).copy()
    )
    if state.soft_targets is None:
        soft_block = None
    elif soft is None:
        soft_block = one_hot(lab, state.logits.shape[1], state.settings.ignore_index)
    else:
        soft_block = np.atleast_2d(np.asarray(soft, dtype=np.float64))
    b = None if block_b is None else np.atleast_2d(np.asarray(block_b, dtype=np.float64))
    return insert_rows(state, at, block, lab, soft_block, copies, b)


def insert_rows(
    state: TableState,
    at: int,
    block: np.ndarray,
    labels: np.ndarray,
    soft: np.ndarray | None,
    copies: SampleInputs | None = None,
    block_b: np.ndarray | None = None,
) -> TableState:
    """Rows inserted before ``at``. Model B gets ``block_b`` (a duplicate) or A's new logits."""
    logits_b = state.logits_b
    if logits_b is not None:
        rows_b = block if block_b is None else block_b
        logits_b = np.insert(logits_b, at, rows_b.astype(logits_b.dtype), axis=0)
    soft_targets = state.soft_targets
    if soft_targets is not None and soft is not None:
        soft_targets = np.insert(soft_targets, at, soft, axis=0)
    return replace(
        state,
        logits=np.insert(state.logits, at, block.astype(state.logits.dtype), axis=0),
        labels=np.insert(state.labels, at, labels),
        soft_targets=soft_targets,
        inputs=state.inputs.insert(at, len(labels), copies),
        logits_b=logits_b,
    )


def delete_rows(state: TableState, rows: np.ndarray) -> TableState:
    return replace(
        state,
        logits=np.delete(state.logits, rows, axis=0),
        labels=np.delete(state.labels, rows),
        soft_targets=None
        if state.soft_targets is None
        else np.delete(state.soft_targets, rows, axis=0),
        inputs=state.inputs.delete(rows),
        logits_b=None if state.logits_b is None else np.delete(state.logits_b, rows, axis=0),
    )


# --- classes ---------------------------------------------------------------------------------


def insert_class(
    state: TableState, at: int, name: str, column: np.ndarray, column_b: np.ndarray | None = None
) -> TableState:
    """A class inserted before ``at``: later labels shift right, a class weight of 1 is added."""
    settings = state.settings
    labels = state.labels
    shifted = (labels >= at) & (labels != settings.ignore_index)
    if settings.weight is not None:
        weight = list(settings.weight)
        weight.insert(at, 1.0)
        settings = replace(settings, weight=tuple(weight))
    logits_b = state.logits_b
    if logits_b is not None:
        b = column if column_b is None else column_b
        logits_b = np.insert(logits_b, at, b.astype(logits_b.dtype), axis=1)
    names = list(state.class_names)
    names.insert(at, name)
    return replace(
        state,
        logits=np.insert(state.logits, at, column.astype(state.logits.dtype), axis=1),
        labels=np.where(shifted, labels + 1, labels),
        class_names=tuple(names),
        soft_targets=None
        if state.soft_targets is None
        else np.insert(state.soft_targets, at, 0.0, axis=1),
        settings=settings,
        logits_b=logits_b,
    )


def delete_classes(state: TableState, cols: np.ndarray) -> TableState:
    """Classes removed: their samples' labels become "ignored", later classes shift left."""
    settings = state.settings
    labels = state.labels
    keep = np.setdiff1d(np.arange(state.logits.shape[1]), cols)
    removed = np.isin(labels, cols)
    shift = np.searchsorted(cols, labels)
    labels = np.where(
        removed,
        settings.ignore_index,
        np.where(labels == settings.ignore_index, labels, labels - shift),
    )
    if settings.weight is not None:
        settings = replace(settings, weight=tuple(settings.weight[i] for i in keep))
    return replace(
        state,
        logits=state.logits[:, keep],
        labels=labels,
        class_names=tuple(state.class_names[i] for i in keep),
        soft_targets=None if state.soft_targets is None else state.soft_targets[:, keep],
        settings=settings,
        logits_b=None if state.logits_b is None else state.logits_b[:, keep],
    )
