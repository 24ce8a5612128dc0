"""bench/scale.py: its helpers (row windows, the block-written .npy, the streamed loss against
torch) and a tiny end-to-end run that reports every figure (no timing checks)."""

import math
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bench_runner import ROOT, run_json
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(ROOT))

from bench.scale import npy_layout, stream_windows, streamed_loss, write_big_npy


@given(st.integers(0, 5000), st.integers(1, 700))
def test_windows_cover_the_rows_once_in_order(rows, window):
    windows = stream_windows(rows, window)
    covered = [r for start, stop in windows for r in range(start, stop)]
    assert covered == list(range(rows))
    assert all(0 < stop - start <= window for start, stop in windows)


@pytest.mark.parametrize(("rows", "window"), [(-1, 3), (5, 0)])
def test_bad_windows_are_refused(rows, window):
    with pytest.raises(ValueError, match="rows must be"):
        stream_windows(rows, window)


@pytest.mark.parametrize(("rows", "block", "window"), [(1000, 128, 97), (7, 50, 3), (1, 1, 1)])
def test_the_streamed_loss_is_torchs(tmp_path, rows, block, window):
    path = write_big_npy(tmp_path / "x.npy", rows, 13, block_rows=block)
    offset, shape, dtype = npy_layout(path)
    x = np.load(path)
    assert shape == x.shape == (rows, 13)
    assert dtype == "float32"
    assert offset > 0
    if rows > block:  # the blocks differ from each other
        assert not np.array_equal(x[:block], x[block : 2 * block])
    expected = F.cross_entropy(torch.from_numpy(x), torch.zeros(rows, dtype=torch.long))
    loss, seen = streamed_loss(path, window)
    assert seen == rows
    assert loss == pytest.approx(float(expected), rel=1e-5)


def test_a_tiny_run_reports_every_figure():
    result = run_json("scale.py")
    assert result["errors"] == {}
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == {"scale_open", "scale_edit", "stream_linear", "stream_memory"}
    for name, f in figures.items():
        for key in ("value", "peer", "ratio"):
            assert math.isfinite(f[key]), (name, key)
        assert f["peer"] > 0, name
    assert figures["stream_memory"]["value"] <= figures["stream_memory"]["peer"]
