"""compare() and evaluate_like() against direct torch/numpy computations: fixed/broken/changed
masks, agreement counts, loss deltas, ECE, KL divergence, mismatches and non-finite rows."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core import evaluate
from softmax_lab.core.calibration import fit_temperature
from softmax_lab.core.compare import FILTER_KINDS, OUTCOMES, compare, compare_dataset, evaluate_like
from softmax_lab.core.constants import IGNORE_INDEX, block_rows


def hand_made():
    """Five samples of three classes: fixed, broken, both right, both wrong, ignored."""
    a = np.array(
        [
            [0.0, 2.0, 0.0],  # target 0: A wrong (predicts 1)
            [0.0, 3.0, 0.0],  # target 1: A right
            [0.0, 0.0, 1.0],  # target 2: A right
            [0.0, 0.0, 4.0],  # target 0: A wrong
            [5.0, 0.0, 0.0],  # ignored
        ]
    )
    b = np.array(
        [
            [3.0, 0.0, 0.0],  # B right: fixed
            [2.0, 0.0, 0.0],  # B wrong: broken
            [0.0, 0.0, 5.0],  # B right: both right
            [0.0, 1.0, 0.0],  # B wrong: both wrong
            [0.0, 5.0, 0.0],  # ignored: changed, but not counted
        ]
    )
    targets = np.array([0, 1, 2, 0, IGNORE_INDEX])
    return a, b, targets


def test_hand_made_cells_masks_and_summary():
    a, b, targets = hand_made()
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    assert cmp.fixed.tolist() == [True, False, False, False, False]
    assert cmp.broken.tolist() == [False, True, False, False, False]
    assert cmp.both_right.tolist() == [False, False, True, False, False]
    assert cmp.both_wrong.tolist() == [False, False, False, True, False]
    assert cmp.changed.tolist() == [True, True, False, True, False]
    assert cmp.agreement.tolist() == [[1, 1], [1, 1]]
    assert cmp.agreement.dtype == np.int64
    la = F.cross_entropy(torch.tensor(a), torch.tensor(targets), reduction="none")
    lb = F.cross_entropy(torch.tensor(b), torch.tensor(targets), reduction="none")
    np.testing.assert_allclose(cmp.delta_loss[:4], (lb - la)[:4].numpy(), rtol=1e-6)
    assert math.isnan(cmp.delta_loss[4])
    s = cmp.summary
    assert (s["fixed"], s["broken"], s["changed"], s["both_wrong"], s["both_right"]) == (
        1,
        1,
        3,
        1,
        1,
    )
    assert s["accuracy_a"] == s["accuracy_b"] == 0.5
    assert s["mean_loss_a"] == pytest.approx(
        F.cross_entropy(torch.tensor(a), torch.tensor(targets)).item()
    )
    assert s["mean_loss_b"] == pytest.approx(
        F.cross_entropy(torch.tensor(b), torch.tensor(targets)).item()
    )
    assert s["n_valid"] == 4
    for kind in FILTER_KINDS:
        assert cmp.filter_mask(kind).dtype == bool
    np.testing.assert_array_equal(cmp.filter_mask("both_wrong"), cmp.both_wrong)
    with pytest.raises(ValueError, match="unknown filter"):
        cmp.filter_mask("regressions")


def test_agreement_rows_worst_regression_first_nan_last():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 4))
    b = rng.normal(size=(40, 4))
    b[3] = np.nan  # B wrong with a NaN loss
    a[3] = 0.0
    a[3, 1] = 9.0  # A right on sample 3
    targets = np.full(40, 1)
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    for a_right in (False, True):
        for b_right in (False, True):
            rows = cmp.agreement_rows(a_right, b_right)
            assert len(rows) == cmp.agreement[int(a_right), int(b_right)]
            d = cmp.delta_loss[rows]
            finite = d[~np.isnan(d)]
            assert (np.diff(finite) <= 0).all()
            assert np.isnan(d[len(finite) :]).all()  # NaN at the end
    broken = cmp.agreement_rows(True, False)
    assert broken[-1] == 3


def reference(a, b, targets):
    """Everything compare() reports, computed directly with torch and numpy."""
    xa, xb, t = torch.tensor(a), torch.tensor(b), torch.tensor(targets)
    valid = t != IGNORE_INDEX

    def right(x):
        ok = ~torch.isnan(x).any(1) & ~torch.isinf(x.max(1).values)
        return (x.argmax(1) == t) & valid & ok

    ra, rb = right(xa), right(xb)
    la = F.cross_entropy(xa, t, reduction="none")
    lb = F.cross_entropy(xb, t, reduction="none")
    delta = torch.where(valid, lb - la, torch.nan)
    agreement = [
        [int((valid & ~ra & ~rb).sum()), int((valid & ~ra & rb).sum())],
        [int((ra & ~rb).sum()), int((ra & rb).sum())],
    ]
    changed = valid & (xa.argmax(1) != xb.argmax(1))
    kl = F.kl_div(
        torch.log_softmax(xb, 1), torch.log_softmax(xa, 1), reduction="none", log_target=True
    ).sum(1)
    return ra & ~rb, ~ra & rb & valid, changed, delta, agreement, kl


def ece(confidence, correct, n_bins=15):
    """Guo et al.'s expected calibration error over (lo, hi] bins, written out."""
    total, err = len(confidence), 0.0
    for i in range(n_bins):
        lo, hi = i / n_bins, (i + 1) / n_bins
        in_bin = (confidence > lo) & (confidence <= hi) if i else (confidence <= hi)
        if in_bin.any():
            err += abs(correct[in_bin].mean() - confidence[in_bin].mean()) * in_bin.sum() / total
    return err


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 6),
    st.integers(0, 2**31 - 1),
    st.booleans(),
)
def test_random_problems_match_a_direct_computation(n, c, seed, with_nan):
    rng = np.random.default_rng(seed)
    a = rng.normal(scale=2, size=(n, c))
    b = a + rng.normal(scale=rng.uniform(0, 3), size=(n, c))
    targets = rng.integers(0, c, n)
    targets[rng.random(n) < 0.2] = IGNORE_INDEX
    if with_nan:
        b[rng.integers(0, n)] = np.nan
    cmp = compare(evaluate(a, targets, dtype="float64"), evaluate(b, targets, dtype="float64"))
    broken, fixed, changed, delta, agreement, kl = reference(a, b, targets)
    np.testing.assert_array_equal(cmp.broken, broken.numpy())
    np.testing.assert_array_equal(cmp.fixed, fixed.numpy())
    np.testing.assert_array_equal(cmp.changed, changed.numpy())
    np.testing.assert_allclose(cmp.delta_loss, delta.numpy(), equal_nan=True, rtol=1e-9, atol=1e-12)
    assert cmp.agreement.tolist() == agreement
    assert cmp.agreement.sum() == (targets != IGNORE_INDEX).sum()
    assert cmp.agreement.sum(1)[1] == cmp.a.correct.sum()
    np.testing.assert_allclose(cmp.kl, kl.numpy(), equal_nan=True, rtol=1e-9, atol=1e-12)
    for ev, key in ((cmp.a, "ece_a"), (cmp.b, "ece_b")):
        rows = ev.valid & ev.finite
        expected = ece(ev.confidence[rows], ev.correct[rows]) if rows.any() else math.nan
        assert cmp.summary[key] == pytest.approx(expected, abs=1e-12, nan_ok=True)
        xs, ts = torch.tensor(a if ev is cmp.a else b), torch.tensor(targets)
        mean = F.cross_entropy(xs, ts).item() if (targets != IGNORE_INDEX).any() else math.nan
        loss_key = "mean_loss_" + key[-1]
        assert cmp.summary[loss_key] == pytest.approx(mean, rel=1e-9, nan_ok=True)


def test_kl_streams_over_blocks_and_threads_and_matches_torch():
    rng = np.random.default_rng(1)
    c = 1000
    n = block_rows(c) * 9 + 5  # nine full blocks and a partial one: the threaded path
    a = rng.normal(size=(n, c)).astype(np.float32)
    b = (a + rng.normal(scale=0.5, size=(n, c))).astype(np.float32)
    targets = rng.integers(0, c, n)
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    expected = F.kl_div(
        torch.log_softmax(torch.tensor(b, dtype=torch.float64), 1),
        torch.log_softmax(torch.tensor(a, dtype=torch.float64), 1),
        reduction="none",
        log_target=True,
    ).sum(1)
    assert cmp.kl.dtype == np.float64
    np.testing.assert_allclose(cmp.kl, expected.numpy(), rtol=1e-4, atol=1e-6)
    # The same model: KL is 0, never a rounding-negative number.
    same = compare(cmp.a, evaluate(a, targets))
    assert (same.kl == 0).all()


def test_kl_limits_masked_classes_and_nan_rows():
    inf = math.inf
    a = np.array(
        [
            [0.0, -inf, 1.0],  # A gives class 1 nothing: 0 · log 0 = 0
            [0.0, 0.0, 1.0],  # B gives class 1 nothing, A does not: +inf
            [0.0, 0.0, math.nan],  # a NaN row
            [1e4, 0.0, -1e4],  # A's probabilities underflow to 0 where B's are 0 too
            [0.0, -inf, 0.0],  # both mask class 1
        ]
    )
    b = np.array(
        [[1.0, 0.0, 0.0], [0.0, -inf, 1.0], [0.0, 0.0, 0.0], [1e4, -inf, -inf], [1.0, -inf, 0.0]]
    )
    targets = np.array([0, 0, 0, 0, 0])
    kl = compare(evaluate(a, targets), evaluate(b, targets)).kl

    def finite_kl(p_logits, q_logits):
        p = torch.softmax(torch.tensor(p_logits), 0)
        q = torch.softmax(torch.tensor(q_logits), 0)
        return float((p * (p.log() - q.log())).sum())

    # Row 0: the masked class drops out of A; B's probabilities are over all three classes.
    p0 = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    q0 = torch.softmax(torch.tensor([1.0, 0.0, 0.0]), 0)[[0, 2]]
    assert kl[0] == pytest.approx(float((p0 * (p0.log() - q0.log())).sum()), rel=1e-5)
    assert kl[1] == inf
    assert math.isnan(kl[2])
    # Row 3: A puts ~e^-10000 on class 1 (0 in float32) where B puts exactly 0: mathematically
    # +inf, and so it is reported, though A's probability underflowed.
    assert kl[3] == inf
    # Row 4: both mask class 1: the KL of the other two.
    assert kl[4] == pytest.approx(finite_kl([0.0, 0.0], [1.0, 0.0]), rel=1e-5)


def test_non_finite_rows_count_as_wrong():
    a = np.array([[5.0, 0.0], [5.0, 0.0], [5.0, 0.0]])
    b = np.array([[np.nan, 0.0], [-np.inf, -np.inf], [5.0, 0.0]])
    targets = np.array([0, 0, 0])
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    assert cmp.broken.tolist() == [True, True, False]
    assert cmp.agreement.tolist() == [[0, 0], [2, 1]]
    assert np.isnan(cmp.delta_loss[:2]).all()
    assert math.isnan(cmp.summary["mean_loss_b"])  # NaN propagates, as torch's mean does
    assert cmp.summary["accuracy_b"] == pytest.approx(1 / 3)
    assert cmp.summary["ece_b"] == pytest.approx(abs(1 - cmp.b.confidence[2]))


@pytest.mark.parametrize(
    ("b_logits", "b_targets", "message"),
    [
        (np.zeros((6, 3)), [0] * 6, "model B has 6 samples, model A 5"),
        (np.zeros((5, 1000)), [0] * 5, "model B has 1,000 classes, model A 3"),
        (
            np.zeros((5, 3)),
            [0, 1, 1, 0, IGNORE_INDEX],
            "targets differ at 1 samples, first at sample 2",
        ),
        (np.zeros((5, 3)), [0, 1, 2, 0, 0], "targets differ at 1 samples, first at sample 4"),
        (
            np.zeros((5, 3)),
            np.full((5, 3), 1 / 3),
            "model A has index targets, model B probability",
        ),
    ],
)
def test_mismatches_are_value_errors_naming_them(b_logits, b_targets, message):
    a, _, targets = hand_made()
    with pytest.raises(ValueError, match=message):
        compare(evaluate(a, targets), evaluate(b_logits, b_targets))


def test_many_differing_targets_are_counted_and_the_first_named():
    targets = np.zeros(40, dtype=int)
    other = targets.copy()
    other[[17, 20, 33]] = 1
    with pytest.raises(ValueError, match="targets differ at 3 samples, first at sample 17"):
        compare(evaluate(np.zeros((40, 2)), targets), evaluate(np.zeros((40, 2)), other))


def test_evaluate_like_uses_a_targets_and_options():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 5))
    b = rng.normal(size=(50, 5))
    targets = rng.integers(0, 5, 50)
    targets[:3] = IGNORE_INDEX
    weight = np.array([1.0, 2.0, 0.5, 1.0, 1.0])
    options = {"temperature": 1.5, "weight": weight, "label_smoothing": 0.1, "dtype": "float64"}
    ev_a = evaluate(a, targets, **options)
    ev_b = evaluate_like(ev_a, b)
    direct = evaluate(b, targets, **options)
    np.testing.assert_array_equal(ev_b.losses, direct.losses)
    for name in ("temperature", "ignore_index", "reduction", "label_smoothing"):
        assert getattr(ev_b.options, name) == getattr(direct.options, name)
    np.testing.assert_array_equal(ev_b.options.weight, weight)
    assert ev_b.dtype == "float64"
    cmp = compare(ev_a, ev_b)
    assert cmp.summary["mean_loss_b"] == pytest.approx(float(direct.loss))


def test_evaluate_like_against_itself_temperature_scaled():
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 10, 400)
    logits = rng.normal(size=(400, 10)) * 6
    logits[np.arange(400), targets] += 4  # right often, but overconfident
    ev = evaluate(logits, targets)
    fit = fit_temperature(logits, targets)
    scaled = evaluate_like(ev, logits, temperature=fit.temperature)
    cmp = compare(ev, scaled)
    assert scaled.options.temperature == fit.temperature
    assert cmp.summary["changed"] == 0  # T > 0 never changes the argmax
    assert cmp.summary["mean_loss_b"] < cmp.summary["mean_loss_a"]
    assert cmp.summary["ece_b"] < cmp.summary["ece_a"]
    expected = F.kl_div(
        torch.log_softmax(torch.tensor(logits) / fit.temperature, 1),
        torch.log_softmax(torch.tensor(logits), 1),
        reduction="none",
        log_target=True,
    ).sum(1)
    np.testing.assert_allclose(cmp.kl, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_evaluate_like_with_probability_targets_and_errors():
    rng = np.random.default_rng(4)
    soft = rng.dirichlet(np.ones(4), 20)
    ev_a = evaluate(rng.normal(size=(20, 4)), soft)
    b = rng.normal(size=(20, 4))
    ev_b = evaluate_like(ev_a, b)
    np.testing.assert_allclose(ev_b.losses, evaluate(b, soft).losses, rtol=1e-6)
    assert compare(ev_a, ev_b).summary["n_valid"] == 20
    with pytest.raises(ValueError, match="model B has 19 samples, model A 20"):
        evaluate_like(ev_a, b[:19])
    with pytest.raises(ValueError, match="model B has 3 classes, model A 4"):
        evaluate_like(ev_a, b[:, :3])
    with pytest.raises(TypeError, match="unknown options"):
        evaluate_like(ev_a, b, temprature=2.0)


def test_compare_needs_evaluations():
    a, _, targets = hand_made()
    with pytest.raises(ValueError, match="must be an Evaluation"):
        compare(evaluate(a, targets), a)


# --------------------------------------------------------------------------------------------
# outcome, kl_of and the dataset comparison


def test_outcome_names_each_samples_cell():
    a, b, targets = hand_made()
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    assert cmp.outcome.tolist() == ["fixed", "broken", "both right", "both wrong", ""]
    for name in OUTCOMES:
        np.testing.assert_array_equal(cmp.outcome == name, cmp.filter_mask(name))


def test_kl_of_chosen_rows_is_the_full_passes_value():
    inf = math.inf
    a = np.array([[0.0, -inf, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, math.nan], [2.0, 1.0, 0.0]])
    b = np.array([[1.0, 0.0, 0.0], [0.0, -inf, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    cmp = compare(evaluate(a, [0, 0, 0, 0]), evaluate(b, [0, 0, 0, 0]))
    np.testing.assert_array_equal(cmp.kl_of([3, 1, 0]), cmp.kl[[3, 1, 0]])
    assert math.isnan(cmp.kl_of(2)[0])
    assert cmp.kl_of([1])[0] == inf


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_compare_dataset_matches_a_direct_computation(n, c, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(scale=2, size=(n, c))
    b = a + rng.normal(scale=rng.uniform(0, 3), size=(n, c))
    targets = rng.integers(0, c, n)
    targets[rng.random(n) < 0.15] = IGNORE_INDEX
    if n > 2:
        b[rng.integers(0, n)] = np.nan
    cmp = compare(evaluate(a, targets, dtype="float64"), evaluate(b, targets, dtype="float64"))
    data = compare_dataset(cmp)
    valid = targets != IGNORE_INDEX
    np.testing.assert_array_equal(data.agreement, cmp.agreement)
    # Reliability: Guo et al.'s ECE of each model over its labelled finite rows.
    for ev, rel in ((cmp.a, data.reliability_a), (cmp.b, data.reliability_b)):
        rows = ev.valid & ev.finite
        expected = ece(ev.confidence[rows], ev.correct[rows]) if rows.any() else math.nan
        assert rel.ece == pytest.approx(expected, abs=1e-12, nan_ok=True)
        assert rel.bin_count.sum() == rows.sum()
    assert data.summary["ece_a"] == pytest.approx(data.reliability_a.ece, nan_ok=True)
    # Loss histograms: the same edges for both, every labelled finite loss counted once.
    h = data.loss
    assert h.edges.shape == (41,)
    for losses, counts, n_counted in ((cmp.a.losses, h.a, h.n_a), (cmp.b.losses, h.b, h.n_b)):
        shown = valid & np.isfinite(losses)
        assert counts.sum() == shown.sum() == n_counted
        clipped = np.clip(losses[shown], h.edges[0], h.edges[-1])
        np.testing.assert_array_equal(counts, np.histogram(clipped, bins=h.edges)[0])
    # Per-class accuracy, counted by hand (a non-finite row is wrong).
    for cls in range(c):
        of_class = valid & (targets == cls)
        assert data.classes.count[cls] == of_class.sum()
        for ev, acc in ((cmp.a, data.classes.accuracy_a), (cmp.b, data.classes.accuracy_b)):
            logits = a if ev is cmp.a else b
            hit = of_class & (np.nan_to_num(logits, nan=-np.inf).argmax(1) == cls)
            hit &= ~np.isnan(logits).any(1)
            expected = hit.sum() / of_class.sum() if of_class.any() else math.nan
            assert acc[cls] == pytest.approx(expected, nan_ok=True)
    diff = data.classes.accuracy_b - data.classes.accuracy_a
    np.testing.assert_array_equal(data.classes.difference, diff)
    order = data.classes.order()
    assert set(order) == set(np.flatnonzero(data.classes.count > 0))
    assert (np.diff(diff[order]) >= 0).all()  # the largest drop first


def test_compare_dataset_loss_bins_stop_at_an_outlier():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(400, 3))
    b = a.copy()
    targets = rng.integers(0, 3, 400)
    b[0] = [-1e4, 0.0, 0.0]  # one enormous loss for B
    targets[0] = 0
    data = compare_dataset(compare(evaluate(a, targets), evaluate(b, targets)))
    assert not math.isnan(data.loss.overflow)
    assert data.loss.edges[-1] < 100
    assert data.loss.b[-1] >= 1  # the outlier sits in the last bin


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_an_updated_comparison_is_the_comparison_of_the_edited_models(n, c, seed):
    """Chained row edits of either model (NaN and −∞ rows included): the cheap update equals
    comparing from scratch, masks, counts, outcome and ECEs alike."""
    rng = np.random.default_rng(seed)
    a = rng.normal(scale=2, size=(n, c))
    b = a + rng.normal(size=(n, c))
    targets = rng.integers(0, c, n)
    targets[rng.random(n) < 0.2] = IGNORE_INDEX
    ev_a = evaluate(a, targets, dtype="float64")
    ev_b = evaluate(b, targets, dtype="float64")
    cmp = compare(ev_a, ev_b)
    assert cmp.summary  # computed: the update carries it, and the outcome, forward
    assert cmp.outcome.size
    for step in range(8):
        rows = rng.choice(n, size=int(rng.integers(1, min(n, 4) + 1)), replace=False)
        new = rng.normal(scale=3, size=(len(rows), c))
        if step == 3:
            new[0] = np.nan
        if step == 5:
            new[0] = -np.inf
        if rng.random() < 0.5:
            a[rows] = new
            ev_a = ev_a.with_rows(rows, new)
        else:
            b[rows] = new
            ev_b = ev_b.with_rows(rows, new)
        cmp = cmp.updated(ev_a, ev_b, rows)
        full = compare(evaluate(a, targets, dtype="float64"), evaluate(b, targets, dtype="float64"))
        for name in ("fixed", "broken", "changed", "both_wrong", "both_right", "valid"):
            np.testing.assert_array_equal(getattr(cmp, name), getattr(full, name), name)
        np.testing.assert_allclose(cmp.delta_loss, full.delta_loss, equal_nan=True, rtol=1e-12)
        np.testing.assert_array_equal(cmp.agreement, full.agreement)
        np.testing.assert_array_equal(cmp.outcome, full.outcome)
        for key, value in full.summary.items():
            assert cmp.summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), key


def test_an_update_of_a_table_with_no_finite_row_keeps_float_sums():
    """Found by the monkey: with no finite labelled row, the ECE bins of no rows came out as
    integers and the next edit, which gave a row a confidence, failed to add it to them."""
    a = np.full((2, 2), np.nan)
    targets = np.array([0, 1])
    ev_a, ev_b = evaluate(a, targets), evaluate(a, targets)
    cmp = compare(ev_a, ev_b)
    assert math.isnan(cmp.summary["ece_a"])
    new = np.array([[3.0, -1.0]])
    a[0] = new
    ev_a = ev_a.with_rows([0], new)
    cmp = cmp.updated(ev_a, ev_b, [0])
    full = compare(evaluate(a, targets), ev_b)
    assert cmp.summary["ece_a"] == pytest.approx(full.summary["ece_a"])


def test_the_summary_ece_is_the_reliability_diagrams():
    from softmax_lab.core.metrics import reliability

    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(300, 5)) * 3, rng.normal(size=(300, 5))
    targets = rng.integers(0, 5, 300)
    cmp = compare(evaluate(a, targets), evaluate(b, targets))
    for ev, key in ((cmp.a, "ece_a"), (cmp.b, "ece_b")):
        rel = reliability(ev.confidence, ev.correct, ev.valid & ev.finite, 15)
        assert cmp.summary[key] == pytest.approx(rel.ece, rel=1e-12)


def test_rows_with_p_true_zero_keep_their_place_in_both_models_views():
    # A: a tree's log-probabilities (0 for the predicted class, −∞ elsewhere); B: finite.
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 3, 40)
    predicted = np.where(rng.random(40) < 0.7, targets, (targets + 1) % 3)
    a = np.full((40, 3), -np.inf)
    a[np.arange(40), predicted] = 0.0
    b = rng.normal(size=(40, 3))
    data = compare_dataset(compare(evaluate(a, targets), evaluate(b, targets)))
    errors = int((predicted != targets).sum())
    assert data.loss.n_a == data.loss.n_b == 40
    assert int(data.loss.a.sum()) == 40
    assert int(data.loss.a[-1]) >= errors  # the +∞ losses are in the last bin
    assert data.loss.overflow == data.loss.edges[-1]
    assert data.reliability_a.n == 40
    assert data.reliability_a.ece == pytest.approx(errors / 40)  # sure of every prediction
