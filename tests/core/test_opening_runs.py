"""core.opening: a recorded run opened for the window at a step, evaluated, with its inputs;
every way a run folder can be unusable is a DataError that names it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.loaders import DataError
from softmax_lab.core.opening import NoStepYet, prepare_run, run_inputs
from softmax_lab.core.runs import RunWriter, load_run
from softmax_lab.core.settings import Settings


def record(folder, steps=(1, 2, 3), labels=True, **kwargs):
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 2, 1, 0]) if labels else None
    tables = {}
    with RunWriter(folder, labels=y, **kwargs) as w:
        for s in steps:
            tables[s] = rng.normal(0, 1, (5, 3)).astype(np.float32)
            w.add(s, tables[s])
    return y, tables


def test_a_run_opens_at_its_latest_step_evaluated_with_its_inputs(tmp_path):
    images = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    y, tables = record(tmp_path / "r", images=images, texts=list("abcde"))
    settings = Settings(temperature=2.0, weight=(1.0, 2.0, 3.0))
    p = prepare_run(str(tmp_path / "r"), settings)
    assert p.step == 3
    np.testing.assert_array_equal(p.logits, tables[3])
    assert p.logits.flags.writeable  # copy-on-write: edits never reach the step file
    p.logits[0, 0] = 99.0
    np.testing.assert_array_equal(load_run(tmp_path / "r").logits(3), tables[3])
    assert p.labels.tolist() == y.tolist()
    assert p.has_labels
    assert p.settings.weight is None
    assert p.settings.temperature == 2.0
    expected = evaluate(tables[3], y, temperature=2.0)
    np.testing.assert_allclose(p.evaluation.losses, expected.losses)
    np.testing.assert_array_equal(p.inputs.images, images)
    assert p.inputs.texts.tolist() == list("abcde")
    assert prepare_run(str(tmp_path / "r"), Settings(), step=1).step == 1


def test_a_run_without_labels_opens_with_every_sample_ignored(tmp_path):
    record(tmp_path / "r", labels=False)
    p = prepare_run(str(tmp_path / "r"), Settings())
    assert not p.has_labels
    assert (p.labels == IGNORE_INDEX).all()
    assert any("no labels" in n for n in p.notices)


def test_images_the_window_cannot_show_are_left_out_with_a_notice(tmp_path):
    record(tmp_path / "r", images=np.zeros((5, 64)), texts=list("abcde"))  # flat vectors
    inputs, notices = run_inputs(load_run(tmp_path / "r"))
    assert inputs.images is None
    assert inputs.texts.tolist() == list("abcde")
    assert "images not shown" in notices[0]


def test_a_missing_or_empty_folder_is_a_run_not_started_yet(tmp_path):
    # What a user opens right after starting the training script: waited for, not refused.
    for folder in (tmp_path / "nowhere", tmp_path / "made"):
        if folder.name == "made":
            folder.mkdir()
        with pytest.raises(NoStepYet, match="no run has been written here yet"):
            prepare_run(str(folder), Settings())
    # A missing logits file is not a run.
    with pytest.raises(DataError, match="not found") as info:
        prepare_run(str(tmp_path / "gone.npy"), Settings())
    assert not isinstance(info.value, NoStepYet)


def test_unusable_run_folders_are_data_errors(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("not a run")
    with pytest.raises(DataError, match="not a Softmax Lab run"):
        prepare_run(str(tmp_path / "plain"), Settings())
    RunWriter(tmp_path / "empty", labels=[0, 1])
    with pytest.raises(DataError, match="no step yet"):
        prepare_run(str(tmp_path / "empty"), Settings())
    record(tmp_path / "r")
    (tmp_path / "r" / "run.json").write_text(json.dumps({"format": "nope"}))
    with pytest.raises(DataError, match=r"run\.json"):
        prepare_run(str(tmp_path / "r"), Settings())
    record(tmp_path / "gone")
    for f in (tmp_path / "gone").glob("step-*.npy"):
        f.unlink()
    with pytest.raises(DataError, match="no step of the run is readable"):
        prepare_run(str(tmp_path / "gone"), Settings())
