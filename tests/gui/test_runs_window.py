"""A recorded run in the window, driven as a user drives it: open it, step, play, drag the slider,
follow a run that a subprocess is writing, click and lasso the data map, sort and filter by the
dynamics columns; every view must show the step the table shows, and undo must walk back."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from cell_editing import type_into_cell
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QPushButton, QStyle, QStyleOptionSlider
from windows import shown_window

from softmax_lab.core.cartography import samples_in_polygon
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.dynamics import training_dynamics
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.runs import RunStep, RunWriter, load_run
from softmax_lab.core.view_state import Filter, Sort
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column

ROOT = Path(__file__).resolve().parents[2]
N, C, STEPS = 80, 4, 10
FLIPPED = np.array([3, 17, 29, 41, 58, 77])


def step_table(step: int, learned: np.ndarray) -> np.ndarray:
    """What step ``step`` holds: a function of the step, so that any reader can check."""
    rng = np.random.default_rng(1000 + step)
    x = rng.normal(0, 1, (N, C)).astype(np.float32)
    when = np.linspace(-0.3, 1.0, N)[np.random.default_rng(5).permutation(N)]
    t = step / (STEPS - 1)
    x[np.arange(N), learned] += (6.0 / (1 + np.exp(-10 * (t - when)))).astype(np.float32)
    return x


def truth() -> tuple[np.ndarray, np.ndarray]:
    learned = np.random.default_rng(7).integers(0, C, N)  # what the model learns
    labels = learned.copy()
    labels[FLIPPED] = (labels[FLIPPED] + 1) % C  # what the run records: a few flipped
    return learned, labels


def write_run(folder: Path, steps=range(STEPS), images=True, labels=True) -> Path:
    learned, y = truth()
    pictures = (np.arange(N * 36).reshape(N, 6, 6) % 251).astype(np.uint8)
    with RunWriter(
        folder,
        labels=y if labels else None,
        class_names=["ant", "bee", "cat", "dog"],
        images=pictures if images else None,
    ) as w:
        for s in steps:
            w.add(s * 100, step_table(s, learned))
    return folder


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    yield w
    w.controller.runs.set_playing(False)


def open_run(qtbot, w, folder, dynamics=True) -> None:
    with qtbot.waitSignal(w.sigFileLoaded, timeout=20000):
        w.load_file(folder)
    if dynamics:
        qtbot.waitUntil(lambda: w.controller.runs.map is not None, timeout=20000)


def shown_step(w) -> int | None:
    source = w.document.source
    return source.step if isinstance(source, RunStep) else None


def loss_heights(w) -> np.ndarray:
    return np.asarray(w.loss_plot.bars.getData()[1], dtype=float)


def assert_views_show(w, step: int) -> None:
    """Every view shows ``step``: the table, the plots, the step bar, the trajectory mark."""
    learned, y = truth()
    x = step_table(step // 100, learned)
    ev = evaluate(x, y)
    np.testing.assert_array_equal(w.document.logits, x)
    np.testing.assert_allclose(w.document.evaluation.losses, ev.losses, rtol=1e-6)
    np.testing.assert_allclose(loss_heights(w), ev.losses, rtol=1e-5)
    s = w.selected_sample
    np.testing.assert_allclose(
        np.asarray(w.sample_plot.logit_bars.getData()[1], dtype=float)[:C], x[s], rtol=1e-6
    )
    model = w.table_model
    assert float(model.index(model.row_of(s), 0).data(Qt.ItemDataRole.EditRole)) == x[s, 0]
    runs = w.controller.runs
    index = runs.steps.index(step)
    assert w.step_bar.slider.value() == index
    assert w.step_bar.label.text().startswith(f"step {step:,} · {index + 1} of")
    assert w.training_panel.trajectory.current_step() == step


# --- opening ------------------------------------------------------------------------------------


def test_a_run_opens_on_its_latest_step_with_the_training_tab(qtbot, window, tmp_path):
    folder = write_run(tmp_path / "exp1")
    assert not window.step_bar.isVisible()
    assert not window.view_tabs.isTabVisible(window.view_tabs.indexOf(window.training_panel))
    open_run(qtbot, window, folder)
    assert shown_step(window) == 900
    assert window.step_bar.isVisible()
    assert window.controller.view.view_tab == "training"
    assert window.view_tabs.currentWidget() is window.training_panel
    assert "exp1" in window.windowTitle()
    assert window.document.class_names == ["ant", "bee", "cat", "dog"]
    assert window.document.inputs.images.shape == (N, 6, 6)
    assert_views_show(window, 900)
    # The dynamics are core's, in the table and on the map.
    expected = training_dynamics(load_run(folder))
    keys = [c.key for c in window.controller.table_columns()]
    for key in ("mean p(true)", "variability", "correctness", "forgetting", "first learned"):
        assert key in keys
    np.testing.assert_allclose(window.controller.runs.dynamics.confidence, expected.confidence)
    index, xy = window.training_panel.data_map.points()
    assert index.size == N
    np.testing.assert_allclose(xy[:, 1], expected.confidence[index])
    texts = window.training_panel.data_map.region_texts()
    counts = window.controller.runs.map.counts
    assert texts["hard-to-learn"] == f"hard to learn · {counts['hard-to-learn']}"


def test_a_run_opens_with_one_table_reset(qtbot, window, tmp_path):
    """The controller tells the run session before it reads the columns: the table resets once
    when a run opens (twice before: the session subscribed to the document on its own), and once
    more when the dynamics' columns arrive."""
    folder = write_run(tmp_path / "exp1")
    resets = []
    window.table_model.modelReset.connect(lambda: resets.append(window.table_model.columnCount()))
    open_run(qtbot, window, folder, dynamics=False)
    assert len(resets) == 1
    assert window.step_bar.isVisible()
    qtbot.waitUntil(lambda: window.controller.runs.map is not None, timeout=20000)
    assert len(resets) == 2  # the dynamics' columns
    assert "mean p(true)" in [c.key for c in window.controller.table_columns()]
    assert_views_show(window, 900)


def test_the_flipped_samples_are_hard_to_learn(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    regions = window.controller.runs.map.regions
    assert (regions[FLIPPED] == "hard-to-learn").sum() >= len(FLIPPED) - 1
    button = window.training_panel.region_buttons["hard-to-learn"]
    assert button.text() == f"hard ({(regions == 'hard-to-learn').sum()})"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.controller.view.filter == Filter(
        "column", ("region", "hard-to-learn"), label="hard-to-learn (region)"
    )
    shown = {window.table_model.sample_at(r) for r in range(window.table_model.rowCount())}
    assert shown == set(np.flatnonzero(regions == "hard-to-learn").tolist())
    assert window.filter_combo.currentText() == "hard-to-learn (region)"
    # The selection follows into the table (sample 0 is not hard to learn).
    assert regions[0] != "hard-to-learn"
    assert window.selected_sample == window.table_model.sample_at(0)
    assert window.controller.runs.trajectory.sample == window.selected_sample


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), "not a Softmax Lab run"),
        (lambda p: (p.mkdir(), (p / "run.json").write_text("{oops")), "not valid JSON"),
        (lambda p: RunWriter(p, labels=[0, 1]), "no step yet"),
    ],
)
def test_an_unusable_folder_says_why_and_changes_nothing(qtbot, window, tmp_path, make, message):
    make(tmp_path / "bad")
    before = window.document.snapshot()
    with qtbot.waitSignal(window.sigLoadFailed, timeout=20000) as blocker:
        window.load_file(tmp_path / "bad")
    assert message in blocker.args[0]
    assert message in window.statusBar().currentMessage()
    np.testing.assert_array_equal(window.document.snapshot()[0], before[0])
    assert window.document.source is None
    assert not window.step_bar.isVisible()


def test_a_run_with_no_step_yet_opens_at_its_first_step(qtbot, window, tmp_path):
    learned, y = truth()
    writer = RunWriter(tmp_path / "r", labels=y)
    with qtbot.waitSignal(window.sigLoadFailed, timeout=20000) as blocker:
        window.load_file(tmp_path / "r")
    assert "opens when its first step arrives" in blocker.args[0]
    assert window.document.source is None
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        writer.add(5, step_table(5, learned))
    assert shown_step(window) == 5
    assert window.controller.runs.waiting_for is None
    # Waiting ends when another table is opened meanwhile.
    RunWriter(tmp_path / "later", labels=y)
    window.load_file(tmp_path / "later")
    qtbot.waitUntil(lambda: window.controller.runs.waiting_for is not None, timeout=20000)
    window.controller.randomize(seed=1)
    assert window.controller.runs.waiting_for is None


@pytest.mark.parametrize("made", [False, True], ids=["missing-folder", "empty-folder"])
def test_a_folder_with_no_run_yet_waits_for_its_writer(qtbot, window, tmp_path, made):
    # What a user opens right after starting the training script: the folder is missing or
    # still empty. It is waited for (with Cancel), as a run with no step yet is.
    learned, y = truth()
    folder = tmp_path / "exp1"
    if made:
        folder.mkdir()
    with qtbot.waitSignal(window.sigLoadFailed, timeout=20000) as blocker:
        window.load_file(folder)
    assert "no run has been written here yet" in blocker.args[0]
    assert window.controller.runs.waiting_for == str(folder)
    dialog = window.files._progress
    assert dialog is not None
    assert dialog.isVisible()
    assert "no run has been written here yet" in dialog.labelText()
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000), RunWriter(folder, labels=y) as w:
        w.add(3, step_table(3, learned))
    assert shown_step(window) == 3
    assert window.controller.runs.waiting_for is None
    assert not dialog.isVisible()


def test_cancel_stops_waiting_for_a_run(qtbot, window, tmp_path):
    before = window.document.snapshot()
    with qtbot.waitSignal(window.sigLoadFailed, timeout=20000):
        window.load_file(tmp_path / "not-yet")
    dialog = window.files._progress
    assert dialog is not None
    assert dialog.isVisible()
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert window.controller.runs.waiting_for is None
    assert not dialog.isVisible()
    assert "nothing changed" in window.statusBar().currentMessage()
    # The writer starting later changes nothing: the window no longer waits.
    learned, y = truth()
    with RunWriter(tmp_path / "not-yet", labels=y) as writer:
        writer.add(1, step_table(1, learned))
    assert window.controller.runs.waiting_for is None
    np.testing.assert_array_equal(window.document.snapshot()[0], before[0])
    assert window.document.source is None


def test_a_run_without_labels_says_the_map_needs_them(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r", labels=False), dynamics=False)
    assert not window.document.has_labels
    assert window.training_panel.data_map.empty_text.toPlainText().startswith(
        "The run has no labels"
    )
    # Labels typed into the table are used: the map appears.
    window.controller.edit_label(0, "ant")
    qtbot.waitUntil(lambda: window.controller.runs.map is not None, timeout=20000)


# --- stepping -----------------------------------------------------------------------------------


def test_stepping_keeps_the_selection_and_holds_the_axes(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    window.controller.update_view(view_tab="sample")
    window.controller.select(FLIPPED[1])
    y_range = window.loss_plot.getPlotItem().getViewBox().viewRange()[1]
    held = []
    window.controller.sigAnimating.connect(held.append)
    qtbot.mouseClick(window.step_bar.previous_button, Qt.MouseButton.LeftButton)
    assert shown_step(window) == 800
    assert window.selected_sample == FLIPPED[1]
    assert held == [True]
    assert window.controller.animating
    assert window.loss_plot.getPlotItem().getViewBox().viewRange()[1] == y_range
    assert_views_show(window, 800)
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert shown_step(window) == 700
    assert_views_show(window, 700)
    qtbot.waitUntil(lambda: not window.controller.animating, timeout=5000)  # released
    assert not window.step_bar.follow_box.isChecked()  # moved off the latest step
    qtbot.mouseClick(window.step_bar.first_button, Qt.MouseButton.LeftButton)
    assert shown_step(window) == 0
    assert not window.step_bar.first_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_End, Qt.KeyboardModifier.AltModifier)
    assert shown_step(window) == 900
    assert window.step_bar.follow_box.isChecked()  # back on the newest: following again


def test_moves_through_steps_are_one_undo_step_and_edits_stay_with_their_step(
    qtbot, window, tmp_path
):
    folder = write_run(tmp_path / "r")
    on_disk = (folder / "step-000300.npy").read_bytes()
    open_run(qtbot, window, folder)
    for _ in range(6):
        window.controller.runs.step_by(-1)
    assert shown_step(window) == 300
    assert window.menu_actions.undo_action.text() == "&Undo Go to step 800"
    # Typing a logit edits this step's table only.
    row = window.table_model.row_of(window.selected_sample)
    type_into_cell(qtbot, window.table, window.table_model.index(row, 1), "7.5")
    assert window.document.logits[window.selected_sample, 1] == 7.5
    window.controller.runs.step_by(1)
    assert shown_step(window) == 400
    assert window.document.logits[window.selected_sample, 1] != 7.5
    window.controller.runs.step_by(-1)  # back: the edit is still there
    assert window.document.logits[window.selected_sample, 1] == 7.5
    assert (folder / "step-000300.npy").read_bytes() == on_disk  # never the run's files
    window.controller.undo()  # the two moves since the edit
    assert shown_step(window) == 300
    assert window.document.logits[window.selected_sample, 1] == 7.5
    window.controller.undo()  # the edit
    assert (
        window.document.logits[window.selected_sample, 1]
        == step_table(3, truth()[0])[window.selected_sample, 1]
    )
    window.controller.undo()  # the six moves: back where the run opened
    assert shown_step(window) == 900
    assert_views_show(window, 900)
    window.controller.redo()
    assert shown_step(window) == 300


def test_play_runs_through_the_steps_holding_the_axes(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    seen = []
    window.controller.runs.sigStepChanged.connect(lambda: seen.append(shown_step(window)))
    held = []
    window.controller.sigAnimating.connect(held.append)
    qtbot.mouseClick(window.step_bar.play_button, Qt.MouseButton.LeftButton)
    assert window.controller.runs.playing
    assert window.step_bar.play_button.isChecked()
    assert window.menu_actions.play_steps_action.isChecked()
    qtbot.waitUntil(lambda: not window.controller.runs.playing, timeout=20000)
    assert seen == [s * 100 for s in range(STEPS)]  # from the first (it was at the end)
    assert held[0] is True
    assert not window.step_bar.play_button.isChecked()
    assert_views_show(window, 900)
    assert window.document.undo_text == "Play steps"
    window.controller.undo()
    assert window.document.undo_text == "Open run r"


def test_dragging_the_slider_moves_every_view_and_is_one_undo_step(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    slider = window.step_bar.slider
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider
    )
    start = handle.center()

    def send(kind, pos, buttons):
        button = Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind,
            QPointF(pos),
            QPointF(slider.mapToGlobal(pos)),
            button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(slider, event)

    held = []
    window.controller.sigAnimating.connect(held.append)
    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    assert window.controller.animating
    steps_seen = set()
    for x in np.linspace(start.x(), 0, 12):
        send(QEvent.Type.MouseMove, QPoint(int(x), start.y()), Qt.MouseButton.LeftButton)
        steps_seen.add(shown_step(window))
    send(QEvent.Type.MouseButtonRelease, QPoint(0, start.y()), Qt.MouseButton.NoButton)
    assert shown_step(window) == 0
    assert len(steps_seen) > 3  # it went through the steps on the way
    assert_views_show(window, 0)
    qtbot.waitUntil(lambda: not window.controller.animating, timeout=5000)
    window.controller.undo()
    assert shown_step(window) == 900
    # A key on the slider moves one step.
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert shown_step(window) == 800


def test_a_step_file_damaged_after_opening_says_so_and_stays(qtbot, window, tmp_path):
    folder = write_run(tmp_path / "r")
    open_run(qtbot, window, folder)
    (folder / "step-000800.npy").unlink()
    before = window.document.logits.copy()
    window.controller.runs.step_by(-1)
    assert shown_step(window) == 900
    np.testing.assert_array_equal(window.document.logits, before)
    assert "Not moved to step 800" in window.statusBar().currentMessage()


# --- a live run ----------------------------------------------------------------------------------

WRITER = """
import sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from test_runs_window import step_table, truth
from softmax_lab.core.runs import RunWriter
learned, _ = truth()
writer = RunWriter({folder!r}, resume=True)
for s in range({first}, {last}):
    time.sleep(0.15)
    writer.add(s * 100, step_table(s, learned))
"""


def test_the_window_follows_a_run_that_a_subprocess_writes(qtbot, window, tmp_path):
    folder = write_run(tmp_path / "live", steps=range(2))
    open_run(qtbot, window, folder)
    assert window.controller.runs.steps == [0, 100]
    arrived = []
    window.controller.runs.sigStepsChanged.connect(
        lambda: arrived.append(list(window.controller.runs.steps))
    )
    script = WRITER.format(
        root=str(ROOT), tests=str(Path(__file__).parent), folder=str(folder), first=2, last=8
    )
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    try:
        qtbot.waitUntil(lambda: shown_step(window) == 700, timeout=30000)
    finally:
        assert writer.wait(timeout=30) == 0
    assert len(arrived) > 1  # it followed step by step, not all at the end
    assert window.step_bar.live_label.text() == "● live"
    assert_views_show(window, 700)
    # The dynamics follow too.
    qtbot.waitUntil(lambda: window.controller.runs.dynamics.n_steps == 8, timeout=20000)
    # Not following: new steps reach the slider but the table stays.
    qtbot.mouseClick(window.step_bar.follow_box, Qt.MouseButton.LeftButton)
    assert not window.controller.runs.follow
    script = WRITER.format(
        root=str(ROOT), tests=str(Path(__file__).parent), folder=str(folder), first=8, last=10
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
    # The run is re-read in a worker (its steps change there first); wait for what the user sees.
    qtbot.waitUntil(lambda: window.step_bar.slider.maximum() == 9, timeout=20000)
    assert len(window.controller.runs.steps) == 10
    assert shown_step(window) == 700
    qtbot.mouseClick(window.step_bar.follow_box, Qt.MouseButton.LeftButton)
    assert shown_step(window) == 900


# --- the data map ------------------------------------------------------------------------------


def test_clicking_a_point_of_the_data_map_selects_its_sample(qtbot, window, tmp_path, mouse):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    plot = window.training_panel.data_map
    vb = plot.getPlotItem().getViewBox()
    m = window.controller.runs.map
    sample = int(FLIPPED[2])
    pos = mouse.at(plot, vb, m.variability[sample], m.confidence[sample])
    mouse.send(plot, QEvent.Type.MouseMove, pos, mouse.none, mouse.none)
    assert f"sample {sample} · label" in plot.hover.labels[0].text()
    mouse.click(plot, pos)
    assert window.selected_sample == sample
    assert window.training_panel.trajectory.titles()[0] == f"Sample {sample} · p(true), loss"
    t = window.controller.runs.trajectory
    learned, y = truth()
    assert t.sample == sample
    assert t.label == y[sample]
    np.testing.assert_allclose(
        t.p_true, [evaluate(step_table(s, learned), y).p_true[sample] for s in range(STEPS)]
    )
    row = window.table_model.row_of(sample)
    assert window.table.currentIndex().row() == row
    assert "label cat" in window.training_panel.inputs.caption.text() or "label" in (
        window.training_panel.inputs.caption.text()
    )


@pytest.mark.parametrize("mode", ["lasso", "box"])
def test_a_lasso_or_box_on_the_map_filters_the_table(qtbot, window, tmp_path, mouse, mode):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    panel = window.training_panel
    plot = panel.data_map
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData(mode))
    panel.mode_combo.activated.emit(panel.mode_combo.currentIndex())
    assert plot.select_mode == mode
    vb = plot.getPlotItem().getViewBox()
    m = window.controller.runs.map
    split = m.variability_split
    corners = [(-0.005, -0.02), (0.95 * split, -0.02), (0.95 * split, 0.45), (-0.005, 0.45)]
    path = [*corners, corners[0]] if mode == "lasso" else [corners[0], corners[2]]
    points = [mouse.at(plot, vb, x, y) for x, y in path]
    shapes = []
    plot.sigShapeSelected.connect(lambda v, k: shapes.append((v, k)))
    mouse.drag(plot, points)
    assert len(shapes) == 1
    assert shapes[0][1] == mode
    vertices = shapes[0][0]
    if mode == "box":
        a, b = vertices
        vertices = [a, (b[0], a[1]), b, (a[0], b[1])]
    expected = samples_in_polygon(m.variability, m.confidence, vertices)
    assert expected.size > 0
    filt = window.controller.view.filter
    assert filt.kind == "samples"
    assert sorted(filt.value) == expected.tolist()
    assert filt.label == f"hard-to-learn ({mode})"
    model = window.table_model
    assert {model.sample_at(r) for r in range(model.rowCount())} == set(expected.tolist())
    assert window.filter_note.text() == f"{expected.size} of {N}"
    assert set(FLIPPED) & set(expected.tolist())
    # The inputs strip shows the selection.
    assert set(panel.inputs.thumbnail_samples()) == set(expected.tolist())
    # Steps keep the filter.
    window.controller.runs.step_by(-1)
    assert window.controller.view.filter == filt


def test_an_empty_lasso_changes_nothing(qtbot, window, tmp_path, mouse):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    plot = window.training_panel.data_map
    vb = plot.getPlotItem().getViewBox()
    m = window.controller.runs.map
    top = float(m.variability.max())
    # The top right corner: a high variability needs a middling confidence.
    corners = [(top * 0.8, 0.97), (top * 1.04, 0.97), (top * 1.04, 1.03), (top * 0.8, 1.03)]
    assert samples_in_polygon(m.variability, m.confidence, corners).size == 0
    mouse.drag(plot, [mouse.at(plot, vb, x, y) for x, y in [*corners, corners[0]]])
    assert window.controller.view.filter.is_all
    assert "No sample inside the lasso" in window.statusBar().currentMessage()


# --- the dynamics in the table ----------------------------------------------------------------


def test_sort_by_forgetting_and_see_the_inputs(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    model = window.table_model
    columns = [c.key for c in window.controller.table_columns()]
    column = model.column_of(Column.EXTRA, columns.index("forgetting"))
    assert model.headerData(column, Qt.Orientation.Horizontal) == "forgetting"
    header = window.table.horizontalHeader()
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(column) + 5, 5),
    )
    sort = window.controller.view.sort
    assert sort is not None
    assert sort.key == "extra:forgetting"
    if not sort.descending:
        window.controller.set_sort(Sort("extra:forgetting", True))
    forgetting = window.controller.runs.dynamics.forgetting
    shown = [model.sample_at(r) for r in range(model.rowCount())]
    values = forgetting[shown]
    assert (np.diff(values) <= 0).all()
    top = model.index(0, column).data()
    assert top == f"{int(values[0]):,}"
    assert window.training_panel.inputs.thumbnail_samples() == shown[:48]
    assert "forgetting, highest first" in window.training_panel.inputs.grid_title.text()
    first = model.column_of(Column.EXTRA, columns.index("first learned"))
    never = np.flatnonzero(window.controller.runs.dynamics.first_learned_index < 0)
    if never.size:
        assert model.index(model.row_of(int(never[0])), first).data() == "—"


def test_temperature_and_label_edits_recompute_the_dynamics(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    runs = window.controller.runs
    window.controller.set_options(temperature=2.0)
    qtbot.waitUntil(lambda: runs.dynamics.temperature == 2.0, timeout=20000)
    expected = training_dynamics(load_run(tmp_path / "r"), temperature=2.0)
    np.testing.assert_allclose(runs.dynamics.confidence, expected.confidence)
    assert "T = 2" in window.training_panel.data_map.title()
    assert runs.trajectory.temperature == 2.0
    window.controller.set_options(temperature=1.0)
    qtbot.waitUntil(lambda: runs.dynamics.temperature == 1.0, timeout=20000)
    # Fixing a flipped label moves its sample out of hard-to-learn.
    sample = int(FLIPPED[0])
    assert runs.map.regions[sample] == "hard-to-learn"
    learned, _ = truth()
    window.controller.edit_label(sample, window.document.class_names[learned[sample]])
    qtbot.waitUntil(lambda: runs.map.regions[sample] != "hard-to-learn", timeout=20000)
    assert runs.dynamics.labels[sample] == learned[sample]
    window.controller.select(sample)
    assert runs.trajectory.label == learned[sample]
    window.controller.undo()
    qtbot.waitUntil(lambda: runs.map.regions[sample] == "hard-to-learn", timeout=20000)


def test_clicking_the_trajectory_goes_to_that_step(qtbot, window, tmp_path, mouse):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    window.controller.select(5)
    plot = window.training_panel.trajectory
    vb = plot.p_plot.getViewBox()
    mouse.click(plot, mouse.at(plot, vb, 300, 0.5))
    assert shown_step(window) == 300
    assert plot.current_step() == 300
    mouse.send(plot, QEvent.Type.MouseMove, mouse.at(plot, vb, 500, 0.5), mouse.none, mouse.none)
    assert plot.hover.labels[0].text().startswith("step 500 ·")


def test_opening_a_file_leaves_the_run_and_undo_brings_it_back(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    np.save(tmp_path / "plain.npy", np.zeros((3, 2), dtype=np.float32))
    with qtbot.waitSignal(window.sigFileLoaded, timeout=20000):
        window.load_file(tmp_path / "plain.npy")
    assert window.document.source == "plain.npy"  # a file, no run's step
    assert not window.step_bar.isVisible()
    assert window.controller.view.view_tab == "sample"
    assert [c.key for c in window.controller.table_columns()] == []
    assert not window.menu_actions.run_actions[0].isVisible()
    window.controller.undo()
    assert shown_step(window) == 900
    assert window.step_bar.isVisible()
    qtbot.waitUntil(lambda: window.controller.runs.map is not None, timeout=20000)


def test_main_py_opens_a_run_folder(tmp_path):
    folder = write_run(tmp_path / "exp1")
    out = tmp_path / "shot.png"
    done = subprocess.run(
        [sys.executable, "main.py", str(folder), "--screenshot", str(out), "--no-restore"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 10_000
    on_tab = tmp_path / "sample.png"
    args = [str(folder), "--tab", "sample", "--screenshot", str(on_tab), "--no-restore"]
    done = subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = QImage(str(out)), QImage(str(on_tab))
    assert first.size() == second.size()
    assert first != second  # a run opens on Training; --tab sample is applied after it
    bad = subprocess.run(
        [sys.executable, "main.py", str(tmp_path), "--screenshot", str(out), "--no-restore"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1
    assert "not a Softmax Lab run" in bad.stderr


def test_ignored_samples_are_off_the_map(qtbot, window, tmp_path):
    learned, y = truth()
    y = y.copy()
    y[[0, 1]] = IGNORE_INDEX
    with RunWriter(tmp_path / "r", labels=y) as w:
        for s in range(4):
            w.add(s, step_table(s, learned))
    open_run(qtbot, window, tmp_path / "r")
    index, _ = window.training_panel.data_map.points()
    assert 0 not in index
    assert 1 not in index
    assert index.size == N - 2


def test_a_workspace_saved_on_the_training_tab_opens_without_it(qtbot, window, tmp_path):
    open_run(qtbot, window, write_run(tmp_path / "r"))
    path = tmp_path / "ws.softmaxlab.json"
    window.files.save_workspace(path)
    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.sigFileLoaded):
        other.files.open_workspace(path)
    assert other.controller.view.view_tab == "sample"
    assert other.view_tabs.currentIndex() == 0
    np.testing.assert_array_equal(other.document.logits, window.document.logits)
    assert other.document.source is None  # a workspace keeps the table, not the run
