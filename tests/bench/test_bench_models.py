"""bench/models.py runs end to end with a tiny random-init model and reports every figure (no
timing checks: timings on a shared machine prove nothing in a test)."""

import math

import pytest
from bench_runner import run_json

pytest.importorskip("transformers")


def test_the_models_bench_reports_prompt_step_and_memory():
    result = run_json("models.py")
    assert result["errors"] == {}
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == {"model_prompt", "model_step", "model_memory"}
    for name, f in figures.items():
        assert math.isfinite(f["ratio"]), name
        assert f["value"] > 0, name
        assert f["budget"], name
