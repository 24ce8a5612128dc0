"""Two models on the same samples: which samples one fixes or breaks, loss deltas, and the KL
divergence between their predictive distributions.

``compare`` works on two :class:`core.evaluation.Evaluation` objects over the same N samples and
targets; everything is O(N) on their per-sample arrays except ``kl``, which streams both
log-probability tables in row blocks on first access (``kl_of`` does chosen rows only).
``evaluate_like`` evaluates a second model's logits with the first's targets and options (a file
of logits often carries no labels). ``compare_dataset`` gives what a dataset view of the two
shows: both reliability diagrams, both loss histograms on shared bins, per-class accuracies.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from softmax_lab.core.constants import block_rows
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.metrics import LOSS_BINS, Reliability, loss_bin_edges, reliability

__all__ = [
    "FILTER_KINDS",
    "OUTCOMES",
    "ClassAccuracy",
    "Comparison",
    "ComparisonDataset",
    "LossHistograms",
    "compare",
    "compare_dataset",
    "evaluate_like",
]

FILTER_KINDS: tuple[str, ...] = ("fixed", "broken", "changed", "both wrong", "both right")
"""The sample filters :meth:`Comparison.filter_mask` knows."""
OUTCOMES: tuple[str, ...] = ("fixed", "broken", "both right", "both wrong")
"""The four agreement cells as :attr:`Comparison.outcome` spells them ("" for ignored rows)."""

ECE_BINS = 15
# The KL pass is split over threads from this many row blocks on (as core.evaluating's passes).
PARALLEL_MIN_BLOCKS = 8

_LIKE_OPTIONS = (
    "temperature",
    "weight",
    "ignore_index",
    "reduction",
    "label_smoothing",
    "device",
    "dtype",
)


@dataclass(eq=False)
class Comparison:
    """Model A against model B on the same samples. (N,) masks are False on ignored rows."""

    a: Evaluation
    b: Evaluation
    valid: np.ndarray
    """(N,) bool: the rows both evaluations count (their target is not ignore_index)."""
    delta_loss: np.ndarray
    """(N,) float64 loss_b − loss_a; NaN where either is NaN and on ignored rows."""
    fixed: np.ndarray
    """(N,) bool: A wrong, B right."""
    broken: np.ndarray
    """(N,) bool: A right, B wrong."""
    changed: np.ndarray
    """(N,) bool: the predictions differ."""
    both_wrong: np.ndarray
    both_right: np.ndarray
    agreement: np.ndarray
    """(2, 2) int64 counts: rows A wrong / right, columns B wrong / right."""
    _sums: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )
    """Per model, the ECE's bins: (count, confidence sum, correct sum), once computed."""

    def _bins(self, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if model not in self._sums:
            ev = self.a if model == "a" else self.b
            self._sums[model] = _bin_sums(ev, slice(None))
        return self._sums[model]

    def updated(self, ev_a: Evaluation, ev_b: Evaluation, rows: Any) -> Comparison:
        """This comparison after an edit of the logits of ``rows`` only (one model or both;
        the same targets and options): the masks, counts, outcome and ECE bins of the other
        rows are reused, so an edit costs O(len(rows)) besides O(N) copies. ``self`` must be
        the comparison of the evaluations before the edit."""
        index = np.unique(np.atleast_1d(np.asarray(rows, dtype=np.int64)))
        fresh = _cells(ev_a, ev_b, index, self.valid[index])
        delta = self.delta_loss.copy()
        delta[index] = fresh["delta"]
        masks = {}
        for name in ("fixed", "broken", "changed", "both_wrong", "both_right"):
            mask = getattr(self, name).copy()
            mask[index] = fresh[name]
            masks[name] = mask
        agreement = self.agreement.copy()
        for (i, j), name in (
            ((0, 0), "both_wrong"),
            ((0, 1), "fixed"),
            ((1, 0), "broken"),
            ((1, 1), "both_right"),
        ):
            agreement[i, j] += int(fresh[name].sum()) - int(getattr(self, name)[index].sum())
        out = Comparison(ev_a, ev_b, self.valid, delta, agreement=agreement, **masks)
        if "outcome" in self.__dict__:
            outcome = self.outcome.copy()
            outcome[index] = _outcome(fresh, len(index))
            out.__dict__["outcome"] = outcome
        for model, old_ev, new_ev in (("a", self.a, ev_a), ("b", self.b, ev_b)):
            if model in self._sums:
                count, conf, hit = (v.copy() for v in self._sums[model])
                for sign, ev in ((-1, old_ev), (1, new_ev)):
                    c, f, h = _bin_sums(ev, index)
                    count += sign * c
                    conf += sign * f
                    hit += sign * h
                out._sums[model] = (count, conf, hit)
        return out

    @property
    def n_samples(self) -> int:
        return int(self.valid.shape[0])

    @cached_property
    def summary(self) -> dict[str, float | int]:
        """accuracy_a/_b, mean_loss_a/_b, ece_a/_b, mean_delta_loss, n_samples, n_valid and the
        counts fixed, broken, changed, both_wrong, both_right (computed on first access: the
        ECEs bin every sample)."""
        a, b = self.a, self.b
        counted = self.delta_loss[self.valid]
        w, f = self.agreement[0]
        r, rr = self.agreement[1]
        return {
            "n_samples": a.n_samples,
            "n_valid": int(self.valid.sum()),
            "accuracy_a": float(a.accuracy),
            "accuracy_b": float(b.accuracy),
            "mean_loss_a": _mean_loss(a),
            "mean_loss_b": _mean_loss(b),
            "mean_delta_loss": float(counted.mean()) if counted.size else math.nan,
            "ece_a": _ece_of(self._bins("a")),
            "ece_b": _ece_of(self._bins("b")),
            "fixed": int(f),
            "broken": int(r),
            "changed": int(self.changed.sum()),
            "both_wrong": int(w),
            "both_right": int(rr),
        }

    @cached_property
    def outcome(self) -> np.ndarray:
        """(N,) text: each sample's agreement cell, one of :data:`OUTCOMES`, "" where ignored."""
        masks = {name: getattr(self, name) for name in ("fixed", "broken", "both_right")}
        return _outcome({**masks, "both_wrong": self.both_wrong}, self.n_samples)

    def kl_of(self, rows: Any) -> np.ndarray:
        """KL(p_a || p_b) of the chosen rows only (as :attr:`kl`, without the full pass)."""
        index = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        with np.errstate(all="ignore"):
            kl = _kl_careful(self.a.log_probabilities_of(index), self.b.log_probabilities_of(index))
            return np.maximum(kl, 0.0)

    @cached_property
    def kl(self) -> np.ndarray:
        """(N,) float64 KL(p_a || p_b) per sample, in nats; every row, ignored ones included
        (it needs no target). +inf where B gives 0 to a class A does not; a class A gives 0
        contributes nothing; NaN for a NaN row. One streamed pass over both tables, on as many
        threads as torch uses (numpy releases the GIL)."""
        n, c = self.a.n_samples, self.a.n_classes
        out = np.empty(n, dtype=np.float64)
        step = block_rows(c)
        starts = list(range(0, n, step))

        def work(share: list[int]) -> None:
            with np.errstate(all="ignore"):  # per thread: workers do not inherit it
                for s in share:
                    out[s : s + step] = _kl_block(self.a, self.b, s, min(n, s + step))

        workers = min(torch.get_num_threads(), len(starts) // PARALLEL_MIN_BLOCKS)
        if workers <= 1:
            work(starts)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(work, [starts[i::workers] for i in range(workers)]))
        return out

    def filter_mask(self, kind: str) -> np.ndarray:
        """The (N,) mask of one of :data:`FILTER_KINDS` (``both_wrong`` spelt either way)."""
        key = str(kind).replace("_", " ")
        masks = {
            "fixed": self.fixed,
            "broken": self.broken,
            "changed": self.changed,
            "both wrong": self.both_wrong,
            "both right": self.both_right,
        }
        if key not in masks:
            raise ValueError(f"unknown filter {kind!r}: use one of {FILTER_KINDS}")
        return masks[key]

    def agreement_rows(self, a_right: bool, b_right: bool) -> np.ndarray:
        """Sample indices of one agreement cell, the largest loss increase (B over A) first;
        NaN deltas last, ties in sample order."""
        cell = {
            (False, False): self.both_wrong,
            (False, True): self.fixed,
            (True, False): self.broken,
            (True, True): self.both_right,
        }[(bool(a_right), bool(b_right))]
        rows = np.flatnonzero(cell)
        # argsort puts NaN last; the negation sorts descending and keeps ties stable.
        return rows[np.argsort(-self.delta_loss[rows], kind="stable")]


def compare(ev_a: Evaluation, ev_b: Evaluation) -> Comparison:
    """Compare two evaluations of the same N samples with the same targets.

    Different sample counts, class counts, target kinds or targets raise ``ValueError`` naming
    the mismatch (for probability targets the compared targets are their argmax classes, as
    ``Evaluation.targets`` holds them). Rows with non-finite logits count as wrong (as
    ``Evaluation.correct`` does); ignored rows are left out of every count and mask.
    """
    for ev, name in ((ev_a, "A"), (ev_b, "B")):
        if not isinstance(ev, Evaluation):
            raise ValueError(f"model {name} must be an Evaluation, not {type(ev).__name__}")
    _check_same("samples", ev_a.n_samples, ev_b.n_samples)
    _check_same("classes", ev_a.n_classes, ev_b.n_classes)
    if ev_a.target_kind != ev_b.target_kind:
        raise ValueError(
            f"model A has {ev_a.target_kind} targets, model B {ev_b.target_kind} targets"
        )
    valid = ev_a.valid
    differ = (ev_a.valid != ev_b.valid) | (valid & (ev_a.targets != ev_b.targets))
    if differ.any():
        raise ValueError(
            f"targets differ at {int(differ.sum()):,} samples, first at sample "
            f"{int(np.flatnonzero(differ)[0])}"
        )

    cells = _cells(ev_a, ev_b, slice(None), valid)
    fixed, broken, both_wrong, both_right = (
        cells[k] for k in ("fixed", "broken", "both_wrong", "both_right")
    )
    delta, changed = cells["delta"], cells["changed"]
    agreement = np.array(
        [
            [np.count_nonzero(both_wrong), np.count_nonzero(fixed)],
            [np.count_nonzero(broken), np.count_nonzero(both_right)],
        ],
        dtype=np.int64,
    )
    return Comparison(
        a=ev_a,
        b=ev_b,
        valid=valid.copy(),
        delta_loss=delta,
        fixed=fixed,
        broken=broken,
        changed=changed,
        both_wrong=both_wrong,
        both_right=both_right,
        agreement=agreement,
    )


# --------------------------------------------------------------------------------------------
# what a dataset view of the two models shows


@dataclass(frozen=True)
class LossHistograms:
    """Both models' per-sample losses counted on the same bins ([lo, hi), the last [lo, hi])."""

    edges: np.ndarray
    a: np.ndarray
    """(bins,) int64 counts of model A's losses."""
    b: np.ndarray
    overflow: float
    """NaN, or the value from which the last bin holds everything above (see
    :func:`core.metrics.loss_bin_edges`)."""
    n_a: int
    """Samples counted for A (labelled, loss not NaN; +∞ in the last bin); likewise ``n_b``."""
    n_b: int


@dataclass(frozen=True)
class ClassAccuracy:
    """Per-class accuracy of both models over the labelled rows (a non-finite row is wrong, as
    in :attr:`Evaluation.accuracy`, so both models count the same samples)."""

    count: np.ndarray
    """(C,) int64 labelled samples of each true class."""
    correct_a: np.ndarray
    correct_b: np.ndarray
    accuracy_a: np.ndarray
    """(C,) correct_a / count; NaN for a class without samples."""
    accuracy_b: np.ndarray
    difference: np.ndarray
    """(C,) accuracy_b − accuracy_a: negative where B got worse."""

    def order(self) -> np.ndarray:
        """The classes with samples, the largest drop (B below A) first, then by class."""
        present = np.flatnonzero(self.count > 0)
        return present[np.argsort(self.difference[present], kind="stable")].astype(np.int64)


@dataclass(frozen=True)
class ComparisonDataset:
    """Everything the window's comparison of two models over a dataset draws."""

    agreement: np.ndarray
    summary: dict[str, float | int]
    reliability_a: Reliability
    reliability_b: Reliability
    loss: LossHistograms
    classes: ClassAccuracy


def compare_dataset(
    cmp: Comparison, *, n_bins: int = ECE_BINS, loss_bins: int = LOSS_BINS
) -> ComparisonDataset:
    """Both reliability diagrams (the bins of ``cmp.summary``'s ECEs), both loss histograms on
    shared bins, and the per-class accuracies of A and B. O(N + C)."""
    a, b, valid = cmp.a, cmp.b, cmp.valid
    rel_a = reliability(a.confidence, a.correct, a.valid & a.has_prediction, n_bins)
    rel_b = reliability(b.confidence, b.correct, b.valid & b.has_prediction, n_bins)
    loss_a = np.asarray(a.losses, dtype=np.float64)
    loss_b = np.asarray(b.losses, dtype=np.float64)
    # +∞ losses (p(true) = 0) are shown in the last bin, as in core.metrics.loss_histogram.
    shown_a = valid & ~np.isnan(loss_a) & (loss_a != -np.inf)
    shown_b = valid & ~np.isnan(loss_b) & (loss_b != -np.inf)
    finite_a, finite_b = shown_a & np.isfinite(loss_a), shown_b & np.isfinite(loss_b)
    edges, overflow = loss_bin_edges(
        np.concatenate([loss_a[finite_a], loss_b[finite_b]]), loss_bins
    )
    if (finite_a != shown_a).any() or (finite_b != shown_b).any():
        overflow = float(edges[-1]) if math.isnan(overflow) else overflow

    def counts(values: np.ndarray) -> np.ndarray:
        clipped = np.clip(values, edges[0], edges[-1])
        return np.histogram(clipped, bins=edges)[0].astype(np.int64)

    loss = LossHistograms(
        edges,
        counts(loss_a[shown_a]),
        counts(loss_b[shown_b]),
        overflow,
        int(shown_a.sum()),
        int(shown_b.sum()),
    )
    c = a.n_classes
    targets = a.targets[valid]
    count = np.bincount(targets, minlength=c).astype(np.int64)
    right_a = np.bincount(a.targets[valid & a.correct], minlength=c).astype(np.int64)
    right_b = np.bincount(b.targets[valid & b.correct], minlength=c).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_a = np.where(count > 0, right_a / np.maximum(count, 1), np.nan)
        acc_b = np.where(count > 0, right_b / np.maximum(count, 1), np.nan)
    classes = ClassAccuracy(count, right_a, right_b, acc_a, acc_b, acc_b - acc_a)
    summary = dict(cmp.summary)
    summary["ece_a"], summary["ece_b"] = rel_a.ece, rel_b.ece  # the same bins, by construction
    return ComparisonDataset(cmp.agreement.copy(), summary, rel_a, rel_b, loss, classes)


def evaluate_like(ev_a: Evaluation, logits_b: Any, **options: Any) -> Evaluation:
    """Evaluate ``logits_b`` with ``ev_a``'s targets and options (temperature, class weights,
    ignore_index, reduction, label smoothing, device, dtype); keyword arguments override them,
    e.g. ``evaluate_like(ev, logits, temperature=fit.temperature)`` for model A against itself
    temperature-scaled."""
    unknown = sorted(set(options) - set(_LIKE_OPTIONS))
    if unknown:
        raise TypeError(f"evaluate_like got unknown options {unknown}: use {_LIKE_OPTIONS}")
    shape = getattr(logits_b, "shape", None)
    if shape is None:
        shape = np.shape(logits_b)
    if len(shape) == 2:
        _check_same("samples", ev_a.n_samples, int(shape[0]))
        _check_same("classes", ev_a.n_classes, int(shape[1]))
    o = ev_a.options
    kwargs: dict[str, Any] = {
        "temperature": o.temperature,
        "weight": o.weight,
        "ignore_index": o.ignore_index,
        "reduction": o.reduction,
        "label_smoothing": o.label_smoothing,
        "device": ev_a.device,
        "dtype": ev_a.dtype,
    }
    kwargs.update(options)
    if ev_a.target_kind == "probability":
        # Evaluation has no public accessor for its probability targets (reported upstream).
        soft = ev_a._soft
        assert soft is not None
        target: Any = soft.cpu()
    else:
        target = ev_a.targets
    return evaluate(logits_b, target, **kwargs)


# --------------------------------------------------------------------------------------------
# internals


def _check_same(what: str, a: int, b: int) -> None:
    if a != b:
        raise ValueError(f"model B has {b:,} {what}, model A {a:,}")


def _mean_loss(ev: Evaluation) -> float:
    """torch's ``reduction='mean'`` of the per-sample losses, whatever ``ev``'s reduction: NaN
    or inf as soon as one counted row is (as core.metrics.summarize)."""
    total = float(np.asarray(ev.losses, dtype=np.float64).sum())
    return total / ev.denominator if ev.denominator else math.nan


def _cells(ev_a: Evaluation, ev_b: Evaluation, rows: Any, valid: np.ndarray) -> dict:
    """delta, fixed, broken, changed, both_wrong, both_right of ``rows`` (valid: theirs)."""
    right_a, right_b = ev_a.correct[rows] & valid, ev_b.correct[rows] & valid
    with np.errstate(invalid="ignore"):
        delta = ev_b.losses[rows].astype(np.float64) - ev_a.losses[rows].astype(np.float64)
    delta[~valid] = np.nan
    return {
        "delta": delta,
        "fixed": valid & ~right_a & right_b,
        "broken": right_a & ~right_b,
        "changed": valid & (ev_a.predictions[rows] != ev_b.predictions[rows]),
        "both_wrong": valid & ~right_a & ~right_b,
        "both_right": right_a & right_b,
    }


def _outcome(masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = np.full(n, "", dtype=f"<U{max(map(len, OUTCOMES))}")
    for name in OUTCOMES:
        out[masks[name.replace(" ", "_")]] = name
    return out


def _bin_sums(ev: Evaluation, rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, confidence sum, correct sum) per ECE bin of ``rows``, binned exactly as
    :func:`core.metrics.reliability` bins (labelled rows with a finite confidence)."""
    conf = np.asarray(ev.confidence[rows], dtype=np.float64)
    use = (ev.valid & ev.has_prediction)[rows] & np.isfinite(conf)
    conf, hit = conf[use], ev.correct[rows][use].astype(np.float64)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, ECE_BINS - 1)
    # np.bincount of no rows gives integers even with weights: the sums are floats always.
    return (
        np.bincount(which, minlength=ECE_BINS).astype(np.int64),
        np.bincount(which, weights=conf, minlength=ECE_BINS).astype(np.float64),
        np.bincount(which, weights=hit, minlength=ECE_BINS).astype(np.float64),
    )


def _ece_of(sums: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """Σ_b |acc_b − conf_b| · n_b / N = Σ_b |correct_b − confidence_b| / N over filled bins."""
    count, conf, hit = sums
    total = int(count.sum())
    if not total:
        return math.nan
    filled = count > 0
    return float(np.abs(hit[filled] - conf[filled]).sum() / total)


def _kl_block(a: Evaluation, b: Evaluation, start: int, stop: int) -> np.ndarray:
    """KL(p_a || p_b) of rows start..stop: Σ_c p_a (log p_a − log p_b), summed in float64.

    The fast path makes no temporary beyond the two log-probability blocks (the terms keep their
    dtype: their rounding is already in the inputs). A row holding a zero probability, on either
    side, or a NaN, comes out non-finite there and is redone term by term.
    """
    log_p = a.log_probabilities_of(slice(start, stop))
    log_q = b.log_probabilities_of(slice(start, stop))
    diff = np.subtract(log_p, log_q, out=log_q)
    kl = np.multiply(np.exp(log_p, out=log_p), diff, out=diff).sum(1, dtype=np.float64)
    redo = np.flatnonzero(~np.isfinite(kl))
    if redo.size:
        rows = redo + start
        kl[redo] = _kl_careful(a.log_probabilities_of(rows), b.log_probabilities_of(rows))
    # Rounding can leave a tiny negative number where the distributions agree; KL >= 0.
    return np.maximum(kl, 0.0)


def _kl_careful(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """The same sum with the limits spelt out: 0 · log 0 = 0 whatever B says, and +inf where
    B gives 0 to a class A does not (exp(log p) may underflow to 0, and 0 · inf is NaN)."""
    zero = log_p == -np.inf
    impossible = (log_q == -np.inf) & ~zero & ~np.isnan(log_p)
    terms = np.exp(log_p) * (log_p - log_q)
    terms[zero] = 0.0
    terms[impossible] = np.inf
    return terms.sum(1, dtype=np.float64)
