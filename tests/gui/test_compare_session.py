"""The controller's compare session without a window: the comparison it keeps through any
sequence of edits, undos and redos equals comparing from scratch; its columns, filters, texts
and edits; attaching refuses what does not fit and keeps the previous state."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core.compare import compare
from softmax_lab.core.document import Document
from softmax_lab.core.evaluating import evaluate
from softmax_lab.gui.compare_session import FILTERS, LOGIT_B
from softmax_lab.gui.controller import Controller

N, C = 30, 4


def controller(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, C, N)
    a = rng.normal(0, 2, (N, C))
    c = Controller(Document(a, labels))
    assert c.compare.attach(a + rng.normal(0, 2, (N, C)), ("a", "b"))
    return c


def fresh(c):
    doc = c.document
    kwargs = doc.settings.evaluate_kwargs()
    return compare(
        evaluate(doc.logits, doc.labels, **kwargs), evaluate(doc.logits_b, doc.labels, **kwargs)
    )


def assert_same(cmp, full):
    for name in ("fixed", "broken", "changed", "both_wrong", "both_right"):
        np.testing.assert_array_equal(getattr(cmp, name), getattr(full, name), name)
    np.testing.assert_allclose(cmp.delta_loss, full.delta_loss, rtol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(cmp.agreement, full.agreement)
    np.testing.assert_array_equal(cmp.outcome, full.outcome)
    for key, value in full.summary.items():
        assert cmp.summary[key] == pytest.approx(value, rel=1e-5, abs=1e-9, nan_ok=True), key


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["edit a", "edit b", "undo", "redo", "label", "temperature", "remove"]),
        st.integers(0, N - 1),
        st.integers(0, C - 1),
        st.floats(-20, 20) | st.sampled_from([float("nan"), float("-inf"), float("inf")]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(ACTIONS)
def test_the_kept_comparison_is_always_a_fresh_one(qapp, actions):
    c = controller()
    assert c.compare.comparison().summary  # computed: updates carry its bins forward
    for kind, row, col, value in actions:
        row = min(row, c.document.n_samples - 1)
        if kind == "edit a":
            c.edit_logit(row, col, repr(value))
        elif kind == "edit b":
            c.compare.edit_column(f"{LOGIT_B}{col}", row, repr(value))
        elif kind == "undo":
            c.undo()
        elif kind == "redo":
            c.redo()
        elif kind == "label":
            c.edit_label(row, col)
        elif kind == "temperature":
            c.set_options(temperature=abs(value) % 5 + 0.5 if np.isfinite(value) else 2.0)
        elif c.document.n_samples > 2:
            c.remove_samples([row])
        if c.document.logits_b is None:
            continue
        cmp = c.compare.comparison()
        assert_same(cmp, fresh(c))
        assert cmp.summary  # as the header asks for it after every change


def test_columns_filters_and_edits(qapp):
    c = controller()
    keys = [column.key for column in c.table_columns()]
    assert keys[:6] == ["pred_b", "p_true_b", "loss_b", "delta_loss", "outcome", "changed"]
    assert keys[6:] == [f"{LOGIT_B}{i}" for i in range(C)]
    editable = [column.key for column in c.table_columns() if column.editable]
    assert editable == keys[6:]
    assert c.compare.filters() == list(FILTERS)
    assert c.edit_column(f"{LOGIT_B}2", 3, "4.25")
    assert c.document.logits_b[3, 2] == 4.25
    assert c.document.undo_text == "Edit z_B[3, class 2]"
    assert not c.edit_column(f"{LOGIT_B}2", 3, "four")
    assert c.document.logits_b[3, 2] == 4.25
    assert not c.edit_column("nobody's", 3, "1")
    # The lazy probability columns.
    c.update_view(show_probabilities=True)
    column = c.table_columns()[6 + 1]
    assert not column.editable
    p = c.document.evaluation_b.probabilities_of(slice(None))[:, 1]
    np.testing.assert_allclose(np.asarray(column.values), p, rtol=1e-6)
    assert column.values[5] == pytest.approx(p[5], rel=1e-6)
    np.testing.assert_allclose(column.values[[1, 2]], p[[1, 2]], rtol=1e-6)
    assert len(column.values) == N
    c.compare.stop()
    assert c.table_columns() == []
    assert c.compare.filters() == []


def test_attach_refuses_what_does_not_fit(qapp):
    c = controller()
    messages = []
    c.sigMessage.connect(messages.append)
    before = c.document.logits_b.copy()
    assert not c.compare.attach(np.zeros((N + 1, C)))
    assert messages[-1] == f"Not changed: model B has {N + 1} samples, model A {N}"
    assert not c.compare.attach(np.zeros((N, C - 1)))
    assert not c.compare.attach([["a", "b"]])
    np.testing.assert_array_equal(c.document.logits_b, before)


def test_texts_name_both_models(qapp):
    c = controller()
    cmp = c.compare.comparison()
    header = c.compare.header()
    assert header["a"].startswith("A = a: accuracy")
    assert header["b"].startswith("B = b: accuracy")
    assert f"{cmp.summary['fixed']:,} fixed · {cmp.summary['broken']:,} broken" in header["counts"]
    status = c.status_text()
    assert status.startswith("mean loss: A a ")
    assert f"accuracy: A {cmp.a.n_correct}/{N} · B {cmp.b.n_correct}/{N}" in status
    heading = c.compare.decorate(c.sample_view()).heading
    first, second = heading.split("\n")
    assert first.startswith("Sample 0 · label")
    assert "KL(A‖B)" in first
    assert second.startswith("▮ A a: pred ")
    assert " · ▨ B b: pred " in second
