"""Two digits classifiers side by side: which samples does each get right that the other does not?

    python examples/compare_digits.py                 # train both, open the window comparing them
    python examples/compare_digits.py --out DIR       # also keep the two .npz files in DIR
    python examples/compare_digits.py --screenshot compare.png   # render the window and exit

A logistic regression (model A) and a small MLP (model B) from scikit-learn are trained on half
of ``sklearn.datasets.load_digits`` and evaluated on the other half. Each model's logits for the
held-out samples go to an .npz file (with the labels, the class names and the 8 x 8 images);
the window opens A and compares B with it, exactly as

    python main.py logreg.npz --compare mlp.npz

does. The header names both models with their accuracy, loss and ECE; the Dataset tab's
"A vs B" page shows the 2 x 2 agreement matrix: click "fixed" (A wrong, B right) or "broken"
(A right, B wrong) and the table lists those samples, the largest Δloss first, with both models'
predictions, p(true) and losses side by side, and the sample plot shows both probability bars.

The logits are the models' own: the logistic regression's ``decision_function`` and the MLP's
output layer before its softmax (computed from its weights; ``softmax`` of them is exactly its
``predict_proba``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Trained:
    """Both models' held-out logits and what the window shows beside them."""

    logits_a: np.ndarray
    logits_b: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    class_names: list[str]
    names: tuple[str, str]


def mlp_logits(model, x: np.ndarray) -> np.ndarray:
    """The MLP's output layer before its softmax: ReLU hidden layers, then the last affine."""
    h = x
    for w, b in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
        h = np.maximum(h @ w + b, 0.0)
    return h @ model.coefs_[-1] + model.intercepts_[-1]


def train(samples: int | None = None, seed: int = 0, hidden: int = 32) -> Trained:
    """Train both models on half of the digits (``samples``: use only this many in all, for a
    quick run) and return their logits on the other half."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x, y, images = digits.data / 16.0, digits.target, digits.images / 16.0
    if samples is not None:
        x, y, images = x[:samples], y[:samples], images[:samples]
    x_train, x_test, y_train, y_test, _, images_test = train_test_split(
        x, y, images, test_size=0.5, random_state=seed, stratify=y
    )
    with warnings.catch_warnings():
        # A quick run on a few hundred digits may stop short of convergence; no matter here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        logreg = LogisticRegression(max_iter=2000, C=0.05).fit(x_train, y_train)
        mlp = MLPClassifier(
            hidden_layer_sizes=(hidden,), max_iter=600, random_state=seed, alpha=1e-3
        ).fit(x_train, y_train)
    return Trained(
        logits_a=logreg.decision_function(x_test).astype(np.float32),
        logits_b=mlp_logits(mlp, x_test).astype(np.float32),
        labels=y_test.astype(np.int64),
        images=images_test.astype(np.float32),
        class_names=[str(c) for c in digits.target_names],
        names=("logreg", "mlp"),
    )


def write_files(trained: Trained, folder: Path) -> tuple[Path, Path]:
    """A's and B's .npz files (logits, labels, class names; A's also holds the images)."""
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / f"{trained.names[0]}.npz"
    b = folder / f"{trained.names[1]}.npz"
    common = {"labels": trained.labels, "class_names": np.array(trained.class_names)}
    np.savez(a, logits=trained.logits_a, images=trained.images, **common)
    np.savez(b, logits=trained.logits_b, **common)
    return a, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the two .npz files in this folder")
    parser.add_argument("--samples", type=int, help="use only this many digits (a quick run)")
    parser.add_argument("--screenshot", metavar="FILE.png", help="render the window and exit")
    parser.add_argument("--size", default="1280x800", help="window size, e.g. 1920x1080")
    args = parser.parse_args(argv)
    trained = train(args.samples)
    right_a = trained.logits_a.argmax(1) == trained.labels
    right_b = trained.logits_b.argmax(1) == trained.labels
    print(
        f"{len(trained.labels)} held-out digits: {trained.names[0]} {right_a.mean():.1%}, "
        f"{trained.names[1]} {right_b.mean():.1%} right; {(~right_a & right_b).sum()} only "
        f"{trained.names[1]} gets right, {(right_a & ~right_b).sum()} only {trained.names[0]}"
    )
    sys.path.insert(0, str(ROOT))
    from softmax_lab.gui.app import run

    with tempfile.TemporaryDirectory(prefix="softmax-lab-digits-") as tmp:
        a, b = write_files(trained, args.out or Path(tmp))
        extra = ["--screenshot", args.screenshot] if args.screenshot else ["--no-restore"]
        return run([str(a), "--compare", str(b), "--size", args.size, *extra])


if __name__ == "__main__":
    sys.exit(main())
