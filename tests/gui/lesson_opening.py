"""Opening a lesson in a test as the Lessons menu does: the file is read in the controller's
"lesson" job, so the test waits until it is in or refused."""

from __future__ import annotations


def open_lesson(qtbot, controller, path, step: int = 0) -> bool:
    """Whether the lesson at ``path`` opened (at ``step``, 0-based)."""
    ended: list[bool] = []
    controller.lessons.open(path, step, ended.append)
    qtbot.waitUntil(lambda: bool(ended), timeout=20000)
    return ended[0]
