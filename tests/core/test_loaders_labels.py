"""load_labels: a labels file for a table that is already loaded, in every format."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_files import npz_bytes, pt_bytes, write

from softmax_lab.core.loaders import DataError, load_labels

NAMES = ["cat", "dog", "bird"]
EXPECTED = [2, 0, -100, 1]


def npy(path, array, **kwargs):
    np.save(path, array, **kwargs)
    return path


BUILDERS = {
    ".npy": lambda d: npy(d / "y.npy", np.array(EXPECTED)),
    ".npy float": lambda d: npy(d / "y.npy", np.array(EXPECTED, dtype=np.float32)),
    ".npy column": lambda d: npy(d / "y.npy", np.array(EXPECTED)[:, None]),
    ".npz labels": lambda d: write(d / "y.npz", npz_bytes(labels=np.array(EXPECTED), x=np.ones(2))),
    ".npz single": lambda d: write(d / "y.npz", npz_bytes(anything=np.array(EXPECTED))),
    ".pt tensor": lambda d: write(d / "y.pt", pt_bytes(torch.tensor(EXPECTED))),
    ".pt dict": lambda d: write(d / "y.pt", pt_bytes({"targets": torch.tensor(EXPECTED)})),
    ".pt list": lambda d: write(d / "y.pt", pt_bytes(EXPECTED)),
    ".csv column": lambda d: write(d / "y.csv", "id,label\na,2\nb,0\nc,-100\nd,1\n"),
    ".csv single": lambda d: write(d / "y.csv", "2\n0\n-100\n1\n"),
    ".csv header": lambda d: write(d / "y.csv", "class\n2\n0\n-100\n1\n"),
    ".tsv": lambda d: write(d / "y.tsv", "Target\tx\n2\t.\n0\t.\n-100\t.\n1\t.\n"),
    ".txt": lambda d: write(d / "y.txt", "2\n0\n\n-100\n1.0\n"),
}


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_integer_labels_in_every_format(tmp_path, case):
    labels = load_labels(BUILDERS[case](tmp_path), 4)
    assert labels.dtype == np.int64
    assert labels.tolist() == EXPECTED
    assert not labels.flags.writeable


@pytest.mark.parametrize(
    "build",
    [
        lambda d: write(d / "y.txt", "bird\ncat\n-100\ndog\n"),
        lambda d: write(d / "y.csv", "label\nbird\ncat\n-100\ndog\n"),
        lambda d: write(d / "y.csv", "bird\ncat\n-100\ndog\n"),
        lambda d: npy(d / "y.npy", np.array(["bird", "cat", "-100", "dog"])),
        lambda d: write(
            d / "y.npz", npz_bytes(labels=np.array([b"bird", b"cat", b"-100", b"dog"]))
        ),
        lambda d: write(d / "y.pt", pt_bytes(["bird", "cat", "-100", "dog"])),
    ],
    ids=["txt", "csv-header", "csv-no-header", "npy", "npz-bytes", "pt-list"],
)
def test_class_names_as_labels(tmp_path, build):
    assert load_labels(build(tmp_path), 4, NAMES).tolist() == EXPECTED


def test_names_and_indices_mix_when_names_are_given(tmp_path):
    path = write(tmp_path / "y.txt", "bird\n0\n-100\n1\n")
    assert load_labels(path, 4, NAMES).tolist() == EXPECTED


def test_boolean_labels(tmp_path):
    path = npy(tmp_path / "y.npy", np.array([True, False, True]))
    assert load_labels(path, 3).tolist() == [1, 0, 1]


def test_one_hot_labels_with_class_names(tmp_path):
    path = npy(tmp_path / "y.npy", np.eye(3)[[2, 0, 1]])
    assert load_labels(path, 3, NAMES).tolist() == [2, 0, 1]


def test_sequence_labels_are_flattened(tmp_path):
    path = npy(tmp_path / "y.npy", np.array([[1, 2, -100], [0, 0, 1]]))
    assert load_labels(path, 6).tolist() == [1, 2, -100, 0, 0, 1]


@pytest.mark.parametrize(
    ("build", "n", "names", "message"),
    [
        (
            lambda d: write(d / "y.txt", "\n".join(["1"] * 9)),
            10,
            None,
            "y.txt: the file has 9 labels but the table has 10 samples",
        ),
        (
            lambda d: npy(d / "y.npy", np.arange(12)),
            10,
            None,
            "y.npy: the file has 12 labels but the table has 10 samples",
        ),
        (
            lambda d: write(d / "y.txt", "cat\ncta\ndgo\nbrd\nx1\nx2\nx3\ncat\n"),
            8,
            NAMES,
            "y.txt: unknown class names: 'cta', 'dgo', 'brd', 'x1', 'x2' and 1 more "
            "(the classes are 'cat', 'dog', 'bird')",
        ),
        (
            lambda d: write(d / "y.txt", "cat\n"),
            1,
            None,
            "y.txt: row 1: 'cat' is not a whole number; pass the class names to read labels "
            "written as names",
        ),
        (
            lambda d: write(d / "y.txt", "0\n1.5\n"),
            2,
            None,
            "y.txt: labels must be whole numbers (found '1.5' at row 2)",
        ),
        (
            lambda d: write(d / "y.txt", "0\n3\n"),
            2,
            NAMES,
            "y.txt: labels must be whole numbers in 0..2 (found 3 at row 2)",
        ),
        (
            lambda d: write(d / "y.txt", "0\n-1\n"),
            2,
            None,
            "y.txt: labels must be whole numbers >= 0 (found -1 at row 2)",
        ),
        (
            lambda d: write(d / "y.txt", "0\nnan\n"),
            2,
            None,
            "y.txt: labels must be whole numbers (found 'nan' at row 2)",
        ),
        (
            lambda d: npy(d / "y.npy", np.array([0.0, np.inf])),
            2,
            None,
            "y.npy: labels must be whole numbers >= 0 (found inf at row 2)",
        ),
        (
            lambda d: write(d / "y.csv", "a,b\n1,2\n"),
            1,
            None,
            "y.csv: has 2 columns and none is named 'label'",
        ),
        (
            lambda d: write(d / "y.npz", npz_bytes(a=np.zeros(2), b=np.zeros(2))),
            2,
            None,
            "y.npz: cannot tell which entry holds the labels (found 'a', 'b'); name it 'labels'",
        ),
        (
            lambda d: npy(d / "y.npy", np.zeros(2, complex)),
            2,
            None,
            "y.npy: labels must be whole numbers, not complex numbers",
        ),
        (
            lambda d: write(d / "y.pt", pt_bytes({"labels": torch.zeros(2), 3: 1})),
            2,
            None,
            "y.pt: the saved dict must have text keys",
        ),
        (lambda d: write(d / "y.pt", pt_bytes(7)), 2, None, "y.pt: holds a Python 'int' object"),
        (lambda d: write(d / "y.json", "[1]"), 1, None, "y.json: unsupported file type '.json'"),
        (lambda d: write(d / "y.txt", " \n\n"), 1, None, "y.txt: the file is empty"),
        (lambda d: d / "missing.txt", 1, None, "missing.txt: file not found"),
        (lambda d: write(d / "y.npy", b"garbage!"), 1, None, "y.npy: not a NumPy .npy file"),
    ],
    ids=[
        "too-few",
        "too-many",
        "unknown-names",
        "names-without-class-names",
        "fraction",
        "out-of-range",
        "negative",
        "nan-text",
        "inf",
        "two-columns",
        "ambiguous-npz",
        "complex",
        "int-keys",
        "int-pt",
        "extension",
        "blank",
        "missing",
        "garbage-npy",
    ],
)
def test_bad_label_files(tmp_path, build, n, names, message):
    with pytest.raises(DataError) as info:
        load_labels(build(tmp_path), n, names)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    "build",
    [
        lambda d, m: npy(d / "y.npy", np.array([Payload(m)] * 2, dtype=object), allow_pickle=True),
        lambda d, m: write(d / "y.npz", npz_bytes(labels=np.array([Payload(m)] * 2, dtype=object))),
        lambda d, m: write(d / "y.pt", pt_bytes({"labels": Payload(m)})),
        lambda d, m: write(d / "y.pt", pickle.dumps(Payload(m))),
    ],
    ids=["npy", "npz", "pt", "raw-pickle"],
)
def test_label_files_never_unpickle(tmp_path, build):
    marker = tmp_path / "pwned"
    path = build(tmp_path, marker)
    with pytest.raises(DataError, match=rf"^{path.name}: "):
        load_labels(path, 2)
    assert not marker.exists()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=300),
    ext=st.sampled_from([".npy", ".npz", ".pt", ".csv", ".tsv", ".txt"]),
    names=st.sampled_from([None, NAMES]),
)
def test_arbitrary_bytes_give_labels_or_a_data_error(data, ext, names):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        path.write_bytes(data)
        labels = attempt(lambda: load_labels(path, 3, names))
        if isinstance(labels, DataError):
            assert str(labels).startswith("fuzz")
        else:
            assert labels.shape == (3,)
            assert labels.dtype == np.int64


def attempt(load):
    """The loaded value, or the DataError it raised."""
    try:
        return load()
    except DataError as exc:
        return exc
