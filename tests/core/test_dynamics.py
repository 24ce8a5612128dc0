"""core.dynamics: per-sample training dynamics against a direct numpy reading of the definitions.

The reference below computes every statistic the obvious way (the whole run in memory, a
float64 softmax, np.argmax, loops for the learning events); ``training_dynamics`` must agree
with it on random runs (hypothesis, tiny tables: float64 path), on tables large enough for the
float32 path with ties, huge, masked and non-finite rows, over many blocks and threads, and
read from a recorded run in row blocks. It must also agree with ``core.evaluate``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_lab.core.constants as constants
import softmax_lab.core.dynamics as dynamics
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.dynamics import REGIONS, cartography_region, training_dynamics
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.loaders import DataError
from softmax_lab.core.runs import Run, RunWriter, load_run

FIELDS_FLOAT = ("confidence", "variability", "correctness")
FIELDS_EXACT = ("forgetting", "first_learned", "first_learned_index", "never_learned", "n_finite")


def reference(pairs, labels, temperature=1.0) -> dict[str, np.ndarray]:
    """The definitions, read literally."""
    labels = np.asarray(labels)
    valid = labels != IGNORE_INDEX
    safe = np.where(valid, labels, 0)
    p_true, correct = [], []
    for _, x in pairs:
        x = np.asarray(x)
        # Divided in the logits' own dtype, as torch computes logits / T.
        z = x / x.dtype.type(temperature) if temperature != 1.0 else x
        with np.errstate(all="ignore"):
            z64 = z.astype(np.float64)
            e = np.exp(z64 - z64.max(1, keepdims=True))
            p = (e / e.sum(1, keepdims=True))[np.arange(len(x)), safe]
        finite = np.isfinite(p) & valid
        p_true.append(np.where(finite, p, np.nan))
        correct.append(finite & (z.argmax(1) == labels))
    p, k = np.array(p_true), np.array(correct)
    n_finite = np.isfinite(p).sum(0)
    with np.errstate(all="ignore"):
        confidence = np.nansum(p, 0) / n_finite
        variability = np.sqrt(np.nansum((p - confidence) ** 2, 0) / n_finite)
    steps = [s for s, _ in pairs]
    first, first_index = np.full(len(labels), -1), np.full(len(labels), -1)
    for i in range(len(labels)):
        j = len(steps)
        while j > 0 and k[j - 1, i]:
            j -= 1
        if j < len(steps):
            first[i], first_index[i] = steps[j], j
    return {
        "confidence": np.where(n_finite > 0, confidence, np.nan),
        "variability": np.where(n_finite > 0, variability, np.nan),
        "correctness": np.where(valid, k.mean(0), np.nan),
        "forgetting": np.where(valid, (k[:-1] & ~k[1:]).sum(0), -1),
        "first_learned": first,
        "first_learned_index": first_index,
        "never_learned": valid & ~k.any(0),
        "n_finite": n_finite,
    }


def assert_matches(result, expected, atol=1e-6) -> None:
    for name in FIELDS_FLOAT:
        np.testing.assert_allclose(getattr(result, name), expected[name], atol=atol, err_msg=name)
    for name in FIELDS_EXACT:
        np.testing.assert_array_equal(getattr(result, name), expected[name], err_msg=name)


def write_run(folder: Path, pairs, labels) -> Run:
    with RunWriter(folder, labels=labels) as w:
        for s, x in pairs:
            w.add(s, x)
    return load_run(folder)


# --- random runs --------------------------------------------------------------------------------

VALUES = st.one_of(
    st.integers(-3, 3).map(float),  # ties
    st.floats(-40, 40, width=32),
    st.sampled_from([np.nan, np.inf, -np.inf, 95.0, -120.0]),
)


@st.composite
def random_runs(draw):
    n, c, k = draw(st.integers(1, 10)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    steps = sorted(draw(st.sets(st.integers(-20, 10**6), min_size=k, max_size=k)))
    label = st.one_of(st.integers(0, c - 1), st.just(IGNORE_INDEX))
    labels = draw(hnp.arrays(np.int64, n, elements=label))
    logits = draw(hnp.arrays(np.float32, (k, n, c), elements=VALUES))
    temperature = draw(st.sampled_from([1.0, 0.5, 2.0, 0.3, 7.0]))
    return list(zip(steps, logits, strict=True)), labels, temperature


@given(random_runs())
def test_random_runs_match_the_definitions(problem):
    pairs, labels, temperature = problem
    expected = reference(pairs, labels, temperature)
    assert_matches(training_dynamics(pairs, labels=labels, temperature=temperature), expected)
    with tempfile.TemporaryDirectory() as tmp:
        run = write_run(Path(tmp) / "run", pairs, labels)
        result = training_dynamics(run, temperature=temperature)
        assert_matches(result, expected)
        assert result.steps == [s for s, _ in pairs]
        assert result.n_steps == len(pairs)


def large_run(seed: int, n: int = 1500, c: int = 50, k: int = 6, dtype=np.float32):
    """A run big enough for the float32 path, every row kind included."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    labels[::17] = IGNORE_INDEX
    pairs = []
    for step in range(k):
        scale = rng.choice([0.3, 3.0, 10.0], size=(n, 1))
        x = rng.normal(0, 1, (n, c)) * scale
        x[np.arange(n), np.maximum(labels, 0)] += rng.normal(step - 2, 3, n)  # learning
        x[0] = 0.0  # every class tied
        x[1, :2], x[1, 2:] = 5.0, 0.0  # two tied at the top: p = 0.5 each
        x[2] = rng.normal(0, 1, c) + 1e4  # would overflow unshifted
        x[3] = rng.normal(0, 1, c) - 1e4  # would underflow unshifted
        x[4, 3:] = -np.inf  # masked classes
        x[5, step % c] = np.nan
        x[6, :] = -np.inf
        x[7, 0] = np.inf
        x[8], x[8, 3] = rng.normal(0, 1, c) + 50, 52.5  # exp(z)^2 overflows float32
        x[9, :], x[9, 1:3] = rng.normal(0, 0.3, c), 3 + rng.normal(0, 0.01, 2)  # neck and neck
        x[10, :], x[10, 2] = rng.normal(0, 0.5, c), 3  # p(true) ~ 0.15, clearly the maximum
        pairs.append((10 * step + 3, x.astype(dtype)))
    labels[[0, 1, 2, 8, 9, 10]] = 0, 1, 0, 3, 1 + seed % 2, 2
    return pairs, labels


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_runs_match_the_definitions(tmp_path, temperature, dtype):
    pairs, labels = large_run(int(temperature * 10), dtype=dtype)
    expected = reference(pairs, labels, temperature)
    assert_matches(training_dynamics(pairs, labels=labels, temperature=temperature), expected)
    run = write_run(tmp_path / "r", pairs, labels)
    assert_matches(training_dynamics(run, temperature=temperature), expected)
    assert expected["never_learned"][6]
    assert expected["n_finite"][6] == 0
    assert expected["correctness"][0] == 1.0
    assert expected["correctness"][1] == 0.0  # a tie goes to the first class, as argmax


def test_many_blocks_over_threads_match_one_block(tmp_path, monkeypatch):
    pairs, labels = large_run(3, n=997, c=70)
    expected = reference(pairs, labels, 0.7)
    run = write_run(tmp_path / "r", pairs, labels)
    monkeypatch.setattr(constants, "STREAM_BLOCK_ELEMENTS", 70 * 13)  # 77 blocks of 13 rows
    monkeypatch.setattr(dynamics, "_PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert_matches(training_dynamics(run, temperature=0.7), expected)
    assert_matches(training_dynamics(pairs, labels=labels, temperature=0.7), expected)


def test_a_step_file_damaged_after_opening_is_a_data_error(tmp_path, monkeypatch):
    pairs, labels = large_run(8, n=400, c=20, k=3)
    run = write_run(tmp_path / "r", pairs, labels)
    path = tmp_path / "r" / "step-000013.npy"
    path.write_bytes(path.read_bytes()[:-1000])
    monkeypatch.setattr(constants, "STREAM_BLOCK_ELEMENTS", 20 * 10)  # 40 blocks over 3 threads
    monkeypatch.setattr(dynamics, "_PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    with pytest.raises(DataError, match=r"r/step-000013\.npy: the step file is truncated"):
        training_dynamics(run)


def test_a_recorded_run_is_streamed_not_mapped(tmp_path, monkeypatch):
    pairs, labels = large_run(4, n=300, c=8, k=3)
    run = write_run(tmp_path / "r", pairs, labels)
    monkeypatch.setattr(Run, "logits", lambda self, step: pytest.fail("mapped a whole step"))
    assert_matches(training_dynamics(run), reference(pairs, labels))


# --- against core.evaluate ------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 0.25, 4.0])
@pytest.mark.parametrize("shape", [(40, 7), (3000, 40)])
def test_p_true_and_correctness_are_evaluates(shape, temperature):
    rng = np.random.default_rng(7)
    n, c = shape
    labels = rng.integers(0, c, n)
    labels[::11] = IGNORE_INDEX
    steps = [(s, rng.normal(0, 4, (n, c)).astype(np.float32)) for s in range(3)]
    result = training_dynamics(steps[:1], labels=labels, temperature=temperature)
    ev = evaluate(steps[0][1], labels, temperature=temperature)
    np.testing.assert_allclose(result.confidence, ev.p_true, atol=1e-6, equal_nan=True)
    result = training_dynamics(steps, labels=labels, temperature=temperature)
    evs = [evaluate(x, labels, temperature=temperature) for _, x in steps]
    mean_p = np.mean([e.p_true.astype(np.float64) for e in evs], axis=0)
    np.testing.assert_allclose(result.confidence, mean_p, atol=1e-6, equal_nan=True)
    correctness = np.mean([e.correct for e in evs], axis=0)
    np.testing.assert_array_equal(result.correctness[ev.valid], correctness[ev.valid])


# --- hand-made runs -------------------------------------------------------------------------------

RIGHT, WRONG = [5.0, 0.0], [0.0, 5.0]  # for label 0


def test_hand_made_learning_events():
    # rows: right-wrong-right, always right, never right, right-right-wrong, ignored
    table = [
        [RIGHT, RIGHT, WRONG, RIGHT, RIGHT],
        [WRONG, RIGHT, WRONG, RIGHT, RIGHT],
        [RIGHT, RIGHT, WRONG, WRONG, WRONG],
    ]
    labels = [0, 0, 0, 0, IGNORE_INDEX]
    pairs = [
        (step, np.array(x, dtype=np.float32)) for step, x in zip((10, 20, 30), table, strict=False)
    ]
    d = training_dynamics(pairs, labels=labels)
    assert d.forgetting.tolist() == [1, 0, 0, 1, -1]
    assert d.first_learned.tolist() == [30, 10, -1, -1, -1]
    assert d.first_learned_index.tolist() == [2, 0, -1, -1, -1]
    assert d.never_learned.tolist() == [False, False, True, False, False]
    np.testing.assert_allclose(d.correctness[:4], [2 / 3, 1, 0, 2 / 3])
    hi, lo = 1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(5.0))
    np.testing.assert_allclose(d.confidence[:4], [(2 * hi + lo) / 3, hi, lo, (2 * hi + lo) / 3])
    np.testing.assert_allclose(d.variability[1:3], [0, 0], atol=1e-12)
    np.testing.assert_allclose(d.variability[0], np.std([hi, lo, hi]))
    assert np.isnan(d.confidence[4])
    assert np.isnan(d.variability[4])
    assert np.isnan(d.correctness[4])
    assert d.valid.tolist() == [True] * 4 + [False]
    assert (d.n_steps, d.n_samples, d.steps) == (3, 5, [10, 20, 30])


def test_non_finite_steps_count_as_wrong_and_are_left_out_of_the_mean():
    steps = [
        [[5.0, 0.0], [np.nan, 0.0]],
        [[np.nan, 1.0], [np.nan, 0.0]],
        [[5.0, 0.0], [np.nan, 0.0]],
    ]
    d = training_dynamics(list(enumerate(np.array(steps, dtype=np.float32))), labels=[0, 0])
    hi = 1 / (1 + np.exp(-5.0))
    np.testing.assert_allclose(d.confidence, [hi, np.nan])
    np.testing.assert_allclose(d.variability, [0.0, np.nan], atol=1e-12)
    np.testing.assert_allclose(d.correctness, [2 / 3, 0.0])
    assert d.forgetting.tolist() == [1, 0]
    assert d.first_learned.tolist() == [2, -1]
    assert d.never_learned.tolist() == [False, True]
    assert d.n_finite.tolist() == [2, 0]


# --- what it accepts ----------------------------------------------------------------------------


class MemoryRun:
    """A run-like object that holds torch tensors, as the window might."""

    def __init__(self, pairs, labels):
        self.steps = [s for s, _ in pairs]
        self._by_step = dict(pairs)
        self.labels = labels

    def logits(self, step):
        return self._by_step[step]


def test_run_like_objects_with_tensors_and_a_labels_override():
    pairs, labels = large_run(5, n=200, c=6, k=3)
    tensors = [(s, torch.tensor(x, requires_grad=True) * 1) for s, x in pairs]
    expected = reference(pairs, labels)
    assert_matches(training_dynamics(MemoryRun(tensors, labels)), expected)
    assert_matches(
        training_dynamics(MemoryRun(tensors, None), labels=torch.tensor(labels)), expected
    )
    halves = [(s, torch.tensor(x).to(torch.bfloat16)) for s, x in pairs]
    widened = [(s, x.float().numpy()) for s, x in halves]
    assert_matches(training_dynamics(halves, labels=labels), reference(widened, labels))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, y: training_dynamics(p), "no labels"),
        (lambda p, y: training_dynamics([], labels=y), "no steps"),
        (lambda p, y: training_dynamics(p[::-1], labels=y), "strictly increase"),
        (lambda p, y: training_dynamics([(1.5, p[0][1])], labels=y), "integers"),
        (lambda p, y: training_dynamics([p[0][1]], labels=y), "pairs"),
        (lambda p, y: training_dynamics(p, labels=y, temperature=0), "temperature"),
        (lambda p, y: training_dynamics(p, labels=y, temperature="hot"), "temperature"),
        (lambda p, y: training_dynamics(p, labels=y[:-1]), "labels must be"),
        (lambda p, y: training_dynamics(p, labels=y + 10), "out of range"),
        (lambda p, y: training_dynamics([*p, (99, p[0][1][:, :2])], labels=y), "logits are"),
        (lambda p, y: training_dynamics([(0, np.full((2, 3), "a"))], labels=y), "real numbers"),
        (lambda p, y: training_dynamics([(0, np.ones(4))], labels=y), "2-D"),
    ],
)
def test_bad_arguments_raise_value_errors(make, message):
    pairs = [(0, np.zeros((4, 3), np.float32)), (1, np.ones((4, 3), np.float32))]
    with pytest.raises(ValueError, match=message):
        make(pairs, np.array([0, 1, 2, 0]))


def test_progress_is_reported_and_can_cancel():
    pairs = [(s, np.zeros((4, 3), np.float32)) for s in range(5)]
    calls = []
    training_dynamics(pairs, labels=[0, 1, 2, 0], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 5) for k in range(1, 6)]

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        if done == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        training_dynamics(pairs, labels=[0, 1, 2, 0], progress=cancel)


# --- cartography regions ------------------------------------------------------------------------


def test_regions_follow_the_documented_rule():
    confidence = np.array([0.9, 0.95, 0.1, 0.2, 0.5, 0.6, 0.4, np.nan, 0.99])
    variability = np.array([0.01, 0.02, 0.01, 0.03, 0.4, 0.35, 0.3, np.nan, 0.0])
    regions = cartography_region(confidence, variability)
    assert regions.tolist() == [
        "easy-to-learn",
        "easy-to-learn",
        "hard-to-learn",
        "hard-to-learn",
        "ambiguous",  # the most variable third (3 of 8 known samples, quantile inclusive)
        "ambiguous",
        "ambiguous",
        "",
        "easy-to-learn",
    ]
    assert set(regions) - {""} <= set(REGIONS)
    none = cartography_region(confidence, variability, ambiguous_share=0)
    assert none.tolist()[4:7] == ["easy-to-learn", "easy-to-learn", "hard-to-learn"]
    stricter = cartography_region(confidence, variability, confidence_split=0.95)
    assert stricter.tolist()[:2] == ["hard-to-learn", "easy-to-learn"]
    # One step: nothing varies, so nothing is ambiguous.
    flat = cartography_region([0.2, 0.7], [0.0, 0.0])
    assert flat.tolist() == ["hard-to-learn", "easy-to-learn"]
    with pytest.raises(ValueError):
        cartography_region([0.1], [0.1, 0.2])
    with pytest.raises(ValueError):
        cartography_region([0.1], [0.1], ambiguous_share=2)


def test_dynamics_regions_are_the_function_of_its_fields():
    pairs, labels = large_run(6, n=300, c=5, k=4)
    d = training_dynamics(pairs, labels=labels)
    np.testing.assert_array_equal(d.regions(), cartography_region(d.confidence, d.variability))
    regions = d.regions(ambiguous_share=0.2)
    assert (regions[~d.valid] == "").all()
    assert 0.2 <= np.mean(regions[d.valid & np.isfinite(d.confidence)] == "ambiguous") <= 0.25


# --- torch as the oracle --------------------------------------------------------------------


def torch_oracle(pairs, labels, temperature):
    """p(true) from torch's own softmax gathered at the label, and from exp(-cross_entropy):
    the per-sample mean over the steps where it is finite, and argmax == label."""
    import torch.nn.functional as F

    y = torch.as_tensor(np.asarray(labels))
    valid = y != IGNORE_INDEX
    safe = torch.where(valid, y, 0)
    ps, correct = [], []
    for _, x in pairs:
        z = torch.as_tensor(np.asarray(x)) / temperature
        p = F.softmax(z, dim=1).gather(1, safe[:, None])[:, 0]
        loss = F.cross_entropy(z, y, reduction="none", ignore_index=IGNORE_INDEX)
        from_loss = torch.exp(-loss)
        both = torch.isfinite(p) & valid
        torch.testing.assert_close(from_loss[both], p[both], rtol=1e-5, atol=1e-7)
        ps.append(torch.where(both, p.double(), torch.nan).numpy())
        correct.append((both & (z.argmax(1) == y)).numpy())
    p, k = np.array(ps), np.array(correct)
    n_finite = np.isfinite(p).sum(0)
    with np.errstate(all="ignore"):
        confidence = np.where(n_finite > 0, np.nansum(p, 0) / n_finite, np.nan)
    return confidence, np.where(valid.numpy(), k.mean(0), np.nan), n_finite


TORCH_VALUES = st.one_of(
    st.integers(-3, 3).map(float),  # ties: argmax takes the first, as torch's
    st.floats(-30, 30, width=32),
    st.just(-np.inf),  # a masked class; a row of them has no p(true)
)


@st.composite
def torch_runs(draw):
    n, c, k = draw(st.integers(1, 12)), draw(st.integers(1, 8)), draw(st.integers(1, 4))
    label = st.one_of(st.integers(0, c - 1), st.just(IGNORE_INDEX))
    labels = draw(hnp.arrays(np.int64, n, elements=label))
    logits = draw(hnp.arrays(np.float32, (k, n, c), elements=TORCH_VALUES))
    temperature = draw(st.sampled_from([1.0, 0.5, 3.0]))
    return [(10 * s, x) for s, x in enumerate(logits)], labels, temperature


def assert_torch_matches(result, pairs, labels, temperature) -> None:
    confidence, correctness, n_finite = torch_oracle(pairs, labels, temperature)
    np.testing.assert_allclose(result.confidence, confidence, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.correctness, correctness)
    np.testing.assert_array_equal(result.n_finite, n_finite)


@given(torch_runs())
def test_confidence_and_correctness_are_torchs(problem):
    pairs, labels, temperature = problem
    result = training_dynamics(pairs, labels=labels, temperature=temperature)
    assert_torch_matches(result, pairs, labels, temperature)
    with tempfile.TemporaryDirectory() as tmp:
        run = write_run(Path(tmp) / "run", pairs, labels)
        assert_torch_matches(
            training_dynamics(run, temperature=temperature), pairs, labels, temperature
        )


@pytest.mark.parametrize("c", [1, 37])
def test_a_streamed_float32_run_is_torchs(tmp_path, monkeypatch, c):
    """Many blocks over threads, masked classes, ignored rows, a single class (p(true) = 1)."""
    rng = np.random.default_rng(c)
    n = 2000
    labels = rng.integers(0, c, n)
    labels[::13] = IGNORE_INDEX
    pairs = []
    for step in range(4):
        x = rng.normal(0, 3, (n, c)).astype(np.float32)
        x[np.arange(n), np.maximum(labels, 0)] += np.float32(step)
        if c > 1:
            x[::7, c // 2] = -np.inf
        x[5] = -np.inf  # no finite logit: no p(true) at any step
        pairs.append((step, x))
    run = write_run(tmp_path / "r", pairs, labels)
    monkeypatch.setattr(constants, "STREAM_BLOCK_ELEMENTS", max(c, 64) * 50)
    monkeypatch.setattr(dynamics, "_PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    for temperature in (1.0, 0.4):
        result = training_dynamics(run, temperature=temperature)
        assert_torch_matches(result, pairs, labels, temperature)
        assert result.n_finite[5] == 0
    if c == 1:  # one class: p(true) is 1 wherever the logit is finite
        kept = (labels != IGNORE_INDEX) & (np.arange(n) != 5)
        assert np.all(result.confidence[kept] == 1.0)
