"""Random cross-entropy problems for hypothesis: logits, either kind of target, every option."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def problems(
    draw,
    *,
    max_samples: int = 7,
    extra_ignore: tuple[int, ...] = (),
    dtypes: tuple[str, ...] = ("float32", "float64"),
):
    """(logits, target, options) with soft or hard targets, ignored rows, weights, T, smoothing."""
    n = draw(st.integers(1, max_samples))
    c = draw(st.integers(1, 6))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-30, 30)))
    soft = draw(st.booleans())
    ignore_index = draw(st.sampled_from([-100, 0, c - 1, *extra_ignore]))
    if soft:
        raw = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0, 1)))
        target = raw / np.maximum(raw.sum(1, keepdims=True), 1e-12)
    else:
        choices = [*range(c), ignore_index]
        target = np.array(draw(st.lists(st.sampled_from(choices), min_size=n, max_size=n)))
    weight = draw(st.none() | hnp.arrays(np.float64, (c,), elements=st.floats(0.05, 3)))
    options = {
        "temperature": draw(st.sampled_from([1.0, 0.3, 2.5])),
        "weight": weight,
        "ignore_index": ignore_index,
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.7])),
        "dtype": draw(st.sampled_from(list(dtypes))),
    }
    return logits, target, options
