"""gui.bind: a real widget shows a view-state field, the user's change reaches the state once, a
refused change puts the state's value back, and a change of the state never echoes back."""

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QTabWidget, QWidget

from softmax_lab.core.view_state import SIDE_TABS, ViewState
from softmax_lab.gui.bind import bind


def test_a_spin_box_shows_the_field_and_sends_what_is_typed(qtbot):
    view = ViewState(top_k=3)
    spin = QSpinBox()
    spin.setRange(0, 50)
    qtbot.addWidget(spin)
    sets = []
    view.subscribe(sets.append)
    bind(spin, view, "top_k")
    assert spin.value() == 3  # shown at once
    spin.show()
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert view.top_k == 4
    assert sets == [frozenset({"top_k"})]  # told once
    # The state's change is shown, and not sent back as the user's (no second update).
    emitted = []
    spin.valueChanged.connect(emitted.append)
    view.update(top_k=7)
    assert spin.value() == 7
    assert emitted == []
    assert sets == [frozenset({"top_k"}), frozenset({"top_k"})]


def test_a_refused_pick_shows_the_state_again(qtbot):
    view = ViewState()
    combo = QComboBox()
    combo.addItems(["light", "dark", "neon"])
    qtbot.addWidget(combo)
    messages = []

    def write(index):
        try:
            view.update(theme=combo.itemText(index))
        except ValueError as exc:
            messages.append(str(exc))

    bind(
        combo,
        view,
        "theme",
        write=write,
        to_widget=lambda name: combo.findText(name),
    )
    combo.show()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert view.theme == "dark"
    assert combo.currentText() == "dark"
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # "neon": the state refuses it
    assert view.theme == "dark"
    assert combo.currentText() == "dark"
    assert len(messages) == 1
    assert "theme" in messages[0]


def test_a_combo_with_item_data_stands_for_the_data(qtbot):
    view = ViewState()
    combo = QComboBox()
    for name in SIDE_TABS:
        combo.addItem(name.title(), name)
    qtbot.addWidget(combo)
    bind(combo, view, "side_tab")
    view.side_tab = "scratch"
    assert combo.currentText() == "Scratch"
    combo.show()
    qtbot.keyClick(combo, Qt.Key.Key_Up)
    assert view.side_tab == "formula"


def test_tabs_a_checkbox_and_an_action(qtbot):
    view = ViewState()
    tabs = QTabWidget()
    for name in SIDE_TABS:
        tabs.addTab(QWidget(), name)
    box = QCheckBox("probabilities")
    action = QAction("presentation")
    action.setCheckable(True)
    for widget in (tabs, box):
        qtbot.addWidget(widget)
    bind(
        tabs,
        view,
        "side_tab",
        to_widget=SIDE_TABS.index,
        from_widget=lambda i: SIDE_TABS[i],
    )
    bind(box, view, "show_probabilities")
    bind(action, view, "presentation")
    tabs.show()
    qtbot.mouseClick(
        tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(2).center()
    )
    assert view.side_tab == "scratch"
    view.side_tab = "sampling"
    assert tabs.currentIndex() == 3
    box.show()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert view.show_probabilities is True
    view.show_probabilities = False
    assert not box.isChecked()
    action.trigger()
    assert view.presentation is True
    view.presentation = False
    assert not action.isChecked()


def test_a_destroyed_widget_is_unbound(qtbot):
    view = ViewState()
    spin = QSpinBox()
    bind(spin, view, "top_k")
    assert len(view.events.top_k) == 1
    shiboken6.delete(spin)  # the C++ widget goes now, as a closed window's do
    assert len(view.events.top_k) == 0
    view.top_k = 5  # nothing left to write into


def test_an_unknown_widget_or_field_is_refused(qtbot):
    view = ViewState()
    with pytest.raises(TypeError):
        bind(QWidget(), view, "top_k")
    spin = QSpinBox()
    qtbot.addWidget(spin)
    with pytest.raises(KeyError):
        bind(spin, view, "nonsense")
