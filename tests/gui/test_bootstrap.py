"""One start-up for the app and for ``softmax_lab.view``: both use the same settings file, inside
the suite's sandboxed HOME (tests/conftest.py), so recent files and preferences are shared."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

VIEWER = textwrap.dedent(
    """
    import json
    import numpy as np
    from PySide6.QtCore import QSettings
    import softmax_lab

    viewer = softmax_lab.view(np.eye(3), [0, 1, 2], show=False)
    print(json.dumps({
        "settings": QSettings().fileName(),
        "recent": viewer.window.preferences.recent_files(),
    }))
    viewer.close()
    """
)

APP = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QEventLoop, QSettings
    from softmax_lab.gui.bootstrap import application
    from softmax_lab.gui import MainWindow

    # The app's start-up (gui.app.run uses the same bootstrap), then a file opened as a user
    # opens one (a --screenshot run writes nothing, so it would remember nothing).
    app = application(["softmax-lab"])
    window = MainWindow()
    loop = QEventLoop()
    window.sigFileLoaded.connect(lambda _path: loop.quit())
    window.load_file(sys.argv[1])
    loop.exec()
    print(json.dumps({"rc": 0, "settings": QSettings().fileName()}))
    window.close()
    """
)


def _python(code: str, *args: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_app_and_the_viewer_share_one_settings_file_in_the_sandbox(tmp_path):
    logits = tmp_path / "shared.npy"
    np.save(logits, np.array([[2.0, 0.5, -1.0], [0.1, 1.5, 0.2]], dtype=np.float32))
    app = _python(APP, str(logits))
    viewer = _python(VIEWER)

    assert app["rc"] == 0
    assert viewer["settings"] == app["settings"]
    home = Path(os.environ["HOME"]).resolve()
    assert Path(viewer["settings"]).resolve().is_relative_to(home)
    assert "Softmax Lab" in Path(viewer["settings"]).parts
    # What the app remembered, the viewer's window offers.
    assert str(logits.resolve()) in viewer["recent"]
    config = Path(os.environ["XDG_CONFIG_HOME"])
    assert not (config / "Unknown Organization").exists()
