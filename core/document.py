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

What an edit does is not here: :mod:`core.edits` checks it and describes it as a pure function of
the table, :mod:`core.steps` makes that description an undoable command; a method of the
document is that pair, pushed onto the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from softmax_lab.core import edits, steps, table
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.evaluations import Evaluations, derived_evaluation
from softmax_lab.core.history import Change, Command, History
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.settings import Settings
from softmax_lab.core.table import TableField, TableState

__all__ = ["Change", "Command", "Document", "Settings"]


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
        return table.snapshot(self.table)

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

    # --- edits: each one is checked and described by core.edits, then pushed here -------------

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
        cells = edits.logit_cells(self.table, rows, cols, values, text=text, model=model)
        self._write(cells, merge_key)

    def paste_logits(self, row: int, col: int, block: Any) -> str:
        """Paste a block at (row, col) as one undo step; returns what happened, in words.

        Rows past the end grow the table (new samples get label 0); columns past the last class
        are clipped, since a paste should not invent classes.
        """
        edit, notes = edits.paste(self.table, row, col, block)
        if isinstance(edit, edits.Cells):
            self._write(edit)
        else:
            self._swap(edit)
        return notes

    def set_labels(self, rows: Sequence[int], labels: Any, *, text: str = "Edit labels") -> None:
        """Labels of some samples (a label typed into a file without labels starts using them)."""
        self._write(edits.label_cells(self.table, rows, labels, text=text))

    def attach_labels(self, labels: Any, *, text: str = "Attach labels") -> None:
        """Labels for every sample at once (a labels file), as one undo step."""
        self._swap(edits.attach_labels(self.table, labels, text=text))

    def set_soft_targets(
        self,
        rows: Sequence[int],
        cols: Sequence[int],
        values: Any,
        *,
        text: str = "Edit target probabilities",
    ) -> None:
        self._write(edits.soft_target_cells(self.table, rows, cols, values, text=text))

    def rename_class(self, col: int, name: str) -> None:
        self._set_fields(edits.rename_class(self.table, col, name))

    def set_class_names(self, names: Sequence[str], *, text: str = "Rename classes") -> None:
        """Every class name at once (a tokenizer chosen for a language model's vocabulary), as
        one undo step; nothing is recomputed."""
        self._set_fields(edits.class_names(self.table, names, text=text))

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
        edit = edits.settings(self.table, text, **changes)
        if edit is not None:
            self._set_fields(edit, merge_key, evaluation if edit.mergeable else None)

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
        edit = edits.insert_samples(
            self.table,
            at,
            logits,
            labels,
            soft_targets,
            text=text,
            copies=copies,
            logits_b=logits_b,
        )
        self._swap(edit)

    def remove_samples(self, rows: Sequence[int], *, text: str = "Remove samples") -> None:
        self._swap(edits.remove_samples(self.table, rows, text=text))

    def duplicate_samples(self, rows: Sequence[int]) -> None:
        self._swap(edits.duplicate_samples(self.table, rows))

    def insert_class(
        self,
        at: int,
        name: str | None = None,
        logits: Any = 0.0,
        *,
        text: str = "Add class",
        logits_b: Any = None,
    ) -> None:
        self._swap(edits.insert_class(self.table, at, name, logits, text=text, logits_b=logits_b))

    def remove_classes(self, cols: Sequence[int], *, text: str = "Remove classes") -> None:
        self._swap(edits.remove_classes(self.table, cols, text=text))

    def duplicate_class(self, col: int) -> None:
        self._swap(edits.duplicate_class(self.table, col))

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
        edit = edits.replace_all(
            self.table,
            logits,
            labels,
            class_names,
            soft_targets,
            settings,
            text=text,
            inputs=inputs,
            has_labels=has_labels,
            logits_b=logits_b,
            model_names=model_names,
            binary=binary,
            source=source,
        )
        self._swap(edit, evaluation, merge_key=merge_key)

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
        edit = edits.replace_logits(self.table, logits, text=text, source=source)
        self._swap(edit, evaluation, merge_key=merge_key)

    def set_inputs(self, inputs: SampleInputs, *, text: str = "Attach inputs") -> None:
        """Attach images, texts or metadata to the current samples as one undo step."""
        self._swap(edits.set_inputs(self.table, inputs, text=text))

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
        edit = edits.attach_model_b(self.table, logits_b, names, text=text)
        if evaluation_b is not None and not self.results.matches(evaluation_b):
            evaluation_b = None
        self._swap(edit, evaluation_b=evaluation_b)

    def detach_model_b(self) -> None:
        edit = edits.detach_model_b(self.table)
        if edit is not None:
            self._swap(edit)

    # --- internals ------------------------------------------------------------------------------

    def _swap(
        self,
        edit: edits.Swap,
        evaluation: Evaluation | None = None,
        evaluation_b: Evaluation | None = None,
        merge_key: object = None,
    ) -> None:
        command = steps.swap_command(self, edit, merge_key)
        self.push(command, evaluation=evaluation, evaluation_b=evaluation_b)

    def _write(self, edit: edits.Cells, merge_key: object = None) -> None:
        self.push(steps.cells_command(self, edit, merge_key))

    def _set_fields(
        self, edit: edits.Fields, merge_key: object = None, evaluation: Evaluation | None = None
    ) -> None:
        self.push(steps.fields_command(self, edit, merge_key), evaluation=evaluation)
