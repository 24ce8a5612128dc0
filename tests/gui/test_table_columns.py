"""Table columns as a user sees them: the last column is whole when scrolled fully right, and
the probability and loss columns keep their width while T plays (no jumps)."""

import numpy as np
import pytest
from cell_editing import type_into_cell
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractSlider, QApplication

from softmax_lab.core.document import Document
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column
from softmax_lab.gui.table_view import CELL_PADDING


def make(qtbot, document, size=(1280, 800)):
    w = MainWindow(document)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()  # the window's shortcuts answer once it is the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    return w


@pytest.fixture
def twelve(qtbot):
    """A 12 × 4 file whose last class has tiny probabilities (3.4e−05 and the like)."""
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, (12, 4)).astype(np.float32)
    logits[:, 3] -= 8
    w = make(qtbot, Document(logits, rng.integers(0, 4, 12), [f"class {i}" for i in range(4)]))
    yield w
    w.controller.temperature.set_playing(False)
    w.document.mark_clean()


def settle(qtbot, table):
    """What a user's next move finds: the columns fitted, the scroll range laid out."""
    QApplication.processEvents()
    qtbot.waitUntil(lambda: not table._fit_timer.isActive())
    QApplication.processEvents()


def last_column_whole(table):
    header = table.horizontalHeader()
    last = header.logicalIndex(header.count() - 1)
    right = table.columnViewportPosition(last) + table.columnWidth(last)
    metrics = QFontMetrics(table.font())
    texts = [str(table.model().index(r, last).data()) for r in range(table.model().rowCount())]
    need = max(metrics.horizontalAdvance(t) for t in texts) + CELL_PADDING - 4
    return right <= table.viewport().width() and need <= table.columnWidth(last)


def scroll_fully_right(qtbot, table):
    bar = table.horizontalScrollBar()
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)  # the user drags it right
    settle(qtbot, table)
    return bar


@pytest.mark.parametrize("size", [(1280, 800), (1024, 640)])
def test_the_last_column_is_whole_when_scrolled_fully_right(qtbot, size):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, (12, 4)).astype(np.float32)
    logits[:, 3] -= 8
    w = make(qtbot, Document(logits, rng.integers(0, 4, 12)), size)
    table = w.table
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)  # probabilities
    assert w.controller.view.show_probabilities
    settle(qtbot, table)
    bar = scroll_fully_right(qtbot, table)
    assert bar.value() == bar.maximum() > 0
    assert last_column_whole(table)
    assert table.elided_cells() == []
    w.document.mark_clean()


def test_a_wider_number_typed_in_the_last_column_stays_whole(qtbot, twelve):
    table, model = twelve.table, twelve.table_model
    bar = scroll_fully_right(qtbot, table)
    header = table.horizontalHeader()
    last = header.logicalIndex(header.count() - 1)
    assert model.column_kind(last)[0] is Column.CLASS
    type_into_cell(qtbot, table, model.index(2, last), "-12345.5")
    settle(qtbot, table)
    assert model.index(2, last).data() == "−12345.5000"
    assert bar.value() == bar.maximum()
    assert last_column_whole(table)


def test_probability_and_loss_columns_hold_their_width_while_t_plays(qtbot, twelve):
    w, table, model = twelve, twelve.table, twelve.table_model
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, table)
    columns = [model.column_of(Column.P_TRUE), model.column_of(Column.LOSS)]
    columns += [model.column_of(Column.CLASS, k) for k in range(4)]
    widths = []
    w.controller.sigDataChanged.connect(
        lambda *_: widths.append(tuple(table.columnWidth(c) for c in columns))
    )
    qtbot.keyClick(w, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)  # play T
    first = tuple(table.columnWidth(c) for c in columns)  # sized once, as it starts
    qtbot.waitUntil(lambda: w.document.settings.temperature > 5, timeout=20000)
    qtbot.keyClick(w, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, table)
    widths.append(tuple(table.columnWidth(c) for c in columns))
    assert len(widths) > 20
    assert set(widths) == {first}  # not one jump from the first frame to the last
    # …wide enough for the widest text the format gives (a float32 probability: 8.888e−45).
    metrics = QFontMetrics(table.font())
    assert table.columnWidth(columns[0]) >= metrics.horizontalAdvance("8.888e−45")
    assert table.columnWidth(columns[1]) >= metrics.horizontalAdvance("888.8888")
