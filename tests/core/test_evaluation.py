"""evaluate() against torch itself: F.cross_entropy for the loss, autograd for the gradient."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from evaluation_cases import problems as evaluation_problems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_lab.core import available_devices, constants, evaluate, resolve_device

TOL = {"float32": {"rtol": 2e-5, "atol": 2e-5}, "float64": {"rtol": 1e-10, "atol": 1e-10}}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}


def problems():
    return evaluation_problems(extra_ignore=(7,))


def torch_reference(logits, target, options):
    """The oracle: F.cross_entropy on logits / T, and autograd for d(loss)/d(raw logits)."""
    dtype = TORCH_DTYPE[options["dtype"]]
    x = torch.tensor(logits, dtype=dtype, requires_grad=True)
    tgt = torch.tensor(target)
    tgt = tgt.to(dtype) if tgt.ndim == 2 else tgt.long()
    weight = options["weight"]
    w = None if weight is None else torch.tensor(weight, dtype=dtype)
    kwargs = {
        "weight": w,
        "reduction": options["reduction"],
        "label_smoothing": options["label_smoothing"],
    }
    if tgt.ndim == 1:
        kwargs["ignore_index"] = options["ignore_index"]
    loss = F.cross_entropy(x / options["temperature"], tgt, **kwargs)
    per_sample = F.cross_entropy(
        x.detach() / options["temperature"], tgt, **{**kwargs, "reduction": "none"}
    )
    loss.sum().backward()
    return loss.detach().numpy(), per_sample.numpy(), x.grad.numpy()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_matches_torch_cross_entropy_and_autograd(problem):
    logits, target, options = problem
    ev = evaluate(logits, target, **options)
    loss, per_sample, grad = torch_reference(logits, target, options)
    tol = TOL[options["dtype"]]
    np.testing.assert_allclose(ev.losses, per_sample, **tol)
    np.testing.assert_allclose(np.asarray(ev.loss, dtype=np.float64), loss, equal_nan=True, **tol)
    np.testing.assert_allclose(ev.gradient, grad, equal_nan=True, **tol)
    dtype = TORCH_DTYPE[options["dtype"]]
    z = torch.tensor(logits, dtype=dtype) / options["temperature"]
    np.testing.assert_allclose(ev.probabilities, torch.softmax(z, 1).numpy(), **tol)
    np.testing.assert_allclose(ev.log_probabilities, torch.log_softmax(z, 1).numpy(), **tol)
    np.testing.assert_array_equal(ev.predictions, torch.max(z, 1).indices.numpy())


@settings(max_examples=100, deadline=None)
@given(problems(), st.floats(-50, 50))
def test_adding_a_constant_to_rows_changes_nothing(problem, shift):
    logits, target, options = problem
    options = {**options, "dtype": "float64"}
    a = evaluate(logits, target, **options)
    b = evaluate(logits + shift, target, **options)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, (4, 5), elements=st.floats(-20, 20)))
def test_large_temperature_tends_to_uniform(logits):
    ev = evaluate(logits, [0, 1, 2, 3], temperature=1e7, dtype="float64")
    np.testing.assert_allclose(ev.probabilities, 0.2, atol=1e-5)
    np.testing.assert_allclose(ev.entropy, math.log(5), atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_hard_target_gradient_rows_sum_to_zero(problem):
    logits, target, options = problem
    if target.ndim == 2:
        target = target.argmax(1)
    ev = evaluate(logits, target, **{**options, "dtype": "float64"})
    np.testing.assert_allclose(ev.gradient.sum(1), 0, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_per_sample_statistics(problem):
    logits, target, options = problem
    ev = evaluate(logits, target, **{**options, "dtype": "float64"})
    p = ev.probabilities
    np.testing.assert_allclose(ev.confidence, p.max(1), rtol=1e-12)
    top2 = np.sort(p, axis=1)[:, ::-1]
    second = top2[:, 1] if p.shape[1] > 1 else 0.0
    np.testing.assert_allclose(ev.margin, top2[:, 0] - second, atol=1e-12)
    entropy = -(p * np.log(np.where(p > 0, p, 1))).sum(1)
    np.testing.assert_allclose(ev.entropy, entropy, atol=1e-9)
    rows = np.arange(len(p))
    if ev.target_kind == "index":
        valid = ev.valid
        picked = p[rows[valid], ev.targets[valid]]
        np.testing.assert_allclose(ev.p_true[valid], picked, rtol=1e-12)
        assert np.isnan(ev.p_true[~valid]).all()
        expected_accuracy = (ev.predictions == ev.targets)[valid].mean() if valid.any() else None
    else:
        np.testing.assert_array_equal(ev.targets, target.argmax(1))
        expected_accuracy = (ev.predictions == ev.targets).mean()
    if expected_accuracy is None:
        assert math.isnan(ev.accuracy)
    else:
        assert ev.accuracy == pytest.approx(expected_accuracy)


def test_row_subsets_match_full_tables():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 7))
    ev = evaluate(logits, rng.integers(0, 7, 50), temperature=0.7, label_smoothing=0.2)
    rows = [3, 17, 49]
    np.testing.assert_allclose(ev.probabilities_of(rows), ev.probabilities[rows])
    np.testing.assert_allclose(ev.gradient_of(rows), ev.gradient[rows])
    np.testing.assert_allclose(ev.probabilities_of(5)[0], ev.probabilities[5])


def test_blocks_give_the_same_answer_as_one_pass(monkeypatch):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1000, 13)).astype(np.float32)
    labels = rng.integers(0, 13, 1000)
    whole = evaluate(logits, labels)
    monkeypatch.setattr(constants, "CPU_BLOCK_ELEMENTS", 13 * 7)
    blocked = evaluate(logits, labels)
    assert blocked._block_rows == 7
    np.testing.assert_array_equal(whole.losses, blocked.losses)
    np.testing.assert_array_equal(whole.predictions, blocked.predictions)
    np.testing.assert_allclose(whole.probabilities, blocked.probabilities)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_matches_torch_within_its_precision(dtype):
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3, size=(64, 10))
    labels = rng.integers(0, 10, 64)
    ev = evaluate(logits, labels, dtype=dtype, temperature=0.5)
    x = torch.tensor(logits).to(getattr(torch, dtype))
    expected = F.cross_entropy((x / 0.5).float(), torch.tensor(labels), reduction="none")
    np.testing.assert_allclose(ev.losses, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert ev.dtype == dtype
    assert ev.losses.dtype == np.float32


def test_float16_overflows_like_torch():
    # 1e5 does not fit in float16: the logit becomes inf and the row is flagged, no crash.
    ev = evaluate([[1e5, 0.0], [1.0, 0.0]], [0, 0], dtype="float16")
    assert ev.finite.tolist() == [False, True]
    assert ev.n_nonfinite == 1


def test_accepts_numpy_tensors_lists_and_memmaps(tmp_path):
    logits = np.array([[2.0, 1.0, 0.1]], dtype=np.float32)
    path = tmp_path / "x.npy"
    np.save(path, logits)
    mm = np.load(path, mmap_mode="r")
    for value in (logits, torch.tensor(logits), logits.tolist(), mm):
        assert evaluate(value, [0]).loss == pytest.approx(0.4170, abs=5e-5)


def test_float32_numpy_input_is_not_copied():
    logits = np.zeros((4, 3), dtype=np.float32)
    ev = evaluate(logits, [0, 1, 2, 0])
    assert ev._x.data_ptr() == logits.__array_interface__["data"][0]


def test_one_dimensional_logits_are_one_sample():
    ev = evaluate([2.0, 1.0, 0.1], 0)
    assert ev.probabilities.shape == (1, 3)


class TestEdgeRows:
    def test_huge_logits(self):
        ev = evaluate([[1e4, 0.0, -1e4]], [0], dtype="float32")
        assert ev.loss == 0.0
        assert ev.finite.all()
        np.testing.assert_allclose(ev.probabilities, [[1, 0, 0]])
        ev = evaluate([[1e4, 0.0, -1e4]], [2])
        assert ev.loss == pytest.approx(2e4)

    def test_minus_inf_masks_a_class(self):
        ev = evaluate([[2.0, -np.inf, 1.0]], [0])
        z = torch.tensor([[2.0, -math.inf, 1.0]])
        assert ev.loss == pytest.approx(float(F.cross_entropy(z, torch.tensor([0]))))
        assert ev.probabilities[0, 1] == 0.0
        assert ev.finite.all()
        assert np.isfinite(ev.entropy).all()
        np.testing.assert_allclose(ev.gradient, [[-0.2689414, 0, 0.2689414]], atol=1e-6)

    def test_target_on_masked_class_is_infinite_loss(self):
        ev = evaluate([[2.0, -np.inf, 1.0], [1.0, 2.0, 3.0]], [1, 0])
        assert ev.losses[0] == math.inf
        assert ev.finite.tolist() == [False, True]

    @pytest.mark.parametrize("row", [[np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]])
    def test_nan_and_all_masked_rows_give_nan_for_that_row_only(self, row):
        ev = evaluate([row, [1.0, 2.0, 3.0]], [0, 2], reduction="none")
        assert np.isnan(ev.losses[0])
        assert np.isfinite(ev.losses[1])
        assert ev.finite.tolist() == [False, True]
        assert not ev.correct[0]
        assert np.isnan(ev.probabilities[0]).all()
        expected = F.cross_entropy(
            torch.tensor([row, [1.0, 2.0, 3.0]]), torch.tensor([0, 2]), reduction="none"
        )
        np.testing.assert_allclose(ev.losses, expected.numpy(), equal_nan=True)

    def test_one_class(self):
        ev = evaluate([[3.0], [-1.0]], [0, 0])
        assert ev.loss == 0.0
        assert ev.margin.tolist() == [1.0, 1.0]
        assert ev.accuracy == 1.0

    def test_one_sample(self):
        ev = evaluate([[0.0, 0.0]], [1])
        assert ev.loss == pytest.approx(math.log(2))

    def test_all_rows_ignored(self):
        ev = evaluate([[1.0, 2.0]], [-100])
        assert math.isnan(ev.loss)
        assert math.isnan(ev.accuracy)
        assert ev.losses.tolist() == [0.0]


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"logits": np.zeros((2, 3, 4)), "target": [0, 0]}, "2-D"),
            ({"logits": np.zeros((0, 3)), "target": []}, "empty"),
            ({"logits": np.zeros((2, 0)), "target": [0, 0]}, "empty"),
            ({"logits": [[1.0, 2.0]], "target": [0, 1]}, "2 labels for 1 samples"),
            ({"logits": [[1.0, 2.0]], "target": [2]}, "out of range"),
            ({"logits": [[1.0, 2.0]], "target": [-1]}, "out of range"),
            ({"logits": [[1.0, 2.0]], "target": [0.5]}, "whole numbers"),
            ({"logits": [[1.0, 2.0]], "target": [[0.5, 0.2, 0.3]]}, "shape"),
            ({"logits": [[1.0, 2.0]], "target": [[-0.5, 1.5]]}, ">= 0"),
            ({"logits": [[1.0, 2.0]], "target": [[np.nan, 1.0]]}, "finite"),
            ({"logits": [[1.0, 2.0]], "target": [0], "weight": [1.0]}, "one value per class"),
            ({"logits": [[1.0, 2.0]], "target": [0], "weight": [1.0, -1.0]}, ">= 0"),
            ({"logits": [[1.0, 2.0]], "target": [0], "weight": [1.0, np.inf]}, "finite"),
            ({"logits": [[1.0, 2.0]], "target": [0], "label_smoothing": 1.5}, "label_smoothing"),
            ({"logits": [[1.0, 2.0]], "target": [0], "label_smoothing": -0.1}, "label_smoothing"),
            ({"logits": [[1.0, 2.0]], "target": [0], "temperature": 0}, "temperature"),
            ({"logits": [[1.0, 2.0]], "target": [0], "temperature": -1}, "temperature"),
            ({"logits": [[1.0, 2.0]], "target": [0], "temperature": np.nan}, "temperature"),
            ({"logits": [[1.0, 2.0]], "target": [0], "reduction": "avg"}, "reduction"),
            ({"logits": [[1.0, 2.0]], "target": [0], "dtype": "int8"}, "dtype"),
            ({"logits": [[1.0, 2.0]], "target": [0], "device": "tpu"}, "device"),
            ({"logits": [["a", "b"]], "target": [0]}, "numbers"),
            ({"logits": [[1.0, 2.0], [1.0]], "target": [0, 0]}, "rectangular"),
        ],
    )
    def test_raises_a_clear_value_error(self, kwargs, message):
        kwargs = dict(kwargs)
        with pytest.raises(ValueError, match=message):
            evaluate(kwargs.pop("logits"), kwargs.pop("target"), **kwargs)


class TestDevices:
    def test_cpu_is_always_listed_first(self):
        assert available_devices()[0] == "cpu"

    def test_result_records_the_device_used(self):
        ev = evaluate([[1.0, 2.0]], [0], device="cpu")
        assert ev.device == "cpu"
        assert ev.device_fallback is None

    @pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
    def test_missing_cuda_falls_back_to_cpu_with_the_reason_recorded(self):
        ev = evaluate([[1.0, 2.0]], [0], device="cuda")
        cpu = evaluate([[1.0, 2.0]], [0], device="cpu")
        assert ev.device == "cpu"
        assert "CUDA is not available" in ev.device_fallback
        assert ev.loss == cpu.loss

    def test_missing_mps_falls_back(self):
        resolved = resolve_device("mps")
        if "mps" not in available_devices():
            assert resolved.device.type == "cpu"
            assert "MPS" in resolved.fallback

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_cuda_matches_cpu(self):
        rng = np.random.default_rng(3)
        logits = rng.normal(size=(500, 40))
        labels = rng.integers(0, 40, 500)
        gpu = evaluate(logits, labels, device="cuda", dtype="float64", label_smoothing=0.1)
        cpu = evaluate(logits, labels, device="cpu", dtype="float64", label_smoothing=0.1)
        assert gpu.device.startswith("cuda")
        np.testing.assert_allclose(gpu.losses, cpu.losses, rtol=1e-12)
        np.testing.assert_allclose(gpu.gradient, cpu.gradient, rtol=1e-10, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(problems(), st.data())
def test_with_rows_equals_a_full_recompute(problem, data):
    logits, target, options = problem
    n, c = logits.shape
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    new_rows = data.draw(
        hnp.arrays(np.float64, (len(rows), c), elements=st.floats(-30, 30) | st.just(-np.inf))
    )
    patched = evaluate(logits, target, **options).with_rows(rows, new_rows)
    edited = logits.copy()
    edited[rows] = new_rows
    full = evaluate(edited, target, **options)
    tol = TOL[options["dtype"]]
    for name in ("losses", "confidence", "margin", "entropy", "p_true"):
        np.testing.assert_allclose(
            getattr(patched, name), getattr(full, name), equal_nan=True, **tol
        )
    np.testing.assert_array_equal(patched.predictions, full.predictions)
    np.testing.assert_array_equal(patched.correct, full.correct)
    np.testing.assert_array_equal(patched.finite, full.finite)
    np.testing.assert_allclose(
        np.asarray(patched.loss, dtype=float),
        np.asarray(full.loss, dtype=float),
        equal_nan=True,
        **tol,
    )
    np.testing.assert_allclose(patched.probabilities, full.probabilities, equal_nan=True, **tol)
    np.testing.assert_allclose(patched.gradient, full.gradient, equal_nan=True, **tol)


def test_out_of_device_memory_falls_back_to_cpu_with_the_reason(monkeypatch):
    import softmax_lab.core.evaluating as module
    from softmax_lab.core.devices import ResolvedDevice

    real_run = module._run
    calls = []

    def run_that_fails_off_cpu(x, t, soft, w, options, dtype, device, fallback, *rest):
        calls.append(str(device))
        if device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_run(x, t, soft, w, options, dtype, device, fallback, *rest)

    monkeypatch.setattr(module, "_run", run_that_fails_off_cpu)
    monkeypatch.setattr(
        module, "resolve_device", lambda name: ResolvedDevice(torch.device("cuda", 0))
    )
    ev = evaluate([[2.0, 1.0, 0.1]], [0], device="cuda")
    assert calls == ["cuda:0", "cpu"]
    assert ev.device == "cpu"
    assert "out of device memory" in ev.device_fallback
    assert ev.loss == pytest.approx(0.4170, abs=5e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_probabilities_at_some_columns_equal_the_full_rows(dtype, temperature):
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, size=(30, 70)).astype(np.float32)
    ev = evaluate(logits, rng.integers(0, 70, 30), temperature=temperature, dtype=dtype)
    rows, cols = [4, 0, 29, 4], [69, 3, 3, 10]
    np.testing.assert_array_equal(
        ev.probabilities_at(rows, cols), ev.probabilities_of(rows)[:, cols]
    )
    np.testing.assert_array_equal(ev.probabilities_at(slice(None), cols), ev.probabilities[:, cols])
    assert ev.probabilities_at([], cols).shape == (0, 4)
    with pytest.raises(IndexError):
        ev.probabilities_at(rows, [70])


@pytest.mark.parametrize(
    "options",
    [{}, {"label_smoothing": 0.3}, {"weight": "w"}, {"reduction": "sum", "temperature": 0.5}],
)
def test_one_gradient_row_of_a_wide_table_matches_autograd(options):
    rng = np.random.default_rng(5)
    n, c = 6, 20_000
    logits = rng.normal(0, 2, size=(n, c)).astype(np.float32)
    labels = rng.integers(0, c, n)
    labels[2] = constants.IGNORE_INDEX
    if options.get("weight") == "w":
        options = {"weight": rng.uniform(0.2, 2.0, c)}
    ev = evaluate(logits, labels, **options)
    x = torch.tensor(logits, requires_grad=True)
    kwargs = {k: v for k, v in options.items() if k != "temperature"}
    if "weight" in kwargs:
        kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float32)
    loss = F.cross_entropy(x / options.get("temperature", 1.0), torch.tensor(labels), **kwargs)
    loss.backward()
    for row in (0, 2, 5):
        np.testing.assert_allclose(
            ev.gradient_of([row])[0], x.grad[row].numpy(), atol=1e-9, rtol=1e-4
        )


def test_a_cancelled_scope_stops_a_streamed_pass_and_an_unset_one_changes_nothing():
    import threading

    from softmax_lab.core import kernels

    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 2.0, size=(3000, 50)).astype(np.float32)
    labels = rng.integers(0, 50, 3000)
    stopped = threading.Event()
    stopped.set()
    with kernels.cancel_scope(stopped), pytest.raises(kernels.Cancelled):
        evaluate(logits, labels, temperature=2.0, label_smoothing=0.1)
    with kernels.cancel_scope(threading.Event()):
        inside = evaluate(logits, labels, temperature=2.0, label_smoothing=0.1)
    outside = evaluate(logits, labels, temperature=2.0, label_smoothing=0.1)
    np.testing.assert_array_equal(inside.losses, outside.losses)
    # the scope ends with its block: later passes in this thread are not cancelled
    assert np.isfinite(float(evaluate(logits, labels).loss))


def test_evaluate_is_one_function_under_every_public_path():
    """The pass lives in core.evaluating; the older and public import paths give that function."""
    import softmax_lab
    import softmax_lab.core
    import softmax_lab.core.evaluating as home
    from softmax_lab.core.evaluation import evaluate as from_evaluation

    assert from_evaluation is home.evaluate
    assert softmax_lab.core.evaluate is home.evaluate
    assert softmax_lab.evaluate is home.evaluate
    with pytest.raises(ImportError):
        from softmax_lab.core.evaluation import no_such_name  # noqa: F401
