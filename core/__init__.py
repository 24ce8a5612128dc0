"""Softmax Lab's computation: torch-exact softmax and cross-entropy, loading, no Qt anywhere.

Every public name is imported on first use, so ``from softmax_lab.core import RunWriter`` (or any
submodule) does not import torch; ``evaluate`` and the other computing names do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from softmax_lab.core.compare import Comparison, compare, evaluate_like
    from softmax_lab.core.constants import IGNORE_INDEX, REDUCTIONS
    from softmax_lab.core.devices import DTYPES, available_devices, resolve_device, resolve_dtype
    from softmax_lab.core.dynamics import TrainingDynamics, cartography_region, training_dynamics
    from softmax_lab.core.evaluating import evaluate
    from softmax_lab.core.evaluation import Evaluation, Options
    from softmax_lab.core.lessons import (
        Lesson,
        LessonError,
        LessonStep,
        builtin_lessons,
        load_lesson,
    )
    from softmax_lab.core.loaders import (
        DataError,
        LoadedLogits,
        load_labels,
        load_logits,
        load_vocabulary,
        save_logits,
        save_results_csv,
    )
    from softmax_lab.core.runs import Run, RunWriter, load_run
    from softmax_lab.core.scratch import (
        ScratchResult,
        cross_entropy_onehot,
        one_hot,
        softmax_naive,
        softmax_stable,
    )
    from softmax_lab.core.sequences import SequenceEvaluation, evaluate_sequences

_WHERE = {
    "Comparison": "compare",
    "DTYPES": "devices",
    "DataError": "loaders",
    "Evaluation": "evaluation",
    "IGNORE_INDEX": "constants",
    "Lesson": "lessons",
    "LessonError": "lessons",
    "LessonStep": "lessons",
    "LoadedLogits": "loaders",
    "Options": "evaluation",
    "REDUCTIONS": "constants",
    "Run": "runs",
    "RunWriter": "runs",
    "ScratchResult": "scratch",
    "SequenceEvaluation": "sequences",
    "TrainingDynamics": "dynamics",
    "available_devices": "devices",
    "builtin_lessons": "lessons",
    "cartography_region": "dynamics",
    "compare": "compare",
    "cross_entropy_onehot": "scratch",
    "evaluate": "evaluating",
    "evaluate_like": "compare",
    "evaluate_sequences": "sequences",
    "load_labels": "loaders",
    "load_lesson": "lessons",
    "load_logits": "loaders",
    "load_run": "runs",
    "load_vocabulary": "loaders",
    "one_hot": "scratch",
    "resolve_device": "devices",
    "resolve_dtype": "devices",
    "save_logits": "loaders",
    "save_results_csv": "loaders",
    "softmax_naive": "scratch",
    "softmax_stable": "scratch",
    "training_dynamics": "dynamics",
}

__all__ = [
    "DTYPES",
    "IGNORE_INDEX",
    "REDUCTIONS",
    "Comparison",
    "DataError",
    "Evaluation",
    "Lesson",
    "LessonError",
    "LessonStep",
    "LoadedLogits",
    "Options",
    "Run",
    "RunWriter",
    "ScratchResult",
    "SequenceEvaluation",
    "TrainingDynamics",
    "available_devices",
    "builtin_lessons",
    "cartography_region",
    "compare",
    "cross_entropy_onehot",
    "evaluate",
    "evaluate_like",
    "evaluate_sequences",
    "load_labels",
    "load_lesson",
    "load_logits",
    "load_run",
    "load_vocabulary",
    "one_hot",
    "resolve_device",
    "resolve_dtype",
    "save_logits",
    "save_results_csv",
    "softmax_naive",
    "softmax_stable",
    "training_dynamics",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'softmax_lab.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"softmax_lab.core.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_WHERE, *globals()])
