"""GUI test fixtures: fail any test that leaks a top-level widget or raises inside a Qt slot."""

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def _catch_qt_leaks(qapp):
    """A window or dialog left open after a test is a leak (as ndv's conftest checks)."""
    before = set(QApplication.topLevelWidgets())
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before and w.isVisible()]
    for widget in leaked:
        widget.close()
        widget.deleteLater()
    assert not leaked, f"test leaked top-level widgets: {leaked}"
