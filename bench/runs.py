"""A recorded run in the window: a step change against a cell edit, the data map at 50,000
points, and (from ``bench/dynamics.py``) the dynamics of a 1 GB run.

    python bench/runs.py              # the full sizes (a few minutes on 2 cores)
    python bench/runs.py --quick      # tiny sizes: checks that everything runs, in seconds
    python bench/runs.py --json       # one JSON object on stdout (progress goes to stderr)
    python bench/runs.py --no-dynamics

Figures (each a ratio to a peer measured in the same run, in the same window):

* ``step_change``: moving to another step of a 50,000 x 100 run (``step_by``: the document
  swaps the table and re-evaluates it whole) until the five plots of the Sample tab, the table
  and the step bar have painted it, against editing one cell of the same table until the same
  views have painted (the edit latency ``bench/run.py`` reports). A step re-evaluates every row,
  an edit one row: budget 8x, and at most the play interval (a step every 250 ms).
* ``step_change_large``: the same at 50,000 x 1,000 (200 MB per step), against the edit there.
* ``step_change_training``: a step change seen on the Training tab (the table, the trajectory's
  step mark and the step bar), against the same edit.
* ``datamap_pan``: panning the data map of 50,000 samples until it has painted, against the
  same pan of a 5,000-sample map; budget: one frame at 20 fps (50 ms).
* ``datamap_pan_floor``: the same pan against the floor, a bare pyqtgraph scatter of as many
  points at the map's size panned the same way (``bench/floor.py``), interleaved; budget 1x.
* the dynamics figures of ``bench/dynamics.py`` (run as a child), unchanged.

"Painted" is as in ``bench/probe.py``: the clock stops when every watched viewport has
received a paint event after the change. Qt's offscreen platform unless QT_QPA_PLATFORM says
otherwise; runs are written into a temporary folder, deleted at the end.
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
    interleaved,
    log,
    median_ms,
    new_result,
    record,
    report,
)

PLAY_MS = 250.0


@dataclass
class Sizes:
    n: int
    c: int
    large_c: int
    steps: int
    map_n: int
    repeats: int


FULL = Sizes(50_000, 100, 1_000, 6, 50_000, 9)
QUICK = Sizes(2_000, 20, 100, 3, 2_000, 2)


def write_run(folder: Path, n: int, c: int, steps: int) -> Path:
    import numpy as np

    from softmax_lab.core.runs import RunWriter

    rng = np.random.default_rng(0)
    labels = rng.integers(0, c, n)
    with RunWriter(folder, labels=labels) as run:
        for s in range(steps):
            x = rng.normal(0, 2, (n, c)).astype(np.float32)
            x[np.arange(n), labels] += np.float32(s)
            run.add(s, x)
    return folder


# --- the child: one window, real paints ----------------------------------------------------------


def _open(app, window, folder: str) -> None:
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: list[str] = []
    window.sigFileLoaded.connect(lambda p: (outcome.append(p), loop.quit()))
    window.sigLoadFailed.connect(lambda m: (outcome.append(m), loop.quit()))
    window.load_file(folder)
    if not outcome:
        loop.exec()
    if outcome != [folder]:
        raise RuntimeError(f"opening {folder} failed: {outcome}")
    deadline = time.perf_counter() + 600
    while window.controller.runs.map is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)


def _watch(views) -> object:
    from bench.probe import PaintWatch

    return PaintWatch(None, views)


def _timed(app, watch, action) -> float:
    watch.reset()
    start = time.perf_counter()
    action()
    if not watch.wait(app):
        raise RuntimeError("the views did not repaint")
    return time.perf_counter() - start


def child(args) -> int:
    from bench.probe import close_window, show_window, start_app

    app = start_app()
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, args.tmp)
    result: dict = {}
    window, _ = show_window(app)
    c = window.controller
    _open(app, window, args.run)
    bar = window.step_bar
    sample_views = [*window.plots(), window.table]
    training_views = [window.table, window.training_panel.trajectory, bar.slider]
    direction = [1]

    def step() -> None:
        # Back and forth between two steps: every change is a real swap and re-evaluation.
        direction[0] = -direction[0]
        c.runs.step_by(direction[0])

    counter = iter(range(10**9))

    def edit() -> None:
        k = next(counter)
        row, col = c.selected, k % c.document.n_classes
        value = float(c.document.logits[row, col]) + (0.5 if k % 2 else -0.5)
        c.document.set_logits([row], [col], value)

    c.update_view(view_tab="sample")
    step_watch = _watch([*sample_views, bar.slider])  # a step also moves the step bar
    edit_watch = _watch(sample_views)
    edit_watch.wait(app)
    # Interleaved, so that a burst of load from another process hits both alike.
    result["sample_tab"] = interleaved(
        {
            "step": lambda: _timed(app, step_watch, step),
            "edit": lambda: _timed(app, edit_watch, edit),
        },
        args.repeats,
    )
    c.update_view(view_tab="training")
    watch = _watch(training_views)
    watch.wait(app)
    result["training_tab"] = {"step": [_timed(app, watch, step) for _ in range(args.repeats)]}

    plot = window.training_panel.data_map
    vb = plot.getPlotItem().getViewBox()
    watch = _watch([plot])
    shift = [0.0005]

    def pan() -> None:
        shift[0] = -shift[0]
        vb.translateBy(x=shift[0])

    # The floor: a bare pyqtgraph scatter of as many points at the map's size (bench/floor.py),
    # panned the same way, interleaved with the app's pan.
    from bench.floor import BareScatter

    floor = BareScatter(int(window.document.logits.shape[0]), (plot.width(), plot.height()))
    floor.show()
    floor_watch = _watch(floor.views)
    floor_watch.wait(app)
    pans = interleaved(
        {
            "app": lambda: _timed(app, watch, pan),
            "floor": lambda: _timed(app, floor_watch, floor.pan),
        },
        args.repeats,
    )
    result["datamap_pan"] = pans["app"]
    result["datamap_pan_floor"] = pans["floor"]
    floor.close()
    close_window(app, window)
    print(json.dumps(result), flush=True)
    return 0


def map_child(args) -> int:
    """Pan a bare data map of ``--map-n`` samples (the peer of the 50,000-point pan)."""
    import numpy as np

    from bench.probe import start_app
    from softmax_lab.core.cartography import data_map
    from softmax_lab.core.dynamics import training_dynamics
    from softmax_lab.gui.plots.datamap import DataMapPlot

    app = start_app()
    rng = np.random.default_rng(0)
    n = args.map_n
    labels = rng.integers(0, 10, n)
    pairs = [(s, rng.normal(0, 2, (n, 10)).astype(np.float32)) for s in range(4)]
    for s, x in pairs:
        x[np.arange(n), labels] += np.float32(s)
    d = training_dynamics(pairs, labels=labels)
    plot = DataMapPlot()
    plot.resize(720, 420)
    plot.show()
    plot.set_map(data_map(d), d.forgetting, labels, [str(i) for i in range(10)])

    watch = _watch([plot])
    watch.wait(app)
    vb = plot.getPlotItem().getViewBox()
    shift = [0.0005]

    def pan() -> None:
        shift[0] = -shift[0]
        vb.translateBy(x=shift[0])

    print(json.dumps({"pan": [_timed(app, watch, pan) for _ in range(args.repeats)]}))
    plot.close()
    return 0


# --- the parent ---------------------------------------------------------------------------------


def _child(argv: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *argv],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {argv[:1]} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gui_figures(tmp: Path, sizes: Sizes) -> list[Figure]:
    figures = []
    for name, c in (("step_change", sizes.c), ("step_change_large", sizes.large_c)):
        folder = tmp / f"run_{c}"
        log(f"{name}: writing {sizes.steps} steps of {sizes.n:,} x {c:,} float32")
        write_run(folder, sizes.n, c, sizes.steps)
        log(f"{name}: stepping and editing in a window")
        raw = _child(
            ["--child", "--run", str(folder), "--tmp", str(tmp), "--repeats", str(sizes.repeats)]
        )
        step, edit = median_ms(raw["sample_tab"]["step"]), median_ms(raw["sample_tab"]["edit"])
        figures.append(
            Figure(
                name,
                f"step change -> Sample tab (5 plots, table, step bar) painted, "
                f"{sizes.n:,} x {c:,}",
                "ms",
                step,
                "edit one cell -> the same views painted",
                edit,
                f"<= 8 x and <= {PLAY_MS:.0f} ms",
                8.0,
                max_value=PLAY_MS,
                samples=sizes.repeats,
                extra={
                    "step_min_ms": min(raw["sample_tab"]["step"]) * 1e3,
                    "edit_min_ms": min(raw["sample_tab"]["edit"]) * 1e3,
                },
            )
        )
        if name == "step_change":
            training = median_ms(raw["training_tab"]["step"])
            figures.append(
                Figure(
                    "step_change_training",
                    f"step change -> Training tab (table, trajectory, step bar) painted, "
                    f"{sizes.n:,} x {c:,}",
                    "ms",
                    training,
                    "edit one cell -> the Sample tab painted",
                    edit,
                    f"<= 8 x and <= {PLAY_MS:.0f} ms",
                    8.0,
                    max_value=PLAY_MS,
                    samples=sizes.repeats,
                )
            )
            pan_big = raw["datamap_pan"]
            pan_floor = raw["datamap_pan_floor"]
        for path in folder.glob("*"):
            path.unlink()
    log("datamap_pan: the peer, a 5,000-point map")
    small = _child(["--map-child", "--map-n", "5000", "--repeats", str(sizes.repeats)])
    pan = median_ms(pan_big)
    figures.append(
        Figure(
            "datamap_pan",
            f"pan the data map of {sizes.map_n:,} samples -> painted",
            "ms",
            pan,
            "the same pan, 5,000 samples",
            median_ms(small["pan"]),
            "<= 50 ms (20 fps)",
            math.inf,
            max_value=50.0,
            samples=sizes.repeats,
            extra={"pan_min_ms": min(pan_big) * 1e3},
        )
    )
    figures.append(
        Figure(
            "datamap_pan_floor",
            f"the same pan of {sizes.map_n:,} samples against a bare pyqtgraph scatter",
            "ms",
            pan,
            f"bare pyqtgraph: {sizes.map_n:,} points, the map's size, panned (bench/floor.py)",
            median_ms(pan_floor),
            "<= 1 x the floor",
            1.0,
            samples=sizes.repeats,
            extra={"floor_min_ms": min(pan_floor) * 1e3},
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two repeats")
    parser.add_argument("--no-dynamics", action="store_true", help="skip bench/dynamics.py")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--map-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--map-n", type=int, default=5000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.map_child:
        return map_child(args)
    sizes = QUICK if args.quick else FULL
    result = new_result(args.quick, sizes=asdict(sizes))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="softmax-lab-runs-") as tmp:
        record(result, "gui", lambda: gui_figures(Path(tmp), sizes))
    if not args.no_dynamics:
        log("dynamics: bench/dynamics.py in a child")
        try:
            dyn = _child_dynamics(args.quick)
            result["figures"].extend(dyn["figures"])
            result["errors"].update(dyn["errors"])
        except Exception as exc:
            result["errors"]["dynamics"] = f"{type(exc).__name__}: {exc}"
    from bench.dynamics import print_table

    return report(result, started, args.json, print_table)


def _child_dynamics(quick: bool) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dynamics.py"), "--json", *(["--quick"] * quick)],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=3600,
        check=False,
    )
    if not done.stdout.strip():
        raise RuntimeError(done.stderr.strip()[-2000:])
    return json.loads(done.stdout)


if __name__ == "__main__":
    sys.exit(main())
