"""Runs a benchmark script the way the bench tests do (test code): in a child process, headless,
from the repository root; the result is its one JSON object."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def run_json(script: str, *args: str, timeout: float = 900) -> dict:
    """``script --quick --json *args``, which must succeed; its result."""
    done = run_bench(script, "--quick", "--json", *args, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
