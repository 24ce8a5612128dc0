"""Top-k / top-p (nucleus) truncation of one sample's distribution, as text generators do it.

Order as in Hugging Face's generation warpers: temperature (already in the probabilities),
then top-k, then top-p on the renormalised top-k distribution. At least one class is always kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Truncation:
    """The ``shown`` most probable classes, which survive, and their renormalised probabilities."""

    order: np.ndarray
    """Class indices of the shown classes, most probable first."""
    probabilities: np.ndarray
    """Their probabilities before truncation."""
    kept: np.ndarray
    """Which of them survive top-k and top-p."""
    renormalized: np.ndarray
    """Their probabilities after truncation (0 for dropped classes); sums to 1 over all kept."""
    n_classes: int
    n_kept: int
    kept_mass: float
    """Probability mass of the kept classes before renormalising."""
    top_k: int | None
    top_p: float | None


def truncate(
    probabilities: np.ndarray, top_k: int | None = None, top_p: float | None = None, shown: int = 30
) -> Truncation:
    """Apply top-k then top-p to one probability row (C,); non-finite rows keep nothing."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    c = p.shape[0]
    if c == 0:
        raise ValueError("no classes")
    if top_k is not None and top_k < 1:
        raise ValueError("top-k must be at least 1 (or None for no top-k)")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError("top-p must be in (0, 1] (or None for no top-p)")
    if not np.isfinite(p).all():
        order = np.arange(min(c, shown))
        empty = np.zeros(len(order))
        return Truncation(
            order, p[order], np.zeros(len(order), bool), empty, c, 0, 0.0, top_k, top_p
        )
    ranked = np.argsort(-p, kind="stable")
    sorted_p = p[ranked]
    keep = sorted_p > 0  # a class of probability 0 (a −∞ logit, an unreported token) is never drawn
    if top_k is not None and top_k < c:
        # As Hugging Face's TopKLogitsWarper: classes tied with the k-th one stay too.
        keep &= sorted_p >= sorted_p[top_k - 1]
    if top_p is not None and top_p < 1:
        mass = sorted_p * keep
        total = mass.sum()
        cumulative = np.cumsum(mass / total) if total > 0 else np.zeros(c)
        # Keep classes up to and including the one whose cumulative mass reaches top_p.
        cutoff = int(np.searchsorted(cumulative, top_p - 1e-12)) + 1
        keep[cutoff:] = False
    keep[0] = True
    kept_mass = float(sorted_p[keep].sum())
    renormalized = np.where(keep, sorted_p / kept_mass if kept_mass > 0 else 0.0, 0.0)
    n = min(c, shown)
    return Truncation(
        ranked[:n],
        sorted_p[:n],
        keep[:n],
        renormalized[:n],
        c,
        int(keep.sum()),
        kept_mass,
        top_k,
        top_p,
    )
