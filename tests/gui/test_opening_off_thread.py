"""Issue 21, "no work that depends on file size or content runs on the GUI thread": a workspace
opened with the real shortcut, a drop or the recent files is read in a job while the window
goes on processing events, its wait can be cancelled, and a hostile workspace (nested past the
limit, a FIFO) is refused with a message, the previous table and its numbers kept."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

import softmax_lab.gui.files as files_module
from softmax_lab.core.document import Document
from softmax_lab.core.workspace import Workspace, save_workspace
from softmax_lab.gui import MainWindow

N = 8


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAX_LAB_STATE_DIR", str(tmp_path / "state"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def workspace(path: Path) -> Path:
    rng = np.random.default_rng(21)
    doc = Document(rng.normal(size=(N, 3)), rng.integers(0, 3, N))
    save_workspace(path, Workspace.from_document(doc))
    return path


class Gate:
    """``load_workspace`` held until ``release`` is set, when called in a job's thread. Called
    on the GUI thread it records that (waiting there would freeze the test, not fail it)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.on_gui: list[str] = []
        self.real = files_module.load_workspace

    def __call__(self, path):
        if threading.current_thread() is threading.main_thread():
            self.on_gui.append(str(path))
        else:
            self.started.set()
            self.release.wait()
        return self.real(path)


def shown(window) -> tuple[int, str, str]:
    """What the user sees of the table: its rows in the table view, the summary line."""
    return window.table.model().rowCount(), window.summary.text(), window.windowTitle()


def turn_of_the_event_loop(qtbot) -> None:
    """Returns only once the GUI thread has run a timer: it is not blocked."""
    timer = QTimer(singleShot=True, interval=0)
    with qtbot.waitSignal(timer.timeout):
        timer.start()


def ctrl_o(qtbot, window, monkeypatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.activateWindow()  # the shortcut goes to the active window (a dialog may have been)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_o_reads_a_workspace_in_a_job_and_its_wait_can_be_cancelled(
    qtbot, window, tmp_path, monkeypatch
):
    path = workspace(tmp_path / "lecture.softmaxlab.json")
    gate = Gate()
    monkeypatch.setattr(files_module, "load_workspace", gate)
    before = shown(window)
    ctrl_o(qtbot, window, monkeypatch, path)
    assert not gate.on_gui, "the workspace was read on the GUI thread"
    qtbot.waitUntil(gate.started.is_set)
    # The read is blocked: the window still runs timers, repaints and shows the wait.
    turn_of_the_event_loop(qtbot)
    window.table.viewport().repaint()
    progress = window.files._progress
    qtbot.waitUntil(progress.isVisible)
    assert "lecture.softmaxlab.json" in progress.labelText()
    assert shown(window) == before
    # Cancel: nothing changes, and the read that ends later is dropped.
    cancel = progress.findChild(QPushButton)
    load_ended = window.controller.jobs.sigBusy
    with qtbot.waitSignal(
        load_ended, check_params_cb=lambda kind, busy: kind == "load" and not busy
    ):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
        assert window.statusBar().toolTip() == "Opening cancelled; nothing changed"
        gate.release.set()
    assert shown(window) == before
    assert window.files.workspace_path is None
    # Again, let through: the workspace is in.
    with qtbot.waitSignal(window.sigFileLoaded):
        ctrl_o(qtbot, window, monkeypatch, path)
    assert not gate.on_gui
    assert window.document.n_samples == N
    assert window.table.model().rowCount() == N
    assert window.statusBar().toolTip() == "Opened workspace lecture.softmaxlab.json"
    assert window.files.workspace_path == path


def test_a_dropped_workspace_and_a_recent_one_are_read_in_a_job(
    qtbot, window, tmp_path, monkeypatch
):
    # A .json not named *.softmaxlab.json: even telling it from logits reads it.
    path = workspace(tmp_path / "saved.json")
    gate = Gate()
    gate.release.set()
    monkeypatch.setattr(files_module, "load_workspace", gate)
    sniffed = []
    real_sniff = files_module.looks_like_workspace

    def sniff(p):
        sniffed.append(threading.current_thread() is threading.main_thread())
        return real_sniff(p)

    monkeypatch.setattr(files_module, "looks_like_workspace", sniff)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.sigFileLoaded):
        window.dropEvent(drop)
    assert sniffed == [False]
    assert window.document.n_samples == N
    window.controller.apply_preset(0)
    (recent,) = [a for a in window.preferences.recent_menu.actions() if a.text() == "saved.json"]
    with qtbot.waitSignal(window.sigFileLoaded):
        recent.trigger()
    assert window.document.n_samples == N
    assert sniffed == [False, False]
    assert not gate.on_gui


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("kind", ["deep", "deep-view", "fifo", "fifo-json"])
def test_a_hostile_workspace_through_ctrl_o_is_refused_and_keeps_the_table(
    qtbot, window, tmp_path, monkeypatch, kind
):
    if kind == "deep":
        path = tmp_path / "deep.softmaxlab.json"
        path.write_text(nested(100_000))
        phrase = "deep.softmaxlab.json: nested too deeply"
    elif kind == "deep-view":
        path = workspace(tmp_path / "view.softmaxlab.json")
        body = json.loads(path.read_text())
        body["view"]["selected"] = json.loads(nested(200))
        path.write_text(json.dumps(body))
        phrase = "view.softmaxlab.json: nested too deeply"
    else:  # a FIFO blocks whoever opens it until a writer comes: it is refused by its type
        path = tmp_path / ("pipe.softmaxlab.json" if kind == "fifo" else "pipe.json")
        os.mkfifo(path)
        phrase = f"{path.name}: a named pipe (FIFO), not a regular file"
    window.document.set_logits([1], [2], 3.5)  # the user's work, unsaved
    before, logits = shown(window), window.document.logits.copy()
    with qtbot.waitSignal(window.sigLoadFailed) as failed:
        ctrl_o(qtbot, window, monkeypatch, path)
    assert phrase in failed.args[0]
    assert phrase in window.statusBar().toolTip()
    for _ in range(3):
        QApplication.processEvents()
    assert shown(window) == before
    np.testing.assert_array_equal(window.document.logits, logits)
    assert window.document.is_modified
    assert not window.files._progress.isVisible()


class Held:
    """A reader held until ``release`` is set when called in a job's thread; called on the GUI
    thread it records that instead of waiting (which would freeze the test, not fail it)."""

    def __init__(self, real) -> None:
        self.real = real
        self.started = threading.Event()
        self.release = threading.Event()
        self.on_gui = False

    def __call__(self, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            self.on_gui = True
        else:
            self.started.set()
            self.release.wait()
        return self.real(*args, **kwargs)


def test_ctrl_shift_l_reads_labels_in_a_job(qtbot, window, tmp_path, monkeypatch):
    import softmax_lab.gui.inputs_session as inputs_session

    n = window.document.n_samples
    labels = np.arange(n) % window.document.n_classes
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(map(str, labels)))
    held = Held(inputs_session.load_labels)
    monkeypatch.setattr(inputs_session, "load_labels", held)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    undo = window.document.undo_text
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(
        window,
        Qt.Key.Key_L,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert not held.on_gui, "the labels were read on the GUI thread"
    qtbot.waitUntil(held.started.is_set)
    turn_of_the_event_loop(qtbot)
    assert window.statusBar().toolTip() == "Reading labels from labels.txt…"
    assert window.document.undo_text == undo
    read = window.controller.jobs.sigBusy
    with qtbot.waitSignal(read, check_params_cb=lambda kind, busy: kind == "labels" and not busy):
        held.release.set()
    assert window.document.labels.tolist() == labels.tolist()
    assert window.document.undo_text == "Attach labels from labels.txt"


def test_a_tokenizer_is_read_in_a_job_and_a_new_table_drops_it(
    qtbot, window, tmp_path, monkeypatch
):
    c = window.document.n_classes
    path = tmp_path / "vocab.txt"
    path.write_text("".join(f"tok{i}\n" for i in range(c)))
    held = Held(files_module.load_vocabulary)
    monkeypatch.setattr(files_module, "load_vocabulary", held)
    names = list(window.document.class_names)
    window.files.attach_tokenizer(path)
    assert not held.on_gui, "the tokenizer was read on the GUI thread"
    qtbot.waitUntil(held.started.is_set)
    turn_of_the_event_loop(qtbot)
    assert window.document.class_names == names
    # Another table opens meanwhile: the tokenizer read for the old one is dropped.
    other = workspace(tmp_path / "other.softmaxlab.json")
    with qtbot.waitSignal(window.sigFileLoaded):
        window.load_file(other)
    names = list(window.document.class_names)
    read = window.controller.jobs.sigBusy
    with qtbot.waitSignal(read, check_params_cb=lambda k, busy: k == "tokenizer" and not busy):
        held.release.set()
    assert window.document.class_names == names
    # Read again, for this table: its classes are named after the tokens.
    c = window.document.n_classes
    path.write_text("".join(f"tok{i}\n" for i in range(c)))
    with qtbot.waitSignal(read, check_params_cb=lambda k, busy: k == "tokenizer" and not busy):
        window.files.attach_tokenizer(path)
    assert window.document.class_names == [f"tok{i}" for i in range(c)]


def lesson_menu_action(window, text: str):
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    while menus:
        menu = menus.pop()
        for action in menu.actions():
            if action.menu() is not None:
                menus.append(action.menu())
            elif action.text() == text:
                return action
    raise LookupError(text)


def test_a_lesson_file_from_the_menu_is_read_in_a_job_and_a_fifo_is_refused(
    qtbot, window, tmp_path, monkeypatch
):
    import softmax_lab.gui.lesson_session as lesson_session
    from softmax_lab.core.lessons import builtin_lessons

    notebook = next(p for p in builtin_lessons() if p.stem == "notebook")
    held = Held(lesson_session.load_lesson)
    monkeypatch.setattr(lesson_session, "load_lesson", held)
    chosen = [str(notebook)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[0], ""))
    open_file = lesson_menu_action(window, "Open lesson file…")
    lessons = window.controller.lessons
    before = shown(window)
    open_file.trigger()
    assert not held.on_gui, "the lesson was read on the GUI thread"
    qtbot.waitUntil(held.started.is_set)
    turn_of_the_event_loop(qtbot)
    assert not lessons.active
    assert shown(window) == before
    with qtbot.waitSignal(lessons.sigChanged):
        held.release.set()
    assert lessons.active
    assert lessons.path == str(notebook)
    # A FIFO named like a lesson: refused by its type, the lesson and its table kept.
    lessons.close()
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    chosen[0] = str(fifo)
    read = window.controller.jobs.sigBusy
    before = shown(window)
    with qtbot.waitSignal(read, check_params_cb=lambda kind, busy: kind == "lesson" and not busy):
        open_file.trigger()
    assert "Not opened: pipe.json: a named pipe (FIFO), not a regular file" in (
        window.statusBar().toolTip()
    )
    assert not lessons.active
    assert shown(window) == before
