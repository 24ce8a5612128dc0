"""The side panel under the table: the Options, Formula, Scratch vs torch and Top-k/p tabs. It
makes them, keeps the view state's ``side_tab`` and ``side_panel`` on screen, and fills only the
tab that shows (their text costs more than every plot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QStackedWidget, QTabWidget

from softmax_lab.core.view_state import SIDE_TABS
from softmax_lab.gui.bind import bind
from softmax_lab.gui.controls import ControlsPanel
from softmax_lab.gui.explain import FormulaPanel, ScratchPanel
from softmax_lab.gui.sampling_view import SamplingPanel

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.theme import Theme


TAB_NAMES = (
    ("Options", "Options"),
    ("Formula", "Formula"),
    ("Scratch vs torch", "Scratch"),
    ("Top-k/p", "Top-k/p"),
)
"""Each tab's name at the desk and on stage (large type: the Top-k/p tab is not pushed off)."""
STAGE_TAB_NAMES = dict(TAB_NAMES)


class SidePanel(QTabWidget):
    """The side tabs, in ``core.view_state.SIDE_TABS`` order."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self._c = c = controller
        self.controls = ControlsPanel(c)
        self.formula_panel = FormulaPanel()
        self.scratch_panel = ScratchPanel()
        self.sampling_panel = SamplingPanel(c.theme)
        for widget, (name, _stage) in zip(
            (self.controls, self.formula_panel, self.scratch_panel, self.sampling_panel),
            TAB_NAMES,
            strict=True,
        ):
            self.addTab(widget, name)
        bind(
            self,
            c.view,
            "side_tab",
            write=lambda tab: c.update_view(side_tab=tab),
            to_widget=SIDE_TABS.index,
            from_widget=lambda i: SIDE_TABS[i],
        )
        bind(self.sampling_panel.top_k, c.view, "top_k", write=lambda k: c.update_view(top_k=k))
        bind(self.sampling_panel.top_p, c.view, "top_p", write=lambda p: c.update_view(top_p=p))
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def minimumSizeHint(self) -> QSize:
        """As narrow as the shown tab allows. (A tab widget asks for its widest page's minimum:
        at 3x the Options page held the table's side of a 1280 px stage at 600 px while the
        Formula tab showed, and the plots were crushed.)"""
        size = super().minimumSizeHint()
        stack = self.findChild(QStackedWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
        page = self.currentWidget()
        if stack is None or page is None:
            return size
        tabs = self.tabBar().minimumSizeHint().width()
        pages = stack.minimumSizeHint().width()
        shown = page.minimumSizeHint().expandedTo(page.minimumSize()).width()
        return QSize(size.width() - max(pages, tabs) + max(shown, tabs), size.height())

    def set_theme(self, theme: Theme) -> None:
        for view in (self.formula_panel, self.scratch_panel, self.sampling_panel):
            view.set_theme(theme)
        font = self.font()
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.controls, self):
            widget.setFont(font)

    def render_view(self, fields: frozenset[str]) -> None:
        """Whether the panel shows and its tabs' names (the side tab and top-k/p are bound)."""
        view = self._c.view
        if "side_panel" in fields:
            self.setVisible(view.side_panel)
        if "presentation" in fields:  # large type on stage: every tab stays readable
            names = STAGE_TAB_NAMES if view.presentation else {}
            for i, (name, _stage) in enumerate(TAB_NAMES):
                self.setTabText(i, names.get(name, name))
        if fields & {"side_tab", "side_panel", "top_k", "top_p"}:
            self.render_state()

    def render_state(self) -> None:
        """Fill the tab that shows (none while the panel is hidden in a shown window)."""
        c = self._c
        if not self.isVisible() and self.window().isVisible():
            return
        current = c.view.side_tab
        if current == "formula":
            binary = c.inputs_session.binary_identity()
            self.formula_panel.set_explanation(c.explanation(), c.class_names, binary)
        elif current == "scratch":
            self.scratch_panel.set_comparison(c.comparison(), c.class_names)
        elif current == "sampling":
            self.sampling_panel.set_truncation(
                c.truncation(), c.class_names, c.document.settings.temperature
            )
