"""Row ordering: which samples the table shows and in what order — the sort keys (per-sample
statistics, class columns, extra columns), the filters, and :func:`row_order`, which turns a sort
and a filter into the table's rows, in numpy. The view state holds a :class:`Sort` and a
:class:`Filter`; the table and every control read the one :func:`row_order` result. No Qt here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from softmax_lab.core.constants import class_name
from softmax_lab.core.evaluation import Evaluation

# --- sorting ------------------------------------------------------------------------------------

STATISTICS = ("loss", "p_true", "confidence", "margin", "entropy", "label", "prediction", "mark")
"""Per-sample keys a table can be sorted by; ``logit:<c>``, ``probability:<c>`` and
``target:<c>`` sort by one class column, ``extra:<name>`` by an extra table column (metadata,
training dynamics, a second model; see :class:`TableColumn`)."""


@dataclass(frozen=True, eq=False)
class TableColumn:
    """A column the table shows after its own: one value per sample (numbers, booleans or
    text), sortable by ``Sort("extra:<key>")`` and filterable by ``Filter("column", ...)``."""

    key: str
    header: str
    values: np.ndarray
    tooltip: str = ""
    kind: str = "number"
    """"number", "count" (whole numbers), "bool", "text", or "image" (a thumbnail column whose
    ``values`` are the sample indices; the picture comes from the document's inputs)."""
    editable: bool = False
    result: bool = False
    """A result (another model's prediction or loss, a statistic of the sample): on a narrow
    table it moves before the class columns with the label and the loss, never scrolled away."""


def column_sort_values(values: np.ndarray) -> np.ndarray:
    """float64 sort keys of a column: numbers as they are, booleans 0/1, text by its order
    (empty text last, like NaN)."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    text = values.astype(str)
    unique, rank = np.unique(text, return_inverse=True)
    out = rank.astype(np.float64)
    out[text == ""] = np.nan
    return out


@dataclass(frozen=True)
class Sort:
    """Order rows by ``key`` (see :data:`STATISTICS`); NaN always sorts last."""

    key: str
    descending: bool = True

    def __post_init__(self) -> None:
        name, _, cls = self.key.partition(":")
        if name in ("logit", "probability", "target"):
            if not cls.isdigit():
                raise ValueError(f"sort key {self.key!r} needs a class number, e.g. {name}:0")
        elif name == "extra":
            if not cls:
                raise ValueError("an extra sort key needs a column name, e.g. extra:split")
        elif self.key not in STATISTICS:
            raise ValueError(f"unknown sort key {self.key!r}")

    def describe(self, class_names: list[str]) -> str:
        name, _, cls = self.key.partition(":")
        if name == "extra":
            return f"{cls}, {'highest' if self.descending else 'lowest'} first"
        what = {
            "loss": "loss",
            "p_true": "p(true)",
            "confidence": "confidence",
            "margin": "margin",
            "entropy": "entropy",
            "label": "label",
            "prediction": "prediction",
            "mark": "✓/✗",
            "logit": "logit",
            "probability": "p",
            "target": "q",
        }[name]
        if cls:
            index = int(cls)
            what += f" of {class_names[index] if index < len(class_names) else cls}"
        return f"{what}, {'highest' if self.descending else 'lowest'} first"


SORT_CHOICES: tuple[tuple[str, Sort | None], ...] = (
    ("table order", None),
    ("loss, highest first", Sort("loss", True)),
    ("p(true), lowest first — likely label issues", Sort("p_true", False)),
    ("confidence, highest first", Sort("confidence", True)),
    ("confidence, lowest first", Sort("confidence", False)),
    ("margin, smallest first", Sort("margin", False)),
    ("entropy, highest first", Sort("entropy", True)),
)
"""The sorts offered by name in the window's Sort box, in order."""


# --- filtering ----------------------------------------------------------------------------------

FILTER_KINDS = (
    "all",
    "wrong",
    "non-finite",
    "class",
    "predicted",
    "confusion",
    "samples",
    "column",
    "search",
)


@dataclass(frozen=True)
class Filter:
    """Show only some samples. ``value``: a class for ``class`` / ``predicted``, a
    ``(true, predicted)`` pair for ``confusion``, a tuple of sample indices for ``samples``, a
    ``(column key, value)`` pair for ``column`` (an extra column equal to a value), and text for
    ``search`` (found, ignoring case, in any text column)."""

    kind: str = "all"
    value: Any = None
    label: str = ""
    """How a ``samples`` filter was made ("lasso on the data map"), for its description."""

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            raise ValueError(f"unknown filter {self.kind!r}")
        if self.kind in ("class", "predicted") and not isinstance(self.value, (int, np.integer)):
            raise ValueError(f"a {self.kind} filter needs a class number")
        if self.kind == "confusion" and not (
            isinstance(self.value, tuple) and len(self.value) == 2
        ):
            raise ValueError("a confusion filter needs a (true, predicted) pair")
        if self.kind == "samples" and not isinstance(self.value, tuple):
            object.__setattr__(self, "value", tuple(int(v) for v in np.ravel(self.value)))
        if self.kind == "column" and not (isinstance(self.value, tuple) and len(self.value) == 2):
            raise ValueError("a column filter needs a (column, value) pair")
        if self.kind == "search" and not isinstance(self.value, str):
            raise ValueError("a search filter needs text")

    @property
    def is_all(self) -> bool:
        return self.kind == "all"

    def describe(self, class_names: list[str]) -> str:
        def name(c: Any) -> str:
            i = int(c)
            return class_name(class_names, i)

        if self.kind == "all":
            return "all samples"
        if self.kind == "wrong":
            return "wrong predictions"
        if self.kind == "non-finite":
            return "non-finite rows"
        if self.kind == "class":
            return f"true class: {name(self.value)}"
        if self.kind == "predicted":
            return f"predicted: {name(self.value)}"
        if self.kind == "confusion":
            t, p = self.value
            return f"true {name(t)} predicted as {name(p)}"
        if self.kind == "column":
            key, value = self.value
            return self.label or f"{key} = {value}"
        if self.kind == "search":
            return f"text contains “{self.value}”"
        return self.label or f"{len(self.value):,} chosen samples"

    def mask(self, ev: Evaluation, extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """(N,) bool: the samples this filter shows."""
        n = ev.n_samples
        if self.kind == "all":
            return np.ones(n, dtype=bool)
        if self.kind == "wrong":
            return ev.valid & ~ev.correct
        if self.kind == "non-finite":
            return ~ev.finite
        if self.kind == "class":
            return ev.valid & (ev.targets == int(self.value))
        if self.kind == "predicted":
            return ev.predictions == int(self.value)
        if self.kind == "confusion":
            t, p = self.value
            return (
                ev.valid & ev.has_prediction & (ev.targets == int(t)) & (ev.predictions == int(p))
            )
        if self.kind == "column":
            key, value = self.value
            column = (extra or {}).get(key)
            if column is None:
                return np.zeros(n, dtype=bool)
            return np.asarray(column == type(column.flat[0])(value) if column.size else column)
        if self.kind == "search":
            needle = self.value.lower()
            mask = np.zeros(n, dtype=bool)
            for column in (extra or {}).values():
                if column.dtype.kind in "UO":
                    mask |= np.char.find(np.char.lower(column.astype(str)), needle) >= 0
            return mask
        chosen = np.asarray(self.value, dtype=np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[chosen[(chosen >= 0) & (chosen < n)]] = True
        return mask


ALL = Filter()


def sort_values(
    key: str,
    ev: Evaluation,
    logits: np.ndarray,
    labels: np.ndarray,
    soft_targets: np.ndarray | None,
    rows: np.ndarray,
    extra: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The float64 values of ``rows`` that ``key`` sorts by (NaN where there is none)."""
    name, _, cls = key.partition(":")
    if name == "extra":
        column = (extra or {}).get(cls)
        if column is None:
            return np.full(len(rows), np.nan)
        return column_sort_values(column)[rows]
    if name == "logit":
        return np.asarray(logits[rows, int(cls)], dtype=np.float64)
    if name == "probability":
        return np.asarray(ev.probabilities_of(rows)[:, int(cls)], dtype=np.float64)
    if name == "target":
        if soft_targets is None:
            return np.full(len(rows), np.nan)
        return np.asarray(soft_targets[rows, int(cls)], dtype=np.float64)
    if name == "label":
        return np.where(ev.valid[rows], labels[rows], np.nan).astype(np.float64)
    if name == "prediction":
        return ev.predictions[rows].astype(np.float64)
    if name == "mark":
        # wrong before right, ignored last: what a reviewer wants at the top.
        return np.where(ev.valid[rows], ev.correct[rows].astype(np.float64), 2.0)
    if name == "loss":
        return np.where(ev.valid[rows], ev.losses[rows], np.nan).astype(np.float64)
    values = {"p_true": ev.p_true, "confidence": ev.confidence}.get(name)
    if values is None:
        values = getattr(ev, name)  # margin, entropy: computed on first use
    return np.asarray(values, dtype=np.float64)[rows]


def row_order(
    ev: Evaluation,
    logits: np.ndarray,
    labels: np.ndarray,
    soft_targets: np.ndarray | None,
    sort: Sort | None,
    filter: Filter,
    extra: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray | None:
    """The samples in table order after ``filter`` and ``sort`` (None: all, unsorted);
    ``extra`` holds the extra table columns by key.

    A stable sort: ties keep table order, NaN last in both directions.
    """
    if sort is None and filter.is_all:
        return None
    rows = np.flatnonzero(filter.mask(ev, extra))
    if sort is not None and rows.size:
        key = sort_values(sort.key, ev, logits, labels, soft_targets, rows, extra)
        nan = np.isnan(key)
        if sort.descending:
            key = -key
        rows = rows[np.lexsort((key, nan))]
    return rows.astype(np.int64)
