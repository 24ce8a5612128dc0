"""What the table shows, and in what order: the controller's rows and columns.

The samples a sort and a filter give (``core.row_order``, in numpy), the extra columns features
add after the table's own (inputs, training dynamics, a second model's results), and which sort
or filter still fits a changed table. Owned by the :class:`~softmax_lab.gui.controller.Controller`,
which keeps the one public face (``row_count``, ``sample_at``, ``table_columns``, …) and decides
when the order is recomputed and who is told; this object knows no signal and no widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from softmax_lab.core.document import Document
from softmax_lab.core.row_order import ALL, Filter, Sort, TableColumn, row_order
from softmax_lab.core.view_state import ViewState

IMAGE_COLUMN = "__image__"  # the thumbnail column's key (no metadata name can clash with it)

ColumnProvider = Callable[[], list[TableColumn]]
ColumnEditor = Callable[[str, int, object], bool | None]


class TableRows:
    """The table's row order and extra columns over ``document`` and ``view`` (the sort and
    filter); ``cached(key, compute)`` is the controller's per-document-change cache."""

    def __init__(
        self,
        document: Document,
        view: ViewState,
        cached: Callable[[str, Callable[[], Any]], Any],
    ) -> None:
        self._document = document
        self._view = view
        self._cached = cached
        self.order: np.ndarray | None = None
        """The samples in table order (None: all of them, unsorted)."""
        self._providers: list[ColumnProvider] = [self._input_columns]
        self._editors: list[ColumnEditor] = []

    # --- rows ---------------------------------------------------------------------------------

    def row_count(self) -> int:
        return self._document.n_samples if self.order is None else int(self.order.size)

    def sample_at(self, row: int) -> int:
        return int(row if self.order is None else self.order[row])

    def row_of(self, sample: int) -> int | None:
        """The table row showing ``sample``, or None when the filter hides it."""
        if self.order is None:
            return sample if 0 <= sample < self._document.n_samples else None
        hits = np.flatnonzero(self.order == sample)
        return int(hits[0]) if hits.size else None

    def recompute(self) -> None:
        """Sort and filter by the current numbers."""
        self.order = self._fresh()

    def is_stale(self) -> bool:
        """Whether edits since the sort or filter was applied changed the rows or the order
        they would give now."""
        if self.order is None:
            return False
        fresh = self._fresh()
        return fresh is None or not np.array_equal(fresh, self.order)

    def _fresh(self) -> np.ndarray | None:
        doc = self._document
        extra = {column.key: column.values for column in self.columns()}
        return row_order(
            doc.evaluation,
            doc.logits,
            doc.labels,
            doc.soft_targets,
            self._view.sort,
            self._view.filter,
            extra,
        )

    def valid_filter(self, filt: Filter) -> Filter:
        """``filt``, or every sample when it names a class or column the table no longer has."""
        c = self._document.n_classes
        if filt.kind in ("class", "predicted") and not 0 <= int(filt.value) < c:
            return ALL
        if filt.kind == "confusion" and not all(0 <= int(v) < c for v in filt.value):
            return ALL
        if filt.kind == "column" and filt.value[0] not in {k.key for k in self.columns()}:
            return ALL
        return filt

    def valid_sort(self, sort: Sort | None) -> Sort | None:
        """``sort``, or None when it sorts by what the table no longer has."""
        if sort is None:
            return None
        name, _, cls = sort.key.partition(":")
        if name == "extra":
            keys = {column.key for column in self.columns()}
            return sort if cls in keys else None
        if cls and int(cls) >= self._document.n_classes:
            return None
        if name == "target" and self._document.settings.target_mode != "probability":
            return None
        return sort

    def shape(self) -> tuple:
        """What the table's rows and columns depend on."""
        doc = self._document
        keys = tuple(column.key for column in self.columns())
        return doc.n_samples, doc.n_classes, doc.settings.target_mode, keys

    # --- extra columns ------------------------------------------------------------------------

    def add_provider(self, provider: ColumnProvider, editor: ColumnEditor | None = None) -> None:
        self._providers.append(provider)
        if editor is not None:
            self._editors.append(editor)

    def edit(self, key: str, sample: int, text: object) -> bool:
        """A value typed into an editable extra column, handed to its provider's editor."""
        for editor in self._editors:
            done = editor(key, sample, text)
            if done is not None:
                return bool(done)
        return False

    def columns(self) -> list[TableColumn]:
        """Every provider's columns that fit the table (one value per sample). Asked for every
        table cell painted: the cached list, nothing built per call."""
        return self._cached("columns", self._collect_columns)

    def _collect_columns(self) -> list[TableColumn]:
        columns = [c for provider in self._providers for c in provider()]
        n = self._document.n_samples
        return [c for c in columns if len(c.values) == n]

    def _input_columns(self) -> list[TableColumn]:
        inputs = self._document.inputs
        columns = []
        if inputs.images is not None:
            samples = np.arange(self._document.n_samples)
            columns.append(
                TableColumn(IMAGE_COLUMN, "image", samples, "the sample's image", "image")
            )
        if inputs.texts is not None:
            columns.append(TableColumn("text", "text", inputs.texts, "the sample's text", "text"))
        for name, values in inputs.metadata.items():
            kind = {"b": "bool", "U": "text", "i": "count", "u": "count"}.get(values.dtype.kind)
            columns.append(
                TableColumn(name, name, values, f"metadata column {name!r}", kind or "number")
            )
        return columns
