"""The one document the window edits: logits, targets, class names, options, the samples' inputs
and, when two models are compared, the second model's logits — with undo.

Every edit goes through a command on the undo history; after it the document re-evaluates through
:func:`core.evaluate` and tells its listeners what changed. An edit that ``evaluate`` rejects
(a label out of range, a negative weight) is rolled back and raises ``ValueError``: the previous
state always stays. No Qt here: the window adapts the listener calls to signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from softmax_lab.core import table
from softmax_lab.core.document_state import DocumentState
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.history import Change, Command
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.settings import Settings, check_settings
from softmax_lab.core.table import one_hot

__all__ = ["Change", "Command", "Document", "Settings"]

MODELS = ("a", "b")


class Document(DocumentState):
    """The edits: cells, labels, soft targets, names, options, rows and classes, whole tables,
    inputs and a second model, each one undo step (state and history: ``DocumentState``)."""

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
        before = self._state()
        grown = self._new_rows(before, self.n_samples, np.zeros((extra, self.n_classes)), None)
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
        before = self._state()
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

        def redo() -> None:
            self.class_names[col] = name

        def undo() -> None:
            self.class_names[col] = old

        self.push(Command(f"Rename class {old!r} to {name!r}", redo, undo, Change.NAMES))

    def set_class_names(self, names: Sequence[str], *, text: str = "Rename classes") -> None:
        """Every class name at once (a tokenizer chosen for a language model's vocabulary), as
        one undo step; nothing is recomputed."""
        new = [str(n) for n in names]
        if len(new) != self.n_classes:
            raise ValueError(f"got {len(new):,} names for {self.n_classes:,} classes")
        if len(set(new)) != len(new):
            raise ValueError("class names must be unique")
        old = list(self.class_names)

        def redo() -> None:
            self.class_names = list(new)

        def undo() -> None:
            self.class_names = list(old)

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
        before = self._state()
        at = int(np.clip(at, 0, self.n_samples))
        after = self._new_rows(before, at, block, labels, soft_targets, copies, logits_b)
        self._replace(text, before, after, Change.STRUCTURE | Change.TARGETS)

    def remove_samples(self, rows: Sequence[int], *, text: str = "Remove samples") -> None:
        r = np.unique(table.index_array(rows, self.n_samples))
        if len(r) >= self.n_samples:
            raise ValueError("the table needs at least one sample")
        before = self._state()
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
        before = self._state()
        after = table.insert_class(before, at, name, column, column_b)
        self._replace(text, before, after, Change.STRUCTURE | Change.TARGETS)

    def remove_classes(self, cols: Sequence[int], *, text: str = "Remove classes") -> None:
        c = np.unique(table.index_array(cols, self.n_classes))
        if len(c) >= self.n_classes:
            raise ValueError("the table needs at least one class")
        before = self._state()
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
        after = self._new_state(
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
        )
        after = replace(after, source=source)
        self._replace(text, self._state(), after, Change.ALL, evaluation, merge_key=merge_key)

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
        before = self._state()
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
        before = self._state()
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
        before = self._state()
        after = replace(before, logits_b=array, model_names=names)
        if evaluation_b is not None and not self._matches(evaluation_b):
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
        before = self._state()
        self._replace(
            f"Stop comparing with {self.model_names[1]}",
            before,
            replace(before, logits_b=None),
            Change.LOGITS_B,
        )
