"""core.calibration: temperature scaling against torch and a brute-force grid."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_lab.core import constants
from softmax_lab.core.calibration import fit_temperature


def _dataset(n=300, c=7, seed=0, scale=2.0):
    """Logits and labels drawn from softmax(logits): a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, scale, (n, c))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, y


def _torch_nll(z, y, temperature, weight=None, ignore_index=-100):
    x = torch.as_tensor(z, dtype=torch.float64)
    w = None if weight is None else torch.as_tensor(weight, dtype=torch.float64)
    return F.cross_entropy(
        x / temperature, torch.as_tensor(y), weight=w, ignore_index=ignore_index
    ).item()


def test_fit_temperature_recovers_a_known_scaling_and_beats_a_brute_force_grid():
    z, y = _dataset(n=4000, c=10, seed=7, scale=1.5)
    fit = fit_temperature((z * 3).astype(np.float32), y)
    assert fit.temperature == pytest.approx(3.0, rel=0.05)
    assert fit.nll_after <= fit.nll_before
    assert fit.nll_before == pytest.approx(_torch_nll(z * 3, y, 1.0), rel=1e-6)
    assert fit.nll_after == pytest.approx(_torch_nll(z * 3, y, fit.temperature), rel=1e-6)
    grid = np.geomspace(1.0, 9.0, 201)
    nll = np.array([_torch_nll(z * 3, y, t) for t in grid])
    best = grid[nll.argmin()]
    assert fit.temperature == pytest.approx(best, rel=2 * (grid[1] / grid[0] - 1))
    assert fit.nll_after <= nll.min() + 1e-6
    assert fit.ece_after < fit.ece_before
    assert fit.excluded == 0
    assert fit.n_used == 4000
    assert not fit.at_bound
    assert 3 <= fit.iterations <= 100


def test_fit_temperature_streams_row_blocks_without_changing_the_result(monkeypatch):
    z, y = _dataset(n=300, c=7, seed=10)
    z[[4, 9], 2] = -np.inf
    z[17] = np.nan
    whole = fit_temperature(z * 2, y)
    monkeypatch.setattr(constants, "CPU_BLOCK_ELEMENTS", 100)  # 14 rows a block
    blocked = fit_temperature(z * 2, y)
    assert blocked.temperature == pytest.approx(whole.temperature, rel=1e-9)
    assert blocked.nll_after == pytest.approx(whole.nll_after, rel=1e-12)
    assert blocked.ece_after == pytest.approx(whole.ece_after, rel=1e-12)
    assert blocked.excluded == whole.excluded == 1


@pytest.mark.parametrize("seed", range(4))
def test_fit_temperature_never_makes_the_nll_worse(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, rng.uniform(0.1, 5), (200, 5)).astype(np.float32)
    y = rng.integers(0, 5, 200)
    fit = fit_temperature(z, y, max_iter=20)
    assert fit.nll_after <= fit.nll_before
    assert fit.iterations <= 20 + 2


def test_fit_temperature_handles_masked_classes_nan_rows_weights_and_ignored_rows():
    z, y = _dataset(n=500, c=6, seed=8)
    z = z * 0.5
    y = y.copy()
    z[:, 5] = -np.inf  # a masked class
    y[y == 5] = 0
    y[:7] = 3
    z[3] = np.nan  # excluded
    z[4, 2] = np.inf  # excluded
    z[5, 3] = -np.inf  # the label is impossible: excluded
    y[10:20] = -1
    weight = np.array([1.0, 2.0, 0.5, 1.0, 1.5, 1.0])
    fit = fit_temperature(z, y, ignore_index=-1, weight=weight)
    assert fit.excluded == 3
    assert fit.n_used == 500 - 3 - 10
    keep = np.ones(500, bool)
    keep[3:6] = False
    grid = np.geomspace(0.05, 5.0, 301)
    nll = np.array([_torch_nll(z[keep], y[keep], t, weight, -1) for t in grid])
    assert np.isfinite(nll).all()
    assert fit.temperature == pytest.approx(grid[nll.argmin()], rel=2 * (grid[1] / grid[0] - 1))
    assert fit.nll_after == pytest.approx(
        _torch_nll(z[keep], y[keep], fit.temperature, weight, -1), rel=1e-6
    )
    assert fit.nll_after <= nll.min() + 1e-6
    assert math.isfinite(fit.ece_before)
    assert math.isfinite(fit.ece_after)


def test_fit_temperature_keeps_t_1_when_nothing_is_better_and_flags_the_bound():
    flat = fit_temperature(np.zeros((10, 3)), np.arange(10) % 3)
    assert flat.temperature == 1.0
    assert flat.nll_after == flat.nll_before == pytest.approx(math.log(3))
    assert not flat.at_bound
    # Every row right: sharper is always better, up to the interval's edge. (A small margin, so
    # that the NLL does not round to exactly 0 inside the interval.)
    separable = fit_temperature(np.eye(4) * 0.3, np.arange(4))
    assert separable.at_bound
    assert separable.temperature == pytest.approx(constants.TEMPERATURE_MIN, rel=1e-3)
    assert separable.nll_after < separable.nll_before


def test_fit_temperature_float64_and_tensor_input():
    z, y = _dataset(n=300, c=4, seed=9)
    a = fit_temperature(z * 2, y)
    b = fit_temperature(torch.from_numpy(z * 2), torch.from_numpy(y))
    assert a == b
    assert a.temperature == pytest.approx(2.0, rel=0.25)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"logits": np.zeros(3), "targets": np.zeros(3)}, r"\(N, C\)"),
        ({"logits": np.zeros((0, 3)), "targets": np.zeros(0)}, r"\(N, C\)"),
        ({"logits": np.zeros((2, 3)), "targets": np.zeros(3)}, "3 entries"),
        ({"logits": np.zeros((2, 3)), "targets": [0, 3]}, "label 3 at row 1"),
        ({"logits": np.zeros((2, 3)), "targets": [0, 1], "max_iter": 1}, "max_iter"),
        ({"logits": np.zeros((2, 3)), "targets": [0, 1], "weight": [1, 1]}, "2 entries"),
        ({"logits": np.zeros((2, 3)), "targets": [0, 1], "weight": [1, -1, 1]}, ">= 0"),
        ({"logits": np.zeros((2, 3)), "targets": [0, 1], "device": "tpu"}, "device"),
        ({"logits": np.full((2, 3), np.nan), "targets": [0, 1]}, "no labelled row"),
        ({"logits": np.zeros((2, 3)), "targets": [-100, -100]}, "no labelled row"),
        ({"logits": [["a", "b"]], "targets": [0]}, "numbers"),
    ],
)
def test_fit_temperature_rejects_bad_input(kwargs, message):
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=message):
        fit_temperature(kwargs.pop("logits"), kwargs.pop("targets"), **kwargs)
