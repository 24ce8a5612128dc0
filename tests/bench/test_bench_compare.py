"""bench/compare.py runs end to end at tiny sizes and reports its figures (no timing checks:
timings on a shared machine prove nothing in a test)."""

import math

from bench_runner import run_json


def test_quick_json_run_reports_every_compare_figure():
    result = run_json("compare.py")
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
