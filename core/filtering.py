"""The filter box's language: ``column == value`` keeps the samples whose extra column (metadata,
for instance) equals a value, anything else searches the text columns.

:func:`parse_filter` turns what was typed into a :class:`core.view_state.Filter` (``ValueError``
names what is wrong), :func:`filter_text` writes a filter back as the box shows it, and
:func:`filter_choices` lists the ``column == value`` choices worth offering (columns with few
distinct values). No Qt here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from softmax_lab.core.view_state import ALL, Filter

__all__ = ["CHOICE_VALUES", "filter_choices", "filter_text", "parse_filter"]

CHOICE_VALUES = 40
"""A column is offered as ``column == value`` choices when it has at most this many values."""

_EQUALS = re.compile(r"^\s*(?P<key>.+?)\s*==\s*(?P<value>.*?)\s*$", re.DOTALL)
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def _typed(key: str, text: str, column: np.ndarray) -> object:
    """``text`` as a value of ``column``'s type (quotes around text are optional)."""
    kind = column.dtype.kind
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if kind == "b":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{key} is true or false, not {text!r}")
    if kind in "iu":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{key} holds whole numbers, not {text!r}") from None
    if kind == "f":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{key} holds numbers, not {text!r}") from None
    return text


def _value_text(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value)) if abs(float(value)) < 1e15 else repr(float(value))
    return str(value)


def parse_filter(text: str, columns: Mapping[str, np.ndarray]) -> Filter:
    """What the filter box says: "" shows every sample, ``column == value`` the samples whose
    column equals the value, anything else the samples whose text contains it (ignoring case)."""
    text = str(text).strip()
    if not text:
        return ALL
    match = _EQUALS.match(text)
    if match is not None:
        key, value = match["key"], match["value"]
        if key not in columns:
            known = ", ".join(sorted(columns)) or "none"
            raise ValueError(f"no column named {key!r} (columns: {known})")
        if not value:
            raise ValueError(f"say which value of {key} to show, e.g. {key} == …")
        return Filter("column", (key, _typed(key, value, np.asarray(columns[key]))))
    if not any(np.asarray(c).dtype.kind in "UO" for c in columns.values()):
        raise ValueError("there is no text to search: type column == value (e.g. split == test)")
    return Filter("search", text)


def filter_text(filt: Filter) -> str:
    """The filter box's text for ``filt`` (empty for filters the box does not make)."""
    if filt.kind == "column":
        key, value = filt.value
        return f"{key} == {_value_text(value)}"
    if filt.kind == "search":
        return str(filt.value)
    return ""


def filter_choices(columns: Mapping[str, np.ndarray], limit: int = CHOICE_VALUES) -> list[str]:
    """``column == value`` for every value of each column with at most ``limit`` distinct values,
    in column order, values sorted (NaN and empty text left out)."""
    out: list[str] = []
    for key, values in columns.items():
        array = np.asarray(values)
        if array.dtype.kind not in "biufUO" or array.size == 0:
            continue
        if array.dtype.kind == "O":
            array = array.astype(str)
        if array.dtype.kind == "f":
            array = array[np.isfinite(array)]
        unique = np.unique(array)
        if array.dtype.kind in "U":
            unique = unique[unique != ""]
        if 0 < unique.size <= limit:
            out.extend(f"{key} == {_value_text(v.item())}" for v in unique)
    return out
