"""The options of a loss besides the data: temperature, smoothing, reduction, class weights,
ignore index, device, dtype and the kind of target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX, MAX_INDEX
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
        index = self.ignore_index
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ValueError(f"ignore_index must be a whole number, not {index!r:.40}")
        if not -MAX_INDEX <= int(index) <= MAX_INDEX:
            raise ValueError(f"ignore_index must be within ±{MAX_INDEX:,}, not {big_int(index)}")

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
