"""Arrays to QImages and back, through pyqtgraph's conversions (one place, for every caller)."""

from __future__ import annotations

import numpy as np
from pyqtgraph.functions import ndarray_from_qimage, ndarray_to_qimage
from PySide6.QtGui import QImage

_FORMATS = {
    1: QImage.Format.Format_Grayscale8,
    3: QImage.Format.Format_RGB888,
    4: QImage.Format.Format_RGBA8888,
}


def to_qimage(array: np.ndarray) -> QImage:
    """An (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA array — uint8, or floats in [0, 1] — as
    a QImage that owns its pixels (the array may be freed or changed afterwards)."""
    data = np.asarray(array)
    if data.dtype.kind == "f":
        data = np.clip(np.nan_to_num(data) * 255.0, 0, 255)
    data = np.ascontiguousarray(data.astype(np.uint8, copy=False))
    channels = 1 if data.ndim == 2 else int(data.shape[2])
    if data.ndim not in (2, 3) or channels not in _FORMATS:
        raise ValueError(f"an image must be (H, W), (H, W, 3) or (H, W, 4), not {data.shape}")
    return ndarray_to_qimage(data, _FORMATS[channels]).copy()


def to_rgba(image: QImage) -> np.ndarray:
    """A QImage as an (H, W, 4) uint8 RGBA array of its own (not a view of the image)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return np.array(ndarray_from_qimage(rgba), copy=True)
