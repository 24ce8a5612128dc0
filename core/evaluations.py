"""Model A's and model B's evaluation of the document's table, kept current: after a change only
what it touched is computed again (a rename nothing, a cell edit its rows). Owned by
:class:`core.document.Document`; no Qt here."""

from __future__ import annotations

import numpy as np

from softmax_lab.core import table
from softmax_lab.core.changes import Change
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.settings import Settings
from softmax_lab.core.table import TableState

KEEPS_A = Change.NAMES | Change.INPUTS | Change.LOGITS_B
"""Changes that leave model A's numbers as they were."""
KEEPS_B = Change.NAMES | Change.INPUTS | Change.LOGITS
"""Changes that leave model B's numbers as they were."""


class Evaluations:
    """``a``: model A's evaluation of the current table; ``b``: model B's, or None."""

    def __init__(self, state: TableState) -> None:
        self.a: Evaluation = _evaluate(state, state.logits)
        self.b: Evaluation | None = None
        if state.logits_b is not None:
            self.b = _evaluate(state, state.logits_b)

    def after(
        self, state: TableState, change: Change, rows: np.ndarray | None
    ) -> tuple[Evaluation, Evaluation | None]:
        """A's and B's evaluations of ``state``, which ``change`` (of ``rows`` alone, when
        given) made from the table these are of. Nothing is stored: the caller keeps them
        once the change is accepted."""
        return self.after_a(state, change, rows), self.after_b(state, change, rows)

    def after_a(self, state: TableState, change: Change, rows: np.ndarray | None) -> Evaluation:
        return _updated(self.a, state, state.logits, change, Change.LOGITS, KEEPS_A, rows)

    def after_b(
        self, state: TableState, change: Change, rows: np.ndarray | None
    ) -> Evaluation | None:
        if state.logits_b is None:
            return None
        return _updated(self.b, state, state.logits_b, change, Change.LOGITS_B, KEEPS_B, rows)

    def matches(self, ev: Evaluation) -> bool:
        """Whether ``ev`` was computed with A's targets and options (index targets only:
        probability targets are always evaluated again)."""
        mine = self.a
        if (
            ev.n_samples != mine.n_samples
            or ev.n_classes != mine.n_classes
            or ev.target_kind != "index"
            or mine.target_kind != "index"
            or ev.dtype != mine.dtype
            or ev.device != mine.device
        ):
            return False
        return (
            ev.options.same_as(mine.options)
            and np.array_equal(ev.targets, mine.targets)
            and np.array_equal(ev.valid, mine.valid)
        )


def _evaluate(state: TableState, logits: np.ndarray) -> Evaluation:
    return evaluate(logits, table.target(state), **state.settings.evaluate_kwargs())


def _updated(
    current: Evaluation | None,
    state: TableState,
    logits: np.ndarray,
    change: Change,
    own: Change,
    keeps: Change,
    rows: np.ndarray | None,
) -> Evaluation:
    if current is not None and not change & ~keeps:
        return current  # e.g. a rename, attached inputs or the other model's logits
    if change == own and rows is not None and current is not None and len(rows) * 4 < len(logits):
        # Only these rows moved: reuse the rest (an edit costs the same at 50,000 rows).
        return current.with_rows(rows, logits[rows])
    if change == Change.SETTINGS and current is not None:
        derived = derived_evaluation(current, state)
        if derived is not None:
            return derived  # only the smoothing or the reduction moved: O(N), no pass
    return _evaluate(state, logits)


def derived_evaluation(
    current: Evaluation, state: TableState, settings: Settings | None = None
) -> Evaluation | None:
    """``current`` (an evaluation of ``state``'s table) at ``settings`` (the table's by default)
    without a pass over the table, when they differ from its own only in the label smoothing
    or the reduction and ``Evaluation.with_options`` can give exactly what ``evaluate``
    would; else None."""
    s: Settings = state.settings if settings is None else settings
    o = current.options
    n, c = state.logits.shape
    weight = None if s.weight is None else np.asarray(s.weight, dtype=np.float64)
    same = (
        current.n_samples == n
        and current.n_classes == c
        and current.target_kind == "index"
        and s.target_mode == "index"
        and s.temperature == o.temperature
        and s.ignore_index == o.ignore_index
        and s.device == current.device == "cpu"
        and current.device_fallback is None
        and s.dtype == current.dtype
        and (
            (weight is None and o.weight is None)
            or (weight is not None and o.weight is not None and np.array_equal(weight, o.weight))
        )
    )
    return current.with_options(s.label_smoothing, s.reduction) if same else None
