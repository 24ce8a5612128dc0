"""gui.workers.yielding: background passes run in a thread the OS schedules after the GUI's."""

import os
import threading

import pytest

from softmax_lab.gui.workers import BACKGROUND_NICE, raise_priority, yielding


def test_yielding_returns_the_result_from_a_lower_priority_thread():
    seen = {}

    def work(a, b):
        seen["thread"] = threading.get_ident()
        if hasattr(os, "getpriority"):
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return a + b

    assert yielding(work, 2, 3) == 5
    assert seen["thread"] != threading.get_ident()
    if "nice" in seen:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert seen["nice"] == min(19, mine + BACKGROUND_NICE) or seen["nice"] > mine
    # the caller's own priority is untouched
    if hasattr(os, "getpriority"):
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="threads are reniced on Linux only")
def test_raise_priority_puts_a_yielding_thread_back_at_the_process_priority():
    """A drag's pass is kept at the release only if it can run at normal priority again: the
    thread yielding ranked lower is raised to the process's own nice value, or False says the
    OS refused (and nothing changed)."""
    started, release = threading.Event(), threading.Event()
    box: dict = {}

    def work():
        box["thread"] = threading.get_native_id()
        started.set()
        release.wait(30)
        return os.getpriority(os.PRIO_PROCESS, box["thread"])

    runner = threading.Thread(target=lambda: box.setdefault("nice", yielding(work)))
    runner.start()
    assert started.wait(30)
    before = os.getpriority(os.PRIO_PROCESS, box["thread"])
    raised = raise_priority(box["thread"])
    release.set()
    runner.join(30)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert before >= mine
    assert box["nice"] == (mine if raised else before)


def test_yielding_hands_errors_to_the_caller():
    def fail():
        raise ValueError("bad T")

    with pytest.raises(ValueError, match="bad T"):
        yielding(fail)


def test_a_job_that_ends_after_its_window_closed_reaches_no_one(qtbot):
    """Seen closing a window while a run's dynamics were computing: the result arrived for a
    controller Qt had deleted, and 'Signal source has been deleted' was raised twice."""
    import threading

    from PySide6.QtCore import QCoreApplication, QEvent, QObject

    from softmax_lab.gui import workers
    from softmax_lab.gui.workers import Jobs

    owner = QObject()
    jobs = Jobs(owner)
    release = threading.Event()
    delivered: list[object] = []
    jobs.start("dynamics", release.wait, 10, done=delivered.append, failed=delivered.append)
    owner.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # The relay hands the outcome to the GUI thread; once it is here, it had its chance.
    with qtbot.waitSignal(workers._relay().sigDeliver, timeout=10_000):
        release.set()
    assert delivered == []


QUIT_WITH_A_STUCK_JOB = """
import sys, threading
sys.path.insert(0, {root!r})
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication([])
from softmax_lab.gui.main_window import MainWindow
w = MainWindow()
w.show()
w.activateWindow()
QTest.qWaitForWindowActive(w)
stuck = threading.Event()  # a read that never ends (a FIFO nobody writes to)
w.controller.jobs.start("load", stuck.wait, done=print, failed=print)
w.files.cancel_load()  # Cancel, then Ctrl+Q, as the user did
QTimer.singleShot(0, lambda: QTest.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier))
print("event loop ended", app.exec(), w.isVisible(), flush=True)
"""


def test_ctrl_q_quits_while_a_job_is_stuck_in_a_read():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", QUIT_WITH_A_STUCK_JOB.format(root=str(root))],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        out, _ = child.communicate(timeout=120)  # a generous bound: it hung forever before
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise AssertionError("the process did not exit with a job stuck in a read") from None
    assert "event loop ended 0 False" in out  # Ctrl+Q closed the window, the loop ended
    assert child.returncode == 0
