"""What a click on a token costs, counted (no timing): the work the Sequence tab's click must not
grow back (issue 25 item 3, ``bench/sequences.py`` click_sequence_floor).

A click moves an outline and the table's current cell and writes the position out: repainted are
the two chips and the two cells that changed, and the candidates below the text; the rest of the
Sequence tab (its header, legend, sequences table) is neither laid out again nor repainted, and a
repaint of the table works out no theme and no column kinds afresh.
"""

import pytest
from lm_logits import make_lm_file
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QRegion
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from softmax_lab.gui import MainWindow
from softmax_lab.gui import table_model as table_model_module
from softmax_lab.gui.theme import Theme


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return make_lm_file(tmp_path_factory.mktemp("lm"))


@pytest.fixture
def opened(qtbot, lm):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.sigFileLoaded, timeout=30000):
        w.load_file(lm.path)
    w.controller.update_view(side_tab="formula")
    return w


class Paints(QObject):
    """The region each watched widget was asked to paint since ``reset``, and the layout
    requests and resizes each received."""

    def __init__(self, widgets) -> None:
        super().__init__()
        self.widgets = list(widgets)
        self.regions: dict = {}
        self.layouts: dict = {}
        self.resizes: dict = {}
        for widget in self.widgets:
            widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.regions[obj] = self.regions.get(obj, QRegion()).united(event.region())
        elif event.type() == QEvent.Type.LayoutRequest:
            self.layouts[obj] = self.layouts.get(obj, 0) + 1
        elif event.type() == QEvent.Type.Resize:
            self.resizes[obj] = self.resizes.get(obj, 0) + 1
        return False

    def reset(self) -> None:
        self.regions.clear()
        self.layouts.clear()
        self.resizes.clear()


def _settle() -> None:
    """Deliver what the click posted (layout requests, then the repaints they ask for)."""
    for _ in range(4):
        QCoreApplication.sendPostedEvents()
        QApplication.processEvents()


def _click_chip(tokens, chip: int) -> None:
    center = QPoint(*map(int, tokens.chip_rect(chip).center().toTuple()))
    QTest.mouseClick(tokens, Qt.MouseButton.LeftButton, pos=center)


def _chip_room(tokens, chip: int) -> QRegion:
    return QRegion(tokens.chip_rect(chip).toAlignedRect().adjusted(-4, -4, 4, 4))


def _cell_room(table, index) -> QRegion:
    """A cell with its grid line."""
    return QRegion(table.visualRect(index).adjusted(-1, -1, 1, 1))


def test_a_token_click_repaints_the_two_chips_the_two_cells_and_the_candidates(qtbot, opened):
    view, table = opened.sequence_view, opened.table
    tokens = view.tokens
    _click_chip(tokens, 3)
    _settle()
    before = table.currentIndex()
    still = [
        view.header,
        view.legend,
        view.tokenizer_button,
        view.sequences.viewport(),
        view.splitter,
        opened.view_tabs,
    ]
    paints = Paints([tokens, table.viewport(), view.details, *still])
    _click_chip(tokens, 4)  # the next position: its row is in view, nothing scrolls
    qtbot.waitUntil(lambda: all(w in paints.regions for w in paints.widgets[:3]))
    _settle()

    assert opened.selected_sample == 3
    assert tokens.selected_chip() == 4
    chips = _chip_room(tokens, 3).united(_chip_room(tokens, 4))
    assert paints.regions[tokens].subtracted(chips).isEmpty()
    assert paints.regions[tokens] != QRegion(tokens.rect())
    cells = _cell_room(table, before).united(_cell_room(table, table.currentIndex()))
    assert table.currentIndex().row() == before.row() + 1
    assert paints.regions[table.viewport()].subtracted(cells).isEmpty()
    assert "position" in view.details.text()  # the candidates were written and repainted
    for widget in still:
        assert widget not in paints.regions, type(widget).__name__
        assert widget not in paints.layouts, type(widget).__name__


def test_a_click_that_scrolls_the_table_repaints_the_rows_it_brings_in(qtbot, opened):
    view, table = opened.sequence_view, opened.table
    tokens = view.tokens
    _click_chip(tokens, 1)
    _settle()
    table.scrollToTop()
    _settle()
    last = table.rowAt(table.viewport().height() - 1)
    assert last > 4
    paints = Paints([table.viewport()])
    _click_chip(tokens, last + 4)  # a position below the rows in view: the table scrolls
    qtbot.waitUntil(lambda: table.viewport() in paints.regions)
    _settle()

    row = table.currentIndex().row()
    assert row == table.model().row_of(opened.selected_sample) > last
    viewport = table.viewport().rect()
    assert table.rowAt(0) > 0  # it scrolled
    assert table.rowAt(viewport.height() - 1) >= row
    painted = paints.regions[table.viewport()].boundingRect()
    assert painted.height() < viewport.height()  # the rows that stayed in view moved, unpainted
    assert painted.bottom() >= table.visualRect(table.currentIndex()).bottom()


def test_a_table_repaint_works_out_no_theme_and_no_column_kinds(qtbot, opened, monkeypatch):
    table = opened.table
    _click_chip(opened.sequence_view.tokens, 3)
    table.viewport().repaint()  # the first paint after a change may work them out once
    themes, kinds = [], []
    scaled, class_columns = Theme.scaled, table_model_module.table_class_columns
    monkeypatch.setattr(Theme, "scaled", lambda *a: themes.append(a) or scaled(*a))
    monkeypatch.setattr(
        table_model_module,
        "table_class_columns",
        lambda *a: kinds.append(a) or class_columns(*a),
    )
    model = table.model()
    paints = Paints([table.viewport()])
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole)
    cells = [model.index(r, c) for r in range(5) for c in range(model.columnCount())]
    shown = [model.data(i, role) for i in cells for role in roles]
    table.viewport().repaint()

    assert table.viewport() in paints.regions
    assert sum(v is not None for v in shown) >= len(cells)
    assert themes == []
    assert kinds == []


def test_the_formula_of_a_clicked_position_is_laid_out_once(qtbot, opened):
    """Its text is swapped without the scroll bar going and coming back: no resize of the text's
    viewport (each one lays the whole formula out again)."""
    tokens = opened.sequence_view.tokens
    browser = opened.formula_panel._browser
    _click_chip(tokens, 3)
    _settle()
    assert browser.verticalScrollBar().isVisible()  # the formula is taller than its panel
    paints = Paints([browser.viewport()])
    _click_chip(tokens, 4)
    qtbot.waitUntil(lambda: browser.viewport() in paints.regions)
    _settle()

    assert opened.selected_sample == 3
    assert "Sample 3" in opened.formula_panel.text()
    assert browser.verticalScrollBar().isVisible()
    assert paints.resizes == {}
