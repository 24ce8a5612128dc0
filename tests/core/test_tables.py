"""Markdown and LaTeX exports hold the document's numbers."""

from softmax_lab.core.presets import DEFAULT_PRESET
from softmax_lab.core.tables import results_latex, results_markdown


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
