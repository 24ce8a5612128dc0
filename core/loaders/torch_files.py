"""PyTorch files (.pt/.pth): a tensor, a dict of named entries, or a (logits, labels) pair.

Read with ``torch.load(weights_only=True)``: anything but tensors and plain containers is
refused instead of running the pickle's code. Files in torch's zip format are memory-mapped
(``mmap=True``), so a 200 MB tensor costs page cache, not a second copy in memory. PyTorch is
imported only when such a file is opened.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.loaders._build import Found, build
from softmax_lab.core.loaders._common import (
    ZIP_MAGICS,
    DataError,
    LoadedLogits,
    check_memory,
    read_head,
    short,
)
from softmax_lab.core.loaders.extras import metadata_array
from softmax_lab.core.loaders.members import gather

NEVER_RUNS_CODE = (
    "not a plain tensor file: it would need to run code to load, which Softmax Lab never does"
)


def load_torch(path: Path, name: str) -> Any:
    """``torch.load`` of ``path``, safely: weights only, memory-mapped when the format allows."""
    try:
        import torch
    except ImportError as exc:
        raise DataError(f"{name}: PyTorch is not installed, so .pt files cannot be read") from exc
    head = read_head(
        path, 4, name
    )  # also surfaces "permission denied" before torch words it its way
    zipped = head.startswith(ZIP_MAGICS)
    if not zipped:  # the legacy format cannot be mapped: it is read into memory
        size = path.stat().st_size
        check_memory(name, 1.3 * size, f"this {size / 1e9:.1f} GB file")
    try:
        # weights_only=True is the whole point: it refuses anything but tensors and plain
        # containers instead of running the pickle's code. Its warnings are about pickle
        # protocols, which mean nothing to our users.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except Exception as exc:  # torch raises many unrelated types here
        raise _torch_load_error(name, exc) from exc


def load_torch_file(path: Path, name: str, source: str) -> LoadedLogits:
    import torch

    obj = load_torch(path, name)
    notices: list[str] = []
    if isinstance(obj, torch.Tensor):
        found = Found(logits=to_numpy(obj, name, "logits", notices), path=path)
    elif isinstance(obj, Mapping):
        keys = list(obj.keys())
        if not all(isinstance(k, str) for k in keys):
            raise DataError(f"{name}: the saved dict must have text keys such as 'logits'")
        if not keys:
            raise DataError(f"{name}: the saved dict is empty")
        found = gather(TorchDict(obj, name, notices), name, notices, path, nested=True)
    elif isinstance(obj, (list, tuple)) and 1 <= len(obj) <= 3:
        found = Found(
            logits=to_numpy(obj[0], name, "logits", notices),
            labels=to_numpy(obj[1], name, "labels", None) if len(obj) > 1 else None,
            class_names=obj[2] if len(obj) > 2 else None,
            path=path,
        )
    else:
        what = f"a Python {type(obj).__name__!r} object"
        if isinstance(obj, (list, tuple)):
            what = f"a {type(obj).__name__} of {len(obj)} items"
        raise DataError(
            f"{name}: holds {what}; expected a tensor, a dict such as "
            "{'logits': ..., 'labels': ...}, or a (logits, labels) pair"
        )
    return build(name, source, found, notices)


class TorchDict:
    """A loaded dict seen as a ``members.Container``."""

    def __init__(self, obj: Mapping[str, Any], name: str, notices: list[str]) -> None:
        self.obj, self.name, self.notices = obj, name, notices

    def keys(self) -> list[str]:
        return list(self.obj.keys())

    def shape(self, key: str) -> tuple[int, ...] | None:
        value = self.obj[key]
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            return tuple(int(d) for d in value.shape)
        column = metadata_array(value) if isinstance(value, (list, tuple)) else None
        return None if column is None else tuple(column.shape)

    def kind(self, key: str) -> str | None:
        import torch

        value = self.obj[key]
        if isinstance(value, torch.Tensor):
            if value.dtype == torch.bool:
                return "b"
            if value.is_complex():
                return "c"
            if value.is_floating_point():
                return "f"
            return "u" if value.dtype == torch.uint8 else "i"
        column = metadata_array(value) if isinstance(value, (list, tuple)) else None
        return None if column is None else column.dtype.kind

    def read(self, key: str, role: str) -> Any:
        import torch

        value = self.obj[key]
        what = role if role in ("logits", "labels") else f"'{key}'"
        if isinstance(value, torch.Tensor) or role in _NUMERIC_ROLES:
            notices = self.notices if role == "logits" else None
            return to_numpy(value, self.name, what, notices)
        if isinstance(value, Mapping):
            return {k: self._plain(v, f"{key}['{k}']") for k, v in value.items()}
        return value

    def _plain(self, value: Any, what: str) -> Any:
        import torch

        return to_numpy(value, self.name, what, None) if isinstance(value, torch.Tensor) else value


# Roles whose entry must be a tensor (or a list of numbers): text there is an error.
_NUMERIC_ROLES = frozenset({"logits", "labels", "tokens", "mask"})


def _torch_load_error(name: str, exc: Exception) -> DataError:
    text = str(exc)
    refused = re.search(r"GLOBAL ([\w.]+)", text)
    if refused:
        return DataError(
            f"{name}: {NEVER_RUNS_CODE} (it refers to {refused.group(1)}). Save plain tensors "
            "instead, e.g. torch.save({'logits': logits, 'labels': labels}, path)"
        )
    if "Weights only load failed" in text:
        # Raised for garbage bytes as well as for pickles using opcodes the safe loader lacks.
        return DataError(
            f"{name}: not a plain tensor file: it is damaged, not a PyTorch file, or would need "
            "to run code to load, which Softmax Lab never does"
        )
    return DataError(
        f"{name}: not a readable PyTorch tensor file; it may be truncated or damaged ({short(exc)})"
    )


def to_numpy(value: Any, name: str, what: str, notices: list[str] | None) -> np.ndarray:
    """A tensor (or a list of numbers) as a numpy array, sharing memory where it can."""
    import torch

    if not isinstance(value, torch.Tensor):
        if isinstance(value, (list, tuple, int, float)):
            return np.asarray(value)
        raise DataError(f"{name}: the {what} are a {type(value).__name__}, not a tensor")
    tensor = value
    if tensor.layout != torch.strided:
        # A 2 KB sparse file can claim 30,000 x 30,000: say how big the table would be, and
        # refuse it if it does not fit, before anything is allocated.
        shape = tuple(int(d) for d in tensor.shape)
        cells = math.prod(shape)
        needed = cells * max(tensor.element_size(), 4) * 1.1
        size = " × ".join(f"{d:,}" for d in shape)
        check_memory(name, needed, f"its sparse {what} as a dense {size} table")
        tensor = tensor.to_dense()
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    if tensor.is_complex():
        raise DataError(f"{name}: the {what} are complex numbers; real numbers are needed")
    if tensor.is_floating_point() and tensor.dtype not in (torch.float32, torch.float64):
        # NumPy has no bfloat16 and float16 maths is slow and overflows; float32 is exact for both.
        if notices is not None:
            notices.append(f"{torch_dtype_name(tensor.dtype)} {what} converted to float32")
        tensor = tensor.float()
    # force=True detaches, moves to CPU and resolves conjugate/negative views.
    return tensor.numpy(force=True)


def torch_dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")
