"""What the window exports besides files of logits: the per-sample results as named columns
(File › Export results, the table's copy commands, the Python API), the results table as
Markdown or LaTeX, and "Copy as PyTorch code"."""

from __future__ import annotations

import math

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Document
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.formatting import number

__all__ = ["pytorch_snippet", "results_columns", "results_latex", "results_markdown"]

# --- results as columns -------------------------------------------------------------------------


def results_columns(ev: Evaluation, class_names: list[str]) -> dict[str, np.ndarray]:
    """Label, prediction (index and name), correctness, loss, p(true), confidence, margin and
    entropy per sample, in that order. Ignored samples keep their label (the ignore index) and
    a loss of 0, as torch reports them; a row without a prediction (NaN logits) has no name."""
    names = np.asarray(class_names, dtype=object)
    finite_prediction = np.isfinite(ev.confidence)
    predicted_name = np.where(finite_prediction, names[ev.predictions], "")
    return {
        "label": ev.targets,
        "predicted": ev.predictions,
        "predicted_name": predicted_name,
        "correct": ev.correct,
        "loss": ev.losses,
        "p_true": ev.p_true,
        "confidence": ev.confidence,
        "margin": ev.margin,
        "entropy": ev.entropy,
    }


# --- the results table as Markdown and LaTeX ----------------------------------------------------

MAX_ROWS = 200
"""The Markdown and LaTeX tables hold the first this many samples."""


def _table_rows(document: Document) -> tuple[list[str], list[list[str]]]:
    ev = document.evaluation
    names = document.class_names
    header = ["sample", *names, "label", "pred", "p(true)", "loss"]
    rows = []
    for i in range(min(document.n_samples, MAX_ROWS)):
        label = names[int(ev.targets[i])] if ev.valid[i] else "ignored"
        rows.append(
            [
                str(i),
                *(number(float(v)) for v in document.logits[i]),
                label,
                names[int(ev.predictions[i])],
                number(float(ev.p_true[i])),
                number(float(ev.losses[i])),
            ]
        )
    return header, rows


def results_markdown(document: Document) -> str:
    """A Markdown table of logits and per-sample results (first MAX_ROWS rows)."""
    header, rows = _table_rows(document)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def results_latex(document: Document) -> str:
    """A LaTeX tabular of the same table (booktabs rules)."""
    header, rows = _table_rows(document)

    def esc(text: str) -> str:
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("_", r"\_"),
            ("#", r"\#"),
            ("$", r"\$"),
            ("{", r"\{"),
            ("}", r"\}"),
        ):
            text = text.replace(a, b)
        return text

    spec = "r" * (len(header) - 4) + "llrr"
    lines = [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(esc(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(esc(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# --- "Copy as PyTorch code" ---------------------------------------------------------------------

MAX_CELLS = 20_000
"""Tables above this many cells are too large to copy as code."""


def _literal(v: float) -> str:
    if math.isnan(v):
        return 'float("nan")'
    if math.isinf(v):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(float(v))


def _matrix(array: np.ndarray, indent: str) -> str:
    rows = (f"{indent}    [{', '.join(_literal(float(v)) for v in row)}]," for row in array)
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
        weights = ", ".join(_literal(w) for w in s.weight)
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
