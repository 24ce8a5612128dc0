"""core.lessons: the built-in lessons show what they promise, files round-trip, bad files are
refused with a LessonError that names the file and the step."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core.document import Document
from softmax_lab.core.formatting import number
from softmax_lab.core.lessons import (
    EXPECT_KEYS,
    HIGHLIGHTS,
    MAX_BYTES,
    NEEDS,
    SHOWS,
    VERSION,
    Lesson,
    LessonError,
    LessonStep,
    builtin_lessons,
    check_step,
    expected_figures,
    lesson_to_json,
    load_lesson,
    main,
    step_figures,
)
from softmax_lab.core.loaders import DataError
from softmax_lab.core.scratch import softmax_naive, softmax_stable

LESSONS = Path(__file__).resolve().parents[2] / "resources" / "lessons"
NOTEBOOK = LESSONS / "notebook.json"

BUILTIN_STEPS = [
    pytest.param(path, i, id=f"{path.stem}-{i}")
    for path in builtin_lessons()
    for i in range(1, len(load_lesson(path).steps) + 1)
]


def write(path: Path, body: Any) -> Path:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the built-in lessons ------------------------------------------------------------------------


def test_builtin_lessons_are_the_json_files_in_resources():
    found = builtin_lessons()
    assert NOTEBOOK in found
    assert all(p.suffix == ".json" and p.parent == LESSONS for p in found)
    assert (LESSONS / "FORMAT.md").is_file()


@pytest.mark.parametrize(("path", "step_number"), BUILTIN_STEPS)
def test_every_builtin_step_shows_its_expect(path, step_number):
    step = load_lesson(path).steps[step_number - 1]
    shown = step_figures(step)
    wanted = expected_figures(step)
    assert wanted, "a built-in step must check at least one figure"
    for key, want in wanted.items():
        assert shown[key] == want, f"step {step_number} ({step.title}): {key}"
    assert check_step(step) == []


# The figures the tutorial notebook prints, as it prints them (4 decimals). Each must be promised
# by some step of the notebook lesson, so that editing the lesson cannot drop one unnoticed.
NOTEBOOK_SOFTMAX = [0.6590, 0.2424, 0.0986]
NOTEBOOK_LOSSES = {
    "one-hot, good": 0.3567,
    "one-hot, bad": 2.3026,
    "torch, good": 0.4170,
    "torch, bad": 1.8406,
    "batch, good": 0.3018,
    "batch, bad": 1.6242,
}
NOTEBOOK_PREDICTIONS = {
    "torch, good": [0],
    "torch, bad": [1],
    "batch, good": [2, 0, 1],
    "batch, bad": [0, 2, 1],
}


def _first_step(steps: tuple[LessonStep, ...], found: Callable[[LessonStep], bool]) -> int:
    matches = [i for i, step in enumerate(steps) if found(step)]
    assert matches, "no step of the notebook lesson expects this figure"
    return matches[0]


def test_notebook_lesson_promises_and_shows_every_printed_figure():
    steps = load_lesson(NOTEBOOK).steps
    where: dict[str, int] = {}

    def four(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    # The literal values, read from the expect blocks...
    where["softmax"] = _first_step(
        steps, lambda s: [four(v) for v in s.expect.probabilities or ()] == NOTEBOOK_SOFTMAX
    )
    for name, value in NOTEBOOK_LOSSES.items():
        where[f"loss {name}"] = _first_step(steps, lambda s, v=value: four(s.expect.loss) == v)
    for name, value in NOTEBOOK_PREDICTIONS.items():
        where[f"pred {name}"] = _first_step(
            steps, lambda s, v=value: list(s.expect.predictions or ()) == v
        )
    # ... and shown by those steps, as the window writes them.
    softmax_step = steps[where["softmax"]]
    assert step_figures(softmax_step)["probabilities"] == ["0.6590", "0.2424", "0.0986"]
    for name, value in NOTEBOOK_LOSSES.items():
        assert step_figures(steps[where[f"loss {name}"]])["loss"] == f"{value:.4f}", name
    for name, value in NOTEBOOK_PREDICTIONS.items():
        assert step_figures(steps[where[f"pred {name}"]])["predictions"] == value, name
    # The notebook's order: softmax, one-hot by hand, torch's loss, the batch, its argmax.
    order = [
        where["softmax"],
        where["loss one-hot, good"],
        where["loss torch, good"],
        where["loss batch, good"],
        where["pred batch, good"],
    ]
    assert order == sorted(order)


def test_notebook_lesson_order_and_the_topics_beyond_it():
    steps = load_lesson(NOTEBOOK).steps
    highlights = [s.highlight for s in steps]
    assert highlights[:2] == ["softmax", "exp"]
    stable = highlights.index("stable_shift")
    assert stable < highlights.index("one_hot_sum") < highlights.index("nll")
    assert highlights.index("nll") < highlights.index("reduction") < highlights.index("argmax")
    beyond = ["temperature", "smoothing", "weights", "ignore", "gradient"]
    positions = [highlights.index(h) for h in beyond]
    assert positions == sorted(positions)
    assert positions[0] > max(i for i, h in enumerate(highlights) if h == "argmax")


def test_notebook_overflow_step_naive_breaks_and_stable_does_not():
    step = next(s for s in load_lesson(NOTEBOOK).steps if s.highlight == "stable_shift")
    assert step.show == "scratch"
    z = np.array(step.logits[step.selected], dtype=np.float32)
    naive, stable = softmax_naive(z), softmax_stable(z)
    assert not naive.ok
    assert np.isnan(naive.value).any()
    assert stable.ok
    assert np.isfinite(stable.value).all()
    assert "NaN" in step_figures(step)["naive_softmax"]


def test_notebook_one_hot_steps_use_log_probabilities_as_logits():
    steps = [s for s in load_lesson(NOTEBOOK).steps if s.highlight == "one_hot_sum"]
    assert len(steps) == 2
    for step in steps:
        assert step.soft_targets == ((1.0, 0.0, 0.0),)
        p = np.exp(np.array(step.logits[0]))
        np.testing.assert_allclose(p, step.expect.probabilities, atol=1e-12)


def test_builtin_captions_are_short_enough_for_the_back_row():
    for path in builtin_lessons():
        for i, step in enumerate(load_lesson(path).steps, 1):
            assert len(step.title) <= 40, f"{path.name} step {i}"
            assert len(step.caption) <= 230, f"{path.name} step {i}"
            sentences = re.findall(r"[.!?](?:\s|$)", step.caption)
            assert 1 <= len(sentences) <= 2, f"{path.name} step {i}: {step.caption}"


def test_format_md_documents_every_name():
    text = (LESSONS / "FORMAT.md").read_text(encoding="utf-8")
    for name in (*HIGHLIGHTS, *SHOWS, *NEEDS, *EXPECT_KEYS, "needs"):
        assert f"`{name}`" in text, name


# --- what a step gives the window ----------------------------------------------------------------


def test_document_args_build_a_document_that_shows_the_step_figures():
    for step in load_lesson(NOTEBOOK).steps:
        document = Document(**step.document_args())
        ev = document.evaluation
        figures = step_figures(step)
        if "loss" in figures:
            assert number(ev.loss) == figures["loss"]
        assert [number(p) for p in ev.probabilities[step.selected]] == figures["probabilities"]
        expected_mode = "probability" if step.soft_targets is not None else "index"
        assert document.settings.target_mode == expected_mode


def test_document_args_replace_a_window_table_in_one_undo_step():
    steps = load_lesson(NOTEBOOK).steps
    document = Document(**steps[0].document_args())
    before = document.snapshot()
    weighted = next(s for s in steps if s.highlight == "weights")
    document.replace_all(**weighted.document_args(), text=f"Lesson: {weighted.title}")
    assert document.settings.weight == (1.0, 1.0, 3.0)
    assert number(document.evaluation.loss) == step_figures(weighted)["loss"]
    document.undo()
    np.testing.assert_array_equal(document.snapshot()[0], before[0])


def test_check_step_reports_a_wrong_expectation(tmp_path):
    body = minimal()
    body["steps"][0]["expect"] = {"loss": 0.4171, "predictions": [0]}
    step = load_lesson(write(tmp_path / "wrong.json", body)).steps[0]
    assert check_step(step) == ["loss: expected 0.4171, shown 0.4170"]


def test_expect_is_compared_at_its_own_decimals(tmp_path):
    body = minimal()
    body["steps"][0]["expect"] = {"loss": 0.417030, "decimals": 6}
    step = load_lesson(write(tmp_path / "six.json", body)).steps[0]
    assert step_figures(step)["loss"] == "0.417030"
    assert check_step(step) == []
    body["steps"][0]["expect"] = {"loss": 0.4171, "decimals": 6}
    assert check_step(load_lesson(write(tmp_path / "six.json", body)).steps[0])


def test_ignored_sample_shows_no_loss(tmp_path):
    body = minimal()
    step = body["steps"][0]
    step["table"] = {"logits": [[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]], "labels": [0, 7]}
    step["options"] = {"ignore_index": 7}
    step["expect"] = {"losses": [0.4170, None], "loss": 0.4170}
    loaded = load_lesson(write(tmp_path / "ignore.json", body)).steps[0]
    assert step_figures(loaded)["losses"] == ["0.4170", "—"]
    assert check_step(loaded) == []


def test_reduction_none_has_no_reduced_loss(tmp_path):
    body = minimal()
    body["steps"][0]["options"] = {"reduction": "none"}
    body["steps"][0]["expect"] = {"losses": [0.4170]}
    step = load_lesson(write(tmp_path / "none.json", body)).steps[0]
    assert "loss" not in step_figures(step)
    assert check_step(step) == []


def test_command_line_check(tmp_path, capsys):
    assert main([str(NOTEBOOK)]) == 0
    assert "step 1 (" in capsys.readouterr().out
    body = minimal()
    body["steps"][0]["expect"] = {"loss": 0.5}
    assert main([str(write(tmp_path / "guess.json", body))]) == 1
    assert "expected 0.5000, shown 0.4170" in capsys.readouterr().out
    assert main([str(write(tmp_path / "bad.json", "{"))]) == 2
    assert "bad.json" in capsys.readouterr().err
    assert main([]) == 2


# --- round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", builtin_lessons(), ids=lambda p: p.stem)
def test_builtin_lessons_round_trip(tmp_path, path):
    lesson = load_lesson(path)
    text = lesson_to_json(lesson)
    again = load_lesson(write(tmp_path / path.name, text))
    assert again == lesson
    assert lesson_to_json(again) == text


def test_every_field_round_trips(tmp_path):
    body = {
        "format": "softmax-lab-lesson",
        "version": VERSION,
        "title": "Everything — with ünïcode",
        "steps": [
            {
                "title": "Odd numbers",
                "caption": "Masked, infinite and missing logits.",
                "table": {
                    "logits": [[2.0, "-inf", 1.0], ["nan", 0.0, 1.0], [1e30, -1e-30, 0.0]],
                    "labels": [0, -1, 2],
                    "class_names": ["cat", "dog", "bird"],
                },
                "options": {
                    "temperature": 0.25,
                    "label_smoothing": 0.05,
                    "weight": [1.0, 0.5, 2.0],
                    "reduction": "sum",
                    "ignore_index": -1,
                    "dtype": "float64",
                },
                "highlight": "ignore",
                "selected": 1,
                "show": "loss_curve",
                "needs": ["formula", "targets", "logits"],
                # Only round-tripped here, never checked against what the step shows.
                "expect": {
                    "probabilities": ["nan", "nan", "nan"],
                    "losses": ["nan", None, 0.0],
                    "decimals": 6,
                },
            },
            {
                "title": "Soft",
                "caption": "Probability targets.",
                "table": {"logits": [[0.0, 1.0]], "soft_targets": [[0.25, 0.75]]},
                "highlight": "one_hot_sum",
                "expect": {"predictions": [1], "gradient": [0.0, 0.0], "decimals": 0},
            },
        ],
    }
    lesson = load_lesson(write(tmp_path / "all.json", body))
    first, second = lesson.steps
    assert first.settings.reduction == "sum"
    assert first.settings.weight == (1.0, 0.5, 2.0)
    assert first.class_names == ("cat", "dog", "bird")
    assert first.show == "loss_curve"
    assert first.expect.losses[1] is None
    assert math.isnan(first.expect.losses[0])
    assert second.settings.target_mode == "probability"
    again = load_lesson(write(tmp_path / "again.json", lesson_to_json(lesson)))
    assert again == lesson
    assert "NaN" not in lesson_to_json(lesson)  # standard JSON: non-finite numbers as strings


finite_or_not = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from(["inf", "-inf", "nan"]),
)


@settings(max_examples=40)
@given(
    table=st.integers(1, 4).flatmap(
        lambda c: st.lists(st.lists(finite_or_not, min_size=c, max_size=c), min_size=1, max_size=4)
    ),
    temperature=st.floats(1e-3, 1e3),
    highlight=st.sampled_from(HIGHLIGHTS),
)
def test_round_trip_of_any_table(tmp_path_factory, table, temperature, highlight):
    body = minimal()
    step = body["steps"][0]
    step["table"] = {"logits": table, "labels": [0] * len(table)}
    step["options"] = {"temperature": temperature}
    step["highlight"] = highlight
    step["expect"] = {"predictions": [0] * len(table)}
    folder = tmp_path_factory.mktemp("lessons")
    lesson = load_lesson(write(folder / "a.json", body))
    again = load_lesson(write(folder / "b.json", lesson_to_json(lesson)))
    assert again == lesson
    assert lesson_to_json(again) == lesson_to_json(lesson)


# --- refused files -------------------------------------------------------------------------------


def minimal() -> dict[str, Any]:
    """The smallest valid lesson: one step, one sample."""
    return {
        "format": "softmax-lab-lesson",
        "version": 1,
        "title": "Minimal",
        "steps": [
            {
                "title": "One sample",
                "caption": "Softmax of three logits.",
                "table": {"logits": [[2.0, 1.0, 0.1]], "labels": [0]},
                "highlight": "softmax",
                "expect": {"loss": 0.4170},
            }
        ],
    }


def edit(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    body = minimal()
    change(body)
    return body


def step1(body: dict[str, Any]) -> dict[str, Any]:
    return body["steps"][0]


def with_soft(soft: Any) -> dict[str, Any]:
    body = minimal()
    step1(body)["table"] = {"logits": [[2.0, 1.0, 0.1]], "soft_targets": soft}
    return body


def third_step_bad(body: dict[str, Any]) -> None:
    good = body["steps"][0]
    bad = copy.deepcopy(good)
    bad["table"]["labels"] = [5]
    body["steps"] = [good, copy.deepcopy(good), bad]


# (id, file content: bytes, text or a JSON body, words the message must contain)
HOSTILE: list[tuple[str, Any, str]] = [
    ("empty", b"", "the file is empty"),
    ("truncated", json.dumps(minimal())[:80], "not valid JSON"),
    ("garbage bytes", b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "not UTF-8"),
    ("nested too deeply", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ("bare NaN", json.dumps(minimal()).replace("0.1]", "NaN]"), '"inf", "-inf" or "nan"'),
    ("a list, not a lesson", [1, 2, 3], "not a Softmax Lab lesson"),
    ("a workspace", {"format": "softmax-lab-workspace", "version": 1}, "not a Softmax Lab lesson"),
    ("future version", edit(lambda b: b.update(version=VERSION + 1)), "newer Softmax Lab"),
    ("version as text", edit(lambda b: b.update(version="1")), "no valid version"),
    ("no title", edit(lambda b: b.pop("title")), "title must be a non-empty text"),
    ("unknown top key", edit(lambda b: b.update(author="me")), "unknown key 'author'"),
    ("no steps", edit(lambda b: b.update(steps=[])), "steps must be a non-empty list"),
    ("step not an object", edit(lambda b: b.update(steps=["hello"])), "step 1: a step must be"),
    ("misspelt step key", edit(lambda b: step1(b).update(captoin="x")), "unknown key 'captoin'"),
    ("no caption", edit(lambda b: step1(b).pop("caption")), "step 1: the step has no 'caption'"),
    ("empty caption", edit(lambda b: step1(b).update(caption=" ")), "caption must be"),
    ("unknown highlight", edit(lambda b: step1(b).update(highlight="softmx")), "'softmx'"),
    ("unknown show", edit(lambda b: step1(b).update(show="plot")), "unknown show 'plot'"),
    ("unknown need", edit(lambda b: step1(b).update(needs=["z/T"])), "unknown need 'z/T'"),
    ("needs not a list", edit(lambda b: step1(b).update(needs="formula")), "needs must be a list"),
    ("needs of numbers", edit(lambda b: step1(b).update(needs=[1])), "needs must be a list"),
    ("a need twice", edit(lambda b: step1(b).update(needs=["logits", "logits"])), "twice"),
    ("no logits", edit(lambda b: step1(b)["table"].pop("logits")), "has no logits"),
    (
        "ragged rows",
        edit(lambda b: step1(b)["table"].update(logits=[[1.0, 2.0], [1.0]], labels=[0, 0])),
        "different lengths",
    ),
    ("flat logits", edit(lambda b: step1(b)["table"].update(logits=[2.0, 1.0])), "list of rows"),
    ("empty rows", edit(lambda b: step1(b)["table"].update(logits=[[]])), "rows are empty"),
    (
        "non-numeric logit",
        edit(lambda b: step1(b)["table"].update(logits=[[2.0, "abc", 0.1]])),
        "'abc', which is not a number",
    ),
    (
        "boolean logit",
        edit(lambda b: step1(b)["table"].update(logits=[[2.0, True, 0.1]])),
        "True, which is not a number",
    ),
    (
        "label out of range",
        edit(lambda b: step1(b)["table"].update(labels=[3])),
        "label 3 of sample 0 is out of range",
    ),
    ("label as float", edit(lambda b: step1(b)["table"].update(labels=[0.0])), "whole number"),
    (
        "too many labels",
        edit(lambda b: step1(b)["table"].update(labels=[0, 1])),
        "list of 1 class indices",
    ),
    (
        "labels and soft targets",
        edit(lambda b: step1(b)["table"].update(soft_targets=[[1.0, 0.0, 0.0]])),
        "either labels or soft_targets",
    ),
    (
        "soft targets too narrow",
        with_soft([[1.0, 0.0]]),
        "soft_targets has 2 columns; the logits have 3 classes",
    ),
    ("soft targets, wrong rows", with_soft([[1.0, 0, 0]] * 2), "2 rows; the logits have 1"),
    ("negative soft target", with_soft([[1.5, -0.5, 0.0]]), "finite numbers >= 0"),
    ("non-numeric soft target", with_soft([[1.0, None, 0.0]]), "None, which is not a number"),
    (
        "duplicate class names",
        edit(lambda b: step1(b)["table"].update(class_names=["a", "b", "a"])),
        "different from each other",
    ),
    ("temperature 0", edit(lambda b: step1(b).update(options={"temperature": 0})), "> 0"),
    (
        "smoothing above 1",
        edit(lambda b: step1(b).update(options={"label_smoothing": 2})),
        "label_smoothing must be in [0, 1]",
    ),
    (
        "weight of wrong length",
        edit(lambda b: step1(b).update(options={"weight": [1.0, 2.0]})),
        "one value per class (3), got 2",
    ),
    (
        "negative weight",
        edit(lambda b: step1(b).update(options={"weight": [1.0, -2.0, 1.0]})),
        "class weights must be finite and >= 0",
    ),
    ("bad reduction", edit(lambda b: step1(b).update(options={"reduction": "avg"})), "mean"),
    ("bad dtype", edit(lambda b: step1(b).update(options={"dtype": "float8"})), "float32"),
    ("device option", edit(lambda b: step1(b).update(options={"device": "cuda"})), "'device'"),
    ("selected out of range", edit(lambda b: step1(b).update(selected=1)), "not in 0..0"),
    ("expects nothing", edit(lambda b: step1(b).update(expect={"decimals": 4})), "no figure"),
    ("unknown figure", edit(lambda b: step1(b).update(expect={"accuracy": 1})), "'accuracy'"),
    (
        "expect of wrong length",
        edit(lambda b: step1(b).update(expect={"probabilities": [0.5, 0.5]})),
        "expect.probabilities (one per class) must be a list of 3 numbers",
    ),
    (
        "loss without a reduction",
        edit(lambda b: step1(b).update(options={"reduction": "none"}, expect={"loss": 1.0})),
        'with "none" use losses',
    ),
    (
        "prediction out of range",
        edit(lambda b: step1(b).update(expect={"predictions": [3]})),
        "classes 0..2",
    ),
    (
        "decimals too many",
        edit(lambda b: step1(b).update(expect={"loss": 1, "decimals": 99})),
        "0..8",
    ),
    ("the third step is bad", edit(third_step_bad), "step 3: label 5 of sample 0"),
]


@pytest.mark.parametrize(("content", "words"), [pytest.param(c, w, id=i) for i, c, w in HOSTILE])
def test_hostile_lesson_is_refused_with_a_clear_message(tmp_path, content, words):
    path = write(tmp_path / "hostile.json", content)
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    message = str(caught.value)
    assert message.startswith("hostile.json"), message
    assert words in message, message
    assert isinstance(caught.value, DataError)  # the window's file errors are all DataErrors


def test_hostile_corpus_is_large():
    assert len(HOSTILE) >= 12


def test_file_over_the_size_cap_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: no 5 MB written
    with pytest.raises(LessonError, match=r"huge\.json: 5\.2 MB is too large for a lesson"):
        load_lesson(path)


def test_folder_missing_and_special_files_are_refused(tmp_path):
    with pytest.raises(LessonError, match="is a folder, not a file"):
        load_lesson(tmp_path)
    with pytest.raises(LessonError, match=r"gone\.json: file not found"):
        load_lesson(tmp_path / "gone.json")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.json"
        os.mkfifo(fifo)
        with pytest.raises(LessonError, match="not a regular file"):
            load_lesson(fifo)  # refused before opening: a FIFO would block the read


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="needs POSIX permissions and a non-root user",
)
def test_unreadable_file_is_refused(tmp_path):
    path = write(tmp_path / "locked.json", minimal())
    path.chmod(0)
    try:
        with pytest.raises(LessonError, match=r"locked\.json: permission denied"):
            load_lesson(path)
    finally:
        path.chmod(0o600)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "notepad.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(minimal()).encode())
    assert isinstance(load_lesson(path), Lesson)


def test_checking_a_lesson_from_the_command_line_prints_no_warning(tmp_path):
    """`python -m softmax_lab.core.lessons FILE` (FORMAT.md): each step ok, and no runpy
    RuntimeWarning about the module being imported before it runs."""
    import subprocess
    import sys

    from softmax_lab.core.lessons import builtin_lessons

    notebook = next(p for p in builtin_lessons() if p.stem == "notebook")
    out = subprocess.run(
        [sys.executable, "-W", "error", "-m", "softmax_lab.core.lessons", str(notebook)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr
    assert out.stdout.count(": ok") == len(out.stdout.splitlines()) > 10
