"""The one QApplication start-up, shared by the app (``gui/app.py``) and ``softmax_lab.view``.

Both name the organisation and the application the same, so they read and write the same
settings (recent files, preferences): ``~/.config/Softmax Lab/Softmax Lab.conf`` on Linux.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ORGANIZATION = "Softmax Lab"
APPLICATION = "Softmax Lab"


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, made and named once (from the main thread) if there is none yet.

    One made by someone else (pytest-qt, IPython's ``%gui qt``, a host application) keeps its
    names and options; the settings are Softmax Lab's either way (see :func:`settings`).
    """
    app = QApplication.instance()
    if app is None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the Softmax Lab window must first be opened from the main thread")
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True)
        app = QApplication(argv if argv else (sys.argv[:1] or ["softmax-lab"]))
        app.setApplicationName(APPLICATION)
        app.setOrganizationName(ORGANIZATION)
        from PySide6.QtGui import QIcon

        from softmax_lab.resources import ICON

        app.setWindowIcon(QIcon(str(ICON)))
    assert isinstance(app, QApplication)
    return app


def settings() -> QSettings:
    """Softmax Lab's settings store, whichever entry point (or host) made the QApplication."""
    return QSettings(
        QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )
