"""Inputs beside the logits: does attaching 50,000 images slow the window down?

    python bench/inputs.py            # 50,000 x 10 logits, 50,000 28 x 28 uint8 images
    python bench/inputs.py --quick    # tiny sizes: checks that everything runs, in seconds
    python bench/inputs.py --json     # one JSON object on stdout (progress goes to stderr)

Two windows (1280 x 800, offscreen unless QT_QPA_PLATFORM says otherwise) hold the same table,
one with the images attached and one without; every figure is the window with images against
the one without (its peer), measured interleaved in the same run (``bench.common.interleaved``),
medians of the repeats:

* ``scroll_images``: jump the table to a part never shown before (thumbnails are made there and
  then, for the visible rows only) until its viewport has painted. Budget 1.5x.
* ``scroll_back_images``: jump back to a part already shown (cached thumbnails). Budget 1.3x.
* ``edit_images``: edit a logit of the selected sample until the table and every plot have
  painted (the sample's picture is shown large beside it). Budget 1.2x.
* ``select_images``: select another sample until the table, the plots and the input view have
  painted (its picture is made at full size). Budget 1.3x.

"No visible lag" is the bar: each figure is also reported in ms, against a 16 ms frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Figure,
    interleaved,
    log,
    median_ms,
    new_result,
    print_figures,
    record,
    report,
)

PAINT_TIMEOUT_S = 5.0


@dataclass
class Sizes:
    n: int
    c: int
    side: int
    repeats: int


FULL = Sizes(50_000, 10, 28, 15)
QUICK = Sizes(2_000, 10, 28, 2)


class Painted:
    """Records paint events on some widgets' viewports (or the widgets themselves)."""

    def __init__(self, widgets) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        seen: set = set()

        class Filter(QObject):
            def eventFilter(self, obj, event):
                if event.type() == paint:
                    seen.add(obj)
                return False

        self.seen = seen
        self.filter = Filter()
        self.watched = [w.viewport() if hasattr(w, "viewport") else w for w in widgets]
        for widget in self.watched:
            widget.installEventFilter(self.filter)

    def run(self, app, action) -> float:
        """Seconds from ``action()`` until every shown watched widget has painted."""
        self.seen.clear()
        start = time.perf_counter()
        action()
        deadline = start + PAINT_TIMEOUT_S
        while True:
            app.processEvents()
            if all(w in self.seen for w in self.watched if w.isVisible()):
                return time.perf_counter() - start
            if time.perf_counter() > deadline:
                missing = [type(w.parent()).__name__ for w in self.watched if w not in self.seen]
                raise RuntimeError(f"the window did not repaint ({', '.join(missing)})")
            time.sleep(0.0002)


def make_windows(app, sizes: Sizes):
    import numpy as np

    from softmax_lab.core.document import Document
    from softmax_lab.core.inputs import SampleInputs
    from softmax_lab.gui.main_window import MainWindow

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (sizes.n, sizes.c)).astype(np.float32)
    labels = rng.integers(0, sizes.c, sizes.n)
    images = rng.integers(0, 256, (sizes.n, sizes.side, sizes.side), dtype=np.uint8)
    windows = {}
    for name, inputs in (("images", SampleInputs.build(sizes.n, images)), ("none", None)):
        window = MainWindow(Document(logits.copy(), labels, inputs=inputs))
        window.resize(1280, 800)
        window.show()
        for _ in range(20):
            app.processEvents()
        windows[name] = window
    return windows


def measure(app, sizes: Sizes) -> list[Figure]:
    import numpy as np

    windows = make_windows(app, sizes)
    rng = np.random.default_rng(1)
    figures: list[Figure] = []

    def table_watch(w):
        return Painted([w.table])

    def all_watch(w):
        return Painted([w.table, *w.plots()])

    def select_watch(w):
        # A selection moves markers; the heatmap repaints only if it draws that row.
        return Painted([w.table, w.sample_plot, w.gradient_plot, w.inputs_ui.inputs_view.canvas])

    # Scrolling: both windows jump through the same rows, each never shown before.
    page = 40
    rows = [int(k) * page for k in rng.permutation(max(1, sizes.n // page))]
    fresh = {kind: iter(rows) for kind in windows}
    used = rows[: sizes.repeats + 1]
    table = {k: table_watch(w) for k, w in windows.items()}

    def scroll(kind: str, row: int) -> None:
        bar = windows[kind].table.verticalScrollBar()
        table[kind].run(app, lambda: bar.setValue(row))

    def scroll_fresh(kind: str) -> None:
        scroll(kind, next(fresh[kind]))

    def scroll_back(kind: str) -> None:
        here = windows[kind].table.verticalScrollBar().value()
        back = [row for row in used if row != here]  # a jump to where it is paints nothing
        scroll(kind, back[int(rng.integers(0, len(back)))])

    samples = interleaved(
        {"images": lambda: scroll_fresh("images"), "none": lambda: scroll_fresh("none")},
        sizes.repeats,
    )
    figures.append(
        _figure("scroll_images", "scroll to unseen rows, 50,000 images attached", samples, 1.5)
    )
    samples = interleaved(
        {"images": lambda: scroll_back("images"), "none": lambda: scroll_back("none")},
        sizes.repeats,
    )
    figures.append(_figure("scroll_back_images", "scroll back to rows seen before", samples, 1.3))

    for w in windows.values():  # the edited sample's row on screen, as when one types in it
        w.table.scrollToTop()
        w.controller.select(0)
        for _ in range(5):
            app.processEvents()
    # An edit changes numbers, not the sample's picture: that is not repainted (nor waited for).
    everything = {k: all_watch(w) for k, w in windows.items()}
    with_input = {k: select_watch(w) for k, w in windows.items()}
    counter = {"images": 0, "none": 0}

    def edit(kind: str) -> None:
        w = windows[kind]
        k = counter[kind] = counter[kind] + 1
        row, col = w.selected_sample, k % sizes.c
        value = float(w.document.logits[row, col]) + (0.5 if k % 2 else -0.5)
        everything[kind].run(app, lambda: w.document.set_logits([row], [col], value))

    samples = interleaved(
        {"images": lambda: edit("images"), "none": lambda: edit("none")}, sizes.repeats
    )
    figures.append(_figure("edit_images", "edit a logit, every view painted", samples, 1.2))

    def select(kind: str) -> None:
        w = windows[kind]
        row = int(rng.integers(0, w.table_model.rowCount()))
        target = w.table_model.sample_at(row)
        w.table.scrollTo(w.table_model.index(row, 0))
        with_input[kind].run(app, lambda: w.controller.select(target))

    samples = interleaved(
        {"images": lambda: select("images"), "none": lambda: select("none")}, sizes.repeats
    )
    figures.append(_figure("select_images", "select a sample, every view painted", samples, 1.3))
    cache = len(windows["images"].controller.inputs_session._thumbs)
    figures[0].extra["thumbnails_cached"] = float(cache)
    # Rows with pictures are taller, so fewer are painted: say how many, for a per-row view.
    for kind, w in windows.items():
        table_view = w.table
        shown = table_view.rowAt(table_view.viewport().height() - 1) - table_view.rowAt(0) + 1
        for figure in figures[:2]:
            figure.extra[f"rows_shown_{kind}"] = float(shown)
    for figure in figures[:2]:
        rows_img, rows_none = figure.extra["rows_shown_images"], figure.extra["rows_shown_none"]
        figure.extra["ratio_per_row"] = figure.ratio * rows_none / max(1.0, rows_img)
    for w in windows.values():
        w.document.mark_clean()
        w.close()
    return figures


def _figure(name: str, what: str, samples: dict[str, list[float]], max_ratio: float) -> Figure:
    value, peer = median_ms(samples["images"]), median_ms(samples["none"])
    log(f"{name}: {value:.2f} ms with images, {peer:.2f} ms without ({value / peer:.2f}x)")
    return Figure(
        name,
        what,
        "ms",
        value,
        "the same window without images",
        peer,
        f"≤ {max_ratio}x",
        max_ratio,
        len(samples["images"]),
        {
            "frame_ms": 16.7,
            "p90_ms": float(sorted(samples["images"])[-max(1, len(samples["images"]) // 10)] * 1e3),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two repeats")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    import tempfile

    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Softmax Lab bench")
    result = new_result(args.quick, sizes=asdict(sizes))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-inputs-") as tmp:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        record(result, "inputs", lambda: measure(app, sizes))
    return report(result, started, args.json, print_table)


def print_table(result: dict) -> None:
    m = result["machine"]
    print_figures(
        "Softmax Lab: inputs beside the logits",
        [f"cpu: {m['cpu']} · {m['logical_cores']} logical cores · python {m['python']}"],
        result,
    )


if __name__ == "__main__":
    raise SystemExit(main())
