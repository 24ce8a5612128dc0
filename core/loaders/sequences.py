"""Language-model files: (B, T, V) logits with the token ids, mask and vocabulary beside them.

Owns the checks that tie them together: ``input_ids`` (or ``tokens``) and ``attention_mask``
must be (B, T) like the logits, ids must lie in 0..V-1 (``labels`` used as ids may also hold
-100), and a vocabulary (a ``vocab`` entry, or a tokenizer.json / vocab.txt in the file's folder)
is used when it has exactly V tokens; one that does not fit (or a damaged tokenizer file in the
folder) is ignored with a notice, never a refusal of the logits. When there are ids but no
labels, the targets are the next tokens, as a causal language model is trained: position t is
scored on the id at t + 1, and the last position of each sequence (and any position whose own
or next token is padding) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders._common import DataError, describe_dtype, read_only
from softmax_lab.core.loaders.vocab import sibling_tokens

if TYPE_CHECKING:
    from softmax_lab.core.loaders._build import Found

NEXT_TOKEN_NOTICE = (
    "targets are the next tokens ('{key}' shifted by one position); the last position of each "
    "sequence has none and is ignored"
)


HF_LABELS_NOTICE = (
    "'labels' copy 'input_ids' (Hugging Face's causal-LM convention): targets are the next "
    "labels, shifted by one position as the model's loss does"
)


@dataclass
class Sequences:
    targets: np.ndarray | None = None
    input_ids: np.ndarray | None = None
    attention_mask: np.ndarray | None = None
    vocabulary: list[str] | None = None


def check(
    name: str,
    found: Found,
    sequence_shape: tuple[int, int] | None,
    v: int,
    targets: np.ndarray | None,
    notices: list[str],
) -> Sequences:
    """Check the sequence entries of ``found`` against logits of V classes.

    ``targets`` are the labels already read (None when the file has none).
    """
    vocabulary = None
    if found.vocabulary is not None:
        vocabulary = _vocabulary_entry(found.vocabulary, v, name, notices)
    if sequence_shape is None:
        return Sequences(vocabulary=vocabulary)
    ids = None
    if found.token_ids is not None:
        ids = _token_ids(found.token_ids, found.token_key or "input_ids", sequence_shape, v, name)
    elif targets is not None:
        ids = read_only(targets.reshape(sequence_shape).copy())
    mask = None
    if found.attention_mask is not None:
        mask = _attention_mask(found.attention_mask, sequence_shape, name)
    if targets is None and found.token_ids is not None and ids is not None:
        targets = read_only(next_token_targets(ids, mask).reshape(-1))
        notices.append(NEXT_TOKEN_NOTICE.format(key=found.token_key))
    elif targets is not None and found.token_ids is not None and ids is not None:
        labels = targets.reshape(sequence_shape)
        kept = labels != IGNORE_INDEX
        if kept.any() and bool(np.array_equal(labels[kept], ids[kept])):
            # Hugging Face's causal-LM convention: labels are a copy of input_ids (−100 where
            # not scored, e.g. a prompt) and the model shifts them. Aligned, every position
            # would be scored on its own input token.
            targets = read_only(next_token_targets(labels, mask).reshape(-1))
            notices.append(HF_LABELS_NOTICE)
    if vocabulary is None and found.path is not None:
        vocabulary = sibling_tokens(found.path, v, notices)
    return Sequences(targets, ids, mask, vocabulary)


def next_token_targets(ids: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """(B, T) targets: the id at t + 1 for position t, IGNORE_INDEX where there is none."""
    targets = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
    targets[:, :-1] = ids[:, 1:]
    if mask is not None:
        keep = mask[:, :-1] & mask[:, 1:]
        targets[:, :-1][~keep] = IGNORE_INDEX
    return targets


def _token_ids(raw: Any, key: str, shape: tuple[int, int], v: int, name: str) -> np.ndarray:
    ids = np.asarray(raw)
    if ids.dtype.kind not in "iu":
        raise DataError(
            f"{name}: '{key}' must be whole numbers (token ids), not {describe_dtype(ids.dtype)}"
        )
    if ids.shape != shape:
        raise DataError(
            f"{name}: '{key}' has shape {tuple(ids.shape)} but the logits are "
            f"{shape[0]} sequences of {shape[1]} positions: it must be {shape}"
        )
    bad = np.argwhere((ids < 0) | (ids >= v))
    if bad.size:
        b, t = (int(i) for i in bad[0])
        raise DataError(
            f"{name}: '{key}' must be token ids in 0..{v - 1} for {count(v)} logits per "
            f"position (found {int(ids[b, t])} in sequence {b + 1}, position {t + 1})"
        )
    return read_only(ids.astype(np.int64))


def _attention_mask(raw: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    mask = np.asarray(raw)
    if mask.dtype.kind not in "biuf":
        raise DataError(
            f"{name}: 'attention_mask' must be 0/1 values, not {describe_dtype(mask.dtype)}"
        )
    if mask.shape != shape:
        raise DataError(
            f"{name}: 'attention_mask' has shape {tuple(mask.shape)} but the logits are "
            f"{shape[0]} sequences of {shape[1]} positions: it must be {shape}"
        )
    if mask.dtype.kind != "b":
        with np.errstate(invalid="ignore"):
            if not bool(np.all((mask == 0) | (mask == 1))):
                raise DataError(f"{name}: 'attention_mask' must hold only 0 and 1")
        mask = mask != 0
    return read_only(np.ascontiguousarray(mask))


def _vocabulary_entry(raw: Any, v: int, name: str, notices: list[str]) -> list[str] | None:
    if isinstance(raw, np.ndarray) and raw.dtype.kind in "US" and raw.ndim == 1:
        items: list[Any] = raw.tolist()
    elif isinstance(raw, (list, tuple)) and all(isinstance(t, (str, bytes)) for t in raw):
        items = list(raw)
    else:
        what = describe_dtype(raw.dtype) if isinstance(raw, np.ndarray) else type(raw).__name__
        raise DataError(f"{name}: 'vocab' must be a 1-D list of token texts, not {what}")
    tokens = [t.decode("utf-8", "replace") if isinstance(t, bytes) else t for t in items]
    if len(tokens) != v:
        notices.append(
            f"'vocab' has {count(len(tokens))} tokens but the logits have {count(v)} classes: "
            "it was not used; tokens are shown by id"
        )
        return None
    return tokens
