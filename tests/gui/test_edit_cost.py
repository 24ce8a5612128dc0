"""What one cell edit costs, counted (no timing): the work the per-edit path must not grow back.

Issue 19's refactor made ``bench/run.py``'s edit_small ~10% and first_edit ~50% slower; counted
with ``bench/profile_edit.py``, the extra work was each plot title laying its plot out again on
every edit, the loss curve's reference set again, contrast ratios computed afresh for every
label and table cell, and a re-opened file's columns reset and widened back after its first
paint. Each is counted here from what Qt and the items are told.
"""

import numpy as np
import pyqtgraph as pg
import pytest
from cell_editing import type_into_cell
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
from windows import shown_window

from softmax_lab.core import contrast
from softmax_lab.core.document import Document
from softmax_lab.gui import MainWindow


class Events(QObject):
    """Counts the layout requests the application delivers to each plot's PlotItem."""

    def __init__(self) -> None:
        super().__init__()
        self.plot_layouts = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and isinstance(obj, pg.PlotItem):
            self.plot_layouts += 1
        return False


class Painted(QObject):
    """Records the viewports that have painted since ``reset``."""

    def __init__(self, viewports) -> None:
        super().__init__()
        self.viewports = list(viewports)
        self.seen: set = set()
        for viewport in self.viewports:
            viewport.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.seen.add(obj)
        return False

    def reset(self) -> None:
        self.seen.clear()

    def all(self) -> bool:
        return all(v in self.seen for v in self.viewports if v.isVisible())


def _viewports(w: MainWindow) -> list:
    plots = (w.sample_plot, w.loss_plot, w.heatmap, w.curve_plot, w.gradient_plot, w.table)
    return [p.viewport() for p in plots]


def _count_calls(monkeypatch, item, name: str) -> list:
    calls: list = []
    original = getattr(item, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(item, name, counted)
    return calls


@pytest.fixture
def edited(qtbot, monkeypatch):
    """A 16 x 10 labelled table (bench/run.py's edit_small) after one warm-up edit: edit(value)
    types ``value`` into a logit of the selected sample and waits until every view has painted
    it; the counters cover that edit."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, size=(16, 10)).round(2)
    w = shown_window(qtbot, Document(logits, rng.integers(0, 10, 16)))
    painted = Painted(_viewports(w))
    events = Events()

    def edit(text: str) -> None:
        row = w.selected_sample
        painted.reset()
        type_into_cell(qtbot, w.table, w.table_model.index(row, 2), text)
        qtbot.waitUntil(painted.all)  # posted layout requests are delivered before the paints

    edit("1.5")  # warm-up: the first edit may size what it shows
    curve = w.curve_plot
    counts = {
        "reference": _count_calls(monkeypatch, curve.reference, "setData"),
        "sample_curve": _count_calls(monkeypatch, curve.sample_curve, "setData"),
    }
    QApplication.instance().installEventFilter(events)
    try:
        yield w, edit, events, counts
    finally:
        QApplication.instance().removeEventFilter(events)


def test_a_value_edit_lays_out_no_plot(edited):
    w, edit, events, _counts = edited
    edit("-0.75")
    assert w.document.logits[w.selected_sample, 2] == -0.75
    # Each plot title used to set its row's height on every edit, which lays the whole plot out
    # again (6 layout requests per edit); the titles and scale are unchanged by a value edit.
    assert events.plot_layouts == 0


def test_a_value_edit_sets_each_curve_once(edited):
    w, edit, _events, counts = edited
    top = w.curve_plot.y_top()
    edit("0.25")
    assert len(counts["sample_curve"]) == 1
    # The −log p reference is cut at the y axis's top: set again only when that top moved.
    assert len(counts["reference"]) == (0 if w.curve_plot.y_top() == top else 1)


def test_bar_labels_that_stay_put_are_not_placed_again(edited, monkeypatch):
    """An edit re-places every bar label; one whose anchor and place do not change is left
    alone (each setAnchor / setPos re-laid the item out): placing again with nothing moved
    calls neither, and every label stays where it was."""
    w, _edit, _events, _counts = edited
    marks = (w.sample_plot.logit_labels, w.sample_plot.probability_labels)
    before = [(item.pos(), pg.Point(item.anchor)) for m in marks for item in m.items]
    anchors = _count_calls(monkeypatch, pg.TextItem, "setAnchor")
    moves = _count_calls(monkeypatch, pg.TextItem, "setPos")
    for m in marks:
        m.place()
    assert anchors == []
    assert moves == []
    assert [(item.pos(), pg.Point(item.anchor)) for m in marks for item in m.items] == before


def test_a_value_edit_computes_no_contrast_afresh(edited):
    _w, edit, _events, _counts = edited
    before = contrast.legible.cache_info().misses
    edit("2.5")
    # The role labels' and outlines' colours depend on the theme only: remembered after the
    # first edit (they were computed again for every label, outline and table cell).
    assert contrast.legible.cache_info().misses == before


def test_reopening_a_file_resizes_no_column(qtbot, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "labelled.npz"
    np.savez(
        path,
        logits=rng.normal(0, 2, (2_000, 40)).astype(np.float32),
        labels=rng.integers(0, 40, 2_000),
    )
    w = shown_window(qtbot)
    painted = Painted([w.table.viewport()])
    header = w.table.horizontalHeader()
    for attempt in range(2):
        resized: list = []

        def note(*args, r=resized):
            r.append(args)

        header.sectionResized.connect(note)
        painted.reset()
        with qtbot.waitSignal(w.sigFileLoaded, timeout=30_000):
            w.load_file(str(path), as_probabilities=False)
        qtbot.waitUntil(painted.all)
        widths = [w.table.columnWidth(c) for c in range(header.count())]
        if attempt == 0:
            assert resized, "a new table's columns are sized to its numbers"
            first = widths
        else:
            # The same file again: its columns end as they were, and Qt hears of no resize
            # (each one repaints the table after its first paint: the first edit paid for it).
            assert widths == first
            assert resized == []
        header.sectionResized.disconnect(note)
    w.document.mark_clean()
