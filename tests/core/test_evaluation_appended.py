"""core.evaluating.evaluate_appended (a Generate step evaluates only its new row): the result is
what evaluate gives on the whole table, and torch's cross_entropy is the oracle of the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core.evaluating import evaluate, evaluate_appended

FIELDS = ("losses", "predictions", "targets", "valid", "correct", "confidence", "p_true", "finite")


def assert_same(got, want) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_array_equal(np.asarray(got.loss), np.asarray(want.loss))
    assert got.accuracy == pytest.approx(want.accuracy, nan_ok=True)
    assert got.denominator == want.denominator
    assert (got.n_samples, got.n_classes, got.dtype) == (want.n_samples, want.n_classes, want.dtype)
    np.testing.assert_array_equal(got.probabilities, want.probabilities)
    np.testing.assert_array_equal(got.margin, want.margin)
    np.testing.assert_array_equal(got.entropy, want.entropy)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    extra=st.integers(1, 3),
    c=st.integers(1, 9),
    seed=st.integers(0, 2**31),
    temperature=st.sampled_from([1.0, 0.5, 2.5]),
    smoothing=st.sampled_from([0.0, 0.1]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
    nasty=st.booleans(),
)
def test_appended_rows_give_what_the_whole_pass_gives(
    n, extra, c, seed, temperature, smoothing, reduction, weighted, dtype, nasty
):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (n + extra, c)).astype(np.float32)
    labels = rng.integers(0, c, n + extra)
    labels[rng.random(n + extra) < 0.2] = -100
    if nasty:  # non-finite logits are data: a masked class, a NaN row, ties
        logits[rng.integers(n + extra), rng.integers(c)] = -np.inf
        logits[rng.integers(n + extra)] = np.nan
        logits[rng.integers(n + extra)] = 1.0
    kwargs = {
        "temperature": temperature,
        "label_smoothing": smoothing,
        "reduction": reduction,
        "weight": rng.uniform(0.1, 3, c) if weighted else None,
        "dtype": dtype,
    }
    previous = evaluate(logits[:n], labels[:n], **kwargs)
    got = evaluate_appended(previous, logits, labels, **kwargs)
    assert_same(got, evaluate(logits, labels, **kwargs))
    if not nasty and reduction != "none" and (labels != -100).any():
        oracle = F.cross_entropy(
            torch.as_tensor(logits, dtype=torch.float64) / temperature,
            torch.as_tensor(labels),
            weight=None if kwargs["weight"] is None else torch.as_tensor(kwargs["weight"]),
            reduction=reduction,
            label_smoothing=smoothing,
        )
        assert float(got.loss) == pytest.approx(float(oracle), rel=1e-4, abs=1e-5)


def test_other_options_or_no_new_rows_evaluate_the_whole_table():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    previous = evaluate(logits[:5], labels[:5], temperature=2.0)
    # another temperature than the previous pass: the kept rows are not reused
    assert_same(evaluate_appended(previous, logits, labels), evaluate(logits, labels))
    # probability targets
    soft = np.full((6, 4), 0.25)
    assert_same(evaluate_appended(previous, logits, soft), evaluate(logits, soft))
    # the same rows (nothing appended) and fewer rows
    same = evaluate(logits, labels)
    assert_same(evaluate_appended(same, logits, labels), same)
    assert_same(evaluate_appended(same, logits[:3], labels[:3]), evaluate(logits[:3], labels[:3]))


def test_hostile_appended_rows_are_refused_as_evaluate_refuses_them():
    logits = np.zeros((4, 3), np.float32)
    previous = evaluate(logits[:3], [0, 1, 2])
    # the messages name the row and the counts of the whole table, as evaluate's do
    with pytest.raises(ValueError, match="label 7 at row 3 is out of range"):
        evaluate_appended(previous, logits, [0, 1, 2, 7])
    with pytest.raises(ValueError, match="got 5 labels for 4 samples"):
        evaluate_appended(previous, logits, [0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="temperature"):
        evaluate_appended(previous, logits, [0, 1, 2, 0], temperature=-1.0)
    with pytest.raises(ValueError, match="2-D"):
        evaluate_appended(previous, np.zeros((4, 3, 2), np.float32), [0, 1, 2, 0])


def test_a_read_only_table_stays_shared_and_is_flagged():
    logits = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)
    logits.flags.writeable = False
    previous = evaluate(logits[:4], [0, 1, 2, 0])
    got = evaluate_appended(previous, logits, [0, 1, 2, 0, 1])
    assert got._x_readonly
    assert got._x.data_ptr() == logits.__array_interface__["data"][0]
    # a later cell edit copies instead of writing into the caller's read-only memory
    edited = got.with_rows([0], np.array([[9.0, 0.0, 0.0]], np.float32))
    assert logits[0, 0] != 9.0
    assert edited.predictions[0] == 0


def test_a_detached_evaluation_is_not_touched_by_an_edit_of_the_original():
    """A Step's worker extends a detached copy of the document's evaluation: a cell edit made
    meanwhile (with_rows, which patches the row maxima in place) does not reach it."""
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 3, (6, 5)).astype(np.float32)
    logits.flags.writeable = False  # as a generation's table is: the edit copies it
    labels = rng.integers(0, 5, 6)
    previous = evaluate(logits[:5], labels[:5])
    detached = previous.detached()
    kept_max = previous._arrays["max"].copy()
    previous.with_rows([1], np.full((1, 5), 40.0, np.float32))  # an edit, in place
    assert not np.array_equal(previous._arrays["max"], kept_max)  # the hazard is real
    np.testing.assert_array_equal(detached._arrays["max"], kept_max)
    assert_same(evaluate_appended(detached, logits, labels), evaluate(logits, labels))
