"""The numeric kernels behind :func:`core.evaluate`: the per-sample statistics of a table of
logits in one fused pass over row blocks (numpy on the CPU, torch on accelerators), and the
second pass that margin and entropy need.

Each row block is read from memory once; every pass over it finds it in cache. No (N, C)
temporary is made. :mod:`core.evaluating` runs them and :mod:`core.evaluation` assembles the
results; the tests compare both against torch.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from softmax_lab.core import constants

if TYPE_CHECKING:
    from softmax_lab.core.evaluation import Options

# Tables of at least this many blocks are split over torch.get_num_threads() worker threads.
# The CPU kernels are numpy, which releases the GIL and never starts threads of its own: torch's
# intra-op threads wait for each other after every op, which costs milliseconds per block on a
# busy machine.
CPU_PARALLEL_MIN_BLOCKS = 8
# Float32 tables up to this many elements (what a learner types, the presets) are exponentiated
# in float64 and rounded once, which costs nothing at that size: their losses are then the
# correctly rounded float32 values. Larger tables get float32 exps, as torch computes them.
EXACT_ELEMENTS = 1 << 16


def margin_entropy(
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


def scaled(block: torch.Tensor, temperature: float) -> torch.Tensor:
    """``block / T`` in the chosen dtype (as torch's oracle divides), then in the compute dtype.

    float16 and bfloat16 inputs are divided in their own precision, then widened to float32 for
    the exp-sum, as torch's own softmax kernels accumulate half types in float32.
    """
    if temperature != 1.0:
        block = block / temperature
    if block.dtype in (torch.float16, torch.bfloat16):
        block = block.float()
    return block


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


_limit = threading.local()


@contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Streamed passes started in this thread use at most ``threads`` threads meanwhile.

    A window evaluating in the background leaves a core to its GUI thread: three busy threads
    on two cores (two workers and the GUI) let a frame wait hundreds of milliseconds.
    """
    old = getattr(_limit, "threads", None)
    _limit.threads = max(1, int(threads))
    try:
        yield
    finally:
        _limit.threads = old


class Cancelled(Exception):
    """A streamed pass stopped because its :func:`cancel_scope` event was set."""


@contextmanager
def cancel_scope(event: threading.Event) -> Iterator[None]:
    """Streamed CPU passes started in this thread meanwhile stop at their next row block (about
    1 MB of logits) once ``event`` is set, raising :class:`Cancelled`: a background pass whose
    result nobody wants any more gives its cores back within a block."""
    old = getattr(_limit, "cancel", None)
    _limit.cancel = event
    try:
        yield
    finally:
        _limit.cancel = old


def background_threads() -> int:
    """Threads a background pass may take: every core but one, which a GUI thread keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


def parallel_threads() -> int:
    """How many threads a streamed pass started in this thread may use."""
    limit = getattr(_limit, "threads", None)
    threads = torch.get_num_threads()
    return threads if limit is None else min(threads, limit)


def _map_parallel(work: Callable[[list[int]], None], starts: list[int]) -> None:
    """Run ``work`` on interleaved shares of ``starts``, on as many threads as torch uses
    (fewer under :func:`thread_limit`)."""
    global _pool, _pool_size
    workers = min(parallel_threads(), len(starts) // CPU_PARALLEL_MIN_BLOCKS)
    if workers <= 1:
        work(starts)
        return
    shares = [starts[i::workers] for i in range(workers)]
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if not at_base_priority():
                pool = None  # threads made here would keep this thread's lower priority
            else:
                _pool = started_pool(workers, "evaluate")
                _pool_size = workers
                pool = _pool
        else:
            pool = _pool
    if pool is None:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaluate-bg") as own:
            list(own.map(work, shares))
        return
    list(pool.map(work, shares))


def at_base_priority() -> bool:
    """Whether this thread runs at the process's priority (Linux threads can be reniced, and a
    thread inherits its creator's niceness; an unprivileged one can never be raised back)."""
    if not hasattr(os, "getpriority"):
        return True
    try:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return mine <= os.getpriority(os.PRIO_PROCESS, os.getpid())
    except OSError:
        return True


def started_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool whose ``workers`` threads all exist now, made by this thread: one started lazily
    would make each new thread in whichever (possibly reniced) thread submits work later."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    gate = threading.Barrier(workers)
    for future in [pool.submit(gate.wait) for _ in range(workers)]:
        future.result()
    return pool


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

    cancel: threading.Event | None = getattr(_limit, "cancel", None)  # read in this thread

    def work_blocks(starts: list[int]) -> None:
        rows = min(block_rows, n)
        shifted_buf = np.empty((rows, c), dtype=work_dtype)
        exp_buf = np.empty((rows, c), dtype=work_dtype) if keep_shifted else shifted_buf
        scaled_buf = np.empty((rows, c), dtype=dtype) if native and temperature != 1.0 else None
        for s in starts:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            e = min(n, s + block_rows)
            if not native:
                z = scaled(x[s:e], temperature).numpy()
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
                # Kept (float64, per row): a change of the smoothing alone is then O(N), see
                # Evaluation.with_options. Neither term depends on the smoothing.
                nll, smooth_sum = losses, smooth
                losses = (1 - eps) * losses + (eps / c) * smooth
            losses = np.where(valid, losses, 0.0)
            p_true = np.where(valid, np.exp(logp_y), np.nan)
        confidence = np.exp(-log_sum)  # exp((max - max) - log_sum)
    stats = {
        "losses": losses.astype(dtype),
        "max": mx.astype(dtype),
        "log_sum": log_sum.astype(dtype),
        "confidence": confidence.astype(dtype),
        "p_true": p_true.astype(dtype),
        "predictions": predictions,
        "targets": np.array(labels, dtype=np.int64),
    }
    if not soft and eps:
        stats["nll"], stats["smooth"] = nll, smooth_sum
    return stats


def smoothed_losses(
    nll: np.ndarray,
    smooth: np.ndarray,
    valid: np.ndarray,
    label_smoothing: float,
    n_classes: int,
    dtype: np.dtype,
) -> np.ndarray:
    """The per-sample losses of hard labels at another ``label_smoothing``, from the two per-row
    terms of a CPU pass (``nll``, the weighted negative log-likelihood of the label, and
    ``smooth``, minus the weighted sum of the row's log-probabilities): the same float64
    arithmetic as :func:`_cpu_stats`, so the result is bit for bit that of a new pass."""
    eps = label_smoothing
    with np.errstate(all="ignore"):
        losses = (1 - eps) * nll + (eps / n_classes) * smooth if eps else nll
        return np.where(valid, losses, 0.0).astype(dtype)


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


def row_stats(
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
                _block_stats(scaled(x[s:e], options.temperature), target[s:e], soft, w, options)
            )
        return {k: torch.cat([p[k] for p in parts]).cpu().numpy() for k in parts[0]}
