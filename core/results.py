"""The per-sample results of an evaluation as named columns: what File › Export results writes,
what the table's copy commands and the Python API hand out."""

from __future__ import annotations

import numpy as np

from softmax_lab.core.evaluation import Evaluation


def results_columns(ev: Evaluation, class_names: list[str]) -> dict[str, np.ndarray]:
    """Label, prediction (index and name), correctness, loss, p(true), confidence, margin and
    entropy per sample, in that order. Ignored samples keep their label (the ignore index) and
    a loss of 0, as torch reports them; a row without a prediction (NaN logits) has no name."""
    names = np.asarray(class_names, dtype=object)
    finite_prediction = np.isfinite(ev.confidence)
    predicted_name = np.where(finite_prediction, names[ev.predictions], "")
    return {
        "label": ev.targets,
        "predicted": ev.predictions,
        "predicted_name": predicted_name,
        "correct": ev.correct,
        "loss": ev.losses,
        "p_true": ev.p_true,
        "confidence": ev.confidence,
        "margin": ev.margin,
        "entropy": ev.entropy,
    }
