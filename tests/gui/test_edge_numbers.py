"""Hostile numbers in every dtype: the window stays up, marks bad rows and counts them."""

import numpy as np
import pytest

from softmax_lab.gui import MainWindow

TINY = np.finfo(np.float64).tiny / 4  # a denormal

CASES = {
    "nan": [[np.nan, 1.0, 2.0], [1.0, 2.0, 3.0]],
    "plus_inf": [[np.inf, 1.0, 2.0], [1.0, 2.0, 3.0]],
    "minus_inf_row": [[-np.inf, -np.inf, -np.inf], [1.0, 2.0, 3.0]],
    "masked_class": [[-np.inf, 1.0, 2.0], [1.0, -np.inf, 3.0]],
    "huge": [[1e30, -1e30, 0.0], [-1e30, 1e30, 1.0]],
    "denormal": [[TINY, -TINY, 0.0], [TINY, TINY, TINY]],
    "all_equal": [[5.0, 5.0, 5.0], [-2.0, -2.0, -2.0]],
    "one_class": [[3.0], [-1.0]],
    "one_sample": [[0.5, 2.0, 0.3]],
}


@pytest.fixture(scope="module")
def window(qapp):
    w = MainWindow()
    w.show()
    yield w
    w.close()
    w.deleteLater()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_window_survives_and_flags(window, case, dtype):
    logits = np.array(CASES[case], dtype=np.float64)
    n, c = logits.shape
    doc = window.document
    doc.replace_all(logits, np.zeros(n, dtype=int), [f"k{i}" for i in range(c)])
    doc.set_settings(dtype=dtype)
    for row in range(n):
        window.select_sample(row)
    window.show_dataset()
    window.view_tabs.setCurrentIndex(0)
    ev = doc.evaluation
    status = window.summary.text()
    # A row without a prediction (NaN, +∞, only −∞) is flagged ⚠; a row with one whose true
    # class is −∞ (p(true) = 0, loss ∞) is an error like any other, and the status counts it.
    no_prediction = int((~ev.has_prediction).sum())
    zero = int((ev.has_prediction & ~ev.finite).sum())
    if no_prediction:
        assert f"⚠ {no_prediction} non-finite row" in status
    else:
        assert "non-finite" not in status
    if zero:
        assert f"⚠ {zero} row{'s' if zero > 1 else ''} with p(true) = 0 (loss ∞)" in status
    model = window.table_model
    for row in range(n):
        mark = model.index(row, model.columnCount() - 1).data()
        assert mark == ("⚠" if not ev.has_prediction[row] else "✓" if ev.correct[row] else "✗")
    for plot in window.plots():
        assert not plot.grab().isNull()
    if case == "nan":
        assert not ev.finite[0]
        assert ev.finite[1]


def test_256000_classes_in_a_row(window):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 256_000)).astype(np.float32)
    doc = window.document
    doc.replace_all(logits, [5, 7], [f"t{i}" for i in range(256_000)])
    window.select_sample(1)
    assert len(window.sample_plot.shown_classes()) <= 40
    top = int(np.argmax(logits[1]))
    assert top in window.sample_plot.shown_classes()
    window.show_dataset()
    assert "top-5" in window.dataset_panel.metrics_text()
