"""Opening a logits file or a recorded run for the window: read, check, evaluate — all of it off
the GUI thread.

:func:`prepare_file` is what the window's background job runs; the result carries the
evaluation, so the document takes the table without computing it again. :func:`prepare_model_b`
does the same for a second model to compare with the first.
:func:`prepare_file` and :func:`prepare_run` are what the window's background jobs run; the
result carries the evaluation, so the document takes the table without computing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from softmax_lab.core.compare import evaluate_like
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Settings
from softmax_lab.core.evaluating import evaluate, evaluate_appended
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.inputs import NO_INPUTS, SampleInputs
from softmax_lab.core.loaders import DataError, LoadedLogits, load_logits
from softmax_lab.core.runs import Run, load_run, run_not_started
from softmax_lab.core.tokens import sequence_metadata, token_names


@dataclass
class PreparedFile:
    """A file read and evaluated: what the document needs, and what to tell the user."""

    path: str
    data: LoadedLogits
    logits: np.ndarray
    labels: np.ndarray
    settings: Settings
    evaluation: Evaluation
    notices: list[str]
    inputs: SampleInputs = NO_INPUTS

    @property
    def document_options(self) -> dict[str, bool]:
        """What ``Document.replace_all`` needs to know besides the arrays: whether the file had
        labels, and whether it held one binary score per sample."""
        return {"has_labels": self.data.targets is not None, "binary": bool(self.data.binary)}


def prepare_file(path: str, settings: Settings, as_probabilities: bool) -> PreparedFile:
    """Read ``path`` and evaluate it with ``settings`` (hard labels; class weights reset, since
    the new table's classes are not the old ones). Raises ``DataError``."""
    data = load_logits(path)
    if as_probabilities and data.looks_like_probabilities:
        data = data.as_log_probabilities()
    logits = copy_on_write(data.logits)
    if logits is not data.logits:
        # Here, not only in prepare_loaded: while this frame held the read-only map, the pass
        # touched every page through both mappings and RSS counted the file twice.
        data = replace(data, logits=logits)
    return prepare_loaded(path, data, settings)


def prepare_loaded(
    path: str, data: LoadedLogits, settings: Settings, *, known: Evaluation | None = None
) -> PreparedFile:
    """Evaluate logits that are already read (a file's, or a live model's) as :func:`prepare_file`
    does. Raises ``DataError``.

    ``known``: an evaluation of the first rows of these logits and targets at these settings
    (a generation's previous step): only the rows after them are evaluated
    (:func:`core.evaluating.evaluate_appended`)."""
    notices = list(data.notices)
    logits = copy_on_write(data.logits)
    if logits is not data.logits:
        # Drop the read-only map now: RSS counts a file's pages once per mapping that touched
        # them, and the loader's checks touched every page of it.
        data = replace(data, logits=logits)
    if data.targets is None:
        labels = np.full(data.logits.shape[0], IGNORE_INDEX, dtype=np.int64)
        notices.append(
            "no labels: predictions and uncertainty only (File › Open labels… adds them)"
        )
    else:
        labels = np.asarray(data.targets, dtype=np.int64)
    settings = replace(settings, weight=None, target_mode="index")
    n = int(logits.shape[0])
    try:
        if known is None:
            evaluation = evaluate(logits, labels, **settings.evaluate_kwargs())
        else:
            evaluation = evaluate_appended(known, logits, labels, **settings.evaluate_kwargs())
    except ValueError as exc:
        raise DataError(f"{data.source}: {exc}") from exc
    metadata = dict(data.metadata)
    if data.sequence_shape is not None:
        data, metadata = _as_sequences(data, metadata, notices)
    try:
        inputs = SampleInputs.build(n, data.images, data.texts, metadata)
    except ValueError as exc:  # the loader checked them; this is a second line of defence
        raise DataError(f"{data.source}: {exc}") from exc
    return PreparedFile(path, data, logits, labels, settings, evaluation, notices, inputs)


def _as_sequences(
    data: LoadedLogits, metadata: dict, notices: list[str]
) -> tuple[LoadedLogits, dict]:
    """A language model's (B, T, V) logits: rows keep their sequence, position and input token
    as metadata (they follow the rows through edits and undo), and the classes are named after
    the tokens (ids as "#17" without a vocabulary)."""
    assert data.sequence_shape is not None
    b, t = data.sequence_shape
    v = int(data.logits.shape[1])
    shape_notice = next((x for x in notices if x.startswith("3-D logits")), None)
    if shape_notice is not None:
        notices[notices.index(shape_notice)] = (
            f"language-model logits: {b:,} sequence{'s' if b != 1 else ''} x {t:,} positions x "
            f"{v:,} tokens, one row per position"
        )
    for key, values in sequence_metadata(data.sequence_shape, data.input_ids).items():
        metadata.setdefault(key, values)
    if data.class_names is None:
        data = replace(data, class_names=token_names(data.vocabulary, v))
    return data, metadata


def copy_on_write(logits: np.ndarray) -> np.ndarray:
    """A read-only memory map reopened copy-on-write: edits touch private pages only.

    The document can then edit in place without first copying a 200 MB file into memory, and
    the file on disk never changes.
    """
    if not isinstance(logits, np.memmap) or logits.flags.writeable or not logits.filename:
        return logits
    if not logits.flags.c_contiguous:
        return logits
    return np.memmap(
        logits.filename, dtype=logits.dtype, mode="c", offset=logits.offset, shape=logits.shape
    )


@dataclass
class PreparedModelB:
    """A second model's logits read and evaluated with model A's targets and options."""

    path: str
    name: str
    """The file's name without its extension: what the window calls model B."""
    logits: np.ndarray
    evaluation: Evaluation
    notices: list[str]
    offer_probabilities: bool = False
    """B's binary scores all lie in [0, 1] and were read as logits (nobody said which they are):
    the window asks whether they are probabilities (see :data:`BINARY_PROBABILITIES_NOTICE`)."""


BINARY_PROBABILITIES_NOTICE = (
    "its scores all lie in [0, 1]: read as logits z (p = σ(z)); if they are probabilities "
    "p(class 1), open it again as probabilities (loss then uses log p)"
)


def prepare_model_b(
    path: str,
    reference: Evaluation,
    labels: np.ndarray,
    has_labels: bool,
    as_probabilities: bool | None = None,
) -> PreparedModelB:
    """Read ``path`` as model B over model A's samples: A's evaluation ``reference``, A's
    ``labels`` and whether A has labels at all. The file's labels, if it has any, must be A's.

    Raises ``DataError`` naming the file and the mismatch (samples, classes, labels).
    ``as_probabilities``: True takes values that look like probabilities as their log, False
    keeps them as logits; None (nobody said) takes rows that sum to 1 as probabilities (softmax
    gives them back; a notice says so) but keeps binary scores in [0, 1] as logits, which could
    be either, and sets ``offer_probabilities`` so that the window can ask.
    """
    data = load_logits(path)
    name = Path(path).stem or "B"
    notices = list(data.notices)
    offer = False
    if data.looks_like_probabilities:
        if as_probabilities or (as_probabilities is None and not data.binary):
            data = data.as_log_probabilities()
            notices.append("its rows are probabilities: their log is used as B's logits")
        elif as_probabilities is None:
            offer = True
            notices.insert(0, BINARY_PROBABILITIES_NOTICE)  # first: what the user must decide
    n, c = reference.n_samples, reference.n_classes
    got_n, got_c = (int(v) for v in data.logits.shape)
    if got_n != n:
        raise DataError(f"{data.source}: model B has {got_n:,} samples, model A {n:,}")
    if got_c != c:
        raise DataError(f"{data.source}: model B has {got_c:,} classes, model A {c:,}")
    if data.targets is not None:
        theirs = np.asarray(data.targets, dtype=np.int64)
        if not has_labels and (theirs != IGNORE_INDEX).any():
            raise DataError(
                f"{data.source}: it has labels and model A has none; open the labelled file "
                "as model A, or give A the same labels first"
            )
        differ = np.flatnonzero(theirs != np.asarray(labels, dtype=np.int64))
        if has_labels and differ.size:
            i = int(differ[0])
            raise DataError(
                f"{data.source}: its labels differ from model A's at {differ.size:,} samples, "
                f"first at sample {i} (label {theirs[i]} in the file, {int(labels[i])} in A)"
            )
    else:
        notices.append("it has no labels: model A's are used")
    logits = copy_on_write(data.logits)
    try:
        evaluation = evaluate_like(reference, logits)
    except ValueError as exc:
        raise DataError(f"{data.source}: {exc}") from exc
    return PreparedModelB(str(path), name, logits, evaluation, notices, offer)


class NoStepYet(DataError):
    """The run exists but has recorded no step yet (its writer just started)."""


@dataclass
class PreparedRun:
    """A recorded run opened at one step and evaluated: what the document needs."""

    path: str
    run: Run
    step: int
    logits: np.ndarray
    labels: np.ndarray
    has_labels: bool
    settings: Settings
    evaluation: Evaluation
    inputs: SampleInputs
    notices: list[str]


def run_inputs(run: Run) -> tuple[SampleInputs, list[str]]:
    """The images and texts a run recorded, as the document's inputs (with a notice, and none,
    when they cannot be shown: e.g. images recorded as flat vectors)."""
    try:
        return SampleInputs.build(run.n_samples, run.images, run.texts), []
    except ValueError as exc:
        try:
            return SampleInputs.build(run.n_samples, None, run.texts), [f"images not shown: {exc}"]
        except ValueError:
            return NO_INPUTS, [f"inputs not shown: {exc}"]


def prepare_run(path: str, settings: Settings, step: int | None = None) -> PreparedRun:
    """Open the run in ``path`` at ``step`` (default: its latest) and evaluate that step with
    ``settings`` (class weights reset, hard labels). Raises ``DataError``; ``NoStepYet`` for a
    run with no step yet, and for a missing or empty folder (its writer has not started)."""
    if run_not_started(path):
        name = Path(path).name or str(path)
        raise NoStepYet(
            f"Run {name}: no run has been written here yet: it opens when its writer records "
            "the first step"
        )
    run = load_run(path)
    if not run.steps:
        raise NoStepYet(
            f"Run {run.path.name} has no step yet: it opens when its first step arrives"
        )
    step = run.steps[-1] if step is None else int(step)
    logits = copy_on_write(run.logits(step))
    notices = list(run.problems[:3])
    if run.problem_count > 3:  # 100,000 missing step files: a count, not 100,000 lines
        notices.append(f"{run.problem_count - 3:,} more problems")
    has_labels = run.labels is not None
    if run.labels is None:
        labels = np.full(run.n_samples, IGNORE_INDEX, dtype=np.int64)
        notices.append("the run has no labels: no loss or data map until you set labels")
    else:
        labels = np.asarray(run.labels, dtype=np.int64)
    settings = replace(settings, weight=None, target_mode="index")
    try:
        evaluation = evaluate(logits, labels, **settings.evaluate_kwargs())
    except ValueError as exc:
        raise DataError(f"{run.path.name}: {exc}") from exc
    inputs, more = run_inputs(run)
    return PreparedRun(
        str(path),
        run,
        step,
        logits,
        labels,
        has_labels,
        settings,
        evaluation,
        inputs,
        notices + more,
    )
