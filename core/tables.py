"""The results table as text: Markdown and LaTeX for slides and papers, from one evaluation."""

from __future__ import annotations

from softmax_lab.core.document import Document
from softmax_lab.core.formatting import number

MAX_ROWS = 200


def _rows(document: Document) -> tuple[list[str], list[list[str]]]:
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
    header, rows = _rows(document)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def results_latex(document: Document) -> str:
    """A LaTeX tabular of the same table (booktabs rules)."""
    header, rows = _rows(document)

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
