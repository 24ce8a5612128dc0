"""The top-k / top-p panel shows core.sampling's truncation of the selected sample."""

import numpy as np
import pytest

from core.sampling import truncate
from gui.sampling_view import SamplingPanel

P = np.array([0.05, 0.6, 0.25, 0.1])


@pytest.fixture
def panel(qtbot):
    w = SamplingPanel()
    qtbot.addWidget(w)
    w.set_sample(P, ["a", "b", "c", "d"], 1.0)
    return w


def heights(bars):
    return np.asarray(bars.getData()[1], dtype=float)


def test_no_truncation_keeps_everything(panel):
    np.testing.assert_allclose(heights(panel.original), np.sort(P)[::-1])
    np.testing.assert_allclose(heights(panel.renormalized), np.sort(P)[::-1])
    assert "4 of 4 classes" in panel.summary.text()


def test_top_k_and_top_p(panel):
    panel.top_k.setValue(2)
    assert panel.kept_classes() == [1, 2]
    np.testing.assert_allclose(heights(panel.renormalized), truncate(P, 2).renormalized)
    panel.top_k.setValue(0)
    panel.top_p.setValue(0.8)
    assert panel.kept_classes() == [1, 2]
    assert "85.0%" in panel.summary.text()


def test_wide_vocabulary(qtbot):
    w = SamplingPanel()
    qtbot.addWidget(w)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(50_000))
    w.set_sample(p, [f"tok{i}" for i in range(50_000)], 0.7)
    assert len(heights(w.original)) == 30
    w.top_p.setValue(0.5)
    assert w.truncation.n_kept > 30
    assert "top 30 of 50,000" in w.summary.text()
