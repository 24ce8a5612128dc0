"""What the window shows besides the data: the selected sample, sort, filter, tabs, theme and scale.

:class:`ViewState` is the one copy of these choices, one typed attribute per field. It tells its
listeners which fields changed (``subscribe``: the set of names), and each field has its own
event (``events.<field>``: the new value) so that a view subscribes to the field it renders; a
combo box and the table that both render ``sort`` can never disagree. Events fire once per real
change and never for a value set again. The row order a sort and a filter give is
``core.row_order``'s. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Generic, TypeVar, overload

import numpy as np

from softmax_lab.core.constants import MAX_INDEX, SCALE_RANGE
from softmax_lab.core.formatting import big_int
from softmax_lab.core.row_order import (  # the fields' types; re-exported for the views
    ALL,
    FILTER_KINDS,
    SORT_CHOICES,
    STATISTICS,
    Filter,
    Sort,
    TableColumn,
    column_sort_values,
    row_order,
    sort_values,
)

__all__ = [
    "ALL",
    "FILTER_KINDS",
    "PERSISTED",
    "SIDE_TABS",
    "SORT_CHOICES",
    "STATISTICS",
    "THEME_NAMES",
    "UNDO_CONTEXT",
    "VIEW_TABS",
    "FieldEvent",
    "FieldEvents",
    "Filter",
    "Sort",
    "TableColumn",
    "ViewFields",
    "ViewState",
    "column_sort_values",
    "row_order",
    "sort_values",
    "view_from_json",
]

# --- the state itself ---------------------------------------------------------------------------

VIEW_TABS = ("sample", "dataset", "training", "sequence")
"""The main tabs a window may have; "training" and "sequence" appear when a run or language-model
logits are open."""
SIDE_TABS = ("options", "formula", "scratch", "sampling")
THEME_NAMES = ("light", "dark")


@dataclass
class ViewFields:
    """The fields of a view state (also what a workspace stores of it)."""

    selected: int = 0
    sort: Sort | None = None
    filter: Filter = field(default_factory=Filter)
    show_probabilities: bool = False
    theme: str = "light"
    scale: float = 1.0
    desk_factor: float = 1.0
    """How much larger the desk layout's type is on this window's size (``core.display``
    ``desk_type_factor``); the views' scale is ``scale`` times it, except on stage."""
    presentation: bool = False
    plot_focus: int | None = None
    view_tab: str = "sample"
    side_tab: str = "options"
    side_panel: bool = True
    preset_index: int = 0
    top_k: int = 0
    top_p: float = 1.0
    lesson: str = ""
    """The lesson file being taught ("" when none): PgDn / PgUp step through it."""
    lesson_step: int = 0


PERSISTED = (
    "selected",
    "sort",
    "filter",
    "show_probabilities",
    "theme",
    "scale",
    "view_tab",
    "side_tab",
    "preset_index",
    "top_k",
    "top_p",
    "lesson",
    "lesson_step",
)
"""What workspaces, autosave and undo restore. Presentation mode and a focused plot are how the
window is being shown right now, not part of the work."""

UNDO_CONTEXT = ("selected", "sort", "filter")
"""What an undone edit brings back with it: where the user was when making it."""


def _validate(values: ViewFields) -> None:
    for name in ("selected", "preset_index", "top_k", "lesson_step", "plot_focus"):
        value = getattr(values, name)
        if value is not None and not (
            isinstance(value, (int, np.integer))
            and not isinstance(value, bool)
            and -MAX_INDEX <= value <= MAX_INDEX
        ):
            shown = big_int(value) if isinstance(value, int) else repr(value)[:40]
            raise ValueError(f"{name} must be a whole number up to {MAX_INDEX:,}, not {shown}")
    from softmax_lab.core.presets import PRESETS

    if not 0 <= values.preset_index < len(PRESETS):
        raise ValueError(f"preset_index must be in 0..{len(PRESETS) - 1}")
    if values.selected < 0:
        raise ValueError("selected must be a sample index >= 0")
    if values.sort is not None and not isinstance(values.sort, Sort):
        raise ValueError("sort must be a Sort or None")
    if not isinstance(values.filter, Filter):
        raise ValueError("filter must be a Filter")
    if values.theme not in THEME_NAMES:
        raise ValueError(f"theme must be one of {THEME_NAMES}")
    lo, hi = SCALE_RANGE
    if not lo <= values.scale <= hi:
        raise ValueError(f"scale must be in [{lo:g}, {hi:g}]")
    if not lo <= values.desk_factor <= hi:
        raise ValueError(f"desk factor must be in [{lo:g}, {hi:g}]")
    if values.view_tab not in VIEW_TABS:
        raise ValueError(f"view tab must be one of {VIEW_TABS}")
    if values.side_tab not in SIDE_TABS:
        raise ValueError(f"side tab must be one of {SIDE_TABS}")
    if values.lesson_step < 0:
        raise ValueError("lesson step must be >= 0")
    if values.top_k < 0:
        raise ValueError("top-k must be >= 0 (0 = off)")
    if not 0 < values.top_p <= 1:
        raise ValueError("top-p must be in (0, 1]")


# --- per-field events ---------------------------------------------------------------------------

T = TypeVar("T")


class FieldEvent:
    """One field's event: its callbacks get the field's new value, once per real change."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """Call ``callback(value)`` after each change of the field; returns it (a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        """Stop calling ``callback`` (one that is not connected is ignored)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: Any) -> None:
        for callback in list(self._callbacks):
            callback(value)

    def __len__(self) -> int:
        return len(self._callbacks)


class FieldEvents:
    """The events of a view state, one attribute per field (``events.scale.connect(f)``), or by
    name (``events["scale"]``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._events = {name: FieldEvent(name) for name in names}

    def __getattr__(self, name: str) -> FieldEvent:
        events = self.__dict__.get("_events", {})
        if name in events:
            return events[name]
        raise AttributeError(f"no view field {name!r}")

    def __getitem__(self, name: str) -> FieldEvent:
        if name not in self._events:
            raise KeyError(f"no view field {name!r}")
        return self._events[name]


class _Field(Generic[T]):
    """A typed view-state field: read from the current values; set through ``update`` (checked,
    and told to the listeners)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, state: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, state: ViewState, owner: type) -> T: ...
    def __get__(self, state: ViewState | None, owner: type) -> T | _Field[T]:
        if state is None:
            return self
        return getattr(state._values, self.name)

    def __set__(self, state: ViewState, value: T) -> None:
        state.update(**{self.name: value})


class ViewState:
    """The evented view state: ``update(**changes)`` validates, applies and tells every listener
    the set of fields that actually changed (nothing is sent when nothing changed), and each
    changed field's event its new value. A field may also be set alone (``state.scale = 2``)."""

    selected: _Field[int] = _Field()
    sort: _Field[Sort | None] = _Field()
    filter: _Field[Filter] = _Field()
    show_probabilities: _Field[bool] = _Field()
    theme: _Field[str] = _Field()
    scale: _Field[float] = _Field()
    desk_factor: _Field[float] = _Field()
    presentation: _Field[bool] = _Field()
    plot_focus: _Field[int | None] = _Field()
    view_tab: _Field[str] = _Field()
    side_tab: _Field[str] = _Field()
    side_panel: _Field[bool] = _Field()
    preset_index: _Field[int] = _Field()
    top_k: _Field[int] = _Field()
    top_p: _Field[float] = _Field()
    lesson: _Field[str] = _Field()
    lesson_step: _Field[int] = _Field()

    def __init__(self, **values: Any) -> None:
        self._values = ViewFields(**values)
        _validate(self._values)
        self._listeners: list[Callable[[frozenset[str]], None]] = []
        self.events = FieldEvents(_FIELD_NAMES)
        """Per-field events: ``events.<field>.connect(callback)``; see :class:`FieldEvent`."""

    @property
    def fields(self) -> ViewFields:
        """A copy of every field."""
        return replace(self._values)

    @property
    def type_scale(self) -> float:
        """The scale every view draws at: the chosen one, times the desk's factor for big
        screens (on stage the chosen scale already fits the screen)."""
        factor = 1.0 if self._values.presentation else self._values.desk_factor
        return self._values.scale * factor

    def subscribe(self, callback: Callable[[frozenset[str]], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[frozenset[str]], None]) -> None:
        self._listeners.remove(callback)

    def update(self, **changes: Any) -> frozenset[str]:
        unknown = set(changes) - _FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown view fields: {sorted(unknown)}")
        new = replace(self._values, **changes)
        _validate(new)
        changed = frozenset(
            name for name in changes if getattr(new, name) != getattr(self._values, name)
        )
        if changed:
            self._values = new
            # Each field's own event first (a bound widget shows its value), in the fields'
            # order; then the listeners of the whole set. A callback that changes the state
            # again is told in turn; each event carries the value current when it is sent.
            for name in _FIELD_ORDER:
                if name in changed:
                    self.events[name].emit(getattr(self._values, name))
            for callback in list(self._listeners):
                callback(changed)
        return changed

    def snapshot(self, names: Iterable[str] = PERSISTED) -> dict[str, Any]:
        return {name: getattr(self._values, name) for name in names}

    def to_json(self) -> dict[str, Any]:
        """The persisted fields as plain JSON values."""
        out: dict[str, Any] = {}
        for name, value in self.snapshot().items():
            if isinstance(value, Sort):
                value = asdict(value)
            elif isinstance(value, Filter):
                raw = value.value
                if isinstance(raw, tuple):
                    raw = [v.item() if isinstance(v, np.generic) else v for v in raw]
                elif isinstance(raw, np.generic):
                    raw = raw.item()
                value = {"kind": value.kind, "value": raw, "label": value.label}
            out[name] = value
        return out


_FIELD_ORDER = tuple(f.name for f in fields(ViewFields))
_FIELD_NAMES = frozenset(_FIELD_ORDER)
assert {name for name, v in vars(ViewState).items() if isinstance(v, _Field)} == _FIELD_NAMES


def view_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Persisted view fields from JSON (a workspace), checked; unknown keys are dropped and a
    malformed value raises ``ValueError`` naming the field. Older workspaces' keys still load."""
    out: dict[str, Any] = {}
    for name in PERSISTED:
        if name not in data:
            continue
        value = data[name]
        try:
            if name == "sort":
                value = (
                    None if value is None else Sort(str(value["key"]), bool(value["descending"]))
                )
            elif name == "filter":
                raw = value.get("value")
                if value["kind"] == "confusion" or value["kind"] == "samples":
                    raw = tuple(int(v) for v in raw)
                elif value["kind"] == "column":
                    key, wanted = raw
                    raw = (str(key), wanted)
                value = Filter(str(value["kind"]), raw, str(value.get("label", "")))
            elif name in ("selected", "preset_index", "top_k", "lesson_step"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("not a whole number")
            elif name in ("scale", "top_p"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError("not a number")
                value = float(value)
            elif name == "show_probabilities":
                value = bool(value)
            elif not isinstance(value, str):
                raise ValueError("not text")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"view field {name!r} is malformed ({exc})") from None
        out[name] = value
    _validate(replace(ViewFields(), **out))
    return out
