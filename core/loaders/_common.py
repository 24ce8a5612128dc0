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
SUPPORTED = ".npy, .npz, .pt, .pth, .csv, .tsv, .txt, .parquet"

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
    """``open``, unless a test put another one on the package. Loaders open through
    :func:`open_regular`, which checks the file first and then calls this."""
    opener = _package_attribute("open", builtins.open)
    handle: IO[Any] = opener(path, mode, **kwargs)
    return handle


def _open_nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: a FIFO swapped in after the stat() opens at once instead of waiting for a
    # writer (it is then refused by the fstat() below); it changes nothing for regular files.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def open_regular(
    path: str | os.PathLike[str],
    name: str,
    mode: str = "rb",
    *,
    within: str | os.PathLike[str] | None = None,
    max_bytes: int | None = None,
    what: str = "file",
    **kwargs: Any,
) -> IO[Any]:
    """THE way every loader opens a file: a regular file only (never a FIFO, device or socket,
    which could block forever), at most ``max_bytes`` long, and, with ``within``, only if its
    real path (links followed) stays inside that folder. Every refusal is a ``DataError``."""
    path = Path(path)
    check_readable_file(path, name, within=within, max_bytes=max_bytes, what=what)
    try:
        handle = open_file(path, mode, opener=_open_nonblocking, **kwargs)
    except PermissionError:
        raise DataError(f"{name}: permission denied; the file cannot be read") from None
    except OSError as exc:
        raise DataError(f"{name}: could not be read ({exc.strerror or short(exc)})") from None
    try:
        now = os.fstat(handle.fileno())
    except (OSError, AttributeError, ValueError):  # a test's stand-in without a descriptor
        return handle
    # A file replaced by a rename in between (a live run's manifest) is fine if it is still a
    # regular file within the cap; a special file swapped in is refused.
    if not stat.S_ISREG(now.st_mode) or (max_bytes is not None and now.st_size > max_bytes):
        handle.close()
        raise DataError(f"{name}: the file was replaced while it was being opened; try again")
    return handle


def read_bytes(
    path: str | os.PathLike[str],
    name: str,
    *,
    max_bytes: int,
    within: str | os.PathLike[str] | None = None,
    what: str = "file",
) -> bytes:
    """The whole of a small file, through :func:`open_regular` (never more than ``max_bytes``,
    even if the file grows after the check)."""
    with open_regular(path, name, within=within, max_bytes=max_bytes, what=what) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
        except (OSError, AttributeError, ValueError):
            size = max_bytes
        # read(n) allocates n bytes up front: ask for what the file holds, not for the cap.
        data: bytes = fh.read(min(size, max_bytes) + 1)
        if len(data) > size:  # it grew since: read on, never past the cap
            data += fh.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise DataError(f"{name}: grew past {_size(max_bytes)} while it was read")
    return data


MAX_JSON_DEPTH = 64
"""No file format of Softmax Lab nests deeper; deeper JSON is refused before it is used."""


def parse_json(
    text: str | bytes, name: str, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any
) -> Any:
    """``json.loads`` whose every failure (bad syntax, an integer of 5,000 digits, nesting that
    overflows the stack or exceeds ``max_depth``) is a ``DataError`` naming the file."""
    try:
        body = json.loads(text, **kwargs)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}: not valid JSON — damaged or cut short ({short(exc)})") from None
    except RecursionError:
        raise DataError(
            f"{name}: nested too deeply (JSON deeper than {max_depth} levels)"
        ) from None
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a UTF-8 text file") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string"
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{name}: not usable JSON ({short(exc)})") from None
    if json_depth(body) > max_depth:
        raise DataError(f"{name}: nested too deeply (JSON deeper than {max_depth} levels)")
    return body


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a scalar), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_json(
    path: str | os.PathLike[str],
    name: str,
    *,
    max_bytes: int,
    within: str | os.PathLike[str] | None = None,
    what: str = "file",
    max_depth: int = MAX_JSON_DEPTH,
    **kwargs: Any,
) -> Any:
    """A small JSON file read through :func:`read_bytes` and :func:`parse_json`."""
    raw = read_bytes(path, name, max_bytes=max_bytes, within=within, what=what)
    try:
        text = raw.decode("utf-8-sig")  # Notepad writes a byte-order mark
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a text file (not UTF-8)") from None
    return parse_json(text, name, max_depth=max_depth, **kwargs)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


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


def check_readable_file(
    path: Path,
    name: str,
    *,
    within: str | os.PathLike[str] | None = None,
    max_bytes: int | None = None,
    what: str = "file",
) -> os.stat_result:
    """Refuse missing files, folders, devices/FIFOs/sockets (reading them could block forever),
    empty files, files over ``max_bytes`` and, with ``within``, files whose real path (links
    followed) leaves that folder. Only ``stat`` is called: nothing is opened."""
    if within is not None:
        try:
            real = Path(os.path.realpath(path))
            folder = Path(os.path.realpath(within))
        except (OSError, ValueError, RuntimeError):  # a link loop, a NUL in the name
            raise DataError(f"{name}: the path cannot be resolved") from None
        if real != folder and folder not in real.parents:
            raise DataError(
                f"{name}: a link that leads outside the folder {Path(within).name}; not read"
            )
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"{name}: file not found ({path})") from None
    except PermissionError:
        raise DataError(f"{name}: permission denied; the file cannot be read") from None
    except (OSError, ValueError) as exc:  # a link loop, a name too long, a NUL in the name
        raise DataError(f"{name}: cannot be read ({short(exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{name}: this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a device"
        )
        raise DataError(f"{name}: {kind}, not a regular file; Softmax Lab reads files only")
    if info.st_size == 0:
        raise DataError(f"{name}: the file is empty")
    if max_bytes is not None and info.st_size > max_bytes:
        raise DataError(
            f"{name}: {_size(info.st_size)} is too large for a {what} (at most {_size(max_bytes)})"
        )
    return info


def read_head(path: Path, size: int, name: str | None = None) -> bytes:
    with open_regular(path, name or path.name, "rb") as fh:
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
