"""The result of evaluating a table of logits: :class:`Evaluation` and the views derived from it.

An ``Evaluation`` holds the per-sample statistics of one pass over the table (losses, predictions,
confidences, flags) and the aggregates :func:`assemble` makes of them in O(N). Probabilities,
log-probabilities and the gradient are (N, C) by nature and are computed on first access; so are
the margin and the entropy, which cost a second pass over the table that only an export needs.
``with_rows`` and ``with_options`` redo only what an edit or an option change touches.

The pass itself, :func:`~core.evaluating.evaluate`, lives in :mod:`core.evaluating` (which imports
this module); ``from softmax_lab.core.evaluation import evaluate`` still works.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.kernels import margin_entropy, row_stats, scaled, smoothed_losses
from softmax_lab.core.settings import check_settings

if TYPE_CHECKING:
    from softmax_lab.core.evaluating import evaluate as evaluate


@dataclass(frozen=True)
class Options:
    """Everything besides the data that changes the numbers."""

    temperature: float = 1.0
    weight: np.ndarray | None = None
    ignore_index: int = IGNORE_INDEX
    reduction: str = "mean"
    label_smoothing: float = 0.0

    def same_as(self, other: Options) -> bool:
        """Whether ``other`` gives the same numbers (equal values, weights compared by value)."""
        a, b = self.weight, other.weight
        same_weight = (a is None and b is None) or (
            a is not None and b is not None and np.array_equal(a, b)
        )
        return same_weight and (
            self.temperature,
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
        ) == (other.temperature, other.ignore_index, other.reduction, other.label_smoothing)


def to_tensor(value: Any, what: str) -> torch.Tensor:
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
    """(N,) the largest probability of each row."""
    p_true: np.ndarray
    finite: np.ndarray
    """(N,) False for rows whose logits hold NaN, are all -inf, or whose loss is not finite."""
    has_prediction: np.ndarray
    """(N,) True for rows whose logits have a finite maximum (no NaN, not all -inf, no +inf):
    they have a prediction and a confidence, and count in every count-based view, even when
    their loss is +inf (p(true) = 0 because the true class's logit is -inf)."""
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
    _x_readonly: bool = field(default=False, repr=False)
    """``_x`` shares memory with an array the caller made read-only (a memory-mapped file)."""

    @property
    def n_samples(self) -> int:
        return int(self._x.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self._x.shape[1])

    @property
    def n_nonfinite(self) -> int:
        return int((~self.finite).sum())

    @property
    def n_valid(self) -> int:
        """Rows that count (not ignored)."""
        return int(self.valid.sum())

    @property
    def n_correct(self) -> int:
        return int(self.correct.sum())

    @property
    def loss_sum(self) -> float:
        """The per-sample losses summed as torch's ``reduction='sum'`` does: NaN or ∞ as soon as
        one counted row is (ignored rows hold 0)."""
        return float(self.losses.sum(dtype=np.float64))

    def target_weights_of(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """(R, C) float64: the weight the loss puts on each class's −log p for these rows, i.e.
        the (smoothed) one-hot or probability target times the class weights, 0 for ignored
        rows. A row's loss is ``−Σ_c a_c log p_c``."""
        idx = self._row_index(rows)
        like = torch.empty((len(idx), self.n_classes), dtype=torch.float64, device=self._x.device)
        with torch.inference_mode():
            return self._target_weights(idx, like).cpu().numpy()

    # --- per-sample results that need a second pass, on demand ---------------------------------

    @cached_property
    def margin(self) -> np.ndarray:
        """(N,) the largest probability minus the second largest (the largest for one class)."""
        margin, entropy = self._extra_stats(None)
        self.__dict__.setdefault("entropy", entropy)  # the same pass gave both
        return margin

    @cached_property
    def entropy(self) -> np.ndarray:
        """(N,) the entropy of each row's softmax in nats; a masked class contributes 0."""
        margin, entropy = self._extra_stats(None)
        self.__dict__.setdefault("margin", margin)
        return entropy

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
        if self._numpy_ok:
            return self._numpy_log_p(rows, exp=False)
        return self._blockwise(rows, lambda block, idx: self._log_p(block, idx))

    def probabilities_of(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        if self._numpy_ok:
            return self._numpy_log_p(rows, exp=True)
        return self._blockwise(rows, lambda block, idx: self._log_p(block, idx).exp_())

    def probabilities_at(
        self, rows: slice | Sequence[int] | np.ndarray, columns: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """softmax(z / T) of some classes of some rows, (R, K): the same numbers as
        ``probabilities_of(rows)[:, columns]`` without computing the other classes (a heatmap
        of 300 rows over a 128k vocabulary reads 300 x K logits, not 300 x 128k)."""
        index = self._rows_array(rows)
        cols = np.atleast_1d(np.asarray(columns, dtype=np.int64))
        if cols.size and (cols.min() < 0 or cols.max() >= self.n_classes):
            raise IndexError(f"columns must lie in 0..{self.n_classes - 1}")
        if not self._numpy_ok:
            with torch.inference_mode():
                idx = self._row_index(index)
                col = torch.as_tensor(cols, device=self._x.device)
                block = self._x.index_select(0, idx).index_select(1, col)
                block = scaled(block, self.options.temperature)
                return self._log_p(block, idx).exp_().cpu().numpy()
        mx, log_sum = self._max.numpy(), self._log_sum.numpy()
        z = self._x.numpy()[np.ix_(index, cols)]  # only these cells are read
        with np.errstate(all="ignore"):
            if self.options.temperature != 1.0:
                np.divide(z, self.options.temperature, out=z)
            z -= mx[index, None]
            z -= log_sum[index, None]
            return np.exp(z, out=z)

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

        if self._numpy_ok and self._labels is not None:
            return self._numpy_gradient(rows, scale)

        def block_gradient(block: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            p = self._log_p(block, idx).exp_()
            a = self._target_weights(idx, p)
            return (a.sum(1, keepdim=True) * p - a) * scale

        return self._blockwise(rows, block_gradient)

    def detached(self) -> Evaluation:
        """This evaluation with per-sample arrays of its own, for another thread to read (a
        Generate step extends it off the GUI thread): :meth:`with_rows` on this one patches
        its row maxima and log-sums in place, and those share memory with its arrays."""
        return replace(self, _arrays={key: value.copy() for key, value in self._arrays.items()})

    def with_rows(self, rows: Sequence[int] | np.ndarray, logits_rows: Any) -> Evaluation:
        """This evaluation with the logits of ``rows`` replaced: only those rows are recomputed.

        The per-sample statistics of the other rows are reused and the aggregates are redone in
        O(N), so editing one cell of a 50,000-row table costs about what it costs at 5 rows.
        The logits tensor is updated in place: this object must not be used afterwards.
        """
        index = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        new = to_tensor(logits_rows, "logits").reshape(len(index), self.n_classes)
        idx = torch.as_tensor(index, device=self._x.device)
        x = self._x
        if self._x_readonly:
            # The table is a read-only memory-mapped file (writing would crash): copy it once.
            x = x.clone()
        target = self._soft if self._soft is not None else self._labels
        assert target is not None  # one of the two is always set
        with torch.inference_mode():
            x.index_copy_(0, idx, new.to(device=x.device, dtype=x.dtype))
            stats = row_stats(
                x.index_select(0, idx),
                target.index_select(0, idx),
                self._soft is not None,
                self._weight,
                self.options,
                table_elements=self.n_samples * self.n_classes,
            )
            self._max.index_copy_(0, idx, torch.as_tensor(stats["max"], device=x.device))
            self._log_sum.index_copy_(0, idx, torch.as_tensor(stats["log_sum"], device=x.device))
        arrays = {k: v.copy() for k, v in self._arrays.items()}
        for key, value in stats.items():
            arrays[key][index] = value
        result = assemble(
            arrays,
            options=self.options,
            soft=self._soft is not None,
            denominator=self.denominator,
            device=self.device,
            fallback=self.device_fallback,
            dtype=self.dtype,
            x=x,
            t=target,
            w=self._weight,
            max_=self._max,
            log_sum=self._log_sum,
            block_rows=self._block_rows,
        )
        computed = [name for name in ("margin", "entropy") if name in self.__dict__]
        if computed:
            # Patch what was already computed; what was not stays on demand.
            extra = dict(zip(("margin", "entropy"), result._extra_stats(index), strict=True))
            for name in computed:
                patched = self.__dict__[name].copy()
                patched[index] = extra[name]
                result.__dict__[name] = patched
        return result

    def with_options(self, label_smoothing: float, reduction: str) -> Evaluation | None:
        """This evaluation at another label smoothing and reduction, in O(N) without a pass over
        the table, when that gives exactly what :func:`evaluate` would (else None): hard labels
        evaluated on the CPU, smoothing on before and after (its per-row terms were kept). The
        reduction alone changes only the reduced loss. Checked as ``evaluate`` checks them."""
        checked = check_settings({"label_smoothing": label_smoothing, "reduction": reduction})
        eps, reduction = checked["label_smoothing"], checked["reduction"]
        arrays = self._arrays
        if eps != self.options.label_smoothing:
            if self._soft is not None or not eps or "smooth" not in arrays:
                return None
            arrays = dict(arrays)
            arrays["losses"] = smoothed_losses(
                arrays["nll"],
                arrays["smooth"],
                arrays["targets"] != self.options.ignore_index,
                eps,
                self.n_classes,
                arrays["losses"].dtype,
            )
        elif reduction == self.options.reduction:
            return self
        target = self._soft if self._soft is not None else self._labels
        assert target is not None  # one of the two is always set
        return assemble(
            arrays,
            options=replace(self.options, label_smoothing=eps, reduction=reduction),
            soft=self._soft is not None,
            denominator=self.denominator,
            device=self.device,
            fallback=self.device_fallback,
            dtype=self.dtype,
            x=self._x,
            t=target,
            w=self._weight,
            max_=self._max,
            log_sum=self._log_sum,
            block_rows=self._block_rows,
            readonly=self._x_readonly,
        )

    # --- internals ------------------------------------------------------------------------------

    @property
    def _numpy_ok(self) -> bool:
        """Whether the (N, C) results can be computed by numpy straight from the stored table."""
        return self._x.device.type == "cpu" and self._x.dtype in (torch.float32, torch.float64)

    def _rows_array(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        """``np.arange(N)[rows]`` as a 1-D array, without building the arange for a few rows
        (the table asks for one row per visible cell)."""
        n = self.n_samples
        if isinstance(rows, slice):
            return np.arange(*rows.indices(n))
        index = np.atleast_1d(np.asarray(rows))
        if index.dtype.kind not in "iu" or index.ndim != 1:
            return np.atleast_1d(np.arange(n)[rows])  # masks and other index forms
        index = index.astype(np.int64, copy=False)
        if index.size and (index.min() < -n or index.max() >= n):
            bad = index[(index < -n) | (index >= n)][0]
            raise IndexError(f"index {bad} is out of bounds for axis 0 with size {n}")
        return np.where(index < 0, index + n, index)

    def _row_index(self, rows: slice | Sequence[int] | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(self._rows_array(rows), device=self._x.device)

    def _blockwise(self, rows, compute) -> np.ndarray:
        index = self._row_index(rows)
        out_dtype = np.float64 if self._x.dtype == torch.float64 else np.float32
        out = np.empty((len(index), self.n_classes), dtype=out_dtype)
        with torch.inference_mode():
            for start in range(0, len(index), self._block_rows):
                idx = index[start : start + self._block_rows]
                block = scaled(self._x.index_select(0, idx), self.options.temperature)
                out[start : start + len(idx)] = compute(block, idx).cpu().numpy()
        return out

    def _numpy_log_p(self, rows: slice | Sequence[int] | np.ndarray, *, exp: bool) -> np.ndarray:
        """``(z / T - max) - log_sum`` (and its exp) written straight into the result array."""
        x = self._x.numpy()
        index = self._rows_array(rows)
        out = np.empty((len(index), self.n_classes), dtype=x.dtype)
        mx, log_sum = self._max.numpy(), self._log_sum.numpy()
        temperature = self.options.temperature
        with np.errstate(all="ignore"):
            for start in range(0, len(index), self._block_rows):
                idx = index[start : start + self._block_rows]
                o = out[start : start + len(idx)]
                np.take(x, idx, axis=0, out=o)
                if temperature != 1.0:
                    np.divide(o, temperature, out=o)
                np.subtract(o, mx[idx, None], out=o)
                np.subtract(o, log_sum[idx, None], out=o)
                if exp:
                    np.exp(o, out=o)
        return out

    def _numpy_gradient(self, rows: slice | Sequence[int] | np.ndarray, scale: float) -> np.ndarray:
        """The gradient for class-index targets on the CPU, in numpy: ``sum(a) p − a`` with the
        (smoothed, weighted) one-hot ``a`` applied as a constant and one entry per row, never
        built. Torch's per-op thread hand-offs cost ~20 ms per op on a busy two-core machine,
        which made one 128k-class row take 160 ms; this takes ~1 ms."""
        assert self._labels is not None
        out = self._numpy_log_p(rows, exp=True)
        index = self._rows_array(rows)
        labels = self._labels.cpu().numpy()[index]
        valid = labels != self.options.ignore_index
        safe = np.where(valid, labels, 0)
        eps, c = float(self.options.label_smoothing), self.n_classes
        w = None if self._weight is None else self._weight.cpu().numpy().astype(np.float64)
        w_y = np.ones(len(index)) if w is None else w[safe]
        total_w = float(c) if w is None else float(w.sum())
        sum_a = np.where(valid, (1 - eps) * w_y + eps / c * total_w, 0.0)
        with np.errstate(all="ignore"):
            out *= (sum_a * scale).astype(out.dtype)[:, None]
            if eps:
                spread = (eps / c * scale * (np.ones(c) if w is None else w)).astype(out.dtype)
                if valid.all():
                    out -= spread
                else:
                    out[valid] -= spread
            hit = np.flatnonzero(valid)
            out[hit, safe[hit]] -= ((1 - eps) * scale * w_y[hit]).astype(out.dtype)
        return out

    def _extra_stats(self, index: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(margin, entropy) of all rows (``index`` None) or of some rows, in one pass."""
        rows = np.arange(self.n_samples) if index is None else index
        dtype = np.float64 if self._x.dtype == torch.float64 else np.float32
        margin = np.empty(len(rows), dtype=dtype)
        entropy = np.empty(len(rows), dtype=dtype)
        mx, log_sum = self._max.cpu().numpy(), self._log_sum.cpu().numpy()
        with torch.inference_mode(), np.errstate(all="ignore"):
            for start in range(0, len(rows), self._block_rows):
                idx = rows[start : start + self._block_rows]
                block = (
                    self._x[start : start + len(idx)]
                    if index is None
                    else (self._x.index_select(0, torch.as_tensor(idx, device=self._x.device)))
                )
                z = scaled(block, self.options.temperature).cpu().numpy()
                m, e = margin_entropy(z, mx[idx], log_sum[idx], self.confidence[idx])
                margin[start : start + len(idx)] = m
                entropy[start : start + len(idx)] = e
        return margin, entropy

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
            assert self._labels is not None
            labels = self._labels[idx]
            valid = labels != self.options.ignore_index
            a = torch.full_like(like, eps / n_classes)
            a.scatter_(1, torch.where(valid, labels, 0)[:, None], 1 - eps + eps / n_classes)
            a *= valid[:, None]
        if self._weight is not None:
            a = a * self._weight.to(like.dtype)
        return a


def assemble(
    arrays: dict[str, np.ndarray],
    *,
    options: Options,
    soft: bool,
    denominator: float,
    device: str,
    fallback: str | None,
    dtype: str,
    x: torch.Tensor,
    t: torch.Tensor,
    w: torch.Tensor | None,
    max_: torch.Tensor,
    log_sum: torch.Tensor,
    block_rows: int,
    readonly: bool = False,
) -> Evaluation:
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
        p_true=arrays["p_true"],
        finite=finite,
        has_prediction=row_ok,
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
        _x_readonly=readonly,
    )


def __getattr__(name: str) -> Any:
    """``evaluate`` from its home, :mod:`core.evaluating`, on first use: that module imports this
    one, so importing it here at import time would be a cycle."""
    if name == "evaluate":
        from softmax_lab.core.evaluating import evaluate

        return evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
