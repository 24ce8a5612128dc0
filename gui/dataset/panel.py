"""The Dataset tab: the dataset views in sub-tabs, fed one ``core.metrics.DatasetSummary``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from softmax_lab.gui.dataset.agreement import ComparisonView
from softmax_lab.gui.dataset.confusion import ConfusionView
from softmax_lab.gui.dataset.histograms import HistogramView
from softmax_lab.gui.dataset.predictions import PredictionsView
from softmax_lab.gui.dataset.reliability import ReliabilityView
from softmax_lab.gui.dataset.summary import LabelIssuesView, MetricsView, TemperatureView
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.calibration import TemperatureFit
    from softmax_lab.core.compare import ComparisonDataset
    from softmax_lab.core.metrics import DatasetSummary, PredictionSummary


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

        # The plotted views are made the first time they are needed (shown, or fed numbers):
        # building them up front was a sixth of the window's start-up.
        self._pages: dict[str, _Page] = {
            "histograms": _Page(lambda: self._built(HistogramView(self._theme))),
            "confusion": _Page(lambda: self._built(ConfusionView(self._theme))),
            "reliability": _Page(lambda: self._built(ReliabilityView(self._theme))),
            "comparison": _Page(lambda: self._built(ComparisonView(self._theme))),
            "predictions": _Page(lambda: self._built(PredictionsView(self._theme))),
        }
        self.metrics_view = MetricsView()
        self.label_issues_view = LabelIssuesView()
        self.temperature_view = TemperatureView()
        self._comparing = False
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        pages = self._pages
        for widget, name in (
            (pages["histograms"], "Histograms"),
            (pages["confusion"], "Confusion"),
            (pages["reliability"], "Reliability"),
            (self.metrics_view, "Metrics"),
            (self.label_issues_view, "Label issues"),
            (self.temperature_view, "Temperature"),
            (pages["comparison"], "A vs B"),
            (pages["predictions"], "Predictions"),
        ):
            self.tabs.addTab(widget, name)
        self.tabs.setTabVisible(self.tabs.indexOf(pages["comparison"]), False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

        self.label_issue_table = self.label_issues_view.table
        self.fit_button = self.temperature_view.fit_button
        self.label_issues_view.sigSampleActivated.connect(self.sigSampleActivated)
        self.temperature_view.sigFitRequested.connect(self.sigFitTemperatureRequested)
        self.temperature_view.sigCompareRequested.connect(self.sigCompareTemperatureRequested)
        self.set_theme(theme)

    # --- the plotted views, made on first use -------------------------------------------------

    def page(self, name: str) -> QWidget:
        """The sub-tab page that holds a plotted view (``"confusion"``, ...), built or not."""
        return self._pages[name]

    def built(self, name: str) -> bool:
        return self._pages[name].view is not None

    @property
    def histograms(self) -> HistogramView:
        return self._pages["histograms"].get()

    @property
    def confusion_view(self) -> ConfusionView:
        return self._pages["confusion"].get()

    @property
    def reliability_view(self) -> ReliabilityView:
        return self._pages["reliability"].get()

    @property
    def comparison_view(self) -> ComparisonView:
        return self._pages["comparison"].get()

    @property
    def predictions_view(self) -> PredictionsView:
        return self._pages["predictions"].get()

    # The items tests and the window reach for, by their plain names.
    loss_hist_correct = property(lambda self: self.histograms.loss_hist_correct)
    loss_hist_wrong = property(lambda self: self.histograms.loss_hist_wrong)
    confidence_hist_correct = property(lambda self: self.histograms.confidence_hist_correct)
    confidence_hist_wrong = property(lambda self: self.histograms.confidence_hist_wrong)
    confusion_image = property(lambda self: self.confusion_view.image)
    confusion_mode = property(lambda self: self.confusion_view.mode)
    reliability_bars = property(lambda self: self.reliability_view.bars)
    reliability_gap_bars = property(lambda self: self.reliability_view.gap_bars)
    reliability_count_bars = property(lambda self: self.reliability_view.count_bars)

    def _built(self, view: QWidget) -> QWidget:
        """Wire a view made on first use to the panel's signals and its current style."""
        if isinstance(view, ConfusionView):
            view.sigCellClicked.connect(self.sigConfusionCellClicked)
            self._style_fonts([view.mode, view.errors_scale, view.note])
        elif isinstance(view, PredictionsView):
            view.sigSampleActivated.connect(self.sigSampleActivated)
        elif isinstance(view, ComparisonView):
            view.sigCellClicked.connect(self.sigCompareCellClicked)
        return view

    def _style_fonts(self, widgets: list[QWidget]) -> None:
        font = QFont(self.font())
        font.setPointSizeF(10 * self._theme.scale)
        for widget in widgets:
            widget.setFont(font)

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
            s.confusion, s.confusion_shares, s.confused_classes, names, len(names), s.n_nonfinite
        )
        self.reliability_view.set_reliability(s.reliability, s.n_nonfinite)
        self.metrics_view.set_summary(s, names, temperature)
        self.label_issues_view.set_issues(s.label_issues, names, s.label_issue_method)
        self.temperature_view.set_ready(fit_ready)

    def set_comparison(
        self, data: ComparisonDataset | None, names: tuple[str, str], class_names: list[str]
    ) -> None:
        """Model A against model B (``core.compare.compare_dataset``) on the "A vs B" page,
        which shows only while two models are compared (None: not comparing)."""
        index = self.tabs.indexOf(self._pages["comparison"])
        was = self.tabs.isTabVisible(index)
        self.tabs.setTabVisible(index, data is not None)
        if data is not None and not was:
            self.tabs.setCurrentIndex(index)  # a comparison just began: show it
        self._comparing = data is not None
        if data is not None or self.built("comparison"):
            self.comparison_view.set_data(data, names, class_names)

    def set_predictions(
        self, s: PredictionSummary, class_names: list[str], has_labels: bool
    ) -> None:
        """The label-free view (``core.metrics.summarize_predictions``). Without labels it is
        the only one shown: the views that need labels would be empty."""
        self.predictions_view.set_summary(s, class_names, has_labels)
        for i in range(self.tabs.count()):
            if self.tabs.widget(i) is self._pages["predictions"]:
                continue
            # "A vs B" shows only while two models are compared (set_comparison).
            if self._holds(i, self._pages["comparison"]):
                self.tabs.setTabVisible(i, has_labels and self._comparing)
            else:
                self.tabs.setTabVisible(i, has_labels)
        if not has_labels:
            self.tabs.setCurrentWidget(self._pages["predictions"])

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
        for page in self._pages.values():
            if page.view is not None:
                page.view.set_theme(theme)
        widgets = [self.tabs, self.metrics_view, self.label_issues_view, self.temperature_view]
        if self.built("confusion"):
            view = self.confusion_view
            widgets += [view.mode, view.errors_scale, view.note]
        self._style_fonts(widgets)
        for table in (self.label_issue_table, self.metrics_view.worst_table):
            table.verticalHeader().setDefaultSectionSize(round(24 * theme.scale))


class _Page(QWidget):
    """A sub-tab's page whose view is made by ``make`` the first time it is shown or asked for."""

    def __init__(self, make: Callable[[], Any]) -> None:
        super().__init__()
        self._make = make
        self.view: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def get(self) -> Any:
        if self.view is None:
            self.view = self._make()
            self._layout.addWidget(self.view)
        return self.view

    def showEvent(self, event) -> None:
        self.get()
        super().showEvent(event)
