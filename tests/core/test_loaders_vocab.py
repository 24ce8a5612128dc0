"""Vocabularies: tokenizer.json (with and without the ``tokenizers`` package), vocab.json/.txt."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_files import npz_bytes, write

from softmax_lab.core.loaders import DataError, load_logits, load_vocabulary

CORPUS = (
    "the cat sat on the mat.\nthe dog ate the bone.\n"
    "naïve café crème brûlée — déjà vu!\n"
    "a mat, a cat, a dog: the end.\n"
) * 20


@pytest.fixture
def no_tokenizers(monkeypatch):
    """Make ``import tokenizers`` fail, as on a machine without the optional package."""
    monkeypatch.setitem(sys.modules, "tokenizers", None)


def train_byte_level_bpe(folder):
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE())
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([CORPUS], trainer=trainer)
    path = folder / "tokenizer.json"
    tokenizer.save(str(path))
    return tokenizer, path


def test_trained_byte_level_bpe_beside_an_npz(tmp_path):
    tokenizer, _path = train_byte_level_bpe(tmp_path)
    v = tokenizer.get_vocab_size()
    ids = np.array([tokenizer.encode("the cat sat on the mat.").ids[:6]] * 2)
    logits = np.zeros((2, ids.shape[1], v), np.float32)
    write(tmp_path / "run.npz", npz_bytes(logits=logits, input_ids=ids))
    data = load_logits(tmp_path / "run.npz")
    assert len(data.vocabulary) == v
    the = tokenizer.token_to_id("Ġthe")
    assert the is not None
    assert data.vocabulary[the] == " the"
    assert data.vocabulary[tokenizer.token_to_id("Ċ")] == "\n"
    assert data.vocabulary[tokenizer.token_to_id("<|endoftext|>")] == "<|endoftext|>"
    # Oracle: tokenizers' own decoder, for every token that is whole UTF-8 text.
    for token_id in range(v):
        decoded = tokenizer.decode([token_id], skip_special_tokens=False)
        if "\ufffd" not in decoded:
            assert data.vocabulary[token_id] == decoded, token_id
    text = "".join(data.vocabulary[i] for i in ids[0])
    assert text == tokenizer.decode(ids[0].tolist())


def test_the_result_is_the_same_without_tokenizers(tmp_path, monkeypatch):
    _tokenizer, path = train_byte_level_bpe(tmp_path)
    with_package = load_vocabulary(path)
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    assert load_vocabulary(path) == with_package


def test_partial_utf8_pieces_are_shown_as_escapes(tmp_path, no_tokenizers):
    # "Ã" and "©" are the byte-level forms of 0xC3 and 0xA9: "é" split over two tokens.
    vocab = {"Ã": 0, "©": 1, "Ã©": 2, "ĠcafÃ©": 3}
    path = write(
        tmp_path / "tokenizer.json",
        json.dumps({"model": {"type": "BPE", "vocab": vocab}, "decoder": {"type": "ByteLevel"}}),
    )
    assert load_vocabulary(path) == ["\\xc3", "\\xa9", "é", " café"]


def test_hand_written_tokenizer_json_without_tokenizers(tmp_path, no_tokenizers):
    tokenizer = {
        "added_tokens": [{"id": 4, "content": "<pad>", "special": True}],
        "pre_tokenizer": {"type": "ByteLevel"},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": {"Ġthe": 0, "Ċ": 1, "cat": 2, "ĠðŁĺĢ": 3}},
    }
    path = write(tmp_path / "tokenizer.json", json.dumps(tokenizer))
    assert load_vocabulary(path) == [" the", "\n", "cat", " 😀", "<pad>"]
    assert load_vocabulary(path, size=5)[0] == " the"


def test_sentencepiece_style_tokenizer(tmp_path, no_tokenizers):
    tokenizer = {
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
            ],
        },
        "model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["▁the", -1.0], ["<0x0A>", -2.0]]},
    }
    path = write(tmp_path / "tokenizer.json", json.dumps(tokenizer))
    assert load_vocabulary(path) == ["<unk>", " the", "\n"]


def test_wordpiece_pieces_are_shown_as_they_are(tmp_path, no_tokenizers):
    tokenizer = {"decoder": {"type": "WordPiece"}, "model": {"vocab": {"[CLS]": 0, "##ing": 1}}}
    path = write(tmp_path / "tokenizer.json", json.dumps(tokenizer))
    assert load_vocabulary(path) == ["[CLS]", "##ing"]


def test_holes_in_the_ids_get_placeholders(tmp_path, no_tokenizers):
    path = write(tmp_path / "tokenizer.json", json.dumps({"model": {"vocab": {"a": 0, "b": 2}}}))
    assert load_vocabulary(path) == ["a", "<unused 1>", "b"]


def test_vocab_json_map_is_byte_level_decoded(tmp_path):
    path = write(tmp_path / "vocab.json", json.dumps({"Ġthe": 1, "!": 0}))
    assert load_vocabulary(path) == ["!", " the"]


def test_vocab_txt_keeps_every_line(tmp_path):
    path = write(tmp_path / "vocab.txt", "[PAD]\r\n##ing\n \nthe\n")
    assert load_vocabulary(path) == ["[PAD]", "##ing", " ", "the"]


@pytest.mark.parametrize(
    ("file", "content", "phrase"),
    [
        ("tokenizer.json", "{", "not valid JSON"),
        ("tokenizer.json", "[]", "not a tokenizer file"),
        ("tokenizer.json", json.dumps({"model": {}}), "no 'model.vocab'"),
        ("tokenizer.json", json.dumps({"model": {"vocab": {}}}), "the vocabulary is empty"),
        (
            "tokenizer.json",
            json.dumps({"model": {"vocab": {"a": -1}}}),
            "token id -1 is out of range",
        ),
        ("tokenizer.json", json.dumps({"model": {"vocab": {"a": 10**12}}}), "out of range"),
        ("tokenizer.json", json.dumps({"model": {"vocab": {"a": "x"}}}), "not a token id"),
        ("tokenizer.json", json.dumps({"model": {"vocab": [[1, 2]]}}), "malformed"),
        (
            "tokenizer.json",
            json.dumps({"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": "x"}]}),
            "malformed",
        ),
        (
            "tokenizer.json",
            json.dumps({"model": {"vocab": {"a": 0}}, "added_tokens": 5}),
            "must be a list",
        ),
        ("tokenizer.json", b"\xff\xfe{}", "not a UTF-8 text file"),
        ("tokenizer.json", "[" * 100_000, "not valid JSON"),
        ("vocab.bin", "a\n", "not '.bin'"),
        ("tokenizer.json", "", "empty"),
    ],
    ids=[
        "truncated",
        "list",
        "no-vocab",
        "empty-vocab",
        "negative-id",
        "huge-id",
        "text-id",
        "bad-unigram",
        "bad-added",
        "added-not-list",
        "latin1",
        "deep-nesting",
        "extension",
        "empty-file",
    ],
)
def test_bad_vocabulary_files(tmp_path, file, content, phrase):
    path = write(tmp_path / file, content)
    with pytest.raises(DataError) as info:
        load_vocabulary(path)
    assert str(info.value).startswith(f"{file}: ")
    assert phrase in str(info.value)


def test_vocabulary_size_must_match(tmp_path):
    path = write(tmp_path / "vocab.txt", "a\nb\nc\n")
    assert load_vocabulary(path, size=3) == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"vocab\.txt: has 3 tokens but the logits have 50,257"):
        load_vocabulary(path, size=50257)


def test_missing_and_folder(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_vocabulary(tmp_path / "tokenizer.json")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(DataError, match="folder"):
        load_vocabulary(tmp_path / "dir.json")


KEYS = st.sampled_from(["model", "vocab", "added_tokens", "id", "content", "decoder", "type"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        ["model", "vocab", "added_tokens", "id", "content", "decoder", "type", "a"]
                    ),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    name=st.sampled_from(["tokenizer.json", "vocab.json", "vocab.txt"]),
    installed=st.booleans(),
)
def test_arbitrary_vocabulary_files_give_tokens_or_a_data_error(data, name, installed):
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        if not installed:
            patch.setitem(sys.modules, "tokenizers", None)
        path = Path(folder) / name
        path.write_bytes(data)
        tokens = attempt(lambda: load_vocabulary(path))
        if isinstance(tokens, DataError):
            assert str(tokens).startswith(name)
        else:
            assert all(isinstance(token, str) for token in tokens)


def attempt(load):
    """The loaded value, or the DataError it raised."""
    try:
        return load()
    except DataError as exc:
        return exc
