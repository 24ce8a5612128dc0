"""core.atomic: the one atomic writer (workspaces, exports, saved logits, runs)."""

import os
import stat

import pytest

import softmax_lab.core.atomic as atomic
from softmax_lab.core.atomic import atomic_write


def test_writes_bytes_text_and_callables(tmp_path):
    atomic_write(tmp_path / "a.bin", b"\x00\x01")
    atomic_write(tmp_path / "b.txt", "π = 3.14\n")
    atomic_write(tmp_path / "c.txt", lambda fh: fh.write("line\n"), text=True)
    atomic_write(tmp_path / "d.bin", lambda fh: fh.write(b"raw"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "π = 3.14\n"
    assert (tmp_path / "c.txt").read_text() == "line\n"
    assert (tmp_path / "d.bin").read_bytes() == b"raw"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt", "c.txt", "d.bin"]


def test_file_mode_is_that_of_a_plain_open(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f", b"x")
        with open(tmp_path / "g", "wb") as fh:
            fh.write(b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "f").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "g").stat().st_mode) == 0o644


def test_a_failing_rename_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "w.json"
    atomic_write(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.json"]


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    path = tmp_path / "w.json"
    atomic_write(path, b"old")

    def write(fh):
        fh.write(b"half")
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.json"]


def test_data_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        atomic.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))
    )
    atomic_write(tmp_path / "x", b"data")
    assert calls == ["fsync", "replace"]
