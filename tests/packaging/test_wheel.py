"""The installed distribution: one top-level name, every subpackage, and a window that starts.

Builds the wheel from this checkout, installs it (and its dependencies, CPU torch first as the
Makefile does) into a fresh virtual environment, and runs it from a folder that holds a decoy
``core`` and ``gui`` package — a user's project with its own ``core/`` must not be picked up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH = os.environ.get("TORCH", "torch==2.13.0")

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)])
    (path,) = folder.glob("softmax_lab-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", TORCH])
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)])
    return venv


@pytest.fixture
def decoy(tmp_path) -> Path:
    """A user's project folder with packages named like the checkout's folders."""
    for name in ("core", "gui", "resources"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f"raise ImportError('the decoy {name} package was imported')\n"
        )
    (tmp_path / "main.py").write_text("raise SystemExit('the decoy main.py was run')\n")
    return tmp_path


def test_wheel_has_one_top_level_name_and_every_subpackage(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "softmax_lab",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    on_disk = {
        f"softmax_lab/{p.parent.relative_to(ROOT).as_posix()}/__init__.py"
        for top in ("core", "gui", "resources")
        for p in (ROOT / top).rglob("__init__.py")
    }
    on_disk |= {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "softmax_lab").rglob("*/__init__.py")
    }
    assert on_disk <= set(names), sorted(on_disk - set(names))
    for needed in (
        "softmax_lab/integrations/transformers.py",
        "softmax_lab/integrations/lightning.py",
        "softmax_lab/py.typed",
        "softmax_lab/__main__.py",
        "softmax_lab/resources/icon.svg",
        "softmax_lab/resources/lessons/notebook.json",
    ):
        assert needed in names


def test_installed_command_starts_beside_a_decoy_core(installed, decoy):
    out = decoy / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    _run([str(installed / "bin" / "softmax-lab"), "--screenshot", str(out)], cwd=decoy, env=env)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() >= 800
    assert image.height() >= 500


def test_installed_api_beside_a_decoy_core(installed, decoy):
    script = textwrap.dedent(
        """
        import sys
        import softmax_lab
        from softmax_lab import RunWriter
        # A training script that records a run needs neither Qt nor torch.
        assert "torch" not in sys.modules and "PySide6" not in sys.modules, sorted(sys.modules)
        assert softmax_lab.__version__
        import numpy as np
        viewer = softmax_lab.view(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), [0, 1], show=False)
        image = viewer.screenshot()
        assert image.ndim == 3 and image.shape[0] > 100, image.shape
        print(f"{viewer.evaluation.loss:.4f}")
        viewer.close()
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = _run([str(installed / "bin" / "python"), "-c", script], cwd=decoy, env=env)
    assert out.stdout.strip().splitlines()[-1] == "0.3185"
