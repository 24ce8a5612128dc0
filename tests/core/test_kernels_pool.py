"""core.kernels' shared thread pool: its threads run at the process's priority, whichever thread
first asks for a parallel pass (Linux threads inherit their creator's niceness, and an
unprivileged thread can never be raised back)."""

import os
import threading

import pytest

from softmax_lab.core import kernels

linux_nice = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="needs per-thread nice")


def nice_of(native_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, native_id)


@pytest.fixture
def fresh_pool(monkeypatch):
    monkeypatch.setattr(kernels, "_pool", None)
    monkeypatch.setattr(kernels, "_pool_size", 0)
    monkeypatch.setattr(kernels, "parallel_threads", lambda: 3)
    yield
    if kernels._pool is not None:
        kernels._pool.shutdown()


def run_pass() -> list[int]:
    seen: list[int] = []
    lock = threading.Lock()

    def work(share: list[int]) -> None:
        with lock:
            seen.extend(share)

    kernels._map_parallel(work, list(range(3 * kernels.CPU_PARALLEL_MIN_BLOCKS)))
    return sorted(seen)


@linux_nice
def test_a_niced_thread_does_not_make_the_shared_pool(fresh_pool):
    base = nice_of(threading.get_native_id())
    box: dict[str, object] = {}

    def background() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), base + 5)
        box["seen"] = run_pass()
        box["pool"] = kernels._pool

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert box["seen"] == list(range(3 * kernels.CPU_PARALLEL_MIN_BLOCKS))  # every block ran
    assert box["pool"] is None  # its own short-lived threads did the work
    assert run_pass() == list(range(3 * kernels.CPU_PARALLEL_MIN_BLOCKS))
    pool = kernels._pool
    assert pool is not None
    threads = list(pool._threads)
    assert len(threads) == 3  # all made now, by this (base-priority) thread
    assert {nice_of(t.native_id) for t in threads} == {base}


@linux_nice
def test_a_niced_thread_reuses_the_pool_without_adding_threads(fresh_pool):
    run_pass()
    before = set(kernels._pool._threads)
    box: dict[str, object] = {}

    def background() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice_of(os.getpid()) + 5)
        box["seen"] = run_pass()

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert box["seen"] == list(range(3 * kernels.CPU_PARALLEL_MIN_BLOCKS))
    assert set(kernels._pool._threads) == before
