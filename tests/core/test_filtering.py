"""The filter box's language (core.filtering) and the filters it makes."""

import numpy as np
import pytest

from softmax_lab.core import evaluate
from softmax_lab.core.filtering import filter_choices, filter_text, parse_filter
from softmax_lab.core.view_state import ALL, Filter

COLUMNS = {
    "split": np.array(["train", "test", "test", "val"]),
    "hard": np.array([True, False, True, False]),
    "fold": np.array([0, 1, 1, 2]),
    "score": np.array([0.5, 1.0, np.nan, 1.0]),
    "text": np.array(["A cat", "a dog", "Cats!", ""], dtype=object),
}
EV = evaluate(np.zeros((4, 2)), [0, 1, 0, 1])


def shown(text):
    return np.flatnonzero(parse_filter(text, COLUMNS).mask(EV, COLUMNS)).tolist()


def test_column_equals_value_with_the_column_type():
    assert shown("split == test") == [1, 2]
    assert shown("  split==test ") == [1, 2]
    assert shown("split == 'test'") == [1, 2]
    assert shown("hard == false") == [1, 3]
    assert shown("hard == True") == [0, 2]
    assert shown("fold == 1") == [1, 2]
    assert shown("score == 1") == [1, 3]


def test_other_text_searches_the_texts_ignoring_case():
    assert shown("cat") == [0, 2]
    assert parse_filter("  ", COLUMNS) is ALL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour == red", "no column named 'colour'"),
        ("hard == maybe", "true or false"),
        ("fold == 1.5", "whole numbers"),
        ("score == high", "holds numbers"),
        ("split ==", "say which value"),
    ],
)
def test_bad_filters_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_filter(text, COLUMNS)


def test_search_needs_text_columns():
    with pytest.raises(ValueError, match="no text to search"):
        parse_filter("cat", {"fold": np.array([1, 2])})


def test_choices_and_text_round_trip():
    choices = filter_choices(COLUMNS)
    assert "split == test" in choices
    assert "hard == false" in choices
    assert "fold == 2" in choices
    assert "score == 1" in choices
    assert not any(c.startswith("text ==") and c.endswith("== ") for c in choices)
    for choice in choices:
        assert filter_text(parse_filter(choice, COLUMNS)) == choice
    assert filter_text(Filter("search", "cat")) == "cat"
    assert filter_text(ALL) == ""
    assert filter_text(Filter("wrong")) == ""
    many = {"id": np.arange(100)}
    assert filter_choices(many) == []
    assert len(filter_choices(many, limit=100)) == 100
