"""gui/dataset/: every view shows exactly what core.metrics computed, items are updated in
place, clicks and activations emit the documented signals, and odd data (NaN rows, ignored rows,
huge vocabularies) is shown without crashing."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

import softmax_lab.core.metrics as metrics
from softmax_lab.core import evaluate
from softmax_lab.core import formatting as fmt
from softmax_lab.core.calibration import TemperatureFit, fit_temperature
from softmax_lab.core.metrics import (
    MAX_CONFUSION_SHOWN,
    confusion_matrix,
    label_issue_ranking,
    most_confused_classes,
    reliability,
    row_normalized,
    summarize,
)
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.dataset import DatasetPanel
from softmax_lab.gui.theme import DARK, LIGHT

N_LABEL_ISSUES = 50  # summarize's default

LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton
TABS = ("histograms", "confusion", "reliability", "metrics", "label_issues", "temperature")


def _evaluation(n=400, c=6, seed=0, *, nan_rows=(), ignored_rows=()):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, (n, c))
    y = rng.integers(0, c, n)
    z[np.arange(n), y] += 1.5  # better than chance, so every view has something to show
    z *= 1.7  # and over-confident, so the reliability gaps are visible
    y[list(ignored_rows)] = -100
    z[list(nan_rows)] = np.nan
    return evaluate(z, y), z, y


def _names(c):
    return [f"class {i}" for i in range(c)]


def show(panel, ev, names, top_k=5):
    """What the window does: core summarises, the panel shows the summary."""
    if len(names) != ev.n_classes:
        raise ValueError(f"{len(names)} class names for {ev.n_classes} classes")
    fit_ready = ev.target_kind == "index" and bool((ev.valid & ev.finite).any())
    panel.set_summary(summarize(ev, top_k=top_k), names, ev.options.temperature, fit_ready)


@pytest.fixture
def panel(qtbot):
    widget = DatasetPanel()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture(autouse=True)
def _no_mouse_rate_limit(monkeypatch):
    """pyqtgraph drops mouse events that come within 10 ms of each other; synthetic ones do."""
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)


def _show(qtbot, widget, tab: int | None = None):
    widget.resize(900, 600)
    if tab is not None:
        widget.tabs.setCurrentIndex(tab)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()


# Mouse events go to the view's viewport, as in pyqtgraph's own tests/ui_testing.py.
def _mouse(view, kind: QEvent.Type, pos: QPoint, button, buttons) -> None:
    viewport = view.viewport()
    event = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(viewport.mapToGlobal(pos)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def _click(view, pos: QPoint) -> None:
    _mouse(view, QEvent.Type.MouseMove, pos, NO_BUTTON, NO_BUTTON)
    _mouse(view, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
    _mouse(view, QEvent.Type.MouseButtonRelease, pos, LEFT, NO_BUTTON)


def _at(view, vb: pg.ViewBox, x: float, y: float) -> QPoint:
    """Viewport pixel of a point given in the view coordinates of `vb`."""
    return view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))


def _bar_data(bars: pg.BarGraphItem) -> tuple[np.ndarray, np.ndarray]:
    x, height = bars.getData()
    return np.asarray(x, dtype=float), np.asarray(height, dtype=float)


def _items(panel) -> dict[str, object]:
    return {
        "loss_correct": panel.loss_hist_correct,
        "loss_wrong": panel.loss_hist_wrong,
        "conf_correct": panel.confidence_hist_correct,
        "conf_wrong": panel.confidence_hist_wrong,
        "image": panel.confusion_image,
        "bars": panel.reliability_bars,
        "gap": panel.reliability_gap_bars,
        "counts": panel.reliability_count_bars,
        "table": panel.label_issue_table,
        "button": panel.fit_button,
    }


def _scene_items(panel) -> set[int]:
    views = (panel.histograms, panel.confusion_view.plot, panel.reliability_view)
    return {id(item) for view in views for item in view.scene().items()}


# --------------------------------------------------------------------------------------------
# confusion matrix


def test_confusion_image_holds_the_core_confusion_matrix(panel):
    ev, _z, y = _evaluation(ignored_rows=[0, 1], nan_rows=[5])
    show(panel, ev, _names(6))
    expected = confusion_matrix(y, ev.predictions, 6, ev.valid & ev.finite)
    np.testing.assert_array_equal(panel.summary.confusion, expected)
    np.testing.assert_array_equal(panel.confusion_image.image, expected.astype(float))
    np.testing.assert_array_equal(panel.confusion_view.shown_classes(), np.arange(6))
    assert panel.summary.confusion.sum() == 400 - 3
    # Small matrices carry their numbers in the cells.
    texts = [t for t in panel.confusion_view.cell_texts if t.isVisible()]
    assert len(texts) == 36
    assert texts[7].toPlainText() == f"{expected[1, 1]:,}"


def test_confusion_toggle_shows_row_normalized_shares_and_hover_is_exact(panel):
    ev, _z, _y = _evaluation()
    show(panel, ev, _names(6))
    image = panel.confusion_image
    panel.confusion_mode.setCurrentIndex(1)
    shares = row_normalized(panel.summary.confusion)
    np.testing.assert_allclose(panel.confusion_image.image, shares)
    np.testing.assert_allclose(panel.confusion_image.image.sum(1), 1.0)
    assert panel.confusion_image is image
    assert "%" in panel.confusion_view.cell_texts[0].toPlainText()
    count = panel.summary.confusion[2, 4]
    assert panel.confusion_view.hover_text_at(4.2, 1.8) == (
        f"true class 2 → predicted class 4: {count} ({100 * shares[2, 4]:.1f}% of the row)"
    )
    assert panel.confusion_view.hover_text_at(6.6, 0.0) is None
    panel.confusion_mode.setCurrentIndex(0)
    np.testing.assert_array_equal(panel.confusion_image.image, panel.summary.confusion)
    # The errors-only colour scale saturates the diagonal; the data stays the counts.
    off = panel.summary.confusion[~np.eye(6, dtype=bool)].max()
    assert panel.confusion_image.getLevels()[1] == off
    panel.confusion_view.errors_scale.setChecked(False)
    assert panel.confusion_image.getLevels()[1] == panel.summary.confusion.max()
    np.testing.assert_array_equal(panel.confusion_image.image, panel.summary.confusion)


def test_clicking_a_confusion_cell_emits_true_and_predicted_class(qtbot, panel):
    ev, _z, _y = _evaluation()
    show(panel, ev, _names(6))
    _show(qtbot, panel, tab=1)
    view = panel.confusion_view.plot
    vb = view.getPlotItem().getViewBox()
    with qtbot.waitSignal(panel.sigConfusionCellClicked, timeout=2000) as blocker:
        _click(view, _at(view, vb, 4.0, 2.0))  # x = predicted column, y = true row
    assert blocker.args == [2, 4]


def test_large_vocabulary_shows_the_most_confused_classes_and_clicks_map_back(qtbot, panel):
    c = 80
    ev, _z, y = _evaluation(n=1500, c=c, seed=3)
    show(panel, ev, _names(c))
    shown = most_confused_classes(panel.summary.confusion, MAX_CONFUSION_SHOWN)
    assert shown.size == MAX_CONFUSION_SHOWN
    np.testing.assert_array_equal(panel.confusion_view.shown_classes(), shown)
    np.testing.assert_array_equal(
        panel.confusion_image.image, panel.summary.confusion[np.ix_(shown, shown)]
    )
    assert f"{MAX_CONFUSION_SHOWN} classes involved in the most errors" in (
        panel.confusion_view.note.text()
    )
    assert not any(t.isVisible() for t in panel.confusion_view.cell_texts)
    assert f"true class {shown[1]} → predicted class {shown[3]}:" in (
        panel.confusion_view.hover_text_at(3.0, 1.0)
    )
    _show(qtbot, panel, tab=1)
    view = panel.confusion_view.plot
    vb = view.getPlotItem().getViewBox()
    with qtbot.waitSignal(panel.sigConfusionCellClicked, timeout=2000) as blocker:
        _click(view, _at(view, vb, 3.0, 1.0))
    assert blocker.args == [int(shown[1]), int(shown[3])]


def test_no_confusion_matrix_above_the_core_limit(panel, monkeypatch):
    monkeypatch.setattr(metrics, "MAX_CONFUSION_CLASSES", 5)
    ev, _z, _y = _evaluation(c=8)
    show(panel, ev, _names(8))
    assert panel.summary.confusion is None
    assert not panel.confusion_image.isVisible()
    assert "No confusion matrix for 8 classes" in panel.confusion_view.note.text()
    assert panel.confusion_view.hover_text_at(0.0, 0.0) is None


# --------------------------------------------------------------------------------------------
# reliability, histograms, metrics


def test_reliability_bars_are_the_core_bins(panel):
    ev, _z, _y = _evaluation(nan_rows=[3], ignored_rows=[4])
    show(panel, ev, _names(6))
    rel = reliability(ev.confidence, ev.correct, ev.valid & ev.finite, n_bins=15)
    assert panel.summary.reliability.ece == rel.ece
    filled = np.flatnonzero(rel.bin_count > 0)
    np.testing.assert_array_equal(panel.reliability_view.drawn_bins(), filled)
    x, height = _bar_data(panel.reliability_bars)
    centers = 0.5 * (rel.bin_edges[:-1] + rel.bin_edges[1:])
    np.testing.assert_allclose(x, centers[filled])
    np.testing.assert_allclose(height, rel.bin_accuracy[filled])
    gap = panel.reliability_gap_bars.opts
    np.testing.assert_allclose(gap["y0"], np.minimum(rel.bin_accuracy, rel.bin_confidence)[filled])
    np.testing.assert_allclose(gap["height"], np.abs(rel.bin_confidence - rel.bin_accuracy)[filled])
    np.testing.assert_array_equal(_bar_data(panel.reliability_count_bars)[1], rel.bin_count[filled])
    title = panel.reliability_view.title()
    assert f"ECE = {rel.ece:.4f}" in title
    assert f"MCE = {rel.mce:.4f}" in title
    assert f"N = {rel.n:,}" in title
    b = filled[-1]
    text = panel.reliability_view.hover_text_at(float(centers[b]), 0.5)
    assert f"{int(rel.bin_count[b]):,} samples" in text
    assert f"accuracy = {rel.bin_accuracy[b]:.4f}" in text
    assert panel.reliability_view.hover_text_at(1.5, 0.5) is None


def test_histograms_split_shown_rows_into_correct_and_wrong(panel):
    ev, _z, _y = _evaluation(nan_rows=[3, 8], ignored_rows=[4])
    show(panel, ev, _names(6))
    shown = ev.valid & ev.finite
    for key in ("loss", "confidence"):
        edges, right, wrong = panel.histograms.counts(key)
        assert right.sum() == (shown & ev.correct).sum()
        assert wrong.sum() == (shown & ~ev.correct).sum()
    x, y = panel.confidence_hist_correct.getData()
    np.testing.assert_allclose(x, panel.histograms.counts("confidence")[0])
    np.testing.assert_array_equal(y, panel.histograms.counts("confidence")[1])
    # The second cue: correct is filled, wrong is an outline only.
    assert panel.loss_hist_correct.opts["fillLevel"] == 0.0
    assert panel.loss_hist_wrong.opts["fillLevel"] is None
    assert "3 ignored or without a prediction not shown" in kit.title_of(panel.histograms.loss_plot)
    text = panel.histograms.confidence_hover_text_at(0.99, 1.0)
    right, wrong = panel.histograms.counts("confidence")[1:]
    assert f"✓ correct: {int(right[-1]):,}" in text
    assert f"✗ wrong: {int(wrong[-1]):,}" in text
    assert panel.histograms.loss_hover_text_at(-5.0, 1.0) is None


def test_loss_histogram_piles_a_far_tail_into_the_last_bin(panel):
    ev, z, y = _evaluation(n=1000)
    z = z.copy()
    z[0, y[0]] = -1e4  # one absurd loss
    show(panel, evaluate(z, y), _names(6))
    edges, right, wrong = panel.histograms.counts("loss")
    assert edges[-1] < 100
    assert right.sum() + wrong.sum() == 1000
    assert "last bin holds ≥" in kit.title_of(panel.histograms.loss_plot)


def test_metrics_text_and_worst_classes_come_from_core(panel):
    ev, _z, _y = _evaluation(n=500, nan_rows=[2])
    show(panel, ev, _names(6))
    s = panel.summary
    text = panel.metrics_text()
    assert f"accuracy (top-1) = {100 * ev.accuracy:.1f}%" in text
    assert f"top-5 accuracy = {100 * s.top_k_accuracy:.1f}%" in text
    assert f"ECE = {s.reliability.ece:.4f}" in text
    assert f"MCE = {s.reliability.mce:.4f}" in text
    assert "N = 500 samples" in text
    assert "1 without a prediction" in text
    assert f"mean loss = {s.mean_loss_finite:.4f} over the finite rows" in text
    assert "NaN" in text
    assert panel.metrics_view.worst_classes() == s.per_class.worst(20).tolist()
    table = panel.metrics_view.worst_table
    worst = s.per_class.worst(20)[0]
    assert table.item(0, 3).text() == f"{100 * s.per_class.accuracy[worst]:.1f}%"
    assert table.item(0, 4).text() == f"{s.per_class.mean_loss[worst]:.4f}"


# --------------------------------------------------------------------------------------------
# label issues and temperature


def test_label_issue_list_follows_the_ranking_and_activation_emits_the_sample(qtbot, panel):
    ev, _z, _y = _evaluation(n=300, nan_rows=[1], ignored_rows=[2])
    show(panel, ev, _names(6))
    ranking = label_issue_ranking(ev)
    assert panel.label_issues_view.indices() == ranking[:N_LABEL_ISSUES].tolist()
    np.testing.assert_array_equal(panel.summary.ranking, ranking)
    table = panel.label_issue_table
    first = panel.summary.label_issues[0]
    assert table.item(0, 1).text() == f"class {first.given} ({first.given})"
    assert table.item(0, 3).text() == fmt.short(first.p_given)
    assert "self_confidence" in panel.label_issues_view.method.text()

    _show(qtbot, panel, tab=4)
    rect = table.visualRect(table.model().index(2, 1))
    with qtbot.waitSignal(panel.sigSampleActivated, timeout=2000) as blocker:
        # A real double click: press and release, then the double-click event.
        qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), LEFT, pos=rect.center())
    assert blocker.args == [int(ranking[2])]
    table.setCurrentCell(4, 0)
    with qtbot.waitSignal(panel.sigSampleActivated, timeout=2000) as blocker:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert blocker.args == [int(ranking[4])]


def test_fit_button_emits_and_the_fit_is_shown(qtbot, panel):
    assert not panel.fit_button.isEnabled()  # nothing to fit yet
    ev, _z, _y = _evaluation()
    show(panel, ev, _names(6))
    assert panel.fit_button.isEnabled()
    with qtbot.waitSignal(panel.sigFitTemperatureRequested, timeout=1000):
        qtbot.mouseClick(panel.fit_button, LEFT)
    panel.set_fit_running(True)
    assert not panel.fit_button.isEnabled()
    fit = TemperatureFit(
        temperature=1.7321,
        nll_before=1.25,
        nll_after=0.875,
        ece_before=0.1234,
        ece_after=0.0211,
        iterations=17,
        n_used=398,
        excluded=2,
        at_bound=False,
    )
    panel.show_temperature_fit(fit)
    assert panel.fit_button.isEnabled()
    text = panel.temperature_view.text()
    assert "temperature T: 1 → 1.732" in text
    assert "mean NLL: 1.2500 → 0.8750" in text
    assert "ECE: 0.1234 → 0.0211" in text
    assert "398 labelled rows" in text
    assert "17 passes" in text
    assert "2 rows with NaN" in text


# --------------------------------------------------------------------------------------------
# robustness, identity, theme


def test_items_are_updated_in_place(panel):
    # The confusion matrix's cell numbers are a pool that grows to the largest matrix shown
    # (9 x 9 here); after that nothing is created or removed.
    ev, _z, _y = _evaluation(n=300, c=9, seed=2)
    show(panel, ev, _names(9))
    items, scene = _items(panel), _scene_items(panel)
    for seed, c in ((1, 6), (2, 9), (3, 70), (4, 6)):
        ev2, _z, _y = _evaluation(n=300, c=c, seed=seed)
        show(panel, ev2, _names(c))
    assert _items(panel) == items
    assert all(_items(panel)[k] is items[k] for k in items)
    assert _scene_items(panel) == scene


@pytest.mark.parametrize(
    "case", ["nan_rows", "all_nan", "all_ignored", "soft_targets", "one_class", "masked"]
)
def test_odd_data_does_not_crash(qtbot, panel, case):
    rng = np.random.default_rng(5)
    n, c = 50, 4
    z = rng.normal(size=(n, c))
    y = rng.integers(0, c, n)
    target: np.ndarray = y
    if case == "nan_rows":
        z[::7] = np.nan
        z[3, 1] = np.inf
    elif case == "all_nan":
        z[:] = np.nan
    elif case == "all_ignored":
        target = np.full(n, -100)
    elif case == "soft_targets":
        target = rng.dirichlet(np.ones(c), n)
    elif case == "one_class":
        z, target, c = z[:, :1], np.zeros(n, dtype=np.int64), 1
    elif case == "masked":
        z[:, 0] = -np.inf
        z[5] = -np.inf
    ev = evaluate(z, target)
    show(panel, ev, _names(c))
    _show(qtbot, panel)
    for tab in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
    assert panel.summary.confusion.shape == (c, c)
    text = panel.metrics_text()
    assert f"N = {n} samples" in text
    if case in ("all_nan", "all_ignored"):
        assert math.isnan(panel.summary.reliability.ece)
        assert "ECE = —" in text
        assert panel.summary.label_issues == []
        assert not panel.fit_button.isEnabled()
    if case == "soft_targets":
        assert not panel.fit_button.isEnabled()  # the fit takes class labels


def test_class_names_must_match(panel):
    ev, _z, _y = _evaluation()
    with pytest.raises(ValueError, match="5 class names for 6 classes"):
        show(panel, ev, _names(5))


def test_theme_restyles_in_place(panel):
    ev, _z, _y = _evaluation()
    show(panel, ev, _names(6))
    items = _items(panel)
    image = panel.confusion_image.image.copy()
    panel.set_theme(DARK.scaled(1.5))
    assert panel.histograms.backgroundBrush().color().name() == DARK.background
    assert panel.reliability_view.backgroundBrush().color().name() == DARK.background
    assert panel.loss_hist_wrong.opts["pen"].color().name() == DARK.incorrect.lower()
    assert _items(panel) == items
    np.testing.assert_array_equal(panel.confusion_image.image, image)
    np.testing.assert_allclose(
        _bar_data(panel.reliability_bars)[1],
        panel.summary.reliability.bin_accuracy[panel.summary.reliability.bin_count > 0],
    )
    panel.set_theme(LIGHT)
    assert panel.histograms.backgroundBrush().color().name() == LIGHT.background


def test_screenshots_of_every_tab(qtbot, panel, tmp_path):
    """One picture per tab at 900 x 600 (SOFTMAX_LAB_SCREENSHOTS=/tmp keeps them to look at)."""
    ev, z, y = _evaluation(n=2000, c=10, seed=7, nan_rows=[11], ignored_rows=[12, 13])
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    show(panel, ev, names)
    panel.show_temperature_fit(fit_temperature(z, y))
    _show(qtbot, panel)
    folder = Path(os.environ.get("SOFTMAX_LAB_SCREENSHOTS", tmp_path))
    for index, name in enumerate(TABS):
        panel.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        image = panel.grab()
        assert not image.isNull()
        assert image.save(str(folder / f"dataset_{name}.png"))
