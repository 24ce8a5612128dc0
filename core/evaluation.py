"""Softmax, cross-entropy and predictions for a table of logits, with torch's exact semantics.

``evaluate`` is ``torch.nn.functional.cross_entropy(logits / T, target, ...)`` plus every
per-sample statistic the views need, computed in one fused pass over row blocks so that a
50,000 x 1,000 table never materialises a full (N, C) temporary. Probabilities, log-probabilities
and the gradient are (N, C) by nature and are computed on first access.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch

from core.devices import dtype_name, resolve_device, resolve_dtype

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")

# Elements per row block on the CPU: a few MB, so each block's temporaries stay in cache.
CPU_BLOCK_ELEMENTS = 1 << 20
# On accelerators a launch costs more than memory traffic: use as few blocks as memory allows.
ACCELERATOR_BLOCK_ELEMENTS = 1 << 27


@dataclass(frozen=True)
class Options:
    """Everything besides the data that changes the numbers."""

    temperature: float = 1.0
    weight: np.ndarray | None = None
    ignore_index: int = -100
    reduction: str = "mean"
    label_smoothing: float = 0.0


def _to_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what} must be a rectangular array of numbers ({exc})") from exc
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numbers, not {array.dtype}")
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    with warnings.catch_warnings():
        # A read-only memmap is fine: nothing here writes into the caller's array.
        warnings.simplefilter("ignore", UserWarning)
        return torch.as_tensor(array)


def _check_scalar(name: str, value: float, *, low: float, high: float, low_open: bool) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, not {value!r}") from exc
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return value


@dataclass(eq=False)
class Evaluation:
    """The result of :func:`evaluate`. Arrays are numpy; (N, C) arrays are computed on access."""

    losses: np.ndarray
    """(N,) per-sample loss (torch's ``reduction='none'``); 0 for ignored rows."""
    loss: float | np.ndarray
    """The reduced loss: a float for mean/sum, the (N,) losses for none."""
    predictions: np.ndarray
    """(N,) argmax class of each row."""
    targets: np.ndarray
    """(N,) target class: the label, or the argmax of a probability target; ignore_index kept."""
    valid: np.ndarray
    """(N,) False for rows whose label is ignore_index."""
    correct: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    entropy: np.ndarray
    p_true: np.ndarray
    finite: np.ndarray
    """(N,) False for rows whose logits hold NaN, are all -inf, or whose loss is not finite."""
    accuracy: float
    device: str
    device_fallback: str | None
    dtype: str
    target_kind: str
    """``"index"`` or ``"probability"``."""
    options: Options
    denominator: float
    """What the summed losses are divided by for ``mean`` (sum of target weights, or N)."""
    _arrays: dict[str, np.ndarray] = field(repr=False)
    _x: torch.Tensor = field(repr=False)
    _soft: torch.Tensor | None = field(repr=False)
    _labels: torch.Tensor | None = field(repr=False)
    _weight: torch.Tensor | None = field(repr=False)
    _max: torch.Tensor = field(repr=False)
    _log_sum: torch.Tensor = field(repr=False)
    _block_rows: int = field(repr=False)

    @property
    def n_samples(self) -> int:
        return int(self._x.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self._x.shape[1])

    @property
    def n_nonfinite(self) -> int:
        return int((~self.finite).sum())

    # --- (N, C) results, on demand -------------------------------------------------------------

    @cached_property
    def log_probabilities(self) -> np.ndarray:
        return self.log_probabilities_of(slice(None))

    @cached_property
    def probabilities(self) -> np.ndarray:
        return self.probabilities_of(slice(None))

    @cached_property
    def gradient(self) -> np.ndarray:
        return self.gradient_of(slice(None))

    def log_probabilities_of(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """log softmax(z / T) for some rows only: the selected sample needs no full table."""
        return self._blockwise(rows, lambda block, idx: self._log_p(block, idx))

    def probabilities_of(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        return self._blockwise(rows, lambda block, idx: self._log_p(block, idx).exp_())

    def gradient_of(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """d(loss)/d(raw logits) for some rows: (sum(a) p - a) / T, scaled for the reduction.

        ``a`` is the per-class weight the loss puts on each log-probability: the (smoothed)
        one-hot or probability target times the class weights. This closed form is what autograd
        gives for torch's cross_entropy, without building a graph.
        """
        scale = 1.0 / self.options.temperature
        if self.options.reduction == "mean":
            # As torch: with no row left to average, nothing moves; rows of zero weight give 0/0.
            if self.denominator:
                scale /= self.denominator
            else:
                scale = math.nan if self.valid.any() else 0.0

        def block_gradient(block: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            p = self._log_p(block, idx).exp_()
            a = self._target_weights(idx, p)
            return (a.sum(1, keepdim=True) * p - a) * scale

        return self._blockwise(rows, block_gradient)

    def with_rows(self, rows: Sequence[int] | np.ndarray, logits_rows: Any) -> Evaluation:
        """This evaluation with the logits of ``rows`` replaced: only those rows are recomputed.

        The per-sample statistics of the other rows are reused and the aggregates are redone in
        O(N), so editing one cell of a 50,000-row table costs about what it costs at 5 rows.
        The logits tensor is updated in place: this object must not be used afterwards.
        """
        index = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        new = _to_tensor(logits_rows, "logits").reshape(len(index), self.n_classes)
        idx = torch.as_tensor(index, device=self._x.device)
        with torch.inference_mode():
            self._x.index_copy_(0, idx, new.to(device=self._x.device, dtype=self._x.dtype))
            target = self._soft if self._soft is not None else self._labels
            stats = _block_stats(_work(self._x.index_select(0, idx), self.options.temperature),
                                 target.index_select(0, idx), self._soft is not None,
                                 self._weight, self.options)
            self._max.index_copy_(0, idx, stats["max"])
            self._log_sum.index_copy_(0, idx, stats["log_sum"])
        arrays = {k: v.copy() for k, v in self._arrays.items()}
        for key, value in stats.items():
            arrays[key][index] = value.cpu().numpy()
        return _assemble(
            arrays, options=self.options, soft=self._soft is not None,
            denominator=self.denominator, device=self.device, fallback=self.device_fallback,
            dtype=self.dtype, x=self._x, t=target, w=self._weight, max_=self._max,
            log_sum=self._log_sum, block_rows=self._block_rows,
        )

    # --- internals ------------------------------------------------------------------------------

    def _row_index(self, rows: slice | Sequence[int] | np.ndarray) -> torch.Tensor:
        index = np.arange(self.n_samples)[rows]
        return torch.as_tensor(np.atleast_1d(index), device=self._x.device)

    def _blockwise(self, rows, compute) -> np.ndarray:
        index = self._row_index(rows)
        out_dtype = np.float64 if self._x.dtype == torch.float64 else np.float32
        out = np.empty((len(index), self.n_classes), dtype=out_dtype)
        with torch.inference_mode():
            for start in range(0, len(index), self._block_rows):
                idx = index[start : start + self._block_rows]
                block = _work(self._x.index_select(0, idx), self.options.temperature)
                out[start : start + len(idx)] = compute(block, idx).cpu().numpy()
        return out

    def _log_p(self, block: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return (block - self._max[idx, None]) - self._log_sum[idx, None]

    def _target_weights(self, idx: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        eps = self.options.label_smoothing
        n_classes = like.shape[1]
        if self._soft is not None:
            a = self._soft[idx].to(like.dtype)
            if eps:
                a = a * (1 - eps) + eps / n_classes
        else:
            labels = self._labels[idx]
            valid = labels != self.options.ignore_index
            a = torch.full_like(like, eps / n_classes)
            a.scatter_(1, torch.where(valid, labels, 0)[:, None], 1 - eps + eps / n_classes)
            a *= valid[:, None]
        if self._weight is not None:
            a = a * self._weight.to(like.dtype)
        return a


def _work(block: torch.Tensor, temperature: float) -> torch.Tensor:
    """``block / T`` in the chosen dtype (as torch's oracle divides), then in the compute dtype.

    float16 and bfloat16 inputs are divided in their own precision, then widened to float32 for
    the exp-sum, as torch's own softmax kernels accumulate half types in float32.
    """
    if temperature != 1.0:
        block = block / temperature
    if block.dtype in (torch.float16, torch.bfloat16):
        block = block.float()
    return block


def evaluate(
    logits: Any,
    target: Any,
    *,
    temperature: float = 1.0,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
) -> Evaluation:
    """Evaluate ``cross_entropy(logits / temperature, target, ...)`` and per-sample statistics.

    ``target`` is (N,) class indices (rows equal to ``ignore_index`` are excluded) or (N, C)
    class probabilities. Non-finite logits are data: ``-inf`` masks a class; a row with NaN or
    only ``-inf`` gets NaN results and ``finite[i] == False``. Bad arguments raise ``ValueError``.
    """
    torch_dtype = resolve_dtype(dtype)
    resolved = resolve_device(device)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    temperature = _check_scalar("temperature", temperature, low=0, high=math.inf, low_open=True)
    label_smoothing = _check_scalar("label_smoothing", label_smoothing, low=0, high=1,
                                    low_open=False)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
    ignore_index = int(ignore_index)

    x = _to_tensor(logits, "logits")
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples x classes), got shape {tuple(x.shape)}")
    n, c = x.shape
    if n == 0 or c == 0:
        raise ValueError(f"logits table is empty (shape {n} x {c})")

    t = _to_tensor(target, "target")
    if t.ndim == 0:
        t = t[None]
    soft = t.ndim == 2
    if soft:
        if tuple(t.shape) != (n, c):
            raise ValueError(f"probability targets must have the logits' shape {(n, c)}, "
                             f"got {tuple(t.shape)}")
        t = t.to(torch.float64 if torch_dtype == torch.float64 else torch.float32)
        if not bool(torch.isfinite(t).all()):
            raise ValueError("probability targets must be finite")
        if bool((t < 0).any()):
            row = int(torch.nonzero((t < 0).any(1))[0])
            raise ValueError(f"probability targets must be >= 0 (row {row} has a negative entry)")
    elif t.ndim == 1:
        if t.shape[0] != n:
            raise ValueError(f"got {t.shape[0]} labels for {n} samples")
        if t.is_floating_point() and not bool((torch.isfinite(t) & (t == t.round())).all()):
            raise ValueError("class labels must be whole numbers")
        t = t.to(torch.int64)
        bad = ((t < 0) | (t >= c)) & (t != ignore_index)
        if bool(bad.any()):
            row = int(torch.nonzero(bad)[0])
            raise ValueError(f"label {int(t[row])} at row {row} is out of range: classes are "
                             f"0..{c - 1} (or {ignore_index} to ignore the row)")
    else:
        raise ValueError(f"target must be (N,) labels or (N, C) probabilities, "
                         f"got shape {tuple(t.shape)}")

    w = None
    if weight is not None:
        w = _to_tensor(weight, "weight").to(torch.float64).flatten()
        if w.shape[0] != c:
            raise ValueError(f"weight needs one value per class ({c}), got {w.shape[0]}")
        if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
            raise ValueError("class weights must be finite and >= 0")

    options = Options(
        temperature=temperature,
        weight=None if w is None else w.numpy().copy(),
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    try:
        return _run(x, t, soft, w, options, torch_dtype, resolved.device, resolved.fallback)
    except torch.OutOfMemoryError as exc:
        if resolved.device.type == "cpu":
            raise
        reason = f"{resolved.device}: out of device memory ({exc.__class__.__name__}); used cpu"
        return _run(x, t, soft, w, options, torch_dtype, torch.device("cpu"), reason)


STAT_FIELDS = ("losses", "max", "log_sum", "confidence", "margin", "entropy", "p_true")


def _block_stats(
    z: torch.Tensor,
    target: torch.Tensor,
    soft: bool,
    w: torch.Tensor | None,
    options: Options,
) -> dict[str, torch.Tensor]:
    """Every per-sample statistic of one block of rows of ``z = logits / T`` in one pass."""
    c = z.shape[1]
    eps = options.label_smoothing
    mx, am = z.max(1)
    shifted = z - mx[:, None]
    ex = shifted.exp()
    total = ex.sum(1)
    log_sum = total.log()
    # 0 * -inf is NaN; a masked class contributes nothing to the entropy.
    plogp = torch.where(ex > 0, ex * shifted, 0.0).sum(1) / total
    if c > 1:
        p2 = torch.exp((z.topk(2, dim=1).values[:, 1] - mx) - log_sum)
    else:
        p2 = torch.zeros_like(mx)
    conf = torch.exp(-log_sum)  # exp((max - max) - log_sum)

    if soft:
        tb = target.to(z.dtype)
        if eps:
            tb = tb * (1 - eps) + eps / c
        a = tb if w is None else tb * w
        logp = shifted - log_sum[:, None]
        losses = -(logp * a).sum(1)
        labels = target.argmax(1)
        p_true = torch.exp(logp.gather(1, labels[:, None])[:, 0])
    else:
        labels = target
        valid = labels != options.ignore_index
        safe = torch.where(valid, labels, 0)
        logp_y = (z.gather(1, safe[:, None])[:, 0] - mx) - log_sum
        w_y = torch.ones_like(logp_y) if w is None else w[safe]
        losses = -w_y * logp_y
        if eps:
            logp = shifted - log_sum[:, None]
            smooth = -(logp.sum(1) if w is None else (logp * w).sum(1))
            losses = (1 - eps) * losses + (eps / c) * smooth
        losses = torch.where(valid, losses, 0.0)
        p_true = torch.where(valid, logp_y.exp(), torch.nan)
    return {
        "losses": losses,
        "max": mx,
        "log_sum": log_sum,
        "confidence": conf,
        "margin": conf - p2,
        "entropy": log_sum - plogp,
        "p_true": p_true,
        "predictions": am,
        "targets": labels,
    }


def _run(
    x: torch.Tensor,
    t: torch.Tensor,
    soft: bool,
    w64: torch.Tensor | None,
    options: Options,
    dtype: torch.dtype,
    device: torch.device,
    fallback: str | None,
) -> Evaluation:
    n, c = x.shape
    x = x.to(device=device, dtype=dtype)
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    t = t.to(device)
    w = None if w64 is None else w64.to(device=device, dtype=compute)
    budget = CPU_BLOCK_ELEMENTS if device.type == "cpu" else ACCELERATOR_BLOCK_ELEMENTS
    block_rows = max(1, budget // c)

    out = {k: torch.empty(n, dtype=compute, device=device) for k in STAT_FIELDS}
    out["predictions"] = torch.empty(n, dtype=torch.int64, device=device)
    out["targets"] = torch.empty(n, dtype=torch.int64, device=device)
    with torch.inference_mode():
        for s in range(0, n, block_rows):
            e = min(n, s + block_rows)
            stats = _block_stats(_work(x[s:e], options.temperature), t[s:e], soft, w, options)
            for key, value in stats.items():
                out[key][s:e] = value
        if soft:
            denominator = float(n)
        else:
            valid = out["targets"] != options.ignore_index
            if w is None:
                denominator = float(valid.sum())
            else:
                denominator = float(w[torch.where(valid, out["targets"], 0)][valid].sum())

    arrays = {k: v.cpu().numpy() for k, v in out.items()}
    return _assemble(
        arrays,
        options=options,
        soft=soft,
        denominator=denominator,
        device=str(device),
        fallback=fallback,
        dtype=dtype_name(dtype),
        x=x,
        t=t,
        w=w,
        max_=out["max"],
        log_sum=out["log_sum"],
        block_rows=block_rows,
    )


def _assemble(arrays: dict[str, np.ndarray], *, options: Options, soft: bool,
              denominator: float, device: str, fallback: str | None, dtype: str,
              x: torch.Tensor, t: torch.Tensor, w: torch.Tensor | None, max_: torch.Tensor,
              log_sum: torch.Tensor, block_rows: int) -> Evaluation:
    """The aggregates (reduced loss, accuracy, flags) from per-sample arrays; O(N), no (N, C)."""
    losses = arrays["losses"]
    targets = arrays["targets"]
    valid = np.ones(len(losses), dtype=bool) if soft else targets != options.ignore_index
    row_ok = np.isfinite(arrays["log_sum"]) & np.isfinite(arrays["max"])
    finite = row_ok & np.isfinite(losses)
    correct = (arrays["predictions"] == targets) & valid & row_ok
    n_valid = int(valid.sum())
    # Summed in float64 whatever the dtype: one rounding, and the same for a full or patched table.
    total = float(losses.sum(dtype=np.float64))
    if options.reduction == "mean":
        loss: float | np.ndarray = total / denominator if denominator else math.nan
    elif options.reduction == "sum":
        loss = total
    else:
        loss = losses
    return Evaluation(
        losses=losses,
        loss=loss,
        predictions=arrays["predictions"],
        targets=targets,
        valid=valid,
        correct=correct,
        confidence=arrays["confidence"],
        margin=arrays["margin"],
        entropy=arrays["entropy"],
        p_true=arrays["p_true"],
        finite=finite,
        accuracy=float(correct.sum() / n_valid) if n_valid else math.nan,
        device=device,
        device_fallback=fallback,
        dtype=dtype,
        target_kind="probability" if soft else "index",
        options=options,
        denominator=denominator,
        _arrays=arrays,
        _x=x,
        _soft=t if soft else None,
        _labels=None if soft else t,
        _weight=w,
        _max=max_,
        _log_sum=log_sum,
        _block_rows=block_rows,
    )
