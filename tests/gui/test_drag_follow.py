"""A T or smoothing drag on a large table lands at once (issue 25, item 1): after the release the
released value's pass is the first and only one computed (a stale pass is cancelled, none waits
in a queue ahead of it, a pass already computing the released value is kept), and no stale
result reaches the views after it. The passes are held at a gate, so the order of events is
fixed by the test, not by the machine's speed."""

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider
from windows import shown_window

import softmax_lab.gui.settings_jobs as settings_jobs
from softmax_lab.core import formatting as fmt
from softmax_lab.core import kernels
from softmax_lab.core.document import Change
from softmax_lab.gui.controls import slider_to_temperature
from softmax_lab.gui.table_model import Column

N, C = 300, 12
MOVES = 10


class Gate:
    """Stands in for the background pass's ``evaluate``: records each pass (its temperature,
    smoothing and whether it came after the release), holds it until the test opens the gate
    (or the pass is cancelled), then evaluates for real."""

    def __init__(self, events: list) -> None:
        self.events = events
        self.real = settings_jobs.evaluate
        self.open = threading.Event()
        self.lock = threading.Lock()
        self.passes: list[dict] = []

    def __call__(self, logits, target, **kwargs):
        if len(logits) == 1:  # the check of a request, on one row, on the GUI thread
            return self.real(logits, target, **kwargs)
        cancel = getattr(kernels._limit, "cancel", None)
        record = {
            "T": kwargs["temperature"],
            "eps": kwargs["label_smoothing"],
            "cancel": cancel,
            "thread": threading.get_native_id(),
        }
        with self.lock:
            self.passes.append(record)
            self.events.append(("pass", kwargs["temperature"], kwargs["label_smoothing"]))
        while not self.open.is_set() and not (cancel is not None and cancel.is_set()):
            self.open.wait(0.005)
        return self.real(logits, target, **kwargs)


@pytest.fixture
def window(qtbot, monkeypatch):
    w = shown_window(qtbot)
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, (N, C)).astype(np.float32)
    labels = rng.integers(0, C, N)
    c = w.controller
    c.replace_document(logits, labels, [f"c{i}" for i in range(C)], text="Open test table")
    c.update_view(side_tab="options")
    c.background.cells = 0  # as if this table were 50,000 x 1,000: option changes go off-thread
    yield w
    w.document.mark_clean()


@pytest.fixture
def events(window):
    """The order of what happens: ("pass", T, eps) when a pass starts, ("release",) when the
    test releases, ("applied", T, eps) when a result reaches the views."""
    log: list = []
    c = window.controller

    def applied(change, _rows) -> None:
        if change & Change.SETTINGS:
            s = c.document.settings
            log.append(("applied", s.temperature, s.label_smoothing))

    c.sigDataChanged.connect(applied)
    yield log
    c.sigDataChanged.disconnect(applied)


@pytest.fixture
def gate(monkeypatch, events):
    g = Gate(events)
    monkeypatch.setattr(settings_jobs, "evaluate", g)
    yield g
    g.open.set()


def slider_event(slider, kind: QEvent.Type, x: int, buttons) -> None:
    y = slider.height() // 2
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(x, y),
        QPointF(slider.mapToGlobal(QPoint(x, y))),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(slider, event)


def handle_x(slider) -> int:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center().x()


def drag_slider(qtbot, window, gate, moves: int, before_release=None) -> float:
    """Press the T slider's handle, move it ``moves`` times (the first move's pass is waited for,
    so it is the one computing meanwhile), release it; returns the released temperature."""
    slider = window.controls.temperature_slider
    left = Qt.MouseButton.LeftButton
    x = handle_x(slider)
    slider_event(slider, QEvent.Type.MouseButtonPress, x, left)
    assert slider.isSliderDown()
    values = []
    for k in range(moves):
        x += 4
        slider_event(slider, QEvent.Type.MouseMove, x, left)
        values.append(slider.value())
        if k == 0:
            qtbot.waitUntil(lambda: len(gate.passes) == 1)
    assert len(set(values)) == moves  # every move was a new value
    if before_release is not None:
        before_release()
    gate.events.append(("release",))
    slider_event(slider, QEvent.Type.MouseButtonRelease, x, Qt.MouseButton.NoButton)
    return round(slider_to_temperature(values[-1]), 4)


def settle(qtbot, window, gate) -> None:
    """Open the gate and wait until every pass has ended and been delivered (or dropped)."""
    c = window.controller
    gate.open.set()
    qtbot.waitUntil(lambda: not c.background.busy and not c.jobs.busy("settings"), timeout=20000)


def after_release(events: list) -> list:
    return events[events.index(("release",)) + 1 :]


def shown_loss(window, row: int) -> str:
    model = window.table_model
    index = model.index(row, model.column_of(Column.LOSS))
    return model.data(index, Qt.ItemDataRole.DisplayRole)


def torch_loss(window, row: int, temperature: float, smoothing: float = 0.0) -> float:
    doc = window.document
    x = torch.from_numpy(doc.logits[row : row + 1]) / temperature
    y = torch.tensor([int(doc.labels[row])])
    return float(F.cross_entropy(x, y, label_smoothing=smoothing))


def test_a_stale_pass_is_cancelled_at_the_release_and_the_released_value_goes_first(
    qtbot, window, gate, events, monkeypatch
):
    doc = window.document
    raised: list[int] = []
    monkeypatch.setattr(settings_jobs, "raise_priority", lambda t: raised.append(t) or True)
    released = drag_slider(qtbot, window, gate, MOVES)
    # At the release the first move's pass (stale) is cancelled and the released value's pass
    # starts at once: nothing computes the values in between.
    qtbot.waitUntil(lambda: len(gate.passes) == 2)
    assert gate.passes[0]["cancel"].is_set()
    # the cancelled pass ran below the GUI: raised, it reaches its check and stops at once
    assert raised == [gate.passes[0]["thread"]]
    assert not gate.passes[1]["cancel"].is_set()
    settle(qtbot, window, gate)
    assert after_release(events) == [("pass", released, 0.0), ("applied", released, 0.0)]
    assert [e for e in events if e[0] == "applied"] == [("applied", released, 0.0)]
    assert doc.settings.temperature == released
    assert shown_loss(window, 7) == fmt.number(torch_loss(window, 7, released))
    assert window.controls.temperature.value() == pytest.approx(released)
    doc.undo()  # the drag is one undo step
    assert doc.settings.temperature == 1.0


def test_a_pass_already_computing_the_released_value_is_kept(qtbot, window, gate, events):
    doc = window.document
    released = drag_slider(qtbot, window, gate, 1)  # the only move's pass is the last value's
    settle(qtbot, window, gate)
    assert not gate.passes[0]["cancel"].is_set()
    assert len(gate.passes) == 1  # not cancelled and computed again
    assert after_release(events) == [("applied", released, 0.0)]
    assert doc.settings.temperature == released
    assert shown_loss(window, 3) == fmt.number(torch_loss(window, 3, released))


def test_no_pass_waits_in_a_queue_ahead_of_the_released_value(
    qtbot, window, gate, events, monkeypatch
):
    """Mid-drag results are shown (the window follows the drag), and the next pass waits for the
    paint; at the release that wait is skipped and the released value's pass starts at once."""
    monkeypatch.setattr(settings_jobs, "NEXT_PASS_DELAY_MS", 600_000)  # never by itself
    c = window.controller

    def first_result_in() -> None:  # the first move's result arrives mid-drag
        with qtbot.waitSignal(c.sigDataChanged, timeout=20000):
            gate.open.set()
        gate.open.clear()
        assert c.background.busy  # the newest value waits for the delay

    released = drag_slider(qtbot, window, gate, MOVES, before_release=first_result_in)
    settle(qtbot, window, gate)
    first = gate.passes[0]["T"]
    assert [e[0] for e in events] == ["pass", "applied", "release", "pass", "applied"]
    assert after_release(events) == [("pass", released, 0.0), ("applied", released, 0.0)]
    assert events[1] == ("applied", first, 0.0)
    assert window.document.settings.temperature == released


def smoothing_run(qtbot, window, gate):
    """Up pressed MOVES times in the smoothing box, the first step's pass started (and held at
    the gate); returns the box and the value it shows."""
    spin = window.controls.smoothing
    spin.setFocus()
    for k in range(MOVES):
        qtbot.keyClick(spin, Qt.Key.Key_Up)
        if k == 0:
            qtbot.waitUntil(lambda: len(gate.passes) == 1)
    return spin, round(spin.value(), 4)


def test_a_smoothing_run_keeps_the_running_pass_and_lands_on_the_last_value(
    qtbot, window, gate, events, monkeypatch
):
    """The first smoothing step needs a pass; the values after it differ from it only in the
    smoothing, so at the release that pass is kept (not cancelled and started again) and the
    last value is derived from its result: one pass in all, one result shown."""
    spin, wanted = smoothing_run(qtbot, window, gate)
    first = gate.passes[0]["eps"]
    assert 0 < first < wanted
    raised: list[int] = []
    monkeypatch.setattr(settings_jobs, "raise_priority", lambda t: raised.append(t) or True)
    events.append(("release",))
    qtbot.keyClick(spin, Qt.Key.Key_Return)  # editingFinished: the end of the run
    assert not gate.passes[0]["cancel"].is_set()
    assert raised == [gate.passes[0]["thread"]]  # the kept pass runs at normal priority now
    settle(qtbot, window, gate)
    assert len(gate.passes) == 1
    assert after_release(events) == [("applied", 1.0, wanted)]
    assert [e for e in events if e[0] == "applied"] == [("applied", 1.0, wanted)]
    smoothed = torch_loss(window, 5, 1.0, wanted)
    assert shown_loss(window, 5) == fmt.number(smoothed)
    window.document.undo()
    assert window.document.settings.label_smoothing == 0.0


def test_a_kept_pass_that_cannot_be_raised_is_started_again_at_normal_priority(
    qtbot, window, gate, events, monkeypatch
):
    """Where the OS will not raise the running pass's priority (an unprivileged process), the
    window does not wait for a thread that runs below every other process on the machine: the
    pass is cancelled and the released value computed at once, at normal priority, and only its
    result is shown."""
    spin, wanted = smoothing_run(qtbot, window, gate)
    monkeypatch.setattr(settings_jobs, "raise_priority", lambda _thread: False)
    events.append(("release",))
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert gate.passes[0]["cancel"].is_set()
    qtbot.waitUntil(lambda: len(gate.passes) == 2)
    assert gate.passes[1]["eps"] == pytest.approx(wanted)
    settle(qtbot, window, gate)
    assert after_release(events) == [("pass", 1.0, wanted), ("applied", 1.0, wanted)]
    assert shown_loss(window, 5) == fmt.number(torch_loss(window, 5, 1.0, wanted))


def test_a_t_and_smoothing_change_meanwhile_is_a_new_pass(qtbot, window, gate, events):
    """A value that does not follow from the running pass (T moved too) cancels it."""
    c = window.controller
    c.set_options(merge_key="smoothing", label_smoothing=0.1)
    qtbot.waitUntil(lambda: len(gate.passes) == 1)
    c.set_options(merge_key="smoothing", label_smoothing=0.2, temperature=2.0)
    events.append(("release",))
    c.end_merge()
    qtbot.waitUntil(lambda: len(gate.passes) == 2)
    assert gate.passes[0]["cancel"].is_set()
    settle(qtbot, window, gate)
    assert after_release(events) == [("pass", 2.0, 0.2), ("applied", 2.0, 0.2)]


def test_a_smoothing_run_on_a_smoothed_table_is_shown_at_each_step_without_a_pass(
    qtbot, window, gate, events
):
    """From a smoothed evaluation a new smoothing is O(N) from its per-row terms: each step is
    applied at once on the GUI thread and the release has nothing left to wait for."""
    c, doc = window.controller, window.document
    spin = window.controls.smoothing
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    settle(qtbot, window, gate)  # the first smoothing is one pass
    first = doc.settings.label_smoothing
    assert first > 0
    assert len(gate.passes) == 1
    gate.open.clear()  # a pass now would wait at the gate, and the test would fail
    del events[:]
    shown = []
    for _ in range(MOVES):
        qtbot.keyClick(spin, Qt.Key.Key_Up)
        assert not c.background.busy
        shown.append(doc.settings.label_smoothing)
        assert shown[-1] == pytest.approx(spin.value())
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert len(gate.passes) == 1
    assert events == [("applied", 1.0, eps) for eps in shown]
    assert shown_loss(window, 9) == fmt.number(torch_loss(window, 9, 1.0, shown[-1]))
    doc.undo()  # the run is one undo step
    assert doc.settings.label_smoothing == first
    assert len(gate.passes) == 1  # the undo needed no pass either
    assert shown_loss(window, 9) == fmt.number(torch_loss(window, 9, 1.0, first))
