"""Issue 21 in the window: text from files is plain text that cannot resize the window, a lying
run manifest is read off the GUI thread or refused cleanly, and a refused load leaves the
previous table and its numbers on screen."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import softmax_lab.gui.runs_session as runs_session
from softmax_lab.core.document import Document
from softmax_lab.core.lessons import MAX_CAPTION_CHARS
from softmax_lab.core.runs import MANIFEST, Run, RunWriter
from softmax_lab.core.workspace import Workspace, save_workspace
from softmax_lab.gui import MainWindow
from softmax_lab.gui.sequence_view import SequenceView

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1024, 640


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.stage.keep_size = True
    w.resize(WIDTH, HEIGHT)
    w.show()
    qtbot.waitExposed(w)
    return w


def settle():
    for _ in range(3):
        QApplication.processEvents()


def lesson_file(path: Path, caption: str, title: str = "A step", **step) -> Path:
    body = {
        "format": "softmax-lab-lesson",
        "version": 1,
        "title": "Hostile",
        "steps": [
            {
                "title": title,
                "caption": caption,
                "table": {"logits": [[2.0, 1.0, 0.1]] * 8, "labels": [0, 1, 2, 0, 1, 2, 0, 1]},
                "highlight": "softmax",
                "expect": {"predictions": [0] * 8},
                **step,
            }
        ],
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


# --- item 2: lesson and token text is plain text ------------------------------------------------


def test_markup_in_a_caption_shows_as_the_text_it_is(qtbot, window, tmp_path):
    image = tmp_path / "secret.png"
    window.grab().save(str(image))
    caption = f"<img src='{image}'> <h1 style='font-size:200pt'>big</h1> Tom &amp; Jerry"
    title = "<b>bold?</b> &lt;tag&gt;"
    assert open_lesson(qtbot, window.controller, lesson_file(tmp_path / "l.json", caption, title))
    settle()
    band = window.caption
    assert band.isVisible()
    for label, text in ((band.title, title), (band.text, caption)):
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert label.text() == text  # shown as typed: "&amp;" stays "&amp;", no image, no h1
    # As plain text the caption wraps into a few lines of the caption's size, not a 200 pt h1
    # or a screenshot-sized image.
    assert band.text.height() < 6 * band.text.fontMetrics().height()


def test_a_long_one_word_caption_keeps_the_window_width(qtbot, window, tmp_path):
    word = "W" * MAX_CAPTION_CHARS
    assert open_lesson(qtbot, window.controller, lesson_file(tmp_path / "l.json", word, "T" * 200))
    window.controller.update_view(presentation=True)
    settle()
    assert window.width() == WIDTH
    assert window.minimumSizeHint().width() <= WIDTH
    assert window.caption.text.text() == word
    # Longer than any lesson may be (the loader refuses it): the band still cannot widen it.
    window.caption.set_caption("T", "X" * 10_000, "step 1 of 1")
    settle()
    assert window.width() == WIDTH
    assert window.minimumSizeHint().width() <= WIDTH
    assert window.caption.text.width() <= WIDTH


def test_a_refused_caption_says_why_and_changes_nothing(qtbot, window, tmp_path):
    before = window.summary.text()
    path = lesson_file(tmp_path / "l.json", "bell \x07 " + "x" * 4_000_000)
    assert not open_lesson(qtbot, window.controller, path)
    assert "the caption has 4,000,007 characters" in window.statusBar().currentMessage()
    assert window.summary.text() == before
    assert window.width() == WIDTH


def test_token_texts_in_the_details_panel_are_plain_text(qtbot):
    view = SequenceView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    details = "'Tom &amp; Jerry' <img src='/etc/hosts'> " + "z" * 3000
    view.set_selected(-1, details)
    settle()
    assert view.details.textFormat() == Qt.TextFormat.PlainText
    assert view.details.text() == details
    assert view.width() == 600


# --- item 5: a refused load keeps the previous table and its numbers -----------------------------


def test_a_lesson_with_a_huge_ignore_index_leaves_the_table_and_its_numbers(
    qtbot, window, tmp_path
):
    """Before: the 8 x 3 lesson table showed under the 3 x 3 preset's "0.3018 · 3 × 3"."""
    before_summary, before_rows = window.summary.text(), window.document.n_samples
    path = lesson_file(tmp_path / "l.json", "fine", options={"ignore_index": 10**30})
    assert not open_lesson(qtbot, window.controller, path)
    settle()
    assert window.document.n_samples == before_rows
    assert window.table.model().rowCount() == before_rows
    assert window.summary.text() == before_summary
    assert "ignore_index must be within" in window.statusBar().currentMessage()


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("view", "preset_index", 10**20),
        ("settings", "ignore_index", 10**30),
        ("body", "labels", [10**30] * 8),
    ],
)
def test_a_workspace_with_huge_numbers_is_refused_whole(qtbot, window, tmp_path, where, key, value):
    rng = np.random.default_rng(3)
    path = tmp_path / "w.softmaxlab.json"
    save_workspace(
        path, Workspace.from_document(Document(rng.normal(size=(8, 3)), rng.integers(0, 3, 8)))
    )
    body = json.loads(path.read_text())
    (body if where == "body" else body[where])[key] = value
    path.write_text(json.dumps(body))
    before_summary, before_rows = window.summary.text(), window.document.n_samples
    with qtbot.waitSignal(window.sigLoadFailed):
        window.files.open_workspace(path)
    settle()
    assert window.document.n_samples == before_rows
    assert window.table.model().rowCount() == before_rows
    assert window.summary.text() == before_summary
    assert "w.softmaxlab.json" in window.statusBar().currentMessage()


def test_a_workspace_past_its_lessons_last_step_reopens_at_the_last(qtbot, window, tmp_path):
    lesson = lesson_file(tmp_path / "l.json", "caption")
    assert open_lesson(qtbot, window.controller, lesson)
    path = tmp_path / "w.softmaxlab.json"
    window.files.save_workspace(path)
    body = json.loads(path.read_text())
    body["view"]["lesson_step"] = 10**6
    path.write_text(json.dumps(body))
    window.controller.lessons.close()
    lessons = window.controller.lessons
    with qtbot.waitSignal(lessons.sigChanged), qtbot.waitSignal(window.sigFileLoaded):
        window.files.open_workspace(path)  # the lesson it names is read in a job, then resumed
    settle()
    assert lessons.active
    assert window.controller.view.lesson_step == 0  # the lesson has one step


# --- item 4: manifests that lie ---------------------------------------------------------------


def test_a_run_waiting_for_its_first_step_is_read_off_the_gui_thread(
    qtbot, window, tmp_path, monkeypatch
):
    """A 116-byte manifest claiming 10^7 classes froze the window 2–3 s every 0.4 s: it was
    re-read on the GUI thread. Now every read of it happens in a worker."""
    folder = tmp_path / "liar"
    folder.mkdir()
    (folder / MANIFEST).write_text(
        json.dumps(
            {
                "format": "softmax-lab-run",
                "version": 1,
                "n_samples": 3,
                "n_classes": 10**7,
                "dtype": "float32",
                "steps": [],
            }
        )
    )
    threads = []
    real = runs_session.load_run

    def spy(path):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(path)

    monkeypatch.setattr(runs_session, "load_run", spy)
    window.load_file(folder)
    runs = window.controller.runs
    qtbot.waitUntil(lambda: runs.waiting_for is not None, timeout=20000)
    qtbot.waitUntil(lambda: len(threads) >= 2, timeout=20000)  # the wait timer looked again
    assert not any(threads), "the manifest was read on the GUI thread"


def test_polling_a_live_run_reads_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    on_gui = []
    real = Run.refresh

    def spy(self):
        on_gui.append(threading.current_thread() is threading.main_thread())
        return real(self)

    monkeypatch.setattr(Run, "refresh", spy)  # before opening: every poll is seen
    folder = tmp_path / "live"
    with RunWriter(folder, labels=np.array([0, 1, 2])) as writer:
        writer.add(0, np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(folder)
    runs = window.controller.runs
    with RunWriter(folder, resume=True) as writer:
        writer.add(1, np.ones((3, 3), np.float32))
    qtbot.waitUntil(lambda: runs.steps == [0, 1], timeout=20000)
    assert on_gui
    assert not any(on_gui)


def test_screenshot_of_a_run_claiming_step_ten_to_the_thirty_returns(tmp_path):
    folder = tmp_path / "liar"
    with RunWriter(folder, labels=np.array([0, 1, 2])) as writer:
        writer.add(0, np.zeros((3, 3), np.float32))
    body = json.loads((folder / MANIFEST).read_text())
    body["steps"].append({"step": 10**30, "file": "step-000001.npy"})
    (folder / MANIFEST).write_text(json.dumps(body))
    out = tmp_path / "shot.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(folder), "--screenshot", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode != 0
    assert "steps are whole numbers within" in done.stderr
    assert "OverflowError" not in done.stderr
    assert not out.exists()
