"""Softmax Lab's main window: the table and options on the left, live plots on the right.

The window owns one :class:`core.document.Document`. Widgets write edits into it; on every change
it re-evaluates (in ``core``) and the window pushes the new numbers into the views, which update
their existing plot items in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QSettings, QSize, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import DataError, save_logits, save_results_csv
from core.document import Change, Document
from core.explain import compare_softmaxes, explain_sample
from core.presets import DEFAULT_PRESET, PRESETS
from core.snippet import pytorch_snippet
from core.tables import results_latex, results_markdown
from core.workspace import SUFFIX, ViewState, Workspace, load_workspace, save_workspace
from gui.controls import ControlsPanel
from gui.dataset_views import DatasetPanel
from gui.explain import FormulaPanel, ScratchPanel
from gui.loading import FileLoader, LoadResult
from gui.plots import GradientPlot, LossCurvePlot, LossPlot, ProbabilityHeatmap, SamplePlot
from gui.sampling_view import SamplingPanel
from gui.table_model import LogitsTableModel, format_value
from gui.table_view import LogitsTableView
from gui.theme import LIGHT, THEMES, Theme

HEATMAP_MAX_ROWS = 500  # about a heatmap's height in pixels: more rows cost time, not detail
DATASET_TOP_K_CELLS = 5_000_000  # above this, top-5 accuracy is not recomputed live
MAX_RECENT = 8
OPEN_FILTER = "Logits or workspace (*.npy *.npz *.pt *.pth *.csv *.tsv *.txt *.json);;All files (*)"
AUTOSAVE_DELAY_MS = 500
SCALES = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
PLAY_STEPS = 60
SORTS = (
    ("table order", None, False),
    ("loss, highest first", "losses", True),
    ("p(true), lowest first — likely label issues", "p_true", False),
    ("confidence, highest first", "confidence", True),
    ("confidence, lowest first", "confidence", False),
    ("margin, smallest first", "margin", False),
    ("entropy, highest first", "entropy", True),
)
PLOT_NAMES = ("Selected sample", "Per-sample loss", "Gradient", "Probability heatmap", "Loss curve")


def state_dir() -> Path:
    """Where autosave lives: $SOFTMAX_LAB_STATE_DIR, else the platform's app-data folder."""
    folder = os.environ.get("SOFTMAX_LAB_STATE_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.AppDataLocation
    )
    path = Path(folder or Path.home() / ".softmax-lab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_path() -> Path:
    return state_dir() / f"autosave{SUFFIX}"


class MainWindow(QMainWindow):
    """The whole app in one window; ``MainWindow()`` opens on the notebook's batched example."""

    sigFileLoaded = Signal(str)
    sigLoadFailed = Signal(str)
    sigTemperatureFitted = Signal(object)
    _fit_done = Signal(int, object)  # from the fitting thread, queued to the GUI thread

    def __init__(
        self,
        document: Document | None = None,
        theme: Theme = LIGHT,
        parent: QWidget | None = None,
        *,
        autosave: bool = False,
        confirm_close: bool = False,
    ) -> None:
        """``autosave`` and ``confirm_close`` are on in the app (see gui.app), off by default
        so that tests and embedding code get no files written and no dialogs."""
        super().__init__(parent)
        self.setWindowTitle("Softmax Lab[*]")
        self.document = document or DEFAULT_PRESET.new_document()
        self.theme = theme
        self._selected = 0
        self._drag_serial = 0
        self._preset_index = 0
        self._progress: QProgressDialog | None = None
        self._workspace_path: Path | None = None
        self._confirm_close = confirm_close
        self._autosave = autosave
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.write_autosave)
        self._play_timer = QTimer(self, interval=50)
        self._play_timer.timeout.connect(self._play_step)
        self._play_phase = 0
        self.loader = FileLoader(self)
        self.setAcceptDrops(True)

        self.table_model = LogitsTableModel(self.document, theme, self)
        self.table = LogitsTableView()
        self.table.setModel(self.table_model)
        self.controls = ControlsPanel(self.document)
        self.formula_panel = FormulaPanel()
        self.scratch_panel = ScratchPanel()
        self.sampling_panel = SamplingPanel(theme)
        self.sample_plot = SamplePlot(theme)
        self.loss_plot = LossPlot(theme)
        self.heatmap = ProbabilityHeatmap(theme)
        self.curve_plot = LossCurvePlot(theme)
        self.gradient_plot = GradientPlot(theme)
        self.dataset_panel = DatasetPanel(theme)
        self._dataset_dirty = True
        self._dataset_timer = QTimer(self, singleShot=True, interval=150)
        self._dataset_timer.timeout.connect(self._refresh_dataset_panel)
        self._fit_job = 0
        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build_layout()
        self._build_menus()
        self._connect()
        self.statusBar().addPermanentWidget(self.summary)
        self.resize(1280, 800)
        self.refresh()
        self._select_table_row(0)

    # --- construction ---------------------------------------------------------------------------

    def _build_layout(self) -> None:
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.controls, "Options")
        self.side_tabs.addTab(self.formula_panel, "Formula")
        self.side_tabs.addTab(self.scratch_panel, "Scratch vs torch")
        self.side_tabs.addTab(self.sampling_panel, "Top-k/p")

        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("show only some samples")
        self.sort_combo = QComboBox()
        self.sort_combo.setToolTip("order the table by a per-sample statistic")
        for text, key, descending in SORTS:
            self.sort_combo.addItem(text, (key, descending))
        for combo in (self.filter_combo, self.sort_combo):
            # Long class names must not widen the window past a small laptop's screen.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(10)
        self.filter_note = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter_combo, 2)
        bar.addWidget(QLabel("Sort"))
        bar.addWidget(self.sort_combo, 2)
        bar.addWidget(self.filter_note, 1)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(bar)
        table_layout.addWidget(self.table)
        self._rebuild_filter_combo()

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(table_box)
        left.addWidget(self.side_tabs)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)

        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.loss_plot)
        middle.addWidget(self.gradient_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.heatmap)
        bottom.addWidget(self.curve_plot)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.sample_plot)
        right.addWidget(middle)
        right.addWidget(bottom)
        self.plot_rows = (self.sample_plot, middle, bottom)
        for plot in self.plots():
            # Titles at presentation scale ask for more width than a projector has: let the
            # splitters shrink plots (down to their fixed minimum) instead of clipping the window.
            plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

        self.view_tabs = QTabWidget()
        self.view_tabs.addTab(right, "Sample && loss")
        self.view_tabs.addTab(self.dataset_panel, "Dataset")
        self.view_tabs.setDocumentMode(True)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.view_tabs)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 7)
        # The table needs room for its result columns; the plots take the rest.
        self.splitter.setSizes([540, 740])
        left.setSizes([430, 330])
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self.setCentralWidget(holder)

    def plots(self) -> tuple:
        return (self.sample_plot, self.loss_plot, self.gradient_plot, self.heatmap, self.curve_plot)

    def focus_plot(self, index: int | None) -> None:
        """Show one plot alone, large (keys 1–5), or all of them again (None, key 0)."""
        for i, plot in enumerate(self.plots()):
            plot.setHidden(index is not None and i != index)
        for row in self.plot_rows[1:]:
            row.setHidden(all(row.widget(k).isHidden() for k in range(row.count())))
        if index is not None:
            self.show_message("Showing one plot — Alt+0 shows all")

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(
            file_menu,
            "&Open logits…",
            self._open_dialog,
            QKeySequence.StandardKey.Open,
            tip="Open .npy, .npz, .pt or .csv logits (drag and drop works too)",
        )
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        self._action(
            file_menu,
            "&Save workspace",
            self._save_workspace_action,
            QKeySequence.StandardKey.Save,
            tip="Everything — data, options, view — in a .softmaxlab.json file",
        )
        self._action(file_menu, "Save workspace as…", self._save_workspace_dialog)
        self._action(
            file_menu,
            "Save logits &as…",
            self._save_logits_dialog,
            QKeySequence.StandardKey.SaveAs,
            tip="Logits and labels to .npz or .csv",
        )
        self._action(
            file_menu,
            "&Export results table…",
            self._export_results_dialog,
            tip="Per-sample loss, prediction, confidence… as CSV",
        )
        self._action(
            file_menu,
            "Save &screenshot…",
            self._save_screenshot_dialog,
            tip="Save the whole window as a PNG",
        )
        export_menu = file_menu.addMenu("Export &plot")
        for i, name in enumerate(PLOT_NAMES):
            self._action(export_menu, f"{name}…", lambda _=False, i=i: self._export_plot_dialog(i))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = self._action(
            edit, "&Undo", self.document.undo, QKeySequence.StandardKey.Undo
        )
        self.redo_action = self._action(
            edit, "&Redo", self.document.redo, ["Ctrl+Shift+Z", "Ctrl+Y"]
        )
        edit.addSeparator()
        self._action(edit, "&Copy", self.table.copy_selection, QKeySequence.StandardKey.Copy)
        self._action(edit, "&Paste", self._paste, QKeySequence.StandardKey.Paste)
        self._action(
            edit,
            "Copy as PyTorch &code",
            self.copy_pytorch_code,
            "Ctrl+Shift+C",
            tip="A runnable script that rebuilds this table and prints the same loss",
        )
        self._action(
            edit,
            "Copy table as &Markdown",
            lambda: self._copy_text(results_markdown(self.document), "Markdown table"),
        )
        self._action(
            edit,
            "Copy table as &LaTeX",
            lambda: self._copy_text(results_latex(self.document), "LaTeX table"),
        )
        edit.addSeparator()
        self._action(
            edit,
            "Add sample",
            self.add_sample,
            "Ctrl+Return",
            tip="Add a sample below the selected one",
        )
        self._action(edit, "Duplicate sample", self.duplicate_sample, "Ctrl+D")
        self._action(edit, "Remove sample", self.remove_sample, "Ctrl+Backspace")
        edit.addSeparator()
        self._action(edit, "Add class", self.add_class, "Ctrl+Shift+Return")
        self._action(edit, "Duplicate class", self.duplicate_class, "Ctrl+Shift+D")
        self._action(edit, "Remove class", self.remove_class, "Ctrl+Shift+Backspace")
        self._action(edit, "Rename class…", self._rename_current_class, "F2")
        edit.addSeparator()
        self._action(edit, "Randomize logits", self.randomize, "Ctrl+R")
        self._action(edit, "Reset to the notebook example", self.reset)
        for action in edit.actions():
            # The table has its own copy/paste key handling; avoid ambiguous shortcuts.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        view = bar.addMenu("&View")
        self.probabilities_action = QAction("Show &probabilities in the table", self)
        self.probabilities_action.setCheckable(True)
        self.probabilities_action.setShortcut(QKeySequence("Ctrl+P"))
        self.probabilities_action.toggled.connect(self.table_model.set_show_probabilities)
        view.addAction(self.probabilities_action)
        view.addSeparator()
        self.presentation_action = self._action(
            view,
            "&Presentation mode",
            self.toggle_presentation,
            "F11",
            tip="Full screen, larger type, side panel hidden; PgUp/PgDn step presets",
        )
        self.presentation_action.setCheckable(True)
        self.side_panel_action = self._action(
            view, "Show side &panel", lambda on: self.side_tabs.setVisible(on), "Ctrl+H"
        )
        self.side_panel_action.setCheckable(True)
        self.side_panel_action.setChecked(True)
        self.dark_action = self._action(view, "&Dark theme", self._toggle_dark, "Ctrl+Shift+T")
        self.dark_action.setCheckable(True)
        self.dark_action.setChecked(self.theme.name == "dark")
        self._action(view, "&Bigger", lambda: self.step_scale(1), QKeySequence.StandardKey.ZoomIn)
        self._action(
            view, "&Smaller", lambda: self.step_scale(-1), QKeySequence.StandardKey.ZoomOut
        )
        self._action(view, "Actual size", lambda: self.set_scale(1.0), "Ctrl+0")
        view.addSeparator()
        self.play_action = self._action(
            view,
            "&Play temperature",
            self.toggle_play,
            "Ctrl+Space",
            tip="Sweep T from 0.1 to 10 and back, live",
        )
        self.play_action.setCheckable(True)
        focus = view.addMenu("&Focus one plot")
        for i, name in enumerate(PLOT_NAMES):
            self._action(focus, name, lambda _=False, i=i: self.focus_plot(i), f"Alt+{i + 1}")
        self._action(focus, "All plots", lambda: self.focus_plot(None), "Alt+0")

        presets = bar.addMenu("&Presets")
        group = QActionGroup(self)
        self.preset_actions: list[QAction] = []
        for i, preset in enumerate(PRESETS):
            action = QAction(preset.name, self, checkable=True)
            action.setStatusTip(preset.description)
            action.triggered.connect(lambda _=False, i=i: self.apply_preset(i))
            group.addAction(action)
            presets.addAction(action)
            self.preset_actions.append(action)
        self.preset_actions[0].setChecked(True)
        presets.addSeparator()
        self._action(presets, "Next preset", lambda: self.step_preset(1), "PgDown")
        self._action(presets, "Previous preset", lambda: self.step_preset(-1), "PgUp")

    def _connect(self) -> None:
        self.document.subscribe(self._on_document_changed)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: (
                current.isValid() and self.select_sample(self.table_model.sample_at(current.row()))
            )
        )
        self.filter_combo.activated.connect(self._on_filter_chosen)
        self.sort_combo.activated.connect(self._on_sort_chosen)
        self.table_model.modelReset.connect(self._after_model_reset)
        self.table_model.sigRejected.connect(self.show_message)
        self.table.sigMessage.connect(self.show_message)
        self.controls.sigMessage.connect(self.show_message)
        for plot in (self.loss_plot, self.heatmap, self.curve_plot):
            plot.sigSampleClicked.connect(self._select_table_row)
        self.sample_plot.sigLogitDragged.connect(self._on_logit_dragged)
        self.sample_plot.sigDragFinished.connect(self._on_drag_finished)
        self.view_tabs.currentChanged.connect(lambda _i: self._schedule_dataset_refresh())
        self.side_tabs.currentChanged.connect(lambda _i: self._refresh_side_panel())
        self.dataset_panel.sigConfusionCellClicked.connect(self._on_confusion_cell)
        self.dataset_panel.sigSampleActivated.connect(self._select_table_row)
        self.dataset_panel.sigFitTemperatureRequested.connect(self.fit_temperature)
        self._fit_done.connect(self._on_fit_done)
        self.loader.sigLoaded.connect(self._on_loaded)
        self.loader.sigFailed.connect(self._on_load_failed)

    # --- selection ------------------------------------------------------------------------------

    @property
    def selected_sample(self) -> int:
        return self._selected

    def select_sample(self, row: int) -> None:
        if 0 <= row < self.document.n_samples and row != self._selected:
            self._selected = row
            self._refresh_selected()
            self._refresh_dataset()  # the dataset plots mark the selected sample

    def _select_table_row(self, sample: int) -> None:
        """Select a sample from a plot click: the table follows, which selects it everywhere."""
        if not 0 <= sample < self.document.n_samples:
            return
        row = self.table_model.row_of(sample)
        if row is None:
            # Hidden by the filter: show everything rather than select an invisible row.
            self.set_filter("all")
            row = sample
        column = max(0, self.table.currentIndex().column())
        index = self.table_model.index(row, column)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.table.scrollTo(index)
        self.select_sample(sample)

    # --- filtering and sorting -------------------------------------------------------------------

    def _rebuild_filter_combo(self) -> None:
        combo = self.filter_combo
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("all samples", ("all", None))
        combo.addItem("wrong predictions", ("wrong", None))
        combo.addItem("non-finite rows", ("non-finite", None))
        for i, name in enumerate(self.document.class_names[:200]):
            combo.addItem(f"true class: {name}", ("class", i))
        for i, name in enumerate(self.document.class_names[:200]):
            combo.addItem(f"predicted: {name}", ("predicted", i))
        index = combo.findData(current)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def set_filter(self, kind: str = "all", value: object = None) -> None:
        """Filter the table (see LogitsTableModel.set_filter) and say so above it."""
        self.table_model.set_filter(kind, value)
        index = self.filter_combo.findData((kind, value))
        if index < 0 and kind == "confusion":
            self.filter_combo.addItem(self.table_model.filter_description, (kind, value))
            index = self.filter_combo.count() - 1
        self.filter_combo.setCurrentIndex(max(0, index))
        shown = self.table_model.rowCount()
        self.filter_note.setText(
            "" if kind == "all" else f"{shown:,} of {self.document.n_samples:,}"
        )

    def sort_samples(self, key: str | None, descending: bool = True) -> None:
        """Order the table by a per-sample statistic (None: table order)."""
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        if key is None:
            self.table_model.sort(-1)
        else:
            self.table_model.sort_by(key, descending)
        index = self.sort_combo.findData((key, descending))
        self.sort_combo.setCurrentIndex(max(0, index))

    def _on_filter_chosen(self, index: int) -> None:
        kind, value = self.filter_combo.itemData(index)
        self.set_filter(kind, value)

    def _on_sort_chosen(self, index: int) -> None:
        key, descending = self.sort_combo.itemData(index)
        self.sort_samples(key, descending)

    def _after_model_reset(self) -> None:
        self._selected = min(self._selected, self.document.n_samples - 1)
        row = self.table_model.row_of(self._selected)
        if row is not None:
            index = self.table_model.index(row, max(0, self.table.currentIndex().column()))
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        if not self.table_model.filter_description:
            self.filter_combo.setCurrentIndex(0)
            self.filter_note.setText("")

    # --- edits ----------------------------------------------------------------------------------

    def _guard(self, edit, *args) -> None:
        try:
            edit(*args)
        except ValueError as exc:
            self.show_message(f"Not changed: {exc}")

    def add_sample(self) -> None:
        at = self._selected + 1
        self._guard(self.document.insert_samples, at, np.zeros((1, self.document.n_classes)), [0])
        self._select_table_row(at)

    def duplicate_sample(self) -> None:
        self._guard(self.document.duplicate_samples, [self._selected])
        self._select_table_row(self._selected + 1)

    def remove_sample(self) -> None:
        rows = sorted(
            {self.table_model.sample_at(i.row()) for i in self.table.selectedIndexes()}
            or {self._selected}
        )
        self._guard(self.document.remove_samples, rows)

    def _current_class(self) -> int:
        kind, cls = self.table_model.column_kind(max(0, self.table.currentIndex().column()))
        return cls if kind.value in ("class", "soft") else self.document.n_classes - 1

    def add_class(self) -> None:
        self._guard(self.document.insert_class, self._current_class() + 1)

    def duplicate_class(self) -> None:
        self._guard(self.document.duplicate_class, self._current_class())

    def remove_class(self) -> None:
        self._guard(self.document.remove_classes, [self._current_class()])

    def _rename_current_class(self) -> None:
        self.table._rename_class(self._current_class())

    def randomize(self, seed: int | None = None) -> None:
        rng = np.random.default_rng(seed)
        n, c = self.document.n_samples, self.document.n_classes
        self._guard(
            lambda: self.document.replace_all(
                rng.normal(0.0, 2.0, size=(n, c)).round(2),
                rng.integers(0, c, n),
                self.document.class_names,
                settings=self.document.settings,
                text="Randomize logits",
            )
        )

    def reset(self) -> None:
        self.apply_preset(0)

    def apply_preset(self, index: int) -> None:
        self._preset_index = index % len(PRESETS)
        preset = PRESETS[self._preset_index]
        self._guard(preset.apply, self.document)
        self.preset_actions[self._preset_index].setChecked(True)
        self.show_message(f"{preset.name}: {preset.description}")

    def step_preset(self, step: int) -> None:
        self.apply_preset(self._preset_index + step)

    def _paste(self) -> None:
        self.table.paste(QGuiApplication.clipboard().text())

    def _on_logit_dragged(self, cls: int, value: float) -> None:
        self._guard(
            lambda: self.document.set_logits(
                [self._selected],
                [cls],
                round(value, 3),
                text="Drag logit",
                merge_key=("drag", self._drag_serial),
            )
        )

    def _on_drag_finished(self, _cls: int) -> None:
        self.document.end_merge()
        self._drag_serial += 1

    # --- document -> views ----------------------------------------------------------------------

    def _on_document_changed(self, change: Change) -> None:
        self._selected = min(self._selected, self.document.n_samples - 1)
        if change & (Change.NAMES | Change.STRUCTURE):
            self._rebuild_filter_combo()
        self.refresh()
        if self._autosave:
            self._autosave_timer.start()

    def refresh(self) -> None:
        """Push the document's current numbers into every view."""
        self._dataset_dirty = True
        self._schedule_dataset_refresh()
        self._refresh_selected()
        self._refresh_dataset()
        self._refresh_status()
        self.undo_action.setEnabled(self.document.can_undo)
        self.undo_action.setText(f"&Undo {self.document.undo_text}".rstrip())
        self.redo_action.setEnabled(self.document.can_redo)
        self.redo_action.setText(f"&Redo {self.document.redo_text}".rstrip())
        self.setWindowModified(self.document.is_modified)

    def _true_class(self, row: int) -> int | None:
        ev = self.document.evaluation
        return int(ev.targets[row]) if ev.valid[row] else None

    def _refresh_selected(self) -> None:
        doc, ev, row = self.document, self.document.evaluation, self._selected
        names = doc.class_names
        probabilities = ev.probabilities_of([row])[0]
        true_class = self._true_class(row)
        self.sample_plot.set_sample(
            np.asarray(doc.logits[row], dtype=np.float64),
            probabilities,
            names,
            true_class,
            int(ev.predictions[row]),
        )
        self.gradient_plot.set_gradient(ev.gradient_of([row])[0], names, true_class)
        self._selected_probabilities = probabilities
        self._refresh_side_panel()

    def _refresh_side_panel(self) -> None:
        """Update the side tab that is showing; the hidden ones catch up when shown (building
        their text costs more than every plot's update together)."""
        doc, ev, row = self.document, self.document.evaluation, self._selected
        names = doc.class_names
        current = self.side_tabs.currentWidget()
        if current is self.formula_panel:
            self.formula_panel.set_explanation(explain_sample(ev, doc.logits[row], row), names)
        elif current is self.scratch_panel:
            self.scratch_panel.set_comparison(
                compare_softmaxes(
                    doc.logits[row],
                    doc.settings.temperature,
                    doc.settings.dtype,
                    self._selected_probabilities,
                ),
                names,
            )
        elif current is self.sampling_panel:
            self.sampling_panel.set_sample(
                self._selected_probabilities, names, doc.settings.temperature
            )

    def _refresh_dataset(self) -> None:
        ev = self.document.evaluation
        reduced = None if ev.options.reduction == "none" else float(ev.loss)
        self.loss_plot.set_losses(
            ev.losses,
            ev.correct,
            ev.valid,
            ev.finite,
            reduced,
            ev.options.reduction,
            self._selected,
        )
        self.curve_plot.set_points(ev.p_true, ev.correct, ev.valid, self._selected)
        n = ev.n_samples
        rows = (
            None
            if n <= HEATMAP_MAX_ROWS
            else np.linspace(0, n - 1, HEATMAP_MAX_ROWS, dtype=np.int64)
        )
        probabilities = ev.probabilities if rows is None else ev.probabilities_of(rows)
        shown = slice(None) if rows is None else rows
        self.heatmap.set_probabilities(
            probabilities,
            ev.targets[shown],
            ev.valid[shown],
            self.document.class_names,
            self._selected,
            rows,
        )

    def _schedule_dataset_refresh(self) -> None:
        # Dataset metrics cost O(N) plus a top-k pass: only when that tab shows, and once
        # per burst of edits.
        if self._dataset_dirty and self.view_tabs.currentWidget() is self.dataset_panel:
            self._dataset_timer.start()

    def _refresh_dataset_panel(self) -> None:
        ev = self.document.evaluation
        top_k = 5 if ev.n_samples * ev.n_classes <= DATASET_TOP_K_CELLS else 0
        self.dataset_panel.set_evaluation(ev, self.document.class_names, top_k=top_k)
        self._dataset_dirty = False

    def show_dataset(self) -> None:
        """Switch to the dataset views and bring them up to date now."""
        self.view_tabs.setCurrentWidget(self.dataset_panel)
        self._dataset_timer.stop()
        self._refresh_dataset_panel()

    def _on_confusion_cell(self, true_class: int, predicted: int) -> None:
        self.set_filter("confusion", (true_class, predicted))
        self.sort_samples("losses", descending=True)
        self.show_message(
            f"Table: {self.table_model.filter_description} "
            f"({self.table_model.rowCount():,} samples, worst first)"
        )
        if self.table_model.rowCount():
            self._select_table_row(self.table_model.sample_at(0))

    def fit_temperature(self) -> None:
        """Find the T that minimises the NLL (core.metrics, off the GUI thread), then apply it."""
        import threading

        from core.metrics import fit_temperature

        doc = self.document
        if doc.settings.target_mode != "index":
            self.show_message("Temperature fitting needs class labels, not probability targets")
            return
        # The worker reads its own copy: an edit during the fit must not race with it.
        logits = doc.logits if not doc.logits.flags.writeable else doc.logits.copy()
        labels = doc.labels.copy()
        s = doc.settings
        self._fit_job += 1
        job = self._fit_job
        self.dataset_panel.set_fit_running(True)
        self.show_message("Fitting the temperature…")

        def work() -> None:
            try:
                fit = fit_temperature(
                    logits,
                    labels,
                    ignore_index=s.ignore_index,
                    weight=None if s.weight is None else np.asarray(s.weight),
                    device=s.device,
                )
            except (ValueError, RuntimeError) as exc:
                self._fit_done.emit(job, str(exc))
                return
            self._fit_done.emit(job, fit)

        threading.Thread(target=work, name="fit-temperature", daemon=True).start()

    def _on_fit_done(self, job: int, result: object) -> None:
        if job != self._fit_job:
            return
        self.dataset_panel.set_fit_running(False)
        if isinstance(result, str):
            self.show_message(f"Could not fit the temperature: {result}")
            return
        self.dataset_panel.show_temperature_fit(result)
        self._guard(
            lambda: self.document.set_settings(
                temperature=round(float(result.temperature), 4), text="Fit temperature"
            )
        )
        self.show_message(
            f"Fitted T = {result.temperature:.4f}: NLL {result.nll_before:.4f} → "
            f"{result.nll_after:.4f}, ECE {result.ece_before:.4f} → "
            f"{result.ece_after:.4f}"
        )
        self.sigTemperatureFitted.emit(result)

    def _refresh_status(self) -> None:
        ev = self.document.evaluation
        s = self.document.settings
        if ev.options.reduction == "none":
            loss_text = f"loss: per sample (sum {format_value(float(np.nansum(ev.losses)))})"
        else:
            loss_text = f"{ev.options.reduction} loss = {format_value(float(ev.loss))}"
        n_valid = int(ev.valid.sum())
        parts = [
            loss_text,
            f"accuracy {int(ev.correct.sum())}/{n_valid}",
            f"{ev.n_samples} × {ev.n_classes}",
            f"{ev.device} · {ev.dtype}",
            f"T = {s.temperature:g}",
        ]
        if ev.n_nonfinite:
            parts.append(f"⚠ {ev.n_nonfinite} non-finite row{'s' if ev.n_nonfinite > 1 else ''}")
        if ev.device_fallback:
            parts.append(f"⚠ {ev.device_fallback}")
        self.summary.setText("   ·   ".join(parts))

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # --- output ---------------------------------------------------------------------------------

    def save_screenshot(self, path: str | Path, scale: float = 1.0) -> bool:
        """The whole window as PNG; ``scale`` > 1 renders at a higher pixel density."""
        if scale == 1.0:
            return self.grab().save(str(path))
        from PySide6.QtGui import QPixmap

        pixmap = QPixmap(self.size() * scale)
        pixmap.setDevicePixelRatio(scale)
        self.render(pixmap)
        return pixmap.save(str(path))

    def export_plot(self, index: int, path: str | Path, scale: float = 1.0) -> None:
        """One plot to .png (``scale`` × its size on screen) or .svg, with pyqtgraph's
        exporters."""
        import pyqtgraph.exporters as exporters

        plot = self.plots()[index]
        path = str(path)
        if path.lower().endswith(".svg"):
            # pyqtgraph 0.14.0's SVGExporter fails on the closed paths newer Qt writes
            # (pyqtgraph issue #3495); Qt's own SVG generator renders the same scene as vectors.
            from PySide6.QtCore import QRect
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(plot.size())
            generator.setViewBox(QRect(0, 0, plot.width(), plot.height()))
            generator.setTitle(PLOT_NAMES[index])
            generator.setDescription("Softmax Lab")
            painter = QPainter(generator)
            try:
                plot.render(painter)
            finally:
                painter.end()
            return
        exporter = exporters.ImageExporter(plot.scene())
        exporter.parameters()["width"] = max(1, round(plot.width() * scale))
        exporter.export(path)

    def _export_plot_dialog(self, index: int) -> None:
        name = PLOT_NAMES[index].lower().replace(" ", "-")
        path, chosen = QFileDialog.getSaveFileName(
            self,
            f"Export {PLOT_NAMES[index]}",
            f"{name}.png",
            "PNG image, 2x (*.png);;SVG vector (*.svg)",
        )
        if path:
            self._guard_file(lambda p: self.export_plot(index, p, scale=2.0), path)

    def _save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screenshot", "softmax-lab.png", "PNG image (*.png)"
        )
        if path:
            ok = self.save_screenshot(path)
            self.show_message(f"Saved {path}" if ok else f"Could not save {path}")

    # --- files ----------------------------------------------------------------------------------

    def load_file(self, path: str | Path, as_probabilities: bool | None = None) -> None:
        """Open a logits file without blocking the window; emits sigFileLoaded or sigLoadFailed.

        A file whose rows are already probabilities asks whether to take their log (unless
        ``as_probabilities`` says). A failed load shows why and leaves the table as it was.
        """
        path = str(path)
        if path.endswith(".json"):
            self.open_workspace(path)
            return
        self._pending_question = as_probabilities is None
        self.loader.start(path, self.document.settings, bool(as_probabilities))
        self.show_message(f"Opening {path}…")
        if self._progress is None:
            self._progress = QProgressDialog(f"Opening {Path(path).name}…", "Cancel", 0, 0, self)
            self._progress.setWindowTitle("Softmax Lab")
            self._progress.setMinimumDuration(400)
            self._progress.setWindowModality(Qt.WindowModality.WindowModal)
            self._progress.canceled.connect(self._cancel_load)
        else:
            self._progress.setLabelText(f"Opening {Path(path).name}…")
        self._progress.reset()
        self._progress.setRange(0, 0)
        self._progress.setValue(0)

    def _cancel_load(self) -> None:
        self.loader.cancel()
        self.show_message("Opening cancelled; nothing changed")

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.reset()
            self._progress.hide()

    def _on_loaded(self, result: LoadResult) -> None:
        self._close_progress()
        data = result.data
        if data.looks_like_probabilities and self._pending_question:
            answer = QMessageBox.question(
                self,
                "Probabilities, not logits?",
                f"Every row of {Path(result.path).name} is in [0, 1] and sums to 1: these look "
                "like probabilities. Take their log and use that as logits? (softmax(log p) = p)",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.load_file(result.path, as_probabilities=True)
                return
        names = data.class_names or [f"class {i}" for i in range(data.logits.shape[1])]
        try:
            self.document.replace_all(
                result.logits,
                result.labels,
                names,
                settings=result.settings,
                evaluation=result.evaluation,
                text=f"Open {Path(result.path).name}",
            )
        except ValueError as exc:
            self._on_load_failed(str(exc))
            return
        self._remember_recent(result.path)
        self.setWindowTitle(f"{Path(result.path).name}[*] — Softmax Lab")
        self._select_table_row(0)
        notes = "; ".join(result.notices)
        n, c = data.logits.shape
        self.show_message(
            f"Opened {Path(result.path).name}: {n:,} × {c:,}" + (f" — {notes}" if notes else "")
        )
        self.sigFileLoaded.emit(result.path)

    def _on_load_failed(self, message: str) -> None:
        self._close_progress()
        self.show_message(f"Not opened: {message}")
        self.sigLoadFailed.emit(message)
        if self.isVisible() and QGuiApplication.platformName() != "offscreen":
            QMessageBox.warning(self, "Could not open the file", message)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open logits", "", OPEN_FILTER)
        if path:
            self.load_file(path)

    def _settings_store(self) -> QSettings:
        return QSettings()

    def recent_files(self) -> list[str]:
        value = self._settings_store().value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _remember_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path, *[p for p in self.recent_files() if p != path]][:MAX_RECENT]
        self._settings_store().setValue("recentFiles", recent)
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.load_file(p))
        self.recent_menu.setEnabled(bool(recent))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.load_file(files[0])

    def save_logits(self, path: str | Path) -> None:
        """Logits and labels to .npz or .csv (raises DataError with a message on failure)."""
        doc = self.document
        save_logits(path, doc.logits, doc.labels, doc.class_names)

    def export_results(self, path: str | Path) -> None:
        """The per-sample results table as CSV."""
        ev = self.document.evaluation
        names = np.asarray(self.document.class_names, dtype=object)
        save_results_csv(
            path,
            {
                "label": ev.targets,
                "predicted": ev.predictions,
                "predicted_name": names[ev.predictions],
                "correct": ev.correct,
                "loss": ev.losses,
                "p_true": ev.p_true,
                "confidence": ev.confidence,
                "margin": ev.margin,
                "entropy": ev.entropy,
            },
        )

    def _save_logits_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save logits", "logits.npz", "NumPy archive (*.npz);;CSV (*.csv)"
        )
        if path:
            self._guard_file(self.save_logits, path)

    def _export_results_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export results", "results.csv", "CSV (*.csv)")
        if path:
            self._guard_file(self.export_results, path)

    def _guard_file(self, action, path: str) -> None:
        try:
            action(path)
        except (DataError, OSError) as exc:
            self.show_message(f"Not saved: {exc}")
            return
        self.show_message(f"Saved {path}")

    # --- workspaces and autosave -----------------------------------------------------------------

    def view_state(self) -> ViewState:
        return ViewState(
            selected=self._selected,
            show_probabilities=self.table_model.show_probabilities,
            theme=self.theme.name,
            scale=self.theme.scale,
            preset_index=self._preset_index,
        )

    def save_workspace(self, path: str | Path) -> None:
        """Write the whole state to a .softmaxlab.json file (atomically)."""
        save_workspace(path, Workspace.from_document(self.document, self.view_state()))
        self._workspace_path = Path(path)
        self.document.mark_clean()
        self.setWindowModified(False)
        self.setWindowTitle(f"{Path(path).name}[*] — Softmax Lab")

    def open_workspace(self, path: str | Path) -> bool:
        """Restore a workspace exactly; a bad file shows why and changes nothing."""
        try:
            ws = load_workspace(path)
        except DataError as exc:
            self._on_load_failed(str(exc))
            return False
        self.document.replace_all(
            ws.logits,
            ws.labels,
            ws.class_names,
            ws.soft_targets,
            ws.settings,
            text=f"Open {Path(path).name}",
        )
        self.apply_view_state(ws.view)
        self._workspace_path = Path(path)
        if Path(path) != autosave_path():
            self._remember_recent(str(path))
            self.document.mark_clean()
        self.setWindowTitle(f"{Path(path).name}[*] — Softmax Lab")
        self.refresh()
        self.show_message(f"Opened workspace {Path(path).name}")
        self.sigFileLoaded.emit(str(path))
        return True

    def apply_view_state(self, view: ViewState) -> None:
        self.probabilities_action.setChecked(bool(view.show_probabilities))
        self._preset_index = int(view.preset_index) % len(PRESETS)
        theme = THEMES.get(view.theme, LIGHT).scaled(float(view.scale))
        self.set_theme(theme)
        self._select_table_row(min(max(0, int(view.selected)), self.document.n_samples - 1))

    def write_autosave(self) -> None:
        """Save the current state for crash recovery (atomic; at most ~0.5 s behind)."""
        try:
            save_workspace(
                autosave_path(), Workspace.from_document(self.document, self.view_state())
            )
        except (OSError, DataError) as exc:
            self.show_message(f"Autosave failed: {exc}")

    def _save_workspace_action(self) -> None:
        if self._workspace_path is not None and self._workspace_path != autosave_path():
            self._guard_file(self.save_workspace, str(self._workspace_path))
        else:
            self._save_workspace_dialog()

    def _save_workspace_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save workspace", f"softmax-lab{SUFFIX}", f"Softmax Lab workspace (*{SUFFIX})"
        )
        if path:
            if not path.endswith(".json"):
                path += SUFFIX
            self._guard_file(self.save_workspace, path)

    def closeEvent(self, event) -> None:
        self._play_timer.stop()
        if self._confirm_close and self.document.is_modified:
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                "Save your work as a workspace before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save:
                self._save_workspace_action()
                if self.document.is_modified:
                    event.ignore()
                    return
        if self._autosave:
            self._autosave_timer.stop()
            # A clean exit leaves nothing to restore.
            autosave_path().unlink(missing_ok=True)
            self._save_preferences()
        super().closeEvent(event)

    def _save_preferences(self) -> None:
        store = self._settings_store()
        store.setValue("theme", self.theme.name)
        store.setValue("scale", self.theme.scale)
        store.setValue("geometry", self.saveGeometry())

    def restore_preferences(self) -> None:
        store = self._settings_store()
        geometry = store.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        theme = THEMES.get(str(store.value("theme", self.theme.name)), self.theme)
        try:
            scale = float(store.value("scale", 1.0))
        except (TypeError, ValueError):
            scale = 1.0
        self.set_theme(theme.scaled(min(max(scale, SCALES[0]), SCALES[-1])))

    # --- presentation -------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Restyle every view (colours, font and marker scale) without recomputing anything."""
        self.theme = theme
        for view in (
            self.sample_plot,
            self.loss_plot,
            self.heatmap,
            self.curve_plot,
            self.gradient_plot,
            self.formula_panel,
            self.scratch_panel,
            self.dataset_panel,
            self.sampling_panel,
        ):
            view.set_theme(theme)
        self.table_model.set_theme(theme)
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (
            self.table,
            self.table.horizontalHeader(),
            self.table.verticalHeader(),
            self.controls,
            self.side_tabs,
            self.summary,
        ):
            widget.setFont(font)
        self.table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))
        self.table.horizontalHeader().setDefaultSectionSize(round(62 * theme.scale))
        palette = QPalette()
        if theme.name == "dark":
            for role, colour in (
                (QPalette.ColorRole.Window, "#2b2b2b"),
                (QPalette.ColorRole.Base, theme.background),
                (QPalette.ColorRole.AlternateBase, "#2f2f2f"),
                (QPalette.ColorRole.Text, theme.foreground),
                (QPalette.ColorRole.WindowText, theme.foreground),
                (QPalette.ColorRole.Button, "#353535"),
                (QPalette.ColorRole.ButtonText, theme.foreground),
                (QPalette.ColorRole.PlaceholderText, "#9a9a9a"),
            ):
                palette.setColor(role, QColor(colour))
        self.setPalette(palette)
        self.dark_action.setChecked(theme.name == "dark")

    def set_scale(self, scale: float) -> None:
        self.set_theme(self.theme.scaled(scale))
        self.show_message(f"Scale {scale:g}×")

    def step_scale(self, step: int) -> None:
        current = min(range(len(SCALES)), key=lambda i: abs(SCALES[i] - self.theme.scale))
        self.set_scale(SCALES[min(max(current + step, 0), len(SCALES) - 1)])

    def _toggle_dark(self, on: bool) -> None:
        self.set_theme(THEMES["dark" if on else "light"].scaled(self.theme.scale))

    def toggle_presentation(self, on: bool | None = None) -> None:
        """Full screen, scale 2x, side panel hidden — or back to the desk layout."""
        on = not self.isFullScreen() if on is None or not isinstance(on, bool) else on
        self.presentation_action.setChecked(on)
        if on:
            self._desk_scale = self.theme.scale
            self._desk_sizes = self.splitter.sizes()
            self.side_panel_action.setChecked(False)
            self.side_tabs.hide()
            self.table.pages_rows = False  # a presenter's clicker sends PgDn: step presets
            self.set_scale(max(2.0, self.theme.scale))
            self.showFullScreen()
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([round(0.3 * total), round(0.7 * total)])
        else:
            self.side_panel_action.setChecked(True)
            self.side_tabs.show()
            self.table.pages_rows = True
            self.set_scale(getattr(self, "_desk_scale", 1.0))
            self.showNormal()
            self.splitter.setSizes(getattr(self, "_desk_sizes", [540, 740]))

    def toggle_play(self, on: bool | None = None) -> None:
        """Animate the temperature 0.1 → 10 → 0.1 (log scale); one undo step restores T."""
        on = not self._play_timer.isActive() if not isinstance(on, bool) else on
        self.play_action.setChecked(on)
        if on:
            self._play_start_t = self.document.settings.temperature
            self._play_phase = 0
            self._play_serial = getattr(self, "_play_serial", 0) + 1
            self._play_timer.start()
        else:
            self._play_timer.stop()
            self.document.end_merge()

    def _play_step(self) -> None:
        k = self._play_phase % (2 * PLAY_STEPS)
        fraction = k / PLAY_STEPS if k <= PLAY_STEPS else 2 - k / PLAY_STEPS
        temperature = round(10 ** (-1 + 2 * fraction), 4)
        self._play_phase += 1
        try:
            self.document.set_settings(
                temperature=temperature,
                merge_key=("play", self._play_serial),
                text="Play temperature",
            )
        except ValueError as exc:
            self.toggle_play(False)
            self.show_message(f"Stopped: {exc}")

    # --- clipboard exports ---------------------------------------------------------------------

    def _copy_text(self, text: str, what: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.show_message(f"Copied the {what} to the clipboard")

    def copy_pytorch_code(self) -> str:
        try:
            code = pytorch_snippet(self.document)
        except ValueError as exc:
            self.show_message(str(exc))
            return ""
        self._copy_text(code, "PyTorch code")
        return code

    def sizeHint(self) -> QSize:
        return QSize(1280, 800)
