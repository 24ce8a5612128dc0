"""Issue 21: hostile files neither hang nor explode. Every loader opens through one function
(``core.loaders._common.open_regular``): regular files only, bounded size, inside the folder it
may read from; every number a file claims is bounded before it is used; every loader raises
``DataError`` only, whatever JSON it is handed (hypothesis)."""

import contextlib
import json
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softmax_lab.core.loaders as loaders
from softmax_lab.core.constants import IGNORE_INDEX, MAX_INDEX
from softmax_lab.core.document import Document
from softmax_lab.core.lessons import MAX_CAPTION_CHARS, LessonError, load_lesson
from softmax_lab.core.loaders import DataError, load_labels, load_logits, load_vocabulary
from softmax_lab.core.loaders._common import open_regular, read_json
from softmax_lab.core.runs import MANIFEST, MAX_PROBLEMS, RunWriter, load_run
from softmax_lab.core.settings import Settings
from softmax_lab.core.viewer_data import prepare_view_data
from softmax_lab.core.workspace import (
    Workspace,
    WorkspaceError,
    load_workspace,
    save_workspace,
)

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def test_lesson_and_workspace_errors_are_data_errors():
    assert issubclass(LessonError, DataError)
    assert issubclass(WorkspaceError, DataError)


# --- special files: refused, never waited on ------------------------------------------------------


def without_hanging(call, fifos):
    """``call()``'s result or exception. A call blocked on a FIFO is released (a writer opens
    it, so the blocked open returns) and the test fails: before the fix every case here hung."""
    box = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)  # a guard against hanging forever, not a timing: the calls take ms
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"blocked on a FIFO: {[str(f) for f in fifos]}")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@needs_fifo
@pytest.mark.parametrize("name", ["logits.npy", "logits.npz", "logits.csv", "logits.pt"])
def test_load_logits_refuses_a_fifo(tmp_path, name):
    path = fifo(tmp_path / name)
    with pytest.raises(DataError, match="named pipe"):
        without_hanging(lambda: load_logits(path), [path])


@needs_fifo
@pytest.mark.parametrize("name", ["labels.npy", "labels.txt", "labels.pt"])
def test_load_labels_refuses_a_fifo(tmp_path, name):
    path = fifo(tmp_path / name)
    with pytest.raises(DataError, match="named pipe"):
        without_hanging(lambda: load_labels(path, 3), [path])


@needs_fifo
@pytest.mark.parametrize("name", ["tokenizer.json", "vocab.txt"])
def test_load_vocabulary_refuses_a_fifo(tmp_path, name):
    path = fifo(tmp_path / name)
    with pytest.raises(DataError, match="named pipe"):
        without_hanging(lambda: load_vocabulary(path), [path])


@needs_fifo
def test_lessons_and_workspaces_refuse_fifos(tmp_path):
    lesson = fifo(tmp_path / "lesson.json")
    with pytest.raises(LessonError, match="named pipe"):
        without_hanging(lambda: load_lesson(lesson), [lesson])
    workspace = fifo(tmp_path / "w.softmaxlab.json")
    with pytest.raises(WorkspaceError, match="named pipe"):
        without_hanging(lambda: load_workspace(workspace), [workspace])


def big_workspace(path: Path) -> Path:
    """A workspace whose table is large enough to live in its .npz sidecar."""
    rng = np.random.default_rng(0)
    document = Document(rng.normal(size=(700, 300)), rng.integers(0, 300, 700))
    save_workspace(path, Workspace.from_document(document))
    return path


@needs_fifo
def test_a_workspace_sidecar_that_is_a_fifo_is_refused(tmp_path):
    path = big_workspace(tmp_path / "w.softmaxlab.json")
    sidecar = tmp_path / json.loads(path.read_text())["arrays"]
    sidecar.unlink()
    fifo(sidecar)
    with pytest.raises(WorkspaceError, match="named pipe"):
        without_hanging(lambda: load_workspace(path), [sidecar])


def logits_of(step: int) -> np.ndarray:
    return np.random.default_rng(step).normal(size=(4, 3)).astype(np.float32)


def record(folder: Path, steps=(0, 1, 2), **kwargs) -> Path:
    kwargs.setdefault("labels", np.array([0, 1, 2, IGNORE_INDEX]))
    with RunWriter(folder, **kwargs) as run:
        for step in steps:
            run.add(step, logits_of(step))
    return folder


@needs_fifo
def test_a_run_manifest_that_is_a_fifo_is_refused(tmp_path):
    folder = record(tmp_path / "run")
    (folder / MANIFEST).unlink()
    manifest = fifo(folder / MANIFEST)
    with pytest.raises(DataError, match="named pipe"):
        without_hanging(lambda: load_run(folder), [manifest])


@needs_fifo
@pytest.mark.parametrize("name", ["step-000002.npy", "texts.json", "labels.npy"])
def test_a_run_step_or_sidecar_that_is_a_fifo_is_a_problem_not_a_hang(tmp_path, name):
    folder = record(tmp_path / "run", texts=["a", "b", "c", "d"])
    (folder / name).unlink()
    path = fifo(folder / name)
    run = without_hanging(lambda: load_run(folder), [path])
    assert any(name in p and "named pipe" in p for p in run.problems), run.problems
    if name.startswith("step"):
        assert run.steps == [0, 1]
    np.testing.assert_array_equal(run.logits(0), logits_of(0))


def test_open_regular_refuses_a_swapped_in_special_file(tmp_path):
    """The check and the open agree: a file replaced between them is refused, not read."""
    path = tmp_path / "a.json"
    path.write_text("[1]")
    with open_regular(path, "a.json") as fh:
        assert fh.read() == b"[1]"
    with pytest.raises(DataError, match=r"a\.json: .*too large"):
        open_regular(path, "a.json", max_bytes=2)


# --- links that leave the folder --------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
@pytest.mark.parametrize("name", ["step-000002.npy", "texts.json", "labels.npy", MANIFEST])
def test_a_run_file_linking_outside_the_run_is_not_read(tmp_path, name):
    folder = record(tmp_path / "run", texts=["a", "b", "c", "d"])
    outside = tmp_path / "secret"
    outside.mkdir()
    target = outside / name
    (folder / name).rename(target)
    (folder / name).symlink_to(target)
    if name == MANIFEST:
        with pytest.raises(DataError, match="outside the folder run"):
            load_run(folder)
        return
    run = load_run(folder)
    assert any(name in p and "outside the folder" in p for p in run.problems), run.problems
    if name == "texts.json":
        assert run.texts is None
    if name == "labels.npy":
        assert run.labels is None


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_inside_the_run_folder_is_read(tmp_path):
    folder = record(tmp_path / "run")
    (folder / "step-000002.npy").rename(folder / "real.npy")
    (folder / "step-000002.npy").symlink_to(folder / "real.npy")
    assert load_run(folder).steps == [0, 1, 2]


# --- manifests that lie ---------------------------------------------------------------------------


def write_manifest(folder: Path, **body) -> None:
    folder.mkdir(exist_ok=True)
    base = {"format": "softmax-lab-run", "version": 1, "steps": []}
    (folder / MANIFEST).write_text(json.dumps({**base, **body}))


def test_a_manifest_claiming_ten_million_classes_builds_nothing_of_that_size(tmp_path):
    folder = tmp_path / "liar"
    write_manifest(folder, n_samples=3, n_classes=10**7, dtype="float32")
    tracemalloc.start()
    try:
        run = load_run(folder)
        run.refresh()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert run.steps == []
    assert run.class_names == []
    assert peak < 5_000_000, f"{peak:,} bytes for a 116-byte manifest"


@pytest.mark.parametrize("key", ["n_samples", "n_classes"])
def test_a_manifest_shape_past_the_bound_is_refused(tmp_path, key):
    folder = tmp_path / "liar"
    write_manifest(folder, **{key: 10**30})
    with pytest.raises(DataError, match=rf"bad '{key}': 1\.0e\+30"):
        load_run(folder)


@pytest.mark.parametrize("step", [10**30, -(10**30), 2**63])
def test_a_step_past_the_bound_is_refused_cleanly(tmp_path, step):
    folder = record(tmp_path / "run")
    body = json.loads((folder / MANIFEST).read_text())
    body["steps"].append({"step": step, "file": "step-000003.npy"})
    (folder / MANIFEST).write_text(json.dumps(body))
    with pytest.raises(DataError, match="steps are whole numbers within"):
        load_run(folder)
    with RunWriter(tmp_path / "w") as writer, pytest.raises(ValueError, match="within"):
        writer.add(step, logits_of(0))


def test_a_hundred_thousand_missing_steps_are_counted_not_listed(tmp_path):
    """Opening stays linear: problems are deduplicated with a set (it was a list scan, 131 s
    for 100,000) and only the first MAX_PROBLEMS are kept."""
    folder = record(tmp_path / "run", steps=(0,))
    body = json.loads((folder / MANIFEST).read_text())
    body["steps"] += [{"step": s, "file": f"step-{s:06d}.npy"} for s in range(1, 100_001)]
    (folder / MANIFEST).write_text(json.dumps(body))
    run = load_run(folder)
    assert run.steps == [0]
    assert run.problem_count == 100_000
    assert len(run.problems) == MAX_PROBLEMS + 1
    assert "missing" in run.problems[0]


def test_a_deeply_nested_manifest_is_a_data_error(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested too deeply"):
        load_run(folder)


# --- numbers that pass validation, then raise -----------------------------------------------------


def small_workspace(path: Path, **changes) -> Path:
    save_workspace(path, Workspace.from_document(Document([[1.0, 2.0, 0.5]], [0])))
    body = json.loads(path.read_text())
    for key, value in changes.items():
        if key in ("ignore_index",):
            body["settings"][key] = value
        elif key in ("preset_index", "lesson_step", "selected"):
            body["view"][key] = value
        else:
            body[key] = value
    path.write_text(json.dumps(body))
    return path


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"labels": [10**30]}, "label 1.0e+30"),
        ({"ignore_index": 10**30}, "ignore_index must be within"),
        ({"preset_index": 10**20}, "preset_index must be a whole number up to"),
        ({"preset_index": 50}, "preset_index must be in"),
        ({"selected": -(10**30)}, "selected must be a whole number up to"),
        ({"lesson_step": 10**400}, "lesson_step must be a whole number up to"),
    ],
)
def test_huge_numbers_in_a_workspace_are_data_errors(tmp_path, changes, words):
    path = small_workspace(tmp_path / "w.softmaxlab.json", **changes)
    with pytest.raises(WorkspaceError, match=r"w\.softmaxlab\.json") as info:
        load_workspace(path)
    assert words in str(info.value)
    assert len(str(info.value)) < 400


def test_a_deeply_nested_workspace_is_a_data_error(tmp_path):
    path = tmp_path / "w.softmaxlab.json"
    path.write_text('{"format": "softmax-lab-workspace", "version": 2, "view": ' + "[" * 5000)
    with pytest.raises(WorkspaceError):
        load_workspace(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WorkspaceError, match="nested too deeply"):
        load_workspace(path)


def lesson(**step_changes) -> dict:
    step = {
        "title": "One sample",
        "caption": "Softmax of three logits.",
        "table": {"logits": [[2.0, 1.0, 0.1]], "labels": [0]},
        "highlight": "softmax",
        "expect": {"loss": 0.4170},
    }
    step.update(step_changes)
    return {"format": "softmax-lab-lesson", "version": 1, "title": "L", "steps": [step]}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"options": {"ignore_index": 10**30}}, "ignore_index must be within"),
        ({"table": {"logits": [[1.0, 2.0]], "labels": [10**30]}}, "a label must be within"),
        ({"selected": 10**20}, "selected must be within"),
        ({"caption": "x" * (MAX_CAPTION_CHARS + 1)}, f"characters; at most {MAX_CAPTION_CHARS:,}"),
        ({"caption": "bell \x07 and nul \x00"}, "control character U+0007"),
        ({"title": "t" * 10_000}, "at most 200"),
    ],
)
def test_huge_numbers_and_texts_in_a_lesson_are_lesson_errors(tmp_path, changes, words):
    path = tmp_path / "l.json"
    path.write_text(json.dumps(lesson(**changes)))
    with pytest.raises(LessonError, match=r"l\.json, step 1") as info:
        load_lesson(path)
    assert words in str(info.value)


def test_a_four_megabyte_caption_of_control_characters_is_refused(tmp_path):
    path = tmp_path / "l.json"
    noise = "x" * 4_000_000 + "".join(chr(c) for c in range(32))  # 4 MB, under the 5 MB cap
    path.write_text(json.dumps(lesson(caption=noise)))
    with pytest.raises(LessonError, match="caption has 4,000,032 characters"):
        load_lesson(path)


def test_ignore_index_is_bounded_in_settings():
    assert Settings(ignore_index=-MAX_INDEX).ignore_index == -MAX_INDEX
    with pytest.raises(ValueError, match="ignore_index must be within"):
        Settings(ignore_index=10**30)


# --- resource bombs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"a": 49_999_999}, {"model": {"vocab": {"a": 0, "b": 49_999_999}}}],
    ids=["vocab.json", "tokenizer.json"],
)
def test_a_tiny_tokenizer_claiming_fifty_million_ids_is_refused_before_building(tmp_path, body):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(body))
    assert path.stat().st_size < 60
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"50,000,000 entries \(about 4\.5 GB\)"):
            load_vocabulary(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak:,} bytes allocated before refusing"


def test_a_vocabulary_with_a_few_reserved_ids_still_loads(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"a": 0, "b": 1, "<special>": 300}))
    tokens = load_vocabulary(path)
    assert tokens[:2] == ["a", "b"]
    assert tokens[300] == "<special>"
    assert len(tokens) == 301


def test_a_sparse_tensor_is_not_densified_past_the_memory_free(tmp_path, monkeypatch):
    sparse = torch.sparse_coo_tensor(
        [[0, 29_999], [0, 29_999]], [1.0, 2.0], (30_000, 30_000), check_invariants=True
    )
    path = tmp_path / "sparse.pt"
    torch.save(sparse, path)
    assert path.stat().st_size < 4_000
    monkeypatch.setattr(loaders, "available_memory", lambda: 2_000_000_000)
    with pytest.raises(DataError, match=r"30,000 × 30,000 table needs about 4\.0 GB"):
        load_logits(path)


def test_a_small_sparse_tensor_still_loads(tmp_path):
    sparse = torch.sparse_coo_tensor([[0, 1], [2, 0]], [1.0, 2.0], (2, 3), check_invariants=True)
    path = tmp_path / "sparse.pt"
    torch.save(sparse, path)
    np.testing.assert_array_equal(load_logits(path).logits, sparse.to_dense().numpy())


# --- the general rule: random JSON gives DataError only -------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
run_keys = st.sampled_from(
    ["n_samples", "n_classes", "dtype", "class_names", "labels", "images", "texts", "steps"]
)
workspace_keys = st.sampled_from(
    ["class_names", "logits", "labels", "settings", "view", "arrays", "inputs", "soft_targets"]
)
lesson_keys = st.sampled_from(
    ["title", "caption", "table", "options", "highlight", "selected", "show", "expect"]
)
settings_ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@settings_
@given(changes=st.dictionaries(run_keys, json_values, max_size=4), depth=st.integers(0, 3000))
def test_random_run_manifests_raise_only_data_errors(tmp_path_factory, changes, depth):
    folder = record(tmp_path_factory.mktemp("run"), steps=(0, 1))
    body = json.loads((folder / MANIFEST).read_text())
    body.update(changes)
    text = json.dumps(body)
    if depth:
        text = text[:-1] + f', "deep": {deep(depth)}}}'
    (folder / MANIFEST).write_text(text)
    try:
        run = load_run(folder)
    except DataError:
        return
    run.refresh()


@settings_
@given(changes=st.dictionaries(workspace_keys, json_values, max_size=4))
def test_random_workspaces_raise_only_data_errors(tmp_path_factory, changes):
    path = tmp_path_factory.mktemp("ws") / "w.softmaxlab.json"
    save_workspace(path, Workspace.from_document(Document([[1.0, 2.0], [0.0, 1.0]], [0, 1])))
    body = json.loads(path.read_text())
    body.update(changes)
    path.write_text(json.dumps(body))
    with contextlib.suppress(DataError):
        load_workspace(path)


@settings_
@given(
    changes=st.dictionaries(lesson_keys, json_values, max_size=4),
    options=st.dictionaries(
        st.sampled_from(["temperature", "label_smoothing", "weight", "ignore_index", "dtype"]),
        json_values,
        max_size=3,
    ),
)
def test_random_lessons_raise_only_data_errors(tmp_path_factory, changes, options):
    path = tmp_path_factory.mktemp("lesson") / "l.json"
    body = lesson(**changes)
    if options:
        body["steps"][0]["options"] = options
    path.write_text(json.dumps(body))
    with contextlib.suppress(DataError):
        load_lesson(path)


@settings_
@given(body=json_values)
def test_random_json_in_every_json_format_raises_only_data_errors(tmp_path_factory, body):
    folder = tmp_path_factory.mktemp("any")
    text = json.dumps(body)
    for name in ("l.json", "w.softmaxlab.json", MANIFEST, "tokenizer.json"):
        (folder / name).write_text(text)
    for call in (
        lambda: load_lesson(folder / "l.json"),
        lambda: load_workspace(folder / "w.softmaxlab.json"),
        lambda: load_run(folder),
        lambda: load_vocabulary(folder / "tokenizer.json"),
        lambda: read_json(folder / "l.json", "l.json", max_bytes=10**6),
    ):
        with contextlib.suppress(DataError):
            call()


view_arguments = st.one_of(
    json_values,
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda v: [[v, 1]]),
    st.lists(st.lists(st.floats(), min_size=2, max_size=2), min_size=1, max_size=3),
)


@settings_
@given(
    logits=view_arguments,
    labels=st.one_of(st.none(), view_arguments),
    class_names=st.one_of(st.none(), json_values),
    temperature=st.one_of(st.none(), json_values, st.just(10**400)),
    names=st.one_of(st.just(("A", "B")), json_values),
)
def test_view_arguments_raise_only_value_or_type_errors(
    logits, labels, class_names, temperature, names
):
    with contextlib.suppress(ValueError, TypeError):
        prepare_view_data(
            logits, labels, class_names=class_names, temperature=temperature, names=names
        )


@pytest.mark.parametrize(
    "labels", [[10**30, 0], np.array([2**63, 0], dtype=np.uint64), [1e30, 0], ["10" * 20, 0]]
)
def test_view_refuses_huge_labels_with_a_value_error(labels):
    with pytest.raises(ValueError, match=r"labels?"):
        prepare_view_data([[1.0, 2.0], [0.0, 1.0]], labels)
