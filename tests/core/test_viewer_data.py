"""What softmax_lab.view accepts: checked and copied in the caller's thread, every bad input a
ValueError naming the problem (core.viewer_data)."""

import numpy as np
import pytest
import torch

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.viewer_data import build_document, prepare_view_data

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3))
Y = np.array([0, 1, 2, 0, 1, 2])


def test_numpy_torch_and_lists_give_the_same_copy():
    a = prepare_view_data(X, Y)
    b = prepare_view_data(torch.tensor(X), torch.tensor(Y))
    c = prepare_view_data(X.tolist(), Y.tolist())
    for d in (a, b, c):
        np.testing.assert_array_equal(d.logits, X)
        assert d.labels.tolist() == Y.tolist()
        assert d.has_labels
        assert not d.binary
    mine = X.copy()
    d = prepare_view_data(mine, Y)
    mine[0, 0] = 99.0  # a training loop overwrites its buffer: the window keeps what it got
    assert d.logits[0, 0] == X[0, 0]


def test_half_precision_tensors_and_integers_become_floats():
    d = prepare_view_data(torch.tensor(X, dtype=torch.bfloat16))
    assert d.logits.dtype == np.float32
    assert prepare_view_data(np.arange(6).reshape(3, 2)).logits.dtype == np.float64
    assert prepare_view_data(X.astype(np.float16)).logits.dtype == np.float32


def test_no_labels_and_binary_scores():
    d = prepare_view_data(X)
    assert not d.has_labels
    assert (d.labels == IGNORE_INDEX).all()
    d = prepare_view_data(np.array([1.0, -2.0, 0.5]), [True, False, True], class_names=["cat"])
    assert d.binary
    assert d.logits.tolist() == [[0, 1.0], [0, -2.0], [0, 0.5]]
    assert d.labels.tolist() == [1, 0, 1]
    assert d.class_names == ["not cat", "cat"]
    assert prepare_view_data(np.ones((4, 1))).binary


def test_labels_by_class_name_and_ignore():
    d = prepare_view_data(X[:3], ["b", "a", -100], class_names=["a", "b", "c"])
    assert d.labels.tolist() == [1, 0, IGNORE_INDEX]


def test_inputs_are_built_and_kept_or_replaced():
    d = prepare_view_data(X, images=np.zeros((6, 4, 4)), texts=list("abcdef"))
    assert d.inputs.images.shape == (6, 4, 4)
    assert d.inputs.texts[2] == "c"
    assert prepare_view_data(X, current_shape=(6, 3)).inputs is None  # keep the window's
    assert prepare_view_data(X, current_shape=(5, 3)).inputs.is_empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"logits": np.array([[1, "a"]], dtype=object)}, "not Python objects"),
        ({"logits": [[1.0, 2.0], [3.0]]}, "not a rectangular array"),
        ({"logits": np.array([[1j, 2]])}, "complex"),
        ({"logits": np.array([["a", "b"]])}, "must be numbers"),
        ({"logits": np.zeros((2, 3, 4))}, r"must be \(N, C\)"),
        ({"logits": np.zeros((0, 3))}, "empty"),
        ({"logits": 3.0}, r"must be \(N, C\)"),
        ({"labels": Y[:4]}, "got 4 labels for 6 samples"),
        ({"labels": Y + 1}, "label 3 of sample 2 is not a class 0..2"),
        ({"labels": Y - 1}, "label -1 of sample 0"),
        ({"labels": Y + 0.5}, "whole numbers"),
        ({"labels": np.zeros((6, 3))}, r"one class per sample"),
        ({"labels": ["x"] * 6}, "'x' of sample 0 is not a class name"),
        ({"class_names": ["a", "b"]}, "2 class names for 3 classes"),
        ({"class_names": ["a", "a", "b"]}, "unique"),
        ({"class_names": "abc"}, "not a single string"),
        ({"class_names": ["a", " ", "b"]}, "empty"),
        ({"images": np.zeros((5, 4, 4))}, "got 5 images for 6 samples"),
        ({"images": np.zeros((6, 4, 4), dtype=object)}, "images must be numbers"),
        ({"images": np.full((6, 4, 4), 2.0)}, r"values in \[0, 1\]"),
        ({"images": np.zeros((6, 4))}, r"\(N, H, W\)"),
        ({"images": [np.zeros((4, 4)), np.zeros((5, 5))] * 3}, "rectangular"),
        ({"texts": ["a", ["b", "c"], "d", "e", "f", "g"]}, "text 1 is a list"),
        ({"texts": ["a"] * 5}, "got 5 texts for 6 samples"),
        ({"texts": "abcdef"}, "not a single string"),
        ({"metadata": {"split": ["a"] * 5}}, "has 5 values for 6 samples"),
        ({"metadata": {"split": np.array([{}] * 6, dtype=object)}}, "not objects"),
        ({"metadata": {"": np.zeros(6)}}, "non-empty text"),
        ({"metadata": [1, 2]}, "mapping"),
        ({"temperature": 0.0}, "temperature must be in"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"compare": np.zeros((6, 4))}, "compare logits must have the shape"),
        ({"compare": np.zeros((6, 3)), "names": ("A",)}, "two non-empty model names"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_problem(kwargs, message):
    args = {"logits": X, "labels": Y, **kwargs}
    logits, labels = args.pop("logits"), args.pop("labels")
    with pytest.raises(ValueError, match=message):
        prepare_view_data(logits, labels, **args)


def test_build_document_has_no_history_even_when_comparing():
    d = prepare_view_data(X, Y, temperature=2.0, compare=X * 2, names=("old", "new"))
    doc = build_document(d)
    assert not doc.can_undo
    assert doc.settings.temperature == 2.0
    assert doc.model_names == ("old", "new")
    np.testing.assert_array_equal(doc.logits_b, X * 2)
