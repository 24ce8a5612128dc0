"""The document: every edit undoable, bad edits rejected with the state untouched."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core import evaluate
from softmax_lab.core.document import Change, Document, Settings
from softmax_lab.core.presets import PRESETS, preset_by_name


def make(n=3, c=3):
    rng = np.random.default_rng(0)
    return Document(rng.normal(size=(n, c)), rng.integers(0, c, n))


def assert_same_state(a, b):
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


def assert_evaluation_current(doc):
    expected = evaluate(doc.logits, doc.target(), **doc.settings.evaluate_kwargs())
    np.testing.assert_allclose(doc.evaluation.losses, expected.losses, rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(doc.evaluation.predictions, expected.predictions)


class TestEdits:
    def test_cell_edit_recomputes_and_notifies(self):
        doc = make()
        seen = []
        doc.subscribe(seen.append)
        doc.set_logits([1], [2], 5.0)
        assert doc.logits[1, 2] == 5.0
        assert seen == [Change.LOGITS]
        assert_evaluation_current(doc)

    def test_undo_redo_restore_exactly(self):
        doc = make()
        start = doc.snapshot()
        doc.set_logits([0, 1], [0, 1], [[9, 8], [7, 6]])
        edited = doc.snapshot()
        doc.undo()
        assert_same_state(doc.snapshot(), start)
        assert_evaluation_current(doc)
        doc.redo()
        assert_same_state(doc.snapshot(), edited)
        assert doc.undo_text == "Edit logits"

    def test_non_finite_logits_are_data(self):
        doc = make()
        doc.set_logits([0], [0], np.nan)
        doc.set_logits([1], [1], -np.inf)
        assert not doc.evaluation.finite[0]
        assert doc.evaluation.finite[1]

    def test_bad_label_is_rejected_and_nothing_changes(self):
        doc = make()
        start = doc.snapshot()
        with pytest.raises(ValueError, match="out of range"):
            doc.set_labels([0], [7])
        assert_same_state(doc.snapshot(), start)
        assert not doc.can_undo

    def test_bad_settings_are_rejected(self):
        doc = make()
        start = doc.snapshot()
        for bad in (
            {"temperature": 0},
            {"label_smoothing": 2},
            {"weight": [1, -1, 1]},
            {"weight": [1, 1]},
            {"reduction": "avg"},
            {"target_mode": "x"},
            {"nonsense": 1},
        ):
            with pytest.raises(ValueError):
                doc.set_settings(**bad)
        assert_same_state(doc.snapshot(), start)

    def test_drag_merges_into_one_undo_step(self):
        doc = make()
        start = doc.snapshot()
        for value in (1.0, 2.0, 3.0):
            doc.set_logits([0], [1], value, merge_key=("drag", 1))
        doc.end_merge()
        doc.set_logits([0], [1], 4.0, merge_key=("drag", 1))
        doc.undo()
        assert doc.logits[0, 1] == 3.0
        doc.undo()
        assert_same_state(doc.snapshot(), start)
        assert not doc.can_undo

    def test_soft_mode_starts_from_one_hot_labels(self):
        doc = Document([[2.0, 1.0, 0.1]], [0])
        doc.set_settings(target_mode="probability")
        np.testing.assert_array_equal(doc.soft_targets, [[1, 0, 0]])
        assert doc.evaluation.loss == pytest.approx(0.4170, abs=5e-5)
        doc.set_soft_targets([0], [0, 1], [[0.5, 0.5]])
        expected = evaluate([[2.0, 1.0, 0.1]], [[0.5, 0.5, 0.0]])
        assert doc.evaluation.loss == pytest.approx(expected.loss)
        with pytest.raises(ValueError):
            doc.set_soft_targets([0], [0], -1)

    def test_modified_flag(self):
        doc = make()
        assert not doc.is_modified
        doc.set_logits([0], [0], 1.0)
        assert doc.is_modified
        doc.mark_clean()
        assert not doc.is_modified
        doc.undo()
        assert doc.is_modified


class TestStructure:
    def test_add_remove_duplicate_samples(self):
        doc = make()
        start = doc.snapshot()
        doc.insert_samples(1, [[1.0, 2.0, 3.0]], [2])
        assert doc.n_samples == 4
        assert doc.labels[1] == 2
        doc.duplicate_samples([0])
        np.testing.assert_array_equal(doc.logits[1], doc.logits[0])
        doc.remove_samples([0, 2])
        assert doc.n_samples == 3
        assert_evaluation_current(doc)
        for _ in range(3):
            doc.undo()
        assert_same_state(doc.snapshot(), start)

    def test_cannot_remove_every_sample_or_class(self):
        doc = make()
        with pytest.raises(ValueError, match="at least one sample"):
            doc.remove_samples([0, 1, 2])
        with pytest.raises(ValueError, match="at least one class"):
            doc.remove_classes([0, 1, 2])

    def test_removing_a_class_remaps_labels_and_weights(self):
        doc = Document(np.zeros((3, 3)), [0, 1, 2], ["a", "b", "c"])
        doc.set_settings(weight=[1.0, 2.0, 3.0])
        start = doc.snapshot()
        doc.remove_classes([1])
        assert doc.class_names == ["a", "c"]
        assert doc.labels.tolist() == [0, -100, 1]
        assert doc.settings.weight == (1.0, 3.0)
        assert_evaluation_current(doc)
        doc.undo()
        assert_same_state(doc.snapshot(), start)

    def test_adding_a_class_shifts_labels(self):
        doc = Document(np.zeros((3, 3)), [0, 1, -100], ["a", "b", "c"])
        doc.insert_class(1, "new", 5.0)
        assert doc.class_names == ["a", "new", "b", "c"]
        assert doc.labels.tolist() == [0, 2, -100]
        assert (doc.logits[:, 1] == 5.0).all()
        doc.duplicate_class(0)
        assert doc.class_names[1] == "a copy"
        with pytest.raises(ValueError, match="already"):
            doc.insert_class(0, "a")

    def test_rename(self):
        doc = Document(np.zeros((1, 2)), [0], ["a", "b"])
        doc.rename_class(0, "cat")
        assert doc.class_names == ["cat", "b"]
        with pytest.raises(ValueError):
            doc.rename_class(1, "cat")
        with pytest.raises(ValueError):
            doc.rename_class(1, "  ")
        doc.undo()
        assert doc.class_names == ["a", "b"]


def test_large_table_edit_recomputes_only_the_row():
    rng = np.random.default_rng(0)
    doc = Document(rng.normal(size=(2000, 50)).astype(np.float32), rng.integers(0, 50, 2000))
    doc.set_logits([7], [3], 40.0)
    assert doc.evaluation.predictions[7] == 3
    assert_evaluation_current(doc)
    doc.undo()
    assert_evaluation_current(doc)


def test_memory_mapped_logits_are_copied_on_first_edit(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 3), dtype=np.float32))
    mm = np.load(path, mmap_mode="r")
    doc = Document(mm, [0, 1, 2, 0])
    assert np.shares_memory(doc.logits, mm)
    assert not doc.logits.flags.writeable
    doc.set_logits([0], [0], 3.0)
    assert not np.shares_memory(doc.logits, mm)
    assert doc.logits[0, 0] == 3.0
    assert mm[0, 0] == 0.0


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_every_preset_loads_and_undoes(preset):
    doc = make()
    start = doc.snapshot()
    preset.apply(doc)
    assert doc.n_samples == len(preset.logits)
    assert_evaluation_current(doc)
    doc.undo()
    assert_same_state(doc.snapshot(), start)


@pytest.mark.parametrize(
    ("name", "loss"),
    [
        ("Batch, good predictions", 0.3018),
        ("Batch, bad predictions", 1.6242),
        ("Single sample, good", 0.4170),
        ("Single sample, bad", 1.8406),
        ("One-hot target, good probabilities", 0.3567),
        ("One-hot target, bad probabilities", 2.3026),
        ("Uniform", round(math.log(5), 4)),
    ],
)
def test_presets_reproduce_the_notebook(name, loss):
    doc = preset_by_name(name).new_document()
    assert round(doc.evaluation.loss, 4) == loss


ACTIONS = st.sampled_from(
    [
        "cell",
        "label",
        "add_row",
        "remove_row",
        "add_class",
        "remove_class",
        "setting",
        "undo",
        "redo",
        "bad_label",
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(ACTIONS, st.integers(0, 1000), st.floats(-50, 50)), max_size=40))
def test_random_edit_sequences_undo_to_the_start(steps):
    doc = make(4, 3)
    start = doc.snapshot()
    for action, k, x in steps:
        n, c = doc.n_samples, doc.n_classes
        try:
            if action == "cell":
                doc.set_logits([k % n], [k % c], x)
            elif action == "label":
                doc.set_labels([k % n], k % c)
            elif action == "add_row":
                doc.insert_samples(k % (n + 1), [[x] * c], [k % c])
            elif action == "remove_row":
                doc.remove_samples([k % n])
            elif action == "add_class":
                doc.insert_class(k % (c + 1), None, x)
            elif action == "remove_class":
                doc.remove_classes([k % c])
            elif action == "setting":
                doc.set_settings(temperature=0.1 + abs(x), label_smoothing=(k % 10) / 10)
            elif action == "undo":
                doc.undo()
            elif action == "redo":
                doc.redo()
            elif action == "bad_label":
                doc.set_labels([k % n], c + 3)
        except ValueError:
            pass
        assert_evaluation_current(doc)
    while doc.can_undo:
        doc.undo()
    assert_same_state(doc.snapshot(), start)
    assert_evaluation_current(doc)


def test_settings_reach_evaluate():
    doc = make()
    doc.set_settings(temperature=2.0, reduction="sum", label_smoothing=0.1, weight=[1, 2, 3])
    assert doc.settings == Settings(
        temperature=2.0, reduction="sum", label_smoothing=0.1, weight=(1.0, 2.0, 3.0)
    )
    assert doc.evaluation.options.reduction == "sum"
    assert_evaluation_current(doc)


class TestPaste:
    def test_paste_inside_the_table_is_one_step(self):
        doc = make()
        start = doc.snapshot()
        message = doc.paste_logits(1, 1, [[1, 2], [3, 4]])
        assert message == "pasted 2 x 2"
        np.testing.assert_array_equal(doc.logits[1:, 1:], [[1, 2], [3, 4]])
        doc.undo()
        assert_same_state(doc.snapshot(), start)

    def test_paste_grows_rows_and_clips_columns(self):
        doc = make()
        start = doc.snapshot()
        message = doc.paste_logits(2, 1, np.arange(12.0).reshape(3, 4))
        assert doc.n_samples == 5
        assert "added 2 samples" in message
        assert "clipped 2 columns" in message
        np.testing.assert_array_equal(doc.logits[2:, 1:], [[0, 1], [4, 5], [8, 9]])
        assert_evaluation_current(doc)
        doc.undo()
        assert_same_state(doc.snapshot(), start)


def test_slider_drag_of_settings_is_one_undo_step():
    doc = make()
    for t in (0.5, 0.7, 0.9):
        doc.set_settings(temperature=t, merge_key="temperature")
    assert doc.settings.temperature == 0.9
    doc.undo()
    assert doc.settings.temperature == 1.0
    assert not doc.can_undo


def test_index_mode_keeps_no_soft_target_table():
    # A 50,000 x 1,000 one-hot in float64 would be 400 MB that nothing reads.
    doc = make(5, 4)
    assert doc.soft_targets is None
    doc.insert_samples(0, [[1.0] * 4], [1])
    doc.remove_classes([0])
    assert doc.soft_targets is None
    doc.set_settings(target_mode="probability")
    assert doc.soft_targets.shape == (6, 3)
    with pytest.raises(ValueError, match="probabilities first"):
        make().set_soft_targets([0], [0], 1.0)


def test_undo_and_redo_hand_back_the_context_of_the_step():
    doc = Document([[1.0, 2.0], [3.0, 4.0]], [0, 1])
    where = {"selected": 0}
    doc.context_provider = lambda: dict(where)
    seen = []
    doc.subscribe(lambda change: seen.append(doc.restored_context))
    where["selected"] = 1
    doc.set_logits([1], [0], 9.0)
    where["selected"] = 0
    doc.set_labels([0], 1)
    assert seen == [None, None]  # a new edit restores nothing
    doc.undo()
    doc.undo()
    doc.redo()
    assert seen[2:] == [{"selected": 0}, {"selected": 1}, {"selected": 1}]
    assert doc.restored_context is None  # only while listeners run


def test_a_merged_drag_keeps_the_context_of_its_first_move():
    doc = Document([[1.0, 2.0]], [0])
    where = {"n": 0}
    doc.context_provider = lambda: where["n"]
    for n in range(3):
        where["n"] = n
        doc.set_logits([0], [0], float(n), merge_key="drag")
    contexts = []
    doc.subscribe(lambda change: contexts.append(doc.restored_context))
    doc.undo()
    assert contexts == [0]
    assert not doc.can_undo


def test_a_rename_reuses_the_evaluation():
    doc = Document([[1.0, 2.0]], [0])
    before = doc.evaluation
    doc.rename_class(0, "cat")
    assert doc.evaluation is before
    doc.undo()
    assert doc.evaluation is before
    assert doc.class_names[0] == "class 0"


def test_model_b_follows_every_structural_edit_and_undo():
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    doc = Document(a, [0, 1, 2, 0, 1])
    start = doc.snapshot()
    doc.attach_model_b(b, ("baseline", "new"))
    assert doc.model_names == ("baseline", "new")
    expected = F.cross_entropy(torch.tensor(b), torch.tensor(doc.labels), reduction="none")
    np.testing.assert_allclose(doc.evaluation_b.losses, expected.numpy(), rtol=1e-6)
    before_a = doc.evaluation
    doc.set_logits([1], [2], 9.0, model="b")
    assert doc.evaluation is before_a  # A is not recomputed for an edit of B
    assert doc.logits_b[1, 2] == 9.0
    doc.duplicate_samples([1])
    np.testing.assert_array_equal(doc.logits_b[2], doc.logits_b[1])
    doc.remove_classes([0])
    assert doc.logits_b.shape == (6, 2)
    doc.set_settings(temperature=2.0)
    expected = F.cross_entropy(
        torch.tensor(doc.logits_b) / 2.0,
        torch.tensor(doc.labels),
        reduction="none",
        ignore_index=doc.settings.ignore_index,
    )
    np.testing.assert_allclose(doc.evaluation_b.losses, expected.numpy(), rtol=1e-6)
    while doc.can_undo:
        doc.undo()
    for x, y in zip(doc.snapshot(), start, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y
    assert doc.evaluation_b is None


def test_model_b_must_match_the_table():
    doc = Document(np.zeros((4, 3)), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="model B has 5 samples, model A 4"):
        doc.attach_model_b(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="model B has 10 classes, model A 3"):
        doc.attach_model_b(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="no model B"):
        doc.set_logits([0], [0], 1.0, model="b")
    assert not doc.can_undo


def test_files_without_labels_start_using_labels_when_given():
    doc = Document(np.zeros((3, 2)), [-100, -100, -100], has_labels=False)
    assert not doc.has_labels
    doc.attach_labels([1, 0, 1])
    assert doc.has_labels
    assert doc.labels.tolist() == [1, 0, 1]
    assert doc.undo_text == "Attach labels"
    doc.undo()
    assert not doc.has_labels
    doc.set_labels([0], 1)
    assert doc.has_labels
    doc.undo()
    assert not doc.has_labels
    with pytest.raises(ValueError, match="got 2 labels for 3 samples"):
        doc.attach_labels([1, 0])


def test_labels_from_a_read_only_file_can_still_be_edited():
    labels = np.array([0, 1, 0])
    labels.flags.writeable = False
    doc = Document(np.zeros((3, 2)), labels)
    doc.set_labels([2], 1)
    assert doc.labels.tolist() == [0, 1, 1]
    doc.undo()
    assert doc.labels.tolist() == [0, 1, 0]


def test_a_precomputed_evaluation_of_b_is_used_only_while_it_matches():
    import torch.nn.functional as F

    from softmax_lab.core.compare import evaluate_like

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    doc = Document(a, rng.integers(0, 3, 8))
    ready = evaluate_like(doc.evaluation, b)
    doc.attach_model_b(b, ("old", "new"), evaluation_b=ready)
    assert doc.evaluation_b is ready  # not computed again
    doc.undo()
    assert doc.evaluation_b is None
    doc.redo()
    np.testing.assert_array_equal(doc.evaluation_b.losses, ready.losses)
    doc.detach_model_b()
    # Stale: the labels or the options changed while B was being evaluated.
    doc.set_labels([0], [(doc.labels[0] + 1) % 3])
    doc.attach_model_b(b, evaluation_b=ready)
    assert doc.evaluation_b is not ready
    expected = F.cross_entropy(torch.tensor(b), torch.tensor(doc.labels), reduction="none")
    np.testing.assert_allclose(doc.evaluation_b.losses, expected.numpy(), rtol=1e-6)
    doc.detach_model_b()
    stale = evaluate_like(doc.evaluation, b)
    doc.set_settings(temperature=3.0)
    doc.attach_model_b(b, evaluation_b=stale)
    assert doc.evaluation_b is not stale
    expected = F.cross_entropy(torch.tensor(b) / 3.0, torch.tensor(doc.labels), reduction="none")
    np.testing.assert_allclose(doc.evaluation_b.losses, expected.numpy(), rtol=1e-6)


# --- whole-table logits swaps (a recorded run's steps) -----------------------------------------


def test_replacing_the_logits_keeps_the_rest_and_undoes_to_the_exact_arrays():
    doc = make(4, 3)
    doc.rename_class(0, "cat")
    doc.set_labels([1], 2)
    before = doc.snapshot()
    old = doc.logits
    new = np.arange(12, dtype=np.float32).reshape(4, 3)
    new.flags.writeable = False  # a memory map of a step file is read-only
    seen = []
    doc.subscribe(seen.append)
    doc.replace_logits(new, text="Go to step 3", source="step 3")
    assert seen == [Change.LOGITS]
    assert doc.logits is new  # kept by reference: a memory map stays one
    assert doc.source == "step 3"
    assert doc.class_names[0] == "cat"
    assert doc.labels[1] == 2
    assert_evaluation_current(doc)
    doc.undo()
    assert doc.logits is old
    assert doc.source is None
    assert_same_state(doc.snapshot(), before)
    assert_evaluation_current(doc)
    doc.redo()
    assert doc.logits is new
    assert doc.source == "step 3"


def test_swaps_with_one_merge_key_are_one_undo_step():
    doc = make(2, 2)
    start = doc.logits
    for k in range(5):
        doc.replace_logits(np.full((2, 2), float(k)), text="Play", source=k, merge_key="steps")
    assert doc.source == 4
    assert doc.logits[0, 0] == 4.0
    assert doc.undo_text == "Play"
    doc.undo()
    assert doc.logits is start
    assert doc.source is None
    assert not doc.can_undo
    doc.redo()
    assert doc.source == 4
    assert doc.logits[0, 0] == 4.0
    # Another edit in between ends the merge: two steps.
    doc.set_logits([0], [0], 9.0)
    doc.replace_logits(np.zeros((2, 2)), text="Step", source=7, merge_key="steps")
    doc.undo()
    assert doc.source == 4
    assert doc.logits[0, 0] == 9.0


def test_an_edit_after_a_swap_edits_the_new_table_only():
    doc = make(2, 2)
    a = np.zeros((2, 2))
    b = np.ones((2, 2))
    doc.replace_logits(a, text="A", source="a")
    doc.set_logits([0], [1], 5.0)
    doc.replace_logits(b, text="B", source="b")
    assert a[0, 1] == 5.0
    assert b[0, 1] == 1.0
    doc.undo()  # back to a, edited
    assert doc.logits is a
    assert doc.logits[0, 1] == 5.0
    doc.undo()  # the edit
    assert a[0, 1] == 0.0
    assert doc.source == "a"


@pytest.mark.parametrize(
    ("logits", "message"),
    [
        (np.zeros((3, 3)), "the table is 4 x 3"),
        (np.zeros((4, 2)), "the table is 4 x 3"),
        (np.array([["a", "b", "c"]] * 4), "must be numbers"),
        (np.zeros((0, 3)), "non-empty"),
    ],
)
def test_a_swap_of_the_wrong_shape_is_refused_and_changes_nothing(logits, message):
    doc = make(4, 3)
    before = doc.snapshot()
    with pytest.raises(ValueError, match=message):
        doc.replace_logits(logits, text="Bad", source="x")
    assert_same_state(doc.snapshot(), before)
    assert doc.source is None
    assert not doc.can_undo


def test_the_source_travels_with_whole_table_replacements_and_structure_edits():
    doc = make(3, 3)
    doc.replace_all(np.zeros((2, 2)), [0, 1], ["a", "b"], source="run step 5", text="Open run")
    assert doc.source == "run step 5"
    doc.insert_samples(0, np.zeros((1, 2)))
    assert doc.source == "run step 5"
    doc.replace_all(np.zeros((2, 2)), [0, 1], ["a", "b"], text="Open file")
    assert doc.source is None
    doc.undo()
    doc.undo()
    assert doc.source == "run step 5"
    assert doc.n_samples == 2


def test_set_class_names_is_one_undo_step_and_recomputes_nothing():
    doc = Document([[1.0, 2.0, 0.5], [0.0, 0.0, 1.0]], [0, 2])
    before = doc.evaluation
    doc.set_class_names(["␣the", "cat", "↵"], text="Tokenizer tok.json")
    assert doc.class_names == ["␣the", "cat", "↵"]
    assert doc.evaluation is before
    assert doc.undo_text == "Tokenizer tok.json"
    doc.undo()
    assert doc.class_names == ["class 0", "class 1", "class 2"]
    doc.redo()
    assert doc.class_names[1] == "cat"
    for bad, message in ((["a", "b"], "2 names for 3"), (["a", "a", "b"], "unique")):
        with pytest.raises(ValueError, match=message):
            doc.set_class_names(bad)
    assert doc.class_names == ["␣the", "cat", "↵"]


def test_settings_with_an_evaluation_computed_elsewhere_use_it():
    from softmax_lab.core.evaluating import evaluate

    logits, labels = [[1.0, 2.0, 0.5], [0.0, 0.0, 1.0]], [0, 2]
    doc = Document(logits, labels)
    ready = evaluate(logits, labels, temperature=0.5)
    doc.set_settings(merge_key="drag", evaluation=ready, temperature=0.5)
    assert doc.evaluation is ready
    doc.set_settings(
        merge_key="drag", evaluation=evaluate(logits, labels, temperature=0.25), temperature=0.25
    )
    doc.undo()  # the drag was one step
    assert doc.settings.temperature == 1.0
    assert doc.evaluation.loss == pytest.approx(float(evaluate(logits, labels).loss))


def test_replacements_with_one_merge_key_are_one_step_that_undoes_to_before_the_first():
    doc = make()
    start = doc.logits.copy()
    burst = object()
    rng = np.random.default_rng(5)
    tables = [rng.normal(size=(n, 4)) for n in (3, 5, 2)]
    for table in tables:
        doc.replace_all(table, [0] * len(table), list("abcd"), text="Data", merge_key=burst)
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(tables[-1]), torch.zeros(2, dtype=torch.long)
    )
    assert doc.evaluation.loss == pytest.approx(float(expected))
    doc.undo()
    np.testing.assert_array_equal(doc.logits, start)
    assert not doc.can_undo
    doc.redo()
    np.testing.assert_array_equal(doc.logits, tables[-1])  # redo gives the last, not the first
    doc.replace_all(tables[0], [0, 0, 0], list("abcd"), text="Data", merge_key=object())
    doc.replace_all(tables[1], [0] * 5, list("abcd"), text="Data")  # no key: a step of its own
    steps = 0
    while doc.can_undo:
        doc.undo()
        steps += 1
    assert steps == 3


def test_a_cell_edit_redone_over_a_memory_mapped_table_copies_it_again(tmp_path):
    """Undo past a swap brings back the table holding the read-only memory map; redoing the
    cell edit then copies it again instead of raising (the history stays consistent)."""
    path = tmp_path / "step.npy"
    np.save(path, np.zeros((3, 3)))
    doc = Document(np.ones((3, 3)))
    doc.replace_logits(np.load(path, mmap_mode="r"), text="run step")
    doc.set_logits([0], [0], 5.0)
    doc.undo()
    doc.undo()
    doc.redo()
    assert not doc.logits.flags.writeable  # the swap's own table again
    doc.redo()
    assert doc.logits[0, 0] == 5.0
    assert doc.undo_text == "Edit logits"
    doc.undo()
    np.testing.assert_array_equal(doc.logits, np.zeros((3, 3)))
    np.testing.assert_array_equal(np.load(path), np.zeros((3, 3)))  # the file is untouched
    assert_evaluation_current(doc)
