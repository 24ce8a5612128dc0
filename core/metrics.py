"""Dataset-level metrics of an evaluation: confusion matrix, calibration (reliability, ECE, MCE),
top-k accuracy, per-class statistics, suspected label issues and histograms (temperature
scaling is in :mod:`core.calibration`; what a table without labels shows — confidence and
entropy, predicted-class counts, the most uncertain samples — is in :mod:`core.uncertainty` and
re-exported here).

Everything is O(N) in numpy on the per-sample arrays of :class:`core.evaluation.Evaluation`,
except top-k accuracy and the temperature fit, which stream the (N, C) logits in row blocks so a
50,000 x 1,000 table never needs a second full copy.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from softmax_lab.core.constants import (
    MAX_CONFUSION_CLASSES,
    block_rows,
)
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.uncertainty import (
    PredictionSummary,
    ValueHistogram,
    most_uncertain,
    summarize_predictions,
)

__all__ = [
    "LABEL_ISSUE_METHOD",
    "MAX_CONFUSION_CLASSES",
    "MAX_CONFUSION_SHOWN",
    "DatasetSummary",
    "Histogram",
    "LabelIssue",
    "PerClass",
    "PredictionSummary",
    "Reliability",
    "ValueHistogram",
    "confidence_histogram",
    "confusion_matrix",
    "label_issue_ranking",
    "loss_bin_edges",
    "loss_histogram",
    "most_confused_classes",
    "most_uncertain",
    "per_class",
    "reliability",
    "row_normalized",
    "summarize",
    "summarize_predictions",
    "suspected_label_issues",
    "top_k_accuracy",
]

MAX_CONFUSION_SHOWN = 50
"""Above this many classes a confusion view shows the classes involved in the most errors."""
LOSS_BINS, CONFIDENCE_BINS = 40, 20

LABEL_ISSUE_METHOD = (
    "self-confidence: the probability the model gives the given label "
    "(cleanlab's 'self_confidence' score); lowest first"
)


# --------------------------------------------------------------------------------------------
# validation


def _vector(values: Any, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D numpy view of `values` (tensors are moved to the CPU), with its length checked."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numbers, not {array.dtype}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} entries, expected {n}")
    return array


def _labels(values: Any, name: str, n: int | None = None) -> np.ndarray:
    array = _vector(values, name, n)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError(f"{name} must be whole numbers")
    return array.astype(np.int64, copy=False)


def _mask(values: Any, name: str, n: int) -> np.ndarray:
    array = _vector(values, name, n)
    if array.dtype.kind != "b":
        raise ValueError(f"{name} must be a boolean mask, not {array.dtype}")
    return array


def _n_classes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"n_classes must be a positive integer, got {value!r}")
    return int(value)


def _rows_in_range(targets: np.ndarray, n_classes: int, valid: Any) -> np.ndarray:
    """The rows that count: `valid` if given (their labels must then be classes), else every row
    whose target is a class (an ignore_index such as -100 lies outside 0..C-1)."""
    if valid is None:
        return (targets >= 0) & (targets < n_classes)
    mask = _mask(valid, "valid", targets.shape[0])
    bad = mask & ((targets < 0) | (targets >= n_classes))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"target {targets[row]} at row {row} is not a class 0..{n_classes - 1}")
    return mask


def _check_predictions(predictions: np.ndarray, rows: np.ndarray, n_classes: int) -> None:
    bad = rows & ((predictions < 0) | (predictions >= n_classes))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"prediction {predictions[row]} at row {row} is not a class 0..{n_classes - 1}"
        )


# --------------------------------------------------------------------------------------------
# confusion matrix


def confusion_matrix(
    targets: Any, predictions: Any, n_classes: int, valid: Any = None
) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class.

    Rows outside `valid` (default: rows whose target is not a class, i.e. ignored) are left out.
    O(N): one ``bincount`` over ``true * C + predicted``.
    """
    c = _n_classes(n_classes)
    if c > MAX_CONFUSION_CLASSES:
        raise ValueError(
            f"a confusion matrix of {c:,} classes would hold {c * c:,} cells; "
            f"the limit is {MAX_CONFUSION_CLASSES:,} classes"
        )
    t = _labels(targets, "targets")
    p = _labels(predictions, "predictions", t.shape[0])
    rows = _rows_in_range(t, c, valid)
    _check_predictions(p, rows, c)
    flat = t[rows] * c + p[rows]
    return np.bincount(flat, minlength=c * c).astype(np.int64, copy=False).reshape(c, c)


def row_normalized(confusion: Any) -> np.ndarray:
    """Each row divided by its sum (float64); a row with no samples stays all zeros."""
    m = np.asarray(confusion, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {m.shape}")
    totals = m.sum(axis=1, keepdims=True)
    out = np.zeros_like(m)
    np.divide(m, totals, out=out, where=totals != 0)
    return out


def most_confused_classes(confusion: Any, k: int = 50) -> np.ndarray:
    """The (at most) k classes involved in the most errors, as true or as predicted class, in
    ascending class order; ties go to the lower class index."""
    m = np.asarray(confusion)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {m.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    c = m.shape[0]
    if c <= k:
        return np.arange(c, dtype=np.int64)
    diagonal = np.diagonal(m).astype(np.float64)
    errors = m.sum(axis=1) + m.sum(axis=0) - 2 * diagonal
    order = np.lexsort((np.arange(c), -errors))  # most errors first, then lower index
    return np.sort(order[:k]).astype(np.int64)


# --------------------------------------------------------------------------------------------
# calibration


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram and its calibration errors over equal-width confidence bins."""

    bin_edges: np.ndarray
    """(n_bins + 1,) edges over [0, 1]; bin b is (edges[b], edges[b+1]], the first also holds 0."""
    bin_confidence: np.ndarray
    """(n_bins,) mean confidence of the samples in each bin; NaN for an empty bin."""
    bin_accuracy: np.ndarray
    """(n_bins,) fraction of correct samples in each bin; NaN for an empty bin."""
    bin_count: np.ndarray
    """(n_bins,) int64 samples per bin."""
    ece: float
    """Expected calibration error: Σ_b |acc_b − conf_b| · n_b / N (Guo et al. 2017); NaN if N=0."""
    mce: float
    """Maximum calibration error: the largest |acc_b − conf_b| over non-empty bins."""
    n: int
    """Samples used (valid rows with a finite confidence)."""

    @property
    def n_bins(self) -> int:
        return int(self.bin_count.shape[0])


def reliability(confidence: Any, correct: Any, valid: Any = None, n_bins: int = 15) -> Reliability:
    """Bin samples by confidence and compare each bin's accuracy with its mean confidence.

    Rows outside `valid` and rows whose confidence is not finite are left out.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf = _vector(confidence, "confidence").astype(np.float64)
    n = conf.shape[0]
    hit = _mask(correct, "correct", n)
    rows = np.isfinite(conf)
    if valid is not None:
        rows &= _mask(valid, "valid", n)
    if np.any((conf[rows] < 0) | (conf[rows] > 1)):
        raise ValueError("confidence must lie in [0, 1]")
    conf, hit = conf[rows], hit[rows]
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    # searchsorted(side="left") puts c in the bin whose upper edge is the first >= c: (lo, hi].
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.int64)
    conf_sum = np.bincount(which, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(which, weights=hit.astype(np.float64), minlength=n_bins)
    filled = count > 0
    mean_conf = np.full(n_bins, np.nan)
    accuracy = np.full(n_bins, np.nan)
    mean_conf[filled] = conf_sum[filled] / count[filled]
    accuracy[filled] = hit_sum[filled] / count[filled]
    gaps = np.abs(accuracy[filled] - mean_conf[filled])
    total = int(count.sum())
    ece = float((gaps * count[filled]).sum() / total) if total else math.nan
    mce = float(gaps.max()) if total else math.nan
    return Reliability(edges, mean_conf, accuracy, count, ece, mce, total)


# --------------------------------------------------------------------------------------------
# accuracy


def _block_rows(n_classes: int, device: torch.device) -> int:
    return block_rows(n_classes, accelerator=device.type != "cpu")


def _as_tensor(values: Any, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach()
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numbers, not {array.dtype}")
    if array.dtype.kind in "biu":
        array = array.astype(np.float32)
    with warnings.catch_warnings():
        # A read-only memmap is fine: nothing here writes into the caller's array.
        warnings.simplefilter("ignore", UserWarning)
        return torch.as_tensor(array)


def top_k_accuracy(
    ev_or_logits: Evaluation | Any, targets: Any, k: int, valid: Any = None
) -> float:
    """Fraction of the valid rows whose target is among the k highest-scoring classes.

    Pass an :class:`Evaluation` (``targets`` may then be None for its own) or (N, C) logits with
    (N,) targets. Rows outside `valid` (default: the evaluation's valid rows, or rows whose target
    is a class) do not count; valid rows whose logits are not finite count as wrong, as in
    ``Evaluation.accuracy``, so k=1 gives the accuracy. k above C counts every finite row as
    correct. Ties are broken as ``torch.topk`` breaks them. NaN when no row counts.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if isinstance(ev_or_logits, Evaluation):
        ev = ev_or_logits
        n, c = ev.n_samples, ev.n_classes
        t = ev.targets if targets is None else _labels(targets, "targets", n)
        base = ev.valid if targets is None and valid is None else None

        def block_of(s: int, e: int) -> torch.Tensor:
            # log p ranks classes exactly as the logits do, and is public per block of rows.
            return torch.from_numpy(ev.log_probabilities_of(slice(s, e)))

        rows_per_block = _block_rows(c, torch.device("cpu"))
    else:
        x = _as_tensor(ev_or_logits, "logits")
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"logits must be a non-empty (N, C) table, got {tuple(x.shape)}")
        n, c = int(x.shape[0]), int(x.shape[1])
        if targets is None:
            raise ValueError("targets are needed with raw logits")
        t = _labels(targets, "targets", n)
        base = None

        def block_of(s: int, e: int) -> torch.Tensor:
            return x[s:e]  # a view, no copy

        rows_per_block = _block_rows(c, x.device)
    rows = base if base is not None else _rows_in_range(t, c, valid)
    k = min(int(k), c)
    n_rows = int(rows.sum())
    if n_rows == 0:
        return math.nan
    hits = 0
    with torch.inference_mode():
        for s in range(0, n, rows_per_block):
            e = min(n, s + rows_per_block)
            keep = torch.from_numpy(rows[s:e])
            if not bool(keep.any()):
                continue
            block = block_of(s, e)
            label = torch.from_numpy(np.where(rows[s:e], t[s:e], 0)).to(block.device)
            values, top = torch.topk(block, k, dim=1)
            # topk ranks NaN above everything, so the row maximum it returns is NaN for a NaN
            # row, +inf for a row holding +inf and -inf for a row of only -inf: no prediction.
            finite = torch.isfinite(values[:, 0])
            found = (top == label[:, None]).any(1) & finite
            hits += int((found.cpu() & keep).sum())
    return hits / n_rows


# --------------------------------------------------------------------------------------------
# per class


@dataclass(frozen=True)
class PerClass:
    """Per-class statistics; entries of a class with no (predicted) sample are NaN."""

    count: np.ndarray
    """(C,) samples whose true class is c."""
    correct: np.ndarray
    """(C,) of those, how many are predicted as c."""
    predicted_count: np.ndarray
    """(C,) samples predicted as c."""
    accuracy: np.ndarray
    """(C,) correct / count: the recall of class c."""
    mean_loss: np.ndarray
    """(C,) mean per-sample loss of the samples whose true class is c."""
    precision: np.ndarray
    """(C,) correct / predicted_count."""

    @property
    def recall(self) -> np.ndarray:
        return self.accuracy

    def worst(self, k: int = 20) -> np.ndarray:
        """The (at most) k classes with samples, lowest accuracy first, then highest mean loss,
        then lower class index."""
        present = np.flatnonzero(self.count > 0)
        loss = np.nan_to_num(self.mean_loss[present], nan=np.inf)
        order = np.lexsort((present, -loss, self.accuracy[present]))
        return present[order][: max(0, int(k))].astype(np.int64)


def per_class(targets: Any, predictions: Any, losses: Any, valid: Any, n_classes: int) -> PerClass:
    """Count, accuracy (recall), mean loss and precision per class over the `valid` rows
    (None: the rows whose target is a class)."""
    c = _n_classes(n_classes)
    t = _labels(targets, "targets")
    n = t.shape[0]
    p = _labels(predictions, "predictions", n)
    loss = _vector(losses, "losses", n).astype(np.float64)
    rows = _rows_in_range(t, c, valid)
    _check_predictions(p, rows, c)
    t, p, loss = t[rows], p[rows], loss[rows]
    count = np.bincount(t, minlength=c).astype(np.int64)
    hit = p == t
    correct = np.bincount(t[hit], minlength=c).astype(np.int64)
    predicted = np.bincount(p, minlength=c).astype(np.int64)
    loss_sum = np.bincount(t, weights=loss, minlength=c)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(count > 0, correct / np.maximum(count, 1), np.nan)
        mean_loss = np.where(count > 0, loss_sum / np.maximum(count, 1), np.nan)
        precision = np.where(predicted > 0, correct / np.maximum(predicted, 1), np.nan)
    return PerClass(count, correct, predicted, accuracy, mean_loss, precision)


# --------------------------------------------------------------------------------------------
# label issues


@dataclass(frozen=True)
class LabelIssue:
    """One sample whose given label the model finds implausible."""

    index: int
    given: int
    predicted: int
    p_given: float
    confidence: float


def label_issue_ranking(ev: Evaluation) -> np.ndarray:
    """Every sample index, lowest self-confidence (``ev.p_true``) first; ignored rows and rows
    without a prediction come last, in index order. A row with p(true) = 0 (its true class's
    logit is −∞) has a prediction and comes first. See :data:`LABEL_ISSUE_METHOD`."""
    score = np.asarray(ev.p_true, dtype=np.float64)
    usable = ev.valid & ev.has_prediction & np.isfinite(score)
    key = np.where(usable, score, np.inf)
    return np.argsort(key, kind="stable").astype(np.int64)


def suspected_label_issues(
    ev: Evaluation, k: int = 50, ranking: np.ndarray | None = None
) -> list[LabelIssue]:
    """The k samples of lowest self-confidence (valid rows with a prediction), lowest first.

    Pass ``ranking`` from :func:`label_issue_ranking` to avoid sorting twice.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    order = label_issue_ranking(ev) if ranking is None else np.asarray(ranking)
    usable = ev.valid & ev.has_prediction & np.isfinite(ev.p_true)
    chosen = order[: int(usable.sum())][: int(k)]
    return [
        LabelIssue(
            index=int(i),
            given=int(ev.targets[i]),
            predicted=int(ev.predictions[i]),
            p_given=float(ev.p_true[i]),
            confidence=float(ev.confidence[i]),
        )
        for i in chosen
    ]


# --------------------------------------------------------------------------------------------
# histograms


@dataclass(frozen=True)
class Histogram:
    """Counts of correct and wrong samples per bin; bins are [lo, hi) except the last, [lo, hi]."""

    edges: np.ndarray
    correct: np.ndarray
    wrong: np.ndarray
    overflow: float
    """NaN, or the value from which the last bin holds everything above (a few huge losses would
    otherwise squash every other bar into the first bin)."""
    n_hidden: int
    """Samples not counted (ignored or non-finite)."""
    n_infinite: int = 0
    """Samples counted in the last bin because their value is +∞ (a loss with p(true) = 0)."""


def _histogram(
    values: np.ndarray, correct: np.ndarray, shown: np.ndarray, edges: np.ndarray, overflow: float
) -> Histogram:
    values = np.clip(np.asarray(values, dtype=np.float64), edges[0], edges[-1])
    right, wrong = shown & correct, shown & ~correct
    return Histogram(
        edges=edges,
        correct=np.histogram(values[right], bins=edges)[0].astype(np.int64),
        wrong=np.histogram(values[wrong], bins=edges)[0].astype(np.int64),
        overflow=overflow,
        n_hidden=int((~shown).sum()),
    )


def loss_histogram(
    losses: Any, correct: Any, shown: Any, bins: int = LOSS_BINS, overflow_quantile: float = 0.995
) -> Histogram:
    """Per-sample losses of the ``shown`` rows, correct vs wrong. When the largest loss is far
    beyond the ``overflow_quantile`` (3x), the axis stops there and the last bin takes the rest;
    +∞ losses (p(true) = 0) always go to the last bin, which ``overflow`` then names. NaN losses
    are not shown (``n_hidden``)."""
    losses = np.asarray(losses, dtype=np.float64)
    shown = np.asarray(shown, dtype=bool) & ~np.isnan(losses) & (losses != -np.inf)
    finite = shown & np.isfinite(losses)
    edges, overflow = loss_bin_edges(losses[finite], bins, overflow_quantile)
    n_infinite = int((shown & ~finite).sum())
    if n_infinite and math.isnan(overflow):
        overflow = float(edges[-1])
    histogram = _histogram(losses, np.asarray(correct, bool), shown, edges, overflow)
    return replace(histogram, n_infinite=n_infinite)


def loss_bin_edges(
    finite_losses: Any, bins: int = LOSS_BINS, overflow_quantile: float = 0.995
) -> tuple[np.ndarray, float]:
    """(bins + 1 edges, overflow) for a histogram of these finite losses: from min(0, lowest)
    to the highest, or, when the highest is far beyond the ``overflow_quantile`` (3x), to that
    quantile, which ``overflow`` then names (NaN otherwise)."""
    finite = np.asarray(finite_losses, dtype=np.float64).ravel()
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    overflow = math.nan
    if finite.size:
        q = float(np.quantile(finite, overflow_quantile))
        if hi > 3 * q and q > lo:
            hi, overflow = q, q
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, bins + 1), overflow


def confidence_histogram(
    confidence: Any, correct: Any, shown: Any, bins: int = CONFIDENCE_BINS
) -> Histogram:
    """Confidences (max p) of the ``shown`` rows in equal bins over [0, 1], correct vs wrong."""
    confidence = np.asarray(confidence, dtype=np.float64)
    shown = np.asarray(shown, dtype=bool) & np.isfinite(confidence)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return _histogram(confidence, np.asarray(correct, bool), shown, edges, math.nan)


# --------------------------------------------------------------------------------------------
# everything the dataset views show, at once


@dataclass(frozen=True)
class DatasetSummary:
    """The derived metrics of one evaluation, as the dataset views show them."""

    n_samples: int
    n_valid: int
    """Rows whose label is not ignore_index."""
    n_nonfinite: int
    """Valid rows without a prediction (logits with NaN, only −∞, or +∞) or with a NaN loss:
    wrong in the accuracies, left out of the confusion matrix, the calibration, the per-class
    table, the histograms and the label issues."""
    accuracy: float
    """Top-1 accuracy over the valid rows (``Evaluation.accuracy``)."""
    top_k: int
    top_k_accuracy: float
    mean_loss: float
    """The per-sample losses reduced as torch's ``reduction='mean'`` does (weighted if weighted):
    NaN or inf as soon as one labelled row is."""
    mean_loss_finite: float
    """The same mean over the labelled rows with a finite loss only."""
    reliability: Reliability
    per_class: PerClass
    confusion: np.ndarray | None
    """(C, C) counts, or None above MAX_CONFUSION_CLASSES classes."""
    ranking: np.ndarray
    label_issues: list[LabelIssue]
    confusion_shares: np.ndarray | None = None
    """(C, C) the confusion matrix's rows divided by their sums (``row_normalized``)."""
    confused_classes: np.ndarray | None = None
    """The classes a confusion view shows: all up to MAX_CONFUSION_SHOWN, else the most confused."""
    loss_histogram: Histogram | None = None
    confidence_histogram: Histogram | None = None
    label_issue_method: str = LABEL_ISSUE_METHOD
    n_infinite_loss: int = 0
    """Valid rows with a prediction whose loss is +∞ (p(true) = 0: the true class's logit is
    −∞, as in a decision tree's ``predict_log_proba``). They count everywhere (confusion,
    per-class, calibration, histograms, accuracy); only the mean loss is +∞ because of them."""


def summarize(
    ev: Evaluation, *, n_bins: int = 15, top_k: int = 5, n_label_issues: int = 50
) -> DatasetSummary:
    """Every dataset-level metric of `ev`. O(N) except top-k accuracy (one streamed pass)."""
    losses = np.asarray(ev.losses, dtype=np.float64)
    # A row with a prediction counts everywhere, even with p(true) = 0 (loss +∞).
    counted = ev.valid & ev.has_prediction & ~np.isnan(losses)
    finite_loss = counted & np.isfinite(losses)
    c = ev.n_classes
    confusion = (
        confusion_matrix(ev.targets, ev.predictions, c, counted)
        if c <= MAX_CONFUSION_CLASSES
        else None
    )
    total = float(losses.sum())
    # The mean's denominator, restricted to the finite rows: their class weights (or 1 each).
    if ev.target_kind == "index" and ev.options.weight is not None:
        row_weight = np.asarray(ev.options.weight)[np.where(counted, ev.targets, 0)]
    else:
        row_weight = np.ones(ev.n_samples)
    finite_denominator = float(row_weight[finite_loss].sum())
    finite_total = float(losses[finite_loss].sum())
    ranking = label_issue_ranking(ev)
    shares = None if confusion is None else row_normalized(confusion)
    confused = None if confusion is None else most_confused_classes(confusion, MAX_CONFUSION_SHOWN)
    return DatasetSummary(
        n_samples=ev.n_samples,
        n_valid=int(ev.valid.sum()),
        n_nonfinite=int((ev.valid & ~counted).sum()),
        accuracy=float(ev.accuracy),
        top_k=int(top_k),
        # top_k=0 skips the one O(N·C) pass (the window does so for very large tables).
        top_k_accuracy=top_k_accuracy(ev, None, top_k) if top_k else math.nan,
        mean_loss=total / ev.denominator if ev.denominator else math.nan,
        mean_loss_finite=finite_total / finite_denominator if finite_denominator else math.nan,
        reliability=reliability(ev.confidence, ev.correct, counted, n_bins),
        per_class=per_class(ev.targets, ev.predictions, ev.losses, counted, c),
        confusion=confusion,
        ranking=ranking,
        label_issues=suspected_label_issues(ev, n_label_issues, ranking),
        confusion_shares=shares,
        confused_classes=confused,
        loss_histogram=loss_histogram(ev.losses, ev.correct, counted),
        confidence_histogram=confidence_histogram(ev.confidence, ev.correct, counted),
        n_infinite_loss=int((counted & ~finite_loss).sum()),
    )
