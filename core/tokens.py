"""What the window shows of a language model's logits: token names, the text of one sequence
coloured by surprisal, per-sequence perplexity, and which way the targets are aligned.

The document holds LM logits as an ordinary (B·T, V) table whose class names are the
vocabulary; three metadata columns say where each row sits — ``sequence``, ``position`` and,
when the file had ids, ``token id`` (the input token at that position). Because they are
metadata they follow the rows through every edit, undo and workspace, and everything here is
computed from the document's own evaluation: no second pass over the (B·T, V) table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import SURPRISAL_FULL_BITS
from softmax_lab.core.display import top_k
from softmax_lab.core.evaluation import Evaluation

SEQUENCE_KEY = "sequence"
POSITION_KEY = "position"
TOKEN_KEY = "token id"

LN2 = math.log(2.0)

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
_SHOWN = str.maketrans(
    {
        **{ord(k): v for k, v in _VISIBLE.items()},
        **{c: f"\\x{c:02x}" for c in (*range(32), 127) if chr(c) not in _VISIBLE},
    }
)
_TYPED = str.maketrans({v: k for k, v in _VISIBLE.items()})
EMPTY_TOKEN = "∅"


# --- names ----------------------------------------------------------------------------------


def token_name(text: str) -> str:
    """A token's text as a class name: whitespace made visible ("␣the", "↵"), other control
    characters as \\xNN, the empty token as ∅."""
    return text.translate(_SHOWN) if text else EMPTY_TOKEN


def token_names(vocabulary: Sequence[str] | None, n: int) -> list[str]:
    """Unique class names for a V-token vocabulary (ids as "#17" without one).

    Two tokens that read the same (a piece and an added token, or two byte pieces that are not
    whole characters) keep their id beside the text: "␣the #5012".
    """
    if vocabulary is None:
        return [f"#{i}" for i in range(n)]
    if len(vocabulary) != n:
        raise ValueError(f"got {len(vocabulary):,} tokens for {n:,} classes")
    names = [token_name(str(text)) for text in vocabulary]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            name = f"{name} #{i}"
            names[i] = name
        seen.add(name)
    if len(seen) != n:  # a token whose own text is "x #i": give every clash its id
        counts: dict[str, int] = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        names = [f"{name} #{i}" if counts[name] > 1 else name for i, name in enumerate(names)]
    return names


def token_text(name: str) -> str:
    """The text a token name stands for, as it reads in running text (the inverse of
    :func:`token_name` for whitespace)."""
    return "" if name == EMPTY_TOKEN else name.translate(_TYPED)


# --- the structure of an LM table -------------------------------------------------------------


def sequence_metadata(
    sequence_shape: tuple[int, int], input_ids: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The metadata columns of a (B, T) table flattened row-major: sequence, position and the
    input token id of each row (when known)."""
    b, t = (int(d) for d in sequence_shape)
    columns = {
        SEQUENCE_KEY: np.repeat(np.arange(b, dtype=np.int64), t),
        POSITION_KEY: np.tile(np.arange(t, dtype=np.int64), b),
    }
    if input_ids is not None:
        ids = np.asarray(input_ids, dtype=np.int64)
        if ids.shape != (b, t):
            raise ValueError(f"input_ids have shape {ids.shape}, expected {(b, t)}")
        columns[TOKEN_KEY] = ids.reshape(-1).copy()
    return columns


def is_sequence_table(metadata: Mapping[str, np.ndarray]) -> bool:
    """Whether a document's metadata describes language-model sequences."""
    return all(
        key in metadata and metadata[key].dtype.kind in "iu" for key in (SEQUENCE_KEY, POSITION_KEY)
    )


@dataclass(frozen=True, eq=False)
class SequenceLayout:
    """Where the rows sit: the rows of each sequence in position order."""

    order: np.ndarray
    """(N,) rows sorted by (sequence, position)."""
    sequences: np.ndarray
    """(S,) the sequence numbers present, ascending."""
    starts: np.ndarray
    """(S + 1,) where each sequence's rows start in ``order``."""
    index_of_row: np.ndarray
    """(N,) the position of each row's sequence in ``sequences``."""
    tokens: np.ndarray | None
    """(N,) the input token id of each row, or None when the file had none."""

    def rows_of(self, k: int) -> np.ndarray:
        """The rows of the k-th sequence (of ``sequences``), in position order."""
        return self.order[self.starts[k] : self.starts[k + 1]]

    def next_row(self) -> np.ndarray:
        """(N,) the row at the next position of the same sequence, −1 at each sequence's end."""
        after = np.full(self.order.size, -1, dtype=np.int64)
        following = self.order[1:]
        same = self.index_of_row[self.order[1:]] == self.index_of_row[self.order[:-1]]
        after[self.order[:-1][same]] = following[same]
        return after


def sequence_layout(metadata: Mapping[str, np.ndarray]) -> SequenceLayout:
    sequence = np.asarray(metadata[SEQUENCE_KEY], dtype=np.int64)
    position = np.asarray(metadata[POSITION_KEY], dtype=np.int64)
    order = np.lexsort((position, sequence))
    sequences, index_of_row = np.unique(sequence, return_inverse=True)
    counts = np.bincount(index_of_row, minlength=sequences.size)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    tokens = metadata.get(TOKEN_KEY)
    return SequenceLayout(
        order=order.astype(np.int64),
        sequences=sequences,
        starts=starts,
        index_of_row=index_of_row.astype(np.int64).reshape(-1),
        tokens=None if tokens is None else np.asarray(tokens, dtype=np.int64),
    )


def targets_are_next_tokens(layout: SequenceLayout, targets: np.ndarray, valid: np.ndarray) -> bool:
    """Whether the counted rows are scored on the token at the next position (a causal LM) rather
    than on labels of their own position (masked-LM labels, whose input there is a mask token).

    Causal when at least half the counted rows' targets are the next position's token and no
    sequence's last position has a target. Without ids or targets: causal, the usual
    convention for saved LM logits.
    """
    if layout.tokens is None or not valid.any():
        return True
    after = layout.next_row()
    rows = np.flatnonzero(valid)
    if (after[rows] < 0).any():
        return False
    hits = int((targets[rows] == layout.tokens[after[rows]]).sum())
    return 2 * hits >= rows.size


# --- numbers per token and per sequence ---------------------------------------------------------


def token_nll(ev: Evaluation) -> np.ndarray:
    """(N,) −log p(target) in nats at the evaluation's temperature; NaN where no target counts.

    The loss itself when it is plain cross-entropy; with label smoothing or class weights the
    loss is not the target's surprisal, so −log p(target) is taken from p_true instead.
    """
    if ev.target_kind != "index":
        return np.full(ev.n_samples, np.nan)
    options = ev.options
    nll = np.asarray(ev.losses, dtype=np.float64).copy()
    if options.label_smoothing or options.weight is not None:
        with np.errstate(divide="ignore"):
            nll = -np.log(np.asarray(ev.p_true, dtype=np.float64))
    nll[~ev.valid] = np.nan
    return nll


@dataclass(frozen=True, eq=False)
class SequenceStatistics:
    """Per sequence (of ``SequenceLayout.sequences``): counted tokens, mean loss, perplexity."""

    sequences: np.ndarray
    positions: np.ndarray
    """(S,) rows (positions) of each sequence."""
    length: np.ndarray
    """(S,) counted positions (those with a target)."""
    mean_loss: np.ndarray
    """(S,) mean −log p(target) in nats over the counted positions; NaN if none."""
    perplexity: np.ndarray
    """(S,) exp(mean_loss)."""


def sequence_statistics(layout: SequenceLayout, nll: np.ndarray) -> SequenceStatistics:
    """Perplexity, mean loss and length of every sequence from per-row −log p(target) (NaN
    where a row does not count): O(N), the same numbers as ``evaluate_sequences``."""
    counted = ~np.isnan(nll)
    s = layout.sequences.size
    length = np.bincount(layout.index_of_row[counted], minlength=s).astype(np.int64)
    total = np.bincount(layout.index_of_row[counted], weights=nll[counted], minlength=s)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = np.where(length > 0, total / np.maximum(length, 1), np.nan)
        perplexity = np.exp(mean)
    return SequenceStatistics(
        sequences=layout.sequences,
        positions=np.diff(layout.starts),
        length=length,
        mean_loss=mean,
        perplexity=perplexity,
    )


# --- the text of one sequence -------------------------------------------------------------------

KINDS = ("context", "scored", "unscored", "predicted", "next")
"""What a chip is: the first token (nothing predicts it), a token with its surprisal, a token
without a target (padding, an ignored label), the model's top-1 token where the file has no ids,
and the prediction after the last token."""


@dataclass(frozen=True, eq=False)
class SequenceText:
    """One sequence as the Sequence view draws it: a run of token chips."""

    sequence: int
    texts: tuple[str, ...]
    """Each chip's text as it reads (a newline token breaks the line)."""
    rows: np.ndarray
    """(K,) the table row a chip opens: the position whose distribution scores that token
    (−1: none)."""
    bits: np.ndarray
    """(K,) the token's surprisal −log₂ p in bits; NaN where it has none."""
    level: np.ndarray
    """(K,) background strength in [0, 1] (bits / SURPRISAL_FULL_BITS, capped); NaN: none."""
    kinds: tuple[str, ...]
    """One of :data:`KINDS` per chip."""
    heading: str
    note: str
    outside: np.ndarray | None = None
    """(K,) bool: scored tokens the current sampler (top-k / top-p at T) would never draw."""

    def chip_of_row(self, row: int) -> int | None:
        hits = np.flatnonzero(self.rows == row)
        return int(hits[0]) if hits.size else None


def surprisal_level(bits: np.ndarray) -> np.ndarray:
    """Background strength of tokens with these surprisals: 0 at 0 bits, 1 from
    SURPRISAL_FULL_BITS on, linear between; NaN stays NaN (no colour)."""
    bits = np.asarray(bits, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(bits), np.nan, np.clip(bits / SURPRISAL_FULL_BITS, 0.0, 1.0))


class TokenTexts:
    """The running-text form of each class name (:func:`token_text`), computed on first use:
    a sequence reads a few thousand of a 128k vocabulary."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = names
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, token: int) -> str:
        text = self._texts.get(token)
        if text is None:
            text = self._texts[token] = token_text(self._names[token])
        return text


def sequence_text(
    layout: SequenceLayout,
    k: int,
    texts_of: Sequence[str] | TokenTexts,
    ev: Evaluation,
    nll: np.ndarray,
    stats: SequenceStatistics,
    shifted: bool,
    kept: np.ndarray | None = None,
    sampler: str = "",
    partial: bool = False,
) -> SequenceText:
    """The chips of the k-th sequence. With ids and next-token targets, chip t is the token at
    position t, opened at position t − 1 (whose distribution predicted it), and a last chip "⋯"
    opens the last position (what comes next); with aligned targets chip t opens position t.
    Without ids each chip is the model's most likely token at that position. ``texts_of`` gives
    the text of each token id (a :class:`TokenTexts` of the class names). ``kept`` (N,) says per
    row whether a sampler (described by ``sampler``, e.g. "top-k 40") would still draw the
    target; scored tokens it would not are marked ``outside``. ``partial``: the rows are an
    API's logprobs (the reported top-k and one "everything else" class), which the note says."""
    rows = layout.rows_of(k)
    n_names = len(texts_of)
    if layout.tokens is None:
        ids = ev.predictions[rows]
        opened = rows.astype(np.int64)
        kinds = np.full(rows.size, "predicted", dtype=object)
        chip_bits = np.full(rows.size, np.nan)
        note = (
            "no token ids in this file: each token is the model's most likely next token (save "
            "input_ids with the logits to score the text); bits:"
        )
    else:
        ids = layout.tokens[rows]
        opened = np.concatenate([[-1], rows[:-1]]).astype(np.int64) if shifted else rows.copy()
        chip_bits = np.where(opened >= 0, nll[np.maximum(opened, 0)] / LN2, np.nan)
        kinds = np.where(np.isnan(chip_bits), "unscored", "scored").astype(object)
        kinds[opened < 0] = "context"
        note = (
            "colour = surprisal −log₂ p(token), bits:"
            if shifted
            else "colour = surprisal −log₂ p(label) at each labelled position, bits:"
        )
    if partial:
        note = (
            "API logprobs: colour = surprisal −logprob (exact); bars = the reported top-k + "
            "⟨everything else⟩, so T / top-k / top-p act on those alone (an approximation); bits:"
        )
    texts = [texts_of[i] if 0 <= i < n_names else f"#{i}" for i in ids.tolist()]
    if layout.tokens is not None and shifted and rows.size:
        # After the last scored token only unscored ones (padding): what comes next is
        # predicted at the last real token, so the "⋯" chip goes there.
        scored = np.flatnonzero(kinds == "scored")
        at = int(scored[-1]) + 1 if scored.size else rows.size
        texts.insert(at, "⋯")
        opened = np.insert(opened, at, rows[at - 1])
        kinds = np.insert(kinds, at, "next")
        chip_bits = np.insert(chip_bits, at, np.nan)
    sequence = int(layout.sequences[k])
    n_seq = layout.sequences.size
    length = int(stats.length[k])
    outside = np.zeros(len(texts), dtype=bool)
    if kept is not None:
        scored = np.array([kind == "scored" for kind in kinds])
        outside[scored] = ~np.asarray(kept, dtype=bool)[opened[scored]]
    heading = f"Sequence {sequence + 1:,} of {n_seq:,} · {fmt.count(rows.size)} positions"
    if length:
        loss = float(stats.mean_loss[k])
        heading = (
            f"Sequence {sequence + 1:,} of {n_seq:,} · {fmt.count(length)} of "
            f"{fmt.count(rows.size)} positions scored · perplexity "
            f"{fmt.number(float(stats.perplexity[k]))} · loss {fmt.number(loss)} nats "
            f"({fmt.number(loss / LN2)} bits) per token"
        )
        if kept is not None and sampler:
            heading += f" · {fmt.plural(int(outside.sum()), 'token')} outside {sampler}"
    return SequenceText(
        sequence=sequence,
        texts=tuple(texts),
        rows=opened,
        bits=chip_bits,
        level=surprisal_level(chip_bits),
        kinds=tuple(kinds.tolist()),
        heading=heading,
        note=note,
        outside=outside,
    )


def top_candidates(probabilities: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable classes of one row: (ids, probabilities), best first; ties go to
    the lower id, NaN last. One partition, not a sort of the vocabulary."""
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    ids = top_k(p, min(int(k), p.size))
    return ids, p[ids]
