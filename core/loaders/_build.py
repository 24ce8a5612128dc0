"""Turning what a reader found in a file into a checked, read-only ``LoadedLogits``.

Owns the rules every format shares: logits become an (N, C) float32/float64 array (3-D arrays
are flattened, one score per sample becomes two binary classes), labels become (N,) int64 class
indices (one-hot rows are converted), class names are checked against C, and rows that are
probabilities rather than logits are detected. Images, texts and metadata are checked in
``extras``, token ids, masks and vocabularies in ``sequences``; ``build`` runs them all before
returning, so a file with any problem loads nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import extras, sequences
from softmax_lab.core.loaders._common import (
    BINARY_NOTICE,
    DataError,
    LoadedLogits,
    describe_dtype,
    format_number,
    read_only,
)

# Probability detection reads at most this many rows and roughly this many values, so that it
# stays cheap for huge memory-mapped arrays (e.g. 1M x 50k vocab logits).
_PROB_SAMPLE_ROWS = 2000
_PROB_SAMPLE_VALUES = 4_000_000
PROB_TOLERANCE = 1e-3

RowOf = Callable[[int], int]
"""Maps a 0-based sample index to the row number shown in messages (file lines for text)."""


@dataclass
class Found:
    """What a reader found in a file, unchecked; ``build`` checks and normalises it."""

    logits: Any
    labels: Any = None
    class_names: Any = None
    images: Any = None
    texts: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    token_ids: Any = None
    token_key: str | None = None
    attention_mask: Any = None
    vocabulary: Any = None
    row_of: RowOf | None = None
    # The data file, so that a tokenizer.json or vocab.txt beside it can be found.
    path: Path | None = None


def build(name: str, source: str, found: Found, notices: list[str]) -> LoadedLogits:
    logits, stored_shape, binary = as_logits(found.logits, name, notices)
    n, c = logits.shape
    sequence_shape = (stored_shape[0], stored_shape[1]) if len(stored_shape) == 3 else None

    names = None
    if found.class_names is not None:
        names = as_class_names(found.class_names, None, name)
        if binary and len(names) == 1:  # the one name is the positive class's
            names = [f"not {names[0]}", names[0]]
        as_class_names(names, c, name)
    targets = None
    if found.labels is not None:
        labels = found.labels
        if _is_text(labels):
            labels, names = labels_from_names(labels, names, c, name, notices)
        labels = np.asarray(labels)
        targets = read_only(as_labels(labels, stored_shape, c, name, notices, found.row_of))
    seq = sequences.check(name, found, sequence_shape, c, targets, notices)
    if seq.targets is not None:  # next tokens from ids, or labels shifted as Hugging Face does
        targets = seq.targets
    images = extras.check_images(found.images, n, name, notices)
    texts = extras.check_texts(found.texts, n, name)
    metadata = extras.check_metadata(found.metadata, n, name)

    read_only(logits)
    return LoadedLogits(
        logits=logits,
        targets=targets,
        class_names=names,
        notices=notices,
        looks_like_probabilities=looks_like_probabilities(logits, binary),
        source=source,
        images=images,
        texts=texts,
        metadata=metadata,
        binary=binary,
        sequence_shape=sequence_shape,
        input_ids=seq.input_ids,
        attention_mask=seq.attention_mask,
        vocabulary=seq.vocabulary,
    )


def as_logits(
    array: Any, name: str, notices: list[str]
) -> tuple[np.ndarray, tuple[int, ...], bool]:
    """Check and normalise logits to an (N, C) float32/float64 array.

    Returns the array, the stored shape and whether it held binary scores. Avoids np.asarray on
    purpose: it would turn an np.memmap into a plain ndarray view.
    """
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    dtype = array.dtype
    if dtype.kind == "c":
        raise DataError(f"{name}: the logits are complex numbers; real numbers are needed")
    if dtype.kind not in "iuf":
        raise DataError(f"{name}: the logits must be numbers, but they are {describe_dtype(dtype)}")

    shape = tuple(array.shape)
    if array.ndim == 0:
        raise DataError(
            f"{name}: logits must be a 2-D array (samples by classes), but this one is 0-D "
            "(a single number)"
        )
    if array.ndim > 3:
        raise DataError(
            f"{name}: logits must be 2-D (samples by classes) or 3-D (batch by position by "
            f"classes), but this array is {array.ndim}-D with shape {shape}"
        )
    if array.ndim > 1 and shape[-1] == 0:
        raise DataError(f"{name}: the logits have no classes (shape {shape})")
    if math.prod(shape if array.ndim == 1 else shape[:-1]) == 0:
        raise DataError(f"{name}: the logits have no samples (shape {shape})")

    target = np.result_type(dtype, np.float32)
    if target.itemsize > 8:  # long double: no consumer handles it
        target = np.dtype(np.float64)
    # Copies are made with np.array/np.ascontiguousarray, which return plain ndarrays: astype
    # would keep the np.memmap class on an in-memory copy, and "is a memmap" must mean "is the
    # file". The conversions to native byte order and C order are silent (nothing is lost).
    if target != dtype:
        notices.append(f"{dtype} logits converted to {target}")
        array = np.array(array, dtype=target)
    if not array.dtype.isnative:
        array = np.array(array, dtype=array.dtype.newbyteorder("="))
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    if array.ndim == 3:
        flat = array.reshape(-1, shape[-1])  # a view, so memmaps stay memmaps
        notices.append(f"3-D logits {shape} flattened to {tuple(flat.shape)}")
        array = flat
    # One score per sample is binary; a language model's (B, T, 1) logits are one class, not
    # binary scores (every target is token 0, whose log-probability is 0).
    binary = len(shape) <= 2 and (array.ndim == 1 or array.shape[1] == 1)
    if binary:
        scores = array.reshape(-1)
        pair = np.zeros((scores.shape[0], 2), dtype=array.dtype)
        pair[:, 1] = scores
        notices.append(BINARY_NOTICE)
        array = pair
    return array, shape, binary


def _is_text(labels: Any) -> bool:
    if isinstance(labels, np.ndarray):
        return labels.dtype.kind in "US"
    return isinstance(labels, (list, tuple)) and any(isinstance(v, (str, bytes)) for v in labels)


def labels_from_names(
    raw: Any, names: list[str] | None, c: int, name: str, notices: list[str]
) -> tuple[np.ndarray, list[str] | None]:
    """Labels written as class names (a CSV label column or an .npz/.pt entry of text).

    Matched to ``names`` (the class columns' or the file's class names) when every label is one
    of them; else, when no label is one of them and there are exactly C distinct labels, the
    sorted distinct labels become the classes (scikit-learn's ``classes_`` order), with a notice.
    Labels that are all whole numbers written as text are read as numbers. An empty label marks
    an ignored sample. Returns the labels (as numbers) and the class names.
    """
    items = raw.ravel().tolist() if isinstance(raw, np.ndarray) else list(raw)
    words = [
        (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip() for v in items
    ]
    given = [w for w in words if w]
    if given and all(_is_whole(w) for w in given):
        return np.array([float(w) if w else IGNORE_INDEX for w in words]), names
    distinct = sorted(set(given))
    known = set(names or ())
    if names is not None and known.issuperset(distinct):
        index = {label: i for i, label in enumerate(names)}
        notices.append("labels are class names, matched to the class names")
    elif (names is None or known.isdisjoint(distinct)) and len(distinct) == c:
        index = {label: i for i, label in enumerate(distinct)}
        notices.append(
            f"labels are class names; the {c} distinct names, sorted, became the classes "
            f"({_shown(distinct)}), in the order scikit-learn gives its classes_"
        )
        names = distinct
    elif names is not None and not known.isdisjoint(distinct):
        unknown = [w for w in distinct if w not in known]
        raise DataError(
            f"{name}: labels {_shown(unknown)} are not class names (the classes are "
            f"{_shown(names)})"
        )
    else:
        raise DataError(
            f"{name}: the labels are {len(distinct)} distinct class names ({_shown(distinct)}) "
            f"but the logits have {c} classes; save the class names with the logits (column "
            "headers, or a 'class_names' entry) so that each label can be matched to its column"
        )
    missing = len(words) - len(given)
    if missing:
        notices.append(f"{missing:,} samples without a label are ignored")
    labels = np.array([index[w] if w else IGNORE_INDEX for w in words], dtype=np.int64)
    if isinstance(raw, np.ndarray):
        labels = labels.reshape(raw.shape)
    return labels, names


def _is_whole(word: str) -> bool:
    try:
        value = float(word)
    except ValueError:
        return False
    return math.isfinite(value) and value.is_integer()


def _shown(words: list[str], limit: int = 5) -> str:
    quoted = ", ".join(repr(w) for w in words[:limit])
    return quoted + (f", … ({len(words):,} in all)" if len(words) > limit else "")


def as_labels(
    labels: np.ndarray,
    logits_shape: tuple[int, ...],
    c: int,
    name: str,
    notices: list[str],
    row_of: RowOf | None,
) -> np.ndarray:
    """Check labels against the logits (stored shape, C classes) and return them as (N,) int64.

    Accepted: one label per sample in the samples' own layout ((N,), (N, 1), (B, T)), booleans,
    whole-number floats, and one-hot or probability rows (converted to the most likely class).
    """
    if labels.dtype.kind not in "biuf":
        raise DataError(
            f"{name}: labels must be whole numbers in 0..{c - 1}, but they are "
            f"{describe_dtype(labels.dtype)}"
        )
    grid = logits_shape if len(logits_shape) == 1 else logits_shape[:-1]  # (N,) or (B, T)
    n = math.prod(grid)
    if labels.shape == (*grid, c):
        labels = labels_from_matrix(labels, name, notices)
    if labels.shape == grid or labels.shape == (n, 1):
        labels = labels.reshape(-1)
    if labels.shape != (n,):
        raise DataError(
            f"{name}: there are {n} samples but the labels have shape {tuple(labels.shape)}"
        )
    return check_label_values(labels, c, name, row_of)


def check_label_values(
    labels: np.ndarray, c: int | None, name: str, row_of: RowOf | None
) -> np.ndarray:
    """(N,) labels of a numeric kind as int64: whole numbers in 0..c-1 or IGNORE_INDEX.

    With ``c`` None any whole number >= 0 is accepted (a label file read without its table).
    """
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    valid = labels >= 0 if c is None else (labels >= 0) & (labels < c)
    if labels.dtype.kind != "u":  # unsigned labels cannot be IGNORE_INDEX
        valid |= labels == IGNORE_INDEX
    if labels.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            valid &= np.floor(labels) == labels  # also rejects nan and inf
            valid &= np.abs(labels) < 2.0**62
    bad = np.flatnonzero(~valid)
    if bad.size:
        index = int(bad[0])
        row = row_of(index) if row_of is not None else index + 1
        wanted = "whole numbers >= 0" if c is None else f"whole numbers in 0..{c - 1}"
        raise DataError(
            f"{name}: labels must be {wanted} (found {format_number(labels[index])} at row {row})"
        )
    return labels.astype(np.int64)


def labels_from_matrix(matrix: np.ndarray, name: str, notices: list[str]) -> np.ndarray:
    """Turn one-hot (or probability) label rows into class indices."""
    values = matrix.astype(np.float64, copy=False)
    finite = bool(np.isfinite(values).all())
    with np.errstate(invalid="ignore"):
        rows_ok = (
            finite
            and bool((values >= 0).all())
            and bool(np.all(np.abs(values.sum(axis=-1) - 1.0) <= PROB_TOLERANCE))
        )
    if not rows_ok:
        raise DataError(
            f"{name}: the labels have the same shape as the logits {tuple(matrix.shape)} "
            "but are not one-hot rows (one 1 per row, or probabilities summing to 1)"
        )
    one_hot = bool(np.all((values == 0) | (values == 1)))
    kind = "one-hot" if one_hot else "probability"
    notices.append(
        f"{kind} labels {tuple(matrix.shape)} converted to class indices"
        + ("" if one_hot else " (most likely class)")
    )
    return values.argmax(axis=-1)


def as_class_names(raw: Any, c: int | None, name: str) -> list[str]:
    """A 1-D list of names as text; with ``c``, exactly ``c`` of them."""
    if isinstance(raw, np.ndarray):
        if raw.dtype.kind not in "USiuf" or raw.ndim != 1:
            raise DataError(
                f"{name}: class names must be a 1-D list of text, not "
                f"{describe_dtype(raw.dtype)} with shape {raw.shape}"
            )
        items: list[Any] = raw.tolist()
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise DataError(f"{name}: class names must be a list of text, not {type(raw).__name__}")
    names = [
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in items
    ]
    if c is not None and len(names) != c:
        raise DataError(
            f"{name}: there are {len(names)} class names but the logits have {c} classes"
        )
    return names


def looks_like_probabilities(logits: np.ndarray, binary: bool = False) -> bool:
    """True when every row is a probability vector: values in [0, 1] summing to 1.

    Binary scores look like probabilities when every one lies in [0, 1] (sigmoid outputs saved
    instead of logits). For big arrays only an evenly spaced sample of rows is checked (at most
    _PROB_SAMPLE_ROWS rows and about _PROB_SAMPLE_VALUES values) so that this stays cheap on huge
    memmaps; a file that is probabilities in the sampled rows but not elsewhere is not a
    realistic case.
    """
    n, c = logits.shape
    budget = max(1, min(_PROB_SAMPLE_ROWS, _PROB_SAMPLE_VALUES // c))
    if binary:
        sample = np.asarray(logits[:, 1])
    elif n <= budget:
        sample = np.asarray(logits)
    else:
        sample = np.asarray(logits[np.linspace(0, n - 1, budget).astype(np.intp)])
    with np.errstate(invalid="ignore"):
        if not (np.all(sample >= 0) and np.all(sample <= 1)):  # False for nan too
            return False
        if binary:
            return True
        sums = sample.sum(axis=1, dtype=np.float64)
    return bool(np.all(np.abs(sums - 1.0) <= PROB_TOLERANCE))
