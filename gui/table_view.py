"""The table view: copy/paste of blocks, renaming classes from the header, and columns that
always fit their numbers (labels are picked in :mod:`gui.label_editor`). It renders the
controller's selection, sort and order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFontMetrics, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QTableView,
    QWidget,
)
from superqt.utils import signals_blocked

from softmax_lab.core.constants import elide
from softmax_lab.core.parsing import format_block, parse_block
from softmax_lab.gui.label_editor import LabelDelegate
from softmax_lab.gui.table_model import RESULT_COLUMNS, Column, LogitsTableModel
from softmax_lab.gui.theme import Theme
from softmax_lab.gui.thumbnails import ThumbnailDelegate

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

CELL_PADDING = 14  # px around a cell's text (the style's margins and the grid line)
ROW_HEIGHT, IMAGE_ROW_HEIGHT = 24, 34  # px at scale 1; rows are taller when they show images
TEXT_COLUMN_WIDTH = 220  # px at scale 1 for a column of texts (elided; the tooltip has it all)
# The widest texts ``core.formatting.number`` gives a probability or a loss (# is the font's
# widest digit; the exponent has 3 digits in float64; a loss of 1,000 or more widens it once):
# while T plays or a logit is dragged those columns are this wide from the first frame, so they
# do not widen frame after frame and push the logits off. At rest they fit their numbers.
PROBABILITY_TEXTS = ("#.####", "#.###e−##")
LOSS_TEXTS = ("###.####", "#.###e−##")


NAME_COLUMNS = (Column.LABEL, Column.PREDICTION, Column.MARK)
"""Columns of names and marks, as wide as their texts (see ``_fit_name_column``)."""


class LogitsTableView(QTableView):
    """Copy (Ctrl+C) and paste (Ctrl+V) blocks; double-click a class header to rename it."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        self._inputs_first: list[int] = []  # thumbnail and text columns, shown first
        self.wanted: set[str] = set()
        """What a lesson step needs in view ("targets", "logits"): shown next to the results."""
        # At the desk PgUp/PgDn page through rows when the table has focus; in presentation
        # mode the window's preset shortcuts take them.
        self.pages_rows = True
        self._label_delegate = LabelDelegate(self)
        self._thumbnail_delegate = ThumbnailDelegate(self)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setWordWrap(False)
        # By pixel: fully right is the last column's right edge at the viewport's (by column,
        # Qt can stop with the last column cut).
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(40)
        header.sectionDoubleClicked.connect(self._rename_from_header)
        self._fit_timer = QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self.fit_columns)
        self._fit_rows: set[int] | None = None  # rows to measure next (None: every visible row)
        self._fit_rows_all = True
        self.verticalScrollBar().valueChanged.connect(self.refit)
        self.horizontalScrollBar().valueChanged.connect(self.refit)

        model = self._model = LogitsTableModel(controller, self)
        self.setModel(model)
        # Header clicks sort (the controller orders rows in numpy); start in table order.
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        self._selected_in_view = False  # before a new order: was the selected row in view?
        model.modelAboutToBeReset.connect(self._note_selected_in_view)
        model.modelReset.connect(self._after_reset)
        model.dataChanged.connect(self._on_cells_changed)
        self.selectionModel().currentRowChanged.connect(self._on_current_row)
        controller.sigSelectionChanged.connect(self.show_sample)
        controller.sigViewChanged.connect(self._on_view_changed)
        controller.sigAnimating.connect(lambda on: self.fit_columns() if on else None)
        self._after_reset()
        self.set_theme(controller.theme)

    def table_model(self) -> LogitsTableModel:
        return self._model

    # --- controller -> view ---------------------------------------------------------------------

    def _after_reset(self) -> None:
        model = self.table_model()
        # A list of a 128k-token vocabulary is no way to pick a label: there, one is typed.
        listed = model.class_columns == self._c.document.n_classes
        for column in range(model.columnCount()):
            kind, _ = model.column_kind(column)
            self.setItemDelegateForColumn(
                column,
                self._label_delegate if kind is Column.LABEL and listed else self.itemDelegate(),
            )
        self._place_input_columns()
        self._render_sort_indicator()
        self.show_sample(self._c.selected, scroll="order")
        self._size_columns()
        self.refit()  # again once the layout has settled (a scroll bar may come or go)

    def _size_columns(self) -> None:
        """A new table: its own numbers size its columns, not the last's — reset to their titles,
        then fitted to the numbers in view, before the table is first painted. Qt hears of the
        widths that end up changed only: re-opening a file resets its columns and widens them
        back as they were, and hearing of each step repainted the window twice after its first
        paint (on the first edit after opening)."""
        header = self.horizontalHeader()
        count = header.count()
        before = [(header.sectionSize(c), header.visualIndex(c)) for c in range(count)]
        with signals_blocked(header):
            self._reset_widths()
            self._fit_rows = None
            self.fit_columns()
        after = [(header.sectionSize(c), header.visualIndex(c)) for c in range(count)]
        if [v for _, v in before] != [v for _, v in after]:  # arrange_columns moved some
            self.updateGeometries()
            self.viewport().update()
        for column, ((old, _), (new, _)) in enumerate(zip(before, after, strict=True)):
            if old != new:
                header.sectionResized.emit(column, old, new)

    def _reset_widths(self) -> None:
        """Every column but the inputs back to its title's width (texts: the default width), to
        be widened again by ``fit_columns`` to what its numbers need (after a new table or a new
        scale)."""
        model = self.table_model()
        default = self.horizontalHeader().defaultSectionSize()
        metrics = QFontMetrics(self.horizontalHeader().font())
        for column in range(model.columnCount()):
            if column in self._inputs_first:
                continue
            width = default
            if model.holds_numbers(column) or model.column_kind(column)[0] in NAME_COLUMNS:
                title = elide(str(model.headerData(column, Qt.Orientation.Horizontal) or "✓/✗"))
                width = metrics.horizontalAdvance(title) + 16
            if self.columnWidth(column) != width:
                self.setColumnWidth(column, width)

    def _place_input_columns(self) -> None:
        """Thumbnails drawn by their delegate in taller rows; texts wide enough to read."""
        model, scale = self.table_model(), self._c.view.scale
        columns = self._c.table_columns()
        self.verticalHeader().setDefaultSectionSize(self._row_height(scale))
        front: list[int] = []
        for column in range(model.columnCount()):
            kind, index = model.column_kind(column)
            if kind is not Column.EXTRA:
                continue
            if columns[index].kind == "image":
                self.setItemDelegateForColumn(column, self._thumbnail_delegate)
                header_width = QFontMetrics(self.horizontalHeader().font()).horizontalAdvance(
                    str(model.headerData(column, Qt.Orientation.Horizontal))
                )
                self.setColumnWidth(column, max(self._row_height(scale), header_width) + 16)
                front.insert(0, column)
            elif columns[index].kind == "text" and columns[index].key == "text":
                self.setColumnWidth(column, round(TEXT_COLUMN_WIDTH * scale))
                front.append(column)
        self._inputs_first = front
        self.arrange_columns()

    def _row_height(self, scale: float) -> int:
        images = self._c.document.inputs.images is not None
        return round((IMAGE_ROW_HEIGHT if images else ROW_HEIGHT) * scale)

    def _render_sort_indicator(self) -> None:
        """The header's arrow sits on the column the table is sorted by (none for a statistic
        that has no column, such as the margin)."""
        with signals_blocked(self.horizontalHeader()):
            column = self.table_model().column_for_sort(self._c.view.sort)
            descending = self._c.view.sort is not None and self._c.view.sort.descending
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            self.horizontalHeader().setSortIndicator(column, order)

    def _on_view_changed(self, fields: frozenset[str]) -> None:
        if "show_probabilities" in fields:
            self._render_sort_indicator()  # a logit column now shows probabilities
            self.refit()

    def _note_selected_in_view(self) -> None:
        index = self.currentIndex()
        if not index.isValid():
            self._selected_in_view = False
            return
        y = self.rowViewportPosition(index.row())
        self._selected_in_view = y + self.rowHeight(index.row()) > 0 and (
            y < self.viewport().height()
        )

    def show_sample(self, sample: int, scroll: str = "keep") -> None:
        """Make ``sample``'s row current (without echoing it back) and bring it into view. After a
        new order (``scroll="order"``: a sort, a filter, a new table) the table shows its first
        row, unless the selected sample was in view before and still is shown: then it stays in
        view."""
        model = self.table_model()
        row = model.row_of(sample)
        was_in_view, self._selected_in_view = self._selected_in_view, False
        if row is None or (scroll == "order" and not was_in_view):
            if row is None:
                self.selectionModel().clear()
            else:
                self._make_current(row)
            if scroll == "order":
                self.scrollToTop()
            return
        self._make_current(row, into_view=True)

    def _make_current(self, row: int, *, into_view: bool = False) -> QModelIndex:
        """Make ``row`` current and selected, without the selection model's signals (the view
        would echo the row back to the controller); ``into_view``: scroll its row into view.
        The view hears of no change, so the cells that changed are repainted here: the ones
        selected before and the old and new current cell, not every visible cell (a scroll
        repaints only the rows it brings in)."""
        model = self.table_model()
        selection = self.selectionModel()
        before, old = QItemSelection(selection.selection()), self.currentIndex()
        index = model.index(row, min(max(0, old.column()), model.columnCount() - 1))
        with signals_blocked(selection):
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if into_view:
            # Bring the row into view, not the column: a sample chosen elsewhere (a plot, a
            # lesson step) must not scroll the result columns away.
            left = self.horizontalScrollBar().value()
            self.scrollTo(index)
            self.horizontalScrollBar().setValue(left)
        region = self.visualRegionForSelection(before)
        for changed in (old, index):
            if changed.isValid():
                region = region.united(self.visualRect(changed))
        self.viewport().update(region)
        return index

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._c.select(self.table_model().sample_at(current.row()))

    def set_theme(self, theme: Theme) -> None:
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (self, self.horizontalHeader(), self.verticalHeader()):
            widget.setFont(font)
        self.verticalHeader().setDefaultSectionSize(self._row_height(theme.scale))
        self.horizontalHeader().setDefaultSectionSize(round(62 * theme.scale))
        self._reset_widths()  # Ctrl − after Ctrl +: the columns shrink back to what they need
        # The selection must not look like the logit shading (blue, deeper for larger p).
        palette = self.palette()
        highlight = QColor(theme.selection)
        highlight.setAlpha(255)
        palette.setColor(QPalette.ColorRole.Highlight, highlight)
        palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
        self.setPalette(palette)
        self.refit()

    def dataChanged(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: Sequence[int] = (),
    ) -> None:
        """One row changed (an edit, a drag): repaint that row's strip only. Qt repaints the
        whole viewport for any range of more than one cell, which at 1,000 classes is every
        visible cell after each edit."""
        row = top_left.row()
        if (
            row == bottom_right.row()
            and self.state() != QAbstractItemView.State.EditingState
            and self.isVisible()
        ):
            y = self.rowViewportPosition(row)
            if y >= -self.rowHeight(row) and y < self.viewport().height():
                self.viewport().update(0, y, self.viewport().width(), self.rowHeight(row))
            return
        super().dataChanged(top_left, bottom_right, list(roles))

    def _on_cells_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        if top_left.row() == bottom_right.row() and self._fit_rows is not None:
            self._fit_rows.add(top_left.row())  # an edit: measure that row only
        else:
            self._fit_rows = None
        self._fit_timer.start()

    def fit_columns(self) -> None:
        """Widen every visible column whose numbers do not fit: a number is never elided."""
        model = self.table_model()
        rows_to_fit, self._fit_rows = self._fit_rows, set()
        self._fit_rows_all = rows_to_fit is None
        if model.rowCount() == 0:
            return
        metrics = QFontMetrics(self.font())
        header_metrics = QFontMetrics(self.horizontalHeader().font())
        top = max(0, self.rowAt(0))
        bottom = self.rowAt(self.viewport().height() - 1)
        bottom = model.rowCount() - 1 if bottom < 0 else bottom
        rows = range(top, bottom + 1) if rows_to_fit is None else sorted(rows_to_fit)
        # Visual positions: the input columns are moved to the front (see _place_input_columns).
        header = self.horizontalHeader()
        left = max(0, header.visualIndexAt(0))
        right = header.visualIndexAt(self.viewport().width() - 1)
        right = model.columnCount() - 1 if right < 0 else right
        widened = False
        bar = self.horizontalScrollBar()
        at_right = bar.maximum() > 0 and bar.value() == bar.maximum()
        for column in [header.logicalIndex(v) for v in range(left, right + 1)]:
            kind, _ = model.column_kind(column)
            if kind in NAME_COLUMNS:
                widened |= self._fit_name_column(column, rows, metrics, header_metrics)
                continue
            if not model.holds_numbers(column):
                continue  # texts may be elided (a tooltip shows them); numbers may not
            needed = self._format_width(column, metrics)
            for row in rows:
                text = model.display_text(row, column)
                if text:
                    needed = max(needed, metrics.horizontalAdvance(str(text)))
            # The header is read whole too (elided past the name limit, its tooltip has all).
            title = elide(str(model.headerData(column, Qt.Orientation.Horizontal) or "✓/✗"))
            needed = max(needed + CELL_PADDING, header_metrics.horizontalAdvance(title) + 16)
            if needed > self.columnWidth(column):
                self.setColumnWidth(column, needed)
                widened = True
        if widened:
            self.updateGeometries()  # the scroll range for the new widths, now
            if at_right:  # scrolled fully right: the widened last column stays whole
                bar.setValue(bar.maximum())
        # An edit's row that widened nothing cannot change which columns fit: the arrangement
        # (a pass over every column, 1,000 at 1,000 classes) is left as it is.
        if rows_to_fit is not None and not widened:
            return
        if self.arrange_columns() and rows_to_fit is None:
            self._fit_rows = None
            self.fit_columns()  # other columns came into view: they are fitted too

    def _format_width(self, column: int, metrics: QFontMetrics) -> int:
        """While something animates: the width of the widest text a probability or loss
        column's format gives (else 0; logits and extra columns fit the numbers they hold)."""
        if not self._c.animating:
            return 0
        model = self.table_model()
        kind, _ = model.column_kind(column)
        if kind in (Column.P_TRUE, Column.SOFT) or (
            kind is Column.CLASS and model.show_probabilities
        ):
            texts = PROBABILITY_TEXTS
        elif kind is Column.LOSS:
            texts = LOSS_TEXTS
        else:
            return 0
        wide = "#" if self._c.document.settings.dtype == "float64" else ""
        digit = max("0123456789", key=metrics.horizontalAdvance)
        return max(
            metrics.horizontalAdvance(t.replace("e−##", f"e−##{wide}").replace("#", digit))
            for t in texts
        )

    def _fit_name_column(self, column: int, rows, metrics, header_metrics) -> bool:
        """Label, prediction and ✓/✗ columns as wide as their names (up to the elision limit)
        and no wider: on a small screen every pixel goes to the numbers."""
        model = self.table_model()
        header = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        needed = header_metrics.horizontalAdvance(header) + 16
        for row in rows:
            text = elide(str(model.display_text(row, column) or ""))
            needed = max(needed, metrics.horizontalAdvance(text) + CELL_PADDING)
        if needed > self.columnWidth(column) or self._fit_rows_all:
            changed = needed != self.columnWidth(column)
            self.setColumnWidth(column, needed)
            return changed
        return False

    def arrange_columns(self) -> bool:
        """The header's order (the model's never changes): what a sample is (its thumbnail, its
        text) first; then, when every column does not fit, the label and the results (pred,
        p(true), loss, ✓/✗, other models' results) before the class columns, so what a sample's
        row says is never scrolled away."""
        model = self.table_model()
        header = self.horizontalHeader()
        n = model.columnCount()
        width = sum(self.columnWidth(c) for c in range(n))
        front = self._front(narrow=width > self.viewport().width())
        order = front + [c for c in range(n) if c not in front]
        moved = False
        for visual, logical in enumerate(order):
            current = header.visualIndex(logical)
            if current != visual:
                header.moveSection(current, visual)
                moved = True
        if moved:
            self.horizontalScrollBar().setValue(0)  # the sample and its results, first, in view
        return moved

    def _front(self, *, narrow: bool) -> list[int]:
        """The columns shown first: the inputs; when not all fit, the results and the columns a
        lesson step needs (``wanted``: "targets", "logits") too."""
        model = self.table_model()
        n = model.columnCount()
        extras = self._c.table_columns()
        inputs = [c for c in self._inputs_first if c < n]
        results = [c for c in range(n) if self._is_result(model.column_kind(c), extras)]
        wanted = {Column.LABEL, Column.SOFT} if "targets" in self.wanted else set()
        if "logits" in self.wanted:
            wanted.add(Column.CLASS)
        needed = [c for c in range(n) if model.column_kind(c)[0] in wanted and c not in results]
        if not narrow or len(inputs) + len(results) >= n:
            return inputs
        return inputs + [c for c in results + needed if c not in inputs]

    @staticmethod
    def _is_result(kind: tuple[Column, int], extras) -> bool:
        """The label, the results and the extra columns that are results (``TableColumn.result``:
        another model's loss, a sample's statistic) — what a row says about its sample."""
        if kind[0] is Column.EXTRA:
            return 0 <= kind[1] < len(extras) and extras[kind[1]].result
        return kind[0] in (Column.LABEL, *RESULT_COLUMNS)

    def full_width(self) -> int:
        """The width that shows every column without scrolling (header, frame, scroll bar)."""
        return self._width_of(range(self.table_model().columnCount()))

    def front_width(self) -> int:
        """The width that shows the columns ``arrange_columns`` puts first when not all fit."""
        return self._width_of(self._front(narrow=True))

    def _width_of(self, columns) -> int:
        shown = sum(self.columnWidth(c) for c in columns if not self.isColumnHidden(c))
        bar = self.verticalScrollBar()
        scroll = bar.sizeHint().width() if bar.maximum() > 0 else 0
        return shown + self.verticalHeader().width() + 2 * self.frameWidth() + scroll

    def all_columns_visible(self) -> bool:
        """Whether every column is in view without scrolling sideways."""
        return self.horizontalScrollBar().maximum() == 0

    def column_in_view(self, column: int) -> bool:
        """Whether all of ``column`` is in the viewport (not scrolled away, not cut)."""
        x = self.columnViewportPosition(column)
        return x >= 0 and x + self.columnWidth(column) <= self.viewport().width()

    def results_visible(self) -> bool:
        """Whether the label and result columns are all in view without scrolling."""
        model = self.table_model()
        viewport = self.viewport().rect()
        for column in range(model.columnCount()):
            if model.column_kind(column)[0] in (Column.LABEL, *RESULT_COLUMNS):
                x = self.columnViewportPosition(column)
                if x < 0 or x + self.columnWidth(column) > viewport.width():
                    return False
        return True

    def elided_cells(self) -> list[tuple[int, int, str]]:
        """(row, column, text) of every visible number cell whose text does not fit its column
        (what a user would see cut short)."""
        model = self.table_model()
        metrics = QFontMetrics(self.font())
        out = []
        top, bottom = max(0, self.rowAt(0)), self.rowAt(self.viewport().height() - 1)
        bottom = model.rowCount() - 1 if bottom < 0 else bottom
        for row in range(top, bottom + 1):
            for column in range(model.columnCount()):
                if not model.holds_numbers(column) or self.isColumnHidden(column):
                    continue
                x = self.columnViewportPosition(column)
                if x >= self.viewport().width() or x + self.columnWidth(column) <= 0:
                    continue  # scrolled out of view: fitted when it is scrolled in
                text = str(model.index(row, column).data())
                if metrics.horizontalAdvance(text) + CELL_PADDING - 4 > self.columnWidth(column):
                    out.append((row, column, text))
        return out

    def fit_now(self) -> None:
        """Fit every visible column now rather than soon (a scale change: the stage splits
        the width by what the columns need at the new type size)."""
        self._fit_timer.stop()
        self._fit_rows = None
        self.fit_columns()

    def refit(self, *_args: object) -> None:
        """Measure every visible row soon (after a scroll, a resize, a new order or theme)."""
        self._fit_rows = None
        self._fit_timer.start()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refit()

    # --- rename ---------------------------------------------------------------------------------

    def _rename_from_header(self, section: int) -> None:
        kind, cls = self.table_model().column_kind(section)
        if kind is Column.CLASS:
            self.rename_dialog(cls)

    def rename_dialog(self, cls: int) -> None:
        old = self._c.class_names[cls]
        name, ok = QInputDialog.getText(self, "Rename class", f"New name for {old!r}:", text=old)
        if ok:
            self._c.rename_class(cls, name)

    def current_class(self) -> int:
        """The class of the current column (the last class for the other columns)."""
        kind, cls = self.table_model().column_kind(max(0, self.currentIndex().column()))
        return cls if kind in (Column.CLASS, Column.SOFT) else self._c.document.n_classes - 1

    def selected_samples(self) -> list[int]:
        model = self.table_model()
        return sorted({model.sample_at(i.row()) for i in self.selectedIndexes()})

    # --- keys and clipboard ---------------------------------------------------------------------

    def event(self, event) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and self.pages_rows
            and event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste(QGuiApplication.clipboard().text())
        else:
            super().keyPressEvent(event)

    def copy_selection(self) -> str:
        """Selected cells as tab-separated text (logits at full precision) to the clipboard."""
        indexes = self.selectedIndexes() or (
            [self.currentIndex()] if self.currentIndex().isValid() else []
        )
        if not indexes:
            return ""
        rows = sorted({i.row() for i in indexes})
        cols = sorted({i.column() for i in indexes})
        model = self.table_model()
        if all(model.column_kind(c)[0] is Column.CLASS for c in cols) and not (
            model.show_probabilities
        ):
            samples = [model.sample_at(r) for r in rows]
            text = format_block(self._c.document.logits[samples][:, cols])
        else:
            text = "\n".join("\t".join(str(model.index(r, c).data()) for c in cols) for r in rows)
        QGuiApplication.clipboard().setText(text)
        self._c.sigMessage.emit(f"Copied {len(rows)} x {len(cols)} cells")
        return text

    def paste(self, text: str) -> None:
        """Paste a block of logits at the top-left of the selection; rows grow, columns clip."""
        model = self.table_model()
        indexes = self.selectedIndexes() or [self.currentIndex()]
        valid = [i for i in indexes if i.isValid()]
        row = min((i.row() for i in valid), default=0)
        col = min((i.column() for i in valid), default=0)
        if model.column_kind(col)[0] is not Column.CLASS or model.show_probabilities:
            self._c.sigMessage.emit("Not pasted: select a logit cell (in the logits view) first")
            return
        try:
            block = parse_block(text)
        except ValueError as exc:
            self._c.sigMessage.emit(f"Not pasted: {exc}")
            return
        self._c.paste(row, col, block)
