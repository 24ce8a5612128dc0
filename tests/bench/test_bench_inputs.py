"""bench/inputs.py runs end to end at tiny sizes and reports its figures (no timing checks)."""

import math

from bench_runner import run_json


def test_quick_json_run_reports_every_figure():
    result = run_json("inputs.py")
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
