"""The formula and from-scratch panels write out exactly the numbers core.explain computed."""

import math

import numpy as np
import pytest

from softmax_lab.core import evaluate
from softmax_lab.core import formatting as fmt
from softmax_lab.core.explain import compare_softmaxes, explain_sample
from softmax_lab.gui.explain import FormulaPanel, ScratchPanel, format_number
from softmax_lab.gui.theme import DARK, LIGHT

format_difference = fmt.difference

NAMES = ["cat", "dog", "bird"]


def explained(logits, target, index=0, **options):
    logits = np.asarray(logits, dtype=np.float64)
    ev = evaluate(logits, target, **options)
    return explain_sample(ev, logits[index], index)


def compared(row, dtype="float32", temperature=1.0):
    row = np.asarray(row, dtype=np.float64)
    ev = evaluate([row], [0], dtype=dtype, temperature=temperature)
    return compare_softmaxes(row, temperature, dtype, ev.probabilities_of([0])[0])


@pytest.fixture
def formula(qtbot):
    panel = FormulaPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 360)
    return panel


@pytest.fixture
def scratch(qtbot):
    panel = ScratchPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 360)
    return panel


def test_panels_spell_numbers_as_everywhere_else():
    assert format_number(0.65900117) == fmt.number(0.65900117) == "0.6590"
    assert format_number(-math.inf) == "−∞"


def test_empty_panels_invite_a_selection(formula, scratch):
    assert "Select a sample" in formula.text()
    assert "Select a sample" in scratch.text()
    assert not scratch.warning_visible()


def test_notebook_vector_is_written_out(formula):
    formula.set_explanation(explained([[2.0, 1.0, 0.1]], [0]), NAMES)
    text = formula.text()
    for number in ("0.6590", "0.2424", "0.0986", "0.4170", "2.0000", "0.3679"):
        assert number in text
    assert "Σj = 1.5174" in text.replace("\n", " ")
    assert "−log 0.6590 = 0.4170" in text
    assert "y = cat (class 0)" in text
    assert "mean over 1 sample (÷ 1) = 0.4170" in text
    assert "z/T" not in text.split("Softmax")[1].split("class")[1]  # no z/T column at T = 1


def test_temperature_smoothing_and_weights(formula):
    logits = [[2.0, 1.0, 0.1], [0.1, 3.0, 0.1]]
    expl = explained(logits, [0, 1], temperature=2.0, label_smoothing=0.1, weight=[2.0, 1.0, 0.5])
    formula.set_explanation(expl, NAMES)
    text = formula.text()
    assert "T = 2" in text
    assert "0.0500" in text  # z/T of bird
    assert "ε = 0.1, C = 3" in text
    assert "−Σc wc qc log pc" in text
    for i in range(3):
        assert format_number(expl.loss_terms[i]) in text
        assert format_number(expl.target_row[i]) in text
    assert f"= {format_number(expl.loss)}" in text
    assert f"mean over 2 samples (÷ Σ weights = 3) = {format_number(expl.reduced_loss)}" in text


def test_weighted_hard_label(formula):
    expl = explained([[2.0, 1.0, 0.1]], [0], weight=[2.0, 1.0, 1.0], reduction="sum")
    formula.set_explanation(expl, NAMES)
    text = formula.text()
    assert "= 2 · (−log 0.6590) = 0.8341" in text
    assert "sum over 1 sample = 0.8341" in text


def test_soft_target_and_no_reduction(formula):
    expl = explained(
        [[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]], [[0.5, 0.5, 0.0], [1.0, 0, 0]], reduction="none"
    )
    formula.set_explanation(expl, NAMES)
    text = formula.text()
    assert "q = the target distribution" in text
    assert "bird" in text.split("Loss")[1] or expl.loss_terms[2] == 0
    assert (
        f"none: per-sample losses, no reduction; this sample's is {format_number(expl.loss)}"
        in text
    )


def test_ignored_row(formula):
    expl = explained([[2.0, 1.0, 0.1], [0.5, 0.2, 2.0]], [-100, 1])
    formula.set_explanation(expl, NAMES)
    text = formula.text()
    assert "This sample is ignored (label = ignore_index = −100): it adds 0 to the loss" in text
    assert "mean over 1 of 2 samples, 1 ignored (÷ 1)" in text
    assert "−log" not in text


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([math.nan, 1.0, 2.0], "NaN in the logits → this row's loss is NaN"),
        ([-math.inf, -math.inf, -math.inf], "every logit is −∞"),
        ([math.inf, 0.0, 0.0], "a logit of +∞"),
    ],
)
def test_non_finite_rows_are_said_plainly(formula, scratch, row, message):
    formula.set_explanation(explained([row], [1]), NAMES)
    assert message in formula.text()
    assert "ŷ" not in formula.text().split("class")[1].split("Σ")[0]  # no argmax of NaN
    scratch.set_comparison(compared(row), NAMES)
    assert scratch.warning_visible()
    assert "every method gives NaN" in scratch.text()


def test_masked_class_is_explained(formula, scratch):
    formula.set_explanation(explained([[-math.inf, 1.0, 2.0]], [2]), NAMES)
    assert "masks its class" in formula.text()
    assert "−∞" in formula.text()
    scratch.set_comparison(compared([-math.inf, 1.0, 2.0]), NAMES)
    assert not scratch.warning_visible()


def test_wide_vocabulary_shows_a_few_classes(formula, scratch):
    c = 256_000
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1, c)) * 3
    names = [f"tok{i}" for i in range(c)]
    expl = explained(logits, [5], label_smoothing=0.1)
    formula.set_explanation(expl, names)
    text = formula.text()
    assert f"… and {c - 12:,} more classes" in text
    assert f"… and {c - 12:,} more terms" in text
    assert "tok5" in text  # the true class is always shown
    assert len(text) < 4000
    ev = evaluate(logits, [5])
    scratch.set_comparison(
        compare_softmaxes(logits[0], 1.0, "float32", ev.probabilities_of([0])[0]), names
    )
    assert f"… and {c - 12:,} more classes" in scratch.text()
    assert len(scratch.text()) < 2000


def test_scratch_warns_when_the_naive_softmax_overflows(scratch):
    scratch.set_comparison(compared([1000.0, 999.0, 0.0]), NAMES)
    assert scratch.warning_visible()
    text = scratch.text()
    assert "⚠" in text
    assert "naive: overflow at logit 1000 (exp = inf) → NaN" in text
    assert "stable: ok" in text
    assert "torch: ok" in text
    assert "0.7311" in text


def test_scratch_agrees_on_a_benign_row(scratch):
    scratch.set_comparison(compared([1000.0, 999.0, 0.0]), NAMES)
    scratch.set_comparison(compared([2.0, 1.0, 0.1]), NAMES)
    assert not scratch.warning_visible()
    text = scratch.text()
    assert "All three agree (max diff" in text
    assert "try logits like 1000, 999, 0" in text.lower()
    assert text.count("0.6590") == 3


def test_scratch_says_numpy_has_no_bfloat16(scratch):
    scratch.set_comparison(compared([2.0, 1.0, 0.1], dtype="bfloat16"), NAMES)
    assert "numpy has no bfloat16" in scratch.text()
    assert not scratch.warning_visible()


def test_clearing_hides_the_warning(scratch):
    scratch.set_comparison(compared([1000.0, 999.0, 0.0]), NAMES)
    scratch.set_comparison(None, NAMES)
    assert not scratch.warning_visible()


def test_theme_and_font_scale(formula, scratch):
    formula.set_explanation(explained([[2.0, 1.0, 0.1]], [0]), NAMES)
    size = formula.font().pointSizeF()
    formula.set_font_scale(2.0)
    assert formula.font().pointSizeF() == pytest.approx(2 * size)
    formula.set_theme(DARK)  # the theme's own scale (1.0) takes over
    assert formula.font().pointSizeF() == pytest.approx(size)
    assert "0.4170" in formula.text()
    formula.set_font_scale(math.nan)  # ignored, never a Qt warning
    scratch.set_comparison(compared([1000.0, 999.0, 0.0]), NAMES)
    scratch.set_theme(LIGHT.scaled(1.5))
    assert scratch.font().pointSizeF() == pytest.approx(1.5 * size)
    assert scratch.warning_visible()


def test_panels_render_to_an_image(formula, scratch, tmp_path):
    formula.set_explanation(explained([[2.0, 1.0, 0.1]], [0]), NAMES)
    scratch.set_comparison(compared([1000.0, 999.0, 0.0]), NAMES)
    for name, panel in (("formula", formula), ("scratch", scratch)):
        image = panel.grab()
        assert (image.width(), image.height()) == (420, 360)
        assert image.save(str(tmp_path / f"{name}.png"))
