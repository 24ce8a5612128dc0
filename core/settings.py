"""The options of a loss besides the data — temperature, smoothing, reduction, class weights,
ignore index, device, dtype and the kind of target — and :func:`check_settings`, the one place
their values are validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from softmax_lab.core.constants import (
    DTYPE_NAMES,
    IGNORE_INDEX,
    MAX_INDEX,
    REDUCTIONS,
    TARGET_MODES,
)
from softmax_lab.core.formatting import big_int


@dataclass(frozen=True)
class Settings:
    """Every option besides the data. ``weight`` is a tuple so that Settings stays hashable."""

    temperature: float = 1.0
    label_smoothing: float = 0.0
    reduction: str = "mean"
    weight: tuple[float, ...] | None = None
    ignore_index: int = IGNORE_INDEX
    device: str = "cpu"
    dtype: str = "float32"
    target_mode: str = "index"

    def __post_init__(self) -> None:
        # The one bound on ignore_index: a file or call giving 10^30 is refused here, not by an
        # OverflowError when the labels are compared with it.
        check_settings({"ignore_index": self.ignore_index})

    def evaluate_kwargs(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction,
            "weight": None if self.weight is None else np.asarray(self.weight),
            "ignore_index": self.ignore_index,
            "device": self.device,
            "dtype": self.dtype,
        }


def check_number(name: str, value: Any, *, low: float, high: float, low_open: bool) -> float:
    """``value`` as a float in ``(low, high]`` (``low_open``) or ``[low, high]``; else a
    ValueError naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, not {value!r}") from exc
    below = number <= low if low_open else number < low
    if not math.isfinite(number) or below or number > high:
        if math.isinf(high):
            bound = f"> {low:g}" if low_open else f">= {low:g}"
            raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return number


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _weight(value: Any, n_classes: int | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"class weights must be numbers, not {value!r}") from None
    if n_classes is not None and array.shape[0] != n_classes:
        raise ValueError(f"weight needs one value per class ({n_classes}), got {array.shape[0]}")
    if not (np.isfinite(array).all() and (array >= 0).all()):
        raise ValueError("class weights must be finite and >= 0")
    return tuple(float(w) for w in array)


def _index(name: str, value: Any) -> int:
    """A whole number within ±MAX_INDEX: a file or call giving 10^30 is refused here, not by an
    OverflowError when the labels are compared with it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r:.40}")
    if not -MAX_INDEX <= int(value) <= MAX_INDEX:
        raise ValueError(f"{name} must be within ±{MAX_INDEX:,}, not {big_int(int(value))}")
    return int(value)


def check_settings(changes: Mapping[str, Any], n_classes: int | None = None) -> dict[str, Any]:
    """``changes`` (option name → value) checked and normalised: the one place an option's value
    is validated — :func:`~core.evaluating.evaluate`, ``Document.set_settings``, lessons and
    workspaces all call it. ``n_classes`` checks the length of class weights. Raises
    ``ValueError`` naming the option."""
    unknown = set(changes) - {f.name for f in fields(Settings)}
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "temperature":
            out[name] = check_number(name, value, low=0, high=math.inf, low_open=True)
        elif name == "label_smoothing":
            out[name] = check_number(name, value, low=0, high=1, low_open=False)
        elif name == "reduction":
            out[name] = _choice(name, value, REDUCTIONS)
        elif name == "weight":
            out[name] = _weight(value, n_classes)
        elif name == "ignore_index":
            out[name] = _index(name, value)
        elif name == "dtype":
            out[name] = _choice(name, value, DTYPE_NAMES)
        elif name == "target_mode":
            out[name] = _choice("target mode", value, TARGET_MODES)
        elif name == "device":
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"device must be a name such as cpu or cuda:0, not {value!r}")
            out[name] = value
    return out
