"""The table after a sort or filter choice and after edits, as a user sees it: the rows chosen
come into view, and an edit that breaks the order says so, with one click to re-apply it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cell_editing import type_into_cell
from PySide6.QtCore import Qt
from windows import shown_window

from softmax_lab.core.document import Document
from softmax_lab.gui.table_model import Column


def make_window(qtbot, logits, labels):
    w = shown_window(qtbot, Document(logits, labels, [f"c{i}" for i in range(logits.shape[1])]))
    return w


@pytest.fixture
def long_window(qtbot):
    rng = np.random.default_rng(5)
    w = make_window(qtbot, rng.normal(0, 2, (80, 3)).astype(np.float32), rng.integers(0, 3, 80))
    yield w
    w.document.mark_clean()


def choose(qtbot, combo, text):
    """Pick ``text`` in a combo box as a user does: open its list, click the entry."""
    index = combo.findText(text)
    assert index >= 0, [combo.itemText(i) for i in range(combo.count())]
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    rect = view.visualRect(view.model().index(index, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible())


def rows_in_view(table):
    top = table.rowAt(0)
    bottom = table.rowAt(table.viewport().height() - 1)
    return range(top, (table.model().rowCount() - 1 if bottom < 0 else bottom) + 1)


def click_row(qtbot, table, row, column=0):
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_sort_chosen_while_scrolled_down_shows_the_worst_rows(qtbot, long_window):
    w, table = long_window, long_window.table
    click_row(qtbot, table, 1)  # sample 1 selected, then the table scrolled to its end
    assert w.controller.selected == 1
    table.verticalScrollBar().setValue(table.verticalScrollBar().maximum())
    assert 1 not in rows_in_view(table)
    choose(qtbot, w.sort_combo, "loss, highest first")
    assert table.verticalScrollBar().value() == 0
    assert 0 in rows_in_view(table)
    worst = int(np.nanargmax(w.document.evaluation.losses))
    assert w.table_model.sample_at(0) == worst
    assert w.controller.selected == 1  # the selection is kept, not scrolled to


def test_a_sort_keeps_the_selected_row_in_view_when_it_was(qtbot, long_window):
    w, table = long_window, long_window.table
    losses = w.document.evaluation.losses
    # A sample that sorts near the end: after the sort it is far from the top.
    sample = int(np.argsort(-losses, kind="stable")[70])
    table.scrollTo(w.table_model.index(sample, 0))
    click_row(qtbot, table, sample)
    assert w.controller.selected == sample
    choose(qtbot, w.sort_combo, "loss, highest first")
    row = w.table_model.row_of(sample)
    assert row == 70
    assert row in rows_in_view(table)
    assert table.currentIndex().row() == row
    choose(qtbot, w.filter_combo, "wrong predictions")
    row = w.table_model.row_of(sample)
    if row is not None:  # still shown: still in view
        assert row in rows_in_view(table)


@pytest.fixture
def twelve(qtbot):
    """12 samples × 4 classes, 11 of them predicted wrong."""
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1, (12, 4)).astype(np.float32)
    labels = (logits.argmax(1) + 1) % 4
    labels[0] = logits[0].argmax()
    w = make_window(qtbot, logits, labels)
    yield w
    w.document.mark_clean()


def torch_losses(w):
    doc = w.document
    return F.cross_entropy(
        torch.tensor(doc.logits), torch.tensor(doc.labels), reduction="none"
    ).numpy()


def test_an_edit_that_breaks_the_filter_and_sort_says_so_and_one_click_reapplies(qtbot, twelve):
    w, model = twelve, twelve.table_model
    choose(qtbot, w.filter_combo, "wrong predictions")
    choose(qtbot, w.sort_combo, "loss, highest first")
    assert w.filter_note.text() == "11 of 12"
    assert not w.order_bar.reapply_button.isVisible()
    row = 8  # the 9th among the wrong rows: make it right with a large logit for its label
    sample = model.sample_at(row)
    label = int(w.document.labels[sample])
    type_into_cell(qtbot, w.table, model.index(row, model.column_of(Column.CLASS, label)), "20")
    # The row stays under the cursor, selected; the note says the order no longer holds.
    assert model.sample_at(row) == sample
    assert w.controller.selected == sample
    qtbot.waitUntil(w.order_bar.reapply_button.isVisible)
    assert w.filter_note.text() == "11 of 12 · stale after edits"
    qtbot.mouseClick(w.order_bar.reapply_button, Qt.MouseButton.LeftButton)
    assert w.filter_note.text() == "10 of 12"
    assert not w.order_bar.reapply_button.isVisible()
    shown = [model.sample_at(r) for r in range(model.rowCount())]
    assert sample not in shown
    losses = torch_losses(w)
    assert np.all(np.diff(losses[shown]) <= 1e-6)
    assert all(w.document.evaluation.predictions[s] != w.document.labels[s] for s in shown)


def test_an_edit_that_moves_a_row_in_the_sort_is_reapplied_in_view(qtbot, twelve):
    w, model, table = twelve, twelve.table_model, twelve.table
    choose(qtbot, w.sort_combo, "loss, highest first")
    assert w.filter_note.text() == ""
    sample = model.sample_at(0)  # the worst: make it the best
    label = int(w.document.labels[sample])
    type_into_cell(qtbot, table, model.index(0, model.column_of(Column.CLASS, label)), "30")
    qtbot.waitUntil(w.order_bar.reapply_button.isVisible)
    assert w.filter_note.text() == "stale after edits"
    assert model.sample_at(0) == sample
    qtbot.mouseClick(w.order_bar.reapply_button, Qt.MouseButton.LeftButton)
    order = [model.sample_at(r) for r in range(model.rowCount())]
    assert order == list(np.argsort(-torch_losses(w), kind="stable"))
    assert order[-1] == sample
    assert table.currentIndex().row() == 11  # the edited row: selected, in view
    assert 11 in rows_in_view(table)
    # An edit that keeps the order marks nothing.
    type_into_cell(qtbot, table, model.index(11, model.column_of(Column.CLASS, label)), "31")
    qtbot.waitUntil(lambda: not w.order_bar._stale_timer.isActive())  # the check after the edit ran
    assert not w.order_bar.reapply_button.isVisible()
