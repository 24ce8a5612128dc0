"""What each sample is about: its image, its text and its metadata, aligned with the table's rows.

:class:`SampleInputs` is immutable; the document swaps in a new one when rows come or go, so
undo restores it exactly. Checking happens once, in :meth:`SampleInputs.build`: bad inputs raise
``ValueError`` naming the problem and the lengths involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METADATA_KINDS = "biufUS"
"""numpy kinds a metadata column may have: booleans, integers, floats, text."""


def _as_texts(texts: Any, n: int) -> np.ndarray:
    if isinstance(texts, (str, bytes)):
        raise ValueError("texts must be one string per sample, not a single string")
    try:
        items = list(texts)
    except TypeError:
        raise ValueError(
            f"texts must be a sequence of strings, not {type(texts).__name__}"
        ) from None
    if len(items) != n:
        raise ValueError(f"got {len(items)} texts for {n} samples")
    out = np.empty(n, dtype=object)
    for i, item in enumerate(items):
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if isinstance(item, np.str_):
            item = str(item)
        if not isinstance(item, str):
            raise ValueError(f"text {i} is a {type(item).__name__}, not a string")
        out[i] = item
    return out


def _as_images(images: Any, n: int) -> np.ndarray:
    array = _to_numpy(images)
    if array.dtype.kind not in "uif" or array.dtype.kind == "c":
        raise ValueError(f"images must be numbers (uint8, or floats in [0, 1]), not {array.dtype}")
    shape = array.shape
    if array.ndim not in (3, 4) or (array.ndim == 4 and shape[-1] not in (1, 3, 4)):
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 3|4), got shape {tuple(shape)}")
    if shape[0] != n:
        raise ValueError(f"got {shape[0]} images for {n} samples")
    if array.ndim == 4 and shape[-1] == 1:
        array = array[..., 0]
    if array.dtype.kind == "f":
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise ValueError("float images must hold values in [0, 1]; scale them (e.g. / 255)")
    elif array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError(f"integer images must hold 0..255, got {array.dtype} beyond that")
        array = array.astype(np.uint8)
    return array


def _as_column(name: str, values: Any, n: int) -> np.ndarray:
    array = _to_numpy(values)
    if array.dtype == object:
        strings = [isinstance(v, str) for v in array.ravel()]
        if array.ndim == 1 and all(strings):
            array = array.astype(str)
        else:
            raise ValueError(f"metadata {name!r} must be numbers, booleans or text, not objects")
    if array.ndim != 1:
        raise ValueError(f"metadata {name!r} must be one value per sample, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"metadata {name!r} has {array.shape[0]} values for {n} samples")
    if array.dtype.kind not in METADATA_KINDS:
        raise ValueError(f"metadata {name!r} must be numbers, booleans or text, not {array.dtype}")
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8", "replace")
    return array


def _to_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor on any device
        values = values.detach().cpu().numpy()
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a rectangular array ({exc})") from None


@dataclass(frozen=True, eq=False)
class SampleInputs:
    """Per-sample inputs: ``images`` (N, H, W[, 3|4]) uint8 or float in [0, 1], ``texts`` (N,)
    strings, ``metadata`` name → (N,) numbers / booleans / text. Each may be absent."""

    images: np.ndarray | None = None
    texts: np.ndarray | None = None
    metadata: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        n: int,
        images: Any = None,
        texts: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SampleInputs:
        """Checked inputs for ``n`` samples; raises ``ValueError`` naming the problem."""
        if metadata is not None and not isinstance(metadata, Mapping):
            raise ValueError("metadata must be a mapping of column name to values")
        columns = {}
        for name, values in (metadata or {}).items():
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"metadata names must be non-empty text, got {name!r}")
            columns[name] = _as_column(name, values, n)
        return cls(
            images=None if images is None else _as_images(images, n),
            texts=None if texts is None else _as_texts(texts, n),
            metadata=columns,
        )

    @property
    def is_empty(self) -> bool:
        return self.images is None and self.texts is None and not self.metadata

    def _map(self, op: Any) -> SampleInputs:
        return SampleInputs(
            images=None if self.images is None else op(self.images, "image"),
            texts=None if self.texts is None else op(self.texts, "text"),
            metadata={name: op(values, "column") for name, values in self.metadata.items()},
        )

    def take(self, rows: Sequence[int] | np.ndarray) -> SampleInputs:
        index = np.asarray(rows, dtype=np.int64)
        return self._map(lambda a, _kind: a[index])

    def delete(self, rows: Sequence[int] | np.ndarray) -> SampleInputs:
        index = np.asarray(rows, dtype=np.int64)
        return self._map(lambda a, _kind: np.delete(a, index, axis=0))

    def insert(self, at: int, count: int, rows: SampleInputs | None = None) -> SampleInputs:
        """``count`` rows inserted before ``at``: copies of ``rows`` (a duplicate), or blanks —
        a black image, an empty text, NaN / 0 / False / "" metadata."""
        if self.is_empty:
            return self

        def add(array: np.ndarray, kind: str) -> np.ndarray:
            if rows is not None:
                source = {"image": rows.images, "text": rows.texts}.get(kind)
                if kind == "column":
                    source = None
                if source is not None:
                    return np.insert(array, at, source, axis=0)
            blank = np.zeros((count, *array.shape[1:]), dtype=array.dtype)
            if kind == "text":
                blank = np.full(count, "", dtype=object)
            elif array.dtype.kind == "f":
                blank[:] = np.nan
            elif array.dtype.kind in "US":
                blank = np.full(count, "", dtype=array.dtype)
            return np.insert(array, at, blank, axis=0)

        out = self._map(add)
        if rows is not None and rows.metadata:
            metadata = {
                name: np.insert(self.metadata[name], at, rows.metadata[name], axis=0)
                for name in self.metadata
            }
            out = SampleInputs(out.images, out.texts, metadata)
        return out

    def same(self, other: SampleInputs) -> bool:
        """Equal content (NaN equal to NaN), for tests and the monkey."""

        def equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            if a is None or b is None:
                return a is b
            if a.shape != b.shape:
                return False
            if a.dtype.kind == "f" and b.dtype.kind == "f":
                return bool(np.array_equal(a, b, equal_nan=True))
            return bool(np.array_equal(a, b))

        return (
            equal(self.images, other.images)
            and equal(self.texts, other.texts)
            and self.metadata.keys() == other.metadata.keys()
            and all(equal(v, other.metadata[k]) for k, v in self.metadata.items())
        )


NO_INPUTS = SampleInputs()
