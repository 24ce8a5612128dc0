"""Every figure the tutorial notebook prints, reproduced through our own code."""

import numpy as np
import pytest

from softmax_lab.core import cross_entropy_onehot, evaluate, softmax_naive, softmax_stable

BATCH_GOOD = [[0.1, 1.0, 2.1], [2.0, 1.0, 0.1], [0.1, 3.0, 0.1]]
BATCH_BAD = [[2.1, 1.0, 0.1], [0.1, 1.0, 2.1], [0.1, 3.0, 0.1]]
BATCH_LABELS = [2, 0, 1]


def test_softmax_of_single_sample():
    expected = [0.6590, 0.2424, 0.0986]
    np.testing.assert_allclose(
        evaluate([[2.0, 1.0, 0.1]], [0]).probabilities[0], expected, atol=5e-5
    )
    np.testing.assert_allclose(softmax_naive(np.array([2.0, 1.0, 0.1])).value, expected, atol=5e-5)
    np.testing.assert_allclose(softmax_stable(np.array([2.0, 1.0, 0.1])).value, expected, atol=5e-5)


@pytest.mark.parametrize(
    ("predicted", "expected"),
    [
        ([0.7, 0.2, 0.1], 0.3567),
        ([0.1, 0.3, 0.6], 2.3026),
    ],
)
def test_numpy_one_hot_cross_entropy(predicted, expected):
    result = cross_entropy_onehot(np.array([1, 0, 0]), np.array(predicted))
    assert result.ok
    assert round(result.value, 4) == expected


def test_one_hot_probabilities_as_soft_targets_through_evaluate():
    # The same numbers through evaluate: log-probabilities as logits give softmax == p.
    for predicted, expected in (([0.7, 0.2, 0.1], 0.3567), ([0.1, 0.3, 0.6], 2.3026)):
        ev = evaluate(np.log([predicted]), np.array([[1.0, 0.0, 0.0]]))
        assert round(ev.loss, 4) == expected


@pytest.mark.parametrize(
    ("logits", "expected_loss", "expected_prediction"),
    [
        ([[2.0, 1.0, 0.1]], 0.4170, [0]),
        ([[0.5, 2.0, 0.3]], 1.8406, [1]),
    ],
)
def test_single_sample_torch_loss_and_prediction(logits, expected_loss, expected_prediction):
    ev = evaluate(logits, [0])
    assert round(ev.loss, 4) == expected_loss
    assert ev.predictions.tolist() == expected_prediction


def test_batched_losses_and_predictions():
    good = evaluate(BATCH_GOOD, BATCH_LABELS)
    bad = evaluate(BATCH_BAD, BATCH_LABELS)
    assert round(good.loss, 4) == 0.3018
    assert round(bad.loss, 4) == 1.6242
    assert good.predictions.tolist() == [2, 0, 1]
    assert bad.predictions.tolist() == [0, 2, 1]
    assert good.accuracy == 1.0
    assert bad.correct.tolist() == [False, False, True]
