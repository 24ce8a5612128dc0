"""bench/floor.py: the floor's numbers are torch's, and its window shows an edit (the floor the
app's edit and data-map pan are compared with; no timing checks here)."""

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bench_runner import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

sys.path.insert(0, str(ROOT))

from bench.floor import VIEW_NAMES, BareFloor, BareScatter, floor_numbers, geometry_of


@st.composite
def tables(draw):
    n, c = draw(st.integers(1, 12)), draw(st.integers(1, 9))
    logits = draw(hnp.arrays(np.float32, (n, c), elements=st.floats(-60, 60, width=32)))
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return logits, labels, draw(st.integers(0, n - 1))


@settings(max_examples=60)
@given(tables())
def test_floor_numbers_are_torchs(problem):
    logits, labels, selected = problem
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    y = torch.as_tensor(labels)
    losses = F.cross_entropy(x, y, reduction="none")
    losses.mean().backward()
    d = floor_numbers(logits, labels, selected)
    p = F.softmax(x.detach(), 1).numpy()
    np.testing.assert_allclose(d["p"], p, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d["losses"], losses.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d["gradient"], x.grad[selected].numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(d["correct"], x.detach().argmax(1).numpy() == labels)


def test_a_floor_edit_reaches_every_view(qtbot):
    from PySide6.QtWidgets import QWidget

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (16, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 16)
    # Six views side by side in a host window, as the app's window would place them.
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 300)
    for k, name in enumerate(VIEW_NAMES):
        view = QWidget(host)
        view.setGeometry(150 * k, 10 * k, 140, 200 + k)
        setattr(host, name, view)
    geometry = geometry_of(host)
    assert geometry["heatmap"] == (450, 30, 140, 203)

    floor = BareFloor(logits, labels, geometry, (900, 300))
    qtbot.addWidget(floor.window)
    floor.selected = 3
    floor.edit(3, 7, 42.0)
    assert floor.widgets["heatmap"].geometry().getRect() == (450, 30, 140, 203)
    assert floor.model.data(floor.model.index(3, 7)) == "42"
    assert float(floor.logit_bars.opts["height"][7]) == 42.0
    assert floor.prob_labels[7].textItem.toPlainText() == "1.000"  # 42 dwarfs the others
    np.testing.assert_allclose(floor.image.image[3].sum(), 1.0)
    assert floor.image.image[3, 7] == pytest.approx(1.0)


def test_the_scatter_floor_pans(qtbot):
    floor = BareScatter(500, (300, 200))
    qtbot.addWidget(floor.widget)
    before = floor.view_box.viewRange()[0]
    floor.pan()
    after = floor.view_box.viewRange()[0]
    assert after[0] == pytest.approx(before[0] - 0.0005)


def test_the_sequence_floor_selects_the_clicked_chip_its_row_and_sets_the_html(qtbot):
    from PySide6.QtCore import QPoint, QRectF, Qt
    from PySide6.QtGui import QColor
    from PySide6.QtTest import QTest

    from bench.floor import BareSequence

    chips = [(f"t{i}", QRectF(40 * i, 0, 36, 20), QColor(255, 0, 0, 20 * i)) for i in range(6)]
    geometry = {
        "tokens": (0, 0, 300, 60),
        "table": (0, 70, 300, 200),
        "formula": (310, 0, 200, 270),
    }
    floor = BareSequence(chips, (260, 40), (6, 4), "<p>loss = 1.5</p>", geometry, (520, 280))
    qtbot.addWidget(floor.window)
    floor.show()
    floor.browser.clear()
    QTest.mouseClick(floor.strip, Qt.MouseButton.LeftButton, pos=QPoint(4 * 40 + 18, 10))
    assert floor.selected == 4
    assert [i.row() for i in floor.table.selectionModel().selectedRows()] == [4]
    assert floor.browser.toPlainText() == "loss = 1.5"
    QTest.mouseClick(floor.strip, Qt.MouseButton.LeftButton, pos=QPoint(250, 35))  # no chip
    assert floor.selected == 4
    assert floor.scroll.geometry().getRect() == (0, 0, 300, 60)
