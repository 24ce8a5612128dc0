"""The document's state and machinery: its arrays and options (one ``TableState``), the undo
history, the listeners and the evaluation kept current after every step. The edits a user makes
are :class:`core.document.Document`'s methods, built on ``push`` and ``_replace`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from softmax_lab.core import table
from softmax_lab.core.constants import class_name
from softmax_lab.core.evaluation import Evaluation, evaluate
from softmax_lab.core.history import Change, Command, History
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.settings import Settings
from softmax_lab.core.table import TableState, one_hot


class DocumentState:
    """Logits (N, C), hard labels (N,), soft targets (N, C), class names, settings, inputs.

    ``soft_targets`` is None until probability targets are used: in class-index mode it would be
    an (N, C) float64 array that nothing reads (400 MB for 50,000 x 1,000). Entering
    probability mode starts it from the one-hot of the labels. ``logits_b`` is None unless a
    second model is attached (:meth:`attach_model_b`); it shares the targets and the options.
    """

    logits: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    soft_targets: np.ndarray | None
    settings: Settings
    inputs: SampleInputs
    """What each sample is (images, texts, metadata); rows come and go with the table's."""
    logits_b: np.ndarray | None
    model_names: tuple[str, str]
    has_labels: bool
    """False for logits that came without labels (every label is the ignore index) until
    labels are attached or typed."""
    binary: bool
    """The logits came as one score z per sample (a binary classifier's), held as [0, z]:
    softmax gives [1 − σ(z), σ(z)] (see :mod:`core.binary`)."""
    source: Any
    """Where the logits came from (a step of a recorded run), or None; see ``TableState``."""
    evaluation_b: Evaluation | None

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
        self._listeners: list[Callable[[Change], None]] = []
        self.history = History()
        self.changed_rows: np.ndarray | None = None
        self.context_provider: Callable[[], Any] | None = None
        """Called once per new undo step; its answer is restored with the step (see Command)."""
        self.restored_context: Any = None
        """While listeners run after an undo or redo: the context of that step, else None."""
        self.evaluation_b = None
        self._set_state(
            self._new_state(
                logits,
                labels,
                class_names,
                soft_targets,
                settings,
                inputs,
                has_labels,
                binary=binary,
            )
        )
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
                evaluation = self._evaluate(command.change, command.rows)
            if evaluation_b is None:
                evaluation_b = self._evaluate_b(command.change, command.rows)
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
        self.evaluation, self.evaluation_b = evaluation, evaluation_b
        self._notify(command.change, command.rows)

    def _after(self, change: Change, rows: np.ndarray | None, context: Any = None) -> None:
        self.evaluation = self._evaluate(change, rows)
        self.evaluation_b = self._evaluate_b(change, rows)
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

    def _evaluate(self, change: Change = Change.ALL, rows: np.ndarray | None = None) -> Evaluation:
        current = getattr(self, "evaluation", None)
        if current is not None and not change & ~(Change.NAMES | Change.INPUTS | Change.LOGITS_B):
            return current  # a rename, attached inputs or model B's logits leave A's numbers
        if (
            change == Change.LOGITS
            and rows is not None
            and current is not None
            and (len(rows) * 4 < self.n_samples)
        ):
            # Only these rows moved: reuse the rest (an edit costs the same at 50,000 rows).
            return current.with_rows(rows, self.logits[rows])
        if change == Change.SETTINGS and current is not None:
            derived = self.derived_evaluation(current)
            if derived is not None:
                return derived  # only the smoothing or the reduction moved: O(N), no pass
        return evaluate(self.logits, self.target(), **self.settings.evaluate_kwargs())

    def derived_evaluation(
        self, current: Evaluation, settings: Settings | None = None
    ) -> Evaluation | None:
        """``current`` (an evaluation of this table) at ``settings`` (the document's by default)
        without a pass over the table, when they differ from its own only in the label smoothing
        or the reduction and ``Evaluation.with_options`` can give exactly what ``evaluate``
        would; else None."""
        s = self.settings if settings is None else settings
        o = current.options
        weight = None if s.weight is None else np.asarray(s.weight, dtype=np.float64)
        same = (
            current.n_samples == self.n_samples
            and current.n_classes == self.n_classes
            and current.target_kind == "index"
            and s.target_mode == "index"
            and s.temperature == o.temperature
            and s.ignore_index == o.ignore_index
            and s.device == current.device == "cpu"
            and current.device_fallback is None
            and s.dtype == current.dtype
            and (
                (weight is None and o.weight is None)
                or (
                    weight is not None and o.weight is not None and np.array_equal(weight, o.weight)
                )
            )
        )
        return current.with_options(s.label_smoothing, s.reduction) if same else None

    def _evaluate_b(self, change: Change, rows: np.ndarray | None) -> Evaluation | None:
        """Model B's evaluation, with A's targets and options."""
        if self.logits_b is None:
            return None
        current = self.evaluation_b
        if current is not None and not change & ~(Change.NAMES | Change.INPUTS | Change.LOGITS):
            return current
        if (
            change == Change.LOGITS_B
            and rows is not None
            and current is not None
            and (len(rows) * 4 < self.n_samples)
        ):
            return current.with_rows(rows, self.logits_b[rows])
        if change == Change.SETTINGS and current is not None:
            derived = self.derived_evaluation(current)
            if derived is not None:
                return derived
        return evaluate(self.logits_b, self.target(), **self.settings.evaluate_kwargs())

    # --- internals ------------------------------------------------------------------------------

    def _matches(self, ev: Evaluation) -> bool:
        """Whether ``ev`` was computed with this document's targets and options (index targets
        only: probability targets are always evaluated again)."""
        mine = self.evaluation
        if (
            ev.n_samples != mine.n_samples
            or ev.n_classes != mine.n_classes
            or ev.target_kind != "index"
            or mine.target_kind != "index"
            or ev.dtype != mine.dtype
            or ev.device != mine.device
        ):
            return False
        a, b = ev.options, mine.options
        same_weight = (a.weight is None and b.weight is None) or (
            a.weight is not None and b.weight is not None and np.array_equal(a.weight, b.weight)
        )
        return (
            same_weight
            and (a.temperature, a.ignore_index, a.reduction, a.label_smoothing)
            == (b.temperature, b.ignore_index, b.reduction, b.label_smoothing)
            and np.array_equal(ev.targets, mine.targets)
            and np.array_equal(ev.valid, mine.valid)
        )

    def _new_state(
        self,
        logits,
        labels,
        class_names,
        soft,
        settings,
        inputs,
        has_labels,
        logits_b=None,
        model_names=("A", "B"),
        *,
        binary=False,
    ) -> TableState:
        settings = settings or Settings()
        array, lab, names, soft_array = table.normalise(logits, labels, class_names, soft)
        if settings.target_mode == "probability" and soft_array is None:
            soft_array = one_hot(lab, array.shape[1], settings.ignore_index)
        b = None if logits_b is None else table.check_model_b(logits_b, array.shape)
        return TableState(
            array,
            lab,
            tuple(names),
            soft_array,
            settings,
            table.check_inputs(inputs, array.shape[0]),
            b,
            tuple(model_names),
            bool(has_labels),
            bool(binary),
        )

    def _new_rows(
        self,
        state: TableState,
        at: int,
        block: np.ndarray,
        labels: Any,
        soft: Any = None,
        copies: SampleInputs | None = None,
        block_b: Any = None,
    ) -> TableState:
        k = block.shape[0]
        lab = (
            np.zeros(k, dtype=np.int64)
            if labels is None
            else np.broadcast_to(table.labels_array(labels), (k,)).copy()
        )
        if state.soft_targets is None:
            soft_block = None
        elif soft is None:
            soft_block = one_hot(lab, self.n_classes, self.settings.ignore_index)
        else:
            soft_block = np.atleast_2d(np.asarray(soft, dtype=np.float64))
        b = None if block_b is None else np.atleast_2d(np.asarray(block_b, dtype=np.float64))
        return table.insert_rows(state, at, block, lab, soft_block, copies, b)

    def _state(self) -> TableState:
        return TableState(
            self.logits,
            self.labels,
            tuple(self.class_names),
            self.soft_targets,
            self.settings,
            self.inputs,
            self.logits_b,
            self.model_names,
            self.has_labels,
            self.binary,
            self.source,
        )

    def _set_state(self, state: TableState) -> None:
        self.logits = state.logits
        self.labels = state.labels
        self.class_names = list(state.class_names)
        self.soft_targets = state.soft_targets
        self.settings = state.settings
        self.inputs = state.inputs
        self.logits_b = state.logits_b
        self.model_names = state.model_names
        self.has_labels = state.has_labels
        self.binary = state.binary
        self.source = state.source

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
