"""Language-model files: (B, T, V) logits with token ids, attention mask and vocabulary."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_files import npz_bytes, pt_bytes, write

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError, load_logits

RNG = np.random.default_rng(5)
B, T, V = 3, 5, 11


def lm(**extra) -> dict:
    return {"logits": RNG.normal(size=(B, T, V)).astype(np.float32), **extra}


def ids() -> np.ndarray:
    return RNG.integers(0, V, size=(B, T))


MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
VOCAB = [f"tok{i}" for i in range(V)]


def test_npz_language_model_with_ids_mask_and_vocab(tmp_path):
    entries = lm(input_ids=ids(), attention_mask=MASK, vocab=np.array(VOCAB))
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    assert data.sequence_shape == (B, T)
    assert data.logits.shape == (B * T, V)
    assert data.input_ids.dtype == np.int64
    np.testing.assert_array_equal(data.input_ids, entries["input_ids"])
    assert data.attention_mask.dtype == bool
    np.testing.assert_array_equal(data.attention_mask, MASK.astype(bool))
    assert data.vocabulary == VOCAB
    for array in (data.input_ids, data.attention_mask, data.targets):
        assert not array.flags.writeable
    assert any("next tokens" in notice for notice in data.notices)


def test_next_token_targets_give_torchs_causal_lm_loss(tmp_path):
    """Oracle: the loss a causal LM reports, shift then cross-entropy over unmasked positions."""
    entries = lm(input_ids=ids(), attention_mask=MASK)
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    logits = torch.from_numpy(entries["logits"])
    labels = torch.from_numpy(entries["input_ids"]).clone()
    labels[torch.from_numpy(MASK) == 0] = IGNORE_INDEX  # padding is never a target
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1))
    ours = F.cross_entropy(
        torch.from_numpy(np.array(data.logits)), torch.from_numpy(data.targets.copy())
    )
    torch.testing.assert_close(ours, expected)
    targets = data.targets.reshape(B, T)
    assert (targets[:, -1] == IGNORE_INDEX).all()
    assert targets[1, 2] == IGNORE_INDEX  # its next token is padding


def test_labels_are_used_as_given_and_as_ids(tmp_path):
    labels = ids()
    labels[0, :2] = IGNORE_INDEX
    entries = lm(labels=labels)
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    np.testing.assert_array_equal(data.targets, labels.reshape(-1))
    np.testing.assert_array_equal(data.input_ids, labels)
    assert not any("next tokens" in notice for notice in data.notices)


def test_labels_that_copy_the_ids_are_hugging_faces_causal_labels(tmp_path):
    """model(input_ids, labels=labels) with labels = input_ids, the prompt set to -100: the loss
    Hugging Face reports shifts the labels; the file must score the same positions."""
    input_ids = ids()
    labels = input_ids.copy()
    labels[:, :2] = IGNORE_INDEX  # a prompt that is not scored
    entries = lm(input_ids=input_ids, labels=labels, attention_mask=MASK)
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    shifted = torch.from_numpy(labels).clone()
    shifted[torch.from_numpy(MASK) == 0] = IGNORE_INDEX
    logits = torch.from_numpy(entries["logits"])
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, V), shifted[:, 1:].reshape(-1))
    ours = F.cross_entropy(
        torch.from_numpy(np.array(data.logits)), torch.from_numpy(data.targets.copy())
    )
    torch.testing.assert_close(ours, expected)
    assert any("Hugging Face's causal-LM convention" in notice for notice in data.notices)
    np.testing.assert_array_equal(data.input_ids, input_ids)


def test_input_ids_and_labels_together(tmp_path):
    entries = lm(input_ids=ids(), labels=ids())
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    np.testing.assert_array_equal(data.input_ids, entries["input_ids"])
    np.testing.assert_array_equal(data.targets, entries["labels"].reshape(-1))


@pytest.mark.parametrize("key", ["tokens", "token_ids"])
def test_tokens_key(tmp_path, key):
    entries = lm(**{key: ids()})
    data = load_logits(write(tmp_path / "lm.npz", npz_bytes(**entries)))
    np.testing.assert_array_equal(data.input_ids, entries[key])


def test_pt_language_model(tmp_path):
    entries = lm(input_ids=ids(), attention_mask=MASK.astype(bool))
    obj = {k: torch.from_numpy(v) for k, v in entries.items()}
    obj["vocab"] = VOCAB
    data = load_logits(write(tmp_path / "lm.pt", pt_bytes(obj)))
    assert data.sequence_shape == (B, T)
    np.testing.assert_array_equal(data.input_ids, entries["input_ids"])
    assert data.vocabulary == VOCAB


def test_npy_3d_has_a_sequence_shape_but_no_ids(tmp_path):
    np.save(tmp_path / "lm.npy", lm()["logits"])
    data = load_logits(tmp_path / "lm.npy")
    assert isinstance(data.logits, np.memmap)
    assert data.sequence_shape == (B, T)
    assert data.input_ids is None
    assert data.targets is None


def test_vocab_txt_beside_the_file(tmp_path):
    np.save(tmp_path / "lm.npy", lm()["logits"])
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    data = load_logits(tmp_path / "lm.npy")
    assert data.vocabulary == VOCAB
    assert "token texts read from vocab.txt in the same folder" in data.notices


def test_tokenizer_json_beside_the_file_wins_over_vocab_txt(tmp_path):
    write(tmp_path / "lm.npz", npz_bytes(**lm(input_ids=ids())))
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB), encoding="utf-8")
    pieces = {f"Ġw{i}": i for i in range(V)}
    tokenizer = {
        "model": {"type": "BPE", "vocab": pieces, "merges": []},
        "decoder": {"type": "ByteLevel"},
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    assert load_logits(tmp_path / "lm.npz").vocabulary == [f" w{i}" for i in range(V)]


def test_a_2d_table_ignores_token_entries_and_sibling_vocabularies(tmp_path):
    write(tmp_path / "c.npz", npz_bytes(logits=np.zeros((4, 3)), input_ids=np.zeros((4, 7), int)))
    (tmp_path / "tokenizer.json").write_text("not json", encoding="utf-8")
    data = load_logits(tmp_path / "c.npz")
    assert data.sequence_shape is None
    assert data.input_ids is None
    assert data.vocabulary is None
    assert data.notices == ["ignored entries: 'input_ids'"]


@pytest.mark.parametrize(
    ("entries", "phrase"),
    [
        ({"input_ids": np.zeros((B + 1, T), int)}, "'input_ids' has shape (4, 5)"),
        ({"input_ids": np.zeros((B, T - 1), int)}, "it must be (3, 5)"),
        ({"input_ids": np.zeros(B * T, int)}, "'input_ids' has shape (15,)"),
        (
            {"input_ids": np.full((B, T), V)},
            "token ids in 0..10 for 11 logits per position (found 11",
        ),
        ({"input_ids": np.full((B, T), -1)}, "(found -1 in sequence 1, position 1)"),
        ({"input_ids": np.full((B, T), IGNORE_INDEX)}, "found -100"),
        ({"input_ids": np.zeros((B, T))}, "must be whole numbers (token ids)"),
        ({"labels": np.full((B, T), V)}, "labels must be whole numbers in 0..10 (found 11"),
        (
            {"input_ids": np.zeros((B, T), int), "attention_mask": np.ones((B, T + 1))},
            "'attention_mask' has shape (3, 6)",
        ),
        (
            {"input_ids": np.zeros((B, T), int), "attention_mask": np.full((B, T), 2)},
            "only 0 and 1",
        ),
        (
            {"input_ids": np.zeros((B, T), int), "attention_mask": np.full((B, T), "a")},
            "0/1 values",
        ),
        ({"vocab": np.arange(V)}, "'vocab' must be a 1-D list of token texts"),
    ],
    ids=[
        "batch-mismatch",
        "position-mismatch",
        "flat-ids",
        "id-equals-V",
        "negative-id",
        "ignore-index-in-input-ids",
        "float-ids",
        "label-equals-V",
        "mask-shape",
        "mask-values",
        "mask-text",
        "vocab-numbers",
    ],
)
def test_hostile_language_model_files(tmp_path, entries, phrase):
    path = write(tmp_path / "lm.npz", npz_bytes(**lm(**entries)))
    with pytest.raises(DataError) as info:
        load_logits(path)
    assert str(info.value).startswith("lm.npz: ")
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("sibling", "content", "phrase"),
    [
        ("tokenizer.json", "{not json", "lm.npz: tokenizer.json: not valid JSON"),
        ("tokenizer.json", b"\x00\x01\x02", "lm.npz: tokenizer.json: contains binary data"),
        (
            "tokenizer.json",
            json.dumps({"model": {"vocab": {"a": 0}}}),
            "tokenizer.json: has 1 tokens but the logits have 11 classes",
        ),
        ("tokenizer.json", json.dumps([1, 2]), "tokenizer.json: not a tokenizer file"),
        ("vocab.txt", "a\nb\n", "vocab.txt: has 2 tokens but the logits have 11 classes"),
    ],
    ids=["not-json", "binary", "wrong-size", "json-list", "short-vocab-txt"],
)
def test_a_vocabulary_that_does_not_fit_is_ignored_with_a_notice(
    tmp_path, sibling, content, phrase
):
    # A stray or stale tokenizer file in the folder never blocks the logits.
    write(tmp_path / "lm.npz", npz_bytes(**lm(input_ids=ids())))
    write(tmp_path / sibling, content)
    data = load_logits(tmp_path / "lm.npz")
    assert data.vocabulary is None
    assert data.logits.shape == (B * T, V)
    notice = next(n for n in data.notices if "not used" in n)
    assert phrase.removeprefix("lm.npz: ") in notice


def test_a_vocab_entry_of_another_length_is_ignored_with_a_notice(tmp_path):
    path = write(tmp_path / "lm.npz", npz_bytes(**lm(vocab=np.array(VOCAB[:-1]))))
    data = load_logits(path)
    assert data.vocabulary is None
    assert "'vocab' has 10 tokens but the logits have 11 classes: it was not used" in " ".join(
        data.notices
    )


LM_FILES = {
    ".npz": npz_bytes(
        logits=np.zeros((2, 3, 4), np.float32),
        input_ids=np.zeros((2, 3), int),
        attention_mask=np.ones((2, 3), bool),
        vocab=np.array(list("abcd")),
        images=np.zeros((6, 2, 2), np.uint8),
        texts=np.array(list("uvwxyz")),
        split=np.array(list("tttvvv")),
    ),
    ".pt": pt_bytes(
        {
            "logits": torch.zeros(2, 3, 4),
            "input_ids": torch.zeros(2, 3, dtype=torch.long),
            "vocab": list("abcd"),
            "metadata": {"split": list("tttvvv")},
        }
    ),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ext=st.sampled_from(sorted(LM_FILES)),
    cut=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
)
def test_damaged_language_model_files_load_or_raise_data_error(ext, cut, flips):
    data = bytearray(LM_FILES[ext][: max(1, cut)])
    for position, value in flips:
        data[position % len(data)] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"damaged{ext}"
        path.write_bytes(bytes(data))
        loaded = attempt(lambda: load_logits(path))
        if isinstance(loaded, DataError):
            assert str(loaded).startswith("damaged")
        else:
            assert loaded.logits.ndim == 2


def attempt(load):
    """The loaded value, or the DataError it raised."""
    try:
        return load()
    except DataError as exc:
        return exc


def test_a_tokenizer_link_that_leaves_the_folder_is_not_read(tmp_path):
    # The tokenizer beside a file is read from that file's folder only (as a run's steps are):
    # a link to a vocabulary elsewhere is refused with a notice, and the logits still open.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    folder = tmp_path / "run"
    folder.mkdir()
    write(folder / "lm.npz", npz_bytes(**lm(input_ids=ids())))
    (folder / "vocab.txt").symlink_to(outside / "vocab.txt")
    data = load_logits(folder / "lm.npz")
    assert data.vocabulary is None
    assert data.logits.shape == (B * T, V)
    notice = next(n for n in data.notices if "not used" in n)
    assert "vocab.txt: a link that leads outside the folder run; not read" in notice
    # A link that stays inside the folder is read as the file it names.
    (folder / "vocab.txt").unlink()
    (folder / "tokens.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    (folder / "vocab.txt").symlink_to(folder / "tokens.txt")
    assert load_logits(folder / "lm.npz").vocabulary == VOCAB


def test_a_fifo_named_tokenizer_json_is_refused_not_waited_on(tmp_path):
    # Opening a FIFO waits for a writer forever: it is refused by its type, with a notice
    # (no other vocabulary is used in its place either: the name the user gave is the one).
    write(tmp_path / "lm.npz", npz_bytes(**lm(input_ids=ids())))
    os.mkfifo(tmp_path / "tokenizer.json")
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    data = load_logits(tmp_path / "lm.npz")
    assert data.vocabulary is None
    notice = next(n for n in data.notices if "not used" in n)
    assert "tokenizer.json: a named pipe (FIFO), not a regular file" in notice
