"""Dataset debugging in the window: confusion click filters the table, fit T applies it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_lab.core.metrics import confusion_matrix
from softmax_lab.gui import MainWindow


@pytest.fixture
def window(qtbot):
    rng = np.random.default_rng(0)
    n, c = 400, 6
    labels = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c))
    logits[np.arange(n), labels] += 2.0
    logits *= 3.0  # over-confident: the best temperature is well above 1
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.document.replace_all(logits, labels, [f"c{i}" for i in range(c)])
    return w


def test_dataset_tab_updates_when_shown(window):
    window.show_dataset()
    ev = window.document.evaluation
    expected = confusion_matrix(ev.targets, ev.predictions, ev.n_classes, ev.valid)
    np.testing.assert_array_equal(window.dataset_panel.summary.confusion, expected)
    window.document.set_logits([0], [0], 50.0)
    window.show_dataset()
    ev = window.document.evaluation
    assert window.dataset_panel.summary.confusion.sum() == ev.valid.sum()
    assert ev.predictions[0] == 0


def test_clicking_a_confusion_cell_filters_the_table(window):
    window.show_dataset()
    ev = window.document.evaluation
    confusion = window.dataset_panel.summary.confusion.copy()
    np.fill_diagonal(confusion, 0)
    t, p = np.unravel_index(int(np.argmax(confusion)), confusion.shape)
    window.dataset_panel.sigConfusionCellClicked.emit(int(t), int(p))
    model = window.table_model
    shown = [model.sample_at(r) for r in range(model.rowCount())]
    expected = np.flatnonzero((ev.targets == t) & (ev.predictions == p))
    assert sorted(shown) == sorted(expected.tolist())
    losses = ev.losses[shown]
    assert list(losses) == sorted(losses, reverse=True)
    assert window.selected_sample == shown[0]


def test_fit_temperature_applies_the_best_t(qtbot, window):
    window.show_dataset()
    with qtbot.waitSignal(window.controller.sigTemperatureFitted, timeout=60000) as blocker:
        window.dataset_panel.fit_button.click()
    fit = blocker.args[0]
    doc = window.document
    assert doc.settings.temperature == pytest.approx(fit.temperature, abs=1e-4)
    assert fit.temperature > 1.2  # the data were made over-confident
    x = torch.tensor(doc.logits)
    y = torch.tensor(doc.labels)
    grid = [float(F.cross_entropy(x / t, y)) for t in np.linspace(1, 8, 141)]
    assert fit.nll_after <= min(grid) + 1e-4
    assert doc.evaluation.loss == pytest.approx(fit.nll_after, rel=1e-4)
    doc.undo()
    assert doc.settings.temperature == 1.0


def test_label_issue_activation_selects_the_sample(window):
    window.show_dataset()
    worst = int(window.dataset_panel.summary.ranking[0])
    window.dataset_panel.sigSampleActivated.emit(worst)
    assert window.selected_sample == worst
    assert window.document.evaluation.p_true[worst] == window.document.evaluation.p_true.min()
