"""Vocabularies: the readable text of each token id of a language model.

Owns ``load_vocabulary`` and the tokenizer formats it reads:

* ``tokenizer.json`` (Hugging Face ``tokenizers``): read with the optional ``tokenizers``
  package when it is installed, else by parsing ``model.vocab`` and ``added_tokens`` here. Either
  way the pieces are then turned into text the same way: byte-level BPE pieces (GPT-2, RoBERTa,
  Llama 3: "Ġthe", "Ċ") through GPT-2's byte table (" the", "\\n"), SentencePiece pieces
  ("▁the", "<0x0A>") by their word marker and byte-fallback tokens. Added tokens are shown as
  written. A byte sequence that is not whole UTF-8 (part of a character) is shown as ``\\xNN``
  escapes.
* ``vocab.json`` (a flat {"piece": id} map, GPT-2's original files): the same decoding.
* ``vocab.txt`` (BERT and friends): one token per line, the line number being the id.

Nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from softmax_lab.core.formatting import big_int, count
from softmax_lab.core.loaders._common import (
    DataError,
    check_memory,
    check_readable_file,
    display_name,
    open_regular,
    short,
    wrap_unexpected,
)

# A tokenizer file larger than this is not a tokenizer (the largest real ones are ~35 MB).
MAX_VOCABULARY_BYTES = 512 * 1024 * 1024
# Ids above this would make the list absurdly long (largest real vocabularies: ~260,000).
MAX_TOKEN_ID = 50_000_000
MAX_UNUSED_IDS = 65_536
"""Ids below the highest that no piece names (shown as ``<unused i>``): real vocabularies
reserve a few hundred; more than this (and more than the pieces given) is not a vocabulary."""
_BYTES_PER_ENTRY = 90
"""A token text in the list: a short str object and its pointer (measured: ~88 bytes)."""
SIBLINGS = ("tokenizer.json", "vocab.txt")

_BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def load_vocabulary(
    path: str | os.PathLike[str],
    size: int | None = None,
    *,
    within: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The token texts of a ``tokenizer.json``, ``vocab.json`` or ``vocab.txt``, by token id.

    With ``size``, the vocabulary must have exactly that many tokens (the logits' V); with
    ``within``, the file (links followed) must lie in that folder. Raises ``DataError`` naming
    the file for every problem; no other exception escapes.
    """
    source, name = display_name(path)
    try:
        tokens = _load(Path(source), name, within)
    except DataError:
        raise
    except Exception as exc:  # the contract: DataError, never anything else
        raise wrap_unexpected(name, exc) from exc
    if size is not None and len(tokens) != size:
        raise DataError(
            f"{name}: has {count(len(tokens))} tokens but the logits have {count(size)} classes"
        )
    return tokens


def sibling_vocabulary(path: Path) -> Path | None:
    """The tokenizer.json (first) or vocab.txt in the folder of the data file ``path``: the
    first name present, whatever it is (a link, a FIFO: :func:`sibling_tokens` says why it is
    not read rather than passing it over in silence)."""
    for candidate in SIBLINGS:
        beside = path.parent / candidate
        if os.path.lexists(beside):
            return beside
    return None


def sibling_tokens(path: Path, size: int, notices: list[str]) -> list[str] | None:
    """The token texts of the tokenizer beside the data file ``path``, read only from that
    file's folder (a link that leaves it, a FIFO, a file of another vocabulary size is not
    read); what was read, or why not, is added to ``notices``. A stray or stale tokenizer
    file never blocks the logits."""
    beside = sibling_vocabulary(path)
    if beside is None:
        return None
    try:
        vocabulary = load_vocabulary(beside, size=size, within=path.parent)
    except DataError as exc:
        notices.append(f"{exc} — it was not used; tokens are shown by id")
        return None
    notices.append(f"token texts read from {beside.name} in the same folder")
    return vocabulary


def _load(path: Path, name: str, within: str | os.PathLike[str] | None) -> list[str]:
    info = check_readable_file(path, name, within=within)
    if info.st_size > MAX_VOCABULARY_BYTES:
        raise DataError(f"{name}: {info.st_size / 1e9:.1f} GB is too large for a tokenizer file")
    ext = path.suffix.lower()
    if ext not in (".json", ".txt"):
        raise DataError(
            f"{name}: a vocabulary is read from tokenizer.json, vocab.json or vocab.txt, "
            f"not '{ext or 'a file without an extension'}'"
        )
    with open_regular(path, name, "rb", within=within) as fh:
        raw = fh.read()
    if b"\x00" in raw:
        raise DataError(f"{name}: contains binary data, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: not a UTF-8 text file (undecodable byte at offset {exc.start})"
        ) from None
    if ext == ".txt":
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        return [line.removesuffix("\r") for line in lines]
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{name}: not valid JSON ({short(exc)})") from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        return _from_tokenizer_json(text, data, name)
    if isinstance(data, dict) and data:
        pieces = _pieces(data, name, "the vocabulary")
        byte_level = all(_is_byte_level(piece) for piece in pieces.values())
        return _assemble(pieces, {}, "ByteLevel" if byte_level else "", name)
    raise DataError(
        f"{name}: not a tokenizer file: expected a 'model' with a vocabulary "
        '(tokenizer.json) or a {"token": id} map (vocab.json)'
    )


def _from_tokenizer_json(text: str, data: dict[str, Any], name: str) -> list[str]:
    model = data["model"]
    style = _decoding_style(data)
    added = _added_tokens(data.get("added_tokens"), name)
    pieces = _pieces_with_tokenizers(text)
    if pieces is None:
        vocab = model.get("vocab")
        if isinstance(vocab, list):  # Unigram: [[piece, score], ...], the index is the id
            if not all(isinstance(e, list) and e and isinstance(e[0], str) for e in vocab):
                raise DataError(f"{name}: the tokenizer's 'model.vocab' list is malformed")
            pieces = {i: entry[0] for i, entry in enumerate(vocab)}
        elif isinstance(vocab, dict):
            pieces = _pieces(vocab, name, "'model.vocab'")
        else:
            raise DataError(f"{name}: the tokenizer has no 'model.vocab' to read tokens from")
        pieces.update(added)
    return _assemble(pieces, added, style, name)


def _pieces_with_tokenizers(text: str) -> dict[int, str] | None:
    """id -> piece as the ``tokenizers`` package reads the file; None if it is not installed
    or cannot read this file (then the JSON is parsed here, which reports what is wrong)."""
    try:
        from tokenizers import Tokenizer  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        tokenizer = Tokenizer.from_str(text)
        vocab = tokenizer.get_vocab(with_added_tokens=True)
    except Exception:  # a file tokenizers rejects: our own parser gives the reason
        return None
    return {int(i): piece for piece, i in vocab.items()}


def _pieces(mapping: dict[Any, Any], name: str, what: str) -> dict[int, str]:
    pieces: dict[int, str] = {}
    for piece, token_id in mapping.items():
        if not isinstance(token_id, int) or isinstance(token_id, bool):
            raise DataError(f"{name}: {what} maps {piece!r} to {token_id!r}, not a token id")
        pieces[token_id] = piece
    return pieces


def _added_tokens(entries: Any, name: str) -> dict[int, str]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise DataError(f"{name}: the tokenizer's 'added_tokens' must be a list")
    added: dict[int, str] = {}
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), int)
            and isinstance(entry.get("content"), str)
        ):
            raise DataError(f"{name}: an entry of the tokenizer's 'added_tokens' is malformed")
        added[entry["id"]] = entry["content"]
    return added


def _assemble(pieces: dict[int, str], added: dict[int, str], style: str, name: str) -> list[str]:
    """The token list by id; added tokens as written, the others decoded per ``style``."""
    if not pieces:
        raise DataError(f"{name}: the vocabulary is empty")
    low, high = min(pieces), max(pieces)
    if low < 0 or high > MAX_TOKEN_ID:
        bad = low if low < 0 else high
        raise DataError(f"{name}: token id {big_int(bad)} is out of range")
    # The list has one entry per id up to the highest: bound that claim by what the file holds
    # (a 45-byte {"a": 49999999} would otherwise build 50 million entries, 4.4 GB) and by the
    # memory free, before anything is allocated.
    entries, held = high + 1, len(pieces)
    needed = entries * _BYTES_PER_ENTRY
    if entries > max(2 * held, held + MAX_UNUSED_IDS):
        raise DataError(
            f"{name}: token id {count(high)} would make a vocabulary of {count(entries)} entries "
            f"(about {needed / 1e9:.1f} GB) of which the file gives {count(held)}; "
            "not a tokenizer of these logits"
        )
    check_memory(name, needed, f"its vocabulary of {count(entries)} tokens")
    tokens = [f"<unused {i}>" for i in range(entries)]
    for token_id, piece in pieces.items():
        tokens[token_id] = piece if token_id in added else _decode(piece, style)
    return tokens


def _decoding_style(data: dict[str, Any]) -> str:
    """'ByteLevel', 'Metaspace' or '' (pieces shown as they are), from the decoder's types."""
    types: set[str] = set()

    def collect(part: Any) -> None:
        if isinstance(part, dict):
            if isinstance(part.get("type"), str):
                types.add(part["type"])
            pattern = part.get("pattern")
            replaces_marker = isinstance(pattern, dict) and pattern.get("String") == "▁"
            if part.get("type") == "Replace" and replaces_marker:
                types.add("Metaspace")
            for value in part.values():
                collect(value)
        elif isinstance(part, list):
            for value in part:
                collect(value)

    collect(data.get("decoder"))
    if not types:
        collect(data.get("pre_tokenizer"))
    if "ByteLevel" in types:
        return "ByteLevel"
    if "Metaspace" in types or "ByteFallback" in types:
        return "Metaspace"
    return ""


def _decode(piece: str, style: str) -> str:
    if style == "ByteLevel" and _is_byte_level(piece):
        table = _byte_decoder()
        return bytes(table[ch] for ch in piece).decode("utf-8", "backslashreplace")
    if style == "Metaspace":
        fallback = _BYTE_FALLBACK.fullmatch(piece)
        if fallback:
            return bytes([int(fallback.group(1), 16)]).decode("utf-8", "backslashreplace")
        return piece.replace("▁", " ")
    return piece


def _is_byte_level(piece: str) -> bool:
    table = _byte_decoder()
    return all(ch in table for ch in piece)


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's table from the 256 bytes to printable characters, inverted: "Ġ" -> 0x20."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    shifted = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + shifted)
            shifted += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}
