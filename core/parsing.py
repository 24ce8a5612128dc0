"""Turning what a user types or pastes into numbers, with messages that say what was wrong.

Accepted: plain numbers (``1.5``, ``-2e3``, a Unicode minus ``−2``), ``inf``/``-inf``/``∞`` (a
masked class), ``nan``; blocks copied from a spreadsheet (tab, comma or semicolon separated) and
arrays printed by numpy or torch (``tensor([[0.1, 1.0], [2.0, 3.0]])``, ``[[0.1 1. ] [2. 3.]]``).
"""

from __future__ import annotations

import math
import re

import numpy as np

from softmax_lab.core.formatting import exact

_ALIASES = {
    "inf": math.inf,
    "+inf": math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "∞": math.inf,
    "+∞": math.inf,
    "-inf": -math.inf,
    "-infinity": -math.inf,
    "-∞": -math.inf,
    "nan": math.nan,
    "+nan": math.nan,
    "-nan": math.nan,
}
_WRAPPER = re.compile(r"^\s*(?:tensor|array|np\.array|torch\.tensor)\s*\((.*)\)\s*$", re.S)
_KWARGS = re.compile(r",\s*(?:dtype|device|requires_grad|grad_fn)\s*=.*$", re.S)


def parse_number(text: object) -> float:
    """One number from a cell; ``ValueError`` with a readable message if it is not one."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip().replace("−", "-").replace("\u2009", "").replace("_", "")
    if not s:
        raise ValueError("empty: type a number (inf and -inf are allowed)")
    alias = _ALIASES.get(s.lower())
    if alias is not None:
        return alias
    try:
        return float(s)
    except ValueError:
        pass
    raise ValueError(f"{str(text).strip()!r} is not a number")


def parse_block(text: str) -> np.ndarray:
    """A 2-D block of numbers from pasted text (spreadsheet rows or a printed array)."""
    s = text.strip()
    if not s:
        raise ValueError("the clipboard holds no numbers")
    wrapped = _WRAPPER.match(s)
    if wrapped:
        s = _KWARGS.sub("", wrapped.group(1)).strip()
    if s.startswith("["):
        rows = _bracket_rows(s)
    else:
        lines = [line for line in s.splitlines() if line.strip()]
        sep = next((c for c in ("\t", ";", ",") if c in lines[0]), None)
        rows = [line.split(sep) if sep else line.split() for line in lines]
    values: list[list[float]] = []
    for r, row in enumerate(rows, start=1):
        parsed = []
        for c, cell in enumerate(row, start=1):
            try:
                parsed.append(parse_number(cell))
            except ValueError as exc:
                raise ValueError(f"row {r}, column {c}: {exc}") from None
        values.append(parsed)
    widths = {len(row) for row in values}
    if len(widths) != 1:
        raise ValueError(f"rows have different lengths ({sorted(widths)}): paste a rectangle")
    block = np.array(values, dtype=np.float64)
    if block.size == 0:
        raise ValueError("the clipboard holds no numbers")
    return block


def _bracket_rows(s: str) -> list[list[str]]:
    """Rows of a printed nested list/array: ``[[1, 2], [3, 4]]`` or ``[[1. 2.]\\n [3. 4.]]``."""
    if s.count("[") != s.count("]"):
        raise ValueError("unbalanced brackets in the pasted array")
    inner = s[1:-1].strip() if s.startswith("[[") or s.count("[") == 1 else s
    if s.count("[") == 1:
        chunks = [inner]
    else:
        chunks = re.findall(r"\[([^\[\]]*)\]", inner)
        if not chunks:
            raise ValueError("could not read the pasted array")
    return [[c for c in re.split(r"[,\s]+", chunk.strip()) if c] for chunk in chunks]


def format_block(block: np.ndarray) -> str:
    """Tab-separated text with every digit kept, for the clipboard (see ``formatting.exact``)."""
    rows = np.atleast_2d(block)
    return "\n".join("\t".join(exact(float(v)) for v in row) for row in rows)
