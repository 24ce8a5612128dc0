"""'Copy as PyTorch code': a short runnable script that recomputes the window's loss."""

from __future__ import annotations

import math

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Document

MAX_CELLS = 20_000


def _number(v: float) -> str:
    if math.isnan(v):
        return 'float("nan")'
    if math.isinf(v):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(float(v))


def _matrix(array: np.ndarray, indent: str) -> str:
    rows = (f"{indent}    [{', '.join(_number(float(v)) for v in row)}]," for row in array)
    return "[\n" + "\n".join(rows) + f"\n{indent}]"


def pytorch_snippet(document: Document) -> str:
    """Python source that rebuilds the logits and targets and prints the same loss.

    Raises ``ValueError`` for tables too large to be useful as code (save the logits instead).
    """
    n, c = document.logits.shape
    if n * c > MAX_CELLS:
        raise ValueError(
            f"{n} x {c} is too large to copy as code: save the logits as .npz "
            f"and load them with numpy instead"
        )
    s = document.settings
    dtype = f"torch.{s.dtype}"
    lines = [
        "import torch",
        "import torch.nn as nn",
        "",
        f"logits = torch.tensor({_matrix(document.logits, '')}, dtype={dtype})",
    ]
    if s.target_mode == "probability" and document.soft_targets is not None:
        lines.append(
            f"target = torch.tensor({_matrix(document.soft_targets, '')}, "
            f"dtype={dtype})  # class probabilities (soft labels)"
        )
    else:
        labels = ", ".join(str(int(v)) for v in document.labels)
        lines.append(f"target = torch.tensor([{labels}])  # class indices")
    args = []
    if s.weight is not None:
        weights = ", ".join(_number(w) for w in s.weight)
        args.append(f"weight=torch.tensor([{weights}], dtype={dtype})")
    if s.ignore_index != IGNORE_INDEX:
        args.append(f"ignore_index={s.ignore_index}")
    args.append(f'reduction="{s.reduction}"')
    if s.label_smoothing:
        args.append(f"label_smoothing={s.label_smoothing!r}")
    lines += [
        f"temperature = {s.temperature!r}",
        "",
        "# CrossEntropyLoss takes raw logits: it applies log-softmax itself.",
        f"loss_fn = nn.CrossEntropyLoss({', '.join(args)})",
        "loss = loss_fn(logits / temperature, target)",
        "probabilities = torch.softmax(logits / temperature, dim=1)",
        "_, predictions = torch.max(logits, 1)",
        "print(loss)",
        "print(predictions)",
    ]
    return "\n".join(lines) + "\n"
