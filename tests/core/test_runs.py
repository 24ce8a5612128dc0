"""core.runs: recording a run and reading it back, live, after a kill, and damaged.

A run's steps are checked value for value against what was written; every bad call is shown to
leave the folder byte for byte as it was; readers polling a live writer (a thread) and a run
whose writer was SIGKILLed only ever see whole steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError
from softmax_lab.core.runs import MANIFEST, VERSION, RunWriter, load_run, step_file_name

ROOT = Path(__file__).resolve().parents[2]


def step_logits(step: int, n: int = 6, c: int = 4) -> np.ndarray:
    """What step ``step`` of a test run holds: a function of the step, so any reader can check."""
    return np.random.default_rng(step + 1000).normal(0, 3, (n, c)).astype(np.float32)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def record(folder: Path, steps=(0, 1, 2), **kwargs) -> None:
    kwargs.setdefault("labels", np.array([0, 1, 2, 3, IGNORE_INDEX, 1]))
    with RunWriter(folder, **kwargs) as run:
        for s in steps:
            run.add(s, step_logits(s))


# --- round trips ------------------------------------------------------------------------------


def test_a_recorded_run_reads_back_exactly(tmp_path):
    folder = tmp_path / "exp1"
    images = np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3)
    texts = ["a", "b", "ç", "d", "e", "f"]
    labels = np.array([0, 1, 2, 3, IGNORE_INDEX, 1])
    names = ["cat", "dog", "emu", "fox"]
    with RunWriter(folder, labels=labels, class_names=names, images=images, texts=texts) as w:
        for s in (0, 5, 12):
            w.add(s, step_logits(s))
        assert w.steps == [0, 5, 12]
        assert (w.n_samples, w.n_classes) == (6, 4)

    run = load_run(folder)
    assert run.steps == [0, 5, 12]
    assert run.problems == []
    assert (run.n_samples, run.n_classes, run.dtype) == (6, 4, "float32")
    assert run.class_names == names
    assert run.texts == texts
    assert run.labels.dtype == np.int64
    assert run.labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(run.images, images)
    for s in run.steps:
        logits = run.logits(s)
        assert logits.dtype == np.float32
        assert not logits.flags.writeable
        np.testing.assert_array_equal(logits, step_logits(s))
    body = manifest(folder)
    assert (body["format"], body["version"]) == ("softmax-lab-run", VERSION)
    assert [e["file"] for e in body["steps"]] == [
        "step-000000.npy",
        "step-000005.npy",
        "step-000012.npy",
    ]
    assert load_run(folder / MANIFEST).steps == [0, 5, 12]  # the manifest file itself opens too


def test_defaults_and_optional_parts(tmp_path):
    record(tmp_path / "r", labels=None)
    run = load_run(tmp_path / "r")
    assert run.labels is None
    assert run.images is None
    assert run.texts is None
    assert run.class_names == ["class 0", "class 1", "class 2", "class 3"]


def test_tensors_on_any_device_and_dtypes_are_stored_as_documented(tmp_path):
    x = torch.tensor(step_logits(0), requires_grad=True) * 2  # has a grad_fn
    with RunWriter(tmp_path / "a") as w:
        w.add(0, x)
        w.add(1, torch.tensor(step_logits(1)).to(torch.bfloat16))
        w.add(2, step_logits(2).astype(np.float16))
        w.add(3, np.arange(24).reshape(6, 4))  # integers
        w.add(4, step_logits(4).astype(np.float64))  # cast to the run's float32
    run = load_run(tmp_path / "a")
    assert run.dtype == "float32"
    np.testing.assert_array_equal(run.logits(0), step_logits(0) * 2)
    bf16 = torch.tensor(step_logits(1)).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(run.logits(1), bf16)
    np.testing.assert_array_equal(run.logits(2), step_logits(2).astype(np.float16))
    np.testing.assert_array_equal(run.logits(3), np.arange(24).reshape(6, 4))
    np.testing.assert_array_equal(run.logits(4), step_logits(4))

    with RunWriter(tmp_path / "b") as w:
        w.add(0, step_logits(0).astype(np.float64) / 3)
    assert load_run(tmp_path / "b").dtype == "float64"
    expected = step_logits(0).astype(np.float64) / 3
    np.testing.assert_array_equal(load_run(tmp_path / "b").logits(0), expected)


def test_non_finite_logits_are_data_and_negative_steps_work(tmp_path):
    x = step_logits(0)
    x[0, 0], x[1, :], x[2, 1] = np.nan, -np.inf, np.inf
    with RunWriter(tmp_path / "r") as w:
        w.add(-3, x)
        w.add(7, step_logits(7))
    run = load_run(tmp_path / "r")
    assert run.steps == [-3, 7]
    np.testing.assert_array_equal(run.logits(-3), x)  # NaN == NaN here
    assert (tmp_path / "r" / step_file_name(-3)).name == "step-m000003.npy"


def test_read_rows_reads_blocks_without_mapping_the_file(tmp_path):
    record(tmp_path / "r")
    run = load_run(tmp_path / "r")
    out = np.empty((4, 4), dtype=np.float32)
    np.testing.assert_array_equal(run.read_rows(1, 2, out), step_logits(1)[2:6])
    with pytest.raises(ValueError):
        run.read_rows(1, 3, out)  # past the end
    with pytest.raises(ValueError):
        run.read_rows(1, 0, np.empty((4, 4), dtype=np.float64))
    with pytest.raises(KeyError, match="step 9"):
        run.logits(9)


# --- bad calls write nothing --------------------------------------------------------------------

BAD_ADDS = [
    ("fewer samples", 3, lambda: step_logits(3, n=5), "5 samples; this run has 6"),
    ("more classes", 3, lambda: step_logits(3, c=5), "5 classes; this run has 4"),
    ("same step", 1, lambda: step_logits(3), "does not follow the last recorded step 1"),
    ("earlier step", 0, lambda: step_logits(3), "steps must strictly increase"),
    ("strings", 3, lambda: np.full((6, 4), "x"), "real numbers"),
    ("objects", 3, lambda: np.array([[object()] * 4] * 6), "real numbers"),
    ("complex", 3, lambda: np.ones((6, 4), dtype=complex), "real numbers"),
    ("ragged", 3, lambda: [[1.0, 2.0], [3.0]], "rectangular"),
    ("1-D", 3, lambda: np.ones(6), "2-D"),
    ("3-D", 3, lambda: np.ones((6, 4, 1)), "2-D"),
    ("empty", 3, lambda: np.ones((0, 4)), "empty"),
    ("bool tensor", 3, lambda: torch.ones(6, 4, dtype=torch.bool), "real numbers"),
    ("float step", 2.5, lambda: step_logits(3), "integer"),
    ("bool step", True, lambda: step_logits(3), "integer"),
    ("text step", "3", lambda: step_logits(3), "integer"),
]


@pytest.mark.parametrize(
    ("step", "make", "message"), [b[1:] for b in BAD_ADDS], ids=[b[0] for b in BAD_ADDS]
)
def test_a_bad_add_raises_and_writes_nothing(tmp_path, step, make, message):
    folder = tmp_path / "r"
    writer = RunWriter(folder, labels=np.array([0, 1, 2, 3, IGNORE_INDEX, 1]))
    writer.add(0, step_logits(0))
    writer.add(1, step_logits(1))
    before = snapshot(folder)
    with pytest.raises(ValueError, match=message):
        writer.add(step, make())
    assert snapshot(folder) == before
    writer.add(2, step_logits(2))  # the writer is still usable
    assert load_run(folder).steps == [0, 1, 2]


def test_labels_out_of_range_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="label 4 at row 1 is out of range"):
        RunWriter(tmp_path / "a", labels=[0, 4], class_names=["x", "y", "z", "w"])
    with pytest.raises(ValueError, match="label -2 at row 0"):
        RunWriter(tmp_path / "b", labels=[-2, 0])
    with pytest.raises(ValueError, match="whole numbers"):
        RunWriter(tmp_path / "c", labels=[0.5, 1.0])
    with pytest.raises(ValueError, match="one entry per sample"):
        RunWriter(tmp_path / "d", labels=[0, 1], texts=["a", "b", "c"])
    with pytest.raises(ValueError, match="list of strings"):
        RunWriter(tmp_path / "e", texts=["a", 3])
    assert list(tmp_path.iterdir()) == []

    # Without class names the upper bound is known at the first step: that step is refused.
    writer = RunWriter(tmp_path / "f", labels=[0, 1, 2, 3, 9, 1])
    before = snapshot(tmp_path / "f")
    with pytest.raises(ValueError, match=r"label 9 at row 4 is out of range: classes are 0\.\.3"):
        writer.add(0, step_logits(0))
    assert snapshot(tmp_path / "f") == before


def test_a_closed_writer_refuses_more_steps(tmp_path):
    with RunWriter(tmp_path / "r") as w:
        w.add(0, step_logits(0))
    with pytest.raises(ValueError, match="closed"):
        w.add(1, step_logits(1))


# --- existing folders and resume ----------------------------------------------------------------


def test_a_non_empty_folder_is_refused_unless_resuming(tmp_path):
    record(tmp_path / "r")
    before = snapshot(tmp_path / "r")
    with pytest.raises(FileExistsError, match="resume=True"):
        RunWriter(tmp_path / "r")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        RunWriter(tmp_path / "other")
    with pytest.raises(DataError, match="not a Softmax Lab run"):
        RunWriter(tmp_path / "other", resume=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        RunWriter(tmp_path / "file")
    assert snapshot(tmp_path / "r") == before
    assert snapshot(tmp_path / "other") == {"notes.txt": b"mine"}
    RunWriter(tmp_path / "empty_or_new", resume=True).add(0, step_logits(0))  # resume: new run


def test_resume_appends_after_the_last_step_and_checks_what_it_is_given(tmp_path):
    folder = tmp_path / "r"
    labels = np.array([0, 1, 2, 3, IGNORE_INDEX, 1])
    record(folder, labels=labels)
    with pytest.raises(ValueError, match="labels differ"):
        RunWriter(folder, labels=labels[::-1], resume=True)
    with pytest.raises(ValueError, match="class names differ"):
        RunWriter(folder, class_names=["a", "b", "c", "d"], resume=True)
    with RunWriter(folder, labels=labels, resume=True) as w:
        assert w.steps == [0, 1, 2]
        with pytest.raises(ValueError, match="strictly increase"):
            w.add(2, step_logits(2))
        with pytest.raises(ValueError, match="classes"):
            w.add(3, step_logits(3, c=5))
        w.add(3, step_logits(3))
    run = load_run(folder)
    assert run.steps == [0, 1, 2, 3]
    assert run.labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(run.logits(3), step_logits(3))


def test_resume_removes_what_a_killed_writer_left(tmp_path):
    folder = tmp_path / "r"
    record(folder)
    # A killed writer can leave a temporary step file and a step file the manifest never got.
    (folder / ".step-000003.npy.k2j4.tmp").write_bytes(b"\x93NUMPY half")
    np.save(folder / "step-000003.npy", step_logits(99))
    run = load_run(folder)
    assert run.steps == [0, 1, 2]
    assert run.problems == []
    with RunWriter(folder, resume=True) as w:
        w.add(4, step_logits(4))
    assert sorted(snapshot(folder)) == sorted(
        [MANIFEST, "labels.npy", *(step_file_name(s) for s in (0, 1, 2, 4))]
    )


# --- live runs and killed writers ----------------------------------------------------------------


def test_a_reader_polling_a_live_run_only_ever_sees_whole_steps(tmp_path):
    folder = tmp_path / "live"
    n_steps = 200
    writer = RunWriter(folder, labels=np.arange(6) % 4)
    seen: dict[int, int] = {}
    arrivals: list[list[int]] = []  # what each refresh brought: proof that it polled mid-run
    failures: list[str] = []
    done = threading.Event()

    def check(run) -> None:
        for s in run.steps:
            logits = run.logits(s)
            if logits.shape != (6, 4) or not np.array_equal(logits, step_logits(s)):
                failures.append(f"step {s}: {logits!r}")
            seen[s] = seen.get(s, 0) + 1

    def poll() -> None:
        try:
            run = load_run(folder)
            while not done.is_set():
                check(run)
                if new := run.refresh():
                    arrivals.append(new)
                if len(seen) % 7 == 0:
                    check(load_run(folder))  # a fresh open mid-run too
            run.refresh()
            check(run)
            assert run.problems == [], run.problems
        except Exception as exc:  # reported in the main thread
            failures.append(repr(exc))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for s in range(n_steps):
            writer.add(s, step_logits(s))
    finally:
        done.set()
        reader.join(timeout=120)
    assert not reader.is_alive()
    assert failures == []
    assert sorted(seen) == list(range(n_steps))
    assert len(arrivals) > 1


def test_a_run_with_no_step_yet_opens_and_follows_the_writer(tmp_path):
    folder = tmp_path / "r"
    writer = RunWriter(folder)  # no labels: N and C are unknown until the first step
    run = load_run(folder)
    assert run.steps == []
    assert (run.n_samples, run.n_classes, run.dtype) == (0, 0, "")
    assert run.refresh() == []
    writer.add(3, step_logits(3))
    writer.add(4, step_logits(4))
    assert run.refresh() == [3, 4]
    assert (run.n_samples, run.n_classes, run.dtype) == (6, 4, "float32")
    assert run.class_names == ["class 0", "class 1", "class 2", "class 3"]
    np.testing.assert_array_equal(run.logits(4), step_logits(4))
    assert run.refresh() == []


_KILLED_WRITER = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from softmax_lab.core.runs import RunWriter

def step_logits(step, n, c):
    return np.random.default_rng(step + 1000).normal(0, 3, (n, c)).astype(np.float32)

with RunWriter({folder!r}, labels=np.arange(300) % 50) as run:
    step = 0
    while True:
        run.add(step, step_logits(step, 300, 50))
        step += 1
"""


def test_a_run_whose_writer_was_killed_opens_with_its_last_complete_step(tmp_path):
    folder = tmp_path / "killed"
    script = _KILLED_WRITER.format(root=str(ROOT), folder=str(folder))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if len(manifest(folder)["steps"]) >= 5:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        assert child.poll() is None, "the writer died on its own"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    run = load_run(folder)
    assert run.problems == []
    assert run.steps == list(range(len(run.steps)))
    assert len(run.steps) >= 5
    for s in run.steps:
        np.testing.assert_array_equal(run.logits(s), step_logits(s, 300, 50))
    with RunWriter(folder, resume=True) as w:  # and it can be continued
        w.add(run.steps[-1] + 1, step_logits(0, 300, 50))
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert load_run(folder).steps == [*run.steps, run.steps[-1] + 1]


# --- damaged and hostile runs ---------------------------------------------------------------------


def test_bad_steps_are_problems_when_others_are_good(tmp_path):
    folder = tmp_path / "r"
    record(folder, steps=range(6))
    (folder / "step-000001.npy").unlink()
    data = (folder / "step-000002.npy").read_bytes()
    (folder / "step-000002.npy").write_bytes(data[: len(data) - 5])
    np.save(folder / "step-000003.npy", step_logits(3, n=5))  # shape disagrees with the manifest
    np.save(folder / "step-000004.npy", step_logits(4).astype(np.float64))
    (folder / "step-000005.npy").write_bytes(b"garbage, not a numpy file")
    run = load_run(folder)
    assert run.steps == [0]
    problems = "\n".join(run.problems)
    expected = [(1, "missing"), (2, "truncated"), (3, "(5, 4)"), (4, "float64"), (5, "damaged")]
    for s, phrase in expected:
        line = next(p for p in run.problems if f"r/step-00000{s}.npy: " in p)
        assert phrase in line, (s, problems)
    np.testing.assert_array_equal(run.logits(0), step_logits(0))


def test_a_pickled_step_file_is_a_problem_and_never_unpickled(tmp_path, monkeypatch):
    import pickle

    folder = tmp_path / "r"
    record(folder)
    np.save(folder / "step-000001.npy", np.array([[object()]] * 6), allow_pickle=True)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    run = load_run(folder)
    assert run.steps == [0, 2]
    assert "step-000001.npy" in run.problems[0]


def test_a_run_with_no_readable_step_is_a_data_error_naming_the_file(tmp_path):
    folder = tmp_path / "r"
    record(folder, steps=[4])
    (folder / "step-000004.npy").write_bytes(b"")
    with pytest.raises(DataError, match=r"r/step-000004.npy"):
        load_run(folder)


def test_damaged_sidecars_are_problems(tmp_path):
    folder = tmp_path / "r"
    record(folder, texts=list("abcdef"))
    (folder / "labels.npy").write_bytes(b"junk")
    (folder / "texts.json").write_text("[1, 2")
    run = load_run(folder)
    assert run.steps == [0, 1, 2]
    assert run.labels is None
    assert run.texts is None
    assert any("labels.npy" in p for p in run.problems)
    assert any("texts.json" in p for p in run.problems)


def _edit_manifest(folder: Path, **changes) -> None:
    body = manifest(folder)
    body.update(changes)
    (folder / MANIFEST).write_text(json.dumps(body))


HOSTILE = [
    ("future version", {"version": VERSION + 1}, "newer Softmax Lab"),
    ("no version", {"version": None}, "version"),
    ("bool version", {"version": True}, "version"),
    ("other format", {"format": "something-else"}, "not a Softmax Lab run manifest"),
    ("traversal", {"steps": [{"step": 0, "file": "../outside.npy"}]}, "bad step entry"),
    ("absolute", {"steps": [{"step": 0, "file": "/etc/passwd"}]}, "bad step entry"),
    ("subfolder", {"steps": [{"step": 0, "file": "sub/step.npy"}]}, "bad step entry"),
    ("backslash", {"steps": [{"step": 0, "file": "..\\x.npy"}]}, "bad step entry"),
    ("hidden", {"steps": [{"step": 0, "file": ".step-000000.npy.x.tmp"}]}, "bad step entry"),
    ("manifest as step", {"steps": [{"step": 0, "file": MANIFEST}]}, "bad step entry"),
    ("labels outside", {"labels": "../labels.npy"}, "labels"),
    ("images outside", {"images": "/dev/zero"}, "images"),
    ("unsorted", {"steps": [{"step": 2, "file": "a.npy"}, {"step": 1, "file": "b.npy"}]}, "step"),
    ("same file", {"steps": [{"step": 1, "file": "a.npy"}, {"step": 2, "file": "a.npy"}]}, "same"),
    ("steps not a list", {"steps": "all"}, "steps"),
    ("bool step", {"steps": [{"step": True, "file": "step-000000.npy"}]}, "bad step entry"),
    ("negative N", {"n_samples": -6}, "n_samples"),
    ("bad dtype", {"dtype": "object"}, "dtype"),
    ("names wrong length", {"class_names": ["a"]}, "class_names"),
    ("steps without shape", {"n_classes": None}, "shape"),
]


@pytest.mark.parametrize(
    ("changes", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_hostile_or_damaged_manifest_is_a_data_error(tmp_path, changes, message):
    folder = tmp_path / "r"
    record(folder)
    _edit_manifest(folder, **changes)
    with pytest.raises(DataError, match=message) as info:
        load_run(folder)
    assert "r/run.json" in str(info.value) or "r:" in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no run.json"),
        (b"", "the file is empty"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "not a Softmax Lab run manifest"),
        (b'{"format": "softmax-lab-run"', "not valid JSON"),
    ],
)
def test_an_absent_or_unreadable_manifest_is_a_data_error(tmp_path, content, message):
    folder = tmp_path / "r"
    record(folder)
    if content is None:
        (folder / MANIFEST).unlink()
    else:
        (folder / MANIFEST).write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_run(folder)


def test_paths_that_are_not_run_folders(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "f.npy").write_bytes(b"x")
    with pytest.raises(DataError, match="not a run folder"):
        load_run(tmp_path / "f.npy")


def test_refresh_notes_a_manifest_that_went_bad_and_keeps_the_steps(tmp_path):
    folder = tmp_path / "r"
    record(folder)
    run = load_run(folder)
    (folder / MANIFEST).write_text("{")
    assert run.refresh() == []
    assert run.steps == [0, 1, 2]
    assert any("not valid JSON" in p for p in run.problems)


def test_polling_an_unchanged_run_reads_no_manifest(tmp_path, monkeypatch):
    import softmax_lab.core.runs as runs

    folder = tmp_path / "r"
    writer = RunWriter(folder, labels=np.array([0, 1, 2, 3, 0, 1]))
    writer.add(0, step_logits(0))
    run = load_run(folder)
    reads = []
    real = runs._read_manifest
    monkeypatch.setattr(runs, "_read_manifest", lambda f: reads.append(f) or real(f))
    assert run.refresh() == []  # the first poll reads it once
    assert run.refresh() == []
    assert run.refresh() == []
    assert len(reads) == 1
    writer.add(1, step_logits(1))  # a new manifest: a new inode
    assert run.refresh() == [1]
    assert run.refresh() == []
    assert len(reads) == 2


def test_a_run_step_names_a_run_object_and_a_step(tmp_path):
    from softmax_lab.core.runs import RunStep

    record(tmp_path / "r")
    a, b = load_run(tmp_path / "r"), load_run(tmp_path / "r")
    assert RunStep(a, 1) == RunStep(a, 1)
    assert RunStep(a, 1) != RunStep(a, 2)
    assert RunStep(a, 1) != RunStep(b, 1)  # the same folder opened twice: two runs
    assert len({RunStep(a, 1), RunStep(a, 1), RunStep(b, 1)}) == 2
    assert RunStep(a, 1) != (a, 1)
