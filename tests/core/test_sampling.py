"""Top-k / top-p against a straightforward reference implementation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from softmax_lab.core.sampling import truncate


def reference(p, top_k, top_p):
    """The Hugging Face warpers' logic on a torch tensor (sorted-cumsum formulation)."""
    logits = torch.log(torch.tensor(p))
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, len(p))).values[-1]
        logits = logits.masked_fill(logits < kth, -float("inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, idx = torch.sort(logits, descending=False)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        remove = cumulative <= (1 - top_p)
        remove[-1] = False
        logits = logits.masked_fill(remove.scatter(0, idx, remove), -float("inf"))
    return torch.softmax(logits, -1).numpy()


# Logits 0.01 apart: which of two exactly tied classes a sort drops is arbitrary in both.
@given(
    st.lists(st.integers(-800, 800), min_size=1, max_size=40, unique=True),
    st.none() | st.integers(1, 45),
    st.none() | st.floats(0.05, 1.0),
)
def test_matches_the_reference(ints, top_k, top_p):
    z = np.array(ints) / 100.0
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p is not None:
        # Exactly at the boundary the two formulations round differently; that is not a bug.
        head = np.sort(p)[::-1][: top_k or len(p)]
        assume(np.all(np.abs(np.cumsum(head / head.sum()) - top_p) > 1e-9))
    t = truncate(p, top_k, top_p, shown=len(p))
    full = np.zeros(len(p))
    full[t.order] = t.renormalized
    np.testing.assert_allclose(full, reference(p, top_k, top_p), atol=1e-6)
    assert t.renormalized.sum() == pytest.approx(1.0)
    assert t.n_kept >= 1


def test_notebook_example():
    p = np.array([0.6590, 0.2424, 0.0986])
    t = truncate(p, top_k=2)
    assert t.kept.tolist() == [True, True, False]
    assert t.renormalized[:2] == pytest.approx([0.6590 / 0.9014, 0.2424 / 0.9014])
    t = truncate(p, top_p=0.5)
    assert t.n_kept == 1
    # 0.659 + 0.2424 = 0.9014 reaches 0.9: the third class is dropped.
    assert truncate(p, top_p=0.9).kept.tolist() == [True, True, False]
    assert truncate(p, top_p=0.95).n_kept == 3


def test_wide_vocabulary_shows_only_the_top():
    rng = np.random.default_rng(0)
    z = rng.normal(size=256_000)
    p = np.exp(z - z.max())
    p /= p.sum()
    t = truncate(p, top_k=50, shown=30)
    assert len(t.order) == 30
    assert t.n_kept == 50
    assert t.order[0] == int(np.argmax(p))


def test_bad_arguments_and_nan_rows():
    with pytest.raises(ValueError, match="top-k"):
        truncate([0.5, 0.5], top_k=0)
    with pytest.raises(ValueError, match="top-p"):
        truncate([0.5, 0.5], top_p=0)
    t = truncate([np.nan, 0.5])
    assert t.n_kept == 0


def test_a_class_of_probability_zero_is_never_drawn():
    # A −∞ logit (a masked token, a token an API did not report) has p = 0: no sampler draws it.
    p = torch.softmax(torch.tensor([2.0, 1.0, -math.inf, 0.5, -math.inf]), 0).numpy()
    t = truncate(p)
    assert t.n_kept == 3
    assert t.kept_mass == pytest.approx(1.0)
    assert not t.kept[t.probabilities == 0].any()
