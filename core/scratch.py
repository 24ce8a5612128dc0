"""Softmax and cross-entropy written from scratch in numpy, the way a first lesson writes them.

These are deliberately the textbook formulas, so the window can show where they break next to
torch: the naive softmax ``exp(z) / sum(exp(z))`` overflows past z ~ 88.7 in float32 and ~709.8 in
float64; subtracting the max first fixes that. Each function returns its value together with a
list of the places it overflowed, divided 0/0 or took log(0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ScratchResult:
    """A numpy result plus what went wrong computing it, in words a learner can read."""

    value: np.ndarray | float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _where(mask: np.ndarray) -> str:
    positions = [
        str(tuple(int(i) for i in p)) if len(p) > 1 else str(int(p[0]))
        for p in np.argwhere(mask)[:4]
    ]
    more = int(mask.sum()) - len(positions)
    return ", ".join(positions) + (f" and {more} more" if more > 0 else "")


def softmax_naive(z: np.ndarray) -> ScratchResult:
    """``exp(z) / sum(exp(z))`` over the last axis, exactly as first written — it overflows."""
    z = np.asarray(z, dtype=np.result_type(np.asarray(z).dtype, np.float32))
    problems: list[str] = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        total = np.sum(e, axis=-1, keepdims=True)
        p = e / total
    overflow = np.isinf(e) & np.isfinite(z)
    if overflow.any():
        problems.append(
            f"overflow: exp(z) = inf at index {_where(overflow)} "
            f"(z = {float(z[overflow].flat[0]):g})"
        )
    bad = np.isnan(p) & ~np.isnan(z)
    if bad.any():
        problems.append(f"NaN at index {_where(bad)} (inf / inf or 0 / 0)")
    if np.isnan(z).any():
        problems.append(f"NaN in the input at index {_where(np.isnan(z))}")
    return ScratchResult(p, problems)


def softmax_stable(z: np.ndarray) -> ScratchResult:
    """Softmax with the row maximum subtracted first: ``exp`` never sees a positive number."""
    z = np.asarray(z, dtype=np.result_type(np.asarray(z).dtype, np.float32))
    problems: list[str] = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        shifted = z - np.max(z, axis=-1, keepdims=True)
        e = np.exp(shifted)
        p = e / np.sum(e, axis=-1, keepdims=True)
    bad = np.isnan(p) & ~np.isnan(z)
    if bad.any():
        problems.append(f"NaN at index {_where(bad)} (a row of only -inf, or +inf)")
    if np.isnan(z).any():
        problems.append(f"NaN in the input at index {_where(np.isnan(z))}")
    return ScratchResult(p, problems)


def cross_entropy_onehot(actual: np.ndarray, predicted: np.ndarray) -> ScratchResult:
    """``-sum(actual * log(predicted))`` for a one-hot (or soft) target and probabilities."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape:
        raise ValueError(
            f"target shape {actual.shape} differs from prediction shape {predicted.shape}"
        )
    problems: list[str] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(predicted)
        terms = actual * log_p
        loss = -np.sum(terms, axis=-1)
    zero = (predicted == 0) & (actual != 0)
    if zero.any():
        problems.append(f"log(0) = -inf where the target is not 0, at index {_where(zero)}")
    if np.isnan(terms).any():
        problems.append(f"0 * log(0) = NaN at index {_where(np.isnan(terms))}")
    value = float(loss) if np.ndim(loss) == 0 else loss
    return ScratchResult(value, problems)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(N,) integer labels to an (N, C) one-hot float matrix."""
    labels = np.asarray(labels)
    out = np.zeros((*labels.shape, n_classes))
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def cross_entropy_recipe(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's way for a batch: naive softmax, ``-log p[y]``, ``argmax``.

    Returns per-sample losses and predictions. Used as the numpy peer in the benchmarks.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(logits)
        p = e / np.sum(e, axis=1, keepdims=True)
        losses = -np.log(p[np.arange(len(labels)), labels])
    return losses, np.argmax(logits, axis=1)
