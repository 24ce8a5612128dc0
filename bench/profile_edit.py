"""What one cell edit costs, function by function: deterministic call counts (cProfile).

Timings on a loaded machine wander; call counts do not. This opens the window offscreen with
the table ``bench/run.py`` edits (``edit_small``: a 16 x 10 labelled table), makes the same
edit ``bench/probe.py`` makes (a logit of the selected sample, ``document.set_logits``, until
every view has painted it, then lets the event loop settle), and profiles it; then opens a
labelled ``.npz`` (``first_edit``) and profiles the first edit after opening.

    python bench/profile_edit.py --json /tmp/new.json                 # this checkout
    python bench/profile_edit.py --root /path/to/old/checkout --json /tmp/old.json
    python bench/profile_edit.py --compare /tmp/old.json /tmp/new.json

``--root`` runs another checkout's code (its own ``bench/probe.py`` helpers, so the edit is the
one that checkout's benchmark makes); checkouts from before the ``softmax_lab.*`` imports work
too. Functions are keyed by file (relative to the checkout or site-packages) and name, without
line numbers, so two checkouts compare. ``--compare`` prints the functions whose calls per edit
differ, the most costly first. Qt events delivered during the edit (layout requests, paints,
queued calls: C++ work cProfile cannot see) are counted alongside, as ``event TYPE -> CLASS``.

    python bench/profile_edit.py --cpu 15 [--root ...]   # GUI-thread CPU ms per edit, no profiler

``--cpu`` times instead of counting, in CPU time of the GUI thread (what the edit itself costs,
much less disturbed by other processes than bench/run.py's wall-clock times).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SETTLE_S = 0.3  # after the paint: timers the edit started (captions, deferred work) run too


NOISE = ("time.sleep", "processEvents", "time.perf_counter", "builtins.all")  # the wait loops


def _key(file: str, name: str, root: str) -> str:
    name = re.sub(r" at 0x[0-9a-f]+", "", name)  # "<function X.f at 0x7f...>"
    if "site-packages/" in file:  # first: a checkout may hold its venv
        file = file.split("site-packages/", 1)[1]
    elif file.startswith(root):
        file = file[len(root) :].lstrip("/")
    elif file.startswith("/"):
        file = Path(file).name
    return f"{file}:{name}" if file != "~" else name


def _stats(profile: cProfile.Profile, root: str, edits: int) -> dict[str, list[float]]:
    """{function: [calls per edit, tottime ms per edit, cumtime ms per edit]}."""
    stats = pstats.Stats(profile)
    out: dict[str, list[float]] = {}
    for (file, _line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = _key(file, name, root)
        if key.startswith("bench/") or "profile_edit.py" in key or any(n in key for n in NOISE):
            continue
        row = out.setdefault(key, [0.0, 0.0, 0.0])
        row[0] += nc / edits
        row[1] += tt * 1e3 / edits
        row[2] += ct * 1e3 / edits
    return out


def _settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


class EventCount:
    """Counts the Qt events the application delivers, by type and receiver class (layout
    requests, paints, timers, queued calls): work that happens in C++ where cProfile is blind."""

    def __init__(self, app) -> None:
        from PySide6.QtCore import QObject

        counts: dict[str, int] = {}
        self.counts = counts
        self.on = False
        outer = self

        class Filter(QObject):
            def eventFilter(self, obj, event):
                if outer.on:
                    key = f"event {event.type().name} -> {type(obj).__name__}"
                    counts[key] = counts.get(key, 0) + 1
                return False

        self.filter = Filter()
        app.installEventFilter(self.filter)


def _profiled_edit(
    app, window, watch, probe, k: int, root: str, dump: str | None
) -> tuple[dict, float]:
    events = EventCount(app)
    profile = cProfile.Profile()
    events.on = True
    profile.enable()
    start = time.perf_counter()
    probe._edit_once(app, window, watch, k)
    painted = time.perf_counter() - start
    _settle(app, SETTLE_S)
    profile.disable()
    events.on = False
    app.removeEventFilter(events.filter)
    if dump:
        profile.dump_stats(dump)
    stats = _stats(profile, root, 1)
    # Timers fire during the settle whatever was edited; the wait loops' own events are noise.
    stats.update({k: [float(n), 0.0, 0.0] for k, n in events.counts.items() if "Timer" not in k})
    return stats, painted * 1e3


def _cpu_edit(app, window, watch, k: int) -> float:
    """GUI-thread CPU seconds of bench/probe.py's edit until every view has painted it: on a
    loaded machine, wall-clock times measure the other processes too; this one hardly. Waits
    for events without spinning (a spinning wait's own CPU would grow with the load)."""
    from PySide6.QtCore import QEventLoop

    doc = window.document
    row = window.selected_sample
    col = k % doc.n_classes
    value = float(doc.logits[row, col]) + (0.5 if k % 2 == 0 else -0.5)
    watch.reset()
    start = time.thread_time()
    doc.set_logits([row], [col], value)
    deadline = time.perf_counter() + 20.0
    while not all(v in watch.seen for v in watch.watched if v.isVisible()):
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        if time.perf_counter() > deadline:
            raise RuntimeError("the views did not repaint after an edit")
    return time.thread_time() - start


def cpu_times(args, probe, Document, app, tmp: str) -> dict:
    """Median GUI-thread CPU ms of ``--cpu`` small edits and of the first edit after each of
    ``--cpu-opens`` openings of the large file (as bench/run.py's edit_small and first_edit)."""
    n, c = args.small
    logits, labels = probe.random_table(n, c)
    window, watch = probe.show_window(app, Document(logits, labels))
    for k in range(args.warmup):
        probe._edit_once(app, window, watch, k)
    small = [_cpu_edit(app, window, watch, args.warmup + k) * 1e3 for k in range(args.cpu)]
    probe.close_window(app, window)
    n, c = args.large
    window, watch = probe.show_window(app)
    path = str(probe.write_npz(Path(tmp) / f"labelled_{n}x{c}.npz", n, c))
    first, steady = [], []
    for k in range(args.cpu_opens):
        probe.wait_loaded(app, window, path)
        watch.wait(app)
        first.append(_cpu_edit(app, window, watch, 0) * 1e3)
        steady.append(_cpu_edit(app, window, watch, 1 + k) * 1e3)
    probe.close_window(app, window)
    return {
        "edit_small_cpu_ms": small,
        "first_edit_cpu_ms": first,
        "steady_after_open_cpu_ms": steady,
    }


def run(args) -> dict:
    root = str(Path(args.root).resolve())
    sys.path.insert(0, root)
    import bench.probe as probe  # the checkout's own helpers: the edit its benchmark makes

    # A checkout from before the softmax_lab.* imports has both names, as two copies of each
    # module: the document must be the copy its window uses.
    new_names = "softmax_lab.core.document" in Path(probe.__file__).read_text()
    Document = importlib.import_module(
        "softmax_lab.core.document" if new_names else "core.document"
    ).Document

    app = probe.start_app()
    tmp = tempfile.mkdtemp(prefix="softmax-lab-profile-")
    probe._isolate_settings(tmp)
    result: dict = {"root": root, "load_average": list(os.getloadavg())}
    try:
        if args.cpu:
            result.update(cpu_times(args, probe, Document, app, tmp))
        else:
            result.update(_profiles(args, probe, Document, app, tmp, root))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the large .npz
    return result


def _profiles(args, probe, Document, app, tmp: str, root: str) -> dict:
    result: dict = {}

    n, c = args.small
    logits, labels = probe.random_table(n, c)
    window, watch = probe.show_window(app, Document(logits, labels))
    for k in range(args.warmup):
        probe._edit_once(app, window, watch, k)
    _settle(app, SETTLE_S)
    result["edit_small"], result["edit_small_ms"] = _profiled_edit(
        app, window, watch, probe, args.warmup, root, args.prof and f"{args.prof}.edit_small.prof"
    )
    probe.close_window(app, window)

    n, c = args.large
    window, watch = probe.show_window(app)
    path = str(probe.write_npz(Path(tmp) / f"labelled_{n}x{c}.npz", n, c))
    probe.wait_loaded(app, window, path)
    watch.wait(app)  # then at once, as bench/probe.py does: what opening left is counted too
    result["first_edit"], result["first_edit_ms"] = _profiled_edit(
        app, window, watch, probe, 0, root, args.prof and f"{args.prof}.first_edit.prof"
    )
    result["steady_after_open"], result["steady_after_open_ms"] = _profiled_edit(
        app, window, watch, probe, 1, root, None
    )
    probe.close_window(app, window)
    return result


def compare(old_path: str, new_path: str, top: int, phases: list[str]) -> None:
    old, new = json.loads(Path(old_path).read_text()), json.loads(Path(new_path).read_text())
    for phase in phases:
        a, b = old[phase], new[phase]
        print(
            f"\n== {phase}: painted in {old[phase + '_ms']:.1f} ms (old) vs "
            f"{new[phase + '_ms']:.1f} ms (new) under cProfile; load "
            f"{old['load_average'][0]:.2f} / {new['load_average'][0]:.2f}"
        )
        rows = []
        for key in set(a) | set(b):
            ra, rb = a.get(key, [0, 0, 0]), b.get(key, [0, 0, 0])
            if round(ra[0]) != round(rb[0]):
                rows.append((rb[2] - ra[2], key, ra, rb))
        rows.sort(key=lambda r: -abs(r[0]))
        print(f"{'calls old':>9} {'calls new':>9} {'cum old ms':>10} {'cum new ms':>10}  function")
        for _d, key, ra, rb in rows[:top]:
            print(f"{ra[0]:9.0f} {rb[0]:9.0f} {ra[2]:10.2f} {rb[2]:10.2f}  {key}")
        total_a = sum(r[0] for r in a.values())
        total_b = sum(r[0] for r in b.values())
        print(f"function calls per edit: {total_a:.0f} (old) -> {total_b:.0f} (new)")


def _size(text: str) -> tuple[int, int]:
    n, c = text.lower().split("x")
    return int(n), int(c)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--small", type=_size, default=(16, 10))
    parser.add_argument("--large", type=_size, default=(50_000, 1_000))
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="write the counts to this file")
    parser.add_argument(
        "--cpu", type=int, default=0, help="instead: GUI-thread CPU time of this many edits"
    )
    parser.add_argument("--cpu-opens", type=int, default=3, help="with --cpu: first edits")
    parser.add_argument("--prof", help="also dump each phase's raw profile to PROF.<phase>.prof")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument(
        "--phases", default="edit_small,first_edit,steady_after_open", help="with --compare"
    )
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare, args.top, args.phases.split(","))
        return 0
    result = run(args)
    text = json.dumps(result)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text, flush=True)
    if args.cpu:
        for key in ("edit_small_cpu_ms", "first_edit_cpu_ms", "steady_after_open_cpu_ms"):
            print(f"{key}: median {statistics.median(result[key]):.1f}", file=sys.stderr)
        os._exit(0)
    for phase in ("edit_small", "first_edit", "steady_after_open"):
        calls = sum(r[0] for r in result[phase].values())
        print(
            f"{phase}: {result[phase + '_ms']:.1f} ms under cProfile, {calls:.0f} calls",
            file=sys.stderr,
        )
    os._exit(0)  # tearing Qt down is not part of it


if __name__ == "__main__":
    sys.exit(main())
