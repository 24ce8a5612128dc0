"""The one way Softmax Lab writes a file: to a temporary file beside it, flushed to disk, renamed.

A crash, a full disk or a kill at any moment leaves either the old file or the new one, never
half of one. Workspaces, autosave, exports, saved logits and recorded runs all write through
:func:`atomic_write`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str | Callable[[IO[Any]], object],
    *,
    text: bool | None = None,
) -> None:
    """Write ``data`` to ``path`` atomically.

    ``data`` is bytes, text (written as UTF-8), or a function that writes into the open file
    (``text=True`` opens it in text mode, UTF-8 with ``newline=""``). The file gets the mode a
    plain ``open(path, "w")`` would give it (0o666 less the umask), not ``mkstemp``'s owner-only
    0o600: saved data is meant to be shared. ``OSError`` from any step propagates after the
    temporary file is removed; the target is then untouched.
    """
    target = Path(path)
    if text is None:
        text = isinstance(data, str)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        mode = "w" if text else "wb"
        kwargs: dict[str, Any] = {"encoding": "utf-8", "newline": ""} if text else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        tmp = ""
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
