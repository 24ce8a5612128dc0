"""The one document the window edits: logits, targets, class names, options, the samples' inputs
and, when two models are compared, the second model's logits — with undo.

A :class:`Document` holds three parts: ``table``, the current :class:`~core.table.TableState` (a
value: an edit that reshapes the table swaps in a new one, a cell edit writes into its arrays);
``history``, the :class:`~core.history.History` of undo steps; and ``results``, the
:class:`~core.evaluations.Evaluations` of the current table. Every edit goes through a command on
the history; after it the document re-evaluates and tells its listeners what changed. An edit
that ``evaluate`` rejects (a label out of range, a negative weight) is rolled back and raises
``ValueError``: the previous state always stays. No Qt here: the window adapts the listener calls
to signals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar, overload

import numpy as np

from softmax_lab.core import table
from softmax_lab.core.constants import class_name
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.evaluations import Evaluations, derived_evaluation
from softmax_lab.core.history import Change, Command, History
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.settings import Settings, check_settings
from softmax_lab.core.table import TableState, one_hot

__all__ = ["Change", "Command", "Document", "Settings"]

MODELS = ("a", "b")

T = TypeVar("T")


class TableField(Generic[T]):
    """A field of the document's current ``table``: read from it, and written by swapping in a
    copy of the table with that field changed (the old table, which undo may hold, stays)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, document: None, owner: type) -> TableField[T]: ...
    @overload
    def __get__(self, document: Document, owner: type) -> T: ...
    def __get__(self, document: Document | None, owner: type) -> T | TableField[T]:
        if document is None:
            return self
        return getattr(document.table, self.name)

    def __set__(self, document: Document, value: T) -> None:
        changes: dict[str, Any] = {self.name: value}
        document.table = replace(document.table, **changes)


class Document:
    """Logits (N, C), hard labels (N,), soft targets (N, C), class names, settings, inputs; the
    edits are its methods, each one undo step.

    ``soft_targets`` is None until probability targets are used: in class-index mode it would be
    an (N, C) float64 array that nothing reads (400 MB for 50,000 x 1,000). Entering
    probability mode starts it from the one-hot of the labels. ``logits_b`` is None unless a
    second model is attached (:meth:`attach_model_b`); it shares the targets and the options.
    """

    logits: TableField[np.ndarray] = TableField()
    labels: TableField[np.ndarray] = TableField()
    soft_targets: TableField[np.ndarray | None] = TableField()
    settings: TableField[Settings] = TableField()
    inputs: TableField[SampleInputs] = TableField()
    """What each sample is (images, texts, metadata); rows come and go with the table's."""
    logits_b: TableField[np.ndarray | None] = TableField()
    model_names: TableField[tuple[str, str]] = TableField()
    has_labels: TableField[bool] = TableField()
    """False for logits that came without labels (every label is the ignore index) until
    labels are attached or typed."""
    binary: TableField[bool] = TableField()
    """The logits came as one score z per sample (a binary classifier's), held as [0, z]:
    softmax gives [1 − σ(z), σ(z)] (see :mod:`core.binary`)."""
    source: TableField[Any] = TableField()
    """Where the logits came from (a step of a recorded run), or None; see ``TableState``."""

    def __init__(
        self,
        logits: Any,
        labels: Any = None,
        class_names: Sequence[str] | None = None,
        soft_targets: Any = None,
        settings: Settings | None = None,
        inputs: SampleInputs | None = None,
        *,
        has_labels: bool = True,
        binary: bool = False,
    ) -> None:
        self.table: TableState = table.new_state(
            logits, labels, class_names, soft_targets, settings, inputs, has_labels, binary=binary
        )
        self.history = History()
        self.results = Evaluations(self.table)
        self._listeners: list[Callable[[Change], None]] = []
        self._names: tuple[tuple[str, ...], list[str]] = ((), [])
        self.changed_rows: np.ndarray | None = None
        self.context_provider: Callable[[], Any] | None = None
        """Called once per new undo step; its answer is restored with the step (see Command)."""
        self.restored_context: Any = None
        """While listeners run after an undo or redo: the context of that step, else None."""

    # --- reading ------------------------------------------------------------------------------

    @property
    def class_names(self) -> list[str]:
        """The class names as a list (made once per change of names: do not write into it)."""
        names = self.table.class_names
        if self._names[0] is not names:
            self._names = (names, list(names))
        return self._names[1]

    @class_names.setter
    def class_names(self, names: Sequence[str]) -> None:
        self.table = replace(self.table, class_names=tuple(names))

    @property
    def evaluation(self) -> Evaluation:
        return self.results.a

    @property
    def evaluation_b(self) -> Evaluation | None:
        return self.results.b

    @property
    def n_samples(self) -> int:
        return int(self.logits.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.logits.shape[1])

    def target(self) -> np.ndarray:
        """What ``evaluate`` gets: labels (N,) or soft targets (N, C), by the target mode."""
        return table.target(self.table)

    def derived_evaluation(
        self, current: Evaluation, settings: Settings | None = None
    ) -> Evaluation | None:
        """``current`` (an evaluation of this table) at ``settings`` (the document's by default)
        without a pass, when only the smoothing or the reduction differ (see
        :func:`core.evaluations.derived_evaluation`); else None."""
        return derived_evaluation(current, self.table, settings)

    def snapshot(self) -> tuple:
        """A comparable copy of the whole state (for tests and the monkey test)."""
        soft = None if self.soft_targets is None else self.soft_targets.copy()
        b = None if self.logits_b is None else self.logits_b.copy()
        return (
            self.logits.copy(),
            self.labels.copy(),
            soft,
            list(self.class_names),
            self.settings,
            b,
            self.has_labels,
        )

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

    def push(
        self,
        command: Command,
        evaluation: Evaluation | None = None,
        evaluation_b: Evaluation | None = None,
    ) -> None:
        """Apply ``command``; if the result does not evaluate, roll it back and raise.
        ``evaluation`` / ``evaluation_b``: A's / B's results after it, when already computed."""
        context = self.context_provider() if self.context_provider is not None else None
        command.redo()
        try:
            if evaluation is None:
                evaluation = self.results.after_a(self.table, command.change, command.rows)
            if evaluation_b is None:
                evaluation_b = self.results.after_b(self.table, command.change, command.rows)
        except ValueError:
            command.undo()
            raise
        except (ArithmeticError, RuntimeError, MemoryError, TypeError, IndexError) as exc:
            # Whatever the evaluation raised, the table goes back to what it was: a refused
            # table never stays half-applied (new logits under the old numbers).
            command.undo()
            raise ValueError(
                f"the table cannot be evaluated ({type(exc).__name__}: {exc})"
            ) from exc
        self.history.record(command, context)
        self.results.a, self.results.b = evaluation, evaluation_b
        self._notify(command.change, command.rows)

    def _after(self, change: Change, rows: np.ndarray | None, context: Any = None) -> None:
        self.results.a, self.results.b = self.results.after(self.table, change, rows)
        self.restored_context = context
        try:
            self._notify(change, rows)
        finally:
            self.restored_context = None

    def _notify(self, change: Change, rows: np.ndarray | None = None) -> None:
        # Listeners may read changed_rows: the samples whose logits alone changed (a cell edit,
        # a drag), so a view can repaint those rows instead of everything.
        self.changed_rows = rows if change in (Change.LOGITS, Change.LOGITS_B) else None
        # Every listener hears the change even if one fails: a view that raised must not leave
        # the others (the status bar's numbers) showing the previous table. The first error is
        # raised once all have run.
        failure: Exception | None = None
        for callback in list(self._listeners):
            try:
                callback(change)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    # --- edits ----------------------------------------------------------------------------------

    def set_logits(
        self,
        rows: Sequence[int],
        cols: Sequence[int],
        values: Any,
        *,
        text: str = "Edit logits",
        merge_key: object = None,
        model: str = "a",
    ) -> None:
        """Write a block of logits of model ``"a"`` or ``"b"`` (any float: ``inf``/``-inf``/NaN
        are data)."""
        if model not in MODELS or (model == "b" and self.logits_b is None):
            raise ValueError(
                "there is no model B to edit" if model == "b" else f"no model {model!r}"
            )
        r = table.index_array(rows, self.n_samples)
        c = table.index_array(cols, self.n_classes)
        new = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(r), len(c))).copy()
        name = "logits" if model == "a" else "logits_b"
        self._ensure_writable(name)
        old = getattr(self, name)[np.ix_(r, c)].copy()
        box = {"new": new}

        def redo() -> None:
            getattr(self, name)[np.ix_(r, c)] = box["new"]

        def undo() -> None:
            getattr(self, name)[np.ix_(r, c)] = old

        def merge(later: Command) -> bool:
            # The same cells again (a drag): keep the first "before", take the latest "after".
            box["new"] = later.payload
            return True

        change = Change.LOGITS if model == "a" else Change.LOGITS_B
        self.push(
            Command(
                text,
                redo,
                undo,
                change,
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
            s = "s" if m - width > 1 else ""
            notes.append(
                f"clipped {m - width} column{s} that did not fit ({self.n_classes} classes)"
            )
        text = f"Paste {k} x {width}"
        if not extra:
            self.set_logits(range(row, row + k), range(col, col + width), clipped, text=text)
            return ", ".join(notes)
        before = self.table
        grown = table.new_rows(before, self.n_samples, np.zeros((extra, self.n_classes)), None)
        logits = np.array(grown.logits)
        logits[row : row + k, col : col + width] = clipped
        after = replace(grown, logits=logits)
        self._replace(text, before, after, Change.STRUCTURE | Change.LOGITS | Change.TARGETS)
        return ", ".join(notes)

    def set_labels(self, rows: Sequence[int], labels: Any, *, text: str = "Edit labels") -> None:
        """Labels of some samples (a label typed into a file without labels starts using them)."""
        r = table.index_array(rows, self.n_samples)
        new = np.broadcast_to(table.labels_array(labels), (len(r),)).copy()
        old, had = self.labels[r].copy(), self.has_labels

        def redo() -> None:
            self.labels[r] = new
            self.has_labels = True

        def undo() -> None:
            self.labels[r] = old
            self.has_labels = had

        self._ensure_writable("labels")
        self.push(Command(text, redo, undo, Change.TARGETS))

    def attach_labels(self, labels: Any, *, text: str = "Attach labels") -> None:
        """Labels for every sample at once (a labels file), as one undo step."""
        new = table.labels_array(labels)
        if new.shape != (self.n_samples,):
            raise ValueError(f"got {new.size:,} labels for {self.n_samples:,} samples")
        before = self.table
        self._replace(text, before, replace(before, labels=new, has_labels=True), Change.TARGETS)

    def set_soft_targets(
        self,
        rows: Sequence[int],
        cols: Sequence[int],
        values: Any,
        *,
        text: str = "Edit target probabilities",
    ) -> None:
        r = table.index_array(rows, self.n_samples)
        c = table.index_array(cols, self.n_classes)
        new = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(r), len(c))).copy()
        if not np.isfinite(new).all() or (new < 0).any():
            raise ValueError("target probabilities must be finite numbers >= 0")
        if self.soft_targets is None:
            raise ValueError("switch the targets to probabilities first")
        where = np.ix_(r, c)
        old = self.soft_targets[where].copy()

        def redo() -> None:
            assert self.soft_targets is not None
            self.soft_targets[where] = new

        def undo() -> None:
            assert self.soft_targets is not None
            self.soft_targets[where] = old

        self.push(Command(text, redo, undo, Change.TARGETS))

    def rename_class(self, col: int, name: str) -> None:
        name = str(name).strip()
        if not name:
            raise ValueError("a class name cannot be empty")
        if name in self.class_names and self.class_names.index(name) != col:
            raise ValueError(f"there is already a class named {name!r}")
        old = self.class_names[col]
        before = self.table.class_names
        after = (*before[:col], name, *before[col + 1 :])

        def redo() -> None:
            self.class_names = after

        def undo() -> None:
            self.class_names = before

        self.push(Command(f"Rename class {old!r} to {name!r}", redo, undo, Change.NAMES))

    def set_class_names(self, names: Sequence[str], *, text: str = "Rename classes") -> None:
        """Every class name at once (a tokenizer chosen for a language model's vocabulary), as
        one undo step; nothing is recomputed."""
        new = [str(n) for n in names]
        if len(new) != self.n_classes:
            raise ValueError(f"got {len(new):,} names for {self.n_classes:,} classes")
        if len(set(new)) != len(new):
            raise ValueError("class names must be unique")
        old = self.table.class_names

        def redo() -> None:
            self.class_names = new

        def undo() -> None:
            self.class_names = old

        self.push(Command(text, redo, undo, Change.NAMES))

    def set_settings(
        self,
        text: str | None = None,
        *,
        merge_key: object = None,
        evaluation: Evaluation | None = None,
        **changes: Any,
    ) -> None:
        """Change options (``temperature=0.5``, ``reduction="sum"``...), checked by
        :func:`~core.settings.check_settings` (a bad value raises ``ValueError``, nothing changes).

        Consecutive changes with the same ``merge_key`` (a slider being dragged) are one step.
        ``evaluation``, if given, is the result already computed for exactly this table with the
        new settings (a large table is re-evaluated off the GUI thread).
        """
        changes = check_settings(changes, self.n_classes)
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
                self.soft_targets = one_hot(self.labels, self.n_classes, new.ignore_index)

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
            ),
            evaluation=None if to_soft else evaluation,
        )

    def insert_samples(
        self,
        at: int,
        logits: Any,
        labels: Any = None,
        soft_targets: Any = None,
        *,
        text: str = "Add samples",
        copies: SampleInputs | None = None,
        logits_b: Any = None,
    ) -> None:
        """Insert rows before ``at``; their inputs are ``copies`` (a duplicate) or blanks, and
        model B's rows ``logits_b`` (a duplicate) or A's."""
        block = np.atleast_2d(np.asarray(logits, dtype=np.float64))
        if block.shape[1] != self.n_classes:
            raise ValueError(f"new rows need {self.n_classes} logits, got {block.shape[1]}")
        before = self.table
        at = int(np.clip(at, 0, self.n_samples))
        after = table.new_rows(before, at, block, labels, soft_targets, copies, logits_b)
        self._replace(text, before, after, Change.STRUCTURE | Change.TARGETS)

    def remove_samples(self, rows: Sequence[int], *, text: str = "Remove samples") -> None:
        r = np.unique(table.index_array(rows, self.n_samples))
        if len(r) >= self.n_samples:
            raise ValueError("the table needs at least one sample")
        before = self.table
        self._replace(text, before, table.delete_rows(before, r), Change.STRUCTURE | Change.TARGETS)

    def duplicate_samples(self, rows: Sequence[int]) -> None:
        r = np.unique(table.index_array(rows, self.n_samples))
        soft = None if self.soft_targets is None else self.soft_targets[r]
        self.insert_samples(
            int(r[-1]) + 1,
            self.logits[r],
            self.labels[r],
            soft,
            text="Duplicate samples",
            copies=self.inputs.take(r),
            logits_b=None if self.logits_b is None else self.logits_b[r],
        )

    def insert_class(
        self,
        at: int,
        name: str | None = None,
        logits: Any = 0.0,
        *,
        text: str = "Add class",
        logits_b: Any = None,
    ) -> None:
        at = int(np.clip(at, 0, self.n_classes))
        name = name or self._free_name()
        if name in self.class_names:
            raise ValueError(f"there is already a class named {name!r}")
        n = self.n_samples
        column = np.broadcast_to(np.asarray(logits, dtype=np.float64), (n,)).copy()
        column_b = (
            None
            if logits_b is None
            else np.broadcast_to(np.asarray(logits_b, dtype=np.float64), (n,)).copy()
        )
        before = self.table
        after = table.insert_class(before, at, name, column, column_b)
        self._replace(text, before, after, Change.STRUCTURE | Change.TARGETS)

    def remove_classes(self, cols: Sequence[int], *, text: str = "Remove classes") -> None:
        c = np.unique(table.index_array(cols, self.n_classes))
        if len(c) >= self.n_classes:
            raise ValueError("the table needs at least one class")
        before = self.table
        self._replace(
            text, before, table.delete_classes(before, c), Change.STRUCTURE | Change.TARGETS
        )

    def duplicate_class(self, col: int) -> None:
        base = self.class_names[col]
        name = base + " copy"
        i = 2
        while name in self.class_names:
            name, i = f"{base} copy {i}", i + 1
        self.insert_class(
            col + 1,
            name,
            self.logits[:, col],
            text="Duplicate class",
            logits_b=None if self.logits_b is None else self.logits_b[:, col],
        )

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
        inputs: SampleInputs | None = None,
        has_labels: bool = True,
        logits_b: Any = None,
        model_names: tuple[str, str] = ("A", "B"),
        binary: bool = False,
        source: Any = None,
        merge_key: object = None,
    ) -> None:
        """Swap in a whole new table (a preset, a random table, a loaded file) as one step
        (consecutive swaps with one ``merge_key``, a training loop's burst: one step).

        ``evaluation``, if given, is the already computed result for exactly this table and
        settings (a large file is evaluated off the GUI thread): it is used instead of a rerun.
        ``inputs`` None keeps the current ones when the row count stays (a random table over the
        same samples) and drops them otherwise. A second model is dropped unless ``logits_b``.
        """
        n_new = table.logits_array(logits).shape[0]
        if inputs is None:
            inputs = self.inputs if n_new == self.n_samples else None
        after = table.new_state(
            logits,
            labels,
            class_names,
            soft_targets,
            settings or replace(self.settings, weight=None),
            inputs,
            has_labels,
            logits_b,
            model_names,
            binary=binary,
            source=source,
        )
        self._replace(text, self.table, after, Change.ALL, evaluation, merge_key=merge_key)

    def replace_logits(
        self,
        logits: Any,
        *,
        text: str,
        source: Any = None,
        merge_key: object = None,
        evaluation: Evaluation | None = None,
    ) -> None:
        """Model A's whole logits table swapped for another of the same shape (another step of
        a recorded run) as one undo step; labels, names, inputs and options stay. The array is
        kept by reference (a memory map stays one). Consecutive swaps with one ``merge_key``
        (a run played or a slider dragged) are one step that undoes to before the first."""
        array = table.logits_array(logits)
        if array.shape != self.logits.shape:
            raise ValueError(
                f"the new logits are {array.shape[0]:,} x {array.shape[1]:,}; the table is "
                f"{self.n_samples:,} x {self.n_classes:,}"
            )
        before = self.table
        box = {"after": replace(before, logits=array, source=source)}

        def merge(later: Command) -> bool:
            box["after"] = replace(box["after"], **later.payload)
            return True

        self.push(
            Command(
                text,
                lambda: self._set_state(box["after"]),
                lambda: self._set_state(before),
                Change.LOGITS,
                merge_key=merge_key,
                merge=merge,
                payload={"logits": array, "source": source},
            ),
            evaluation=evaluation,
        )

    def set_inputs(self, inputs: SampleInputs, *, text: str = "Attach inputs") -> None:
        """Attach images, texts or metadata to the current samples as one undo step."""
        before = self.table
        after = replace(before, inputs=table.check_inputs(inputs, self.n_samples))
        self._replace(text, before, after, Change.INPUTS)

    def attach_model_b(
        self,
        logits_b: Any,
        names: tuple[str, str] = ("A", "B"),
        *,
        text: str | None = None,
        evaluation_b: Evaluation | None = None,
    ) -> None:
        """Compare with a second model's logits over the same samples and classes.

        ``evaluation_b``, if given, is ``logits_b`` already evaluated (off the GUI thread, with
        :func:`core.compare.evaluate_like`); it is used only if it still matches the document's
        targets and options, else B is evaluated again here.
        """
        array = table.check_model_b(logits_b, self.logits.shape)
        names = (str(names[0]) or "A", str(names[1]) or "B")
        before = self.table
        after = replace(before, logits_b=array, model_names=names)
        if evaluation_b is not None and not self.results.matches(evaluation_b):
            evaluation_b = None
        self._replace(
            text or f"Compare with {names[1]}",
            before,
            after,
            Change.LOGITS_B,
            evaluation_b=evaluation_b,
        )

    def detach_model_b(self) -> None:
        if self.logits_b is None:
            return
        before = self.table
        self._replace(
            f"Stop comparing with {self.model_names[1]}",
            before,
            replace(before, logits_b=None),
            Change.LOGITS_B,
        )

    # --- internals ------------------------------------------------------------------------------

    def _set_state(self, state: TableState) -> None:
        self.table = state

    def _replace(
        self,
        text: str,
        before: TableState,
        after: TableState,
        change: Change,
        evaluation: Evaluation | None = None,
        evaluation_b: Evaluation | None = None,
        merge_key: object = None,
    ) -> None:
        """One undo step from ``before`` to ``after``: the old arrays are kept by reference,
        which costs nothing and restores them exactly whatever happened in between.
        Consecutive replacements with one ``merge_key`` (a training loop's burst of tables) are
        one step that undoes to before the first."""
        box = {"after": after}

        def merge(later: Command) -> bool:
            box["after"] = later.payload
            return True

        self.push(
            Command(
                text,
                lambda: self._set_state(box["after"]),
                lambda: self._set_state(before),
                change,
                merge_key=merge_key,
                merge=merge,
                payload=after,
            ),
            evaluation=evaluation,
            evaluation_b=evaluation_b,
        )

    def _ensure_writable(self, name: str) -> None:
        # A memory-mapped file is read-only: copy it on the first edit, never before.
        array = getattr(self, name)
        if not array.flags.writeable:
            setattr(self, name, np.array(array))

    def _free_name(self) -> str:
        i = self.n_classes
        while class_name([], i) in self.class_names:
            i += 1
        return class_name([], i)
