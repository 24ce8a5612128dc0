"""The one document the window edits: logits, targets, class names and options, with undo.

Every edit goes through a command on the undo history; after it the document re-evaluates through
:func:`core.evaluate` and tells its listeners what changed. An edit that ``evaluate`` rejects
(a label out of range, a negative weight) is rolled back and raises ``ValueError``: the previous
state always stays. No Qt here: the window adapts the listener calls to signals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from core.constants import IGNORE_INDEX, TARGET_MODES
from core.evaluation import Evaluation, evaluate
from core.history import Change, Command, History


@dataclass(frozen=True)
class Settings:
    """Every option besides the data. ``weight`` is a tuple so that Settings stays hashable."""

    temperature: float = 1.0
    label_smoothing: float = 0.0
    reduction: str = "mean"
    weight: tuple[float, ...] | None = None
    ignore_index: int = IGNORE_INDEX
    device: str = "cpu"
    dtype: str = "float32"
    target_mode: str = "index"

    def evaluate_kwargs(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction,
            "weight": None if self.weight is None else np.asarray(self.weight),
            "ignore_index": self.ignore_index,
            "device": self.device,
            "dtype": self.dtype,
        }


class Document:
    """Logits (N, C), hard labels (N,), soft targets (N, C), class names and settings.

    ``soft_targets`` is None until probability targets are used: in class-index mode it would be
    an (N, C) float64 array that nothing reads (400 MB for 50,000 x 1,000). Entering
    probability mode starts it from the one-hot of the labels.
    """

    logits: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    soft_targets: np.ndarray | None
    settings: Settings

    def __init__(
        self,
        logits: Any,
        labels: Any = None,
        class_names: Sequence[str] | None = None,
        soft_targets: Any = None,
        settings: Settings | None = None,
    ) -> None:
        self._listeners: list[Callable[[Change], None]] = []
        self.history = History()
        self.changed_rows: np.ndarray | None = None
        self.context_provider: Callable[[], Any] | None = None
        """Called once per new undo step; its answer is restored with the step (see Command)."""
        self.restored_context: Any = None
        """While listeners run after an undo or redo: the context of that step, else None."""
        settings = settings or Settings()
        logits, labels, names, soft = self._normalise(logits, labels, class_names, soft_targets)
        if settings.target_mode == "probability" and soft is None:
            soft = _one_hot(labels, logits.shape[1], settings.ignore_index)
        self._set_all(logits, labels, names, soft, settings)
        self.evaluation: Evaluation = self._evaluate()

    # --- reading ------------------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        return int(self.logits.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.logits.shape[1])

    def target(self) -> np.ndarray:
        """What ``evaluate`` gets: labels (N,) or soft targets (N, C), by the target mode."""
        if self.settings.target_mode == "probability" and self.soft_targets is not None:
            return self.soft_targets
        return self.labels

    def snapshot(self) -> tuple:
        """A comparable copy of the whole state (for tests and the monkey test)."""
        soft = None if self.soft_targets is None else self.soft_targets.copy()
        return (self.logits.copy(), self.labels.copy(), soft, list(self.class_names), self.settings)

    # --- listeners and history ------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Change], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[Change], None]) -> None:
        self._listeners.remove(callback)

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    @property
    def undo_text(self) -> str:
        return self.history.undo_text

    @property
    def redo_text(self) -> str:
        return self.history.redo_text

    @property
    def is_modified(self) -> bool:
        return self.history.is_modified

    def mark_clean(self) -> None:
        self.history.mark_clean()

    def end_merge(self) -> None:
        """Close the current merge (a drag ended): the next edit starts a new undo step."""
        self.history.end_merge()

    def undo(self) -> None:
        command = self.history.step_back()
        if command is not None:
            command.undo()
            self._after(command.change, command.rows, command.context)

    def redo(self) -> None:
        command = self.history.step_forward()
        if command is not None:
            command.redo()
            self._after(command.change, command.rows, command.context)

    def push(self, command: Command, evaluation: Evaluation | None = None) -> None:
        """Apply ``command``; if the result does not evaluate, roll it back and raise."""
        context = self.context_provider() if self.context_provider is not None else None
        command.redo()
        try:
            if evaluation is None:
                evaluation = self._evaluate(command.change, command.rows)
        except ValueError:
            command.undo()
            raise
        self.history.record(command, context)
        self.evaluation = evaluation
        self._notify(command.change, command.rows)

    def _after(self, change: Change, rows: np.ndarray | None, context: Any = None) -> None:
        self.evaluation = self._evaluate(change, rows)
        self.restored_context = context
        try:
            self._notify(change, rows)
        finally:
            self.restored_context = None

    def _notify(self, change: Change, rows: np.ndarray | None = None) -> None:
        # Listeners may read changed_rows: the samples whose logits alone changed (a cell edit,
        # a drag), so a view can repaint those rows instead of everything.
        self.changed_rows = rows if change == Change.LOGITS else None
        for callback in list(self._listeners):
            callback(change)

    def _evaluate(self, change: Change = Change.ALL, rows: np.ndarray | None = None) -> Evaluation:
        current = getattr(self, "evaluation", None)
        if change == Change.NAMES and current is not None:
            return current  # a rename changes labels, not one number
        if (
            change == Change.LOGITS
            and rows is not None
            and current is not None
            and len(rows) * 4 < self.n_samples
        ):
            # Only these rows moved: reuse the rest (an edit costs the same at 50,000 rows).
            return current.with_rows(rows, self.logits[rows])
        return evaluate(self.logits, self.target(), **self.settings.evaluate_kwargs())

    # --- edits ----------------------------------------------------------------------------------

    def set_logits(
        self,
        rows: Sequence[int],
        cols: Sequence[int],
        values: Any,
        *,
        text: str = "Edit logits",
        merge_key: object = None,
    ) -> None:
        """Write a block of logits (any float: ``inf``/``-inf``/NaN are data)."""
        r, c = self._index(rows, self.n_samples), self._index(cols, self.n_classes)
        new = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(r), len(c))).copy()
        self._ensure_writable()
        old = self.logits[np.ix_(r, c)].copy()
        box = {"new": new}

        def redo() -> None:
            self.logits[np.ix_(r, c)] = box["new"]

        def undo() -> None:
            self.logits[np.ix_(r, c)] = old

        def merge(later: Command) -> bool:
            # The same cells again (a drag): keep the first "before", take the latest "after".
            box["new"] = later.payload
            return True

        self.push(
            Command(
                text,
                redo,
                undo,
                Change.LOGITS,
                rows=np.unique(r),
                merge_key=merge_key,
                merge=merge,
                payload=new,
            )
        )

    def paste_logits(self, row: int, col: int, block: Any) -> str:
        """Paste a block at (row, col) as one undo step; returns what happened, in words.

        Rows past the end grow the table (new samples get label 0); columns past the last class
        are clipped, since a paste should not invent classes.
        """
        block = np.atleast_2d(np.asarray(block, dtype=np.float64))
        row = int(np.clip(row, 0, self.n_samples - 1))
        col = int(np.clip(col, 0, self.n_classes - 1))
        k, m = block.shape
        extra = max(0, row + k - self.n_samples)
        width = min(m, self.n_classes - col)
        clipped = block[:, :width]
        notes = [f"pasted {k} x {width}"]
        if extra:
            notes.append(f"added {extra} sample{'s' if extra > 1 else ''}")
        if width < m:
            notes.append(
                f"clipped {m - width} column{'s' if m - width > 1 else ''} that did not "
                f"fit ({self.n_classes} classes)"
            )
        if not extra:
            self.set_logits(
                range(row, row + k), range(col, col + width), clipped, text=f"Paste {k} x {width}"
            )
            return ", ".join(notes)
        logits = np.concatenate(
            [self.logits, np.zeros((extra, self.n_classes), dtype=self.logits.dtype)]
        )
        logits[row : row + k, col : col + width] = clipped
        labels = np.concatenate([self.labels, np.zeros(extra, dtype=np.int64)])
        soft = (
            None
            if self.soft_targets is None
            else np.concatenate(
                [
                    self.soft_targets,
                    _one_hot(
                        np.zeros(extra, dtype=np.int64), self.n_classes, self.settings.ignore_index
                    ),
                ]
            )
        )
        self._replace_arrays(f"Paste {k} x {width}", logits, labels, soft)
        return ", ".join(notes)

    def set_labels(self, rows: Sequence[int], labels: Any, *, text: str = "Edit labels") -> None:
        r = self._index(rows, self.n_samples)
        new = np.broadcast_to(self._labels_array(labels), (len(r),)).copy()
        self._set_array("labels", np.ix_(r), new, text, Change.TARGETS)

    def set_soft_targets(
        self,
        rows: Sequence[int],
        cols: Sequence[int],
        values: Any,
        *,
        text: str = "Edit target probabilities",
    ) -> None:
        r, c = self._index(rows, self.n_samples), self._index(cols, self.n_classes)
        new = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(r), len(c))).copy()
        if not np.isfinite(new).all() or (new < 0).any():
            raise ValueError("target probabilities must be finite numbers >= 0")
        if self.soft_targets is None:
            raise ValueError("switch the targets to probabilities first")
        self._set_array("soft_targets", np.ix_(r, c), new, text, Change.TARGETS)

    def rename_class(self, col: int, name: str) -> None:
        name = str(name).strip()
        if not name:
            raise ValueError("a class name cannot be empty")
        if name in self.class_names and self.class_names.index(name) != col:
            raise ValueError(f"there is already a class named {name!r}")
        old = self.class_names[col]

        def redo() -> None:
            self.class_names[col] = name

        def undo() -> None:
            self.class_names[col] = old

        self.push(Command(f"Rename class {old!r} to {name!r}", redo, undo, Change.NAMES))

    def set_settings(
        self, text: str | None = None, *, merge_key: object = None, **changes: Any
    ) -> None:
        """Change options (``temperature=0.5``, ``reduction="sum"``...). Validated by evaluate.

        Consecutive changes with the same ``merge_key`` (a slider being dragged) are one step.
        """
        names = {f.name for f in fields(Settings)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        if "weight" in changes and changes["weight"] is not None:
            changes["weight"] = tuple(float(w) for w in np.asarray(changes["weight"]).ravel())
        if changes.get("target_mode", self.settings.target_mode) not in TARGET_MODES:
            raise ValueError(f"target mode must be one of {TARGET_MODES}")
        old, new = self.settings, replace(self.settings, **changes)
        if new == old:
            return
        old_soft = self.soft_targets
        to_soft = new.target_mode == "probability" and old.target_mode == "index"
        box = {"new": new}

        def redo() -> None:
            self.settings = box["new"]
            if to_soft:
                # Entering probability mode starts from the one-hot of the current labels.
                self.soft_targets = _one_hot(self.labels, self.n_classes, new.ignore_index)

        def undo() -> None:
            self.settings = old
            self.soft_targets = old_soft

        def merge(later: Command) -> bool:
            box["new"] = later.payload
            return True

        label = text or "Change " + ", ".join(sorted(changes))
        change = Change.SETTINGS | (Change.TARGETS if to_soft else Change.NONE)
        self.push(
            Command(
                label,
                redo,
                undo,
                change,
                merge_key=merge_key,
                merge=None if to_soft else merge,
                payload=new,
            )
        )

    def insert_samples(
        self,
        at: int,
        logits: Any,
        labels: Any = None,
        soft_targets: Any = None,
        *,
        text: str = "Add samples",
    ) -> None:
        block = np.atleast_2d(np.asarray(logits, dtype=np.float64))
        if block.shape[1] != self.n_classes:
            raise ValueError(f"new rows need {self.n_classes} logits, got {block.shape[1]}")
        k = block.shape[0]
        lab = (
            np.zeros(k, dtype=np.int64)
            if labels is None
            else np.broadcast_to(self._labels_array(labels), (k,)).copy()
        )
        if self.soft_targets is None:
            soft = None
        elif soft_targets is None:
            soft = _one_hot(lab, self.n_classes, self.settings.ignore_index)
        else:
            soft = np.atleast_2d(np.asarray(soft_targets, dtype=np.float64))
        at = int(np.clip(at, 0, self.n_samples))
        positions = np.arange(at, at + k)
        self._structural(text, rows_insert=(positions, block, lab, soft))

    def remove_samples(self, rows: Sequence[int], *, text: str = "Remove samples") -> None:
        r = np.unique(self._index(rows, self.n_samples))
        if len(r) >= self.n_samples:
            raise ValueError("the table needs at least one sample")
        self._structural(text, rows_remove=r)

    def duplicate_samples(self, rows: Sequence[int]) -> None:
        r = np.unique(self._index(rows, self.n_samples))
        soft = None if self.soft_targets is None else self.soft_targets[r]
        self.insert_samples(
            int(r[-1]) + 1, self.logits[r], self.labels[r], soft, text="Duplicate samples"
        )

    def insert_class(
        self, at: int, name: str | None = None, logits: Any = 0.0, *, text: str = "Add class"
    ) -> None:
        at = int(np.clip(at, 0, self.n_classes))
        name = name or self._free_name()
        if name in self.class_names:
            raise ValueError(f"there is already a class named {name!r}")
        column = np.broadcast_to(np.asarray(logits, dtype=np.float64), (self.n_samples,)).copy()
        self._structural(text, class_insert=(at, name, column))

    def remove_classes(self, cols: Sequence[int], *, text: str = "Remove classes") -> None:
        c = np.unique(self._index(cols, self.n_classes))
        if len(c) >= self.n_classes:
            raise ValueError("the table needs at least one class")
        self._structural(text, classes_remove=c)

    def duplicate_class(self, col: int) -> None:
        base = self.class_names[col]
        name = base + " copy"
        i = 2
        while name in self.class_names:
            name, i = f"{base} copy {i}", i + 1
        self.insert_class(col + 1, name, self.logits[:, col], text="Duplicate class")

    def replace_all(
        self,
        logits: Any,
        labels: Any = None,
        class_names: Sequence[str] | None = None,
        soft_targets: Any = None,
        settings: Settings | None = None,
        *,
        text: str = "Replace table",
        evaluation: Evaluation | None = None,
    ) -> None:
        """Swap in a whole new table (a preset, a random table, a loaded file) as one step.

        ``evaluation``, if given, is the already computed result for exactly this table and
        settings (a large file is evaluated off the GUI thread): it is used instead of a rerun.
        """
        new = self._normalise(logits, labels, class_names, soft_targets)
        new_settings = settings or replace(self.settings, weight=None)
        if new_settings.target_mode == "probability" and new[3] is None:
            new = (*new[:3], _one_hot(new[1], new[0].shape[1], new_settings.ignore_index))
        old = (self.logits, self.labels, list(self.class_names), self.soft_targets, self.settings)

        def redo() -> None:
            self._set_all(new[0], new[1], list(new[2]), new[3], new_settings)

        def undo() -> None:
            self._set_all(old[0], old[1], list(old[2]), old[3], old[4])

        self.push(Command(text, redo, undo, Change.ALL), evaluation=evaluation)

    # --- internals ------------------------------------------------------------------------------

    def _set_all(self, logits, labels, class_names, soft, settings: Settings) -> None:
        self.logits = logits
        self.labels = labels
        self.class_names = list(class_names)
        self.soft_targets = soft
        self.settings = settings

    def _normalise(self, logits, labels, class_names, soft):
        array = np.asarray(logits)
        if array.dtype.kind not in "fiub":
            raise ValueError("logits must be numbers")
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
            raise ValueError(
                f"logits must be a non-empty samples x classes table, got shape {array.shape}"
            )
        if array.dtype.kind != "f" or array.dtype == np.float16:
            array = array.astype(np.float64)
        n, c = array.shape
        lab = np.zeros(n, dtype=np.int64) if labels is None else self._labels_array(labels)
        if lab.shape != (n,):
            raise ValueError(f"got {lab.size} labels for {n} samples")
        names = [f"class {i}" for i in range(c)] if class_names is None else list(class_names)
        if len(names) != c:
            raise ValueError(f"got {len(names)} class names for {c} classes")
        if len(set(names)) != len(names):
            raise ValueError("class names must be unique")
        if soft is None:
            soft_array = None
        else:
            soft_array = np.asarray(soft, dtype=np.float64)
            if soft_array.shape != (n, c):
                raise ValueError(f"soft targets must be {n} x {c}")
        return array, lab, names, soft_array

    @staticmethod
    def _labels_array(labels: Any) -> np.ndarray:
        array = np.atleast_1d(np.asarray(labels))
        if array.dtype.kind == "f":
            if not (np.isfinite(array).all() and (array == np.round(array)).all()):
                raise ValueError("labels must be whole numbers")
        elif array.dtype.kind not in "iub":
            raise ValueError("labels must be whole numbers")
        return array.astype(np.int64)

    @staticmethod
    def _index(index: Sequence[int], size: int) -> np.ndarray:
        array = np.atleast_1d(np.asarray(index, dtype=np.int64))
        if array.size and (array.min() < 0 or array.max() >= size):
            raise ValueError(f"index out of range 0..{size - 1}")
        return array

    def _ensure_writable(self) -> None:
        # A memory-mapped file is read-only: copy it on the first edit, never before.
        if not self.logits.flags.writeable:
            self.logits = np.array(self.logits)

    def _set_array(
        self, name: str, where: tuple, new: np.ndarray, text: str, change: Change
    ) -> None:
        old = getattr(self, name)[where].copy()

        def redo() -> None:
            getattr(self, name)[where] = new

        def undo() -> None:
            getattr(self, name)[where] = old

        self.push(Command(text, redo, undo, change))

    def _replace_arrays(
        self, text: str, logits: np.ndarray, labels: np.ndarray, soft: np.ndarray | None
    ) -> None:
        before = (self.logits, self.labels, self.soft_targets)

        def redo() -> None:
            self.logits, self.labels, self.soft_targets = logits, labels, soft

        def undo() -> None:
            self.logits, self.labels, self.soft_targets = before

        self.push(Command(text, redo, undo, Change.STRUCTURE | Change.LOGITS | Change.TARGETS))

    def _free_name(self) -> str:
        i = self.n_classes
        while f"class {i}" in self.class_names:
            i += 1
        return f"class {i}"

    def _structural(
        self,
        text: str,
        *,
        rows_insert=None,
        rows_remove=None,
        class_insert=None,
        classes_remove=None,
    ) -> None:
        """Row and class insertions/removals: arrays are rebuilt, so undo keeps the old ones.

        Keeping references (not copies) of the previous arrays is free, and restoring them on
        undo is exact whatever happened in between.
        """
        before = (
            self.logits,
            self.labels,
            list(self.class_names),
            self.soft_targets,
            self.settings,
        )
        logits, labels, names, soft, settings = before
        if rows_insert is not None:
            positions, block, lab, sblock = rows_insert
            at = int(positions[0])
            logits = np.insert(logits, at, block.astype(logits.dtype), axis=0)
            labels = np.insert(labels, at, lab)
            soft = None if soft is None else np.insert(soft, at, sblock, axis=0)
        if rows_remove is not None:
            logits = np.delete(logits, rows_remove, axis=0)
            labels = np.delete(labels, rows_remove)
            soft = None if soft is None else np.delete(soft, rows_remove, axis=0)
        if class_insert is not None:
            at, name, column = class_insert
            logits = np.insert(logits, at, column.astype(logits.dtype), axis=1)
            soft = None if soft is None else np.insert(soft, at, 0.0, axis=1)
            names = [*names[:at], name, *names[at:]]
            shifted = (labels >= at) & (labels != settings.ignore_index)
            labels = np.where(shifted, labels + 1, labels)
            if settings.weight is not None:
                weight = list(settings.weight)
                weight.insert(at, 1.0)
                settings = replace(settings, weight=tuple(weight))
        if classes_remove is not None:
            keep = np.setdiff1d(np.arange(logits.shape[1]), classes_remove)
            logits = logits[:, keep]
            soft = None if soft is None else soft[:, keep]
            names = [names[i] for i in keep]
            # Labels of a removed class become "ignored"; later classes shift left.
            removed = np.isin(labels, classes_remove)
            shift = np.searchsorted(classes_remove, labels)
            labels = np.where(
                removed,
                settings.ignore_index,
                np.where(labels == settings.ignore_index, labels, labels - shift),
            )
            if settings.weight is not None:
                settings = replace(settings, weight=tuple(settings.weight[i] for i in keep))
        after = (logits, labels, names, soft, settings)

        def redo() -> None:
            self._set_all(after[0], after[1], list(after[2]), after[3], after[4])

        def undo() -> None:
            self._set_all(before[0], before[1], list(before[2]), before[3], before[4])

        self.push(Command(text, redo, undo, Change.STRUCTURE | Change.TARGETS))


def _one_hot(labels: np.ndarray, n_classes: int, ignore_index: int) -> np.ndarray:
    out = np.zeros((len(labels), n_classes))
    valid = (labels >= 0) & (labels < n_classes) & (labels != ignore_index)
    out[np.flatnonzero(valid), labels[valid]] = 1.0
    return out
