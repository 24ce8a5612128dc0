"""On stage and at first look: every layout keeps titles and annotations inside their plots and
apart, the result columns in view, the caption large; lessons put the notebook's figures on
screen; key states match approved images."""

import itertools
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionComboBox

from softmax_lab.core.constants import PLOT_TICK_PX
from softmax_lab.core.lessons import builtin_lessons, load_lesson, step_figures
from softmax_lab.core.presets import PRESETS
from softmax_lab.gui import MainWindow
from softmax_lab.gui.plotkit import PlotTitle
from softmax_lab.gui.table_model import Column

IMAGES = Path(__file__).resolve().parent / "images"
LAYOUTS = [
    ("presentation", 1280, 800),
    ("presentation", 1920, 1080),
    ("desk", 1024, 640),
    ("desk", 1280, 800),
    ("desk", 2560, 1440),
]


def open_window(qtbot, mode, width, height, theme="light"):
    window = MainWindow()
    qtbot.addWidget(window)
    window.stage.keep_size = True  # the offscreen screen is 800 x 800: render at this size
    window.resize(width, height)
    window.controller.update_view(theme=theme)
    window.show()
    qtbot.waitExposed(window)
    if mode == "presentation":
        window.controller.update_view(presentation=True)
    window.stage.fit_to_window()
    settle(window)
    return window


def settle(window):
    for _ in range(3):
        QApplication.processEvents()
    window.table.fit_columns()
    QApplication.processEvents()


def annotations(widget) -> list[tuple[str, QRectF, QRectF]]:
    """(text, scene rect of the text, scene rect it must stay inside) of every visible title,
    heading, bar label, mark, note and legend in a plot widget."""
    out = []
    for item in widget.scene().items():
        if not item.isVisible() or not item.isVisibleTo(None):
            continue
        if isinstance(item, pg.LabelItem) and item.text:
            owner = item.parentItem()
            bounds = owner.sceneBoundingRect() if owner is not None else item.sceneBoundingRect()
            out.append((item.text, item.item.sceneBoundingRect(), bounds))
        elif isinstance(item, pg.TextItem) and item.toPlainText():
            vb = item.getViewBox()
            bounds = vb.sceneBoundingRect() if vb is not None else widget.sceneRect()
            out.append((item.toPlainText(), item.sceneBoundingRect(), bounds))
    return out


def check_plot_layout(widget, problems: list[str], name: str) -> None:
    view_rect = widget.mapToScene(widget.viewport().rect()).boundingRect()
    for item in widget.scene().items():
        whole = item.sceneBoundingRect()
        if isinstance(item, pg.PlotItem) and not view_rect.adjusted(-1, -1, 1, 1).contains(whole):
            problems.append(f"{name}: a plot ({whole}) does not fit its widget ({view_rect})")
    found = annotations(widget)
    for text, rect, bounds in found:
        inner = bounds.adjusted(-2, -2, 2, 2) & view_rect.adjusted(-2, -2, 2, 2)
        if not inner.contains(rect):
            problems.append(f"{name}: {text!r} leaves its plot ({rect} not in {inner})")
    labels = [(t, r) for t, r, _ in found if not t.startswith("class ")]
    for (ta, ra), (tb, rb) in itertools.combinations(labels, 2):
        overlap = ra & rb
        if overlap.width() > 2 and overlap.height() > 2 and ra != rb:
            problems.append(f"{name}: {ta!r} overlaps {tb!r}")


@pytest.mark.parametrize(("mode", "width", "height"), LAYOUTS)
def test_every_layout_keeps_labels_inside_and_apart_and_results_in_view(qtbot, mode, width, height):
    window = open_window(qtbot, mode, width, height)
    assert (window.width(), window.height()) == (width, height)
    problems: list[str] = []
    shown = [p for p in window.plots() if p.isVisible()]
    assert shown, "no plot is shown"
    for plot in shown:
        check_plot_layout(plot, problems, type(plot).__name__)
    assert problems == []
    assert window.table.results_visible()
    model = window.table_model
    headers = [model.headerData(c, 1) for c in range(model.columnCount())]
    assert "loss" in headers
    if mode == "presentation":
        assert window.caption.isVisible()
        assert window.isFullScreen() is False  # keep_size: the screenshot size, not the screen's
        assert len(shown) in (2, 3)
    else:
        assert len(shown) == 5
    window.document.mark_clean()


def test_the_caption_reads_from_the_back_row(qtbot):
    desk = open_window(qtbot, "desk", 1920, 1080)
    desk_pt = desk.table.font().pointSizeF()
    assert desk_pt >= 12  # type grows on a big screen at the desk
    stage = open_window(qtbot, "presentation", 1920, 1080)
    assert stage.caption.title_point_size() >= 2 * desk_pt
    assert stage.caption.text.font().pointSizeF() >= 2 * desk_pt
    assert "Batch, good predictions" in stage.caption.caption_text()
    for window in (desk, stage):
        window.document.mark_clean()


def test_presentation_steps_examples_with_the_caption_following(qtbot):
    window = open_window(qtbot, "presentation", 1280, 800)
    before = window.caption.caption_text()
    window.controller.step_example(1)
    assert window.caption.caption_text() != before
    assert "Batch, bad predictions" in window.caption.caption_text()
    window.controller.update_view(presentation=False)
    assert not window.caption.isVisible()
    assert len([p for p in window.plots() if p.isVisible()]) == 5
    window.document.mark_clean()


def test_on_stage_a_file_is_captioned_with_its_name_and_numbers(qtbot, tmp_path):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=(40, 4)), rng.integers(0, 4, 40)
    path = tmp_path / "val_logits.npz"
    np.savez(path, logits=logits, labels=labels)
    window = open_window(qtbot, "presentation", 1280, 800)
    window.load_file(path)
    qtbot.waitUntil(lambda: window.document.n_samples == 40, timeout=10_000)
    text = window.caption.caption_text().replace("\u00a0", " ")  # parts wrap whole
    loss = F.cross_entropy(torch.tensor(logits, dtype=torch.float32), torch.tensor(labels))
    accuracy = (logits.argmax(1) == labels).sum()
    assert text.startswith("val_logits.npz\n40 samples × 4 classes")
    assert f"mean loss {float(loss):.4f}" in text
    assert f"({accuracy}/40)" in text
    window.controller.set_options(reduction="sum")
    assert "sum\u00a0loss" in window.caption.caption_text()  # it follows the numbers
    window.controller.step_example(1)  # back to the examples: the preset's own caption
    assert window.caption.caption_text().startswith(PRESETS[1].name)
    window.controller.undo()
    assert window.caption.caption_text().startswith("val_logits.npz")
    window.document.mark_clean()


def test_on_stage_the_side_panel_shows_for_the_steps_about_it(qtbot):
    """Starting a lesson on its Scratch step and then presenting (as `--lesson notebook --step 4
    --presentation` does) hid the panel the caption talks about."""
    window = open_window(qtbot, "desk", 1280, 800)
    c = window.controller
    path = next(p for p in builtin_lessons() if p.stem == "notebook")
    assert open_lesson(qtbot, c, path, 3)  # step 4: naive vs stable softmax, on the Scratch tab
    c.update_view(presentation=True)
    assert window.side_tabs.isVisible()
    assert c.view.side_tab == "scratch"
    c.step_example(1)  # step 5: the formula
    assert window.side_tabs.isVisible()
    for _ in range(3):  # step 8: back to the plots, which get the whole stage
        c.step_example(1)
    assert not window.side_tabs.isVisible()
    c.update_view(presentation=False)
    window.document.mark_clean()


def test_axes_hold_still_while_the_temperature_plays(qtbot):
    window = open_window(qtbot, "desk", 1280, 800)
    c = window.controller
    c.apply_preset(1)
    vb = window.loss_plot.getPlotItem().getViewBox()
    c.set_holding(True)
    c.set_options(temperature=0.2, merge_key="t")
    top_cold = vb.viewRange()[1][1]
    c.set_options(temperature=1.0, merge_key="t")
    assert vb.viewRange()[1][1] == top_cold  # smaller losses: the bars shrink, the axis stays
    c.set_holding(False)
    assert vb.viewRange()[1][1] < top_cold  # released: it fits again
    window.document.mark_clean()


def on_screen_text(window) -> str:
    """Everything a viewer can read: table cells, status line, side panel, plot labels."""
    model = window.table_model
    cells = [
        str(model.index(r, c).data() or "")
        for r in range(model.rowCount())
        for c in range(model.columnCount())
    ]
    side = window.side_tabs.currentWidget() if window.side_tabs.isVisible() else None
    panel = side.text() if hasattr(side, "text") else ""
    plots = []
    for plot in window.plots():
        if plot.isVisible():
            plots += [t for t, _, _ in annotations(plot)]
    return "\n".join([*cells, window.summary.text(), panel, *plots])


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_the_notebook_lesson_puts_every_figure_on_screen(qtbot, width, height):
    path = next(p for p in builtin_lessons() if p.stem == "notebook")
    lesson = load_lesson(path)
    window = open_window(qtbot, "desk", width, height)
    c = window.controller
    assert open_lesson(qtbot, c, path)
    assert window.caption.isVisible()
    for index, step in enumerate(lesson.steps):
        c.lessons.go(index)
        settle(window)
        assert f"step {index + 1} of {len(lesson.steps)}" in window.caption.caption_text()
        assert step.title in window.caption.caption_text()
        text = on_screen_text(window)
        figures = step_figures(step)
        for key in ("probabilities", "naive_softmax", "stable_softmax", "gradient", "losses"):
            if getattr(step.expect, key) is not None:
                for value in figures[key]:
                    assert value in text, f"step {index + 1}: {key} {value} not on screen"
        if step.expect.loss is not None:
            assert figures["loss"] in text, f"step {index + 1}: loss not on screen"
        if step.expect.predictions is not None:
            names = window.document.class_names
            column = window.table_model.column_of(Column.PREDICTION)
            shown = [window.table_model.index(r, column).data() for r in range(len(names))]
            expected = [names[i] for i in step.expect.predictions]
            assert shown[: len(expected)] == expected
        if step.highlight in ("softmax", "nll", "one_hot_sum", "reduction", "gradient"):
            assert window.formula_panel.highlighted_section() is not None
        problems = need_problems(window, step, f"step {index + 1}")
        assert problems == []
    # PgDn past the end stays on the last step; PgUp goes back; closing leaves lesson mode.
    c.step_example(1)
    assert c.view.lesson_step == len(lesson.steps) - 1
    c.step_example(-1)
    assert c.view.lesson_step == len(lesson.steps) - 2
    c.lessons.close()
    assert not window.caption.isVisible()
    window.document.mark_clean()


def test_a_damaged_lesson_changes_nothing(qtbot, tmp_path):
    window = open_window(qtbot, "desk", 1280, 800)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "softmax-lab-lesson", "version": 1, "title": "x", "steps": [')
    before = window.document.snapshot()
    with qtbot.waitSignal(window.controller.sigMessage) as blocker:
        assert not open_lesson(qtbot, window.controller, bad)
    assert "bad.json" in blocker.args[0]
    assert not window.controller.lessons.active
    np.testing.assert_array_equal(window.document.logits, before[0])
    window.document.mark_clean()


# --- approved images (pyqtgraph's image-test approach: compare with a tolerance) ------------


def rendered(window) -> np.ndarray:
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    small = image.scaled(image.width() // 4, image.height() // 4)
    width, height = small.width(), small.height()
    bits = np.frombuffer(small.constBits(), dtype=np.uint8).reshape(height, small.bytesPerLine())
    return bits[:, : width * 4].reshape(height, width, 4)[..., :3].astype(np.int16)


@pytest.mark.parametrize(
    ("name", "mode", "width", "height", "theme"),
    [
        ("desk-1280x800", "desk", 1280, 800, "light"),
        ("presentation-1280x800", "presentation", 1280, 800, "light"),
        ("desk-dark-1280x800", "desk", 1280, 800, "dark"),
    ],
)
def test_key_states_match_their_approved_images(qtbot, tmp_path, name, mode, width, height, theme):
    window = open_window(qtbot, mode, width, height, theme)
    actual = rendered(window)
    reference = IMAGES / f"{name}.png"
    if os.environ.get("SOFTMAX_LAB_APPROVE") or not reference.exists():
        IMAGES.mkdir(exist_ok=True)
        window.grab().toImage().scaled(width // 4, height // 4).save(str(reference))
        if not os.environ.get("SOFTMAX_LAB_APPROVE"):
            pytest.fail(f"no approved image yet: wrote {reference}; look at it and commit it")
    expected_image = QImage(str(reference)).convertToFormat(QImage.Format.Format_RGB32)
    h, w = expected_image.height(), expected_image.width()
    bits = np.frombuffer(expected_image.constBits(), dtype=np.uint8).reshape(
        h, expected_image.bytesPerLine()
    )
    expected = bits[:, : w * 4].reshape(h, w, 4)[..., :3].astype(np.int16)
    assert actual.shape == expected.shape
    diff = np.abs(actual - expected).max(axis=2)
    changed = float((diff > 48).mean())
    if changed > 0.02 or float(diff.mean()) > 4:
        window.grab().save(str(tmp_path / f"{name}-actual.png"))
        pytest.fail(
            f"{name}: {changed:.1%} of pixels differ (mean {diff.mean():.1f}); the rendered "
            f"window is in {tmp_path}; approve with SOFTMAX_LAB_APPROVE=1 if it is right"
        )
    window.document.mark_clean()


def need_problems(window, step, where: str) -> list[str]:
    """What the step says it needs on screen (``show`` and ``needs``) and is not there."""
    problems = []
    table, model = window.table, window.table_model
    plot_names = ("sample", "loss", "gradient", "heatmap", "loss_curve")
    for need in step.needed():
        if need in plot_names and not window.plots()[plot_names.index(need)].isVisible():
            problems.append(f"{where}: the {need} plot is hidden")
        elif need in ("formula", "scratch"):
            panel = window.formula_panel if need == "formula" else window.scratch_panel
            if not (window.side_tabs.isVisible() and window.side_tabs.currentWidget() is panel):
                problems.append(f"{where}: the {need} tab is not shown")
            elif need == "formula" and not panel.highlight_in_view():
                problems.append(f"{where}: the highlighted formula block is scrolled away")
        elif need in ("targets", "logits"):
            kinds = (Column.LABEL, Column.SOFT) if need == "targets" else (Column.CLASS,)
            for column in range(model.columnCount()):
                if model.column_kind(column)[0] in kinds and not table.column_in_view(column):
                    title = model.headerData(column, 1)
                    problems.append(f"{where}: the {need} column {title!r} is cut or away")
    return problems


def settle_stage(qtbot, window):
    """Settle, then wait for the stage to give the table its width (a debounced split)."""
    settle(window)
    window.stage.fit_to_window()
    settle(window)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_every_lesson_step_on_stage_keeps_labels_apart_and_results_in_view(qtbot, width, height):
    """Negative logits, one-sample batches, huge values: each step of the notebook lesson, on a
    projector, keeps every label inside its plot and off the others, the results in view, and
    what the step needs (its plot, the Formula tab's highlighted block, table columns) on screen;
    a lesson's small table shows every column."""
    path = next(p for p in builtin_lessons() if p.stem == "notebook")
    window = open_window(qtbot, "presentation", width, height)
    c = window.controller
    assert open_lesson(qtbot, c, path)
    problems: list[str] = []
    steps = load_lesson(path).steps
    for index in range(len(steps)):
        c.lessons.go(index)
        settle_stage(qtbot, window)
        for plot in (p for p in window.plots() if p.isVisible()):
            check_plot_layout(plot, problems, f"step {index + 1} {type(plot).__name__}")
        if not window.table.results_visible():
            problems.append(f"step {index + 1}: the result columns are scrolled away")
        problems += need_problems(window, steps[index], f"step {index + 1}")
        if steps[index].soft_targets is None and not window.table.all_columns_visible():
            problems.append(f"step {index + 1}: a 3 × 3 table does not show every column")
    assert problems == []
    c.lessons.close()
    window.document.mark_clean()


@pytest.mark.parametrize(("mode", "width", "height"), [LAYOUTS[0], LAYOUTS[2], LAYOUTS[3]])
def test_two_models_keep_labels_inside_and_apart(qtbot, mode, width, height):
    """Comparing two models doubles the bars and adds a header: still nothing cut or stacked."""
    window = open_window(qtbot, mode, width, height)
    logits = window.document.logits
    other = logits[:, ::-1].copy() + np.float32(0.5)
    assert window.controller.compare.attach(other, ("baseline", "fine-tuned"))
    settle(window)
    problems: list[str] = []
    for plot in (p for p in window.plots() if p.isVisible()):
        check_plot_layout(plot, problems, type(plot).__name__)
    assert problems == []
    assert window.table.results_visible()
    window.document.mark_clean()


def elided_boxes(window) -> list[str]:
    """The Show/Sort boxes and side tabs whose text does not fit (what a viewer sees cut)."""
    out = []
    for combo in (window.filter_combo, window.sort_combo):
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        if combo.fontMetrics().horizontalAdvance(combo.currentText()) > field.width():
            out.append(f"the {combo.currentText()!r} box")
    bar = window.side_tabs.tabBar()
    room = window.side_tabs.width()
    for i in range(bar.count()):
        rect = bar.tabRect(i)
        if rect.width() < bar.tabSizeHint(i).width() or rect.right() > room:
            out.append(f"the {bar.tabText(i)!r} tab")
    return out


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_on_stage_a_small_table_shows_every_column_and_nothing_is_elided(qtbot, width, height):
    window = open_window(qtbot, "presentation", width, height)
    c = window.controller
    window.menu_actions.preset_actions[1].trigger()  # a 3 × 3 batch
    settle(window)
    window.stage.fit_to_window()
    settle(window)
    assert window.table.all_columns_visible()
    assert elided_boxes(window) == []
    wide = np.random.default_rng(0).normal(size=(50, 12))
    c.replace_document(wide, np.zeros(50, dtype=int), [f"class {i}" for i in range(12)], text="w")
    settle(window)
    window.stage.fit_to_window()
    settle(window)
    assert not window.table.all_columns_visible()  # a wide table keeps the rule: results first
    assert window.table.results_visible()
    assert elided_boxes(window) == []
    c.update_view(presentation=False)
    assert "Scratch vs torch" in [window.side_tabs.tabText(i) for i in range(4)]
    window.document.mark_clean()


def layout_state(window) -> tuple:
    """What "the same layout" means: the splits, the column widths, the plots shown and their
    y ranges."""
    table, model = window.table, window.table_model
    ranges = []
    for plot in window.plots():
        if plot.isVisible() and hasattr(plot, "getPlotItem"):
            ranges.append(
                tuple(round(v, 2) for v in plot.getPlotItem().getViewBox().viewRange()[1])
            )
    return (
        tuple(window.splitter.sizes()),
        tuple(table.columnWidth(c) for c in range(model.columnCount())),
        tuple(i for i, plot in enumerate(window.plots()) if not plot.isHidden()),
        tuple(ranges),
    )


def tick_problems(window, where: str) -> list[str]:
    """A value axis that shows fewer than two tick labels has lost them."""
    out = []
    for plot in window.plots():
        if not plot.isVisible() or not hasattr(plot, "getPlotItem"):
            continue
        axis = plot.getPlotItem().getAxis("left")
        if not axis.isVisible() or axis.height() < 40:
            continue
        vb = plot.getPlotItem().getViewBox()
        lo, hi = vb.viewRange()[1]
        levels = axis.tickValues(lo, hi, axis.height())
        shown = {v for _spacing, values in levels for v in values if lo <= v <= hi}
        if len(shown) < 2:
            out.append(f"{where}: {type(plot).__name__} shows {len(shown)} tick label(s)")
    return out


@pytest.mark.parametrize(("width", "height", "top"), [(1280, 800, 2.5), (1920, 1080, 3.0)])
def test_every_stage_scale_is_laid_out_and_going_back_restores_it(qtbot, width, height, top):
    """Ctrl + from the stage's scale to ``top``: the window keeps its size, labels stay inside
    their plots and apart, results in view, tick labels kept; Ctrl − back: the very same layout.
    (3x on 1280 x 800 still overflows the loss plot's "mean =" label: not yet.)"""
    path = next(p for p in builtin_lessons() if p.stem == "notebook")
    window = open_window(qtbot, "presentation", width, height)
    c = window.controller
    assert open_lesson(qtbot, c, path, step=9)  # step 10: a 3 × 3 batch and the loss plot
    settle_stage(qtbot, window)
    before, start = layout_state(window), c.view.scale
    problems: list[str] = []
    presses = 0
    while c.view.scale < top:
        qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
        presses += 1
        settle_stage(qtbot, window)
        where = f"{c.view.scale}x"
        assert (window.width(), window.height()) == (width, height), where
        for plot in (p for p in window.plots() if p.isVisible()):
            check_plot_layout(plot, problems, f"{where} {type(plot).__name__}")
        problems += tick_problems(window, where)
        if not window.table.results_visible():
            problems.append(f"{where}: the results are scrolled away")
    assert problems == []
    for _ in range(presses):
        qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    settle_stage(qtbot, window)
    assert c.view.scale == start
    assert layout_state(window) == before
    c.lessons.close()
    window.document.mark_clean()


MIN_VIEW_EMS = 4.0
"""On stage every plot's view box keeps at least this many ems of the plots' tick type (before:
~2.8 at 3x on 1920 x 1080, step 5 — 94 px, titled "L…" and "P…"; 30 px at 2x on 1280 x 800)."""


def plot_widths(window) -> list[tuple[str, float, str]]:
    """(the plot's whole title, its view box's width, its title as drawn) of every shown plot."""
    out = []
    for plot in (p for p in window.plots() if p.isVisible() and hasattr(p, "scene")):
        for item in plot.scene().items():
            if isinstance(item, pg.PlotItem) and item.isVisible():
                label = item.titleLabel
                drawn = label.text if isinstance(label, PlotTitle) else ""
                whole = label.title if isinstance(label, PlotTitle) else ""
                out.append((whole, item.getViewBox().width(), drawn))
    return out


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_at_every_large_scale_the_plots_keep_a_readable_width(qtbot, width, height):
    """Ctrl + on stage to 2x, 2.5x, 3x at lesson steps 1, 5 (a table wide with its targets and
    the Formula tab) and 10: every shown plot keeps a view box of MIN_VIEW_EMS and a title
    that says more than one letter; the table scrolls instead."""
    path = next(p for p in builtin_lessons() if p.stem == "notebook")
    window = open_window(qtbot, "presentation", width, height, theme="dark")
    c = window.controller
    assert open_lesson(qtbot, c, path)
    problems: list[str] = []
    for step in (0, 4, 9):
        c.lessons.go(step)
        settle_stage(qtbot, window)
        for scale in (2.0, 2.5, 3.0):
            c.set_scale(scale)
            settle_stage(qtbot, window)
            where = f"step {step + 1} at {scale}x"
            least = MIN_VIEW_EMS * PLOT_TICK_PX * scale
            shown = plot_widths(window)
            assert shown, where
            for whole, box, drawn in shown:
                if box < least:
                    problems.append(f"{where}: {whole!r} is {box:.0f} px wide (< {least:.0f})")
                if whole and len(drawn.rstrip("…").strip()) < 2:
                    problems.append(f"{where}: {whole!r} is titled {drawn!r}")
    assert problems == []
    c.lessons.close()
    window.document.mark_clean()
