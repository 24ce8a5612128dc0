"""Samples' inputs as drawn: RGBA bytes, box-averaged thumbnails, one-line snippets."""

import numpy as np
import pytest

from softmax_lab.core.thumbnails import rgba, snippet, thumbnail


def test_rgba_from_grey_rgb_rgba_and_floats():
    grey = np.array([[0, 255]], dtype=np.uint8)
    assert rgba(grey).tolist() == [[[0, 0, 0, 255], [255, 255, 255, 255]]]
    assert rgba(np.array([[0.0, 1.0]])).tolist() == rgba(grey).tolist()
    assert rgba(np.array([[0.5]]))[0, 0, 0] == 128
    rgb = np.array([[[1, 2, 3]]], dtype=np.uint8)
    assert rgba(rgb).tolist() == [[[1, 2, 3, 255]]]
    four = np.array([[[1, 2, 3, 4]]], dtype=np.uint8)
    assert rgba(four).tolist() == [[[1, 2, 3, 4]]]
    with pytest.raises(ValueError, match="an image must be"):
        rgba(np.zeros((2, 2, 2)))


def test_small_images_stay_and_large_ones_are_box_averaged():
    small = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    np.testing.assert_array_equal(thumbnail(small)[..., 0], small)
    big = np.zeros((200, 100), dtype=np.uint8)
    big[:, 50:] = 255
    t = thumbnail(big, pixels=50)
    assert t.shape == (50, 25, 4)
    np.testing.assert_array_equal(t[:, :12, 0], 0)
    np.testing.assert_array_equal(t[:, 13:, 0], 255)
    assert t[0, 12, 0] == 128  # the block across the edge is half white


def test_snippet_is_one_line_and_cut():
    assert snippet("a\n b\t c") == "a b c"
    assert snippet("word " * 100, 20) == "word word word word…"
    assert len(snippet("x" * 500, 10)) == 10
