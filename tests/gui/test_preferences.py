"""A window's preferences: what the app's window keeps when it closes, what the next one reads."""

from softmax_lab.gui import MainWindow
from softmax_lab.gui.bootstrap import settings


def test_the_app_window_keeps_its_theme_scale_and_place_for_the_next_window(qtbot):
    first = MainWindow(autosave=True)  # as gui.app makes it
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.controller.update_view(theme="dark", scale=1.25)
    place = first.normalGeometry()
    assert first.close()
    store = settings()
    assert store.value("theme") == "dark"
    assert float(store.value("scale")) == 1.25
    kept = [int(v) for v in store.value("window/rect")]
    assert kept == [place.x(), place.y(), place.width(), place.height()]

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.controller.view.theme == "light"
    second.preferences.restore_preferences()
    assert second.controller.view.theme == "dark"
    assert second.controller.view.scale == 1.25


def test_a_window_made_by_code_writes_no_preferences_when_it_closes(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.controller.update_view(theme="dark")
    assert window.close()
    assert settings().value("theme") is None
    assert settings().value("window/rect") is None
