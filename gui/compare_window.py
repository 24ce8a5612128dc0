"""The window's compare mode: the wiring of the compare header, the Dataset tab's "A vs B" page
and the sample plot's model-B bars to the controller's compare session (``controller.compare``).

Layout and wiring only, as in ``gui.main_window``: numbers come from the session, menus live in
``gui.actions``, files in ``gui.files``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QFontMetrics

from softmax_lab.gui.compare_bar import CompareBar
from softmax_lab.gui.table_model import Column
from softmax_lab.gui.table_view import CELL_PADDING

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.dataset import DatasetPanel
    from softmax_lab.gui.plots import SamplePlot
    from softmax_lab.gui.table_view import LogitsTableView


class CompareUi(QObject):
    """Shows the compare header while two models are compared and keeps it, and the Dataset
    tab's comparison, up to date."""

    def __init__(
        self,
        c: Controller,
        table: LogitsTableView,
        dataset_panel: DatasetPanel,
        sample_plot: SamplePlot,
    ) -> None:
        super().__init__(c)
        self._c = c
        self._table = table
        self._dataset = dataset_panel
        session = c.compare
        self.bar = CompareBar(c.theme)
        """The compare header, for the window to place over the tabs."""
        self.bar.sigStopRequested.connect(session.stop)
        self.bar.sigGradientModelChosen.connect(session.set_gradient_model)
        session.sigGradientModelChanged.connect(self.bar.set_gradient_model)
        session.sigActiveChanged.connect(self._on_active)
        session.sigTemperatureReady.connect(dataset_panel.temperature_view.set_compare_ready)
        c.sigDataChanged.connect(lambda _change, _rows: self._refresh())
        c.sigNamesChanged.connect(self._refresh_dataset)
        c.sigSummaryReady.connect(self._refresh_dataset)
        c.sigViewChanged.connect(
            lambda fields: self._refresh_dataset() if "view_tab" in fields else None
        )
        c.sigStyleChanged.connect(self.bar.set_theme)
        c.sigStyleChanged.connect(lambda _theme: self._fit_outcome())
        sample_plot.sigLogitBDragged.connect(session.drag_logit_b)
        table.table_model().modelReset.connect(self._fit_outcome)
        panel = dataset_panel
        panel.sigCompareCellClicked.connect(session.show_cell)
        panel.sigCompareCellClicked.connect(lambda _a, _b: self.show_results())
        panel.sigCompareTemperatureRequested.connect(session.compare_temperature)
        self._on_active(session.active)

    def show_results(self) -> None:
        """Bring both models' results into view: they lead the table when it is narrow
        (``TableColumn.result``), so the table scrolls back to its start."""
        table = self._table
        table.arrange_columns()
        table.horizontalScrollBar().setValue(0)

    def _fit_outcome(self) -> None:
        """The outcome column is words ("both wrong"): wide enough for them, not elided."""
        keys = [column.key for column in self._c.table_columns()]
        if "outcome" not in keys:
            return
        table = self._table
        column = table.table_model().column_of(Column.EXTRA, keys.index("outcome"))
        width = QFontMetrics(table.font()).horizontalAdvance("both wrong") + CELL_PADDING
        if table.columnWidth(column) < width:
            table.setColumnWidth(column, width)

    def _on_active(self, active: bool) -> None:
        self.bar.setVisible(active)
        self._refresh()
        if active:
            QTimer.singleShot(0, self.show_results)  # after the table has its new columns
        if not active:
            self._dataset.set_comparison(None, ("A", "B"), [])

    def _refresh(self) -> None:
        """The header after any change of the numbers (a few O(N) sums)."""
        session = self._c.compare
        if not session.active:
            return
        self.bar.set_names(session.names)
        self.bar.set_gradient_model(session.gradient_model)
        self.bar.set_header(session.header())

    def _refresh_dataset(self) -> None:
        """The "A vs B" page, when the Dataset tab's numbers are refreshed."""
        c = self._c
        session = c.compare
        if session.active:
            self._dataset.set_comparison(session.dataset(), session.names, c.class_names)
