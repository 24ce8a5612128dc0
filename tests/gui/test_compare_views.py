"""The compare mode's views on their own: the sample plot with a second model's bars, the Dataset
tab's A vs B page and the compare header. Data in -> the items hold exactly that data; items are
made once; real clicks and drags send the documented signals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from softmax_lab.core.compare import compare, compare_dataset
from softmax_lab.core.display import MAX_BARS, TOP_K, SampleView
from softmax_lab.core.evaluating import evaluate
from softmax_lab.gui.compare_bar import CompareBar
from softmax_lab.gui.dataset.agreement import ComparisonView
from softmax_lab.gui.plots import SamplePlot
from softmax_lab.gui.theme import DARK, LIGHT

NAMES = ["cat", "dog", "bird", "fish"]


def view(logits, true_class=0, predicted=None, heading="Sample 0"):
    logits = np.asarray(logits, dtype=np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return SampleView(
        index=0,
        logits=logits,
        probabilities=p,
        gradient=np.zeros(logits.size),
        true_class=true_class,
        predicted=int(np.argmax(p)) if predicted is None else predicted,
        heading=heading,
        note=None,
    )


def heights(bars):
    return np.asarray(bars.getData()[1], dtype=float)


def labels(plot):
    """The role labels over the probability bars (one model: the value lines dropped)."""
    roles = (text.split("\n")[-1] for text in plot.probability_labels.texts())
    return sorted(role for role in roles if role.startswith(("true", "pred")))


@pytest.fixture
def plot(qtbot):
    p = SamplePlot()
    qtbot.addWidget(p)
    p.resize(700, 320)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_both_models_bars_side_by_side_then_one_again(plot):
    a, b = view([2.0, 0.5, -1.0, 0.0]), view([0.0, 3.0, -2.0, 1.0], heading="x")
    plot.set_sample(a, NAMES, b, ("old", "new"))
    assert plot.comparing
    np.testing.assert_allclose(plot.logit_bars.getData()[0], np.arange(4) - 0.2)
    np.testing.assert_allclose(plot.logit_bars_b.getData()[0], np.arange(4) + 0.2)
    np.testing.assert_allclose(heights(plot.logit_bars), a.logits)
    np.testing.assert_allclose(heights(plot.logit_bars_b), b.logits)
    np.testing.assert_allclose(heights(plot.probability_bars), a.probabilities)
    np.testing.assert_allclose(heights(plot.probability_bars_b), b.probabilities)
    # The heading's glyphs for the models take the bars' colours.
    assert f"color:{LIGHT.probability}'>▮" in plot.swatches("▮ A · ▨ B")
    assert f"color:{LIGHT.model_b}'>▨" in plot.swatches("▮ A · ▨ B")
    # A and B differ by pattern as well as colour.
    assert plot.probability_bars_b.opts["brushes"][0].style() == Qt.BrushStyle.FDiagPattern
    assert plot.probability_bars.opts["brushes"][0].style() == Qt.BrushStyle.SolidPattern
    # true = class 0 = A's prediction; B predicts class 1.
    assert labels(plot) == ["pred B", "true = pred A"]
    text = plot.hover_text_at(1.1, 0.5)
    assert "A (old): logit = 0.5" in text
    assert "B (new): logit = 3" in text
    assert "predicted by B" in text
    plot.set_sample(a, NAMES)
    assert not plot.comparing
    np.testing.assert_allclose(plot.logit_bars.getData()[0], np.arange(4))
    assert heights(plot.logit_bars_b).size == 0
    assert labels(plot) == ["true = pred"]
    # B's marks and the labels are made the first time they are needed; then reused.
    items = set(plot.scene().items())
    plot.set_sample(b, NAMES, a, ("new", "old"))
    plot.set_sample(a, NAMES)
    assert set(plot.scene().items()) == items


def test_end_labels_merge_where_models_agree(plot):
    plot.set_sample(view([0.0, 2.0, 1.0, -1.0], true_class=2), NAMES, view([0.0, 3.0, 1.0, 0.0]))
    assert labels(plot) == ["pred A = pred B", "true"]
    plot.set_sample(view([0.0, 2.0, 1.0, -1.0], true_class=1), NAMES, view([0.0, 3.0, 1.0, 0.0]))
    assert labels(plot) == ["true = pred A = pred B"]
    plot.set_sample(view([0.0, 2.0, 1.0, -1.0], true_class=None), NAMES, view([5.0, 0, 0, 0]))
    assert labels(plot) == ["pred A", "pred B"]


def test_a_wide_vocabulary_shows_the_classes_either_model_ranks_high(plot):
    c = 500
    rng = np.random.default_rng(0)
    la, lb = rng.normal(size=c), rng.normal(size=c)
    lb[123] = 40.0  # only B is sure of class 123
    a, b = view(la, true_class=7), view(lb, true_class=7)
    plot.set_sample(a, [f"t{i}" for i in range(c)], b)
    shown = plot.shown_classes()
    assert len(shown) == TOP_K
    assert c > MAX_BARS
    assert 123 in shown
    best = np.maximum(a.probabilities, b.probabilities)
    assert set(shown) == set(np.argsort(-best)[:TOP_K])
    np.testing.assert_allclose(heights(plot.logit_bars_b), lb[shown])


def test_non_finite_b_is_clamped_and_marked(plot):
    b = view([0.0, 1.0, 2.0, 3.0])
    b = SampleView(
        0,
        np.array([np.nan, np.inf, -np.inf, 1e30]),
        np.array([np.nan, 1.0, 0.0, 0.0]),
        np.zeros(4),
        0,
        None,
        "b",
        None,
    )
    plot.set_sample(view([0.0, 1.0, 2.0, 3.0]), NAMES, b)
    assert np.isfinite(heights(plot.logit_bars_b)).all()
    assert sorted(plot.logit_marks_b.texts()) == sorted(["NaN", "∞", "−∞", "1e+30"])
    assert np.isfinite(heights(plot.probability_bars_b)).all()
    assert plot.probability_marks_b.texts() == ["NaN"]


def test_a_real_drag_on_bs_bar_sends_its_own_signal(qtbot, plot, mouse):
    plot.set_sample(view([0.5, 2.0, -1.0, 0.25]), NAMES, view([1.0, 1.5, 0.5, -0.5]))
    QApplication.processEvents()
    vb = plot.logit_plot.getViewBox()
    a_moves, b_moves, finished = [], [], []
    plot.sigLogitDragged.connect(lambda c, v: a_moves.append((c, v)))
    plot.sigLogitBDragged.connect(lambda c, v: b_moves.append((c, v)))
    plot.sigDragFinished.connect(finished.append)
    mouse.drag(plot, [mouse.at(plot, vb, 2.2, 0.25), mouse.at(plot, vb, 2.2, 1.5)])
    assert a_moves == []
    assert {c for c, _ in b_moves} == {2}
    assert b_moves[-1][1] == pytest.approx(1.5, abs=2 * vb.viewPixelSize()[1])
    assert finished == [2]
    mouse.drag(plot, [mouse.at(plot, vb, 0.8, 1.0), mouse.at(plot, vb, 0.8, 2.5)])
    assert {c for c, _ in a_moves} == {1}
    assert finished == [2, 1]


def test_restyling_keeps_bs_data(plot):
    plot.set_sample(view([0.5, 2.0, -1.0, 0.25]), NAMES, view([1.0, 1.5, 0.5, -0.5]))
    bars = plot.logit_bars_b
    plot.set_theme(DARK.scaled(2.0))
    assert plot.logit_bars_b is bars
    np.testing.assert_allclose(heights(plot.logit_bars_b), [1.0, 1.5, 0.5, -0.5])
    assert plot.probability_bars_b.opts["brushes"][0].color().name() == DARK.model_b.lower()


# --------------------------------------------------------------------------------------------
# the Dataset tab's A vs B page


def dataset(seed=0, n=200, c=5):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, c, n)
    a = rng.normal(0, 2, (n, c))
    a[np.arange(n), targets] += 1.0
    b = a + rng.normal(0, 2, (n, c))
    return compare_dataset(compare(evaluate(a, targets), evaluate(b, targets)))


def test_the_comparison_page_draws_what_core_computed(qtbot):
    page = ComparisonView(LIGHT)
    qtbot.addWidget(page)
    page.resize(800, 600)
    page.show()
    assert page.empty.isVisible()
    data = dataset()
    names = [f"k{i}" for i in range(5)]
    page.set_data(data, ("old", "new"), names)
    assert not page.empty.isVisible()
    np.testing.assert_array_equal(page.matrix.counts(), data.agreement)
    fixed = int(data.agreement[0, 1])
    assert page.matrix.cell_text(False, True).startswith(f"fixed\n{fixed}")
    x, y = page.plots.reliability_a.getData()
    np.testing.assert_array_equal(y, data.reliability_a.bin_accuracy)
    _, y = page.plots.reliability_b.getData()
    np.testing.assert_array_equal(y, data.reliability_b.bin_accuracy)
    x, y = page.plots.loss_a.getData()
    np.testing.assert_array_equal(y, data.loss.a)
    _, y = page.plots.loss_b.getData()
    np.testing.assert_array_equal(y, data.loss.b)
    titles = page.plots.titles()
    assert f"ECE A {data.reliability_a.ece:.4f}" in titles["reliability"]
    assert page.class_table.classes() == data.classes.order().tolist()
    first = data.classes.order()[0]
    row = page.class_table.row_texts(0)
    assert row[0] == f"k{first} ({first})"
    assert row[2] == f"{100 * data.classes.accuracy_a[first]:.1f}%"
    hover = page.plots.reliability_hover_text_at(0.9, 0.5)
    assert hover.startswith("confidence (0.867, 0.933]")
    assert "\nA: accuracy" in hover
    assert "\nB: accuracy" in hover
    assert page.plots.loss_hover_text_at(float(data.loss.edges[0]), 0).startswith("loss [")
    page.set_data(None, ("A", "B"), [])
    assert page.empty.isVisible()


def test_a_click_on_a_cell_asks_for_its_samples(qtbot):
    page = ComparisonView(LIGHT)
    qtbot.addWidget(page)
    page.set_data(dataset(), ("old", "new"), [f"k{i}" for i in range(5)])
    page.show()
    clicked = []
    page.sigCellClicked.connect(lambda a, b: clicked.append((a, b)))
    for key in ((False, True), (True, False), (True, True)):
        qtbot.mouseClick(page.matrix.cells[key], Qt.MouseButton.LeftButton)
    assert clicked == [(False, True), (True, False), (True, True)]


def test_an_empty_cell_cannot_be_clicked(qtbot):
    page = ComparisonView(LIGHT)
    qtbot.addWidget(page)
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 3, 50)
    a = np.eye(3)[targets] * 9  # A always right
    data = compare_dataset(compare(evaluate(a, targets), evaluate(a, targets)))
    page.set_data(data, ("x", "x"), ["a", "b", "c"])
    assert not page.matrix.cells[(True, False)].isEnabled()
    assert page.matrix.cells[(True, True)].isEnabled()


# --------------------------------------------------------------------------------------------
# the compare header


def test_the_header_says_what_it_is_given_and_sends_intents(qtbot):
    bar = CompareBar(LIGHT)
    qtbot.addWidget(bar)
    bar.set_names(("logreg", "mlp"))
    bar.set_header({"a": "A = logreg: x", "b": "B = mlp: y", "counts": "3 fixed · 1 broken"})
    assert bar.plain_text() == "A = logreg: x\nB = mlp: y\n3 fixed · 1 broken"
    assert "A = logreg: x" in bar.text()
    assert "▨" in bar.text()
    assert [bar.gradient_box.itemText(i) for i in range(2)] == ["A (logreg)", "B (mlp)"]
    chosen, stopped = [], []
    bar.sigGradientModelChosen.connect(chosen.append)
    bar.sigStopRequested.connect(lambda: stopped.append(True))
    bar.show()
    bar.gradient_box.setCurrentIndex(1)
    bar.gradient_box.activated.emit(1)
    qtbot.mouseClick(bar.stop_button, Qt.MouseButton.LeftButton)
    assert chosen == ["b"]
    assert stopped == [True]
    bar.set_gradient_model("a")
    assert bar.gradient_box.currentIndex() == 0
    bar.set_names(("p", "q"))  # a rename keeps the choice
    assert bar.gradient_box.currentText() == "A (p)"
    bar.set_theme(DARK.scaled(1.5))
    assert bar.label.font().pointSizeF() == pytest.approx(15.0)


def test_a_comparison_with_no_scored_row_draws_without_warnings(qtbot):
    """Found by the monkey: every row NaN, the reliability curves' bins were all NaN and
    pyqtgraph warned ("All-NaN slice") each time it painted them."""
    targets = np.arange(6) % 3
    nan = np.full((6, 3), np.nan)
    data = compare_dataset(compare(evaluate(nan, targets), evaluate(nan, targets)))
    page = ComparisonView(LIGHT)
    qtbot.addWidget(page)
    page.resize(800, 600)
    page.show()
    page.set_data(data, ("A", "B"), ["x", "y", "z"])
    page.grab()  # paints: a warning there fails the test
    for curve in (page.plots.reliability_a, page.plots.reliability_b):
        _x, y = curve.getData()
        assert y is None or len(y) == 0
