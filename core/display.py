"""What the plots draw, computed from an evaluation: which classes a bar chart shows, values that
cannot be drawn as they are, the binned outline of many losses, the loss curve and its dots, the
rows of a heatmap, and the words that name the selected sample.

The views only turn these numbers into pixels; every rule that decides what is drawn lives here,
with the numbers, and is tested without a display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from softmax_lab.core.constants import (
    HEATMAP_CLASSES,
    PLOT_TICK_PX,
    SCALE_RANGE,
    TABLE_CLASS_COLUMNS,
)
from softmax_lab.core.evaluation import Evaluation

MAX_BARS = 40
"""Above this many classes a bar chart shows only the TOP_K most relevant ones."""
TOP_K = 30
BAR_CURVE_LIMIT = 2000
"""Above this many samples the per-sample loss is drawn as an outline instead of bars."""
CURVE_BINS = 2048
"""Columns of that outline: the maximum loss of each run of samples (no screen has more)."""
POINT_LIMIT = 4000
"""Above this many points the loss curve draws one marker per screen cell and style."""
DRAW_LIMIT = 1e9
"""Finite values beyond this are drawn clamped like ±∞: Qt geometry and tick maths lose
precision (or overflow) long before float64 does."""
LOSS_CURVE_MIN_Y, LOSS_CURVE_MAX_Y = 5.0, 12.0
"""The loss curve's y axis spans at least [0, 5] and at most [0, 12]; losses above are drawn at
the top edge as "off-chart"."""
MIN_HEATMAP_ROW_PX = 1.0
"""A heatmap shows every row while each gets at least this many pixels."""
MIN_MARKER_ROW_PX = 6.0
"""True-label markers are drawn only where a row is at least this tall: below it they are noise."""


# --- bar charts ---------------------------------------------------------------------------------


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first; NaN ranks last, ties by lower index.

    A partition, not a full sort: a 256,000-class vocabulary costs one pass.
    """
    ranked = np.asarray(scores, dtype=np.float64)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    nan = np.isnan(ranked)
    if nan.any():  # else no copy of a vocabulary-wide row
        ranked = np.where(nan, -np.inf, ranked)
    n = ranked.size
    if n > k:
        candidates = np.argpartition(ranked, n - k)[n - k :]
        # Scores equal to the k-th may sit outside the partition; widen so ties break by index.
        kth = ranked[candidates].min()
        # Only the k lowest-index ties can win (ties go to the lower index): a row whose
        # scores are mostly equal (an ignored row's zero gradient over 128k classes) must not
        # drag every one of them through a set union.
        candidates = np.union1d(candidates, np.flatnonzero(ranked == kth)[:k])
    else:
        candidates = np.arange(n)
    order = np.lexsort((candidates, -ranked[candidates]))
    return candidates[order][:k].astype(np.int64)


def shown_classes(scores: np.ndarray) -> np.ndarray:
    """The classes a bar chart shows: all up to MAX_BARS, else the TOP_K by ``scores``."""
    n = np.asarray(scores).size
    if n <= MAX_BARS:
        return np.arange(n, dtype=np.int64)
    return top_k(np.asarray(scores, dtype=np.float64), TOP_K)


def drawable_heights(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bar heights that can be drawn, and a mask of the bars whose value could not be drawn as is.

    NaN becomes a zero-height bar; ±inf and values beyond DRAW_LIMIT are drawn a little beyond the
    finite data, so they read as "off the scale" without stretching the axis to infinity.
    """
    values = np.asarray(values, dtype=np.float64)
    drawable = np.isfinite(values) & (np.abs(values) <= DRAW_LIMIT)
    lo = min(0.0, float(values[drawable].min())) if drawable.any() else 0.0
    hi = max(0.0, float(values[drawable].max())) if drawable.any() else 0.0
    span = (hi - lo) or 1.0
    heights = np.where(drawable, values, 0.0)
    heights[~drawable & (values > 0)] = hi + 0.15 * span
    heights[~drawable & (values < 0)] = lo - 0.15 * span
    return heights, ~drawable


def loss_outline(heights: np.ndarray, bins: int = CURVE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(x edges, peaks): the maximum of each of ``bins`` runs of consecutive samples, for a step
    curve centred on sample indices. A 50,000-step path costs ~40 ms per edit to rebuild."""
    n = heights.size
    count = min(n, bins)
    bounds = np.linspace(0, n, count + 1).round().astype(np.int64)
    peaks = np.maximum.reduceat(np.asarray(heights, dtype=np.float64), bounds[:-1])
    return bounds.astype(np.float64) - 0.5, peaks


# --- the selected sample ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SampleView:
    """One sample as its plots show it."""

    index: int
    logits: np.ndarray
    """(C,) float64 raw logits."""
    probabilities: np.ndarray
    """(C,) float64 softmax(z / T)."""
    gradient: np.ndarray
    """(C,) float64 ∂loss/∂z (reduction-scaled, as autograd gives it)."""
    true_class: int | None
    """The label (or the most likely class of a probability target); None for ignored rows."""
    predicted: int | None
    """argmax; None when the row's logits give no prediction (NaN, all −∞)."""
    heading: str
    """"Sample 435 · label 7 · pred 1", for the plots' titles."""
    note: str | None
    """Why the gradient is zero or missing, in words; None when there is nothing to say."""


def sample_view(
    ev: Evaluation,
    logits: np.ndarray,
    class_names: list[str],
    row: int,
    *,
    has_labels: bool = True,
) -> SampleView:
    """Everything the selected-sample plots draw for ``row``, from one evaluation
    (``has_labels`` False: a table that came without labels, "no label" rather than "ignored")."""
    probabilities = np.asarray(ev.probabilities_of([row])[0], dtype=np.float64)
    gradient = np.asarray(ev.gradient_of([row])[0], dtype=np.float64)
    valid, finite = bool(ev.valid[row]), bool(ev.finite[row])
    true = int(ev.targets[row]) if valid else None
    # A row whose true class is masked (−∞) has an infinite loss but still a prediction.
    predicted = int(ev.predictions[row]) if np.isfinite(probabilities).all() else None

    def name(c: int | None) -> str:
        return "—" if c is None else class_names[c]

    if not has_labels:
        target = "no label"
    elif not valid:
        target = "ignored"
    elif ev.target_kind == "probability":
        target = f"target ≈ {name(true)}"
    else:
        target = f"label {name(true)}"
    heading = f"Sample {row} · {target} · pred {name(predicted)}"
    note = None
    if not has_labels:
        note = "no labels: no loss and no gradient (File › Open labels… attaches them)"
    elif not valid:
        note = f"ignored: label = ignore_index ({ev.options.ignore_index}), no loss and no gradient"
    elif not finite:
        note = "non-finite logits: loss and gradient are NaN"
    elif ev.options.reduction == "mean" and not ev.denominator:
        note = "the weights of the counted rows sum to 0: the mean is 0 / 0"
    return SampleView(
        index=int(row),
        logits=np.asarray(logits, dtype=np.float64).reshape(-1),
        probabilities=probabilities,
        gradient=gradient,
        true_class=true,
        predicted=predicted,
        heading=heading,
        note=note,
    )


# --- the loss curve -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LossCurve:
    """Every counted sample as a dot at (p(true), its loss), on a y axis [0, y_top]."""

    index: np.ndarray
    """(M,) the samples placed (counted rows whose p(true) is not NaN)."""
    x: np.ndarray
    """(M,) p(true) clipped to [0, 1]."""
    y: np.ndarray
    """(M,) the sample's loss — exactly ``ev.losses`` — clipped to y_top."""
    clamped: np.ndarray
    """(M,) bool: drawn at an edge because p is 0 or the loss is above y_top (or infinite)."""
    correct: np.ndarray
    """(M,) bool."""
    y_top: float
    on_reference: bool
    """Whether every dot lies on −log p: hard labels without smoothing or class weights."""
    reference_label: str
    """What the −log p curve is, in words, for the legend."""


def reference_curve() -> tuple[np.ndarray, np.ndarray]:
    """(p, −log p) dense near 0, where the curve is steep."""
    p = np.unique(np.concatenate([np.logspace(-6, -1, 200), np.linspace(0.1, 1.0, 200)]))
    return p, -np.log(p)


def loss_curve(ev: Evaluation, previous_top: float | None = None) -> LossCurve:
    """The dots of the loss curve. The y axis grows at once and shrinks only when the data is
    clearly smaller (below 70% of ``previous_top``), so live edits do not make it jump."""
    p = np.asarray(ev.p_true, dtype=np.float64)
    losses = np.asarray(ev.losses, dtype=np.float64)
    placed = ev.valid & ~np.isnan(p)
    index = np.flatnonzero(placed)
    px, y = p[index], losses[index]
    finite_y = y[np.isfinite(y)]
    top = max(LOSS_CURVE_MIN_Y, float(finite_y.max()) * 1.05) if finite_y.size else 5.0
    top = min(top, LOSS_CURVE_MAX_Y)
    if previous_top is not None and top <= previous_top and top >= 0.7 * previous_top:
        top = previous_top
    clamped = (px <= 0) | (px > 1) | ~np.isfinite(y) | (y > top)
    options = ev.options
    on_reference = (
        ev.target_kind == "index" and not options.label_smoothing and options.weight is None
    )
    if on_reference:
        label = "−log p(true)"
    else:
        # What −log p assumes that this loss does not: the legend says it in a few words.
        parts = [
            text
            for text, used in (
                ("ε = 0", bool(options.label_smoothing)),
                ("unweighted", options.weight is not None),
                ("one-hot", ev.target_kind == "probability"),
            )
            if used
        ]
        label = f"−log p ({', '.join(parts)})"  # short: the legend must fit a small plot
    return LossCurve(
        index=index.astype(np.int64),
        x=np.clip(px, 0.0, 1.0),
        y=np.clip(np.nan_to_num(y, nan=top, posinf=top, neginf=0.0), 0.0, top),
        clamped=clamped,
        correct=ev.correct[index],
        y_top=float(top),
        on_reference=bool(on_reference),
        reference_label=label,
    )


def sample_loss_curve(ev: Evaluation, row: int, p: np.ndarray) -> np.ndarray:
    """The loss ``row`` would have if its p(true) were each value of ``p``, the other classes
    keeping their proportions: −a_y log p − Σ_{j≠y} a_j log((1 − p) r_j), with ``a`` the weights
    the loss puts on each class (smoothing, class weights, soft targets) and r_j = p_j / (1 − p_y).

    It passes through the sample's own dot, and with smoothing it bottoms out before p = 1: the
    loss that smoothing teaches.
    """
    p = np.asarray(p, dtype=np.float64)
    if not ev.valid[row]:
        return np.full(p.shape, np.nan)
    a = ev.target_weights_of([row])[0]
    # In log space: p(true) near 1 leaves 1 − p with few correct digits in float32.
    log_p = np.asarray(ev.log_probabilities_of([row])[0], dtype=np.float64)
    y = int(ev.targets[row])
    log_rest = np.delete(log_p, y)
    a_rest = np.delete(a, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        finite = log_rest[np.isfinite(log_rest)]
        if finite.size:
            top = finite.max()
            log_total = top + np.log(np.exp(finite - top).sum())
            log_r = log_rest - log_total
        else:  # every other class masked: split 1 − p evenly, as a limit would
            log_r = np.full(log_rest.shape, -math.log(max(1, log_rest.size)))
        # 0 · log 0 = 0: a class the loss puts no weight on adds nothing, wherever it sits.
        other = float(np.where(a_rest > 0, a_rest * log_r, 0.0).sum())
        curve = -a[y] * np.log(p) - a_rest.sum() * np.log1p(-p) - other
    return curve


def thin_points(curve: LossCurve, columns: int = 800, rows: int = 400) -> np.ndarray:
    """Positions (into ``curve.index``) of the dots to draw: all up to POINT_LIMIT, else one per
    screen cell and style (50,000 per-point pens cost ~290 ms per edit). Hover and clicks still
    search every dot."""
    m = curve.index.size
    if m <= POINT_LIMIT:
        return np.arange(m)
    codes = np.where(curve.correct, 0, 1) + np.where(curve.clamped, 2, 0)
    cx = (curve.x * columns).astype(np.int64)
    cy = (np.minimum(curve.y / max(curve.y_top, 1e-9), 1.0) * rows).astype(np.int64)
    cells = (cx * (rows + 1) + cy) * 4 + codes
    # The first dot of each occupied cell. A table over the cells (1.3M entries at the default
    # grid) takes half the time of np.unique's sort of the dots, which ran on every edit.
    size = (columns + 1) * (rows + 1) * 4
    if cells.min(initial=0) < 0 or cells.max(initial=0) >= size:  # x outside [0, 1]: sort
        _, first = np.unique(cells, return_index=True)
        return np.sort(first)
    first = np.full(size, m, dtype=np.int64)
    np.minimum.at(first, cells, np.arange(m, dtype=np.int64))
    first = first[first < m]
    first.sort()
    return first


# --- the heatmap --------------------------------------------------------------------------------


def heatmap_rows(n_samples: int, pixels: float) -> np.ndarray | None:
    """Which samples a heatmap ``pixels`` tall shows: None (all of them) while each row gets at
    least MIN_HEATMAP_ROW_PX, else evenly spaced samples, one per pixel row."""
    capacity = max(1, int(pixels / MIN_HEATMAP_ROW_PX))
    if n_samples <= capacity:
        return None
    return np.unique(np.linspace(0, n_samples - 1, capacity).round().astype(np.int64))


def heatmap_columns(
    n_classes: int, targets: np.ndarray, valid: np.ndarray, predictions: np.ndarray
) -> np.ndarray | None:
    """Which classes a heatmap shows: None (all of them) up to HEATMAP_CLASSES, else the classes
    that are a counted target or the prediction of a shown row (for a language model: the
    tokens in play), ascending, at most HEATMAP_CLASSES (targets first when there are more).

    ``targets``, ``valid`` and ``predictions`` are those of the shown rows.
    """
    if n_classes <= HEATMAP_CLASSES:
        return None
    targets = np.asarray(targets, dtype=np.int64)
    wanted = np.unique(targets[np.asarray(valid, dtype=bool) & (targets >= 0)])
    predicted = np.setdiff1d(np.asarray(predictions, dtype=np.int64), wanted)
    wanted = np.concatenate([wanted, predicted])[:HEATMAP_CLASSES]
    wanted = wanted[(wanted >= 0) & (wanted < n_classes)]
    if not wanted.size:
        wanted = np.arange(min(n_classes, HEATMAP_CLASSES), dtype=np.int64)
    return np.sort(wanted)


def table_class_columns(n_classes: int) -> int:
    """How many per-class columns (logits, or target probabilities) the table shows: all of
    them up to TABLE_CLASS_COLUMNS, none beyond (the result and extra columns still show)."""
    return n_classes if n_classes <= TABLE_CLASS_COLUMNS else 0


def hidden_classes_note(n_classes: int) -> str:
    """What the table says when it shows no per-class columns ("" when it shows them all)."""
    if table_class_columns(n_classes) == n_classes:
        return ""
    return (
        f"{n_classes:,} classes: no logit columns (the table shows them up to "
        f"{TABLE_CLASS_COLUMNS:,}); the plots show each row's top {TOP_K}"
    )


def show_row_markers(n_rows: int, pixels: float) -> bool:
    """Whether a heatmap of ``n_rows`` rows, ``pixels`` tall, is roomy enough for markers."""
    return n_rows > 0 and pixels / n_rows >= MIN_MARKER_ROW_PX


def nice_stride(minimum: float) -> int:
    """The smallest of 1, 2, 3, 4, 5, 10, 20, 50, 100, ... that is at least ``minimum``: how
    many categories apart the labels of a crowded axis sit."""
    if not math.isfinite(minimum) or minimum <= 1:
        return 1
    if minimum <= 5:
        return math.ceil(minimum)
    magnitude = 10 ** math.floor(math.log10(minimum))
    for step in (1, 2, 5, 10):
        if step * magnitude >= minimum:
            return int(step * magnitude)
    return int(10 * magnitude)


SWEEP_STEPS = 60
"""Steps of the temperature animation from 0.1 to 10 (and as many back)."""


def temperature_sweep(step: int, steps: int = SWEEP_STEPS) -> float:
    """The temperature at ``step`` of the Play animation: 0.1 → 10 → 0.1 on a log scale, so each
    frame multiplies T by the same factor; rounded to 4 decimals (what the spin box shows)."""
    k = step % (2 * steps)
    fraction = k / steps if k <= steps else 2 - k / steps
    return round(10 ** (-1 + 2 * fraction), 4)


# --- layouts per screen ---------------------------------------------------------------------

DESK_TYPE_STEPS = ((2500, 1400, 1.5), (1900, 1000, 1.25))
"""(min width, min height, factor): at the desk, type grows on big screens so it stays ~9 px+
at arm's length; below the smallest step it is 1x."""


def desk_type_factor(width: int, height: int) -> float:
    """How much larger than 1x the desk layout's type is at this window size."""
    for min_w, min_h, factor in DESK_TYPE_STEPS:
        if width >= min_w and height >= min_h:
            return factor
    return 1.0


def presentation_scale(width: int, height: int) -> float:
    """The presentation scale that fits this screen: 1.5x at 1280 x 800 (2x was cramped there),
    growing with the smaller of the two ratios to 1280 x 800, in steps of 0.25, at most 3x."""
    ratio = min(width / 1280, height / 800)
    return float(min(SCALE_RANGE[1], max(1.25, round(1.5 * ratio * 4) / 4)))


class PlotId(IntEnum):
    """The window's plots by identity; their order is the window's and the Alt+1…5 keys'. An int
    (the view state's ``plot_focus`` and a workspace store it as one)."""

    SAMPLE = 0
    LOSS = 1
    GRADIENT = 2
    HEATMAP = 3
    CURVE = 4

    @property
    def title(self) -> str:
        return PLOT_TITLES[self]

    @property
    def needs_labels(self) -> bool:
        """The loss, the gradient and the loss curve need labels (a notice takes their place)."""
        return self in (PlotId.LOSS, PlotId.GRADIENT, PlotId.CURVE)


PLOT_TITLES = {
    PlotId.SAMPLE: "Selected sample",
    PlotId.LOSS: "Per-sample loss",
    PlotId.GRADIENT: "Gradient",
    PlotId.HEATMAP: "Probability heatmap",
    PlotId.CURVE: "Loss curve",
}

PRESENTATION_PLOTS = {
    "tiny": (PlotId.SAMPLE,),
    "small": (PlotId.SAMPLE, PlotId.LOSS),
    "large": (PlotId.SAMPLE, PlotId.LOSS, PlotId.GRADIENT),
}
"""Plots shown in presentation mode: the selected sample's logits → probabilities and the loss,
and on a big screen the gradient too. The others are one key away (Alt+1…5). A screen under
1024 x 640 at the scale it is shown at (Ctrl + on a small projector) shows one plot: the selected
sample's, or the one the lesson step is about."""


def presentation_plots(width: int, height: int, scale: float | None = None) -> tuple[PlotId, ...]:
    """The plots shown on a ``width`` x ``height`` stage. At a ``scale`` above the one that
    screen is laid out for (Ctrl + on stage), the type is larger: as many plots as fit a screen
    that much smaller (3x on 1920 x 1080 shows what 2x shows on 1280 x 720)."""
    if scale is not None and scale > 0:
        shrink = min(1.0, presentation_scale(width, height) / scale)
        width, height = round(width * shrink), round(height * shrink)
    if width < 1024 or height < 640:
        return PRESENTATION_PLOTS["tiny"]
    return PRESENTATION_PLOTS["large" if width >= 1800 and height >= 1000 else "small"]


PLOT_COLUMN_EMS = 16.0
"""On stage a plot column (a value axis and its view box) keeps at least this many ems of the
plots' tick type (PLOT_TICK_PX at the scale): the title's first word, the axis and two or three
class labels. (At 3x on 1920 x 1080 a lesson's table took 64 % of the width and crushed the
logits and probabilities to 90 px, titled "L…" and "P…".)"""
STAGE_TABLE_FLOOR = 0.2
"""The share of the stage's width the table keeps whatever the plots ask: below it, the plots
the step does not need give way (see ``fit_stage_plots``)."""
PLOT_ROW_EMS = 8.0
"""On stage a plot row below the selected sample's keeps at least this many ems of the tick type
in height (title, view box, axis labels): at 3x on 1920 x 1080 a lesson's three-line caption left
the loss row ~230 px, its ticks and "mean =" label stacked on one another."""
PLOT_ROWS: tuple[tuple[PlotId, ...], ...] = (
    (PlotId.SAMPLE,),
    (PlotId.LOSS, PlotId.GRADIENT),
    (PlotId.HEATMAP, PlotId.CURVE),
)
"""The window's plot rows, each plot side by side with the others of its row."""


def plot_columns(shown: set[PlotId] | frozenset[PlotId]) -> int:
    """How many plot columns the widest row of ``shown`` puts side by side: the selected
    sample's logits and probabilities are two."""
    widths = [
        sum(2 if plot is PlotId.SAMPLE else 1 for plot in row if plot in shown) for row in PLOT_ROWS
    ]
    return max(widths)


def stage_plots_width(shown: set[PlotId] | frozenset[PlotId], scale: float) -> int:
    """The least width (pixels) the ``shown`` plots keep on stage at ``scale``."""
    return math.ceil(plot_columns(shown) * PLOT_COLUMN_EMS * PLOT_TICK_PX * scale)


def fit_stage_plots(
    shown: set[PlotId],
    keep: set[PlotId],
    scale: float,
    width: int,
    height: int | None = None,
    sample_row: float = 1.0,
) -> set[PlotId]:
    """``shown`` less the plots that would leave the table under STAGE_TABLE_FLOOR of a
    ``width`` wide stage: the last ones not in ``keep`` (the step's plots) that narrow the
    widest row go first, never the last plot; and less the rows (not the step's) that would
    get under PLOT_ROW_EMS of a ``height`` tall plot column, the selected sample's row weighing
    ``sample_row`` times another. Rather fewer plots than all of them crushed."""
    shown = set(shown)
    if height is not None:
        # Too short for every row: the rows the step does not need give way, last first.
        while True:
            rows = [row for row in PLOT_ROWS if shown & set(row)]
            weights = sum(sample_row if PlotId.SAMPLE in row else 1.0 for row in rows)
            if len(rows) < 2 or height / weights >= PLOT_ROW_EMS * PLOT_TICK_PX * scale:
                break
            spare_rows = [row for row in rows if not shown & set(row) & keep]
            if not spare_rows:
                break
            shown -= set(spare_rows[-1])
    room = width - STAGE_TABLE_FLOOR * width
    while len(shown) > 1 and stage_plots_width(shown, scale) > room:
        needed = shown & keep
        least = plot_columns(needed) if needed else 1
        if least >= plot_columns(shown):
            break  # the step's own plots are as wide: dropping others would not help
        # The plot whose leaving narrows the rows most (the selected sample's two columns),
        # the last one of equals.
        spare = sorted(shown - keep, key=lambda p: (plot_columns(shown - {p}), -p))
        shown.discard(spare[0])
    return shown
