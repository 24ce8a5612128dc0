"""What every loader shares: the error type, the record, and the rules for touching a file.

Owns ``DataError`` and ``LoadedLogits``, the key names accepted in .npz/.pt dicts, the checks that
run before any format is read (missing file, folder, empty file, not enough memory) and the
translation of unexpected exceptions into readable ``DataError`` messages.

Two seams are looked up on the ``core.loaders`` package at call time, so that tests can inject
faults with one ``monkeypatch.setattr(core.loaders, ...)`` however the package is split:
``core.loaders.open`` (absent normally: the builtin is used) and ``core.loaders.available_memory``.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import os
import stat
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from softmax_lab.core.formatting import count

_PACKAGE = __name__.rpartition(".")[0]

# Key names accepted in .npz archives and dicts saved to .pt files, most specific first.
LOGITS_KEYS = ("logits", "logit", "outputs", "scores", "preds", "predictions", "y_pred")
LABEL_KEYS = ("labels", "label", "targets", "target", "y", "y_true")
CLASS_NAME_KEYS = ("class_names", "classes")
IMAGE_KEYS = ("images", "image")
TEXT_KEYS = ("texts", "text")
# Token ids of a language model's input; ``labels`` may stand in for them (see sequences.py).
TOKEN_KEYS = ("input_ids", "tokens", "token_ids")
MASK_KEYS = ("attention_mask",)
VOCAB_KEYS = ("vocab", "vocabulary")
METADATA_KEYS = ("metadata",)

NUMPY_EXTENSIONS = frozenset({".npy", ".npz"})
TORCH_EXTENSIONS = frozenset({".pt", ".pth"})
TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
SUPPORTED = ".npy, .npz, .pt, .pth, .csv, .tsv, .txt"

NPY_MAGIC = b"\x93NUMPY"
# Local file header, or the end record of an empty archive (what np.savez() with no arrays writes).
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
PICKLE_PROTOCOL_MARK = b"\x80"

NEVER_UNPICKLES = "which Softmax Lab never loads because unpickling could run code"

BINARY_NOTICE = "binary logits z loaded as two classes [0, z]: softmax gives [1 − σ(z), σ(z)]"


class DataError(ValueError):
    """A file could not be used as logits data. The message is meant for the user, as-is."""


@dataclass(frozen=True, eq=False)
class LoadedLogits:
    """Logits read from a file, ready for analysis.

    ``logits`` is an (N, C) float32/float64 array and ``targets`` an (N,) int64 array in which
    -100 marks ignored samples. Every array is read-only. ``eq=False`` because comparing records
    that hold large arrays element-wise is never what callers want.

    Beside the logits:

    * ``images``: (N, H, W) or (N, H, W, 3|4), uint8 or floats in [0, 1]; ``texts``: N strings;
      ``metadata``: name -> (N,) array of numbers, strings (``U``) or booleans (empty when none).
    * ``binary``: the file held one score z per sample (shape (N,) or (N, 1)); ``logits`` is then
      (N, 2) with rows [0, z], so that softmax gives [1 - sigmoid(z), sigmoid(z)].
    * Language-model files: ``sequence_shape`` (B, T) when the logits were (B, T, V) (``logits``
      is then the flattened (B*T, V)); ``input_ids`` (B, T) int64 (-100 where the ids came from a
      ``labels`` entry that ignores a position); ``attention_mask`` (B, T) bool; ``vocabulary``:
      V strings, the readable text of each token.
    """

    logits: np.ndarray
    targets: np.ndarray | None = None
    class_names: list[str] | None = None
    notices: list[str] = field(default_factory=list)
    looks_like_probabilities: bool = False
    source: str = ""
    images: np.ndarray | None = None
    texts: list[str] | None = None
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    binary: bool = False
    sequence_shape: tuple[int, int] | None = None
    input_ids: np.ndarray | None = None
    attention_mask: np.ndarray | None = None
    vocabulary: list[str] | None = None

    def as_log_probabilities(self) -> LoadedLogits:
        """Return a copy whose logits are log(p), for data the user confirmed are probabilities.

        Softmax of log(p) gives p back, so every downstream computation sees the original
        probabilities. Zero probabilities become -inf without a warning. For binary data the
        stored value is p = P(class 1), and the rows become [log(1 - p), log(p)].
        """
        values = np.asarray(self.logits)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.binary:
                p = values[:, 1]
                log_p = np.empty_like(values)
                np.log1p(-p, out=log_p[:, 0])
                np.log(p, out=log_p[:, 1])
            else:
                log_p = np.log(values)
        log_p.flags.writeable = False
        notice = "values treated as probabilities; their logarithm is used as logits (0 -> -inf)"
        return dataclasses.replace(
            self,
            logits=log_p,
            notices=[*self.notices, notice],
            looks_like_probabilities=False,
        )


# ---- the seams ------------------------------------------------------------------------------


def _package_attribute(attribute: str, default: Any) -> Any:
    package = sys.modules.get(_PACKAGE)
    return getattr(package, attribute, default) if package is not None else default


def open_file(path: str | os.PathLike[str], mode: str = "rb", **kwargs: Any) -> IO[Any]:
    """``open``, unless a test put another one on the package (every loader opens through here)."""
    opener = _package_attribute("open", builtins.open)
    handle: IO[Any] = opener(path, mode, **kwargs)
    return handle


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


def check_memory(name: str, needed: float, what: str) -> None:
    """Refuse, with a way out, data that would not fit: better than an out-of-memory kill.

    ``needed`` is the estimated peak in bytes; ``what`` describes the data ("this 1.2 GB file").
    """
    free = _package_attribute("available_memory", available_memory)()
    if free is None or needed <= 0.8 * free:
        return
    raise DataError(
        f"{name}: reading {what} needs about {needed / 1e9:.1f} GB of memory and only "
        f"{free / 1e9:.1f} GB is free. Save the logits as .npy instead: Softmax Lab "
        "memory-maps .npy files, so they open at any size."
    )


def check_readable_file(path: Path, name: str) -> os.stat_result:
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
    return info


def read_head(path: Path, size: int) -> bytes:
    with open_file(path, "rb") as fh:
        data: bytes = fh.read(size)
    return data


def display_name(path: str | os.PathLike[str] | bytes) -> tuple[str, str]:
    """(source, name): the path as text and the file name used at the start of every message."""
    source = os.fsdecode(os.fspath(path))
    return source, Path(source).name or source


def wrap_unexpected(name: str, exc: BaseException) -> DataError:
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
    if isinstance(exc, json.JSONDecodeError):
        return DataError(f"{name}: not valid JSON ({short(exc)})")
    if isinstance(exc, (EOFError, zipfile.BadZipFile, zlib.error)):
        return DataError(f"{name}: the file is truncated or damaged ({short(exc)})")
    if isinstance(exc, OSError):
        return DataError(f"{name}: could not be read ({exc.strerror or short(exc)})")
    return DataError(f"{name}: could not be read as logits ({short(exc)})")


def short(exc: BaseException, limit: int = 200) -> str:
    """First line of an exception message, shortened: library messages can be pages long."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_dtype(dtype: np.dtype[Any]) -> str:
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


def format_number(value: Any) -> str:
    """A value as the user typed it: whole numbers without a decimal point, others with %g."""
    number = float(value)
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return f"{number:g}"


def list_keys(keys: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:limit])
    return shown if len(keys) <= limit else f"{shown} and {len(keys) - limit} more"


def length_mismatch(name: str, member: str, length: int, n: int) -> DataError:
    return DataError(
        f"{name}: '{member}' has {count(length)} entries but the logits have {count(n)} samples"
    )


def read_only(array: np.ndarray) -> np.ndarray:
    if array.flags.writeable:
        array.flags.writeable = False
    return array
