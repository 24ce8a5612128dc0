"""The label-free dataset views (core.uncertainty, via core.metrics), with torch as the oracle."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from softmax_lab.core import evaluate
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.metrics import most_uncertain, summarize_predictions
from softmax_lab.core.uncertainty import value_histogram


def unlabelled(logits):
    logits = np.asarray(logits, dtype=np.float64)
    return evaluate(logits, np.full(len(logits), IGNORE_INDEX), dtype="float64")


def torch_stats(logits):
    p = torch.softmax(torch.tensor(logits, dtype=torch.float64), 1)
    top2 = torch.topk(p, 2, dim=1).values
    entropy = torch.special.entr(p).sum(1)
    return p.numpy(), (top2[:, 0] - top2[:, 1]).numpy(), entropy.numpy()


def test_every_number_matches_torch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 7)) * 3
    s = summarize_predictions(unlabelled(logits), k=20)
    p, margin, entropy = torch_stats(logits)
    np.testing.assert_allclose(s.margin, margin, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.entropy, entropy, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(s.predicted_counts, np.bincount(p.argmax(1), minlength=7))
    assert s.confidence_histogram.total == s.entropy_histogram.total == 500
    assert s.mean_confidence == pytest.approx(p.max(1).mean())
    assert s.mean_entropy == pytest.approx(entropy.mean())
    np.testing.assert_array_equal(s.lowest_margin, np.argsort(margin, kind="stable")[:20])
    np.testing.assert_array_equal(s.highest_entropy, np.argsort(-entropy, kind="stable")[:20])
    assert s.max_entropy == pytest.approx(math.log(7))
    # Softmax never gives its top class less than 1/C; entropy lies in [0, log C].
    assert s.confidence_histogram.edges[0] == pytest.approx(1 / 7)
    assert s.entropy_histogram.edges[-1] == pytest.approx(math.log(7))


def test_rows_without_a_prediction_are_left_out_not_nan():
    logits = np.array([[1.0, 2.0], [np.nan, 0.0], [-np.inf, -np.inf], [3.0, -1.0]])
    s = summarize_predictions(unlabelled(logits))
    assert s.n_nonfinite == 2
    assert s.predicted_counts.tolist() == [1, 1]
    assert s.confidence_histogram.total == 2
    assert set(s.lowest_margin.tolist()) == {0, 3}
    assert math.isfinite(s.mean_confidence)
    assert math.isfinite(s.mean_entropy)


def test_labelled_tables_work_too_and_k_is_checked():
    ev = evaluate([[2.0, 1.0, 0.1], [0.0, 0.0, 5.0]], [0, 1])
    s = summarize_predictions(ev, k=1)
    assert s.lowest_margin.size == 1
    assert s.predicted_counts.sum() == 2
    with pytest.raises(ValueError, match="k must be"):
        summarize_predictions(ev, k=-1)


def test_one_class_and_all_bad_rows_do_not_fail():
    s = summarize_predictions(unlabelled([[1.0], [2.0]]))
    assert s.predicted_counts.tolist() == [2]
    assert s.max_entropy == 1.0
    s = summarize_predictions(unlabelled([[np.nan, 1.0]]))
    assert s.n_nonfinite == 1
    assert math.isnan(s.mean_confidence)
    assert s.lowest_margin.size == 0


@given(
    st.lists(st.floats(-1e3, 1e3) | st.just(float("nan")), min_size=1, max_size=60),
    st.integers(0, 10),
    st.booleans(),
)
def test_most_uncertain_orders_finite_values(values, k, highest):
    array = np.array(values)
    chosen = most_uncertain(array, k, highest=highest)
    finite = np.flatnonzero(np.isfinite(array))
    assert len(chosen) == min(k, finite.size)
    assert np.isfinite(array[chosen]).all()
    picked = array[chosen]
    assert np.all(np.diff(picked) <= 0) if highest else np.all(np.diff(picked) >= 0)


def test_value_histogram_clips_into_the_range_and_counts_bad_values():
    h = value_histogram(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]), 0.0, 1.0, 4)
    assert h.counts.tolist() == [2, 0, 1, 2]
    assert h.n_hidden == 1
    assert value_histogram(np.zeros(3), 1.0, 1.0, 2).edges.tolist() == [1.0, 1.5, 2.0]
