"""From a trained model to the window in two lines: a scikit-learn classifier on the 8 × 8 digits,
its held-out logits opened in Softmax Lab with the digit images beside them.

    python examples/digits.py                       # opens the window (close it to exit)
    python examples/digits.py --screenshot out.png  # renders it off screen, saves it, exits

Sort the table by loss, click a confusion-matrix cell (Dataset tab) to see its digits worst
first, or read the label issues: is the label wrong, or the model?
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", metavar="OUT.png", help="save the window and exit")
    args = parser.parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen needed
    import softmax_lab

    digits = load_digits()
    images = digits.images / 16.0  # 8 × 8 grey levels 0..16 → floats in [0, 1]
    x_train, x_test, y_train, y_test, _, images_test = train_test_split(
        digits.data, digits.target, images, test_size=0.5, random_state=0
    )
    model = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    ink = images_test.sum(axis=(1, 2)).round(1)  # a metadata column: sort or filter by it

    # The two lines: a model's logits (its softmax is predict_proba), and the window.
    logits = model.decision_function(x_test)
    viewer = softmax_lab.view(
        logits,
        y_test,
        images=images_test,
        class_names=[str(d) for d in model.classes_],
        metadata={"ink": ink, "odd": y_test % 2 == 1},
        title="digits: logistic regression, held-out half",
        show=not args.screenshot,
    )
    ev = viewer.evaluation  # core's evaluation of what the window shows
    gap = np.abs(ev.probabilities - model.predict_proba(x_test)).max()
    print(
        f"accuracy {ev.accuracy:.3f}, mean loss {ev.loss:.4f}; softmax = predict_proba ± {gap:.0e}"
    )

    if args.screenshot:
        viewer.screenshot(args.screenshot, size=(1280, 800))
        print(f"saved {args.screenshot}")
        viewer.close()
        return 0
    softmax_lab.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
