"""Lessons: a stepped, captioned walk through softmax and cross-entropy, stored as data.

A lesson is a JSON file (format ``softmax-lab-lesson``, described in
``resources/lessons/FORMAT.md``): a title and a list of steps, each a small table of logits and
targets, the options to evaluate it with, a caption, what to emphasise and what to show, and the
figures the step must put on screen. This module owns that format: reading and validating a file
(:func:`load_lesson`), writing one back (:func:`lesson_to_json`), finding the lessons the app
ships (:func:`builtin_lessons`), turning a step into a table for the document
(:meth:`LessonStep.document_args`) and computing the figures a step shows
(:func:`step_figures`), formatted as the window formats them, so that a test (and later the GUI)
can check every ``expect`` against them. ``python -m core.lessons FILE`` runs that check for a
teacher's own lesson. No Qt here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.constants import MAX_INDEX
from softmax_lab.core.document import Settings
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.explain import compare_softmaxes
from softmax_lab.core.formatting import MISSING, big_int, number
from softmax_lab.core.loaders import DataError
from softmax_lab.core.loaders._common import read_json
from softmax_lab.core.settings import check_settings
from softmax_lab.resources import HERE as _RESOURCES

LESSONS_DIR = _RESOURCES / "lessons"
"""Where the built-in lessons live (package data of ``resources``, wherever it is installed)."""
FORMAT = "softmax-lab-lesson"
VERSION = 1
MAX_BYTES = 5 * 1024 * 1024
"""A lesson is a few small tables and some sentences; anything near this size is not one."""

HIGHLIGHTS: tuple[str, ...] = (
    "softmax",  # the whole p_i = e^{z_i} / Σ_j e^{z_j}
    "exp",  # the numerator e^{z_i}
    "normalise",  # the division by Σ_j e^{z_j}
    "stable_shift",  # z − max z before exp
    "temperature",  # z / T
    "log",  # log p
    "nll",  # −log p_y
    "one_hot_sum",  # −Σ_i y_i log p_i
    "smoothing",  # the smoothed target (1 − ε) y + ε / C
    "weights",  # the class weight w_y
    "ignore",  # the rows left out by ignore_index
    "reduction",  # mean / sum over the samples
    "argmax",  # the prediction
    "gradient",  # ∂loss/∂z = p − y
)
"""The parts of the formula a step can emphasise."""

SHOWS: tuple[str, ...] = (
    "sample",
    "loss",
    "gradient",
    "heatmap",
    "loss_curve",
    "formula",
    "scratch",
)
"""The views a step can bring forward: the five plots, then the Formula and Scratch tabs."""

NEEDS: tuple[str, ...] = (*SHOWS, "logits", "targets")
"""What a step can say it needs on screen besides its ``show``: a plot or a side tab by its
``show`` name (the Formula tab with its highlighted block scrolled into view), the table's
logit columns or its target columns (labels or soft targets). The window keeps them visible at
the desk and on stage."""

VECTOR_FIGURES = ("probabilities", "naive_softmax", "stable_softmax", "gradient")
"""Figures of the selected sample, one number per class."""
EXPECT_KEYS = (*VECTOR_FIGURES, "losses", "loss", "predictions", "decimals")

_TOP_KEYS = ("format", "version", "title", "steps")
_STEP_KEYS = (
    "title",
    "caption",
    "table",
    "options",
    "highlight",
    "selected",
    "show",
    "needs",
    "expect",
)
_TABLE_KEYS = ("logits", "labels", "soft_targets", "class_names")
_OPTION_KEYS = ("temperature", "label_smoothing", "weight", "reduction", "ignore_index", "dtype")
# "nan" always reads as the one object math.nan: tuples compare items by identity before ==,
# so two lessons with NaN in the same places compare equal (float("nan") would not).
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_MAX_DECIMALS = 8
MAX_TITLE_CHARS = 200
"""Titles (the lesson's, a step's) and class names: a line of the caption band."""
MAX_CAPTION_CHARS = 600
"""A step's caption: a short paragraph, read from the back of a room (the shipped ones are
under 200 characters; 600 is six lines of the caption band at 1280 px). The band wraps it; a
longer one is refused, not cut."""
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(9), *range(11, 32), 127])) - {"\r"}


class LessonError(DataError):
    """A lesson file that cannot be used; the message names the file and the step."""


Numbers = tuple[float, ...]
Rows = tuple[Numbers, ...]


@dataclass(frozen=True)
class Expect:
    """The figures a step must show; None where the step does not check that figure.

    Numbers are compared as the window writes them: both sides go through
    :func:`core.formatting.number` with ``decimals`` digits.
    """

    probabilities: Numbers | None = None
    naive_softmax: Numbers | None = None
    stable_softmax: Numbers | None = None
    gradient: Numbers | None = None
    losses: tuple[float | None, ...] | None = None
    """Per-sample losses; None for a sample left out by ignore_index (shown as ``—``)."""
    loss: float | None = None
    predictions: tuple[int, ...] | None = None
    decimals: int = 4


@dataclass(frozen=True)
class LessonStep:
    title: str
    caption: str
    logits: Rows
    labels: tuple[int, ...] | None
    soft_targets: Rows | None
    class_names: tuple[str, ...] | None
    settings: Settings
    """Every option of the step; ``target_mode`` follows the targets, ``device`` is ``cpu``."""
    highlight: str
    expect: Expect
    selected: int = 0
    show: str | None = None
    needs: tuple[str, ...] = ()
    """What the caption names that must be on screen (see :data:`NEEDS`), besides ``show``."""

    def needed(self) -> tuple[str, ...]:
        """``show`` and ``needs`` together, in that order, each once."""
        out = [] if self.show is None else [self.show]
        return tuple(dict.fromkeys([*out, *self.needs]))

    def document_args(self) -> dict[str, Any]:
        """Keyword arguments for ``Document(...)`` and ``Document.replace_all(...)``.

        The window keeps its own device: ``replace(args["settings"], device=...)``. The dtype
        is the lesson's, since its figures (an overflow, say) depend on it.
        """
        return {
            "logits": np.array(self.logits, dtype=np.float64),
            "labels": None if self.labels is None else np.array(self.labels, dtype=np.int64),
            "class_names": None if self.class_names is None else list(self.class_names),
            "soft_targets": (
                None if self.soft_targets is None else np.array(self.soft_targets, np.float64)
            ),
            "settings": self.settings,
        }


@dataclass(frozen=True)
class Lesson:
    title: str
    steps: tuple[LessonStep, ...]


# --- figures -------------------------------------------------------------------------------------


def step_figures(step: LessonStep) -> dict[str, Any]:
    """Everything a step can ``expect``, computed by ``core.evaluate`` and formatted for display.

    Vectors (one string per class) are of the selected sample; ``losses`` and ``predictions``
    have one entry per sample; ``loss`` (the reduced loss) is absent for ``reduction="none"``.
    """
    args = step.document_args()
    settings: Settings = args["settings"]
    target = args["soft_targets"] if args["soft_targets"] is not None else args["labels"]
    ev = evaluate(args["logits"], target, **settings.evaluate_kwargs())
    digits = step.expect.decimals
    row = step.selected
    probabilities = ev.probabilities_of([row])[0]
    scratch = compare_softmaxes(
        args["logits"][row], settings.temperature, settings.dtype, probabilities
    )

    def text(values: Any) -> list[str]:
        return [number(v, digits) for v in np.asarray(values, dtype=np.float64)]

    figures: dict[str, Any] = {
        "probabilities": text(probabilities),
        "naive_softmax": text(scratch.naive.value),
        "stable_softmax": text(scratch.stable.value),
        "gradient": text(ev.gradient_of([row])[0]),
        "losses": [
            number(loss, digits) if valid else MISSING
            for loss, valid in zip(ev.losses.tolist(), ev.valid.tolist(), strict=True)
        ],
        "predictions": [int(p) for p in ev.predictions],
    }
    if settings.reduction != "none":
        figures["loss"] = number(float(ev.loss), digits)
    return figures


def expected_figures(step: LessonStep) -> dict[str, Any]:
    """The step's ``expect`` in the form :func:`step_figures` returns, only the figures it sets."""
    expect, digits = step.expect, step.expect.decimals
    out: dict[str, Any] = {}
    for key in VECTOR_FIGURES:
        values = getattr(expect, key)
        if values is not None:
            out[key] = [number(v, digits) for v in values]
    if expect.losses is not None:
        out["losses"] = [MISSING if v is None else number(v, digits) for v in expect.losses]
    if expect.loss is not None:
        out["loss"] = number(expect.loss, digits)
    if expect.predictions is not None:
        out["predictions"] = list(expect.predictions)
    return out


def check_step(step: LessonStep) -> list[str]:
    """What differs between the step's ``expect`` and what it shows, one line each; [] if none."""
    shown = step_figures(step)
    return [
        f"{key}: expected {want}, shown {shown.get(key)}"
        for key, want in expected_figures(step).items()
        if shown.get(key) != want
    ]


# --- files ---------------------------------------------------------------------------------------


def builtin_lessons() -> list[Path]:
    """The lesson files the app ships, by name."""
    return sorted(LESSONS_DIR.glob("*.json"))


def load_lesson(path: str | os.PathLike[str]) -> Lesson:
    """Read and validate a lesson; any problem raises :class:`LessonError` naming file and step."""
    path = Path(path)
    name = path.name or str(path)
    body = _read_json(path, name)
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise LessonError(f'{name}: not a Softmax Lab lesson (needs "format": "{FORMAT}")')
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LessonError(f"{name}: the lesson has no valid version number")
    if version > VERSION:
        raise LessonError(
            f"{name}: written for a newer Softmax Lab (lesson version {version}; this one reads "
            f"up to {VERSION}). Update to open it."
        )
    _check_keys(body, _TOP_KEYS, name, "the lesson")
    title = _text(body.get("title"), f"{name}: the lesson's title")
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{name}: steps must be a non-empty list")
    try:
        return Lesson(
            title, tuple(_step(raw, f"{name}, step {i}") for i, raw in enumerate(steps, 1))
        )
    except LessonError:
        raise
    except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError) as exc:
        # A check this module missed: still a LessonError naming the file, never a crash.
        raise LessonError(f"{name}: not a usable lesson ({type(exc).__name__}: {exc})") from None


def _read_json(path: Path, name: str) -> Any:
    def no_constant(token: str) -> float:
        raise LessonError(
            f'{name}: {token} is not JSON; write non-finite numbers as "inf", "-inf" or "nan"'
        )

    try:
        return read_json(path, name, max_bytes=MAX_BYTES, what="lesson", parse_constant=no_constant)
    except LessonError:
        raise
    except DataError as exc:  # one opener for every file: LessonError keeps its message
        raise LessonError(str(exc)) from None


def _check_keys(body: dict, allowed: tuple[str, ...], where: str, what: str) -> None:
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise LessonError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f" in {what} (known: {', '.join(allowed)})"
        )


def _text(value: Any, what: str, limit: int = MAX_TITLE_CHARS) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"{what} must be a non-empty text")
    if len(value) > limit:
        raise LessonError(f"{what} has {len(value):,} characters; at most {limit:,} are shown")
    control = next((ch for ch in value if ch in _CONTROL_CHARACTERS), None)
    if control is not None:
        raise LessonError(
            f"{what} holds the control character U+{ord(control):04X}; "
            "write plain text (line breaks and tabs are fine)"
        )
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LessonError(f'{what} holds {value!r}, which is not a number (or "inf"/"-inf"/"nan")')
    return float(value)


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LessonError(f"{what} must be a whole number, not {value!r:.40}")
    if not -MAX_INDEX <= value <= MAX_INDEX:
        raise LessonError(f"{what} must be within ±{MAX_INDEX:,}, not {big_int(value)}")
    return value


def _vector(value: Any, length: int, what: str) -> Numbers:
    if not isinstance(value, list) or len(value) != length:
        size = f"{len(value)} numbers" if isinstance(value, list) else repr(value)
        raise LessonError(f"{what} must be a list of {length} numbers, got {size}")
    return tuple(_number(v, what) for v in value)


def _rows(value: Any, what: str, width: int | None = None, height: int | None = None) -> Rows:
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise LessonError(f"{what} must be a list of rows, each a list of numbers")
    if height is not None and len(value) != height:
        raise LessonError(f"{what} has {len(value)} rows; the logits have {height}")
    widths = sorted({len(r) for r in value})
    if len(widths) > 1:
        raise LessonError(f"{what}: the rows have different lengths ({widths})")
    if width is not None and widths[0] != width:
        raise LessonError(f"{what} has {widths[0]} columns; the logits have {width} classes")
    if widths[0] == 0:
        raise LessonError(f"{what}: the rows are empty")
    return tuple(tuple(_number(v, what) for v in row) for row in value)


def _step(raw: Any, where: str) -> LessonStep:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: a step must be an object")
    _check_keys(raw, _STEP_KEYS, where, "the step")
    for key in ("title", "caption", "table", "highlight", "expect"):
        if key not in raw:
            raise LessonError(f"{where}: the step has no {key!r}")
    title = _text(raw["title"], f"{where}: the title")
    caption = _text(raw["caption"], f"{where}: the caption", MAX_CAPTION_CHARS)
    highlight = raw["highlight"]
    if highlight not in HIGHLIGHTS:
        raise LessonError(
            f"{where}: unknown highlight {highlight!r} (one of {', '.join(HIGHLIGHTS)})"
        )
    show = raw.get("show")
    if show is not None and show not in SHOWS:
        raise LessonError(f"{where}: unknown show {show!r} (one of {', '.join(SHOWS)})")
    needs = raw.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise LessonError(f"{where}: needs must be a list of names (from {', '.join(NEEDS)})")
    for need in needs:
        if need not in NEEDS:
            raise LessonError(f"{where}: unknown need {need!r} (one of {', '.join(NEEDS)})")
    if len(set(needs)) != len(needs):
        raise LessonError(f"{where}: needs names one thing twice")

    table = raw["table"]
    if not isinstance(table, dict):
        raise LessonError(f"{where}: the table must be an object")
    _check_keys(table, _TABLE_KEYS, where, "the table")
    if "logits" not in table:
        raise LessonError(f"{where}: the table has no logits")
    logits = _rows(table["logits"], f"{where}: logits")
    n, c = len(logits), len(logits[0])
    settings = _settings(raw.get("options", {}), c, where)

    if ("labels" in table) == ("soft_targets" in table):
        raise LessonError(f"{where}: the table needs either labels or soft_targets (not both)")
    labels = soft = None
    if "labels" in table:
        value = table["labels"]
        if not isinstance(value, list) or len(value) != n:
            got = f"{len(value)}" if isinstance(value, list) else repr(value)
            raise LessonError(f"{where}: labels must be a list of {n} class indices, got {got}")
        labels = tuple(_whole(v, f"{where}: a label") for v in value)
        for row, label in enumerate(labels):
            if not (0 <= label < c or label == settings.ignore_index):
                raise LessonError(
                    f"{where}: label {label} of sample {row} is out of range: classes are "
                    f"0..{c - 1} (or {settings.ignore_index} to leave the sample out)"
                )
    else:
        soft = _rows(table["soft_targets"], f"{where}: soft_targets", c, n)
        if not all(math.isfinite(v) and v >= 0 for row in soft for v in row):
            raise LessonError(f"{where}: soft_targets must be finite numbers >= 0")
        settings = replace(settings, target_mode="probability")

    names = table.get("class_names")
    if names is not None:
        if (
            not isinstance(names, list)
            or len(names) != c
            or not all(isinstance(s, str) and s.strip() for s in names)
        ):
            raise LessonError(f"{where}: class_names must be a list of {c} non-empty texts")
        for class_name in names:
            _text(class_name, f"{where}: a class name")
        if len(set(names)) != c:
            raise LessonError(f"{where}: class_names must be different from each other")
        names = tuple(names)

    selected = _whole(raw.get("selected", 0), f"{where}: selected")
    if not 0 <= selected < n:
        raise LessonError(f"{where}: selected sample {selected} is not in 0..{n - 1}")
    expect = _expect(raw["expect"], n, c, settings.reduction, where)
    return LessonStep(
        title,
        caption,
        logits,
        labels,
        soft,
        names,
        settings,
        highlight,
        expect,
        selected,
        show,
        tuple(needs),
    )


def _settings(raw: Any, n_classes: int, where: str) -> Settings:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: options must be an object")
    _check_keys(raw, _OPTION_KEYS, where, "the options")
    try:
        return Settings(**check_settings(raw, n_classes))
    except ValueError as exc:
        raise LessonError(f"{where}: {exc}") from None


def _expect(raw: Any, n: int, c: int, reduction: str, where: str) -> Expect:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: expect must be an object")
    _check_keys(raw, EXPECT_KEYS, where, "expect")
    if not any(k in raw for k in EXPECT_KEYS if k != "decimals"):
        raise LessonError(f"{where}: expect names no figure (one of {', '.join(EXPECT_KEYS)})")
    out: dict[str, Any] = {}
    for key in VECTOR_FIGURES:
        if key in raw:
            out[key] = _vector(raw[key], c, f"{where}: expect.{key} (one per class)")
    if "losses" in raw:
        value = raw["losses"]
        if not isinstance(value, list) or len(value) != n:
            raise LessonError(f"{where}: expect.losses must be a list of {n} numbers")
        out["losses"] = tuple(
            None if v is None else _number(v, f"{where}: expect.losses") for v in value
        )
    if "loss" in raw:
        if reduction == "none":
            raise LessonError(f'{where}: expect.loss needs a reduction; with "none" use losses')
        out["loss"] = _number(raw["loss"], f"{where}: expect.loss")
    if "predictions" in raw:
        value = raw["predictions"]
        if not isinstance(value, list) or len(value) != n:
            raise LessonError(f"{where}: expect.predictions must be a list of {n} class indices")
        out["predictions"] = tuple(_whole(v, f"{where}: a prediction") for v in value)
        if not all(0 <= p < c for p in out["predictions"]):
            raise LessonError(f"{where}: expect.predictions must be classes 0..{c - 1}")
    if "decimals" in raw:
        digits = _whole(raw["decimals"], f"{where}: expect.decimals")
        if not 0 <= digits <= _MAX_DECIMALS:
            raise LessonError(f"{where}: expect.decimals must be in 0..{_MAX_DECIMALS}")
        out["decimals"] = digits
    return Expect(**out)


# --- writing -------------------------------------------------------------------------------------


def lesson_to_json(lesson: Lesson) -> str:
    """The lesson as a file :func:`load_lesson` reads back to an equal :class:`Lesson`.

    Options at their defaults are left out; every list of numbers sits on one line.
    """
    body = {
        "format": FORMAT,
        "version": VERSION,
        "title": lesson.title,
        "steps": [_step_body(step) for step in lesson.steps],
    }
    return _dump(body, "") + "\n"


def _step_body(step: LessonStep) -> dict[str, Any]:
    table: dict[str, Any] = {"logits": step.logits}
    if step.soft_targets is not None:
        table["soft_targets"] = step.soft_targets
    else:
        table["labels"] = step.labels
    if step.class_names is not None:
        table["class_names"] = step.class_names
    default = Settings()
    options = {
        key: getattr(step.settings, key)
        for key in _OPTION_KEYS
        if getattr(step.settings, key) != getattr(default, key)
    }
    body: dict[str, Any] = {"title": step.title, "caption": step.caption, "table": table}
    if options:
        body["options"] = options
    body["highlight"] = step.highlight
    if step.selected:
        body["selected"] = step.selected
    if step.show is not None:
        body["show"] = step.show
    if step.needs:
        body["needs"] = list(step.needs)
    expect = {
        f.name: getattr(step.expect, f.name)
        for f in fields(Expect)
        if getattr(step.expect, f.name) is not None
    }
    if expect["decimals"] == Expect.decimals:
        del expect["decimals"]
    body["expect"] = expect
    return body


def _dump(value: Any, indent: str) -> str:
    """JSON with objects one key a line and each list of scalars (a table row) on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_dump(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) for v in value):
            return "[\n" + ",\n".join(inner + _dump(v, inner) for v in value) + "\n" + indent + "]"
        return "[" + ", ".join(_dump(v, inner) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


# --- checking a lesson from the command line -----------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m core.lessons FILE...``: check every step's ``expect``, say what differs.

    Exit status 0 when every figure matches, 1 when some differ, 2 when a file cannot be read.
    """
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m core.lessons LESSON.json ...", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        for i, step in enumerate(lesson.steps, 1):
            problems = check_step(step)
            print(f"{Path(path).name}, step {i} ({step.title}): {'; '.join(problems) or 'ok'}")
            if problems and status == 0:
                status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
