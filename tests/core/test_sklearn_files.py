"""scikit-learn's outputs, saved as users save them, give scikit-learn's own numbers.

Every classifier users bring (logistic regression, SVC, a decision tree, a random forest,
Gaussian naive Bayes, an MLP) on scikit-learn's bundled data sets (digits: 10 classes, iris: 3,
breast cancer: binary), with each output a user saves: ``predict_log_proba``,
``decision_function`` ((N,) scores for two classes, (N, C) for more) and ``predict_proba`` by
mistake (detected; its log is what the window offers). The file is written with ``np.savez`` or
pandas' ``to_csv``; ``load_logits`` → ``evaluate`` → ``summarize`` must then give
``accuracy_score``, ``confusion_matrix`` and ``log_loss``. What is not finite is reported, never
dropped: a tree's ``predict_log_proba`` is −∞ for every class but the predicted one, so each
error has p(true) = 0 and loss +∞ (torch agrees); those rows keep their place in every count.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pd = pytest.importorskip("pandas")
sklearn = pytest.importorskip("sklearn")

from scipy.special import log_expit, log_softmax  # noqa: E402  (scikit-learn brings scipy)
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from softmax_lab.core.evaluating import evaluate  # noqa: E402
from softmax_lab.core.loaders import load_logits  # noqa: E402
from softmax_lab.core.metrics import summarize  # noqa: E402

DATASETS = {"digits": load_digits, "iris": load_iris, "breast_cancer": load_breast_cancer}
MODELS = {
    "logistic": lambda: LogisticRegression(max_iter=3000),
    "svc": lambda: SVC(probability=True, random_state=0),
    "tree": lambda: DecisionTreeClassifier(random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=15, random_state=0),
    "naive_bayes": lambda: GaussianNB(),
    "mlp": lambda: MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0),
}
DECISION = ("logistic", "svc")  # the classifiers with a decision_function


@cache
def fitted(model: str, dataset: str):
    x, y = DATASETS[dataset](return_X_y=True)
    x = StandardScaler().fit_transform(x)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.5, random_state=0, stratify=y
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the small MLP
        return MODELS[model]().fit(x_train, y_train), x_test, y_test


def output(model: str, dataset: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    clf, x, y = fitted(model, dataset)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "divide by zero in log" of predict_log_proba
        return np.asarray(getattr(clf, method)(x)), y


def save(out: np.ndarray, y: np.ndarray, writer: str, tmp_path):
    if writer == "npz":
        path = tmp_path / "out.npz"
        np.savez(path, logits=out, labels=y)
    else:  # a DataFrame of the scores and the labels, as pandas writes it
        columns = [str(c) for c in range(out.shape[1])] if out.ndim == 2 else ["score"]
        df = pd.DataFrame(out.reshape(len(y), -1), columns=columns)
        df["label"] = y
        path = tmp_path / "out.csv"
        df.to_csv(path)
    return path


CASES = [
    (model, dataset, method)
    for model in MODELS
    for dataset in DATASETS
    for method in ("predict_log_proba", "decision_function", "predict_proba")
    if method != "decision_function" or model in DECISION
]


@pytest.mark.parametrize("writer", ["npz", "csv"])
@pytest.mark.parametrize(("model", "dataset", "method"), CASES)
def test_the_numbers_are_scikit_learns(tmp_path, model, dataset, method, writer):
    out, y = output(model, dataset, method)
    data = load_logits(save(out, y, writer, tmp_path))
    c = int(y.max()) + 1
    binary_scores = method == "decision_function" and out.ndim == 1
    assert data.binary == binary_scores
    # predict_proba saved by mistake is detected, and its log is what the window offers.
    assert data.looks_like_probabilities == (method == "predict_proba")
    if data.looks_like_probabilities:
        data = data.as_log_probabilities()
    assert data.logits.shape == (len(y), c)
    ev = evaluate(np.asarray(data.logits), np.asarray(data.targets))
    s = summarize(ev)

    if binary_scores:
        predicted = (out > 0).astype(int)
        log_p = np.column_stack([log_expit(-out), log_expit(out)])
    elif method == "decision_function":
        predicted, log_p = out.argmax(1), log_softmax(out, axis=1)
    else:
        predicted = out.argmax(1)
        with np.errstate(divide="ignore"):
            log_p = out if method == "predict_log_proba" else np.log(out)
    assert ev.accuracy == pytest.approx(accuracy_score(y, predicted), abs=1e-12)
    np.testing.assert_array_equal(s.confusion, confusion_matrix(y, predicted, labels=range(c)))
    assert s.n_nonfinite == 0  # every row has a prediction: none is left out
    assert s.reliability.n == len(y)
    assert int(s.per_class.count.sum()) == len(y)
    np.testing.assert_array_equal(s.per_class.correct, np.diag(s.confusion))

    # The loss: +∞ where p(true) = 0 (torch agrees), counted and said; the mean of the others.
    log_p_true = log_p[np.arange(len(y)), y]
    zero = log_p_true == -np.inf
    assert s.n_infinite_loss == int(zero.sum())
    assert s.mean_loss_finite == pytest.approx(-log_p_true[~zero].mean(), rel=1e-6, abs=1e-9)
    torch_loss = F.cross_entropy(torch.as_tensor(np.asarray(data.logits)), torch.as_tensor(y))
    if zero.any():
        assert s.mean_loss == np.inf
        assert torch_loss.item() == np.inf
    else:
        assert s.mean_loss == pytest.approx(torch_loss.item(), rel=1e-6)
    # scikit-learn's log_loss clips p to [eps, 1 − eps]; where no p(true) is that small it is
    # exact, and our mean is its number.
    if (log_p_true > np.log(np.finfo(np.float64).eps)).all():
        expected = log_loss(y, np.exp(log_p), labels=range(c))
        assert s.mean_loss == pytest.approx(expected, rel=1e-6)


def test_a_trees_errors_keep_their_place_in_every_view(tmp_path):
    # The issue's case: 899 digits, a decision tree's predict_log_proba. Before, the errors
    # vanished (755 of 899 samples in the confusion matrix, 0 errors, ECE 0.000).
    out, y = output("tree", "digits", "predict_log_proba")
    np.save(tmp_path / "tree.npy", out)
    data = load_logits(tmp_path / "tree.npy")
    ev = evaluate(np.asarray(data.logits), y)
    s = summarize(ev)
    predicted = out.argmax(1)
    errors = int((predicted != y).sum())
    assert errors > 0
    assert s.n_infinite_loss == errors  # every error has p(true) = 0
    assert int(s.confusion.sum()) == len(y)
    assert int(s.confusion.sum() - np.trace(s.confusion)) == errors
    # The ECE by hand: the tree is sure of every prediction, so it is 1 − accuracy.
    assert s.reliability.ece == pytest.approx(errors / len(y))
    assert s.loss_histogram is not None
    assert int(s.loss_histogram.wrong.sum()) == errors  # in the last (overflow) bin
    assert s.loss_histogram.wrong[-1] == errors
    assert s.loss_histogram.overflow == s.loss_histogram.edges[-1]
    assert s.loss_histogram.n_infinite == errors
    assert s.confidence_histogram is not None
    assert int(s.confidence_histogram.wrong.sum()) == errors
    # They are the first suspected label issues (p(given) = 0).
    assert all(issue.p_given == 0.0 for issue in s.label_issues[: min(errors, 50)])
    assert s.mean_loss == np.inf
    assert s.mean_loss_finite == 0.0  # the correct rows: p(true) = 1


def test_only_rows_without_a_prediction_are_left_out_and_counted():
    logits = np.array(
        [[0.0, -np.inf, -np.inf], [np.nan, 1.0, 2.0], [-np.inf] * 3, [1.0, 2.0, 3.0], [0, 0, 0]]
    )
    y = np.array([1, 0, 2, 2, 0])
    s = summarize(evaluate(logits, y))
    assert s.n_nonfinite == 2  # NaN, all −∞
    assert s.n_infinite_loss == 1  # p(true) = 0 but a prediction (class 0)
    assert int(s.confusion.sum()) == 3
    assert s.confusion[1, 0] == 1
    assert s.reliability.n == 3
    expected = F.cross_entropy(torch.tensor(logits[3:]), torch.tensor(y[3:])).item()
    assert s.mean_loss_finite == pytest.approx(expected)
