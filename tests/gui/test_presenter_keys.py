"""A presenter's keys: a clicker's PgDn/PgUp step the lesson whatever has focus, Ctrl+Space
starts and stops the temperature sweep, and the Help menu lists every shortcut."""

import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from softmax_lab.core.lessons import builtin_lessons
from softmax_lab.gui import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()  # the window's shortcuts answer once it is the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    w.controller.temperature.set_playing(False)
    w.document.mark_clean()


def click_cell(qtbot, w, row, column):
    """A real left click in a table cell (it takes the focus, as a user's click does)."""
    table = w.table
    index = table.table_model().index(row, column)
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(index).center()
    )
    assert table.hasFocus() or table.viewport().hasFocus()
    return index


def open_notebook(qtbot, w, step):
    notebook = next(p for p in builtin_lessons() if p.stem == "notebook")
    assert open_lesson(qtbot, w.controller, notebook, step)


def test_a_clickers_page_keys_step_the_lesson_after_a_click_in_the_table(qtbot, window):
    open_notebook(qtbot, window, 9)
    click_cell(qtbot, window, 0, 0)
    qtbot.keyClick(window.table.viewport(), Qt.Key.Key_PageDown)
    assert window.controller.lessons.index == 10
    qtbot.keyClick(window.table, Qt.Key.Key_PageDown)
    assert window.controller.lessons.index == 11
    qtbot.keyClick(window.table, Qt.Key.Key_PageUp)
    assert window.controller.lessons.index == 10
    # The table keeps its own navigation on other keys.
    click_cell(qtbot, window, 0, 0)
    qtbot.keyClick(window.table, Qt.Key.Key_Right)
    assert window.table.currentIndex().column() == 1
    assert window.controller.lessons.index == 10


def test_page_keys_step_the_lesson_from_the_side_panel_and_sliders(qtbot, window):
    open_notebook(qtbot, window, 2)
    slider = window.controls.temperature
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageDown)
    assert window.controller.lessons.index == 3
    window.side_tabs.setCurrentWidget(window.formula_panel)
    window.formula_panel.setFocus()
    qtbot.keyClick(window.formula_panel, Qt.Key.Key_PageUp)
    assert window.controller.lessons.index == 2


def test_without_a_lesson_the_table_pages_its_rows(qtbot, window):
    index = window.controller.view.preset_index
    click_cell(qtbot, window, 0, 0)
    qtbot.keyClick(window.table, Qt.Key.Key_PageDown)
    assert window.controller.view.preset_index == index
    assert window.table.currentIndex().row() == window.table_model.rowCount() - 1


def test_ctrl_space_starts_then_stops_the_sweep_and_the_menu_says_so(qtbot, window):
    play = window.menu_actions.play_action
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(window, Qt.Key.Key_Space, ctrl)
    assert window.controller.temperature.playing
    assert play.isChecked()
    with qtbot.waitSignal(window.controller.sigDataChanged, timeout=5000):
        pass  # it sweeps
    qtbot.keyClick(window, Qt.Key.Key_Space, ctrl)
    assert not window.controller.temperature.playing
    assert not play.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Space, ctrl)
    assert window.controller.temperature.playing
    assert play.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Space, ctrl)
    assert not window.controller.temperature.playing
    assert not play.isChecked()


def test_f1_opens_a_searchable_sheet_of_every_shortcut(qtbot, window):
    from PySide6.QtGui import QAction, QKeySequence

    from softmax_lab.gui.help import ShortcutsSheet

    qtbot.keyClick(window, Qt.Key.Key_F1)
    sheets = [w for w in window.findChildren(ShortcutsSheet) if w.isVisible()]
    assert len(sheets) == 1
    sheet = sheets[0]
    native = QKeySequence.SequenceFormat.NativeText
    # Generated from the actions: every key of every menu action is listed, and only those.
    listed = {key for keys, _, _ in sheet.shown_rows() for key in keys.split(", ")}
    bound = {
        s.toString(native)
        for a in window.findChildren(QAction)
        for s in a.shortcuts()
        if not s.isEmpty()
    }
    assert listed == bound
    assert "Ctrl+Space" in listed
    assert "F11" in listed
    qtbot.keyClicks(sheet.search, "temperature")
    rows = sheet.shown_rows()
    assert ("Ctrl+Space", "Play temperature", "View") in rows
    assert all("temperature" in " ".join(r).lower() for r in rows)
    assert sheet.count.text().startswith(f"{len(rows)} of ")
    sheet.search.clear()
    qtbot.keyClicks(sheet.search, "pgdown")
    assert [r[1] for r in sheet.shown_rows()] == ["Next example"]
    sheet.close()


def test_help_about_names_the_versions_and_the_device(qtbot, window):
    import numpy as np
    import pyqtgraph as pg
    import PySide6
    import torch

    from softmax_lab.gui.help import AboutBox

    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if "About" in a.text())
    about.trigger()
    boxes = [w for w in window.findChildren(AboutBox) if w.isVisible()]
    assert len(boxes) == 1
    text = boxes[0].text()
    for version in (torch.__version__, np.__version__, PySide6.__version__, pg.__version__):
        assert version in text
    assert "Device: cpu (float32)" in text
    assert "Python: 3." in text
    boxes[0].close()
