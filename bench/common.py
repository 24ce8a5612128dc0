"""Timing helpers and machine facts shared by the benchmark runner and its child processes.

No Qt here: the GUI pieces live in ``bench/probe.py``, which runs in child processes.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each function, ``repeats`` times, interleaved.

    Each round runs every function once, in an order rotated by one each round, so that a burst
    of load from another process hits all of them alike and no one always runs first.
    """
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            fns[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return [float("nan")] * 3


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """CPU, cores, threads, load and library versions: what a reader needs to compare runs."""
    import numpy as np
    import torch

    info: dict = {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "qt_platform": child_env()["QT_QPA_PLATFORM"],
    }
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    for module in ("PySide6", "pyqtgraph", "matplotlib"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = "missing"
    return info


def child_env() -> dict[str, str]:
    """The environment for child processes: repository importable, offscreen Qt by default."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH", "")])])
    return env


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the figures and their table -----------------------------------------------------------------


@dataclass
class Figure:
    """One row of a benchmark's table: our median, the peer's median from the same run, their
    ratio and the budget (a ratio, and where ``max_value`` is set an absolute bound too)."""

    name: str
    what: str
    unit: str
    value: float
    peer_name: str
    peer: float
    budget: str
    max_ratio: float
    samples: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    max_value: float | None = field(default=None, kw_only=True)
    ratio: float = field(init=False)
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.value / self.peer if self.peer else math.nan
        ok = self.ratio <= self.max_ratio
        if self.max_value is not None:
            ok = ok and self.value <= self.max_value
        self.passed = bool(ok)


def format_value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def print_figures(title: str, facts: list[str], result: dict) -> None:
    """A benchmark's result as a table: ``title`` (with "(quick sizes)" for a quick run), the
    machine ``facts`` lines and the load average, one row per figure, the extras, the errors."""
    print(f"{title}{' (quick sizes)' if result['quick'] else ''}")
    for line in facts:
        print(f"  {line}")
    print(
        f"  load average: {' '.join(map(str, result['load_average_start']))} at start, "
        f"{' '.join(map(str, result['load_average_end']))} at end"
    )
    rows = [("figure", "ours", "peer", "peer value", "ratio", "budget", "")]
    for f in result["figures"]:
        rows.append(
            (
                f["name"],
                format_value(f["value"], f["unit"]),
                f["peer_name"],
                format_value(f["peer"], f["unit"]),
                f"{f['ratio']:.3f}",
                f["budget"],
                "pass" if f["passed"] else "MISS",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    for f in result["figures"]:
        if f["extra"]:
            print(f"  {f['name']}: " + ", ".join(f"{k} {v:.4g}" for k, v in f["extra"].items()))
    for name, error in result["errors"].items():
        print(f"  {name}: FAILED: {error.splitlines()[0] if error else ''}")


def new_result(quick: bool, **facts: object) -> dict:
    """The record a benchmark run fills: the machine, the sizes' kind, ``facts`` (its sizes,
    library versions), the load average at the start, then figures and errors."""
    return {
        "machine": machine_info(),
        "quick": quick,
        **facts,
        "load_average_start": load_average(),
        "figures": [],
        "errors": {},
    }


def record(result: dict, key: str, step: Callable[[], Iterable[Figure]]) -> None:
    """Add ``step()``'s figures to ``result``; if it fails, its error under ``key`` instead:
    one broken figure must not hide the others."""
    try:
        result["figures"].extend(asdict(f) for f in step())
    except Exception as exc:
        result["errors"][key] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED {key}: {exc}")


def record_steps(
    result: dict, steps: list[tuple[set[str], Callable[[], Iterable[Figure]]]], wanted: set[str]
) -> None:
    """:func:`record` each step whose figure names include a wanted one."""
    for names, step in steps:
        if names & wanted:
            record(result, ",".join(sorted(names & wanted)), step)


def report(
    result: dict,
    started: float,
    as_json: bool,
    print_table: Callable[[dict], None],
    order: Sequence[str] = (),
) -> int:
    """Close a run (its figures in ``order`` if given, the load average at the end, seconds
    taken), print it as one JSON object or as a table, and give the exit status: 1 if any
    figure failed."""
    if order:
        rank = {name: i for i, name in enumerate(order)}
        result["figures"].sort(key=lambda f: rank[f["name"]])
    result["load_average_end"] = load_average()
    result["seconds"] = round(time.perf_counter() - started, 1)
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 1 if result["errors"] else 0
