"""What a teacher and a presenter see is live and true: the caption band follows the sweep and
every edit, no loss or probability reads "−0.0000", and the axes refit at a new step, preset,
file or scale while they hold still within an animation (issue 22, items 7, 11, 12)."""

import csv

import numpy as np
import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from softmax_lab.core import formatting as fmt
from softmax_lab.core import save_logits
from softmax_lab.core.lessons import builtin_lessons
from softmax_lab.core.presets import PRESETS
from softmax_lab.gui.plotkit import PlotTitle
from softmax_lab.gui.table_model import Column

NOTEBOOK = next(p for p in builtin_lessons() if p.stem == "notebook")


def preset_index(name: str) -> int:
    return next(i for i, p in enumerate(PRESETS) if p.name == name)


def type_temperature(qtbot, window, value: str) -> None:
    box = window.controls.temperature
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, value)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def band_numbers(window) -> str:
    return window.caption.text.text().replace("\u00a0", " ")  # each part wraps whole


# --- item 7: the caption band is live ------------------------------------------------------------


def test_the_caption_band_follows_the_temperature_sweep(qtbot, window):
    window.menu_actions.preset_actions[preset_index("Batch, bad predictions")].trigger()
    window.stage.keep_size = True
    window.menu_actions.presentation_action.trigger()
    assert "1.6242" in band_numbers(window)  # the example as written, while it is as loaded
    qtbot.keyClick(window, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    c = window.controller
    assert c.temperature.playing
    with qtbot.waitSignal(c.sigDataChanged, timeout=5000):
        pass
    with qtbot.waitSignal(c.sigDataChanged, timeout=5000):
        pass
    shown_loss = fmt.number(float(c.evaluation.loss))
    assert f"T = {fmt.short(c.document.settings.temperature)}" in band_numbers(window)
    assert f"mean loss {shown_loss}" in band_numbers(window)
    assert "1.6242" not in band_numbers(window)
    assert f"mean loss = {shown_loss}" in window.summary.text()  # the status bar agrees
    c.temperature.set_playing(False)  # (a second Ctrl+Space: issue 22 item 2, done elsewhere)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the sweep
    assert "1.6242" in band_numbers(window)  # back as loaded: the written sentence again
    window.menu_actions.presentation_action.trigger()


def test_a_lesson_caption_follows_an_edit(qtbot, window):
    c = window.controller
    assert open_lesson(qtbot, c, NOTEBOOK, step=13)  # step 14: T = 0.5, loss 0.1464
    assert "0.1464" in band_numbers(window)
    type_temperature(qtbot, window, "2")
    assert c.document.settings.temperature == 2.0
    assert "0.1464" not in band_numbers(window)
    assert "T = 2" in band_numbers(window)
    assert f"mean loss {fmt.number(float(c.evaluation.loss))}" in band_numbers(window)
    c.lessons.close()


# --- item 11: never a negative zero --------------------------------------------------------------


def test_a_certain_prediction_shows_a_loss_of_plain_zero_everywhere(qtbot, window, tmp_path):
    window.menu_actions.preset_actions[preset_index("Single sample, good")].trigger()
    type_temperature(qtbot, window, "0.01")
    c = window.controller
    assert c.document.settings.temperature == 0.01
    assert np.signbit(c.evaluation.losses).any()  # torch hands back −0.0 here
    model = window.table_model
    loss_cell = model.index(0, model.column_of(Column.LOSS)).data()
    assert loss_cell == "0.0000"
    shown = [loss_cell, window.summary.text(), c.results_text("markdown"), band_numbers(window)]
    for plot in window.plots():
        for item in plot.scene().items():
            if hasattr(item, "toPlainText"):
                shown.append(item.toPlainText())
    window.files.export_results(tmp_path / "results.csv")
    shown.append((tmp_path / "results.csv").read_text())
    text = "\n".join(shown)
    assert "−0.0" not in text
    assert "-0.0" not in text
    assert fmt.number(-0.0) == fmt.number(0.0) == "0.0000"
    assert fmt.short(-0.0) == "0"
    assert fmt.precise(-0.0) == "0"
    assert fmt.percent(-0.0) == fmt.percent(-1e-9) == "0.0%"


def test_the_results_csv_writes_no_negative_zero(tmp_path):
    from softmax_lab.core.loaders import save_results_csv

    path = tmp_path / "r.csv"
    save_results_csv(path, {"loss": np.array([-0.0, 1.5], dtype=np.float32)})
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[1][1] == "0.0"
    assert float(rows[2][1]) == 1.5


# --- item 12: axes refit at a new step, preset, file or scale -------------------------------------


def loss_top(window) -> float:
    return window.loss_plot.getPlotItem().getViewBox().viewRange()[1][1]


def stage_layout(window) -> list[float]:
    """What a presenter sees of the layout: which plots show, the table/plots split, the plot
    rows' heights and the loss plot's view box height (pixels)."""
    column = window.plot_rows[0].parentWidget()
    shown = [0.0 if plot.isHidden() else 1.0 for plot in window.plots()]
    vb = window.loss_plot.getPlotItem().getViewBox()
    return [*shown, *window.splitter.sizes(), *column.sizes(), float(vb.height())]


def plot_titles(window) -> list[tuple[str, str]]:
    """Every plot title's text and type size, as drawn."""
    out = []
    for plot in window.plots():
        scene = plot.scene() if hasattr(plot, "scene") else None
        for item in scene.items() if scene is not None else []:
            if isinstance(item, PlotTitle):
                out.append((item.text, str(item.opts.get("size"))))
    return sorted(out)


def test_the_loss_axis_refits_at_every_lesson_step(qtbot, window):
    c = window.controller
    assert open_lesson(qtbot, c, NOTEBOOK, step=5)  # step 6: loss 2.3026
    QApplication.processEvents()
    assert loss_top(window) > 2.3
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # step 7: loss 0.4170
    assert c.view.lesson_step == 6
    QApplication.processEvents()
    assert 0.417 < loss_top(window) < 1.5, loss_top(window)
    c.lessons.close()


def test_the_loss_axis_refits_at_a_preset_and_a_file(qtbot, window, tmp_path):
    c = window.controller
    window.menu_actions.preset_actions[preset_index("Batch, bad predictions")].trigger()
    c.set_holding(True)  # e.g. on stage or while something plays nothing refits ...
    c.set_holding(False)
    top_bad = loss_top(window)
    qtbot.keyClick(window, Qt.Key.Key_PageUp)  # "Batch, good predictions": losses ≤ 0.42
    assert loss_top(window) < 0.5 * top_bad
    open_lesson(qtbot, c, NOTEBOOK, step=5)  # step 6: loss 2.3026, the axis grows to it
    c.lessons.close()
    path = tmp_path / "certain.npz"
    save_logits(path, np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]]), np.array([0, 1]))
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(path)
    assert loss_top(window) < 0.5  # losses of 0.036: not on the step's 0–2.5 axis


def test_on_stage_the_loss_axis_refits_at_the_next_step(qtbot, window):
    c = window.controller
    window.stage.keep_size = True
    c.update_view(presentation=True)
    assert open_lesson(qtbot, c, NOTEBOOK, step=5)  # step 6: loss 2.3026
    QApplication.processEvents()
    assert loss_top(window) > 2.3
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # step 7: loss 0.4170
    QApplication.processEvents()
    assert 0.417 < loss_top(window) < 1.5, loss_top(window)
    c.lessons.close()
    c.update_view(presentation=False)


def test_axes_hold_within_the_sweep_and_refit_after_a_scale_change(qtbot, window):
    c = window.controller
    window.menu_actions.preset_actions[preset_index("Batch, bad predictions")].trigger()
    window.stage.keep_size = True
    c.update_view(presentation=True)
    QApplication.processEvents()
    window.fit_axes()
    before, scale = loss_top(window), c.view.scale
    layout, titles = stage_layout(window), plot_titles(window)
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert c.view.scale == 3.0
    # At 3x on 1280 x 800 the caption band keeps to its share of the height (its type shrinks):
    # it took half the window and left the plots a strip.
    assert window.caption.height() <= 0.3 * window.height() + 1
    assert window.caption.title_point_size() > 17.0 * scale  # still larger than before Ctrl +
    c.set_holding(True)  # within an animation the axis holds still
    c.set_options(temperature=0.5, merge_key="t")
    held = loss_top(window)
    c.set_options(temperature=1.0, merge_key="t")
    assert loss_top(window) == held
    c.set_holding(False)
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert c.view.scale == scale
    # Back at the first scale the stage is laid out as it was: the same plots, the same split,
    # the loss plot its full height (it kept half of it), so the refit axis is the same.
    assert stage_layout(window) == pytest.approx(layout, abs=2)
    assert plot_titles(window) == titles  # at their size (a 3x title stayed on two plots)
    assert window.caption.title_point_size() == pytest.approx(17.0 * scale)
    assert loss_top(window) == pytest.approx(before, rel=0.02)
    c.update_view(presentation=False)
