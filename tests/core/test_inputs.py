"""core.inputs and the document: images, texts and metadata stay aligned with their rows through
every edit, undo and workspace; hostile inputs are refused with the problem named."""

import numpy as np
import pytest
import torch

from softmax_lab.core.document import Document
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.workspace import Workspace, WorkspaceError, load_workspace, save_workspace


def inputs(n=4):
    rng = np.random.default_rng(0)
    return SampleInputs.build(
        n,
        images=rng.integers(0, 255, (n, 5, 6), dtype=np.uint8),
        texts=[f"text {i}" for i in range(n)],
        metadata={
            "split": np.array(["train", "val", "train", "test"][:n]),
            "weight": np.arange(n, dtype=float),
            "flagged": np.arange(n) % 2 == 0,
        },
    )


def doc_with_inputs(n=4):
    return Document(np.arange(n * 3, dtype=float).reshape(n, 3), np.arange(n) % 3, inputs=inputs(n))


def test_build_accepts_tensors_floats_and_channels():
    x = SampleInputs.build(2, images=torch.rand(2, 3, 3, 3), texts=("a", np.str_("b")))
    assert x.images.shape == (2, 3, 3, 3)
    assert list(x.texts) == ["a", "b"]
    gray = SampleInputs.build(2, images=np.zeros((2, 4, 4, 1)))
    assert gray.images.shape == (2, 4, 4)
    assert SampleInputs.build(3).is_empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": np.zeros((3, 4, 4))}, "got 3 images for 2 samples"),
        ({"images": np.zeros((2, 4))}, "images must be"),
        ({"images": np.zeros((2, 4, 4, 2))}, "images must be"),
        ({"images": np.full((2, 4, 4), 2.0)}, r"\[0, 1\]"),
        ({"images": np.full((2, 4, 4), np.nan)}, r"\[0, 1\]"),
        ({"images": np.full((2, 4, 4), 300)}, "0..255"),
        ({"images": np.array([["a", "b"]] * 2)}, "images must be numbers"),
        ({"texts": "ab"}, "not a single string"),
        ({"texts": ["a"]}, "got 1 texts for 2 samples"),
        ({"texts": ["a", 3]}, "text 1 is a int"),
        ({"texts": 5}, "sequence of strings"),
        ({"metadata": {"m": [1, 2, 3]}}, "has 3 values for 2 samples"),
        ({"metadata": {"m": [[1], [2]]}}, "one value per sample"),
        ({"metadata": {"m": np.array([{}, {}], dtype=object)}}, "not objects"),
        ({"metadata": {"": [1, 2]}}, "non-empty text"),
        ({"metadata": [1, 2]}, "mapping"),
        ({"metadata": {"m": [[1, 2], [3]]}}, "rectangular"),
    ],
)
def test_hostile_inputs_are_refused_with_the_problem_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleInputs.build(2, **kwargs)


def test_rows_keep_their_inputs_through_every_structural_edit_and_undo():
    doc = doc_with_inputs()
    start = doc.inputs
    doc.remove_samples([1])
    assert list(doc.inputs.texts) == ["text 0", "text 2", "text 3"]
    np.testing.assert_array_equal(doc.inputs.metadata["weight"], [0.0, 2.0, 3.0])
    doc.duplicate_samples([0])
    assert list(doc.inputs.texts) == ["text 0", "text 0", "text 2", "text 3"]
    np.testing.assert_array_equal(doc.inputs.images[1], start.images[0])
    doc.insert_samples(4, np.zeros((1, 3)))
    assert doc.inputs.texts[-1] == ""
    assert np.isnan(doc.inputs.metadata["weight"][-1])
    assert not doc.inputs.metadata["flagged"][-1]
    assert doc.inputs.metadata["split"][-1] == ""
    assert (doc.inputs.images[-1] == 0).all()
    doc.paste_logits(4, 0, np.ones((3, 3)))  # two rows past the end: the table grows
    assert len(doc.inputs.texts) == doc.n_samples == 7
    doc.insert_class(1)  # classes do not touch the inputs
    assert len(doc.inputs.texts) == 7
    while doc.can_undo:
        doc.undo()
    assert doc.inputs.same(start)


def test_replace_all_keeps_inputs_for_the_same_rows_and_drops_them_otherwise():
    doc = doc_with_inputs()
    doc.replace_all(np.zeros((4, 3)), [0, 1, 2, 0], text="Randomize")
    assert not doc.inputs.is_empty
    doc.replace_all(np.zeros((2, 3)), [0, 1], text="Preset")
    assert doc.inputs.is_empty
    doc.undo()
    assert not doc.inputs.is_empty
    with pytest.raises(ValueError, match="inputs describe 4 samples, the table has 2"):
        doc.replace_all(np.zeros((2, 3)), [0, 1], inputs=inputs(4))


def test_attaching_inputs_is_one_undo_step_and_recomputes_nothing():
    doc = Document(np.zeros((4, 3)), [0, 1, 2, 0])
    before = doc.evaluation
    doc.set_inputs(inputs())
    assert doc.evaluation is before
    assert doc.undo_text == "Attach inputs"
    doc.undo()
    assert doc.inputs.is_empty


def test_workspaces_keep_inputs_in_a_sidecar(tmp_path):
    doc = doc_with_inputs()
    path = tmp_path / "w.softmaxlab.json"
    save_workspace(path, Workspace.from_document(doc))
    assert (tmp_path / "w.softmaxlab.inputs.npz").exists()
    loaded = load_workspace(path)
    assert loaded.inputs.same(doc.inputs)
    assert loaded.to_document().inputs.same(doc.inputs)
    (tmp_path / "w.softmaxlab.inputs.npz").write_bytes(b"garbage")
    with pytest.raises(WorkspaceError, match=r"inputs file .* is damaged"):
        load_workspace(path)
    (tmp_path / "w.softmaxlab.inputs.npz").unlink()
    with pytest.raises(WorkspaceError, match="is missing"):
        load_workspace(path)
