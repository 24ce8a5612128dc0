"""``generate()`` outputs: ``{"sequences": out.sequences, "logits": torch.stack(out.logits, 1)}``.

``model.generate(ids, output_logits=True, return_dict_in_generate=True)`` returns the token ids
of prompt and continuation (B, P + G) and one (B, V) logits tensor per generated step; saved
stacked as (B, G, V) (.pt or .npz; ``scores`` holds the processed logits, after temperature,
top-k, repetition penalty... and may stand in for the raw ones), the logits at step t predict
``sequences[:, P + t]`` where the prompt length P = ``sequences.shape[1] - logits.shape[1]``.

The table has one row per position of each sequence: the prompt's rows come first, with no
logits of their own (uniform placeholders, no target: shown plainly, never scored), then one
row per generated token holding the logits that chose it and that token as its target
(aligned, as the Sequence tab shows masked-LM labels). Token texts come from a ``vocab`` entry
or a tokenizer.json / vocab.txt beside the file, as for any LM file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders._build import as_logits
from softmax_lab.core.loaders._common import (
    NUMPY_EXTENSIONS,
    ZIP_MAGICS,
    DataError,
    LoadedLogits,
    describe_dtype,
    open_file,
    read_head,
    read_only,
)
from softmax_lab.core.loaders.members import pick

SEQUENCE_KEYS = ("sequences",)
RAW_KEYS = ("logits",)
PROCESSED_KEYS = ("scores",)
VOCAB_KEYS = ("vocab", "vocabulary")
PROCESSED_P = "p after processing"
"""Metadata: the generated token's probability in ``scores`` (after temperature, top-k...)."""
PROCESSED_KEPT = "drawable after processing"
"""Metadata: how many tokens ``scores`` left finite (what the sampler could draw)."""

PROMPT_NOTICE = (
    "generate() output: {b} sequence(s), a prompt of {p} tokens and {g} generated tokens "
    "each; the prompt has no logits (shown plainly, not scored), step t scores "
    "sequences[:, {p} + t]"
)


def load_generated(path: Path, name: str, source: str, ext: str) -> LoadedLogits | None:
    """The ``generate()`` output in ``path``, or None when the file is something else (then
    the ordinary readers take it)."""
    if not read_head(path, 4).startswith(ZIP_MAGICS):
        return None  # a legacy .pt or a plain .npy: never a generate() dict
    if ext in NUMPY_EXTENSIONS:
        from softmax_lab.core.loaders.numpy_files import NpzArchive

        with open_file(path, "rb") as fh:
            archive = NpzArchive(path, fh, name, mmap=False)
            with archive.zip:
                keys = archive.keys()
                entries = _entries(keys)
                if entries is None:
                    return None
                values = {role: archive.read(key, role) for role, key in entries.items()}
    else:
        if not _pickle_mentions(path, b"sequences"):
            return None  # an ordinary .pt: read once, by the ordinary reader
        import torch

        from softmax_lab.core.loaders.torch_files import load_torch, to_numpy

        obj = load_torch(path, name)
        if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
            return None
        entries = _entries(list(obj))
        if entries is None:
            return None
        values = {}
        for role, key in entries.items():
            value = obj[key]
            if role == "vocab" or not isinstance(value, torch.Tensor):
                values[role] = value
            else:
                values[role] = to_numpy(value, name, f"'{key}'", None)
    return generated_logits(values, name, source, path)


def _pickle_mentions(path: Path, word: bytes) -> bool:
    """Whether the structure of a zip-format .pt (its data.pkl: the dict's keys, not the tensor
    data) names ``word``; nothing is unpickled."""
    import zipfile

    try:
        with open_file(path, "rb") as fh, zipfile.ZipFile(fh) as archive:
            member = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
            if member is None or archive.getinfo(member).file_size > 64 << 20:
                return False
            return word in archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False  # the ordinary reader says what is wrong


def _entries(keys: list[str]) -> dict[str, str] | None:
    sequences = pick(keys, SEQUENCE_KEYS)
    raw, processed = pick(keys, RAW_KEYS), pick(keys, PROCESSED_KEYS)
    if sequences is None or (raw is None and processed is None):
        return None
    entries = {"sequences": sequences}
    if raw is not None:
        entries["logits"] = raw
    if processed is not None:
        entries["scores"] = processed
    vocab = pick(keys, VOCAB_KEYS)
    if vocab is not None:
        entries["vocab"] = vocab
    return entries


def generated_logits(
    values: dict[str, Any], name: str, source: str, path: Path | None = None
) -> LoadedLogits:
    """The table of a generate() output from its entries (``sequences``, ``logits`` and/or
    ``scores``, optionally ``vocab``); see the module docstring."""
    notices: list[str] = []
    key = "logits" if "logits" in values else "scores"
    if key == "scores":
        notices.append(
            "only 'scores' (the processed logits: after temperature, top-k/top-p, penalties) "
            "are in the file; save output_logits=True's 'logits' for the model's own"
        )
    elif "scores" in values:
        notices.append(
            "the file also holds 'scores' (the processed logits): the raw 'logits' are shown, "
            f"and the columns '{PROCESSED_P}' and '{PROCESSED_KEPT}' give each generated token's "
            "probability in the processed distribution and how many tokens it kept"
        )
    steps = np.asarray(values[key])
    if steps.ndim == 2:
        steps = steps[:, None, :]  # one generated step saved without its axis
    if steps.ndim != 3:
        raise DataError(
            f"{name}: '{key}' of a generate() output must be (batch, steps, vocabulary) — "
            f"torch.stack(out.{key}, 1) — not shape {tuple(steps.shape)}"
        )
    ids = np.asarray(values["sequences"])
    if ids.dtype.kind not in "iu":
        raise DataError(f"{name}: 'sequences' must be token ids, not {describe_dtype(ids.dtype)}")
    b, g, v = (int(d) for d in steps.shape)
    if ids.ndim != 2 or ids.shape[0] != b:
        raise DataError(
            f"{name}: 'sequences' has shape {tuple(ids.shape)} but '{key}' holds {count(b)} "
            f"sequence(s) of {count(g)} steps: it must be ({b}, prompt + {g})"
        )
    total = int(ids.shape[1])
    prompt = total - g
    if prompt < 0:
        raise DataError(
            f"{name}: 'sequences' has {count(total)} positions but '{key}' has {count(g)} "
            "steps; sequences must hold the prompt and every generated token (stack the "
            "steps on axis 1: torch.stack(out.logits, 1))"
        )
    bad = np.argwhere((ids < 0) | (ids >= v))
    if bad.size:
        s, t = (int(i) for i in bad[0])
        raise DataError(
            f"{name}: 'sequences' must be token ids in 0..{v - 1} (found {int(ids[s, t])} in "
            f"sequence {s + 1}, position {t + 1})"
        )
    from softmax_lab.core.tokens import sequence_metadata, token_names

    full = np.zeros((b, total, v), dtype=np.result_type(steps.dtype, np.float32))
    full[:, prompt:] = steps
    logits, _, _ = as_logits(full, name, notices)
    notices[:] = [x for x in notices if not x.startswith("3-D logits")]
    ids = ids.astype(np.int64)
    targets = np.full((b, total), IGNORE_INDEX, dtype=np.int64)
    targets[:, prompt:] = ids[:, prompt:]
    metadata = sequence_metadata((b, total), ids)
    if key == "logits" and "scores" in values:
        metadata.update(_processed(values["scores"], ids, prompt, (b, g, v), name))
    vocabulary = _vocabulary(values.get("vocab"), v, name, path, notices)
    notices.insert(0, PROMPT_NOTICE.format(b=count(b), p=count(prompt), g=count(g)))

    return LoadedLogits(
        logits=read_only(logits),
        targets=read_only(targets.reshape(-1)),
        class_names=token_names(vocabulary, v),
        notices=notices,
        source=source,
        metadata=metadata,
        sequence_shape=(b, total),
        input_ids=read_only(ids),
        vocabulary=vocabulary,
    )


def _processed(
    raw: Any, ids: np.ndarray, prompt: int, shape: tuple[int, int, int], name: str
) -> dict[str, np.ndarray]:
    """Beside the raw logits, what the processed ``scores`` (the distribution ``generate``
    sampled from) say of each generated token: its probability there, and how many tokens the
    processing left drawable (the others are −∞); NaN / −1 on the prompt."""
    scores = np.asarray(raw)
    if scores.ndim == 2:
        scores = scores[:, None, :]
    if scores.shape != shape or scores.dtype.kind != "f":
        raise DataError(
            f"{name}: 'scores' must be the same (batch, steps, vocabulary) shape as 'logits' "
            f"{shape}, not {tuple(scores.shape)} {scores.dtype}"
        )
    b, g, _ = shape
    z = scores.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        top = np.max(z, axis=-1, keepdims=True)
        e = np.exp(z - top)
        p = e / e.sum(-1, keepdims=True)
    chosen = ids[:, prompt:]
    p_token = np.take_along_axis(p, chosen[..., None], -1)[..., 0]
    p_full = np.full((b, prompt + g), np.nan)
    p_full[:, prompt:] = p_token
    drawable = np.full((b, prompt + g), -1, dtype=np.int64)
    drawable[:, prompt:] = np.isfinite(z).sum(-1)
    return {PROCESSED_P: p_full.reshape(-1), PROCESSED_KEPT: drawable.reshape(-1)}


def _vocabulary(
    raw: Any, v: int, name: str, path: Path | None, notices: list[str]
) -> list[str] | None:
    from softmax_lab.core.loaders.vocab import sibling_tokens

    if raw is not None:
        items = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
        if len(items) != v or not all(isinstance(t, (str, bytes)) for t in items):
            raise DataError(f"{name}: 'vocab' must be {count(v)} token texts, one per logit")
        return [t.decode("utf-8", "replace") if isinstance(t, bytes) else t for t in items]
    return None if path is None else sibling_tokens(path, v, notices)
