"""Every number the formula panel and the from-scratch panel write out, for one selected sample.

``explain_sample`` takes apart one row of an :class:`~core.evaluation.Evaluation` — z, z/T, the
shifted exponentials, p, the target q actually used, the per-class loss terms and the reduction —
so that the GUI only formats. ``compare_softmaxes`` runs the textbook numpy softmaxes on the same
row, next to torch's, and says in one line each where they break.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from softmax_lab.core.constants import SHOWN_CLASSES
from softmax_lab.core.devices import DTYPES
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.scratch import ScratchResult, softmax_naive, softmax_stable

# The numpy dtype that stands in for each torch dtype. numpy has no bfloat16: the logits are
# rounded to bfloat16 (through torch) and the from-scratch code then runs in float32.
NUMPY_DTYPES: dict[str, type[np.floating]] = {
    "float16": np.float16,
    "bfloat16": np.float32,
    "float32": np.float32,
    "float64": np.float64,
}

# Differences from torch below this count as "agree". Half types are widened to float32 for the
# exp-sum on both sides, so float32 rounding is the floor for all but float64.
_AGREE_TOLERANCE = {"float16": 1e-5, "bfloat16": 1e-5, "float32": 1e-5, "float64": 1e-12}


def _frozen(array: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """A read-only float64 array: the result dataclasses are frozen, their arrays should be too.

    ``copy=False`` is for arrays made here; at 256,000 classes each needless copy costs ~3 ms.
    Anything that may share memory with the caller or the evaluation is copied first.
    """
    out = np.array(array, dtype=np.float64, copy=True) if copy else np.asarray(array, np.float64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class ClassSelection:
    """Which classes a panel writes out, and what the ones left out add up to."""

    indices: np.ndarray
    """Class indices to show, highest score first (ties in class order)."""
    n_hidden: int
    """How many candidate classes are not shown."""
    hidden_total: float
    """Sum of the chosen quantity (probability, loss term) over the classes not shown."""


def select_classes(
    score: np.ndarray,
    k: int = SHOWN_CLASSES,
    *,
    include: Sequence[int] = (),
    among: np.ndarray | None = None,
    total_of: np.ndarray | None = None,
) -> ClassSelection:
    """The ``k`` classes with the highest ``score`` (NaN ranks last), always keeping ``include``.

    ``among`` (a boolean mask) limits the candidates, e.g. to non-zero loss terms; ``total_of``
    (default ``score``) is summed over the candidates left out. Uses a partition, not a full sort,
    so a 256,000-class vocabulary costs one pass.
    """
    score = np.asarray(score, dtype=np.float64)
    # Every class a candidate (the usual case): no index of the vocabulary is built and no copy
    # of the scores made unless they hold NaN; the same classes and sums as through ``among``.
    candidates = None if among is None else np.flatnonzero(among)
    key = score if candidates is None else score[candidates]
    nan = np.isnan(key)
    if nan.any():
        key = np.where(nan, -np.inf, key)
    n = len(key)
    k = max(0, int(k))
    if n <= k:
        chosen = np.arange(n)
    elif k == 0:
        chosen = np.empty(0, dtype=np.int64)
    else:
        threshold = np.partition(key, n - k)[n - k]
        above = np.flatnonzero(key > threshold)
        # Ties at the boundary (a NaN row ties everywhere) are broken by class order, not at random.
        ties = np.flatnonzero(key == threshold)[: k - len(above)]
        chosen = np.concatenate([above, ties])
    # Positions (within candidates, which are sorted) of the classes that must stay in.
    forced = np.array([int(i) for i in include], dtype=np.int64)
    if candidates is None:
        spot, hit = forced, (forced >= 0) & (forced < n)
    else:
        spot = np.searchsorted(candidates, forced)
        hit = spot < n
        hit[hit] = candidates[spot[hit]] == forced[hit]
    forced_pos = sorted(set(spot[hit].tolist()))
    if not set(forced_pos) <= set(chosen.tolist()):
        # Make room for the forced classes by dropping the lowest-scoring of the others.
        ranked = chosen[np.argsort(-key[chosen], kind="stable")].tolist()
        keep = [p for p in ranked if p not in forced_pos][: max(0, k - len(forced_pos))]
        chosen = np.array(sorted(set(keep) | set(forced_pos)), dtype=np.int64)
    chosen = np.sort(chosen)
    chosen = chosen[np.argsort(-key[chosen], kind="stable")]
    values = score if total_of is None else np.asarray(total_of, dtype=np.float64)
    hidden = np.ones(n, dtype=bool)
    hidden[chosen] = False
    with np.errstate(all="ignore"):
        left_out = values[hidden] if candidates is None else values[candidates[hidden]]
        hidden_total = float(np.sum(left_out))
    shown = chosen if candidates is None else candidates[chosen]
    return ClassSelection(shown.astype(np.int64), int(hidden.sum()), hidden_total)


def _input_problem(z: np.ndarray) -> str | None:
    """Why a row of logits cannot give finite probabilities, in plain words; None if it can."""
    if np.isnan(z).any():
        return "NaN in the logits"
    if np.isposinf(z).any():
        return "a logit of +∞ (∞ − ∞ = NaN)"
    if z.size and np.isneginf(z).all():
        return "every logit is −∞ (0 / 0 = NaN)"
    return None


@dataclass(frozen=True, eq=False)
class SampleExplanation:
    """One sample's softmax and cross-entropy, term by term. Arrays are (C,) float64, read-only."""

    index: int
    dtype: str
    """The torch dtype the evaluation ran in; ``z`` is the row rounded to it."""
    z: np.ndarray
    """Raw logits, as the evaluation saw them (rounded to ``dtype``)."""
    temperature: float
    scaled: np.ndarray
    """z / T, divided in ``dtype`` as torch does."""
    max_scaled: float
    """m = max z/T, subtracted before exp so that exp never overflows."""
    exp_terms: np.ndarray
    """e^(z_i/T − m); each in [0, 1]."""
    exp_sum: float
    """Σ_j e^(z_j/T − m); at least 1 for a finite row."""
    probabilities: np.ndarray
    """p, exactly ``ev.probabilities_of([index])[0]``."""
    log_probabilities: np.ndarray
    predicted_class: int
    target_kind: str
    """``"index"`` or ``"probability"``."""
    true_class: int | None
    """The label, or the argmax of a probability target; None when the row is ignored."""
    label: int | None
    """The raw label for index targets (``ignore_index`` included); None for probability targets."""
    target_row: np.ndarray
    """q, the target distribution actually used: (1 − ε)·onehot + ε/C, or the smoothed soft target;
    all zeros for an ignored row."""
    label_smoothing: float
    weight: np.ndarray | None
    """Class weights w, or None."""
    sample_weight: float
    """What this row adds to the mean's denominator: w_y for labels (0 if ignored), 1 for soft."""
    ignored: bool
    ignore_index: int
    loss_terms: np.ndarray
    """−w_c q_c log p_c; a term whose w_c q_c is 0 counts 0 here even where log p_c = −∞."""
    loss: float
    """This row's loss, exactly ``ev.losses[index]``."""
    finite: bool
    """``ev.finite[index]``: False if the logits hold NaN, are all −∞, or the loss is not finite."""
    reduction: str
    reduced_loss: float | None
    """``ev.loss`` for mean/sum; None for ``none``."""
    denominator: float
    """What ``mean`` divides the summed losses by (``ev.denominator``)."""
    n_samples: int
    n_counted: int
    """Rows not ignored, i.e. the rows the reduction runs over."""
    notes: tuple[str, ...]
    """Plain-language remarks on non-finite numbers, e.g. "NaN in the logits → …"."""

    @property
    def n_classes(self) -> int:
        return int(self.z.shape[0])

    @property
    def smoothed(self) -> bool:
        return self.label_smoothing > 0

    def shown_classes(self, k: int = SHOWN_CLASSES) -> ClassSelection:
        """The most probable classes (true and predicted always in); hidden_total is Σ p."""
        include = [self.predicted_class] + ([] if self.true_class is None else [self.true_class])
        return select_classes(self.probabilities, k, include=include)

    def shown_loss_terms(self, k: int = SHOWN_CLASSES) -> ClassSelection:
        """The largest non-zero loss terms; hidden_total is the sum of the others."""
        magnitude = np.abs(self.loss_terms)
        return select_classes(magnitude, k, among=self.loss_terms != 0, total_of=self.loss_terms)


def _round_and_divide(
    row: np.ndarray, temperature: float, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """The row rounded to ``dtype`` and z/T divided in ``dtype``, as evaluate() feeds exp; both
    returned as float64. For float32/float64 numpy gives torch's bits (IEEE rounding) and is
    faster at 256,000 classes; half types go through torch, whose double→half conversion and
    half division round differently from numpy's in a few ties."""
    if dtype in ("float16", "bfloat16"):
        x = torch.as_tensor(np.asarray(row, dtype=np.float64)).to(DTYPES[dtype])
        scaled_t = x / temperature if temperature != 1.0 else x
        return x.double().numpy(), scaled_t.double().numpy()
    np_dtype = NUMPY_DTYPES[dtype]
    values = np.asarray(row, dtype=np_dtype)  # only read: no copy when it is one already
    z = values.astype(np.float64)
    if temperature == 1.0:
        return z, z  # z/1 is z: one array for both (the explanation freezes them)
    with np.errstate(all="ignore"):
        scaled = values / np_dtype(temperature)
    return z, scaled.astype(np.float64)


def explain_sample(ev: Evaluation, logits_row: np.ndarray, index: int) -> SampleExplanation:
    """Take apart sample ``index`` of ``ev``; ``logits_row`` is that sample's raw (C,) logits.

    p and log p come from ``ev`` itself, so they match the views to the bit; z/T and the shifted
    exponentials are recomputed from the row in ``ev``'s dtype, as evaluate() does.
    """
    n, c = ev.n_samples, ev.n_classes
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an integer, got {index!r}")
    index = int(index)
    if not 0 <= index < n:
        raise IndexError(f"sample {index} is out of range: there are {n} samples")
    row = np.asarray(logits_row)
    if row.ndim == 2 and row.shape[0] == 1:
        row = row[0]
    if row.shape != (c,):
        raise ValueError(f"logits_row must have shape ({c},), got {row.shape}")

    options = ev.options
    temperature = float(options.temperature)
    z, scaled = _round_and_divide(row, temperature, ev.dtype)

    with np.errstate(all="ignore"):
        max_scaled = float(np.max(scaled))
        exp_terms = np.exp(scaled - max_scaled)
        exp_sum = float(np.sum(exp_terms))

    probabilities = ev.probabilities_of([index])[0].astype(np.float64)
    log_probabilities = ev.log_probabilities_of([index])[0].astype(np.float64)

    eps = float(options.label_smoothing)
    label: int | None = None
    if ev.target_kind == "probability":
        assert ev._soft is not None
        q = ev._soft[index].double().cpu().numpy()
        if eps:
            q = q * (1 - eps) + eps / c
        ignored = False
        true_class: int | None = int(ev.targets[index])
        sample_weight = 1.0
    else:
        label = int(ev.targets[index])
        ignored = not bool(ev.valid[index])
        q = np.zeros(c)
        true_class = None
        sample_weight = 0.0
        if not ignored:
            true_class = label
            if eps:
                q += eps / c
            q[label] += 1 - eps
            sample_weight = 1.0 if options.weight is None else float(options.weight[label])
    weight = None if options.weight is None else np.asarray(options.weight, dtype=np.float64)

    a = q if weight is None else q * weight
    with np.errstate(all="ignore"):
        # 0·(−∞) is NaN in IEEE arithmetic; a class the target gives no weight adds nothing.
        loss_terms = np.where(a != 0, -a * log_probabilities, 0.0)

    loss = float(ev.losses[index])
    finite = bool(ev.finite[index])
    reduced_loss = None if options.reduction == "none" else float(ev.loss)
    notes = _sample_notes(z, scaled, a, loss, ignored, ev.target_kind)

    return SampleExplanation(
        index=index,
        dtype=ev.dtype,
        z=_frozen(z, copy=False),
        temperature=temperature,
        scaled=_frozen(scaled, copy=False),
        max_scaled=max_scaled,
        exp_terms=_frozen(exp_terms, copy=False),
        exp_sum=exp_sum,
        probabilities=_frozen(probabilities, copy=False),
        log_probabilities=_frozen(log_probabilities, copy=False),
        predicted_class=int(ev.predictions[index]),
        target_kind=ev.target_kind,
        true_class=true_class,
        label=label,
        target_row=_frozen(q, copy=ev.target_kind == "probability"),  # else q was made here
        label_smoothing=eps,
        weight=None if weight is None else _frozen(weight),
        sample_weight=sample_weight,
        ignored=ignored,
        ignore_index=int(options.ignore_index),
        loss_terms=_frozen(loss_terms, copy=False),
        loss=loss,
        finite=finite,
        reduction=options.reduction,
        reduced_loss=reduced_loss,
        denominator=float(ev.denominator),
        n_samples=n,
        n_counted=int(ev.valid.sum()),
        notes=notes,
    )


def _sample_notes(
    z: np.ndarray,
    scaled: np.ndarray,
    a: np.ndarray,
    loss: float,
    ignored: bool,
    target_kind: str,
) -> tuple[str, ...]:
    notes: list[str] = []
    if np.isfinite(z).all() and (scaled is z or np.isfinite(scaled).all()):
        # The usual row (one pass, not eight over a vocabulary): nothing is NaN, infinite or
        # masked, so only an underflowed target can be worth a word.
        if not ignored and math.isinf(loss):
            notes.append("p underflows to 0 for a class the target needs → −log 0 = ∞")
        return tuple(notes)
    problem = _input_problem(z)
    if problem is None and (np.isinf(scaled) & np.isfinite(z)).any():
        problem = "z/T overflows the number format (|z/T| = ∞)"
    if problem is not None:
        if ignored:
            notes.append(
                f"{problem} → the probabilities are NaN, but the row is ignored, "
                f"so it still adds 0 to the loss"
            )
        elif problem == "NaN in the logits":
            notes.append("NaN in the logits → this row's loss is NaN")
        else:
            notes.append(f"{problem} → the probabilities are NaN, so this row's loss is NaN")
        return tuple(notes)
    masked = np.isneginf(z)
    if masked.any() and not ignored:
        if (a[masked] > 0).any():
            notes.append(
                "the target puts weight on a class whose logit is −∞ (p = 0) → "
                "−log 0 = ∞, so this row's loss is ∞"
            )
        elif target_kind == "probability" and math.isnan(loss):
            notes.append(
                "a class with logit −∞ has target 0: torch computes 0·(−∞) = NaN, "
                "so its loss is NaN (the terms here count that product as 0)"
            )
        else:
            notes.append(
                "a logit of −∞ masks its class: p = 0, and its target is 0, "
                "so it adds nothing to the loss"
            )
    elif not ignored and math.isinf(loss):
        notes.append("p underflows to 0 for a class the target needs → −log 0 = ∞")
    return tuple(notes)


# --- from scratch vs torch ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SoftmaxComparison:
    """The textbook numpy softmaxes next to torch's for one row, and where each one breaks."""

    z: np.ndarray
    """The raw logits, float64."""
    temperature: float
    dtype: str
    """The torch dtype asked for."""
    numpy_dtype: str
    """The numpy dtype the logits were rounded to (``float32`` stands in for bfloat16)."""
    dtype_note: str | None
    """Why the numpy side is not exactly ``dtype``, or None."""
    scaled: np.ndarray
    """z/T in ``numpy_dtype``, as fed to the from-scratch functions."""
    naive: ScratchResult
    stable: ScratchResult
    torch_probabilities: np.ndarray
    naive_diff: float
    """max |naive − torch|; NaN in both places counts as equal, NaN in one as ∞."""
    stable_diff: float
    tolerance: float
    """Differences at or below this count as agreeing."""
    overflow_limit: float
    """e^x overflows above this x in the dtype the naive exp runs in (≈ 88.72 in float32)."""
    compute_dtype: str
    """The dtype the from-scratch exp runs in (softmax_naive widens float16 to float32)."""
    input_problem: str | None
    """Why no method can give finite probabilities (NaN or ±∞ logits), or None."""
    naive_verdict: str
    stable_verdict: str
    torch_verdict: str

    @property
    def max_diff(self) -> float:
        return max(self.naive_diff, self.stable_diff)

    @property
    def agree(self) -> bool:
        """All three finite and within ``tolerance`` of each other."""
        return self.input_problem is None and self.max_diff <= self.tolerance

    @property
    def naive_failed(self) -> bool:
        """The naive softmax overflowed, underflowed to 0/0, or gave NaN."""
        value = np.asarray(self.naive.value)
        return not self.naive.ok or bool(np.isnan(value).any())

    @property
    def verdicts(self) -> tuple[str, str, str]:
        return (self.naive_verdict, self.stable_verdict, self.torch_verdict)

    def shown_classes(self, k: int = SHOWN_CLASSES) -> ClassSelection:
        """The classes torch finds most probable (stable's order if torch gave NaN)."""
        score = self.torch_probabilities
        if np.isnan(score).all():
            score = np.asarray(self.stable.value, dtype=np.float64)
        return select_classes(score, k)


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| where NaN equals NaN and ∞ equals ∞ (same sign); NaN against a number is ∞."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff = np.where(same, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(np.max(diff))


def _format_logit(value: float) -> str:
    return f"{value:g}".replace("-", "−").replace("inf", "∞")


def compare_softmaxes(
    logits_row: np.ndarray,
    temperature: float,
    dtype: str,
    torch_probabilities: np.ndarray,
) -> SoftmaxComparison:
    """Run ``softmax_naive`` and ``softmax_stable`` on ``logits_row / temperature`` in the numpy
    dtype matching ``dtype``, and compare them with torch's probabilities for the same row."""
    if dtype not in NUMPY_DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}: use one of {list(NUMPY_DTYPES)}")
    temperature = float(temperature)
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    z = np.asarray(logits_row, dtype=np.float64).reshape(-1)
    torch_p = np.asarray(torch_probabilities, dtype=np.float64).reshape(-1)
    if torch_p.shape != z.shape:
        raise ValueError(f"torch_probabilities has shape {torch_p.shape}, logits {z.shape}")

    np_dtype = NUMPY_DTYPES[dtype]
    # Start from the very z/T torch exponentiated (rounded and divided as evaluate() does), held
    # in the numpy dtype: exact, since every such value is representable there.
    scaled = _round_and_divide(z, temperature, dtype)[1].astype(np_dtype)
    note: str | None = None
    if dtype == "bfloat16":
        note = (
            "numpy has no bfloat16: the logits are rounded to bfloat16, then the numpy "
            "softmaxes run in float32"
        )
    elif dtype == "float16":
        note = (
            "float16 logits; the from-scratch exp runs in float32, as torch's "
            "half-precision softmax does"
        )

    naive = softmax_naive(scaled)
    stable = softmax_stable(scaled)
    compute = np.result_type(scaled.dtype, np.float32)
    overflow_limit = float(np.log(np.finfo(compute).max))
    naive_diff = max_abs_difference(np.asarray(naive.value), torch_p)
    stable_diff = max_abs_difference(np.asarray(stable.value), torch_p)
    tolerance = _AGREE_TOLERANCE[dtype]
    problem = _input_problem(z)
    if problem is None and (np.isinf(scaled) & np.isfinite(z)).any():
        problem = f"z/T overflows {np.dtype(np_dtype).name} (|z/T| = ∞)"

    return SoftmaxComparison(
        z=_frozen(z),
        temperature=temperature,
        dtype=dtype,
        numpy_dtype=np.dtype(np_dtype).name,
        dtype_note=note,
        scaled=_frozen(scaled, copy=False),
        naive=naive,
        stable=stable,
        torch_probabilities=_frozen(torch_p),
        naive_diff=naive_diff,
        stable_diff=stable_diff,
        tolerance=tolerance,
        overflow_limit=overflow_limit,
        compute_dtype=np.dtype(compute).name,
        input_problem=problem,
        naive_verdict=_naive_verdict(
            z, scaled, compute, naive, problem, naive_diff, tolerance, temperature
        ),
        stable_verdict=_plain_verdict(
            "stable", np.asarray(stable.value), problem, stable_diff, tolerance
        ),
        torch_verdict=_plain_verdict("torch", torch_p, problem, 0.0, tolerance),
    )


def _naive_verdict(
    z: np.ndarray,
    scaled: np.ndarray,
    compute: np.dtype,
    naive: ScratchResult,
    problem: str | None,
    diff: float,
    tolerance: float,
    temperature: float,
) -> str:
    value = np.asarray(naive.value, dtype=np.float64)
    if problem is not None:
        return f"naive: {problem} → NaN"
    wide = scaled.astype(compute)
    with np.errstate(all="ignore"):
        e = np.exp(wide)
    overflow = np.isinf(e) & np.isfinite(wide)
    consequence = " → NaN" if np.isnan(value).any() else ""
    if overflow.any():
        at = int(np.argmax(np.where(overflow, wide, -np.inf)))
        if temperature == 1.0:
            where = f"at logit {_format_logit(z[at])} ("
        else:
            where = f"at z/T = {_format_logit(float(wide[at]))} (logit {_format_logit(z[at])}, "
        return f"naive: overflow {where}exp = inf){consequence}"
    if z.size and not (e > 0).any():
        return "naive: underflow, every exp(z) = 0 → 0 / 0 = NaN"
    if np.isnan(value).any():
        return "naive: NaN"
    if diff > tolerance:
        return f"naive: differs from torch by {diff:.1e}"
    return "naive: ok"


def _plain_verdict(
    name: str, value: np.ndarray, problem: str | None, diff: float, tolerance: float
) -> str:
    if problem is not None:
        return f"{name}: {problem} → NaN"
    if np.isnan(value).any():
        return f"{name}: NaN"
    if diff > tolerance:
        return f"{name}: differs from torch by {diff:.1e}"
    return f"{name}: ok"
