"""The window side of bench/sequences.py, run in fresh child processes (one per figure group).

``python bench/lm_probe.py gui FILE TMP FIGURES SIZES``   open, click and slider figures; JSON.
``python bench/lm_probe.py memory FILE TMP``             resident memory opening the file; JSON.
``python bench/lm_probe.py bf16-memory FILE ours|hf``    peak memory of one bfloat16 evaluation.
``python bench/lm_probe.py bf16-time FILE REPEATS``      its time against the Hugging Face recipe.

"Painted" is as in bench/probe.py: the event loop runs until each watched view has received a
paint event after the action.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import interleaved


class _Watch:
    """Paint events on some widgets (as bench/probe.py's PaintWatch, for any widgets)."""

    def __init__(self, widgets: list) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        seen: set = set()

        class Filter(QObject):
            def eventFilter(self, obj, event):
                if event.type() == paint:
                    seen.add(obj)
                return False

        self.seen, self.filter, self.widgets = seen, Filter(), widgets
        for w in widgets:
            w.installEventFilter(self.filter)

    def reset(self) -> None:
        self.seen.clear()

    def wait(self, app, timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while not all(w in self.seen for w in self.widgets):
            app.processEvents()
            if time.perf_counter() > deadline:
                missing = [type(w).__name__ for w in self.widgets if w not in self.seen]
                raise RuntimeError(f"not painted: {missing}")
            time.sleep(0.0002)


def _sequence_watch(window) -> _Watch:
    return _Watch(
        [
            window.sequence_view.tokens,
            window.table.viewport(),
            window.formula_panel._browser.viewport(),
        ]
    )


def _sample_watch(window) -> _Watch:
    """The views a new selection changes on the Sample tab. The heatmap is left out: of 2,048
    rows it shows one per pixel row, and outlines (so repaints) only a row it shows."""
    views = (
        window.sample_plot,
        window.loss_plot,
        window.gradient_plot,
        window.curve_plot,
        window.table,
    )
    # A file without labels shows no loss plots (the stage hides them): those never paint.
    return _Watch([v.viewport() for v in views if not v.isHidden()])


def _floor_clicks(app, window, chips: list[int]) -> list[float]:
    """The same clicks in the token click's floor (bench/floor.py BareSequence): the app's chips,
    table size and Formula HTML, at the same places, in a bare Qt window of the same size."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from bench.floor import BareSequence, sequence_geometry

    tokens = window.sequence_view.tokens
    model = window.table.model()
    floor = BareSequence(
        [
            (tokens.chip_text(i), tokens.chip_rect(i), tokens.chip_background(i))
            for i in range(tokens.chip_count())
        ],
        (tokens.width(), tokens.height()),
        (model.rowCount(), model.columnCount()),
        window.formula_panel._browser.toHtml(),
        sequence_geometry(window),
        (window.width(), window.height()),
    )
    watch = _Watch(floor.views)
    floor.show()
    watch.wait(app)

    def click(i: int) -> float:
        rect = floor.chips[i][1]
        floor.scroll.ensureVisible(int(rect.center().x()), int(rect.y()))
        app.processEvents()
        watch.reset()
        start = time.perf_counter()
        QTest.mouseClick(
            floor.strip, Qt.MouseButton.LeftButton, pos=QPoint(*map(int, rect.center().toTuple()))
        )
        watch.wait(app)
        return time.perf_counter() - start

    click(chips[0])  # warm-up
    times = [click(i) for i in chips[1:]]
    floor.close()
    return times


def child_gui(path: str, tmp: str, figures: list[str], sizes: Any) -> dict:
    """Runs in a fresh process: every window figure of one file, printed as JSON."""
    import numpy as np
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest

    from bench import probe
    from softmax_lab.core.document import Document
    from softmax_lab.core.evaluating import evaluate
    from softmax_lab.gui.controls import slider_to_temperature

    app = probe.start_app()
    probe._isolate_settings(tmp)
    result: dict[str, Any] = {}

    # The peer of the click figures: a cell edit of a 16 x 10 table until every view painted.
    logits, labels = probe.random_table(16, 10)
    window, watch = probe.show_window(app, Document(logits, labels))
    counter = iter(range(10**9))
    edits = interleaved(
        {"edit": lambda: probe._edit_once(app, window, watch, next(counter))},
        sizes.click_repeats,
    )["edit"]
    result["edit_small"] = edits
    probe.close_window(app, window)

    window, _ = probe.show_window(app)
    window.controller.update_view(side_tab="formula")
    seq_watch = _sequence_watch(window)
    flat = np.load(path, mmap_mode="r")
    ignored = np.full(flat.shape[0] * flat.shape[1], -100)

    def open_file() -> None:
        seq_watch.reset()
        probe.wait_loaded(app, window, path)
        seq_watch.wait(app)

    def peer() -> None:
        table = np.load(path, mmap_mode="r")
        evaluate(table.reshape(-1, table.shape[-1]), ignored)

    if "open_lm" in figures:
        samples = interleaved({"app": open_file, "peer": peer}, sizes.open_repeats)
        result["open_lm"] = samples
    else:
        open_file()
    c = window.controller
    if c.view.view_tab != "sequence":
        raise RuntimeError("the Sequence tab did not come up for LM logits")
    for _ in range(50):  # let the first background jobs (ranks) finish
        app.processEvents()
        time.sleep(0.01)

    if "click_sequence" in figures:
        tokens = window.sequence_view.tokens
        chips = [i for i in range(tokens.chip_count()) if i % 7 == 3][: sizes.click_repeats + 1]

        def click(i: int) -> float:
            rect = tokens.chip_rect(i)
            window.sequence_view.token_scroll.ensureVisible(int(rect.center().x()), int(rect.y()))
            app.processEvents()
            seq_watch.reset()
            start = time.perf_counter()
            QTest.mouseClick(
                tokens, Qt.MouseButton.LeftButton, pos=QPoint(*map(int, rect.center().toTuple()))
            )
            seq_watch.wait(app)
            return time.perf_counter() - start

        click(chips[0])  # warm-up
        result["click_sequence"] = [click(i) for i in chips[1:]]
        result["click_sequence_floor"] = _floor_clicks(app, window, chips)

    if "click_sample" in figures:
        plots_watch = _Watch([p.viewport() for p in window.plots() if not p.isHidden()])
        c.update_view(view_tab="sample", side_tab="options")  # the side tab of the peer
        plots_watch.wait(app)
        sample_watch = _sample_watch(window)
        rows = np.linspace(1, c.document.n_samples - 2, sizes.click_repeats + 1).astype(int)

        def select(row: int) -> float:
            sample_watch.reset()
            start = time.perf_counter()
            c.select(int(row))
            sample_watch.wait(app)
            return time.perf_counter() - start

        select(int(rows[0]))
        result["click_sample"] = [select(int(r)) for r in rows[1:]]
        back = _Watch([window.sequence_view.tokens])
        c.update_view(view_tab="sequence", side_tab="formula")
        back.wait(app)

    if "t_slider" in figures:
        # The slider lives on the Options tab: that is the side tab showing while it is dragged.
        c.update_view(side_tab="options")
        seq_watch = _Watch([window.sequence_view.tokens, window.table.viewport()])
        doc = c.document
        blocking = []
        for temperature in (0.5, 0.7, 0.9):
            start = time.perf_counter()
            evaluate(doc.logits, doc.labels, temperature=temperature)
            blocking.append(time.perf_counter() - start)
        slider = window.controls.temperature_slider
        gaps: list[float] = []
        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setInterval(5)
        heartbeat.timeout.connect(beat)
        first = slider.value()
        moves = [first - 10 * (k + 1) for k in range(sizes.slider_moves)]
        state = {"k": 0, "released": None}

        def move() -> None:
            if state["k"] < len(moves):
                slider.setValue(moves[state["k"]])
                state["k"] += 1
                return
            mover.stop()
            slider.setSliderDown(False)
            slider.sliderReleased.emit()
            state["released"] = time.perf_counter()

        mover = QTimer()
        mover.setInterval(40)
        mover.timeout.connect(move)
        final = round(slider_to_temperature(moves[-1]), 4)
        for _ in range(5):
            app.processEvents()
        c.sigDataChanged.connect(lambda *_: seq_watch.reset())  # paints after the last result
        last[0] = time.perf_counter()
        heartbeat.start()
        slider.setSliderDown(True)
        mover.start()
        deadline = time.perf_counter() + 300
        while state["released"] is None or doc.settings.temperature != final or c.background.busy:
            app.processEvents()
            time.sleep(0.0005)
            if time.perf_counter() > deadline:
                raise RuntimeError("the temperature never arrived")
        seq_watch.wait(app)
        follow = time.perf_counter() - state["released"]
        heartbeat.stop()
        steps = doc.undo_text
        c.undo()
        undone_to = doc.settings.temperature
        result["t_slider"] = {
            "gaps": gaps,
            "blocking": blocking,
            "follow": follow,
            "undo_text": steps,
            "undone_to": undone_to,
        }
    print(json.dumps(result), flush=True)
    os._exit(0)


def child_memory(path: str, tmp: str) -> dict:
    """Runs in a fresh process: peak RSS opening the file, then after a click and a T change."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from bench import probe

    app = probe.start_app()
    probe._isolate_settings(tmp)
    window, _ = probe.show_window(app)
    window.controller.update_view(side_tab="formula")
    watch = _sequence_watch(window)
    for _ in range(3):
        app.processEvents()
    probe._reset_peak()
    result: dict[str, Any] = {"file_mb": Path(path).stat().st_size / 2**20}
    result["empty"] = probe._memory_now()
    watch.reset()
    probe.wait_loaded(app, window, path)
    watch.wait(app)
    result["loaded"] = probe._memory_now()
    print(json.dumps(result), flush=True)
    tokens = window.sequence_view.tokens
    rect = tokens.chip_rect(min(5, tokens.chip_count() - 1))
    watch.reset()
    QTest.mouseClick(
        tokens, Qt.MouseButton.LeftButton, pos=QPoint(*map(int, rect.center().toTuple()))
    )
    watch.wait(app)
    c = window.controller
    c.set_options(temperature=0.5)
    deadline = time.perf_counter() + 300
    while c.document.settings.temperature != 0.5 or c.background.busy:
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() > deadline:
            raise RuntimeError("the temperature never arrived")
    watch.reset()
    watch.wait(app)
    result["after_t"] = probe._memory_now()
    print(json.dumps(result), flush=True)
    os._exit(0)


def child_bf16_memory(path: str, how: str) -> dict:
    """Runs in a fresh process: peak RSS of one evaluation of the bfloat16 file, ``how`` being
    "ours" (evaluate_sequences on the stored dtype) or "hf" (float copy, F.cross_entropy)."""
    import torch
    import torch.nn.functional as F

    from bench import probe
    from softmax_lab.core.sequences import evaluate_sequences

    probe._reset_peak()
    base = probe._memory_now()
    data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    logits, ids = data["logits"], data["input_ids"]
    if how == "ours":
        loss = evaluate_sequences(logits, ids).loss
    else:
        v = logits.shape[-1]
        shifted = logits.float()[:, :-1].reshape(-1, v)  # Hugging Face's ForCausalLMLoss
        loss = float(F.cross_entropy(shifted, ids[:, 1:].reshape(-1)))
    now = probe._memory_now()
    return {
        "peak_mb": now["peak"] - base["rss"],
        "file_mb": Path(path).stat().st_size / 2**20,
        "loss": float(loss),
    }


def child_bf16_time(path: str, repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    from softmax_lab.core.sequences import evaluate_sequences

    data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    logits, ids = data["logits"], data["input_ids"]
    v = logits.shape[-1]

    def ours() -> float:
        return evaluate_sequences(logits, ids).loss

    def hf() -> float:
        shifted = logits.float()[:, :-1].reshape(-1, v)
        return float(F.cross_entropy(shifted, ids[:, 1:].reshape(-1)))

    samples = interleaved({"ours": ours, "hf": hf}, repeats)
    return {**samples, "difference": abs(ours() - hf())}


def main(argv: list[str]) -> int:
    from bench.sequences import Sizes

    kind, *rest = argv
    if kind == "gui":
        child_gui(rest[0], rest[1], rest[2].split(","), Sizes(**json.loads(rest[3])))
    elif kind == "memory":
        child_memory(rest[0], rest[1])
    elif kind == "bf16-memory":
        print(json.dumps(child_bf16_memory(rest[0], rest[1])))
    elif kind == "bf16-time":
        print(json.dumps(child_bf16_time(rest[0], int(rest[1]))))
    else:
        print(f"unknown probe {kind!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
