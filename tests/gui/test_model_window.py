"""A live model in the window: type a prompt, step a generation, classify lines and images.

Models are random-init and built in the test (tests/model_folders.py); no download anywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_folders import classifier_folder, gpt2_folder, random_image, transformers
from PySide6.QtCore import Qt

from softmax_lab.core.models import load_model
from softmax_lab.gui import MainWindow

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "The loss of a sentence"


@pytest.fixture(scope="module")
def gpt2_path(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def _open(qtbot, window, path):
    session = window.controller.model
    with qtbot.waitSignal(session.sigModelChanged, timeout=60_000):
        window.model_ui.open(path)
    return session


def test_typing_a_prompt_makes_one_row_per_token(qtbot, window, gpt2_path):
    session = _open(qtbot, window, gpt2_path)
    panel = window.model_ui.panel
    assert panel.isVisible()
    assert panel.generate_row.isVisible()
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.keyClicks(panel.editor, PROMPT)
    model = load_model(gpt2_path)
    ids = model.encode(PROMPT)
    document = window.document
    assert document.logits.shape == (len(ids), model.n_classes)
    np.testing.assert_allclose(document.logits, model.logits(PROMPT), atol=1e-5)
    assert document.labels.tolist() == [*ids[1:].tolist(), -100]
    assert window.controller.selected == len(ids) - 1  # the last position: what comes next
    assert window.document.class_names[ids[1]] != ""
    # typing on re-runs the model; the table follows the text
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.keyClicks(panel.editor, " is")
    assert document is not window.document or window.document.logits.shape[0] == len(
        model.encode(PROMPT + " is")
    )
    assert window.document.logits.shape[0] == len(model.encode(PROMPT + " is"))


def test_step_play_back_through_a_generation(qtbot, window, gpt2_path):
    session = _open(qtbot, window, gpt2_path)
    panel = window.model_ui.panel
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.keyClicks(panel.editor, PROMPT)
    n = window.document.logits.shape[0]
    window.controller.update_view(top_k=1)  # greedy: transformers' generate is the oracle
    for _ in range(3):
        with qtbot.waitSignal(session.sigRan, timeout=60_000):
            qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert window.document.logits.shape[0] == n - 1 + 3
    assert window.controller.selected == n - 1 + 3 - 1
    assert "rank 1 (greedy)" in panel.why.text()
    assert panel.status.text() == "3 drawn"
    reference = transformers.AutoModelForCausalLM.from_pretrained(gpt2_path).eval()
    model = load_model(gpt2_path)
    ids = model.encode(PROMPT)
    out = reference.generate(
        __import__("torch").as_tensor(ids)[None],
        max_new_tokens=3,
        min_new_tokens=3,
        do_sample=False,
        pad_token_id=0,
    )[0].numpy()
    assert window.document.labels[n - 1 :].tolist() == out[len(ids) :].tolist()
    qtbot.mouseClick(panel.back_button, Qt.MouseButton.LeftButton)
    assert window.document.logits.shape[0] == n - 1 + 2
    assert panel.status.text() == "2 drawn"
    # Play draws until stopped
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    assert panel.play_button.text() == "Stop"
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    assert not session.playing
    assert panel.play_button.text() == "Play"


def test_a_step_evaluates_only_its_new_row_while_the_table_is_untouched(
    qtbot, window, gpt2_path, monkeypatch
):
    """Step clicked three times: the second and third pass over one row (the row drawn), and
    the numbers shown are core.evaluate's of the whole table; after a cell edit (the table is
    no longer the generator's) the next Step evaluates the whole table again."""
    from softmax_lab.core import evaluating

    rows_passed: list[int] = []
    real = evaluating.row_stats

    def counting(x, *args, **kwargs):
        rows_passed.append(int(x.shape[0]))
        return real(x, *args, **kwargs)

    monkeypatch.setattr(evaluating, "row_stats", counting)
    session = _open(qtbot, window, gpt2_path)
    panel = window.model_ui.panel
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.keyClicks(panel.editor, PROMPT)

    def step() -> list[int]:
        rows_passed.clear()
        with qtbot.waitSignal(session.sigRan, timeout=60_000):
            qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
        passed = list(rows_passed)
        document = window.document
        whole = evaluating.evaluate(
            document.logits, document.target(), **document.settings.evaluate_kwargs()
        )
        np.testing.assert_array_equal(document.evaluation.losses, whole.losses)
        np.testing.assert_array_equal(document.evaluation.predictions, whole.predictions)
        assert document.evaluation.loss == whole.loss
        return passed

    n = window.document.n_samples
    assert step() == [n]  # the first step: prompt + one row, all new
    assert step() == [1]
    assert step() == [1]
    assert window.controller.edit_logit(0, 0, "3.5")  # the user edits the generated table
    assert step() == [window.document.n_samples]


def _type_top_k(qtbot, window, k):
    """Type k into the Top-k/p tab's top-k box, as a user does (select all, type, Enter)."""
    window.side_tabs.setCurrentIndex(window.side_tabs.indexOf(window.sampling_panel))
    spin = window.sampling_panel.top_k
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, str(k))
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.controller.view.top_k == k


def _drawn_as_kept(plot):
    """The shown classes whose probability bar is painted solid (kept), read off the brushes."""
    brushes = plot.probability_bars.opts["brushes"]
    solid = [b.style() == Qt.BrushStyle.SolidPattern for b in brushes]
    return {int(c) for c, s in zip(plot.shown_classes(), solid, strict=True) if s}


def test_the_kept_set_is_drawn_on_the_probability_bars(qtbot, window, gpt2_path):
    session = _open(qtbot, window, gpt2_path)
    panel, plot = window.model_ui.panel, window.sample_plot
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        qtbot.keyClicks(panel.editor, PROMPT)
    bar = window.view_tabs.tabBar()  # the Sample tab: the probability bars
    index = window.view_tabs.names.index("sample")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.view_tabs.currentWidget().isVisible()
    # the live prompt distribution with no top-k / top-p: every bar kept, no cut
    assert _drawn_as_kept(plot) == set(plot.shown_classes().tolist())
    assert not plot.kept.cut.isVisible()
    assert "no top-k / top-p" in plot.kept.caption_text
    _type_top_k(qtbot, window, 3)
    # at top-k 3 the prompt's last position already shows its three kept tokens
    last = window.document.logits[-1]
    assert _drawn_as_kept(plot) == set(np.argsort(-last)[:3].tolist())
    n = window.document.logits.shape[0]
    for _ in range(3):
        with qtbot.waitSignal(session.sigRan, timeout=60_000):
            qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    oracle = load_model(gpt2_path).generate(PROMPT, 3, top_k=3, seed=0)  # core, same seed
    assert window.document.labels[n - 1 :].tolist() == oracle.drawn.tolist()
    for step in (2, 1):
        row = n - 1 + step
        assert window.controller.selected == row
        kept = set(np.flatnonzero(oracle.kept[step]).tolist())
        assert len(kept) == 3
        assert _drawn_as_kept(plot) == kept
        assert plot.kept_classes() == [c for c in plot.shown_classes().tolist() if c in kept]
        # the drawn token: a triangle under its bar, named in the caption
        drawn = int(oracle.drawn[step])
        slot = plot.shown_classes().tolist().index(drawn)
        assert plot.kept.drawn.isVisible()
        assert plot.kept.drawn.data["x"][0] == slot
        caption = plot.kept.caption_text
        assert "kept: 3 of" in caption
        assert "drew" in caption
        assert plot.kept.cut.isVisible()
        assert plot.kept.cut.value() == 2.5  # the kept bars are the three leftmost
        qtbot.keyClick(window.table, Qt.Key.Key_Up)  # the step before
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    row = n - 1 + 1
    assert window.controller.selected == row
    # changing top-k in the control redraws the kept set of the selected step
    _type_top_k(qtbot, window, 5)
    top5 = set(np.argsort(-window.document.logits[row])[:5].tolist())
    assert _drawn_as_kept(plot) == top5
    assert "kept: 5 of" in plot.kept.caption_text
    assert plot.kept.cut.value() == 4.5
    _type_top_k(qtbot, window, 0)  # off: nothing dropped, no cut
    assert _drawn_as_kept(plot) == set(plot.shown_classes().tolist())
    assert not plot.kept.cut.isVisible()


def test_a_classifier_reads_one_text_per_line(qtbot, window, tmp_path):
    path = classifier_folder(tmp_path / "bert")
    session = _open(qtbot, window, path)
    panel = window.model_ui.panel
    assert not panel.generate_row.isVisible()
    lines = ["softmax turns logits into probabilities", "the loss", "greedy decoding"]
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        panel.editor.setPlainText("\n".join(lines))
    assert window.document.class_names == ["negative", "neutral", "positive"]
    model = load_model(path)
    np.testing.assert_allclose(window.document.logits, model.logits(lines), atol=1e-5)
    # a label typed by the user survives the next re-run of the lines
    assert window.controller.edit_label(1, "positive")
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        panel.editor.setPlainText("\n".join([*lines, "a fourth line"]))
    assert window.document.labels.tolist()[:3] == [-100, 2, -100]
    assert window.document.logits.shape[0] == 4


def test_dropped_images_go_to_an_image_classifier(qtbot, window, tmp_path):
    from model_folders import vit_folder
    from PIL import Image

    path = vit_folder(tmp_path / "vit")
    session = _open(qtbot, window, path)
    assert not window.model_ui.panel.editor.isVisible()
    files = []
    for i in range(2):
        file = tmp_path / f"img{i}.png"
        Image.fromarray(random_image(i)).save(file)
        files.append(str(file))
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        assert window.model_ui.drop_images(files)
    assert window.document.class_names == ["cat", "dog", "bird", "fish"]
    np.testing.assert_allclose(
        window.document.logits, load_model(path).logits([Path(f) for f in files]), atol=1e-5
    )


def test_a_folder_without_safetensors_is_refused_and_the_table_stays(qtbot, window, tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    (folder / "pytorch_model.bin").write_bytes(b"x")
    before = np.array(window.document.logits)
    session = window.controller.model
    with qtbot.waitSignal(session.sigFailed, timeout=60_000) as blocker:
        window.model_ui.open(folder)
    assert "unpickling runs code" in blocker.args[0]
    assert "unpickling runs code" in window.statusBar().currentMessage()
    np.testing.assert_array_equal(window.document.logits, before)
    assert not window.model_ui.panel.isVisible()


def test_an_empty_and_a_huge_prompt_leave_the_table(qtbot, window, gpt2_path):
    session = _open(qtbot, window, gpt2_path)
    with qtbot.waitSignal(session.sigRan, timeout=60_000):
        window.model_ui.panel.editor.setPlainText(PROMPT)
    before = np.array(window.document.logits)
    with qtbot.waitSignal(session.sigFailed, timeout=60_000) as blocker:
        window.model_ui.panel.editor.setPlainText("x" * 100_000)
    assert "reads at most" in blocker.args[0] or "characters" in blocker.args[0]
    np.testing.assert_array_equal(window.document.logits, before)
    window.model_ui.panel.editor.setPlainText("   ")
    qtbot.waitUntil(lambda: "Type a prompt" in window.statusBar().currentMessage())
    np.testing.assert_array_equal(window.document.logits, before)


def test_view_model_with_a_model_in_memory(qtbot, gpt2_path):
    import softmax_lab

    model = transformers.AutoModelForCausalLM.from_pretrained(gpt2_path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(gpt2_path)
    viewer = softmax_lab.view_model(model, tokenizer, text=PROMPT, show=False)
    try:
        session = viewer.window.controller.model
        qtbot.waitUntil(
            lambda: viewer.window.document.logits.shape[1] == len(tokenizer), timeout=60_000
        )
        assert session.kind == "causal-lm"
        assert viewer.window.model_ui.panel.editor.toPlainText() == PROMPT
    finally:
        viewer.close()
    with pytest.raises(TypeError):
        softmax_lab.view_model(object())
    with pytest.raises(ValueError):
        softmax_lab.view_model(gpt2_path, device="tpu")


def test_command_line_model_and_prompt_screenshot(tmp_path, gpt2_path):
    out = tmp_path / "shot.png"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--model",
            str(gpt2_path),
            "--prompt",
            PROMPT,
            "--screenshot",
            str(out),
            "--no-restore",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"
    bad = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--model",
            str(tmp_path),
            "--screenshot",
            str(tmp_path / "x.png"),
            "--no-restore",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert bad.returncode == 1
    assert "no config.json" in bad.stderr
