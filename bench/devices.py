"""evaluate() and the temperature fit on every device torch sees, against the CPU.

    python bench/devices.py [--size 50000x1000]

Prints per device: the median time of evaluate (loss, predictions, per-sample statistics), of
the full probability table, of fit_temperature, and the largest difference from the CPU result.
Needs no Qt: it runs where only torch and numpy are installed (e.g. a GPU box).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from softmax_lab.core import available_devices, evaluate
from softmax_lab.core.calibration import fit_temperature


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="50000x1000")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    n, c = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (n, c)).astype(np.float32)
    labels = rng.integers(0, c, n)
    reference = evaluate(logits, labels)
    print(f"{n} x {c} float32, torch {torch.__version__}, devices {available_devices()}")
    print(
        f"{'device':10} {'evaluate ms':>12} {'probs ms':>10} {'fit T ms':>10} "
        f"{'max |Δloss|':>12} {'max |Δp|':>10}"
    )
    for device in available_devices():
        evaluate(logits, labels, device=device)  # warm-up (CUDA context, kernels)
        t_eval = _median_ms(lambda d=device: evaluate(logits, labels, device=d), args.repeats)
        ev = evaluate(logits, labels, device=device)
        t_probs = _median_ms(lambda e=ev: e.probabilities_of(slice(None)), 3)
        t_fit = _median_ms(lambda d=device: fit_temperature(logits, labels, device=d), 1)
        d_loss = float(np.max(np.abs(ev.losses - reference.losses)))
        d_p = float(
            np.max(
                np.abs(
                    ev.probabilities_of(slice(0, 2000)) - reference.probabilities_of(slice(0, 2000))
                )
            )
        )
        print(
            f"{ev.device:10} {t_eval:12.1f} {t_probs:10.1f} {t_fit:10.1f} {d_loss:12.2e} "
            f"{d_p:10.2e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
