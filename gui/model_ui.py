"""A live model's part of the window: the Model panel wired to the controller's model session,
File › Open model…, dropped images, and the device the Options pick.

Built by the window with the controller; returns the panel for the window to place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from softmax_lab.core.changes import Change
from softmax_lab.gui.model_panel import ModelPanel

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


class ModelUi(QObject):
    """The Model panel and its wiring; ``panel`` is what the window places."""

    def __init__(self, controller: Controller, window: QWidget) -> None:
        super().__init__(window)
        self._c = controller
        self._window = window
        session = self.session = controller.model
        panel = self.panel = ModelPanel()
        panel.sigTextChanged.connect(session.set_text)
        panel.sigStepRequested.connect(session.step)
        panel.sigBackRequested.connect(session.back)
        panel.sigPlayToggled.connect(session.set_playing)
        panel.sigCloseRequested.connect(session.close_model)
        session.sigModelChanged.connect(self._on_model_changed)
        session.sigGenerationChanged.connect(panel.set_generation)
        session.sigWhy.connect(panel.set_why)
        session.sigBusy.connect(panel.set_busy)
        session.sigMessage.connect(controller.sigMessage)
        controller.sigDataChanged.connect(self._on_data_changed)

    def open(self, path: str | Path, text: str | None = None) -> None:
        """Open a model folder on the Options' device and dtype; ``text`` is typed for the user."""
        settings = self._c.document.settings
        if text is not None:
            self.panel.set_text(text)
            self.session.set_text(text)
        self.session.open(str(path), device=settings.device, dtype=settings.dtype)

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._window, "Open a model folder (config.json + *.safetensors)"
        )
        if folder:
            self.open(folder)

    def drop_images(self, paths: list[str]) -> bool:
        """Images dropped while an image classifier is open: one row each. False if not taken."""
        images = [p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES]
        if not images or self.session.kind != "image-classification":
            return False
        self.session.set_images(images, [Path(p).name for p in images])
        return True

    def _on_data_changed(self, change: Change, _rows: object) -> None:
        """The Options' device or dtype moved: the model follows."""
        model = self.session.model
        if model is None or not change & Change.SETTINGS:
            return
        settings = self._c.document.settings
        here = (str(model.device.type), str(model.dtype).removeprefix("torch."))
        wanted = (settings.device.split(":")[0], settings.dtype)
        if here != wanted:
            self.session.move(settings.device, settings.dtype)

    def _on_model_changed(self, name: str, kind: str) -> None:
        self.panel.set_model(name, kind)
        if kind:
            self.panel.set_text(self.session.text)
            if kind != "image-classification":
                self.panel.editor.setFocus()
