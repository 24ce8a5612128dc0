"""core.loaders: every format round-trips, and every broken file ends in a readable DataError.

Malformed files are generated in tmp_path by the builders in MALFORMED, so the corpus documents
itself: each entry names the problem and a phrase the user-facing message must contain.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core import loaders
from softmax_lab.core.loaders import (
    DataError,
    LoadedLogits,
    load_logits,
    save_logits,
    save_results_csv,
)

RNG = np.random.default_rng(1234)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npz_round_trip_keeps_dtype_labels_and_class_names(tmp_path, dtype):
    logits = RNG.normal(size=(7, 3)).astype(dtype)
    targets = np.array([0, 1, 2, -100, 2, 1, 0])
    path = tmp_path / "run.npz"
    save_logits(path, logits, targets, ["cat", "dog", "bird"])
    data = load_logits(path)
    assert data.logits.dtype == dtype
    np.testing.assert_array_equal(data.logits, logits)
    assert data.targets.dtype == np.int64
    np.testing.assert_array_equal(data.targets, targets)
    assert data.class_names == ["cat", "dog", "bird"]
    assert data.source == str(path)
    assert data.notices == []
    assert not data.looks_like_probabilities
    with np.load(path) as archive:
        assert sorted(archive.files) == ["class_names", "labels", "logits"]
        assert archive["class_names"].dtype.kind == "U"


def test_npz_without_labels_or_names(tmp_path):
    logits = RNG.normal(size=(4, 2))
    save_logits(tmp_path / "a.npz", logits)
    data = load_logits(tmp_path / "a.npz")
    assert data.targets is None
    assert data.class_names is None
    with np.load(tmp_path / "a.npz") as archive:
        assert archive.files == ["logits"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_round_trip_is_exact(tmp_path, dtype):
    logits = RNG.normal(size=(6, 4)).astype(dtype) * 1e3
    logits[0, :3] = [np.inf, -np.inf, np.nan]
    targets = np.array([3, 0, -100, 1, 2, 3])
    path = tmp_path / "run.csv"
    save_logits(path, logits, targets, ["a", "b, with comma", 'quote "q"', "d"])
    data = load_logits(path)
    # CSV text always loads as float64; the shortest repr written must map back exactly.
    np.testing.assert_array_equal(data.logits.astype(dtype), logits)
    np.testing.assert_array_equal(data.targets, targets)
    assert data.class_names == ["a", "b, with comma", 'quote "q"', "d"]
    assert data.notices == [
        "columns read: 4 class columns ('a', 'b, with comma', 'quote \"q\"', 'd'); labels from "
        "'label' (numbers)"
    ]
    assert path.read_text().splitlines()[0] == 'a,"b, with comma","quote ""q""",d,label'


def test_csv_without_class_names_gets_default_header(tmp_path):
    path = tmp_path / "plain.csv"
    save_logits(path, np.array([[1.5, -2.0], [0.25, 3.0]]))
    assert path.read_text() == "class_0,class_1\n1.5,-2.0\n0.25,3.0\n"
    data = load_logits(path)
    assert data.class_names == ["class_0", "class_1"]
    assert data.targets is None


def test_csv_numeric_class_names_are_quoted_so_they_read_back_as_a_header(tmp_path):
    path = tmp_path / "digits.csv"
    save_logits(path, np.eye(3), class_names=["0.5", "1", "2"])
    assert path.read_text().splitlines()[0] == '"0.5","1","2"'
    data = load_logits(path)
    assert data.class_names == ["0.5", "1", "2"]
    assert data.logits.shape == (3, 3)


def test_save_logits_writes_no_temporary_files(tmp_path):
    save_logits(tmp_path / "a.npz", np.zeros((2, 2)))
    save_logits(tmp_path / "a.csv", np.zeros((2, 2)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.npz"]


def test_save_logits_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("old contents")
    save_logits(path, np.ones((1, 2)))
    assert load_logits(path).logits.tolist() == [[1.0, 1.0]]


# ------------------------------------------------------------------------------------------
# .npy: memory maps, flattening, dtype handling
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npy_is_a_read_only_memmap_not_a_copy(tmp_path, dtype):
    logits = RNG.normal(size=(20, 5)).astype(dtype)
    path = tmp_path / "logits.npy"
    np.save(path, logits)
    data = load_logits(path)
    assert isinstance(data.logits, np.memmap)
    assert Path(data.logits.filename) == path.resolve()
    assert data.logits.dtype == dtype
    assert not data.logits.flags.writeable
    np.testing.assert_array_equal(data.logits, logits)
    assert data.targets is None
    assert data.class_names is None
    assert data.notices == []


def test_npy_without_mmap_is_an_ordinary_array(tmp_path):
    np.save(tmp_path / "l.npy", np.ones((3, 2), np.float32))
    data = load_logits(tmp_path / "l.npy", mmap=False)
    assert not isinstance(data.logits, np.memmap)
    assert not data.logits.flags.writeable  # read-only whatever the source, for consistency


def test_3d_npy_is_flattened_and_stays_a_memmap(tmp_path):
    logits = RNG.normal(size=(2, 3, 5)).astype(np.float32)
    np.save(tmp_path / "seq.npy", logits)
    data = load_logits(tmp_path / "seq.npy")
    assert isinstance(data.logits, np.memmap)
    assert data.logits.shape == (6, 5)
    np.testing.assert_array_equal(data.logits, logits.reshape(6, 5))
    assert data.notices == ["3-D logits (2, 3, 5) flattened to (6, 5)"]


def test_3d_logits_with_per_position_labels(tmp_path):
    logits = RNG.normal(size=(2, 3, 4))
    labels = np.array([[0, 1, -100], [3, 2, 1]])
    np.savez(tmp_path / "seq.npz", logits=logits, labels=labels)
    data = load_logits(tmp_path / "seq.npz")
    assert data.logits.shape == (6, 4)
    np.testing.assert_array_equal(data.targets, labels.reshape(-1))


@pytest.mark.parametrize(
    ("stored", "expected", "notice"),
    [
        (np.float16, np.float32, "float16 logits converted to float32"),
        (np.int16, np.float32, "int16 logits converted to float32"),
        (np.int64, np.float64, "int64 logits converted to float64"),
        (np.uint8, np.float32, "uint8 logits converted to float32"),
    ],
)
def test_other_numeric_dtypes_become_float(tmp_path, stored, expected, notice):
    np.save(tmp_path / "l.npy", np.arange(6).reshape(3, 2).astype(stored))
    data = load_logits(tmp_path / "l.npy")
    assert data.logits.dtype == expected
    assert data.notices == [notice]
    np.testing.assert_array_equal(data.logits, np.arange(6).reshape(3, 2))


def test_converted_npy_is_an_in_memory_array_not_a_fake_memmap(tmp_path):
    np.save(tmp_path / "half.npy", np.ones((3, 2), np.float16))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.ones((3, 2), np.float32)))
    for name in ("half.npy", "fortran.npy"):
        data = load_logits(tmp_path / name)
        assert type(data.logits) is np.ndarray
        assert data.logits.dtype == np.float32


def test_fortran_order_and_big_endian_npy_load_as_native_c_order(tmp_path):
    logits = RNG.normal(size=(4, 3))
    np.save(tmp_path / "f.npy", np.asfortranarray(logits))
    np.save(tmp_path / "be.npy", logits.astype(">f8"))
    for name in ("f.npy", "be.npy"):
        data = load_logits(tmp_path / name)
        assert data.logits.flags.c_contiguous
        assert data.logits.dtype == np.float64
        assert data.logits.dtype.isnative
        np.testing.assert_array_equal(data.logits, logits)


def test_npy_file_that_is_really_an_npz_archive(tmp_path):
    path = tmp_path / "mixed_up.npy"
    with open(path, "wb") as fh:
        np.savez(fh, logits=np.ones((2, 3)), labels=np.array([0, 2]))
    data = load_logits(path)
    assert data.logits.shape == (2, 3)
    assert data.targets.tolist() == [0, 2]


# ------------------------------------------------------------------------------------------
# .npz: key aliases and label forms
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "logits_key", ["logits", "outputs", "scores", "preds", "predictions", "y_pred", "logit"]
)
@pytest.mark.parametrize("labels_key", ["labels", "label", "targets", "target", "y", "y_true"])
def test_npz_key_aliases(tmp_path, logits_key, labels_key):
    path = tmp_path / "a.npz"
    np.savez(path, **{logits_key: np.zeros((2, 3)), labels_key: np.array([1, 2])})
    data = load_logits(path)
    assert data.logits.shape == (2, 3)
    assert data.targets.tolist() == [1, 2]
    assert data.notices == []


def test_npz_keys_match_case_insensitively_and_classes_alias(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, Logits=np.zeros((2, 2)), Labels=np.array([0, 1]), classes=np.array(["x", "z"]))
    data = load_logits(path)
    assert data.targets.tolist() == [0, 1]
    assert data.class_names == ["x", "z"]


def test_single_unrecognised_npz_array_is_used_with_a_notice(tmp_path):
    np.savez(tmp_path / "a.npz", np.ones((3, 4)))  # stored as 'arr_0'
    data = load_logits(tmp_path / "a.npz")
    assert data.logits.shape == (3, 4)
    assert data.notices == ["no entry named 'logits'; using 'arr_0' as the logits"]


def test_extra_npz_arrays_are_reported(tmp_path):
    np.savez(tmp_path / "a.npz", logits=np.ones((3, 4)), embeddings=np.ones((3, 8)))
    assert load_logits(tmp_path / "a.npz").notices == ["ignored entries: 'embeddings'"]


def test_integral_float_labels_are_accepted_as_int64(tmp_path):
    np.savez(tmp_path / "a.npz", logits=np.zeros((3, 4)), labels=np.array([3.0, 0.0, -100.0]))
    data = load_logits(tmp_path / "a.npz")
    assert data.targets.dtype == np.int64
    assert data.targets.tolist() == [3, 0, -100]


def test_column_vector_labels_are_accepted(tmp_path):
    np.savez(tmp_path / "a.npz", logits=np.zeros((3, 4)), labels=np.array([[3], [0], [1]]))
    assert load_logits(tmp_path / "a.npz").targets.tolist() == [3, 0, 1]


def test_one_hot_labels_become_indices(tmp_path):
    labels = np.eye(4, dtype=np.float32)[[2, 0, 3]]
    np.savez(tmp_path / "a.npz", logits=np.zeros((3, 4)), labels=labels)
    data = load_logits(tmp_path / "a.npz")
    assert data.targets.tolist() == [2, 0, 3]
    assert data.notices == ["one-hot labels (3, 4) converted to class indices"]


def test_probability_labels_become_most_likely_class(tmp_path):
    labels = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    np.savez(tmp_path / "a.npz", logits=np.zeros((2, 3)), labels=labels)
    data = load_logits(tmp_path / "a.npz")
    assert data.targets.tolist() == [1, 0]
    assert "probability labels (2, 3) converted to class indices" in data.notices[0]


def test_label_error_message_names_file_value_and_row(tmp_path):
    path = tmp_path / "labels.npz"
    np.savez(path, logits=np.zeros((5, 10)), labels=np.array([1, 2, 3, 12, 4]))
    with pytest.raises(DataError) as info:
        load_logits(path)
    assert str(info.value) == "labels.npz: labels must be whole numbers in 0..9 (found 12 at row 4)"


# ------------------------------------------------------------------------------------------
# .pt / .pth
# ------------------------------------------------------------------------------------------


def test_pt_tensor(tmp_path):
    logits = torch.randn(5, 3)
    torch.save(logits, tmp_path / "t.pt")
    data = load_logits(tmp_path / "t.pt")
    assert data.logits.dtype == np.float32
    np.testing.assert_array_equal(data.logits, logits.numpy())
    assert data.targets is None


def test_pth_dict_with_aliases_and_class_names(tmp_path):
    logits = torch.randn(4, 3, dtype=torch.float64)
    obj = {"outputs": logits, "targets": torch.tensor([0, 2, 1, -100]), "classes": ["a", "b", "c"]}
    torch.save(obj, tmp_path / "d.pth")
    data = load_logits(tmp_path / "d.pth")
    assert data.logits.dtype == np.float64
    np.testing.assert_array_equal(data.logits, logits.numpy())
    assert data.targets.tolist() == [0, 2, 1, -100]
    assert data.class_names == ["a", "b", "c"]


@pytest.mark.parametrize("container", [tuple, list])
def test_pt_logits_labels_pair(tmp_path, container):
    logits = torch.randn(3, 2)
    torch.save(container([logits, torch.tensor([1, 0, 1])]), tmp_path / "p.pt")
    data = load_logits(tmp_path / "p.pt")
    np.testing.assert_array_equal(data.logits, logits.numpy())
    assert data.targets.tolist() == [1, 0, 1]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_tensors_become_float32(tmp_path, dtype):
    logits = torch.randn(3, 4).to(dtype)
    torch.save({"logits": logits}, tmp_path / "h.pt")
    data = load_logits(tmp_path / "h.pt")
    assert data.logits.dtype == np.float32
    np.testing.assert_array_equal(data.logits, logits.float().numpy())
    assert data.notices == [f"{str(dtype).removeprefix('torch.')} logits converted to float32"]


def test_pt_tensor_that_required_grad_and_3d_one_hot_labels(tmp_path):
    logits = torch.randn(2, 3, 4, requires_grad=True)
    labels = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2], [3, 3, 0]]), 4)
    torch.save({"logits": logits, "labels": labels}, tmp_path / "g.pt")
    data = load_logits(tmp_path / "g.pt")
    assert data.logits.shape == (6, 4)
    assert data.targets.tolist() == [0, 1, 2, 3, 3, 0]


# ------------------------------------------------------------------------------------------
# .csv / .tsv / .txt
# ------------------------------------------------------------------------------------------


def test_csv_without_header_is_all_logits(tmp_path):
    path = write(tmp_path / "raw.csv", "1,2,3\n4,5,6\n")
    data = load_logits(path)
    assert data.logits.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert data.class_names is None
    assert data.targets is None


def test_csv_header_with_label_column_anywhere_and_any_case(tmp_path):
    path = write(tmp_path / "h.csv", "cat,Target,dog\n0.5,1,-0.5\n2,0,1\n")
    data = load_logits(path)
    assert data.class_names == ["cat", "dog"]
    assert data.logits.tolist() == [[0.5, -0.5], [2, 1]]
    assert data.targets.tolist() == [1, 0]


def test_csv_special_values_bom_crlf_and_blank_lines(tmp_path):
    text = "\ufeffa,b\r\n\r\ninf,-inf\r\nnan,1e-3\r\n\r\n"
    data = load_logits(write(tmp_path / "s.csv", text))
    assert data.class_names == ["a", "b"]
    assert data.logits[0].tolist() == [np.inf, -np.inf]
    assert np.isnan(data.logits[1, 0])
    assert data.logits[1, 1] == 1e-3


def test_tsv_with_plain_header(tmp_path):
    path = write(tmp_path / "t.tsv", "a\tb\tlabels\n1\t2\t1\n4\t5\t0\n")
    data = load_logits(path)
    assert data.class_names == ["a", "b"]
    assert data.targets.tolist() == [1, 0]


@pytest.mark.parametrize(
    "text",
    ["1,2\n3,4\n", "1\t2\n3\t4\n", "1 2\n  3   4\n", "# a,b\n1,2\n3,4\n"],
    ids=["comma", "tab", "whitespace", "hash-header"],
)
def test_txt_delimiters(tmp_path, text):
    data = load_logits(write(tmp_path / "l.txt", text))
    assert data.logits.tolist() == [[1, 2], [3, 4]]


def test_pandas_style_index_column_and_integer_header(tmp_path):
    # pd.DataFrame(logits).to_csv("x.csv") writes exactly this.
    path = write(tmp_path / "pandas.csv", ",0,1,2\n0,0.1,0.2,0.3\n1,0.4,0.5,0.6\n")
    data = load_logits(path)
    assert data.class_names == ["0", "1", "2"]
    assert data.logits.tolist() == [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    assert data.notices == [
        "the first column (unnamed) is a row index (0, 1, 2, ...) and was ignored",
        "columns read: 3 class columns ('0', '1', '2')",
    ]


def test_csv_error_reports_file_row_column_and_text(tmp_path):
    path = write(tmp_path / "bad.csv", "a,b,c\n1,2,3\n\n4,five,6\n")
    with pytest.raises(DataError) as info:
        load_logits(path)
    assert str(info.value) == "bad.csv: row 4, column 2: 'five' is not a number"


def test_csv_label_errors_use_file_rows(tmp_path):
    path = write(tmp_path / "lab.csv", "a,b,label\n1,2,0\n1,2,1.5\n")
    with pytest.raises(DataError, match=r"found 1\.5 at row 3"):
        load_logits(path)


@pytest.mark.slow
def test_large_csv_loads_every_value_exactly(tmp_path):
    # How fast is bench/formats.py's business; here, only that every value is right.
    logits = RNG.normal(size=(50_000, 100))
    path = tmp_path / "big.csv"
    np.savetxt(path, logits, delimiter=",", fmt="%.17g")
    data = load_logits(path)
    np.testing.assert_array_equal(data.logits, logits)


# ------------------------------------------------------------------------------------------
# Probabilities
# ------------------------------------------------------------------------------------------


def test_probability_detection(tmp_path):
    logits = RNG.normal(size=(50, 6)) * 3
    np.save(tmp_path / "p.npy", softmax(logits))
    np.save(tmp_path / "z.npy", logits)
    np.save(tmp_path / "u.npy", RNG.uniform(size=(50, 6)))  # in [0, 1], rows do not sum to 1
    assert load_logits(tmp_path / "p.npy").looks_like_probabilities
    assert not load_logits(tmp_path / "z.npy").looks_like_probabilities
    assert not load_logits(tmp_path / "u.npy").looks_like_probabilities


def test_probability_detection_on_a_big_float32_memmap_and_with_nan(tmp_path):
    probs = softmax(RNG.normal(size=(20_000, 10))).astype(np.float32)
    np.save(tmp_path / "big.npy", probs)
    assert load_logits(tmp_path / "big.npy").looks_like_probabilities
    probs[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", probs)
    assert not load_logits(tmp_path / "nan.npy").looks_like_probabilities


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_as_log_probabilities(tmp_path, dtype):
    probs = np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    np.save(tmp_path / "p.npy", probs)
    data = load_logits(tmp_path / "p.npy")
    assert data.looks_like_probabilities
    converted = data.as_log_probabilities()  # filterwarnings=error: log(0) must stay silent
    assert isinstance(converted, LoadedLogits)
    assert converted.logits.dtype == dtype
    assert converted.logits[0, 2] == -np.inf
    np.testing.assert_allclose(np.exp(converted.logits), probs, rtol=1e-6)
    np.testing.assert_allclose(torch.softmax(torch.tensor(converted.logits), -1), probs)
    assert not converted.looks_like_probabilities
    assert len(converted.notices) == 1
    assert "probabilities" in converted.notices[0]
    assert data.notices == []  # the original record is untouched
    assert converted.source == data.source


# ------------------------------------------------------------------------------------------
# save_results_csv
# ------------------------------------------------------------------------------------------


def test_save_results_csv_content(tmp_path):
    path = tmp_path / "results.csv"
    save_results_csv(
        path,
        {
            "loss": np.array([0.1, np.inf, np.nan], dtype=np.float32),
            "p_target": np.array([1 / 3, 0.5, 1e-300]),
            "target": np.array([2, -100, 0]),
            "correct": np.array([True, False, True]),
            "predicted": np.array(["cat", "dog, big", "bird"]),
        },
    )
    assert path.read_text().splitlines() == [
        "sample,loss,p_target,target,correct,predicted",
        "0,0.1,0.3333333333333333,2,1,cat",
        '1,inf,0.5,-100,0,"dog, big"',
        "2,nan,1e-300,0,1,bird",
    ]


def test_save_results_csv_floats_are_exact(tmp_path):
    f32 = RNG.normal(size=100).astype(np.float32)
    f64 = RNG.normal(size=100)
    save_results_csv(tmp_path / "r.csv", {"a": f32, "b": f64})
    table = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(100))
    np.testing.assert_array_equal(table[:, 1].astype(np.float32), f32)
    np.testing.assert_array_equal(table[:, 2], f64)


def test_save_results_csv_with_no_columns_writes_the_header(tmp_path):
    save_results_csv(tmp_path / "r.csv", {})
    assert (tmp_path / "r.csv").read_text() == "sample\n"


@pytest.mark.parametrize(
    "columns",
    [
        {"a": np.zeros(3), "b": np.zeros(4)},
        {"a": np.zeros((3, 2))},
        {"sample": np.zeros(3)},
        {"a": np.zeros(3, dtype=np.complex64)},
    ],
    ids=["length-mismatch", "2-D", "reserved-name", "complex"],
)
def test_save_results_csv_rejects_bad_columns(tmp_path, columns):
    with pytest.raises(DataError, match=r"r\.csv"):
        save_results_csv(tmp_path / "r.csv", columns)
    assert not (tmp_path / "r.csv").exists()


# ------------------------------------------------------------------------------------------
# save_logits errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "kwargs", "phrase"),
    [
        ("a.npy", {}, "saved as .npz or .csv"),
        ("a.pt", {}, "saved as .npz or .csv"),
        ("a", {}, "no extension"),
        ("a.npz", {"targets": [0, 5]}, "found 5 at row 2"),
        ("a.npz", {"targets": [0]}, "labels have shape"),
        ("a.npz", {"class_names": ["x"]}, "1 class names"),
        ("a.csv", {"class_names": ["x", "y"]}, "label column"),
        ("a.csv", {"class_names": ["x", "Label"]}, "label column"),
        ("a.csv", {"class_names": ["x", "two\nlines"]}, "line breaks"),
        ("no_such_folder/a.npz", {}, "does not exist"),
    ],
)
def test_save_logits_errors(tmp_path, filename, kwargs, phrase):
    with pytest.raises(DataError, match=phrase):
        save_logits(tmp_path / filename, np.zeros((2, 2)), **kwargs)


@pytest.mark.parametrize(
    "logits",
    [
        np.zeros(3),
        np.zeros((0, 3)),
        np.array([["a", "b"]]),
        np.zeros((2, 2), complex),
        np.zeros((2, 2), bool),
        [[1.0, 2.0], [3.0]],
        torch.zeros(2, 2, requires_grad=True),
    ],
    ids=["1-D", "empty", "text", "complex", "bool", "ragged", "grad-tensor"],
)
def test_save_logits_rejects_bad_logits(tmp_path, logits):
    with pytest.raises(DataError, match=r"a\.npz"):
        save_logits(tmp_path / "a.npz", logits)


# ------------------------------------------------------------------------------------------
# Malformed files: a corpus of builders, each expected to end in DataError
# ------------------------------------------------------------------------------------------

Builder = Callable[[Path], Path]
MALFORMED: dict[str, tuple[Builder, str]] = {}


def malformed(case_id: str, phrase: str) -> Callable[[Builder], Builder]:
    """Register a builder of a broken file and a phrase its error message must contain."""

    def register(build: Builder) -> Builder:
        MALFORMED[case_id] = (build, phrase)
        return build

    return register


def npy_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def pt_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def good_npz(**extra: np.ndarray) -> bytes:
    return npz_bytes(logits=np.zeros((5, 10)), **extra)


# -- the file itself --
malformed("unknown-extension", "unsupported file type '.xyz'")(
    lambda d: write(d / "data.xyz", b"1,2\n")
)
malformed("no-extension", "without an extension")(lambda d: write(d / "logits", b"1,2\n"))
malformed("missing", "not found")(lambda d: d / "missing.npz")
malformed("missing-folder", "not found")(lambda d: d / "nowhere" / "missing.npz")


@malformed("folder", "folder")
def _folder(d: Path) -> Path:
    (d / "folder.npy").mkdir()
    return d / "folder.npy"


for _ext in (".npy", ".npz", ".pt", ".csv", ".tsv", ".txt"):
    malformed(f"empty{_ext}", "empty")(lambda d, ext=_ext: write(d / f"empty{ext}", b""))
malformed("blank-lines.csv", "empty")(lambda d: write(d / "blank.csv", "\n  \n\t\n"))

# -- .npy --
malformed("garbage.npy", "not a NumPy .npy file")(
    lambda d: write(d / "garbage.npy", b"garbage " + bytes(range(256)))
)
malformed("garbage.npz", "not a NumPy .npz file")(
    lambda d: write(d / "garbage.npz", b"\x00\x01garbage" * 10)
)
malformed("raw-pickle.npy", "pickled")(
    lambda d: write(d / "pickle.npy", pickle.dumps(np.zeros((2, 2))))
)
malformed("truncated-data.npy", "truncated")(
    lambda d: write(d / "cut.npy", npy_bytes(np.zeros((100, 10)))[:900])
)
malformed("truncated-header.npy", "header is damaged")(
    lambda d: write(d / "cut.npy", npy_bytes(np.zeros((100, 10)))[:40])
)
malformed("0-D.npy", "0-D")(lambda d: write(d / "scalar.npy", npy_bytes(np.float32(3))))
# A 1-D array is one binary score per sample (tests/core/test_loaders_binary.py).
malformed("1-D-empty.npy", "no samples")(lambda d: write(d / "vector.npy", npy_bytes(np.zeros(0))))
malformed("4-D.npy", "4-D")(lambda d: write(d / "4d.npy", npy_bytes(np.zeros((2, 2, 2, 2)))))
malformed("text.npy", "text")(lambda d: write(d / "text.npy", npy_bytes(np.array([["a", "b"]]))))
malformed("bytes.npy", "text")(lambda d: write(d / "bytes.npy", npy_bytes(np.array([[b"a"]]))))
malformed("complex.npy", "complex")(
    lambda d: write(d / "complex.npy", npy_bytes(np.zeros((2, 2), np.complex64)))
)
malformed("bool.npy", "true/false")(
    lambda d: write(d / "bool.npy", npy_bytes(np.zeros((2, 2), bool)))
)
malformed("structured.npy", "structured")(
    lambda d: write(d / "rec.npy", npy_bytes(np.zeros((2, 2), [("a", "f4"), ("b", "i4")])))
)
malformed("datetime.npy", "dates")(
    lambda d: write(d / "dates.npy", npy_bytes(np.zeros((2, 2), "datetime64[s]")))
)
malformed("object.npy", "Python objects")(
    lambda d: write(d / "obj.npy", npy_bytes(np.array([[1, 2]], object), allow_pickle=True))
)
malformed("no-samples.npy", "no samples")(
    lambda d: write(d / "n0.npy", npy_bytes(np.zeros((0, 10))))
)
malformed("no-classes.npy", "no classes")(
    lambda d: write(d / "c0.npy", npy_bytes(np.zeros((10, 0))))
)
malformed("no-samples-3-D.npy", "no samples")(
    lambda d: write(d / "n0.npy", npy_bytes(np.zeros((4, 0, 10), np.float32)))
)

# -- .npz --
malformed("truncated.npz", "truncated or damaged")(lambda d: write(d / "cut.npz", good_npz()[:300]))


@malformed("bad-crc.npz", "damaged")
def _bad_crc(d: Path) -> Path:
    data = bytearray(npz_bytes(logits=np.ones((50, 10))))
    data[400:420] = b"\x07" * 20  # inside the stored array data, so the CRC check fails
    return write(d / "crc.npz", bytes(data))


malformed("no-arrays.npz", "no arrays")(lambda d: write(d / "none.npz", npz_bytes()))
malformed("ambiguous.npz", "cannot tell which entry holds the logits")(
    lambda d: write(d / "two.npz", npz_bytes(a=np.zeros((2, 2)), b=np.zeros((2, 2))))
)
malformed("labels-only.npz", "no logits found")(
    lambda d: write(d / "lab.npz", npz_bytes(labels=np.zeros(3, int)))
)
malformed("fractional-labels.npz", "found 1.5 at row 2")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array([0, 1.5, 2, 3, 4])))
)
malformed("label-out-of-range.npz", "labels must be whole numbers in 0..9 (found 12 at row 4)")(
    lambda d: write(d / "labels.npz", good_npz(labels=np.array([1, 2, 3, 12, 4])))
)
malformed("negative-label.npz", "found -1 at row 1")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array([-1, 2, 3, 1, 4])))
)
malformed("nan-label.npz", "found nan at row 5")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array([0, 2, 3, 1, np.nan])))
)
malformed("inf-label.npz", "found inf at row 1")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array([np.inf, 2, 3, 1, 0])))
)
malformed("label-count.npz", "5 samples but the labels have shape (4,)")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array([0, 1, 2, 3])))
)
malformed("text-labels.npz", "the labels are 5 distinct class names")(
    lambda d: write(d / "l.npz", good_npz(labels=np.array(["a", "b", "c", "d", "e"])))
)
malformed("complex-labels.npz", "complex")(
    lambda d: write(d / "l.npz", good_npz(labels=np.zeros(5, complex)))
)
malformed("matrix-labels-not-one-hot.npz", "not one-hot")(
    lambda d: write(d / "l.npz", good_npz(labels=RNG.normal(size=(5, 10))))
)
malformed("class-name-count.npz", "3 class names but the logits have 10 classes")(
    lambda d: write(d / "l.npz", good_npz(class_names=np.array(["a", "b", "c"])))
)
malformed("object-logits.npz", "Python objects")(
    lambda d: write(d / "o.npz", npz_bytes(logits=np.array([[1, 2]], dtype=object)))
)
malformed("complex-logits.npz", "complex")(
    lambda d: write(d / "c.npz", npz_bytes(logits=np.zeros((2, 2), complex)))
)


@malformed("zip-without-arrays.npz", "numbers")
def _plain_zip(d: Path) -> Path:
    with zipfile.ZipFile(d / "notes.npz", "w") as archive:
        archive.writestr("readme.txt", "not an array")
    return d / "notes.npz"


# -- .pt --
malformed("garbage.pt", "not a plain tensor file")(
    lambda d: write(d / "garbage.pt", bytes(range(256)) * 4)
)
malformed("text.pt", "garbage.pt")(lambda d: write(d / "garbage.pt", b"hello, world"))
malformed("truncated.pt", "truncated or damaged")(
    lambda d: write(d / "cut.pt", pt_bytes(torch.zeros(50, 50))[:3000])
)
malformed("int.pt", "'int' object")(lambda d: write(d / "int.pt", pt_bytes(5)))
malformed("string.pt", "'str' object")(lambda d: write(d / "s.pt", pt_bytes("logits")))
malformed("state-dict.pt", "cannot tell which entry holds the logits")(
    lambda d: write(
        d / "model.pt", pt_bytes({"layer.weight": torch.zeros(3, 3), "layer.bias": torch.zeros(3)})
    )
)
malformed("empty-dict.pt", "dict is empty")(lambda d: write(d / "e.pt", pt_bytes({})))
malformed("int-keys.pt", "text keys")(lambda d: write(d / "k.pt", pt_bytes({0: torch.zeros(2, 2)})))
malformed("long-list.pt", "list of 5 items")(
    lambda d: write(d / "l.pt", pt_bytes([torch.zeros(2, 2)] * 5))
)
malformed("complex.pt", "complex")(
    lambda d: write(d / "c.pt", pt_bytes(torch.zeros(2, 2, dtype=torch.complex64)))
)
malformed("1-D-empty.pt", "no samples")(lambda d: write(d / "v.pt", pt_bytes(torch.zeros(0))))
malformed("label-out-of-range.pt", "found 3 at row 2")(
    lambda d: write(d / "l.pt", pt_bytes((torch.zeros(2, 3), torch.tensor([0, 3]))))
)
malformed("numpy-inside.pt", "would need to run code")(
    lambda d: write(d / "np.pt", pt_bytes({"logits": np.zeros((2, 2))}))
)
malformed("string-labels.pt", "not a tensor")(
    lambda d: write(d / "s.pt", pt_bytes({"logits": torch.zeros(2, 2), "labels": "ab"}))
)

# -- text --
malformed("ragged.csv", "row 3 has 2 values but the header has 3")(
    lambda d: write(d / "r.csv", "a,b,c\n1,2,3\n4,5\n")
)
malformed("ragged-no-header.csv", "row 2 has 3 values but row 1 has 2")(
    lambda d: write(d / "r.csv", "1,2\n4,5,6\n")
)
malformed("header-width.csv", "row 2 has 2 values but the header has 3")(
    lambda d: write(d / "h.csv", "a,b,c\n1,2\n3,4\n")
)
malformed("non-numeric.csv", "row 3, column 2: 'abc' is not a number")(
    lambda d: write(d / "n.csv", "a,b\n1,2\n3,abc\n")
)
malformed("empty-cell.csv", "row 1, column 2 is empty")(lambda d: write(d / "e.csv", "1,,3\n"))
malformed("trailing-comma.csv", "row 1, column 3 is empty")(
    lambda d: write(d / "t.csv", "1,2,\n3,4\n")
)
malformed("header-only.csv", "header row but no data rows")(
    lambda d: write(d / "h.csv", "cat,dog,label\n")
)
malformed("fractional-label.csv", "found 1.5 at row 3")(
    lambda d: write(d / "l.csv", "a,b,label\n1,2,0\n1,2,1.5\n")
)
malformed("label-out-of-range.csv", "labels must be whole numbers in 0..1 (found 2 at row 2)")(
    lambda d: write(d / "l.csv", "a,b,label\n1,2,2\n")
)
malformed("only-label-column.csv", "no class columns")(
    lambda d: write(d / "l.csv", "label\n1\n0\n")
)
malformed("two-label-columns.csv", "more than one label column")(
    lambda d: write(d / "l.csv", "a,label,target\n1,0,0\n")
)
malformed("not-utf8.csv", "not a UTF-8 text file")(
    lambda d: write(d / "latin1.csv", "caf\xe9,b\n1,2\n".encode("latin-1"))
)
malformed("nul-bytes.csv", "binary data")(lambda d: write(d / "nul.csv", b"1,2\x00\n3,4\n"))
malformed("binary.csv", "binary.csv")(lambda d: write(d / "binary.csv", bytes(range(256))))
malformed("ragged.tsv", "row 2 has 1 values but row 1 has 2")(
    lambda d: write(d / "r.tsv", "1\t2\n3\n")
)
malformed("non-numeric.txt", "row 2, column 1: 'x' is not a number")(
    lambda d: write(d / "w.txt", "1 2\nx 4\n")
)
malformed("tsv-y-and-label.tsv", "more than one label column")(
    lambda d: write(d / "t.tsv", "x\ty\tlabel\n1\t2\t0\n")
)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_raises_data_error(tmp_path, case):
    build, phrase = MALFORMED[case]
    path = build(tmp_path)
    with pytest.raises(DataError) as info:
        load_logits(path)
    message = str(info.value)
    assert message.startswith(f"{path.name}: ")
    assert phrase in message
    assert "\n" not in message  # one readable line, not a library traceback


def test_corpus_is_large():
    assert len(MALFORMED) >= 30


def test_str_and_pathlike_paths_behave_the_same(tmp_path):
    np.save(tmp_path / "l.npy", np.zeros((2, 2)))
    assert load_logits(str(tmp_path / "l.npy")).logits.shape == (2, 2)
    assert load_logits(os.fsencode(tmp_path / "l.npy")).source == str(tmp_path / "l.npy")


# ------------------------------------------------------------------------------------------
# Unexpected failures are still DataErrors
# ------------------------------------------------------------------------------------------


def test_permission_denied_is_a_data_error(tmp_path, monkeypatch):
    np.save(tmp_path / "l.npy", np.zeros((2, 2)))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Only the loader module's open() is replaced; running as root would defeat chmod.
    monkeypatch.setattr(loaders, "open", refuse, raising=False)
    with pytest.raises(DataError, match=r"l\.npy: permission denied"):
        load_logits(tmp_path / "l.npy")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unreadable_file_is_a_data_error(tmp_path):
    path = write(tmp_path / "secret.csv", "1,2\n")
    path.chmod(0)
    try:
        with pytest.raises(DataError, match="permission denied"):
            load_logits(path)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        RuntimeError("boom"),
        KeyError("x"),
        OSError(5, "Input/output error"),
        EOFError(),
        zipfile.BadZipFile("bad"),
        pickle.UnpicklingError("nope"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_any_exception_inside_becomes_data_error(tmp_path, monkeypatch, error):
    np.save(tmp_path / "l.npy", np.zeros((2, 2)))

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(np, "load", fail)
    with pytest.raises(DataError, match=r"^l\.npy: ") as info:
        load_logits(tmp_path / "l.npy")
    assert info.value.__cause__ is error


# ------------------------------------------------------------------------------------------
# Security: pickle payloads never run
# ------------------------------------------------------------------------------------------


class Payload:
    """Unpickling this creates the file ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_payload_really_runs_when_unpickled(tmp_path):
    # Guards the security tests below against passing vacuously.
    marker = tmp_path / "ran"
    opened = pickle.loads(pickle.dumps(Payload(marker)))
    opened.close()
    assert marker.exists()


PAYLOAD_FILES: dict[str, Callable[[Path, Path], Path]] = {
    "torch.save(payload)": lambda d, m: write(d / "evil.pt", pt_bytes(Payload(m))),
    "dict with payload .pth": lambda d, m: write(
        d / "evil.pth", pt_bytes({"logits": torch.zeros(2, 2), "labels": Payload(m)})
    ),
    "raw pickle .pt": lambda d, m: write(d / "evil.pt", pickle.dumps(Payload(m))),
    "raw pickle .pt protocol 2": lambda d, m: write(d / "evil.pt", pickle.dumps(Payload(m), 2)),
    "object .npy": lambda d, m: write(
        d / "evil.npy", npy_bytes(np.array([[Payload(m)]], dtype=object), allow_pickle=True)
    ),
    "raw pickle .npy": lambda d, m: write(d / "evil.npy", pickle.dumps(Payload(m))),
    "object .npz logits": lambda d, m: write(
        d / "evil.npz", npz_bytes(logits=np.array([[Payload(m)]], dtype=object))
    ),
    "object .npz labels": lambda d, m: write(
        d / "evil.npz", good_npz(labels=np.array([Payload(m)] * 5, dtype=object))
    ),
    "raw pickle .csv": lambda d, m: write(d / "evil.csv", pickle.dumps(Payload(m))),
}


@pytest.mark.parametrize("case", sorted(PAYLOAD_FILES))
@pytest.mark.parametrize("mmap", [True, False])
def test_pickle_payload_never_runs(tmp_path, case, mmap):
    marker = tmp_path / "pwned"
    path = PAYLOAD_FILES[case](tmp_path, marker)
    assert not marker.exists()
    with pytest.raises(DataError) as info:
        load_logits(path, mmap=mmap)
    assert not marker.exists()
    assert str(info.value).startswith(f"{path.name}: ")


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------


def load_or_error(path: Path) -> LoadedLogits | DataError:
    try:
        return load_logits(path)
    except DataError as exc:
        return exc


@st.composite
def logits_files(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n = draw(st.integers(1, 12))
    c = draw(st.integers(1, 6))
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(allow_nan=True, allow_infinity=True, width=width)
    logits = draw(hnp.arrays(dtype, (n, c), elements=elements))
    targets = None
    if draw(st.booleans()):
        targets = np.array(
            draw(st.lists(st.sampled_from([-100, *range(c)]), min_size=n, max_size=n))
        )
    names = None
    if draw(st.booleans()):
        name = st.text(alphabet="abcXYZ0159 ,.-_'\"é", min_size=1, max_size=6).filter(
            lambda s: s == s.strip() and s.lower() not in {"label", "labels", "target", "y"}
        )
        names = draw(st.lists(name, min_size=c, max_size=c))
    return logits, targets, names


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(case=logits_files(), ext=st.sampled_from([".npz", ".csv"]))
def test_save_then_load_round_trips(case, ext):
    logits, targets, names = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x{ext}"
        save_logits(path, logits, targets, names)
        data = load_logits(path)
        if ext == ".npz":
            assert data.logits.dtype == logits.dtype
            expected = names
        else:
            expected = names or [f"class_{j}" for j in range(logits.shape[1])]
        if logits.shape[1] == 1:  # one score per sample: binary logits [0, z]
            assert data.binary
            assert data.class_names == (expected and [f"not {expected[0]}", expected[0]])
            logits = np.concatenate([np.zeros_like(logits), logits], axis=1)
        else:
            assert data.class_names == expected
        np.testing.assert_array_equal(data.logits.astype(logits.dtype), logits)
        if targets is None:
            assert data.targets is None
        else:
            np.testing.assert_array_equal(data.targets, targets)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=400),
    ext=st.sampled_from([".npy", ".npz", ".pt", ".csv", ".tsv", ".txt"]),
)
def test_arbitrary_bytes_load_or_raise_data_error(data, ext):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        path.write_bytes(data)
        outcome = load_or_error(path)
        if isinstance(outcome, DataError):
            assert str(outcome).startswith("fuzz")
        else:
            assert outcome.logits.ndim == 2


VALID_FILES = {
    ".npy": npy_bytes(np.arange(12, dtype=np.float32).reshape(3, 4)),
    ".npz": npz_bytes(logits=np.zeros((3, 4)), labels=np.array([0, 1, 2])),
    ".pt": pt_bytes({"logits": torch.zeros(3, 4), "labels": torch.tensor([0, 1, 2])}),
    ".csv": b"a,b,label\n1,2,0\n3,4,1\n",
}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    ext=st.sampled_from(sorted(VALID_FILES)),
    cut=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
)
def test_damaged_valid_files_load_or_raise_data_error(ext, cut, flips):
    data = bytearray(VALID_FILES[ext][: max(1, cut)])
    for position, value in flips:
        data[position % len(data)] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"damaged{ext}"
        path.write_bytes(bytes(data))
        outcome = load_or_error(path)
        if isinstance(outcome, DataError):
            assert str(outcome).startswith("damaged")
        else:
            assert outcome.logits.ndim == 2


def test_a_file_larger_than_free_memory_is_refused_with_a_way_out(tmp_path, monkeypatch):
    import softmax_lab.core.loaders as module

    path = tmp_path / "huge.csv"
    path.write_text("1,2\n3,4\n")
    monkeypatch.setattr(module, "available_memory", lambda: 10)
    with pytest.raises(DataError, match=r"huge\.csv: reading this .* Save the logits as \.npy"):
        load_logits(path)
    npy = tmp_path / "huge.npy"
    np.save(npy, np.zeros((2, 2), dtype=np.float32))
    assert load_logits(npy).logits.shape == (2, 2)  # memory-mapped: any size opens


def test_available_memory_reads_the_system():
    from softmax_lab.core.loaders import available_memory

    free = available_memory()
    assert free is None or free > 0
