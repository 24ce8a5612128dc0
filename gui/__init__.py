"""Softmax Lab's Qt window. Every number it shows comes from ``core``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from softmax_lab.gui.main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str):
    # Lazy, so that importing one view module does not build the whole window's imports.
    if name == "MainWindow":
        from softmax_lab.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
