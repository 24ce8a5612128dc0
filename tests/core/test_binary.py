"""Binary scores: [0, z] is a sigmoid, its cross-entropy is BCEWithLogitsLoss (torch the oracle);
the flag follows the table through files, the document, undo and workspaces."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_lab.core import evaluate, load_logits
from softmax_lab.core.binary import binary_identity, binary_pairs
from softmax_lab.core.document import Document
from softmax_lab.core.opening import prepare_file
from softmax_lab.core.settings import Settings
from softmax_lab.core.workspace import Workspace, load_workspace, save_workspace


@pytest.mark.parametrize("shape", [(40,), (40, 1)])
def test_one_score_per_sample_equals_bce_with_logits(tmp_path, shape):
    rng = np.random.default_rng(1)
    z = (rng.normal(size=40) * 4).astype(np.float32)
    y = rng.integers(0, 2, 40)
    path = tmp_path / "scores.npz"
    np.savez(path, logits=z.reshape(shape), labels=y.astype(bool))
    data = load_logits(path)
    assert data.binary
    assert data.logits.shape == (40, 2)
    ev = evaluate(data.logits, data.targets, dtype="float64")
    bce = F.binary_cross_entropy_with_logits(
        torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64), reduction="none"
    )
    np.testing.assert_allclose(ev.losses, bce.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        ev.probabilities[:, 1], torch.sigmoid(torch.tensor(z, dtype=torch.float64)), rtol=1e-12
    )
    prepared = prepare_file(str(path), Settings(), False)
    assert prepared.document_options == {"has_labels": True, "binary": True}


def test_the_identity_for_one_sample():
    logits = binary_pairs(np.array([2.5, -1.0, 0.0]))
    ev = evaluate(logits, [1, 1, -100], temperature=2.0, dtype="float64")
    b = binary_identity(ev, logits[0], 0)
    assert b.z == 2.5
    assert b.scaled == 1.25
    assert b.sigmoid == pytest.approx(float(torch.sigmoid(torch.tensor(1.25))), rel=1e-7)
    assert b.sigmoid == pytest.approx(b.p_positive, rel=1e-12)
    assert b.agree
    assert b.bce == pytest.approx(b.cross_entropy, rel=1e-12)
    ignored = binary_identity(ev, logits[2], 2)
    assert ignored.label is None
    assert ignored.bce is None
    assert ignored.cross_entropy is None
    with pytest.raises(ValueError, match="two classes"):
        binary_identity(evaluate([[1.0, 2.0, 3.0]], [0]), np.array([1.0, 2.0, 3.0]), 0)


def test_binary_pairs_refuses_tables():
    assert binary_pairs(np.array([[1.5]])).tolist() == [[0.0, 1.5]]
    assert binary_pairs(np.array([1, 2])).dtype == np.float64
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        binary_pairs(np.zeros((3, 2)))


def test_the_flag_follows_undo_and_workspaces(tmp_path):
    doc = Document([[0.0, 1.0]], [1])
    assert not doc.binary
    doc.replace_all(binary_pairs(np.array([1.0, -2.0])), [1, 0], binary=True)
    assert doc.binary
    doc.undo()
    assert not doc.binary
    doc.redo()
    path = tmp_path / "b.softmaxlab.json"
    save_workspace(path, Workspace.from_document(doc))
    assert load_workspace(path).to_document().binary
    body = path.read_text().replace('"binary": true', '"binary": "yes"')
    path.write_text(body)
    with pytest.raises(ValueError, match="binary must be true or false"):
        load_workspace(path)
