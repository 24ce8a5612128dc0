"""GUI test fixtures: leak check, isolated QSettings, real mouse drags on plots, a window."""

import gc

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from windows import shown_window


@pytest.fixture(scope="session", autouse=True)
def _collect_between_tests():
    """Python's cycle collector only runs between tests, never inside one: a collection that
    starts inside a Qt call (a signal disconnect holds a Qt mutex) and destroys a closed widget
    of an earlier test deadlocks in ~QObject. Collected after every test instead."""
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def _catch_qt_leaks(qapp):
    """A window or dialog left open after a test is a leak (as ndv's conftest checks)."""
    before = set(QApplication.topLevelWidgets())
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    gc.collect()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before and w.isVisible()]
    for widget in leaked:
        widget.close()
        widget.deleteLater()
    assert not leaked, f"test leaked top-level widgets: {leaked}"


class Mouse:
    """Real mouse events on a pyqtgraph view's viewport (QTest cannot hold a button over moves).

    As pyqtgraph's own ``tests/ui_testing.py`` does it.
    """

    left = Qt.MouseButton.LeftButton
    none = Qt.MouseButton.NoButton

    @staticmethod
    def send(widget, kind: QEvent.Type, pos: QPoint, button, buttons) -> None:
        viewport = widget.viewport()
        event = QMouseEvent(
            kind,
            QPointF(pos),
            QPointF(viewport.mapToGlobal(pos)),
            button,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, event)

    def drag(self, widget, points: list[QPoint]) -> None:
        self.send(widget, QEvent.Type.MouseMove, points[0], self.none, self.none)
        self.send(widget, QEvent.Type.MouseButtonPress, points[0], self.left, self.left)
        for point in points[1:]:
            self.send(widget, QEvent.Type.MouseMove, point, self.none, self.left)
        self.send(widget, QEvent.Type.MouseButtonRelease, points[-1], self.left, self.none)

    def click(self, widget, pos: QPoint) -> None:
        self.send(widget, QEvent.Type.MouseMove, pos, self.none, self.none)
        self.send(widget, QEvent.Type.MouseButtonPress, pos, self.left, self.left)
        self.send(widget, QEvent.Type.MouseButtonRelease, pos, self.left, self.none)

    @staticmethod
    def at(widget, view_box, x: float, y: float) -> QPoint:
        """The viewport pixel of a point in ``view_box``'s data coordinates."""
        return widget.mapFromScene(view_box.mapViewToScene(QPointF(x, y)))


@pytest.fixture
def mouse(monkeypatch):
    # pyqtgraph drops mouse moves closer than 10 ms apart; synthetic events always are.
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)
    return Mouse()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """QSettings (recent files, preferences) go to a temporary folder, never the user's."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def viewers(qtbot):
    """``make(*args, **kwargs)`` opens a ``softmax_lab.view`` window; all are closed after."""
    import softmax_lab

    made = []

    def make(*args, **kwargs):
        v = softmax_lab.view(*args, **kwargs)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()
    QApplication.processEvents()


@pytest.fixture
def window(qtbot):
    """An empty main window at 1280 x 800, shown and exposed. A test file that needs another
    window (data, size, theme, teardown) defines its own ``window``, which wins over this one.
    Marked clean afterwards (a default window asks nothing when it closes either way)."""
    w = shown_window(qtbot)
    yield w
    w.document.mark_clean()
