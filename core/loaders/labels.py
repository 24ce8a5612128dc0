"""``load_labels``: a file of labels for a table that is already loaded.

Reads .npy, .npz (a ``labels`` entry or the only one), .pt/.pth (a tensor, a list, a dict with a
``labels`` entry or only one entry), .csv/.tsv (a ``label`` column, or the only column) and
.txt (one label per line). Labels are whole numbers (-100 for "ignore"), booleans, one-hot rows,
or - when the class names are given - class names. The same safety rules as ``load_logits``:
nothing is unpickled, and every problem is a ``DataError`` naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.formatting import count
from softmax_lab.core.loaders._build import check_label_values, labels_from_matrix
from softmax_lab.core.loaders._common import (
    LABEL_KEYS,
    NPY_MAGIC,
    NUMPY_EXTENSIONS,
    TEXT_EXTENSIONS,
    TORCH_EXTENSIONS,
    ZIP_MAGICS,
    DataError,
    check_readable_file,
    describe_dtype,
    display_name,
    list_keys,
    open_regular,
    read_head,
    read_only,
    wrap_unexpected,
)
from softmax_lab.core.loaders.members import pick
from softmax_lab.core.loaders.numpy_files import NpzArchive, load_numpy_file, read_npy_array
from softmax_lab.core.loaders.text_files import LABEL_COLUMNS, decode_text, is_number, split_line

_SUPPORTED = ".npy, .npz, .pt, .pth, .csv, .tsv, .txt"


def load_labels(
    path: str | os.PathLike[str], n: int, class_names: Sequence[str] | None = None
) -> np.ndarray:
    """Labels for the ``n`` samples of a table from ``path``: a read-only (n,) int64 array.

    Values must be whole numbers in 0..C-1 (C = ``len(class_names)``; any number >= 0 when no
    names are given) or -100 (ignore). With ``class_names``, a value equal to a class name means
    that class, and any other value must be such a number. Raises ``DataError`` naming the file
    for every problem (wrong count, unknown names, bad values); no other exception escapes.
    """
    source, name = display_name(path)
    names = None if class_names is None else [str(c) for c in class_names]
    try:
        labels = _load(Path(source), name, n, names)
    except DataError:
        raise
    except Exception as exc:  # the contract: DataError, never anything else
        raise wrap_unexpected(name, exc) from exc
    return read_only(labels)


def _load(path: Path, name: str, n: int, names: list[str] | None) -> np.ndarray:
    check_readable_file(path, name)
    ext = path.suffix.lower()
    rows: list[int] | None = None
    if ext in NUMPY_EXTENSIONS:
        raw: Any = _from_numpy(path, name, ext)
    elif ext in TORCH_EXTENSIONS:
        raw = _from_torch(path, name)
    elif ext in TEXT_EXTENSIONS:
        raw, rows = _from_text(path, name, ext, names)
    else:
        kind = f"'{ext}'" if ext else "files without an extension"
        raise DataError(f"{name}: unsupported file type {kind} (labels are read from {_SUPPORTED})")
    return _as_indices(raw, name, n, names, rows)


def _from_numpy(path: Path, name: str, ext: str) -> Any:
    head = read_head(path, len(NPY_MAGIC), name)
    if head.startswith(NPY_MAGIC):
        return read_npy_array(path, name, mmap=False)
    if not head.startswith(ZIP_MAGICS):
        load_numpy_file(path, name, name, ext, mmap=False)  # raises the precise DataError
    with open_regular(path, name, "rb") as fh:
        archive = NpzArchive(path, fh, name, mmap=False)
        with archive.zip:
            keys = archive.keys()
            return archive.read(_label_key(keys, name), "labels")


def _label_key(keys: list[str], name: str) -> str:
    key = pick(keys, LABEL_KEYS)
    if key is not None:
        return key
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise DataError(f"{name}: the file holds no labels")
    raise DataError(
        f"{name}: cannot tell which entry holds the labels (found {list_keys(keys)}); "
        "name it 'labels'"
    )


def _from_torch(path: Path, name: str) -> Any:
    import torch

    from softmax_lab.core.loaders.torch_files import load_torch, to_numpy

    obj = load_torch(path, name)
    if isinstance(obj, Mapping):
        keys = list(obj)
        if not all(isinstance(k, str) for k in keys):
            raise DataError(f"{name}: the saved dict must have text keys such as 'labels'")
        obj = obj[_label_key(keys, name)]
    if isinstance(obj, torch.Tensor):
        return to_numpy(obj, name, "labels", None)
    if isinstance(obj, (list, tuple)):
        return list(obj)
    raise DataError(
        f"{name}: holds a Python {type(obj).__name__!r} object; expected a tensor or a list "
        "of labels"
    )


def _from_text(
    path: Path, name: str, ext: str, names: list[str] | None
) -> tuple[list[str], list[int]]:
    """The label cells and their file rows: one per line, or the label/only column of a table."""
    with open_regular(path, name, "rb") as fh:
        text = decode_text(fh.read(), name)
    lines = text.splitlines()
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        raise DataError(f"{name}: the file is empty (only blank lines)")
    if ext == ".txt":
        return [lines[i].strip() for i in content], [i + 1 for i in content]
    delimiter = "\t" if ext == ".tsv" else ","
    first = [cell.strip() for cell in split_line(lines[content[0]], delimiter)]
    known = set(names or ())
    label_columns = [j for j, cell in enumerate(first) if cell.lower() in LABEL_COLUMNS]
    if label_columns:
        column, content = label_columns[0], content[1:]
    elif len(first) == 1:
        column = 0
        if not is_number(first[0]) and first[0] not in known:
            content = content[1:]  # a header naming the column
    else:
        raise DataError(
            f"{name}: has {len(first)} columns and none is named 'label'; name the label column "
            "'label' or keep only one column"
        )
    cells: list[str] = []
    for i in content:
        row = split_line(lines[i], delimiter)
        if column >= len(row):
            raise DataError(f"{name}: row {i + 1} has no value in the label column")
        cells.append(row[column].strip())
    return cells, [i + 1 for i in content]


def _as_indices(
    raw: Any, name: str, n: int, names: list[str] | None, rows: list[int] | None
) -> np.ndarray:
    c = None if names is None else len(names)
    if isinstance(raw, list):
        if all(isinstance(v, (bool, int, float)) for v in raw):
            raw = np.asarray(raw) if raw else np.zeros(0, dtype=np.int64)
        else:
            return _from_words([str(v) for v in raw], name, n, names, rows)
    array = np.asarray(raw)
    if array.dtype.kind in "US":
        flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.ravel()]
        return _from_words(flat, name, n, names, None)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name}: labels must be whole numbers, not {describe_dtype(array.dtype)}")
    if array.ndim == 2 and array.shape[0] == n and array.shape[1] > 1 and array.shape[1] == c:
        array = labels_from_matrix(array, name, [])
    elif (array.ndim == 2 and array.shape[1] == 1) or array.size == n:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise DataError(f"{name}: labels must be a list, not an array of shape {array.shape}")
    _check_count(array.shape[0], n, name)
    return check_label_values(array, c, name, None)


def _from_words(
    words: list[str], name: str, n: int, names: list[str] | None, rows: list[int] | None
) -> np.ndarray:
    """Labels written as text: class names (when known) or whole numbers."""
    _check_count(len(words), n, name)
    index = {} if names is None else {label: i for i, label in enumerate(names)}
    labels = np.empty(len(words), dtype=np.int64)
    unknown: list[str] = []
    for k, word in enumerate(words):
        if word in index:
            labels[k] = index[word]
            continue
        row = rows[k] if rows is not None else k + 1
        try:
            number = float(word)
        except ValueError:
            if names is None:
                raise DataError(
                    f"{name}: row {row}: {word[:40]!r} is not a whole number; pass the class "
                    "names to read labels written as names"
                ) from None
            if word not in unknown:
                unknown.append(word)
            continue
        if not (math.isfinite(number) and number.is_integer() and abs(number) < 2.0**62):
            raise DataError(
                f"{name}: labels must be whole numbers (found {word[:40]!r} at row {row})"
            )
        labels[k] = int(number)
    if unknown:
        raise DataError(
            f"{name}: unknown class names: {list_keys(unknown, limit=5)} "
            f"(the classes are {list_keys(names or [], limit=5)})"
        )
    return check_label_values(labels, None if names is None else len(names), name, _row_of(rows))


def _row_of(rows: list[int] | None) -> Any:
    return None if rows is None else rows.__getitem__


def _check_count(found: int, n: int, name: str) -> None:
    if found != n:
        raise DataError(
            f"{name}: the file has {count(found)} labels but the table has {count(n)} samples"
        )
