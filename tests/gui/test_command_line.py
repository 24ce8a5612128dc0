"""The command line and quitting: what a run writes, what a refusal says, when closing asks."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from softmax_lab.core.loaders import save_logits
from softmax_lab.gui import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def _main(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    """main.py with HOME, config and state in empty folders of its own."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "SOFTMAX_LAB_STATE_DIR": str(home / "state"),
    }
    home.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    return result, home


def test_screenshot_of_a_file_writes_nothing_but_the_png(tmp_path):
    data = tmp_path / "val.npz"
    save_logits(data, np.arange(12.0).reshape(4, 3), np.array([0, 1, 2, 0]), ["a", "b", "c"])
    out = tmp_path / "shot.png"
    result, home = _main(tmp_path, str(data), "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    assert not QImage(str(out)).isNull()
    written = [p for p in home.rglob("*") if p.is_file()]
    assert written == []  # no recent-files list, no preferences, no autosave


def test_a_bad_lesson_file_says_why(tmp_path):
    lesson = tmp_path / "BAD.json"
    lesson.write_text('{"format": "softmax-lab-lesson", "version": 1, "steps": "many"}')
    result, _home = _main(
        tmp_path, "--lesson", str(lesson), "--screenshot", str(tmp_path / "x.png")
    )
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert "BAD.json" in message
    assert message != f"softmax-lab: could not open the lesson {str(lesson)!r}"  # a reason follows
    assert not (tmp_path / "x.png").exists()


def test_opening_a_file_and_quitting_asks_nothing_but_an_edit_asks(qtbot, tmp_path, monkeypatch):
    data = tmp_path / "val.npz"
    save_logits(data, np.arange(12.0).reshape(4, 3), np.array([0, 1, 2, 0]), ["a", "b", "c"])
    asked: list[str] = []

    def question(_parent, _title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    window = MainWindow(confirm_close=True)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(data)
    assert not window.isWindowModified()
    window.document.set_logits([0], [0], 5.0)
    assert not window.close()  # an edit: asked, and Cancel keeps the window
    assert asked == ["Save your work as a workspace before closing?"]
    window.controller.undo()
    assert not window.isWindowModified()
    assert window.close()  # back to the file's state: closes without a question
    assert len(asked) == 1
