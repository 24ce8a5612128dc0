"""core.cartography: the data map's geometry agrees with the region rule, lasso and box
selections agree with matplotlib's point-in-polygon test, and a sample's trajectory is
core.evaluate's numbers at every step, whatever way it is read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath

import softmax_lab.core.cartography as cartography
from softmax_lab.core.cartography import (
    SHADE_EDGES,
    data_map,
    dynamics_columns,
    sample_trajectory,
    samples_in_box,
    samples_in_polygon,
)
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.dynamics import REGIONS, cartography_region, training_dynamics
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.loaders import DataError
from softmax_lab.core.runs import RunWriter, load_run


def make_run(folder, steps=6, n=40, c=5, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n) if labels is None else np.asarray(labels)
    tables = []
    with RunWriter(folder, labels=y) as w:
        for s in range(steps):
            x = rng.normal(0, 2, (n, c)).astype(np.float32)
            x[np.arange(n), y % c] += s * 0.5  # it learns
            w.add(s * 10, x)
            tables.append(x)
    return load_run(folder), y, tables


# --- the data map -------------------------------------------------------------------------------


def test_the_map_is_the_region_rule_with_its_boundaries(tmp_path):
    run, y, _ = make_run(tmp_path / "r", n=300)
    d = training_dynamics(run)
    m = data_map(d)
    np.testing.assert_array_equal(m.regions, cartography_region(d.confidence, d.variability))
    assert m.counts == {name: int((m.regions == name).sum()) for name in REGIONS}
    assert sum(m.counts.values()) == 300
    ambiguous = m.regions == "ambiguous"
    # The boundary drawn separates the regions exactly: ambiguous on or right of it.
    assert (m.variability[ambiguous] >= m.variability_split).all()
    assert (m.variability[~ambiguous & m.on_map] < m.variability_split).all()
    easy = m.regions == "easy-to-learn"
    assert (m.confidence[easy] >= 0.5).all()
    assert (m.confidence[m.regions == "hard-to-learn"] < 0.5).all()
    expected_shade = np.searchsorted(SHADE_EDGES, d.correctness, "right")
    np.testing.assert_array_equal(m.shade, expected_shade)
    assert m.n_steps == 6
    assert m.region_of(np.flatnonzero(easy)) == "easy-to-learn"
    assert m.region_of([int(np.flatnonzero(easy)[0]), int(np.flatnonzero(ambiguous)[0])]) == ""


def test_ignored_and_never_finite_samples_are_off_the_map(tmp_path):
    labels = np.array([0, 1, IGNORE_INDEX, 2, 0, 1])
    pairs = [(s, np.random.default_rng(s).normal(0, 1, (6, 3))) for s in range(3)]
    for _, x in pairs:
        x[3] = np.nan
    m = data_map(training_dynamics(pairs, labels=labels))
    assert m.on_map.tolist() == [True, True, False, False, True, True]
    assert m.shade[2] == -1
    assert m.shade[3] == -1
    assert m.regions[2] == ""
    assert m.regions[3] == ""


def test_a_one_step_run_has_no_ambiguous_region():
    pairs = [(0, np.random.default_rng(0).normal(0, 1, (20, 4)))]
    m = data_map(training_dynamics(pairs, labels=np.arange(20) % 4))
    assert m.counts["ambiguous"] == 0
    assert m.variability_split == np.inf


# --- lasso and box --------------------------------------------------------------------------------


@st.composite
def star_polygons(draw):
    """Simple (never self-crossing) polygons: vertices around a centre by increasing angle."""
    k = draw(st.integers(3, 12))
    angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi), min_size=k, max_size=k, unique=True)))
    radii = np.array(draw(st.lists(st.floats(0.05, 0.5), min_size=k, max_size=k)))
    cx, cy = draw(st.floats(0.2, 0.8)), draw(st.floats(0.2, 0.8))
    return np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])


@given(star_polygons(), st.integers(0, 2**31 - 1))
def test_the_lasso_agrees_with_matplotlib(polygon, seed):
    points = np.random.default_rng(seed).random((500, 2))
    got = samples_in_polygon(points[:, 0], points[:, 1], polygon)
    inside = MplPath(polygon).contains_points(points)
    # Points within a hair of an edge may go either way; none of these random ones is.
    np.testing.assert_array_equal(got, np.flatnonzero(inside))


def test_lasso_edge_cases():
    x = np.array([0.5, 0.1, np.nan, 0.9])
    y = np.array([0.5, 0.1, 0.5, 0.9])
    square = [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)]
    assert samples_in_polygon(x, y, square).tolist() == [0]  # NaN never inside
    assert samples_in_polygon(x, y, square[:2]).tolist() == []  # a line encloses nothing
    assert samples_in_polygon(x, y, []).tolist() == []
    assert samples_in_polygon(x, y, [*square, (np.nan, 0.3)]).tolist() == [0]
    # A bow tie (self-crossing): the even-odd rule, as a painter fills it.
    bow = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]
    px, py = np.array([0.5, 0.1, 0.9, 0.5]), np.array([0.2, 0.5, 0.5, 0.9])
    expected = MplPath(np.array(bow)).contains_points(np.column_stack([px, py]), radius=0)
    assert samples_in_polygon(px, py, bow).tolist() == np.flatnonzero(expected).tolist()
    with pytest.raises(ValueError, match="alike"):
        samples_in_polygon([0.1, 0.2], [0.1], square)


def test_box_selection_is_inclusive_and_order_free():
    x = np.array([0.0, 0.5, 1.0, 0.25])
    y = np.array([0.0, 0.5, 1.0, 0.75])
    assert samples_in_box(x, y, (0.0, 0.0), (0.5, 0.5)).tolist() == [0, 1]
    assert samples_in_box(x, y, (0.5, 0.5), (0.0, 0.0)).tolist() == [0, 1]
    assert samples_in_box(x, y, (0.2, 1.0), (0.3, 0.7)).tolist() == [3]
    assert samples_in_box(x, y, (2, 2), (3, 3)).tolist() == []


# --- trajectories ---------------------------------------------------------------------------------


def test_a_trajectory_is_evaluate_at_every_step(tmp_path):
    run, y, tables = make_run(tmp_path / "r")
    for sample in (0, 7, 39):
        t = sample_trajectory(run, sample, temperature=0.7)
        assert t.steps.tolist() == [0, 10, 20, 30, 40, 50]
        assert t.label == y[sample]
        for k, x in enumerate(tables):
            ev = evaluate(x, y, temperature=0.7)
            assert t.p_true[k] == pytest.approx(ev.p_true[sample], abs=1e-7)
            assert t.loss[k] == pytest.approx(ev.losses[sample], abs=1e-6)
            assert t.correct[k] == ev.correct[sample]
            assert t.predicted[k] == ev.predictions[sample]
        torch_loss = torch.nn.functional.cross_entropy(
            torch.tensor(np.stack([x[sample] for x in tables])) / 0.7,
            torch.full((6,), int(y[sample])),
            reduction="none",
        )
        np.testing.assert_allclose(t.loss, torch_loss.numpy(), rtol=1e-5, atol=1e-6)
        assert t.classes[0] == y[sample]  # the true class first
        assert len(set(t.classes.tolist())) == len(t.classes) == 4
        stacked = np.stack([x[sample] for x in tables])
        np.testing.assert_array_equal(t.logits, stacked[:, t.classes].astype(np.float64))
        # The rivals are the classes with the highest probability at any step, in that order.
        p = torch.softmax(torch.tensor(stacked) / 0.7, 1).numpy().max(0)
        rivals = [c for c in np.argsort(-p, kind="stable") if c != y[sample]][:3]
        assert t.classes[1:].tolist() == rivals


def test_a_trajectory_read_in_chunks_is_the_same(tmp_path, monkeypatch):
    run, _, _ = make_run(tmp_path / "r", steps=9)
    whole = sample_trajectory(run, 3)
    monkeypatch.setattr(cartography, "_CHUNK_ELEMENTS", 10)  # two steps per chunk
    chunked = sample_trajectory(run, 3)
    for name in ("p_true", "loss", "correct", "predicted", "classes", "logits", "steps"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)


def test_a_trajectory_of_pairs_with_a_label_override_and_ignored():
    rng = np.random.default_rng(1)
    pairs = [(s, rng.normal(0, 1, (5, 3))) for s in (2, 4, 8)]

    class Runlike:
        def __init__(self):
            self.steps = [s for s, _ in pairs]
            self.labels = np.array([0, 1, 2, 0, 1])

        @staticmethod
        def logits(step):
            return dict(pairs)[step]

    t = sample_trajectory(Runlike(), 1, label=2)
    assert t.label == 2
    assert t.classes[0] == 2
    ev = evaluate(np.stack([x[1] for _, x in pairs]), [2, 2, 2])
    np.testing.assert_allclose(t.p_true, ev.p_true)
    ignored = sample_trajectory(Runlike(), 1, label=IGNORE_INDEX)
    assert ignored.label == IGNORE_INDEX
    assert np.isnan(ignored.p_true).all()
    assert np.isnan(ignored.loss).all()
    assert not ignored.correct.any()
    assert ignored.logits.shape == (3, 3)
    one = sample_trajectory(Runlike(), 0, steps=[4])
    assert one.steps.tolist() == [4]


def test_a_non_finite_step_is_marked_not_finite(tmp_path):
    y = np.array([0, 1])
    with RunWriter(tmp_path / "r", labels=y) as w:
        w.add(0, np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
        w.add(1, np.array([[np.nan, 0.0], [0.0, 1.0]], dtype=np.float32))
    t = sample_trajectory(load_run(tmp_path / "r"), 0)
    assert t.finite.tolist() == [True, False]
    assert t.correct.tolist() == [True, False]
    assert np.isnan(t.p_true[1])


def test_bad_trajectory_requests(tmp_path):
    run, _, _ = make_run(tmp_path / "r")
    with pytest.raises(ValueError, match="out of range"):
        sample_trajectory(run, 40)
    with pytest.raises(ValueError, match="out of range"):
        sample_trajectory(run, -1)
    with pytest.raises(ValueError, match="no steps"):
        sample_trajectory(run, 0, steps=[])
    (tmp_path / "r" / "step-000020.npy").write_bytes(b"\x93NUMPY")  # damaged after opening
    with pytest.raises(DataError, match="step-000020"):
        sample_trajectory(run, 0)


def test_the_dynamics_columns_hold_the_dynamics_with_gaps_as_nan():
    labels = np.array([0, 1, IGNORE_INDEX, 2])
    x = np.eye(3)[[0, 1, 0, 0]] * 5.0  # rows 0, 1 right; row 3 wrong
    wrong_then_right = np.eye(3)[[1, 0, 0, 2]] * 5.0
    d = training_dynamics([(0, wrong_then_right), (1, x), (2, x)], labels=labels)
    columns = {c.key: c for c in dynamics_columns(d, data_map(d))}
    assert list(columns) == [
        "mean p(true)",
        "variability",
        "correctness",
        "forgetting",
        "first learned",
        "region",
    ]
    assert columns["mean p(true)"].header == "confidence"
    np.testing.assert_array_equal(columns["mean p(true)"].values, d.confidence)
    assert columns["forgetting"].kind == "count"
    np.testing.assert_array_equal(columns["forgetting"].values[[0, 1, 3]], [0, 0, 1])
    assert np.isnan(columns["forgetting"].values[2])  # ignored
    first = columns["first learned"].values
    assert first[0] == 1  # wrong at step 0, right from step 1
    assert first[1] == 1
    assert np.isnan(first[3])  # never stays right
    assert columns["region"].kind == "text"
    assert columns["region"].values[2] == ""
    assert "3 steps" in columns["correctness"].tooltip
