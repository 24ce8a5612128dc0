"""Writing logits and per-sample results: ``save_logits`` (.npz, .csv) and ``save_results_csv``.

Every file is written through ``core.atomic.atomic_write``: to a temporary name, flushed and
renamed, so a failure never leaves half a file. Floats are written in their shortest exact form,
so that ``load_logits`` reads back the identical values.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.atomic import atomic_write
from softmax_lab.core.loaders._build import as_class_names, as_labels
from softmax_lab.core.loaders._common import DataError, describe_dtype, short
from softmax_lab.core.loaders.text_files import LABEL_COLUMNS, TEXT_COLUMNS, is_number


def save_logits(
    path: str | os.PathLike[str],
    logits: Any,
    targets: Any = None,
    class_names: Sequence[str] | None = None,
) -> None:
    """Save logits (and optional labels and class names) as .npz or .csv.

    .npz keys: ``logits``, ``labels`` and ``class_names`` (a unicode array). The .csv has a header
    row of class names (``class_0`` ... when none are given) and a trailing ``label`` column when
    there are labels. Floats are written in their shortest exact form, so they load back bit for
    bit. The file is written to a temporary name first, so a failure never leaves half a file.
    """
    target = os.fsdecode(os.fspath(path))
    name = Path(target).name or target
    ext = Path(target).suffix.lower()
    if ext not in (".npz", ".csv"):
        raise DataError(
            f"{name}: logits can be saved as .npz or .csv, not '{ext or 'no extension'}'"
        )
    array = _logits_for_saving(logits, name)
    n, c = array.shape
    labels = None
    if targets is not None:
        labels = as_labels(np.asarray(targets), (n, c), c, name, [], None)
    names = None
    if class_names is not None:
        names = as_class_names(list(class_names), c, name)

    if ext == ".npz":
        arrays: dict[str, np.ndarray] = {"logits": array}
        if labels is not None:
            arrays["labels"] = labels
        if names is not None:
            arrays["class_names"] = np.array(names, dtype=str)
        _write_atomically(target, name, "wb", lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
        return

    header = names if names is not None else [f"class_{j}" for j in range(c)]
    for column in header:
        if column.lower() in LABEL_COLUMNS:
            raise DataError(
                f"{name}: class name {column!r} would be read back as the label column; rename it"
            )
        if column.lower() in TEXT_COLUMNS:
            raise DataError(
                f"{name}: class name {column!r} would be read back as a text column; rename it"
            )
        if "\n" in column or "\r" in column:
            raise DataError(f"{name}: class names in a CSV file cannot contain line breaks")
    if labels is not None:
        header = [*header, "label"]

    def write_csv(fh: io.TextIOBase) -> None:
        # Quote all header cells when a name looks like a number, so the loader still sees a
        # header (see _is_header).
        numeric = any(not cell.strip() or is_number(cell) for cell in header)
        writer = csv.writer(
            fh, lineterminator="\n", quoting=csv.QUOTE_ALL if numeric else csv.QUOTE_MINIMAL
        )
        writer.writerow(header)
        label_text = None if labels is None else labels.astype(str)
        for start in range(0, n, 4096):  # in chunks: text takes ~10x the memory of floats
            chunk = _numbers_to_text(array[start : start + 4096])
            for i, row in enumerate(chunk, start=start):
                if label_text is not None:
                    row.append(label_text[i])
                fh.write(",".join(row))
                fh.write("\n")

    _write_atomically(target, name, "w", write_csv)


def save_results_csv(path: str | os.PathLike[str], columns: Mapping[str, Any]) -> None:
    """Write a per-sample results table: a ``sample`` index column, then ``columns`` in order.

    Floats are written in their shortest exact form, integers as integers, booleans as 1/0 (so
    a spreadsheet can average them) and text as CSV-quoted text.
    """
    target = os.fsdecode(os.fspath(path))
    name = Path(target).name or target
    texts: list[list[str]] = []
    length: int | None = None
    for key, values in columns.items():
        if key == "sample":
            raise DataError(f"{name}: 'sample' is reserved for the index column")
        array = np.asarray(values)
        if array.ndim != 1:
            raise DataError(f"{name}: column {key!r} must be 1-D, not shape {array.shape}")
        if length is not None and array.shape[0] != length:
            raise DataError(
                f"{name}: column {key!r} has {array.shape[0]} rows but the others have {length}"
            )
        length = array.shape[0]
        texts.append(_column_to_text(array, key, name))
    n = length or 0

    def write_csv(fh: io.TextIOBase) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sample", *columns.keys()])
        writer.writerows(zip(map(str, range(n)), *texts, strict=True))

    _write_atomically(target, name, "w", write_csv)


def _logits_for_saving(logits: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(logits)
    except (TypeError, ValueError, RuntimeError) as exc:  # ragged lists, GPU/grad tensors
        raise DataError(f"{name}: logits must be an array of numbers ({short(exc)})") from exc
    if array.dtype.kind not in "iuf":
        raise DataError(f"{name}: logits must be real numbers, not {describe_dtype(array.dtype)}")
    if array.ndim != 2 or 0 in array.shape:
        raise DataError(f"{name}: logits must be a non-empty 2-D array, not shape {array.shape}")
    return array


def _numbers_to_text(array: np.ndarray) -> list[Any]:
    """Numbers as nested lists of the shortest text that reads back to the identical value.

    Python's float repr does this for float64 (and is the fastest route); NumPy's str cast does
    it for float32, whose values would otherwise print with float64's extra digits.
    """
    if array.dtype.kind == "f" and array.dtype != np.float64:
        if array.dtype.itemsize <= 4:
            return array.astype(np.float32).astype(str).tolist()
        array = array.astype(np.float64)  # long double: nothing reads it back anyway
    if array.ndim == 1:
        return list(map(repr, array.tolist()))
    return [list(map(repr, row)) for row in array.tolist()]


def _column_to_text(array: np.ndarray, key: str, name: str) -> list[str]:
    kind = array.dtype.kind
    if kind == "b":
        return ["1" if v else "0" for v in array.tolist()]
    if kind == "f":
        return _numbers_to_text(array + array.dtype.type(0))  # −0.0 (a certain loss) as 0.0
    if kind in "iu":
        return _numbers_to_text(array)
    if kind in "US":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.tolist()]
    if kind == "O":
        return [str(v) for v in array.tolist()]
    raise DataError(f"{name}: column {key!r} holds {describe_dtype(array.dtype)}")


def _write_atomically(target: str, name: str, mode: str, write: Callable[[Any], None]) -> None:
    """``core.atomic.atomic_write`` with its OSErrors turned into DataErrors naming the file."""
    folder = os.path.dirname(os.path.abspath(target))
    try:
        atomic_write(target, write, text="b" not in mode)
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"{name}: the folder {folder} does not exist") from exc
    except PermissionError as exc:
        raise DataError(f"{name}: permission denied; cannot write to {folder}") from exc
    except OSError as exc:
        raise DataError(f"{name}: could not be written ({exc.strerror or short(exc)})") from exc
