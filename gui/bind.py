"""One way a control shows a view-state field and sends the user's change back.

``bind(widget, state, field)`` writes the field's value into the widget now and after every change
of that field (with the widget's signals blocked, so the write is not taken for the user's), and
hands what the user picks to ``write`` (by default ``state.update(field=value)``). Where the
write is refused or changes the value (an out-of-range pick, a clamp), the widget shows the
state again: the control and the state never disagree.

Widgets: spin boxes and sliders (``value``), combo boxes and tab widgets (``currentIndex``, or a
combo box's item data where its items carry some), checkable buttons and actions (``checked``)
and line edits (``text``, on editing finished). ``to_widget`` / ``from_widget`` convert between
the field's value and the widget's; ``to_widget`` may answer None for "show nothing new".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QTabBar,
    QTabWidget,
)
from superqt.utils import signals_blocked

if TYPE_CHECKING:
    from softmax_lab.core.view_state import ViewState

__all__ = ["Binding", "bind"]


class _Access(NamedTuple):
    get: Callable[[], Any]
    set: Callable[[Any], None]
    user: SignalInstance
    """What the widget sends when the user changes it."""


def _access(widget: QObject) -> _Access:
    if isinstance(widget, QComboBox):
        combo = widget

        def by_data() -> bool:  # items that carry data stand for it, else for their index
            return combo.count() > 0 and combo.itemData(0) is not None

        def get_item() -> Any:
            return combo.currentData() if by_data() else combo.currentIndex()

        def set_item(value: Any) -> None:
            combo.setCurrentIndex(combo.findData(value) if by_data() else int(value))

        return _Access(get_item, set_item, combo.currentIndexChanged)
    if isinstance(widget, (QTabWidget, QTabBar)):
        return _Access(widget.currentIndex, widget.setCurrentIndex, widget.currentChanged)
    if isinstance(widget, (QSpinBox, QDoubleSpinBox, QAbstractSlider)):
        return _Access(widget.value, widget.setValue, widget.valueChanged)
    if isinstance(widget, QAction):
        return _Access(widget.isChecked, widget.setChecked, widget.triggered)
    if isinstance(widget, QAbstractButton):
        return _Access(widget.isChecked, widget.setChecked, widget.clicked)
    if isinstance(widget, QLineEdit):
        return _Access(widget.text, widget.setText, widget.editingFinished)
    raise TypeError(f"bind() does not know {type(widget).__name__}")


class Binding:
    """A widget bound to one field (see the module docstring); ``unbind`` ends it, and so does
    the widget's destruction."""

    def __init__(
        self,
        widget: QObject,
        state: ViewState,
        field: str,
        write: Callable[[Any], object] | None,
        to_widget: Callable[[Any], Any],
        from_widget: Callable[[Any], Any],
    ) -> None:
        self.widget, self.state, self.field = widget, state, field
        self._access = _access(widget)
        self._write = write or (lambda value: state.update(**{field: value}))
        self._to_widget, self._from_widget = to_widget, from_widget
        self._event = state.events[field]
        self._event.connect(self.show)
        self._access.user.connect(self._on_user)
        widget.destroyed.connect(self.unbind)
        self.show(getattr(state, field))

    def show(self, value: Any) -> None:
        """Write ``value`` into the widget, telling no one."""
        shown = self._to_widget(value)
        if shown is None or shown == self._access.get():
            return
        with signals_blocked(self.widget):
            self._access.set(shown)

    def _on_user(self, *_args: Any) -> None:
        with contextlib.suppress(ValueError):  # refused: the widget shows the state again
            self._write(self._from_widget(self._access.get()))
        self.show(getattr(self.state, self.field))

    def unbind(self, *_args: Any) -> None:
        self._event.disconnect(self.show)


def bind(
    widget: QObject,
    state: ViewState,
    field: str,
    *,
    write: Callable[[Any], object] | None = None,
    to_widget: Callable[[Any], Any] = lambda value: value,
    from_widget: Callable[[Any], Any] = lambda value: value,
) -> Binding:
    """Show ``state.<field>`` in ``widget`` and send the user's changes to ``write``; see the
    module docstring."""
    return Binding(widget, state, field, write, to_widget, from_widget)
