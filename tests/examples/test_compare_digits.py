"""examples/compare_digits.py: the two digits classifiers, compared in the window headless at a
small size; what the window shows is what scikit-learn's models predict."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

pytest.importorskip("sklearn")

import compare_digits  # noqa: E402 (the examples folder is not a package)

from softmax_lab.gui import MainWindow  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    return compare_digits.train(samples=400, hidden=16)


# Named by message: a warning class from sklearn would make pytest import it before the test.
@pytest.mark.filterwarnings("ignore:Stochastic Optimizer:UserWarning")
def test_the_logits_are_the_models_own(trained):
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x, y = digits.data[:300] / 16.0, digits.target[:300]
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(x, y)
    z = compare_digits.mlp_logits(mlp, x)
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), mlp.predict_proba(x), atol=1e-9)
    assert trained.logits_a.shape == trained.logits_b.shape == (200, 10)
    assert trained.images.shape == (200, 8, 8)


def test_the_window_shows_which_samples_each_model_gets_right(qtbot, trained, tmp_path):
    a_path, b_path = compare_digits.write_files(trained, tmp_path)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sigFileLoaded, timeout=30000):
        window.load_file(a_path, as_probabilities=False)
    with qtbot.waitSignal(window.controller.compare.sigCompared, timeout=30000):
        window.files.compare_file(b_path)
    right_a = trained.logits_a.argmax(1) == trained.labels
    right_b = trained.logits_b.argmax(1) == trained.labels
    assert window.document.model_names == ("logreg", "mlp")
    assert len(window.document.inputs.images) == 200  # the digits beside their rows
    window.show_dataset()
    matrix = window.dataset_panel.comparison_view.matrix
    expected = [
        [(~right_a & ~right_b).sum(), (~right_a & right_b).sum()],
        [(right_a & ~right_b).sum(), (right_a & right_b).sum()],
    ]
    np.testing.assert_array_equal(matrix.counts(), expected)
    assert expected[0][1] > 0  # the MLP gets some right that the logistic regression does not
    qtbot.mouseClick(matrix.cells[(False, True)], Qt.MouseButton.LeftButton)
    model = window.table_model
    shown = [model.sample_at(r) for r in range(model.rowCount())]
    assert sorted(shown) == np.flatnonzero(~right_a & right_b).tolist()
    assert f"{expected[0][1]} fixed" in window.compare_ui.bar.plain_text()
    window.document.mark_clean()


def test_the_script_renders_the_comparison(tmp_path):
    shot = tmp_path / "digits.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOFTMAX_LAB_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "compare_digits.py"),
            "--samples",
            "300",
            "--screenshot",
            str(shot),
            "--out",
            str(tmp_path / "files"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "150 held-out digits" in done.stdout
    assert shot.stat().st_size > 10_000
    assert (tmp_path / "files" / "logreg.npz").exists()
    assert (tmp_path / "files" / "mlp.npz").exists()
