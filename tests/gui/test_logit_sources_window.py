"""Where logits come from, in the window: an LLM API's logprobs (chat.json) and a
``generate()`` output open in the Sequence tab, coloured by the surprisal the source gives."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from softmax_lab.core.loaders.logprobs import REST_NAME
from softmax_lab.gui import MainWindow

WORDS = [" The", " cat", " sat", " on", " the", " mat", " 😀", "."]


def open_file(qtbot, window, path):
    with qtbot.waitSignal(window.sigFileLoaded, timeout=30000):
        window.load_file(path)


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


def chat_file(tmp_path):
    """A Chat Completions response: the fourth token is improbable (p = 0.02)."""
    rng = np.random.default_rng(0)
    items = []
    for i, word in enumerate(WORDS):
        p_chosen = 0.02 if i == 3 else float(rng.uniform(0.3, 0.9))
        others = [(" dog", (1 - p_chosen) * 0.5), (" a", (1 - p_chosen) * 0.2)]
        tops = sorted([(word, p_chosen), *others], key=lambda x: -x[1])

        def entry(t, p):
            return {"token": t, "logprob": math.log(p), "bytes": list(t.encode())}

        items.append({**entry(word, p_chosen), "top_logprobs": [entry(t, p) for t, p in tops]})
    body = {"choices": [{"index": 0, "logprobs": {"content": items}}]}
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(body))
    return path, items


def test_chat_json_opens_as_partial_distributions(qtbot, window, tmp_path):
    path, items = chat_file(tmp_path)
    open_file(qtbot, window, path)
    view = window.sequence_view
    assert window.controller.view.view_tab == "sequence"
    tokens = view.tokens
    shown = "".join(tokens.chip_text(i) for i in range(len(WORDS)))
    assert shown.replace("␣", " ") == "".join(WORDS)
    assert "approximation" in view.legend.text()
    expected = math.exp(-np.mean([it["logprob"] for it in items]))
    assert f"perplexity {expected:.3f}"[:15] in view.header.text()
    # the improbable token is the most coloured, and hovering it shows the reported top-k
    # and one bar for the rest
    alphas = [tokens.chip_background(i).alphaF() for i in range(len(WORDS))]
    assert int(np.argmax(alphas)) == 3
    centre = QPoint(*map(int, tokens.chip_rect(3).center().toTuple()))
    move_mouse(tokens, centre)
    text = view.hover_text()
    assert view.hover.isVisible()
    assert "0.02" in text
    assert "→ the API's token “␣on”" in text
    assert REST_NAME in text
    rest = 1 - sum(math.exp(t["logprob"]) for t in items[3]["top_logprobs"])
    line = next(x for x in text.splitlines() if REST_NAME in x)
    assert f"{rest:.3f}"[:4] in line
    window.document.mark_clean()


def test_a_workspace_json_still_opens_as_a_workspace(qtbot, window, tmp_path):
    path, _ = chat_file(tmp_path)
    open_file(qtbot, window, path)
    saved = tmp_path / "lesson.json"  # not named *.softmaxlab.json: its content says it
    window.files.save_workspace(saved)
    other = MainWindow()
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.sigFileLoaded):
        other.load_file(saved)
    assert other.files.workspace_path == saved
    assert other.document.n_samples == window.document.n_samples
    window.document.mark_clean()
    other.document.mark_clean()


@pytest.mark.parametrize("sample", [False, True])
def test_generate_output_opens_with_the_prompt_plain(qtbot, window, tmp_path, sample):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(1)
    config = transformers.GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        vocab_size=40,
        n_positions=32,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config).eval()
    prompt = torch.randint(1, 40, (1, 4))
    out = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=5,
        do_sample=sample,
        top_k=8 if sample else None,
        output_logits=True,
        output_scores=True,
        return_dict_in_generate=True,
    )
    logits = torch.stack(out.logits, 1)
    path = tmp_path / "generated.pt"
    torch.save(
        {"sequences": out.sequences, "logits": logits, "scores": torch.stack(out.scores, 1)}, path
    )
    open_file(qtbot, window, path)
    view = window.sequence_view
    tokens = view.tokens
    for i in range(4):
        assert tokens.chip_background(i) is None  # the prompt: plain
    for i in range(4, 9):
        assert tokens.chip_background(i) is not None
    losses = F.cross_entropy(logits[0], out.sequences[0, 4:], reduction="none")
    expected = float(torch.exp(losses.mean()))
    np.testing.assert_allclose(
        window.controller.sequences.statistics().perplexity, [expected], rtol=1e-5
    )
    move_mouse(tokens, QPoint(*map(int, tokens.chip_rect(1).center().toTuple())))
    assert "no logits at this position" in view.hover_text()  # the prompt: nothing made up
    if not sample:  # greedy: every generated token is the model's top-1
        ev = window.document.evaluation
        assert ev.correct[ev.valid].all()
    window.document.mark_clean()


def test_a_hostile_logprobs_file_changes_nothing_and_says_where(qtbot, window, tmp_path):
    path, _ = chat_file(tmp_path)
    open_file(qtbot, window, path)
    before = np.array(window.document.logits)
    bad = tmp_path / "bad.json"
    body = {"choices": [{"logprobs": {"content": [{"token": "a", "logprob": 0.7}]}}]}
    bad.write_text(json.dumps(body))
    with qtbot.waitSignal(window.sigLoadFailed) as blocker:
        window.load_file(bad)
    assert "bad.json (choice 1, token 1)" in blocker.args[0]
    assert "> 0" in blocker.args[0]
    np.testing.assert_array_equal(window.document.logits, before)
    window.document.mark_clean()
