"""The top-k / top-p panel shows core.sampling's truncation of the selected sample, and its
boxes write the view state that the window renders."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from softmax_lab.core.document import Document
from softmax_lab.core.sampling import truncate
from softmax_lab.gui import MainWindow
from softmax_lab.gui.sampling_view import SamplingPanel

P = np.array([0.05, 0.6, 0.25, 0.1])
NAMES = ["a", "b", "c", "d"]


@pytest.fixture
def panel(qtbot):
    w = SamplingPanel()
    qtbot.addWidget(w)
    w.set_truncation(truncate(P), NAMES, 1.0)
    return w


def heights(bars):
    return np.asarray(bars.getData()[1], dtype=float)


def test_no_truncation_keeps_everything(panel):
    np.testing.assert_allclose(heights(panel.original), np.sort(P)[::-1])
    np.testing.assert_allclose(heights(panel.renormalized), np.sort(P)[::-1])
    assert "4 of 4 classes" in panel.summary.text()


def test_the_truncation_is_drawn(panel):
    panel.set_truncation(truncate(P, 2), NAMES, 1.0)
    assert panel.kept_classes() == [1, 2]
    np.testing.assert_allclose(heights(panel.renormalized), truncate(P, 2).renormalized)
    panel.set_truncation(truncate(P, None, 0.8), NAMES, 1.0)
    assert panel.kept_classes() == [1, 2]
    assert "85.0%" in panel.summary.text()


def test_in_the_window_the_boxes_drive_the_view_state(qtbot):
    window = MainWindow(Document(np.log([P]), [1], NAMES))
    qtbot.addWidget(window)
    window.controller.update_view(side_tab="sampling")
    window.show()
    panel = window.sampling_panel
    panel.top_k.setFocus()
    panel.top_k.selectAll()
    qtbot.keyClicks(panel.top_k, "2")
    assert window.controller.view.top_k == 2
    assert window.controller.view.top_p == 1.0
    panel.top_p.setFocus()
    qtbot.keyClick(panel.top_p, Qt.Key.Key_Down)  # 1.00 -> 0.95
    assert window.controller.view.top_p == pytest.approx(0.95)
    assert window.controller.view.top_k == 2
    window.controller.update_view(top_p=1.0)
    assert panel.kept_classes() == [1, 2]
    window.controller.update_view(top_k=0, top_p=0.8)
    assert panel.top_k.value() == 0
    assert panel.top_p.value() == pytest.approx(0.8)
    assert "85.0%" in panel.summary.text()
    window.controller.document.mark_clean()


def test_wide_vocabulary(qtbot):
    w = SamplingPanel()
    qtbot.addWidget(w)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(50_000))
    w.set_truncation(truncate(p, None, 0.5), [f"tok{i}" for i in range(50_000)], 0.7)
    assert len(heights(w.original)) == 30
    assert w.truncation.n_kept > 30
    assert "top 30 of 50,000" in w.summary.text()
