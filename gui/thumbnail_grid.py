"""A grid of samples' inputs — thumbnails, or text snippets — worst first, with a caption each;
clicking one selects its sample. The confusion-matrix drill-down and the label-issue list show
one: the view that tells "the label is wrong" from "the model is wrong".

A view: it shows the tiles it is handed (``set_items``) and emits ``sigSampleClicked``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from softmax_lab.gui.theme import LIGHT, Theme
from softmax_lab.gui.thumbnails import draw_image

if TYPE_CHECKING:
    from softmax_lab.gui.inputs_session import GridItem

TILE_PIXELS = 72  # an image tile's picture, at scale 1
TEXT_TILE = (230, 74)  # a text tile, at scale 1
SAMPLE_ROLE = Qt.ItemDataRole.UserRole


class ThumbnailGrid(QWidget):
    """Tiles in reading order; ``sigSampleClicked(sample)`` when one is clicked."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._items: list[GridItem] = []
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWrapping(True)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setDragEnabled(False)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.itemActivated.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.set_theme(theme)

    def set_items(self, title: str, items: Sequence[GridItem]) -> None:
        """Show ``items`` (in order) under ``title``."""
        self._items = list(items)
        self.title.setText(title)
        images = any(item.image is not None for item in self._items)
        self._layout_tiles(images)
        with signals_blocked(self.list):
            self.list.clear()
            for item in self._items:
                self.list.addItem(self._tile(item, images))

    def _layout_tiles(self, images: bool) -> None:
        s = self._theme.scale
        if images:
            side = round(TILE_PIXELS * s)
            self.list.setIconSize(QSize(side, side))
            self.list.setGridSize(QSize(side + round(22 * s), side + round(34 * s)))
        else:
            self.list.setIconSize(QSize(0, 0))
            self.list.setGridSize(QSize(round(TEXT_TILE[0] * s), round(TEXT_TILE[1] * s)))

    def _tile(self, item: GridItem, images: bool) -> QListWidgetItem:
        if images:
            tile = QListWidgetItem(self._icon(item.image), item.caption)
        else:
            tile = QListWidgetItem(f"{item.text}\n{item.caption}" if item.text else item.caption)
            tile.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        tile.setData(SAMPLE_ROLE, int(item.sample))
        tile.setToolTip(item.tooltip or item.caption)
        return tile

    def _icon(self, image: QImage | None) -> QIcon:
        side = self.list.iconSize().width()
        pixmap = QPixmap(side, side)
        pixmap.fill(QColor(0, 0, 0, 0))
        if image is not None and not image.isNull():
            painter = QPainter(pixmap)
            draw_image(painter, image, pixmap.rect())
            painter.end()
        icon = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the picture untinted; the caption says it
        return icon

    def set_selected(self, sample: int) -> None:
        """Highlight ``sample``'s tile (if it is shown) without emitting anything."""
        with signals_blocked(self.list):
            self.list.clearSelection()
            for row in range(self.list.count()):
                tile = self.list.item(row)
                if tile.data(SAMPLE_ROLE) == sample:
                    tile.setSelected(True)  # no scrolling: the worst stay in view at the top
                    break

    def _on_clicked(self, tile: QListWidgetItem) -> None:
        self.sigSampleClicked.emit(int(tile.data(SAMPLE_ROLE)))

    # --- what it shows (tests read these) -------------------------------------------------------

    def samples(self) -> list[int]:
        return [int(self.list.item(r).data(SAMPLE_ROLE)) for r in range(self.list.count())]

    def tile_text(self, row: int) -> str:
        return self.list.item(row).text()

    def tile_image(self, row: int) -> QImage:
        """The picture tile ``row`` draws (what a user sees in it)."""
        side = self.list.iconSize().width()
        return self.list.item(row).icon().pixmap(side, side).toImage()

    def tile_rect(self, row: int):
        """Tile ``row``'s rectangle in the list's viewport (where a user clicks it)."""
        return self.list.visualItemRect(self.list.item(row))

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        font = QFont(self.font())
        font.setPointSizeF(9 * theme.scale)
        self.list.setFont(font)
        title = QFont(font)
        title.setPointSizeF(10 * theme.scale)
        title.setBold(True)
        self.title.setFont(title)
        if self._items:
            self.set_items(self.title.text(), self._items)
