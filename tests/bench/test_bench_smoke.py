"""The benchmark runner runs end to end at tiny sizes and reports every figure (no timing checks:
timings on a shared machine prove nothing in a test)."""

import math
import sys

from bench_runner import ROOT, run_bench, run_json

sys.path.insert(0, str(ROOT))

from bench.run import FIGURES

NUMBERS = ("value", "peer", "ratio", "max_ratio")


def test_quick_json_run_reports_every_figure_with_numbers():
    result = run_json("run.py")

    assert result["quick"] is True
    assert result["errors"] == {}
    machine = result["machine"]
    for key in (
        "cpu",
        "logical_cores",
        "torch_threads",
        "torch",
        "numpy",
        "PySide6",
        "pyqtgraph",
        "matplotlib",
    ):
        assert machine[key] not in (None, ""), key
    assert len(result["load_average_start"]) == 3

    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == set(FIGURES)
    for name, figure in figures.items():
        for key in NUMBERS:
            value = figure[key]
            assert isinstance(value, (int, float)), (name, key)
            assert not isinstance(value, bool), (name, key)
            assert math.isfinite(value), (name, key, value)
        assert figure["peer"] > 0, name
        assert figure["value"] > 0 if figure["unit"] == "ms" else figure["value"] >= 0, name
        assert isinstance(figure["passed"], bool), name
        assert figure["unit"] in ("ms", "MB"), name
        assert figure["budget"], name
        assert figure["peer_name"], name
        assert all(isinstance(v, (int, float)) for v in figure["extra"].values()), name
    assert "floor_ms" in figures["evaluate"]["extra"]


def test_only_runs_the_named_figure_and_rejects_unknown_names():
    result = run_json("run.py", "--only", "evaluate", timeout=300)
    assert [f["name"] for f in result["figures"]] == ["evaluate"]

    bad = run_bench("run.py", "--quick", "--json", "--only", "no_such_figure", timeout=300)
    assert bad.returncode == 2
    assert "unknown figure" in bad.stderr
