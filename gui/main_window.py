"""Softmax Lab's main window: layout, and the wiring of each view to the controller.

The window creates the views, places them, and connects controller signals to view setters and
view signals to controller intents. It holds no feature logic: numbers come from the controller
(which asks ``core``), menus live in ``gui.actions``, files in ``gui.files``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from softmax_lab.core.display import PlotId
from softmax_lab.gui.actions import Actions
from softmax_lab.gui.caption import CaptionBand
from softmax_lab.gui.compare_window import CompareUi
from softmax_lab.gui.controller import Change, Controller
from softmax_lab.gui.dataset import DatasetPanel
from softmax_lab.gui.files import Files
from softmax_lab.gui.inputs_ui import InputsUi
from softmax_lab.gui.model_ui import ModelUi
from softmax_lab.gui.order_bar import OrderBar
from softmax_lab.gui.plots import (
    GradientPlot,
    LossCurvePlot,
    LossPlot,
    ProbabilityHeatmap,
    SamplePlot,
)
from softmax_lab.gui.preferences import Preferences
from softmax_lab.gui.sequence_view import SequenceView
from softmax_lab.gui.side_panel import SidePanel
from softmax_lab.gui.stage import Stage
from softmax_lab.gui.status_line import StatusLine
from softmax_lab.gui.table_view import LogitsTableView
from softmax_lab.gui.theme import Theme, window_palette
from softmax_lab.gui.training_panel import install_training
from softmax_lab.gui.view_tabs import ViewTabs, size_to_current_page

if TYPE_CHECKING:
    from softmax_lab.core.document import Document

DESK_SIZES = (540, 740)  # table | plots, at 1280 wide


class MainWindow(QMainWindow):
    """The whole app in one window; ``MainWindow()`` opens on the notebook's batched example."""

    def __init__(
        self,
        document: Document | None = None,
        theme: Theme | None = None,
        parent: QWidget | None = None,
        *,
        autosave: bool = False,
        confirm_close: bool = False,
        controller: Controller | None = None,
    ) -> None:
        """``autosave`` and ``confirm_close`` are on in the app (see gui.app), off by default
        so that tests and embedding code get no files written and no dialogs."""
        super().__init__(parent)
        self.setWindowTitle("Softmax Lab[*]")
        self.controller = controller or Controller(document, self)
        if theme is not None:
            self.controller.update_view(theme=theme.name, scale=theme.scale)
        self._confirm_close = confirm_close
        self.files = Files(self.controller, self, autosave=autosave)
        self.preferences = Preferences(self.controller, self, self.files, save=autosave)
        self.setAcceptDrops(True)
        t = self.controller.theme

        self.table = LogitsTableView(self.controller)
        self.table_model = self.table.table_model()
        side = self.side_tabs = SidePanel(self.controller)
        self.controls, self.formula_panel = side.controls, side.formula_panel
        self.scratch_panel, self.sampling_panel = side.scratch_panel, side.sampling_panel
        self.sample_plot = SamplePlot(t)
        self.loss_plot = LossPlot(t)
        self.heatmap = ProbabilityHeatmap(t)
        self.curve_plot = LossCurvePlot(t)
        self.gradient_plot = GradientPlot(t)
        self._plots: dict[PlotId, QWidget] = {
            PlotId.SAMPLE: self.sample_plot,
            PlotId.LOSS: self.loss_plot,
            PlotId.GRADIENT: self.gradient_plot,
            PlotId.HEATMAP: self.heatmap,
            PlotId.CURVE: self.curve_plot,
        }
        self.dataset_panel = DatasetPanel(t)
        self.sequence_view = SequenceView(t)
        self._sequence_shown: tuple[bool, int | None] = (False, None)  # active, sequence drawn
        self._plots_stale = False  # the Sample tab's plots missed changes while hidden
        self.summary = StatusLine(self.statusBar())
        self.caption = CaptionBand(t)
        self.caption.hide()
        self._build_layout()
        parts = (self.splitter, self.table, self._plots, self.plot_rows, self.caption)
        self.stage = Stage(self.controller, self, *parts, self.formula_panel)
        self.training_panel, self.step_bar = install_training(self.controller, self.view_tabs)
        self.model_ui = ModelUi(self.controller, self)  # a live model: File › Open model…
        self.left.insertWidget(0, self.model_ui.panel)
        self.menu_actions = Actions(self)
        self.compare_ui = CompareUi(
            self.controller, self.table, self.dataset_panel, self.sample_plot
        )
        for bar in (self.step_bar, self.compare_ui.bar):  # over the tabs: compare, then steps
            self._central.insertWidget(0, bar)
        self._connect()
        self.resize(1280, 800)
        self._styled_scale = 0.0
        self.restyle()
        self._refresh_numbers(Change.ALL)
        self._render_view(frozenset({"view_tab", "side_tab", "side_panel", "plot_focus"}))
        self._render_history()
        held = (self.plot_rows, self.table, self.dataset_panel, self.preferences.recent_menu)
        self.inputs_ui = InputsUi(self.controller, self, *held)
        self.inputs_ui.start_folder = self.files.folder  # Open labels: beside the logits file
        self.inputs_ui.sigPlotsChanged.connect(self.stage.apply_plot_visibility)
        self.stage.set_notice(self.inputs_ui.notice)

    # --- reading (for tests, the API and the bench) ---------------------------------------------

    @property
    def document(self) -> Document:
        return self.controller.document

    @property
    def selected_sample(self) -> int:
        return self.controller.selected

    @property
    def theme(self) -> Theme:
        return self.controller.theme

    @property
    def sigFileLoaded(self):
        return self.files.sigFileLoaded

    @property
    def sigLoadFailed(self):
        return self.files.sigLoadFailed

    def plots(self) -> tuple:
        """The plots in ``PlotId`` order."""
        return tuple(self._plots.values())

    def plot(self, plot: PlotId) -> QWidget:
        return self._plots[plot]

    def select_sample(self, sample: int) -> None:
        self.controller.select(sample)

    def load_file(self, path: str | Path, as_probabilities: bool | None = None) -> None:
        self.files.load_file(path, as_probabilities)

    def show_dataset(self) -> None:
        """Switch to the Dataset tab and bring it up to date now (not after the usual pause)."""
        self.controller.update_view(view_tab="dataset")
        self.controller.refresh_summary()

    # --- layout ---------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        bar = self.order_bar = OrderBar(self.controller, self.table_model)
        self.filter_combo, self.sort_combo = bar.filter_combo, bar.sort_combo
        self.filter_note = bar.note
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(bar)
        table_layout.addWidget(self.table)

        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.addWidget(table_box)
        self.left.addWidget(self.side_tabs)
        self.left.setStretchFactor(0, 3)
        self.left.setStretchFactor(1, 2)

        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.loss_plot)
        middle.addWidget(self.gradient_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.heatmap)
        bottom.addWidget(self.curve_plot)
        right = QSplitter(Qt.Orientation.Vertical)
        self.sample_row = QSplitter(Qt.Orientation.Horizontal)  # the sample's input joins it
        self.sample_row.addWidget(self.sample_plot)
        right.addWidget(self.sample_row)
        right.addWidget(middle)
        right.addWidget(bottom)
        self.plot_rows = (self.sample_row, middle, bottom)
        for plot in self.plots():
            # Titles at presentation scale ask for more width than a projector has: let the
            # splitters shrink plots (down to their fixed minimum) instead of clipping the window.
            plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

        self.view_tabs = ViewTabs()
        self.view_tabs.add("sample", right, "Sample && loss")
        self.view_tabs.add("dataset", self.dataset_panel, "Dataset")
        self.view_tabs.add("sequence", self.sequence_view, "Sequence")
        self.view_tabs.set_shown("sequence", False)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.view_tabs)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 7)
        # The table needs room for its result columns; the plots take the rest.
        self.splitter.setSizes(list(DESK_SIZES))
        self.left.setSizes([430, 330])
        holder = QWidget()
        self._central = layout = QVBoxLayout(holder)  # the bars go in over the caption
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(holder)

    # --- wiring ---------------------------------------------------------------------------------

    def _connect(self) -> None:
        c = self.controller
        c.sigDataChanged.connect(lambda change, _rows: self._refresh_numbers(change))
        c.sigNamesChanged.connect(self._relabel)
        c.sigSelectionChanged.connect(lambda _sample: self._refresh_selection())
        c.sigStyleChanged.connect(lambda _theme: self.restyle())
        c.sigViewChanged.connect(self._render_view)
        c.sigHistoryChanged.connect(self._render_history)
        c.sigMessage.connect(self.show_message)
        c.sigSummaryReady.connect(self._show_summary)
        c.sigAnimating.connect(lambda _on: self._hold_axes())
        c.lessons.sigChanged.connect(self._hold_axes)
        c.sigFitRunning.connect(self.dataset_panel.set_fit_running)
        c.sigTemperatureFitted.connect(self.dataset_panel.show_temperature_fit)
        self.files.sigTitleChanged.connect(
            lambda name: self.setWindowTitle(f"{name}[*] — Softmax Lab")
        )
        c.sigGradientModelChanged.connect(lambda _model: self._refresh_selection())

        for plot in (self.loss_plot, self.heatmap, self.curve_plot):
            plot.sigSampleClicked.connect(c.select)
        self.sample_plot.sigLogitDragged.connect(c.drag_logit)
        self.sample_plot.sigDragFinished.connect(lambda _cls: c.end_drag())
        self.dataset_panel.sigConfusionCellClicked.connect(c.show_confusion_cell)
        self.dataset_panel.sigSampleActivated.connect(c.select)
        self.dataset_panel.sigFitTemperatureRequested.connect(c.temperature.fit)
        self._view_tab = self.view_tabs.bind(c.view, lambda tab: c.update_view(view_tab=tab))
        for tabs in (self.view_tabs, self.side_tabs):
            size_to_current_page(tabs)
        self._connect_sequences()

    def _connect_sequences(self) -> None:
        c, view = self.controller, self.sequence_view
        view.sigRowChosen.connect(c.select)
        view.sigSequenceChosen.connect(lambda k: c.select(c.sequences.first_row(k)))
        view.sigHovered.connect(
            lambda row: view.show_hover(row, c.sequences.hover_text(row) if row >= 0 else "")
        )
        view.sigTokenizerRequested.connect(self.files.choose_tokenizer_dialog)
        c.sigLayoutChanged.connect(lambda: self._render_sequence(rebuild=False))
        c.sequences.sigRanksReady.connect(lambda: self._render_sequence(rebuild=True))
        for signal in (c.sigInputsChanged, c.sigNamesChanged):
            signal.connect(lambda: self._render_sequence(rebuild=True))

    # --- controller -> views --------------------------------------------------------------------

    def _refresh_numbers(self, change: Change) -> None:
        c, ev = self.controller, self.controller.evaluation
        if self._plots_hidden():
            self._plots_stale = True
        else:
            reduced = None if ev.options.reduction == "none" else float(ev.loss)
            self.loss_plot.set_losses(
                ev.losses, ev.correct, ev.valid, ev.finite, reduced, ev.options.reduction
            )
            self.loss_plot.set_selected(c.selected)
            self.curve_plot.set_curve(c.loss_curve(), ev.p_true, ev.losses)
            self.heatmap.set_probabilities(**c.heatmap_data(self.heatmap.pixel_rows()))
            if change == Change.ALL and not c.animating:
                self.fit_axes()  # a new table (step, preset, file): axes fit it, not the last
        self._sequence_shown = (self._sequence_shown[0], None)  # new numbers: redraw it
        if self.caption.isVisible():
            self.caption.set_caption(*c.lessons.caption())  # e.g. a file's loss and accuracy
        self._refresh_selection()
        self.summary.set_summary(c.status_text())

    def _plots_hidden(self) -> bool:
        """While the Sequence tab shows, the Sample tab's plots wait: a click on a token of a
        128k vocabulary should not pay for five plots nobody sees (drawn when that tab shows)."""
        return self.isVisible() and self.controller.view.view_tab == "sequence"

    def _refresh_selection(self) -> None:
        c = self.controller
        if self._plots_hidden():
            self._plots_stale = True
            self._render_sequence(rebuild=False)
            self.side_tabs.render_state()
            return
        views = c.sample_views()  # both models' numbers when comparing
        self.sample_plot.set_sample(views.a, c.class_names, views.b, views.names, views.marks)
        self.gradient_plot.set_gradient(views.gradient, c.class_names, views.gradient_label)
        self.loss_plot.set_selected(c.selected)
        self.heatmap.set_selected(c.selected)
        curve = c.loss_curve()
        p = np.linspace(1e-4, 1.0, 400)
        self.curve_plot.set_sample_curve(c.selected, p, c.sample_curve(p), not curve.on_reference)
        self._render_sequence(rebuild=False)
        self.side_tabs.render_state()

    def _render_sequence(self, rebuild: bool) -> None:
        """The Sequence tab: shown while language-model logits are open (and made current when
        they open); drawn only while it shows."""
        c, view = self.controller, self.sequence_view
        active = c.sequences.active
        was_active, drawn = self._sequence_shown
        if active != was_active:
            self.view_tabs.set_shown("sequence", active)
            self._sequence_shown = (active, None)
            if not active:
                view.set_sequence(None, None, -1)
            if active or c.view.view_tab == "sequence":
                c.update_view(view_tab="sequence" if active else "sample")
                self._render_view(frozenset({"view_tab"}))  # also when the field was unchanged
                return
        if not active or (self.isVisible() and not view.isVisible()):
            self._sequence_shown = (active, None)
            return
        k = c.sequences.sequence_of(c.selected)
        if rebuild or k != drawn:
            view.set_sequence(c.sequences.text(k), c.sequences.statistics(), c.selected)
            self._sequence_shown = (True, k)
        view.set_selected(c.selected, c.sequences.hover_text(c.selected))

    def _relabel(self) -> None:
        c = self.controller
        heading = c.sample_views().a.heading
        self.sample_plot.set_names(c.class_names, heading)
        self.gradient_plot.set_names(c.class_names)
        self.heatmap.set_names(c.class_names)
        self.side_tabs.render_state()
        self._render_history()

    def _show_summary(self) -> None:
        c = self.controller
        self.dataset_panel.set_summary(
            c.summary(), c.class_names, c.document.settings.temperature, c.fit_ready()
        )

    def _hold_axes(self) -> None:
        """Axes hold still while something animates or is dragged, and on stage and in a
        lesson (where stepping shows change); they fit again on release or on request."""
        c = self.controller
        hold = c.animating or bool(c.view.presentation) or c.lessons.active
        for plot in (self.sample_plot, self.loss_plot, self.gradient_plot):
            plot.hold_axes(hold)

    def fit_axes(self) -> None:
        """View › Fit axes: every plot fits its data now."""
        for plot in (self.sample_plot, self.loss_plot, self.gradient_plot):
            plot.hold_axes(False)
        self._hold_axes()

    def _render_view(self, fields: frozenset[str]) -> None:
        c, view = self.controller, self.controller.view
        if "view_tab" in fields:  # bound; shown again where the field stayed but a tab hid
            self._view_tab.show(view.view_tab)
        self.side_tabs.render_view(fields)
        if fields & {"top_k", "top_p"}:
            self._render_sequence(rebuild=True)
            if c.model.kind == "causal-lm" and not self._plots_hidden():
                self.sample_plot.set_marks(c.sampler_marks())  # the kept set on the bars
        if "view_tab" in fields and view.view_tab == "sequence":
            self._render_sequence(rebuild=True)
        if "view_tab" in fields and self._plots_stale and not self._plots_hidden():
            self._plots_stale = False
            self._refresh_numbers(Change.NONE)
        if "plot_focus" in fields:
            self.stage.apply_plot_visibility()
            if view.plot_focus is not None:
                self.show_message("Showing one plot — Alt+0 shows all")
        if "presentation" in fields:
            self.stage.present(view.presentation)
            self._hold_axes()
        if "preset_index" in fields:
            self.stage.render_caption()
        if "view_tab" in fields and view.view_tab == "dataset" and c.summary_ready:
            self._show_summary()

    def _render_history(self) -> None:
        doc = self.controller.document
        self.menu_actions.render_history(doc)
        self.setWindowModified(doc.is_modified)

    def restyle(self) -> None:
        """Restyle every view (colours, font and marker scale) without recomputing anything."""
        theme = self.controller.theme
        self.setPalette(window_palette(theme))
        views = (*self.plots(), self.dataset_panel, self.side_tabs, self.sequence_view, self.table)
        for view in (*views, self.caption, self.order_bar):
            view.set_theme(theme)
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        bars = (self.summary, self.view_tabs, self.menuBar(), self.statusBar())
        for widget in (*bars, *self.menuBar().findChildren(QMenu)):
            widget.setFont(font)
        if theme.scale != self._styled_scale:  # Ctrl +/−: labels and headroom change size
            self._styled_scale = theme.scale
            self.stage.rescaled()
            self.fit_axes()

    def show_message(self, text: str) -> None:
        self.summary.show_message(text)

    # --- window events --------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            if not self.model_ui.drop_images(files):
                self.files.load_file(files[0])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.stage.window_resized()

    def closeEvent(self, event) -> None:
        self.controller.temperature.set_playing(False)
        if not self.files.confirm_close(self._confirm_close):
            event.ignore()
            return
        self.preferences.window_closed()
        super().closeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(1280, 800)
