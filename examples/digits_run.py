"""Record a training run and find its flipped labels on the data map.

A small torch MLP learns ``sklearn.datasets.load_digits`` (1,797 8x8 digits) for some epochs.
A few training labels are flipped on purpose. After every epoch the logits of all training
samples are recorded with ``RunWriter`` (with the digit images), so that Softmax Lab can show
the run: open it with ``python main.py runs/digits`` (or File › Open run…). The flipped samples
land in the data map's hard-to-learn region (low confidence, low variability): the model never
agrees with their labels. Sort the table by "mean p(true)" or draw a lasso around the bottom
left of the map to see them, digit images included.

    python examples/digits_run.py runs/digits                   # 30 epochs, 40 flipped labels
    python examples/digits_run.py runs/digits --delay 1 &       # slow: watch it live ...
    python main.py runs/digits                                  # ... in the window

The script prints how many of the flipped samples the data map puts in its hard-to-learn
region and in its lowest-confidence 5%. The flipped samples' indices are saved next to the
run (``flipped.json``) so that you can check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:  # the public package, when installed
    from softmax_lab import RunWriter
except ImportError:  # a source checkout
    from softmax_lab.core import RunWriter

FLIPPED_FILE = "flipped.json"


def flip_labels(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` samples whose label is replaced by another class (in place)."""
    chosen = np.sort(rng.choice(len(labels), size=count, replace=False))
    shift = rng.integers(1, 10, size=count)  # never the same class
    labels[chosen] = (labels[chosen] + shift) % 10
    return chosen


def train(
    folder: Path,
    *,
    epochs: int = 30,
    flipped: int = 40,
    hidden: int = 32,
    seed: int = 0,
    delay: float = 0.0,
    samples: int | None = None,
) -> np.ndarray:
    """Train and record the run in ``folder`` (which must not exist or be empty); returns the
    indices of the flipped samples."""
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    x_all = digits.data.astype(np.float32) / 16.0
    y_all = digits.target.astype(np.int64)
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    if samples is not None:
        x_all, y_all, images = x_all[:samples], y_all[:samples], images[:samples]
    rng = np.random.default_rng(seed)
    labels = y_all.copy()
    flips = flip_labels(labels, flipped, rng)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a model this small trains fastest on one thread
    model = torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    # Weight decay keeps the model from memorising the flipped labels within the run.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    x, y = torch.from_numpy(x_all), torch.from_numpy(labels)
    names = [str(d) for d in range(10)]
    with RunWriter(folder, labels=labels, class_names=names, images=images) as run:
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.from_numpy(rng.permutation(len(x)))
            for batch in order.split(64):
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                run.add(epoch, model(x))  # the logits of every training sample, this epoch
            if delay:
                time.sleep(delay)
    (folder / FLIPPED_FILE).write_text(json.dumps([int(i) for i in flips]) + "\n")
    return flips


def report(folder: Path, flips: np.ndarray) -> dict[str, float]:
    """What the data map shows of the flipped samples (computed as the window computes it)."""
    from softmax_lab.core import load_run, training_dynamics

    dynamics = training_dynamics(load_run(folder))
    regions = dynamics.regions()
    confidence = dynamics.confidence
    lowest = np.argsort(confidence, kind="stable")[: max(1, round(0.05 * len(confidence)))]
    in_lowest = np.intersect1d(lowest, flips).size
    in_hard = int((regions[flips] == "hard-to-learn").sum())
    return {
        "samples": len(confidence),
        "flipped": len(flips),
        "flipped_in_hard_to_learn": in_hard,
        "hard_to_learn": int((regions == "hard-to-learn").sum()),
        "lowest_5_percent": len(lowest),
        "flipped_in_lowest_5_percent": int(in_lowest),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the run folder to write (e.g. runs/digits)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--flipped", type=int, default=40, help="labels to flip on purpose")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units of the MLP")
    parser.add_argument("--samples", type=int, help="use only the first N digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between epochs")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run")
    args = parser.parse_args(argv)
    if args.overwrite and args.folder.exists():
        shutil.rmtree(args.folder)
    flips = train(
        args.folder,
        epochs=args.epochs,
        flipped=args.flipped,
        hidden=args.hidden,
        seed=args.seed,
        delay=args.delay,
        samples=args.samples,
    )
    r = report(args.folder, flips)
    print(f"recorded {args.epochs} epochs of {r['samples']:,} digits in {args.folder}")
    print(
        f"flipped labels: {r['flipped']}; in the hard-to-learn region: "
        f"{r['flipped_in_hard_to_learn']} (of {r['hard_to_learn']} samples there); in the "
        f"lowest-confidence 5% ({r['lowest_5_percent']} samples): "
        f"{r['flipped_in_lowest_5_percent']}"
    )
    print(f"open it: python main.py {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
