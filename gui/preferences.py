"""A window's preferences: its theme and scale, its place on the screens, the recent files.

:class:`Preferences` keeps them in the user's settings (``gui.bootstrap.settings``): the recent
files as files, runs and workspaces are opened (``Files.sigOpened``), the rest when the window
closes (in the app) and when it starts (``gui.app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from softmax_lab.core.constants import SCALE_RANGE
from softmax_lab.core.screen import first_window_rect, fits
from softmax_lab.gui.bootstrap import settings

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller
    from softmax_lab.gui.files import Files

MAX_RECENT = 8


class Preferences(QObject):
    """The preferences of one window. ``save`` (on in the app, with autosave; off by default so
    that tests and embedding code write no settings) writes theme, scale and the window's place
    when it closes. ``remember`` off (a --screenshot run) keeps the recent-files list as it is."""

    def __init__(
        self, controller: Controller, window: QWidget, files: Files, *, save: bool = False
    ) -> None:
        super().__init__(window)
        self._c = controller
        self._window = window
        self._open = files.load_file
        self._save = save
        self.remember = True
        self.recent_menu: QMenu | None = None
        files.sigOpened.connect(self.remember_recent)

    # --- recent files ---------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = settings().value("recentFiles", [])
        if isinstance(value, str):  # QSettings returns a one-item list as its item
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def remember_recent(self, path: str) -> None:
        if not self.remember:
            return
        path = str(Path(path).resolve())
        recent = [path, *[p for p in self.recent_files() if p != path]][:MAX_RECENT]
        settings().setValue("recentFiles", recent)
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open(p))
        menu.setEnabled(bool(recent))

    # --- workspaces and autosave ----------------------------------------------------------------

    # --- theme, scale and the window's place ----------------------------------------------------

    def window_closed(self) -> None:
        """The window is closing (its close was not refused): keep its preferences."""
        if self._save:
            self.save_preferences()

    def save_preferences(self) -> None:
        store = settings()
        store.setValue("theme", self._c.view.theme)
        store.setValue("scale", self._c.view.scale)
        g = self._window.normalGeometry()  # the desk's place, also when closed on stage
        store.setValue("window/rect", [g.x(), g.y(), g.width(), g.height()])
        store.setValue("window/maximized", self._window.isMaximized())

    def place_window(self) -> None:
        """The first window: where the user left it if that still fits a screen (a laptop
        without its monitor), else at most 90 % of the screen, centred (``core.screen``)."""
        w, store = self._window, settings()
        try:
            stored = store.value("window/rect", [])
            saved = [int(v) for v in stored] if isinstance(stored, (list, tuple)) else []
        except (TypeError, ValueError):
            saved = []
        hint = w.minimumSizeHint()
        minimum = (hint.width(), hint.height())
        screens = QGuiApplication.screens()
        home = w.screen() or QGuiApplication.primaryScreen()
        for screen in [home, *screens]:
            if screen is None:
                continue
            a = screen.availableGeometry()
            available = (a.x(), a.y(), a.width(), a.height())
            if len(saved) == 4 and fits(saved, available, minimum):
                home = screen
                break
        if home is None:
            return
        a = home.availableGeometry()
        x, y, width, height = first_window_rect(
            (a.x(), a.y(), a.width(), a.height()), saved or None, minimum
        )
        w.setGeometry(x, y, width, height)
        if str(store.value("window/maximized", "false")).lower() == "true" and saved:
            w.setWindowState(w.windowState() | Qt.WindowState.WindowMaximized)

    def restore_preferences(self) -> None:
        store = settings()
        theme = str(store.value("theme", self._c.view.theme))
        stored = store.value("scale", 1.0)
        try:
            scale = float(stored) if isinstance(stored, (int, float, str)) else 1.0
        except ValueError:
            scale = 1.0
        self._c.update_view(
            theme=theme if theme in ("light", "dark") else "light",
            scale=min(max(scale, SCALE_RANGE[0]), SCALE_RANGE[1]),
        )

    # --- exports --------------------------------------------------------------------------------
