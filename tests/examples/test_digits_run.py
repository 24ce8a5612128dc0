"""examples/digits_run.py headless at a small size: it trains, records a run that opens, says
where the flipped labels are, and the window opened on the run shows them on the data map's
hard-to-learn side."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from softmax_lab.core import load_run, training_dynamics
from softmax_lab.gui import MainWindow

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "digits"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "digits_run.py"),
            str(folder),
            "--samples",
            "400",
            "--epochs",
            "8",
            "--flipped",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, done.stdout


def test_the_example_records_a_run_and_reports_the_flipped_labels(digits_run):
    folder, out = digits_run
    run = load_run(folder)
    assert run.steps == list(range(1, 9))
    assert (run.n_samples, run.n_classes) == (400, 10)
    assert run.images.shape == (400, 8, 8)
    assert run.images.dtype == np.uint8
    assert run.class_names == [str(d) for d in range(10)]
    flipped = np.array(json.loads((folder / "flipped.json").read_text()))
    assert flipped.size == 10
    from sklearn.datasets import load_digits

    true = load_digits().target[:400]
    assert (run.labels[flipped] != true[flipped]).all()  # flipped, to another class
    keep = np.setdiff1d(np.arange(400), flipped)
    np.testing.assert_array_equal(run.labels[keep], true[keep])
    # What it prints is what the data map computes.
    d = training_dynamics(run)
    hard = int((d.regions()[flipped] == "hard-to-learn").sum())
    lowest = np.argsort(d.confidence, kind="stable")[:20]
    in_lowest = np.intersect1d(lowest, flipped).size
    match = re.search(
        r"flipped labels: 10; in the hard-to-learn region: (\d+) .* lowest-confidence 5% "
        r"\(20 samples\): (\d+)",
        out,
    )
    assert match, out
    assert (int(match[1]), int(match[2])) == (hard, in_lowest)
    assert hard >= 8  # the model never agrees with a flipped label
    assert in_lowest >= 8


def test_the_window_shows_the_flipped_samples_as_hard_to_learn(qtbot, digits_run):
    folder, _ = digits_run
    flipped = json.loads((folder / "flipped.json").read_text())
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.sigFileLoaded, timeout=30000):
        w.load_file(folder)
    qtbot.waitUntil(lambda: w.controller.runs.map is not None, timeout=30000)
    m = w.controller.runs.map
    assert (m.regions[flipped] == "hard-to-learn").sum() >= 8
    qtbot.mouseClick(w.training_panel.region_buttons["hard-to-learn"], Qt.MouseButton.LeftButton)
    shown = {w.table_model.sample_at(r) for r in range(w.table_model.rowCount())}
    assert len(set(flipped) & shown) >= 8
    # Their digits are there to look at.
    assert set(w.training_panel.inputs.thumbnail_samples()) <= shown
    assert w.training_panel.inputs.grid.count() == min(48, len(shown))
