"""One score per sample, (N,) or (N, 1), loads as two classes [0, z]: softmax is the sigmoid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from loader_files import npz_bytes, pt_bytes, softmax, write

from softmax_lab.core.loaders import DataError, load_logits

NOTICE = "binary logits z loaded as two classes [0, z]: softmax gives [1 − σ(z), σ(z)]"
RNG = np.random.default_rng(7)


def binary_file(tmp_path, fmt: str, z: np.ndarray, labels=None):
    if fmt == ".npy":
        np.save(tmp_path / "z.npy", z)
        return tmp_path / "z.npy"
    if fmt == ".npz":
        extra = {} if labels is None else {"labels": labels}
        return write(tmp_path / "z.npz", npz_bytes(logits=z, **extra))
    if fmt == ".pt":
        obj = {"logits": torch.from_numpy(z)}
        if labels is not None:
            obj["labels"] = torch.from_numpy(np.asarray(labels))
        return write(tmp_path / "z.pt", pt_bytes(obj))
    column = z.reshape(-1)
    rows = "".join(
        f"{v!r}" + ("" if labels is None else f",{int(y)}") + "\n"
        for v, y in zip(column.tolist(), labels if labels is not None else column, strict=True)
    )
    return write(tmp_path / "z.csv", "score" + ("" if labels is None else ",label") + "\n" + rows)


@pytest.mark.parametrize("fmt", [".npy", ".npz", ".pt", ".csv"])
@pytest.mark.parametrize("shape", ["(N,)", "(N, 1)"])
def test_one_score_per_sample_loads_as_zero_and_z(tmp_path, fmt, shape):
    z = RNG.normal(size=9).astype(np.float32)
    stored = z if shape == "(N,)" else z[:, None]
    data = load_logits(binary_file(tmp_path, fmt, stored))
    assert data.binary
    assert data.logits.shape == (9, 2)
    assert data.logits.dtype == (np.float64 if fmt == ".csv" else np.float32)
    np.testing.assert_array_equal(data.logits[:, 0], 0)
    np.testing.assert_array_equal(data.logits[:, 1], z)
    assert NOTICE in data.notices
    assert not data.logits.flags.writeable
    sigmoid = torch.sigmoid(torch.from_numpy(z.astype(np.float64))).numpy()
    np.testing.assert_allclose(softmax(data.logits)[:, 1], sigmoid, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_keeps_float32_and_float64(tmp_path, dtype):
    np.save(tmp_path / "z.npy", np.linspace(-3, 3, 5).astype(dtype))
    assert load_logits(tmp_path / "z.npy").logits.dtype == dtype


def test_two_column_logits_are_not_binary(tmp_path):
    np.save(tmp_path / "two.npy", np.zeros((4, 2), np.float32))
    data = load_logits(tmp_path / "two.npy")
    assert not data.binary
    assert NOTICE not in data.notices


@pytest.mark.parametrize(
    "labels",
    [np.array([0, 1, 1, 0]), np.array([True, False, True, True]), np.array([[0], [1], [1], [0]])],
    ids=["ints", "bools", "column"],
)
@pytest.mark.parametrize("fmt", [".npz", ".pt"])
def test_binary_labels_zero_one_or_booleans(tmp_path, labels, fmt):
    data = load_logits(binary_file(tmp_path, fmt, np.array([0.5, -1.0, 2.0, 0.0]), labels))
    assert data.targets.dtype == np.int64
    np.testing.assert_array_equal(data.targets, labels.reshape(-1).astype(int))


def test_binary_labels_in_csv(tmp_path):
    data = load_logits(binary_file(tmp_path, ".csv", np.array([0.5, -1.5]), np.array([1, 0])))
    assert data.binary
    assert data.targets.tolist() == [1, 0]
    assert data.class_names == ["not score", "score"]


def test_binary_label_two_is_out_of_range(tmp_path):
    path = binary_file(tmp_path, ".npz", np.zeros(3), np.array([0, 2, 1]))
    with pytest.raises(
        DataError, match=r"z\.npz: labels must be whole numbers in 0\.\.1 \(found 2"
    ):
        load_logits(path)


def test_binary_one_hot_labels(tmp_path):
    path = binary_file(tmp_path, ".npz", np.zeros(3), np.eye(2)[[1, 0, 1]])
    assert load_logits(path).targets.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("names", "expected"),
    [(["spam"], ["not spam", "spam"]), (["ham", "spam"], ["ham", "spam"])],
)
def test_binary_class_names(tmp_path, names, expected):
    write(tmp_path / "n.npz", npz_bytes(logits=np.zeros(3), class_names=np.array(names)))
    assert load_logits(tmp_path / "n.npz").class_names == expected


def test_binary_with_three_class_names_is_an_error(tmp_path):
    write(tmp_path / "n.npz", npz_bytes(logits=np.zeros(3), class_names=np.array(["a", "b", "c"])))
    with pytest.raises(DataError, match="3 class names but the logits have 2 classes"):
        load_logits(tmp_path / "n.npz")


def test_sigmoid_probabilities_are_detected_and_converted(tmp_path):
    p = np.array([0.1, 0.5, 0.99, 0.0, 1.0])
    np.save(tmp_path / "p.npy", p)
    data = load_logits(tmp_path / "p.npy")
    assert data.looks_like_probabilities
    converted = data.as_log_probabilities()
    assert converted.binary
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(softmax(converted.logits), np.stack([1 - p, p], axis=1))
    np.save(tmp_path / "z.npy", np.array([0.1, -0.5]))
    assert not load_logits(tmp_path / "z.npy").looks_like_probabilities


def test_3d_logits_with_one_class_are_never_binary_scores(tmp_path):
    # (B, T, 1) is a language model with a one-token vocabulary: every target is token 0,
    # whose log-probability is 0 (torch agrees), not per-position binary scores [0, z].
    z = RNG.normal(size=(2, 3, 1))
    np.save(tmp_path / "seq.npy", z)
    data = load_logits(tmp_path / "seq.npy")
    assert not data.binary
    assert data.sequence_shape == (2, 3)
    np.testing.assert_array_equal(data.logits, z.reshape(-1, 1))


@settings(max_examples=60, deadline=None)
@given(
    z=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        st.integers(1, 20),
        elements=st.floats(-80, 80, width=32),
    )
)
def test_softmax_of_loaded_binary_is_torch_sigmoid(tmp_path_factory, z):
    path = tmp_path_factory.mktemp("b") / "z.npy"
    np.save(path, z)
    data = load_logits(path)
    p = torch.softmax(torch.from_numpy(np.array(data.logits)), dim=1)[:, 1]
    torch.testing.assert_close(p, torch.sigmoid(torch.from_numpy(z)))
