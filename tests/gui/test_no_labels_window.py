"""A file without labels opens into a working window (no NaN, nothing drawn empty), Open labels
attaches them as one undo step, and binary scores are sigmoids."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtWidgets import QFileDialog

from softmax_lab.gui import MainWindow
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.table_model import NO_LABELS_TEXT, Column

N, C = 120, 5


@pytest.fixture
def logits_file(tmp_path):
    rng = np.random.default_rng(4)
    logits = (rng.normal(size=(N, C)) * 2).astype(np.float32)
    path = tmp_path / "logits.npy"
    np.save(path, logits)  # np.save(logits): the most common way, and no labels
    return path, logits


@pytest.fixture
def window(qtbot, logits_file):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.sigFileLoaded, timeout=20000):
        w.load_file(logits_file[0])
    return w


def open_labels(qtbot, w, monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    read = w.controller.jobs.sigBusy  # the file is read in the "labels" job
    with qtbot.waitSignal(read, check_params_cb=lambda kind, busy: kind == "labels" and not busy):
        w.inputs_ui.open_labels_action.trigger()


def visible_texts(w):
    titles = [
        w.sample_plot.heading_text(),
        w.summary.text(),
        w.heatmap.getPlotItem().titleLabel.text,
    ]
    titles += [kit.title_of(p) for p in (w.sample_plot.logit_plot, w.sample_plot.probability_plot)]
    return titles


def test_every_view_has_content_and_no_nan(qtbot, window):
    w = window
    assert not w.document.has_labels
    model = w.table_model
    for kind in (Column.P_TRUE, Column.LOSS, Column.MARK):
        assert model.index(0, model.column_of(kind)).data() == NO_LABELS_TEXT
    assert model.index(0, model.column_of(Column.PREDICTION)).data().startswith("class ")
    assert model.index(0, model.column_of(Column.LABEL)).data() == "—"
    assert all("NaN" not in text for text in visible_texts(w))
    assert "no label" in w.controller.sample_view().heading
    # The plots that need labels give way to the notice; the others draw the data.
    assert not w.loss_plot.isVisible()
    assert not w.gradient_plot.isVisible()
    assert not w.curve_plot.isVisible()
    assert w.inputs_ui.notice.isVisible()
    assert "Open labels" in w.inputs_ui.notice.button.text()
    assert w.sample_plot.isVisible()
    assert w.heatmap.isVisible()
    probabilities = np.asarray(w.sample_plot.probability_bars.getData()[1], dtype=float)
    assert probabilities.sum() == pytest.approx(1.0, rel=1e-5)
    assert "no labels" in w.statusBar().currentMessage()


def test_the_dataset_tab_shows_what_needs_no_labels(qtbot, window, logits_file):
    w = window
    w.show_dataset()
    tabs = w.dataset_panel.tabs
    visible = [tabs.tabText(i) for i in range(tabs.count()) if tabs.isTabVisible(i)]
    assert visible == ["Predictions"]
    view = w.dataset_panel.predictions_view
    assert view.isVisible()
    p = torch.softmax(torch.tensor(logits_file[1], dtype=torch.float64), 1)
    assert view.heights("confidence").sum() == N
    assert view.heights("entropy").sum() == N
    np.testing.assert_array_equal(
        view.heights("predicted"), np.bincount(p.argmax(1).numpy(), minlength=C)
    )
    top2 = torch.topk(p, 2, 1).values
    margin = (top2[:, 0] - top2[:, 1]).numpy()
    assert view.listed("margin")[0] == int(np.argmin(margin))
    entropy = torch.special.entr(p).sum(1).numpy()
    assert view.listed("entropy")[0] == int(np.argmax(entropy))
    assert all("NaN" not in t for t in view.titles().values())
    assert "NaN" not in view.headline.text()
    assert "no labels" in view.headline.text()
    view.margin_table.setCurrentCell(2, 0)
    view.margin_table.activated.emit(view.margin_table.currentIndex())
    assert w.selected_sample == view.listed("margin")[2]


def test_open_labels_attaches_them_in_one_undo_step(qtbot, window, logits_file, monkeypatch):
    w = window
    labels = np.random.default_rng(5).integers(0, C, N)
    path = logits_file[0].parent / "labels.txt"
    path.write_text("\n".join(f"class {v}" for v in labels))  # class names work too
    open_labels(qtbot, w, monkeypatch, path)
    doc = w.document
    assert doc.has_labels
    assert doc.labels.tolist() == labels.tolist()
    expected = F.cross_entropy(torch.tensor(logits_file[1]), torch.tensor(labels), reduction="none")
    np.testing.assert_allclose(doc.evaluation.losses, expected.numpy(), rtol=1e-5)
    model = w.table_model
    assert model.index(0, model.column_of(Column.LOSS)).data() != NO_LABELS_TEXT
    assert w.loss_plot.isVisible()
    assert w.gradient_plot.isVisible()
    assert w.curve_plot.isVisible()
    assert not w.inputs_ui.notice.isVisible()
    heights = np.asarray(w.loss_plot.bars.getData()[1], dtype=float)
    np.testing.assert_allclose(heights, expected.numpy(), rtol=1e-5)
    w.show_dataset()
    tabs = w.dataset_panel.tabs
    # Every page is back ("A vs B" shows only while two models are compared).
    hidden = [tabs.tabText(i) for i in range(tabs.count()) if not tabs.isTabVisible(i)]
    assert hidden == ["A vs B"]
    assert w.dataset_panel.summary.n_valid == N
    assert doc.undo_text == "Attach labels from labels.txt"
    doc.undo()
    w.controller.update_view(view_tab="sample")
    assert not doc.has_labels
    assert not w.loss_plot.isVisible()
    assert w.inputs_ui.notice.isVisible()
    doc.redo()
    assert doc.has_labels


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1\n2\n", f"2 labels but the table has {N} samples"),
        ("\n".join(["dog"] * N), "dog"),
        ("\n".join(["7"] * N), "0..4"),
    ],
)
def test_bad_labels_files_change_nothing(qtbot, window, monkeypatch, tmp_path, content, message):
    w = window
    path = tmp_path / "bad.txt"
    path.write_text(content)
    before = w.document.snapshot()
    undo = w.document.undo_text
    open_labels(qtbot, w, monkeypatch, path)
    assert "Labels not attached" in w.statusBar().currentMessage()
    assert message in w.statusBar().currentMessage()
    after = w.document.snapshot()
    assert not after[-1]
    assert (after[1] == before[1]).all()
    assert w.document.undo_text == undo


def test_typing_a_label_leaves_no_labels_mode(qtbot, window):
    w = window
    w.controller.edit_label(3, "class 2")
    assert w.document.has_labels
    model = w.table_model
    assert model.index(3, model.column_of(Column.LOSS)).data() != NO_LABELS_TEXT
    assert w.loss_plot.isVisible()


@pytest.mark.parametrize("shape", [(N,), (N, 1)])
def test_binary_scores_open_as_sigmoids_and_their_loss_is_bce(qtbot, tmp_path, shape):
    rng = np.random.default_rng(6)
    z = (rng.normal(size=N) * 3).astype(np.float32)
    y = (z + rng.normal(size=N) > 0).astype(np.int64)
    path = tmp_path / "scores.npz"
    np.savez(path, logits=z.reshape(shape), labels=y)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.sigFileLoaded, timeout=20000):
        w.load_file(path)
    doc = w.document
    assert doc.binary
    assert doc.logits.shape == (N, 2)
    assert "[0, z]" in w.statusBar().currentMessage()
    bce = F.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y, dtype=torch.float32), reduction="none"
    )
    np.testing.assert_allclose(doc.evaluation.losses, bce.numpy(), rtol=1e-5, atol=1e-6)
    w.controller.update_view(side_tab="formula")
    w.select_sample(9)
    text = w.formula_panel.text()
    assert "σ(z)" in text
    assert "BCEWithLogitsLoss" in text
    assert "= the cross-entropy below" in text
    sigma = float(torch.sigmoid(torch.tensor(float(z[9]))))
    assert f"{sigma:.4f}" in text
    w.controller.add_class(1)  # three classes: no longer a sigmoid
    assert "σ(z)" not in w.formula_panel.text()
