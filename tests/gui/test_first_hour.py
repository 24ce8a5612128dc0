"""What a newcomer trips on in the first hour (issue 22, item 17), driven as a user does."""

import numpy as np
import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog
from windows import shown_window

from softmax_lab.core import formatting as fmt
from softmax_lab.core.lessons import builtin_lessons
from softmax_lab.gui import plotkit as kit


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    w.activateWindow()  # the window's shortcuts answer once it is the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    w.document.mark_clean()


@pytest.fixture
def twelve_file(tmp_path):
    """A 12 × 4 logits file with labels, in its own folder."""
    folder = tmp_path / "experiment"
    folder.mkdir()
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, (12, 4)).astype(np.float32)
    logits[:, 3] -= 8
    np.savez(folder / "logits.npz", logits=logits, labels=rng.integers(0, 4, 12))
    return folder / "logits.npz"


def open_file(qtbot, w, path):
    with qtbot.waitSignal(w.sigFileLoaded, timeout=20000):
        w.load_file(path)


def menu(w, title):
    return next(a.menu() for a in w.menuBar().actions() if a.text() == title)


def test_no_unsaved_mark_right_after_opening_a_file_or_a_lesson(qtbot, window, twelve_file):
    open_file(qtbot, window, twelve_file)
    assert not window.isWindowModified()
    assert window.windowTitle() == "logits.npz[*] — Softmax Lab"  # Qt shows no "*"
    lessons = next(a.menu() for a in menu(window, "&Presets").actions() if a.menu())
    teach = next(a for a in lessons.actions() if a.text() == "Teach: notebook")
    teach.trigger()  # the lesson is read in a job: wait for what the user waits for
    qtbot.waitUntil(lambda: window.controller.lessons.active)
    shown = window.statusBar().currentMessage()
    assert shown.startswith("Opened the lesson")  # not "Opening …" still
    assert "19 steps" in shown
    assert not window.isWindowModified()
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # the next step is the lesson's, not an edit
    assert window.controller.lessons.index == 1
    assert not window.isWindowModified()
    window.controls.temperature.setFocus()
    window.controls.temperature.lineEdit().selectAll()
    qtbot.keyClicks(window.controls.temperature, "2")
    qtbot.keyClick(window.controls.temperature, Qt.Key.Key_Return)
    assert window.document.settings.temperature == 2.0
    assert window.isWindowModified()  # the user's own change is


def test_the_run_menu_without_a_run_offers_to_open_one(window):
    shown = [a.text() for a in menu(window, "&Run").actions() if a.isVisible()]
    assert shown == ["No run open: &Open a run…"]
    assert not any(a.isVisible() for a in window.menu_actions.run_actions)


def test_open_labels_starts_beside_the_logits_file(qtbot, window, twelve_file, monkeypatch):
    open_file(qtbot, window, twelve_file)
    asked = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *args, **kw: (asked.append(args[2]), ("", ""))[1]
    )
    qtbot.keyClick(
        window,
        Qt.Key.Key_L,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert asked == [str(twelve_file.parent)]


def test_histogram_counts_tick_at_whole_numbers(qtbot, window):
    tabs = window.view_tabs.tabBar()
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    assert window.controller.view.view_tab == "dataset"
    qtbot.waitUntil(lambda: window.dataset_panel.histograms.counts("loss")[0].size > 0)
    view = window.dataset_panel.histograms
    for plot in view.plots.values():
        axis = plot.getAxis("left")
        low, high = plot.getViewBox().viewRange()[1]
        values = [v for _, vs in axis.tickValues(low, high, plot.getViewBox().height()) for v in vs]
        assert values
        assert all(float(v).is_integer() for v in values)
        assert all("." not in s for s in axis.tickStrings(values, 1.0, 1.0))


def test_the_loss_plot_and_the_table_spell_the_mean_alike(window):
    window.menu_actions.preset_actions[2].trigger()  # single sample: loss 0.4170
    loss = window.document.evaluation.loss
    assert window.loss_plot.reduced_label() == f"mean = {fmt.number(loss)}" == "mean = 0.4170"
    assert "0.4170" in window.summary.text()


def test_the_formula_says_p_minus_y_as_the_gradient_step_does(qtbot, window):
    notebook = next(p for p in builtin_lessons() if p.stem == "notebook")
    open_lesson(qtbot, window.controller, notebook, 18)
    title, caption, _ = window.controller.lessons.caption()
    assert "p − y" in title
    window.side_tabs.setCurrentWidget(window.formula_panel)
    text = window.formula_panel.text()
    assert "∂loss/∂zi = pi − yi" in text
    # At another temperature the general form shows, with q and T.
    window.controls.temperature.setValue(2.0)
    assert "(pi − qi) / T" in window.formula_panel.text()


def test_plot_titles_fit_at_the_desk_at_1280_wide(qtbot, window, twelve_file):
    open_file(qtbot, window, twelve_file)
    spin = window.controls.temperature
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "0.1")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.document.settings.temperature == pytest.approx(0.1)
    QApplication.processEvents()
    items = [p.getPlotItem() for p in window.plots() if hasattr(p, "getPlotItem")]
    items += [window.sample_plot.logit_plot, window.sample_plot.probability_plot]
    titles = {kit.title_of(i): i.titleLabel.text for i in items}
    assert any("off chart" in t for t in titles)
    assert {t: shown for t, shown in titles.items() if shown != t} == {}
