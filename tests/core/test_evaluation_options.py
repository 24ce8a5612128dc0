"""A change of only the label smoothing (or the reduction) needs no pass over the table
(issue 25, item 1): ``Evaluation.with_options`` gives bit for bit what ``evaluate`` gives, torch
agrees, and the document uses it for such a change (and for its undo)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import softmax_lab.core.evaluations as evaluations
from softmax_lab.core import evaluate
from softmax_lab.core.document import Document

IGNORE = -100


def table(seed: int, n: int, c: int, dtype=np.float32):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, c)).astype(dtype)
    labels = rng.integers(0, c, n)
    labels[rng.random(n) < 0.15] = IGNORE
    return logits, labels


def torch_losses(logits, labels, temperature, eps, weight, reduction):
    x = torch.from_numpy(logits.astype(np.float64)) / temperature
    w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    y = torch.from_numpy(labels)
    kwargs = {"weight": w, "label_smoothing": eps, "ignore_index": IGNORE}
    per_sample = F.cross_entropy(x, y, reduction="none", **kwargs).numpy()
    reduced = F.cross_entropy(x, y, reduction=reduction, **kwargs).numpy()
    return per_sample, reduced


smoothing = st.floats(min_value=1e-4, max_value=1.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 40),
    c=st.integers(2, 9),
    eps_from=smoothing,
    eps_to=smoothing,
    temperature=st.sampled_from([0.3, 1.0, 2.5]),
    weighted=st.booleans(),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_a_new_smoothing_from_the_kept_terms_is_a_new_evaluate(
    seed, n, c, eps_from, eps_to, temperature, weighted, reduction, dtype
):
    logits, labels = table(seed, n, c, dtype)
    weight = np.random.default_rng(seed + 1).uniform(0.2, 2.0, c) if weighted else None
    common = {"temperature": temperature, "weight": weight, "ignore_index": IGNORE}
    dtype_name = np.dtype(dtype).name
    start = evaluate(logits, labels, label_smoothing=eps_from, dtype=dtype_name, **common)
    derived = start.with_options(eps_to, reduction)
    fresh = evaluate(
        logits, labels, label_smoothing=eps_to, reduction=reduction, dtype=dtype_name, **common
    )
    assert derived is not None
    np.testing.assert_array_equal(derived.losses, fresh.losses)  # bit for bit
    np.testing.assert_array_equal(derived.finite, fresh.finite)
    np.testing.assert_array_equal(np.asarray(derived.loss), np.asarray(fresh.loss))
    assert derived.options.label_smoothing == eps_to
    assert derived.options.reduction == reduction
    per_sample, reduced = torch_losses(logits, labels, temperature, eps_to, weight, reduction)
    tol = {"rtol": 2e-5, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(derived.losses, per_sample, **tol)
    np.testing.assert_allclose(np.asarray(derived.loss, dtype=np.float64), reduced, **tol)
    # what does not depend on the smoothing is the same
    np.testing.assert_array_equal(derived.p_true, fresh.p_true)
    np.testing.assert_array_equal(derived.predictions, fresh.predictions)


def test_a_change_a_pass_would_compute_differently_is_not_derived():
    logits, labels = table(0, 30, 5)
    plain = evaluate(logits, labels)
    smoothed = evaluate(logits, labels, label_smoothing=0.1)
    assert plain.with_options(0.2, "mean") is None  # the smoothing terms were never computed
    assert smoothed.with_options(0.0, "mean") is None  # no smoothing: another kernel
    probabilities = np.full((30, 5), 0.2)
    soft = evaluate(logits, probabilities, label_smoothing=0.1)
    assert soft.with_options(0.3, "mean") is None
    # the reduction alone: only the reduced loss moves
    summed = plain.with_options(0.0, "sum")
    assert summed is not None
    assert float(summed.loss) == float(np.float64(plain.losses.astype(np.float64).sum()))
    assert plain.with_options(0.0, "mean") is plain


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "abc", None, True])
def test_bad_smoothing_is_refused_as_evaluate_refuses_it(bad):
    logits, labels = table(1, 10, 4)
    smoothed = evaluate(logits, labels, label_smoothing=0.1)
    with pytest.raises(ValueError):
        evaluate(logits, labels, label_smoothing=bad)
    with pytest.raises(ValueError):
        smoothed.with_options(bad, "mean")
    with pytest.raises(ValueError):
        smoothed.with_options(0.2, "average")


def test_the_document_changes_the_smoothing_without_a_pass(monkeypatch):
    logits, labels = table(2, 200, 7)
    doc = Document(logits, labels, [f"c{i}" for i in range(7)])
    doc.set_settings(label_smoothing=0.1)
    calls = []
    real = evaluations.evaluate
    monkeypatch.setattr(evaluations, "evaluate", lambda *a, **k: calls.append(k) or real(*a, **k))
    for eps in (0.15, 0.2, 0.35):
        doc.set_settings(label_smoothing=eps, merge_key="smoothing")
    doc.end_merge()
    doc.set_settings(reduction="sum")
    assert calls == []  # no pass over the table
    fresh = evaluate(logits, labels, label_smoothing=0.35, reduction="sum")
    np.testing.assert_array_equal(doc.evaluation.losses, fresh.losses)
    assert float(doc.evaluation.loss) == float(fresh.loss)
    # An edited row after a derived evaluation: its kept terms follow the edit.
    doc.set_logits([3], [2], 9.5)
    edited = logits.copy()
    edited[3, 2] = 9.5
    np.testing.assert_array_equal(
        doc.evaluation.losses,
        evaluate(edited, labels, label_smoothing=0.35, reduction="sum").losses,
    )
    doc.set_settings(label_smoothing=0.05)
    np.testing.assert_array_equal(
        doc.evaluation.losses,
        evaluate(edited, labels, label_smoothing=0.05, reduction="sum").losses,
    )
    assert calls == []
    doc.undo()  # the edit and the smoothing back: still no pass
    doc.undo()
    assert calls == []
    np.testing.assert_array_equal(
        doc.evaluation.losses,
        evaluate(logits, labels, label_smoothing=0.35, reduction="sum").losses,
    )
    doc.set_settings(label_smoothing=0.0)  # no smoothing: a pass, as before
    assert len(calls) == 1
    doc.set_settings(temperature=2.0)  # T is in every term: a pass
    assert len(calls) == 2
