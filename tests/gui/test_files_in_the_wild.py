"""The window on files users bring: a decision tree's −∞ log-probabilities (every error keeps its
place in the Dataset tab) and a model B whose binary scores all lie in [0, 1] (the window asks)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from softmax_lab.core.document import Document
from softmax_lab.gui import MainWindow
from softmax_lab.gui import plotkit as kit

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier


def click_tab(qtbot, window, title: str) -> None:
    bar = window.view_tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.view_tabs.currentIndex() == index


def test_a_trees_errors_keep_their_place_in_the_dataset_tab(qtbot, window, tmp_path):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
    tree = DecisionTreeClassifier(random_state=0).fit(x_train, y_train)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_p = tree.predict_log_proba(x_test)
    np.savez(tmp_path / "tree.npz", logits=log_p, labels=y_test)
    with qtbot.waitSignal(window.sigFileLoaded, timeout=30000):
        window.load_file(tmp_path / "tree.npz")
    click_tab(qtbot, window, "Dataset")
    panel = window.dataset_panel
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=30000)
    predicted = tree.predict(x_test)
    errors = int((predicted != y_test).sum())
    assert errors > 100
    # The confusion matrix the view draws is scikit-learn's, every sample in it.
    np.testing.assert_array_equal(
        panel.confusion_view.displayed(), confusion_matrix(y_test, predicted)
    )
    # The metrics say ∞ and why, with the finite mean beside it (torch: +∞ too).
    text = panel.metrics_view.summary_label.text()
    assert F.cross_entropy(torch.tensor(log_p), torch.tensor(y_test)).item() == np.inf
    assert f"mean loss = ∞ ({errors:,} samples with p(true) = 0)" in text
    assert "mean over the finite losses = 0" in text
    assert f"{errors:,} rows with p(true) = 0" in text
    assert "0 without a prediction" in text
    # ECE: the tree is sure of every prediction, so it is its error rate.
    assert f"ECE = {errors / len(y_test):.4f}" in text
    assert f"N = {len(y_test):,}" in panel.reliability_view.title()
    assert f"(with {errors:,} losses of ∞)" in kit.title_of(panel.histograms.loss_plot)
    # The table shows each error's prediction (argmax), marked wrong, not NaN.
    model = window.table_model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    pred_col = next(c for c, h in enumerate(headers) if h.startswith("pred"))
    mark_col = next(c for c, h in enumerate(headers) if h.startswith("✓"))
    row = next(
        r
        for r in range(model.rowCount())
        if predicted[model.sample_at(r)] != y_test[model.sample_at(r)]
    )
    sample = model.sample_at(row)
    assert model.index(row, pred_col).data() == window.controller.class_names[predicted[sample]]
    assert model.index(row, mark_col).data() == "✗"


def answer(qtbot, button: QMessageBox.StandardButton, seen: list[str]) -> QTimer:
    """Click ``button`` of the next question box with the mouse, noting its text."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            timer.stop()
            seen.append(box.text())
            qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    timer = QTimer()
    timer.timeout.connect(click)
    timer.start(20)
    return timer


@pytest.mark.parametrize("reply", ["yes", "no"])
def test_model_b_scores_in_0_1_are_asked_about(qtbot, tmp_path, reply):
    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    z = LogisticRegression(max_iter=1000).fit(x, y).decision_function(x)
    p = LogisticRegression(C=0.001, max_iter=1000).fit(x, y).predict_proba(x)[:, 1]
    assert ((p > 0) & (p < 1)).all()
    np.save(tmp_path / "b.npy", p)
    a = np.column_stack([np.zeros_like(z), z])
    w = MainWindow(Document(a, y, ["benign", "malignant"]))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    seen: list[str] = []
    button = QMessageBox.StandardButton.Yes if reply == "yes" else QMessageBox.StandardButton.No
    timer = answer(qtbot, button, seen)
    with qtbot.waitSignal(w.controller.compare.sigCompared, timeout=30000):
        w.files.compare_file(tmp_path / "b.npy")
    timer.stop()
    assert len(seen) == 1
    assert "Every score of b.npy is in [0, 1]" in seen[0]
    text = w.compare_ui.bar.plain_text().replace("−", "-")
    if reply == "yes":
        expected = log_loss(y, p)  # the probabilities' loss, as scikit-learn computes it
    else:
        target = torch.tensor(y, dtype=torch.float64)
        expected = F.binary_cross_entropy_with_logits(torch.tensor(p), target).item()
        # The status bar names the other reading first (elided there; whole in its tooltip).
        assert "its scores all lie in [0, 1]" in w.statusBar().currentMessage()
        assert "open it again as probabilities" in w.statusBar().toolTip()
    assert (
        f"B = b: accuracy {100 * np.mean((p > (0.5 if reply == 'yes' else 0)) == y):.1f}%" in text
    )
    assert f"mean loss {expected:.4f}" in text
    w.document.mark_clean()
