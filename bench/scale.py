"""Scale: a 1,000,000 x 1,000 table (4 GB) in the window, and a file larger than the memory a
streamed evaluate may use.

    python bench/scale.py            # 1,000,000 x 1,000 float32 .npy (4 GB in /tmp), ~10 minutes
    python bench/scale.py --rows 500000   # where /tmp has less room
    python bench/scale.py --quick    # tiny sizes: checks that everything runs, in seconds
    python bench/scale.py --json     # one JSON object on stdout (progress goes to stderr)

Figures (each a ratio to a peer measured in the same run):

* ``scale_open``: opening the big ``.npy`` (memory-mapped, as the app opens it) until the table
  and every plot have painted, against ``numpy.load`` of the file + ``core.evaluate`` of it (the
  least any tool that reads the table and evaluates it does). Budget 1.5x.
* ``scale_edit``: a cell edit of the big table until every view has painted, against the same
  edit of a 50,000 x 1,000 table in the same window; the first edit after opening (which copies
  the read-only mapped table) is reported beside it. Budget 2x.
* ``stream_linear``: ``core.evaluate`` of a file larger than the memory the process may use
  (``resource.setrlimit(RLIMIT_AS)`` in a child: the address space left is less than the file,
  so ``numpy.load`` of it fails there), streamed over row windows each mapped on its own
  (``np.memmap`` with an offset) and let go before the next: the time per row at N rows against
  the time per row at N/2 (budget 1.2x: linear in N), with the peak resident memory of both
  runs in ``extra`` (``stream_memory``: the larger peak against the limit, budget 1x).

Big files go to a temporary folder under /tmp and are deleted at the end (and on failure).
The window figures run in a child process (Qt offscreen unless QT_QPA_PLATFORM says otherwise).
"""

from __future__ import annotations

import argparse
import json
import shutil
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
    record,
    report,
)

MB = 2**20


@dataclass
class Sizes:
    rows: int  # the big table
    c: int
    small: int  # the peer edit's table
    repeats: int
    stream_rows: int  # the larger streamed file; the smaller has half
    window_rows: int  # rows per streamed window
    limit_mb: int  # address space the streamed child may add


FULL = Sizes(1_000_000, 1_000, 50_000, 5, 1_000_000, 50_000, 1024)
QUICK = Sizes(20_000, 100, 2_000, 2, 100_000, 2_000, 8)


def write_big_npy(path: Path, rows: int, c: int, block_rows: int = 50_000) -> Path:
    """An (rows, c) float32 .npy written block by block (memory stays at one block): one random
    block, each copy shifted by a different constant so that no two blocks are alike."""
    import numpy as np

    rng = np.random.default_rng(1)
    block_rows = max(1, min(block_rows, rows))
    block = rng.normal(0.0, 2.0, (block_rows, c)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, c))
    for k, start in enumerate(range(0, rows, block_rows)):
        stop = min(rows, start + block_rows)
        np.add(block[: stop - start], np.float32(0.001 * k), out=out[start:stop])
    out.flush()
    del out
    return path


def stream_windows(rows: int, window: int) -> list[tuple[int, int]]:
    """Row windows ``[start, stop)`` covering ``rows`` rows, ``window`` at a time."""
    if rows < 0 or window < 1:
        raise ValueError(f"rows must be >= 0 and window >= 1, got {rows}, {window}")
    return [(s, min(rows, s + window)) for s in range(0, rows, window)]


def npy_layout(path: Path) -> tuple[int, tuple[int, ...], str]:
    """Where a .npy file's data starts, its shape and dtype (C order only)."""
    import numpy as np

    fmt = np.lib.format
    with open(path, "rb") as fh:
        version = fmt.read_magic(fh)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        if fortran:
            raise ValueError(f"{path}: Fortran order is not streamed")
        return fh.tell(), tuple(shape), str(dtype)


def streamed_loss(path: Path, window: int) -> tuple[float, int]:
    """Mean loss of the file's rows against label 0, ``core.evaluate`` over row windows each
    mapped on its own and let go before the next; and the rows seen."""
    import numpy as np

    from softmax_lab.core import evaluate

    offset, shape, dtype = npy_layout(path)
    rows, c = shape
    total, seen = 0.0, 0
    itemsize = np.dtype(dtype).itemsize
    for start, stop in stream_windows(rows, window):
        part = np.memmap(
            path, dtype, "r", offset=offset + start * c * itemsize, shape=(stop - start, c)
        )
        ev = evaluate(part, np.zeros(stop - start, dtype=np.int64), reduction="sum")
        total += float(ev.loss)
        seen += stop - start
        del ev, part
    return total / max(1, seen), seen


# --- the streamed child -----------------------------------------------------------------------


def _status_mb() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmSize"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def child_stream(path: str, window: int, limit_mb: int) -> int:
    """Under an address-space limit of what the process maps now + ``limit_mb``: show that the
    file cannot be loaded whole, then stream it; print time, peak RSS and the limit."""
    import resource

    import numpy as np

    from softmax_lab.core import evaluate

    warm = np.random.default_rng(0).normal(0, 1, (window, 8)).astype(np.float32)
    evaluate(warm, np.zeros(window, dtype=np.int64))  # thread pools and arenas made first
    base = _status_mb()
    limit = int((base["VmSize"] + limit_mb) * MB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    file_mb = Path(path).stat().st_size / MB
    try:
        np.load(path)
        whole = True
    except MemoryError:
        whole = False
    with open("/proc/self/clear_refs", "w") as fh:  # restart the high-water mark
        fh.write("5")
    base = _status_mb()
    start = time.perf_counter()
    loss, seen = streamed_loss(Path(path), window)
    elapsed = time.perf_counter() - start
    after = _status_mb()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": seen,
                "loss": loss,
                "loaded_whole": whole,
                "file_mb": file_mb,
                "limit_mb": limit_mb,
                "base_rss_mb": base["VmRSS"],
                "peak_rss_mb": after["VmHWM"],
            }
        ),
        flush=True,
    )
    return 0


def _run_child(argv: list[str], timeout: float) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *argv],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {argv[:1]} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def stream_figures(tmp: Path, sizes: Sizes) -> list[Figure]:
    runs = {}
    for rows in (sizes.stream_rows // 2, sizes.stream_rows):
        path = tmp / f"stream_{rows}.npy"
        log(f"stream: writing {rows:,} x {sizes.c:,} float32 ({rows * sizes.c * 4 / 1e9:.2f} GB)")
        write_big_npy(path, rows, sizes.c)
        log(f"stream: evaluating it under a {sizes.limit_mb} MB address-space allowance")
        runs[rows] = _run_child(
            ["--child-stream", str(path), str(sizes.window_rows), str(sizes.limit_mb)], 1800
        )
        path.unlink()
    half, full = runs[sizes.stream_rows // 2], runs[sizes.stream_rows]
    for raw in (half, full):
        if raw["loaded_whole"]:
            raise RuntimeError("numpy.load of the file fit under the limit: not a streamed test")
    per_row = {k: v["seconds"] / v["rows"] for k, v in runs.items()}
    growth = {k: v["peak_rss_mb"] - v["base_rss_mb"] for k, v in runs.items()}
    n2, n1 = sizes.stream_rows, sizes.stream_rows // 2
    return [
        Figure(
            "stream_linear",
            f"evaluate of a {full['file_mb'] / 1024:.2f} GB file under a {sizes.limit_mb} MB "
            f"address-space allowance, streamed: time per row at {n2:,} rows",
            "ms",
            full["seconds"] * 1e3,
            f"{n1:,} rows ({half['file_mb'] / 1024:.2f} GB), time x 2",
            half["seconds"] * 2e3,
            "<= 1.2 x (linear in N)",
            1.2,
            samples=1,
            extra={
                "ns_per_row_small": per_row[n1] * 1e9,
                "ns_per_row_large": per_row[n2] * 1e9,
                "rss_growth_mb_small": growth[n1],
                "rss_growth_mb_large": growth[n2],
            },
        ),
        Figure(
            "stream_memory",
            f"peak RSS growth while streaming the {full['file_mb'] / 1024:.2f} GB file",
            "MB",
            max(growth.values()),
            "the address-space allowance",
            float(sizes.limit_mb),
            "<= 1 x the allowance",
            1.0,
            samples=1,
            extra={"file_mb": full["file_mb"], "window_rows": float(sizes.window_rows)},
        ),
    ]


# --- the window child -------------------------------------------------------------------------


def child_gui(big: str, small: str, repeats: int) -> int:
    """Open the small table and edit it (the peer edit), then open the big one (timed against
    numpy.load + evaluate, interleaved), its first edit, then steady edits; JSON on stdout."""
    import numpy as np

    from bench.common import interleaved
    from bench.probe import _edit_once, _isolate_settings, show_window, start_app, wait_loaded
    from softmax_lab.core import evaluate
    from softmax_lab.core.constants import IGNORE_INDEX

    app = start_app()
    _isolate_settings(str(Path(big).parent))
    window, watch = show_window(app)
    result: dict = {}

    def open_file(path: str) -> None:
        watch.reset()
        wait_loaded(app, window, path)
        if not watch.wait(app):
            raise RuntimeError("the views did not repaint after opening a file")

    open_file(small)
    open_file(small)
    result["edit_small"] = [_edit_once(app, window, watch, k) for k in range(repeats)]

    rows = np.lib.format.open_memmap(big, mode="r").shape[0]
    ignored = np.full(rows, IGNORE_INDEX, dtype=np.int64)

    def peer() -> None:
        evaluate(np.load(big), ignored)  # every sample of a logits-only file starts ignored

    samples = interleaved({"app": lambda: open_file(big), "peer": peer}, max(2, repeats // 2))
    result["open_big"], result["peer"] = samples["app"], samples["peer"]
    result["first_edit_big"] = [_edit_once(app, window, watch, 0)]
    result["edit_big"] = [_edit_once(app, window, watch, k) for k in range(1, repeats + 1)]
    result["big_shape"] = [int(window.document.n_samples), int(window.document.n_classes)]
    window.document.mark_clean()
    print(json.dumps(result), flush=True)
    return 0


def gui_figures(tmp: Path, sizes: Sizes) -> list[Figure]:
    big = tmp / f"big_{sizes.rows}x{sizes.c}.npy"
    small = tmp / f"small_{sizes.small}x{sizes.c}.npy"
    gb = sizes.rows * sizes.c * 4 / 1e9
    log(
        f"scale: writing {sizes.rows:,} x {sizes.c:,} float32 ({gb:.1f} GB) and "
        f"{sizes.small:,} rows"
    )
    write_big_npy(big, sizes.rows, sizes.c)
    write_big_npy(small, sizes.small, sizes.c)
    log("scale: opening and editing in a window")
    try:
        raw = _run_child(["--child-gui", str(big), str(small), str(sizes.repeats)], 3600)
    finally:
        big.unlink()
        small.unlink()
    what = f"{sizes.rows:,} x {sizes.c:,} float32 .npy ({gb:.1f} GB, memory-mapped)"
    edit_small = median_ms(raw["edit_small"])
    return [
        Figure(
            "scale_open",
            f"open {what} -> table and every plot painted",
            "ms",
            median_ms(raw["open_big"]),
            "numpy.load + core.evaluate",
            median_ms(raw["peer"]),
            "<= 1.5 x",
            1.5,
            samples=len(raw["open_big"]),
            extra={"open_min_ms": min(raw["open_big"]) * 1e3},
        ),
        Figure(
            "scale_edit",
            f"edit one cell of {what} -> every view painted",
            "ms",
            median_ms(raw["edit_big"]),
            f"the same edit at {sizes.small:,} x {sizes.c:,}",
            edit_small,
            "<= 2 x",
            2.0,
            samples=len(raw["edit_big"]),
            extra={
                "first_edit_ms": raw["first_edit_big"][0] * 1e3,
                "first_edit_ratio": raw["first_edit_big"][0] * 1e3 / edit_small,
                "first_edit_over_open_peer": raw["first_edit_big"][0]
                * 1e3
                / median_ms(raw["peer"]),
            },
        ),
    ]


# --- output -----------------------------------------------------------------------------------


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab: scale",
        [
            f"cpu: {m['cpu']} · {m['logical_cores']} logical cores · torch threads "
            f"{m['torch_threads']} · numpy {m['numpy']} · torch {m['torch']}"
        ],
        result,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--rows", type=int, help="rows of the big table (default 1,000,000)")
    parser.add_argument("--no-gui", action="store_true", help="only the streamed figures")
    parser.add_argument("--child-stream", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-gui", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_stream:
        path, window, limit = args.child_stream
        return child_stream(path, int(window), int(limit))
    if args.child_gui:
        big, small, repeats = args.child_gui
        return child_gui(big, small, int(repeats))
    sizes = QUICK if args.quick else FULL
    if args.rows:
        sizes = Sizes(**{**asdict(sizes), "rows": args.rows, "stream_rows": args.rows})
    result = new_result(args.quick, sizes=asdict(sizes))
    started = time.perf_counter()
    need = (sizes.rows + sizes.small) * sizes.c * 4
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < need * 1.2:
        result["errors"]["disk"] = f"{need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free"
        return report(result, started, args.json, print_table)
    with tempfile.TemporaryDirectory(prefix="softmax-lab-scale-") as tmp:
        if not args.no_gui:
            record(result, "gui", lambda: gui_figures(Path(tmp), sizes))
        record(result, "stream", lambda: stream_figures(Path(tmp), sizes))
    return report(result, started, args.json, print_table)


if __name__ == "__main__":
    sys.exit(main())
