"""The window's side of a recorded run: the step bar over every tab, and the Training tab (the
data map, the selected sample's trajectory, the recorded inputs), wired to the controller's
run session (``controller.runs``, ``gui.runs_session``).

Layout and wiring only, as ``gui.main_window``: the numbers come from the session, the plots
(``gui.plots.datamap``, ``gui.plots.trajectory``) draw them, and user intent goes back to the
session or the controller. :func:`install_training` adds all of it to a main window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from softmax_lab.core.constants import elide
from softmax_lab.gui.plots.datamap import REGION_TEXT, SELECT_MODES, DataMapPlot
from softmax_lab.gui.plots.trajectory import TrajectoryPlot
from softmax_lab.gui.qimages import to_qimage
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.view_tabs import ViewTabs

BUTTON_TEXT = {"easy-to-learn": "easy", "ambiguous": "ambiguous", "hard-to-learn": "hard"}
"""The region buttons' short names (the map labels the regions in full; room is short at 2x)."""
THUMBNAILS = 48
"""The inputs strip shows the first this many samples of the table's order."""
THUMBNAIL_PX = 36
PREVIEW_PX = 96


def image_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A recorded image (H, W) or (H, W, 3|4), uint8 or float in [0, 1], scaled to ``size``
    pixels (nearest: a digit's pixels stay visible)."""
    pixmap = QPixmap.fromImage(to_qimage(image))
    return pixmap.scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


class StepBar(QWidget):
    """First, previous, play, next, latest, a slider over the run's steps, where the table is,
    and "follow latest". It renders the session's state and sends intent."""

    sigStepBy = Signal(int)
    sigIndex = Signal(int)  # a click or a key on the slider
    sigScrub = Signal(str, int)  # "begin" / "move" / "end", slider index
    sigPlay = Signal(bool)
    sigFollow = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        icon = QStyle.StandardPixmap
        self.first_button = self._button(
            icon.SP_MediaSkipBackward, "first step (Alt+Home)", lambda: self.sigIndex.emit(0)
        )
        self.previous_button = self._button(
            icon.SP_MediaSeekBackward, "previous step (Alt+Left)", lambda: self.sigStepBy.emit(-1)
        )
        self.play_button = self._button(
            icon.SP_MediaPlay, "play the run's steps (Ctrl+Shift+Space)", None
        )
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.sigPlay)
        self.next_button = self._button(
            icon.SP_MediaSeekForward, "next step (Alt+Right)", lambda: self.sigStepBy.emit(1)
        )
        self.last_button = self._button(
            icon.SP_MediaSkipForward, "latest step (Alt+End)", lambda: self.sigIndex.emit(-1)
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("the step every view shows; drag to move through the run")
        self.slider.setPageStep(1)
        self.slider.sliderPressed.connect(lambda: self.sigScrub.emit("begin", self.slider.value()))
        self.slider.sliderMoved.connect(lambda v: self.sigScrub.emit("move", v))
        self.slider.sliderReleased.connect(lambda: self.sigScrub.emit("end", self.slider.value()))
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.label = QLabel("no run")
        self.label.setMinimumWidth(150)
        self.live_label = QLabel("")
        self.follow_box = QCheckBox("Follow latest")
        self.follow_box.setToolTip("move to each new step of a run being written, as it arrives")
        self.follow_box.toggled.connect(self.sigFollow)
        # One row, whatever room the window has (the tabs below take the rest).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 2)
        layout.addWidget(QLabel("Run"))
        for button in (
            self.first_button,
            self.previous_button,
            self.play_button,
            self.next_button,
            self.last_button,
        ):
            layout.addWidget(button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.live_label)
        layout.addWidget(self.follow_box)

    def _button(self, icon: QStyle.StandardPixmap, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        if slot is not None:
            button.clicked.connect(slot)
        return button

    def _on_slider_action(self, action: int) -> None:
        # Keys and clicks on the groove (not a drag): one move to where the slider goes.
        if action != QSlider.SliderAction.SliderMove:
            self.sigIndex.emit(self.slider.sliderPosition())

    def render_state(self, text: str, index: int, count: int, playing: bool, follow: bool) -> None:
        """Show the session's state (signals blocked: rendering is not intent)."""
        with signals_blocked(self.slider):
            self.slider.setRange(0, max(0, count - 1))
            if not self.slider.isSliderDown():
                self.slider.setValue(max(0, index))
        with signals_blocked(self.play_button):
            self.play_button.setChecked(playing)
            icon = (
                QStyle.StandardPixmap.SP_MediaPause
                if playing
                else QStyle.StandardPixmap.SP_MediaPlay
            )
            self.play_button.setIcon(self.style().standardIcon(icon))
        with signals_blocked(self.follow_box):
            self.follow_box.setChecked(follow)
        self.label.setText(text)
        for button in (self.first_button, self.previous_button):
            button.setEnabled(index > 0)
        for button in (self.next_button, self.last_button):
            button.setEnabled(0 <= index < count - 1)
        self.play_button.setEnabled(count > 1)

    def set_theme(self, theme: Theme) -> None:
        """Type and icons at the theme's scale (presentation mode)."""
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in self.findChildren(QWidget):
            widget.setFont(font)
        size = QSize(theme.px(16), theme.px(16))
        for button in self.findChildren(QToolButton):
            button.setIconSize(size)

    def set_live(self, live: bool) -> None:
        self.live_label.setText("● live" if live else "")
        self.live_label.setToolTip("steps arrived in the last seconds" if live else "")


class InputsPanel(QWidget):
    """The selected sample's recorded input, large, and the first samples of the table's order
    as thumbnails (sort by forgetting, or draw a lasso, to see those samples' inputs)."""

    sigSampleClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_PX, PREVIEW_PX)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid_title = QLabel("In table order")
        self.grid_title.setWordWrap(True)  # "First 34: hard-to-learn (lasso), table order"
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSpacing(2)
        self.grid.setUniformItemSizes(True)
        self.grid.itemClicked.connect(
            lambda item: self.sigSampleClicked.emit(int(item.data(Qt.ItemDataRole.UserRole)))
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.preview)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid_title)
        layout.addWidget(self.grid, 1)
        self.setMinimumWidth(4 * (THUMBNAIL_PX + 8) + 24)
        self.setMaximumWidth(320)

    def set_sample(self, sample: int, image: np.ndarray | None, caption: str) -> None:
        if image is None:
            self.preview.clear()
        else:
            self.preview.setPixmap(image_pixmap(image, PREVIEW_PX))
        self.caption.setText(caption)

    def set_thumbnails(self, samples: np.ndarray, images: np.ndarray, what: str) -> None:
        self.grid_title.setText(what)
        self.grid.clear()
        for sample in samples:
            item = QListWidgetItem(QIcon(image_pixmap(images[sample], THUMBNAIL_PX)), "")
            item.setData(Qt.ItemDataRole.UserRole, int(sample))
            item.setToolTip(f"sample {int(sample)}")
            self.grid.addItem(item)

    def thumbnail_samples(self) -> list[int]:
        return [
            int(self.grid.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.grid.count())
        ]


class TrainingPanel(QWidget):
    """The Training tab: region buttons and the selection mode over the data map, the inputs
    beside it, the trajectory below."""

    sigRegionChosen = Signal(str)
    sigSampleClicked = Signal(int)  # a point of the data map
    sigShapeSelected = Signal(object, str)  # a lasso or box on the data map: vertices, mode
    sigStepClicked = Signal(int)  # a step of the trajectory

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        # The data map and the trajectory are made when a run first needs them (a window
        # without a run never does): they were a tenth of the window's start-up.
        self._data_map: DataMapPlot | None = None
        self._trajectory: TrajectoryPlot | None = None
        self._map_slot = _Slot()
        self._trajectory_slot = _Slot()
        self.inputs = InputsPanel()
        self.inputs.hide()
        self.region_buttons: dict[str, QPushButton] = {}
        header = QHBoxLayout()
        header.setContentsMargins(2, 0, 2, 0)
        header.addWidget(QLabel("Show:"))
        for name, text in REGION_TEXT.items():
            button = QPushButton(BUTTON_TEXT[name])
            button.setToolTip(f"show the {text} samples of the data map in the table")
            button.clicked.connect(lambda _=False, n=name: self.sigRegionChosen.emit(n))
            button.setEnabled(False)
            self.region_buttons[name] = button
            header.addWidget(button)
        header.addStretch(1)
        self.mode_combo = QComboBox()
        for mode in SELECT_MODES:
            self.mode_combo.addItem(f"{mode} select", mode)
        self.mode_combo.setToolTip("a left drag on the data map draws a lasso or a box")
        self.mode_combo.activated.connect(
            lambda i: self.data_map.set_select_mode(self.mode_combo.itemData(i))
        )
        header.addWidget(self.mode_combo)
        self.status = QLabel("")
        header.addWidget(self.status)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self._map_slot)
        top.addWidget(self.inputs)
        top.setStretchFactor(0, 4)
        top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self._trajectory_slot)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self._sized = False
        for slot in (self._map_slot, self._trajectory_slot):
            slot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.splitter, 1)

    @property
    def built(self) -> bool:
        return self._data_map is not None

    @property
    def data_map(self) -> DataMapPlot:
        self._build()
        assert self._data_map is not None
        return self._data_map

    @property
    def trajectory(self) -> TrajectoryPlot:
        self._build()
        assert self._trajectory is not None
        return self._trajectory

    def _build(self) -> None:
        if self._data_map is not None:
            return
        self._data_map = DataMapPlot(self._theme)
        self._trajectory = TrajectoryPlot(self._theme)
        for plot, slot in (
            (self._data_map, self._map_slot),
            (self._trajectory, self._trajectory_slot),
        ):
            # The plot takes the placeholder's place in its splitter (a window's Training tab
            # is hidden until a run opens, so this happens before its first layout).
            plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            splitter = slot.parentWidget()
            assert isinstance(splitter, QSplitter)
            splitter.replaceWidget(splitter.indexOf(slot), plot)
            slot.deleteLater()
        self._data_map.sigSampleClicked.connect(self.sigSampleClicked)
        self._data_map.sigShapeSelected.connect(self.sigShapeSelected)
        self._trajectory.sigStepClicked.connect(self.sigStepClicked)
        self._data_map.set_select_mode(self.mode_combo.currentData())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._build()
        if not self._sized:  # the map gets the larger share, once its height is known
            self._sized = True
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([round(0.58 * total), total - round(0.58 * total)])

    def set_counts(self, counts: dict[str, int] | None) -> None:
        for name, button in self.region_buttons.items():
            n = None if counts is None else counts.get(name, 0)
            text = BUTTON_TEXT[name]
            button.setText(text if n is None else f"{text} ({n:,})")
            button.setEnabled(bool(n))

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self._data_map is not None and self._trajectory is not None:
            self._data_map.set_theme(theme)
            self._trajectory.set_theme(theme)
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (self, self.inputs, self.mode_combo, *self.region_buttons.values()):
            widget.setFont(font)


def install_training(c: Controller, tabs: ViewTabs) -> tuple[TrainingPanel, StepBar]:
    """Make the Training tab (added to ``tabs``) and the step bar (for the window to place over
    the tabs), wired to the controller's run session. Both show only while the table shows a
    step of a run."""
    runs = c.runs
    panel = TrainingPanel(c.theme)
    bar = StepBar()
    bar.hide()
    tabs.add("training", panel, "Training")

    def render_bar() -> None:
        bar.render_state(
            runs.step_text(), runs.step_index, len(runs.steps), runs.playing, runs.follow
        )
        bar.set_live(runs.live)

    def on_run_changed() -> None:
        shown = runs.run is not None
        bar.setVisible(shown)
        if not shown and c.view.view_tab == "training":
            c.update_view(view_tab="sample")  # before hiding: Qt would pick a neighbour
        tabs.set_shown("training", shown)
        render_bar()
        show_map()
        show_inputs()

    def show_map() -> None:
        m, d = runs.map, runs.dynamics
        if runs.run is None:
            if panel.built:
                panel.data_map.set_empty("No run open")
            panel.set_counts(None)
        elif m is None or d is None:
            has_labels = runs.run.labels is not None or c.document.has_labels
            panel.data_map.set_empty(
                "Computing the data map…"
                if has_labels
                else "The run has no labels: the data map needs them"
            )
            panel.set_counts(None)
        else:
            panel.data_map.set_map(
                m, np.where(d.valid, d.forgetting, np.nan), d.labels, c.class_names
            )
            panel.data_map.set_selected(c.selected)
            panel.set_counts(m.counts)

    def show_trajectory() -> None:
        if runs.run is None and not panel.built:
            return
        panel.trajectory.set_trajectory(runs.trajectory, c.class_names)
        panel.trajectory.set_current_step(runs.step)

    def show_inputs() -> None:
        images = c.document.inputs.images
        texts = c.document.inputs.texts
        has = runs.run is not None and (images is not None or texts is not None)
        panel.inputs.setVisible(has)
        if not has:
            return
        sample = c.selected
        label = int(c.document.labels[sample]) if c.document.has_labels else -1
        name = c.class_names[label] if 0 <= label < c.document.n_classes else "no label"
        caption = f"sample {sample} · label {elide(name)}"
        if texts is not None:
            caption += f"\n{elide(str(texts[sample]), 160)}"
        panel.inputs.set_sample(sample, None if images is None else images[sample], caption)
        show_thumbnails()

    def show_thumbnails() -> None:
        images = c.document.inputs.images
        if images is None or runs.run is None:
            panel.inputs.grid.clear()
            panel.inputs.grid.setVisible(False)
            panel.inputs.grid_title.setVisible(False)
            return
        panel.inputs.grid.setVisible(True)
        panel.inputs.grid_title.setVisible(True)
        order = c.order
        samples = np.arange(min(THUMBNAILS, c.row_count())) if order is None else order[:THUMBNAILS]
        view = c.view
        what = "table order" if view.sort is None else view.sort.describe(c.class_names)
        if not view.filter.is_all:
            what = f"{view.filter.describe(c.class_names)}, {what}"
        panel.inputs.set_thumbnails(samples, images, f"First {len(samples)}: {what}")

    def on_selection(sample: int) -> None:
        if panel.built:
            panel.data_map.set_selected(sample)
        show_inputs()

    def on_order() -> None:
        filt = c.view.filter
        if filt.kind != "samples" and panel.built:
            panel.data_map.clear_shape()
        show_thumbnails()

    def on_scrub(kind: str, index: int) -> None:
        if kind == "begin":
            runs.begin_scrub()
        elif kind == "move":
            runs.scrub_to(index)
        else:
            runs.scrub_to(index)
            runs.end_scrub()

    def on_view(fields: frozenset[str]) -> None:
        # A workspace saved on the Training tab, restored without its run: the tab is hidden.
        if "view_tab" in fields and c.view.view_tab == "training" and runs.run is None:
            c.update_view(view_tab="sample")

    runs.sigRunChanged.connect(on_run_changed)
    c.sigViewChanged.connect(on_view)
    runs.sigStepsChanged.connect(render_bar)
    runs.sigStepChanged.connect(render_bar)
    runs.sigStepChanged.connect(
        lambda: panel.trajectory.set_current_step(runs.step) if panel.built else None
    )
    runs.sigPlayingChanged.connect(lambda _on: render_bar())
    runs.sigFollowChanged.connect(lambda _on: render_bar())
    runs.sigDynamicsChanged.connect(show_map)
    runs.sigDynamicsBusy.connect(
        lambda busy: panel.status.setText("computing the dynamics…" if busy else "")
    )
    runs.sigTrajectoryChanged.connect(show_trajectory)
    runs.sigOpened.connect(lambda _path: c.update_view(view_tab="training"))
    c.sigSelectionChanged.connect(on_selection)

    def on_names() -> None:
        show_map()
        show_trajectory()
        show_inputs()

    c.sigNamesChanged.connect(on_names)
    c.sigInputsChanged.connect(show_inputs)
    c.sigOrderChanged.connect(on_order)
    c.sigLayoutChanged.connect(on_order)
    c.sigStyleChanged.connect(panel.set_theme)
    c.sigStyleChanged.connect(bar.set_theme)
    bar.set_theme(c.theme)

    bar.sigStepBy.connect(runs.step_by)
    bar.sigIndex.connect(lambda i: runs.go_to_index(len(runs.steps) - 1 if i < 0 else i))
    bar.sigScrub.connect(on_scrub)
    bar.sigPlay.connect(runs.set_playing)
    bar.sigFollow.connect(runs.set_follow)
    panel.sigRegionChosen.connect(runs.analysis.show_region)
    panel.sigSampleClicked.connect(c.select)
    panel.sigShapeSelected.connect(runs.analysis.select_on_map)
    panel.sigStepClicked.connect(
        lambda step: runs.go_to_index(runs.steps.index(step)) if step in runs.steps else None
    )
    panel.inputs.sigSampleClicked.connect(c.select)
    on_run_changed()
    return panel, bar


class _Slot(QWidget):
    """Holds a plot's place in its splitter until the plot is made."""
