"""Shared test set-up: headless Qt, the user's files out of reach, hypothesis profiles.

HOME, the XDG folders and Softmax Lab's state folder point into one temporary folder for the
whole session (set before anything imports Qt), so no test reads or writes the user's settings,
recent files or autosave; child processes inherit the same environment.
"""

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# pip's download cache is not the user's work; keeping it lets the wheel test install offline-fast.
_REAL_HOME = Path(os.environ.get("HOME") or Path.home())
os.environ.setdefault("PIP_CACHE_DIR", str(_REAL_HOME / ".cache" / "pip"))

_SANDBOX = Path(tempfile.mkdtemp(prefix="softmax-lab-tests-"))
for _name, _sub in (
    ("HOME", "home"),
    ("XDG_CONFIG_HOME", "home/.config"),
    ("XDG_DATA_HOME", "home/.local/share"),
    ("XDG_STATE_HOME", "home/.local/state"),
    ("XDG_CACHE_HOME", "home/.cache"),
    ("SOFTMAX_LAB_STATE_DIR", "state"),
):
    (_SANDBOX / _sub).mkdir(parents=True, exist_ok=True)
    os.environ[_name] = str(_SANDBOX / _sub)

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_unconfigure(config):
    shutil.rmtree(_SANDBOX, ignore_errors=True)
