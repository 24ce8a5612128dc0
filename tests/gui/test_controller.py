"""One source of truth, driven through the real window: every control shows the state the table
is in, the loss curve tells the truth for every option, numbers are never cut short, undo and
workspaces bring the view back, and each kind of change does only its kind of work."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QApplication
from windows import shown_window

import softmax_lab.core.evaluations as evaluations
from softmax_lab.core import formatting as fmt
from softmax_lab.core.document import Document, Settings
from softmax_lab.core.parsing import parse_number
from softmax_lab.core.view_state import Filter, Sort
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column


@pytest.fixture
def window(qtbot):
    rng = np.random.default_rng(3)
    n, c = 1000, 5
    labels = rng.integers(0, c, n)
    logits = rng.normal(0, 2, (n, c))
    logits[np.arange(n), labels] += 1.5
    w = shown_window(qtbot, Document(logits, labels, [f"c{i}" for i in range(c)]))
    yield w
    w.document.mark_clean()


def table_samples(window) -> list[int]:
    model = window.table_model
    return [model.sample_at(r) for r in range(model.rowCount())]


def row_visible(window, sample: int) -> bool:
    table = window.table
    row = window.controller.row_of(sample)
    if row is None:
        return False
    rect = table.visualRect(window.table_model.index(row, 0))
    return rect.isValid() and table.viewport().rect().intersects(rect)


def assert_controls_agree(window):
    c = window.controller
    assert window.sort_combo.currentData() == c.view.sort
    assert (window.filter_combo.currentData() or Filter()) == c.view.filter
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == window.table_model.column_for_sort(c.view.sort)
    expected_note = "" if c.view.filter.is_all else f"{c.row_count():,} of {c.document.n_samples:,}"
    assert window.filter_note.text() == expected_note
    assert window.table_model.rowCount() == c.row_count()


def test_a_sort_from_the_box_shows_in_the_box_and_scrolls_to_the_first_row(qtbot, window):
    window.table.scrollToBottom()
    combo = window.sort_combo
    index = next(i for i in range(combo.count()) if combo.itemData(i) == Sort("loss", True))
    window.controller.select(5)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert window.controller.view.sort == Sort("loss", True)
    assert_controls_agree(window)
    ev = window.document.evaluation
    assert table_samples(window) == list(np.argsort(-ev.losses, kind="stable"))
    assert row_visible(window, 5)  # the selected sample is still shown: it stays in view
    window.controller.select(table_samples(window)[-1])
    combo.setCurrentIndex(0)
    combo.activated.emit(0)  # table order
    assert window.controller.view.sort is None
    assert_controls_agree(window)


def test_a_header_click_sorts_and_the_box_says_so(qtbot, window):
    header = window.table.horizontalHeader()
    column = window.table_model.column_of(Column.P_TRUE)
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    sort = window.controller.view.sort
    assert sort is not None
    assert sort.key == "p_true"
    assert_controls_agree(window)
    assert window.sort_combo.currentText() == sort.describe(window.document.class_names) or (
        window.sort_combo.currentText().startswith("p(true)")
    )
    values = window.document.evaluation.p_true[table_samples(window)]
    step = np.diff(values)
    assert np.all(step <= 0) or np.all(step >= 0)


def test_a_filter_that_hides_the_selection_scrolls_to_the_top(window):
    c = window.controller
    c.select(999)
    assert row_visible(window, 999)
    hidden = int(window.document.evaluation.targets[999] + 1) % 5
    combo = window.filter_combo
    index = next(i for i in range(combo.count()) if combo.itemData(i) == Filter("class", hidden))
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert c.view.filter == Filter("class", hidden)
    assert_controls_agree(window)
    assert window.table.verticalScrollBar().value() == 0
    assert window.table.rowAt(0) == 0


def test_the_confusion_drill_down_shows_in_both_boxes(window):
    window.show_dataset()
    ev = window.document.evaluation
    t, p = int(ev.targets[0]), int(ev.predictions[0])
    window.dataset_panel.sigConfusionCellClicked.emit(t, p)
    c = window.controller
    assert c.view.filter == Filter("confusion", (t, p))
    assert c.view.sort == Sort("loss", True)
    assert_controls_agree(window)
    assert window.filter_combo.currentText() == f"true c{t} predicted as c{p}"
    assert window.sort_combo.currentText() == "loss, highest first"
    shown = table_samples(window)
    assert c.selected == shown[0]
    assert window.table.rowAt(0) == 0


def test_the_table_menu_sorts_and_filters_too(window):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Table")
    sort_menu = next(a.menu() for a in menu.actions() if a.menu() and "Sort" in a.text())
    entropy = next(a for a in sort_menu.actions() if a.text().startswith("entropy"))
    entropy.trigger()
    assert window.controller.view.sort == Sort("entropy", True)
    assert entropy.isChecked()
    assert_controls_agree(window)
    show_menu = next(
        a.menu() for a in menu.actions() if a.menu() and a.text().replace("&", "") == "Show"
    )
    wrong = next(a for a in show_menu.actions() if a.text() == "wrong predictions")
    wrong.trigger()
    assert window.controller.view.filter == Filter("wrong")
    assert wrong.isChecked()
    assert_controls_agree(window)


OPTIONS = [
    {"label_smoothing": 0.2},
    {"weight": [1.0, 3.0, 0.5, 2.0, 1.0]},
    {"temperature": 2.5, "label_smoothing": 0.1},
    {"target_mode": "probability", "label_smoothing": 0.05},
    {"reduction": "sum", "temperature": 0.5},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_the_loss_curves_dots_are_the_tables_losses(window, options):
    c = window.controller
    c.set_options(**options)
    if options.get("target_mode") == "probability":
        rng = np.random.default_rng(0)
        rows = np.arange(40)
        for r in rows:
            c.document.set_soft_targets([r], range(5), rng.dirichlet(np.ones(5)))
    index, x, y = window.curve_plot.dots()
    ev = window.document.evaluation
    model = window.table_model
    loss_column = model.column_of(Column.LOSS)
    clamped = y >= window.curve_plot.y_top() - 1e-12
    checked = 0
    for sample, dot_y, edge in zip(index[:60], y[:60], clamped[:60], strict=True):
        row = c.row_of(int(sample))
        shown = model.index(row, loss_column).data()
        if edge:
            continue
        assert dot_y == float(ev.losses[sample])
        assert shown == fmt.number(dot_y)
        checked += 1
    assert checked > 30
    np.testing.assert_array_equal(x, np.clip(ev.p_true[index], 0, 1))
    legend = window.curve_plot.legend.getLabel(window.curve_plot.reference).text
    bent = bool(options.get("label_smoothing") or options.get("weight"))
    bent = bent or options.get("target_mode") == "probability"
    # Where the dots leave −log p, the legend says what −log p leaves out (ε, weights, soft
    # targets) and the selected sample's own curve is drawn through its dot.
    assert (legend != "−log p(true)") == bent
    assert window.curve_plot.sample_curve.isVisible() == bent


def test_without_options_the_dots_lie_on_minus_log_p(window):
    index, x, y = window.curve_plot.dots()
    inside = (x > 0) & (y < window.curve_plot.y_top())
    np.testing.assert_allclose(y[inside], -np.log(x[inside]), rtol=2e-5, atol=1e-6)
    assert not window.curve_plot.sample_curve.isVisible()


HOSTILE = np.array(
    [
        [1e-9, -10.3245, 8.286e-05, 12345.6789, -0.5],
        [np.inf, -np.inf, np.nan, 1e4, -9999.9999],
        [-1e-7, 3.14159, -123.456789, 0.0, 99999.5],
        [2e-5, -2e-5, 1e-9, -1e4, 7.0],
    ]
)


@pytest.mark.parametrize("probabilities", [False, True])
def test_no_number_cell_is_cut_short_at_1280x800(qtbot, probabilities):
    labels = [0, 1, 2, 3]
    window = shown_window(
        qtbot, Document(HOSTILE, labels, ["cat", "dog", "a long class name", "e", "f"])
    )
    window.controller.update_view(show_probabilities=probabilities)
    QApplication.processEvents()
    window.table.fit_columns()
    assert window.table.elided_cells() == []
    # The class columns a narrow table leaves to the right are fitted as they scroll in.
    bar = window.table.horizontalScrollBar()
    bar.setValue(bar.maximum())
    window.table.fit_columns()
    assert window.table.elided_cells() == []
    model = window.table_model
    metrics = QFontMetrics(window.table.font())
    for row in range(model.rowCount()):
        for cls in range(5):
            text = model.index(row, cls).data()
            assert "…" not in text
            width = metrics.horizontalAdvance(text)
            assert width + 10 <= window.table.columnWidth(cls)
            value = (
                window.document.evaluation.probabilities[row, cls]
                if probabilities
                else HOSTILE[row, cls]
            )
            back = parse_number(text)
            if math.isnan(value):
                assert math.isnan(back)
            elif math.isinf(value) or value == 0 or 1e-4 <= abs(value) < 1e5:
                assert back == pytest.approx(value, abs=0.5e-4)
            else:
                assert back == pytest.approx(value, rel=5e-4)
    # Typing a long number widens its column at once.
    window.controller.edit_logit(0, 4, "-123456.789")
    QApplication.processEvents()
    window.table.fit_columns()
    assert window.table.elided_cells() == []
    window.document.mark_clean()


def test_undo_and_redo_bring_back_the_view_of_the_edit(window):
    c = window.controller
    c.set_filter(Filter("wrong"))
    c.set_sort(Sort("loss", True))
    sample = window.controller.sample_at(3)
    c.select(sample)
    c.edit_logit(sample, 0, "7.5")
    c.set_filter(Filter())
    c.set_sort(None)
    c.select(0)
    c.undo()
    assert c.view.filter == Filter("wrong")
    assert c.view.sort == Sort("loss", True)
    assert c.selected == sample
    assert_controls_agree(window)
    assert row_visible(window, sample)
    c.set_filter(Filter())
    c.redo()
    assert window.document.logits[sample, 0] == 7.5
    assert c.view.filter == Filter("wrong")
    assert_controls_agree(window)


def test_workspaces_restore_sort_filter_and_selection(qtbot, window, tmp_path):
    c = window.controller
    c.set_filter(Filter("class", 2))
    c.set_sort(Sort("margin", False))
    c.select(c.sample_at(4))
    c.update_view(side_tab="formula", view_tab="dataset")
    path = tmp_path / "view.softmaxlab.json"
    window.files.save_workspace(path)
    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.sigFileLoaded):
        other.load_file(path)
    oc = other.controller
    assert oc.view.snapshot() == c.view.snapshot()
    assert table_samples(other) == table_samples(window)
    assert_controls_agree(other)
    assert other.view_tabs.currentWidget() is other.dataset_panel
    assert other.side_tabs.currentWidget() is other.formula_panel
    other.document.mark_clean()


def test_a_rename_restyles_and_a_selection_recomputes_nothing(window, monkeypatch):
    calls = []
    real = evaluations.evaluate
    monkeypatch.setattr(evaluations, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    drawn = []
    real_set = window.loss_plot.set_losses
    monkeypatch.setattr(
        window.loss_plot, "set_losses", lambda *a, **k: drawn.append(1) or real_set(*a, **k)
    )
    before = window.document.evaluation
    window.controller.rename_class(1, "dolphin")
    assert calls == []
    assert drawn == []
    assert window.document.evaluation is before
    assert "dolphin" in window.sample_plot._logit_axis.labels()
    assert window.table_model.headerData(1, Qt.Orientation.Horizontal) == "dolphin"
    window.controller.select(17)
    assert calls == []
    assert drawn == []
    assert window.loss_plot.selection_line.value() == 17
    assert window.heatmap.title().startswith("Probabilities")
    window.controller.set_options(temperature=1.5)
    assert len(calls) == 1
    assert len(drawn) == 1


def test_the_selected_sample_is_named_on_its_plots(window):
    c = window.controller
    c.select(12)
    ev = window.document.evaluation
    label, pred = int(ev.targets[12]), int(ev.predictions[12])
    assert window.sample_plot.heading_text() == f"Sample 12 · label c{label} · pred c{pred}"
    assert "sample 12" in window.gradient_plot.title()
    c.edit_label(12, "ignore")
    assert window.sample_plot.heading_text().startswith("Sample 12 · ignored")
    assert "ignore_index" in window.gradient_plot.note_text()


def test_the_selection_colour_is_not_the_logit_shading(window):
    theme = window.controller.theme
    highlight = window.table.palette().color(QPalette.ColorRole.Highlight).name()
    assert highlight == theme.selection.lower()
    assert highlight != theme.probability.lower()
    window.controller.update_view(theme="dark")
    dark = window.controller.theme
    assert (
        window.table.palette().color(QPalette.ColorRole.Highlight).name() == dark.selection.lower()
    )


def test_a_document_settings_change_from_python_updates_every_control(window):
    window.controller.set_options(temperature=0.25, reduction="sum")
    assert window.controls.temperature.value() == pytest.approx(0.25)
    assert window.controls.reduction.currentText() == "sum"
    assert "sum loss" in window.summary.text()
    window.controller.undo()
    assert window.controls.temperature.value() == pytest.approx(1.0)
    assert Settings().temperature == 1.0


def test_inputs_become_sortable_filterable_columns(qtbot):
    from softmax_lab.core.inputs import SampleInputs

    n = 6
    inputs = SampleInputs.build(
        n,
        texts=[f"a photo of thing {i}" for i in range(n)],
        metadata={"split": np.array(["val", "train"] * 3), "hardness": np.arange(n) * 0.5},
    )
    logits = np.random.default_rng(0).normal(size=(n, 3))
    window = MainWindow(Document(logits, np.arange(n) % 3, inputs=inputs))
    qtbot.addWidget(window)
    window.show()
    model = window.table_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[-3:] == ["text", "split", "hardness"]
    column = headers.index("hardness")
    assert model.index(2, column).data() == "1.0000"
    model.sort(column, Qt.SortOrder.DescendingOrder)
    c = window.controller
    assert c.view.sort == Sort("extra:hardness", True)
    assert table_samples(window) == [5, 4, 3, 2, 1, 0]
    assert_controls_agree(window)
    assert window.sort_combo.currentText() == "hardness, highest first"
    c.set_filter(Filter("column", ("split", "train")))
    assert table_samples(window) == [5, 3, 1]
    assert window.filter_combo.currentText() == "split = train"
    c.set_filter(Filter("search", "THING 4"))
    assert table_samples(window) == [4]
    c.remove_samples([4])  # rows and their inputs go together
    assert list(window.document.inputs.texts) == [f"a photo of thing {i}" for i in (0, 1, 2, 3, 5)]
    window.document.mark_clean()
