"""Softmax Lab's computation: torch-exact softmax and cross-entropy, loading, no Qt anywhere."""

from core.compare import Comparison, compare, evaluate_like
from core.constants import IGNORE_INDEX, REDUCTIONS
from core.devices import DTYPES, available_devices, resolve_device, resolve_dtype
from core.dynamics import TrainingDynamics, cartography_region, training_dynamics
from core.evaluation import Evaluation, Options, evaluate
from core.lessons import Lesson, LessonError, LessonStep, builtin_lessons, load_lesson
from core.loaders import (
    DataError,
    LoadedLogits,
    load_labels,
    load_logits,
    load_vocabulary,
    save_logits,
    save_results_csv,
)
from core.runs import Run, RunWriter, load_run
from core.scratch import (
    ScratchResult,
    cross_entropy_onehot,
    one_hot,
    softmax_naive,
    softmax_stable,
)
from core.sequences import SequenceEvaluation, evaluate_sequences

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
