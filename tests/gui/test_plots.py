"""gui/plots/: data in -> the plot items hold exactly that data, items are updated in place,
non-finite input is drawn safely and marked, hover text is exact, themes restyle in place, and
real mouse drags / clicks on a shown widget emit the documented signals."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PySide6.QtCore import QCoreApplication, QEvent, QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from softmax_lab.core.display import MAX_BARS, TOP_K, LossCurve, SampleView
from softmax_lab.core.formatting import precise as format_value
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.plots import (
    GradientPlot,
    LossCurvePlot,
    LossPlot,
    ProbabilityHeatmap,
    SamplePlot,
)
from softmax_lab.gui.qimages import to_rgba
from softmax_lab.gui.theme import DARK, LIGHT

NAMES = ["cat", "dog", "a rather long class name", "bird"]
LOGITS = np.array([0.5, 2.0, -1.0, 0.25])
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum()  # test input only; the app gets this from core


# The views take what core computes (``core.display``); these build it from test input.


def set_sample(plot, logits, probabilities, names, true_class=None, predicted=0):
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    view = SampleView(
        index=0,
        logits=logits,
        probabilities=np.asarray(probabilities, dtype=np.float64).reshape(-1),
        gradient=np.zeros(logits.size),
        true_class=true_class,
        predicted=predicted,
        heading="Sample 0",
        note=None,
    )
    plot.set_sample(view, names)


def set_gradient(plot, gradient, names, true_class=None):
    gradient = np.asarray(gradient, dtype=np.float64).reshape(-1)
    view = SampleView(
        index=0,
        logits=np.zeros(gradient.size),
        probabilities=np.zeros(gradient.size),
        gradient=gradient,
        true_class=true_class,
        predicted=0,
        heading="Sample 0",
        note=None,
    )
    plot.set_gradient(view, names)


def set_losses(plot, losses, correct, valid, finite, reduced, reduction, selected):
    plot.set_losses(losses, correct, valid, finite, reduced, reduction)
    plot.set_selected(selected)


def set_probabilities(plot, probabilities, targets, valid, names, selected, rows=None):
    plot.set_probabilities(probabilities, targets, valid, names, rows)
    plot.set_selected(selected)


def set_points(plot, p_true, correct, valid, selected):
    """Dots at (p, −log p), as core.display.loss_curve places hard-label samples."""
    p = np.asarray(p_true, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    valid = np.asarray(valid, dtype=bool).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -np.log(np.clip(p, 0, 1))
    index = np.flatnonzero(valid & ~np.isnan(p))
    y = losses[index]
    finite = y[np.isfinite(y)]
    top = min(12.0, max(5.0, float(finite.max()) * 1.05)) if finite.size else 5.0
    curve = LossCurve(
        index=index,
        x=np.clip(p[index], 0, 1),
        y=np.clip(np.nan_to_num(y, posinf=top), 0, top),
        clamped=(p[index] <= 0) | (p[index] > 1) | ~np.isfinite(y) | (y > top),
        correct=correct[index],
        y_top=top,
        on_reference=True,
        reference_label="−log p(true)",
    )
    plot.set_curve(curve, p, losses)
    plot.set_sample_curve(selected, np.zeros(0), np.zeros(0), False)


@pytest.fixture(autouse=True, scope="module")
def _collect_after_module():
    """Destroy this module's widgets and their wrappers before the interpreter exits: PySide's
    exit-time cleanup can crash on wrappers that the garbage collector frees under it."""
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _show(qtbot, widget, width=720, height=380):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    return widget


def _heights(bars: pg.BarGraphItem) -> np.ndarray:
    return np.asarray(bars.getData()[1], dtype=float)


def _background(widget) -> str:
    return widget.backgroundBrush().color().name()


def _scene_items(widget) -> set[int]:
    return {id(item) for item in widget.scene().items()}


def _screenshot(widget, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SOFTMAX_LAB_SCREENSHOTS", tmp_path))
    path = folder / f"plots_{name}.png"
    image = widget.grab()
    assert not image.isNull()
    assert image.save(str(path))
    return path


# --------------------------------------------------------------------------------------------
# SamplePlot


def test_sample_plot_bars_hold_the_data(qtbot):
    plot = SamplePlot()
    qtbot.addWidget(plot)
    set_sample(plot, LOGITS, PROBS, NAMES, true_class=0, predicted=1)
    np.testing.assert_array_equal(_heights(plot.logit_bars), LOGITS)
    np.testing.assert_allclose(_heights(plot.probability_bars), PROBS)
    np.testing.assert_array_equal(plot.shown_classes(), np.arange(4))
    np.testing.assert_array_equal(plot.logit_bars.getData()[0], np.arange(4))
    # 0 to 1 on a fixed axis, with room above 1 for the labels of a bar of p = 1 (issue 22,
    # item 16): the ticks stop at 1.
    lo, hi = plot.probability_plot.getViewBox().viewRange()[1]
    assert lo == pytest.approx(-0.03 * (hi - lo) / 1.06)
    assert hi > 1.03
    ticks = plot.probability_plot.getAxis("left").tickValues(lo, hi, 300)
    assert max(v for _spacing, values in ticks for v in values) == pytest.approx(1.0)


def test_sample_plot_updates_the_same_items(qtbot):
    plot = SamplePlot()
    qtbot.addWidget(plot)
    set_sample(plot, LOGITS, PROBS, NAMES, 0, 1)
    bars, probs, items = plot.logit_bars, plot.probability_bars, _scene_items(plot)
    rng = np.random.default_rng(0)
    for _ in range(5):
        logits = rng.normal(size=4)
        set_sample(plot, logits, np.full(4, 0.25), NAMES, None, 2)
        np.testing.assert_array_equal(_heights(plot.logit_bars), logits)
    assert plot.logit_bars is bars
    assert plot.probability_bars is probs
    assert _scene_items(plot) == items


def test_sample_plot_non_finite_is_drawn_clamped_and_marked(qtbot):
    plot = SamplePlot()
    qtbot.addWidget(plot)
    logits = np.array([np.nan, np.inf, -np.inf, 1e30, 1.0])
    probs = np.array([np.nan, 1.0, 0.0, 0.0, np.inf])
    set_sample(plot, logits, probs, list("abcde"), true_class=None, predicted=1)
    heights = _heights(plot.logit_bars)
    assert np.isfinite(heights).all()
    assert heights[0] == 0.0
    assert heights[1] > 1.0
    assert heights[2] < 0.0
    assert sorted(plot.logit_marks.texts()) == sorted(["NaN", "∞", "−∞", "1e+30"])
    assert sorted(plot.probability_marks.texts()) == ["NaN", "∞"]
    assert np.isfinite(_heights(plot.probability_bars)).all()
    assert "logit = −∞" in plot.hover_text_at(2.0, 0.0)


def test_sample_plot_hover_shows_exact_values(qtbot):
    plot = SamplePlot()
    qtbot.addWidget(plot)
    set_sample(plot, LOGITS, PROBS, NAMES, 0, 1)
    text = plot.hover_text_at(1.2, 0.5)
    assert "dog  (class 1)" in text
    assert "logit = 2\n" in text
    assert f"p = {PROBS[1]:.6g}" in text
    assert "predicted" in text
    assert "a rather long class name" in plot.hover_text_at(2.0, -0.5)
    assert plot.hover_text_at(-0.8, 0.0) is None
    assert plot.hover_text_at(4.6, 0.0) is None


def test_sample_plot_theme_restyles_without_touching_data(qtbot):
    plot = SamplePlot(theme=LIGHT)
    qtbot.addWidget(plot)
    set_sample(plot, LOGITS, PROBS, NAMES, 0, 1)
    before = _background(plot)
    bars = plot.logit_bars
    plot.set_theme(DARK.scaled(1.5))
    assert _background(plot) != before
    assert _background(plot) == DARK.background
    assert plot.logit_bars is bars
    np.testing.assert_array_equal(_heights(plot.logit_bars), LOGITS)
    np.testing.assert_allclose(_heights(plot.probability_bars), PROBS)


def test_sample_plot_wide_vocabulary_shows_top_k(qtbot):
    plot = SamplePlot()
    qtbot.addWidget(plot)
    c = 50_000
    rng = np.random.default_rng(1)
    logits = rng.normal(size=c)
    probs = np.exp(logits) / np.exp(logits).sum()
    names = [f"token_{i}" for i in range(c)]
    set_sample(plot, logits, probs, names, true_class=7, predicted=int(np.argmax(probs)))
    expected = np.argsort(-probs, kind="stable")[:TOP_K]
    assert len(_heights(plot.logit_bars)) == TOP_K
    np.testing.assert_array_equal(plot.shown_classes(), expected)
    np.testing.assert_array_equal(_heights(plot.logit_bars), logits[expected])
    np.testing.assert_allclose(_heights(plot.probability_bars), probs[expected])
    assert f"top {TOP_K} of 50,000" in kit.title_of(plot.logit_plot)
    assert f"token_{expected[3]}" in plot.hover_text_at(3.0, 0.0)
    assert MAX_BARS == 40


def test_sample_plot_real_drag_edits_a_logit(qtbot, mouse):
    plot = _show(qtbot, SamplePlot())
    set_sample(plot, LOGITS, PROBS, NAMES, 0, 1)
    QApplication.processEvents()
    vb = plot.logit_plot.getViewBox()
    dragged: list[tuple[int, float]] = []
    finished: list[int] = []
    ranges: list[list[float]] = []

    def owner_republishes(cls: int, value: float) -> None:
        # What the main window does: recompute through core and publish the new sample.
        logits = LOGITS.copy()
        logits[cls] = value
        set_sample(plot, logits, PROBS, NAMES, 0, 1)
        ranges.append(vb.viewRange()[1])

    plot.sigLogitDragged.connect(lambda c, v: dragged.append((c, v)))
    plot.sigLogitDragged.connect(owner_republishes)
    plot.sigDragFinished.connect(finished.append)
    y_range = vb.viewRange()[1]
    target = y_range[1] - 0.05 * (y_range[1] - y_range[0])
    path = [mouse.at(plot, vb, 1.0, 1.0), *(mouse.at(plot, vb, 1.0, y) for y in (1.5, 2.0, target))]

    mouse.drag(plot, path)

    assert dragged, "no sigLogitDragged"
    assert all(cls == 1 for cls, _ in dragged)
    pixel = vb.viewPixelSize()[1]
    assert dragged[-1][1] == pytest.approx(target, abs=2 * pixel)
    assert finished == [1]
    # While dragging, publishing new data did not rescale the logits axis.
    assert all(r == pytest.approx(y_range) for r in ranges)
    assert _heights(plot.logit_bars)[1] == pytest.approx(dragged[-1][1])


def test_sample_plot_drag_on_empty_space_emits_nothing(qtbot, mouse):
    plot = _show(qtbot, SamplePlot())
    set_sample(plot, LOGITS, PROBS, NAMES, 0, 1)
    QApplication.processEvents()
    vb = plot.logit_plot.getViewBox()
    signals: list[object] = []
    plot.sigLogitDragged.connect(lambda c, v: signals.append((c, v)))
    plot.sigDragFinished.connect(signals.append)
    # Column of class 2 (logit -1): its bar spans [-1, 0]; start well above it.
    mouse.drag(plot, [mouse.at(plot, vb, 2.0, y) for y in (1.6, 1.0, 0.5)])
    # Between bars, outside every column.
    mouse.drag(plot, [mouse.at(plot, vb, 4.2, 0.1), mouse.at(plot, vb, 4.2, 1.0)])
    assert signals == []


def test_sample_plot_drag_in_wide_vocabulary_reports_the_real_class(qtbot, mouse):
    plot = _show(qtbot, SamplePlot())
    c = 1000
    logits = np.linspace(-3.0, 3.0, c)
    probs = np.exp(logits) / np.exp(logits).sum()
    set_sample(plot, logits, probs, [f"c{i}" for i in range(c)], None, c - 1)
    QApplication.processEvents()
    vb = plot.logit_plot.getViewBox()
    dragged: list[tuple[int, float]] = []
    plot.sigLogitDragged.connect(lambda cls, v: dragged.append((cls, v)))
    with qtbot.waitSignal(plot.sigDragFinished) as blocker:
        mouse.drag(plot, [mouse.at(plot, vb, 2.0, y) for y in (1.5, 2.0, 2.5)])
    assert blocker.args == [c - 3]  # slot 2 = third most probable class
    assert {cls for cls, _ in dragged} == {c - 3}


# --------------------------------------------------------------------------------------------
# LossPlot


def _losses(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    losses = rng.exponential(size=n)
    correct = rng.random(n) > 0.4
    valid = np.ones(n, dtype=bool)
    return losses, correct, valid, np.isfinite(losses)


def test_loss_plot_bars_colours_and_mean_line(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses = np.array([0.1, 0.5, 0.2, 0.4])
    correct = np.array([True, False, True, False])
    valid = np.array([True, True, True, False])
    set_losses(plot, losses, correct, valid, np.ones(4, bool), 0.3018, "mean", selected=2)
    np.testing.assert_array_equal(_heights(plot.bars), losses)
    brushes = [b.color().name() for b in plot.bars.opts["brushes"]]
    assert brushes[:3] == [LIGHT.correct.lower(), LIGHT.incorrect.lower(), LIGHT.correct.lower()]
    assert brushes[3] == LIGHT.ignored.lower()
    # Second cue besides colour: marker shape.
    symbols = list(plot.marks.data["symbol"])
    assert symbols == ["o", "x", "o", "_"]
    pens = plot.bars.opts["pens"]
    assert pens[2].color().name() == LIGHT.selection.lower()
    assert plot.reduced_line.isVisible()
    assert plot.reduced_line.value() == pytest.approx(0.3018)
    assert plot.reduced_label() == "mean = 0.3018"  # top right, over a halo, never on a bar
    assert plot.curve.isVisible() is False


def test_loss_plot_sum_and_none_reductions(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses, correct, valid, finite = _losses(5)
    set_losses(plot, losses, correct, valid, finite, 1.5, "sum", 0)
    assert not plot.reduced_line.isVisible()
    assert plot.reduced_text.isVisible()
    assert plot.reduced_text.toPlainText() == "sum = 1.5000"  # as the table spells it
    set_losses(plot, losses, correct, valid, finite, None, "none", 0)
    assert not plot.reduced_line.isVisible()
    assert not plot.reduced_text.isVisible()


def test_loss_plot_updates_the_same_items(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    set_losses(plot, *_losses(10), 0.5, "mean", 0)
    bars, curve, line, items = plot.bars, plot.curve, plot.reduced_line, _scene_items(plot)
    for seed in range(4):
        losses, correct, valid, finite = _losses(10 + seed, seed)
        set_losses(plot, losses, correct, valid, finite, float(losses.mean()), "mean", seed)
        np.testing.assert_array_equal(_heights(plot.bars), losses)
    set_losses(plot, *_losses(3000), 1.0, "mean", 5)  # to the curve path and back
    set_losses(plot, *_losses(10), 0.5, "mean", 0)
    assert (plot.bars, plot.curve, plot.reduced_line) == (bars, curve, line)
    assert _scene_items(plot) == items


def test_loss_plot_non_finite_losses_are_marked(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses = np.array([np.nan, np.inf, 1e300, 1.0, -np.inf])
    finite = np.isfinite(losses)
    set_losses(plot, losses, np.zeros(5, bool), np.ones(5, bool), finite, np.nan, "mean", 1)
    heights = _heights(plot.bars)
    assert np.isfinite(heights).all()
    assert heights[3] == 1.0
    assert list(plot.marks.data["symbol"]) == ["t1", "t1", "t1", "x", "t1"]
    assert "4 non-finite" in kit.title_of(plot.getPlotItem())
    # A non-finite mean cannot be a line: it is shown as text instead.
    assert not plot.reduced_line.isVisible()
    assert plot.reduced_text.toPlainText() == "mean = NaN"
    assert plot.hover_text_at(1.0, 0.0) == "sample 1 · ✗ incorrect\nloss = ∞"


def test_loss_plot_hover_shows_exact_loss(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses = np.array([0.123456789, 2.5, 0.0])
    set_losses(plot, losses, [True, False, True], [True, True, False], [1, 1, 1], 1.0, "mean", 0)
    assert plot.hover_text_at(0.1, 0.05) == "sample 0 · ✓ correct\nloss = 0.123457"
    assert plot.hover_text_at(1.4, 9.0) == "sample 1 · ✗ incorrect\nloss = 2.5"
    assert plot.hover_text_at(2.0, 0.0) == "sample 2 · ignored\nloss = 0"
    assert plot.hover_text_at(3.6, 0.0) is None


def test_loss_plot_real_click_selects_a_sample(qtbot, mouse):
    plot = _show(qtbot, LossPlot())
    losses, correct, valid, finite = _losses(8)
    set_losses(plot, losses, correct, valid, finite, float(losses.mean()), "mean", 0)
    QApplication.processEvents()
    vb = plot.getPlotItem().getViewBox()
    with qtbot.waitSignal(plot.sigSampleClicked) as blocker:
        mouse.click(plot, mouse.at(plot, vb, 5.0, losses[5] / 2))
    assert blocker.args == [5]


def test_loss_plot_large_n_draws_the_outline_of_bin_maxima(qtbot):
    plot = _show(qtbot, LossPlot())
    n = 50_000
    losses, correct, valid, finite = _losses(n)
    losses[123] = np.inf
    set_losses(plot, losses, correct, valid, np.isfinite(losses), 1.0, "mean", 10)
    QApplication.processEvents()
    assert plot.curve.isVisible()
    assert not plot.bars.isVisible()
    x, y = plot.curve.getOriginalDataset()
    assert len(x) == len(y) + 1 <= 2049
    assert x[0] == -0.5
    assert x[-1] == n - 0.5
    assert np.isfinite(y).all()
    drawn = np.where(np.isfinite(losses), losses, np.nan)
    for i in (0, 1, len(y) // 2, len(y) - 1):
        lo, hi = int(x[i] + 0.5), int(x[i + 1] + 0.5)
        chunk = drawn[lo:hi]
        if np.isnan(chunk).any():
            assert y[i] >= np.nanmax(chunk)  # the off-scale sample is clamped to the top
        else:
            assert y[i] == chunk.max()
    assert list(plot.marks.data["symbol"]) == ["t1"]  # only the off-scale sample is marked
    assert "sample 49999" in plot.hover_text_at(49_999.0, 0.0)


def test_loss_plot_theme_restyles_without_touching_data(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses, correct, valid, finite = _losses(6)
    set_losses(plot, losses, correct, valid, finite, 0.7, "mean", 1)
    plot.set_theme(DARK)
    assert _background(plot) == DARK.background
    np.testing.assert_array_equal(_heights(plot.bars), losses)
    first_correct = int(np.flatnonzero(correct)[0])
    assert plot.bars.opts["brushes"][first_correct].color().name() == DARK.correct.lower()
    assert plot.reduced_text.color.name() == DARK.foreground.lower()


# --------------------------------------------------------------------------------------------
# ProbabilityHeatmap


def _matrix(r: int, c: int, seed: int = 0) -> np.ndarray:
    raw = np.random.default_rng(seed).random((r, c))
    return (raw / raw.sum(1, keepdims=True)).astype(np.float32)


def test_heatmap_image_and_true_markers(qtbot):
    plot = ProbabilityHeatmap()
    qtbot.addWidget(plot)
    probs = _matrix(6, 4)
    targets = np.array([0, 1, 2, 3, -100, 1])
    valid = np.array([True, True, True, True, False, True])
    set_probabilities(plot, probs, targets, valid, NAMES, selected=2)
    np.testing.assert_array_equal(plot.image.image, probs)
    assert tuple(plot.image.getLevels()) == (0.0, 1.0)
    x, y = plot.true_markers.getData()
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 1])
    np.testing.assert_array_equal(y, [0, 1, 2, 3, 5])
    assert plot.selection_outline.isVisible()
    np.testing.assert_array_equal(plot.selection_outline.getData()[1], [1.5, 1.5, 2.5, 2.5, 1.5])


def test_heatmap_non_finite_cells_are_safe_and_marked(qtbot):
    plot = ProbabilityHeatmap()
    qtbot.addWidget(plot)
    probs = _matrix(3, 3)
    probs[0, 1] = np.nan
    probs[2, 2] = np.inf
    probs[1, 0] = 7.0
    set_probabilities(plot, probs, np.array([0, 1, 2]), np.ones(3, bool), list("abc"), 0)
    image = plot.image.image
    assert np.isfinite(image).all()
    assert image[0, 1] == 0.0
    assert image[2, 2] == 1.0
    assert image[1, 0] == 1.0
    alpha = plot.nan_overlay.image[..., 3]
    np.testing.assert_array_equal(np.argwhere(alpha == 255), [[0, 1], [2, 2]])
    assert plot.nan_overlay.isVisible()
    assert "p = NaN" in plot.hover_text_at(1.0, 0.0)
    assert "p = 7" in plot.hover_text_at(0.0, 1.0)


def test_heatmap_rows_map_to_samples_in_hover_and_click(qtbot, mouse):
    plot = _show(qtbot, ProbabilityHeatmap())
    rows = np.array([0, 10, 20, 30, 40])
    targets = np.array([0, 1, 2, 3, 0])
    set_probabilities(plot, _matrix(5, 4), targets, np.ones(5, bool), NAMES, 30, rows=rows)
    QApplication.processEvents()
    assert np.mean(plot.selection_outline.getData()[1][:4]) == pytest.approx(3.0)
    text = plot.hover_text_at(1.2, 2.1)
    assert text.startswith("sample 20 · dog (class 1)")
    assert "true class" not in text
    assert "true class" in plot.hover_text_at(2.0, 2.0)
    assert plot.hover_text_at(4.7, 0.0) is None
    vb = plot.getPlotItem().getViewBox()
    with qtbot.waitSignal(plot.sigSampleClicked) as blocker:
        mouse.click(plot, mouse.at(plot, vb, 1.0, 4.0))
    assert blocker.args == [40]
    set_probabilities(plot, _matrix(5, 4), np.zeros(5, int), np.ones(5, bool), NAMES, 35, rows)
    assert not plot.selection_outline.isVisible()  # the selected sample is not among the rows


def test_heatmap_updates_in_place_and_restyles(qtbot):
    plot = ProbabilityHeatmap()
    qtbot.addWidget(plot)
    set_probabilities(plot, _matrix(4, 4), np.zeros(4, int), np.ones(4, bool), NAMES, 0)
    image, markers, items = plot.image, plot.true_markers, _scene_items(plot)
    for seed in range(3):
        probs = _matrix(8, 4, seed)
        set_probabilities(plot, probs, np.ones(8, int), np.ones(8, bool), NAMES, 1)
        np.testing.assert_array_equal(plot.image.image, probs)
    assert plot.image is image
    assert plot.true_markers is markers
    assert _scene_items(plot) == items
    plot.set_theme(DARK)
    assert _background(plot) == DARK.background
    np.testing.assert_array_equal(plot.image.image, probs)
    assert tuple(plot.image.getLevels()) == (0.0, 1.0)


# --------------------------------------------------------------------------------------------
# LossCurvePlot


def test_loss_curve_places_points_on_the_curve(qtbot):
    plot = LossCurvePlot()
    qtbot.addWidget(plot)
    p = np.array([0.9, 0.2, np.nan, 0.0, 0.5])
    correct = np.array([True, False, False, False, True])
    valid = np.array([True, True, False, True, False])
    set_points(plot, p, correct, valid, selected=1)
    x, y = plot.points.getData()
    np.testing.assert_allclose(x, [0.9, 0.2, 0.0])
    top = plot.getPlotItem().getViewBox().viewRange()[1][1]
    np.testing.assert_allclose(y[:2], -np.log([0.9, 0.2]))
    assert y[2] == pytest.approx(5.0)
    assert top > 5.0
    assert list(plot.points.data["symbol"]) == ["o", "x", "t1"]
    assert list(plot.points.data["data"]) == [0, 1, 3]
    sx, sy = plot.selected_marker.getData()
    np.testing.assert_allclose([sx[0], sy[0]], [0.2, -np.log(0.2)])
    cx, cy = plot.reference.getData()
    assert cy.max() <= plot.y_top()  # up to the top of the data: the band above is the legend's
    assert cx.min() < 1.1 * np.exp(-plot.y_top())  # and all the way to it
    assert cx.max() == 1.0
    np.testing.assert_allclose(cy, -np.log(cx))
    assert "off chart" in kit.title_of(plot.getPlotItem())


def test_loss_curve_y_range_follows_the_data_within_limits(qtbot):
    plot = LossCurvePlot()
    qtbot.addWidget(plot)
    vb = plot.getPlotItem().getViewBox()
    set_points(plot, np.array([1e-3, 0.5]), np.array([False, True]), np.ones(2, bool), 0)
    assert vb.viewRange()[1][1] == pytest.approx(-np.log(1e-3) * 1.05, rel=0.05)
    set_points(plot, np.array([1e-30, np.inf, -np.inf]), np.zeros(3, bool), np.ones(3, bool), 0)
    assert vb.viewRange()[1][1] < 13
    x, y = plot.points.getData()
    assert np.isfinite(x).all()
    assert np.isfinite(y).all()
    np.testing.assert_allclose(x, [1e-30, 1.0, 0.0])


def test_loss_curve_hover_and_real_click(qtbot, mouse):
    plot = _show(qtbot, LossCurvePlot())
    p = np.array([0.8, 0.3, 0.05])
    set_points(plot, p, np.array([True, False, False]), np.ones(3, bool), 0)
    QApplication.processEvents()
    text = plot.hover_text_at(0.3, float(-np.log(0.3)))
    assert text == f"sample 1 · ✗ incorrect\np(true) = 0.3\nloss = {-np.log(0.3):.6g}"
    assert plot.hover_text_at(0.6, 4.0) is None
    vb = plot.getPlotItem().getViewBox()
    with qtbot.waitSignal(plot.sigSampleClicked) as blocker:
        mouse.click(plot, mouse.at(plot, vb, 0.05, float(-np.log(0.05))))
    assert blocker.args == [2]


def test_loss_curve_updates_in_place_and_restyles(qtbot):
    plot = LossCurvePlot()
    qtbot.addWidget(plot)
    curve, points, items = plot.reference, plot.points, _scene_items(plot)
    for seed in range(3):
        p = np.random.default_rng(seed).random(20)
        set_points(plot, p, p > 0.5, np.ones(20, bool), seed)
        if seed == 0:
            items = _scene_items(plot)  # the legend lays its label out on first use
    assert plot.reference is curve
    assert plot.points is points
    assert _scene_items(plot) == items
    plot.set_theme(DARK)
    assert _background(plot) == DARK.background
    np.testing.assert_allclose(plot.points.getData()[0], p)


# --------------------------------------------------------------------------------------------
# GradientPlot


def test_gradient_plot_bars_signs_and_true_class(qtbot):
    plot = GradientPlot()
    qtbot.addWidget(plot)
    gradient = PROBS - np.eye(4)[1]
    set_gradient(plot, gradient, NAMES, true_class=1)
    np.testing.assert_allclose(_heights(plot.bars), gradient)
    brushes = [b.color().name() for b in plot.bars.opts["brushes"]]
    assert brushes[1] == LIGHT.correct.lower()  # negative
    assert brushes[0] == LIGHT.incorrect.lower()  # positive
    outline = plot.casing.outlines.opts  # the true class's outline, drawn around its bar
    assert outline["x"] == [1.0]
    assert outline["pens"][0].color().name() == LIGHT.mark(LIGHT.true_class).lower()
    assert plot.zero_line.value() == 0.0
    assert plot.hover_text_at(1.0, 0.0) == (
        f"dog  (class 1)\n∂loss/∂z = {format_value(gradient[1])}\ntrue class"
    )
    assert plot.hover_text_at(-2.0, 0.0) is None


def test_gradient_plot_wide_vocabulary_and_non_finite(qtbot):
    plot = GradientPlot()
    qtbot.addWidget(plot)
    c = 50_000
    gradient = np.random.default_rng(2).normal(scale=1e-3, size=c)
    gradient[5] = -0.9
    gradient[6] = np.nan
    gradient[7] = np.inf
    set_gradient(plot, gradient, [f"t{i}" for i in range(c)], true_class=5)
    ranked = np.argsort(-np.abs(np.nan_to_num(gradient, nan=0.0)), kind="stable")[:TOP_K]
    np.testing.assert_array_equal(plot.shown_classes(), ranked)
    assert len(_heights(plot.bars)) == TOP_K
    assert plot.shown_classes()[0] == 7
    assert plot.shown_classes()[1] == 5
    assert np.isfinite(_heights(plot.bars)).all()
    assert plot.marks.texts() == ["∞"]
    assert f"top {TOP_K} of 50,000" in kit.title_of(plot.getPlotItem())
    set_gradient(plot, np.array([np.nan, -np.inf, 1.0]), list("abc"), None)
    assert sorted(plot.marks.texts()) == ["NaN", "−∞"]


def test_gradient_plot_updates_in_place_and_restyles(qtbot):
    plot = GradientPlot()
    qtbot.addWidget(plot)
    bars = plot.bars
    set_gradient(plot, np.ones(4), NAMES, 0)
    items = _scene_items(plot)  # the bar labels are made the first time they are shown
    for seed in range(3):
        g = np.random.default_rng(seed).normal(size=4)
        set_gradient(plot, g, NAMES, seed)
    assert plot.bars is bars
    assert _scene_items(plot) == items
    plot.set_theme(DARK)
    assert _background(plot) == DARK.background
    np.testing.assert_allclose(_heights(plot.bars), g)


# --------------------------------------------------------------------------------------------
# any input: never raises, always draws finite geometry


def test_empty_inputs_do_not_raise(qtbot):
    sample, loss, heatmap, curve, gradient = (
        SamplePlot(),
        LossPlot(),
        ProbabilityHeatmap(),
        LossCurvePlot(),
        GradientPlot(),
    )
    for widget in (sample, loss, heatmap, curve, gradient):
        qtbot.addWidget(widget)
    empty = np.zeros(0)
    set_sample(sample, empty, empty, [], None, 0)
    set_losses(loss, empty, empty, empty, empty, None, "mean", 0)
    set_probabilities(heatmap, np.zeros((0, 3)), empty, empty, list("abc"), 0)
    set_points(curve, empty, empty, empty, 0)
    set_gradient(gradient, empty, [], None)
    assert sample.hover_text_at(0.0, 0.0) is None
    assert loss.hover_text_at(0.0, 0.0) is None
    assert heatmap.hover_text_at(0.0, 0.0) is None
    assert curve.hover_text_at(0.0, 0.0) is None
    assert gradient.hover_text_at(0.0, 0.0) is None


_ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1e300, 1e300, np.nan, np.inf, -np.inf]),
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=hnp.arrays(np.float64, st.integers(1, 60), elements=_ANY_FLOAT),
    seed=st.integers(0, 2**16),
)
def test_any_values_draw_finite_geometry(qtbot, values, seed):
    n = values.size
    rng = np.random.default_rng(seed)
    flags = rng.random(n) > 0.5
    names = [f"c{i}" for i in range(n)]
    selected = int(rng.integers(-1, n + 1))

    sample = SamplePlot()
    loss = LossPlot()
    heatmap = ProbabilityHeatmap()
    curve = LossCurvePlot()
    gradient = GradientPlot()
    for widget in (sample, loss, heatmap, curve, gradient):
        qtbot.addWidget(widget)
    set_sample(sample, values, values[::-1], names, int(rng.integers(n)), int(rng.integers(n)))
    set_losses(loss, values, flags, ~flags, np.isfinite(values), values[0], "mean", selected)
    matrix = np.resize(values, (3, n))
    set_probabilities(heatmap, matrix, np.array([0, n - 1, -100]), np.ones(3, bool), names, 1)
    set_points(curve, values, flags, ~flags, selected)
    set_gradient(gradient, values, names, None)

    for bars in (sample.logit_bars, sample.probability_bars, loss.bars, gradient.bars):
        assert np.isfinite(_heights(bars)).all()
    assert np.isfinite(heatmap.image.image).all()
    for data in curve.points.getData():
        assert np.isfinite(data).all()
    x, y = loss.curve.getOriginalDataset()
    assert x is None or np.isfinite(y).all()
    for widget in (sample, loss, heatmap, curve, gradient):
        assert widget.hover_text_at(0.0, 0.0) is None or isinstance(
            widget.hover_text_at(0.0, 0.0), str
        )


# --------------------------------------------------------------------------------------------
# screenshots: every widget with realistic data, saved for a human to look at, and checked for
# what each must show (its data colours on the theme's background, axis text in its foreground)

DRAWN_IN = {
    "sample": ("logit", "probability"),
    "sample_wide": ("logit",),
    "loss": ("correct", "incorrect"),
    "loss_curve_mode": ("probability",),
    "heatmap": (),  # a colour map: checked by its many colours instead
    "loss_curve": ("incorrect",),
    "gradient": ("correct", "incorrect"),
}


def _assert_drawn(pixels: np.ndarray, theme, colours: tuple[str, ...], name: str) -> None:
    rgb = pixels[..., :3].reshape(-1, 3)
    values, counts = np.unique(rgb, axis=0, return_counts=True)
    share = {
        "#{:02x}{:02x}{:02x}".format(*v): n / len(rgb)
        for v, n in zip(values.tolist(), counts.tolist(), strict=True)
    }
    assert max(share, key=share.__getitem__) == theme.background.lower(), name
    assert share.get(theme.foreground.lower(), 0) > 0.002, f"{name}: no axis text"
    for field in colours:
        colour = getattr(theme, field).lower()
        assert share.get(colour, 0) > 0.002, f"{name}: nothing drawn in {field} ({colour})"
    if name == "heatmap":
        cells = [c for c, f in share.items() if f > 0.002 and c != theme.background.lower()]
        assert len(cells) >= 20, f"heatmap: {len(cells)} colours"


@pytest.mark.parametrize(
    "theme", [LIGHT, DARK, LIGHT.scaled(1.5)], ids=["light", "dark", "light_large"]
)
def test_screenshots(qtbot, mouse, tmp_path, theme):
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse"]
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2.0, size=8)
    logits[5] = -np.inf
    probs = np.exp(logits) / np.exp(logits).sum()
    sample = SamplePlot(theme)
    set_sample(sample, logits, probs, names, true_class=3, predicted=int(np.argmax(probs)))
    wide = SamplePlot(theme)
    c = 50_000
    wide_logits = rng.normal(size=c)
    wide_probs = np.exp(wide_logits) / np.exp(wide_logits).sum()
    set_sample(wide, wide_logits, wide_probs, [f"token_{i}" for i in range(c)], 11, 0)

    n = 60
    losses, correct, valid, finite = _losses(n)
    valid[[4, 9]] = False
    losses[[4, 9]] = 0.0
    losses[17] = np.inf
    finite = np.isfinite(losses)
    loss = LossPlot(theme)
    set_losses(loss, losses, correct, valid, finite, 0.9312, "mean", 12)
    big = LossPlot(theme)
    set_losses(big, *_losses(50_000), 1.0, "sum", 12)

    heat_probs = _matrix(40, 8)
    heat_probs[5, 2] = np.nan
    heatmap = ProbabilityHeatmap(theme)
    set_probabilities(heatmap, heat_probs, rng.integers(0, 8, 40), np.ones(40, bool), names, 7)

    p_true = rng.random(n) ** 2
    p_true[[4, 9]] = np.nan
    p_true[17] = 0.0
    curve = LossCurvePlot(theme)
    set_points(curve, p_true, p_true > 0.3, valid, 12)

    gradient = GradientPlot(theme)
    set_gradient(gradient, np.nan_to_num(probs) - np.eye(8)[3], names, 3)

    widgets = {
        "sample": sample,
        "sample_wide": wide,
        "loss": loss,
        "loss_curve_mode": big,
        "heatmap": heatmap,
        "loss_curve": curve,
        "gradient": gradient,
    }
    for name, widget in widgets.items():
        width = 760 if name.startswith("sample") else 520
        _show(qtbot, widget, round(width * theme.scale), round(340 * theme.scale))
        # A hover label in each shot, to see it too.
        view = widget.getPlotItem().getViewBox() if hasattr(widget, "getPlotItem") else None
        if view is None:
            view = widget.logit_plot.getViewBox()
        hover = mouse.at(widget, view, 2.0, 0.5)
        mouse.send(widget, QEvent.Type.MouseMove, hover, mouse.none, mouse.none)
        QApplication.processEvents()
        suffix = theme.name if theme.scale == 1 else f"{theme.name}_x{theme.scale:g}"
        pixels = to_rgba(QImage(str(_screenshot(widget, f"{name}_{suffix}", tmp_path))))
        assert pixels.shape[:2] == (widget.height(), widget.width())
        _assert_drawn(pixels, theme, DRAWN_IN[name], name)


def test_loss_curve_draws_one_marker_per_screen_cell_for_many_samples(qtbot):
    plot = _show(qtbot, LossCurvePlot())
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 1.0, 50_000)
    correct = rng.random(50_000) > 0.3
    set_points(plot, p, correct, np.ones(50_000, bool), 7)
    x, y = plot.points.getData()
    assert 0 < len(x) < 50_000
    np.testing.assert_allclose(y, -np.log(x), rtol=1e-9)  # every marker is on the curve
    sample = 31_337
    text = plot.hover_text_at(p[sample], -np.log(p[sample]))
    assert text is not None
    assert f"p(true) = {format_value(p[sample])}" in text
    sx, _ = plot.selected_marker.getData()
    assert sx[0] == p[7]


@pytest.mark.parametrize("kind", ["loss", "curve", "heatmap", "gradient"])
def test_moving_the_mouse_over_a_plot_shows_the_hover_label(qtbot, mouse, kind):
    from PySide6.QtCore import QEvent

    if kind == "loss":
        plot = _show(qtbot, LossPlot())
        set_losses(
            plot,
            np.array([0.2, 0.9]),
            np.array([True, False]),
            np.ones(2, bool),
            np.ones(2, bool),
            0.55,
            "mean",
            0,
        )
        target = (1.0, 0.5)
    elif kind == "curve":
        plot = _show(qtbot, LossCurvePlot())
        set_points(plot, np.array([0.5]), np.array([True]), np.array([True]), 0)
        target = (0.5, -np.log(0.5))
    elif kind == "heatmap":
        plot = _show(qtbot, ProbabilityHeatmap())
        set_probabilities(
            plot, np.array([[0.3, 0.7]]), np.array([1]), np.array([True]), ["a", "b"], 0
        )
        target = (1.0, 0.0)
    else:
        plot = _show(qtbot, GradientPlot())
        set_gradient(plot, np.array([0.4, -0.4]), ["a", "b"], 1)
        target = (0.0, 0.2)
    vb = plot._vb
    mouse.send(plot, QEvent.Type.MouseMove, mouse.at(plot, vb, *target), mouse.none, mouse.none)
    QApplication.processEvents()
    label = plot.hover.labels[0]
    assert label.text() == plot.hover_text_at(*target)
    plot.hover.eventFilter(plot, QEvent(QEvent.Type.Leave))
    assert label.text() is None  # leaving the plot hides it


def test_a_long_title_gives_way_in_a_narrow_plot_and_follows_a_resize(qtbot):
    plot = _show(qtbot, pg.PlotWidget(), 200, 160)
    item = plot.getPlotItem()
    title = "Per-sample loss, sorted by p(true), with the ignored samples left out"
    kit.set_title(item, LIGHT.scaled(1.5), title)
    QApplication.processEvents()
    label = item.titleLabel
    assert kit.title_of(item) == title
    assert label.toolTip() == title
    assert label.text.endswith("…")
    assert len(label.text) < len(title)
    assert label.item.boundingRect().width() <= label.geometry().width()
    assert item.getViewBox().geometry().width() > 100  # the plot kept its room
    assert item.layout.rowMaximumHeight(0) == LIGHT.px(26 * 1.5)
    plot.resize(1400, 160)
    qtbot.waitUntil(lambda: label.text == title)


@pytest.mark.parametrize("width", [180, 420])
@pytest.mark.parametrize("height", [150, 180, 210, 260, 380])
def test_gradient_plot_low_view_keeps_the_true_class_label_whole_below_its_bar(
    qtbot, width, height
):
    """A view too low for every label's room (the stage's gradient plot, 1920x1080, notebook
    lesson step 12): the value labels give way, the true class's label keeps its room beyond
    its bar — whole or compact (the value only), never left out."""
    plot = _show(qtbot, GradientPlot(), width=width, height=height)
    gradient = np.array([0.0307, 0.0756, -0.1063])
    set_gradient(plot, gradient, list("abc"), true_class=2)
    QApplication.processEvents()
    labels, vb = plot.labels, plot.getPlotItem().getViewBox()
    item = labels.items[2]
    whole = labels._entries[2][2]
    assert labels._entries[2][3] is not None  # the true class's label
    assert whole.endswith("\ntrue")
    assert item.isVisible()
    assert item.toPlainText() in (whole, whole.split("\n")[0])
    rect = item.sceneBoundingRect()
    end = vb.mapViewToScene(QPointF(2.0, gradient[2])).y()
    assert rect.top() >= end  # beyond the bar's end (scene y grows downwards), not on it
    assert vb.sceneBoundingRect().contains(rect)  # whole, in the view
