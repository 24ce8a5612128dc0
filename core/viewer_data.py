"""What ``softmax_lab.view`` and ``Viewer.set_data`` are handed, checked before any window sees it.

:func:`prepare_view_data` runs in the caller's thread (a notebook cell, a training loop): it
copies the arrays (a training loop may overwrite its own next step), moves torch tensors to the
CPU, turns one score per sample into the binary classes [0, z], and raises ``ValueError`` naming
the problem for anything the window could not show. The window then only swaps the result in.
No Qt here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from softmax_lab.core.binary import binary_pairs
from softmax_lab.core.constants import (
    IGNORE_INDEX,
    MAX_INDEX,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    default_class_names,
)
from softmax_lab.core.document import Document
from softmax_lab.core.formatting import big_int
from softmax_lab.core.history import History
from softmax_lab.core.inputs import SampleInputs
from softmax_lab.core.loaders import available_memory
from softmax_lab.core.settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "VIEW_DEFAULTS",
    "VIEW_KEYWORDS_DOC",
    "ViewData",
    "ViewKeywords",
    "as_numpy",
    "build_document",
    "prepare_view_data",
]


class ViewKeywords(TypedDict, total=False):
    """The keywords of ``softmax_lab.view`` and ``Viewer.set_data``: the one list of them (their
    defaults are :data:`VIEW_DEFAULTS`, their documentation :data:`VIEW_KEYWORDS_DOC`)."""

    class_names: Sequence[str] | None
    images: ArrayLike | None
    texts: Sequence[str] | None
    metadata: Mapping[str, ArrayLike] | None
    title: str | None
    temperature: float | None
    show: bool | None
    compare: ArrayLike | None
    names: Sequence[str] | None


VIEW_DEFAULTS: Final[ViewKeywords] = {
    "class_names": None,
    "images": None,
    "texts": None,
    "metadata": None,
    "title": None,
    "temperature": 1.0,
    "show": True,
    "compare": None,
    "names": ("A", "B"),
}
"""What ``view`` uses for a keyword left out. ``set_data`` keeps the window's value instead."""

VIEW_KEYWORDS_DOC: Final = """\
class_names : sequence of str, optional
    One name per class (default ``class 0``, ``class 1``, …).
images : array_like, optional
    What each sample is: (N, H, W) or (N, H, W, 3|4), uint8 or floats in [0, 1].
texts : sequence of str, optional
    What each sample is: N strings.
metadata : mapping of str to array_like, optional
    Extra columns: ``{"split": (N,) values, ...}`` of numbers, text or booleans.
title : str, optional
    The window's title.
temperature : float, default 1.0
    The softmax temperature T the window starts at.
show : bool, default True
    Show the window (False: build it hidden, e.g. for ``screenshot``).
compare : array_like, optional
    A second model's (N, C) logits over the same samples, shown beside the first.
names : pair of str, default ("A", "B")
    The two models' names when ``compare`` is given."""
"""The numpydoc ``Parameters`` entries of the keywords (``view`` and ``set_data`` include it)."""


def as_numpy(values: Any, what: str) -> np.ndarray:
    """A numpy array of ``values``: torch tensors on any device are detached and copied to the
    CPU (bfloat16 / float16 as float32), lists become arrays. ``ValueError`` for ragged lists."""
    _check_fits(values, what)
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        tensor = values.detach().cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return np.array(tensor.numpy())
    try:
        return np.array(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} are not a rectangular array ({exc})") from None


def _check_fits(values: Any, what: str) -> None:
    """Refuse, before copying, an array whose copy (and float64 work copy) would not fit."""
    shape = getattr(values, "shape", None)
    itemsize = getattr(getattr(values, "dtype", None), "itemsize", None)
    if itemsize is None and hasattr(values, "element_size"):
        itemsize = values.element_size()
    if shape is None or not isinstance(itemsize, int):
        return
    try:
        cells = math.prod(int(d) for d in shape)
    except (TypeError, ValueError):
        return
    needed = 2 * cells * max(itemsize, 4)
    free = available_memory()
    if free is not None and needed > 0.8 * free:
        size = " × ".join(f"{int(d):,}" for d in shape)
        raise ValueError(
            f"{what} of shape {size} need about {needed / 1e9:.1f} GB of memory to show and "
            f"only {free / 1e9:.1f} GB is free"
        )


def _logits(values: Any, what: str) -> tuple[np.ndarray, bool]:
    array = as_numpy(values, what)
    if array.dtype == object:
        raise ValueError(f"{what} must be numbers, not Python objects (dtype object)")
    if array.dtype.kind == "c":
        raise ValueError(f"{what} must be real numbers, not complex")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be numbers, not {array.dtype}")
    if array.ndim == 0 or array.ndim > 2:
        raise ValueError(
            f"{what} must be (N, C) (samples × classes), or (N,) / (N, 1) for one binary score "
            f"per sample; got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{what} are empty (shape {array.shape})")
    if array.dtype.kind != "f" or array.dtype == np.float16:
        array = array.astype(np.float64 if array.dtype.kind != "f" else np.float32)
    binary = array.ndim == 1 or array.shape[1] == 1
    if binary:
        array = binary_pairs(array)
    return np.ascontiguousarray(array), binary


def _class_names(names: Any, c: int, binary: bool) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise ValueError("class_names must be one name per class, not a single string")
    try:
        items = [str(v) for v in names]
    except TypeError:
        raise ValueError(
            f"class_names must be a list of names, not {type(names).__name__}"
        ) from None
    if binary and len(items) == 1:  # the one name is the positive class's
        items = [f"not {items[0]}", items[0]]
    if len(items) != c:
        raise ValueError(f"got {len(items)} class names for {c} classes")
    if len(set(items)) != len(items):
        raise ValueError("class names must be unique")
    if any(not name.strip() for name in items):
        raise ValueError("class names must not be empty")
    return items


def _labels(values: Any, n: int, c: int, names: Sequence[str]) -> np.ndarray:
    array = as_numpy(values, "labels")
    if array.ndim != 1:
        raise ValueError(f"labels must be one class per sample, (N,); got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"got {array.shape[0]} labels for {n} samples")
    if array.dtype.kind in "UO":
        index = {name: i for i, name in enumerate(names)}
        out = np.empty(n, dtype=np.int64)
        for i, value in enumerate(array.tolist()):
            if isinstance(value, str) and value in index:
                out[i] = index[value]
            elif (
                isinstance(value, (int, np.integer))
                and not isinstance(value, bool)
                and -MAX_INDEX <= value <= MAX_INDEX
            ):
                out[i] = int(value)
            elif (
                isinstance(value, str)
                and len(value) <= 12
                and value.strip().lstrip("-").isdigit()
                and -MAX_INDEX <= int(value) <= MAX_INDEX
            ):
                out[i] = int(value)  # numbers mixed with names become text in numpy
            else:
                shown = big_int(value) if isinstance(value, int) else f"{value!r:.40}"
                raise ValueError(f"label {shown} of sample {i} is not a class name or number")
        array = out
    elif array.dtype.kind == "b":
        array = array.astype(np.int64)
    elif array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array)) & (np.abs(array) <= MAX_INDEX)
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise ValueError(
                f"labels must be whole numbers within ±{MAX_INDEX:,}; sample {i} has {array[i]!r}"
            )
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iu":
        raise ValueError(f"labels must be class numbers or names, not {array.dtype}")
    if array.dtype.kind == "u" and array.itemsize >= 8 and array.size and array.max() > MAX_INDEX:
        array = np.where(array > MAX_INDEX, MAX_INDEX, array)  # refused as out of range below
    array = array.astype(np.int64)
    bad = ~(((array >= 0) & (array < c)) | (array == IGNORE_INDEX))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"label {int(array[i])} of sample {i} is not a class 0..{c - 1} "
            f"(or {IGNORE_INDEX} to ignore the sample)"
        )
    return array


@dataclass(frozen=True, eq=False)
class ViewData:
    """Checked data for a window: everything ``Document.replace_all`` takes."""

    logits: np.ndarray
    """(N, C) float32/float64, owned (a copy of what the caller gave)."""
    labels: np.ndarray
    """(N,) int64; ``IGNORE_INDEX`` everywhere when there are no labels."""
    has_labels: bool
    class_names: list[str] | None
    """None: keep the window's names (same class count) or use "class i"."""
    inputs: SampleInputs | None
    """None: keep the window's inputs (nothing given and the same sample count)."""
    binary: bool
    temperature: float | None
    """None: keep the window's temperature."""
    logits_b: np.ndarray | None = None
    model_names: tuple[str, str] | None = ("A", "B")
    """None: keep the window's model names."""
    notices: list[str] = field(default_factory=list)
    title: str | None = None
    """None: keep the window's title."""
    show: bool | None = True
    """None: leave the window shown or hidden as it is."""

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.logits.shape[0]), int(self.logits.shape[1])

    def settings(self, base: Settings | None = None) -> Settings:
        """``base`` (or the defaults) with this temperature; class weights reset, since the
        classes may be new."""
        settings = replace(base or Settings(), weight=None, target_mode="index")
        if self.temperature is not None:
            settings = replace(settings, temperature=self.temperature)
        return settings


def prepare_view_data(
    logits: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    current_shape: tuple[int, int] | None = None,
    **keywords: Unpack[ViewKeywords],
) -> ViewData:
    """Check and copy everything ``view`` / ``set_data`` take; ``ValueError`` names the problem.

    A keyword left out takes its :data:`VIEW_DEFAULTS` value for a new window; for a window
    being updated (``current_shape``, its (N, C)) it keeps the window's value: inputs when N
    stays, class names when C stays, the temperature, the model names, the title. Only
    ``ValueError`` and ``TypeError`` escape: a number too large for the arrays (OverflowError),
    data too large for memory (MemoryError) or nested too deeply (RecursionError) is a
    ``ValueError`` saying so.
    """
    unknown = sorted(set(keywords) - set(VIEW_DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    given: dict[str, Any] = {**(VIEW_DEFAULTS if current_shape is None else {}), **keywords}
    try:
        return _prepare(logits, labels, given, current_shape)
    except (ValueError, TypeError):
        raise
    except OverflowError as exc:
        raise ValueError(f"a number is too large to use ({exc})") from None
    except MemoryError:
        raise ValueError("the data is too large for the memory free") from None
    except RecursionError:
        raise ValueError("the data is nested too deeply") from None
    except (IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"the data cannot be shown ({type(exc).__name__}: {exc})") from None


def _prepare(
    logits: Any, labels: Any, given: dict[str, Any], current_shape: tuple[int, int] | None
) -> ViewData:
    class_names = given.get("class_names")
    images, texts, metadata = given.get("images"), given.get("texts"), given.get("metadata")
    temperature, compare, names = given.get("temperature"), given.get("compare"), given.get("names")
    title, show = given.get("title"), given.get("show")
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be text, not {type(title).__name__}")
    if show is not None and not isinstance(show, (bool, np.bool_)):
        raise ValueError(f"show must be True or False, not {show!r}")
    array, binary = _logits(logits, "logits")
    n, c = array.shape
    notices = ["one score per sample: shown as the two classes [0, z]"] if binary else []
    names_list = _class_names(class_names, c, binary)
    shown_names = names_list or default_class_names(c)
    if labels is None:
        label_array = np.full(n, IGNORE_INDEX, dtype=np.int64)
    else:
        label_array = _labels(labels, n, c, shown_names)
    if temperature is not None:
        try:
            t = float(temperature)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"temperature must be a number, not {temperature!r:.40}") from None
        if not (math.isfinite(t) and TEMPERATURE_MIN <= t <= TEMPERATURE_MAX):
            raise ValueError(
                f"temperature must be in [{TEMPERATURE_MIN:g}, {TEMPERATURE_MAX:g}], got {t!r}"
            )
        temperature = t
    has_inputs = images is not None or texts is not None or metadata is not None
    keep_inputs = not has_inputs and current_shape is not None and current_shape[0] == n
    inputs = None if keep_inputs else SampleInputs.build(n, images, texts, metadata)
    logits_b = None
    if compare is not None:
        logits_b, binary_b = _logits(compare, "compare logits")
        if logits_b.shape != array.shape or binary_b != binary:
            raise ValueError(
                f"compare logits must have the shape of the logits {array.shape}, "
                f"got {logits_b.shape}"
            )
    pair: tuple[str, str] | None = None
    if names is not None:
        values = tuple(str(v) for v in names) if not isinstance(names, str) else (names,)
        if len(values) != 2 or not all(v.strip() for v in values):
            raise ValueError(f"names must be two non-empty model names, got {names!r}")
        pair = (values[0], values[1])
    return ViewData(
        array,
        label_array,
        labels is not None,
        names_list,
        inputs,
        binary,
        temperature,
        logits_b,
        pair,
        notices,
        title,
        None if show is None else bool(show),
    )


def build_document(data: ViewData) -> Document:
    """A new document for a new window, with no undo history (opening is not an edit)."""
    document = Document(
        data.logits,
        data.labels,
        data.class_names,
        settings=data.settings(),
        inputs=data.inputs,
        has_labels=data.has_labels,
        binary=data.binary,
    )
    if data.logits_b is not None:
        document.attach_model_b(data.logits_b, data.model_names or ("A", "B"))
        document.history = History()
    return document
