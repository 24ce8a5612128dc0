"""bench/profile_edit.py runs end to end at tiny sizes: call and event counts per edit, compared
between two runs, and the CPU-time mode (no timing checks)."""

import json

from bench_runner import run_bench

TINY = ("--small", "16x10", "--large", "300x12", "--warmup", "1")


def test_counts_every_phase_and_compares_two_runs(tmp_path):
    out = tmp_path / "counts.json"
    done = run_bench("profile_edit.py", *TINY, "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    for phase in ("edit_small", "first_edit", "steady_after_open"):
        counts = result[phase]
        # The edit itself is on the path, and what Qt delivered is counted beside it.
        assert counts["core/document.py:set_logits"][0] == 1
        assert any(key.startswith("event Paint -> ") for key in counts)
        assert result[f"{phase}_ms"] > 0
    compared = run_bench("profile_edit.py", "--compare", str(out), str(out))
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "== edit_small" in compared.stdout
    assert "== first_edit" in compared.stdout
    # A run against itself differs nowhere: only the header lines, no function rows.
    rows = [line for line in compared.stdout.splitlines() if line[:9].strip().isdigit()]
    assert rows == []


def test_cpu_mode_times_each_edit(tmp_path):
    out = tmp_path / "cpu.json"
    done = run_bench("profile_edit.py", *TINY, "--cpu", "2", "--cpu-opens", "1", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert len(result["edit_small_cpu_ms"]) == 2
    assert len(result["first_edit_cpu_ms"]) == len(result["steady_after_open_cpu_ms"]) == 1
    assert all(ms > 0 for ms in result["edit_small_cpu_ms"] + result["first_edit_cpu_ms"])
