"""Language-model logits in the window, driven as a user drives it: a tiny BPE + GRU model is
trained on the spot (tests/gui/lm_logits.py), its logits saved with input_ids, attention_mask
and tokenizer.json, opened, and every number checked against cross-entropy written in torch."""

import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lm_logits import make_lm_file, torch_perplexity
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import SURPRISAL_FULL_BITS
from softmax_lab.core.tokens import token_name
from softmax_lab.core.view_state import Sort
from softmax_lab.gui.sequence_view import MAX_ALPHA

LN2 = math.log(2)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return make_lm_file(tmp_path_factory.mktemp("lm"))


def open_file(qtbot, window, path):
    with qtbot.waitSignal(window.sigFileLoaded, timeout=30000):
        window.load_file(path)


@pytest.fixture
def opened(qtbot, window, lm):
    open_file(qtbot, window, lm.path)
    return window


def names(lm):
    return [token_name(t) for t in lm.vocabulary]


def torch_bits(lm, b, t, temperature=1.0):
    """−log2 p of token t of sequence b, predicted at position t − 1, by hand."""
    log_p = torch.log_softmax(torch.from_numpy(lm.logits[b, t - 1]) / temperature, -1)
    return -float(log_p[lm.input_ids[b, t]]) / LN2


def chip_center(tokens, i):
    return QPoint(*map(int, tokens.chip_rect(i).center().toTuple()))


def move_mouse(widget, pos):
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def lengths(lm):
    return lm.attention_mask.sum(1)


# --- opening ------------------------------------------------------------------------------------


def test_opening_lm_logits_shows_the_sequence_tab_and_torchs_perplexity(opened, lm):
    c = opened.controller
    assert c.view.view_tab == "sequence"
    index = opened.view_tabs.names.index("sequence")
    assert opened.view_tabs.isTabVisible(index)
    assert opened.view_tabs.currentWidget() is opened.sequence_view
    used = np.unique(lm.input_ids)
    assert [opened.document.class_names[i] for i in used] == [names(lm)[i] for i in used]
    expected = torch_perplexity(lm)
    model = opened.sequence_view.sequences_model
    shown = [float(model.index(k, 3).data()) for k in range(model.rowCount())]
    np.testing.assert_allclose(shown, expected, rtol=1e-4)
    np.testing.assert_allclose(c.sequences.statistics().perplexity, expected, rtol=1e-5)
    # the whole file's mean loss is the causal-LM loss over every counted position
    x, y = torch.from_numpy(lm.logits), torch.from_numpy(lm.input_ids)
    keep = torch.from_numpy(lm.attention_mask).bool()
    keep = keep[:, :-1] & keep[:, 1:]
    loss = float(F.cross_entropy(x[:, :-1][keep], y[:, 1:][keep]))
    assert opened.document.evaluation.loss == pytest.approx(loss, rel=1e-5)
    header = opened.sequence_view.header.text()
    assert f"perplexity {expected[0]:.4f}"[:16] in header
    assert "Sequence 1 of 4" in header


def test_tokens_read_as_the_text_and_are_coloured_by_their_surprisal(opened, lm):
    tokens = opened.sequence_view.tokens
    n = int(lengths(lm)[0])
    shown = [tokens.chip_text(i) for i in range(n)]
    assert shown == [t.replace("\n", "↵") for t in lm.vocabulary_of(lm.input_ids[0, :n])]
    assert "".join(shown).strip() == lm.sentences[0]
    assert tokens.chip_background(0) is None  # the first token: nothing predicts it
    image = tokens.grab().toImage()
    background = QColor(opened.theme.background)
    checked = 0
    for t in range(1, n):
        bits = torch_bits(lm, 0, t)
        color = tokens.chip_background(t)
        assert color.name() == QColor(opened.theme.incorrect).name()
        alpha = MAX_ALPHA * min(bits / SURPRISAL_FULL_BITS, 1.0)
        assert color.alphaF() == pytest.approx(alpha, abs=1 / 255)
        if t != tokens.selected_chip():
            rect = tokens.chip_rect(t)
            pixel = image.pixelColor(int(rect.left()) + 1, int(rect.top()) + 1)
            for channel in ("red", "green", "blue"):
                mixed = (
                    alpha * getattr(color, channel)() + (1 - alpha) * getattr(background, channel)()
                )
                assert abs(getattr(pixel, channel)() - mixed) <= 3, (t, channel)
            checked += 1
    assert checked >= n - 2
    # the padding after the sentence is shown, without colour, after "what comes next"
    assert tokens.chip_text(n) == "⋯"
    assert tokens.chip_background(n + 1) is None


def test_hovering_a_token_shows_its_top_5_candidates(qtbot, opened, lm):
    view = opened.sequence_view
    tokens = view.tokens
    t = 3
    move_mouse(tokens, chip_center(tokens, t))
    text = view.hover_text()
    assert view.hover.isVisible()
    p = torch.softmax(torch.from_numpy(lm.logits[0, t - 1]), -1)
    top = torch.topk(p, 5)
    lines = text.splitlines()
    assert f"→ next “{names(lm)[lm.input_ids[0, t]]}”" in lines[0]
    first = lines.index("top 5 next tokens:") + 1
    for k, (token, prob) in enumerate(zip(top.indices.tolist(), top.values.tolist(), strict=True)):
        assert lines[first + k].startswith(f"{k + 1}. {names(lm)[token]}")
        assert f"{prob:.4f}"[:5] in lines[first + k]
    move_mouse(tokens, QPoint(tokens.width() - 3, tokens.height() - 3))
    assert not view.hover.isVisible()


def test_clicking_a_token_selects_its_position_and_names_the_tokens_everywhere(qtbot, opened, lm):
    tokens = opened.sequence_view.tokens
    t = 5
    QTest.mouseClick(tokens, Qt.MouseButton.LeftButton, pos=chip_center(tokens, t))
    t_rows = lm.logits.shape[1]
    assert opened.selected_sample == t - 1  # the position whose distribution predicted it
    assert tokens.selected_chip() == t
    want = names(lm)
    target = want[lm.input_ids[0, t]]
    p = torch.softmax(torch.from_numpy(lm.logits[0, t - 1]), -1)
    best = want[int(p.argmax())]
    details = opened.sequence_view.details.text()
    assert f"“{target}”" in details
    assert best in details
    # the Formula tab writes the position out with token names
    opened.controller.update_view(side_tab="formula")
    assert target in opened.formula_panel.text()
    # the Top-k/p tab keeps what a sampler at T would, by name
    opened.controller.update_view(side_tab="sampling", top_k=3)
    kept = opened.sampling_panel.kept_classes()
    assert kept == torch.topk(p, 3).indices.tolist()
    # and the Sample tab's plots show the position's top tokens by name
    opened.controller.update_view(view_tab="sample")
    plot = opened.sample_plot
    assert plot.shown_classes()[0] == int(p.argmax())
    assert plot._logit_axis.labels()[0] == best[:14] or best.startswith(
        plot._logit_axis.labels()[0].rstrip("…")
    )
    assert target in plot.heading_text()
    assert opened.gradient_plot.isVisible()
    assert t_rows * 4 == opened.document.n_samples


def test_arrow_keys_step_through_positions(qtbot, opened, lm):
    tokens = opened.sequence_view.tokens
    QTest.mouseClick(tokens, Qt.MouseButton.LeftButton, pos=chip_center(tokens, 2))
    assert opened.selected_sample == 1
    QTest.keyClick(tokens, Qt.Key.Key_Right)
    assert opened.selected_sample == 2
    QTest.keyClick(tokens, Qt.Key.Key_Right)
    assert opened.selected_sample == 3
    for _ in range(3):
        QTest.keyClick(tokens, Qt.Key.Key_Left)
    assert opened.selected_sample == 0
    assert tokens.selected_chip() == 1
    QTest.keyClick(tokens, Qt.Key.Key_Left)  # the first token opens nothing: it stays
    assert opened.selected_sample == 0


def test_the_sequences_table_picks_a_sequence(qtbot, opened, lm):
    view = opened.sequence_view
    table = view.sequences
    rect = table.visualRect(table.model().index(2, 0))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    t_rows = lm.logits.shape[1]
    assert opened.selected_sample == 2 * t_rows
    assert "Sequence 3 of 4" in view.header.text()
    n = int(lengths(lm)[2])
    shown = [view.tokens.chip_text(i) for i in range(n)]
    assert shown == [t.replace("\n", "↵") for t in lm.vocabulary_of(lm.input_ids[2, :n])]
    # sorted by perplexity, highest first, the worst sequence comes first
    table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    worst = int(np.argmax(torch_perplexity(lm)))
    assert table.model().index(0, 0).data() == str(worst + 1)


def test_the_table_lists_positions_with_ranks_and_sorts_the_most_surprising_first(
    qtbot, opened, lm
):
    c = opened.controller
    model = opened.table_model
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    for wanted in ("target", "top-1", "p(target)", "loss", "sequence", "position", "token"):
        assert wanted in headers
    qtbot.waitUntil(lambda: c.sequences.ranks() is not None, timeout=20000)
    rank_column = headers.index("rank")
    flat = lm.logits.reshape(-1, lm.logits.shape[-1])
    targets = opened.document.labels
    for row in range(20):
        text = model.index(row, rank_column).data()
        if targets[row] < 0:
            assert text == "—"
        else:
            expected = int((flat[row] > flat[row, targets[row]]).sum()) + 1
            assert text == str(expected)
    c.set_sort(Sort("loss", True))
    ev = opened.document.evaluation
    worst = [model.sample_at(r) for r in range(5)]
    assert list(ev.losses[worst]) == sorted(ev.losses[ev.valid], reverse=True)[:5]
    token_column = headers.index("token")
    assert model.index(0, token_column).data() == names(lm)[lm.input_ids.reshape(-1)[worst[0]]]


def test_temperature_recolours_the_text_live(qtbot, opened, lm):
    opened.controls.temperature.setValue(0.5)
    tokens = opened.sequence_view.tokens
    bits = torch_bits(lm, 0, 2, temperature=0.5)
    alpha = MAX_ALPHA * min(bits / SURPRISAL_FULL_BITS, 1.0)
    assert tokens.chip_background(2).alphaF() == pytest.approx(alpha, abs=1 / 255)
    x = torch.from_numpy(lm.logits[0]) / 0.5
    n = int(lengths(lm)[0])
    y = torch.from_numpy(lm.input_ids[0])
    expected = math.exp(float(F.cross_entropy(x[: n - 1], y[1:n])))
    assert opened.controller.sequences.statistics().perplexity[0] == pytest.approx(
        expected, rel=1e-5
    )


def attach_tokenizer(qtbot, window, path) -> None:
    """Attach ``path`` and wait for the "tokenizer" job that reads it to end."""
    read = window.controller.jobs.sigBusy
    with qtbot.waitSignal(
        read, check_params_cb=lambda kind, busy: kind == "tokenizer" and not busy
    ):
        window.files.attach_tokenizer(path)


def test_choosing_a_tokenizer_renames_tokens_and_a_wrong_one_changes_nothing(
    qtbot, window, lm, tmp_path
):
    alone = tmp_path / "alone"
    alone.mkdir()
    np.savez(alone / "lm.npz", logits=lm.logits, input_ids=lm.input_ids)
    open_file(qtbot, window, alone / "lm.npz")
    v = lm.logits.shape[-1]
    assert window.document.class_names == [f"#{i}" for i in range(v)]
    assert window.sequence_view.tokens.chip_text(1) == f"#{lm.input_ids[0, 1]}"
    wrong = tmp_path / "vocab.txt"
    wrong.write_text("a\nb\n")
    attach_tokenizer(qtbot, window, wrong)
    assert "has 2 tokens but the logits have" in window.statusBar().currentMessage()
    assert window.document.class_names[0] == "#0"
    attach_tokenizer(qtbot, window, lm.tokenizer_path)
    used = np.unique(lm.input_ids)
    assert [window.document.class_names[i] for i in used] == [names(lm)[i] for i in used]
    assert window.sequence_view.tokens.chip_text(1) == lm.vocabulary[lm.input_ids[0, 1]]
    window.controller.undo()
    assert window.sequence_view.tokens.chip_text(1) == f"#{lm.input_ids[0, 1]}"


def test_hostile_ids_load_nothing_and_say_why(qtbot, window, lm, tmp_path):
    folder = tmp_path / "ids"
    folder.mkdir()
    v = lm.logits.shape[-1]
    ids = lm.input_ids.copy()
    ids[1, 2] = v + 5
    shutil.copy(lm.tokenizer_path, folder / "tokenizer.json")
    np.savez(folder / "lm.npz", logits=lm.logits, input_ids=ids, attention_mask=lm.attention_mask)
    before = window.document.snapshot()
    with qtbot.waitSignal(window.sigLoadFailed, timeout=30000) as blocker:
        window.load_file(folder / "lm.npz")
    message = blocker.args[0]
    assert f"token ids in 0..{v - 1}" in message
    assert f"found {v + 5}" in message
    np.testing.assert_array_equal(window.document.logits, before[0])
    assert not window.controller.sequences.active
    assert not window.view_tabs.isTabVisible(window.view_tabs.names.index("sequence"))


def test_a_vocabulary_that_does_not_fit_is_ignored_with_a_notice(qtbot, window, lm, tmp_path):
    """A stray vocab.txt beside the logits never blocks them (issue 20): they open, ids as names."""
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    v = lm.logits.shape[-1]
    (folder / "vocab.txt").write_text("".join(f"t{i}\n" for i in range(v - 1)))
    np.savez(
        folder / "lm.npz",
        logits=lm.logits,
        input_ids=lm.input_ids,
        attention_mask=lm.attention_mask,
    )
    with qtbot.waitSignal(window.sigFileLoaded, timeout=30000):
        window.load_file(folder / "lm.npz")
    assert window.document.logits.shape[1] == v
    assert window.controller.sequences.active
    # the whole message is the status bar's tooltip (the bar itself elides it to its room)
    assert f"has {v - 1:,} tokens but the logits have {v:,} classes" in window.statusBar().toolTip()


def test_undoing_the_open_hides_the_sequence_tab(qtbot, opened):
    opened.controller.undo()
    assert not opened.controller.sequences.active
    assert not opened.view_tabs.isTabVisible(opened.view_tabs.names.index("sequence"))
    assert opened.controller.view.view_tab == "sample"
    opened.controller.redo()
    assert opened.view_tabs.isTabVisible(opened.view_tabs.names.index("sequence"))


def test_logits_without_ids_show_the_models_tokens(qtbot, window, lm, tmp_path):
    np.save(tmp_path / "lm.npy", lm.logits)
    open_file(qtbot, window, tmp_path / "lm.npy")
    view = window.sequence_view
    top = lm.logits[1].argmax(-1)
    window.controller.select(lm.logits.shape[1])  # sequence 2
    assert [view.tokens.chip_text(i) for i in range(5)] == [f"#{i}" for i in top[:5]]
    assert view.tokens.chip_background(0) is None
    assert "no token ids" in view.legend.text()


def test_large_tables_take_option_changes_in_the_background(qtbot, opened, lm):
    c, doc = opened.controller, opened.document
    c.background.cells = 0  # as if this table were 2,048 x 128,256
    slider = opened.controls.temperature_slider
    slider.setSliderDown(True)
    start = slider.value()
    for step in range(1, 6):
        slider.setValue(start - 40 * step)
    assert c.background.busy
    assert opened.controls.temperature.value() == pytest.approx(c.requested_settings.temperature)
    slider.setSliderDown(False)
    slider.sliderReleased.emit()
    wanted = c.requested_settings.temperature
    qtbot.waitUntil(lambda: not c.background.busy, timeout=30000)
    assert doc.settings.temperature == wanted
    assert slider.value() == start - 200  # the slider never jumped back meanwhile
    # The status bar no longer says it is recomputing: it says what was done.
    assert opened.statusBar().toolTip().startswith(f"Recomputed {doc.n_samples:,} × ")
    assert f"T = {fmt.short(wanted)}" in opened.statusBar().toolTip()
    bits = torch_bits(lm, 0, 2, temperature=wanted)
    alpha = MAX_ALPHA * min(bits / SURPRISAL_FULL_BITS, 1.0)
    assert opened.sequence_view.tokens.chip_background(2).alphaF() == pytest.approx(
        alpha, abs=1 / 255
    )
    assert doc.undo_text == "Change temperature"
    doc.undo()  # the whole drag was one step
    assert doc.settings.temperature == 1.0
    # a bad value is refused at once, and nothing waits
    assert not c.set_options(temperature=-1.0)
    assert "Not changed" in opened.statusBar().currentMessage()
    assert not c.background.busy
    # an undo while a change computes cancels it
    c.set_options(temperature=0.3)
    doc.undo()
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not c.background.busy, timeout=30000)
    assert doc.settings.temperature == 1.0


def test_top_k_and_top_p_act_on_every_position(qtbot, opened, lm):
    c = opened.controller
    qtbot.waitUntil(lambda: c.sequences.ranks() is not None, timeout=20000)
    model = opened.table_model
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    assert "sampled" not in headers  # no sampler yet
    c.update_view(top_k=1)
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    sampled = headers.index("sampled")
    flat = torch.from_numpy(lm.logits.reshape(-1, lm.logits.shape[-1]))
    targets = opened.document.labels
    for row in range(lm.logits.shape[1]):
        if targets[row] < 0:
            continue
        top1 = int(flat[row].argmax()) == targets[row]
        assert model.index(row, sampled).data() == ("true" if top1 else "false")
    tokens = opened.sequence_view.tokens
    n = int(lengths(lm)[0])
    for t in range(1, n):
        top1 = int(flat[t - 1].argmax()) == lm.input_ids[0, t]
        assert tokens.chip_outside(t) == (not top1), t
    assert "outside top-k 1" in opened.sequence_view.header.text()
    # top-p alone, at a new temperature: the mass of the tokens above the target, by hand
    c.update_view(top_k=0, top_p=0.5)
    opened.controls.temperature.setValue(2.0)
    qtbot.waitUntil(
        lambda: c.sequences._places is not None and c.sequences._places.temperature == 2.0,
        timeout=20000,
    )
    p = torch.softmax(flat[: n - 1] / 2.0, -1)
    for t in range(1, n):
        y = int(lm.input_ids[0, t])
        above = float(p[t - 1][p[t - 1] > p[t - 1, y]].sum())
        assert c.sequences._places.mass_above[t - 1] == pytest.approx(above, abs=1e-5)
        assert tokens.chip_outside(t) == (not above < 0.5), t
    move_mouse(tokens, chip_center(tokens, 2))
    assert "top-p 0.5 would" in opened.sequence_view.hover_text()


def test_on_stage_the_caption_counts_sequences_positions_and_tokens(qtbot, opened, lm):
    b, t, v = lm.logits.shape
    opened.controller.update_view(presentation=True)
    text = opened.caption.caption_text().replace("\u00a0", " ")  # parts wrap whole
    assert text.startswith(f"{lm.path.name}\n{b} sequences · {b * t} positions × {v} tokens")
    assert "mean loss" in text
    opened.controller.update_view(presentation=False)
    opened.document.mark_clean()
