"""Drawing a sample's picture into a cell or a tile: aspect kept, centred, and small images
(28 × 28 digits) scaled up pixel for pixel instead of blurred.

:class:`ThumbnailDelegate` paints the table's image column from the QImage its model gives as
``DecorationRole``; the model asks the controller, which makes each thumbnail the first time a
row is painted and caches it, so only the rows on screen ever cost anything.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

__all__ = ["ThumbnailDelegate", "draw_image", "fitted_rect"]

CELL_MARGIN = 2


def fitted_rect(image_size: QSize, box: QRect) -> QRectF:
    """The largest rectangle with ``image_size``'s aspect that fits ``box``, centred in it."""
    w, h = image_size.width(), image_size.height()
    if w <= 0 or h <= 0 or box.width() <= 0 or box.height() <= 0:
        return QRectF()
    scale = min(box.width() / w, box.height() / h)
    if scale >= 1:
        scale = float(int(scale))  # whole multiples keep every source pixel the same size
    dw, dh = w * scale, h * scale
    return QRectF(box.x() + (box.width() - dw) / 2, box.y() + (box.height() - dh) / 2, dw, dh)


def draw_image(painter: QPainter, image: QImage, box: QRect) -> QRectF:
    """Draw ``image`` fitted into ``box``; upscaling is nearest-neighbour, shrinking smooth."""
    target = fitted_rect(image.size(), box)
    if target.isEmpty():
        return target
    painter.save()
    smooth = target.width() < image.width()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
    painter.drawImage(target, image)
    painter.restore()
    return target


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a cell's ``DecorationRole`` QImage to fill the cell (selection drawn as usual)."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        # The background and selection as any cell draws them, without the small icon.
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        opt.icon = opt.icon.__class__()
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if isinstance(image, QImage) and not image.isNull():
            m = CELL_MARGIN
            draw_image(painter, image, option.rect.adjusted(m, m, -m, -m))

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        height = max(option.rect.height(), 24)
        return QSize(height + 2 * CELL_MARGIN, height)
