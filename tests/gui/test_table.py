"""The logits table, driven as a user drives it: type, pick a label, paste, copy."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cell_editing import type_into_cell
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox

from softmax_lab.core import formatting as fmt
from softmax_lab.core.contrast import contrast
from softmax_lab.core.document import Document
from softmax_lab.core.presets import DEFAULT_PRESET
from softmax_lab.gui.controller import Controller
from softmax_lab.gui.table_model import Column, LogitsTableModel
from softmax_lab.gui.table_view import LogitsTableView


@pytest.fixture
def table(qtbot):
    controller = Controller(DEFAULT_PRESET.new_document())
    view = LogitsTableView(controller)
    model = view.table_model()
    doc = controller.document
    view.resize(700, 300)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view, model, doc


def type_into(qtbot, view, index, text):
    type_into_cell(qtbot, view, index, text)


def torch_losses(doc):
    return F.cross_entropy(
        torch.tensor(doc.logits), torch.tensor(doc.labels), reduction="none"
    ).numpy()


def test_columns(table):
    view, model, doc = table
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["class 0", "class 1", "class 2", "label", "pred", "p(true)", "loss", "✓/✗"]
    assert model.rowCount() == 3
    assert model.index(0, 3).data() == "class 2"


def test_typing_a_logit_updates_the_results(qtbot, table):
    view, model, doc = table
    type_into(qtbot, view, model.index(0, 0), "5")
    assert doc.logits[0, 0] == 5.0
    expected = torch_losses(doc)
    loss_col = model.column_of(Column.LOSS)
    assert model.index(0, loss_col).data() == f"{expected[0]:.4f}"
    assert model.index(0, model.column_of(Column.PREDICTION)).data() == "class 0"
    assert model.index(0, model.column_of(Column.MARK)).data() == "✗"


@pytest.mark.parametrize("junk", ["abc", "1,5", "", "1e", "--2"])
def test_junk_is_rejected_and_nothing_changes(qtbot, table, junk):
    view, model, doc = table
    before = doc.snapshot()
    with qtbot.waitSignal(model.controller.sigMessage) as blocker:
        type_into(qtbot, view, model.index(1, 1), junk)
    assert "Not changed" in blocker.args[0]
    np.testing.assert_array_equal(doc.logits, before[0])
    assert not doc.can_undo


def test_inf_and_nan_are_accepted_and_flagged(qtbot, table):
    view, model, doc = table
    type_into(qtbot, view, model.index(0, 1), "-inf")
    assert doc.logits[0, 1] == -np.inf
    assert model.index(0, 1).data() == "−∞"
    type_into(qtbot, view, model.index(2, 0), "nan")
    assert model.index(2, 0).data() == "NaN"
    assert model.index(2, model.column_of(Column.MARK)).data() == "⚠"
    assert model.index(2, model.column_of(Column.LOSS)).data() == "NaN"


def test_label_combo_and_ignore(qtbot, table):
    view, model, doc = table
    index = model.index(0, model.column_of(Column.LABEL))
    view.setCurrentIndex(index)
    view.edit(index)
    combo = view.findChild(QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())][-1] == "ignore"
    combo.setCurrentIndex(0)
    combo.activated.emit(0)
    view.closeEditor(combo, view.itemDelegate().EndEditHint.NoHint)
    assert doc.labels[0] == 0
    assert model.setData(index, "ignore")
    assert doc.labels[0] == -100
    assert model.index(0, model.column_of(Column.MARK)).data() == "—"
    assert not model.setData(index, "no such class")


def test_probability_view_and_tint(table):
    view, model, doc = table
    model.controller.update_view(show_probabilities=True)
    p = torch.softmax(torch.tensor(doc.logits), 1).numpy()
    assert model.index(1, 0).data() == f"{p[1, 0]:.4f}"
    assert not model.flags(model.index(1, 0)) & Qt.ItemFlag.ItemIsEditable
    strong = model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole).color().name()
    weak = model.index(1, 2).data(Qt.ItemDataRole.BackgroundRole).color().name()
    background = model.controller.theme.background
    assert contrast(strong, background) > contrast(weak, background)  # the likelier, deeper


def test_paste_a_printed_tensor_and_undo(qtbot, table):
    view, model, doc = table
    before = doc.snapshot()
    view.setCurrentIndex(model.index(1, 0))
    QGuiApplication.clipboard().setText("tensor([[9., 8., 7.],\n        [6., 5., 4.]])")
    with qtbot.waitSignal(model.controller.sigMessage) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0] == "Pasted 2 x 3"
    np.testing.assert_array_equal(doc.logits[1:], [[9, 8, 7], [6, 5, 4]])
    doc.undo()
    np.testing.assert_array_equal(doc.logits, before[0])


def test_paste_larger_than_the_table_grows_it_and_says_so(qtbot, table):
    view, model, doc = table
    view.setCurrentIndex(model.index(2, 1))
    with qtbot.waitSignal(model.controller.sigMessage) as blocker:
        view.paste("1\t2\t3\n4\t5\t6")
    assert "added 1 sample" in blocker.args[0]
    assert "clipped 1 column" in blocker.args[0]
    assert model.rowCount() == 4


def test_paste_junk_changes_nothing(qtbot, table):
    view, model, doc = table
    before = doc.snapshot()
    view.setCurrentIndex(model.index(0, 0))
    with qtbot.waitSignal(model.controller.sigMessage) as blocker:
        view.paste("1\tbanana")
    assert blocker.args[0].startswith("Not pasted")
    np.testing.assert_array_equal(doc.logits, before[0])


def test_copy_selection_is_exact(qtbot, table):
    view, model, doc = table
    view.selectionModel().select(model.index(0, 0), view.selectionModel().SelectionFlag.Select)
    view.selectionModel().select(model.index(1, 1), view.selectionModel().SelectionFlag.Select)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QGuiApplication.clipboard().text()
    assert text == "0.1\t1.0\n2.0\t1.0"


def test_soft_label_mode_edits_target_rows(qtbot, table):
    view, model, doc = table
    doc.set_settings(target_mode="probability")
    assert model.columnCount() == 3 + 3 + 4
    assert model.headerData(3, Qt.Orientation.Horizontal) == "q(class 0)"
    type_into(qtbot, view, model.index(0, 3), "0.5")
    assert doc.soft_targets[0].tolist() == [0.5, 0.0, 1.0]
    expected = F.cross_entropy(
        torch.tensor(doc.logits), torch.tensor(doc.soft_targets), reduction="none"
    ).numpy()
    assert model.index(0, model.column_of(Column.LOSS)).data() == f"{expected[0]:.4f}"
    with qtbot.waitSignal(model.controller.sigMessage):
        type_into(qtbot, view, model.index(0, 4), "-1")


def test_rename_class_from_the_view(table):
    view, model, doc = table
    model.controller.rename_class(0, "cat")
    assert model.headerData(0, Qt.Orientation.Horizontal) == "cat"
    assert model.index(1, model.column_of(Column.LABEL)).data() == "cat"


def test_large_table_model_is_virtual():
    rng = np.random.default_rng(0)
    doc = Document(rng.normal(size=(100_000, 50)).astype(np.float32), rng.integers(0, 50, 100_000))
    controller = Controller(doc)
    model = LogitsTableModel(controller)
    assert model.rowCount() == 100_000
    assert model.index(99_999, 0).data() == fmt.number(doc.logits[99_999, 0])
    controller.update_view(show_probabilities=True)
    p = doc.evaluation.probabilities_of([99_999])[0]
    assert model.index(99_999, 3).data() == fmt.number(p[3])


@pytest.mark.parametrize("n_classes", [2_048, 2_049, 128_256])
def test_a_vocabulary_beyond_the_limit_gets_no_logit_columns_and_says_so(qtbot, n_classes):
    from softmax_lab.core.constants import TABLE_CLASS_COLUMNS

    rng = np.random.default_rng(1)
    doc = Document(rng.normal(size=(6, n_classes)).astype(np.float32), [0, 1, 2, 3, 4, 5])
    controller = Controller(doc)
    view = LogitsTableView(controller)
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    model = view.table_model()
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    if n_classes <= TABLE_CLASS_COLUMNS:
        assert model.columnCount() == n_classes + 5
        assert model.hidden_classes_note() == ""
        assert headers[0] == "class 0"
        return
    assert headers == ["label", "pred", "p(true)", "loss", "✓/✗"]
    assert model.hidden_classes_note().startswith(f"{n_classes:,} classes: no logit columns")
    losses = torch_losses(doc)
    for row in range(6):
        assert model.index(row, model.column_of(Column.LOSS)).data() == fmt.number(losses[row])
    # the label is typed (a list of 128k names is no way to pick one), by name or id
    label = model.index(2, model.column_of(Column.LABEL))
    assert view.itemDelegateForColumn(label.column()) is not view._label_delegate
    assert model.setData(label, "class 7")
    assert doc.labels[2] == 7
    # showing probabilities, restyling and sorting by a result column all work without columns
    controller.update_view(show_probabilities=True)
    model.sort(model.column_of(Column.LOSS), Qt.SortOrder.DescendingOrder)
    assert model.sample_at(0) == int(np.argmax(torch_losses(doc)))


def test_the_window_says_why_there_are_no_logit_columns(qtbot):
    from softmax_lab.gui import MainWindow

    rng = np.random.default_rng(2)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.document.replace_all(rng.normal(size=(4, 5_000)), [0, 1, 2, 3])
    assert w.filter_note.text() == "5,000 classes: no logit columns"
    assert "the plots show each row's top 30" in w.filter_note.toolTip()
    w.controller.undo()
    assert w.filter_note.text() == ""
