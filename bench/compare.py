"""Comparing two models in the window: attaching B and editing either model, each against a peer
measured in the same run.

    python bench/compare.py            # 50,000 x 1,000 float32 for each model (2 x 200 MB)
    python bench/compare.py --quick    # tiny sizes: checks that everything runs, in seconds
    python bench/compare.py --json     # one JSON object on stdout (progress goes to stderr)

Figures (as bench/run.py reports them; the GUI work runs in a child process that starts clean):

* ``compare_attach``: File › Compare with… a labelled .npz of B's logits (read and evaluated off
  the GUI thread, compared, then attached) until every plot, the table and the compare header
  have painted, against opening a single .npz of the same size as model A (``window.load_file``
  until painted). Budget 2x.
* ``compare_edit_a`` / ``compare_edit_b``: an edit of one logit of A (resp. B) while comparing,
  until every plot, the table and the compare header have painted, against the same edit of a
  16 x 10 table with one model (bench/probe.py's ``edit_small``). Budget 3x. The same edit of
  the small table while comparing is reported beside it.

"Painted" as in bench/probe.py: the event loop runs until each watched view has received a paint
event after the change.
"""

from __future__ import annotations

import argparse
import json
import os
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


@dataclass
class Sizes:
    small: tuple[int, int]
    large: tuple[int, int]
    edit_repeats: int
    open_repeats: int


FULL = Sizes((16, 10), (50_000, 1_000), 15, 5)
QUICK = Sizes((16, 10), (2_000, 100), 3, 2)


# --- the child process: the window ------------------------------------------------------------


def write_pair(folder: Path, n: int, c: int) -> tuple[Path, Path]:
    """A.npz and B.npz: float32 logits with the same labels; B is A plus noise."""
    import numpy as np

    a_path, b_path = folder / f"a_{n}x{c}.npz", folder / f"b_{n}x{c}.npz"
    if not (a_path.exists() and b_path.exists()):
        rng = np.random.default_rng(1)
        labels = rng.integers(0, c, n)
        a = rng.normal(0.0, 2.0, size=(n, c)).astype(np.float32)
        a[np.arange(n), labels] += 2.0
        np.savez(a_path, logits=a, labels=labels)
        a += rng.normal(0.0, 1.0, size=(n, c)).astype(np.float32)
        np.savez(b_path, logits=a, labels=labels)
    return a_path, b_path


def _watch_bar(watch, window) -> None:
    """Also wait for the compare header (shown only while comparing) to paint."""
    from PySide6.QtCore import QEvent, QObject

    seen, paint = watch.seen, QEvent.Type.Paint

    class Filter(QObject):
        def eventFilter(self, obj, event):
            if event.type() == paint:
                seen.add(obj)
            return False

    label = window.compare_ui.bar.label
    if label not in watch.watched:
        watch.bar_filter = Filter()
        label.installEventFilter(watch.bar_filter)
        watch.watched.append(label)


def _attach(app, window, path: str) -> None:
    """File › Compare with… ``path`` the way the user does, until it is attached."""
    from PySide6.QtCore import QEventLoop

    session = window.controller.compare
    loop = QEventLoop()
    outcome: list[str] = []

    def done(message: str) -> None:
        outcome.append(message)
        loop.quit()

    session.sigCompared.connect(done)
    session.sigCompareFailed.connect(done)
    try:
        window.files.compare_file(path)
        if not outcome:
            loop.exec()
    finally:
        session.sigCompared.disconnect(done)
        session.sigCompareFailed.disconnect(done)
    if outcome != [path]:
        raise RuntimeError(f"comparing with {path} failed: {outcome}")


def _edit(app, window, watch, k: int, model: str) -> float:
    doc = window.document
    row = window.selected_sample
    col = k % doc.n_classes
    table = doc.logits if model == "a" else doc.logits_b
    value = float(table[row, col]) + (0.5 if k % 2 == 0 else -0.5)
    label = window.compare_ui.bar.label
    text = label.text()
    watch.reset()
    start = time.perf_counter()
    doc.set_logits([row], [col], value, model=model)
    if label.text() == text:
        watch.seen.add(label)  # the header's numbers did not move: nothing of it to repaint
    if not watch.wait(app):
        missing = [type(v).__name__ for v in watch.watched if v not in watch.seen]
        raise RuntimeError(f"the views did not repaint after an edit: {missing}")
    return time.perf_counter() - start


def child(args) -> int:
    import numpy as np

    from bench.common import interleaved
    from bench.probe import (
        _isolate_settings,
        _memory_now,
        close_window,
        show_window,
        start_app,
        wait_loaded,
    )
    from softmax_lab.core.document import Document

    app = start_app()
    _isolate_settings(args.tmp)
    result: dict = {}

    # Attaching B against opening A, alternately (a burst of load hits both alike).
    n, c = args.large
    a_path, b_path = (str(p) for p in write_pair(Path(args.tmp), n, c))
    large, watch = show_window(app)
    opens, attaches = [], []
    for r in range(args.open_repeats + 1):
        watch.reset()
        start = time.perf_counter()
        wait_loaded(app, large, a_path)
        if not watch.wait(app):
            raise RuntimeError("the views did not repaint after opening a file")
        opened = time.perf_counter() - start
        rss_open = _memory_now()["rss"]
        _watch_bar(watch, large)  # opening A stopped comparing; attaching shows the header
        watch.reset()
        start = time.perf_counter()
        _attach(app, large, b_path)
        if not watch.wait(app):
            raise RuntimeError("the views did not repaint after comparing")
        attached = time.perf_counter() - start
        if r == 0:  # what attaching B adds to the resident memory, once
            result["rss_attach_mb"] = [rss_open, _memory_now()["rss"]]
        watch.watched.remove(large.compare_ui.bar.label)
        if r:  # the first round warms the page cache and the code paths
            opens.append(opened)
            attaches.append(attached)
    result["file_mb"] = Path(b_path).stat().st_size / 2**20
    result["open"] = opens
    result["attach"] = attaches
    _watch_bar(watch, large)
    # The first edit of each opened (read-only) table copies it; counted apart.
    for model in ("a", "b"):
        result[f"first_edit_large_{model}"] = [_edit(app, large, watch, 0, model)]

    # The edits: the small table with one model (the peer), the small table and the large one
    # while comparing, interleaved.
    sn, sc = args.small
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(0.0, 2.0, size=(sn, sc)).round(2), rng.integers(0, sc, sn)
    small, small_watch = show_window(app, Document(logits, labels))
    both, both_watch = show_window(app, Document(logits.copy(), labels))
    both.controller.compare.attach(logits + rng.normal(size=(sn, sc)).round(2))
    _watch_bar(both_watch, both)
    both_watch.reset()
    both_watch.wait(app)
    counter = iter(range(10**9))

    def edit(window, w, model):
        return lambda: _edit(app, window, w, next(counter), model)

    samples = interleaved(
        {
            "edit_small": edit(small, small_watch, "a"),
            "edit_small_compare_a": edit(both, both_watch, "a"),
            "edit_small_compare_b": edit(both, both_watch, "b"),
            "edit_large_a": edit(large, watch, "a"),
            "edit_large_b": edit(large, watch, "b"),
        },
        args.repeats,
    )
    result.update(samples)
    for window in (small, both, large):
        close_window(app, window)
    print(json.dumps(result), flush=True)
    os._exit(0)


# --- the parent: figures ----------------------------------------------------------------------


def run_child(sizes: Sizes, tmp: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
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
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=1800,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"compare probe failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def figures(raw: dict, sizes: Sizes) -> list[Figure]:
    n, c = sizes.large
    sn, sc = sizes.small
    ms = {k: median_ms(v) for k, v in raw.items() if k != "rss_attach_mb" and isinstance(v, list)}
    out = [
        Figure(
            "compare_attach",
            f"compare with a {n:,} x {c:,} float32 .npz -> painted",
            "ms",
            ms["attach"],
            f"open a {n:,} x {c:,} .npz",
            ms["open"],
            "<= 2 x open",
            2.0,
            samples=len(raw["attach"]),
            extra={
                "rss_added_by_b_mb": raw["rss_attach_mb"][1] - raw["rss_attach_mb"][0],
                "file_b_mb": raw["file_mb"],
            },
        )
    ]
    for model in ("a", "b"):
        out.append(
            Figure(
                f"compare_edit_{model}",
                f"edit a logit of {model.upper()} while comparing, {n:,} x {c:,} -> painted",
                "ms",
                ms[f"edit_large_{model}"],
                f"the edit at {sn} x {sc}, one model",
                ms["edit_small"],
                "<= 3 x small edit",
                3.0,
                samples=len(raw[f"edit_large_{model}"]),
                extra={
                    "small_edit_comparing_ms": ms[f"edit_small_compare_{model}"],
                    "ratio_to_small_comparing": ms[f"edit_large_{model}"]
                    / ms[f"edit_small_compare_{model}"],
                    "first_edit_ms": raw[f"first_edit_large_{model}"][0] * 1e3,
                },
            )
        )
    return out


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab: comparing two models",
        [
            f"cpu: {m['cpu']} · {m['logical_cores']} logical cores · torch threads "
            f"{m['torch_threads']} · python {m['python']} · torch {m['torch']} · "
            f"PySide6 {m['PySide6']} · Qt {m['qt_platform']}"
        ],
        result,
    )


def _size(text: str) -> tuple[int, int]:
    n, c = (int(v) for v in text.lower().split("x"))
    return n, c


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--small", type=_size, default=FULL.small, help=argparse.SUPPRESS)
    parser.add_argument("--large", type=_size, default=FULL.large, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=FULL.edit_repeats, help=argparse.SUPPRESS)
    parser.add_argument(
        "--open-repeats", type=int, default=FULL.open_repeats, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        return child(args)
    sizes = QUICK if args.quick else FULL
    result = new_result(args.quick, sizes=asdict(sizes))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-compare-") as tmp:
        n, c = sizes.large
        log(f"compare: two {n:,} x {c:,} float32 files, edits at {sizes.small} and {n:,}")
        record(result, "compare", lambda: figures(run_child(sizes, tmp), sizes))
    return report(result, started, args.json, print_table)


if __name__ == "__main__":
    sys.exit(main())
