"""The main window driven as a user drives it; every number checked against torch."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cell_editing import type_into_cell
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from softmax_lab.core import save_logits
from softmax_lab.core.constants import TEMPERATURE_MAX, TEMPERATURE_MIN
from softmax_lab.core.presets import PRESETS
from softmax_lab.core.view_state import Filter, Sort
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def torch_state(w):
    """torch's own numbers for the window's current table and options."""
    doc = w.document
    s = doc.settings
    x = torch.tensor(doc.logits) / s.temperature
    y = torch.tensor(doc.labels)
    losses = F.cross_entropy(
        x, y, reduction="none", label_smoothing=s.label_smoothing, ignore_index=s.ignore_index
    )
    loss = F.cross_entropy(
        x, y, reduction="mean", label_smoothing=s.label_smoothing, ignore_index=s.ignore_index
    )
    return losses.numpy(), float(loss), torch.softmax(x, 1).numpy()


def type_into(qtbot, w, row, col, text):
    type_into_cell(qtbot, w.table, w.table_model.index(row, col), text)


def heights(bars):
    return np.asarray(bars.getData()[1], dtype=float)


def test_opens_on_the_notebook_batch(window):
    doc = window.document
    assert doc.logits.shape == (3, 3)
    assert doc.labels.tolist() == [2, 0, 1]
    assert round(doc.evaluation.loss, 4) == 0.3018
    assert "mean loss = 0.3018" in window.summary.text()
    losses, _, probabilities = torch_state(window)
    np.testing.assert_allclose(heights(window.loss_plot.bars), losses, rtol=1e-5)
    np.testing.assert_allclose(
        heights(window.sample_plot.probability_bars), probabilities[0], rtol=1e-5
    )


def test_typing_a_logit_moves_every_view(qtbot, window):
    window.select_sample(1)
    type_into(qtbot, window, 1, 2, "4")
    losses, loss, probabilities = torch_state(window)
    assert window.document.logits[1, 2] == 4.0
    np.testing.assert_allclose(heights(window.loss_plot.bars), losses, rtol=1e-5)
    np.testing.assert_allclose(window.loss_plot.reduced_line.value(), loss, rtol=1e-5)
    np.testing.assert_allclose(heights(window.sample_plot.logit_bars), [2.0, 1.0, 4.0])
    np.testing.assert_allclose(
        heights(window.sample_plot.probability_bars), probabilities[1], rtol=1e-5
    )
    np.testing.assert_allclose(window.heatmap.image.image[1], probabilities[1], rtol=1e-5)
    x, y = window.curve_plot.points.getData()
    np.testing.assert_allclose(sorted(x), sorted(probabilities[[0, 1, 2], [2, 0, 1]]), rtol=1e-5)
    grad = probabilities[1] - np.eye(3)[0]
    np.testing.assert_allclose(heights(window.gradient_plot.bars), grad / 3, rtol=1e-5, atol=1e-7)
    model = window.table_model
    assert model.index(1, model.column_of(Column.PREDICTION)).data() == "class 2"
    assert model.index(1, model.column_of(Column.MARK)).data() == "✗"
    assert f"{loss:.4f}" in window.summary.text()


def test_junk_changes_nothing_and_says_why(qtbot, window):
    before = window.document.snapshot()
    type_into(qtbot, window, 0, 0, "twelve")
    np.testing.assert_array_equal(window.document.logits, before[0])
    assert "'twelve' is not a number" in window.statusBar().currentMessage()
    assert not window.menu_actions.undo_action.isEnabled()


def test_dragging_a_logit_bar_edits_the_table_live(qtbot, window, mouse):
    plot = window.sample_plot
    vb = plot.logit_plot.getViewBox()
    low, high = vb.viewRange()[1]
    target = low + 0.9 * (high - low)
    path = [
        mouse.at(plot, vb, 0.0, 0.05),
        mouse.at(plot, vb, 0.0, 1.0),
        mouse.at(plot, vb, 0.0, target),
    ]
    mouse.drag(plot, path)
    dragged = window.document.logits[0, 0]
    assert dragged == pytest.approx(target, abs=0.05)
    model = window.table_model
    assert model.index(0, 0).data() == f"{dragged:.4f}"
    losses, _, _ = torch_state(window)
    np.testing.assert_allclose(heights(window.loss_plot.bars), losses, rtol=1e-5)
    # The whole drag is one undo step.
    window.menu_actions.undo_action.trigger()
    assert window.document.logits[0, 0] == 0.1
    assert not window.document.can_undo


def test_undo_redo_shortcuts(qtbot, window):
    type_into(qtbot, window, 0, 0, "7")
    type_into(qtbot, window, 0, 1, "8")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.logits[0].tolist() == [7.0, 1.0, 2.1]
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.logits[0].tolist() == [0.1, 1.0, 2.1]
    qtbot.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert window.document.logits[0].tolist() == [7.0, 1.0, 2.1]
    assert window.menu_actions.undo_action.text() == "&Undo Edit z[0, class 0]"


def test_presets_menu_and_page_keys(qtbot, window):
    window.menu_actions.preset_actions[1].trigger()
    assert round(window.document.evaluation.loss, 4) == 1.6242
    assert window.document.evaluation.predictions.tolist() == [0, 2, 1]
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.document.logits.tolist() == [list(PRESETS[2].logits[0])]
    assert round(window.document.evaluation.loss, 4) == 0.4170
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert round(window.document.evaluation.loss, 4) == 0.3018


def test_overflow_preset_warns_in_the_scratch_panel(window):
    window.side_tabs.setCurrentWidget(window.scratch_panel)
    window.controller.apply_preset(next(i for i, p in enumerate(PRESETS) if "overflow" in p.name))
    assert window.scratch_panel.warning_visible()
    assert "overflow" in window.scratch_panel.text()
    assert np.isfinite(heights(window.sample_plot.probability_bars)).all()


def test_controls_recompute_at_once(qtbot, window):
    window.controls.temperature.setValue(2.0)
    window.controls.smoothing.setValue(0.1)
    losses, loss, probabilities = torch_state(window)
    assert window.document.settings.temperature == 2.0
    np.testing.assert_allclose(heights(window.loss_plot.bars), losses, rtol=1e-5)
    np.testing.assert_allclose(
        heights(window.sample_plot.probability_bars), probabilities[0], rtol=1e-5
    )
    window.controls.reduction.setCurrentText("sum")
    assert window.document.evaluation.loss == pytest.approx(losses.sum(), rel=1e-5)
    assert not window.loss_plot.reduced_line.isVisible()


def test_temperature_slider_is_log_scale_and_one_undo_step(qtbot, window):
    slider = window.controls.temperature_slider
    slider.setValue(0)
    assert window.document.settings.temperature == pytest.approx(TEMPERATURE_MIN, rel=1e-3)
    slider.setValue(slider.maximum())
    assert window.document.settings.temperature == pytest.approx(TEMPERATURE_MAX, rel=1e-3)
    assert window.controls.temperature.value() == pytest.approx(TEMPERATURE_MAX, rel=1e-3)
    window.document.undo()
    assert window.document.settings.temperature == 1.0


def test_bad_weights_are_refused_with_a_message(qtbot, window):
    weights = window.controls.weights
    weights.setText("1, -2, 1")
    weights.editingFinished.emit()
    assert window.document.settings.weight is None
    assert "Not changed" in window.statusBar().currentMessage()
    weights.setText("1, 2, 3")
    weights.editingFinished.emit()
    assert window.document.settings.weight == (1.0, 2.0, 3.0)


def test_add_remove_duplicate_and_undo(qtbot, window):
    start = window.document.snapshot()
    c = window.controller
    c.add_sample()
    c.duplicate_sample()
    c.add_class(window.table.current_class())
    assert window.document.logits.shape == (5, 4)
    assert window.table_model.rowCount() == 5
    assert len(heights(window.loss_plot.bars)) == 5
    c.remove_class(window.table.current_class())
    c.remove_samples(window.table.selected_samples())
    for _ in range(5):
        window.document.undo()
    for a, b in zip(window.document.snapshot(), start, strict=True):
        np.testing.assert_array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))


def test_selecting_a_row_selects_it_in_the_plots_and_back(qtbot, window, mouse):
    window.table.selectRow(2)
    assert window.selected_sample == 2
    np.testing.assert_allclose(heights(window.sample_plot.logit_bars), [0.1, 3.0, 0.1])
    plot = window.loss_plot
    vb = plot.getPlotItem().getViewBox()
    mouse.click(plot, mouse.at(plot, vb, 1.0, 0.1))
    assert window.selected_sample == 1
    assert window.table.currentIndex().row() == 1


def test_load_a_file_and_a_failed_load_keeps_the_table(qtbot, window, tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 40)
    path = tmp_path / "val.npz"
    save_logits(path, logits, labels, ["a", "b", "c", "d", "e"])
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(path)
    assert window.document.class_names == ["a", "b", "c", "d", "e"]
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(labels))
    assert window.document.evaluation.loss == pytest.approx(float(expected), rel=1e-5)
    assert window.table_model.rowCount() == 40
    assert len(heights(window.loss_plot.bars)) == 40
    before = window.document.snapshot()
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    with qtbot.waitSignal(window.sigLoadFailed, timeout=20000) as blocker:
        window.load_file(bad)
    assert "broken.npy" in blocker.args[0]
    np.testing.assert_array_equal(window.document.logits, before[0])
    assert "Not opened" in window.statusBar().currentMessage()
    assert window.preferences.recent_files() == [str(path.resolve())]


def test_window_screenshot_has_content(window, tmp_path):
    window.resize(1280, 800)
    path = tmp_path / "window.png"
    assert window.files.save_screenshot(path)
    image = QImage(str(path))
    assert image.width() >= 1280
    assert image.height() >= 800
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)
    }
    assert len(colours) > 20


@pytest.mark.parametrize("size", ["1280x800", "1024x640"])
def test_command_line_screenshot(tmp_path, size):
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--size", size],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    w, h = (int(v) for v in size.split("x"))
    assert (image.width(), image.height()) == (w, h)


def test_sort_by_loss_and_filter_wrong_only(qtbot, window):
    window.controller.apply_preset(1)  # batch, bad predictions: two wrong
    ev = window.document.evaluation
    window.controller.set_sort(Sort("loss", descending=True))
    model = window.table_model
    order = [model.sample_at(r) for r in range(model.rowCount())]
    assert order == list(np.argsort(-ev.losses, kind="stable"))
    window.controller.set_filter(Filter("wrong"))
    assert model.rowCount() == 2
    assert {model.sample_at(r) for r in range(2)} == {0, 1}
    assert window.filter_note.text() == "2 of 3"
    # Editing a filtered, sorted row edits the right sample.
    type_into(qtbot, window, 0, 1, "9")
    first = model.sample_at(0)
    assert window.document.logits[first, 1] == 9.0
    window.controller.set_filter(Filter())
    window.controller.set_sort(None)
    assert [model.sample_at(r) for r in range(3)] == [0, 1, 2]


def test_header_click_sorts_by_that_column(qtbot, window):
    from PySide6.QtCore import QPoint

    header = window.table.horizontalHeader()
    loss_column = window.table_model.column_of(Column.LOSS)
    x = header.sectionViewportPosition(loss_column) + header.sectionSize(loss_column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    model = window.table_model
    values = [float(model.index(r, loss_column).data()) for r in range(3)]
    assert values == sorted(values) or values == sorted(values, reverse=True)


def test_top_k_top_p_tab_follows_the_selected_sample(window):
    window.side_tabs.setCurrentWidget(window.sampling_panel)
    window.select_sample(2)
    panel = window.sampling_panel
    _, _, probabilities = torch_state(window)
    np.testing.assert_allclose(heights(panel.original), np.sort(probabilities[2])[::-1], rtol=1e-5)
    panel.top_k.setValue(1)
    assert panel.kept_classes() == [1]
    window.controls.temperature.setValue(5.0)
    _, _, probabilities = torch_state(window)
    np.testing.assert_allclose(heights(panel.original), np.sort(probabilities[2])[::-1], rtol=1e-5)


def test_editing_an_opened_npy_never_copies_or_changes_the_file(qtbot, window, tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 7)).astype(np.float32)
    path = tmp_path / "val.npy"
    np.save(path, logits)
    before = path.read_bytes()
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(path, as_probabilities=False)
    doc = window.document
    assert doc.logits.flags.writeable
    assert isinstance(doc.logits.base, np.memmap) or isinstance(doc.logits, np.memmap)
    doc.set_labels(range(300), rng.integers(0, 7, 300))
    doc.set_logits([5], [2], 42.0)
    assert isinstance(doc.logits.base, np.memmap) or isinstance(doc.logits, np.memmap)
    expected = logits.copy()
    expected[5, 2] = 42.0
    np.testing.assert_array_equal(doc.logits, expected)
    ref = F.cross_entropy(torch.tensor(expected), torch.tensor(doc.labels), reduction="none")
    np.testing.assert_allclose(doc.evaluation.losses, ref.numpy(), rtol=1e-5)
    assert path.read_bytes() == before


def test_formula_tab_writes_out_the_selected_sample(window):
    window.side_tabs.setCurrentWidget(window.formula_panel)
    window.select_sample(1)
    text = window.formula_panel.text()
    assert "0.6590" in text  # p of the true class of sample 1
    assert "0.4170" in text  # its loss, −log 0.6590
    assert "0.3018" in text  # the mean over the batch
    window.document.set_logits([1], [0], 0.0)
    assert "0.4170" not in window.formula_panel.text()


def test_a_file_that_disappears_while_opening_never_breaks_the_window(qtbot, window, tmp_path):
    path = tmp_path / "gone.npz"
    save_logits(path, np.zeros((4, 3), dtype=np.float32), [0, 1, 2, 0])
    before = window.document.snapshot()
    outcome = []
    window.sigFileLoaded.connect(lambda p: outcome.append("loaded"))
    window.sigLoadFailed.connect(lambda m: outcome.append(m))
    window.load_file(path)
    path.unlink()  # gone while the worker reads it (or before it starts)
    qtbot.waitUntil(lambda: bool(outcome), timeout=20000)
    if outcome[0] != "loaded":
        assert "gone.npz" in outcome[0]
        np.testing.assert_array_equal(window.document.logits, before[0])
    assert window.document.evaluation is not None


def test_loss_axis_shows_plain_numbers_after_a_theme_change(window):
    from softmax_lab.gui.theme import DARK

    window.controller.update_view(theme=DARK.name)
    for plot in window.plots()[1:]:
        axis = plot.getAxis("left")
        assert axis.autoSIPrefixScale == 1.0
        assert "x0.001" not in axis.labelString()
    assert window.loss_plot.getAxis("left").tickStrings([0.4], 1.0, 0.1) == ["0.4"]


def test_a_status_message_never_runs_under_the_summary(qtbot, window):
    """Seen in the real window at 1024 x 640: a message elided against the summary before the
    summary grew (a file opening) was drawn under it."""
    window.resize(1024, 640)
    qtbot.wait(10)
    long = "A long message " * 20
    window.show_message(long)
    bar = window.statusBar()
    before = window.summary.sizeHint().width()
    window.document.set_logits([0], [0], float("nan"))  # the summary adds "⚠ 1 non-finite row"
    assert window.summary.sizeHint().width() > before + 60
    used = bar.fontMetrics().horizontalAdvance(bar.currentMessage())
    assert used > 0
    assert used + window.summary.sizeHint().width() + 32 <= bar.width()
    assert bar.toolTip() == long  # the whole text is one hover away
    window.document.mark_clean()
