"""Opening logits files other than .npy: speed and peak memory, each next to a peer.

    python bench/formats.py              # 50,000 x 1,000 float32 (a few minutes on 2 cores)
    python bench/formats.py --quick      # tiny sizes: checks that everything runs, in seconds
    python bench/formats.py --json       # one JSON object on stdout (progress goes to stderr)
    python bench/formats.py --only open_csv,memory_npz

Figures (budgets from the loaders' issue):

* ``open_npz``, ``open_npz_compressed``, ``open_pt``: ``load_logits`` followed by the notebook's
  numpy recipe (which reads every value, so a memory map cannot look free), against the library's
  own reader (``numpy.load`` of the member, ``torch.load(weights_only=True)``) followed by the
  same recipe. Budget <= 1.5x.
* ``open_csv``: ``load_logits`` against the fastest installed of ``numpy.loadtxt``,
  ``pandas.read_csv(engine="pyarrow")`` and ``pyarrow.csv.read_csv`` (parsing only; every
  installed one is timed and reported). Budget <= 1.5x.
* ``memory_*``: the peak resident memory while ``load_logits`` runs and one pass reads every
  value, over the process's size just before (libraries already imported), measured in a fresh
  child process (``/proc/self/status`` VmHWM, reset through ``/proc/self/clear_refs``). Peer: the
  returned array's size (float64 for text: a CSV is parsed to float64). Budget <= 2x. The peers'
  own peaks are reported beside it. Pages of a memory-mapped file count here, as RSS counts them.

Timed functions run interleaved (``bench.common.interleaved``) and figures are medians, so a
burst of load from another process hits ours and the peer alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from bench.common import (
    ROOT,
    Figure,
    child_env,
    interleaved,
    log,
    median_ms,
    new_result,
    print_figures,
    record,
    report,
)

FORMATS = ("npz", "npz_compressed", "pt", "csv")
FIGURES = (
    "open_npz",
    "open_npz_compressed",
    "open_pt",
    "open_csv",
    *(f"memory_{f}" for f in FORMATS),
)
FILE_NAMES = {
    "npz": "logits.npz",
    "npz_compressed": "compressed.npz",
    "pt": "logits.pt",
    "csv": "logits.csv",
}


@dataclass
class Sizes:
    n: int
    c: int
    repeats: int
    csv_repeats: int


FULL = Sizes(50_000, 1_000, 9, 3)
QUICK = Sizes(2_000, 100, 2, 2)


# --- the files ----------------------------------------------------------------------------------


def write_files(folder: Path, sizes: Sizes, wanted: set[str]) -> dict[str, Path]:
    import numpy as np
    import torch

    from softmax_lab.core.loaders import save_logits

    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, size=(sizes.n, sizes.c)).astype(np.float32)
    labels = rng.integers(0, sizes.c, sizes.n)
    paths = {key: folder / file for key, file in FILE_NAMES.items()}
    formats = {f for f in FORMATS if any(name.endswith(f) for name in wanted)}
    if "npz" in formats:
        np.savez(paths["npz"], logits=logits, labels=labels)
    if "npz_compressed" in formats:
        np.savez_compressed(paths["npz_compressed"], logits=logits, labels=labels)
    if "pt" in formats:
        torch.save(
            {"logits": torch.from_numpy(logits), "labels": torch.from_numpy(labels)}, paths["pt"]
        )
    if "csv" in formats:
        log(f"writing the {sizes.n:,} x {sizes.c:,} CSV (save_logits, shortest exact floats)")
        save_logits(paths["csv"], logits)
    return paths


def csv_peers() -> dict[str, Any]:
    """The CSV readers installed here, each returning the (N, C) float array."""
    import numpy as np

    peers: dict[str, Any] = {
        "numpy.loadtxt": lambda p: np.loadtxt(p, delimiter=",", skiprows=1, dtype=np.float64)
    }
    try:
        import pandas as pd

        peers["pandas pyarrow"] = lambda p: pd.read_csv(p, engine="pyarrow").to_numpy()
    except ImportError:
        pass
    try:
        import pyarrow.csv as pacsv

        peers["pyarrow.csv"] = lambda p: np.column_stack(
            [column.to_numpy() for column in pacsv.read_csv(p).columns]
        )
    except ImportError:
        pass
    return peers


# --- speed --------------------------------------------------------------------------------------


def figure_open(fmt: str, path: Path, sizes: Sizes) -> Figure:
    import numpy as np

    from bench.peers import numpy_recipe
    from softmax_lab.core.loaders import load_logits

    labels = np.random.default_rng(1).integers(0, sizes.c, sizes.n)

    def ours() -> float:
        return numpy_recipe(load_logits(path).logits, labels)

    if fmt == "pt":
        import torch

        peer_name = "torch.load(weights_only) + recipe"

        def peer() -> float:
            obj = torch.load(path, weights_only=True)
            return numpy_recipe(obj["logits"].numpy(), labels)
    else:
        peer_name = "numpy.load of the member + recipe"

        def peer() -> float:
            with np.load(path) as archive:
                return numpy_recipe(archive["logits"], labels)

    log(f"open_{fmt}: {sizes.repeats} interleaved repeats")
    samples = interleaved({"ours": ours, "peer": peer}, sizes.repeats)
    return Figure(
        f"open_{fmt}",
        f"load_logits + numpy recipe, {sizes.n:,} x {sizes.c:,} float32 {fmt}",
        "ms",
        median_ms(samples["ours"]),
        peer_name,
        median_ms(samples["peer"]),
        "<= 1.5 x",
        1.5,
        samples=sizes.repeats,
        extra={"ours_min_ms": min(samples["ours"]) * 1e3},
    )


def figure_open_csv(path: Path, sizes: Sizes) -> Figure:
    import numpy as np

    from softmax_lab.core.loaders import load_logits

    peers = csv_peers()
    fns = {"ours": lambda: load_logits(path)}
    fns.update({name: (lambda fn=fn: fn(path)) for name, fn in peers.items()})
    ours = load_logits(path).logits
    for _name, fn in peers.items():  # every peer must read the same table
        np.testing.assert_array_equal(np.asarray(fn(path), dtype=np.float64), ours)
    log(f"open_csv: {sizes.csv_repeats} interleaved repeats of ours and {', '.join(peers)}")
    samples = interleaved(fns, sizes.csv_repeats, warmup=0)
    ms = {name: median_ms(s) for name, s in samples.items()}
    fastest = min(peers, key=ms.__getitem__)
    return Figure(
        "open_csv",
        f"load_logits of a {sizes.n:,} x {sizes.c:,} CSV ({path.stat().st_size / 1e6:,.0f} MB)",
        "ms",
        ms["ours"],
        f"fastest reader ({fastest})",
        ms[fastest],
        "<= 1.5 x",
        1.5,
        samples=sizes.csv_repeats,
        extra={f"{name}_ms": ms[name] for name in peers},
    )


# --- memory -------------------------------------------------------------------------------------


def _status() -> dict[str, float]:
    values = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def child_memory(fmt: str, path: str, reader: str) -> dict[str, float]:
    """Runs in the child: peak RSS of one read (+ a pass over every value) over the baseline."""
    import numpy as np
    import torch

    import softmax_lab.core.loaders  # noqa: F401 (imported before the baseline, as an app has it)

    for optional in ("pyarrow.csv", "tokenizers"):
        with contextlib.suppress(ImportError):
            __import__(optional)
    from softmax_lab.core.loaders import load_logits

    readers = {
        "ours": lambda: load_logits(path).logits,
        "numpy.load": lambda: np.load(path)["logits"],
        "torch.load": lambda: torch.load(path, weights_only=True)["logits"].numpy(),
        **{name: (lambda fn=fn: fn(path)) for name, fn in csv_peers().items()},
    }
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    base = _status()["VmRSS"]
    array = readers[reader]()
    float(np.max(array))  # reads every value: mapped pages count as they would in use
    status = _status()
    return {
        "base_mb": base,
        "peak_mb": status["VmHWM"] - base,
        "after_mb": status["VmRSS"] - base,
        "array_mb": array.nbytes / 2**20,  # MiB, as /proc/self/status counts
        "reset": float(reset),
    }


def _run_child(fmt: str, path: Path, reader: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", fmt, str(path), reader],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{reader} on {fmt} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def figure_memory(fmt: str, path: Path, sizes: Sizes) -> Figure:
    peers = {"npz": ["numpy.load"], "npz_compressed": ["numpy.load"], "pt": ["torch.load"]}
    names = peers.get(fmt, list(csv_peers()))
    log(f"memory_{fmt}: fresh child processes for ours and {', '.join(names)}")
    ours = _run_child(fmt, path, "ours")
    extra = {f"{name}_peak_mb": _run_child(fmt, path, name)["peak_mb"] for name in names}
    extra["ours_after_mb"] = ours["after_mb"]
    return Figure(
        f"memory_{fmt}",
        f"peak RSS while loading {sizes.n:,} x {sizes.c:,} {fmt} (+ one read pass)",
        "MB",
        ours["peak_mb"],
        "the returned array",
        ours["array_mb"],
        "<= 2 x the array",
        2.0,
        samples=1,
        extra=extra,
    )


# --- output -------------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab file formats",
        [
            f"cpu: {m['cpu']} · {m['logical_cores']} logical cores",
            f"python {m['python']} · numpy {m['numpy']} · torch {m['torch']} · pyarrow "
            f"{result['pyarrow']} · pandas {result['pandas']}",
        ],
        result,
    )


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "missing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two repeats")
    parser.add_argument("--only", default="", metavar="NAME[,NAME]", help=", ".join(FIGURES))
    parser.add_argument(
        "--child", nargs=3, metavar=("FORMAT", "PATH", "READER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_memory(*args.child)))
        return 0
    wanted = {name.strip() for name in args.only.split(",") if name.strip()} or set(FIGURES)
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) {sorted(unknown)}; figures: {', '.join(FIGURES)}")
    sizes = QUICK if args.quick else FULL
    result = new_result(
        args.quick, size=[sizes.n, sizes.c], pyarrow=_version("pyarrow"), pandas=_version("pandas")
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-formats-") as tmp:
        paths = write_files(Path(tmp), sizes, wanted)
        steps: list[tuple[str, Any]] = [
            *((f"open_{f}", lambda f=f: figure_open(f, paths[f], sizes)) for f in FORMATS[:3]),
            ("open_csv", lambda: figure_open_csv(paths["csv"], sizes)),
            *((f"memory_{f}", lambda f=f: figure_memory(f, paths[f], sizes)) for f in FORMATS),
        ]
        for name, step in steps:
            if name in wanted:
                record(result, name, lambda step=step: [step()])
    return report(result, started, args.json, print_table)


if __name__ == "__main__":
    sys.exit(main())
