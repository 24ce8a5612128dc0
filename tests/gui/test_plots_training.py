"""gui/plots/datamap.py and gui/plots/trajectory.py on their own: data in -> the items hold exactly
that data, hover names the sample or the step, clicks and drags emit the documented signals,
themes restyle in place, 50,000 points are placed, and an empty state says why."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent

from softmax_lab.core.cartography import data_map, sample_trajectory
from softmax_lab.core.constants import elide
from softmax_lab.core.dynamics import training_dynamics
from softmax_lab.gui.plots.datamap import SHADE_SYMBOLS, DataMapPlot
from softmax_lab.gui.plots.trajectory import SYMBOL_LIMIT, TrajectoryPlot
from softmax_lab.gui.theme import DARK, LIGHT

NAMES = ["zero", "one", "a rather long class name", "three"]


def points_of(item) -> int:
    x = item.getData()[0]
    return 0 if x is None else int(np.size(x))


def dynamics(n=200, c=4, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    pairs = []
    for s in range(steps):
        x = rng.normal(0, 1, (n, c))
        x[np.arange(n), y] += rng.uniform(-3, 6, n) * s / steps
        pairs.append((s * 10, x))
    return training_dynamics(pairs, labels=y), pairs, y


@pytest.fixture
def map_plot(qtbot):
    plot = DataMapPlot(LIGHT)
    qtbot.addWidget(plot)
    plot.resize(640, 420)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def test_every_sample_is_placed_by_its_shade(map_plot):
    d, _, y = dynamics()
    m = data_map(d)
    map_plot.set_map(m, d.forgetting, y, NAMES)
    placed = {}
    for k, item in enumerate(map_plot.shades):
        x, yy = item.getData()
        samples = np.array([p.data() for p in item.points()], dtype=np.int64)
        np.testing.assert_array_equal(x, m.variability[samples])
        np.testing.assert_array_equal(yy, m.confidence[samples])
        assert (m.shade[samples] == k).all()
        assert all(p.symbol() == SHADE_SYMBOLS[k] for p in item.points())
        placed.update(dict.fromkeys(samples.tolist()))
    assert sorted(placed) == list(range(200))
    index, xy = map_plot.points()
    np.testing.assert_array_equal(index, np.arange(200))
    assert map_plot.title() == "Data map · 200 of 200 samples · 6 steps · T = 1"
    texts = map_plot.region_texts()
    assert texts["easy-to-learn"] == f"easy to learn · {m.counts['easy-to-learn']}"
    assert map_plot.split_line.value() == pytest.approx(m.variability_split)
    assert not map_plot.empty_text.isVisible()


def test_hover_names_the_nearest_sample_with_its_numbers(map_plot):
    d, _, y = dynamics()
    m = data_map(d)
    map_plot.set_map(m, d.forgetting, y, NAMES)
    s = int(np.argmax(m.confidence * (m.variability > 0)))
    text = map_plot.hover_text_at(m.variability[s], m.confidence[s])
    right = round(m.correctness[s] * 6)
    assert text.startswith(f"sample {s} · label {NAMES[y[s]][:13]}")
    assert f"right at {right} of 6 steps" in text
    assert f"forgotten {int(d.forgetting[s])} time" in text
    assert map_plot.hover_text_at(10.0, 10.0) is None
    assert map_plot.hover_text_at(np.nan, 0.5) is None


def test_click_and_drag_emit_the_sample_and_the_shape(qtbot, map_plot, mouse):
    d, _, y = dynamics()
    m = data_map(d)
    map_plot.set_map(m, d.forgetting, y, NAMES)
    vb = map_plot.getPlotItem().getViewBox()
    s = int(np.argmin(m.confidence))
    with qtbot.waitSignal(map_plot.sigSampleClicked) as blocker:
        mouse.click(map_plot, mouse.at(map_plot, vb, m.variability[s], m.confidence[s]))
    chosen = blocker.args[0]
    assert abs(m.variability[chosen] - m.variability[s]) < 0.01  # that point or one under it
    path = [(0.01, 0.1), (0.2, 0.1), (0.2, 0.6), (0.01, 0.6), (0.01, 0.1)]
    with qtbot.waitSignal(map_plot.sigShapeSelected) as blocker:
        mouse.drag(map_plot, [mouse.at(map_plot, vb, x, yy) for x, yy in path])
    vertices, mode = blocker.args
    assert mode == "lasso"
    np.testing.assert_allclose(vertices[0], path[0], atol=0.01)
    assert len(vertices) >= len(path)
    assert points_of(map_plot.shape_curve) == len(vertices) + 1  # drawn, closed
    map_plot.clear_shape()
    assert points_of(map_plot.shape_curve) == 0
    map_plot.set_select_mode("box")
    with qtbot.waitSignal(map_plot.sigShapeSelected) as blocker:
        mouse.drag(map_plot, [mouse.at(map_plot, vb, x, yy) for x, yy in path[:3]])
    vertices, mode = blocker.args
    assert mode == "box"
    assert len(vertices) == 2
    np.testing.assert_allclose(vertices[1], path[2], atol=0.01)
    with pytest.raises(ValueError, match="select mode"):
        map_plot.set_select_mode("circle")


def test_no_map_says_why_and_ignores_the_mouse(qtbot, map_plot, mouse):
    map_plot.set_empty("The run has no labels")
    assert map_plot.empty_text.isVisible()
    assert map_plot.empty_text.toPlainText() == "The run has no labels"
    assert map_plot.hover_text_at(0.1, 0.5) is None
    vb = map_plot.getPlotItem().getViewBox()
    seen = []
    map_plot.sigShapeSelected.connect(lambda *a: seen.append(a))
    mouse.drag(map_plot, [mouse.at(map_plot, vb, x, 0.5) for x in (0.05, 0.2, 0.3)])
    assert seen == []


def test_the_selected_ring_and_themes_restyle_in_place(map_plot):
    d, _, y = dynamics()
    m = data_map(d)
    map_plot.set_map(m, d.forgetting, y, NAMES)
    map_plot.set_selected(7)
    x, yy = map_plot.selected_marker.getData()
    assert (x[0], yy[0]) == (m.variability[7], m.confidence[7])
    items = list(map_plot.shades)
    map_plot.set_theme(DARK.scaled(2.0))
    assert list(map_plot.shades) == items  # the same items, restyled
    assert map_plot.backgroundBrush().color().name() == DARK.background
    assert map_plot.shades[4].points()[0].pen().color().name() == DARK.correct.lower()
    map_plot.set_selected(10_000)  # out of range: no ring
    assert map_plot.selected_marker.getData()[0].size == 0


def test_fifty_thousand_points_are_placed_and_hovered(map_plot):
    rng = np.random.default_rng(3)
    n = 50_000
    y = rng.integers(0, 10, n)
    pairs = [(s, rng.normal(0, 2, (n, 10)).astype(np.float32)) for s in range(4)]
    d = training_dynamics(pairs, labels=y)
    m = data_map(d)
    map_plot.set_map(m, d.forgetting, y, [str(i) for i in range(10)])
    assert sum(item.getData()[0].size for item in map_plot.shades) == n
    s = 12_345
    assert map_plot.hover_text_at(m.variability[s], m.confidence[s]).startswith("sample ")


# --- the trajectory ----------------------------------------------------------------------------


@pytest.fixture
def trajectory_plot(qtbot):
    plot = TrajectoryPlot(LIGHT)
    qtbot.addWidget(plot)
    plot.resize(700, 300)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


class Pairs:
    def __init__(self, pairs, labels):
        self.steps = [s for s, _ in pairs]
        self.labels = labels
        self._by = dict(pairs)

    def logits(self, step):
        return self._by[step]


def test_the_trajectory_draws_p_true_loss_and_the_top_classes(trajectory_plot):
    _, pairs, y = dynamics()
    t = sample_trajectory(Pairs(pairs, y), 5)
    trajectory_plot.set_trajectory(t, NAMES)
    x, p = trajectory_plot.p_line.getData()
    np.testing.assert_array_equal(x, [0, 10, 20, 30, 40, 50])
    np.testing.assert_array_equal(p, t.p_true)
    np.testing.assert_array_equal(trajectory_plot.loss_line.getData()[1], t.loss)
    for k in range(4):
        np.testing.assert_array_equal(trajectory_plot.z_lines[k].getData()[1], t.logits[:, k])
    legend = trajectory_plot.legend_texts()
    assert legend[0] == f"{elide(NAMES[y[5]])} (label)"
    assert len(legend) == 4
    marks = trajectory_plot.p_marks.points()
    assert [m.symbol() for m in marks] == ["o" if c else "x" for c in t.correct]
    assert trajectory_plot.titles()[0] == "Sample 5 · p(true), loss"
    trajectory_plot.set_current_step(30)
    assert trajectory_plot.current_step() == 30
    assert trajectory_plot.step_lines[1].value() == 30


def test_hover_and_click_name_a_step(qtbot, trajectory_plot, mouse):
    _, pairs, y = dynamics()
    t = sample_trajectory(Pairs(pairs, y), 2)
    trajectory_plot.set_trajectory(t, NAMES)
    text = trajectory_plot.hover_text_at(21.0, 0.0)
    assert text.startswith("step 20 · ")
    assert f"p(true) = {t.p_true[2]:.6g}" in text.replace("−", "-")
    vb = trajectory_plot.z_plot.getViewBox()
    with qtbot.waitSignal(trajectory_plot.sigStepClicked) as blocker:
        mouse.click(trajectory_plot, mouse.at(trajectory_plot, vb, 39.0, t.logits[:, 0].min()))
    assert blocker.args == [40]
    mouse.send(
        trajectory_plot,
        QEvent.Type.MouseMove,
        mouse.at(trajectory_plot, vb, 10.0, float(t.logits.mean())),
        mouse.none,
        mouse.none,
    )
    assert trajectory_plot.hover.labels[1].text().startswith("step 10 ·")


def test_no_trajectory_and_many_steps(trajectory_plot):
    trajectory_plot.set_trajectory(None, NAMES)
    assert trajectory_plot.empty_text.isVisible()
    assert points_of(trajectory_plot.p_line) == 0
    assert trajectory_plot.current_step() is None
    rng = np.random.default_rng(0)
    steps = SYMBOL_LIMIT + 10
    pairs = [(s, rng.normal(0, 1, (3, 4))) for s in range(steps)]
    t = sample_trajectory(Pairs(pairs, np.array([0, 1, 2])), 1)
    trajectory_plot.set_trajectory(t, NAMES)
    assert not trajectory_plot.empty_text.isVisible()
    assert points_of(trajectory_plot.p_marks) == 0  # a line, no smear of marks
    assert points_of(trajectory_plot.p_line) == steps
    trajectory_plot.set_theme(DARK)
    assert trajectory_plot.backgroundBrush().color().name() == DARK.background
