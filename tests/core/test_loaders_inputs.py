"""Images, texts and per-sample metadata stored beside the logits (.npz, .pt, .csv)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loader_files import npz_bytes, pt_bytes, write

from softmax_lab.core.loaders import DataError, load_logits

RNG = np.random.default_rng(11)
N = 6


def logits() -> np.ndarray:
    return RNG.normal(size=(N, 3)).astype(np.float32)


def images(shape=(N, 5, 4, 3), dtype=np.uint8) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.uniform(size=shape).astype(dtype)
    return RNG.integers(0, 256, size=shape).astype(dtype)


TEXTS = [f"sample {i}: héllo" for i in range(N)]


@pytest.mark.parametrize("compressed", [False, True], ids=["savez", "savez_compressed"])
def test_npz_images_texts_and_metadata(tmp_path, compressed):
    pictures = images()
    path = write(
        tmp_path / "inputs.npz",
        npz_bytes(
            compressed,
            logits=logits(),
            labels=np.arange(N) % 3,
            images=pictures,
            texts=np.array(TEXTS),
            split=np.array(["train", "test"] * 3),
            loss_weight=np.linspace(0, 1, N),
            flagged=np.arange(N) % 2 == 0,
            epoch=np.arange(N, dtype=np.int32),
            embeddings=np.zeros((N, 8)),
            per_class=np.zeros(3),
        ),
    )
    data = load_logits(path)
    np.testing.assert_array_equal(data.images, pictures)
    assert isinstance(data.images, np.memmap) is not compressed  # stored members are mapped
    assert data.texts == TEXTS
    assert list(data.metadata) == ["split", "loss_weight", "flagged", "epoch"]
    assert data.metadata["split"].tolist() == ["train", "test"] * 3
    assert data.metadata["flagged"].dtype == bool
    assert data.metadata["epoch"].dtype == np.int32
    np.testing.assert_array_equal(data.metadata["loss_weight"], np.linspace(0, 1, N))
    assert data.notices == ["ignored entries: 'embeddings', 'per_class'"]
    for array in (data.images, *data.metadata.values()):
        assert not array.flags.writeable


def test_defaults_without_inputs(tmp_path):
    np.save(tmp_path / "l.npy", logits())
    data = load_logits(tmp_path / "l.npy")
    assert data.images is None
    assert data.texts is None
    assert data.metadata == {}
    assert not data.binary
    assert data.sequence_shape is None
    assert data.input_ids is None
    assert data.attention_mask is None
    assert data.vocabulary is None


def test_pt_images_texts_and_metadata(tmp_path):
    pictures = images((N, 4, 4), np.float32)
    obj = {
        "logits": torch.from_numpy(logits()),
        "images": torch.from_numpy(pictures),
        "texts": TEXTS,
        "score": torch.arange(N, dtype=torch.bfloat16),
        "tags": [f"t{i}" for i in range(N)],
        "metadata": {"source": ["a"] * N, "ok": torch.ones(N, dtype=torch.bool)},
    }
    data = load_logits(write(tmp_path / "inputs.pt", pt_bytes(obj)))
    np.testing.assert_array_equal(data.images, pictures)
    assert data.texts == TEXTS
    assert set(data.metadata) == {"score", "tags", "source", "ok"}
    assert data.metadata["score"].dtype == np.float32
    assert data.metadata["tags"].tolist() == [f"t{i}" for i in range(N)]
    assert data.metadata["ok"].dtype == bool


@pytest.mark.parametrize(
    ("stored", "shown"),
    [((N, 3, 5, 6), (N, 5, 6, 3)), ((N, 1, 5, 6), (N, 5, 6)), ((N, 5, 6, 1), (N, 5, 6))],
    ids=["channels-first", "one-channel-first", "one-channel-last"],
)
def test_channel_layouts_become_h_w_c(tmp_path, stored, shown):
    pictures = images(stored)
    write(tmp_path / "i.npz", npz_bytes(logits=logits(), images=pictures))
    data = load_logits(tmp_path / "i.npz")
    assert data.images.shape == shown
    expected = np.moveaxis(pictures, 1, -1) if stored[1] in (1, 3) else pictures
    np.testing.assert_array_equal(data.images, expected.reshape(shown))


@pytest.mark.parametrize(
    ("entries", "phrase"),
    [
        ({"images": images((N + 1, 4, 4, 3))}, "'images' has 7 entries but the logits have 6"),
        ({"texts": np.array(TEXTS[:-1])}, "'texts' has 5 entries but the logits have 6 samples"),
        ({"images": images((N, 4, 4, 2))}, "must have 1, 3 or 4 channels"),
        ({"images": images((N, 5, 6, 7))}, "neither first nor last"),
        ({"images": np.zeros((N, 4, 4), complex)}, "complex"),
        ({"images": np.full((N, 2, 2), "x")}, "text"),
        ({"images": np.zeros((N, 16), np.uint8)}, "not 2-D"),
        ({"images": np.zeros((N, 2, 2, 2, 3), np.uint8)}, "not 5-D"),
        ({"images": np.zeros((N, 4, 4), np.int32)}, ".astype(np.uint8)"),
        ({"images": np.zeros((N, 4, 4), bool)}, "true/false"),
        ({"images": images((N, 4, 4), np.float32) * 255}, "images / 255"),
        ({"images": images((N, 4, 4), np.float64) - 0.5}, "must lie in [0, 1]"),
        ({"images": np.full((N, 4, 4), np.nan, np.float32)}, "NaN"),
        ({"images": np.zeros((N, 0, 4), np.uint8)}, "empty"),
        ({"texts": np.arange(N)}, "'texts' must be a 1-D list of text"),
        ({"texts": np.array([TEXTS, TEXTS])}, "'texts' must be a 1-D list of text"),
    ],
    ids=[
        "images-length",
        "texts-length",
        "two-channels",
        "seven-channels",
        "complex",
        "strings",
        "2-D",
        "5-D",
        "int32",
        "bool",
        "0-255-floats",
        "negative-floats",
        "nan",
        "empty",
        "number-texts",
        "2-D-texts",
    ],
)
def test_bad_inputs_are_refused(tmp_path, entries, phrase):
    path = write(tmp_path / "bad.npz", npz_bytes(logits=logits(), **entries))
    with pytest.raises(DataError) as info:
        load_logits(path)
    assert str(info.value).startswith("bad.npz: ")
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("obj", "phrase"),
    [
        ({"texts": ["a", 3] + ["b"] * (N - 2)}, "holds a int"),
        ({"texts": "abc"}, "'texts' must be a list of text"),
        ({"metadata": {"split": ["a"] * (N - 1)}}, "'split' has 5 entries but the logits have 6"),
        ({"metadata": {"nested": [[1, 2]] * N}}, "metadata 'nested' must be a 1-D list"),
        ({"metadata": ["not", "a", "dict"]}, "'metadata' must be a dict"),
        ({"images": torch.zeros(N + 2, 3, 3)}, "'images' has 8 entries"),
    ],
    ids=["mixed-texts", "string-texts", "meta-length", "meta-nested", "meta-list", "images"],
)
def test_bad_pt_inputs_are_refused(tmp_path, obj, phrase):
    path = write(tmp_path / "bad.pt", pt_bytes({"logits": torch.zeros(N, 3), **obj}))
    with pytest.raises(DataError, match=r"^bad\.pt: ") as info:
        load_logits(path)
    assert phrase in str(info.value)


def test_object_images_are_refused_without_unpickling(tmp_path):
    path = write(
        tmp_path / "o.npz",
        npz_bytes(logits=logits(), images=np.array([object()] * N, dtype=object)),
    )
    with pytest.raises(DataError, match="holds Python objects"):
        load_logits(path)


def test_wrong_length_one_d_entries_are_ignored_not_errors(tmp_path):
    # A per-class or per-epoch vector is not per-sample metadata: it is reported, not refused.
    write(tmp_path / "a.npz", npz_bytes(logits=logits(), class_weight=np.ones(3)))
    data = load_logits(tmp_path / "a.npz")
    assert data.metadata == {}
    assert data.notices == ["ignored entries: 'class_weight'"]


# ---- CSV text columns ----------------------------------------------------------------------


def test_csv_text_columns_become_metadata_and_texts(tmp_path):
    path = write(
        tmp_path / "t.csv",
        "id,cat,dog,text,split,correct,label\n"
        'a1,0.5,-1,"hello, world",train,true,1\n'
        "a2,2,0.25,second,test,False,0\n",
    )
    data = load_logits(path)
    assert data.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(data.logits, [[0.5, -1], [2, 0.25]])
    assert data.targets.tolist() == [1, 0]
    assert data.texts == ["hello, world", "second"]
    assert list(data.metadata) == ["id", "split", "correct"]
    assert data.metadata["id"].tolist() == ["a1", "a2"]
    assert data.metadata["correct"].tolist() == [True, False]
    assert data.notices == [
        "columns read: 2 class columns ('cat', 'dog'); labels from 'label' (numbers); "
        "metadata from 'id', 'split', 'correct'; texts from 'text'"
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("a,b\n1,2\n3,abc\n", "row 3, column 2: 'abc' is not a number"),
        ("a,note\n1,2\n2,x\n3,4\n", "row 3, column 2: 'x' is not a number"),
        ("a,note\n1,2\n2,x\n3,y\n4,5\n", "row 3, column 2: 'x' is not a number"),
        ("a,b\n1,2\n2,\n", "row 3, column 2 is empty"),
        ("1,2\nx,4\n", "row 2, column 1: 'x' is not a number"),
        ("a,0.5\n1,x\n2,y\n", "row 2, column 2: 'x' is not a number"),
    ],
    ids=[
        "one-junk-of-two",
        "one-junk-of-three",
        "half-junk",
        "empty-in-number-column",
        "no-header",
        "numeric-header",
    ],
)
def test_class_columns_with_junk_are_still_errors(tmp_path, text, phrase):
    with pytest.raises(DataError) as info:
        load_logits(write(tmp_path / "j.csv", text))
    assert str(info.value) == f"j.csv: {phrase}"


@pytest.mark.parametrize(
    ("text", "metadata"),
    [
        ("a,note\n1,x\n2,y\n3,4\n", ["x", "y", "4"]),  # 2 of 3 cells are not numbers
        ("a,note\n1,5\n2,y\n3,z\n", ["5", "y", "z"]),  # the first cell is a number
        ("a,note\n1,x\n2,\n3,\n", ["x", "", ""]),  # empty cells do not count
    ],
    ids=["majority-text", "first-cell-numeric", "sparse"],
)
def test_columns_mostly_not_numbers_are_metadata(tmp_path, text, metadata):
    data = load_logits(write(tmp_path / "m.csv", text))
    assert data.class_names == ["a"] or data.binary
    assert data.metadata["note"].tolist() == metadata


def test_a_column_named_text_is_texts_even_when_numeric(tmp_path):
    data = load_logits(write(tmp_path / "t.csv", "a,b,TEXT\n1,2,42\n3,4,7\n"))
    assert data.texts == ["42", "7"]
    assert data.class_names == ["a", "b"]


def test_duplicate_metadata_names_are_suffixed(tmp_path):
    data = load_logits(write(tmp_path / "d.csv", "a,b,id,id\n1,2,x,y\n3,4,z,w\n"))
    assert data.metadata["id"].tolist() == ["x", "z"]
    assert data.metadata["id_2"].tolist() == ["y", "w"]


def test_tsv_text_column(tmp_path):
    data = load_logits(write(tmp_path / "t.tsv", "a\tb\tname\n1\t2\tx y\n3\t4\tz\n"))
    assert data.metadata["name"].tolist() == ["x y", "z"]


def test_per_sample_object_arrays_are_not_read_and_say_why(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    split = np.array([Payload()] * N, dtype=object)
    write(tmp_path / "o.npz", npz_bytes(logits=logits(), split=split))
    data = load_logits(tmp_path / "o.npz")
    assert data.metadata == {}
    assert data.notices == [
        "not read: 'split' hold Python objects (pickled data), which Softmax Lab never loads "
        "because unpickling could run code; save text with dtype=str"
    ]
    assert not marker.exists()


@pytest.mark.parametrize("name", ["text", "Texts"])
def test_save_logits_refuses_a_class_named_text_in_csv(tmp_path, name):
    from softmax_lab.core.loaders import save_logits

    with pytest.raises(DataError, match="would be read back as a text column"):
        save_logits(tmp_path / "a.csv", np.zeros((2, 2)), class_names=["a", name])
