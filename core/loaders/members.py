"""Which entry of a dict-like file (.npz archive, dict saved with torch.save) plays which part.

Owns the key names' meaning: ``logits`` (and aliases) are the logits, ``labels`` the labels,
``class_names`` the class names, ``images`` and ``texts`` the inputs, ``input_ids``/``tokens``,
``attention_mask`` and ``vocab`` describe a language model's sequences (only when the logits are
3-D), and a ``metadata`` dict (in .pt files) holds named per-sample columns. Every other entry
that is 1-D with one value per sample (numbers, text or booleans) becomes metadata too; the rest
are reported as ignored. Entries that play no part are never read, so a big unrelated array in
an archive costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from softmax_lab.core.loaders._build import Found
from softmax_lab.core.loaders._common import (
    CLASS_NAME_KEYS,
    IMAGE_KEYS,
    LABEL_KEYS,
    LOGITS_KEYS,
    MASK_KEYS,
    METADATA_KEYS,
    NEVER_UNPICKLES,
    TEXT_KEYS,
    TOKEN_KEYS,
    VOCAB_KEYS,
    DataError,
    list_keys,
)

BIG_ROLES = frozenset({"logits", "images"})


class Container(Protocol):
    """A file's named entries, readable one at a time."""

    def keys(self) -> list[str]: ...

    def shape(self, key: str) -> tuple[int, ...] | None:
        """The entry's shape without reading its data; None when it is not an array."""

    def kind(self, key: str) -> str | None:
        """The numpy dtype kind of the entry ('f', 'i', 'U', ...); None when not an array."""

    def read(self, key: str, role: str) -> Any:
        """The entry's value for its ``role`` ("logits", "labels", "metadata", ...).

        The big ones (``BIG_ROLES``) may come back memory-mapped.
        """


def pick(keys: Iterable[str], aliases: Iterable[str]) -> str | None:
    """The first alias present among ``keys``, compared case-insensitively."""
    by_lower: dict[str, str] = {}
    for key in keys:
        by_lower.setdefault(key.lower(), key)
    return next((by_lower[a] for a in aliases if a in by_lower), None)


def gather(
    container: Container, name: str, notices: list[str], path: Path | None, *, nested: bool
) -> Found:
    """Read the entries that play a part into a ``Found``; ``nested``: the file can hold dicts."""
    keys = container.keys()
    roles = {
        "labels": pick(keys, LABEL_KEYS),
        "class_names": pick(keys, CLASS_NAME_KEYS),
        "images": pick(keys, IMAGE_KEYS),
        "texts": pick(keys, TEXT_KEYS),
        "tokens": pick(keys, TOKEN_KEYS),
        "mask": pick(keys, MASK_KEYS),
        "vocab": pick(keys, VOCAB_KEYS),
        "metadata": pick(keys, METADATA_KEYS) if nested else None,
    }
    named = {key for key in roles.values() if key is not None}
    logits_key = pick(keys, LOGITS_KEYS)
    if logits_key is None:
        others = [k for k in keys if k not in named]
        if len(others) == 1:
            logits_key = others[0]
            notices.append(f"no entry named 'logits'; using '{logits_key}' as the logits")
        elif not others:
            raise DataError(f"{name}: no logits found (it only holds {list_keys(keys)})")
        else:
            raise DataError(
                f"{name}: cannot tell which entry holds the logits (found {list_keys(keys)}); "
                "name it 'logits'"
            )

    shape = container.shape(logits_key)
    sequence = shape is not None and len(shape) == 3
    if not sequence:  # token ids and masks describe (B, T, V) logits only
        named -= {roles["tokens"], roles["mask"]}
        roles["tokens"] = roles["mask"] = None
    n = _samples(shape)

    metadata: dict[str, Any] = {}
    ignored: list[str] = []
    pickled: list[str] = []
    for key in keys:
        if key == logits_key or key in named:
            continue
        per_sample = n is not None and container.shape(key) == (n,)
        if per_sample and container.kind(key) in _METADATA:
            metadata[key] = container.read(key, "metadata")
        elif per_sample and container.kind(key) == "O":
            pickled.append(key)
        else:
            ignored.append(key)
    if ignored:
        notices.append(f"ignored entries: {list_keys(ignored)}")
    if pickled:
        notices.append(
            f"not read: {list_keys(pickled)} hold Python objects (pickled data), {NEVER_UNPICKLES}"
            "; save text with dtype=str"
        )
    if roles["metadata"] is not None:
        declared = container.read(roles["metadata"], "metadata")
        if not isinstance(declared, Mapping) or not all(isinstance(k, str) for k in declared):
            raise DataError(
                f"{name}: 'metadata' must be a dict of named columns, not {type(declared).__name__}"
            )
        metadata.update(declared)

    def read(role: str) -> Any:
        key = roles[role]
        return None if key is None else container.read(key, role)

    return Found(
        logits=container.read(logits_key, "logits"),
        labels=read("labels"),
        class_names=read("class_names"),
        images=read("images"),
        texts=read("texts"),
        metadata=metadata,
        token_ids=read("tokens"),
        token_key=roles["tokens"],
        attention_mask=read("mask"),
        vocabulary=read("vocab"),
        path=path,
    )


# Metadata columns hold booleans, numbers or text.
_METADATA = frozenset("biufUS")


def _samples(shape: tuple[int, ...] | None) -> int | None:
    """Samples of logits of this shape: (N,) and (N, 1) are binary, (B, T, V) has B*T."""
    if shape is None or not shape:
        return None
    return shape[0] if len(shape) == 1 else math.prod(shape[:-1])
