"""Samples' inputs as the window draws them: images as RGBA bytes at a bounded size, texts as
one-line snippets. Pure numpy, one sample at a time, so that a table of 50,000 images converts
only the rows on screen. No Qt here (the window wraps the bytes in a QImage without copying).
"""

from __future__ import annotations

import numpy as np

__all__ = ["THUMBNAIL_PIXELS", "rgba", "snippet", "thumbnail"]

THUMBNAIL_PIXELS = 96
"""The longest side a cached thumbnail keeps; cells and grid tiles draw it at their size."""


def rgba(image: np.ndarray) -> np.ndarray:
    """One image (H, W), (H, W, 3) or (H, W, 4), uint8 or float in [0, 1], as a C-contiguous
    (H, W, 4) uint8 RGBA array (grey becomes R = G = B, alpha 255 unless given)."""
    array = np.asarray(image)
    if array.dtype.kind == "f":
        array = np.clip(np.nan_to_num(array, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    h, w = array.shape[:2]
    out = np.empty((h, w, 4), dtype=np.uint8)
    if array.ndim == 2:
        out[..., :3] = array[..., None]
        out[..., 3] = 255
    elif array.shape[2] == 3:
        out[..., :3] = array
        out[..., 3] = 255
    elif array.shape[2] == 4:
        out[...] = array
    else:
        raise ValueError(f"an image must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    return out


def thumbnail(image: np.ndarray, pixels: int = THUMBNAIL_PIXELS) -> np.ndarray:
    """``rgba(image)`` shrunk by an integer box average so its longest side is at most
    ``pixels`` (small images, such as 28 × 28 digits, are kept as they are: the window scales
    them up without smoothing, pixel for pixel)."""
    out = rgba(image)
    h, w = out.shape[:2]
    step = int(np.ceil(max(h, w) / max(1, pixels)))
    if step <= 1:
        return out
    hh, ww = (h // step) * step, (w // step) * step
    if hh == 0 or ww == 0:
        return np.ascontiguousarray(out[::step, ::step])
    blocks = out[:hh, :ww].reshape(hh // step, step, ww // step, step, 4).astype(np.float32)
    return np.ascontiguousarray((blocks.mean(axis=(1, 3)) + 0.5).astype(np.uint8))


def snippet(text: str, chars: int = 160) -> str:
    """``text`` on one line (runs of white space become one space), cut to ``chars`` with an
    ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= chars else line[: max(1, chars - 1)].rstrip() + "…"
