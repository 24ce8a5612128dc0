"""What a model says about a dataset without labels: how sure it is, what it predicts, and which
samples it is least sure about.

A table opened without labels has no loss, no accuracy and no confusion matrix, but every
prediction, confidence, margin and entropy is there. :func:`summarize_predictions` gathers what
the Dataset tab shows then (confidence and entropy histograms, predicted-class counts, the most
uncertain samples by margin and by entropy). Re-exported by :mod:`core.metrics`. O(N) in numpy on
the evaluation's per-sample arrays (margin and entropy take one streamed pass, on first use).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from softmax_lab.core.evaluation import Evaluation

__all__ = [
    "PredictionSummary",
    "ValueHistogram",
    "most_uncertain",
    "summarize_predictions",
    "value_histogram",
]

CONFIDENCE_BINS = ENTROPY_BINS = 20
N_UNCERTAIN = 50


@dataclass(frozen=True)
class ValueHistogram:
    """Counts per bin over ``edges`` (bins [lo, hi), the last [lo, hi]) of the finite values."""

    edges: np.ndarray
    counts: np.ndarray
    n_hidden: int
    """Values not counted (not finite)."""

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def value_histogram(values: np.ndarray, lo: float, hi: float, bins: int) -> ValueHistogram:
    """Histogram of the finite ``values`` over [lo, hi] (values outside are clipped into it)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = np.isfinite(values)
    if not hi > lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, int(bins) + 1)
    counts = np.histogram(np.clip(values[finite], lo, hi), bins=edges)[0].astype(np.int64)
    return ValueHistogram(edges, counts, int((~finite).sum()))


def most_uncertain(values: np.ndarray, k: int, *, highest: bool) -> np.ndarray:
    """Indices of the ``k`` samples with the highest (or lowest) finite ``values``, most uncertain
    first; ties keep sample order. Non-finite values never count."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    rows = np.flatnonzero(np.isfinite(values))
    key = -values[rows] if highest else values[rows]
    order = rows[np.argsort(key, kind="stable")]
    return order[: max(0, int(k))].astype(np.int64)


@dataclass(frozen=True)
class PredictionSummary:
    """The label-free view of one evaluation (what the Dataset tab shows without labels)."""

    n_samples: int
    n_classes: int
    n_nonfinite: int
    """Rows whose logits give no prediction (NaN, +∞, all −∞): left out of everything below."""
    predicted_counts: np.ndarray
    """(C,) int64 samples predicted as each class."""
    confidence_histogram: ValueHistogram
    """max p over [1/C, 1] (softmax never gives less than 1/C to its top class)."""
    entropy_histogram: ValueHistogram
    """Entropy of p in nats over [0, log C] (0: certain, log C: uniform)."""
    mean_confidence: float
    mean_entropy: float
    lowest_margin: np.ndarray
    """Samples with the smallest p(top) − p(second), smallest first: the closest calls."""
    highest_entropy: np.ndarray
    """Samples with the largest entropy, largest first: the most spread-out predictions."""
    margin: np.ndarray
    """(N,) p(top) − p(second) (for the lists' numbers)."""
    entropy: np.ndarray
    """(N,) entropy in nats."""
    confidence: np.ndarray
    predictions: np.ndarray

    @property
    def max_entropy(self) -> float:
        return math.log(self.n_classes) if self.n_classes > 1 else 1.0


def summarize_predictions(ev: Evaluation, k: int = N_UNCERTAIN) -> PredictionSummary:
    """Every label-free dataset view of ``ev``; ``k`` samples in each most-uncertain list."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    c = ev.n_classes
    confidence = np.asarray(ev.confidence, dtype=np.float64)
    entropy = np.asarray(ev.entropy, dtype=np.float64)
    margin = np.asarray(ev.margin, dtype=np.float64)
    predictions = np.asarray(ev.predictions, dtype=np.int64)
    # A prediction needs logits with a finite maximum (a row whose true class is −∞ has one:
    # only its loss is infinite) and finite probabilities.
    usable = np.asarray(ev.has_prediction, dtype=bool) & np.isfinite(confidence)
    usable &= np.isfinite(entropy) & np.isfinite(margin)
    counts = np.bincount(predictions[usable], minlength=c).astype(np.int64)[:c]
    conf = np.where(usable, confidence, np.nan)
    ent = np.where(usable, entropy, np.nan)
    mar = np.where(usable, margin, np.nan)
    max_entropy = math.log(c) if c > 1 else 1.0
    n_usable = int(usable.sum())
    return PredictionSummary(
        n_samples=ev.n_samples,
        n_classes=c,
        n_nonfinite=ev.n_samples - n_usable,
        predicted_counts=counts,
        confidence_histogram=value_histogram(conf, 1.0 / c, 1.0, CONFIDENCE_BINS),
        entropy_histogram=value_histogram(ent, 0.0, max_entropy, ENTROPY_BINS),
        mean_confidence=float(np.nanmean(conf)) if n_usable else math.nan,
        mean_entropy=float(np.nanmean(ent)) if n_usable else math.nan,
        lowest_margin=most_uncertain(mar, k, highest=False),
        highest_entropy=most_uncertain(ent, k, highest=True),
        margin=mar,
        entropy=ent,
        confidence=conf,
        predictions=predictions,
    )
