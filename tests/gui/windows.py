"""The main window as GUI tests open it: made, owned by qtbot (closed after the test), at the
projector size the suite checks (1280 x 800), shown and exposed."""

from __future__ import annotations

from typing import Any

from softmax_lab.gui import MainWindow


def shown_window(qtbot: Any, document: Any = None, size: tuple[int, int] = (1280, 800)):
    window = MainWindow(document)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window
