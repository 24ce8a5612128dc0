"""The window's main tabs, each known by its name (one of ``core.view_state.VIEW_TABS``), so that
parts add, show and hide theirs by name and the view state's ``view_tab`` picks one (the window
binds it, ``gui.bind``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QSizePolicy, QTabWidget, QWidget
from superqt.utils import signals_blocked

from softmax_lab.core.view_state import VIEW_TABS
from softmax_lab.gui.bind import Binding, bind

if TYPE_CHECKING:
    from softmax_lab.core.view_state import ViewState


class ViewTabs(QTabWidget):
    """Tabs in ``VIEW_TABS`` order whatever order they are added in."""

    def __init__(self) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.names: list[str] = []
        """The tabs' names in their order."""

    def add(self, name: str, widget: QWidget, title: str) -> None:
        if name not in VIEW_TABS:
            raise ValueError(f"unknown tab {name!r}")
        position = sum(VIEW_TABS.index(n) < VIEW_TABS.index(name) for n in self.names)
        with signals_blocked(self):
            self.insertTab(position, widget, title)
        self.names.insert(position, name)

    def set_shown(self, name: str, shown: bool) -> None:
        """Show or hide a tab; hiding the current one picks no other (the view state does)."""
        with signals_blocked(self):
            self.setTabVisible(self.names.index(name), shown)

    def index_of(self, name: str) -> int | None:
        """Where the tab ``name`` is, or None while it has not been added."""
        return self.names.index(name) if name in self.names else None

    def bind(self, view: ViewState, write: Callable[[str], object]) -> Binding:
        """Show the view state's ``view_tab`` and send the user's pick to ``write``."""
        return bind(
            self,
            view,
            "view_tab",
            write=write,
            to_widget=self.index_of,
            from_widget=lambda i: self.names[i],
        )


def size_to_current_page(tabs: QTabWidget) -> None:
    """From now on only the shown page of ``tabs`` sets its minimum size: at 3x the Dataset page's
    minimum would otherwise widen a 1280-wide window past its screen while the Sample page
    shows."""
    tabs.currentChanged.connect(lambda _i: _size_to_current(tabs))
    _size_to_current(tabs)


def _size_to_current(tabs: QTabWidget) -> None:
    for i in range(tabs.count()):
        page = tabs.widget(i)
        if page is None:
            continue
        own = page.property("ownSizePolicy")
        if own is None:  # the page's own policy, kept for when it shows
            own = page.sizePolicy()
            page.setProperty("ownSizePolicy", own)
        ignored = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        page.setSizePolicy(own if i == tabs.currentIndex() else ignored)
