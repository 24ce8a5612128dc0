"""Every shortcut of the window is bound once: an ambiguous key does nothing in Qt."""

from collections import Counter

from PySide6.QtGui import QAction

from softmax_lab.gui import MainWindow


def test_no_two_actions_share_a_shortcut(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    keys = Counter(
        sequence.toString()
        for action in window.findChildren(QAction)
        for sequence in action.shortcuts()
        if not sequence.isEmpty()
    )
    assert [key for key, n in keys.items() if n > 1] == []
    assert keys["F11"] == 1
    window.document.mark_clean()
