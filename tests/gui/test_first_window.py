"""The first window fits the screen it opens on (at most 90 % of it, centred), the user's size
and place come back at the next start when they still fit, and the smallest window fits a
1024 x 640 screen. Each start is a real ``softmax-lab`` start on an offscreen screen of a
given size (Qt's offscreen platform reads it from a config file)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

START = """
import json, sys
from PySide6.QtWidgets import QApplication
from softmax_lab.gui import app

def user(self=None):  # what the user does while the app runs: look, maybe move it, close it
    window = next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow")
    QApplication.processEvents()
    g, a = window.geometry(), window.screen().availableGeometry()
    hint = window.minimumSizeHint()
    print(json.dumps({"window": [g.x(), g.y(), g.width(), g.height()],
                      "screen": [a.x(), a.y(), a.width(), a.height()],
                      "minimum": [hint.width(), hint.height()]}))
    move = json.loads(sys.argv[1])
    if move:
        window.setGeometry(*move)
        QApplication.processEvents()
    window.close()
    return 0

QApplication.exec = user
sys.exit(app.run(["--no-restore", *sys.argv[2:]]))
"""


def start(tmp_path, screen, move=None, *args):
    config = tmp_path / f"screen-{screen[0]}x{screen[1]}.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "s",
                        "x": 0,
                        "y": 0,
                        "width": screen[0],
                        "height": screen[1],
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        )
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # this test's own QSettings
    }
    out = subprocess.run(
        [sys.executable, "-c", START, json.dumps(move), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    return json.loads(line)


def inside(rect, area):
    x, y, w, h = rect
    ax, ay, aw, ah = area
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 640)])
def test_the_first_window_fits_the_screen_centred(tmp_path, screen):
    got = start(tmp_path, screen)
    x, y, w, h = got["window"]
    ax, ay, aw, ah = got["screen"]
    assert inside(got["window"], got["screen"])
    assert w <= round(0.9 * aw)
    assert h <= round(0.9 * ah)
    assert abs((x + w / 2) - (ax + aw / 2)) <= 1
    assert abs((y + h / 2) - (ay + ah / 2)) <= 1
    # The smallest window fits a 1024 x 640 screen with room for a title bar.
    assert got["minimum"][0] <= 1024
    assert got["minimum"][1] <= 640 - 40


def test_the_users_size_and_place_come_back_if_they_fit(tmp_path):
    first = start(tmp_path, (1920, 1080), [100, 80, 1500, 900])
    assert first["window"] != [100, 80, 1500, 900]
    second = start(tmp_path, (1920, 1080))
    assert second["window"] == [100, 80, 1500, 900]
    # On a smaller screen (the laptop without its monitor) it would not fit: 90 %, centred.
    laptop = start(tmp_path, (1366, 768))
    assert inside(laptop["window"], laptop["screen"])
    assert laptop["window"][2] <= round(0.9 * 1366)


def test_a_size_on_the_command_line_wins(tmp_path):
    got = start(tmp_path, (1920, 1080), None, "--size", "1024x640")
    assert got["window"][2:] == [1024, 640]
