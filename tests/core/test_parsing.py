"""Parsing typed and pasted text: every float round-trips, junk gets a clear message."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core.parsing import format_block, parse_block, parse_number


@given(st.floats(allow_nan=False))
def test_any_float_round_trips_through_its_text(x):
    assert parse_number(repr(x)) == x
    assert parse_number(str(x)) == x


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", 1.5),
        (" -2e3 ", -2000.0),
        ("−2", -2.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("∞", math.inf),
        ("-∞", -math.inf),
        ("Infinity", math.inf),
        ("1_000", 1000.0),
        (3, 3.0),
    ],
)
def test_numbers(text, value):
    assert parse_number(text) == value


def test_nan_is_a_number():
    assert math.isnan(parse_number("nan"))


@pytest.mark.parametrize(
    "junk", ["", "   ", "abc", "1,5", "1.2.3", "--1", "0x1p3", "1e", "☃", "None", "[1]", "1 2"]
)
def test_junk_is_rejected_with_a_message(junk):
    with pytest.raises(ValueError, match=r"number|empty") as info:
        parse_number(junk)
    assert str(info.value)


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 6)),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_blocks_round_trip_through_the_clipboard_format(block):
    np.testing.assert_array_equal(parse_block(format_block(block)), block)


@pytest.mark.parametrize(
    "text",
    [
        "1\t2\n3\t4",
        "1,2\n3,4",
        "1;2\n3;4\n",
        "1 2\n3 4",
        "[[1, 2], [3, 4]]",
        "[[1. 2.]\n [3. 4.]]",
        "tensor([[1., 2.],\n        [3., 4.]])",
        "array([[1., 2.],\n       [3., 4.]])",
        "tensor([[1., 2.], [3., 4.]], dtype=torch.float64)",
    ],
)
def test_spreadsheet_and_printed_arrays(text):
    np.testing.assert_array_equal(parse_block(text), [[1, 2], [3, 4]])


def test_printed_torch_and_numpy_arrays_parse_back():
    x = torch.tensor([[0.1, 1.0, 2.1], [2.0, 1.0, 0.1]])
    np.testing.assert_allclose(parse_block(str(x)), x.numpy(), rtol=1e-4)
    np.testing.assert_allclose(parse_block(str(x.numpy())), x.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(parse_block("[1, 2, 3]"), [[1, 2, 3]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\t2\n3", "different lengths"),
        ("1\tx\n3\t4", "row 1, column 2"),
        ("", "no numbers"),
        ("[[1, 2], [3, 4]", "unbalanced"),
    ],
)
def test_bad_blocks(text, message):
    with pytest.raises(ValueError, match=message):
        parse_block(text)
