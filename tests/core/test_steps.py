"""core.steps: an edit made into a command on any holder of a table — redo applies it, undo
restores the exact old arrays, folded steps undo to before the first and redo to the last."""

from types import SimpleNamespace

import numpy as np

from softmax_lab.core import edits, steps
from softmax_lab.core.table import new_state


def holder(n=3, c=3):
    rng = np.random.default_rng(1)
    return SimpleNamespace(table=new_state(rng.normal(size=(n, c)), rng.integers(0, c, n)))


def test_a_swap_undoes_to_the_very_same_table_and_folds_only_its_fields():
    h = holder()
    start = h.table
    first = steps.swap_command(h, edits.replace_logits(start, np.ones((3, 3)), text="1"), "k")
    first.redo()
    later = steps.swap_command(
        h, edits.replace_logits(h.table, np.zeros((3, 3)), text="2", source="s"), "k"
    )
    later.redo()
    assert first.merge(later)
    first.undo()
    assert h.table is start
    first.redo()
    np.testing.assert_array_equal(h.table.logits, np.zeros((3, 3)))
    assert h.table.source == "s"
    assert h.table.labels is start.labels


def test_a_cell_write_folds_a_drag_and_restores_the_first_before():
    h = holder()
    original = h.table.logits.copy()
    moves = [
        steps.cells_command(h, edits.logit_cells(h.table, [0], [1], x), "drag") for x in (1, 2, 3)
    ]
    moves[0].redo()
    for later in moves[1:]:
        later.redo()
        assert moves[0].merge(later)
    assert h.table.logits[0, 1] == 3
    moves[0].undo()
    np.testing.assert_array_equal(h.table.logits, original)
    moves[0].redo()
    assert h.table.logits[0, 1] == 3
    assert moves[0].rows.tolist() == [0]


def test_a_label_write_sets_and_restores_has_labels():
    h = holder()
    h.table = new_state(h.table.logits, h.table.labels, has_labels=False)
    command = steps.cells_command(h, edits.label_cells(h.table, [2], 0))
    command.redo()
    assert h.table.has_labels
    assert h.table.labels[2] == 0
    command.undo()
    assert not h.table.has_labels


def test_entering_probability_mode_is_never_folded():
    h = holder()
    command = steps.fields_command(h, edits.settings(h.table, target_mode="probability"), "k")
    assert command.merge is None
    command.redo()
    assert h.table.soft_targets.shape == (3, 3)
    command.undo()
    assert h.table.soft_targets is None
    assert h.table.settings.target_mode == "index"


def test_a_read_only_array_is_copied_once_before_a_write():
    h = holder()
    frozen = h.table.logits
    frozen.flags.writeable = False
    steps.ensure_writable(h, "logits")
    copy = h.table.logits
    assert copy is not frozen
    assert copy.flags.writeable
    np.testing.assert_array_equal(copy, frozen)
    steps.ensure_writable(h, "logits")
    assert h.table.logits is copy
