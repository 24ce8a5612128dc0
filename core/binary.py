"""Binary logits: one score z per sample, held as the two classes [0, z].

softmax([0, z] / T) = [1 − σ(z/T), σ(z/T)], and the cross-entropy of [0, z] with a label y in
{0, 1} is ``BCEWithLogitsLoss(z / T, y)``. :func:`binary_identity` gives both sides of that
identity for one sample, with torch's sigmoid and BCE as the independent side, for the Formula
tab. Tables that came as (N,) or (N, 1) scores carry ``Document.binary``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from softmax_lab.core.evaluation import Evaluation

__all__ = ["BinaryIdentity", "binary_identity", "binary_pairs"]


def binary_pairs(scores: np.ndarray) -> np.ndarray:
    """(N,) or (N, 1) scores z as the (N, 2) logits [0, z] (float32 or float64 kept)."""
    array = np.asarray(scores)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"binary scores must be (N,) or (N, 1), got shape {array.shape}")
    dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.float64
    pairs = np.zeros((array.shape[0], 2), dtype=dtype)
    pairs[:, 1] = array
    return pairs


@dataclass(frozen=True)
class BinaryIdentity:
    """One sample's σ identity: p_1 = softmax([z_0, z_1] / T)_1 = σ((z_1 − z_0) / T)."""

    index: int
    z: float
    """z_1 − z_0: the score itself for a table loaded as [0, z]."""
    temperature: float
    scaled: float
    """z / T."""
    sigmoid: float
    """σ(z / T) = 1 / (1 + e^(−z/T)), by ``torch.sigmoid`` in float64."""
    p_positive: float
    """p_1 as the evaluation's softmax gives it."""
    label: int | None
    """0 or 1; None when the row is ignored or has no label."""
    bce: float | None
    """``BCEWithLogitsLoss(z / T, y)`` in float64 when labelled (no smoothing, no weights)."""
    cross_entropy: float | None
    """The evaluation's loss of the row, for comparison (None when ignored)."""

    @property
    def agree(self) -> bool:
        """σ and softmax agree to the evaluation's precision (float16 is the loosest)."""
        return bool(np.isclose(self.sigmoid, self.p_positive, rtol=2e-3, atol=1e-6))


def binary_identity(ev: Evaluation, logits_row: np.ndarray, index: int) -> BinaryIdentity:
    """Both sides of the identity for sample ``index`` of a two-class evaluation."""
    if ev.n_classes != 2:
        raise ValueError(f"the sigmoid identity needs two classes, not {ev.n_classes}")
    row = np.asarray(logits_row, dtype=np.float64).reshape(-1)
    temperature = float(ev.options.temperature)
    z = float(row[1] - row[0]) if np.isfinite(row).all() else math.nan
    scaled = z / temperature
    x = torch.tensor([scaled], dtype=torch.float64)
    sigmoid = float(torch.sigmoid(x)[0])
    p = float(ev.probabilities_of([index])[0][1])
    valid = bool(ev.valid[index]) and ev.target_kind == "index"
    label = int(ev.targets[index]) if valid else None
    bce = None
    if label is not None and math.isfinite(scaled):
        y = torch.tensor([float(label)], dtype=torch.float64)
        bce = float(F.binary_cross_entropy_with_logits(x, y, reduction="none")[0])
    loss = float(ev.losses[index]) if valid else None
    return BinaryIdentity(int(index), z, temperature, scaled, sigmoid, p, label, bce, loss)
