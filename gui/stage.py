"""The window's layouts per use: at the desk (type that grows on big screens) and on stage
(presentation mode: full screen at a scale chosen to fit, the plots that fit at a readable size,
a caption band that reads from the back row). Layout only: what to show and how large; the rules
themselves are numbers in ``core.display``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

from softmax_lab.core.display import (
    STAGE_TABLE_FLOOR,
    PlotId,
    desk_type_factor,
    fit_stage_plots,
    presentation_plots,
    presentation_scale,
    stage_plots_width,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from softmax_lab.gui.caption import CaptionBand
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.explain import FormulaPanel
    from softmax_lab.gui.table_view import LogitsTableView

DESK_SPLIT = 0.42  # the table's share of the width at the desk
STAGE_SPLIT = 0.36  # and on stage, where the plots matter most
STAGE_TABLE_MAX = 0.6
"""On stage a table that fits in this share of the width (a lesson's 3 x 3) gets the width to show
every column; a wider one keeps STAGE_SPLIT and shows its results first, with up to
STAGE_RESULTS_MAX of the width for them (and the columns a lesson step needs) — in both cases
only as far as the plots keep their least width (``core.display.stage_plots_width``: at 3x the
table scrolls rather than crush the plots)."""
STAGE_RESULTS_MAX = 0.7
CAPTION_SHARE = 0.3
"""On stage the caption band takes at most this share of the window's height (its type shrinks
to fit: at 3x on 1280 x 800 it took half and left the plots a strip)."""
STAGE_SAMPLE_ROW = 1.6  # on stage, the selected sample's row height over another row's


class Stage(QObject):
    """Presentation mode, plot visibility, the caption band, and the desk's type factor (which
    it measures; the view state holds it)."""

    def __init__(
        self,
        controller: Controller,
        window: QMainWindow,
        splitter: QSplitter,
        table: LogitsTableView,
        plots: Mapping[PlotId, QWidget],
        plot_rows: Sequence[QSplitter],
        caption: CaptionBand,
        formula_panel: FormulaPanel,
    ) -> None:
        """``window`` goes full screen on stage; ``splitter`` shares the width between the
        table and the tabs; ``plot_rows`` hold the ``plots``; ``caption`` and ``formula_panel``
        show the lesson's step."""
        super().__init__(window)
        self._w = window
        self._c = controller
        self._splitter, self._table, self._caption = splitter, table, caption
        self._plots, self._plot_rows, self._formula = plots, plot_rows, formula_panel
        self._notice: QWidget | None = None
        self._shown: frozenset[int] | None = None
        self._desk: tuple[float, list[int], bool] | None = None
        self.keep_size = False
        """True for ``--screenshot``: presentation mode renders at the window's size instead of
        going full screen, so a 1920 x 1080 request gives a 1920 x 1080 slide."""
        self._resize_timer = QTimer(self, singleShot=True, interval=120)
        self._resize_timer.timeout.connect(self.fit_to_window)
        self._c.lessons.sigChanged.connect(self.render_caption)
        # Columns widen as numbers change: on stage the split follows (debounced).
        table.horizontalHeader().sectionResized.connect(self._columns_resized)

    # --- type size ------------------------------------------------------------------------------

    @property
    def presenting(self) -> bool:
        return bool(self._c.view.presentation)

    def window_resized(self) -> None:
        self._resize_timer.start()

    def fit_to_window(self) -> None:
        """At the desk, type grows with the window (1.25x at 1920 x 1080, 1.5x at 2560 x 1440);
        the table keeps its share of the width. The factor goes into the view state, and the
        controller's one theme (``sigStyleChanged``) restyles every widget with it."""
        w = self._w
        if not self.presenting:
            self._c.update_view(desk_factor=desk_type_factor(w.width(), w.height()))
            total = sum(self._splitter.sizes()) or w.width()
            if w.width() >= 1800:
                self._splitter.setSizes(
                    [round(DESK_SPLIT * total), round((1 - DESK_SPLIT) * total)]
                )
        else:
            self.split_stage()
        self._caption.set_max_height(round(CAPTION_SHARE * w.height()) if self.presenting else None)
        self.apply_plot_visibility()

    def rescaled(self) -> None:
        """A new scale (Ctrl +/−): on stage, the plots that fit, the split and the rows' heights
        for it now, as going on stage at that scale would lay them out — before the axes refit,
        which measures the plots. (The debounced fit came after that refit, and the rows'
        heights were shared while the new type's sizes were still pending: back at 1.5x after
        3x the loss plot kept half its height.)"""
        if not self.presenting:
            return
        self._resize_timer.stop()
        self._table.fit_now()  # the split follows the columns' widths at the new type size
        self.fit_to_window()
        # Hidden rows came back and the type changed size: settle the layouts, then share
        # (and show the rows that fit the plots' height at the new caption's size).
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        self.apply_plot_visibility()
        self._share_height()

    def _columns_resized(self, *_args: object) -> None:
        if self.presenting:
            self._resize_timer.start()

    def split_stage(self) -> None:
        """On stage: the table's share of the width — all of its columns when they fit in
        STAGE_TABLE_MAX of it, else STAGE_SPLIT (results first, see TableView.arrange_columns) —
        less whatever the shown plots need to stay readable at this scale."""
        splitter, table = self._splitter, self._table
        total = sum(splitter.sizes()) or self._w.width()
        left = round(STAGE_SPLIT * total)
        needed, most = table.full_width(), STAGE_TABLE_MAX
        if needed > most * total:
            needed, most = table.front_width(), STAGE_RESULTS_MAX  # results, needed columns
        if left < needed <= most * total:
            left = needed
        plots = stage_plots_width(self._plots_shown(), self._c.view.scale)
        left = max(round(STAGE_TABLE_FLOOR * total), min(left, total - plots))
        if splitter.sizes() and abs(splitter.sizes()[0] - left) > 1:
            splitter.setSizes([left, total - left])

    # --- presentation ---------------------------------------------------------------------------

    def present(self, on: bool) -> None:
        """Full screen at a scale that fits, side panel hidden, caption shown — or the desk."""
        w, c = self._w, self._c
        if on:
            self._desk = (c.view.scale, self._splitter.sizes(), bool(c.view.side_panel))
            width, height = self._stage_size()
            side = c.lessons.wants_side_panel()  # a step about the Formula or Scratch tab
            c.update_view(side_panel=side, scale=presentation_scale(width, height))
            self._table.pages_rows = False  # a presenter's clicker sends PgDn: the next example
            if not self.keep_size:
                w.showFullScreen()
            total = sum(self._splitter.sizes()) or w.width()
            self._splitter.setSizes([round(STAGE_SPLIT * total), round((1 - STAGE_SPLIT) * total)])
            self._table.fit_columns()
            self.split_stage()
        else:
            scale, sizes, side = self._desk or (1.0, [], True)
            c.update_view(side_panel=side, scale=scale)
            self._table.pages_rows = True
            if w.isFullScreen():
                w.showNormal()
            if sizes:
                self._splitter.setSizes(sizes)
        self._caption.set_max_height(round(CAPTION_SHARE * w.height()) if on else None)
        self.apply_plot_visibility()
        self.render_caption()

    def _stage_size(self) -> tuple[int, int]:
        w = self._w
        screen = w.screen()
        if self.keep_size or screen is None:
            return w.width(), w.height()
        size = screen.size()
        return size.width(), size.height()

    def set_notice(self, notice: QWidget) -> None:
        """The notice that takes the labelled plots' place when the table has no labels."""
        self._notice = notice
        self.apply_plot_visibility()

    def _plots_shown(self) -> set[PlotId]:
        """The plots to show: one alone (Alt+1…5); on stage those that fit the screen at its
        scale, the step's own among them and the others giving way where they would leave the
        plots too narrow; at the desk all."""
        view = self._c.view
        shown: set[PlotId]
        if view.plot_focus is not None:
            shown = {PlotId(view.plot_focus)}
        elif self.presenting:
            width, height = self._stage_size()
            shown = set(presentation_plots(width, height, view.scale))
            focused = self._c.lessons.focused_plot()
            needs = self._c.lessons.needed_plots()
            if focused is not None and focused not in shown:
                # Only the plots that fit: on a small screen the step's plot takes the place of
                # the last one rather than squeezing the sample's bars to a strip.
                if len(shown) < 3:
                    shown.discard(max(shown))
                shown.add(focused)
            for needed in sorted(needs - shown):
                spare = sorted(shown - needs - {focused})
                if len(shown) >= 3 and spare:
                    shown.discard(spare[-1])  # a plot the step does not need gives way
                shown.add(needed)
            keep = set(needs) | ({focused} if focused is not None else set())
            total = sum(self._splitter.sizes()) or width
            column = self._plot_rows[0].parentWidget()
            tall = column.height() if column is not None and column.isVisible() else None
            shown = fit_stage_plots(shown, keep, view.scale, total, tall, STAGE_SAMPLE_ROW)
        else:
            shown = set(PlotId)
        return shown

    def apply_plot_visibility(self) -> None:
        """One plot alone (Alt+1…5), or on stage the plots that fit (the lesson step's plot
        always among them), or every plot at the desk."""
        shown = self._plots_shown()
        labelled = {plot for plot in shown if plot.needs_labels}
        if not self._c.document.has_labels:
            # Without labels the loss, the gradient and the loss curve give way to one notice.
            shown -= labelled
        if self._notice is not None:
            self._notice.setVisible(bool(labelled) and not self._c.document.has_labels)
        for plot_id in PlotId:
            self._plots[plot_id].setHidden(plot_id not in shown)
        for row in self._plot_rows:
            cells = (row.widget(k) for k in range(row.count()))
            row.setHidden(all(cell is None or cell.isHidden() for cell in cells))
        key = frozenset(shown)
        if key != self._shown:
            self._shown = key
            if self.presenting:
                self.split_stage()  # two plot columns need more width than one
            self._share_height()

    def _share_height(self) -> None:
        """Give the shown rows their heights: the selected sample's bars (two plots above one
        another's labels) a larger share than a one-plot row."""
        rows = self._plot_rows
        column = rows[0].parentWidget()
        if not isinstance(column, QSplitter):
            return
        total = sum(column.sizes()) or column.height()
        first = STAGE_SAMPLE_ROW if self.presenting else 1.0
        weights = [
            0.0 if row.isHidden() else (first if i == 0 else 1.0) for i, row in enumerate(rows)
        ]
        if sum(weights) > 0 and total > 0:
            column.setSizes([round(total * wt / sum(weights)) for wt in weights])

    # --- caption --------------------------------------------------------------------------------

    def render_caption(self) -> None:
        """The caption band shows on stage and in lesson mode."""
        band = self._caption
        lessons = self._c.lessons
        band.setVisible(self.presenting or lessons.active)
        band.set_caption(*lessons.caption())
        self._formula.set_highlight(lessons.highlight())
        table = self._table
        wanted = {need for need in lessons.needs() if need in ("logits", "targets")}
        if wanted != table.wanted:
            table.wanted = wanted  # the step's table columns come before the others
            table.refit()
        self.apply_plot_visibility()
