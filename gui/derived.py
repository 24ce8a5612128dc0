"""The numbers the views show, computed by core for the controller's current state and cached
until the document changes: the selected sample, the loss curve, heatmap rows, the side panels'
explanations, the dataset summary, the status line and the text exports.

A part of :class:`gui.controller.Controller` (which mixes it in and owns the caches); kept in its
own module only so that each file stays readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import (
    LossCurve,
    SampleView,
    heatmap_columns,
    heatmap_rows,
    loss_curve,
    sample_loss_curve,
    sample_view,
)
from softmax_lab.core.explain import (
    SampleExplanation,
    SoftmaxComparison,
    compare_softmaxes,
    explain_sample,
)
from softmax_lab.core.exports import pytorch_snippet, results_latex, results_markdown
from softmax_lab.core.metrics import DatasetSummary
from softmax_lab.core.presets import PRESETS
from softmax_lab.core.runs import RunStep
from softmax_lab.core.sampling import Truncation, truncate

if TYPE_CHECKING:
    from softmax_lab.core.document import Document
    from softmax_lab.core.evaluation import Evaluation
    from softmax_lab.core.models import SamplerMarks
    from softmax_lab.core.view_state import Filter, Sort, ViewState
    from softmax_lab.gui.compare_session import CompareSession
    from softmax_lab.gui.model_session import ModelSession
    from softmax_lab.gui.sequence_session import SequenceSession


class SampleViews(NamedTuple):
    """What the plots of the selected sample show, with one model or two."""

    a: SampleView
    """A's numbers, headed with both models' predictions and losses when comparing."""
    b: SampleView | None
    """B's numbers (None with one model)."""
    names: tuple[str, str]
    gradient: SampleView
    """The gradient the Gradient plot shows: A's, or B's when chosen."""
    gradient_label: str
    """Whose gradient that is, in words ("" with one model)."""
    marks: SamplerMarks | None = None
    """A live language model's sampler on this row: what it could draw (None: no such model)."""


class Derived:
    """Cached views of the current evaluation; see the module docstring."""

    document: Document
    view: ViewState
    compare: CompareSession
    sequences: SequenceSession
    model: ModelSession
    _cache: dict[str, Any]
    _row_cache: dict[int, np.ndarray]
    _curve_top: float | None
    _summary: DatasetSummary | None

    def refresh_summary(self) -> None:  # the controller schedules and announces it
        raise NotImplementedError

    @property
    def comparing(self) -> bool:
        """Two models are compared (the document has a model B)."""
        return self.compare.active

    def sample_views(self) -> SampleViews:
        session = self.compare
        a = session.decorate(self.sample_view())
        label = ""
        if session.active:
            model = session.gradient_model
            label = f"{model.upper()} ({session.names[0 if model == 'a' else 1]})"
        return SampleViews(
            a,
            session.sample_view_b(),
            session.names,
            session.gradient_view(a),
            label,
            None if session.active else self.sampler_marks(),
        )

    def sampler_marks(self) -> SamplerMarks | None:
        """What a live causal LM's sampler could draw from the selected row at the live T /
        top-k / top-p, and the token drawn there (None without such a model)."""
        row, k, p = self.selected, int(self.view.top_k), float(self.view.top_p)
        return self.cached(
            f"marks:{row}:{k}:{p}",
            lambda: self.model.sampler_marks(self.document, row, k, p),
        )

    def row_filters(self) -> list[Filter]:
        """The Show box's filters besides "all", "wrong" and "non-finite" (compare mode's)."""
        return self.compare.filters()

    def row_sorts(self) -> list[tuple[str, Sort]]:
        """The Sort box's sorts besides ``core.view_state.SORT_CHOICES`` (compare mode's)."""
        return self.compare.sorts()

    @property
    def evaluation(self) -> Evaluation:
        return self.document.evaluation

    @property
    def class_names(self) -> list[str]:
        return self.document.class_names

    @property
    def selected(self) -> int:
        return int(self.view.selected)

    def cached(self, key: str, compute: Any) -> Any:
        """A value derived from the current document under ``key``, computed once per change
        (the controller clears these on every document change)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def sample_view(self) -> SampleView:
        row = self.selected
        return self.cached(
            f"sample:{row}",
            lambda: sample_view(
                self.evaluation,
                self.document.logits[row],
                self.class_names,
                row,
                has_labels=self.document.has_labels,
            ),
        )

    def loss_curve(self) -> LossCurve:
        """The loss curve's dots; its y axis remembers its last height (grow at once, shrink
        only when clearly too tall), so live edits do not make it jump."""

        def compute() -> LossCurve:
            curve = loss_curve(self.evaluation, self._curve_top)
            self._curve_top = curve.y_top
            return curve

        return self.cached("curve", compute)

    def sample_curve(self, p: np.ndarray) -> np.ndarray:
        return sample_loss_curve(self.evaluation, self.selected, p)

    def heatmap_rows(self, pixels: float) -> np.ndarray | None:
        return heatmap_rows(self.document.n_samples, pixels)

    def heatmap_data(self, pixels: float) -> dict[str, Any]:
        """What the probability heatmap draws for a view ``pixels`` tall: the probabilities of the
        shown rows and classes, their targets (as column positions), validity, names, and which
        samples (``rows``) and classes (``columns``) they are (None: all). Beyond
        HEATMAP_CLASSES classes only the tokens in play are computed, never whole 128k rows."""
        ev = self.evaluation
        rows = self.heatmap_rows(pixels)
        shown = slice(None) if rows is None else rows
        targets, valid = ev.targets[shown], ev.valid[shown]
        columns = heatmap_columns(ev.n_classes, targets, valid, ev.predictions[shown])
        if columns is None:
            probabilities, names = self.probabilities_of(rows), self.class_names
        else:
            probabilities = ev.probabilities_at(shown, columns)
            names = [self.class_names[i] for i in columns]
            at = np.minimum(np.searchsorted(columns, targets), columns.size - 1)
            hit = columns[at] == targets
            targets, valid = np.where(hit, at, -1), valid & hit
        return {
            "probabilities": probabilities,
            "targets": targets,
            "valid": valid,
            "class_names": names,
            "rows": rows,
            "n_samples": ev.n_samples,
            "columns": columns,
            "n_classes": ev.n_classes,
        }

    def probabilities_of(self, rows: np.ndarray | None) -> np.ndarray:
        ev = self.evaluation
        return ev.probabilities if rows is None else ev.probabilities_of(rows)

    def probabilities_row(self, sample: int) -> np.ndarray:
        """One sample's probabilities, cached: every cell of a table row asks for them."""
        cached = self._row_cache.get(sample)
        if cached is None:
            if len(self._row_cache) > 512:
                self._row_cache.clear()
            cached = self._row_cache[sample] = self.evaluation.probabilities_of([sample])[0]
        return cached

    def explanation(self) -> SampleExplanation:
        row = self.selected
        return explain_sample(self.evaluation, self.document.logits[row], row)

    def comparison(self) -> SoftmaxComparison:
        s = self.document.settings
        return compare_softmaxes(
            self.document.logits[self.selected],
            s.temperature,
            s.dtype,
            self.sample_view().probabilities,
        )

    def truncation(self) -> Truncation:
        k = int(self.view.top_k) or None
        p = float(self.view.top_p)
        return truncate(self.sample_view().probabilities, k, None if p >= 1.0 else p)

    def summary(self) -> DatasetSummary:
        """The dataset metrics of the current evaluation (computed now if stale)."""
        if self._summary is None:
            self.refresh_summary()
        assert self._summary is not None
        return self._summary

    def pytorch_code(self) -> str:
        """A runnable script that rebuilds the table and prints the same loss (ValueError for
        tables too large to be useful as code)."""
        return pytorch_snippet(self.document)

    def results_text(self, kind: str) -> str:
        """The results table as "markdown" or "latex"."""
        write = results_markdown if kind == "markdown" else results_latex
        return write(self.document)

    @staticmethod
    def presets() -> list[tuple[str, str]]:
        """(name, description) of every preset, in menu order."""
        return [(p.name, p.description) for p in PRESETS]

    def fit_ready(self) -> bool:
        ev = self.evaluation
        return ev.target_kind == "index" and bool((ev.valid & ev.finite).any())

    def source_caption(self) -> tuple[str, str] | None:
        """The caption band's title and line when the table came from somewhere (a file, a
        run's step, a notebook), not from an example: its name, size, loss and accuracy."""
        source = self.document.source
        if source is None:
            return None
        if isinstance(source, RunStep):
            title = f"{Path(source.run.path).name} · step {source.step:,}"
        else:
            title = str(source)
        ev = self.evaluation
        size = (
            f"{fmt.plural(ev.n_samples, 'sample')} × {fmt.plural(ev.n_classes, 'class', 'classes')}"
        )
        if self.sequences.active:  # a language model's logits: its sequences and vocabulary
            sequences = fmt.plural(self.sequences.layout().sequences.size, "sequence")
            tokens = fmt.plural(ev.n_classes, "token")
            size = f"{sequences} · {fmt.plural(ev.n_samples, 'position')} × {tokens}"
        # Each part wraps whole: "mean loss 1.6242" never breaks before its number.
        parts = [part.replace(" ", "\u00a0") for part in (size, *self.result_parts())]
        return title, "   ·   ".join(parts)

    def result_parts(self) -> list[str]:
        """The table's loss and accuracy as the caption band says them, from the current
        evaluation (so they follow every edit and the temperature sweep)."""
        ev = self.evaluation
        if not self.document.has_labels:
            return ["no labels: predictions and confidence only"]
        if not ev.n_valid:
            return []
        reduction = ev.options.reduction
        if reduction == "none":
            loss = f"sum of the losses {fmt.number(ev.loss_sum)}"
        else:
            loss = f"{reduction} loss {fmt.number(float(ev.loss))}"
        return [loss, f"accuracy {fmt.percent(ev.accuracy)} ({ev.n_correct:,}/{ev.n_valid:,})"]

    def status_text(self) -> str:
        ev = self.evaluation
        s = self.document.settings
        if ev.options.reduction == "none":
            loss = f"loss: per sample (sum {fmt.number(ev.loss_sum)})"
        else:
            loss = f"{ev.options.reduction} loss = {fmt.number(float(ev.loss))}"
        if not self.document.has_labels:
            loss = "no labels (File › Open labels…)"
        parts = [
            loss,
            f"accuracy {ev.n_correct}/{ev.n_valid}",
            f"{ev.n_samples:,} × {ev.n_classes:,}",
            f"{ev.device} · {ev.dtype}",
            f"T = {fmt.short(s.temperature)}",
        ]
        if not self.document.has_labels:
            del parts[1]  # no accuracy without labels
        no_prediction = int((~ev.has_prediction).sum())
        if no_prediction:
            parts.append(f"⚠ {fmt.plural(no_prediction, 'non-finite row')} (no prediction)")
        zero = int((ev.valid & ev.has_prediction & ~ev.finite).sum())
        if zero and self.document.has_labels:
            parts.append(f"⚠ {fmt.plural(zero, 'row')} with p(true) = 0 (loss ∞)")
        if ev.device_fallback:
            parts.append(f"⚠ {ev.device_fallback}")
        if self.compare.active:
            parts[:2] = self.compare.status_parts()  # A's and B's
        return "   ·   ".join(parts)
