"""bench/runs.py and bench/dynamics.py run end to end at tiny sizes and report every figure (no
timing checks: timings on a shared machine prove nothing in a test)."""

import math

from bench_runner import run_json


def check_figures(result: dict, names: set[str]) -> None:
    assert result["quick"] is True
    assert result["errors"] == {}
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == names
    for name, f in figures.items():
        for key in ("value", "peer", "ratio"):
            assert isinstance(f[key], (int, float)), (name, key)
            assert math.isfinite(f[key]), (name, key)
        assert f["peer"] > 0, name
        assert f["value"] > 0, name
        assert f["budget"], name
        assert isinstance(f["passed"], bool), name


def test_the_runs_bench_reports_the_window_figures():
    result = run_json("runs.py", "--no-dynamics")
    check_figures(
        result,
        {
            "step_change",
            "step_change_training",
            "step_change_large",
            "datamap_pan",
            "datamap_pan_floor",
        },
    )


def test_the_dynamics_bench_reports_time_and_memory():
    result = run_json("dynamics.py")
    check_figures(result, {"dynamics", "dynamics_memory", "dynamics_torn"})
    figures = {f["name"]: f for f in result["figures"]}
    assert figures["dynamics"]["extra"]["max_abs_diff_p_true_vs_evaluate"] < 1e-6
