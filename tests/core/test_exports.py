"""core.exports: 'Copy as PyTorch code' produces a script that prints the same loss as the
document; the Markdown and LaTeX tables hold the document's numbers."""

import subprocess
import sys

import numpy as np
import pytest

from softmax_lab.core.document import Document, Settings
from softmax_lab.core.exports import pytorch_snippet, results_latex, results_markdown
from softmax_lab.core.presets import DEFAULT_PRESET


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(temperature=0.5, label_smoothing=0.2, weight=(1.0, 2.0, 0.5), reduction="sum"),
        Settings(target_mode="probability", dtype="float64"),
        Settings(reduction="none"),
    ],
)
def test_snippet_runs_and_prints_the_same_loss(settings):
    doc = Document(
        [[0.1, 1.0, 2.1], [2.0, -np.inf, 0.1], [0.1, 3.0, 0.1]], [2, 0, 1], settings=settings
    )
    if settings.target_mode == "probability":
        doc.set_soft_targets([0], [0, 1, 2], [[0.2, 0.3, 0.5]])
    code = pytorch_snippet(doc)
    script = code.replace("print(loss)", "print(repr(loss.detach().double().tolist()))")
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()[0]
    # A float or a list of floats, as Python prints them (nan and inf included).
    printed = np.array(eval(out, {"nan": np.nan, "inf": np.inf}), dtype=float)
    np.testing.assert_allclose(
        printed, np.asarray(doc.evaluation.loss, dtype=float), rtol=1e-5, equal_nan=True
    )


def test_too_large_tables_are_refused():
    with pytest.raises(ValueError, match="too large"):
        pytorch_snippet(Document(np.zeros((1000, 100)), np.zeros(1000, dtype=int)))


def test_markdown_has_every_row_and_the_losses():
    doc = DEFAULT_PRESET.new_document()
    text = results_markdown(doc)
    lines = text.strip().splitlines()
    assert lines[0] == "| sample | class 0 | class 1 | class 2 | label | pred | p(true) | loss |"
    assert len(lines) == 2 + 3
    assert f"{doc.evaluation.losses[0]:.4f}" in lines[2]


def test_latex_escapes_and_rules():
    doc = DEFAULT_PRESET.new_document()
    doc.rename_class(0, "a_b & c")
    text = results_latex(doc)
    assert r"a\_b \& c" in text
    assert text.startswith(r"\begin{tabular}{rrrrllrr}")
    assert text.count(r"\\") == 4


def test_results_columns_hold_torchs_numbers_in_order():
    import torch
    import torch.nn.functional as F

    from softmax_lab.core.exports import results_columns

    doc = Document([[2.0, 0.5, -1.0], [0.1, 1.5, 0.2], [np.nan, 0.0, 0.0]], [0, 2, 1])
    columns = results_columns(doc.evaluation, ["cat", "dog", "eel"])
    assert list(columns) == [
        "label", "predicted", "predicted_name", "correct", "loss",
        "p_true", "confidence", "margin", "entropy",
    ]  # fmt: skip
    expected = F.cross_entropy(torch.tensor(doc.logits[:2]), torch.tensor([0, 2]), reduction="none")
    np.testing.assert_allclose(columns["loss"][:2], expected.numpy(), rtol=1e-6)
    assert list(columns["predicted_name"]) == ["cat", "dog", ""]  # NaN row: no prediction
    assert list(columns["correct"][:2]) == [True, False]
