"""The Dataset tab: the dataset views in sub-tabs, fed one ``core.metrics.DatasetSummary``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from gui.dataset.agreement import ComparisonView
from gui.dataset.confusion import ConfusionView
from gui.dataset.histograms import HistogramView
from gui.dataset.predictions import PredictionsView
from gui.dataset.reliability import ReliabilityView
from gui.dataset.summary import LabelIssuesView, MetricsView, TemperatureView
from gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from core.calibration import TemperatureFit
    from core.compare import ComparisonDataset
    from core.metrics import DatasetSummary, PredictionSummary


class DatasetPanel(QWidget):
    """Sub-tabs of dataset-wide views; :meth:`set_summary` updates every view in place."""

    sigConfusionCellClicked = Signal(int, int)  # true class, predicted class
    sigSampleActivated = Signal(int)
    sigFitTemperatureRequested = Signal()
    sigCompareCellClicked = Signal(bool, bool)  # A right, B right (comparing two models)
    sigCompareTemperatureRequested = Signal()

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.summary: DatasetSummary | None = None
        self.class_names: list[str] = []

        self.histograms = HistogramView(theme)
        self.confusion_view = ConfusionView(theme)
        self.reliability_view = ReliabilityView(theme)
        self.metrics_view = MetricsView()
        self.label_issues_view = LabelIssuesView()
        self.temperature_view = TemperatureView()
        self.comparison_view = ComparisonView(theme)
        self.predictions_view = PredictionsView(theme)
        self._comparing = False
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for widget, name in (
            (self.histograms, "Histograms"),
            (self.confusion_view, "Confusion"),
            (self.reliability_view, "Reliability"),
            (self.metrics_view, "Metrics"),
            (self.label_issues_view, "Label issues"),
            (self.temperature_view, "Temperature"),
            (self.comparison_view, "A vs B"),
            (self.predictions_view, "Predictions"),
        ):
            self.tabs.addTab(widget, name)
        self.tabs.setTabVisible(self.tabs.indexOf(self.comparison_view), False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

        # The items tests and the window reach for, by their plain names.
        self.loss_hist_correct = self.histograms.loss_hist_correct
        self.loss_hist_wrong = self.histograms.loss_hist_wrong
        self.confidence_hist_correct = self.histograms.confidence_hist_correct
        self.confidence_hist_wrong = self.histograms.confidence_hist_wrong
        self.confusion_image = self.confusion_view.image
        self.confusion_mode = self.confusion_view.mode
        self.reliability_bars = self.reliability_view.bars
        self.reliability_gap_bars = self.reliability_view.gap_bars
        self.reliability_count_bars = self.reliability_view.count_bars
        self.label_issue_table = self.label_issues_view.table
        self.fit_button = self.temperature_view.fit_button

        self.confusion_view.sigCellClicked.connect(self.sigConfusionCellClicked)
        self.label_issues_view.sigSampleActivated.connect(self.sigSampleActivated)
        self.predictions_view.sigSampleActivated.connect(self.sigSampleActivated)
        self.temperature_view.sigFitRequested.connect(self.sigFitTemperatureRequested)
        self.temperature_view.sigCompareRequested.connect(self.sigCompareTemperatureRequested)
        self.comparison_view.sigCellClicked.connect(self.sigCompareCellClicked)
        self.set_theme(theme)

    def set_summary(
        self, s: DatasetSummary, class_names: list[str], temperature: float, fit_ready: bool
    ) -> None:
        """Show every dataset metric of one evaluation (computed by ``core.metrics.summarize``)."""
        names = [str(name) for name in class_names]
        self.summary = s
        self.class_names = names
        if s.loss_histogram is not None and s.confidence_histogram is not None:
            self.histograms.set_histograms(s.loss_histogram, s.confidence_histogram)
        self.confusion_view.set_confusion(
            s.confusion, s.confusion_shares, s.confused_classes, names, len(names)
        )
        self.reliability_view.set_reliability(s.reliability)
        self.metrics_view.set_summary(s, names, temperature)
        self.label_issues_view.set_issues(s.label_issues, names, s.label_issue_method)
        self.temperature_view.set_ready(fit_ready)

    def set_comparison(
        self, data: ComparisonDataset | None, names: tuple[str, str], class_names: list[str]
    ) -> None:
        """Model A against model B (``core.compare.compare_dataset``) on the "A vs B" page,
        which shows only while two models are compared (None: not comparing)."""
        index = self.tabs.indexOf(self.comparison_view)
        was = self.tabs.isTabVisible(index)
        self.tabs.setTabVisible(index, data is not None)
        if data is not None and not was:
            self.tabs.setCurrentIndex(index)  # a comparison just began: show it
        self._comparing = data is not None
        self.comparison_view.set_data(data, names, class_names)

    def set_predictions(
        self, s: PredictionSummary, class_names: list[str], has_labels: bool
    ) -> None:
        """The label-free view (``core.metrics.summarize_predictions``). Without labels it is
        the only one shown: the views that need labels would be empty."""
        self.predictions_view.set_summary(s, class_names, has_labels)
        for i in range(self.tabs.count()):
            if self.tabs.widget(i) is self.predictions_view:
                continue
            # "A vs B" shows only while two models are compared (set_comparison).
            if self._holds(i, self.comparison_view):
                self.tabs.setTabVisible(i, has_labels and self._comparing)
            else:
                self.tabs.setTabVisible(i, has_labels)
        if not has_labels:
            self.tabs.setCurrentWidget(self.predictions_view)

    def add_beside(self, view: QWidget, beside: QWidget) -> QSplitter:
        """Put ``beside`` to the right of one of the sub-tab views (a thumbnail grid next to the
        confusion matrix or the label issues), in a splitter that takes its place."""
        index = next(i for i in range(self.tabs.count()) if self._holds(i, view))
        title = self.tabs.tabText(index)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.tabs.removeTab(index)
        splitter.addWidget(view)
        splitter.addWidget(beside)
        view.show()  # the tab stack had hidden it (it was not the current page)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([600, 400])
        self.tabs.insertTab(index, splitter, title)
        return splitter

    def _holds(self, index: int, view: QWidget) -> bool:
        widget = self.tabs.widget(index)
        return widget is view or (widget is not None and widget.isAncestorOf(view))

    def show_temperature_fit(self, fit: TemperatureFit) -> None:
        self.temperature_view.show_fit(fit)

    def set_fit_running(self, running: bool) -> None:
        self.temperature_view.set_running(running)

    def metrics_text(self) -> str:
        return self.metrics_view.text()

    def set_theme(self, theme: Theme) -> None:
        """Restyle every view in place (colours, fonts, scale); nothing is recomputed."""
        self._theme = theme
        for view in (
            self.histograms,
            self.confusion_view,
            self.reliability_view,
            self.comparison_view,
            self.predictions_view,
        ):
            view.set_theme(theme)
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (
            self.tabs,
            self.metrics_view,
            self.label_issues_view,
            self.temperature_view,
            self.confusion_view.mode,
            self.confusion_view.errors_scale,
            self.confusion_view.note,
        ):
            widget.setFont(font)
        for table in (self.label_issue_table, self.metrics_view.worst_table):
            table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))
