"""bench/inputs.py runs end to end at tiny sizes and reports its figures (no timing checks)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_json_run_reports_every_figure():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "inputs.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["errors"] == {}
    names = [f["name"] for f in result["figures"]]
    assert names == ["scroll_images", "scroll_back_images", "edit_images", "select_images"]
    for figure in result["figures"]:
        for key in ("value", "peer", "ratio", "max_ratio"):
            assert math.isfinite(figure[key])
        assert figure["value"] > 0
        assert figure["peer"] > 0
        assert figure["unit"] == "ms"
    assert result["figures"][0]["extra"]["thumbnails_cached"] > 0
    assert result["figures"][0]["extra"]["rows_shown_images"] > 0
