"""Workspaces round-trip every field; damaged, future and hostile files change nothing."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core.document import Document, Settings
from softmax_lab.core.view_state import Filter, Sort, ViewState, view_from_json
from softmax_lab.core.workspace import (
    VERSION,
    Workspace,
    WorkspaceError,
    load_workspace,
    save_workspace,
)


def assert_same(a: Workspace, b: Workspace):
    np.testing.assert_array_equal(a.logits, b.logits)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.soft_targets, b.soft_targets)
    assert a.class_names == b.class_names
    assert a.settings == b.settings
    assert a.view == b.view


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 4)),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    ),
    st.booleans(),
    st.floats(0.05, 20),
    st.sampled_from(["mean", "sum", "none"]),
)
def test_round_trip_every_field(tmp_path_factory, logits, soft, temperature, reduction):
    n, c = logits.shape
    doc = Document(
        logits,
        np.arange(n) % c,
        [f"k{i}" for i in range(c)],
        settings=Settings(
            temperature=temperature,
            reduction=reduction,
            label_smoothing=0.1,
            weight=tuple(range(1, c + 1)),
            dtype="float64",
            target_mode="probability" if soft else "index",
        ),
    )
    view = ViewState(
        selected=n - 1,
        show_probabilities=True,
        theme="dark",
        scale=2.5,
        preset_index=3,
        sort=Sort("p_true", descending=False),
        filter=Filter("confusion", (0, c - 1)),
        view_tab="dataset",
        side_tab="formula",
        top_k=5,
        top_p=0.9,
    )
    ws = Workspace.from_document(doc, view.to_json())
    path = tmp_path_factory.mktemp("ws") / "a.softmaxlab.json"
    save_workspace(path, ws)
    loaded = load_workspace(path)
    if not soft:
        loaded.soft_targets = ws.soft_targets  # not stored in index mode
    assert_same(loaded, ws)
    assert ViewState(**view_from_json(loaded.view)).snapshot() == view.snapshot()
    json.loads(path.read_text())  # standard JSON: no bare NaN/Infinity


def test_a_version_1_workspace_still_opens(tmp_path):
    path = tmp_path / "old.softmaxlab.json"
    body = {
        "format": "softmax-lab-workspace",
        "version": 1,
        "shape": [1, 2],
        "class_names": ["a", "b"],
        "settings": {"temperature": 2.0},
        "view": {
            "selected": 0,
            "show_probabilities": True,
            "theme": "dark",
            "scale": 1.5,
            "preset_index": 2,
            "extra": {},
        },
        "logits": [[1.0, "-inf"]],
        "labels": [1],
    }
    path.write_text(json.dumps(body))
    ws = load_workspace(path)
    assert ws.settings.temperature == 2.0
    assert view_from_json(ws.view) == {
        "selected": 0,
        "show_probabilities": True,
        "theme": "dark",
        "scale": 1.5,
        "preset_index": 2,
    }


def test_large_table_uses_a_sidecar(tmp_path, monkeypatch):
    import softmax_lab.core.workspace as module

    monkeypatch.setattr(module, "INLINE_CELLS", 10)
    doc = Document(np.arange(40.0).reshape(10, 4), np.arange(10) % 4)
    path = tmp_path / "big.softmaxlab.json"
    save_workspace(path, Workspace.from_document(doc))
    assert (tmp_path / "big.softmaxlab.npz").exists()
    assert "logits" not in json.loads(path.read_text())
    np.testing.assert_array_equal(load_workspace(path).logits, doc.logits)


def good_body():
    return {
        "format": "softmax-lab-workspace",
        "version": VERSION,
        "shape": [1, 2],
        "class_names": ["a", "b"],
        "settings": {},
        "logits": [[1.0, "-inf"]],
        "labels": [0],
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(version=VERSION + 1), "newer Softmax Lab"),
        (lambda b: b.update(version="1"), "version"),
        (lambda b: b.update(format="other"), "not a Softmax Lab workspace"),
        (lambda b: b.pop("logits"), "damaged"),
        (lambda b: b.update(logits=[[1.0, "x"]]), "not a number"),
        (lambda b: b.update(logits=[[1.0], [1.0, 2.0]]), "different lengths"),
        (lambda b: b.update(labels=[5]), "out of range"),
        (lambda b: b.update(labels=[0.5]), "whole numbers"),
        (lambda b: b.update(class_names=["a"]), "class names"),
        (lambda b: b.update(class_names="ab"), "class_names"),
        (lambda b: b.update(settings={"temperature": -1}), "temperature"),
        (lambda b: b.update(settings={"weight": [1.0]}), r"one value per class \(2\), got 1"),
        (lambda b: b.update(settings={"reduction": "avg"}), "reduction must be one of"),
        (lambda b: b.update(settings={"target_mode": "soft"}), "target mode"),
        (lambda b: b.update(settings={"ignore_index": True}), "ignore_index"),
        (lambda b: b.update(settings=[]), "settings"),
        (lambda b: b.update(arrays="../elsewhere.npz"), "beside"),
        (lambda b: b.update(arrays="missing.npz"), "missing"),
        (lambda b: b.update(view=[]), "view must be an object"),
        (lambda b: b.update(view={"sort": {"key": "nonsense", "descending": True}}), "sort"),
        (lambda b: b.update(view={"filter": {"kind": "confusion", "value": 3}}), "filter"),
        (lambda b: b.update(view={"filter": {"kind": "bogus"}}), "filter"),
        (lambda b: b.update(view={"selected": "1"}), "selected"),
        (lambda b: b.update(view={"scale": 40}), "scale"),
        (lambda b: b.update(view={"theme": "neon"}), "theme"),
    ],
)
def test_bad_workspaces_raise_clear_errors(tmp_path, mutate, message):
    body = good_body()
    mutate(body)
    path = tmp_path / "w.softmaxlab.json"
    path.write_text(json.dumps(body))
    with pytest.raises(WorkspaceError, match=message):
        load_workspace(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"format": "softmax-lab-workspace"',
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b"null",
        b"[" * 100000,
    ],
)
def test_corrupt_and_truncated_files(tmp_path, content):
    path = tmp_path / "w.softmaxlab.json"
    path.write_bytes(content)
    with pytest.raises(WorkspaceError):
        load_workspace(path)


def test_truncated_real_workspace(tmp_path):
    path = tmp_path / "w.softmaxlab.json"
    save_workspace(path, Workspace.from_document(Document([[1.0, 2.0]], [0])))
    text = path.read_bytes()
    for cut in range(0, len(text) - 2, 7):
        path.write_bytes(text[:cut])
        with pytest.raises(WorkspaceError):
            load_workspace(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(WorkspaceError, match="file not found"):
        load_workspace(tmp_path / "nope.softmaxlab.json")
    with pytest.raises(WorkspaceError, match="folder"):
        load_workspace(tmp_path)


def test_atomic_write_never_leaves_half_a_file(tmp_path, monkeypatch):
    import softmax_lab.core.workspace as module

    path = tmp_path / "w.softmaxlab.json"
    save_workspace(path, Workspace.from_document(Document([[1.0, 2.0]], [0])))
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_workspace(path, Workspace.from_document(Document([[5.0, 6.0]], [1])))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.softmaxlab.json"]


def test_a_second_model_and_a_labels_less_table_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    doc = Document(rng.normal(size=(4, 3)), [-100] * 4, has_labels=False)
    doc.attach_model_b(rng.normal(size=(4, 3)), ("old", "new"))
    path = tmp_path / "two.softmaxlab.json"
    save_workspace(path, Workspace.from_document(doc))
    again = load_workspace(path).to_document()
    np.testing.assert_array_equal(again.logits_b, doc.logits_b)
    assert again.model_names == ("old", "new")
    assert not again.has_labels
    assert not again.can_undo
