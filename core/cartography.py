"""What the window draws of a recorded run: the data map and one sample's trajectory.

* :func:`data_map` turns :class:`core.dynamics.TrainingDynamics` into the map's geometry: a point
  per sample at (variability, confidence), its correctness shade, its region and the lines that
  bound the regions (the same rule as :func:`core.dynamics.cartography_region`).
* :func:`samples_in_polygon` / :func:`samples_in_box`: the samples a lasso or a box on the map
  encloses, which the window turns into a table filter; :func:`dynamics_columns`: the table's
  columns of the dynamics.
* :func:`sample_trajectory`: one sample's p(true), loss, prediction and its top classes' logits
  at every step, read one row per step from the run's files and evaluated by
  :func:`core.evaluate` (so the current step's numbers are the table's).

No Qt here; the definitions of the statistics are ``core.dynamics``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.dynamics import (
    AMBIGUOUS_SHARE,
    CONFIDENCE_SPLIT,
    REGIONS,
    RunLike,
    TrainingDynamics,
    cartography_region,
)
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.formatting import plural
from softmax_lab.core.runs import Run
from softmax_lab.core.view_state import TableColumn

__all__ = [
    "SHADE_EDGES",
    "DataMap",
    "Trajectory",
    "data_map",
    "dynamics_columns",
    "sample_trajectory",
    "samples_in_box",
    "samples_in_polygon",
]

SHADE_EDGES = (0.2, 0.4, 0.6, 0.8)
"""Correctness is shown in five shades, as in the paper's figures: [0, 0.2), ..., [0.8, 1]."""
TRAJECTORY_CLASSES = 4
"""How many classes' logits a trajectory follows: the true class and the strongest others."""
_CHUNK_ELEMENTS = 1 << 20  # rows of a trajectory evaluated at once (steps x classes)


@dataclass(frozen=True, eq=False)
class DataMap:
    """The data map of a run's dynamics: (N,) arrays and the region boundaries."""

    variability: np.ndarray
    confidence: np.ndarray
    correctness: np.ndarray
    shade: np.ndarray
    """int8 in 0..4 by correctness (see SHADE_EDGES); -1 for samples not on the map."""
    regions: np.ndarray
    """Each sample's region name ("" off the map: ignored, or never finite)."""
    on_map: np.ndarray
    variability_split: float
    """Samples at or above it (with variability > 0) are "ambiguous"; inf when none is."""
    confidence_split: float
    counts: dict[str, int]
    n_steps: int
    temperature: float

    @property
    def n_samples(self) -> int:
        return len(self.confidence)

    def region_of(self, samples: Any) -> str:
        """The region every one of ``samples`` is in, or "" when they are in several."""
        names = set(self.regions[np.asarray(samples, dtype=np.int64)].tolist())
        return names.pop() if len(names) == 1 else ""


def data_map(
    dynamics: TrainingDynamics,
    *,
    ambiguous_share: float = AMBIGUOUS_SHARE,
    confidence_split: float = CONFIDENCE_SPLIT,
) -> DataMap:
    """The data map of ``dynamics`` (regions by :func:`core.dynamics.cartography_region`)."""
    conf = np.asarray(dynamics.confidence, dtype=np.float64)
    var = np.asarray(dynamics.variability, dtype=np.float64)
    regions = cartography_region(
        conf, var, ambiguous_share=ambiguous_share, confidence_split=confidence_split
    )
    on_map = regions != ""
    ambiguous = regions == "ambiguous"
    # The boundary drawn is the least variability that made a sample ambiguous.
    split = float(var[ambiguous].min()) if ambiguous.any() else float("inf")
    correctness = np.asarray(dynamics.correctness, dtype=np.float64)
    shade = np.where(
        on_map & np.isfinite(correctness), np.searchsorted(SHADE_EDGES, correctness, "right"), -1
    ).astype(np.int8)
    counts = {name: int((regions == name).sum()) for name in REGIONS}
    return DataMap(
        variability=var,
        confidence=conf,
        correctness=correctness,
        shade=shade,
        regions=regions,
        on_map=on_map,
        variability_split=split,
        confidence_split=float(confidence_split),
        counts=counts,
        n_steps=dynamics.n_steps,
        temperature=dynamics.temperature,
    )


def dynamics_columns(dynamics: TrainingDynamics, data_map: DataMap) -> list[TableColumn]:
    """The table columns of a run's dynamics: confidence, variability, correctness, forgetting,
    first learned (NaN, shown as —, where there is none) and the data-map region."""
    d = dynamics
    steps = plural(d.n_steps, "step")
    forgetting = np.where(d.valid, d.forgetting, np.nan).astype(np.float64)
    first = np.where(d.first_learned_index >= 0, d.first_learned, np.nan).astype(np.float64)
    return [
        TableColumn(
            "mean p(true)",
            "confidence",
            d.confidence,
            f"data-map confidence: mean p(true) over the run's {steps}",
        ),
        TableColumn("variability", "variability", d.variability, f"std of p(true) over {steps}"),
        TableColumn(
            "correctness",
            "correctness",
            d.correctness,
            f"share of the {steps} at which the prediction was the label",
        ),
        TableColumn(
            "forgetting",
            "forgetting",
            forgetting,
            "forgetting events: correct at one step, wrong at the next",
            "count",
        ),
        TableColumn(
            "first learned",
            "first learned",
            first,
            "the step from which the sample stays correct to the end (— never)",
            "count",
        ),
        TableColumn(
            "region", "region", data_map.regions, "the sample's region of the data map", "text"
        ),
    ]


def samples_in_polygon(x: Any, y: Any, polygon: Any) -> np.ndarray:
    """Indices of the points (x[i], y[i]) inside ``polygon`` ((K, 2) vertices, closed
    implicitly; the even-odd rule, so a lasso that crosses itself selects what a painter would
    fill). NaN points are never inside; fewer than 3 vertices enclose nothing."""
    px = np.asarray(x, dtype=np.float64)
    py = np.asarray(y, dtype=np.float64)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if px.shape != py.shape or px.ndim != 1:
        raise ValueError(f"x and y must be (N,) alike, got {px.shape} and {py.shape}")
    poly = poly[np.isfinite(poly).all(1)]
    inside = np.zeros(px.shape, dtype=bool)
    if len(poly) < 3:
        return np.flatnonzero(inside)
    # Only the points in the polygon's bounding box are tested edge by edge.
    lo, hi = poly.min(0), poly.max(0)
    cand = np.flatnonzero((px >= lo[0]) & (px <= hi[0]) & (py >= lo[1]) & (py <= hi[1]))
    cx, cy = px[cand], py[cand]
    hit = np.zeros(len(cand), dtype=bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
            crosses = (ay > cy) != (by > cy)
            at = ax + (cy - ay) * (bx - ax) / (by - ay)
            hit ^= crosses & (cx < at)
    inside[cand] = hit
    return np.flatnonzero(inside)


def samples_in_box(x: Any, y: Any, corner_a: Sequence[float], corner_b: Sequence[float]):
    """Indices of the points inside the axis-aligned box with these opposite corners (edges
    included)."""
    px = np.asarray(x, dtype=np.float64)
    py = np.asarray(y, dtype=np.float64)
    (xa, ya), (xb, yb) = corner_a, corner_b
    x_lo, x_hi = sorted((float(xa), float(xb)))
    y_lo, y_hi = sorted((float(ya), float(yb)))
    return np.flatnonzero((px >= x_lo) & (px <= x_hi) & (py >= y_lo) & (py <= y_hi))


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One sample across a run's steps: (S,) arrays, and (S, K) logits of K classes."""

    sample: int
    label: int
    """The label used (IGNORE_INDEX: no p(true), no loss)."""
    steps: np.ndarray
    p_true: np.ndarray
    loss: np.ndarray
    correct: np.ndarray
    predicted: np.ndarray
    finite: np.ndarray
    classes: np.ndarray
    """The K classes followed: the true class first, then the others by their highest
    probability at any step."""
    logits: np.ndarray
    temperature: float

    @property
    def n_steps(self) -> int:
        return len(self.steps)


def _read_row(run: RunLike, step: int, sample: int, out: np.ndarray) -> None:
    if isinstance(run, Run):
        run.read_rows(step, sample, out[None, :])  # one row, no map of the whole step
    else:
        out[:] = np.asarray(run.logits(step)[sample])


def sample_trajectory(
    run: RunLike,
    sample: int,
    *,
    steps: Sequence[int] | None = None,
    label: int | None = None,
    temperature: float = 1.0,
    classes: int = TRAJECTORY_CLASSES,
    **options: Any,
) -> Trajectory:
    """Sample ``sample`` at each of ``steps`` (default: all the run's steps).

    Its row of each step file is read (one small read per step: memory is a block of steps
    whatever the number of classes) and evaluated with :func:`core.evaluate` at
    ``temperature`` with ``options`` (``label_smoothing``, ``weight``, ``ignore_index``,
    ``dtype``): its p(true), loss and prediction are the table's when that step is shown.
    ``label`` overrides the run's label. Raises ``ValueError`` for a sample out of range or a
    run with no steps, and ``core.loaders.DataError`` for a step file that cannot be read.
    """
    step_list = [int(s) for s in (run.steps if steps is None else steps)]
    if not step_list:
        raise ValueError("the run has no steps")
    first = run.logits(step_list[0])
    n, c = int(first.shape[0]), int(first.shape[1])
    if not 0 <= int(sample) < n:
        raise ValueError(f"sample {sample} is out of range 0..{n - 1}")
    sample = int(sample)
    if label is None:
        labels = run.labels
        label = IGNORE_INDEX if labels is None else int(labels[sample])
    ignore = int(options.get("ignore_index", IGNORE_INDEX))
    valid = label != ignore and label != IGNORE_INDEX and 0 <= label < c
    target = label if valid else ignore
    dtype = np.float64 if first.dtype == np.float64 else np.float32
    s_total = len(step_list)
    p_true, loss = np.full(s_total, np.nan), np.full(s_total, np.nan)
    correct = np.zeros(s_total, dtype=bool)
    predicted = np.zeros(s_total, dtype=np.int64)
    finite = np.zeros(s_total, dtype=bool)
    strongest = np.full(c, -np.inf)  # each class's highest probability at any step
    chunk = max(1, _CHUNK_ELEMENTS // c)
    rows = np.empty((min(chunk, s_total), c), dtype=dtype)
    kept: np.ndarray | None = None
    for start in range(0, s_total, chunk):
        stop = min(s_total, start + chunk)
        block = rows[: stop - start]
        for i, step in enumerate(step_list[start:stop]):
            _read_row(run, step, sample, block[i])
        ev = evaluate(
            block,
            np.full(stop - start, target, dtype=np.int64),
            temperature=temperature,
            ignore_index=ignore,
            **options,
        )
        if valid:
            p_true[start:stop] = ev.p_true
            loss[start:stop] = ev.losses
            correct[start:stop] = ev.correct & ev.finite
        predicted[start:stop] = ev.predictions
        finite[start:stop] = ev.finite
        strongest = np.fmax(strongest, np.fmax.reduce(ev.probabilities, axis=0))  # NaN-blind
        if s_total <= chunk:
            kept = block
    order = np.argsort(-strongest, kind="stable")
    if valid:
        order = np.concatenate([[target], order[order != target]])
    chosen = order[: max(1, min(int(classes), c))].astype(np.int64)
    if kept is None:  # more steps than one block holds: read the chosen columns again
        kept = np.empty((s_total, len(chosen)), dtype=dtype)
        row = np.empty(c, dtype=dtype)
        for i, step in enumerate(step_list):
            _read_row(run, step, sample, row)
            kept[i] = row[chosen]
        logits = kept.astype(np.float64)
    else:
        logits = kept[:, chosen].astype(np.float64)
    return Trajectory(
        sample=sample,
        label=label if valid else IGNORE_INDEX,
        steps=np.asarray(step_list, dtype=np.int64),
        p_true=p_true,
        loss=loss,
        correct=correct,
        predicted=predicted,
        finite=finite,
        classes=chosen,
        logits=logits,
        temperature=float(temperature),
    )
