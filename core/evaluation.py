"""Softmax, cross-entropy and predictions for a table of logits, with torch's exact semantics.

``evaluate`` is ``torch.nn.functional.cross_entropy(logits / T, target, ...)`` plus every
per-sample statistic the views need, computed over row blocks so that a 50,000 x 1,000 table never
materialises a full (N, C) temporary. Probabilities, log-probabilities and the gradient are (N, C)
by nature and are computed on first access; so are the margin and the entropy, which cost a second
pass over the table that only an export needs.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch

from core import constants
from core.constants import IGNORE_INDEX, REDUCTIONS
from core.devices import dtype_name, resolve_device, resolve_dtype

Reduction = Literal["mean", "sum", "none"]

# Tables of at least this many blocks are split over torch.get_num_threads() worker threads.
# The CPU kernels are numpy, which releases the GIL and never starts threads of its own: torch's
# intra-op threads wait for each other after every op, which costs milliseconds per block on a
# busy machine.
CPU_PARALLEL_MIN_BLOCKS = 8
# Float32 tables up to this many elements (what a learner types, the presets) are exponentiated
# in float64 and rounded once, which costs nothing at that size: their losses are then the
# correctly rounded float32 values. Larger tables get float32 exps, as torch computes them.
EXACT_ELEMENTS = 1 << 16


@dataclass(frozen=True)
class Options:
    """Everything besides the data that changes the numbers."""

    temperature: float = 1.0
    weight: np.ndarray | None = None
    ignore_index: int = IGNORE_INDEX
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


def _host(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array to check, without copying a CPU tensor.

    O(N) checks run in numpy: a torch op over 50,000 labels is split over torch's threads, and
    on a busy machine waiting for the second thread costs milliseconds per op.
    """
    tensor = tensor.detach().cpu()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.double()
    return tensor.numpy()


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
    """(N,) the largest probability of each row."""
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
        x = self._x
        if self._x_readonly:
            # The table is a read-only memory-mapped file (writing would crash): copy it once.
            x = x.clone()
        target = self._soft if self._soft is not None else self._labels
        assert target is not None  # one of the two is always set
        with torch.inference_mode():
            x.index_copy_(0, idx, new.to(device=x.device, dtype=x.dtype))
            stats = _stats(
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
        result = _assemble(
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
                block = _work(self._x.index_select(0, idx), self.options.temperature)
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
                z = _work(block, self.options.temperature).cpu().numpy()
                m, e = _margin_entropy(z, mx[idx], log_sum[idx], self.confidence[idx])
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


def _margin_entropy(
    z: np.ndarray, mx: np.ndarray, log_sum: np.ndarray, confidence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Margin and entropy of the rows of ``z = logits / T`` given their max, log-sum-exp and
    largest probability."""
    c = z.shape[1]
    shifted = z - mx[:, None]
    ex = np.exp(shifted)
    total = ex.sum(1)
    # 0 * -inf is NaN; a masked class contributes nothing to the entropy.
    plogp = np.where(ex > 0, ex * shifted, 0).sum(1) / total
    if c > 1:
        # The second largest logit, a tie with the largest included (topk(2) semantics).
        rest = z.copy()
        np.put_along_axis(rest, z.argmax(1)[:, None], -np.inf, axis=1)
        second = np.exp(((rest.max(1) - mx) - log_sum).astype(np.float64)).astype(z.dtype)
    else:
        second = np.zeros_like(mx)
    return confidence - second, log_sum - plogp


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
    ignore_index: int = IGNORE_INDEX,
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
    label_smoothing = _check_scalar(
        "label_smoothing", label_smoothing, low=0, high=1, low_open=False
    )
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
            raise ValueError(
                f"probability targets must have the logits' shape {(n, c)}, got {tuple(t.shape)}"
            )
        t = t.to(torch.float64 if torch_dtype == torch.float64 else torch.float32)
        probabilities = _host(t)
        if not np.isfinite(probabilities).all():
            raise ValueError("probability targets must be finite")
        negative = (probabilities < 0).any(1)
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise ValueError(f"probability targets must be >= 0 (row {row} has a negative entry)")
    elif t.ndim == 1:
        if t.shape[0] != n:
            raise ValueError(f"got {t.shape[0]} labels for {n} samples")
        if t.is_floating_point():
            values = _host(t)
            if not (np.isfinite(values) & (values == np.round(values))).all():
                raise ValueError("class labels must be whole numbers")
        t = t.to(torch.int64)
        labels = _host(t)
        bad = ((labels < 0) | (labels >= c)) & (labels != ignore_index)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"label {int(labels[row])} at row {row} is out of range: classes "
                f"are 0..{c - 1} (or {ignore_index} to ignore the row)"
            )
    else:
        raise ValueError(
            f"target must be (N,) labels or (N, C) probabilities, got shape {tuple(t.shape)}"
        )

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
    readonly = isinstance(logits, np.ndarray) and not logits.flags.writeable
    try:
        return _run(
            x, t, soft, w, options, torch_dtype, resolved.device, resolved.fallback, readonly
        )
    except torch.OutOfMemoryError as exc:
        if resolved.device.type == "cpu":
            raise
        reason = f"{resolved.device}: out of device memory ({exc.__class__.__name__}); used cpu"
        return _run(x, t, soft, w, options, torch_dtype, torch.device("cpu"), reason, readonly)


STAT_FIELDS = ("losses", "max", "log_sum", "confidence", "p_true")
"""The per-sample statistics computed eagerly, besides ``predictions`` and ``targets``."""

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _map_parallel(work: Callable[[list[int]], None], starts: list[int]) -> None:
    """Run ``work`` on interleaved shares of ``starts``, on as many threads as torch uses."""
    global _pool, _pool_size
    workers = min(torch.get_num_threads(), len(starts) // CPU_PARALLEL_MIN_BLOCKS)
    if workers <= 1:
        work(starts)
        return
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaluate")
            _pool_size = workers
        pool = _pool
    list(pool.map(work, [starts[i::workers] for i in range(workers)]))


def _cpu_stats(
    x: torch.Tensor,
    target: torch.Tensor,
    soft: bool,
    w: torch.Tensor | None,
    options: Options,
    block_rows: int,
    exact: bool = False,
) -> dict[str, np.ndarray]:
    """Every eager per-sample statistic of the rows of ``x`` (raw logits, on the CPU).

    Each row block is read from memory once; the passes over it (argmax, which gives the max;
    exp into a scratch block; row sums) find it in cache. What is per row (N values, not N x C)
    is kept in float64 and done once for the whole table after the loop, then rounded once.
    ``exact`` also takes the exps of a float32 table in float64.
    """
    n, c = x.shape
    temperature = options.temperature
    eps = options.label_smoothing
    native = x.dtype in (torch.float32, torch.float64)
    dtype = np.float64 if x.dtype == torch.float64 else np.float32
    work_dtype = np.float64 if exact else dtype
    # Any: numpy's stubs cannot follow dtypes chosen at run time through these buffers.
    xn: Any = x.numpy() if native else None
    tn: Any = target.numpy()
    wn: Any = None if w is None else w.numpy().astype(work_dtype)
    keep_shifted = soft or bool(eps)

    f64 = np.float64
    mx = np.empty(n, dtype=f64)
    log_sum = np.empty(n, dtype=f64)
    predictions = np.empty(n, dtype=np.int64)
    if soft:
        losses: Any = np.empty(n, dtype=f64)
        logp_true = np.empty(n, dtype=f64)
        labels = np.empty(n, dtype=np.int64)
    else:
        labels = tn
        valid = labels != options.ignore_index
        safe = np.where(valid, labels, 0)
        z_y = np.empty(n, dtype=f64)
        smooth: Any = np.empty(n, dtype=f64) if eps else None

    def work(starts: list[int]) -> None:
        with np.errstate(all="ignore"):  # per thread: worker threads do not inherit it
            work_blocks(starts)

    def work_blocks(starts: list[int]) -> None:
        rows = min(block_rows, n)
        shifted_buf = np.empty((rows, c), dtype=work_dtype)
        exp_buf = np.empty((rows, c), dtype=work_dtype) if keep_shifted else shifted_buf
        scaled_buf = np.empty((rows, c), dtype=dtype) if native and temperature != 1.0 else None
        for s in starts:
            e = min(n, s + block_rows)
            if not native:
                z = _work(x[s:e], temperature).numpy()
            elif scaled_buf is not None:
                z = np.divide(xn[s:e], temperature, out=scaled_buf[: e - s])  # as torch rounds
            else:
                z = xn[s:e]
            if exact:
                z = z.astype(np.float64)
            am = z.argmax(1)
            m = np.take_along_axis(z, am[:, None], 1)
            if keep_shifted:
                shifted = np.subtract(z, m, out=shifted_buf[: e - s])
                total = np.einsum("ij->i", np.exp(shifted, out=exp_buf[: e - s]))
                ls = np.log(total, dtype=f64)
            else:
                ls = _log_sum_exp(z, am, m[:, 0], shifted_buf[: e - s])
            mx[s:e] = m[:, 0]
            log_sum[s:e] = ls
            predictions[s:e] = am
            if not soft:
                z_y[s:e] = np.take_along_axis(z, safe[s:e, None], 1)[:, 0]
                if eps:
                    logp = np.subtract(shifted, ls[:, None].astype(work_dtype), out=shifted)
                    total = (
                        np.einsum("ij->i", logp) if wn is None else np.einsum("ij,j->i", logp, wn)
                    )
                    smooth[s:e] = -total
            else:
                tb = tn[s:e]
                a = tb * (1 - eps) + eps / c if eps else tb
                if wn is not None:
                    a = a * wn
                logp = np.subtract(shifted, ls[:, None].astype(work_dtype), out=shifted)
                losses[s:e] = -np.einsum("ij,ij->i", logp, a)
                lab = tb.argmax(1)
                labels[s:e] = lab
                logp_true[s:e] = np.take_along_axis(logp, lab[:, None], 1)[:, 0]

    with np.errstate(all="ignore"):
        _map_parallel(work, list(range(0, n, block_rows)))
        if soft:
            p_true = np.exp(logp_true)
        else:
            logp_y = (z_y - mx) - log_sum
            losses = -logp_y if wn is None else -wn[safe] * logp_y
            if eps:
                losses = (1 - eps) * losses + (eps / c) * smooth
            losses = np.where(valid, losses, 0.0)
            p_true = np.where(valid, np.exp(logp_y), np.nan)
        confidence = np.exp(-log_sum)  # exp((max - max) - log_sum)
    return {
        "losses": losses.astype(dtype),
        "max": mx.astype(dtype),
        "log_sum": log_sum.astype(dtype),
        "confidence": confidence.astype(dtype),
        "p_true": p_true.astype(dtype),
        "predictions": predictions,
        "targets": np.array(labels, dtype=np.int64),
    }


def _log_sum_exp(
    z: np.ndarray, argmax: np.ndarray, mx: np.ndarray, scratch: np.ndarray
) -> np.ndarray:
    """``log(sum(exp(z - mx)))`` per row in float64, given the rows' argmax and max.

    Where exp(z) can neither overflow in the sum nor lose the largest term to underflow, the
    shift by the max is taken out of the exp: one pass less over the block. The largest term
    is then divided out in float64, ``log1p((sum - top) / top)``, so that a row with one
    dominant class still gets exactly 0 and no probability exceeds 1. Other rows (huge, NaN or
    infinite logits) are shifted as usual.
    """
    low, overflow = (-600.0, 709.0) if z.dtype == np.float64 else (-60.0, 88.0)
    high = overflow - math.log(z.shape[1]) - 1.0
    ex = np.exp(z, out=scratch)
    top = np.take_along_axis(ex, argmax[:, None], 1)[:, 0].astype(np.float64)
    total = np.einsum("ij->i", ex).astype(np.float64)
    log_sum = np.log1p((total - top) / top)
    shift = ~((mx >= low) & (mx <= high))
    if shift.any():
        rows = np.flatnonzero(shift)
        log_sum[rows] = np.log(
            np.einsum("ij->i", np.exp(z[rows] - mx[rows, None])), dtype=np.float64
        )
    return log_sum


def _block_stats(
    z: torch.Tensor,
    target: torch.Tensor,
    soft: bool,
    w: torch.Tensor | None,
    options: Options,
) -> dict[str, torch.Tensor]:
    """The eager per-sample statistics of one block of ``z = logits / T`` with torch ops.

    Used on accelerators, where a launch costs more than memory traffic; the CPU uses
    :func:`_cpu_stats`, which computes the same formulas.
    """
    c = z.shape[1]
    eps = options.label_smoothing
    mx, am = z.max(1)
    shifted = z - mx[:, None]
    log_sum = shifted.exp().sum(1).log()

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
        losses = -logp_y if w is None else -w[safe] * logp_y
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
        "confidence": torch.exp(-log_sum),  # exp((max - max) - log_sum)
        "p_true": p_true,
        "predictions": am,
        "targets": labels,
    }


def _stats(
    x: torch.Tensor,
    target: torch.Tensor,
    soft: bool,
    w: torch.Tensor | None,
    options: Options,
    block_rows: int | None = None,
    table_elements: int | None = None,
) -> dict[str, np.ndarray]:
    """The eager per-sample statistics of the rows of ``x`` (raw logits) as numpy arrays.

    ``table_elements`` is the size of the whole table these rows belong to (``x`` itself by
    default): it decides the precision, so that a row recomputed alone matches its table.
    """
    n, c = x.shape
    if x.device.type == "cpu":
        exact = (table_elements or n * c) <= EXACT_ELEMENTS
        return _cpu_stats(x, target, soft, w, options, block_rows or constants.block_rows(c), exact)
    block_rows = block_rows or constants.block_rows(c, accelerator=True)
    parts = []
    with torch.inference_mode():
        for s in range(0, n, block_rows):
            e = min(n, s + block_rows)
            parts.append(
                _block_stats(_work(x[s:e], options.temperature), target[s:e], soft, w, options)
            )
        return {k: torch.cat([p[k] for p in parts]).cpu().numpy() for k in parts[0]}


def _run(
    x: torch.Tensor,
    t: torch.Tensor,
    soft: bool,
    w64: torch.Tensor | None,
    options: Options,
    dtype: torch.dtype,
    device: torch.device,
    fallback: str | None,
    readonly: bool = False,
) -> Evaluation:
    n, c = x.shape
    source = x
    x = x.to(device=device, dtype=dtype)
    # Still the caller's read-only memory only if ``to`` made no copy.
    readonly = readonly and x.data_ptr() == source.data_ptr() and x.device == source.device
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    t = t.to(device)
    w = None if w64 is None else w64.to(device=device, dtype=compute)
    block_rows = constants.block_rows(c, accelerator=device.type != "cpu")

    arrays = _stats(x, t, soft, w, options, block_rows)
    if soft:
        denominator = float(n)
    else:
        targets = arrays["targets"]
        valid = targets != options.ignore_index
        if w is None:
            denominator = float(np.count_nonzero(valid))
        else:
            denominator = float(_host(w)[targets[valid]].sum())

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
        # On the CPU these share memory with the arrays, as the per-row updates expect.
        max_=torch.as_tensor(arrays["max"], device=device),
        log_sum=torch.as_tensor(arrays["log_sum"], device=device),
        block_rows=block_rows,
        readonly=readonly,
    )


def _assemble(
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
