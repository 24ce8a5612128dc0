"""Training dynamics of a recorded run: time against reading the run once, and peak memory.

    python bench/dynamics.py            # 50 steps x 50,000 x 100 float32 (1 GB on disk)
    python bench/dynamics.py --quick    # tiny sizes: checks that everything runs, in seconds
    python bench/dynamics.py --json     # one JSON object on stdout (progress goes to stderr)

Figures (each a ratio to a peer measured in the same run, as bench/run.py reports them):

* ``dynamics``: ``training_dynamics(load_run(path))`` on a synthetic run that learns (samples
  learned early, late, forgotten, never, 10% mislabelled) against reading every step file once
  (``np.load`` + ``.sum()``, the least anything that looks at every logit must do). Budget 1.5x.
* ``dynamics_torn``: the same on a run where most rows cannot be decided without an argmax
  (the label and a rival class neck and neck): the slowest kind of step for the pass.
* ``dynamics_memory``: peak RSS over the baseline of a fresh child process (imports done, run
  opened) while it computes the dynamics, against one step's size. Budget 1x.

The run is written into a temporary folder, which is deleted at the end. Page cache is warm
for both sides: every function runs once before timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    ROOT,
    Figure,
    child_env,
    interleaved,
    log,
    median_ms,
    new_result,
    print_figures,
    report,
)


@dataclass
class Sizes:
    steps: int
    n: int
    c: int
    repeats: int


FULL = Sizes(50, 50_000, 100, 9)
QUICK = Sizes(4, 2_000, 100, 2)


def write_run(folder: Path, sizes: Sizes, kind: str):
    """A synthetic run. ``learning``: each sample's true-class margin grows along its own
    schedule, with noise that makes some forget; 10% carry a wrong label. ``torn``: the label and
    a rival class neck and neck at every step, so that most rows need an argmax."""
    import numpy as np

    from softmax_lab.core.runs import RunWriter

    rng = np.random.default_rng(0)
    n, c = sizes.n, sizes.c
    learned = rng.integers(0, c, n)  # what the model learns
    labels = learned.copy()
    noisy = rng.random(n) < 0.1
    labels[noisy] = rng.integers(0, c, int(noisy.sum()))
    when = rng.uniform(-0.2, 1.2, n)  # when in the run a sample is learned
    rows = np.arange(n)
    with RunWriter(folder, labels=labels) as run:
        for step in range(sizes.steps):
            x = rng.standard_normal((n, c), dtype=np.float32)
            if kind == "learning":
                t = step / max(1, sizes.steps - 1)
                margin = 9.0 / (1.0 + np.exp(-10.0 * (t - when))) + rng.normal(0, 1.5, n)
                x[rows, learned] += margin.astype(np.float32)
            else:  # the label and a rival neck and neck: p(true) ~ 0.4, either may win
                x *= np.float32(0.5)
                x[rows, labels] += np.float32(3.0)
                x[rows, (labels + 1) % c] += rng.normal(3.0, 0.05, n).astype(np.float32)
            run.add(step * 100, x)
    return labels


def read_once(run) -> float:
    """The peer: every step file read whole into memory and summed."""
    import numpy as np

    total = 0.0
    for step in run.steps:
        total += float(np.load(run.path / f"step-{step:06d}.npy").sum())
    return total


def exp_floor(run):
    """Every step read in blocks with one exp pass: what no softmax over the run can go below."""
    import numpy as np

    from softmax_lab.core import constants

    rows = max(1, constants.STREAM_BLOCK_ELEMENTS // run.n_classes)  # the pass's blocks
    buffer = np.empty((min(rows, run.n_samples), run.n_classes), dtype=run.dtype)

    def floor() -> None:
        for step in run.steps:
            for s in range(0, run.n_samples, rows):
                block = buffer[: min(rows, run.n_samples - s)]
                np.exp(run.read_rows(step, s, block), out=block)

    return floor


def time_figure(name: str, what: str, folder: Path, sizes: Sizes) -> Figure:
    import numpy as np

    import softmax_lab.core.dynamics as dynamics
    from softmax_lab.core import evaluate
    from softmax_lab.core.runs import load_run

    run = load_run(folder)

    def one_worker() -> None:
        saved = dynamics._PARALLEL_MIN_BLOCKS
        dynamics._PARALLEL_MIN_BLOCKS = 1 << 60
        try:
            dynamics.training_dynamics(run)
        finally:
            dynamics._PARALLEL_MIN_BLOCKS = saved

    fns = {
        "ours": lambda: dynamics.training_dynamics(run),
        "peer": lambda: read_once(run),
        "ours_1_worker": one_worker,
        "exp_floor": exp_floor(run),
    }
    log(f"{name}: {len(run.steps)} steps x {run.n_samples:,} x {run.n_classes:,}, timing")
    samples = interleaved(fns, sizes.repeats)
    ms = {k: median_ms(v) for k, v in samples.items()}
    first = run.logits(run.steps[0])
    one = dynamics.training_dynamics([(0, first)], labels=run.labels)
    diff = np.nanmax(np.abs(one.confidence - evaluate(first, run.labels).p_true))
    return Figure(
        name,
        what,
        "ms",
        ms["ours"],
        "read every step once (np.load + sum)",
        ms["peer"],
        "<= 1.5 x",
        1.5,
        samples=sizes.repeats,
        extra={
            "ours_min_ms": min(samples["ours"]) * 1e3,
            "peer_min_ms": min(samples["peer"]) * 1e3,
            "ours_1_worker_ms": ms["ours_1_worker"],
            "exp_floor_ms": ms["exp_floor"],
            "ratio_to_exp_floor": ms["ours"] / ms["exp_floor"],
            "gb_on_disk": len(run.steps) * first.nbytes / 1e9,
            "max_abs_diff_p_true_vs_evaluate": float(diff),
        },
    )


# --- memory, in a fresh child process ---------------------------------------------------------


def _memory_mb() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def child_memory(folder: str) -> int:
    """Run in a child: baseline after imports and opening the run, then the peak while it
    computes the dynamics (Linux: /proc/self/clear_refs restarts the high-water mark)."""
    from softmax_lab.core.dynamics import training_dynamics
    from softmax_lab.core.runs import load_run

    run = load_run(folder)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    base = _memory_mb()
    training_dynamics(run)
    after = _memory_mb()
    step_mb = run.n_samples * run.n_classes * 4 / 2**20
    print(json.dumps({"base_rss": base["VmRSS"], "peak": after["VmHWM"], "step_mb": step_mb}))
    return 0


def memory_figure(folder: Path) -> Figure:
    log("dynamics_memory: peak RSS in a fresh child")
    done = subprocess.run(
        [sys.executable, __file__, "--child-memory", str(folder)],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr.strip()[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return Figure(
        "dynamics_memory",
        "peak RSS over the baseline while computing the dynamics, fresh process",
        "MB",
        raw["peak"] - raw["base_rss"],
        "one step's logits",
        raw["step_mb"],
        "<= 1 x one step",
        1.0,
        samples=1,
        extra={"baseline_rss_mb": raw["base_rss"]},
    )


# --- output -----------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab: training dynamics",
        [
            f"cpu: {m['cpu']} · {m['logical_cores']} logical cores · torch threads "
            f"{m['torch_threads']} · python {m['python']} · numpy {m['numpy']} · torch {m['torch']}"
        ],
        result,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two repeats")
    parser.add_argument("--child-memory", metavar="RUN", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        return child_memory(args.child_memory)
    sizes = QUICK if args.quick else FULL
    result = new_result(args.quick, sizes=asdict(sizes))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-dynamics-") as tmp:
        for kind, name, what in (
            ("learning", "dynamics", "training dynamics of a run that learns"),
            ("torn", "dynamics_torn", "training dynamics, most rows need an argmax"),
        ):
            folder = Path(tmp) / kind
            try:
                log(f"{name}: writing {sizes.steps} steps of {sizes.n:,} x {sizes.c:,} float32")
                write_run(folder, sizes, kind)
                figures = [
                    time_figure(
                        name, f"{what}, {sizes.steps} x {sizes.n:,} x {sizes.c:,}", folder, sizes
                    )
                ]
                if kind == "learning":
                    figures.append(memory_figure(folder))
                result["figures"].extend(asdict(f) for f in figures)
            except Exception as exc:  # one broken figure must not hide the others
                result["errors"][name] = f"{type(exc).__name__}: {exc}"
                log(f"FAILED {name}: {exc}")
            finally:
                for path in folder.glob("*"):
                    path.unlink()  # one run on disk at a time
    return report(result, started, args.json, print_table)


if __name__ == "__main__":
    sys.exit(main())
