"""core.screen: the first window's place on a screen."""

from hypothesis import given
from hypothesis import strategies as st

from softmax_lab.core.screen import first_window_rect, fits

sizes = st.integers(200, 5000)
offsets = st.integers(-3000, 3000)


@given(offsets, offsets, sizes, sizes, st.integers(0, 1200), st.integers(0, 900))
def test_the_window_always_fits_the_screen_and_is_centred(x, y, w, h, mw, mh):
    available = (x, y, w, h)
    rx, ry, rw, rh = first_window_rect(available, None, (mw, mh))
    assert fits((rx, ry, rw, rh), available)
    assert rw == min(max(min(round(0.9 * w), 1920), mw), w)
    assert rh == min(max(min(round(0.9 * h), 1200), mh), h)
    assert abs((rx + rw / 2) - (x + w / 2)) <= 1
    assert abs((ry + rh / 2) - (y + h / 2)) <= 1


def test_a_saved_place_is_kept_only_while_it_fits():
    screen = (0, 0, 1920, 1080)
    assert first_window_rect(screen, (100, 80, 1500, 900), (900, 560)) == (100, 80, 1500, 900)
    laptop = (0, 0, 1366, 740)
    assert first_window_rect(laptop, (100, 80, 1500, 900), (900, 560)) == (68, 37, 1229, 666)
    # Below the minimum, off the left edge, or junk: not restored.
    assert first_window_rect(screen, (0, 0, 300, 200), (900, 560))[2:] == (1728, 972)
    assert first_window_rect(screen, (-50, 0, 1000, 700), (900, 560))[2:] == (1728, 972)
    assert first_window_rect(screen, (1, 2, 3), (900, 560))[2:] == (1728, 972)
    assert not fits((1800, 0, 200, 200), screen)
    assert fits((1720, 0, 200, 200), screen)
