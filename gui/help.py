"""The Help menu's two windows: every keyboard shortcut (read from the window's own actions, so
the sheet cannot drift from the keys) with a search box, and About (the versions a bug report
needs: Python, Qt, PySide6, pyqtgraph, torch, numpy, and the compute device)."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from importlib import metadata

import numpy as np
import pyqtgraph as pg
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def window_shortcuts(window: QMainWindow) -> Iterator[tuple[str, str, str]]:
    """(menu path, action, keys) for every action of ``window`` that has a shortcut: its menus'
    in menu order (e.g. ("View", "Play temperature", "Ctrl+Space")), then the window's own
    (menu "Window", e.g. Ctrl+F: filter the table)."""

    def keys(action: QAction) -> str:
        native = QKeySequence.SequenceFormat.NativeText
        return ", ".join(s.toString(native) for s in action.shortcuts())

    def walk(menu: QMenu, path: str) -> Iterator[tuple[str, str, str]]:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                yield from walk(sub, f"{path} › {plain(sub.title())}")
            elif action.shortcuts() and not action.isSeparator():
                listed.add(action)
                yield path, plain(action.text()), keys(action)

    listed: set[QAction] = set()
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu):
            yield from walk(menu, plain(menu.title()))
    for action in window.actions():
        if action.shortcuts() and action not in listed:
            yield "Window", plain(action.text()), keys(action)


def plain(text: str) -> str:
    """A menu text without its mnemonic marks and trailing dots ("&Open logits…" → "Open
    logits")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


class ShortcutsSheet(QDialog):
    """Help › Keyboard shortcuts: a table of every shortcut, filtered as one types."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts — Softmax Lab")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search: a word or a key (e.g. temperature, Ctrl+Space)")
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Menu"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self._filter)
        self._window = window
        self.reload()
        self.resize(640, 560)

    def reload(self) -> None:
        """Read the shortcuts again from the actions (a menu may have changed)."""
        rows = list(window_shortcuts(self._window))
        self.table.setRowCount(len(rows))
        for row, (path, text, keys) in enumerate(rows):
            for column, value in enumerate((keys, text, path)):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self._filter(self.search.text())

    def shown_rows(self) -> list[tuple[str, str, str]]:
        """(keys, action, menu) of the rows the search leaves in view."""
        t = self.table
        return [
            tuple(_text(t.item(r, c)) for c in range(3))  # type: ignore[misc]
            for r in range(t.rowCount())
            if not t.isRowHidden(r)
        ]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        shown = 0
        for row in range(self.table.rowCount()):
            line = " ".join(_text(self.table.item(row, c)).lower() for c in range(3))
            hide = not all(w in line for w in words)
            self.table.setRowHidden(row, hide)
            shown += not hide
        self.count.setText(f"{shown} of {self.table.rowCount()} shortcuts")


def versions(device: str, dtype: str, available: list[str]) -> list[tuple[str, str]]:
    """(what, version) for the About box and bug reports."""
    import softmax_lab

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return [
        ("Softmax Lab", softmax_lab.__version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("pyqtgraph", pg.__version__),
        ("torch", dist("torch")),
        ("numpy", np.__version__),
        ("Device", f"{device} ({dtype}); available: {', '.join(available)}"),
        ("System", f"{platform.system()} {platform.release()} {platform.machine()}"),
    ]


class AboutBox(QDialog):
    """Help › About: what this is and the versions it runs on (selectable, to paste in a bug
    report)."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Softmax Lab")
        self.rows = rows
        table = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
        self.label = QLabel(
            "<h3>Softmax Lab</h3><p>See and touch softmax, cross-entropy and logits.</p>"
            f"<table>{table}</table>"
        )
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)

    def text(self) -> str:
        """The versions as plain lines (what Copy would give)."""
        return "\n".join(f"{k}: {v}" for k, v in self.rows)


def _text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""
