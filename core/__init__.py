"""Softmax Lab's computation: torch-exact softmax and cross-entropy, loading, no Qt anywhere."""

from core.devices import DTYPES, available_devices, resolve_device, resolve_dtype
from core.evaluation import REDUCTIONS, Evaluation, Options, evaluate
from core.loaders import DataError, LoadedLogits, load_logits, save_logits, save_results_csv
from core.scratch import (
    ScratchResult,
    cross_entropy_onehot,
    one_hot,
    softmax_naive,
    softmax_stable,
)

__all__ = [
    "DTYPES",
    "REDUCTIONS",
    "DataError",
    "Evaluation",
    "LoadedLogits",
    "Options",
    "ScratchResult",
    "available_devices",
    "cross_entropy_onehot",
    "evaluate",
    "load_logits",
    "one_hot",
    "resolve_device",
    "resolve_dtype",
    "save_logits",
    "save_results_csv",
    "softmax_naive",
    "softmax_stable",
]
