"""prepare_model_b: a second model's file read and evaluated against model A's samples, or
refused with a DataError that names the file and the mismatch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_lab.core import evaluate
from softmax_lab.core.compare import compare
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError
from softmax_lab.core.opening import prepare_model_b


@pytest.fixture
def model_a():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 30)
    return evaluate(rng.normal(size=(30, 4)), labels, temperature=2.0), labels


def test_a_file_with_the_same_labels_is_evaluated_with_a_options(tmp_path, model_a):
    ev_a, labels = model_a
    b = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    path = tmp_path / "new model.npz"
    np.savez(path, logits=b, labels=labels)
    prepared = prepare_model_b(str(path), ev_a, labels, True)
    assert prepared.name == "new model"
    expected = F.cross_entropy(
        torch.tensor(b) / 2.0, torch.tensor(labels), reduction="none"
    ).numpy()
    np.testing.assert_allclose(prepared.evaluation.losses, expected, rtol=1e-5)
    assert compare(ev_a, prepared.evaluation).summary["n_valid"] == 30
    assert prepared.notices == []


def test_a_file_without_labels_takes_a_labels_and_says_so(tmp_path, model_a):
    ev_a, labels = model_a
    path = tmp_path / "b.npy"
    np.save(path, np.zeros((30, 4), dtype=np.float32))
    prepared = prepare_model_b(str(path), ev_a, labels, True)
    np.testing.assert_array_equal(prepared.evaluation.targets, labels)
    assert any("model A's are used" in n for n in prepared.notices)


def test_probabilities_are_taken_as_their_log(tmp_path, model_a):
    ev_a, labels = model_a
    p = np.random.default_rng(2).dirichlet(np.ones(4), 30)
    path = tmp_path / "probs.npy"
    np.save(path, p)
    prepared = prepare_model_b(str(path), ev_a, labels, True)
    np.testing.assert_allclose(prepared.logits, np.log(p), rtol=1e-6)
    # A's temperature (2) applies to B's logits too: softmax(log p / 2).
    scaled = torch.softmax(torch.tensor(np.log(p)) / 2.0, 1).numpy()
    np.testing.assert_allclose(prepared.evaluation.probabilities_of(slice(None)), scaled, atol=1e-6)
    assert any("probabilities" in n for n in prepared.notices)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lab: {"logits": np.zeros((29, 4))}, "model B has 29 samples, model A 30"),
        (lambda lab: {"logits": np.zeros((30, 5))}, "model B has 5 classes, model A 4"),
        (
            lambda lab: {
                "logits": np.zeros((30, 4)),
                "labels": np.where(np.arange(30) == 7, (lab + 1) % 4, lab),
            },
            "labels differ from model A's at 1 samples, first at sample 7",
        ),
        (
            lambda lab: {"logits": np.zeros((30, 4)), "labels": (lab + 1) % 4},
            "at 30 samples, first at sample 0",
        ),
    ],
)
def test_mismatches_are_refused_naming_the_file_and_the_mismatch(tmp_path, model_a, make, message):
    ev_a, labels = model_a
    path = tmp_path / "other.npz"
    np.savez(path, **make(labels))
    with pytest.raises(DataError, match=message) as info:
        prepare_model_b(str(path), ev_a, labels, True)
    assert "other.npz" in str(info.value)


def test_labels_for_an_unlabelled_a_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    none = np.full(10, IGNORE_INDEX)
    ev_a = evaluate(rng.normal(size=(10, 3)), none)
    path = tmp_path / "labelled.npz"
    np.savez(path, logits=rng.normal(size=(10, 3)), labels=rng.integers(0, 3, 10))
    with pytest.raises(DataError, match="it has labels and model A has none"):
        prepare_model_b(str(path), ev_a, none, False)
    # Without labels of its own it fits: every sample stays ignored, as A's.
    np.save(tmp_path / "plain.npy", rng.normal(size=(10, 3)))
    prepared = prepare_model_b(str(tmp_path / "plain.npy"), ev_a, none, False)
    assert not prepared.evaluation.valid.any()


@pytest.mark.parametrize("content", [b"", b"not a numpy file at all", b"\x93NUMPY\x01\x00garbage"])
def test_garbage_is_a_data_error(tmp_path, model_a, content):
    ev_a, labels = model_a
    path = tmp_path / "broken.npy"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"broken\.npy"):
        prepare_model_b(str(path), ev_a, labels, True)


def test_a_missing_file_is_a_data_error(tmp_path, model_a):
    ev_a, labels = model_a
    with pytest.raises(DataError):
        prepare_model_b(str(tmp_path / "nowhere.npz"), ev_a, labels, True)


def test_binary_scores_in_0_1_stay_logits_and_the_other_reading_is_offered(tmp_path):
    # Model A: a logistic regression's decision_function on breast cancer (binary scores z).
    # Model B: another model's positive-class probability, saved as (N,) scores in [0, 1]. They
    # could be either, so nobody guesses: B is read as logits with a notice offering the other
    # reading (BCEWithLogits), and as probabilities only when asked (scikit-learn's log_loss).
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.naive_bayes import GaussianNB
    from sklearn.preprocessing import StandardScaler

    from softmax_lab.core.loaders import load_logits

    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    np.save(tmp_path / "a.npy", LogisticRegression(max_iter=1000).fit(x, y).decision_function(x))
    p = GaussianNB().fit(x, y).predict_proba(x)[:, 1]
    np.save(tmp_path / "b.npy", p)
    a = load_logits(tmp_path / "a.npy")
    ev_a = evaluate(np.asarray(a.logits), y)
    as_logits = prepare_model_b(str(tmp_path / "b.npy"), ev_a, y, True)
    assert as_logits.offer_probabilities
    assert any("open it again as probabilities" in n for n in as_logits.notices)
    bce = F.binary_cross_entropy_with_logits(torch.tensor(p), torch.tensor(y, dtype=torch.float64))
    assert as_logits.evaluation.loss == pytest.approx(bce.item(), rel=1e-6)
    as_p = prepare_model_b(str(tmp_path / "b.npy"), ev_a, y, True, as_probabilities=True)
    assert not as_p.offer_probabilities
    with np.errstate(divide="ignore"):
        finite = (p > 0) & (p < 1)
    assert as_p.evaluation.accuracy == pytest.approx(np.mean((p > 0.5) == y))
    expected = log_loss(y[finite], p[finite])
    losses = np.asarray(as_p.evaluation.losses)
    assert losses[finite].mean() == pytest.approx(expected, rel=1e-6)
    kept = prepare_model_b(str(tmp_path / "b.npy"), ev_a, y, True, as_probabilities=False)
    assert not kept.offer_probabilities
    assert kept.evaluation.loss == pytest.approx(bce.item(), rel=1e-6)
