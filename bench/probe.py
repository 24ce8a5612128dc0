"""The GUI side of the benchmarks, run in child processes so each starts clean.

``python bench/probe.py startup``   start the app as ``main.py`` does; print ``painted`` when every
                                    plot has been painted once, then exit at once.
``python bench/probe.py gui ...``   edit and open timings (edit_small, open_npy, edit_large); JSON.
``python bench/probe.py memory ...`` resident memory of the app before and after opening a file;
                                    JSON.
``python bench/probe.py drag ...``   drags on an opened labelled table (the T slider, the smoothing
                                    spin box, a logit of the selected sample): 30 values at
                                    60 Hz, with a 5 ms heartbeat measuring how long the event
                                    loop stalls, and the time from the release until the last
                                    value's result is painted; JSON.

"Every plot updated" means: ``document.set_logits`` returned (the document recomputed and the
window pushed the numbers into every view), then the event loop ran until each of the five plot
views and the table have received a paint event, i.e. have drawn the new numbers into the
window's backing store. Only then is the clock stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAINT_TIMEOUT_S = 20.0


def start_app():
    """QApplication configured as ``gui.app.run`` configures it."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Softmax Lab bench")
    app.setOrganizationName("Softmax Lab bench")
    return app


def _isolate_settings(tmp: str) -> None:
    # Recent-file lists go to a throwaway folder, never the user's settings.
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)


class PaintWatch:
    """Records paint events on the viewports of the window's plots and table (or of the widgets
    in ``views``)."""

    def __init__(self, window, views=None) -> None:
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
        if views is None:
            views = (
                window.sample_plot,
                window.loss_plot,
                window.heatmap,
                window.curve_plot,
                window.gradient_plot,
                window.table,
            )
        self.watched = [v.viewport() if hasattr(v, "viewport") else v for v in views]
        for viewport in self.watched:
            viewport.installEventFilter(self.filter)

    def reset(self) -> None:
        self.seen.clear()

    def wait(self, app) -> bool:
        """Run the event loop until every watched view that is shown has painted (a table
        without labels hides its loss plots); False on timeout."""
        deadline = time.perf_counter() + PAINT_TIMEOUT_S
        while True:
            app.processEvents()
            if all(v in self.seen for v in self.watched if v.isVisible()):
                return True
            if time.perf_counter() > deadline:
                return False
            time.sleep(0.0002)


def show_window(app, document=None, size: tuple[int, int] = (1280, 800)):
    from softmax_lab.gui.main_window import MainWindow

    window = MainWindow(document)
    window.resize(*size)
    watch = PaintWatch(window)
    window.show()
    watch.wait(app)
    return window, watch


def close_window(app, window) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    window.document.mark_clean()
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()


def wait_loaded(app, window, path: str) -> None:
    """Open ``path`` the way the user does (off-thread) and block until it is in."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: list[str] = []

    def done(message: str) -> None:
        outcome.append(message)
        loop.quit()

    window.sigFileLoaded.connect(done)
    window.sigLoadFailed.connect(done)
    try:
        window.load_file(path, as_probabilities=False)
        if not outcome:
            loop.exec()
    finally:
        window.sigFileLoaded.disconnect(done)
        window.sigLoadFailed.disconnect(done)
    if outcome != [path]:
        raise RuntimeError(f"opening {path} failed: {outcome}")


def random_table(n: int, c: int, seed: int = 0, dtype=None):
    import numpy as np

    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(n, c))
    logits = logits.round(2) if dtype is None else logits.astype(dtype)
    return logits, rng.integers(0, c, n)


def write_npy(path: Path, n: int, c: int) -> Path:
    """Logits only, as a model's raw output is usually saved (every sample starts ignored)."""
    import numpy as np

    if not path.exists():
        logits, _labels = random_table(n, c, seed=1, dtype=np.float32)
        np.save(path, logits)
    return path


def write_npz(path: Path, n: int, c: int) -> Path:
    """Logits with their labels: every sample is scored, placed on the curve, counted."""
    import numpy as np

    if not path.exists():
        logits, labels = random_table(n, c, seed=1, dtype=np.float32)
        np.savez(path, logits=logits, labels=labels)
    return path


def _edit_once(app, window, watch, k: int) -> float:
    """One edit of a logit of the selected sample, until every view has painted it."""
    doc = window.document
    row = window.selected_sample
    col = k % doc.n_classes
    value = float(doc.logits[row, col]) + (0.5 if k % 2 == 0 else -0.5)
    watch.reset()
    start = time.perf_counter()
    doc.set_logits([row], [col], value)
    painted = watch.wait(app)
    elapsed = time.perf_counter() - start
    if not painted:
        raise RuntimeError("the views did not repaint after an edit")
    return elapsed


def show_floor(app, window, logits, labels):
    """The bare-pyqtgraph floor (bench/floor.py) with the views where ``window`` has them."""
    from bench.floor import BareFloor, geometry_of

    floor = BareFloor(logits, labels, geometry_of(window), (window.width(), window.height()))
    floor.selected = window.selected_sample
    watch = PaintWatch(None, floor.views)
    floor.show()
    watch.wait(app)
    return floor, watch


def _floor_edit_once(app, floor, watch, k: int) -> float:
    """The same edit as :func:`_edit_once` in the floor's window, until every view has painted."""
    row = floor.selected
    col = k % floor.logits.shape[1]
    value = float(floor.logits[row, col]) + (0.5 if k % 2 == 0 else -0.5)
    watch.reset()
    start = time.perf_counter()
    floor.edit(row, col, value)
    painted = watch.wait(app)
    elapsed = time.perf_counter() - start
    if not painted:
        raise RuntimeError("the floor's views did not repaint after an edit")
    return elapsed


# --- commands ---------------------------------------------------------------------------------


def cmd_startup(_args) -> int:
    app = start_app()
    _isolate_settings(_args.tmp)
    window, watch = show_window(app)
    if not all(v in watch.seen for v in watch.watched):
        print("not painted", flush=True)
        os._exit(1)
    print("painted", flush=True)
    os._exit(0)  # the figure is the time to the first paint; tearing Qt down is not part of it


def cmd_gui(args) -> int:
    import numpy as np

    from bench.common import interleaved
    from bench.peers import NotebookFigure, numpy_recipe
    from softmax_lab.core.document import Document

    app = start_app()
    _isolate_settings(args.tmp)
    result: dict = {}
    small_n, small_c = args.small
    large_n, large_c = args.large
    wanted = set(args.figures)

    if wanted & {"edit_small", "edit_large"}:
        logits, labels = random_table(small_n, small_c)
        window, watch = show_window(app, Document(logits, labels))
        notebook = NotebookFigure()
        floor, floor_watch = show_floor(app, window, logits, labels)
        counter = iter(range(10**9))
        floor_counter = iter(range(10**9))
        samples = interleaved(
            {
                "app": lambda: _edit_once(app, window, watch, next(counter)),
                "matplotlib": lambda: notebook.redraw(
                    window.document.logits, window.document.labels, window.selected_sample
                ),
                "floor": lambda: _floor_edit_once(app, floor, floor_watch, next(floor_counter)),
            },
            args.repeats,
        )
        result["edit_small"] = {
            "app": samples["app"],
            "matplotlib": samples["matplotlib"],
            "floor": samples["floor"],
        }
        floor.close()
        close_window(app, window)

    if "edit_small_1920" in wanted:
        # The same edit in a full-HD window: larger viewports to paint, and the notebook's
        # figure drawn at the same pixel size.
        logits, labels = random_table(small_n, small_c)
        window, watch = show_window(app, Document(logits, labels), size=(1920, 1080))
        notebook = NotebookFigure(1920, 1080)
        counter = iter(range(10**9))
        samples = interleaved(
            {
                "app": lambda: _edit_once(app, window, watch, next(counter)),
                "matplotlib": lambda: notebook.redraw(
                    window.document.logits, window.document.labels, window.selected_sample
                ),
            },
            args.repeats,
        )
        result["edit_small_1920"] = {
            "app": samples["app"],
            "matplotlib": samples["matplotlib"],
            "window": [window.width(), window.height()],
        }
        close_window(app, window)

    if wanted & {"open_npy", "edit_large", "first_edit"}:
        window, watch = show_window(app)

    if "open_npy" in wanted:
        path = str(write_npy(Path(args.tmp) / f"logits_{large_n}x{large_c}.npy", large_n, large_c))
        labels = np.random.default_rng(1).integers(0, large_c, large_n)

        def open_file() -> None:
            watch.reset()
            wait_loaded(app, window, path)
            if not watch.wait(app):
                raise RuntimeError("the views did not repaint after opening a file")

        def peer() -> None:
            numpy_recipe(np.load(path), labels)

        samples = interleaved({"app": open_file, "numpy": peer}, args.open_repeats)
        result["open_npy"] = {"app": samples["app"], "numpy": samples["numpy"]}

    if wanted & {"edit_large", "first_edit"}:
        path = str(
            write_npz(Path(args.tmp) / f"labelled_{large_n}x{large_c}.npz", large_n, large_c)
        )
        # The first edit of an opened (read-only) table copies it; counted apart. The file is
        # opened afresh for each first edit; the steady edits follow the last opening.
        firsts, steady = [], []
        for k in range(max(1, args.open_repeats) if "first_edit" in wanted else 1):
            wait_loaded(app, window, path)
            watch.wait(app)
            firsts.append(_edit_once(app, window, watch, 0))
            steady.append(_edit_once(app, window, watch, 1 + k))  # a steady edit, interleaved
        edits = [_edit_once(app, window, watch, k) for k in range(1, args.repeats + 1)]
        result["edit_large"] = {"app": edits, "first_edit": firsts, "steady_after_open": steady}

    if wanted & {"open_npy", "edit_large", "first_edit"}:
        close_window(app, window)

    print(json.dumps(result), flush=True)
    return 0


def _memory_now() -> dict[str, float]:
    """Resident memory now and its high-water mark (MB), from /proc (psutil elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = {}
        for line in status.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
        return {
            "rss": fields["VmRSS"],
            "peak": fields["VmHWM"],
            "anon": fields.get("RssAnon", float("nan")),
            "file": fields.get("RssFile", float("nan")),
        }
    import psutil

    info = psutil.Process().memory_info()
    peak = getattr(info, "peak_wset", info.rss)
    return {
        "rss": info.rss / 2**20,
        "peak": peak / 2**20,
        "anon": float("nan"),
        "file": float("nan"),
    }


def _reset_peak() -> None:
    """Start the high-water mark (VmHWM) afresh, so it measures only what follows (Linux)."""
    # Elsewhere the peak since start is reported, which can only be larger.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def cmd_memory(args) -> int:
    app = start_app()
    _isolate_settings(args.tmp)
    n, c = args.large
    path = write_npy(Path(args.tmp) / f"logits_{n}x{c}.npy", n, c)
    window, watch = show_window(app)
    for _ in range(3):  # let start-up garbage settle before the baseline
        app.processEvents()
    _reset_peak()
    empty = _memory_now()
    watch.reset()
    wait_loaded(app, window, str(path))
    watch.wait(app)
    result = {"file_mb": path.stat().st_size / 2**20, "empty": empty, "loaded": _memory_now()}
    print(json.dumps(result), flush=True)  # a line per stage: a crash later keeps this one
    _edit_once(app, window, watch, 0)
    result["edited"] = _memory_now()
    print(json.dumps(result), flush=True)
    os._exit(0)


DRAG_INTERVAL_MS = 17  # 60 Hz: a mouse drag's move events
HEARTBEAT_MS = 5


def _drag(app, window, name: str, moves: int) -> dict:
    """One scripted drag of ``moves`` values, one every DRAG_INTERVAL_MS, then the release; a
    HEARTBEAT_MS timer records the gaps between its ticks (a gap is the event loop stalled).
    Returns the gaps, the seconds from the release until the last value's result has been
    painted by the plots and the table, and one blocking ``evaluate`` of the table at the last
    value (what a step would stall for, were it computed on the GUI thread)."""
    from PySide6.QtCore import QTimer

    from softmax_lab.core.evaluating import evaluate
    from softmax_lab.gui.controls import slider_to_temperature

    c = window.controller
    doc = c.document
    controls = window.controls
    watch = PaintWatch(window)
    if name == "t_slider":
        slider = controls.temperature_slider
        first = slider.value()
        step = -5 if first > slider.maximum() // 2 else 5
        values = [first + step * (k + 1) for k in range(moves)]

        def press() -> None:
            slider.setSliderDown(True)
            slider.sliderPressed.emit()

        def move(v) -> None:
            slider.setValue(v)

        def release() -> None:
            slider.setSliderDown(False)
            slider.sliderReleased.emit()

        final_t = round(slider_to_temperature(values[-1]), 4)

        def arrived() -> bool:
            return doc.settings.temperature == final_t

        def peer() -> None:
            evaluate(doc.logits, doc.labels, temperature=final_t)

    elif name == "smoothing":
        spin = controls.smoothing
        values = [round(0.01 * (k + 1), 3) for k in range(moves)]

        def press() -> None:
            pass

        def move(v) -> None:
            spin.setValue(v)

        def release() -> None:
            spin.editingFinished.emit()

        def arrived() -> bool:
            return abs(doc.settings.label_smoothing - values[-1]) < 1e-9

        def peer() -> None:
            evaluate(doc.logits, doc.labels, label_smoothing=values[-1])

    elif name == "logit":
        plot = window.sample_plot
        row = window.selected_sample
        cls = int(plot.shown_classes()[0])
        start = float(doc.logits[row, cls])
        values = [round(start + 0.1 * (k + 1), 3) for k in range(moves)]

        def press() -> None:
            pass

        def move(v) -> None:
            plot.sigLogitDragged.emit(cls, v)

        def release() -> None:
            plot.sigDragFinished.emit(cls)

        def arrived() -> bool:
            return abs(float(doc.logits[row, cls]) - values[-1]) < 1e-3  # float32 tables

        def peer() -> None:
            evaluate(doc.logits, doc.labels)

    else:
        raise ValueError(name)

    blocking = []
    for _ in range(2):
        started = time.perf_counter()
        peer()
        blocking.append(time.perf_counter() - started)

    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    state: dict = {"k": 0, "released": None}

    def tick() -> None:
        if state["k"] < len(values):
            move(values[state["k"]])
            state["k"] += 1
            state["stopped"] = time.perf_counter()  # the mouse's last move so far
            return
        mover.stop()
        release()
        state["released"] = time.perf_counter()

    mover = QTimer()
    mover.setInterval(DRAG_INTERVAL_MS)
    mover.timeout.connect(tick)
    for _ in range(5):
        app.processEvents()

    def result_in(*_args) -> None:
        watch.reset()  # the paints that count come after the last result

    c.sigDataChanged.connect(result_in)
    last[0] = time.perf_counter()
    heartbeat.start()
    press()
    mover.start()
    deadline = time.perf_counter() + 300
    try:
        while state["released"] is None or not arrived() or c.background.busy:
            app.processEvents()
            time.sleep(0.0005)
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the {name} drag's last value never arrived")
        if not watch.wait(app):
            raise RuntimeError(f"the views did not repaint after the {name} drag")
        painted = time.perf_counter()
        follow = painted - state["released"]
    finally:
        heartbeat.stop()
        c.sigDataChanged.disconnect(result_in)
    undo_text = doc.undo_text
    c.undo()  # one step: the drag merged into one
    for _ in range(5):
        app.processEvents()
    after = []  # the second method's peer: evaluates right after the drag, as loaded as it was
    for _ in range(3):
        started = time.perf_counter()
        peer()
        after.append(time.perf_counter() - started)
    return {
        "gaps": gaps,
        "follow": follow,
        "follow_from_stop": painted - state["stopped"],
        "blocking": blocking,
        "blocking_after": after,
        "undo_text": undo_text,
        "background": bool(c.background.handles({"temperature": 1.0})),
    }


def cmd_drag(args) -> int:
    app = start_app()
    _isolate_settings(args.tmp)
    n, c = args.large
    path = str(write_npz(Path(args.tmp) / f"labelled_{n}x{c}.npz", n, c))
    window, watch = show_window(app)
    window.controller.update_view(side_tab="options")  # the T slider and smoothing show
    wait_loaded(app, window, path)
    watch.wait(app)
    _edit_once(app, window, watch, 0)  # the table is copied on the first edit, not in a drag
    result = {}
    for name in args.figures:  # each drag ``drag_repeats`` times: one follow is one sample
        runs = [_drag(app, window, name, args.moves) for _ in range(args.drag_repeats)]
        merged = dict(runs[0])
        for key in ("gaps", "blocking", "blocking_after"):
            merged[key] = [v for r in runs for v in r[key]]
        for key in ("follow", "follow_from_stop"):
            merged[f"{key}s"] = [r[key] for r in runs]
            merged[key] = sorted(merged[f"{key}s"])[len(runs) // 2]
        result[name] = merged
    print(json.dumps(result), flush=True)
    os._exit(0)


def _size(text: str) -> tuple[int, int]:
    n, c = (int(v) for v in text.lower().split("x"))
    return n, c


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["startup", "gui", "memory", "drag"])
    parser.add_argument("--tmp", required=True, help="a scratch folder (data files, settings)")
    parser.add_argument("--small", type=_size, default=(16, 10))
    parser.add_argument("--large", type=_size, default=(50_000, 1_000))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--open-repeats", type=int, default=5)
    parser.add_argument("--figures", nargs="*", default=["edit_small", "open_npy", "edit_large"])
    parser.add_argument("--moves", type=int, default=30, help="values per drag")
    parser.add_argument("--drag-repeats", type=int, default=3, help="drags of each kind")
    args = parser.parse_args(argv)
    commands = {"startup": cmd_startup, "gui": cmd_gui, "memory": cmd_memory, "drag": cmd_drag}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
