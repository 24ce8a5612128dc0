"""core.metrics against hand-computed numbers, plain loops and torch (topk, cross_entropy)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import softmax_lab.core.metrics as metrics
from softmax_lab.core import constants, evaluate
from softmax_lab.core.metrics import (
    LABEL_ISSUE_METHOD,
    confusion_matrix,
    label_issue_ranking,
    most_confused_classes,
    per_class,
    reliability,
    row_normalized,
    summarize,
    suspected_label_issues,
    top_k_accuracy,
)


def _dataset(n=300, c=7, seed=0, scale=2.0):
    """Logits and labels drawn from softmax(logits): a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, scale, (n, c))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, y


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so streaming code crosses many block boundaries."""
    monkeypatch.setattr(constants, "CPU_BLOCK_ELEMENTS", 300)


# --------------------------------------------------------------------------------------------
# confusion matrix


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    targets = np.array([0, 0, 1, 2, 2, 2, -100, 1])
    preds = np.array([0, 1, 1, 2, 0, 2, 1, 1])
    m = confusion_matrix(targets, preds, 3)
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    np.testing.assert_array_equal(m, expected)
    assert m.dtype == np.int64
    valid = np.array([True, True, False, True, True, True, False, True])
    np.testing.assert_array_equal(
        confusion_matrix(targets, preds, 3, valid), [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    )


def test_confusion_matrix_matches_a_loop_at_a_thousand_classes():
    rng = np.random.default_rng(1)
    n, c = 5000, 1000
    targets = rng.integers(0, c, n)
    preds = np.where(rng.random(n) < 0.7, targets, rng.integers(0, c, n))
    m = confusion_matrix(targets, preds, c)
    expected = np.zeros((c, c), dtype=np.int64)
    np.add.at(expected, (targets, preds), 1)
    np.testing.assert_array_equal(m, expected)
    assert m.sum() == n


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros(3), np.zeros(4), 2), "4 entries"),
        ((np.zeros((3, 1)), np.zeros(3), 2), "1-D"),
        ((np.zeros(3), np.zeros(3), 0), "positive"),
        ((np.zeros(3), np.array([0, 5, 1]), 2), "prediction 5 at row 1"),
        ((np.array([0.5, 1, 1]), np.zeros(3), 2), "whole numbers"),
        ((np.zeros(3), np.zeros(3), 2, np.ones(3)), "boolean"),
        ((np.array([0, -100, 1]), np.zeros(3), 2, np.ones(3, bool)), "target -100 at row 1"),
        ((np.zeros(3), np.zeros(3), 5000), "limit"),
    ],
)
def test_confusion_matrix_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(*args)


def test_row_normalized_rows_sum_to_one_and_empty_rows_stay_zero():
    m = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    r = row_normalized(m)
    np.testing.assert_allclose(r, [[0.75, 0.25, 0], [0, 0, 0], [0.25, 0.25, 0.5]])
    with pytest.raises(ValueError, match="square"):
        row_normalized(np.zeros((2, 3)))


def test_most_confused_classes_ranks_errors_in_and_out():
    m = np.diag([50, 50, 50, 50, 50])
    m[3, 1] = 7  # class 3 and class 1 confused 7 times
    m[4, 0] = 2
    np.testing.assert_array_equal(most_confused_classes(m, 2), [1, 3])
    np.testing.assert_array_equal(most_confused_classes(m, 3), [0, 1, 3])  # tie 0/4: lower
    np.testing.assert_array_equal(most_confused_classes(m, 10), np.arange(5))


# --------------------------------------------------------------------------------------------
# reliability


def test_reliability_by_hand_four_samples_two_bins():
    conf = np.array([0.2, 0.4, 0.6, 0.9])
    correct = np.array([False, True, True, False])
    r = reliability(conf, correct, n_bins=2)
    np.testing.assert_allclose(r.bin_edges, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(r.bin_count, [2, 2])
    np.testing.assert_allclose(r.bin_confidence, [0.3, 0.75])
    np.testing.assert_allclose(r.bin_accuracy, [0.5, 0.5])
    # |0.5 - 0.3| * 2/4 + |0.5 - 0.75| * 2/4
    assert r.ece == pytest.approx(0.225, abs=1e-15)
    assert r.mce == pytest.approx(0.25, abs=1e-15)
    assert r.n == 4


def test_reliability_bins_are_left_open_and_the_first_holds_zero():
    conf = np.array([0.0, 0.5, 0.5000001, 1.0, 0.25])
    correct = np.array([True, False, True, True, False])
    r = reliability(conf, correct, n_bins=4)
    # (0, .25] gets 0 and 0.25; (.25, .5] gets 0.5; (.5, .75] gets 0.5000001; (.75, 1] gets 1.
    np.testing.assert_array_equal(r.bin_count, [2, 1, 1, 1])
    np.testing.assert_allclose(r.bin_accuracy, [0.5, 0.0, 1.0, 1.0])


def test_reliability_leaves_out_invalid_and_non_finite_rows_and_marks_empty_bins():
    conf = np.array([0.9, np.nan, 0.95, 0.3])
    correct = np.array([True, False, False, True])
    valid = np.array([True, True, True, False])
    r = reliability(conf, correct, valid, n_bins=5)
    np.testing.assert_array_equal(r.bin_count, [0, 0, 0, 0, 2])
    assert np.isnan(r.bin_accuracy[:4]).all()
    assert np.isnan(r.bin_confidence[:4]).all()
    assert r.bin_accuracy[4] == 0.5
    assert r.ece == pytest.approx(abs(0.5 - 0.925))
    assert r.mce == pytest.approx(abs(0.5 - 0.925))
    empty = reliability(np.array([np.nan]), np.array([False]))
    assert empty.n == 0
    assert math.isnan(empty.ece)
    assert math.isnan(empty.mce)


def test_reliability_rejects_bad_input():
    with pytest.raises(ValueError, match="n_bins"):
        reliability([0.5], [True], n_bins=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability([1.5], [True])
    with pytest.raises(ValueError, match="2 entries"):
        reliability([0.5], [True, False])


# --------------------------------------------------------------------------------------------
# top-k accuracy


@pytest.mark.usefixtures("small_blocks")
def test_top_k_accuracy_matches_torch_topk():
    z, y = _dataset(n=101, c=9, seed=2)
    y = y.copy()
    y[[3, 50]] = -100
    labelled = y != -100
    for k in (1, 2, 5):
        top = torch.topk(torch.from_numpy(z), k, dim=1).indices.numpy()
        expected = (top == y[:, None]).any(1)[labelled].mean()
        assert top_k_accuracy(z, y, k) == pytest.approx(expected, abs=1e-15)
        ev = evaluate(z, y)
        assert top_k_accuracy(ev, None, k) == pytest.approx(expected, abs=1e-15)
    assert top_k_accuracy(evaluate(z, y), None, 1) == pytest.approx(evaluate(z, y).accuracy)
    assert top_k_accuracy(z, y, 50) == 1.0


@pytest.mark.usefixtures("small_blocks")
def test_top_k_accuracy_counts_non_finite_rows_as_wrong_like_accuracy():
    z, y = _dataset(n=40, c=5, seed=3)
    z[4] = np.nan
    z[7] = -np.inf
    z[9, 0] = -np.inf  # a masked class is fine
    ev = evaluate(z, y)
    assert top_k_accuracy(ev, None, 1) == pytest.approx(ev.accuracy)
    assert top_k_accuracy(z, y, 5) == pytest.approx(38 / 40)
    assert top_k_accuracy(ev, None, 5) == pytest.approx(38 / 40)


def test_top_k_accuracy_rejects_bad_input():
    z, y = _dataset(n=4, c=3)
    with pytest.raises(ValueError, match="positive"):
        top_k_accuracy(z, y, 0)
    with pytest.raises(ValueError, match="targets are needed"):
        top_k_accuracy(z, None, 1)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        top_k_accuracy(z[0], y, 1)
    with pytest.raises(ValueError, match="3 entries"):
        top_k_accuracy(z, y[:3], 1)
    assert math.isnan(top_k_accuracy(z, np.full(4, -100), 1))


# --------------------------------------------------------------------------------------------
# per class


def test_per_class_matches_loops():
    rng = np.random.default_rng(4)
    n, c = 200, 6
    targets = rng.integers(0, c - 1, n)  # class 5 never occurs as a target
    preds = np.where(rng.random(n) < 0.6, targets, rng.integers(0, c - 2, n))
    losses = rng.random(n)
    valid = rng.random(n) < 0.9
    pc = per_class(targets, preds, losses, valid, c)
    for k in range(c):
        rows = valid & (targets == k)
        predicted = valid & (preds == k)
        assert pc.count[k] == rows.sum()
        assert pc.predicted_count[k] == predicted.sum()
        if rows.any():
            assert pc.accuracy[k] == pytest.approx((preds[rows] == k).mean())
            assert pc.mean_loss[k] == pytest.approx(losses[rows].mean())
        else:
            assert np.isnan(pc.accuracy[k])
            assert np.isnan(pc.mean_loss[k])
        if predicted.any():
            assert pc.precision[k] == pytest.approx((targets[predicted] == k).mean())
        else:
            assert np.isnan(pc.precision[k])
    np.testing.assert_array_equal(pc.recall, pc.accuracy)
    worst = pc.worst(3)
    assert len(worst) == 3
    assert 5 not in pc.worst(10)
    assert np.all(np.diff(pc.accuracy[worst]) >= 0)


def test_per_class_worst_breaks_accuracy_ties_by_mean_loss():
    targets = np.array([0, 1, 2, 2])
    preds = np.array([1, 0, 2, 2])
    losses = np.array([1.0, 3.0, 0.1, 0.2])
    pc = per_class(targets, preds, losses, None, 3)
    np.testing.assert_array_equal(pc.worst(), [1, 0, 2])


# --------------------------------------------------------------------------------------------
# label issues


def test_label_issue_ranking_is_self_confidence_lowest_first_with_unusable_rows_last():
    z, y = _dataset(n=60, c=4, seed=5)
    y = y.copy()
    y[10] = -100
    z[20] = np.nan
    ev = evaluate(z, y)
    order = label_issue_ranking(ev)
    assert sorted(order.tolist()) == list(range(60))
    np.testing.assert_array_equal(order[-2:], [10, 20])
    scores = ev.p_true[order[:-2]]
    assert np.all(np.diff(scores) >= 0)
    p = torch.softmax(torch.from_numpy(z), 1).numpy()
    np.testing.assert_allclose(
        scores, p[order[:-2], y[order[:-2]]], rtol=1e-5
    )  # p(given label), as torch computes it
    assert "self_confidence" in LABEL_ISSUE_METHOD

    issues = suspected_label_issues(ev, k=5)
    assert [i.index for i in issues] == order[:5].tolist()
    first = issues[0]
    assert first.given == y[first.index]
    assert first.predicted == ev.predictions[first.index]
    assert first.p_given == pytest.approx(ev.p_true[first.index])
    assert first.confidence == pytest.approx(ev.confidence[first.index])
    assert len(suspected_label_issues(ev, k=500)) == 58  # unusable rows are never suggested
    with pytest.raises(ValueError, match="non-negative"):
        suspected_label_issues(ev, k=-1)


# --------------------------------------------------------------------------------------------
# summary


def test_summarize_agrees_with_the_evaluation_and_the_parts(monkeypatch):
    z, y = _dataset(n=120, c=6, seed=6)
    y = y.copy()
    y[:3] = -100
    z[5] = np.nan
    weight = np.linspace(0.5, 2.0, 6)
    ev = evaluate(z, y, weight=weight)
    s = summarize(ev)
    assert s.n_samples == 120
    assert s.n_valid == 117
    assert s.n_nonfinite == 1
    assert s.accuracy == ev.accuracy
    assert s.top_k == 5
    assert s.top_k_accuracy == top_k_accuracy(z, y, 5)
    counted = ev.valid & ev.finite
    np.testing.assert_array_equal(s.confusion, confusion_matrix(y, ev.predictions, 6, counted))
    assert s.reliability.n == 116
    assert s.per_class.count.sum() == 116
    assert len(s.label_issues) == 50
    clean = ev.valid & ev.finite
    ev_clean = evaluate(z[clean], y[clean], weight=weight)
    expected = F.cross_entropy(
        torch.from_numpy(z[clean]), torch.from_numpy(y[clean]), weight=torch.from_numpy(weight)
    ).item()
    assert summarize(ev_clean).mean_loss == pytest.approx(expected)
    assert summarize(ev_clean).mean_loss_finite == pytest.approx(expected)
    assert math.isnan(s.mean_loss)  # a NaN row poisons the mean, exactly as in torch
    assert s.mean_loss_finite == pytest.approx(expected)
    unweighted = summarize(evaluate(z, y))
    clean_loss = F.cross_entropy(torch.from_numpy(z[clean]), torch.from_numpy(y[clean])).item()
    assert unweighted.mean_loss_finite == pytest.approx(clean_loss)

    monkeypatch.setattr(metrics, "MAX_CONFUSION_CLASSES", 5)
    assert summarize(ev).confusion is None


# --------------------------------------------------------------------------------------------
# histograms


def test_loss_histogram_splits_correct_and_wrong_and_overflows_outliers():
    from softmax_lab.core.metrics import confidence_histogram, loss_histogram

    losses = np.r_[np.linspace(0, 1, 999), 1000.0, np.nan]
    correct = np.r_[np.ones(500, bool), np.zeros(501, bool)]
    shown = np.isfinite(losses)
    h = loss_histogram(losses, correct, shown, bins=10)
    assert h.edges[-1] < 2  # the outlier does not stretch the axis
    assert not math.isnan(h.overflow)
    assert h.correct.sum() == 500
    assert h.wrong.sum() == 500  # the outlier piles into the last bin; NaN is hidden
    assert h.n_hidden == 1
    assert h.wrong[-1] >= 1
    c = confidence_histogram(np.array([0.0, 0.5, 1.0]), np.array([True, False, True]), shown[:3])
    assert c.correct.sum() == 2
    assert c.wrong.sum() == 1
    assert c.edges[0] == 0.0
    assert c.edges[-1] == 1.0


def test_loss_bin_edges_are_the_histograms_and_stop_at_an_outlier():
    from softmax_lab.core.metrics import loss_bin_edges, loss_histogram

    rng = np.random.default_rng(3)
    losses = rng.exponential(size=500)
    edges, overflow = loss_bin_edges(losses, 20)
    np.testing.assert_array_equal(edges, np.linspace(0.0, losses.max(), 21))
    assert math.isnan(overflow)
    shown = np.ones(500, bool)
    np.testing.assert_array_equal(loss_histogram(losses, shown, shown, 20).edges, edges)
    losses[0] = 1e6
    edges, overflow = loss_bin_edges(losses, 20)
    assert overflow == pytest.approx(np.quantile(losses, 0.995))
    assert edges[-1] == overflow
    empty, overflow = loss_bin_edges(np.zeros(0), 4)
    np.testing.assert_array_equal(empty, np.linspace(0.0, 1.0, 5))
    assert math.isnan(overflow)
