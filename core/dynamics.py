"""Per-sample training dynamics of a recorded run: Dataset Cartography and forgetting events.

For each sample, over the run's steps in order (Swayamdipta et al. 2020, "Dataset Cartography";
Toneva et al. 2019, "An Empirical Study of Example Forgetting"):

* ``confidence``: the mean of p(true class) = softmax(logits / T)[label], ``core.evaluate``'s
  ``p_true`` (the same float32 exps and sums; they agree to ~1e-7);
* ``variability``: the population standard deviation (ddof=0, as the paper's code) of p(true);
* ``correctness``: the share of steps whose argmax is the label;
* ``forgetting``: how many times the sample went from correct at one step to wrong at the next;
* ``first_learned``: the step (its value, not its index) from which the sample stays correct to
  the last step, or -1; ``never_learned``: correct at no step.

Rows labelled ``IGNORE_INDEX`` get NaN (float fields), -1 (integer fields) and False.
A row whose logits are not finite at a step (NaN, +inf, all -inf: where ``evaluate`` reports
``finite == False``) counts as wrong at that step, and its p(true), which is NaN, is left out of
``confidence`` and ``variability`` (they average the ``n_finite`` steps where it is defined; NaN
if there are none). A model that output garbage did not know the sample, but NaN is not a
probability to average.

The pass is streamed: one step at a time, in row blocks (``STREAM_BLOCK_ELEMENTS``) read
straight from a recorded run's files, split over torch's thread count as ``evaluate`` splits
its blocks, with Welford's one-pass mean and variance in float64, so memory stays at a few
blocks plus O(N) per-sample accumulators whatever the number of steps. This module owns these
definitions and the cartography regions; ``core.runs`` owns reading runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from softmax_lab.core import constants
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.run_format import _as_array, _check_labels
from softmax_lab.core.runs import Run

__all__ = [
    "REGIONS",
    "RunLike",
    "TrainingDynamics",
    "cartography_region",
    "training_dynamics",
]

REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")
AMBIGUOUS_SHARE = 1 / 3
"""The paper's split: the most variable third of the samples are "ambiguous"."""
CONFIDENCE_SPLIT = 0.5
"""Of the others, mean p(true) >= 0.5 is "easy-to-learn", below it "hard-to-learn"."""
# As in core.evaluation: tables of at least this many blocks are split over worker threads.
_PARALLEL_MIN_BLOCKS = 8


class RunLike(Protocol):
    """What :func:`training_dynamics` needs of a run: a ``core.runs.Run`` or any object alike."""

    @property
    def steps(self) -> Sequence[int]: ...

    @property
    def labels(self) -> np.ndarray | None: ...

    def logits(self, step: int) -> Any: ...


def cartography_region(
    confidence: Any,
    variability: Any,
    *,
    ambiguous_share: float = AMBIGUOUS_SHARE,
    confidence_split: float = CONFIDENCE_SPLIT,
) -> np.ndarray:
    """Each sample's region of the data map: "easy-to-learn", "ambiguous" or "hard-to-learn".

    The rule: "ambiguous" are the ``ambiguous_share`` most variable samples (those whose
    variability is at least the (1 - share) quantile; more on ties), as the paper selects its
    ambiguous third, and only with variability > 0 (a sample that never moved is not ambiguous,
    so a one-step run has none). The others split on mean p(true): ``>= confidence_split`` is
    "easy-to-learn" (the top-left of the map: confident and stable), below it "hard-to-learn"
    (bottom-left: stably unconfident, often mislabelled). 0.5 is the midpoint, and the level
    above which p(true) at a step makes the label the prediction. The paper's own selections
    (top third by confidence, bottom third) overlap the ambiguous third; these three regions
    partition the samples. Samples with NaN confidence or variability (ignored rows, never
    finite) get "".
    """
    conf = np.asarray(confidence, dtype=np.float64)
    var = np.asarray(variability, dtype=np.float64)
    if conf.shape != var.shape or conf.ndim != 1:
        raise ValueError(
            f"confidence and variability must be (N,) alike: {conf.shape}, {var.shape}"
        )
    if not 0.0 <= ambiguous_share <= 1.0:
        raise ValueError(f"ambiguous_share must be in [0, 1], got {ambiguous_share}")
    known = np.isfinite(conf) & np.isfinite(var)
    out = np.full(conf.shape, "", dtype=f"<U{max(map(len, REGIONS))}")
    out[known & (conf >= confidence_split)] = "easy-to-learn"
    out[known & (conf < confidence_split)] = "hard-to-learn"
    if known.any() and ambiguous_share > 0:
        threshold = np.quantile(var[known], 1.0 - ambiguous_share)
        out[known & (var >= threshold) & (var > 0)] = "ambiguous"
    return out


@dataclass(frozen=True, eq=False)
class TrainingDynamics:
    """Per-sample (N,) statistics over ``steps`` (see the module docstring for definitions)."""

    steps: list[int]
    temperature: float
    labels: np.ndarray
    valid: np.ndarray
    """False for rows labelled IGNORE_INDEX."""
    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray
    forgetting: np.ndarray
    first_learned: np.ndarray
    first_learned_index: np.ndarray
    """The index into ``steps`` of ``first_learned`` (-1 alike): unambiguous if steps < 0."""
    never_learned: np.ndarray
    n_finite: np.ndarray
    """Steps at which the row's logits were finite (what confidence/variability average)."""

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def n_samples(self) -> int:
        return len(self.labels)

    def regions(
        self,
        *,
        ambiguous_share: float = AMBIGUOUS_SHARE,
        confidence_split: float = CONFIDENCE_SPLIT,
    ) -> np.ndarray:
        """:func:`cartography_region` of these samples."""
        return cartography_region(
            self.confidence,
            self.variability,
            ambiguous_share=ambiguous_share,
            confidence_split=confidence_split,
        )


class _Pairs:
    """A sequence of (step, logits) pairs seen as a run."""

    def __init__(self, pairs: Iterable[tuple[int, Any]], labels: Any) -> None:
        self._by_step: dict[int, Any] = {}
        self.steps: list[int] = []
        for item in pairs:
            try:
                step, logits = item
            except (TypeError, ValueError):
                raise ValueError(f"expected (step, logits) pairs, got {item!r:.60}") from None
            self.steps.append(step)
            self._by_step[step] = logits
        self.labels = labels

    def logits(self, step: int) -> Any:
        return self._by_step[step]


def _host(value: Any, what: str) -> np.ndarray:
    """A step's logits as a float32/float64 numpy array on the CPU (no copy when already so)."""
    array = _as_array(value, f"{what}: logits")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    if array.ndim != 2:
        raise ValueError(f"{what}: logits must be 2-D (samples x classes), got {array.shape}")
    return array


def _check_steps(steps: Sequence[Any]) -> list[int]:
    out: list[int] = []
    for s in steps:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ValueError(f"steps must be integers, got {s!r}")
        if out and int(s) <= out[-1]:
            raise ValueError(f"steps must strictly increase, got {out[-1]} then {int(s)}")
        out.append(int(s))
    if not out:
        raise ValueError("the run has no steps")
    return out


def _labels(labels: Any, n: int, c: int) -> np.ndarray:
    if labels is None:
        raise ValueError("the run has no labels: pass labels=")
    array = _check_labels(labels, c)
    if array is None or array.shape != (n,):
        raise ValueError(f"labels must be {n} class indices, got {np.shape(labels)}")
    return array


_pool: ThreadPoolExecutor | None = None
_pool_size = 0


class _Blocks:
    """Block starts handed out one at a time to whichever worker asks first, so that a worker
    the OS puts to sleep on a busy machine delays a step by one block, not by its share."""

    def __init__(self, starts: list[int]) -> None:
        self._it = iter(starts)
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        with self._lock:
            return next(self._it)


def _map(work: Callable[[Iterable[int]], None], starts: list[int]) -> None:
    """``work`` over ``starts`` on as many threads as torch uses, the calling one included, as
    ``evaluate`` splits its blocks (numpy releases the GIL in every pass over a block)."""
    global _pool, _pool_size
    workers = min(torch.get_num_threads(), len(starts) // _PARALLEL_MIN_BLOCKS)
    if workers <= 1:
        work(starts)
        return
    if _pool is None or _pool_size < workers - 1:
        _pool = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="dynamics")
        _pool_size = workers - 1
    shared = _Blocks(starts)
    helpers = [_pool.submit(work, shared) for _ in range(workers - 1)]
    try:
        work(shared)
    finally:
        wait(helpers)  # never leave a helper writing into this step's arrays
    for helper in helpers:
        helper.result()


class _Rows(Protocol):
    """Where a pass gets a step's rows ``start:stop``: read into ``buf`` (a recorded run) or as
    a view of a table in memory."""

    def rows(self, start: int, stop: int, buf: np.ndarray) -> np.ndarray: ...


class _TableRows:
    def __init__(self, table: np.ndarray) -> None:
        self._table = table

    def rows(self, start: int, stop: int, buf: np.ndarray) -> np.ndarray:
        return self._table[start:stop]


class _RunRows:
    def __init__(self, run: Run, step: int) -> None:
        self._run, self._step = run, step

    def rows(self, start: int, stop: int, buf: np.ndarray) -> np.ndarray:
        return self._run.read_rows(self._step, start, buf)


class _StepPass:
    """p(true), finiteness and correctness of every row of one step at a time, over row blocks.

    p(true) is ``exp(z_y) / sum_j exp(z_j)`` with ``z = logits / T`` rounded in the logits'
    dtype and the exps summed in it, as ``core.evaluate`` computes large tables (it divides the
    largest term out in float64, and takes tables under 65,536 values in float64 throughout;
    the results agree to ~1e-7). Rows where the sum could overflow or lose precision (huge,
    tiny or non-finite logits) are redone shifted by their max, as there.

    Correctness (argmax == label) mostly needs no argmax, a pass over a block as costly as exp:
    with ``e = exp(z)`` and ``S`` its row sum, ``e_y > S / 2`` means y is the strict maximum
    (correct) and ``e_y < S / C`` means some class beats y (wrong), because exp is monotone. A
    margin covers the rounding of the sums (C ulps) and of exp (a few ulps), so a decision is
    never wrong; only the rows in between get an argmax (a trained model leaves few), and a
    block with many of them gets one argmax pass instead of a gather. (A second test with the
    sum of squares decided about half of those rows, but cost more than their argmax saved.)
    A recorded step's rows are read into a per-thread block (``Run.read_rows``: resident memory
    stays at a few blocks); an in-memory table's rows are used where they are, as views. (Mapping
    a step file instead saved a third of the read-and-exp time, but the kernel maps page-cache
    folios of megabytes at a time, and resident memory reached 1.3-1.5 steps.)
    What is per row is done once per step over all rows; the (N,) arrays are reused every step.
    """

    def __init__(self, labels: np.ndarray, valid: np.ndarray, c: int, temperature: float) -> None:
        n = len(labels)
        self.n, self.c, self.temperature = n, c, temperature
        self.labels, self.valid = labels, valid
        self.rows = max(1, constants.STREAM_BLOCK_ELEMENTS // max(1, c))
        # Flat index of each row's label within its block (a row's offset in its block is fixed).
        self.at_y = (np.arange(n) % self.rows) * c + np.where(valid, labels, 0)
        self.total, self.e_y, self.p_true = np.empty(n), np.empty(n), np.empty(n)
        self.hit = np.zeros(n, dtype=bool)  # exact argmax == label, where an argmax was taken
        self.ok, self.correct = np.empty(n, dtype=bool), np.empty(n, dtype=bool)

    def run(self, source: _Rows, dtype: np.dtype[Any]) -> None:
        """One step, whose rows ``source`` hands out block by block."""
        n, c = self.n, self.c
        eps = float(np.finfo(dtype).eps)
        # The sums' rounding (C ulps each) and exp's (a few ulps), twice over.
        self.margin = m = 4.0 * (c + 8) * eps
        right, wrong = (0.5 * (1 + m), (1 - m) / c) if m < 0.25 else (np.inf, -np.inf)
        # The smallest sum whose largest term is a normal number with room to spare.
        tiny = 1e-30 if dtype == np.float32 else 1e-290
        self.hit[:] = False

        def work(starts: Iterable[int]) -> None:
            width = min(self.rows, n)
            buf = np.empty((width, c), dtype=dtype)
            scratch = np.empty((width, c), dtype=dtype)
            with np.errstate(all="ignore"):  # per thread: worker threads do not inherit it
                for s in starts:
                    e = min(n, s + self.rows)
                    self._block(source, buf[: e - s], scratch[: e - s], s, e, right, wrong, tiny)

        _map(work, list(range(0, n, self.rows)))
        with np.errstate(all="ignore"):
            p = self.p_true
            np.isfinite(p, out=self.ok)
            self.ok &= self.valid
            # p > 1/2 (with the margin) is correct whichever way p was computed.
            np.greater(p, right, out=self.correct)
            self.correct |= self.hit
            self.correct &= self.ok

    def _block(
        self,
        source: _Rows,
        buf: np.ndarray,
        scratch: np.ndarray,
        s: int,
        e: int,
        right: float,
        wrong: float,
        tiny: float,
    ) -> None:
        z = source.rows(s, e, buf)
        if self.temperature != 1.0:
            z = np.divide(z, self.temperature, out=buf)  # rounded in the dtype, as torch divides
        ex = np.exp(z, out=scratch)
        total, e_y = self.total[s:e], self.e_y[s:e]
        total[:] = np.einsum("ij->i", ex)
        e_y[:] = ex.reshape(-1)[self.at_y[s:e]]
        p = np.divide(e_y, total, out=self.p_true[s:e])
        labels = self.labels[s:e]
        # Decided on p itself, which run() tests again: a row is torn or decided, never both.
        torn = np.flatnonzero((p <= right) & (p >= wrong))
        if len(torn) * 3 > e - s:  # one argmax pass costs less than gathering so many rows
            np.equal(z.argmax(1), labels, out=self.hit[s:e])
        elif len(torn):
            self.hit[s + torn] = z[torn].argmax(1) == labels[torn]
        if not (total.min() >= tiny and total.max() < np.inf):  # NaN fails both
            rows = np.flatnonzero(~((total >= tiny) & (total < np.inf)))
            zr = z[rows]
            am = zr.argmax(1)
            mx = zr[np.arange(len(rows)), am]
            log_sum = np.log(np.einsum("ij->i", np.exp(zr - mx[:, None])), dtype=np.float64)
            z_y = zr[np.arange(len(rows)), self.at_y[s + rows] % self.c]
            p[rows] = np.exp((z_y.astype(np.float64) - mx) - log_sum)
            self.hit[s + rows] = (am == labels[rows]) & np.isfinite(mx) & np.isfinite(log_sum)


class _Accumulator:
    """The per-sample statistics so far, updated in place step by step (no allocation)."""

    def __init__(self, n: int) -> None:
        self.count, self.mean, self.m2 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.n_correct = np.zeros(n, dtype=np.int64)
        self.forgetting = np.zeros(n, dtype=np.int64)
        self.last_wrong = np.full(n, -1, dtype=np.int64)  # index of the last step it was wrong
        self.before = np.zeros(n, dtype=bool)
        self._delta, self._tmp = np.empty(n), np.empty(n)
        self._wrong, self._flag = np.empty(n, dtype=bool), np.empty(n, dtype=bool)

    def add(self, k: int, now: _StepPass) -> None:
        p, ok, correct = now.p_true, now.ok, now.correct
        delta, tmp, wrong, flag = self._delta, self._tmp, self._wrong, self._flag
        # Welford's one-pass mean and variance where p(true) is defined. Elsewhere p is set to
        # the mean, which makes the update a no-op there.
        self.count += ok
        np.logical_not(ok, out=flag)
        np.copyto(p, self.mean, where=flag)
        np.subtract(p, self.mean, out=delta)
        np.maximum(self.count, 1.0, out=tmp)
        np.divide(delta, tmp, out=tmp)
        self.mean += tmp
        np.subtract(p, self.mean, out=tmp)
        tmp *= delta
        self.m2 += tmp
        # Learning events.
        self.n_correct += correct
        np.logical_not(correct, out=wrong)
        np.logical_and(self.before, wrong, out=flag)
        self.forgetting += flag  # correct at the step before, wrong now
        np.copyto(self.last_wrong, k, where=wrong)
        np.copyto(self.before, correct)


def training_dynamics(
    run: RunLike | Iterable[tuple[int, Any]],
    *,
    temperature: float = 1.0,
    labels: Any = None,
    progress: Callable[[int, int], object] | None = None,
) -> TrainingDynamics:
    """Training dynamics of ``run`` at ``temperature``.

    ``run`` is a ``core.runs.Run`` (read in row blocks: memory stays at a few blocks whatever the
    step size), any object with ``steps``, ``labels`` and ``logits(step)`` returning numpy
    arrays or torch tensors on any device, or a sequence of ``(step, logits)`` pairs. Steps must
    strictly increase. ``labels`` overrides (or, for pairs, supplies) the run's labels.
    ``progress(done, total)`` is called after each step; an exception it raises stops the pass
    and propagates (that is how a caller cancels). Bad arguments raise ``ValueError``.
    """
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number, got {temperature!r}") from None
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature}")
    source: Any = run if hasattr(run, "logits") else _Pairs(run, labels)
    steps = _check_steps(list(source.steps))  # a snapshot: a live run may grow meanwhile
    streamed = isinstance(source, Run)
    first: np.ndarray | None = None
    if streamed:
        n, c = source.n_samples, source.n_classes
    else:
        first = _host(source.logits(steps[0]), f"step {steps[0]}")
        n, c = first.shape
    y = _labels(source.labels if labels is None else labels, n, c)
    valid = y != IGNORE_INDEX
    now = _StepPass(y, valid, c, temperature)

    acc = _Accumulator(n)
    for k, step in enumerate(steps):
        if streamed:
            now.run(_RunRows(source, step), np.dtype(source.dtype))
        else:
            table = _host(source.logits(step), f"step {step}") if first is None else first
            first = None  # let the first step go once used
            if table.shape != (n, c):
                raise ValueError(f"step {step}: logits are {table.shape}, not {(n, c)}")
            now.run(_TableRows(table), table.dtype)
        acc.add(k, now)
        if progress is not None:
            progress(k + 1, len(steps))

    nan = np.float64(np.nan)
    defined = acc.count > 0
    with np.errstate(all="ignore"):
        confidence = np.where(defined, acc.mean, nan)
        variability = np.where(defined, np.sqrt(acc.m2 / np.maximum(acc.count, 1)), nan)
    # Correct from the step after the last wrong one to the end, if that step exists.
    streak = np.where(acc.last_wrong < len(steps) - 1, acc.last_wrong + 1, -1)
    first_learned = np.where(streak >= 0, np.asarray(steps, dtype=np.int64)[streak], -1)
    return TrainingDynamics(
        steps=steps,
        temperature=temperature,
        labels=y,
        valid=valid,
        confidence=confidence,
        variability=variability,
        correctness=np.where(valid, acc.n_correct / len(steps), nan),
        forgetting=np.where(valid, acc.forgetting, -1),
        first_learned=first_learned,
        first_learned_index=streak,
        never_learned=valid & (acc.n_correct == 0),
        n_finite=acc.count.astype(np.int64),
    )
