"""The from-scratch numpy module: right where it works, and honest about where it breaks."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core import cross_entropy_onehot, one_hot, softmax_naive, softmax_stable
from softmax_lab.core.scratch import cross_entropy_recipe


@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=st.floats(-50, 50)
    )
)
def test_both_softmaxes_match_torch_on_moderate_logits(z):
    expected = torch.softmax(torch.tensor(z), dim=-1).numpy()
    np.testing.assert_allclose(softmax_naive(z).value, expected, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(softmax_stable(z).value, expected, rtol=1e-10, atol=1e-300)
    assert softmax_naive(z).ok
    assert softmax_stable(z).ok


def test_naive_softmax_overflows_and_says_where():
    result = softmax_naive(np.array([1000.0, 999.0, 0.0]))
    assert not result.ok
    assert "overflow" in result.problems[0]
    assert "index 0, 1" in result.problems[0]
    assert np.isnan(result.value[:2]).all()
    stable = softmax_stable(np.array([1000.0, 999.0, 0.0]))
    assert stable.ok
    np.testing.assert_allclose(stable.value, torch.softmax(torch.tensor([1000.0, 999, 0]), 0))


def test_float32_overflows_earlier_than_float64():
    assert not softmax_naive(np.array([89.0, 0.0], dtype=np.float32)).ok
    assert softmax_naive(np.array([89.0, 0.0], dtype=np.float64)).ok


def test_stable_softmax_reports_all_minus_inf_rows():
    result = softmax_stable(np.array([[-np.inf, -np.inf], [0.0, 1.0]]))
    assert "NaN at index (0, 0)" in result.problems[0]
    assert np.isfinite(result.value[1]).all()


def test_one_hot_cross_entropy_reports_log_zero():
    result = cross_entropy_onehot(np.array([1, 0]), np.array([0.0, 1.0]))
    assert result.value == np.inf
    assert any("log(0)" in p for p in result.problems)


def test_one_hot_and_recipe():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    logits = np.array([[0.1, 1.0, 2.1], [2.0, 1.0, 0.1]])
    losses, predictions = cross_entropy_recipe(logits, np.array([2, 0]))
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor([2, 0]), reduction="none"
    )
    np.testing.assert_allclose(losses, expected.numpy())
    assert predictions.tolist() == [2, 0]
