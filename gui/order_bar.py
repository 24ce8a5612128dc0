"""The bar above the table: the Show and Sort boxes and the count of samples shown. It renders
the view state's filter and sort (the table reads the same fields) and sends choices back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget
from superqt.utils import signals_blocked

from softmax_lab.core.changes import Change
from softmax_lab.core.view_state import ALL, SORT_CHOICES, Filter

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.table_model import LogitsTableModel
    from softmax_lab.gui.theme import Theme

FILTER_CLASSES = 200  # the Show box lists true/predicted filters for this many classes
STALE_CHECK_MS = 150  # after a burst of edits, whether the sort and filter still hold
DESCRIBED = Qt.ItemDataRole.UserRole + 1  # an item that says a header-click sort or drill-down


class OrderBar(QWidget):
    """Show ▾  Sort ▾  "12 of 80"; made by ``MainWindow``, wired to the controller here."""

    def __init__(self, controller: Controller, model: LogitsTableModel) -> None:
        super().__init__()
        self._c = c = controller
        self._model = model
        self.filter_combo = QComboBox()
        self.filter_combo.setToolTip("show only some samples")
        self.sort_combo = QComboBox()
        self.sort_combo.setToolTip("order the table by a per-sample statistic")
        for combo in (self.filter_combo, self.sort_combo):
            # Long class names must not widen the window past a small laptop's screen.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(10)
        self.note = QLabel()
        # After an edit the rows keep their place (a user typing in one must not lose it); the
        # note says when the sort or filter no longer holds and this button re-applies them.
        self.reapply_button = QPushButton("Re-apply")
        self.reapply_button.setToolTip("Sort and filter again by the edited numbers")
        self.reapply_button.hide()
        self._stale = False
        self._stale_timer = QTimer(self, singleShot=True, interval=STALE_CHECK_MS)
        self._stale_timer.timeout.connect(self._check_stale)
        self.labels = (QLabel("Show"), QLabel("Sort"))
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.labels[0])
        bar.addWidget(self.filter_combo, 2)
        bar.addWidget(self.labels[1])
        bar.addWidget(self.sort_combo, 2)
        bar.addWidget(self.note, 1)
        bar.addWidget(self.reapply_button)
        self.reapply_button.clicked.connect(c.reapply_order)
        self.filter_combo.activated.connect(
            lambda i: c.set_filter(self.filter_combo.itemData(i) or ALL)
        )
        self.sort_combo.activated.connect(lambda i: c.set_sort(self.sort_combo.itemData(i)))
        c.sigOrderChanged.connect(self.render_state)
        c.sigLayoutChanged.connect(self.render_state)
        c.sigDataChanged.connect(self._on_data_changed)
        c.sigNamesChanged.connect(self.rebuild)
        c.sigCompareChanged.connect(lambda _on: self.rebuild())
        self.render_state()

    def set_theme(self, theme: Theme) -> None:
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (
            self.filter_combo,
            self.sort_combo,
            self.note,
            self.reapply_button,
            *self.labels,
        ):
            widget.setFont(font)

    def _on_data_changed(self, change: Change, _rows: object) -> None:
        if change & (Change.NAMES | Change.STRUCTURE):
            self.rebuild()
        self._stale_timer.start()

    def _check_stale(self) -> None:
        """After edits (once a burst): do the sort and filter still hold? Say so if not."""
        stale = self._c.order_is_stale()
        if stale != self._stale:
            self._stale = stale
            self._render_note()

    def rebuild(self) -> None:
        """Fill the boxes again: class names or compare mode changed what they offer."""
        combo = self.filter_combo
        c = self._c
        names = c.class_names
        with signals_blocked(combo):
            combo.clear()
            for filt in (ALL, Filter("wrong"), Filter("non-finite"), *c.row_filters()):
                combo.addItem(filt.describe(names), filt)
            for kind in ("class", "predicted"):
                for i in range(min(len(names), FILTER_CLASSES)):
                    filt = Filter(kind, i)
                    combo.addItem(filt.describe(names), filt)
        with signals_blocked(self.sort_combo):
            self.sort_combo.clear()
            for text, sort in (*SORT_CHOICES, *c.row_sorts()):
                self.sort_combo.addItem(text, sort)
        self.render_state()

    def render_state(self) -> None:
        """The boxes and the count say what the table does."""
        c = self._c
        names = c.class_names
        if self.filter_combo.count() == 0:
            self.rebuild()
            return
        sort = c.view.sort
        for combo, value, describe in (
            (self.filter_combo, c.view.filter, c.view.filter.describe(names)),
            (self.sort_combo, sort, "table order" if sort is None else sort.describe(names)),
        ):
            with signals_blocked(combo):
                index = next((i for i in range(combo.count()) if combo.itemData(i) == value), -1)
                if index < 0:  # a header-click sort or a drill-down filter: say so in the box
                    for i in range(combo.count() - 1, -1, -1):
                        if combo.itemData(i, DESCRIBED):
                            combo.removeItem(i)
                    combo.addItem(describe, value)
                    index = combo.count() - 1
                    combo.setItemData(index, True, DESCRIBED)
                combo.setCurrentIndex(index)
        self._stale = False  # just applied
        self._render_note()

    def _render_note(self) -> None:
        c = self._c
        shown = c.row_count()
        total = c.document.n_samples
        note = self._model.hidden_classes_note()  # "128,256 classes: no logit columns (…"
        count = "" if c.view.filter.is_all else f"{shown:,} of {total:,}"
        stale = "stale after edits" if self._stale else ""
        self.note.setText(" · ".join(filter(None, [count, stale, note.split(" (")[0]])))
        self.note.setVisible(bool(self.note.text()))  # else the boxes get its room
        self.note.setToolTip(note)
        self.reapply_button.setVisible(self._stale)
