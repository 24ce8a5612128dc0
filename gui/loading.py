"""Opening logits files off the GUI thread: read, check and evaluate in a worker, then hand over.

The window stays responsive while a 200 MB file is read and evaluated; Cancel discards the
result (the read itself cannot be interrupted, but nothing of it reaches the document).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from core import DataError, Evaluation, LoadedLogits, evaluate, load_logits
from core.document import IGNORE_INDEX, Settings


@dataclass
class LoadResult:
    """What the worker hands the window: the data, its evaluation and what to tell the user."""

    path: str
    data: LoadedLogits
    logits: np.ndarray
    labels: np.ndarray
    settings: Settings
    evaluation: Evaluation
    notices: list[str]


def prepare(path: str, settings: Settings, as_probabilities: bool) -> LoadResult:
    """Read ``path`` and evaluate it with ``settings`` (hard labels; weights reset)."""
    data = load_logits(path)
    notices = list(data.notices)
    if as_probabilities and data.looks_like_probabilities:
        data = data.as_log_probabilities()
        notices = list(data.notices)
    logits = _copy_on_write(data.logits)
    if logits is not data.logits:
        # Drop the read-only map now: RSS counts a file's pages once per mapping that touched
        # them, and the loader's checks touched every page of it.
        data = replace(data, logits=logits)
    if data.targets is None:
        labels = np.full(data.logits.shape[0], IGNORE_INDEX, dtype=np.int64)
        notices.append("the file has no labels: every sample is ignored until you set labels")
    else:
        labels = np.asarray(data.targets, dtype=np.int64)
    settings = Settings(**{**settings.__dict__, "weight": None, "target_mode": "index"})
    try:
        evaluation = evaluate(logits, labels, **settings.evaluate_kwargs())
    except ValueError as exc:
        raise DataError(f"{data.source}: {exc}") from exc
    return LoadResult(path, data, logits, labels, settings, evaluation, notices)


def _copy_on_write(logits: np.ndarray) -> np.ndarray:
    """A read-only memory map reopened copy-on-write: edits touch private pages only.

    The document can then edit in place without first copying a 200 MB file into memory, and
    the file on disk never changes.
    """
    if not isinstance(logits, np.memmap) or logits.flags.writeable or not logits.filename:
        return logits
    if not logits.flags.c_contiguous:
        return logits
    return np.memmap(
        logits.filename, dtype=logits.dtype, mode="c", offset=logits.offset, shape=logits.shape
    )


class FileLoader(QObject):
    """Runs :func:`prepare` in a thread; emits ``sigLoaded(LoadResult)`` or ``sigFailed(str)``."""

    sigLoaded = Signal(object)
    sigFailed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = 0

    def start(self, path: str, settings: Settings, as_probabilities: bool) -> int:
        self._job += 1
        job = self._job

        def work() -> None:
            try:
                result = prepare(path, settings, as_probabilities)
            except DataError as exc:
                if job == self._job:
                    self.sigFailed.emit(str(exc))
                return
            except Exception as exc:  # a bug must reach the user as a message, not a dead thread
                if job == self._job:
                    self.sigFailed.emit(f"{path}: could not open ({type(exc).__name__}: {exc})")
                return
            if job == self._job:
                self.sigLoaded.emit(result)

        threading.Thread(target=work, name=f"load-{job}", daemon=True).start()
        return job

    def cancel(self) -> None:
        """Forget the running job: whatever it produces is dropped."""
        self._job += 1

    @property
    def busy_job(self) -> int:
        return self._job
