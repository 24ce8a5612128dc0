"""explain_sample and compare_softmaxes against evaluate(): the panels' numbers are evaluate's."""

import math

import numpy as np
import pytest
from evaluation_cases import problems as evaluation_problems
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core import evaluate
from softmax_lab.core.explain import (
    compare_softmaxes,
    explain_sample,
    max_abs_difference,
    select_classes,
)

TOL = {"float32": {"rtol": 2e-5, "atol": 2e-5}, "float64": {"rtol": 1e-10, "atol": 1e-10}}
# Half types are rounded and divided in half precision, then exponentiated in float32.
TOL["float16"] = TOL["bfloat16"] = TOL["float32"]
DIVISION_RTOL = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 1e-6, "float64": 1e-12}


@st.composite
def problems(draw):
    logits, target, options = draw(
        evaluation_problems(max_samples=5, dtypes=("float16", "bfloat16", "float32", "float64"))
    )
    return logits, target, options, draw(st.integers(0, logits.shape[0] - 1))


@given(problems())
def test_explanation_reproduces_evaluate(problem):
    logits, target, options, index = problem
    ev = evaluate(logits, target, **options)
    expl = explain_sample(ev, logits[index], index)
    tol = TOL[options["dtype"]]

    np.testing.assert_array_equal(expl.probabilities, ev.probabilities_of([index])[0])
    np.testing.assert_allclose(expl.exp_terms / expl.exp_sum, expl.probabilities, **tol)
    np.testing.assert_allclose(np.exp(expl.log_probabilities), expl.probabilities, **tol)
    assert expl.loss == ev.losses[index]
    assert math.isclose(
        expl.loss_terms.sum(), expl.loss, rel_tol=tol["rtol"] * 10, abs_tol=tol["atol"] * 10
    )
    np.testing.assert_allclose(
        expl.scaled,
        expl.z / options["temperature"],
        rtol=DIVISION_RTOL[options["dtype"]],
        atol=1e-7,
    )  # divided in the dtype: subnormals round coarsely
    assert expl.max_scaled == expl.scaled.max()
    assert expl.exp_terms.max() == 1.0
    assert expl.predicted_class == ev.predictions[index]

    if ev.target_kind == "index":
        assert expl.ignored == (target[index] == options["ignore_index"])
        if expl.ignored:
            assert expl.true_class is None
            assert expl.loss == 0
            assert not expl.target_row.any()
            assert expl.sample_weight == 0
        else:
            assert expl.true_class == target[index]
            assert math.isclose(expl.target_row.sum(), 1.0)
            eps = options["label_smoothing"]
            assert math.isclose(expl.target_row[expl.true_class], 1 - eps + eps / logits.shape[1])
    else:
        assert not expl.ignored
        smoothed = target[index] * (1 - options["label_smoothing"])
        smoothed += options["label_smoothing"] / logits.shape[1]
        np.testing.assert_allclose(expl.target_row, smoothed, rtol=1e-6, atol=1e-7)

    if options["weight"] is None:
        assert expl.weight is None
    else:
        np.testing.assert_array_equal(expl.weight, options["weight"])
    assert expl.reduction == options["reduction"]
    if options["reduction"] == "none":
        assert expl.reduced_loss is None
    else:
        assert expl.reduced_loss == ev.loss or (
            math.isnan(expl.reduced_loss) and math.isnan(ev.loss)
        )
    assert expl.denominator == ev.denominator
    assert expl.n_samples == logits.shape[0]
    assert expl.n_counted == int(ev.valid.sum())
    assert not expl.probabilities.flags.writeable


def test_notebook_vector():
    ev = evaluate([[2.0, 1.0, 0.1]], [0])
    expl = explain_sample(ev, np.array([2.0, 1.0, 0.1]), 0)
    assert [round(float(p), 4) for p in expl.probabilities] == [0.6590, 0.2424, 0.0986]
    assert round(expl.loss, 4) == 0.4170
    assert round(expl.reduced_loss, 4) == 0.4170
    assert expl.true_class == 0
    assert expl.max_scaled == 2.0
    assert round(expl.exp_sum, 4) == round(1 + math.exp(-1) + math.exp(-1.9), 4)
    assert expl.loss_terms[1:].tolist() == [0.0, 0.0]
    assert expl.notes == ()
    assert expl.finite


def test_temperature_and_weights_are_written_out():
    ev = evaluate(
        [[2.0, 1.0, 0.1], [0.1, 3.0, 0.1]],
        [0, 1],
        temperature=2.0,
        weight=[2.0, 1.0, 1.0],
        reduction="mean",
    )
    expl = explain_sample(ev, np.array([2.0, 1.0, 0.1]), 0)
    np.testing.assert_allclose(expl.scaled, [1.0, 0.5, 0.05], rtol=1e-6)
    assert expl.sample_weight == 2.0
    assert expl.denominator == 3.0
    assert math.isclose(expl.loss, -2.0 * expl.log_probabilities[0], rel_tol=1e-6)


def test_minus_inf_masks_a_class():
    ev = evaluate([[-np.inf, 1.0, 2.0]], [2])
    expl = explain_sample(ev, np.array([-np.inf, 1.0, 2.0]), 0)
    assert expl.probabilities[0] == 0
    assert expl.exp_terms[0] == 0
    assert np.isfinite(expl.loss)
    assert expl.loss_terms[0] == 0
    assert "masks" in expl.notes[0]
    comparison = compare_softmaxes(
        np.array([-np.inf, 1.0, 2.0]), 1.0, "float32", ev.probabilities_of([0])[0]
    )
    assert comparison.verdicts == ("naive: ok", "stable: ok", "torch: ok")
    assert comparison.agree


def test_soft_target_with_a_masked_class_says_why_torch_gives_nan():
    ev = evaluate([[-np.inf, 1.0, 2.0]], [[0.0, 0.5, 0.5]])
    expl = explain_sample(ev, np.array([-np.inf, 1.0, 2.0]), 0)
    assert math.isnan(expl.loss)
    assert np.isfinite(expl.loss_terms).all()  # 0·(−∞) shown as 0
    assert "0·(−∞) = NaN" in expl.notes[0]


def test_smoothing_onto_a_masked_class_is_infinite():
    ev = evaluate([[-np.inf, 1.0, 2.0]], [1], label_smoothing=0.1)
    expl = explain_sample(ev, np.array([-np.inf, 1.0, 2.0]), 0)
    assert expl.loss == math.inf
    assert expl.loss_terms[0] == math.inf
    assert "∞" in expl.notes[0]


@pytest.mark.parametrize(
    "row", [[np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 0.0]]
)
def test_non_finite_rows_are_explained_not_raised(row):
    ev = evaluate([row], [1])
    expl = explain_sample(ev, np.array(row), 0)
    assert math.isnan(expl.loss)
    assert not expl.finite
    assert "loss is NaN" in expl.notes[0]
    comparison = compare_softmaxes(np.array(row), 1.0, "float32", ev.probabilities_of([0])[0])
    assert comparison.input_problem is not None
    assert comparison.naive_failed
    assert not comparison.agree
    assert all("NaN" in verdict for verdict in comparison.verdicts)


def test_nan_row_gives_the_plain_message():
    ev = evaluate([[np.nan, 1.0, 2.0]], [1])
    expl = explain_sample(ev, np.array([np.nan, 1.0, 2.0]), 0)
    assert expl.notes == ("NaN in the logits → this row's loss is NaN",)


def test_ignored_nan_row_still_adds_zero():
    ev = evaluate([[np.nan, 1.0], [1.0, 2.0]], [-100, 1])
    expl = explain_sample(ev, np.array([np.nan, 1.0]), 0)
    assert expl.ignored
    assert expl.loss == 0
    assert "adds 0" in expl.notes[0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_naive_overflow_is_reported_stable_and_torch_are_fine(dtype):
    row = np.array([1000.0, 999.0, 0.0])
    ev = evaluate([row], [0], dtype=dtype)
    comparison = compare_softmaxes(row, 1.0, dtype, ev.probabilities_of([0])[0])
    assert comparison.naive_verdict == "naive: overflow at logit 1000 (exp = inf) → NaN"
    assert comparison.stable_verdict == "stable: ok"
    assert comparison.torch_verdict == "torch: ok"
    assert comparison.naive_failed
    assert not comparison.agree
    assert comparison.stable_diff <= comparison.tolerance
    assert comparison.naive_diff == math.inf
    assert (comparison.dtype_note is None) == (dtype in ("float32", "float64"))
    if dtype == "bfloat16":
        assert "numpy has no bfloat16" in comparison.dtype_note
        assert comparison.numpy_dtype == "float32"


def test_overflow_at_a_temperature_names_z_over_t():
    row = np.array([100.0, 0.0])
    ev = evaluate([row], [0], temperature=0.5)
    comparison = compare_softmaxes(row, 0.5, "float32", ev.probabilities_of([0])[0])
    assert comparison.naive_verdict.startswith("naive: overflow at z/T = 200 (logit 100")
    assert round(comparison.overflow_limit, 2) == 88.72


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_benign_row_agrees(dtype):
    row = np.array([2.0, 1.0, 0.1])
    ev = evaluate([row], [0], dtype=dtype)
    comparison = compare_softmaxes(row, 1.0, dtype, ev.probabilities_of([0])[0])
    assert comparison.verdicts == ("naive: ok", "stable: ok", "torch: ok")
    assert comparison.agree
    assert not comparison.naive_failed
    assert comparison.max_diff < 1e-6


def test_all_very_negative_underflows_the_naive_one():
    row = np.array([-1000.0, -1000.0])
    ev = evaluate([row], [0])
    comparison = compare_softmaxes(row, 1.0, "float64", ev.probabilities_of([0])[0])
    assert "underflow" in comparison.naive_verdict
    assert comparison.stable_verdict == "stable: ok"


@given(
    hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-40, 40)),
    st.sampled_from([0.5, 1.0, 3.0]),
    st.sampled_from(["float16", "bfloat16", "float32", "float64"]),
)
def test_moderate_rows_agree_everywhere(row, temperature, dtype):
    # The numpy side starts from the z/T torch used, so even half types agree to float32 rounding.
    # |z/T| <= 80 stays under float32's exp overflow at 88.7, so even the naive one is fine.
    ev = evaluate([row], [0], temperature=temperature, dtype=dtype)
    comparison = compare_softmaxes(row, temperature, dtype, ev.probabilities_of([0])[0])
    assert comparison.agree, comparison.verdicts


def test_compare_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dtype"):
        compare_softmaxes(np.zeros(2), 1.0, "int8", np.zeros(2))
    with pytest.raises(ValueError, match="temperature"):
        compare_softmaxes(np.zeros(2), 0.0, "float32", np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        compare_softmaxes(np.zeros(2), 1.0, "float32", np.zeros(3))


def test_explain_rejects_bad_arguments():
    ev = evaluate([[1.0, 2.0]], [0])
    with pytest.raises(IndexError):
        explain_sample(ev, np.array([1.0, 2.0]), 1)
    with pytest.raises(ValueError, match="shape"):
        explain_sample(ev, np.array([1.0, 2.0, 3.0]), 0)


def test_max_abs_difference_is_nan_aware():
    assert max_abs_difference(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) == 0
    assert max_abs_difference(np.array([np.nan, 1.0]), np.array([0.5, 1.0])) == math.inf
    assert max_abs_difference(np.array([np.inf]), np.array([np.inf])) == 0
    assert max_abs_difference(np.array([0.25, 1.0]), np.array([0.5, 1.0])) == 0.25


def test_select_classes_keeps_the_top_and_the_forced():
    score = np.array([0.1, 0.5, np.nan, 0.3, 0.05, 0.05])
    chosen = select_classes(score, 3)
    assert chosen.indices.tolist() == [1, 3, 0]
    assert chosen.n_hidden == 3
    assert math.isnan(chosen.hidden_total)  # a NaN left out is not hidden by the sum
    forced = select_classes(score, 3, include=[5])
    assert forced.indices.tolist() == [1, 3, 5]
    ties = select_classes(np.full(10, np.nan), 3)
    assert ties.indices.tolist() == [0, 1, 2]
    terms = np.array([0.0, 2.0, 0.0, 0.5])
    nonzero = select_classes(np.abs(terms), 1, among=terms != 0, total_of=terms)
    assert nonzero.indices.tolist() == [1]
    assert (nonzero.n_hidden, nonzero.hidden_total) == (1, 0.5)
    nothing = select_classes(np.zeros(3), 2, include=[0], among=np.zeros(3, dtype=bool))
    assert (nothing.indices.tolist(), nothing.n_hidden) == ([], 0)


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.one_of(st.floats(-5, 5), st.just(math.nan), st.sampled_from([0.0, 1.0])),
    ),
    st.integers(0, 12),
    st.lists(st.integers(-3, 45), max_size=3),
)
def test_select_classes_over_every_class_is_the_same_as_over_a_mask_of_all(score, k, include):
    """Every class a candidate (no ``among``: the Formula tab's top classes of a vocabulary)
    takes a path that indexes nothing; it must choose and sum exactly as the masked one."""
    fast = select_classes(score, k, include=include)
    masked = select_classes(score, k, include=include, among=np.ones(score.size, dtype=bool))
    assert fast.indices.tolist() == masked.indices.tolist()
    assert fast.n_hidden == masked.n_hidden
    assert fast.hidden_total == masked.hidden_total or (
        math.isnan(fast.hidden_total) and math.isnan(masked.hidden_total)
    )
    if not include:  # the top k by a stable full sort: highest first, ties by class, NaN last
        key = np.where(np.isnan(score), -np.inf, score)
        assert fast.indices.tolist() == np.argsort(-key, kind="stable")[:k].tolist()


def test_wide_vocabulary_is_selected_without_a_full_table():
    rng = np.random.default_rng(0)
    c = 256_000
    logits = rng.normal(size=(2, c)).astype(np.float32)
    ev = evaluate(logits, [5, 7], label_smoothing=0.1)
    expl = explain_sample(ev, logits[0], 0)
    shown = expl.shown_classes()
    assert len(shown.indices) == 12
    assert 5 in shown.indices.tolist()
    assert shown.n_hidden == c - 12
    assert math.isclose(
        shown.hidden_total + expl.probabilities[shown.indices].sum(), 1.0, rel_tol=1e-4
    )
    terms = expl.shown_loss_terms()
    assert terms.n_hidden == c - 12
    assert math.isclose(
        terms.hidden_total + expl.loss_terms[terms.indices].sum(), expl.loss, rel_tol=1e-4
    )
