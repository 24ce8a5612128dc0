"""core.opening.prepare_file for language-model files: rows keep their sequence, position and
token as metadata, classes are named after the tokens, and the evaluation is the loader's."""

import json

import numpy as np
import pytest

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError
from softmax_lab.core.opening import prepare_file
from softmax_lab.core.settings import Settings
from softmax_lab.core.tokens import POSITION_KEY, SEQUENCE_KEY, TOKEN_KEY

B, T, V = 2, 4, 6


def write_lm(folder, ids=True, vocab=None, **extra):
    rng = np.random.default_rng(0)
    entries = {"logits": rng.normal(size=(B, T, V)).astype(np.float32), **extra}
    if ids:
        entries["input_ids"] = rng.integers(0, V, size=(B, T))
    if vocab is not None:
        entries["vocab"] = np.array(vocab)
    path = folder / "lm.npz"
    np.savez(path, **entries)
    return path, entries


def test_a_causal_lm_file_keeps_where_each_row_sits(tmp_path):
    vocab = ["<s>", " the", " cat", "\n", "sat", "."]
    path, entries = write_lm(tmp_path, vocab=vocab)
    prepared = prepare_file(str(path), Settings(), False)
    meta = prepared.inputs.metadata
    np.testing.assert_array_equal(meta[SEQUENCE_KEY], [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(meta[POSITION_KEY], [0, 1, 2, 3, 0, 1, 2, 3])
    np.testing.assert_array_equal(meta[TOKEN_KEY], entries["input_ids"].reshape(-1))
    assert prepared.data.class_names == ["<s>", "␣the", "␣cat", "↵", "sat", "."]
    expected = np.full((B, T), IGNORE_INDEX)
    expected[:, :-1] = entries["input_ids"][:, 1:]
    np.testing.assert_array_equal(prepared.labels, expected.reshape(-1))
    assert any(
        n.startswith("language-model logits: 2 sequences x 4 positions") for n in prepared.notices
    )
    assert not any(n.startswith("3-D logits") for n in prepared.notices)


def test_a_tokenizer_beside_the_file_names_the_classes(tmp_path):
    tokenizer = {
        "model": {
            "type": "BPE",
            "vocab": {t: i for i, t in enumerate(["a", "Ġb", "c", "Ċ", "e", "f"])},
            "merges": [],
        },
        "decoder": {"type": "ByteLevel"},
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(tokenizer))
    path, _ = write_lm(tmp_path)
    prepared = prepare_file(str(path), Settings(), False)
    assert prepared.data.class_names == ["a", "␣b", "c", "↵", "e", "f"]


def test_logits_only_open_as_sequences_without_targets(tmp_path):
    path = tmp_path / "lm.npy"
    np.save(path, np.zeros((B, T, V), dtype=np.float32))
    prepared = prepare_file(str(path), Settings(), False)
    assert set(prepared.inputs.metadata) == {SEQUENCE_KEY, POSITION_KEY}
    assert prepared.data.class_names == [f"#{i}" for i in range(V)]
    assert (prepared.labels == IGNORE_INDEX).all()


def test_the_files_own_class_names_win(tmp_path):
    path, _ = write_lm(tmp_path, class_names=np.array([f"k{i}" for i in range(V)]))
    assert prepare_file(str(path), Settings(), False).data.class_names[0] == "k0"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"input_ids": np.full((B, T), V)}, "token ids in 0..5"),
        ({"input_ids": np.zeros((B, T + 1), dtype=int)}, "must be \\(2, 4\\)"),
    ],
)
def test_hostile_lm_files_load_nothing(tmp_path, extra, message):
    path, _ = write_lm(tmp_path, ids=False, **extra)
    with pytest.raises(DataError, match=message):
        prepare_file(str(path), Settings(), False)


def test_a_tokenizer_of_another_size_beside_the_file_is_ignored_with_a_notice(tmp_path):
    (tmp_path / "vocab.txt").write_text("a\nb\nc\n")
    path, _ = write_lm(tmp_path)
    prepared = prepare_file(str(path), Settings(), False)
    assert prepared.data.vocabulary is None
    assert any("has 3 tokens but the logits have 6 classes" in n for n in prepared.data.notices)


def test_a_memory_mapped_file_is_evaluated_through_one_mapping(tmp_path, monkeypatch):
    """The loader's read-only map of a .npy is dropped before the pass reads the table through
    the copy-on-write map: with both alive, RSS counted every page of the file twice (the
    bench's peak memory at 50,000 x 1,000 went 207 -> 390 MB when prepare_file began to hold
    the loaded data while prepare_loaded evaluated it)."""
    import weakref

    from softmax_lab.core import opening

    path = tmp_path / "big.npy"
    table = np.random.default_rng(3).normal(size=(64, 5)).astype(np.float32)
    np.save(path, table)
    maps: list[weakref.ref] = []
    real_load = opening.load_logits

    def load(p):
        data = real_load(p)
        assert isinstance(data.logits, np.memmap)
        assert not data.logits.flags.writeable
        maps.append(weakref.ref(data.logits))
        return data

    alive: list[bool] = []
    real_evaluate = opening.evaluate

    def evaluate(*args, **kwargs):
        alive.append(maps[0]() is not None)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(opening, "load_logits", load)
    monkeypatch.setattr(opening, "evaluate", evaluate)
    prepared = prepare_file(str(path), Settings(), as_probabilities=False)
    assert alive == [False]
    np.testing.assert_array_equal(prepared.logits, table)
    assert prepared.logits.flags.writeable  # copy-on-write: edits never reach the file
