"""The controller's routing without a window (ndv's ``MagicMock(spec=View)`` pattern): for each
kind of change, which views are told what, once; and the order in which the controller tells
its sessions about a document change."""

from unittest.mock import MagicMock, call

import numpy as np
import pytest

from softmax_lab.core.document import Change
from softmax_lab.core.view_state import Sort
from softmax_lab.gui.compare_session import CompareSession
from softmax_lab.gui.controller import Controller
from softmax_lab.gui.runs_session import RunsSession
from softmax_lab.gui.sequence_session import SequenceSession
from softmax_lab.gui.settings_jobs import BackgroundSettings

SIGNALS = (
    "sigLayoutChanged",
    "sigDataChanged",
    "sigNamesChanged",
    "sigInputsChanged",
    "sigSelectionChanged",
    "sigOrderChanged",
    "sigStyleChanged",
    "sigViewChanged",
    "sigHistoryChanged",
)


class FakeView:
    """What a view offers the controller: one setter per signal."""

    def layout_changed(self): ...
    def data_changed(self, change, rows): ...
    def names_changed(self): ...
    def inputs_changed(self): ...
    def selection_changed(self, sample): ...
    def order_changed(self): ...
    def style_changed(self, theme): ...
    def view_changed(self, fields): ...
    def history_changed(self): ...


SETTERS = dict(zip(SIGNALS, [n for n in vars(FakeView) if not n.startswith("_")], strict=True))


@pytest.fixture
def routed(qapp):
    c = Controller()
    view = MagicMock(spec=FakeView)
    for signal, setter in SETTERS.items():
        getattr(c, signal).connect(getattr(view, setter))
    yield c, view
    c.deleteLater()


def told(view) -> dict[str, int]:
    """How many times each setter was called (those called at all)."""
    return {
        name: getattr(view, name).call_count
        for name in SETTERS.values()
        if getattr(view, name).called
    }


def test_a_cell_edit_redraws_once_and_resets_nothing(routed):
    c, view = routed
    assert c.edit_logit(1, 2, "4.5")
    assert told(view) == {"data_changed": 1, "history_changed": 1}
    change, rows = view.data_changed.call_args.args
    assert change == Change.LOGITS
    np.testing.assert_array_equal(rows, [1])


def test_a_rename_relabels_and_recomputes_nothing(routed):
    c, view = routed
    c.rename_class(0, "zebra")
    assert told(view) == {"names_changed": 1, "history_changed": 1}


def test_a_new_sample_resets_the_table_once(routed):
    c, view = routed
    c.add_sample()
    calls = told(view)
    assert calls["layout_changed"] == 1
    assert calls["data_changed"] == 1
    assert calls["inputs_changed"] == 1
    assert calls["selection_changed"] == 1
    assert view.data_changed.call_args.args[0] & Change.STRUCTURE
    assert "style_changed" not in calls
    assert "names_changed" not in calls


def test_a_selection_moves_markers_only(routed):
    c, view = routed
    c.select(2)
    assert told(view) == {"selection_changed": 1}
    view.selection_changed.assert_called_once_with(2)


def test_a_sort_reorders_only(routed):
    c, view = routed
    c.set_sort(Sort("loss", True))
    assert told(view) == {"order_changed": 1}


def test_theme_scale_and_desk_factor_restyle_once_with_the_one_theme(routed):
    c, view = routed
    c.update_view(theme="dark")
    c.set_scale(1.5)
    c.update_view(desk_factor=1.25)
    c.update_view(desk_factor=1.25)  # unchanged: nothing told
    assert told(view) == {"style_changed": 3}
    themes = [args.args[0] for args in view.style_changed.call_args_list]
    assert [t.name for t in themes] == ["dark"] * 3
    assert [t.scale for t in themes] == [1.0, 1.5, 1.5 * 1.25]
    assert c.theme == themes[-1]


def test_going_on_stage_drops_the_desk_factor_in_one_restyle(routed):
    c, view = routed
    c.update_view(desk_factor=1.25)
    view.reset_mock()
    c.update_view(presentation=True)
    assert told(view) == {"view_changed": 1, "style_changed": 1}
    view.view_changed.assert_called_once_with(frozenset({"presentation"}))
    assert view.style_changed.call_args.args[0].scale == 1.0


def test_sessions_are_told_of_a_document_change_in_one_fixed_order(routed):
    c, view = routed
    order = MagicMock()
    for name, spec in (
        ("background", BackgroundSettings),
        ("sequences", SequenceSession),
        ("runs", RunsSession),
        ("compare", CompareSession),
    ):
        fake = MagicMock(spec=spec)
        setattr(c, name, fake)
        order.attach_mock(fake, name)
    view.data_changed.side_effect = lambda *_: order.views_told()
    assert c.edit_logit(0, 0, "1.5")
    assert order.mock_calls == [
        call.background.document_changed(None),
        call.sequences.document_changed(Change.LOGITS, c.document.changed_rows),
        call.runs.document_changed(Change.LOGITS),
        call.compare.document_changed(Change.LOGITS),
        call.views_told(),
        call.runs.announce(),
    ]
