"""core.formatting: one spelling per purpose; display text parses back at its precision."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_lab.core import formatting as fmt
from softmax_lab.core.parsing import parse_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (8.286e-05, "8.286e−05"),
        (-10.3245, "−10.3245"),
        (12345.6789, "12345.6789"),
        (123456.0, "1.235e+05"),
        (0.0, "0.0000"),
        (0.30178, "0.3018"),
        (math.inf, "∞"),
        (-math.inf, "−∞"),
        (math.nan, "NaN"),
    ],
)
def test_number(value, text):
    assert fmt.number(value) == text


def test_non_finite_values_are_spelled_one_way_by_every_style():
    for style in (fmt.number, fmt.precise, fmt.short, fmt.difference):
        assert style(math.inf) == "∞"
        assert style(-math.inf) == "−∞"
        assert style(math.nan) == "NaN"
    assert fmt.metric(math.nan) == fmt.MISSING
    assert fmt.percent(math.nan) == fmt.MISSING
    assert fmt.precise(None) == fmt.MISSING


def test_other_styles():
    assert fmt.precise(1 / 3) == "0.333333"
    assert fmt.short(0.5) == "0.5"
    assert fmt.short(-0.30178) == "−0.3018"
    assert fmt.percent(0.1234) == "12.3%"
    assert fmt.count(50000) == "50,000"
    assert fmt.plural(1, "sample") == "1 sample"
    assert fmt.plural(3, "pass", "passes") == "3 passes"
    assert fmt.difference(3.2e-8) == "3e−08"
    assert fmt.difference(0.0) == "0"
    assert fmt.exact(-math.inf) == "-inf"
    assert fmt.exact(0.1) == "0.1"


# Below 1.797e308: rounding the largest floats to 4 digits gives text beyond float range.
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1.79e308, max_value=1.79e308)


@given(finite)
def test_number_parses_back_at_the_shown_precision(value):
    text = fmt.number(value)
    assert "…" not in text
    back = parse_number(text)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-4):
        assert math.isclose(back, value, rel_tol=5e-4)
    else:
        assert abs(back - value) <= 0.5e-4 * (1 + 1e-9) + abs(value) * 1e-15


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_exact_reads_back_to_the_identical_float(value):
    back = float(fmt.exact(value))
    assert (math.isnan(back) and math.isnan(value)) or back == value
