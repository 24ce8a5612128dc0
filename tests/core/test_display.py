"""core.display: what the plots draw, tested against the evaluation it comes from."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core import evaluate
from softmax_lab.core.constants import IGNORE_INDEX, PLOT_TICK_PX
from softmax_lab.core.display import (
    DRAW_LIMIT,
    MAX_BARS,
    PLOT_COLUMN_EMS,
    PLOT_ROW_EMS,
    STAGE_TABLE_FLOOR,
    TOP_K,
    PlotId,
    drawable_heights,
    fit_stage_plots,
    heatmap_rows,
    loss_curve,
    loss_outline,
    nice_stride,
    sample_loss_curve,
    sample_view,
    show_row_markers,
    shown_classes,
    stage_plots_width,
    thin_points,
    top_k,
)


def test_top_k_breaks_ties_by_index_and_ranks_nan_last():
    scores = np.array([1.0, np.nan, 3.0, 3.0, 2.0])
    assert top_k(scores, 2).tolist() == [2, 3]
    assert top_k(scores, 5).tolist() == [2, 3, 4, 0, 1]
    wide = np.zeros(100)
    assert shown_classes(wide).tolist() == list(range(TOP_K))
    assert shown_classes(np.zeros(MAX_BARS)).size == MAX_BARS


def test_drawable_heights_clamp_what_cannot_be_drawn():
    heights, bad = drawable_heights(np.array([1.0, np.inf, -np.inf, np.nan, 2 * DRAW_LIMIT, -2]))
    assert bad.tolist() == [False, True, True, True, True, False]
    assert heights[1] > 1.0
    assert heights[2] < -2
    assert heights[3] == 0.0
    assert heights[4] > 1.0


def test_loss_outline_keeps_each_bins_maximum():
    values = np.arange(10.0)
    x, peaks = loss_outline(values, bins=5)
    assert x.tolist() == [-0.5, 1.5, 3.5, 5.5, 7.5, 9.5]
    assert peaks.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]


def test_sample_view_names_the_sample():
    ev = evaluate([[2.0, 1.0, 0.1], [0.1, 2.0, 0.5]], [0, IGNORE_INDEX])
    names = ["cat", "dog", "fox"]
    first = sample_view(ev, np.array([2.0, 1.0, 0.1]), names, 0)
    assert first.heading == "Sample 0 · label cat · pred cat"
    assert first.note is None
    np.testing.assert_allclose(first.probabilities, [0.6590, 0.2424, 0.0986], atol=1e-4)
    ignored = sample_view(ev, np.array([0.1, 2.0, 0.5]), names, 1)
    assert ignored.heading == "Sample 1 · ignored · pred dog"
    assert "ignore_index" in ignored.note
    assert ignored.true_class is None
    assert np.all(ignored.gradient == 0)
    nan = evaluate([[np.nan, 1.0]], [0])
    assert sample_view(nan, np.array([np.nan, 1.0]), ["a", "b"], 0).predicted is None


options = st.fixed_dictionaries(
    {
        "temperature": st.sampled_from([0.5, 1.0, 3.0]),
        "label_smoothing": st.sampled_from([0.0, 0.1, 0.4]),
        "weight": st.sampled_from([None, [1.0, 2.0, 0.5, 3.0]]),
        "reduction": st.sampled_from(["mean", "sum", "none"]),
    }
)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), options, st.booleans())
def test_dots_sit_at_each_samples_real_loss(seed, kwargs, soft):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(12, 4))
    if soft:
        target = rng.dirichlet(np.ones(4), size=12)
    else:
        target = rng.integers(0, 4, 12)
        target[3] = IGNORE_INDEX
    # float64: the curve is a function of p, and a float32 p near 1 leaves 1 − p few digits.
    ev = evaluate(logits, target, dtype="float64", **kwargs)
    curve = loss_curve(ev)
    losses = ev.losses[curve.index].astype(np.float64)
    inside = ~curve.clamped
    np.testing.assert_array_equal(curve.y[inside], losses[inside])
    np.testing.assert_array_equal(curve.x, np.clip(ev.p_true[curve.index], 0, 1))
    if not soft:
        assert 3 not in curve.index
    plain = not soft and not kwargs["label_smoothing"] and kwargs["weight"] is None
    assert curve.on_reference == plain
    if plain:
        np.testing.assert_allclose(curve.y[inside], -np.log(curve.x[inside]), rtol=1e-5, atol=1e-6)
    # The selected sample's own curve passes through its dot.
    for position in range(curve.index.size):
        row = int(curve.index[position])
        through = sample_loss_curve(ev, row, np.array([float(ev.p_true[row])]))[0]
        assert through == pytest.approx(float(ev.losses[row]), rel=1e-4, abs=1e-6)


def test_with_smoothing_the_samples_curve_bottoms_out_before_p_1():
    eps, c = 0.2, 4
    ev = evaluate([[3.0, 0.0, 0.5, -1.0]], [0], label_smoothing=eps)
    p = np.linspace(0.01, 0.999, 9999)
    curve = sample_loss_curve(ev, 0, p)
    assert p[np.argmin(curve)] == pytest.approx(1 - eps + eps / c, abs=2e-4)


def test_loss_curve_axis_grows_at_once_and_shrinks_only_when_clearly_smaller():
    ev = evaluate([[0.0, 9.0]], [0])  # loss ≈ 9
    assert loss_curve(ev).y_top == pytest.approx(9.0001 * 1.05, rel=1e-3)
    small = evaluate([[2.0, 0.0]], [0])
    assert loss_curve(small, previous_top=5.5).y_top == 5.5
    assert loss_curve(small, previous_top=12.0).y_top == 5.0
    huge = evaluate([[0.0, 100.0]], [0])
    curve = loss_curve(huge)
    assert curve.y_top == 12.0
    assert curve.clamped.all()


def test_thin_points_keep_one_dot_per_cell_and_style():
    rng = np.random.default_rng(0)
    ev = evaluate(rng.normal(size=(20_000, 3)), rng.integers(0, 3, 20_000))
    curve = loss_curve(ev)
    kept = thin_points(curve)
    assert 0 < kept.size < curve.index.size
    assert np.unique(kept).size == kept.size
    small = loss_curve(evaluate(rng.normal(size=(10, 3)), rng.integers(0, 3, 10)))
    assert thin_points(small).tolist() == list(range(10))


def test_heatmap_rows_and_markers():
    assert heatmap_rows(300, 400) is None
    rows = heatmap_rows(719, 400)
    assert rows.size <= 400
    assert rows[0] == 0
    assert rows[-1] == 718
    assert show_row_markers(16, 400)
    assert not show_row_markers(719, 400)


@pytest.mark.parametrize(
    ("minimum", "stride"), [(0.3, 1), (1.0, 1), (2.5, 3), (5.0, 5), (6, 10), (11, 20), (51, 100)]
)
def test_nice_stride(minimum, stride):
    assert nice_stride(minimum) == stride
    assert nice_stride(math.nan) == 1


def test_temperature_sweep_goes_from_0_1_to_10_and_back_in_equal_ratios():
    from softmax_lab.core.display import SWEEP_STEPS, temperature_sweep

    values = [temperature_sweep(k) for k in range(2 * SWEEP_STEPS + 1)]
    assert values[0] == 0.1
    assert values[SWEEP_STEPS] == 10.0
    assert values[-1] == 0.1
    ratios = np.diff(np.log(values[: SWEEP_STEPS + 1]))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-2)


def test_layout_rules_per_screen():
    from softmax_lab.core.display import desk_type_factor, presentation_plots, presentation_scale

    assert desk_type_factor(1024, 640) == 1.0
    assert desk_type_factor(1280, 800) == 1.0
    assert desk_type_factor(1920, 1080) == 1.25
    assert desk_type_factor(2560, 1440) == 1.5
    assert presentation_scale(1280, 800) == 1.5
    assert presentation_scale(1920, 1080) == 2.0
    assert presentation_scale(2560, 1440) == 2.75
    assert presentation_scale(800, 600) == 1.25
    assert presentation_scale(8000, 4000) == 3.0
    assert presentation_plots(1280, 800) == (0, 1)
    assert presentation_plots(1920, 1080) == (0, 1, 2)


@given(
    st.lists(
        st.one_of(st.floats(-3, 3), st.just(math.nan), st.sampled_from([0.0, 1.0, -math.inf])),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 45),
)
def test_top_k_is_the_head_of_a_stable_full_sort(values, k):
    """Largest first, ties by lower index, NaN last: what a stable sort of the whole row gives
    (top_k partitions instead, and copies the row only when it holds NaN)."""
    scores = np.array(values)
    key = np.where(np.isnan(scores), -np.inf, scores)
    expected = np.argsort(-key, kind="stable")[:k]
    np.testing.assert_array_equal(top_k(scores, min(k, scores.size)), expected)


def test_top_k_of_a_row_of_ties_takes_the_lowest_indices():
    from softmax_lab.core.display import top_k

    scores = np.zeros(200_000)
    scores[[5, 70_000]] = [3.0, 2.0]
    np.testing.assert_array_equal(top_k(scores, 4), [5, 70_000, 0, 1])
    np.testing.assert_array_equal(top_k(np.zeros(10), 3), [0, 1, 2])


def test_table_class_columns_stop_at_the_limit():
    from softmax_lab.core.constants import TABLE_CLASS_COLUMNS
    from softmax_lab.core.display import hidden_classes_note, table_class_columns

    assert table_class_columns(10) == 10
    assert table_class_columns(TABLE_CLASS_COLUMNS) == TABLE_CLASS_COLUMNS
    assert table_class_columns(TABLE_CLASS_COLUMNS + 1) == 0
    assert hidden_classes_note(10) == ""
    assert hidden_classes_note(128_256).startswith("128,256 classes: no logit columns")


def test_heatmap_columns_are_the_tokens_in_play_beyond_the_limit():
    from softmax_lab.core.constants import HEATMAP_CLASSES
    from softmax_lab.core.display import heatmap_columns

    targets = np.array([7, 3, -100, 3])
    valid = targets >= 0
    predictions = np.array([9, 3, 50_000, 1])
    assert heatmap_columns(HEATMAP_CLASSES, targets, valid, predictions) is None
    columns = heatmap_columns(128_256, targets, valid, predictions)
    np.testing.assert_array_equal(columns, [1, 3, 7, 9, 50_000])
    many = np.arange(5_000)
    capped = heatmap_columns(128_256, many, np.ones(5_000, bool), many[::-1])
    assert capped.size == HEATMAP_CLASSES
    np.testing.assert_array_equal(capped, np.arange(HEATMAP_CLASSES))  # targets first
    nothing = heatmap_columns(128_256, np.full(3, -100), np.zeros(3, bool), np.zeros(3, int))
    np.testing.assert_array_equal(nothing, [0])


def test_on_stage_the_plots_keep_a_width_that_grows_with_the_scale_and_their_columns():
    sample, loss, gradient = {PlotId.SAMPLE}, {PlotId.LOSS}, {PlotId.LOSS, PlotId.GRADIENT}
    assert stage_plots_width(loss, 2.0) * 2 == stage_plots_width(sample, 2.0)  # two columns
    assert stage_plots_width(gradient, 2.0) == stage_plots_width(sample, 2.0)
    assert stage_plots_width(sample | loss, 3.0) == stage_plots_width(sample, 3.0)
    assert stage_plots_width(sample, 3.0) == pytest.approx(1.5 * stage_plots_width(sample, 2.0), 1)
    assert stage_plots_width(loss, 1.0) >= PLOT_COLUMN_EMS * 10  # ems of a 10+ px type


def test_fewer_plots_rather_than_all_of_them_crushed():
    everything = {PlotId.SAMPLE, PlotId.LOSS, PlotId.GRADIENT}
    # Room enough: all stay.
    assert fit_stage_plots(everything, set(), 1.0, 4000) == everything
    # No room for two columns: the plots the step does not need go, the step's plot stays.
    narrow = round(stage_plots_width({PlotId.LOSS}, 3.0) / (1 - STAGE_TABLE_FLOOR)) + 1
    assert fit_stage_plots(everything, {PlotId.LOSS}, 3.0, narrow) == {PlotId.LOSS}
    assert fit_stage_plots({PlotId.LOSS, PlotId.GRADIENT}, set(), 3.0, narrow) == {PlotId.LOSS}
    # The step's own plot is two columns wide: dropping the others would not narrow anything.
    assert fit_stage_plots(everything, {PlotId.SAMPLE}, 3.0, 100) == everything
    # Never no plot at all.
    assert fit_stage_plots({PlotId.SAMPLE}, set(), 3.0, 10) == {PlotId.SAMPLE}
    assert fit_stage_plots({PlotId.SAMPLE, PlotId.LOSS}, set(), 3.0, narrow) == {PlotId.LOSS}


def test_on_a_short_stage_the_rows_the_step_does_not_need_give_way():
    shown = {PlotId.SAMPLE, PlotId.LOSS}
    em = PLOT_TICK_PX * 3.0
    tall = round(2.6 * PLOT_ROW_EMS * em) + 1  # the sample's row weighs 1.6, the loss row 1
    assert fit_stage_plots(shown, set(), 3.0, 4000, tall, 1.6) == shown
    short = tall - 10
    assert fit_stage_plots(shown, set(), 3.0, 4000, short, 1.6) == {PlotId.SAMPLE}
    assert fit_stage_plots(shown, {PlotId.LOSS}, 3.0, 4000, short, 1.6) == {PlotId.LOSS}
    both = {PlotId.SAMPLE, PlotId.LOSS}
    assert fit_stage_plots(shown, both, 3.0, 4000, short, 1.6) == both  # the step needs both
    assert fit_stage_plots(shown, set(), 3.0, 4000, None, 1.6) == shown  # no height known
