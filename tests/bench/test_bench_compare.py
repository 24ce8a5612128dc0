"""bench/compare.py runs end to end at tiny sizes and reports its figures (no timing checks:
timings on a shared machine prove nothing in a test)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_json_run_reports_every_compare_figure():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["quick"] is True
    assert result["errors"] == {}
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == {"compare_attach", "compare_edit_a", "compare_edit_b"}
    for name, figure in figures.items():
        for key in ("value", "peer", "ratio", "max_ratio"):
            assert isinstance(figure[key], float), (name, key)
            assert math.isfinite(figure[key]), (name, key)
        assert figure["value"] > 0
        assert figure["peer"] > 0
        assert figure["unit"] == "ms"
        assert isinstance(figure["passed"], bool)
    assert figures["compare_attach"]["max_ratio"] == 2.0
    assert figures["compare_edit_b"]["max_ratio"] == 3.0
    assert figures["compare_edit_a"]["extra"]["small_edit_comparing_ms"] > 0
