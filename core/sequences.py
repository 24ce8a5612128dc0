"""Per-token cross-entropy, perplexity and target ranks for language-model logits (B, T, V).

``evaluate_sequences`` turns a batch of sequences into the targets each position is scored on
(causal next-token or aligned masked-LM labels) and hands the whole (B·T, V) table to
:func:`core.evaluating.evaluate` as one flattened view: positions without a target become
``IGNORE_INDEX`` rows. Nothing is gathered or copied, so a 2,048 x 128,256 float32 table costs
its own memory plus O(B·T) numbers, and ``sv.evaluation`` is an ordinary :class:`Evaluation`
whose row ``b * T + t`` is position (b, t).
"""

from __future__ import annotations

import math
import operator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from softmax_lab.core.constants import IGNORE_INDEX, block_rows
from softmax_lab.core.devices import resolve_dtype
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.kernels import parallel_threads

__all__ = [
    "SequenceEvaluation",
    "TargetPlaces",
    "evaluate_sequences",
    "target_places",
    "target_ranks",
]

_HALF = (torch.float16, torch.bfloat16)
# The rank pass is split over threads from this many row blocks on (as core.evaluating's passes).
PARALLEL_MIN_BLOCKS = 8


@dataclass(eq=False)
class SequenceEvaluation:
    """The result of :func:`evaluate_sequences`. (B, T) arrays are indexed by the position of the
    logits: with ``shift=True`` entry (b, t) scores the prediction of token t + 1 from position t.
    """

    evaluation: Evaluation
    """The flattened (B·T, V) table: row ``b * T + t`` is position (b, t); positions without a
    target are ``IGNORE_INDEX`` rows (``evaluation.valid`` False), excluded from its loss."""
    token_losses: np.ndarray
    """(B, T) −log p(target) in nats; NaN where the position has no target."""
    perplexity: np.ndarray
    """(B,) float64 exp(mean token loss over the sequence's counted positions); NaN if none."""
    loss: float
    """Mean token loss over every counted position of the batch (Hugging Face's ``loss``)."""
    positions: np.ndarray
    """(B·T, 2) int64 (sequence, position) of each row of ``evaluation``."""
    targets: np.ndarray
    """(B, T) int64 token each position is scored on; ``IGNORE_INDEX`` where none."""
    valid: np.ndarray
    """(B, T) bool: the position has a target and counts."""
    lengths: np.ndarray
    """(B,) int64 counted positions per sequence."""
    shift: bool
    _logits: Any = field(repr=False)
    """The (B·T, V) logits as given (numpy or torch, never copied), for the ranks."""

    @property
    def surprisal_bits(self) -> np.ndarray:
        """(B, T) token losses in bits; NaN where there is no target."""
        return self.token_losses / math.log(2.0)

    @cached_property
    def rank(self) -> np.ndarray:
        """(B, T) int64 rank of the target among the V logits, 0 = top; −1 where no target.

        The rank is the number of logits strictly greater than the target's (ties share the
        better rank; a NaN is never greater). Computed on first access in one streamed pass
        over the counted rows; dividing by T > 0 keeps the order, so it is the rank under any
        temperature.
        """
        flat_valid = self.valid.reshape(-1)
        rank = np.full(flat_valid.shape[0], -1, dtype=np.int64)
        rows = np.flatnonzero(flat_valid)
        rank[rows] = _count_greater(self._logits, rows, self.targets.reshape(-1)[rows])
        return rank.reshape(self.valid.shape)

    def row_of(self, b: int, t: int, *, counted_only: bool = True) -> int | None:
        """The row of ``evaluation`` holding position (b, t) (negative indices count from the
        end); None if the position has no target, unless ``counted_only`` is False (the last
        position's row still says what the model predicts next)."""
        n_b, n_t = self.valid.shape
        b_i, t_i = _index(b, n_b, "sequence"), _index(t, n_t, "position")
        if counted_only and not self.valid[b_i, t_i]:
            return None
        return b_i * n_t + t_i

    def top_candidates(self, row: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most probable tokens of one row: (ids int64, probabilities), best first;
        ties go to the lower id. Only that row's softmax is computed."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        row = _index(row, self.evaluation.n_samples, "row")
        p = self.evaluation.probabilities_of([row])[0]
        k = min(int(k), p.shape[0])
        # argpartition puts NaN last; a NaN row then lists its first k ids.
        top = np.argpartition(-p, k - 1)[:k] if k < p.shape[0] else np.arange(p.shape[0])
        top = top[np.lexsort((top, -p[top]))]
        return top.astype(np.int64), p[top]


def evaluate_sequences(
    logits: Any,
    input_ids: Any,
    *,
    attention_mask: Any = None,
    shift: bool = True,
    temperature: float = 1.0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
) -> SequenceEvaluation:
    """Cross-entropy of every position of a batch of language-model logits.

    ``logits`` (B, T, V) and ``input_ids`` (B, T) are numpy arrays, torch tensors or nested
    lists. With ``shift=True`` (causal LM) the logits at position t predict ``input_ids[:, t+1]``
    and the last position has no target; position t counts iff ``attention_mask`` is 1 at both
    t and t + 1. That is Hugging Face's ``model(ids, labels=ids).loss`` with padded labels set
    to −100, for right padding and no padding exactly; with left padding Hugging Face also
    scores the first real token from the last padding position's logits, which predict from
    nothing, and we leave that out, so a padded sequence scores as it does unpadded. With
    ``shift=False`` ``input_ids`` are aligned labels (masked-LM style): −100 and
    ``attention_mask`` 0 leave a position out.

    ``dtype`` is the compute dtype, as in :func:`evaluate`, except that float16 / bfloat16
    logits asked for in the default float32 are evaluated in their own storage with float32
    sums (no float32 copy of the table); identical at T = 1, and at T ≠ 1 ``logits / T`` rounds
    in the half type, as ``F.cross_entropy(logits / T)`` on half logits does. T < 2 with
    ``shift=True`` is not an error: no position has a target and every result is NaN.

    Memory: a contiguous table (a memory-mapped ``.npy`` included) is evaluated in place; only a
    non-contiguous tensor (a slice such as ``logits[:, :-1]``) is copied once, by the reshape,
    and ``evaluate`` copies the table to ``device`` when it lives elsewhere.
    """
    if not isinstance(shift, (bool, np.bool_)):
        raise ValueError(f"shift must be True or False, got {shift!r}")
    x = _logits_array(logits)
    if len(x.shape) != 3:
        raise ValueError(
            f"logits must be (batch, positions, vocabulary), got shape {tuple(x.shape)}"
        )
    n_b, n_t, n_v = (int(s) for s in x.shape)
    if n_b == 0 or n_t == 0 or n_v == 0:
        raise ValueError(f"logits are empty (shape {n_b} x {n_t} x {n_v})")
    what = "input_ids" if shift else "labels (input_ids)"
    ids = _int_array(input_ids, what, (n_b, n_t))
    mask = None if attention_mask is None else _mask_array(attention_mask, (n_b, n_t))

    if shift:
        targets = np.full((n_b, n_t), IGNORE_INDEX, dtype=np.int64)
        targets[:, :-1] = ids[:, 1:]
        valid = np.zeros((n_b, n_t), dtype=bool)
        valid[:, :-1] = True if mask is None else mask[:, :-1] & mask[:, 1:]
    else:
        targets = ids.copy()
        valid = ids != IGNORE_INDEX
        if mask is not None:
            valid &= mask
    bad = valid & ((targets < 0) | (targets >= n_v))
    if bad.any():
        b, t = (int(i) for i in np.argwhere(bad)[0])
        b_id, t_id = (b, t + 1) if shift else (b, t)
        allowed = (
            " (an attention_mask of 0 leaves a position out)"
            if shift
            else f" (or {IGNORE_INDEX} to leave the position out)"
        )
        raise ValueError(
            f"{what}[{b_id}, {t_id}] = {int(ids[b_id, t_id])} is outside the vocabulary "
            f"0..{n_v - 1}{allowed}"
        )
    targets[~valid] = IGNORE_INDEX

    flat = x.reshape(n_b * n_t, n_v)  # a view of a contiguous table: no copy
    compute = resolve_dtype(dtype)
    storage = _torch_dtype(flat)
    if compute == torch.float32 and storage in _HALF:
        compute = storage  # see the docstring: no widened copy of the table
    ev = evaluate(
        flat,
        targets.reshape(-1),
        temperature=temperature,
        ignore_index=IGNORE_INDEX,
        device=device,
        dtype=compute,
    )

    losses = ev.losses.reshape(n_b, n_t)
    token_losses = np.where(valid, losses, np.nan).astype(losses.dtype, copy=False)
    lengths = valid.sum(1).astype(np.int64)
    totals = np.where(valid, losses.astype(np.float64), 0.0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        perplexity = np.where(lengths > 0, np.exp(totals / np.maximum(lengths, 1)), np.nan)
    positions = np.indices((n_b, n_t), dtype=np.int64).reshape(2, -1).T.copy()
    return SequenceEvaluation(
        evaluation=ev,
        token_losses=token_losses,
        perplexity=perplexity,
        loss=float(ev.loss),  # reduction "mean": a float
        positions=positions,
        targets=targets,
        valid=valid,
        lengths=lengths,
        shift=bool(shift),
        _logits=flat,
    )


# --------------------------------------------------------------------------------------------
# inputs


def _logits_array(value: Any) -> Any:
    """The logits as a numpy array or a detached tensor, sharing the caller's memory.

    A numpy array stays numpy: ``evaluate`` sees that a memory-mapped file is read-only and
    never writes into it.
    """
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point() and value.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"logits must be numbers, not {value.dtype}")
        return value.detach()
    array = value if isinstance(value, np.ndarray) else _as_numpy(value, "logits")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"logits must be numbers, not {array.dtype}")
    return array


def _as_numpy(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} must be a rectangular array of numbers ({exc})") from exc


def _int_array(value: Any, what: str, shape: tuple[int, int]) -> np.ndarray:
    array = _as_numpy(value, what)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integer token ids, not {array.dtype}")
    if array.shape != shape:
        raise ValueError(
            f"{what} has shape {array.shape} but the logits have {shape[0]} sequences x "
            f"{shape[1]} positions"
        )
    return array.astype(np.int64)


def _mask_array(value: Any, shape: tuple[int, int]) -> np.ndarray:
    array = _as_numpy(value, "attention_mask")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"attention_mask must be 0/1 numbers, not {array.dtype}")
    if array.shape != shape:
        raise ValueError(
            f"attention_mask has shape {array.shape} but the logits have {shape[0]} sequences "
            f"x {shape[1]} positions"
        )
    if array.dtype.kind != "b" and not np.isin(array, (0, 1)).all():
        raise ValueError("attention_mask must hold only 0 and 1")
    return array.astype(bool)


def _torch_dtype(x: Any) -> torch.dtype | None:
    if isinstance(x, torch.Tensor):
        return x.dtype
    return torch.float16 if x.dtype == np.float16 else None


def _index(i: Any, n: int, what: str) -> int:
    i = operator.index(i)
    if not -n <= i < n:
        raise IndexError(f"{what} {i} is out of range for {n}")
    return i + n if i < 0 else i


# --------------------------------------------------------------------------------------------
# ranks


@dataclass(frozen=True, eq=False)
class TargetPlaces:
    """Where each row's target sits in its distribution (−1 / NaN where there is no target)."""

    rank: np.ndarray
    """(N,) int64 logits strictly greater than the target's (0 = the top token)."""
    mass_above: np.ndarray
    """(N,) float64 probability at temperature T of the tokens strictly more probable than the
    target: top-p sampling at p keeps the target iff this is below p."""
    temperature: float

    def kept(self, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
        """(N,) whether a sampler keeping the top ``top_k`` tokens (0: all) and, alone, the
        nucleus of mass ``top_p`` (1: all) would still draw the target; False without one."""
        keep = self.rank >= 0
        if top_k:
            keep &= self.rank < top_k
        if top_p < 1.0:
            with np.errstate(invalid="ignore"):
                keep &= self.mass_above < top_p - 1e-12
        return keep


def target_places(
    logits: Any, targets: Any, temperature: float = 1.0, rows: Any = None
) -> TargetPlaces:
    """Ranks (as :func:`target_ranks`) and the probability mass above each target at
    ``temperature``, in one streamed pass over the (N, V) table (no copy of it); with ``rows``
    only those rows are computed (the others are −1 / NaN)."""
    x = _logits_array(logits)
    if len(x.shape) != 2:
        raise ValueError(f"logits must be (rows, vocabulary), got shape {tuple(x.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    n, v = (int(d) for d in x.shape)
    target = _as_numpy(targets, "targets").astype(np.int64).reshape(-1)
    if target.shape[0] != n:
        raise ValueError(f"got {target.shape[0]} targets for {n} rows")
    rank = np.full(n, -1, dtype=np.int64)
    mass = np.full(n, np.nan)
    wanted = np.zeros(n, dtype=bool)
    wanted[slice(None) if rows is None else np.asarray(rows, dtype=np.int64)] = True
    rows = np.flatnonzero(wanted & (target >= 0) & (target < v))
    if rows.size:
        rank[rows], mass[rows] = _count_greater(x, rows, target[rows], float(temperature))
    return TargetPlaces(rank, mass, float(temperature))


def target_ranks(logits: Any, targets: Any, rows: Any = None) -> np.ndarray:
    """The rank of each row's target among its logits (0 = the top one), for an (N, V) table.

    The rank is the number of logits strictly greater than the target's (ties share the better
    rank; a NaN is never greater), so it holds under any temperature. ``rows`` (default: all)
    are the rows to rank; a row whose target is outside 0..V-1 (the ignore index) gets −1.
    One streamed pass over those rows, never a copy of the table.
    """
    x = _logits_array(logits)
    if len(x.shape) != 2:
        raise ValueError(f"logits must be (rows, vocabulary), got shape {tuple(x.shape)}")
    n, v = (int(d) for d in x.shape)
    wanted = np.arange(n) if rows is None else np.atleast_1d(np.asarray(rows, dtype=np.int64))
    if wanted.size and (wanted.min() < 0 or wanted.max() >= n):
        raise IndexError(f"rows must lie in 0..{n - 1}")
    target = _as_numpy(targets, "targets").astype(np.int64).reshape(-1)
    if target.shape[0] != n:
        raise ValueError(f"got {target.shape[0]} targets for {n} rows")
    out = np.full(wanted.size, -1, dtype=np.int64)
    ranked = (target[wanted] >= 0) & (target[wanted] < v)
    out[ranked] = _count_greater(x, wanted[ranked], target[wanted][ranked])
    return out


def _count_greater(
    flat: Any, rows: np.ndarray, targets: np.ndarray, temperature: float | None = None
) -> Any:
    """For each of ``rows`` of the (N, V) logits, how many logits exceed the target's — and,
    with a ``temperature``, also the softmax(z / T) mass of those logits: (counts, masses).

    Streamed over row blocks (one block copy and one boolean block at a time). On the CPU the
    comparisons run in numpy on as many threads as torch uses (numpy releases the GIL; torch's
    intra-op threads stall on a busy machine, see core.evaluating), a bfloat16 block widened
    to float32 first (exact); tensors on an accelerator are compared there with torch.
    """
    out = np.empty(len(rows), dtype=np.int64)
    mass = np.empty(len(rows), dtype=np.float64)
    if not len(rows):
        return out if temperature is None else (out, mass)
    n_v = int(flat.shape[1])
    if isinstance(flat, torch.Tensor) and flat.device.type != "cpu":
        step = block_rows(n_v, accelerator=True)
        idx_all = torch.as_tensor(rows, device=flat.device)
        tgt_all = torch.as_tensor(targets, device=flat.device)
        with torch.inference_mode():
            for s in range(0, len(rows), step):
                block = flat.index_select(0, idx_all[s : s + step])
                z_y = block.gather(1, tgt_all[s : s + step, None])
                greater = block > z_y
                out[s : s + step] = greater.sum(1).cpu().numpy()
                if temperature is not None:
                    p = torch.softmax(block.float() / temperature, 1)
                    mass[s : s + step] = (p * greater).sum(1).double().cpu().numpy()
        return out if temperature is None else (out, mass)

    if isinstance(flat, torch.Tensor) and flat.dtype == torch.bfloat16:
        index = torch.as_tensor(rows)

        def block_of(s: int, e: int) -> np.ndarray:
            return flat.index_select(0, index[s:e]).float().numpy()

    else:
        array: np.ndarray = flat.numpy() if isinstance(flat, torch.Tensor) else flat

        def block_of(s: int, e: int) -> np.ndarray:
            return np.take(array, rows[s:e], axis=0)

    step = block_rows(n_v)

    def work(share: list[int]) -> None:
        for s in share:
            e = min(len(rows), s + step)
            part = block_of(s, e)
            part_y = np.take_along_axis(part, targets[s:e, None], 1)
            greater = part > part_y
            out[s:e] = np.count_nonzero(greater, axis=1)
            if temperature is not None:
                with np.errstate(all="ignore"):
                    z = (
                        part / np.float32(temperature)
                        if part.dtype == np.float32
                        else part / temperature
                    )
                    z = z - z.max(1, keepdims=True)
                    np.exp(z, out=z)
                    total = z.sum(1, dtype=np.float64)
                    mass[s:e] = np.where(greater, z, 0).sum(1, dtype=np.float64) / total

    starts = list(range(0, len(rows), step))
    workers = min(parallel_threads(), len(starts) // PARALLEL_MIN_BLOCKS)
    if workers <= 1:
        work(starts)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, [starts[i::workers] for i in range(workers)]))
    return out if temperature is None else (out, mass)
