"""Opening a logits file for the window: read, check, evaluate — all of it off the GUI thread.

:func:`prepare_file` is what the window's background job runs; the result carries the
evaluation, so the document takes the table without computing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.constants import IGNORE_INDEX
from core.document import Settings
from core.evaluation import Evaluation, evaluate
from core.inputs import NO_INPUTS, SampleInputs
from core.loaders import DataError, LoadedLogits, load_logits
from core.tokens import sequence_metadata, token_names


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


def prepare_file(path: str, settings: Settings, as_probabilities: bool) -> PreparedFile:
    """Read ``path`` and evaluate it with ``settings`` (hard labels; class weights reset, since
    the new table's classes are not the old ones). Raises ``DataError``."""
    data = load_logits(path)
    if as_probabilities and data.looks_like_probabilities:
        data = data.as_log_probabilities()
    notices = list(data.notices)
    logits = copy_on_write(data.logits)
    if logits is not data.logits:
        # Drop the read-only map now: RSS counts a file's pages once per mapping that touched
        # them, and the loader's checks touched every page of it.
        data = replace(data, logits=logits)
    if data.targets is None:
        labels = np.full(data.logits.shape[0], IGNORE_INDEX, dtype=np.int64)
        notices.append("the file has no labels: every sample is ignored until you set labels")
    else:
        labels = np.asarray(data.targets, dtype=np.int64)
    settings = replace(settings, weight=None, target_mode="index")
    n = int(logits.shape[0])
    try:
        evaluation = evaluate(logits, labels, **settings.evaluate_kwargs())
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
