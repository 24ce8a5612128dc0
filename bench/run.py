"""Softmax Lab's performance figures (issue #5), each next to a peer measured in the same run.

    python bench/run.py              # the full sizes (about two minutes on 2 cores)
    python bench/run.py --quick      # tiny sizes: checks that everything runs, in seconds
    python bench/run.py --json       # one JSON object on stdout (progress goes to stderr)
    python bench/run.py --only evaluate,edit_large

Issue 16's figures: ``edit_small_1920`` (the small edit in a 1920 x 1080 window, matplotlib at
the same pixel size), ``first_edit`` (the first edit after opening a 50,000 x 1,000 .npz, opened
afresh for each sample, against the steady edit that follows it) and, for three drags on the
opened 50,000 x 1,000 table (the T slider, the smoothing spin box and a logit of the selected
sample; 30 values at 60 Hz), ``drag_*_stall`` (the longest gap between ticks of a 5 ms heartbeat:
how long the window froze; budget <= 50 ms and under one blocking ``evaluate``) and
``drag_*_follow`` (release -> the last value's result painted, the median of 3 drags; budget
<= 1.5 x one ``evaluate``). Its extras give issue 25's second method: from the mouse's last move
(``from_stop_ms``) against the median ``evaluate`` timed right after each drag
(``evaluate_after_ms``, ``from_stop_ratio``).

Every time is a median over repeats; functions compared with each other run interleaved, so a
burst of load from another process hits both. A figure passes when its ratio to its peer (and,
where the budget says so, its absolute value) is within budget. GUI figures render with Qt's
offscreen platform unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
    record_steps,
    report,
)

FIGURES = (
    "evaluate",
    "edit_small",
    "edit_small_floor",
    "edit_small_1920",
    "edit_large",
    "first_edit",
    "open_npy",
    "startup",
    "memory",
    "memory_after_edit",
    "drag_t_stall",
    "drag_t_follow",
    "drag_smoothing_stall",
    "drag_smoothing_follow",
    "drag_logit_stall",
    "drag_logit_follow",
)
DRAGS = {"t_slider": "drag_t", "smoothing": "drag_smoothing", "logit": "drag_logit"}
DRAG_WHAT = {
    "t_slider": "the T slider",
    "smoothing": "the smoothing spin box",
    "logit": "a logit of the selected sample (the sample plot)",
}
STALL_BUDGET_MS = 50.0  # issue 25 (was 100 in issue 16)


@dataclass
class Sizes:
    evaluate: tuple[int, int]
    small: tuple[int, int]
    large: tuple[int, int]
    eval_repeats: int
    edit_repeats: int
    open_repeats: int
    startup_repeats: int
    drag_moves: int = 30


FULL = Sizes((50_000, 1_000), (16, 10), (50_000, 1_000), 7, 15, 5, 5)
QUICK = Sizes((2_000, 100), (16, 10), (2_000, 100), 3, 3, 2, 1, 8)


# --- figures ----------------------------------------------------------------------------------


def figure_evaluate(sizes: Sizes) -> list[Figure]:
    import numpy as np
    import torch
    import torch.nn.functional as F

    import softmax_lab.core.kernels as kernels
    from bench.peers import make_floor, numpy_recipe, torch_separate
    from softmax_lab.core import evaluate

    n, c = sizes.evaluate
    log(f"evaluate: {n:,} x {c:,} float32, {sizes.eval_repeats} interleaved repeats")
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, size=(n, c)).astype(np.float32)
    labels = rng.integers(0, c, n)
    x, y = torch.from_numpy(logits), torch.from_numpy(labels)

    def one_worker() -> float:
        saved = kernels.CPU_PARALLEL_MIN_BLOCKS
        kernels.CPU_PARALLEL_MIN_BLOCKS = 1 << 60
        try:
            return float(evaluate(logits, labels).loss)
        finally:
            kernels.CPU_PARALLEL_MIN_BLOCKS = saved

    fns = {
        "evaluate": lambda: float(evaluate(logits, labels).loss),
        "numpy": lambda: numpy_recipe(logits, labels),
        "torch": lambda: torch_separate(x, y),
        "floor": make_floor(logits),
    }
    if hasattr(kernels, "CPU_PARALLEL_MIN_BLOCKS"):  # absent before the worker threads
        fns["evaluate_1_worker"] = one_worker
    samples = interleaved(fns, sizes.eval_repeats)
    ev = evaluate(logits, labels)
    reference = F.cross_entropy(x, y, reduction="none").numpy()
    ms = {k: median_ms(v) for k, v in samples.items()}
    return [
        Figure(
            "evaluate",
            f"losses + predictions + mean loss, {n:,} x {c:,} float32",
            "ms",
            ms["evaluate"],
            "numpy recipe",
            ms["numpy"],
            "<= 0.5 x numpy",
            0.5,
            samples=sizes.eval_repeats,
            extra={
                "torch_separate_ms": ms["torch"],
                "ratio_to_torch": ms["evaluate"] / ms["torch"],
                "floor_ms": ms["floor"],
                "ratio_to_floor": ms["evaluate"] / ms["floor"],
                "evaluate_min_ms": min(samples["evaluate"]) * 1e3,
                "numpy_min_ms": min(samples["numpy"]) * 1e3,
                "max_abs_diff_vs_torch": float(np.abs(ev.losses - reference).max()),
                **(
                    {"evaluate_1_worker_ms": ms["evaluate_1_worker"]}
                    if "evaluate_1_worker" in ms
                    else {}
                ),
            },
        )
    ]


def _probe(args: list[str], timeout: float, partial: bool = False) -> dict:
    """Run ``bench/probe.py`` with ``args``; its last JSON line. With ``partial``, a probe that
    died after printing a line still gives that line, with the failure under "error"."""
    command = [sys.executable, str(ROOT / "bench" / "probe.py"), *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    failure = f"{args[0]} probe failed (exit code {done.returncode}): {done.stderr.strip()[-2000:]}"
    if done.returncode != 0 and not (partial and lines):
        raise RuntimeError(failure)
    result = json.loads(lines[-1])
    if done.returncode != 0:
        result["error"] = failure
    return result


def figure_gui(sizes: Sizes, wanted: set[str], tmp: str) -> list[Figure]:
    names = [
        f
        for f in ("edit_small", "edit_small_1920", "open_npy", "edit_large", "first_edit")
        if f in wanted
    ]
    if wanted & {"edit_large", "edit_small_floor"} and "edit_small" not in names:
        names.insert(0, "edit_small")  # their peer / the floor is measured beside it
    log(
        f"gui: {', '.join(names)} (small {sizes.small[0]} x {sizes.small[1]}, "
        f"large {sizes.large[0]:,} x {sizes.large[1]:,})"
    )
    raw = _probe(
        [
            "gui",
            "--tmp",
            tmp,
            "--small",
            "x".join(map(str, sizes.small)),
            "--large",
            "x".join(map(str, sizes.large)),
            "--repeats",
            str(sizes.edit_repeats),
            "--open-repeats",
            str(sizes.open_repeats),
            "--figures",
            *names,
        ],
        900,
    )
    figures = []
    sn, sc = sizes.small
    ln, lc = sizes.large
    small = raw.get("edit_small")
    small_ms = median_ms(small["app"]) if small else math.nan
    if "edit_small_1920" in wanted:
        wide = raw["edit_small_1920"]
        figures.append(
            Figure(
                "edit_small_1920",
                f"edit one cell -> every view repainted, {sn} x {sc}, window "
                f"{wide['window'][0]} x {wide['window'][1]}",
                "ms",
                median_ms(wide["app"]),
                "matplotlib redraw (same pixel size)",
                median_ms(wide["matplotlib"]),
                "<= 0.05 x matplotlib",
                0.05,
                samples=len(wide["app"]),
                extra={"app_min_ms": min(wide["app"]) * 1e3},
            )
        )
    if "first_edit" in wanted:
        large = raw["edit_large"]
        figures.append(
            Figure(
                "first_edit",
                f"first edit after opening a {ln:,} x {lc:,} .npz -> every view repainted",
                "ms",
                median_ms(large["first_edit"]),
                "a steady edit (the next one)",
                median_ms(large["steady_after_open"]),
                "<= 3 x",
                3.0,
                samples=len(large["first_edit"]),
                extra={"first_edit_max_ms": max(large["first_edit"]) * 1e3},
            )
        )
    if "edit_small" in wanted:
        figures.append(
            Figure(
                "edit_small",
                f"edit one cell -> every view repainted, {sn} x {sc}",
                "ms",
                small_ms,
                "matplotlib redraw",
                median_ms(small["matplotlib"]),
                "<= 0.05 x matplotlib",
                0.05,
                samples=len(small["app"]),
                extra={
                    "app_min_ms": min(small["app"]) * 1e3,
                    "floor_ms": median_ms(small["floor"]),
                    "ratio_to_floor": small_ms / median_ms(small["floor"]),
                },
            )
        )
    if "edit_small_floor" in wanted:
        figures.append(
            Figure(
                "edit_small_floor",
                f"the same edit, {sn} x {sc}, against a bare pyqtgraph window (bench/floor.py)",
                "ms",
                small_ms,
                "bare pyqtgraph: the same plot types and sizes, setData + paint",
                median_ms(small["floor"]),
                "<= 1 x the floor",
                1.0,
                samples=len(small["app"]),
                extra={
                    "floor_min_ms": min(small["floor"]) * 1e3,
                    "matplotlib_ms": median_ms(small["matplotlib"]),
                    "floor_over_matplotlib": median_ms(small["floor"])
                    / median_ms(small["matplotlib"]),
                },
            )
        )
    if "edit_large" in wanted:
        large = raw["edit_large"]
        figures.append(
            Figure(
                "edit_large",
                f"edit one cell -> every view repainted, {ln:,} x {lc:,} labelled",
                "ms",
                median_ms(large["app"]),
                f"same edit at {sn} x {sc}",
                small_ms,
                "<= 50 ms and <= 2 x small",
                2.0,
                max_value=50.0,
                samples=len(large["app"]),
                extra={
                    "first_edit_after_open_ms": large["first_edit"][0] * 1e3,
                    "app_min_ms": min(large["app"]) * 1e3,
                },
            )
        )
    if "open_npy" in wanted:
        opened = raw["open_npy"]
        figures.append(
            Figure(
                "open_npy",
                f"open {ln:,} x {lc:,} .npy -> table and views shown",
                "ms",
                median_ms(opened["app"]),
                "np.load + numpy recipe",
                median_ms(opened["numpy"]),
                "<= 1.5 x",
                1.5,
                samples=len(opened["app"]),
            )
        )
    return figures


def figure_drags(sizes: Sizes, wanted: set[str], tmp: str) -> list[Figure]:
    """Drags on the opened large table (bench/probe.py drag): the longest event-loop stall during
    a 60 Hz drag of ``drag_moves`` values, and the time from the release until the last value's
    result is painted; the peer of both is one blocking ``evaluate`` of the table."""
    drags = [d for d, prefix in DRAGS.items() if wanted & {f"{prefix}_stall", f"{prefix}_follow"}]
    n, c = sizes.large
    log(f"drags: {', '.join(drags)} on {n:,} x {c:,}, {sizes.drag_moves} values at 60 Hz each")
    raw = _probe(
        [
            "drag",
            "--tmp",
            tmp,
            "--large",
            f"{n}x{c}",
            "--moves",
            str(sizes.drag_moves),
            "--figures",
            *drags,
        ],
        900,
    )
    figures = []
    for drag in drags:
        prefix, r = DRAGS[drag], raw[drag]
        evaluate_ms = min(r["blocking"]) * 1e3
        gaps_ms = [g * 1e3 for g in r["gaps"]]
        longest = max(gaps_ms, default=0.0)
        sorted_gaps = sorted(gaps_ms)
        p95 = sorted_gaps[int(0.95 * (len(sorted_gaps) - 1))] if sorted_gaps else 0.0
        extra = {
            "heartbeats": float(len(gaps_ms)),
            "gap_p95_ms": p95,
            "gaps_over_50ms": float(sum(g > 50 for g in gaps_ms)),
            "background_thread": float(r["background"]),
        }
        if f"{prefix}_stall" in wanted:
            figures.append(
                Figure(
                    f"{prefix}_stall",
                    f"longest event-loop stall dragging {DRAG_WHAT[drag]}, {n:,} x {c:,}",
                    "ms",
                    longest,
                    "one evaluate of the table",
                    evaluate_ms,
                    f"<= {STALL_BUDGET_MS:.0f} ms and <= 1 x evaluate",
                    1.0,
                    max_value=STALL_BUDGET_MS,
                    samples=len(gaps_ms),
                    extra=extra,
                )
            )
        if f"{prefix}_follow" in wanted:
            # The follow is the median of the probe's drags. The second method (issue 25): from
            # the mouse's last move (not the release, one 17 ms tick later) to the paint, against
            # the median of the evaluates run right after each drag, not the fastest before it.
            after_ms = sorted(b * 1e3 for b in r.get("blocking_after", [])) or [evaluate_ms]
            stop_ms = r.get("follow_from_stop", r["follow"]) * 1e3
            follow_extra = {
                "from_stop_ms": stop_ms,
                "evaluate_after_ms": after_ms[len(after_ms) // 2],
                "from_stop_ratio": stop_ms / after_ms[len(after_ms) // 2],
            }
            figures.append(
                Figure(
                    f"{prefix}_follow",
                    f"release -> last value's result painted, {DRAG_WHAT[drag]}",
                    "ms",
                    r["follow"] * 1e3,
                    "one evaluate of the table",
                    evaluate_ms,
                    "<= 1.5 x",
                    1.5,
                    samples=len(r.get("follows", [0])),
                    extra=follow_extra,
                )
            )
    return figures


def _time_to_line(command: list[str], expect: str) -> float:
    """Seconds from spawning ``command`` until it prints ``expect``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    elapsed = time.perf_counter() - start
    process.wait(timeout=120)
    if line != expect:
        raise RuntimeError(f"{command[1:3]} printed {line!r}, expected {expect!r}")
    return elapsed


def figure_startup(sizes: Sizes, tmp: str) -> list[Figure]:
    log(f"startup: {sizes.startup_repeats} interleaved repeats")
    app = [sys.executable, str(ROOT / "bench" / "probe.py"), "startup", "--tmp", tmp]
    imports = [
        sys.executable,
        "-c",
        "import torch, PySide6.QtWidgets, pyqtgraph; print('ready', flush=True)",
    ]
    samples = interleaved(
        {
            "app": lambda: _time_to_line(app, "painted"),
            "imports": lambda: _time_to_line(imports, "ready"),
        },
        sizes.startup_repeats,
    )
    return [
        Figure(
            "startup",
            "start -> first window painted with plots",
            "ms",
            median_ms(samples["app"]),
            "import torch, PySide6.QtWidgets, pyqtgraph",
            median_ms(samples["imports"]),
            "<= 1.3 x",
            1.3,
            samples=sizes.startup_repeats,
        )
    ]


def figure_memory(sizes: Sizes, wanted: set[str], tmp: str, errors: dict[str, str]) -> list[Figure]:
    n, c = sizes.large
    log(f"memory: open {n:,} x {c:,} float32 in a fresh app")
    raw = _probe(["memory", "--tmp", tmp, "--large", f"{n}x{c}"], 600, partial=True)
    base = raw["empty"]["rss"]
    file_mb = raw["file_mb"]
    figures = []
    for name, state, what in (
        ("memory", "loaded", f"peak RSS over the empty app, {n:,} x {c:,} float32 opened"),
        ("memory_after_edit", "edited", "the same, after one cell is edited"),
    ):
        if name in wanted and state not in raw:
            errors[name] = raw.get("error", "no measurement")
            log(f"FAILED {name}: {errors[name]}")
        elif name in wanted:
            figures.append(
                Figure(
                    name,
                    what,
                    "MB",
                    raw[state]["peak"] - base,
                    "file size",
                    file_mb,
                    "<= 2 x the file",
                    2.0,
                    samples=1,
                    extra={
                        "empty_app_rss_mb": base,
                        "rss_anon_mb": raw[state]["anon"] - raw["empty"]["anon"],
                        "rss_file_backed_mb": raw[state]["file"] - raw["empty"]["file"],
                    },
                )
            )
    return figures


# --- output -----------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab benchmarks",
        [
            f"cpu: {m['cpu']} · {m['logical_cores']} logical cores · torch threads "
            f"{m['torch_threads']}",
            f"python {m['python']} · numpy {m['numpy']} · torch {m['torch']} · PySide6 "
            f"{m['PySide6']} · pyqtgraph {m['pyqtgraph']} · matplotlib {m['matplotlib']} · "
            f"Qt platform {m['qt_platform'] or 'default'}",
        ],
        result,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one or two repeats")
    parser.add_argument(
        "--only",
        default="",
        metavar="NAME[,NAME]",
        help=f"run only these figures: {', '.join(FIGURES)}",
    )
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()} or set(FIGURES)
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) {sorted(unknown)}; figures: {', '.join(FIGURES)}")
    sizes = QUICK if args.quick else FULL

    result = new_result(args.quick)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-bench-") as tmp:
        steps = [
            ({"evaluate"}, lambda: figure_evaluate(sizes)),
            (
                {
                    "edit_small",
                    "edit_small_floor",
                    "edit_small_1920",
                    "edit_large",
                    "first_edit",
                    "open_npy",
                },
                lambda: figure_gui(sizes, wanted, tmp),
            ),
            ({"startup"}, lambda: figure_startup(sizes, tmp)),
            (
                {"memory", "memory_after_edit"},
                lambda: figure_memory(sizes, wanted, tmp, result["errors"]),
            ),
            (
                {f"{prefix}_{kind}" for prefix in DRAGS.values() for kind in ("stall", "follow")},
                lambda: figure_drags(sizes, wanted, tmp),
            ),
        ]
        record_steps(result, steps, wanted)
    return report(result, started, args.json, print_table, FIGURES)


if __name__ == "__main__":
    sys.exit(main())
