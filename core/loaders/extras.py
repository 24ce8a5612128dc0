"""Inputs stored beside the logits: images, texts and per-sample metadata.

Owns their checks. Each is optional and has one entry per sample (N, the rows of the logits
table): ``images`` (N, H, W) or (N, H, W, 3|4) as uint8 or floats in [0, 1]; ``texts`` N strings;
``metadata`` name -> (N,) numbers, strings or booleans. A wrong length, shape, dtype or range is a
``DataError`` naming the entry, because a viewer showing sample 7's picture next to sample 8's
logits would be worse than no picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from softmax_lab.core.formatting import short
from softmax_lab.core.loaders._common import DataError, describe_dtype, length_mismatch, read_only

# Channel counts of an image array stored channels-first, (N, C, H, W) as PyTorch keeps them.
_CHANNELS = (1, 3, 4)


def check_images(images: Any, n: int, name: str, notices: list[str]) -> np.ndarray | None:
    if images is None:
        return None
    if not isinstance(images, np.ndarray):
        images = np.asarray(images)
    shape = tuple(images.shape)
    if images.ndim not in (3, 4):
        raise DataError(
            f"{name}: 'images' must be (N, H, W) or (N, H, W, 3|4), not {images.ndim}-D with "
            f"shape {shape}"
        )
    kind = images.dtype.kind
    if not (images.dtype == np.uint8 or kind == "f"):
        hint = "; convert them with .astype(np.uint8)" if kind in "iu" else ""
        raise DataError(
            f"{name}: 'images' must be uint8 (0-255) or floats in [0, 1], not "
            f"{describe_dtype(images.dtype)}{hint}"
        )
    if images.shape[0] != n:
        raise length_mismatch(name, "images", images.shape[0], n)
    # Channels last when the last axis can be channels; else channels first, as torch keeps them.
    if images.ndim == 4 and shape[-1] not in (1, 3, 4):
        if shape[-1] == 2 or shape[1] not in _CHANNELS:
            raise DataError(
                f"{name}: 'images' must have 1, 3 or 4 channels, but shape {shape} has "
                f"{shape[-1] if shape[-1] == 2 else 'neither first nor last'}"
            )
        images = np.moveaxis(images, 1, -1)  # a view: channels-first files stay mapped
        notices.append(f"images {shape} stored channels-first, shown as {tuple(images.shape)}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if 0 in images.shape:
        raise DataError(f"{name}: 'images' are empty (shape {shape})")
    if kind == "f":
        _check_unit_range(images, name)
    return read_only(images)


def _check_unit_range(images: np.ndarray, name: str) -> None:
    # One image at a time keeps the temporaries small for a memory-mapped stack.
    low, high = np.inf, -np.inf
    for start in range(0, images.shape[0], 256):
        block = np.asarray(images[start : start + 256])
        if not np.isfinite(block).all():
            raise DataError(
                f"{name}: 'images' contain NaN or infinite values; pixel values must be in [0, 1]"
            )
        low = min(low, float(block.min()))
        high = max(high, float(block.max()))
    if low < 0 or high > 1:
        hint = (
            "scale them, e.g. images / 255"
            if low >= 0
            else "scale them, e.g. (x - x.min()) / (x.max() - x.min())"
        )
        raise DataError(
            f"{name}: float 'images' must lie in [0, 1] but range from {short(low)} to "
            f"{short(high)}; {hint}"
        )


def check_texts(texts: Any, n: int, name: str) -> list[str] | None:
    if texts is None:
        return None
    if isinstance(texts, np.ndarray):
        if texts.dtype.kind not in "US" or texts.ndim != 1:
            raise DataError(
                f"{name}: 'texts' must be a 1-D list of text, not {describe_dtype(texts.dtype)} "
                f"with shape {tuple(texts.shape)}"
            )
        items: list[Any] = texts.tolist()
    elif isinstance(texts, (list, tuple)):
        items = list(texts)
        wrong = next((item for item in items if not isinstance(item, (str, bytes))), None)
        if wrong is not None:
            raise DataError(
                f"{name}: 'texts' must be a list of text, but it holds a {type(wrong).__name__}"
            )
    else:
        raise DataError(f"{name}: 'texts' must be a list of text, not {type(texts).__name__}")
    if len(items) != n:
        raise length_mismatch(name, "texts", len(items), n)
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else item for item in items]


def metadata_array(value: Any) -> np.ndarray | None:
    """A 1-D column of numbers, text or booleans as an array, or None if it is something else."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        if value and not all(isinstance(v, (str, bytes, bool, int, float)) for v in value):
            return None
        if value and len({type(v) for v in value} - {int, float}) > 1:
            return None  # mixed text and numbers: no honest dtype for it
        try:
            array = np.asarray(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if array.ndim != 1 or array.dtype.kind not in "biufUS":
        return None
    if array.dtype.kind == "S":
        array = np.array([v.decode("utf-8", "replace") for v in array.tolist()], dtype=str)
    elif array.dtype.kind == "f" and array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    return array


def check_metadata(metadata: Mapping[str, Any], n: int, name: str) -> dict[str, np.ndarray]:
    """Check the metadata columns: each must be 1-D numbers, text or booleans with n entries.

    Readers pass only entries meant as metadata: an explicit 'metadata' dict, and the other 1-D
    entries that already have n values of a usable kind (see ``members``).
    """
    result: dict[str, np.ndarray] = {}
    for key, value in metadata.items():
        array = metadata_array(value)
        if array is None:
            raise DataError(
                f"{name}: metadata '{key}' must be a 1-D list of numbers, text or true/false values"
            )
        if array.shape[0] != n:
            raise length_mismatch(name, key, array.shape[0], n)
        result[key] = read_only(array)
    return result
