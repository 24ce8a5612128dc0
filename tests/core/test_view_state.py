"""core.view_state: one evented view state; row order from sort and filter, computed in numpy."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core import evaluate
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.view_state import (
    SORT_CHOICES,
    Filter,
    Sort,
    ViewState,
    row_order,
    sort_values,
    view_from_json,
)


def problem(seed=0, n=30, c=4):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c))
    logits[3, 1] = np.nan
    labels = rng.integers(0, c, n)
    labels[5] = IGNORE_INDEX
    return logits, labels, evaluate(logits, labels)


def test_update_notifies_only_what_changed():
    view = ViewState()
    seen = []
    view.subscribe(seen.append)
    assert view.update(selected=0) == frozenset()
    assert view.update(selected=3, theme="dark", scale=1.0) == {"selected", "theme"}
    assert seen == [frozenset({"selected", "theme"})]
    assert view.selected == 3
    assert view.theme == "dark"


def test_a_field_event_fires_once_per_real_change_with_the_new_value():
    view = ViewState()
    scales, themes, order = [], [], []
    view.events.scale.connect(scales.append)
    view.events["theme"].connect(themes.append)
    view.events.scale.connect(lambda v: order.append(("scale", v)))
    view.subscribe(lambda names: order.append(("set", names)))
    view.update(scale=2.0)
    view.update(scale=2.0)  # a no-op: nothing fires
    view.scale = 2.0  # set alone, still a no-op
    view.update(theme="light", selected=0)  # both as they were
    view.scale = 1.5
    view.update(scale=1.5, theme="dark")
    assert scales == [2.0, 1.5]
    assert themes == ["dark"]
    # The field's own event comes before the listeners of the whole set.
    assert order[:2] == [("scale", 2.0), ("set", frozenset({"scale"}))]


def test_a_field_event_sees_the_whole_update_applied_and_nested_changes_arrive():
    view = ViewState()
    seen = []

    def on_presentation(on):
        seen.append(("presentation", on, view.scale))  # the same update's scale is applied
        view.update(side_panel=not on)

    view.events.presentation.connect(on_presentation)
    view.events.side_panel.connect(lambda v: seen.append(("side_panel", v)))
    view.update(presentation=True, scale=2.0)
    assert seen == [("presentation", True, 2.0), ("side_panel", False)]
    assert view.side_panel is False


def test_a_refused_set_fires_nothing_and_disconnect_stops_the_calls():
    view = ViewState()
    seen = []
    view.events.top_p.connect(seen.append)
    with pytest.raises(ValueError):
        view.top_p = 0.0
    with pytest.raises(ValueError):
        view.update(top_p=0.5, theme="neon")  # one bad field refuses the whole update
    assert view.top_p == 1.0
    assert seen == []
    view.top_p = 0.5
    view.events.top_p.disconnect(seen.append)
    view.events.top_p.disconnect(seen.append)  # twice: ignored
    view.top_p = 0.25
    assert seen == [0.5]
    with pytest.raises(AttributeError):
        view.events.nonsense  # noqa: B018
    with pytest.raises(KeyError):
        view.events["nonsense"]


@pytest.mark.parametrize(
    "changes",
    [
        {"selected": -1},
        {"theme": "neon"},
        {"scale": 0.5},
        {"view_tab": "x"},
        {"side_tab": "x"},
        {"top_k": -1},
        {"top_p": 0.0},
        {"nonsense": 1},
        {"filter": "wrong"},
    ],
)
def test_bad_updates_raise_and_change_nothing(changes):
    view = ViewState()
    seen = []
    view.subscribe(seen.append)
    before = view.snapshot()
    with pytest.raises(ValueError):
        view.update(**changes)
    assert view.snapshot() == before
    assert seen == []


def test_bad_sorts_and_filters():
    with pytest.raises(ValueError):
        Sort("nonsense")
    with pytest.raises(ValueError):
        Sort("logit:x")
    with pytest.raises(ValueError):
        Filter("class", "a")
    with pytest.raises(ValueError):
        Filter("confusion", 3)
    with pytest.raises(ValueError):
        Filter("bogus")


def reference_order(values, descending):
    """Stable sort by value, NaN last whichever the direction (what a spreadsheet does)."""
    finite = [i for i in range(len(values)) if not math.isnan(values[i])]
    nan = [i for i in range(len(values)) if math.isnan(values[i])]
    finite.sort(key=lambda i: -values[i] if descending else values[i])
    return finite + nan


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000), st.sampled_from([s for _, s in SORT_CHOICES if s is not None]))
def test_row_order_matches_a_stable_reference_sort(seed, sort):
    logits, labels, ev = problem(seed)
    order = row_order(ev, logits, labels, None, sort, Filter())
    values = sort_values(sort.key, ev, logits, labels, None, np.arange(len(labels)))
    assert order.tolist() == reference_order(values.tolist(), sort.descending)


def test_filters_then_sorts():
    logits, labels, ev = problem()
    order = row_order(ev, logits, labels, None, Sort("loss"), Filter("wrong"))
    wrong = np.flatnonzero(ev.valid & ~ev.correct)
    assert set(order) == set(wrong)
    losses = ev.losses[order]
    assert np.all(np.diff(losses[np.isfinite(losses)]) <= 0)
    assert row_order(ev, logits, labels, None, None, Filter()) is None
    t, p = int(ev.targets[0]), int(ev.predictions[0])
    confusion = row_order(ev, logits, labels, None, None, Filter("confusion", (t, p)))
    assert 0 in confusion
    assert all(ev.targets[i] == t and ev.predictions[i] == p for i in confusion)
    chosen = row_order(ev, logits, labels, None, None, Filter("samples", (4, 2, 99)))
    assert chosen.tolist() == [2, 4]


def test_class_column_sorts():
    logits, labels, ev = problem()
    order = row_order(ev, logits, labels, None, Sort("logit:2", False), Filter())
    assert order.tolist() == reference_order(logits[:, 2].tolist(), False)
    by_p = row_order(ev, logits, labels, None, Sort("probability:0"), Filter())
    assert by_p.tolist() == reference_order(ev.probabilities[:, 0].tolist(), True)


def test_json_round_trip_and_description():
    view = ViewState(sort=Sort("margin", False), filter=Filter("samples", [3, 1], "lasso"))
    again = ViewState(**view_from_json(view.to_json()))
    assert again.snapshot() == view.snapshot()
    names = ["cat", "dog"]
    assert Sort("margin", False).describe(names) == "margin, lowest first"
    assert Filter("confusion", (0, 1)).describe(names) == "true cat predicted as dog"
    assert Filter("samples", (1, 2), "lasso").describe(names) == "lasso"
