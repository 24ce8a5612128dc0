"""bench/sequences.py runs end to end at tiny sizes and reports every figure with numbers (no
timing checks: timings on a shared machine prove nothing in a test), and leaves no file behind."""

import math
import sys
import tempfile
from pathlib import Path

from bench_runner import ROOT, run_bench, run_json

sys.path.insert(0, str(ROOT))

from bench.sequences import FIGURES


def test_quick_json_run_reports_every_figure_and_cleans_up():
    before = set(Path(tempfile.gettempdir()).glob("softmax-lab-lm-*"))
    result = run_json("sequences.py")
    assert result["quick"] is True
    assert result["errors"] == {}
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == set(FIGURES)
    for name, figure in figures.items():
        for key in ("value", "peer", "ratio"):
            assert isinstance(figure[key], (int, float)), (name, key)
            assert math.isfinite(figure[key]), (name, key)
        assert figure["value"] > 0
        assert figure["peer"] > 0, name
        assert figure["unit"] in ("ms", "MB"), name
        assert figure["budget"]
        assert figure["peer_name"], name
    assert figures["t_slider"]["max_value"] == 100.0
    assert figures["t_slider"]["extra"]["undo_restores_t"] == 1.0
    assert figures["evaluate_bf16"]["extra"]["loss_difference"] < 1e-4
    assert set(Path(tempfile.gettempdir()).glob("softmax-lab-lm-*")) == before


def test_unknown_figures_are_refused():
    done = run_bench("sequences.py", "--only", "nope", timeout=120)
    assert done.returncode == 2
    assert "unknown figure" in done.stderr
