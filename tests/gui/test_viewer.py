"""softmax_lab's viewer in this process: view, read back, set_data from a worker thread,
screenshots, bad input before any window, IPython's event loop (gui.viewer)."""

import inspect
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtWidgets import QApplication

import softmax_lab
from softmax_lab import core
from softmax_lab.gui import viewer as viewer_module

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4)) * 2
Y = rng.integers(0, 4, 30)


def torch_losses(logits, labels, temperature=1.0):
    x = torch.tensor(np.asarray(logits, dtype=np.float64)) / temperature
    return F.cross_entropy(x, torch.tensor(labels), reduction="none").numpy()


def test_the_public_package_is_thin_and_its_contract_holds():
    assert softmax_lab.evaluate is core.evaluate
    assert softmax_lab.load_logits is core.load_logits
    assert softmax_lab.RunWriter is core.RunWriter
    assert softmax_lab.view is viewer_module.view
    assert softmax_lab.run is viewer_module.run
    params = inspect.signature(softmax_lab.view).parameters
    assert list(params) == [
        "logits",
        "labels",
        "class_names",
        "images",
        "texts",
        "metadata",
        "title",
        "temperature",
        "show",
        "compare",
        "names",
    ]
    assert params["temperature"].default == 1.0
    assert params["show"].default is True
    assert params["names"].default == ("A", "B")
    assert all(
        p.kind is p.KEYWORD_ONLY for name, p in params.items() if name not in ("logits", "labels")
    )


def test_a_training_script_can_import_it_without_qt():
    code = "import sys, softmax_lab; softmax_lab.RunWriter; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_view_reads_back_the_current_state_torch_exact(qtbot, viewers):
    v = viewers(torch.tensor(X), Y, class_names=list("abcd"), title="run 7", temperature=2.0)
    assert v.window.isVisible()
    assert "run 7" in v.window.windowTitle()
    np.testing.assert_array_equal(v.logits, X)
    assert v.labels.tolist() == Y.tolist()
    np.testing.assert_allclose(v.evaluation.losses, torch_losses(X, Y, 2.0), rtol=1e-5)
    v.window.controller.edit_logit(3, 1, "7.5")  # an edit in the window shows in the handle
    assert v.logits[3, 1] == 7.5
    expected = X.copy()
    expected[3, 1] = 7.5
    np.testing.assert_allclose(v.evaluation.losses, torch_losses(expected, Y, 2.0), rtol=1e-5)
    v.selected = 12
    assert v.selected == 12
    assert v.window.sample_plot
    assert v.window.controller.sample_view().index == 12
    for bad in (30, -1, 2.5, True, "3"):
        with pytest.raises(ValueError):
            v.selected = bad


def test_screenshot_is_an_rgba_array_and_a_file(tmp_path, viewers):
    v = viewers(X, Y, show=False)
    image = v.screenshot(tmp_path / "shot.png", size=(1024, 640))
    assert image.shape == (640, 1024, 4)
    assert image.dtype == np.uint8
    assert (image[..., 3] == 255).all()
    assert image[..., :3].std() > 10
    assert (tmp_path / "shot.png").stat().st_size > 1000
    assert not v.window.isVisible()  # rendered without being shown
    with pytest.raises(ValueError, match="size"):
        v.screenshot(size=(10, 10))
    with pytest.raises(OSError, match="could not write"):
        v.screenshot(tmp_path / "missing" / "dir" / "x.png")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((X, Y[:5]), {}),
        ((X, Y + 4), {}),
        ((np.array([["a"]], dtype=object),), {}),
        ((X,), {"images": np.zeros((3, 8, 8))}),
        ((X,), {"images": np.zeros((30, 8, 8), dtype=complex)}),
        ((X,), {"texts": [["ragged", "list"]] * 30}),
        ((X,), {"metadata": {"split": ["a"] * 29}}),
        ((X,), {"compare": X[:, :2]}),
        ((X,), {"title": 3}),
        ((X,), {"show": "yes"}),
        ((X,), {"names": "AB"}),
        ((X,), {"names": ("A", " ")}),
        ((X,), {"temperature": -1}),
    ],
)
def test_bad_input_raises_before_any_window_exists(qtbot, args, kwargs):
    before = set(QApplication.topLevelWidgets())
    with pytest.raises(ValueError):
        softmax_lab.view(*args, **kwargs)
    QApplication.processEvents()
    assert set(QApplication.topLevelWidgets()) == before
    assert not viewer_module._viewers


def test_set_data_from_a_worker_thread_while_the_window_repaints(qtbot, viewers):
    v = viewers(X, Y)
    steps = [X * (1 + k / 10) for k in range(25)]
    done = threading.Event()
    errors = []

    def training_loop():
        try:
            for k, logits in enumerate(steps):
                v.set_data(logits, Y)
                v.selected = k % 30
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        done.set()

    worker = threading.Thread(target=training_loop)
    worker.start()
    # The GUI thread keeps painting meanwhile (as an event loop would).
    qtbot.waitUntil(done.is_set, timeout=20000)
    worker.join()
    qtbot.waitUntil(lambda: np.array_equal(v.logits, steps[-1]), timeout=10000)
    qtbot.waitUntil(lambda: v.selected == 24)  # may come a turn later (gui.viewer's budget)
    assert not errors
    np.testing.assert_allclose(v.evaluation.losses, torch_losses(steps[-1], Y), rtol=1e-5)
    heights = np.asarray(v.window.loss_plot.bars.getData()[1], dtype=float)
    np.testing.assert_allclose(heights, torch_losses(steps[-1], Y), rtol=1e-5)


def test_a_screenshot_from_another_thread_waits_for_the_gui_thread(qtbot, viewers):
    v = viewers(X, Y, show=False)
    out = []
    worker = threading.Thread(target=lambda: out.append(v.screenshot(size=(1100, 700))))
    worker.start()
    qtbot.waitUntil(lambda: bool(out), timeout=20000)
    worker.join()
    assert out[0].shape == (700, 1100, 4)


def test_an_unknown_keyword_is_a_type_error_as_for_any_function(qtbot):
    before = set(QApplication.topLevelWidgets())
    with pytest.raises(TypeError, match="'colour'"):
        softmax_lab.view(X, Y, colour="red")
    assert set(QApplication.topLevelWidgets()) == before


def test_view_and_set_data_spell_their_keywords_from_one_list():
    from softmax_lab.core.viewer_data import VIEW_DEFAULTS, ViewKeywords

    for function in (softmax_lab.view, softmax_lab.Viewer.set_data):
        params = inspect.signature(function).parameters
        assert [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY] == list(
            ViewKeywords.__annotations__
        )
        for name in ViewKeywords.__annotations__:
            assert f"{name} :" in function.__doc__ or function is softmax_lab.Viewer.set_data
    defaults = inspect.signature(softmax_lab.view).parameters
    assert {name: defaults[name].default for name in VIEW_DEFAULTS} == VIEW_DEFAULTS
    kept = inspect.signature(softmax_lab.Viewer.set_data).parameters
    assert all(kept[name].default is None for name in VIEW_DEFAULTS)  # left out: kept


def test_a_user_connects_to_the_viewers_events(qtbot, viewers):
    from PySide6.QtCore import Qt

    v = viewers(X, Y, title="events")
    selected: list[int] = []
    changes: list[int] = []
    v.events.selected.connect(selected.append)
    v.events.data.connect(lambda: changes.append(v.logits.shape[0]))

    with qtbot.waitSignal(v.events.selected):
        v.selected = 4
    assert selected == [4]
    table = v.window.table
    table.setFocus()
    with qtbot.waitSignal(v.events.selected):
        qtbot.keyClick(table, Qt.Key.Key_Down)  # the user moves one row down the table
    assert selected[-1] == v.selected
    assert v.selected != 4

    with qtbot.waitSignal(v.events.data):
        v.set_data(X[:12], Y[:12])
    assert changes == [12]  # once, and the viewer already reads the new data
    model = v.window.table_model
    with qtbot.waitSignal(v.events.data):
        model.setData(model.index(0, 0), "7.5")  # an edit typed into the window
    assert len(changes) == 2
    with qtbot.waitSignal(v.events.data):
        v.window.menu_actions.undo_action.trigger()  # Edit › Undo
    assert changes == [12, 12, 12]


def test_set_data_is_one_undo_step_and_keeps_where_the_user_was(qtbot, viewers):
    images = rng.random((30, 6, 6))
    v = viewers(X, Y, images=images, class_names=list("abcd"))
    c = v.window.controller
    v.selected = 7
    c.set_sort(core.view_state.Sort("loss", True))
    v.set_data(X + 1, Y)  # same samples: names, images, selection and sort stay
    assert v.window.document.class_names == list("abcd")
    assert v.window.document.inputs.images is not None
    assert v.selected == 7
    assert c.view.sort.key == "loss"
    assert v.window.document.undo_text == "Data from Python"
    v.window.document.undo()
    np.testing.assert_array_equal(v.logits, X)
    v.set_data(X[:10], None)  # fewer samples, no labels: inputs go, labels go
    assert v.labels is None
    assert v.window.document.inputs.is_empty
    assert not v.window.document.has_labels
    with pytest.raises(ValueError, match="got 3 labels"):
        v.set_data(X, Y[:3])
    assert v.logits.shape == (10, 4)  # nothing changed


def test_compare_attaches_a_second_model_without_an_undo_step(viewers):
    v = viewers(X, Y, compare=X * 0.5, names=("baseline", "new"), show=False)
    doc = v.window.document
    np.testing.assert_array_equal(doc.logits_b, X * 0.5)
    assert doc.model_names == ("baseline", "new")
    assert not doc.can_undo
    v.set_data(X * 2, Y)  # the compared model stays while the shape does
    np.testing.assert_array_equal(doc.logits_b, X * 0.5)


def test_binary_scores_and_two_windows(viewers):
    z = rng.normal(size=20)
    y = z > 0.3
    a = viewers(z, y, show=False)
    b = viewers(X, Y, show=False)
    assert a.window is not b.window
    assert len(viewer_module._viewers) >= 2
    assert a.window.document.binary
    assert a.logits.shape == (20, 2)
    bce = F.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y, dtype=torch.float64), reduction="none"
    )
    np.testing.assert_allclose(a.evaluation.losses, bce.numpy(), rtol=1e-5, atol=1e-7)


def test_a_closed_viewer_says_so(qtbot, viewers):
    v = viewers(X, Y)
    v.close()
    qtbot.waitUntil(lambda: v._window is None)
    assert repr(v) == "<softmax_lab.Viewer (closed)>"
    with pytest.raises(RuntimeError, match="closed"):
        v.logits  # noqa: B018
    v.close()  # twice is fine


def test_ipython_gets_its_qt_event_loop_and_run_does_not_block(monkeypatch, viewers):
    calls = []
    shell = types.SimpleNamespace(active_eventloop=None)

    def enable_gui(name):
        calls.append(name)
        shell.active_eventloop = name

    shell.enable_gui = enable_gui
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    v = viewers(X, Y)
    assert calls == ["qt"]
    softmax_lab.run()  # the kernel's loop runs the window: returns at once
    viewers(X, Y, show=False)
    assert calls == ["qt"]  # already on
    assert v.window.isVisible()


def test_run_returns_when_no_window_is_shown(viewers):
    viewers(X, Y, show=False)
    softmax_lab.run()
