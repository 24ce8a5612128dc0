"""Language-model logits at real vocabulary sizes: speed and memory, each next to a peer.

    python bench/sequences.py              # 2,048 positions x 128,256 tokens (a few minutes)
    python bench/sequences.py --quick      # tiny sizes: checks that everything runs
    python bench/sequences.py --json       # one JSON object on stdout (progress on stderr)
    python bench/sequences.py --only open_lm,t_slider

The files (a 1.05 GB float32 ``.npy`` and a 525 MB bfloat16 ``.pt`` of the same shape, Llama 3's
vocabulary size) are written into a temporary folder under /tmp and deleted afterwards. Every
window figure runs in a fresh child process with Qt's offscreen platform.

* ``open_lm``: File › Open of the ``.npy`` (no ids: sequences without targets) until the
  Sequence view and the table have painted, against ``numpy.load(mmap_mode="r")`` plus one
  ``evaluate`` pass over the same table. Budget <= 1.5x.
* ``memory_lm``: peak resident memory while opening it and after a token click and a
  temperature change, over the empty window, against the file's size. Budget <= 1.5x.
* ``click_sequence_floor``: the token click against its floor, the same clicks in a bare Qt
  window (``bench/floor.py`` ``BareSequence``: the app's chips, table size and Formula HTML at
  the same places, painted with QPainter / QTableView / QTextBrowser); budget 1x.
* ``click_sequence`` / ``click_sample``: a click on a token of the Sequence view (the Sequence
  tab and the Formula tab showing) until the sequence view, the table and the Formula panel have
  painted; and selecting a position with the Sample tab (and, as for the peer, the Options tab)
  showing until its plots (logits and probabilities, gradient, per-sample loss, loss curve) and
  the table have painted. Peer:
  editing a cell of a 16 x 10 table until every view has painted, in the same process.
  Budget <= 3x.
* ``t_slider``: the temperature slider (on the Options tab, which therefore shows) dragged across
  30 positions (one every 40 ms) on the open file, the Sequence tab showing: the longest the GUI
  thread was busy between two ticks of a 5 ms heartbeat (budget
  <= 100 ms), next to one ``evaluate`` pass at a new T (what each step would block for on the
  GUI thread); how long after the release the last result is in; the undo steps it made.
* ``memory_bf16``: peak resident memory of ``torch.load(mmap=True)`` + ``evaluate_sequences``
  on the bfloat16 ``.pt`` (no float32 copy of the table), against the file's size, budget <=
  1.5x; beside it the Hugging Face recipe (``logits.float()`` then ``F.cross_entropy``).
* ``evaluate_bf16``: the time of that evaluation against the Hugging Face recipe. Budget <= 1.5x.

Timed functions run interleaved (``bench.common.interleaved``) and figures are medians. The
window figures are measured by ``bench/lm_probe.py`` in child processes.
"""

from __future__ import annotations

import argparse
import json
import math
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
    log,
    median_ms,
    new_result,
    print_figures,
    record_steps,
    report,
)

FIGURES = (
    "open_lm",
    "memory_lm",
    "click_sequence",
    "click_sequence_floor",
    "click_sample",
    "t_slider",
    "memory_bf16",
    "evaluate_bf16",
)
GUI_FIGURES = ("open_lm", "click_sequence", "click_sequence_floor", "click_sample", "t_slider")


@dataclass
class Sizes:
    b: int
    t: int
    v: int
    open_repeats: int
    click_repeats: int
    bf16_repeats: int
    slider_moves: int = 30


FULL = Sizes(1, 2_048, 128_256, 5, 15, 3)
QUICK = Sizes(2, 128, 4_000, 2, 3, 2, 8)


# --- the files ----------------------------------------------------------------------------------


def write_files(folder: Path, sizes: Sizes, wanted: set[str]) -> dict[str, Path]:
    """Logits N(0, 2) written in chunks (the 1 GB table never sits in memory twice)."""
    import numpy as np

    paths = {"npy": folder / "lm.npy", "pt": folder / "lm_bf16.pt"}
    rng = np.random.default_rng(0)
    rows = sizes.b * sizes.t
    chunk = max(1, (1 << 25) // sizes.v)
    if wanted - {"memory_bf16", "evaluate_bf16"}:
        log(f"writing {sizes.b} x {sizes.t:,} x {sizes.v:,} float32 .npy")
        out = np.lib.format.open_memmap(
            paths["npy"], mode="w+", dtype=np.float32, shape=(sizes.b, sizes.t, sizes.v)
        )
        flat = out.reshape(rows, sizes.v)
        for s in range(0, rows, chunk):
            e = min(rows, s + chunk)
            flat[s:e] = rng.standard_normal((e - s, sizes.v), dtype=np.float32) * 2
        out.flush()
        del out, flat
    if {"memory_bf16", "evaluate_bf16"} & wanted:
        import torch

        log(f"writing {sizes.b} x {sizes.t:,} x {sizes.v:,} bfloat16 .pt")
        logits = torch.empty((sizes.b, sizes.t, sizes.v), dtype=torch.bfloat16)
        flat_t = logits.view(rows, sizes.v)
        for s in range(0, rows, chunk):
            e = min(rows, s + chunk)
            block = rng.standard_normal((e - s, sizes.v), dtype=np.float32) * 2
            flat_t[s:e] = torch.from_numpy(block)
        ids = torch.from_numpy(rng.integers(0, sizes.v, (sizes.b, sizes.t)))
        torch.save({"logits": logits, "input_ids": ids}, paths["pt"])
        del logits, flat_t
    return paths


# --- child processes ----------------------------------------------------------------------------


def _run_child(kind: str, args: list[str], timeout: float = 1800) -> dict:
    """``bench/lm_probe.py KIND ARGS`` in a fresh process: its last JSON line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lm_probe.py"), kind, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} child failed ({done.returncode}): {done.stderr[-2500:]}")
    return json.loads(lines[-1])


# --- figures ------------------------------------------------------------------------------------


def gui_figures(path: Path, sizes: Sizes, wanted: set[str], tmp: str) -> list[Figure]:
    names = [f for f in GUI_FIGURES if f in wanted and f != "click_sequence_floor"]
    if "click_sequence_floor" in wanted and "click_sequence" not in names:
        names.append("click_sequence")  # the floor's clicks follow the app's
    log(f"window figures ({', '.join(names)}) in a fresh app")
    raw = _run_child("gui", [str(path), tmp, ",".join(names), _sizes_arg(sizes)])
    edit = median_ms(raw["edit_small"])
    shape = f"{sizes.b * sizes.t:,} x {sizes.v:,}"
    out = []
    if "open_lm" in raw:
        out.append(
            Figure(
                "open_lm",
                f"open a {shape} float32 .npy → Sequence view and table painted",
                "ms",
                median_ms(raw["open_lm"]["app"]),
                "numpy.load(mmap) + one evaluate pass",
                median_ms(raw["open_lm"]["peer"]),
                "<= 1.5 x",
                1.5,
                samples=sizes.open_repeats,
                extra={"app_min_ms": min(raw["open_lm"]["app"]) * 1e3},
            )
        )
    for name, what in (
        ("click_sequence", "click a token → sequence view, table, Formula tab painted"),
        ("click_sample", "select a position → its 5 plots and the table painted (Sample tab)"),
    ):
        if name in raw:
            out.append(
                Figure(
                    name,
                    f"{what}, {shape}",
                    "ms",
                    median_ms(raw[name]),
                    "cell edit → every view painted, 16 x 10",
                    edit,
                    "<= 3 x",
                    3.0,
                    samples=len(raw[name]),
                    extra={"max_ms": max(raw[name]) * 1e3},
                )
            )
    if "click_sequence_floor" in wanted and "click_sequence_floor" in raw:
        app, floor = median_ms(raw["click_sequence"]), median_ms(raw["click_sequence_floor"])
        out.append(
            Figure(
                "click_sequence_floor",
                f"the token click, {shape}, against a bare Qt window (bench/floor.py)",
                "ms",
                app,
                "bare Qt: the same chips, table size and Formula HTML, click + paint",
                floor,
                "<= 1 x the floor",
                1.0,
                samples=len(raw["click_sequence"]),
                extra={"floor_min_ms": min(raw["click_sequence_floor"]) * 1e3},
            )
        )
    if "t_slider" in raw:
        s = raw["t_slider"]
        gaps = sorted(s["gaps"])
        out.append(
            Figure(
                "t_slider",
                f"T slider dragged over {sizes.slider_moves} steps on {shape}: longest frame",
                "ms",
                gaps[-1] * 1e3,
                "one evaluate pass at a new T (blocking)",
                median_ms(s["blocking"]),
                "<= 100 ms",
                math.inf,
                max_value=100.0,
                samples=len(gaps),
                extra={
                    "p99_frame_ms": gaps[int(0.99 * (len(gaps) - 1))] * 1e3,
                    "result_after_release_ms": s["follow"] * 1e3,
                    "undo_restores_t": float(s["undone_to"]),
                },
            )
        )
        log(f"t_slider: one undo step '{s['undo_text']}' restored T = {s['undone_to']}")
    return out


def memory_figure(path: Path, sizes: Sizes, tmp: str) -> list[Figure]:
    log("memory_lm: open in a fresh app, click a token, change T")
    raw = _run_child("memory", [str(path), tmp])
    base = raw["empty"]["rss"]
    return [
        Figure(
            "memory_lm",
            f"peak RSS over the empty app, {sizes.b * sizes.t:,} x {sizes.v:,} float32 opened",
            "MB",
            raw["loaded"]["peak"] - base,
            "file size",
            raw["file_mb"],
            "<= 1.5 x the file",
            1.5,
            samples=1,
            extra={
                "after_click_and_t_change_mb": raw["after_t"]["peak"] - base,
                "rss_file_backed_mb": raw["loaded"]["file"] - raw["empty"]["file"],
                "rss_anon_mb": raw["loaded"]["anon"] - raw["empty"]["anon"],
            },
        )
    ]


def bf16_figures(path: Path, sizes: Sizes, wanted: set[str]) -> list[Figure]:
    out = []
    shape = f"{sizes.b * sizes.t:,} x {sizes.v:,}"
    if "memory_bf16" in wanted:
        log("memory_bf16: fresh children for ours and the Hugging Face recipe")
        ours = _run_child("bf16-memory", [str(path), "ours"])
        hf = _run_child("bf16-memory", [str(path), "hf"])
        out.append(
            Figure(
                "memory_bf16",
                f"peak RSS, torch.load(mmap) + evaluate_sequences, {shape} bfloat16 .pt",
                "MB",
                ours["peak_mb"],
                "file size",
                ours["file_mb"],
                "<= 1.5 x the file",
                1.5,
                samples=1,
                extra={"hf_float_copy_peak_mb": hf["peak_mb"], "loss": ours["loss"]},
            )
        )
    if "evaluate_bf16" in wanted:
        log(f"evaluate_bf16: {sizes.bf16_repeats} interleaved repeats")
        raw = _run_child("bf16-time", [str(path), str(sizes.bf16_repeats)])
        out.append(
            Figure(
                "evaluate_bf16",
                f"evaluate_sequences on {shape} bfloat16 logits (loss, per-token, perplexity)",
                "ms",
                median_ms(raw["ours"]),
                "logits.float() + F.cross_entropy (Hugging Face)",
                median_ms(raw["hf"]),
                "<= 1.5 x",
                1.5,
                samples=sizes.bf16_repeats,
                extra={"loss_difference": raw["difference"]},
            )
        )
    return out


# --- output -------------------------------------------------------------------------------------


def _sizes_arg(sizes: Sizes) -> str:
    return json.dumps(asdict(sizes))


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab language-model logits",
        [f"cpu: {m['cpu']} · {m['logical_cores']} logical cores"],
        result,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--only", default="", metavar="NAME[,NAME]", help=", ".join(FIGURES))
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()} or set(FIGURES)
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) {sorted(unknown)}; figures: {', '.join(FIGURES)}")
    sizes = QUICK if args.quick else FULL
    result = new_result(args.quick, shape=[sizes.b, sizes.t, sizes.v])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-lm-", dir="/tmp") as tmp:
        paths = write_files(Path(tmp), sizes, wanted)
        steps = [
            (set(GUI_FIGURES), lambda: gui_figures(paths["npy"], sizes, wanted, tmp)),
            ({"memory_lm"}, lambda: memory_figure(paths["npy"], sizes, tmp)),
            ({"memory_bf16", "evaluate_bf16"}, lambda: bf16_figures(paths["pt"], sizes, wanted)),
        ]
        record_steps(result, steps, wanted)
    return report(result, started, args.json, print_table, FIGURES)


if __name__ == "__main__":
    sys.exit(main())
