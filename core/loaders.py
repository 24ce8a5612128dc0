"""Reading and writing logits files for Softmax Lab.

``load_logits`` turns a user-supplied file (.npy, .npz, .pt/.pth, .csv/.tsv/.txt) into a
``LoadedLogits`` record: an (N, C) floating array plus optional integer labels and class names.
Every way a file can be wrong ends in a ``DataError`` whose message names the file and the
problem in plain words, because these messages are shown to users as-is.

Two rules shape this module:

* Never run code from a file. NumPy files are read with ``allow_pickle=False`` and PyTorch files
  with ``weights_only=True``; a file that would need unpickling is refused, not "trusted".
* Do not copy big arrays needlessly. A 2-D float32/float64 C-contiguous ``.npy`` comes back as a
  read-only ``np.memmap``; 3-D arrays are flattened with a reshape, which keeps the memmap view.

All returned arrays are read-only (memmaps are by nature, the others are made so), so that code
downstream behaves the same whichever format the data came from.

This module must not import Qt; PyTorch is imported lazily, only for .pt/.pth files.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
import stat
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.atomic import atomic_write
from core.constants import IGNORE_INDEX

__all__ = [
    "IGNORE_INDEX",
    "DataError",
    "LoadedLogits",
    "load_logits",
    "save_logits",
    "save_results_csv",
]


# Key names accepted in .npz archives and dicts saved to .pt files, most specific first.
_LOGITS_KEYS = ("logits", "logit", "outputs", "scores", "preds", "predictions", "y_pred")
_LABEL_KEYS = ("labels", "label", "targets", "target", "y", "y_true")
_CLASS_NAME_KEYS = ("class_names", "classes")
# Header names that mark the label column of a CSV file (compared case-insensitively).
_CSV_LABEL_COLUMNS = frozenset({"label", "labels", "target", "targets", "y"})
# First-column headers that pandas and friends use for a row index we should not treat as a class.
_CSV_INDEX_COLUMNS = frozenset({"", "unnamed: 0", "index"})

_NUMPY_EXTENSIONS = frozenset({".npy", ".npz"})
_TORCH_EXTENSIONS = frozenset({".pt", ".pth"})
_TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
_SUPPORTED = ".npy, .npz, .pt, .pth, .csv, .tsv, .txt"

_NPY_MAGIC = b"\x93NUMPY"
# Local file header, or the end record of an empty archive (what np.savez() with no arrays writes).
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_PICKLE_PROTOCOL_MARK = b"\x80"

# Probability detection reads at most this many rows and roughly this many values, so that it
# stays cheap for huge memory-mapped arrays (e.g. 1M x 50k vocab logits).
_PROB_SAMPLE_ROWS = 2000
_PROB_SAMPLE_VALUES = 4_000_000
_PROB_TOLERANCE = 1e-3

_NEVER_RUNS_CODE = (
    "not a plain tensor file: it would need to run code to load, which Softmax Lab never does"
)


class DataError(ValueError):
    """A file could not be used as logits data. The message is meant for the user, as-is."""


@dataclass(frozen=True, eq=False)
class LoadedLogits:
    """Logits read from a file, ready for analysis.

    ``logits`` is an (N, C) float32/float64 array and ``targets`` an (N,) int64 array in which
    -100 marks ignored samples. Both are read-only. ``eq=False`` because comparing records that
    hold large arrays element-wise is never what callers want.
    """

    logits: np.ndarray
    targets: np.ndarray | None = None
    class_names: list[str] | None = None
    notices: list[str] = field(default_factory=list)
    looks_like_probabilities: bool = False
    source: str = ""

    def as_log_probabilities(self) -> LoadedLogits:
        """Return a copy whose logits are log(p), for data the user confirmed are probabilities.

        Softmax of log(p) gives p back, so every downstream computation sees the original
        probabilities. Zero probabilities become -inf without a warning.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = np.log(np.asarray(self.logits))
        log_p.flags.writeable = False
        notice = "values treated as probabilities; their logarithm is used as logits (0 -> -inf)"
        return dataclasses.replace(
            self,
            logits=log_p,
            notices=[*self.notices, notice],
            looks_like_probabilities=False,
        )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_logits(path: str | os.PathLike[str], *, mmap: bool = True) -> LoadedLogits:
    """Read logits (and labels/class names where the format has them) from ``path``.

    ``mmap`` only affects .npy files: when true, a float32/float64 2-D or 3-D array is returned as
    a read-only memory map instead of being read into memory.

    Raises ``DataError`` for every problem with the file; no other exception escapes.
    """
    source = os.fsdecode(os.fspath(path))
    name = Path(source).name or source
    try:
        return _load(Path(source), name, source, mmap)
    except DataError:
        raise
    except Exception as exc:  # the contract: DataError, never anything else
        raise _wrap_unexpected(name, exc) from exc


# Reading a file into memory needs about this many bytes per byte of file (text is parsed into
# Python objects, then a float64 array): measured ~6x for CSV, ~1.2x for .pt/.npz.
_MEMORY_FACTOR = {"text": 6.0, "binary": 1.3}


def available_memory() -> int | None:
    """Bytes of memory free for new allocations (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_memory(path: Path, name: str, kind: str) -> None:
    """Refuse, with a way out, a file that would not fit: better than an out-of-memory kill."""
    free = available_memory()
    if free is None:
        return
    size = path.stat().st_size
    needed = size * _MEMORY_FACTOR[kind]
    if needed > 0.8 * free:
        raise DataError(
            f"{name}: reading this {size / 1e9:.1f} GB file needs about {needed / 1e9:.1f} GB of "
            f"memory and only {free / 1e9:.1f} GB is free. Save the logits as .npy instead: "
            f"Softmax Lab memory-maps .npy files, so they open at any size."
        )


def _load(path: Path, name: str, source: str, mmap: bool) -> LoadedLogits:
    _check_readable_file(path, name)
    ext = path.suffix.lower()
    if ext in _TEXT_EXTENSIONS:
        _check_memory(path, name, "text")
    elif ext in _TORCH_EXTENSIONS or (ext in _NUMPY_EXTENSIONS and not (mmap and ext == ".npy")):
        _check_memory(path, name, "binary")
    if ext in _NUMPY_EXTENSIONS:
        return _load_numpy_file(path, name, source, ext, mmap)
    if ext in _TORCH_EXTENSIONS:
        return _load_torch_file(path, name, source)
    if ext in _TEXT_EXTENSIONS:
        return _load_text_file(path, name, source, ext)
    kind = f"'{ext}'" if ext else "files without an extension"
    raise DataError(f"{name}: unsupported file type {kind} (Softmax Lab reads {_SUPPORTED})")


def _check_readable_file(path: Path, name: str) -> None:
    """Refuse missing files, folders, devices/FIFOs (reading them could block) and empty files."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"{name}: file not found ({path})") from None
    except PermissionError:
        raise DataError(f"{name}: permission denied; the file cannot be read") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{name}: this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{name}: not a regular file")
    if info.st_size == 0:
        raise DataError(f"{name}: the file is empty")


def _read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _wrap_unexpected(name: str, exc: BaseException) -> DataError:
    """Turn an exception nobody anticipated into a readable DataError."""
    if isinstance(exc, PermissionError):
        return DataError(f"{name}: permission denied; the file cannot be read")
    if isinstance(exc, FileNotFoundError):
        return DataError(f"{name}: file not found")
    if isinstance(exc, IsADirectoryError):
        return DataError(f"{name}: this is a folder, not a file")
    if isinstance(exc, MemoryError):
        return DataError(f"{name}: the data is too large to load into memory")
    if isinstance(exc, UnicodeDecodeError):
        return DataError(f"{name}: not a UTF-8 text file")
    if isinstance(exc, (EOFError, zipfile.BadZipFile, zlib.error)):
        return DataError(f"{name}: the file is truncated or damaged ({_short(exc)})")
    if isinstance(exc, OSError):
        return DataError(f"{name}: could not be read ({exc.strerror or _short(exc)})")
    return DataError(f"{name}: could not be read as logits ({_short(exc)})")


def _short(exc: BaseException, limit: int = 200) -> str:
    """First line of an exception message, shortened: library messages can be pages long."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---- NumPy ---------------------------------------------------------------------------------


def _load_numpy_file(path: Path, name: str, source: str, ext: str, mmap: bool) -> LoadedLogits:
    # Dispatch on content, not on the extension: np.save/np.savez users mix the two up.
    head = _read_head(path, len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        return _load_npy(path, name, source, mmap)
    if head.startswith(_ZIP_MAGICS):
        return _load_npz(path, name, source)
    if head.startswith(_PICKLE_PROTOCOL_MARK):
        raise DataError(
            f"{name}: contains pickled Python objects, not a NumPy array; "
            "Softmax Lab never unpickles files because that could run code"
        )
    raise DataError(f"{name}: not a NumPy {ext} file (it lacks the NumPy file signature)")


def _load_npy(path: Path, name: str, source: str, mmap: bool) -> LoadedLogits:
    shape, dtype, data_offset = _read_npy_header(path, name)
    if dtype.hasobject:
        raise DataError(
            f"{name}: holds Python objects (pickled data), which Softmax Lab never loads "
            "because unpickling could run code"
        )
    needed = data_offset + math.prod(shape) * dtype.itemsize
    size = path.stat().st_size
    if size < needed:
        raise DataError(
            f"{name}: the file is truncated: it has {size} bytes but its {shape} array "
            f"needs {needed}"
        )
    # np.memmap refuses zero-length maps; such arrays are rejected below anyway.
    mmap_mode: Literal["r"] | None = "r" if mmap and math.prod(shape) > 0 else None
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{name}: the .npy file is damaged ({_short(exc)})") from exc
    notices: list[str] = []
    return _build(name, source, array, None, None, notices)


def _read_npy_header(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """Read shape and dtype without touching the data, so bad files fail fast and clearly."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, _fortran, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _fortran, dtype = fmt.read_array_header_2_0(fh)
            else:
                # Version 3 only exists for structured dtypes with non-Latin-1 field names,
                # which can never be logits.
                raise DataError(f"{name}: unsupported .npy format version {version}")
            return tuple(shape), np.dtype(dtype), fh.tell()
    except DataError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise DataError(f"{name}: the .npy header is damaged ({_short(exc)})") from exc


def _load_npz(path: Path, name: str, source: str) -> LoadedLogits:
    # We open the file ourselves: np.load leaks its handle when a damaged archive fails to open.
    with open(path, "rb") as fh:
        try:
            archive = np.load(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(
                f"{name}: not a valid .npz archive; it may be truncated or damaged ({_short(exc)})"
            ) from exc
        if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - magic says zip
            raise DataError(f"{name}: not a valid .npz archive")
        with archive:
            keys = list(archive.files)
            if not keys:
                raise DataError(f"{name}: the archive contains no arrays")
            notices: list[str] = []
            logits_key, labels_key, names_key = _pick_keys(keys, name, notices)
            logits = _read_npz_member(archive, logits_key, name)
            labels = None if labels_key is None else _read_npz_member(archive, labels_key, name)
            names = None if names_key is None else _read_npz_member(archive, names_key, name)
    return _build(name, source, logits, labels, names, notices)


def _read_npz_member(archive: Any, key: str, name: str) -> np.ndarray:
    try:
        return np.asarray(archive[key])
    except ValueError as exc:
        if "pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                f"{name}: array '{key}' holds Python objects (pickled data), which Softmax Lab "
                "never loads because unpickling could run code"
            ) from exc
        raise DataError(f"{name}: array '{key}' is damaged ({_short(exc)})") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{name}: array '{key}' is truncated or damaged ({_short(exc)})") from exc
    except NotImplementedError as exc:  # zipfile: encryption, exotic compression methods
        raise DataError(
            f"{name}: array '{key}' is stored in a way NumPy cannot read ({_short(exc)})"
        ) from exc


def _pick_keys(
    keys: Sequence[str], name: str, notices: list[str]
) -> tuple[str, str | None, str | None]:
    """Choose which entries of an .npz/.pt dict hold logits, labels and class names."""
    by_lower: dict[str, str] = {}
    for key in keys:
        by_lower.setdefault(key.lower(), key)

    def first(aliases: Iterable[str]) -> str | None:
        return next((by_lower[a] for a in aliases if a in by_lower), None)

    logits_key = first(_LOGITS_KEYS)
    labels_key = first(_LABEL_KEYS)
    names_key = first(_CLASS_NAME_KEYS)
    if logits_key is None:
        others = [k for k in keys if k not in (labels_key, names_key)]
        if len(others) == 1:
            logits_key = others[0]
            notices.append(f"no entry named 'logits'; using '{logits_key}' as the logits")
        elif not others:
            raise DataError(f"{name}: no logits found (it only holds {_list_keys(keys)})")
        else:
            raise DataError(
                f"{name}: cannot tell which entry holds the logits (found {_list_keys(keys)}); "
                "name it 'logits'"
            )
    unused = [k for k in keys if k not in (logits_key, labels_key, names_key)]
    if unused:
        notices.append(f"ignored entries: {_list_keys(unused)}")
    return logits_key, labels_key, names_key


def _list_keys(keys: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:limit])
    return shown if len(keys) <= limit else f"{shown} and {len(keys) - limit} more"


# ---- PyTorch -------------------------------------------------------------------------------


def _load_torch_file(path: Path, name: str, source: str) -> LoadedLogits:
    try:
        import torch
    except ImportError as exc:
        raise DataError(f"{name}: PyTorch is not installed, so .pt files cannot be read") from exc
    _read_head(path, 1)  # surfaces "permission denied" before torch wraps it in its own words
    try:
        # weights_only=True is the whole point: it refuses anything but tensors and plain
        # containers instead of running the pickle's code. Its warnings are about pickle
        # protocols, which mean nothing to our users.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many unrelated types here
        raise _torch_load_error(name, exc) from exc

    notices: list[str] = []
    logits_obj: Any
    labels_obj: Any = None
    names_obj: Any = None
    if isinstance(obj, torch.Tensor):
        logits_obj = obj
    elif isinstance(obj, Mapping):
        keys = list(obj.keys())
        if not all(isinstance(k, str) for k in keys):
            raise DataError(f"{name}: the saved dict must have text keys such as 'logits'")
        if not keys:
            raise DataError(f"{name}: the saved dict is empty")
        logits_key, labels_key, names_key = _pick_keys(keys, name, notices)
        logits_obj = obj[logits_key]
        labels_obj = None if labels_key is None else obj[labels_key]
        names_obj = None if names_key is None else obj[names_key]
    elif isinstance(obj, (list, tuple)) and 1 <= len(obj) <= 3:
        logits_obj = obj[0]
        labels_obj = obj[1] if len(obj) > 1 else None
        names_obj = obj[2] if len(obj) > 2 else None
    else:
        what = f"a Python {type(obj).__name__!r} object"
        if isinstance(obj, (list, tuple)):
            what = f"a {type(obj).__name__} of {len(obj)} items"
        raise DataError(
            f"{name}: holds {what}; expected a tensor, a dict such as "
            "{'logits': ..., 'labels': ...}, or a (logits, labels) pair"
        )

    logits = _torch_to_numpy(logits_obj, name, "logits", notices)
    labels = None if labels_obj is None else _torch_to_numpy(labels_obj, name, "labels", None)
    return _build(name, source, logits, labels, names_obj, notices)


def _torch_load_error(name: str, exc: Exception) -> DataError:
    text = str(exc)
    refused = re.search(r"GLOBAL ([\w.]+)", text)
    if refused:
        return DataError(
            f"{name}: {_NEVER_RUNS_CODE} (it refers to {refused.group(1)}). Save plain tensors "
            "instead, e.g. torch.save({'logits': logits, 'labels': labels}, path)"
        )
    if "Weights only load failed" in text:
        # Raised for garbage bytes as well as for pickles using opcodes the safe loader lacks.
        return DataError(
            f"{name}: not a plain tensor file: it is damaged, not a PyTorch file, or would need "
            "to run code to load, which Softmax Lab never does"
        )
    return DataError(
        f"{name}: not a readable PyTorch tensor file; it may be truncated or damaged "
        f"({_short(exc)})"
    )


def _torch_to_numpy(value: Any, name: str, what: str, notices: list[str] | None) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        if isinstance(value, (list, tuple, int, float)):
            return np.asarray(value)
        raise DataError(f"{name}: the {what} are a {type(value).__name__}, not a tensor")
    tensor = value
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    if tensor.is_complex():
        raise DataError(f"{name}: the {what} are complex numbers; real numbers are needed")
    if tensor.is_floating_point() and tensor.dtype not in (torch.float32, torch.float64):
        # NumPy has no bfloat16 and float16 maths is slow and overflows; float32 is exact for both.
        if notices is not None:
            notices.append(f"{_torch_dtype_name(tensor.dtype)} {what} converted to float32")
        tensor = tensor.float()
    # force=True detaches, moves to CPU and resolves conjugate/negative views.
    return tensor.numpy(force=True)


def _torch_dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


# ---- CSV / TSV / TXT -----------------------------------------------------------------------


def _load_text_file(path: Path, name: str, source: str, ext: str) -> LoadedLogits:
    text = _decode_text(path.read_bytes(), name)
    lines = text.splitlines()
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        raise DataError(f"{name}: the file is empty (only blank lines)")

    delimiter = _choose_delimiter(ext, lines[content[0]])
    first_cells = _split_line(lines[content[0]], delimiter)
    next_line = lines[content[1]] if len(content) > 1 else None
    header: list[str] | None = None
    if _is_header(first_cells, lines[content[0]], next_line):
        header = [cell.strip() for cell in first_cells]
        content = content[1:]
        if not content:
            raise DataError(f"{name}: the file has a header row but no data rows")

    body = [lines[i] for i in content]
    row_numbers = [i + 1 for i in content]  # 1-based file lines, as an editor shows them
    values = _parse_numbers(body, row_numbers, delimiter, header, name)

    notices: list[str] = []
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    if header is not None:
        keep = list(range(len(header)))
        label_cols = [j for j in keep if header[j].lower() in _CSV_LABEL_COLUMNS]
        if len(label_cols) > 1:
            found = ", ".join(f"'{header[j]}'" for j in label_cols)
            raise DataError(f"{name}: more than one label column ({found}); keep only one")
        if label_cols:
            labels = values[:, label_cols[0]]
            keep.remove(label_cols[0])
            notices.append(f"labels read from column '{header[label_cols[0]]}'")
        if keep and keep[0] == 0 and _is_index_column(header[0], values[:, 0]):
            keep.remove(0)
            notices.append("the first column is a row index (0, 1, 2, ...) and was ignored")
        if not keep:
            raise DataError(f"{name}: no class columns, only a label column")
        class_names = [header[j] or f"class_{k}" for k, j in enumerate(keep)]
        if len(keep) != values.shape[1]:
            values = values[:, keep]
    return _build(name, source, values, labels, class_names, notices, row_numbers=row_numbers)


def _decode_text(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export is UTF-16
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{name}: the UTF-16 text is damaged") from None
    if b"\x00" in raw:
        raise DataError(f"{name}: contains binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: not a UTF-8 text file (undecodable byte at offset {exc.start})"
        ) from None


def _choose_delimiter(ext: str, first_line: str) -> str | None:
    """Comma for .csv, tab for .tsv; for .txt guess from the first line (None = whitespace)."""
    if ext == ".csv":
        return ","
    if ext == ".tsv":
        return "\t"
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    return None  # np.savetxt's default: values separated by spaces


def _split_line(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_header(cells: list[str], line: str, next_line: str | None) -> bool:
    """Decide whether the first row names the columns.

    Numbers-only rows are data, with two exceptions that keep numeric class names readable:
    a quoted first row above unquoted data (what save_logits writes for such names), and
    pandas' default integer column names 0..C-1 (optionally after an empty index header).
    """
    stripped = [cell.strip() for cell in cells]
    if any(cell and not _is_number(cell) for cell in stripped):
        return True
    if '"' in line and next_line is not None and '"' not in next_line:
        return True
    names = stripped[1:] if stripped and stripped[0] == "" else stripped
    return len(names) >= 2 and names == [str(i) for i in range(len(names))]


def _is_index_column(header: str, column: np.ndarray) -> bool:
    if header.lower() not in _CSV_INDEX_COLUMNS:
        return False
    return bool(np.array_equal(column, np.arange(column.shape[0])))


def _parse_numbers(
    body: list[str],
    row_numbers: list[int],
    delimiter: str | None,
    header: list[str] | None,
    name: str,
) -> np.ndarray:
    """Parse data rows to float64: np.loadtxt for speed, a careful pass to locate any error."""
    width = None if header is None else len(header)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.loadtxt(
                body,
                dtype=np.float64,
                delimiter=delimiter,
                comments=None,
                ndmin=2,
                quotechar='"' if delimiter is not None else None,
            )
        if values.shape[0] == len(body) and (width is None or values.shape[1] == width):
            return values
    except (ValueError, TypeError, csv.Error):
        pass
    # loadtxt's messages use 0-based positions and skip context; redo the work in Python,
    # which either pinpoints the bad cell or (for inputs loadtxt is stricter about) succeeds.
    return _parse_numbers_slowly(body, row_numbers, delimiter, width, name)


def _parse_numbers_slowly(
    body: list[str],
    row_numbers: list[int],
    delimiter: str | None,
    width: int | None,
    name: str,
) -> np.ndarray:
    expected_from = "the header has"
    rows: list[list[float]] = []
    for row_number, line in zip(row_numbers, body, strict=True):
        cells = _split_line(line, delimiter)  # line by line: a stray quote must not eat rows
        if width is None:
            width = len(cells)
            expected_from = f"row {row_number} has"
        if len(cells) != width:
            raise DataError(
                f"{name}: row {row_number} has {len(cells)} values but {expected_from} {width}"
            )
        try:
            rows.append([float(cell) for cell in cells])
        except ValueError:
            for column, cell in enumerate(cells, start=1):
                if not _is_number(cell):
                    if not cell.strip():
                        raise DataError(
                            f"{name}: row {row_number}, column {column} is empty"
                        ) from None
                    shown = cell if len(cell) <= 40 else cell[:37] + "..."
                    raise DataError(
                        f"{name}: row {row_number}, column {column}: {shown!r} is not a number"
                    ) from None
            raise  # pragma: no cover - some cell failed to parse, so the loop raised
    return np.array(rows, dtype=np.float64).reshape(len(rows), width or 0)


# ---- Shared validation ---------------------------------------------------------------------


def _build(
    name: str,
    source: str,
    logits: np.ndarray,
    labels: Any,
    class_names: Any,
    notices: list[str],
    *,
    row_numbers: Sequence[int] | None = None,
) -> LoadedLogits:
    logits2d, original_shape = _as_logits(logits, name, notices)
    n, c = logits2d.shape
    targets = None
    if labels is not None:
        targets = _as_labels(np.asarray(labels), original_shape, n, c, name, notices, row_numbers)
        targets.flags.writeable = False
    names = None if class_names is None else _as_class_names(class_names, c, name)
    if logits2d.flags.writeable:
        logits2d.flags.writeable = False
    return LoadedLogits(
        logits=logits2d,
        targets=targets,
        class_names=names,
        notices=notices,
        looks_like_probabilities=_looks_like_probabilities(logits2d),
        source=source,
    )


def _describe_dtype(dtype: np.dtype[Any]) -> str:
    kinds = {
        "b": "true/false values",
        "c": "complex numbers",
        "O": "Python objects",
        "U": "text",
        "S": "text",
        "V": "structured records",
        "M": "dates",
        "m": "time spans",
    }
    return f"{kinds.get(dtype.kind, 'values')} ({dtype})"


def _as_logits(
    array: np.ndarray, name: str, notices: list[str]
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Check and normalise logits to an (N, C) float32/float64 array; returns the stored shape.

    Avoids np.asarray on purpose: it would turn an np.memmap into a plain ndarray view.
    """
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    dtype = array.dtype
    if dtype.kind == "c":
        raise DataError(f"{name}: the logits are complex numbers; real numbers are needed")
    if dtype.kind not in "iuf":
        raise DataError(
            f"{name}: the logits must be numbers, but they are {_describe_dtype(dtype)}"
        )

    shape = tuple(array.shape)
    if array.ndim < 2:
        raise DataError(
            f"{name}: logits must be a 2-D array (samples by classes), but this one is "
            f"{array.ndim}-D with shape {shape}"
        )
    if array.ndim > 3:
        raise DataError(
            f"{name}: logits must be 2-D (samples by classes) or 3-D (batch by position by "
            f"classes), but this array is {array.ndim}-D with shape {shape}"
        )
    if shape[-1] == 0:
        raise DataError(f"{name}: the logits have no classes (shape {shape})")
    if math.prod(shape[:-1]) == 0:
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
    return array, shape


def _as_labels(
    labels: np.ndarray,
    logits_shape: tuple[int, ...],
    n: int,
    c: int,
    name: str,
    notices: list[str],
    row_numbers: Sequence[int] | None,
) -> np.ndarray:
    """Check labels against the logits and return them as an (N,) int64 array."""
    if labels.dtype.kind not in "biuf":
        raise DataError(
            f"{name}: labels must be whole numbers in 0..{c - 1}, but they are "
            f"{_describe_dtype(labels.dtype)}"
        )
    if labels.shape == logits_shape:
        labels = _labels_from_matrix(labels, name, notices)
    if labels.shape == logits_shape[:-1] or labels.shape == (n, 1):
        labels = labels.reshape(-1)
    if labels.shape != (n,):
        raise DataError(
            f"{name}: there are {n} samples but the labels have shape {tuple(labels.shape)}"
        )
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)

    valid = (labels >= 0) & (labels < c)
    if labels.dtype.kind != "u":  # unsigned labels cannot be IGNORE_INDEX
        valid |= labels == IGNORE_INDEX
    if labels.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            valid &= np.floor(labels) == labels  # also rejects nan and inf
    bad = np.flatnonzero(~valid)
    if bad.size:
        index = int(bad[0])
        row = row_numbers[index] if row_numbers is not None else index + 1
        raise DataError(
            f"{name}: labels must be whole numbers in 0..{c - 1} "
            f"(found {_format_number(labels[index])} at row {row})"
        )
    return labels.astype(np.int64)


def _labels_from_matrix(matrix: np.ndarray, name: str, notices: list[str]) -> np.ndarray:
    """Turn one-hot (or probability) label rows into class indices."""
    values = matrix.astype(np.float64, copy=False)
    finite = bool(np.isfinite(values).all())
    with np.errstate(invalid="ignore"):
        rows_ok = (
            finite
            and bool((values >= 0).all())
            and bool(np.all(np.abs(values.sum(axis=-1) - 1.0) <= _PROB_TOLERANCE))
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


def _format_number(value: Any) -> str:
    number = float(value)
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return f"{number:g}"


def _as_class_names(raw: Any, c: int, name: str) -> list[str]:
    if isinstance(raw, np.ndarray):
        if raw.dtype.kind not in "USiuf" or raw.ndim != 1:
            raise DataError(
                f"{name}: class names must be a 1-D list of text, not "
                f"{_describe_dtype(raw.dtype)} with shape {raw.shape}"
            )
        items: list[Any] = raw.tolist()
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise DataError(f"{name}: class names must be a list of text, not {type(raw).__name__}")
    names = [
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in items
    ]
    if len(names) != c:
        raise DataError(
            f"{name}: there are {len(names)} class names but the logits have {c} classes"
        )
    return names


def _looks_like_probabilities(logits: np.ndarray) -> bool:
    """True when every row is a probability vector: values in [0, 1] summing to 1.

    For big arrays only an evenly spaced sample of rows is checked (at most _PROB_SAMPLE_ROWS
    rows and about _PROB_SAMPLE_VALUES values) so that this stays cheap on huge memmaps; a file
    that is probabilities in the sampled rows but not elsewhere is not a realistic case.
    """
    n, c = logits.shape
    budget = max(1, min(_PROB_SAMPLE_ROWS, _PROB_SAMPLE_VALUES // c))
    if n <= budget:
        sample = np.asarray(logits)
    else:
        sample = np.asarray(logits[np.linspace(0, n - 1, budget).astype(np.intp)])
    with np.errstate(invalid="ignore"):
        if not (np.all(sample >= 0) and np.all(sample <= 1)):  # False for nan too
            return False
        sums = sample.sum(axis=1, dtype=np.float64)
    return bool(np.all(np.abs(sums - 1.0) <= _PROB_TOLERANCE))


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


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
        labels = _as_labels(np.asarray(targets), (n, c), n, c, name, [], None)
    names = None
    if class_names is not None:
        names = _as_class_names(list(class_names), c, name)

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
        if column.lower() in _CSV_LABEL_COLUMNS:
            raise DataError(
                f"{name}: class name {column!r} would be read back as the label column; rename it"
            )
        if "\n" in column or "\r" in column:
            raise DataError(f"{name}: class names in a CSV file cannot contain line breaks")
    if labels is not None:
        header = [*header, "label"]

    def write_csv(fh: io.TextIOBase) -> None:
        # Quote all header cells when a name looks like a number, so the loader still sees a
        # header (see _is_header).
        numeric = any(not cell.strip() or _is_number(cell) for cell in header)
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
        raise DataError(f"{name}: logits must be an array of numbers ({_short(exc)})") from exc
    if array.dtype.kind not in "iuf":
        raise DataError(f"{name}: logits must be real numbers, not {_describe_dtype(array.dtype)}")
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
    if kind in "iuf":
        return _numbers_to_text(array)
    if kind in "US":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.tolist()]
    if kind == "O":
        return [str(v) for v in array.tolist()]
    raise DataError(f"{name}: column {key!r} holds {_describe_dtype(array.dtype)}")


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
        raise DataError(f"{name}: could not be written ({exc.strerror or _short(exc)})") from exc
