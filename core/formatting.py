"""How Softmax Lab spells a number, one function per purpose, used by every view and export.

* :func:`number` — tables, the status bar, the formula panel, metrics: ``digits`` decimals for
  everyday sizes, scientific notation for tiny or huge ones (``8.286e−05``), never cut short.
* :func:`precise` — hover texts and tooltips: six significant digits.
* :func:`short` — on-plot labels and parameters (T, ε, a weight): as few digits as it needs.
* :func:`percent`, :func:`count` — shares and counts.
* :func:`exact` — text for machines (clipboard, CSV): reads back to the identical float.

Display texts use the typographic minus (−) and spell the non-finite values one way everywhere:
``∞``, ``−∞`` and ``NaN``. :func:`core.parsing.parse_number` reads all of them back.
"""

from __future__ import annotations

import math
from typing import Any

MINUS = "−"
INFINITY = "∞"
NAN = "NaN"
MISSING = "—"
"""Shown where there is no value at all (an ignored sample's loss, a class with no samples)."""


def _nonfinite(value: float) -> str | None:
    if math.isnan(value):
        return NAN
    if math.isinf(value):
        return INFINITY if value > 0 else MINUS + INFINITY
    return None


def _typographic(text: str) -> str:
    return text.replace("-", MINUS)


def _unsigned_zero(value: Any) -> float:
    """``value`` as a float, with −0.0 (torch's loss of a certain prediction) made 0.0: no
    number is ever shown as "−0.0000"."""
    v = float(value)
    return 0.0 if v == 0 else v


def number(value: Any, digits: int = 4) -> str:
    """``digits`` decimals for 10**-digits <= |v| < 1e5, else ``digits`` significant digits in
    scientific notation; 0 (and −0) is ``0.0000``. Every shown digit is kept: columns widen to
    fit."""
    v = _unsigned_zero(value)
    special = _nonfinite(v)
    if special is not None:
        return special
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 10.0**-digits):
        return _typographic(f"{v:.{max(0, digits - 1)}e}")
    return _typographic(f"{v:.{digits}f}")


def metric(value: Any, digits: int = 4) -> str:
    """A summary number (accuracy, ECE, a class's mean loss): as :func:`number`, but a NaN that
    means "nothing to measure" reads as ``—``."""
    v = float(value)
    return MISSING if math.isnan(v) else number(v, digits)


def precise(value: Any) -> str:
    """Six significant digits, for hover texts: enough to tell two nearby values apart."""
    if value is None:
        return MISSING
    v = _unsigned_zero(value)
    special = _nonfinite(v)
    return special if special is not None else _typographic(f"{v:.6g}")


def short(value: Any, significant: int = 4) -> str:
    """As few digits as the value needs, up to ``significant``: T = 0.5, mean = 0.3018."""
    v = _unsigned_zero(value)
    special = _nonfinite(v)
    return special if special is not None else _typographic(f"{v:.{significant}g}")


def difference(value: Any) -> str:
    """A max |difference| to one significant digit: ``3e−08``; 0 is ``0``."""
    v = float(value)
    if v == 0:
        return "0"
    special = _nonfinite(v)
    return special if special is not None else _typographic(f"{v:.0e}")


def percent(value: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage; ``—`` when there is none."""
    v = float(value)
    if not math.isfinite(v):
        return MISSING
    text = f"{100 * v:.{decimals}f}"
    return (text.lstrip("-") if float(text) == 0 else text) + "%"  # never "−0.0%"


def count(value: Any) -> str:
    """A whole number with thousands separators: ``50,000``."""
    return f"{int(value):,}"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 sample``, ``2 samples``, ``3 passes`` (``many`` for irregular plurals)."""
    return f"{int(n):,} {noun if n == 1 else many or noun + 's'}"


def exact(value: Any) -> str:
    """The shortest text that reads back to the identical float (``repr``); ``inf``, ``-inf``
    and ``nan`` in ASCII, as numpy, torch and spreadsheets read them."""
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def big_int(value: int) -> str:
    """A whole number for a message, short even when it has hundreds of digits (a file that
    claims 10^30 classes): ``123456``, or ``1.0e+30``, never thousands of characters."""
    if -(10**15) < value < 10**15:
        return str(value)
    digits = value.bit_length() * 0.30103
    if digits < 300:
        return f"{float(value):.1e}"
    return f"{'-' if value < 0 else ''}a {int(digits) + 1}-digit number"
