"""One theme for every widget: the window's parts restyle from the controller's one
``sigStyleChanged`` with the one theme, at the desk's type factor as much as on stage."""

import pytest
from PySide6.QtCore import Qt

from softmax_lab.core.constants import SCALE_RANGE, SCALES
from softmax_lab.core.display import presentation_scale
from softmax_lab.core.view_state import ViewState
from softmax_lab.gui import MainWindow
from softmax_lab.gui.caption import TEXT_PT


def desk_window(qtbot, width, height):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    return window


def point_sizes(window):
    """The body type of each part of the window, in points."""
    return {
        "table": window.table.font().pointSizeF(),
        "step bar": window.step_bar.label.font().pointSizeF(),
        "training panel": window.training_panel.mode_combo.font().pointSizeF(),
        "compare bar": window.compare_ui.bar.label.font().pointSizeF(),
        "caption": window.caption.text.font().pointSizeF() / TEXT_PT * 10,
    }


def test_at_a_big_desk_every_part_gets_the_plots_type_scale(qtbot):
    window = desk_window(qtbot, 1920, 1080)
    qtbot.waitUntil(lambda: window.table.font().pointSizeF() == 10 * 1.25)  # the desk's factor
    assert window.sample_plot._theme.scale == 1.25
    body = 10 * 1.25
    sizes = point_sizes(window)
    assert sizes["table"] == body
    assert sizes["step bar"] == body  # 10 pt before: the desk factor never reached it
    assert sizes["training panel"] == body
    assert sizes["compare bar"] == body
    assert sizes["caption"] == body
    assert window.theme.scale == 1.25  # one theme: the window's, the controller's, the plots'
    window.document.mark_clean()


def test_larger_at_a_big_desk_restyles_every_part_once(qtbot):
    window = desk_window(qtbot, 1920, 1080)
    qtbot.waitUntil(lambda: window.controller.view.desk_factor == 1.25)
    themes = []
    window.controller.sigStyleChanged.connect(themes.append)
    qtbot.keyClick(window.table, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert [t.scale for t in themes] == [1.25 * 1.25]  # View › Bigger: 1.25x, times the desk's
    assert set(point_sizes(window).values()) == {10 * 1.25 * 1.25}
    window.document.mark_clean()


def test_going_on_stage_restyles_once_at_the_stage_scale(qtbot):
    window = desk_window(qtbot, 1920, 1080)
    window.stage.keep_size = True
    qtbot.waitUntil(lambda: window.controller.view.desk_factor == 1.25)
    themes = []
    window.controller.sigStyleChanged.connect(themes.append)
    window.controller.update_view(presentation=True)
    scale = presentation_scale(window.width(), window.height())
    assert [t.scale for t in themes] == [scale]  # the desk factor is not applied on stage
    assert window.training_panel.mode_combo.font().pointSizeF() == 10 * scale
    window.controller.update_view(presentation=False)
    assert [t.scale for t in themes] == [scale, 1.25]
    window.document.mark_clean()


def test_scales_are_defined_once():
    assert (SCALES[0], SCALES[-1]) == SCALE_RANGE
    assert presentation_scale(10_000, 10_000) == SCALE_RANGE[1]
    with pytest.raises(ValueError, match="desk factor"):
        ViewState(desk_factor=SCALE_RANGE[1] + 1)
    assert ViewState(scale=2.0, desk_factor=1.5).type_scale == 3.0
    assert ViewState(scale=2.0, desk_factor=1.5, presentation=True).type_scale == 2.0


def test_the_theme_is_made_once_per_theme_and_scale(qtbot):
    """The table asks for the theme for every cell it paints: the controller hands the same one
    until the theme or the scale changes, and then the new one."""
    window = desk_window(qtbot, 1280, 800)
    c = window.controller
    light = c.theme
    assert c.theme is light
    c.update_view(theme="dark")
    dark = c.theme
    assert dark.name == "dark"
    assert c.theme is dark
    scale = c.view.scale
    c.update_view(scale=2 * scale)
    assert c.theme.scale == c.view.type_scale
    assert c.theme.scale != dark.scale
    assert c.theme.name == "dark"
    c.update_view(theme="light", scale=scale)
    assert c.theme == light
