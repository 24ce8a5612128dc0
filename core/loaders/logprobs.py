"""LLM API logprobs (.json / .jsonl): the partial distributions an API returns, stored honestly.

Reads the shapes the APIs document, one response per .json file (or a JSON array of them) or
one per line of a .jsonl file; every choice / output becomes one sequence:

* OpenAI Chat Completions: ``choices[].logprobs.content[i] = {token, logprob, bytes,
  top_logprobs: [{token, logprob, bytes}, ...]}`` (vLLM, SGLang and llama.cpp's OpenAI-compatible
  servers answer the same); a Batch API output line (``response.body``) is unwrapped.
* The Responses API: ``output[].content[].logprobs`` (the same items).
* Legacy Completions: ``choices[].logprobs.{tokens, token_logprobs, top_logprobs}`` (the top
  ones as {token: logprob} dicts; a null logprob, as echo gives the first token, is unscored).
* llama.cpp's ``/completion``: ``completion_probabilities`` (items as above, or the older
  ``{content, probs: [{tok_str, prob}]}``); SGLang's native ``meta_info.output_token_logprobs``
  / ``output_top_logprobs`` (``[logprob, id, text]`` triples).

An API gives the top 0–20 tokens of each position, not the whole distribution. The table made
from it has one class per distinct token of the file plus one class :data:`REST_NAME` that
holds, at each position, the probability nobody reported: 1 − Σ p(known). Its logits are the
logprobs themselves (−∞ for a token not reported at that position), so softmax gives back the
reported probabilities exactly and the rest as one bar — never a made-up spread over unknown
tokens. The target of each position is the token the model chose (aligned, not shifted), so its
surprisal is exactly −logprob and a sequence's perplexity exp(−mean logprob). Temperature,
top-k and top-p then act on the known entries with the rest as one more entry: an
approximation, which a notice says. Two metadata columns keep the per-position facts:
:data:`KNOWN_COLUMN` (how many tokens were reported) and :data:`REST_COLUMN`.

Token texts come from ``bytes`` when present, decoded along the sequence, so a character split
over several tokens reads whole: the token that completes it shows it, the ones before show
nothing (∅).
"""

from __future__ import annotations

import codecs
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders._common import (
    DataError,
    LoadedLogits,
    check_memory,
    open_file,
    read_only,
)

LOGPROBS_EXTENSIONS = frozenset({".json", ".jsonl"})
REST_NAME = "⟨everything else⟩"
KNOWN_COLUMN = "known tokens"
REST_COLUMN = "p everything else"
MAX_CELLS = 16_000_000
"""The table (positions x distinct tokens, float32) is kept under this many cells (64 MB, so
option changes stay on the GUI thread); a longer file shows its first positions, with a notice."""
POSITIVE_TOLERANCE = 1e-4
"""A logprob up to this much above 0 is rounding (p = 1) and read as 0; more is an error."""
AGREE_TOLERANCE = 1e-3
"""The chosen token's logprob and its own entry in top_logprobs may differ this much."""
EXAMPLES_SHOWN = 3

APPROXIMATION_NOTICE = (
    "LLM API logprobs: only the top {k} tokens of each position are known; the probability "
    "left over is one class '" + REST_NAME + "' (1 − Σ p). Surprisal and perplexity are exact; "
    "temperature, top-k and top-p act on the known tokens plus that one bar, an approximation"
)

EXPECTED = (
    "expected an LLM API response with logprobs: Chat Completions "
    "(choices[].logprobs.content), the Responses API (output[].content[].logprobs), legacy "
    "Completions (choices[].logprobs.tokens), llama.cpp (completion_probabilities) or SGLang "
    "(meta_info.output_token_logprobs)"
)

_FRAGMENT_KEY = ("fragment",)


@dataclass
class _Token:
    key: tuple[Any, ...]
    text: str
    raw: bytes | None
    logprob: float | None


@dataclass
class _Position:
    chosen: _Token
    alternatives: list[_Token] = field(default_factory=list)


class _Lazy:
    """A sequence's positions, read one at a time: a file cut at the size limit reads no
    further than what is shown."""

    def __init__(self, n: int, read: Any) -> None:
        self.n, self.read = n, read

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        return (self.read(i) for i in range(self.n))


@dataclass
class _Problems:
    """What is odd but usable, counted with the first few places it happened."""

    found: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, where: str) -> None:
        self.found.setdefault(kind, []).append(where)

    def notices(self) -> list[str]:
        out = []
        for kind, places in self.found.items():
            shown = ", ".join(places[:EXAMPLES_SHOWN]) + (", …" if len(places) > 3 else "")
            out.append(f"{kind} at {count(len(places))} position(s) ({shown})")
        return out


def load_logprobs_file(path: Path, name: str, source: str, ext: str) -> LoadedLogits:
    """Read an API logprobs file (see the module docstring) into a ``LoadedLogits``."""
    size = path.stat().st_size
    check_memory(name, 12.0 * size, f"this {size / 1e9:.1f} GB JSON file")
    with open_file(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a UTF-8 text file") from None
    documents = _documents(text, name, ext)
    problems = _Problems()
    sequences: list[_Lazy] = []
    kinds: list[str] = []
    for d, (document, where) in enumerate(documents):
        for seq_items, kind in _sequences_of(document, name, where, d):
            kinds.append(kind)
            sequences.append(seq_items)
    if not sequences:
        raise DataError(f"{name}: no responses in the file; {EXPECTED}")
    if not any(len(s) for s in sequences):
        raise DataError(f"{name}: the responses hold no tokens (empty logprobs)")
    return _table(sequences, sorted(set(kinds)), problems, name, source)


# --- reading the documents ---------------------------------------------------------------------


def _documents(text: str, name: str, ext: str) -> list[tuple[Any, str]]:
    stripped = text.strip()
    if not stripped:
        raise DataError(f"{name}: the file is empty")
    if ext == ".jsonl" or (not stripped.startswith("[") and "\n{" in stripped):
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append((json.loads(line), f"line {i}"))
            except json.JSONDecodeError as exc:
                raise DataError(f"{name}: line {i} is not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise DataError(f"{name}: line {i} is nested too deeply") from None
        return out
    try:
        body = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise DataError(f"{name}: the JSON is nested too deeply") from None
    if isinstance(body, list):
        return [(item, f"response {i + 1}") for i, item in enumerate(body)]
    return [(body, "")]


def _sequences_of(document: Any, name: str, where: str, index: int) -> list[tuple[Any, str]]:
    """(reader, kind) per sequence of one response; a reader turns it into positions."""
    at = f" ({where})" if where else ""
    if not isinstance(document, dict):
        raise DataError(f"{name}{at}: {EXPECTED}; found a JSON {type(document).__name__}")
    body = document.get("response")
    if isinstance(body, dict) and isinstance(body.get("body"), dict):  # a Batch API output line
        document = body["body"]
    if isinstance(document.get("error"), dict) and "choices" not in document:
        message = document["error"].get("message", "")
        raise DataError(f"{name}{at}: the response is an error, not tokens ({message})")
    out: list[tuple[Any, str]] = []
    if isinstance(document.get("choices"), list):
        for c, choice in enumerate(document["choices"]):
            place = f"{where + ', ' if where else ''}choice {c + 1}"
            out.append(_choice(choice, name, place))
        if not out:
            raise DataError(f"{name}{at}: 'choices' is empty")
        return out
    if isinstance(document.get("output"), list):
        return [_responses_output(document["output"], name, where)]
    if "completion_probabilities" in document:
        items = document["completion_probabilities"]
        return [(_reader(items, name, where or "response", _llama_item), "llama.cpp")]
    meta = document.get("meta_info")
    if isinstance(meta, dict) and "output_token_logprobs" in meta:
        return [(_sglang_reader(meta, name, where or "response"), "SGLang")]
    keys = ", ".join(f"'{k}'" for k in list(document)[:6])
    raise DataError(f"{name}{at}: {EXPECTED}; found the keys {keys or 'none'}")


def _choice(choice: Any, name: str, place: str) -> tuple[Any, str]:
    if not isinstance(choice, dict):
        raise DataError(f"{name} ({place}): a choice must be an object")
    logprobs = choice.get("logprobs")
    if logprobs is None:
        raise DataError(
            f"{name} ({place}): the response has no logprobs; ask for them with logprobs=true "
            "(and top_logprobs=N for the alternatives)"
        )
    if not isinstance(logprobs, dict):
        raise DataError(f"{name} ({place}): 'logprobs' must be an object")
    if "content" in logprobs:
        content = logprobs["content"]
        if content is None:
            refusal = logprobs.get("refusal")
            if isinstance(refusal, list):
                return _reader(refusal, name, place, _openai_item), "Chat Completions"
            raise DataError(f"{name} ({place}): logprobs.content is null (no tokens)")
        return _reader(content, name, place, _openai_item), "Chat Completions"
    if "tokens" in logprobs:
        return _legacy_reader(logprobs, name, place), "Completions"
    raise DataError(
        f"{name} ({place}): 'logprobs' has neither 'content' (Chat Completions) nor 'tokens' "
        "(Completions)"
    )


def _responses_output(output: list[Any], name: str, where: str) -> tuple[Any, str]:
    items: list[Any] = []
    had_text = False
    for item in output:
        if not isinstance(item, dict) or not isinstance(item.get("content"), list):
            continue
        for part in item["content"]:
            if not isinstance(part, dict):
                continue
            had_text = had_text or part.get("type") == "output_text"
            logprobs = part.get("logprobs")
            if isinstance(logprobs, list):
                items.extend(logprobs)
    if not items:
        hint = (
            "; ask for them with include=['message.output_text.logprobs'] and top_logprobs=N"
            if had_text
            else ""
        )
        raise DataError(f"{name}{f' ({where})' if where else ''}: the output has no logprobs{hint}")
    return _reader(items, name, where or "response", _openai_item), "Responses"


# --- one token ---------------------------------------------------------------------------------


def _fail(name: str, place: str, message: str) -> DataError:
    return DataError(f"{name} ({place}): {message}")


def _logprob(value: Any, name: str, place: str, what: str = "logprob") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "missing" if value is None else f"{json.dumps(value)[:40]}"
        raise _fail(name, place, f"'{what}' must be a number, not {shown}")
    number = float(value)
    if math.isnan(number):
        raise _fail(name, place, f"'{what}' is NaN")
    if number == math.inf:
        raise _fail(name, place, f"'{what}' is +∞; a log-probability is at most 0")
    if number > POSITIVE_TOLERANCE:
        raise _fail(
            name,
            place,
            f"'{what}' is {number:g} > 0, but a log-probability is at most 0 (p ≤ 1); are these "
            "logits rather than logprobs?",
        )
    return min(number, 0.0)


def _token_bytes(value: Any, name: str, place: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value
    ):
        raise _fail(name, place, "'bytes' must be a list of byte values 0..255")
    return bytes(value)


def _token(text: Any, raw: bytes | None, logprob: float | None, name: str, place: str) -> _Token:
    if raw is not None:
        try:
            alone = raw.decode("utf-8")
        except UnicodeDecodeError:
            alone = raw.decode("utf-8", "backslashreplace")
        return _Token(("b", raw), alone, raw, logprob)
    if not isinstance(text, str):
        raise _fail(name, place, "the token has neither 'token' text nor 'bytes'")
    return _Token(("t", text), text, None, logprob)


def _openai_item(item: Any, name: str, place: str) -> _Position:
    if not isinstance(item, dict):
        raise _fail(name, place, "each logprobs entry must be an object {token, logprob, ...}")
    if "logprob" not in item:
        raise _fail(name, place, "the entry has no 'logprob'")
    chosen = _token(
        item.get("token"),
        _token_bytes(item.get("bytes"), name, place),
        _logprob(item["logprob"], name, place),
        name,
        place,
    )
    tops = item.get("top_logprobs")
    if tops is None:
        tops = []
    if not isinstance(tops, list):
        raise _fail(name, place, "'top_logprobs' must be a list")
    alternatives = []
    for j, top in enumerate(tops):
        here = f"{place}, top_logprobs[{j}]"
        if not isinstance(top, dict) or "logprob" not in top:
            raise _fail(name, here, "each top_logprobs entry needs a 'logprob'")
        raw = _token_bytes(top.get("bytes"), name, here)
        alternatives.append(
            _token(top.get("token"), raw, _logprob(top["logprob"], name, here), name, here)
        )
    return _Position(chosen, alternatives)


def _llama_item(item: Any, name: str, place: str) -> _Position:
    if isinstance(item, dict) and "probs" in item and "logprob" not in item:
        # The older llama.cpp shape: probabilities, the chosen token among them or not at all.
        text = item.get("content", item.get("token"))
        probs = item["probs"]
        if not isinstance(probs, list):
            raise _fail(name, place, "'probs' must be a list")
        alternatives = []
        for j, entry in enumerate(probs):
            here = f"{place}, probs[{j}]"
            if not isinstance(entry, dict) or "prob" not in entry:
                raise _fail(name, here, "each probs entry needs a 'prob'")
            prob = entry["prob"]
            if isinstance(prob, bool) or not isinstance(prob, (int, float)):
                raise _fail(name, here, "'prob' must be a number")
            if not 0.0 <= float(prob) <= 1.0:  # NaN fails too
                raise _fail(name, here, f"'prob' is {prob}, outside 0..1")
            lp = math.log(float(prob)) if float(prob) > 0 else -math.inf
            alternatives.append(_token(entry.get("tok_str"), None, lp, name, here))
        chosen = _token(text, None, None, name, place)
        same = next((a for a in alternatives if a.key == chosen.key), None)
        chosen.logprob = None if same is None else same.logprob
        return _Position(chosen, alternatives)
    return _openai_item(item, name, place)


def _reader(items: Any, name: str, where: str, item_reader: Any) -> Any:
    if not isinstance(items, list):
        raise DataError(f"{name} ({where}): the logprobs must be a list of tokens")

    return _Lazy(len(items), lambda i: item_reader(items[i], name, f"{where}, token {i + 1}"))


def _legacy_reader(logprobs: dict[str, Any], name: str, where: str) -> Any:
    tokens = logprobs.get("tokens")
    values = logprobs.get("token_logprobs")
    tops = logprobs.get("top_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list):
        raise DataError(f"{name} ({where}): 'tokens' and 'token_logprobs' must be lists")
    if len(values) != len(tokens):
        raise DataError(
            f"{name} ({where}): {count(len(tokens))} tokens but {count(len(values))} token_logprobs"
        )
    if tops is not None and (not isinstance(tops, list) or len(tops) != len(tokens)):
        raise DataError(f"{name} ({where}): 'top_logprobs' must be a list, one per token")

    def read(i: int) -> _Position:
        text = tokens[i]
        place = f"{where}, token {i + 1}"
        lp = None if values[i] is None else _logprob(values[i], name, place)
        chosen = _token(text, None, lp, name, place)
        alternatives = []
        top = None if tops is None else tops[i]
        if top is not None:
            if not isinstance(top, dict):
                raise _fail(name, place, "each top_logprobs entry must be {token: logprob}")
            for key, value in top.items():
                alternatives.append(
                    _token(key, None, _logprob(value, name, f"{place} '{key}'"), name, place)
                )
        return _Position(chosen, alternatives)

    return _Lazy(len(tokens), read)


def _sglang_reader(meta: dict[str, Any], name: str, where: str) -> Any:
    chosen = meta.get("output_token_logprobs")
    tops = meta.get("output_top_logprobs")
    if not isinstance(chosen, list):
        raise DataError(f"{name} ({where}): 'output_token_logprobs' must be a list")
    if tops is not None and (not isinstance(tops, list) or len(tops) != len(chosen)):
        raise DataError(f"{name} ({where}): 'output_top_logprobs' must be a list, one per token")

    def triple(entry: Any, place: str) -> _Token:
        if not isinstance(entry, list) or len(entry) < 2:
            raise _fail(name, place, "SGLang entries are [logprob, token id, text]")
        text = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else f"#{entry[1]}"
        lp = None if entry[0] is None else _logprob(entry[0], name, place)
        return _token(text, None, lp, name, place)

    def read(i: int) -> _Position:
        place = f"{where}, token {i + 1}"
        alternatives = [triple(t, place) for t in (tops[i] or [])] if tops else []
        return _Position(triple(chosen[i], place), alternatives)

    return _Lazy(len(chosen), read)


# --- the table ---------------------------------------------------------------------------------


def _table(
    sequences: list[_Lazy],
    kinds: list[str],
    problems: _Problems,
    name: str,
    source: str,
) -> LoadedLogits:
    notices: list[str] = []
    vocabulary: dict[tuple[Any, ...], int] = {}
    texts: list[str] = []

    def class_of(token: _Token) -> int:
        index = vocabulary.get(token.key)
        if index is None:
            index = vocabulary[token.key] = len(texts)
            texts.append(token.text)
        return index

    # Positions in reading order; the chosen tokens' texts decoded along each sequence.
    total = sum(len(s) for s in sequences)
    rows: list[tuple[int, int, int, dict[int, float], int]] = []
    kept_positions = 0
    cut = False
    for s, positions in enumerate(sequences):
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for t, position in enumerate(positions):
            if (kept_positions + 1) * (len(texts) + len(position.alternatives) + 2) > MAX_CELLS:
                cut = True
                break
            chosen = position.chosen
            if chosen.raw is not None:
                shown = decoder.decode(chosen.raw, final=False)
                if shown != chosen.text:
                    if shown == "":
                        chosen = _Token(_FRAGMENT_KEY, "", chosen.raw, chosen.logprob)
                    else:
                        chosen = _Token(("c", chosen.raw, shown), shown, chosen.raw, chosen.logprob)
            else:
                decoder.reset()
            place = f"sequence {s + 1}, token {t + 1}"
            entries: dict[int, float] = {}
            least = 0.0
            for alternative in position.alternatives:
                assert alternative.logprob is not None
                same = position.chosen.key == alternative.key
                c = class_of(chosen) if same else class_of(alternative)
                if c in entries:
                    problems.add("the same token listed twice in top_logprobs", place)
                    continue
                entries[c] = alternative.logprob
                least = min(least, alternative.logprob)
            target = class_of(chosen)
            if chosen.logprob is not None:
                listed = entries.get(target)
                if listed is not None and abs(listed - chosen.logprob) > AGREE_TOLERANCE:
                    problems.add(
                        "top_logprobs give the chosen token another logprob than its own "
                        "(its own is used)",
                        place,
                    )
                elif (
                    listed is None
                    and position.alternatives
                    and chosen.logprob > least + AGREE_TOLERANCE
                ):
                    problems.add(
                        "the chosen token is missing from top_logprobs though more probable "
                        "than one listed",
                        place,
                    )
                entries[target] = chosen.logprob
            rows.append((s, t, target if chosen.logprob is not None else -1, entries, target))
            kept_positions += 1
        if cut:
            break
    if cut:
        notices.append(
            f"the file has {count(total)} tokens; the first {count(kept_positions)} are shown "
            f"(a table of every reported token at all of them would be over "
            f"{MAX_CELLS * 4 / 1e6:.0f} MB)"
        )
    from softmax_lab.core.tokens import POSITION_KEY, SEQUENCE_KEY, TOKEN_KEY, token_names

    n = len(rows)
    v = len(texts) + 1
    rest = v - 1
    logits = np.full((n, v), -np.inf, dtype=np.float32)
    targets = np.full(n, IGNORE_INDEX, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    sequence = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    known = np.empty(n, dtype=np.int64)
    rest_p = np.empty(n, dtype=np.float64)
    over = unscored = most_known = 0
    for r, (s, t, target, entries, chosen) in enumerate(rows):
        columns = np.fromiter(entries.keys(), dtype=np.int64, count=len(entries))
        values = np.fromiter(entries.values(), dtype=np.float64, count=len(entries))
        left = 1.0 - float(np.exp(values).sum()) if values.size else 1.0
        if left < -AGREE_TOLERANCE:
            over += 1
        left = max(left, 0.0)
        logits[r, columns] = values
        logits[r, rest] = math.log(left) if left > 0 else -np.inf
        if target >= 0:
            targets[r] = target
        else:
            unscored += 1
        ids[r] = chosen
        sequence[r], position[r] = s, t
        known[r] = len(entries)
        rest_p[r] = left
        most_known = max(most_known, len(entries))
    if over:
        notices.append(
            f"the reported probabilities of {count(over)} position(s) add up to more than 1; "
            "their '" + REST_NAME + "' is 0"
        )
    if unscored:
        notices.append(
            f"{count(unscored)} token(s) have no logprob of their own (e.g. an echoed prompt's "
            "first token): shown, not scored"
        )
    notices.extend(problems.notices())
    notices.insert(0, APPROXIMATION_NOTICE.format(k=most_known))
    n_sequences = len({row[0] for row in rows})
    notices.insert(
        0,
        f"{' / '.join(kinds)} logprobs: {count(n_sequences)} sequence(s), {count(n)} tokens, "
        f"{count(v - 1)} distinct tokens",
    )
    token_texts = [*texts, REST_NAME]
    metadata = {
        SEQUENCE_KEY: sequence,
        POSITION_KEY: position,
        TOKEN_KEY: ids,
        KNOWN_COLUMN: known,
        REST_COLUMN: rest_p,
    }
    for array in (targets, *metadata.values()):
        read_only(array)
    return LoadedLogits(
        logits=read_only(logits),
        targets=targets,
        class_names=[*token_names(texts, len(texts)), REST_NAME],  # never a token's name: a space
        notices=notices,
        source=source,
        metadata=metadata,
        vocabulary=token_texts,
    )


def is_partial(metadata: dict[str, np.ndarray] | Any) -> bool:
    """Whether a table's rows came from API logprobs (partial distributions)."""
    return REST_COLUMN in metadata and KNOWN_COLUMN in metadata
