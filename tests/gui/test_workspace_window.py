"""Workspaces, autosave after a kill, presentation mode and exports, in the real window."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage

from softmax_lab.core.workspace import load_workspace
from softmax_lab.gui import MainWindow
from softmax_lab.gui.autosave import orphaned_sessions
from softmax_lab.gui.plots import PLOT_NAMES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("SOFTMAX_LAB_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, state_dir):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_workspace_round_trip_restores_the_exact_window(qtbot, window, tmp_path):
    doc = window.document
    doc.set_logits([1], [2], -np.inf)
    doc.rename_class(0, "cat")
    doc.set_settings(
        temperature=0.7,
        label_smoothing=0.1,
        reduction="sum",
        weight=[1.0, 2.0, 0.5],
        dtype="float64",
    )
    window.select_sample(2)
    window.menu_actions.probabilities_action.trigger()
    window.controller.set_scale(1.5)
    path = tmp_path / "lecture.softmaxlab.json"
    window.files.save_workspace(path)
    assert not window.isWindowModified()

    other = MainWindow()
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.sigFileLoaded):
        other.load_file(path)
    for a, b in zip(other.document.snapshot(), doc.snapshot(), strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
    assert other.selected_sample == 2
    assert other.table_model.show_probabilities
    assert other.theme.scale == 1.5
    assert other.document.evaluation.loss == doc.evaluation.loss


def test_corrupt_and_future_workspaces_change_nothing(qtbot, window, tmp_path):
    before = window.document.snapshot()
    for name, text in (
        ("cut.softmaxlab.json", '{"format": "softmax-lab-workspace", "ver'),
        ("future.softmaxlab.json", '{"format": "softmax-lab-workspace", "version": 99}'),
    ):
        path = tmp_path / name
        path.write_text(text)
        with qtbot.waitSignal(window.sigLoadFailed) as blocker:
            window.load_file(path)
        assert name in blocker.args[0]
        np.testing.assert_array_equal(window.document.logits, before[0])
    assert "newer Softmax Lab" in window.statusBar().currentMessage()


CHILD = """
import sys, threading, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
app = QApplication([])
from softmax_lab.gui.main_window import MainWindow
w = MainWindow(autosave=True)
w.show()
w.document.set_logits([0], [0], {value!r})
w.document.set_logits([2], [1], -7.5)
while not w.files.session.path.exists():
    app.processEvents()
    time.sleep(0.01)
print(w.files.session.path, flush=True)
commands = []
threading.Thread(target=lambda: commands.append(sys.stdin.readline()), daemon=True).start()
while not commands:
    app.processEvents()
    time.sleep(0.01)
w.document.mark_clean()
w.close()
print("closed", flush=True)
"""


def _instance(state_dir, value: float) -> tuple[subprocess.Popen, Path]:
    """A real Softmax Lab process with an edited, autosaved window; returns it and its file."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOFTMAX_LAB_STATE_DIR": str(state_dir)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), value=value)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline().strip()
    assert line, "the instance wrote no autosave"
    return child, Path(line)


def test_two_instances_keep_their_own_autosave_and_kill_9_loses_neither(qtbot, state_dir):
    first, first_file = _instance(state_dir, 42.0)
    second, second_file = _instance(state_dir, 13.0)
    try:
        assert first_file != second_file
        assert load_workspace(first_file).logits[0, 0] == 42.0  # the second did not overwrite it
        assert load_workspace(second_file).logits[0, 0] == 13.0
        # Both owners alive: a third start offers neither and deletes nothing.
        assert orphaned_sessions(state_dir) == []
        first.kill()  # SIGKILL: no clean-up code runs
        first.wait()
        orphans = orphaned_sessions(state_dir)
        assert [o.path for o in orphans] == [first_file]  # one entry, only the dead owner's
        assert load_workspace(orphans[0].path).logits[2, 1] == -7.5
        orphans[0].keep()
        # The live instance closes cleanly: its own file goes, the dead one's work stays.
        second.stdin.write("close\n")
        second.stdin.flush()
        assert second.stdout.readline().strip() == "closed"
        assert second.wait(timeout=60) == 0
        assert not second_file.exists()
        assert first_file.exists()
    finally:
        for child in (first, second):
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
            child.stdin.close()

    window = MainWindow(autosave=True)
    qtbot.addWidget(window)
    (orphan,) = orphaned_sessions(state_dir)
    ended = []
    window.files.recover(orphan, ended.append)
    qtbot.waitUntil(lambda: ended == [True])
    assert window.document.logits[0, 0] == 42.0
    assert window.isWindowModified()  # restored work is unsaved work
    assert not first_file.exists()  # now this window's own autosave holds it
    assert load_workspace(window.files.session.path).logits[0, 0] == 42.0
    assert orphaned_sessions(state_dir) == []
    window.document.mark_clean()
    window.close()


def test_windows_of_one_process_autosave_apart_and_close_apart(qtbot, state_dir):
    one, two = MainWindow(autosave=True), MainWindow(autosave=True)
    for window, value in ((one, 1.0), (two, 2.0)):
        qtbot.addWidget(window)
        window.document.set_logits([0], [0], value)
    qtbot.waitUntil(lambda: one.files.session.path.exists() and two.files.session.path.exists())
    assert one.files.session.path != two.files.session.path
    assert orphaned_sessions(state_dir) == []  # both alive: nothing to offer
    two.document.mark_clean()
    two.close()
    assert not two.files.session.path.exists()
    assert load_workspace(one.files.session.path).logits[0, 0] == 1.0


def test_start_offers_each_orphan_once_and_no_discards_only_it(qtbot, state_dir, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from softmax_lab.gui.app import offer_recovery

    makers = []
    for value in (3.0, 4.0):
        w = MainWindow(autosave=True)
        qtbot.addWidget(w)
        w.document.set_logits([0], [0], value)
        w.files.write_autosave()
        makers.append(w)
    paths = [w.files.session.path for w in makers]
    for w in makers:  # as if killed: the lock goes with the process, the file stays
        w.files.session._lock.unlock()
        w.files.session = None
    live = MainWindow(autosave=True)  # a window still open: its work is never offered
    qtbot.addWidget(live)
    live.document.set_logits([0], [0], 9.0)
    live.files.write_autosave()
    questions = []

    def answer(_parent, _title, text, *args):
        questions.append(text)
        return (
            QMessageBox.StandardButton.No if len(questions) == 1 else QMessageBox.StandardButton.Yes
        )

    monkeypatch.setattr(QMessageBox, "question", answer)
    window = MainWindow(autosave=True)
    qtbot.addWidget(window)
    assert offer_recovery(window) == 2
    assert "(1 of 2)" in questions[0]
    assert "(2 of 2)" in questions[1]
    assert not paths[0].exists()
    assert not paths[1].exists()
    assert window.document.logits[0, 0] == 4.0
    assert load_workspace(live.files.session.path).logits[0, 0] == 9.0
    for w in (window, live, *makers):
        w.document.mark_clean()
        w.close()


def test_nothing_unsaved_keeps_no_autosave(qtbot, state_dir):
    window = MainWindow(autosave=True)
    qtbot.addWidget(window)
    window.document.set_logits([0], [0], 5.0)
    path = window.files.session.path
    qtbot.waitUntil(path.exists, timeout=5000)
    window.controller.undo()  # back to the state it opened with: a crash would lose nothing
    qtbot.waitUntil(lambda: not path.exists(), timeout=5000)
    assert orphaned_sessions(state_dir) == []
    window.close()


def test_clean_close_removes_the_autosave(qtbot, state_dir):
    window = MainWindow(autosave=True)
    qtbot.addWidget(window)
    window.document.set_logits([0], [0], 5.0)
    path = window.files.session.path
    qtbot.waitUntil(path.exists, timeout=5000)
    window.document.mark_clean()
    window.close()
    assert not path.exists()
    assert list((state_dir / "sessions").iterdir()) == []  # nor its lock


def test_copy_as_pytorch_code_runs_and_prints_the_window_loss(window):
    window.document.set_settings(label_smoothing=0.2, temperature=1.5)
    code = window.menu_actions.copy_pytorch_code()
    assert QGuiApplication.clipboard().text() == code
    script = code.replace("print(loss)", "print(repr(loss.item()))")
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()[0]
    assert float(out) == pytest.approx(window.document.evaluation.loss, rel=1e-6)


def test_markdown_and_latex_to_the_clipboard(window):
    window.files.copy_text("x", "x")
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    markdown = next(a for a in edit_menu.actions() if "Markdown" in a.text())
    markdown.trigger()
    assert QGuiApplication.clipboard().text().startswith("| sample | class 0")
    latex = next(a for a in edit_menu.actions() if "LaTeX" in a.text())
    latex.trigger()
    assert QGuiApplication.clipboard().text().startswith(r"\begin{tabular}")


def test_export_results_csv(window, tmp_path):
    path = tmp_path / "results.csv"
    window.files.export_results(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("sample,label,predicted,predicted_name,correct,loss")
    assert len(lines) == 4
    assert float(lines[1].split(",")[5]) == pytest.approx(window.document.evaluation.losses[0])


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_presentation_mode_screenshots(qtbot, window, tmp_path, scale):
    window.menu_actions.presentation_action.trigger()
    window.controller.set_scale(scale)
    assert window.isFullScreen()
    assert not window.side_tabs.isVisible()
    assert window.theme.scale == scale
    # The offscreen screen is 800 x 800: leave full screen to render at a projector's size.
    window.showNormal()
    window.resize(1280, 800)
    qtbot.wait(50)
    path = tmp_path / f"presentation-{scale}.png"
    assert window.files.save_screenshot(path)
    if os.environ.get("SOFTMAX_LAB_SCREENSHOTS"):
        window.files.save_screenshot(Path(os.environ["SOFTMAX_LAB_SCREENSHOTS"]) / path.name)
    assert QImage(str(path)).width() >= 1280
    window.menu_actions.presentation_action.trigger()
    assert window.side_tabs.isVisible()


def test_play_temperature_animates_and_is_one_undo_step(qtbot, window):
    window.menu_actions.play_action.trigger()
    qtbot.waitUntil(lambda: window.document.settings.temperature > 1.5, timeout=10000)
    window.menu_actions.play_action.trigger()
    assert window.document.undo_text == "Play temperature"
    window.document.undo()
    assert window.document.settings.temperature == 1.0


def test_page_down_steps_presets_with_only_the_keyboard(qtbot, window):
    from PySide6.QtCore import Qt

    window.menu_actions.presentation_action.trigger()
    window.table.setFocus()
    seen = []
    for _ in range(4):
        qtbot.keyClick(window.table, Qt.Key.Key_PageDown)
        seen.append(round(float(np.nansum(window.document.evaluation.losses)), 4))
    assert len(set(seen)) == 4


def test_focus_one_plot_with_number_keys(qtbot, window):
    from PySide6.QtCore import Qt

    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert [p.isHidden() for p in window.plots()] == [True, True, False, True, True]
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.AltModifier)
    assert not any(p.isHidden() for p in window.plots())


@pytest.mark.parametrize("index", range(5))
def test_every_plot_exports_png_and_svg(window, tmp_path, index):
    png = tmp_path / f"plot{index}.png"
    plot, name = window.plots()[index], PLOT_NAMES[index]
    window.files.export_plot(plot, name, png, scale=2.0)
    image = QImage(str(png))
    assert image.width() == pytest.approx(2 * window.plots()[index].width(), abs=2)
    svg = tmp_path / f"plot{index}.svg"
    window.files.export_plot(plot, name, svg)
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") or "<svg" in text[:400]
    assert "</svg>" in text


def test_window_png_at_twice_the_density(window, tmp_path):
    path = tmp_path / "window@2x.png"
    assert window.files.save_screenshot(path, scale=2.0)
    assert QImage(str(path)).width() == 2 * window.width()


def test_tables_too_large_to_autosave_say_so_and_leave_no_stale_state(
    qtbot, state_dir, monkeypatch
):
    import softmax_lab.gui.files as gui_files

    window = MainWindow(autosave=True)
    qtbot.addWidget(window)
    window.document.set_logits([0], [0], 5.0)
    path = window.files.session.path
    qtbot.waitUntil(path.exists, timeout=5000)
    monkeypatch.setattr(gui_files, "AUTOSAVE_MAX_CELLS", window.document.n_classes)
    window.document.set_logits([0], [0], 6.0)
    qtbot.waitUntil(lambda: not path.exists(), timeout=5000)
    assert "Autosave is off for tables over" in window.statusBar().toolTip()  # the whole text
    window.document.mark_clean()
    window.close()
