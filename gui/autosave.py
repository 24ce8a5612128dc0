"""Crash recovery: every window autosaves into its own session file, locked while it lives.

A window's first autosave takes ``sessions/<id>.lock`` (a :class:`QLockFile`, held until the
window closes or the process dies) and writes ``sessions/<id>.softmaxlab.json`` beside it. Two
windows, in one process or in two, never share a file. At start-up :func:`orphaned_sessions`
lists only the files whose lock no living process holds (Qt sees that the owner's PID is gone),
and claims each lock, so that two instances starting at once cannot both offer (or delete) the
same work. A clean close removes the window's own file and lock, never another's.
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile

from softmax_lab.core.workspace import SUFFIX, Workspace, save_workspace

SESSIONS = "sessions"
LEGACY_NAME = f"autosave{SUFFIX}"
"""The one shared autosave file of versions before per-window sessions: offered like an orphan."""
_counter = itertools.count(1)


def sessions_dir(state: Path) -> Path:
    path = state / SESSIONS
    path.mkdir(parents=True, exist_ok=True)
    return path


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # stale only when its owner's process is gone, never by age
    return lock


def lock_path(data: Path) -> Path:
    return data.with_name(data.name.removesuffix(SUFFIX) + ".lock")


class AutosaveSession:
    """One window's autosave file and the lock that says its window is alive."""

    def __init__(self, state: Path) -> None:
        self._state = state
        self.id = f"{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
        self._lock: QLockFile | None = None

    @property
    def path(self) -> Path:
        return sessions_dir(self._state) / f"{self.id}{SUFFIX}"

    def write(self, workspace: Workspace) -> None:
        """Save atomically; the lock is taken before the first write and kept."""
        if self._lock is None:
            lock = _lock(lock_path(self.path))
            if not lock.tryLock(0):
                raise OSError(f"could not lock {lock_path(self.path)} ({lock.error().name})")
            self._lock = lock
        save_workspace(self.path, workspace)

    def remove(self) -> None:
        """The window closed cleanly (or its table is too large to keep): drop its file; the
        lock goes too when ``release``."""
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        self.remove()
        if self._lock is not None:
            self._lock.unlock()  # deletes the lock file
            self._lock = None

    def owns(self, path: str | Path) -> bool:
        return Path(path) == self.path


@dataclass
class Orphan:
    """Autosaved work whose window is gone; its lock is held by this process until
    :meth:`discard` (delete it) or :meth:`keep` (leave it for the next start)."""

    path: Path
    lock: QLockFile | None

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.keep()

    def keep(self) -> None:
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None


def is_autosave(state: Path, path: str | Path) -> bool:
    """Whether ``path`` is an autosave file (a window's session or the legacy shared file)."""
    path = Path(path)
    return path.parent == state / SESSIONS or path == state / LEGACY_NAME


def orphaned_sessions(state: Path) -> list[Orphan]:
    """Autosaves whose owner is gone, oldest first, each lock now held by this process. Live
    windows' files (their lock held by a running process) are not listed; lone stale locks
    (a window killed before its first write finished) are cleared."""
    folder = sessions_dir(state)
    found: list[Orphan] = []
    for data in sorted(folder.glob(f"*{SUFFIX}")):
        lock = _lock(lock_path(data))
        if lock.tryLock(0):
            if data.exists():
                found.append(Orphan(data, lock))
            else:  # its window closed cleanly between the listing and the lock
                lock.unlock()
    for stale in folder.glob("*.lock"):
        if not stale.with_name(stale.stem + SUFFIX).exists():
            lock = _lock(stale)
            if lock.tryLock(0):
                lock.unlock()
    legacy = state / LEGACY_NAME
    if legacy.exists():
        lock = _lock(state / "autosave.lock")
        if lock.tryLock(0):
            found.append(Orphan(legacy, lock))

    def mtime(orphan: Orphan) -> float:
        try:
            return orphan.path.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=mtime)
