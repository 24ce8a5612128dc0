"""'Copy as PyTorch code' produces a script that prints the same loss as the document."""

import subprocess
import sys

import numpy as np
import pytest

from softmax_lab.core.document import Document, Settings
from softmax_lab.core.snippet import pytorch_snippet


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
