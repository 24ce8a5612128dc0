"""The window's parts for what samples are about, and for tables without labels: layout and
wiring only, like ``gui.main_window`` (which makes it with the widgets it joins).

* the selected sample's input (image, text, metadata) beside its logits and probabilities;
* the filter box above the table (``column == value`` or a text search);
* thumbnail grids beside the confusion matrix (its drill-down) and the label issues, worst
  first; clicking a tile selects its sample;
* no-labels mode: the loss plots give way to a notice, the Dataset tab to its label-free view;
  File › Open labels… (and the notice's button) attach labels as one undo step;
* binary scores: the Formula tab's sigmoid identity.

Every number and picture comes from the controller (``controller.inputs_session``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QBoxLayout, QFileDialog, QMenu, QSplitter, QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import PlotId
from softmax_lab.gui.filter_box import FilterBox
from softmax_lab.gui.inputs_view import InputsView, NoLabelsNotice
from softmax_lab.gui.thumbnail_grid import ThumbnailGrid

if TYPE_CHECKING:
    from collections.abc import Sequence

    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.dataset import DatasetPanel

LABELS_FILTER = "Labels (*.npy *.npz *.pt *.pth *.csv *.tsv *.txt);;All files (*)"
INPUT_WIDTH = 230  # px at scale 1: the selected sample's input, left of its logits
INPUT_SHARE = 0.25  # at most this share of the sample's row: the bars keep the rest


class InputsUi(QObject):
    """Installed by ``MainWindow``; see the module docstring."""

    sigPlotsChanged = Signal()
    """Labels came or went, or a plot was focused: which plots show is the stage's to say."""

    def __init__(
        self,
        controller: Controller,
        window: QWidget,
        plot_rows: Sequence[QSplitter],
        table: QWidget,
        dataset_panel: DatasetPanel,
        recent_menu: QMenu | None,
    ) -> None:
        """The input joins the first of ``plot_rows`` (the sample's), the no-labels notice the
        second, the filter box goes above ``table``, the thumbnail grids beside the Dataset
        tab's confusion matrix and label issues; Open labels goes after ``recent_menu``."""
        super().__init__(window)
        self._w = window
        self.start_folder: Callable[[], str] = lambda: ""
        """Where Open labels starts (the window sets it: the open logits file's folder)."""
        self._sample_row, self._middle_row = plot_rows[0], plot_rows[1]
        self._table, self._dataset, self._recent = table, dataset_panel, recent_menu
        self._c = c = controller
        self._s = c.inputs_session
        t = c.theme
        self._shown_key: tuple | None = None
        self.inputs_view = InputsView(t)
        self.notice = NoLabelsNotice(t)
        self.filter_box = FilterBox(t)
        self.confusion_grid = ThumbnailGrid(t)
        self.issues_grid = ThumbnailGrid(t)
        self._place()
        self._add_actions()
        self._connect()
        self._render_all()

    # --- layout ---------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self._sample_row:
            QTimer.singleShot(0, self, self._fit_input_width)  # after the splitter has laid out
        return False

    def _fit_input_width(self) -> None:
        """The input's width follows the window: its natural width, but at most a quarter of the
        row, so that on a small screen (1024 x 640, a projector) the bars keep the room."""
        row = self._sample_row
        if self.inputs_view.isHidden() or row.count() < 2:
            return
        total = sum(row.sizes())
        if total <= 0:
            return
        wanted = min(round(INPUT_WIDTH * self._c.view.scale), round(INPUT_SHARE * total))
        if row.sizes()[0] != wanted:
            row.setSizes([wanted, total - wanted])

    def _place(self) -> None:
        row = self._sample_row
        row.insertWidget(0, self.inputs_view)
        row.setStretchFactor(0, 0)
        row.setStretchFactor(1, 1)
        row.setSizes([INPUT_WIDTH, 1000])
        row.installEventFilter(self)
        self._middle_row.addWidget(self.notice)
        self.notice.hide()
        layout = self._table_layout()
        layout.insertWidget(layout.indexOf(self._table), self.filter_box)
        panel = self._dataset
        panel.add_beside(panel.page("confusion"), self.confusion_grid)
        panel.add_beside(panel.label_issues_view, self.issues_grid)

    def _table_layout(self) -> QBoxLayout:
        """The layout the table sits in (the filter box goes in above it)."""
        holder = self._table.parentWidget()
        layout = holder.layout() if holder is not None else None
        if not isinstance(layout, QBoxLayout):
            raise TypeError("the table must sit in a box layout for the filter box to go above it")
        return layout

    def _add_actions(self) -> None:
        w = self._w
        file_menu = self._recent.parentWidget() if self._recent else None
        recent = self._recent.menuAction() if self._recent else None
        self.open_labels_action = QAction("Open &labels…", w)
        self.open_labels_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.open_labels_action.setStatusTip(
            "Labels for every sample from .npy, .npz, .pt, .csv or .txt (numbers or class names)"
        )
        self.open_labels_action.triggered.connect(self.open_labels_dialog)
        self.find_action = QAction("Filter the table", w)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self._focus_filter)
        w.addAction(self.find_action)
        if file_menu is not None:
            actions = file_menu.actions()
            after = actions.index(recent) + 1 if recent in actions else len(actions)
            if after < len(actions):
                file_menu.insertAction(actions[after], self.open_labels_action)
            else:
                file_menu.addAction(self.open_labels_action)
        else:
            w.addAction(self.open_labels_action)

    def _focus_filter(self) -> None:
        if self.filter_box.isVisible():
            self.filter_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.filter_box.selectAll()

    # --- wiring ---------------------------------------------------------------------------------

    def _connect(self) -> None:
        c = self._c
        c.sigSelectionChanged.connect(lambda _sample: self._render_sample())
        c.sigInputsChanged.connect(self._render_all)
        c.sigLayoutChanged.connect(self._render_all)
        c.sigDataChanged.connect(lambda _change, _rows: self._render_data())
        c.sigNamesChanged.connect(self._render_all)
        c.sigOrderChanged.connect(self._render_order)
        c.sigSummaryReady.connect(self._render_summary)
        c.sigStyleChanged.connect(self._restyle)
        c.sigViewChanged.connect(self._on_view_changed)
        self.filter_box.sigFilterEntered.connect(self._s.apply_filter_text)
        self.notice.sigOpenLabels.connect(self.open_labels_dialog)
        for grid in (self.confusion_grid, self.issues_grid):
            grid.sigSampleClicked.connect(c.select)

    def open_labels_dialog(self) -> None:
        # Labels usually sit beside the logits they label: start in that folder.
        folder = self.start_folder()
        path, _ = QFileDialog.getOpenFileName(self._w, "Open labels", folder, LABELS_FILTER)
        if path:
            self._s.attach_labels_file(path)

    # --- controller -> views --------------------------------------------------------------------

    def _render_all(self) -> None:
        s = self._s
        pictures = s.has_images or s.has_texts
        self.inputs_view.setVisible(
            s.has_inputs and self._c.view.plot_focus in (None, PlotId.SAMPLE)
        )
        self._fit_input_width()
        self.confusion_grid.setVisible(pictures)
        self.issues_grid.setVisible(pictures)
        self.filter_box.setVisible(bool(s.filter_columns()))
        self.filter_box.set_choices(s.filter_choices())
        self._shown_key = None
        self._render_labels_mode()
        self._render_sample()
        self._render_order()

    def _render_data(self) -> None:
        """Numbers changed: captions follow, and labels may have come (or gone, on undo)."""
        self._render_labels_mode()
        self._render_sample()

    def _render_labels_mode(self) -> None:
        """Labels came or went: which plots show is the stage's to say (one owner)."""
        self.sigPlotsChanged.emit()

    def _render_sample(self) -> None:
        s, sample = self._s, self._c.selected
        if not s.has_inputs:
            return
        inputs = self._c.document.inputs
        key = (sample, id(inputs))
        if key != self._shown_key:  # an edit of the numbers leaves the input as it is
            self._shown_key = key
            self.inputs_view.set_sample(
                f"Sample {sample}", s.image(sample), s.text(sample), s.metadata(sample)
            )
        for grid in (self.confusion_grid, self.issues_grid):
            grid.set_selected(sample)

    def _render_order(self) -> None:
        s = self._s
        self.filter_box.render_filter(s.filter_text())
        if self.confusion_grid.isHidden():
            return
        title, samples = s.drill_down()
        if not title:
            title = "Click a cell of the confusion matrix to see its samples here, worst first."
            samples = np.zeros(0, dtype=np.int64)
        self.confusion_grid.set_items(title, s.grid_items(samples))
        self.confusion_grid.set_selected(self._c.selected)

    def _render_summary(self) -> None:
        c, s = self._c, self._s
        self._dataset.set_predictions(s.prediction_summary(), c.class_names, s.has_labels)
        if not (s.has_images or s.has_texts) or not s.has_labels:
            return
        summary = c.summary()
        names = c.class_names
        issues = summary.label_issues
        captions = [
            f"#{i.index} {names[i.given]}→{names[i.predicted]} p={fmt.short(i.p_given, 2)}"
            for i in issues
        ]
        samples = np.array([i.index for i in issues], dtype=np.int64)
        self.issues_grid.set_items(
            f"{len(issues)} suspected label issues, lowest p(given label) first: "
            "is the label wrong, or the model?",
            s.grid_items(samples, captions),
        )
        self.issues_grid.set_selected(c.selected)

    def _on_view_changed(self, fields: frozenset[str]) -> None:
        if "plot_focus" in fields:
            self._render_labels_mode()
            s = self._s
            shown = self._c.view.plot_focus in (None, PlotId.SAMPLE)
            self.inputs_view.setVisible(s.has_inputs and shown)

    def _restyle(self, theme) -> None:
        for view in (
            self.inputs_view,
            self.notice,
            self.filter_box,
            self.confusion_grid,
            self.issues_grid,
        ):
            view.set_theme(theme)
