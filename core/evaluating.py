"""Softmax, cross-entropy and predictions for a table of logits, with torch's exact semantics.

``evaluate`` is ``torch.nn.functional.cross_entropy(logits / T, target, ...)`` plus every
per-sample statistic the views need, computed over row blocks so that a 50,000 x 1,000 table never
materialises a full (N, C) temporary: it checks its arguments, runs the fused pass of
:mod:`core.kernels` (falling back to the CPU when a device runs out of memory) and returns an
:class:`~core.evaluation.Evaluation`, whose (N, C) results are computed on access.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from softmax_lab.core import constants
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.devices import dtype_name, resolve_device, resolve_dtype
from softmax_lab.core.evaluation import Evaluation, Options, assemble, to_tensor
from softmax_lab.core.kernels import row_stats
from softmax_lab.core.settings import check_settings


def _host(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array to check, without copying a CPU tensor.

    O(N) checks run in numpy: a torch op over 50,000 labels is split over torch's threads, and
    on a busy machine waiting for the second thread costs milliseconds per op.
    """
    tensor = tensor.detach().cpu()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.double()
    return tensor.numpy()


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
    checked = check_settings(
        {
            "reduction": reduction,
            "temperature": temperature,
            "label_smoothing": label_smoothing,
            "ignore_index": ignore_index,
        }
    )
    reduction, temperature = checked["reduction"], checked["temperature"]
    label_smoothing, ignore_index = checked["label_smoothing"], checked["ignore_index"]

    x = to_tensor(logits, "logits")
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples x classes), got shape {tuple(x.shape)}")
    n, c = x.shape
    if n == 0 or c == 0:
        raise ValueError(f"logits table is empty (shape {n} x {c})")

    t = to_tensor(target, "target")
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
        w = to_tensor(weight, "weight").to(torch.float64).flatten()
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

    arrays = row_stats(x, t, soft, w, options, block_rows)
    return _finish(arrays, x, t, soft, w, options, device, fallback, dtype, block_rows, readonly)


def _finish(
    arrays: dict[str, np.ndarray],
    x: torch.Tensor,
    t: torch.Tensor,
    soft: bool,
    w: torch.Tensor | None,
    options: Options,
    device: torch.device,
    fallback: str | None,
    dtype: torch.dtype,
    block_rows: int,
    readonly: bool,
) -> Evaluation:
    """The evaluation of the whole table ``x`` from its per-row statistics ``arrays``."""
    if soft:
        denominator = float(x.shape[0])
    else:
        targets = arrays["targets"]
        valid = targets != options.ignore_index
        if w is None:
            denominator = float(np.count_nonzero(valid))
        else:
            denominator = float(_host(w)[targets[valid]].sum())

    return assemble(
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


def evaluate_appended(previous: Evaluation, logits: Any, target: Any, **options: Any) -> Evaluation:
    """``evaluate(logits, target, **options)`` when the first ``previous.n_samples`` rows of
    ``logits`` and ``target`` are the ones ``previous`` evaluated (a generation's table one
    step on): only the rows after them go through the pass, the others' statistics are reused,
    and the result is what ``evaluate`` gives. The caller vouches for the first rows (checking
    them would cost the pass it saves). Where reuse would not be exact — probability targets,
    other options, another device or dtype, no new rows — the whole table is evaluated."""
    n = previous.n_samples
    x = to_tensor(logits, "logits")
    t = to_tensor(target, "target")
    if (
        x.ndim != 2
        or t.ndim != 1
        or x.shape[0] <= n
        or t.shape[0] != x.shape[0]
        or x.shape[1] != previous.n_classes
    ):
        return evaluate(logits, target, **options)
    try:
        tail = evaluate(x[n:], t[n:], **options)
    except ValueError:
        return evaluate(logits, target, **options)  # its message names the row in the table
    kept = previous._labels
    same = (
        kept is not None
        and tail._labels is not None
        and tail.target_kind == previous.target_kind == "index"
        and tail.device == previous.device == "cpu"
        and tail.dtype == previous.dtype
        and tail._arrays.keys() == previous._arrays.keys()
        and tail.options.same_as(previous.options)
    )
    if not same:
        return evaluate(logits, target, **options)
    assert kept is not None
    assert tail._labels is not None
    arrays = {
        key: np.concatenate([previous._arrays[key], tail._arrays[key]]) for key in tail._arrays
    }
    torch_dtype = resolve_dtype(previous.dtype)
    whole = x.to(dtype=torch_dtype)
    readonly = (
        isinstance(logits, np.ndarray)
        and not logits.flags.writeable
        and whole.data_ptr() == x.data_ptr()
    )
    return _finish(
        arrays,
        whole,
        torch.cat([kept, tail._labels]),
        False,
        previous._weight,
        previous.options,
        torch.device("cpu"),
        previous.device_fallback,
        torch_dtype,
        constants.block_rows(int(x.shape[1]), accelerator=False),
        readonly,
    )
