"""core.edits: each edit as a pure function of a table — the input state never changes, the
new state is what torch computes from the old one, bad arguments raise ``ValueError``."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core import edits
from softmax_lab.core.changes import Change
from softmax_lab.core.settings import Settings
from softmax_lab.core.table import new_state

IGNORE = Settings().ignore_index


def state(n=4, c=3, seed=0, b=False, soft=False, labels=None):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c))
    lab = rng.integers(0, c, n) if labels is None else labels
    kw = {"settings": Settings(target_mode="probability")} if soft else {}
    return new_state(logits, lab, logits_b=rng.normal(size=(n, c)) if b else None, **kw)


def frozen(s):
    """The arrays and fields of ``s``, copied, to check later that nothing wrote into them."""
    arrays = {k: None if getattr(s, k) is None else getattr(s, k).copy() for k in ARRAYS}
    return arrays, s.class_names, s.settings, s.has_labels


ARRAYS = ("logits", "labels", "soft_targets", "logits_b")


def assert_unchanged(s, before):
    arrays, names, options, has_labels = before
    for k, v in arrays.items():
        if v is None:
            assert getattr(s, k) is None
        else:
            np.testing.assert_array_equal(getattr(s, k), v)
    assert (s.class_names, s.settings, s.has_labels) == (names, options, has_labels)


shapes = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**16))


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(-3, 10), st.integers(1, 3), st.booleans())
def test_inserting_samples_is_torch_cat_and_leaves_the_old_table(shape, at, k, with_b):
    n, c, seed = shape
    s = state(n, c, seed, b=with_b, soft=True)
    before = frozen(s)
    block = np.arange(k * c, dtype=np.float64).reshape(k, c)
    swap = edits.insert_samples(s, at, block, labels=[c - 1] * k)
    assert_unchanged(s, before)
    i = min(max(at, 0), n)
    old = torch.from_numpy(s.logits)
    expected = torch.cat([old[:i], torch.from_numpy(block), old[i:]])
    assert torch.equal(torch.from_numpy(swap.after.logits), expected)
    assert swap.after.labels[i : i + k].tolist() == [c - 1] * k
    soft_rows = torch.nn.functional.one_hot(torch.full((k,), c - 1), c).double()
    assert torch.equal(torch.from_numpy(swap.after.soft_targets[i : i + k]), soft_rows)
    if with_b:  # model B gets A's new rows
        np.testing.assert_array_equal(swap.after.logits_b[i : i + k], block)
    assert swap.change == Change.STRUCTURE | Change.TARGETS


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_removing_classes_is_index_select_and_relabels_like_torch(shape, data):
    n, c, seed = shape
    if c < 2:
        return
    cols = data.draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c - 1, unique=True))
    if len(cols) >= c:
        return
    labels = np.array(
        data.draw(st.lists(st.sampled_from([*range(c), IGNORE]), min_size=n, max_size=n))
    )
    s = state(n, c, seed, labels=labels)
    before = frozen(s)
    after = edits.remove_classes(s, cols).after
    assert_unchanged(s, before)
    keep = torch.tensor(sorted(set(range(c)) - set(cols)))
    expected = torch.index_select(torch.from_numpy(s.logits), 1, keep)
    assert torch.equal(torch.from_numpy(after.logits), expected)
    # The oracle for the labels: a lookup table old class -> new class (removed: ignored).
    lookup = torch.full((c,), IGNORE)
    lookup[keep] = torch.arange(len(keep))
    lab = torch.from_numpy(labels)
    valid = lab != IGNORE
    want = torch.where(valid, lookup[lab.clamp(0, c - 1)], lab)
    assert torch.equal(torch.from_numpy(after.labels), want)
    assert after.class_names == tuple(s.class_names[i] for i in keep.tolist())


@settings(max_examples=30, deadline=None)
@given(shapes, st.integers(0, 9))
def test_a_class_inserted_then_removed_gives_the_table_back(shape, at):
    n, c, seed = shape
    s = state(n, c, seed, b=True)
    grown = edits.insert_class(s, at, logits=2.5).after
    assert grown.logits.shape == (n, c + 1)
    i = min(at, c)
    assert grown.class_names[i] == edits.free_name(s)
    back = edits.remove_classes(grown, [i]).after
    for k in ("logits", "labels", "logits_b"):
        np.testing.assert_array_equal(getattr(back, k), getattr(s, k))
    assert back.class_names == s.class_names


def test_duplicates_copy_rows_and_columns_with_new_names():
    s = state(3, 3, b=True)
    rows = edits.duplicate_samples(s, [2, 0]).after
    np.testing.assert_array_equal(rows.logits[3:], s.logits[[0, 2]])
    np.testing.assert_array_equal(rows.logits_b[3:], s.logits_b[[0, 2]])
    twice = edits.duplicate_class(edits.duplicate_class(s, 1).after, 1).after
    assert twice.class_names[1:4] == (
        s.class_names[1],
        f"{s.class_names[1]} copy 2",
        f"{s.class_names[1]} copy",
    )
    np.testing.assert_array_equal(twice.logits[:, 2], s.logits[:, 1])


@pytest.mark.parametrize("model", ["a", "b"])
def test_logit_cells_describe_a_block_write_without_doing_it(model):
    s = state(4, 3, b=True)
    before = frozen(s)
    cells = edits.logit_cells(s, [3, 1], [0, 2], [[1.0, 2.0], [3.0, 4.0]], model=model)
    assert_unchanged(s, before)
    name = "logits" if model == "a" else "logits_b"
    assert cells.name == name
    assert cells.rows.tolist() == [1, 3]
    assert cells.change == (Change.LOGITS if model == "a" else Change.LOGITS_B)
    target = torch.from_numpy(getattr(s, name).copy())
    target[torch.tensor([[3], [1]]), torch.tensor([[0, 2]])] = torch.tensor(
        [[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64
    )
    written = getattr(s, name).copy()
    written[cells.where] = cells.new
    assert torch.equal(torch.from_numpy(written), target)
    np.testing.assert_array_equal(cells.old, getattr(s, name)[cells.where])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: edits.logit_cells(s, [0], [0], 1.0, model="b"), "no model B"),
        (lambda s: edits.logit_cells(s, [0], [0], 1.0, model="c"), "no model"),
        (lambda s: edits.logit_cells(s, [9], [0], 1.0), "out of range"),
        (lambda s: edits.logit_cells(s, [0], [0], "abc"), "could not convert"),
        (lambda s: edits.label_cells(s, [0], 1.5), "whole numbers"),
        (lambda s: edits.soft_target_cells(s, [0], [0], 0.5), "probabilities first"),
        (lambda s: edits.rename_class(s, 0, "  "), "empty"),
        (lambda s: edits.rename_class(s, 0, s.class_names[1]), "already"),
        (lambda s: edits.class_names(s, ["x", "x", "y"]), "unique"),
        (lambda s: edits.class_names(s, ["x"]), "names for"),
        (lambda s: edits.settings(s, temperature=-1), "temperature"),
        (lambda s: edits.attach_labels(s, [0, 1]), "labels for"),
        (lambda s: edits.insert_samples(s, 0, [[1.0, 2.0]]), "need 3 logits"),
        (lambda s: edits.remove_samples(s, range(4)), "at least one sample"),
        (lambda s: edits.remove_classes(s, [0, 1, 2]), "at least one class"),
        (lambda s: edits.insert_class(s, 0, s.class_names[0]), "already"),
        (lambda s: edits.replace_logits(s, np.zeros((4, 2)), text="x"), "the table is"),
        (lambda s: edits.replace_all(s, [["a"]]), "must be numbers"),
        (lambda s: edits.attach_model_b(s, np.zeros((3, 3))), "samples"),
    ],
)
def test_bad_arguments_raise_and_leave_the_table(call, message):
    s = state(4, 3)
    before = frozen(s)
    with pytest.raises(ValueError, match=message):
        call(s)
    assert_unchanged(s, before)


def test_soft_targets_refuse_negative_or_nan_values():
    s = state(3, 3, soft=True)
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="finite numbers >= 0"):
            edits.soft_target_cells(s, [0], [1], bad)


@settings(max_examples=30, deadline=None)
@given(shapes, st.integers(-2, 8), st.integers(-2, 6), st.integers(1, 4), st.integers(1, 6))
def test_a_paste_grows_rows_and_clips_columns_like_slicing(shape, row, col, k, m):
    n, c, seed = shape
    s = state(n, c, seed)
    before = frozen(s)
    block = np.arange(1, k * m + 1, dtype=np.float64).reshape(k, m)
    edit, notes = edits.paste(s, row, col, block)
    assert_unchanged(s, before)
    r, q = min(max(row, 0), n - 1), min(max(col, 0), c - 1)
    width = min(m, c - q)
    expected = torch.from_numpy(s.logits)
    if r + k > n:
        expected = torch.cat([expected, torch.zeros(r + k - n, c, dtype=torch.float64)])
        assert isinstance(edit, edits.Swap)
        assert f"added {r + k - n} sample" in notes
        result = edit.after.logits
        assert edit.after.labels[n:].tolist() == [0] * (r + k - n)
    else:
        assert isinstance(edit, edits.Cells)
        result = s.logits.copy()
        result[edit.where] = edit.new
    expected = expected.clone()
    expected[r : r + k, q : q + width] = torch.from_numpy(block[:, :width])
    assert torch.equal(torch.from_numpy(result), expected)
    assert notes.startswith(f"pasted {k} x {width}")
    assert ("clipped" in notes) == (width < m)


def test_entering_probability_mode_starts_from_torch_one_hot():
    s = state(4, 3, labels=np.array([2, IGNORE, 0, 1]))
    edit = edits.settings(s, target_mode="probability")
    assert edit is not None
    assert not edit.mergeable
    assert edit.change == Change.SETTINGS | Change.TARGETS
    lab = torch.tensor([2, 0, 0, 1])
    expected = torch.nn.functional.one_hot(lab, 3).double()
    expected[1] = 0  # an ignored sample has no target
    assert torch.equal(torch.from_numpy(edit.new["soft_targets"]), expected)
    assert edit.old == {"settings": s.settings, "soft_targets": None}
    assert edits.settings(s, temperature=s.settings.temperature) is None  # nothing changes
    slider = edits.settings(s, temperature=0.5)
    assert slider.mergeable
    assert slider.new == {"settings": Settings(temperature=0.5)}
    assert slider.text == "Change temperature"


def test_rename_and_replace_describe_fields_and_swaps():
    s = state(2, 3, b=True)
    rename = edits.rename_class(s, 1, "  dog ")
    assert rename.new == {"class_names": (s.class_names[0], "dog", s.class_names[2])}
    assert rename.old == {"class_names": s.class_names}
    assert rename.text == f"Rename class {s.class_names[1]!r} to 'dog'"
    swap = edits.replace_logits(s, np.ones((2, 3), dtype=np.float32), text="Step 2", source="s2")
    assert swap.merge_fields == ("logits", "source")
    assert swap.after.source == "s2"
    assert swap.after.logits.dtype == np.float32  # kept as handed in (a memory map stays one)
    assert edits.detach_model_b(edits.detach_model_b(s).after) is None
    assert edits.attach_model_b(s, s.logits, ("", "")).after.model_names == ("A", "B")
    whole = edits.replace_all(s, np.zeros((2, 3)))
    assert whole.change == Change.ALL
    assert whole.after.logits_b is None
    assert whole.after.inputs is s.inputs  # same rows: the inputs stay


def test_the_new_table_shares_nothing_writable_with_the_old():
    """Writing into a swapped-in table's arrays never changes the old one (undo holds it)."""
    s = state(3, 3, b=True, soft=True)
    before = frozen(s)
    for swap in (
        edits.insert_samples(s, 1, np.zeros((1, 3))),
        edits.remove_samples(s, [0]),
        edits.insert_class(s, 1),
        edits.remove_classes(s, [2]),
        edits.paste(s, 2, 0, np.ones((3, 3)))[0],
    ):
        for k in ARRAYS:
            getattr(swap.after, k)[...] = 7
    assert_unchanged(s, before)
