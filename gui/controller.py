"""The one source of truth of a window: the document, the view state, and every call into core.

Widgets never talk to each other, and none keeps its own copy of what it shows: they render
what the :class:`Controller` publishes and send user intent back through its methods. Changes
are routed by kind, so that each view does only the work its kind needs:

* ``sigLayoutChanged`` — rows or columns came or went (the table resets);
* ``sigDataChanged(change, rows)`` — numbers changed (data or options): views redraw;
* ``sigNamesChanged`` — a class was renamed: labels only, nothing is recomputed;
* ``sigInputsChanged`` — the samples' images, texts or metadata changed;
* ``sigSelectionChanged(sample)`` — a selection moves markers, recomputes nothing;
* ``sigOrderChanged`` — the sort or filter changed: the table reorders, its boxes follow;
* ``sigStyleChanged(theme)`` — the one theme every widget draws with changed (its colours, the
  chosen scale, or the desk's factor for the window's size): restyle only;
* ``sigViewChanged(fields)`` — tabs, presentation mode, a focused plot, the probability view.
"""

from __future__ import annotations

__all__ = ["Change", "Controller"]

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import SCALES
from softmax_lab.core.devices import available_devices
from softmax_lab.core.document import Change, Document
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.inputs import NO_INPUTS, SampleInputs
from softmax_lab.core.metrics import DatasetSummary, summarize
from softmax_lab.core.opening import PreparedFile
from softmax_lab.core.parsing import parse_number
from softmax_lab.core.presets import DEFAULT_PRESET, PRESETS, random_table
from softmax_lab.core.row_order import ALL, Filter, Sort, TableColumn
from softmax_lab.core.view_state import UNDO_CONTEXT, ViewState
from softmax_lab.gui.compare_session import CompareSession
from softmax_lab.gui.derived import Derived
from softmax_lab.gui.inputs_session import InputsSession
from softmax_lab.gui.lesson_session import LessonSession
from softmax_lab.gui.model_session import ModelSession, labels_by_text, sampler_of
from softmax_lab.gui.runs_session import RunsSession
from softmax_lab.gui.sequence_session import SequenceSession
from softmax_lab.gui.settings_jobs import BackgroundSettings
from softmax_lab.gui.table_rows import ColumnEditor, ColumnProvider, TableRows
from softmax_lab.gui.temperature_session import TemperatureSession
from softmax_lab.gui.theme import THEMES, Theme
from softmax_lab.gui.workers import Jobs

DATASET_TOP_K_CELLS = 5_000_000
"""Above this many cells top-5 accuracy is not recomputed live (one more pass over the table)."""
SUMMARY_DELAY_MS = 150


class Controller(Derived, QObject):
    """Owns one :class:`Document` and one :class:`ViewState`; see the module docstring."""

    sigLayoutChanged = Signal()
    sigDataChanged = Signal(object, object)  # Change, changed rows (np.ndarray) or None
    sigNamesChanged = Signal()
    sigInputsChanged = Signal()  # images, texts or metadata came, went or moved with their rows
    sigSelectionChanged = Signal(int)
    sigOrderChanged = Signal()
    sigStyleChanged = Signal(object)  # Theme
    sigViewChanged = Signal(object)  # frozenset of view-state field names
    sigHistoryChanged = Signal()
    sigMessage = Signal(str)
    sigSummaryReady = Signal()
    sigAnimating = Signal(bool)  # axes hold still while True
    sigFitRunning = Signal(bool)
    sigTemperatureFitted = Signal(object)  # TemperatureFit
    sigCompareChanged = Signal(bool)  # a model B came or went
    sigGradientModelChanged = Signal(str)  # "a" or "b": whose gradient the plot shows

    def __init__(self, document: Document | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document or DEFAULT_PRESET.new_document()
        self.view = ViewState()
        self.jobs = Jobs(self)
        self._cache: dict[str, Any] = {}
        self._row_cache: dict[int, np.ndarray] = {}
        self._summary: DatasetSummary | None = None
        self._summary_timer = QTimer(self, singleShot=True, interval=SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self.refresh_summary)
        self._drag_serial = 0
        self._theme: tuple[tuple[str, float], Theme] | None = None
        self._styled = self.theme  # the theme last announced by sigStyleChanged
        self._animating = False
        self._quietly = False  # view changes the document handler announces itself
        self._curve_top: float | None = None
        self._rows = TableRows(self.document, self.view, self.cached)
        """The table's row order and extra columns (gui.table_rows)."""
        self.inputs_session = InputsSession(self)
        """Thumbnails, the filter box, no-labels summaries, binary scores: gui.inputs_session."""
        self._last_shape = self._rows.shape()
        self.lessons = LessonSession(self)
        self.document.context_provider = lambda: self.view.snapshot(UNDO_CONTEXT)
        self.document.subscribe(self._on_document_changed)
        self.view.subscribe(self._on_view_changed)
        self.compare = CompareSession(self)
        """Comparing model A with a model B (gui.compare_session)."""
        self.compare.sigActiveChanged.connect(self.sigCompareChanged)
        self.compare.sigGradientModelChanged.connect(self.sigGradientModelChanged)
        self.runs = RunsSession(self)  # a recorded run's steps and dynamics (gui.runs_session)
        self.background = BackgroundSettings(
            self.document,
            self.jobs,
            message=self.sigMessage.emit,
            refused=lambda: self.sigDataChanged.emit(Change.SETTINGS, None),
            parent=self,
        )
        """Option changes of large tables, evaluated off the GUI thread."""
        self.sequences = SequenceSession(self)
        """Language-model logits: sequences, tokens, perplexity (active when they are open)."""
        self.temperature = TemperatureSession(
            self.document,
            self.jobs,
            set_options=self.set_options,
            end_merge=self.end_merge,
            set_holding=self.set_holding,
            parent=self,
        )
        """The temperature sweep (Ctrl+Space) and fit (gui.temperature_session)."""
        self.temperature.sigFitRunning.connect(self.sigFitRunning)
        self.temperature.sigFitted.connect(self.sigTemperatureFitted)
        self.temperature.sigMessage.connect(self.sigMessage)
        self.model = ModelSession(
            self.jobs,
            settings=lambda: self.document.settings,
            sampler=lambda: sampler_of(self.document.settings, self.view),
            apply=self.open_prepared,
            labels_of=lambda: labels_by_text(self.document),
            shown=lambda: self.document.evaluation,
            parent=self,
        )
        """A live model: prompts, classified lines, generation (gui.model_session)."""

    # --- reading ------------------------------------------------------------------------------

    @property
    def theme(self) -> Theme:
        """The one theme every widget draws with, at ``ViewState.type_scale`` (made once per
        theme and scale: the table asks for it for every cell it paints)."""
        key = (self.view.theme, self.view.type_scale)
        if self._theme is None or self._theme[0] != key:
            self._theme = (key, THEMES[key[0]].scaled(key[1]))
        return self._theme[1]

    @property
    def order(self) -> np.ndarray | None:
        """The samples in table order (None: all of them, unsorted)."""
        return self._rows.order

    @property
    def animating(self) -> bool:
        return self._animating

    @property
    def drag_serial(self) -> int:
        """Counts finished drags: a drag's moves share a merge key (one undo step), the next
        drag's do not."""
        return self._drag_serial

    @property
    def summary_ready(self) -> bool:
        """The dataset metrics of the current evaluation are computed (``summary()`` is free)."""
        return self._summary is not None

    def row_count(self) -> int:
        return self._rows.row_count()

    def sample_at(self, row: int) -> int:
        return self._rows.sample_at(row)

    def row_of(self, sample: int) -> int | None:
        """The table row showing ``sample``, or None when the filter hides it."""
        return self._rows.row_of(sample)

    @staticmethod
    def devices() -> list[str]:
        return available_devices()

    def refresh_summary(self) -> None:
        """Compute the dataset metrics of the current evaluation now and announce them."""
        ev = self.evaluation
        self._summary_timer.stop()
        top_k = 5 if ev.n_samples * ev.n_classes <= DATASET_TOP_K_CELLS else 0
        self._summary = summarize(ev, top_k=top_k)
        self.sigSummaryReady.emit()

    # --- document -> views --------------------------------------------------------------------

    def _on_document_changed(self, change: Change) -> None:
        doc = self.document
        context = doc.restored_context
        rows = doc.changed_rows
        # Each session is told in this order, by the controller only (none subscribes to the
        # document itself): what they hold decides the table's columns read below.
        self.background.document_changed(context)
        self.sequences.document_changed(change, rows)
        self.runs.document_changed(change)
        self._cache.clear()
        self._row_cache.clear()
        if change == Change.ALL and not self._animating:
            self._curve_top = None  # a new table: the loss curve's axis fits it afresh
        if change != Change.NAMES:
            self._summary = None
        shape = self._rows.shape()
        layout = shape != self._last_shape or bool(change & Change.STRUCTURE)
        self._last_shape = shape
        if layout or context:
            fixes: dict[str, Any] = dict(context or {})
            filt = fixes.get("filter", self.view.filter)
            if change & Change.STRUCTURE and context is None and filt.kind == "samples":
                fixes["filter"] = ALL  # sample numbers moved
            fixes["selected"] = min(fixes.get("selected", self.selected), doc.n_samples - 1)
            fixes["filter"] = self._rows.valid_filter(fixes.get("filter", self.view.filter))
            fixes["sort"] = self._rows.valid_sort(fixes.get("sort", self.view.sort))
            self._quietly = True
            try:
                changed = self.view.update(**fixes)
            finally:
                self._quietly = False
            self._rows.recompute()
            self.sigLayoutChanged.emit()
            self._announce(changed - {"sort", "filter"})
            if changed & {"sort", "filter"}:
                self.sigOrderChanged.emit()
        if change & (Change.INPUTS | Change.STRUCTURE):
            self.sigInputsChanged.emit()
        if change == Change.NAMES:
            self.sigNamesChanged.emit()
        elif change != Change.INPUTS:
            self.compare.document_changed(change)  # before the views draw both models
            self.sigDataChanged.emit(change, rows)
        self.sigHistoryChanged.emit()
        self._schedule_summary()
        self.runs.announce()  # a run opened or closed, a step shown: after the table is current

    def _on_view_changed(self, changed: frozenset[str]) -> None:
        if self._quietly:
            return  # the document handler announces in its own order
        if changed & {"sort", "filter"}:
            self._rows.recompute()
            self.sigOrderChanged.emit()
        self._announce(changed - {"sort", "filter"})

    def _announce(self, changed: frozenset[str]) -> None:
        if "selected" in changed:
            self.sigSelectionChanged.emit(self.selected)
        rest = changed - {"selected", "theme", "scale", "desk_factor"}
        if rest:
            self.sigViewChanged.emit(frozenset(rest))
        if "view_tab" in rest:
            self._schedule_summary()
        if "lesson" in rest:
            self.lessons.resume()
        # Last, and only when it differs from the one announced: going on stage changes the
        # presentation flag and then (from a handler above) the scale, and restyles once.
        theme = self.theme
        if theme != self._styled:
            self._styled = theme
            self.sigStyleChanged.emit(theme)

    # --- extra table columns ------------------------------------------------------------------

    def add_column_provider(
        self, provider: ColumnProvider, editor: ColumnEditor | None = None
    ) -> None:
        """Let a feature (training dynamics, a second model) add columns after the table's own;
        ``provider`` is asked again after every document change and ``refresh_columns()``.
        ``editor(key, sample, text)`` takes what is typed into its ``editable`` columns (and
        returns None for a key that is not its own)."""
        self._rows.add_provider(provider, editor)
        self.refresh_columns()

    def edit_column(self, key: str, sample: int, text: object) -> bool:
        """A value typed into an editable extra column, handed to its provider's editor."""
        return self._rows.edit(key, sample, text)

    def refresh_columns(self) -> None:
        """A provider's columns changed: re-read them, re-order rows, reset the table."""
        self._cache.pop("columns", None)
        self._last_shape = self._rows.shape()
        self._rows.recompute()
        self.sigLayoutChanged.emit()

    def table_columns(self) -> list[TableColumn]:
        return self._rows.columns()

    def order_is_stale(self) -> bool:
        """Whether edits since the sort or filter was applied changed the rows or the order
        they would give now (the table keeps its rows until re-applied: see reapply_order)."""
        return self._rows.is_stale()

    def reapply_order(self) -> None:
        """Sort and filter the table again by the current numbers (the Re-apply button)."""
        self._rows.recompute()
        self.sigOrderChanged.emit()

    def _schedule_summary(self) -> None:
        # Dataset metrics cost O(N) plus a top-k pass: only while that tab shows, once a burst.
        if self.view.view_tab == "dataset" and self._summary is None:
            self._summary_timer.start()

    # --- view intents -------------------------------------------------------------------------

    def select(self, sample: int) -> None:
        """Select a sample; one the filter hides brings every sample back into view first."""
        if not 0 <= sample < self.document.n_samples:
            return
        changes: dict[str, Any] = {"selected": int(sample)}
        if self.row_of(sample) is None:
            changes["filter"] = ALL
        self.view.update(**changes)

    def set_sort(self, sort: Sort | None) -> None:
        """Order the table (also re-sorts when chosen again: edited values moved)."""
        if not self.view.update(sort=sort):
            self._rows.recompute()
            self.sigOrderChanged.emit()

    def set_filter(self, filt: Filter) -> None:
        if not self.view.update(filter=self._rows.valid_filter(filt)):
            self._rows.recompute()
            self.sigOrderChanged.emit()

    def show_confusion_cell(self, true_class: int, predicted: int) -> None:
        """The confusion-matrix drill-down: that cell's samples, worst first, the first selected."""
        self.view.update(filter=Filter("confusion", (int(true_class), int(predicted))))
        self.set_sort(Sort("loss", True))
        n = self.row_count()
        description = self.view.filter.describe(self.class_names)
        self.sigMessage.emit(f"Table: {description} ({n:,} samples, worst first)")
        if n:
            self.select(self.sample_at(0))

    def update_view(self, **changes: Any) -> None:
        """Any other view field (tabs, probability view, side panel, focused plot, top-k/p)."""
        try:
            self.view.update(**changes)
        except ValueError as exc:
            self.sigMessage.emit(f"Not changed: {exc}")

    def set_scale(self, scale: float) -> None:
        self.view.update(scale=min(max(float(scale), SCALES[0]), SCALES[-1]))
        self.sigMessage.emit(f"Scale {fmt.short(self.view.scale)}×")

    def step_scale(self, step: int) -> None:
        current = min(range(len(SCALES)), key=lambda i: abs(SCALES[i] - self.view.scale))
        self.set_scale(SCALES[min(max(current + step, 0), len(SCALES) - 1)])

    # --- edit intents -------------------------------------------------------------------------

    def apply_edit(self, edit: Any, *args: Any, **kwargs: Any) -> bool:
        """Run one edit of the document; one it refuses becomes a message (the document keeps
        its previous state). True when it was applied."""
        try:
            edit(*args, **kwargs)
        except ValueError as exc:
            self.sigMessage.emit(f"Not changed: {exc}")
            return False
        return True

    def edit_logit(self, sample: int, cls: int, text: object) -> bool:
        """A typed logit (any float text: inf, −inf and NaN are data)."""
        try:
            value = parse_number(text)
        except ValueError as exc:
            self.sigMessage.emit(f"Not changed: {exc}")
            return False
        name = self.class_names[cls]
        return self.apply_edit(
            self.document.set_logits, [sample], [cls], value, text=f"Edit z[{sample}, {name}]"
        )

    def edit_target(self, sample: int, cls: int, text: object) -> bool:
        try:
            value = parse_number(text)
        except ValueError as exc:
            self.sigMessage.emit(f"Not changed: {exc}")
            return False
        return self.apply_edit(self.document.set_soft_targets, [sample], [cls], value)

    def edit_label(self, sample: int, value: object) -> bool:
        try:
            label = self.label_from_text(value)
        except ValueError as exc:
            self.sigMessage.emit(f"Not changed: {exc}")
            return False
        return self.apply_edit(
            self.document.set_labels, [sample], label, text=f"Set label of sample {sample}"
        )

    def label_from_text(self, value: object) -> int:
        """A label from a class name, a class index or "ignore"."""
        if isinstance(value, (int, np.integer)):
            return int(value)
        text = str(value).strip()
        ignore = self.document.settings.ignore_index
        if text.lower() in ("ignore", str(ignore)):
            return ignore
        if text in self.class_names:
            return self.class_names.index(text)
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a class name or index") from None

    def paste(self, row: int, cls: int, block: np.ndarray) -> None:
        """Paste a block of logits at a table row (in table order) and class."""
        if not 0 <= row < self.row_count():
            self.sigMessage.emit("Not pasted: no sample is shown here (see the Show box)")
            return
        if self.order is not None and block.shape[0] > 1:
            self.sigMessage.emit(
                "Not pasted: the table is sorted or filtered: show all samples in table order "
                "to paste several rows"
            )
            return
        try:
            message = self.document.paste_logits(self.sample_at(row), cls, block)
        except ValueError as exc:
            self.sigMessage.emit(f"Not pasted: {exc}")
            return
        self.sigMessage.emit(message[0].upper() + message[1:])

    def rename_class(self, cls: int, name: str) -> None:
        try:
            self.document.rename_class(cls, name)
        except ValueError as exc:
            self.sigMessage.emit(f"Not renamed: {exc}")

    def set_class_names(self, names: list[str], *, text: str = "Rename classes") -> bool:
        """Every class name at once (a tokenizer's vocabulary), as one undo step."""
        if self.apply_edit(self.document.set_class_names, names, text=text):
            self.sigMessage.emit(f"{text}: {len(names):,} classes renamed")
            return True
        return False

    def add_sample(self) -> None:
        at = self.selected + 1
        if self.apply_edit(
            self.document.insert_samples, at, np.zeros((1, self.document.n_classes)), [0]
        ):
            self.select(at)

    def duplicate_sample(self) -> None:
        if self.apply_edit(self.document.duplicate_samples, [self.selected]):
            self.select(self.selected + 1)

    def remove_samples(self, samples: list[int]) -> None:
        self.apply_edit(self.document.remove_samples, sorted(set(samples)) or [self.selected])

    def add_class(self, after: int) -> None:
        self.apply_edit(self.document.insert_class, after + 1)

    def duplicate_class(self, cls: int) -> None:
        self.apply_edit(self.document.duplicate_class, cls)

    def remove_class(self, cls: int) -> None:
        self.apply_edit(self.document.remove_classes, [cls])

    def randomize(self, seed: int | None = None) -> None:
        doc = self.document
        logits, labels = random_table(doc.n_samples, doc.n_classes, seed)
        self.apply_edit(
            doc.replace_all,
            logits,
            labels,
            doc.class_names,
            settings=doc.settings,
            text="Randomize logits",
            source="Random logits",
        )

    def apply_preset(self, index: int) -> None:
        index %= len(PRESETS)
        preset = PRESETS[index]
        if self.apply_edit(preset.apply, self.document):
            self.view.update(preset_index=index, selected=0)
            if not self.view.presentation:  # on stage the caption band says it, large
                self.sigMessage.emit(f"{preset.name}: {preset.description}")

    def step_preset(self, step: int) -> None:
        self.apply_preset(self.view.preset_index + step)

    def step_example(self, step: int) -> None:
        """PgDn / PgUp: the next lesson step while a lesson is open, else the next preset."""
        if self.lessons.active:
            self.lessons.step(step)
        else:
            self.step_preset(step)

    def set_options(
        self, merge_key: object = None, text: str | None = None, **changes: Any
    ) -> bool:
        """Change loss options (temperature, smoothing, reduction, weights, device, dtype, target
        mode); a run of changes with one ``merge_key`` (a slider drag) is one undo step. On a
        large table the change is evaluated off the GUI thread and applied when ready."""
        if self.background.handles(changes):
            return self.background.request(merge_key, text, changes)
        return self.apply_edit(self.document.set_settings, text, merge_key=merge_key, **changes)

    def end_merge(self) -> None:
        self.background.end_merge()

    @property
    def requested_settings(self) -> Any:
        """The options the widgets show: the last ones asked for, which on a large table may
        still be computing (see gui.settings_jobs)."""
        return self.background.requested()

    def column_titles(self) -> dict[str, str]:
        """Result columns renamed by the open data (e.g. "target" for a language model)."""
        return self.sequences.column_titles()

    def drag_logit(self, cls: int, value: float) -> None:
        self.set_holding(True)
        self.apply_edit(
            self.document.set_logits,
            [self.selected],
            [cls],
            round(value, 3),
            text="Drag logit",
            merge_key=("drag", self._drag_serial),
        )

    def end_drag(self) -> None:
        self.document.end_merge()
        self._drag_serial += 1
        self.set_holding(False)

    def undo(self) -> None:
        self.document.undo()

    def redo(self) -> None:
        self.document.redo()

    def set_holding(self, on: bool) -> None:
        """Something is dragged, animated or stepped through (a run's steps, the temperature
        sweep): every plot's axes hold still until released."""
        if on != self._animating:
            self._animating = on
            self.sigAnimating.emit(on)

    def open_prepared(self, prepared: PreparedFile, text: str) -> bool:
        """Swap in a file (or a live model's output) prepared by ``core.opening`` as one undo
        step; a language model's table selects its last position (what comes next)."""
        data = prepared.data
        names = data.class_names or [f"class {i}" for i in range(data.logits.shape[1])]
        ok = self.replace_document(
            prepared.logits,
            prepared.labels,
            names,
            settings=prepared.settings,
            evaluation=prepared.evaluation,
            text=text,
            source=Path(prepared.path).name,
            inputs=prepared.inputs,
            **prepared.document_options,
        )
        if ok and data.sequence_shape is not None and self.model.kind == "causal-lm":
            self.select(int(prepared.logits.shape[0]) - 1)
        return ok

    def replace_document(
        self,
        logits: Any,
        labels: Any,
        class_names: list[str],
        *,
        text: str,
        settings: Any = None,
        soft_targets: Any = None,
        evaluation: Evaluation | None = None,
        inputs: SampleInputs | None = None,
        **document_options: Any,
    ) -> bool:
        """Swap in a whole table (a file, a workspace, an API call) as one undo step; its inputs
        come with it (none when it has none). ``document_options`` go to
        ``Document.replace_all`` (``has_labels``, ``binary``, ``logits_b``, ``model_names``)."""
        ok = self.apply_edit(
            self.document.replace_all,
            logits,
            labels,
            class_names,
            soft_targets,
            settings,
            text=text,
            evaluation=evaluation,
            inputs=inputs if inputs is not None else NO_INPUTS,
            **document_options,
        )
        if ok:
            self.view.update(selected=0, sort=None, filter=ALL)
        return ok
