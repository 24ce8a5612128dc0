"""What samples are, in the window: thumbnails in the table, the selected sample's input shown
large, the filter box, and thumbnail grids in the confusion drill-down and the label issues.
Assertions read what the widgets hold: pixels, texts, tiles."""

import numpy as np
import pytest
from conftest import Mouse
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import softmax_lab
from softmax_lab.core.document import Document
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.view_state import ALL, Filter
from softmax_lab.gui import MainWindow
from softmax_lab.gui.table_model import Column
from softmax_lab.gui.table_rows import IMAGE_COLUMN

N, C = 60, 4


def grey(sample: int) -> int:
    return 10 + 4 * sample  # every sample's image has its own grey level


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, C, N)
    logits = rng.normal(0, 1, (N, C))
    logits[np.arange(N), labels] += 1.0
    images = np.stack([np.full((12, 12), grey(i), dtype=np.uint8) for i in range(N)])
    texts = [f"sample {i} says\nhello number {i}" for i in range(N)]
    metadata = {"split": np.where(np.arange(N) % 3 == 0, "test", "train"), "fold": np.arange(N) % 5}
    return logits, labels, images, texts, metadata


@pytest.fixture
def window(qtbot):
    logits, labels, images, texts, metadata = make_data()
    inputs = SampleInputs.build(N, images, texts, metadata)
    w = MainWindow(Document(logits, labels, [f"c{i}" for i in range(C)], inputs=inputs))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def centre_grey(image) -> int:
    colour = QColor(image.pixel(image.width() // 2, image.height() // 2))
    assert colour.red() == colour.green() == colour.blue()
    return colour.red()


def shown_grey(w) -> int:
    """The grey a user sees in the middle of the selected sample's big picture."""
    canvas = w.inputs_ui.inputs_view.canvas
    picture = canvas.grab().toImage()
    rect = canvas.drawn_rect()
    dpr = picture.devicePixelRatio()
    colour = QColor(picture.pixel(round(rect.center().x() * dpr), round(rect.center().y() * dpr)))
    return colour.red()


def test_the_selected_sample_is_shown_large_with_its_text_and_metadata(qtbot, window):
    ui = window.inputs_ui
    assert ui.inputs_view.isVisible()
    assert shown_grey(window) == grey(0)
    assert ui.inputs_view.text() == "sample 0 says\nhello number 0"
    assert ("split", "test") in ui.inputs_view.metadata()
    # A click on another row of the table, as a user selects a sample.
    table = window.table
    index = window.table_model.index(7, 0)
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(index).center()
    )
    assert window.selected_sample == 7
    assert shown_grey(window) == grey(7)
    assert ui.inputs_view.text().startswith("sample 7 says")
    assert ("fold", "2") in ui.inputs_view.metadata()
    assert ui.inputs_view.canvas.drawn_rect().width() >= 2 * 12  # scaled up, not a stamp


def test_the_table_draws_a_thumbnail_per_row_first_and_texts_on_one_line(qtbot, window):
    model, table = window.table_model, window.table
    columns = window.controller.table_columns()
    image_column = next(
        i
        for i in range(model.columnCount())
        if model.column_kind(i)[0] is Column.EXTRA
        and columns[model.column_kind(i)[1]].key == IMAGE_COLUMN
    )
    header = table.horizontalHeader()
    assert header.visualIndex(image_column) == 0  # what a sample is comes first
    assert model.headerData(image_column, Qt.Orientation.Horizontal) == "image"
    QApplication.processEvents()
    picture = table.viewport().grab().toImage()
    dpr = picture.devicePixelRatio()
    for row in (0, 3):
        centre = table.visualRect(model.index(row, image_column)).center()
        colour = QColor(picture.pixel(round(centre.x() * dpr), round(centre.y() * dpr)))
        assert colour.red() == grey(row)
    text_column = image_column + 1
    assert model.index(1, text_column).data() == "sample 1 says hello number 1"
    assert not window.table.elided_cells()  # numbers still never cut


def test_view_with_images_shows_them_and_a_file_with_inputs_too(qtbot, tmp_path):
    logits, labels, images, texts, metadata = make_data(1)
    viewer = softmax_lab.view(logits, labels, images=images / 255.0, metadata=metadata)
    try:
        viewer.selected = 11
        assert shown_grey(viewer.window) == grey(11)
        assert viewer.window.inputs_ui.inputs_view.text() == ""  # no texts given
    finally:
        viewer.close()
    path = tmp_path / "with_inputs.npz"
    np.savez(path, logits=logits, labels=labels, images=images, texts=np.array(texts), **metadata)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.sigFileLoaded, timeout=20000):
        w.load_file(path)
    w.select_sample(5)
    assert shown_grey(w) == grey(5)
    assert w.inputs_ui.inputs_view.text() == texts[5]
    assert ("split", "train") in w.inputs_ui.inputs_view.metadata()


def test_typing_a_metadata_filter_and_a_search(qtbot, window):
    box = window.inputs_ui.filter_box
    assert box.isVisible()
    assert "split == test" in box.choices()
    assert "fold == 4" in box.choices()
    box.setFocus()
    qtbot.keyClicks(box, "split == test")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    c = window.controller
    shown = [c.sample_at(r) for r in range(window.table_model.rowCount())]
    assert shown == list(range(0, N, 3))
    assert window.filter_combo.currentText() == "split = test"
    assert window.filter_note.text() == f"20 of {N}"
    box.selectAll()
    qtbot.keyClicks(box, "NUMBER 4")  # a search, ignoring case
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert c.view.filter == Filter("search", "NUMBER 4")
    shown = {c.sample_at(r) for r in range(window.table_model.rowCount())}
    assert shown == {4, *range(40, 50)}
    box.selectAll()
    qtbot.keyClicks(box, "colour == red")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert c.view.filter == Filter("search", "NUMBER 4")  # a bad filter changes nothing
    assert "no column named 'colour'" in window.statusBar().currentMessage()
    box.selectAll()
    qtbot.keyClick(box, Qt.Key.Key_Backspace)  # cleared: every sample again
    assert c.view.filter == ALL
    c.set_filter(Filter("column", ("fold", 2)))  # the box renders filters made elsewhere
    assert box.text() == "fold == 2"


def test_the_confusion_drill_down_shows_the_cell_as_thumbnails_worst_first(qtbot, window, mouse):
    window.show_dataset()
    panel = window.dataset_panel
    panel.tabs.setCurrentIndex(1)
    QApplication.processEvents()
    confusion = panel.summary.confusion.copy()
    np.fill_diagonal(confusion, 0)
    t, p = (int(v) for v in np.unravel_index(int(np.argmax(confusion)), confusion.shape))
    view = panel.confusion_view.plot
    vb = view.getPlotItem().getViewBox()
    mouse.click(view, Mouse.at(view, vb, float(p), float(t)))  # x = predicted, y = true
    c = window.controller
    table_order = [c.sample_at(r) for r in range(window.table_model.rowCount())]
    grid = window.inputs_ui.confusion_grid
    assert grid.isVisible()
    assert grid.samples() == table_order
    assert len(table_order) == confusion[t, p]
    losses = c.evaluation.losses[table_order]
    assert list(losses) == sorted(losses, reverse=True)
    assert f"true c{t} predicted as c{p}" in grid.title.text()
    for row, sample in enumerate(grid.samples()):
        assert centre_grey(grid.tile_image(row)) == grey(sample)
    last = len(table_order) - 1
    QTest.mouseClick(
        grid.list.viewport(), Qt.MouseButton.LeftButton, pos=grid.tile_rect(last).center()
    )
    assert window.selected_sample == table_order[last]
    assert shown_grey(window) == grey(table_order[last])


def test_the_label_issues_come_as_thumbnails_too(qtbot, window):
    window.show_dataset()
    panel = window.dataset_panel
    panel.tabs.setCurrentIndex(4)
    grid = window.inputs_ui.issues_grid
    issues = panel.summary.label_issues
    assert grid.samples() == [i.index for i in issues]
    assert grid.tile_text(0).startswith(f"#{issues[0].index} ")
    assert centre_grey(grid.tile_image(0)) == grey(issues[0].index)
    QTest.mouseClick(
        grid.list.viewport(), Qt.MouseButton.LeftButton, pos=grid.tile_rect(1).center()
    )
    assert window.selected_sample == issues[1].index


def test_texts_alone_come_as_snippets_in_the_grids(qtbot):
    rng = np.random.default_rng(2)
    texts = [f"review {i}: " + "very " * 80 + "long" for i in range(30)]
    viewer = softmax_lab.view(rng.normal(size=(30, 3)), rng.integers(0, 3, 30), texts=texts)
    try:
        w = viewer.window
        w.show_dataset()
        grid = w.inputs_ui.issues_grid
        assert grid.isVisible() or not grid.isHidden()
        first = grid.tile_text(0)
        assert first.startswith("review ")
        assert "…" in first
        assert "\n#" in first
        assert w.table_model.index(0, 3 + 1 + 4).data().startswith("review 0: very very")
    finally:
        viewer.close()


def test_without_inputs_nothing_extra_is_shown(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    ui = w.inputs_ui
    assert not ui.inputs_view.isVisible()
    assert not ui.filter_box.isVisible()
    assert ui.confusion_grid.isHidden()
    assert ui.issues_grid.isHidden()
    assert all(c.kind != "image" for c in w.controller.table_columns())


def test_theme_scale_undo_and_row_changes_keep_inputs_and_thumbnails_right(qtbot, window):
    c = window.controller
    c.update_view(theme="dark", scale=2.0)
    assert window.table.verticalHeader().defaultSectionSize() == 68
    c.update_view(theme="light", scale=1.0)
    c.select(4)
    c.duplicate_sample()  # sample 5 is now a copy of 4, the old 5 is 6
    assert window.selected_sample == 5
    assert shown_grey(window) == grey(4)
    c.select(6)
    assert shown_grey(window) == grey(5)
    window.document.undo()
    c.select(5)
    assert shown_grey(window) == grey(5)
    assert c.inputs_session.thumbnail(5).pixelColor(0, 0).red() == grey(5)


def test_the_input_columns_stay_first_as_classes_come_and_go(qtbot, window):
    model, header = window.table_model, window.table.horizontalHeader()

    def headers():
        return [
            model.headerData(header.logicalIndex(v), Qt.Orientation.Horizontal)
            for v in range(model.columnCount())
        ]

    rest = ["label", "pred", "p(true)", "loss", "✓/✗", "split", "fold"]

    def check(classes):
        """The inputs first; the classes in their order; every other column still there (the
        results may lead the classes on a narrow table)."""
        shown = headers()
        assert shown[:2] == ["image", "text"]
        assert [h for h in shown if h in classes] == classes
        assert sorted(shown[2:]) == sorted(classes + rest)

    check(["c0", "c1", "c2", "c3"])
    window.controller.add_class(1)
    check(["c0", "c1", "class 4", "c2", "c3"])
    window.controller.remove_class(0)
    check(["c1", "class 4", "c2", "c3"])
    window.document.undo()
    window.document.undo()
    check(["c0", "c1", "c2", "c3"])


def test_on_a_small_screen_the_input_gives_way_to_the_bars(qtbot, window):
    """Seen at 1024 x 640 with digits: the 230 px picture left the logits plot ~80 px wide."""
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() == 1024)
    QApplication.processEvents()
    row = window.sample_row
    picture, plots = row.sizes()
    assert picture <= 0.25 * (picture + plots) + 1
    assert window.sample_plot.logit_plot.width() > 150
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: window.width() == 1920)
    QApplication.processEvents()
    assert window.inputs_ui.inputs_view.isVisible()
    assert row.sizes()[0] > 150  # room enough: the picture keeps a useful size
