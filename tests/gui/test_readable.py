"""Readable from the back row (issue 22, items 15 and 16): every text the window draws reaches
4.5:1 against what it sits on and every outline 3:1, measured from the colours the items use, in
both themes; bar labels never cover a bar's top; the loss curve's legend never covers data."""

import re

import pyqtgraph as pg
import pytest
from lesson_opening import open_lesson
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from softmax_lab.core import formatting as fmt
from softmax_lab.core.contrast import MARK_RATIO, TEXT_RATIO, contrast, luminance, over
from softmax_lab.core.lessons import builtin_lessons
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column

NOTEBOOK = next(p for p in builtin_lessons() if p.stem == "notebook")


def test_contrast_matches_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#E69F00", "#ffffff") == pytest.approx(2.25, abs=0.01)  # as the issue measured
    assert contrast("#009E73", "#ffffff") == pytest.approx(3.42, abs=0.01)
    assert luminance("#fff") == pytest.approx(1.0)
    assert over("#000000", 0.5, "#ffffff") == "#808080"
    with pytest.raises(ValueError, match="colour"):
        luminance("orange")


@pytest.fixture(params=["light", "dark"])
def window(qtbot, request):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.controller.update_view(theme=request.param)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.mark_clean()


def name(colour) -> str:
    return QColor(colour).name()


def composite(brush, under: str) -> str:
    """What a (possibly translucent) brush looks like over ``under``."""
    if brush is None or brush.style() == Qt.BrushStyle.NoBrush:
        return under
    colour = brush.color()
    return over(colour.name(), colour.alphaF(), under)


def bar_rects(plot_item: pg.PlotItem) -> list[tuple[object, str]]:
    """(scene rect, fill colour) of every drawn bar of the bar charts in a plot."""
    out = []
    for item in plot_item.items:
        if not isinstance(item, pg.BarGraphItem) or not item.isVisible():
            continue
        opts = item.opts
        brushes = opts.get("brushes")
        if brushes is None or opts.get("x") is None or len(opts["x"]) == 0:
            continue
        for i, rect in enumerate(item._rectarray.instances()):
            brush = brushes[i]
            if brush.style() == Qt.BrushStyle.NoBrush:
                continue
            out.append((item.mapRectToScene(rect), brush.color().name()))
    return out


def bar_label_problems(window, plot_item, labels, where: str) -> list[str]:
    """Each shown bar label: readable on what it sits on, and never a halo over a bar."""
    background = window.controller.theme.background
    problems = []
    bars = bar_rects(plot_item)
    for item in labels.items:
        if not item.isVisible():
            continue
        rect = item.sceneBoundingRect()
        # The text's box less its padding (4 px): a halo's edge along a bar's side is no cover.
        text_box = rect.adjusted(4, 3, -4, -3)
        under = [
            fill
            for bar, fill in bars
            if (bar & text_box).height() > 0 and (bar & text_box).width() > 0
        ]
        has_halo = item.fill.style() != Qt.BrushStyle.NoBrush
        text = item.toPlainText().replace("\n", " ")
        if under and has_halo:
            problems.append(f"{where}: {text!r} covers its bar's top with a halo")
        inside = [fill for bar, fill in bars if bar.contains(text_box)]
        surfaces = inside or [*under, background]  # a text partly over a bar: on both
        for fill in surfaces:
            ratio = contrast(name(item.color), composite(item.fill, fill))
            if ratio < TEXT_RATIO:
                problems.append(f"{where}: {text!r} at {ratio:.2f}:1")
    return problems


def outline_problems(window, casing, where: str) -> list[str]:
    background = window.controller.theme.background
    out = []
    for pen in casing.outlines.opts.get("pens") or []:
        ratio = contrast(pen.color().name(), background)
        if ratio < MARK_RATIO:
            out.append(f"{where}: outline {pen.color().name()} at {ratio:.2f}:1")
    return out


@pytest.mark.parametrize("step", [2, 5, 9, 19])
def test_every_text_and_mark_reads_against_what_it_sits_on(qtbot, window, step):
    c = window.controller
    assert open_lesson(qtbot, c, NOTEBOOK, step=step - 1)
    QApplication.processEvents()
    problems: list[str] = []
    sample, gradient = window.sample_plot, window.gradient_plot
    problems += bar_label_problems(window, sample.logit_plot, sample.logit_labels, "logits")
    problems += bar_label_problems(
        window, sample.probability_plot, sample.probability_labels, "probabilities"
    )
    problems += bar_label_problems(window, gradient.getPlotItem(), gradient.labels, "gradient")
    problems += outline_problems(window, sample.logit_casing, "logits")
    problems += outline_problems(window, sample.probability_casing, "probabilities")
    problems += outline_problems(window, gradient.casing, "gradient")
    # The caption band: its title, text and "step N of 19" on its tint.
    band = window.caption
    tint = band.palette().color(QPalette.ColorRole.Window).name()
    for label in (band.title, band.text, band.counter):
        ink = label.palette().color(QPalette.ColorRole.WindowText).name()
        if contrast(ink, tint) < TEXT_RATIO:
            problems.append(f"caption {label.text()[:20]!r}: {contrast(ink, tint):.2f}:1")
    # The table's ✓/✗ column and the tinted class cells.
    model = window.table_model
    for row in range(model.rowCount()):
        cells = [model.index(row, model.column_of(Column.MARK))]
        cells += [model.index(row, k) for k in range(len(c.class_names))]
        for index in cells:
            ink = index.data(Qt.ItemDataRole.ForegroundRole)
            if ink is None:
                continue
            fill = index.data(Qt.ItemDataRole.BackgroundRole)
            under = fill.color().name() if fill is not None else c.theme.background
            ratio = contrast(ink.color().name(), under)
            if ratio < TEXT_RATIO:
                problems.append(f"table {index.data()!r}: {ratio:.2f}:1")
    # The Formula panel: every colour its HTML writes text in, on the panel and the highlight.
    window.side_tabs.setCurrentWidget(window.formula_panel)
    html = window.formula_panel._browser.toHtml()
    fills = set(re.findall(r"bgcolor=\"?(#[0-9a-fA-F]{6})", html)) | {c.theme.background}
    for kind, ink in set(re.findall(r"([a-z-]*)color:(#[0-9a-fA-F]{6})", html)):
        if kind.endswith("background-"):
            continue
        need = MARK_RATIO if kind.startswith("border") else TEXT_RATIO  # a rule is a mark
        for fill in fills:
            if contrast(ink, fill) < need:
                problems.append(f"formula {kind}{ink} on {fill}: {contrast(ink, fill):.2f}:1")
    assert problems == []
    c.lessons.close()


# --- item 16: the loss curve's legend ------------------------------------------------------------


def legend_problems(plot) -> list[str]:
    legend = plot.legend
    rect = legend.sceneBoundingRect()
    problems = []
    vb_rect = plot.getPlotItem().getViewBox().sceneBoundingRect()
    if not vb_rect.adjusted(-1, -1, 1, 1).contains(rect):
        problems.append("the legend leaves the plot")
    for _sample, label in legend.items:
        if not rect.adjusted(-1, -1, 1, 1).contains(label.sceneBoundingRect()):
            problems.append(f"{label.text!r} overflows the legend's frame")
    marker = plot.selected_marker
    for spot in marker.points():
        centre = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(spot.pos()))
        radius = spot.size() / 2
        if rect.adjusted(-radius, -radius, radius, radius).contains(centre):
            problems.append("the legend covers the selected sample")
    index, x, y = plot.dots()
    vb = plot.getPlotItem().getViewBox()
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if rect.contains(vb.mapViewToScene(QPointF(xi, yi))):
            problems.append(f"the legend covers the dot at ({xi:.2f}, {yi:.2f})")
    return problems


@pytest.mark.parametrize("step", [9, 16, 17])
def test_the_loss_curve_legend_covers_no_point_and_holds_its_text(qtbot, window, step):
    c = window.controller
    assert open_lesson(qtbot, c, NOTEBOOK, step=step - 1)
    QApplication.processEvents()
    problems = legend_problems(window.curve_plot)
    for row in range(c.row_count()):  # every sample selected in turn, as a click on its row
        window.table.selectRow(row)
        QApplication.processEvents()
        problems += [f"row {row}: {p}" for p in legend_problems(window.curve_plot)]
    assert problems == []
    c.lessons.close()


@pytest.mark.parametrize("step", [2, 5, 9, 19])
def test_on_stage_no_bar_label_covers_a_bar(qtbot, step):
    """On a 1280 x 800 projector the bars are narrow: a value that would sit over the next bar is
    left to the hover; a role label stays clear of the bars or reads inside its own."""
    w = MainWindow()
    qtbot.addWidget(w)
    w.stage.keep_size = True
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.controller.update_view(presentation=True)
    assert open_lesson(qtbot, w.controller, NOTEBOOK, step=step - 1)
    w.stage.fit_to_window()
    QApplication.processEvents()
    sample, gradient = w.sample_plot, w.gradient_plot
    problems = bar_label_problems(w, sample.logit_plot, sample.logit_labels, "logits")
    problems += bar_label_problems(
        w, sample.probability_plot, sample.probability_labels, "probabilities"
    )
    problems += cover_problems(sample.logit_plot, sample.logit_labels, "logits")
    problems += cover_problems(sample.probability_plot, sample.probability_labels, "probabilities")
    if gradient.isVisible():
        problems += bar_label_problems(w, gradient.getPlotItem(), gradient.labels, "gradient")
        problems += cover_problems(gradient.getPlotItem(), gradient.labels, "gradient")
    # The true class's value and role are on screen (they were left out: no room above).
    shown = " ".join(sample.probability_labels.texts())
    assert "true" in shown
    assert (
        fmt.number(w.controller.sample_views().a.probabilities[sample.shown_classes()].max())
        in shown
    )
    assert problems == []
    w.controller.update_view(presentation=False)
    w.document.mark_clean()


def cover_problems(plot_item, labels, where: str) -> list[str]:
    """A label is clear of every bar, or whole inside its own bar (no halo: see
    bar_label_problems); one that lies partly over a bar hides its end (the 0.7054 bar read 0.38
    high under a pale cap)."""
    problems = []
    bars = bar_rects(plot_item)
    for item in labels.items:
        if not item.isVisible():
            continue
        box = item.sceneBoundingRect()
        text_box = box.adjusted(4, 3, -4, -3)
        text = item.toPlainText().replace("\n", " ")
        has_halo = item.fill.style() != Qt.BrushStyle.NoBrush
        for bar, _fill in bars:
            overlap = bar & text_box
            if overlap.width() > 0 and overlap.height() > 0 and not bar.contains(text_box):
                problems.append(f"{where}: {text!r} lies across a bar's edge")
            halo = bar & box.adjusted(1, 1, -1, -1)
            if has_halo and halo.width() > 0 and halo.height() > 0:
                problems.append(f"{where}: {text!r}'s halo notches a bar")
    return problems


@pytest.mark.parametrize("size", [(1024, 640), (1366, 768)])
@pytest.mark.parametrize("step", [1, 10])
def test_bar_labels_never_cover_a_bar_end_at_small_sizes(qtbot, window, size, step):
    """Issue 22 item 16: at 1366 x 768 and 1024 x 640 the labels found no room above the bars
    and sat inside narrow bars over a pale halo. The y range leaves room for them (from the view
    box's height and the font), one line — the value — when two do not fit; each bar keeps its
    value."""
    c = window.controller
    window.resize(*size)
    assert open_lesson(qtbot, c, NOTEBOOK, step=step - 1)
    QApplication.processEvents()
    sample, gradient = window.sample_plot, window.gradient_plot
    charts = [
        (sample.logit_plot, sample.logit_labels, "logits"),
        (sample.probability_plot, sample.probability_labels, "probabilities"),
        (gradient.getPlotItem(), gradient.labels, "gradient"),
    ]
    problems = []
    for plot_item, labels, where in charts:
        problems += bar_label_problems(window, plot_item, labels, where)
        problems += cover_problems(plot_item, labels, where)
        shown = [item.toPlainText().split("\n")[0] for item in labels.items if item.isVisible()]
        values = [entry[2].split("\n")[0] for entry in labels._entries]
        assert shown == values, where  # three bars: every value is read on screen
    assert problems == []
    # The probability axis makes room above 1 but shows no tick past it.
    axis = sample.probability_plot.getAxis("left")
    top = sample.probability_plot.getViewBox().viewRange()[1][1]
    assert top > 1.0
    ticks = [v for _spacing, values in axis.tickValues(0.0, top, 200) for v in values]
    assert ticks
    assert max(ticks) <= 1.0
    c.lessons.close()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_on_stage_every_role_label_shows_through_the_lesson(qtbot, size):
    """Stepping the lesson with PgDn on stage (axes held between steps): the true and predicted
    classes' labels are on screen at every step — a held axis too tight for them fits again."""
    w = MainWindow()
    qtbot.addWidget(w)
    w.stage.keep_size = True
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    c = w.controller
    c.update_view(presentation=True)
    assert open_lesson(qtbot, c, NOTEBOOK, step=0)
    w.stage.fit_to_window()
    missing = []
    for step in range(1, 13):
        QApplication.processEvents()
        sample, gradient = w.sample_plot, w.gradient_plot
        charts = [("logits", sample.logit_labels), ("probabilities", sample.probability_labels)]
        if gradient.isVisible():
            charts.append(("gradient", gradient.labels))
        for where, labels in charts:
            for entry, item in zip(labels._entries, labels.items, strict=False):
                if entry[3] is not None and not item.isVisible():
                    missing.append(f"step {step} {where}: {entry[2]!r}")
        assert c.view.lesson_step == step - 1
        qtbot.keyClick(w, Qt.Key.Key_PageDown)
    assert missing == []
    c.lessons.close()
    c.update_view(presentation=False)
    w.document.mark_clean()
