"""softmax_lab as a user's script runs it: a fresh process, offscreen, ending in run(); and the
digits example, headless, so that neither can rot."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import numpy as np, torch, torch.nn.functional as F
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import softmax_lab

    out = {}
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 5)), rng.integers(0, 5, 40)
    try:
        softmax_lab.view(x, y[:-1])
    except ValueError as exc:
        out["bad"] = str(exc)
    out["windows_after_bad"] = len(QApplication.topLevelWidgets()) if QApplication.instance() else 0

    viewer = softmax_lab.view(torch.tensor(x, dtype=torch.float32), y, title="script")
    # An edit through the window, as a user types it.
    table = viewer.window.table_model
    table.setData(table.index(2, 4), "6.25")
    logits = viewer.logits
    expected = F.cross_entropy(torch.tensor(logits, dtype=torch.float32), torch.tensor(y),
                               reduction="none")
    out["edited"] = float(logits[2, 4])
    out["max_loss_error"] = float(np.abs(viewer.evaluation.losses - expected.numpy()).max())
    out["loss"] = [float(viewer.evaluation.loss), float(expected.mean())]
    out["shape"] = list(viewer.screenshot(size=(1280, 800)).shape)

    def training_step():  # a training loop's last step, from its own thread
        viewer.set_data(x * 3, y)

    def check_and_close():  # on the GUI thread, once the step has arrived
        if not np.allclose(viewer.logits, x * 3):
            QTimer.singleShot(50, check_and_close)
            return
        out["final_loss"] = float(viewer.evaluation.loss)
        viewer.close()

    threading.Thread(target=training_step).start()
    QTimer.singleShot(50, check_and_close)
    softmax_lab.run()  # blocks until the window is closed
    expected = F.cross_entropy(torch.tensor(x * 3, dtype=torch.float32), torch.tensor(y))
    out["expected_final_loss"] = float(expected)
    print(json.dumps(out))
    """
)


def _env():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_a_script_views_edits_reads_back_and_runs(tmp_path):
    script = tmp_path / "use_softmax_lab.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["bad"] == "got 39 labels for 40 samples"
    assert out["windows_after_bad"] == 0
    assert out["edited"] == 6.25
    assert out["max_loss_error"] < 1e-5
    assert out["loss"][0] == pytest.approx(out["loss"][1], rel=1e-6)
    assert out["shape"] == [800, 1280, 4]
    assert out["final_loss"] == pytest.approx(out["expected_final_loss"], rel=1e-5)


def test_the_digits_example_opens_its_held_out_logits_with_the_images(tmp_path):
    pytest.importorskip("sklearn")
    shot = tmp_path / "digits.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "digits.py"), "--screenshot", str(shot)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy 0.9" in done.stdout
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    pixels = np.frombuffer(
        image.convertToFormat(QImage.Format.Format_Grayscale8).constBits(), dtype=np.uint8
    )
    assert pixels.std() > 20
