"""evaluate_sequences() against cross-entropy written out in torch: causal (shifted) and aligned
labels, padding on either side, half-precision logits, ranks by sorting, and a tiny trained
character-level model."""

import math
import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.sequences import evaluate_sequences

HALF_TOL = {"rtol": 1e-5, "atol": 1e-5}


def masks(kind, b, t):
    """(b, t) attention masks: none, right padding or left padding of varying lengths."""
    if kind == "none":
        return None
    m = torch.ones(b, t, dtype=torch.int64)
    for i in range(b):
        pad = i % t  # sequence 0 unpadded, the others padded by 1, 2, ...
        if pad:
            if kind == "right":
                m[i, t - pad :] = 0
            else:
                m[i, :pad] = 0
    return m


def reference(logits, ids, mask, shift, temperature=1.0):
    """Per-position losses (NaN where none) by hand: F.cross_entropy on float32 logits."""
    x = logits.float() / temperature if logits.dtype != torch.float64 else logits / temperature
    b, t, v = x.shape
    m = torch.ones(b, t, dtype=torch.bool) if mask is None else mask.bool()
    if shift:
        labels = torch.full((b, t), IGNORE_INDEX)
        counted = m[:, :-1] & m[:, 1:]
        labels[:, :-1] = torch.where(counted, ids[:, 1:], IGNORE_INDEX)
    else:
        labels = torch.where(m, ids, IGNORE_INDEX)
    losses = F.cross_entropy(
        x.reshape(b * t, v), labels.reshape(-1), reduction="none", ignore_index=IGNORE_INDEX
    ).reshape(b, t)
    valid = labels != IGNORE_INDEX
    return torch.where(valid, losses, torch.nan), labels, valid


def random_batch(b, t, v, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, t, v, generator=g) * 3).to(dtype)
    ids = torch.randint(0, v, (b, t), generator=g)
    return logits, ids


@pytest.mark.parametrize("padding", ["none", "right", "left"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
@pytest.mark.parametrize("shift", [True, False])
def test_matches_hand_written_cross_entropy(padding, dtype, shift):
    logits, ids = random_batch(4, 9, 13, seed=1, dtype=dtype)
    mask = masks(padding, 4, 9)
    sv = evaluate_sequences(logits, ids, attention_mask=mask, shift=shift)
    expected, labels, valid = reference(logits, ids, mask, shift)
    tol = HALF_TOL if dtype != torch.float64 else {"rtol": 1e-6, "atol": 1e-6}
    np.testing.assert_allclose(sv.token_losses, expected.numpy(), equal_nan=True, **tol)
    np.testing.assert_array_equal(sv.valid, valid.numpy())
    np.testing.assert_array_equal(sv.targets, labels.numpy())
    np.testing.assert_array_equal(sv.lengths, valid.sum(1).numpy())
    loss = F.cross_entropy(
        logits.float().reshape(-1, 13), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )
    assert sv.loss == pytest.approx(loss.item(), rel=1e-5)
    assert sv.evaluation.loss == pytest.approx(sv.loss, rel=1e-12)
    # Each sequence's perplexity is exp of its own mean loss.
    for i in range(4):
        seq = F.cross_entropy(logits[i].float(), labels[i], ignore_index=IGNORE_INDEX)
        assert sv.perplexity[i] == pytest.approx(torch.exp(seq).item(), rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_logits_stay_half_and_agree_with_torch_in_their_precision(dtype):
    logits, ids = random_batch(2, 16, 50, seed=2, dtype=dtype)
    sv = evaluate_sequences(logits, ids)
    assert sv.evaluation.dtype == str(dtype).removeprefix("torch.")  # no float32 copy
    widened = evaluate_sequences(logits.float(), ids)
    np.testing.assert_array_equal(sv.token_losses, widened.token_losses)  # identical at T = 1
    # torch's own half-precision cross-entropy rounds its output to the half type.
    own = F.cross_entropy(logits[:, :-1].reshape(-1, 50), ids[:, 1:].reshape(-1), reduction="none")
    np.testing.assert_allclose(
        sv.token_losses[:, :-1].reshape(-1), own.float().numpy(), rtol=2e-2, atol=2e-2
    )
    # At T != 1 the division rounds in the half type, as F.cross_entropy(logits / T) does.
    hot = evaluate_sequences(logits, ids, temperature=0.7)
    ref = F.cross_entropy(
        (logits[:, :-1] / 0.7).float().reshape(-1, 50), ids[:, 1:].reshape(-1), reduction="none"
    )
    np.testing.assert_allclose(hot.token_losses[:, :-1].reshape(-1), ref.numpy(), **HALF_TOL)


def hf_loss(logits, labels):
    """Hugging Face's causal-LM loss, re-implemented: shift, then mean over labels != -100."""
    shift_logits = logits[..., :-1, :].contiguous().float()
    shift_labels = labels[..., 1:].contiguous()
    loss_fct = torch.nn.CrossEntropyLoss(ignore_index=-100)
    return loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_hugging_face_parity_without_and_with_right_padding(dtype):
    logits, ids = random_batch(3, 12, 30, seed=3, dtype=dtype)
    assert evaluate_sequences(logits, ids).loss == pytest.approx(hf_loss(logits, ids).item())
    mask = masks("right", 3, 12)
    labels = ids.masked_fill(mask == 0, -100)
    sv = evaluate_sequences(logits, ids, attention_mask=mask)
    assert sv.loss == pytest.approx(hf_loss(logits, labels).item(), rel=1e-6)


def test_left_padding_scores_each_sequence_as_unpadded():
    logits, ids = random_batch(3, 10, 17, seed=4)
    mask = masks("left", 3, 10)
    sv = evaluate_sequences(logits, ids, attention_mask=mask)
    for i in range(3):
        start = int((mask[i] == 0).sum())
        alone = evaluate_sequences(logits[i : i + 1, start:], ids[i : i + 1, start:])
        assert sv.perplexity[i] == pytest.approx(alone.perplexity[0], rel=1e-6)
        assert sv.lengths[i] == alone.lengths[0] == 10 - start - 1
    # Hugging Face with labels = ids masked by padding also scores the first real token from the
    # last padding position; leaving that label out too gives our loss.
    labels = ids.masked_fill(mask == 0, -100)
    assert hf_loss(logits, labels).item() != pytest.approx(sv.loss, rel=1e-6)
    for i in range(3):
        start = int((mask[i] == 0).sum())
        labels[i, start] = -100
    assert hf_loss(logits, labels).item() == pytest.approx(sv.loss, rel=1e-6)


def test_aligned_labels_ignore_minus_100_and_masked_positions():
    logits, ids = random_batch(2, 6, 8, seed=5)
    labels = ids.clone()
    labels[0, 2] = IGNORE_INDEX
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    sv = evaluate_sequences(logits, labels, attention_mask=mask, shift=False)
    assert sv.valid.tolist() == [[1, 1, 0, 1, 1, 1], [1, 1, 1, 1, 0, 0]]
    assert sv.row_of(0, 2) is None
    assert sv.row_of(0, 2, counted_only=False) == 2
    expected = F.cross_entropy(logits[1, :4], labels[1, :4], reduction="none")
    np.testing.assert_allclose(sv.token_losses[1, :4], expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(sv.surprisal_bits, sv.token_losses / math.log(2), rtol=1e-12)


def test_temperature_divides_the_logits():
    logits, ids = random_batch(2, 7, 9, seed=6)
    sv = evaluate_sequences(logits, ids, temperature=2.5)
    expected, _, _ = reference(logits, ids, None, True, temperature=2.5)
    np.testing.assert_allclose(sv.token_losses, expected.numpy(), equal_nan=True, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_rank_matches_sorting(dtype):
    # Integer logits in a small range make ties, which share the better rank.
    g = torch.Generator().manual_seed(7)
    logits = torch.randint(-4, 5, (3, 20, 40), generator=g).to(dtype)
    ids = torch.randint(0, 40, (3, 20), generator=g)
    mask = masks("right", 3, 20)
    sv = evaluate_sequences(logits, ids, attention_mask=mask)
    for b in range(3):
        for t in range(20):
            if not sv.valid[b, t]:
                assert sv.rank[b, t] == -1
                continue
            row = logits[b, t].float()
            ordered = torch.sort(row, descending=True).values
            first = int(torch.nonzero(ordered == row[ids[b, t + 1]])[0, 0])
            assert sv.rank[b, t] == first
    assert (sv.rank[sv.valid] == 0).sum() >= 1


@pytest.mark.parametrize("kind", ["numpy float32", "torch bfloat16"])
def test_rank_streams_over_blocks_on_threads(kind):
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(4, 700, 1500)).astype(np.float32)  # 16 row blocks and more
    ids = rng.integers(0, 1500, (4, 700))
    z = torch.from_numpy(logits)
    if kind == "torch bfloat16":
        z = z.bfloat16()
        sv = evaluate_sequences(z, ids)
    else:
        sv = evaluate_sequences(logits, ids)
    order = torch.sort(z[:, :-1].float(), dim=-1, descending=True).values
    target = torch.gather(z[:, :-1].float(), 2, torch.from_numpy(ids[:, 1:])[..., None])
    # The first place the target's value appears in the sorted row (ties share the best rank).
    expected = (order == target).int().argmax(-1)
    np.testing.assert_array_equal(sv.rank[:, :-1], expected.numpy())
    assert (sv.rank[:, -1] == -1).all()


def test_top_candidates_and_rows():
    logits, ids = random_batch(2, 5, 12, seed=9)
    sv = evaluate_sequences(logits, ids)
    row = sv.row_of(1, 3)
    assert row == 1 * 5 + 3
    assert tuple(sv.positions[row]) == (1, 3)
    assert sv.row_of(-1, -1) is None  # the last position has no target
    top_ids, top_p = sv.top_candidates(row, k=4)
    expected = torch.topk(torch.softmax(logits[1, 3], 0), 4)
    np.testing.assert_array_equal(top_ids, expected.indices.numpy())
    np.testing.assert_allclose(top_p, expected.values.numpy(), rtol=1e-6)
    all_ids, all_p = sv.top_candidates(row, k=100)  # k above V: every token, best first
    assert all_ids.shape == (12,)
    assert (np.diff(all_p) <= 0).all()
    # Ties go to the lower id.
    tied = evaluate_sequences(torch.zeros(1, 2, 30), torch.zeros(1, 2, dtype=torch.long))
    assert tied.top_candidates(0, k=5)[0].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        sv.row_of(2, 0)
    with pytest.raises(ValueError, match="k must be"):
        sv.top_candidates(row, k=0)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 7),
    st.integers(1, 9),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_random_shapes_match_the_reference(b, t, v, shift, use_mask, seed):
    logits, ids = random_batch(b, t, v, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    mask = torch.randint(0, 2, (b, t), generator=g) if use_mask else None
    sv = evaluate_sequences(logits.numpy(), ids.numpy(), attention_mask=mask, shift=shift)
    expected, labels, valid = reference(logits, ids, mask, shift)
    np.testing.assert_allclose(sv.token_losses, expected.numpy(), equal_nan=True, **HALF_TOL)
    np.testing.assert_array_equal(sv.targets, labels.numpy())
    assert sv.positions.shape == (b * t, 2)
    assert sv.evaluation.n_samples == b * t
    np.testing.assert_array_equal(sv.evaluation.valid, valid.numpy().reshape(-1))
    for i in range(b):
        n = int(valid[i].sum())
        if n == 0:
            assert math.isnan(sv.perplexity[i])
        else:
            seq = F.cross_entropy(logits[i], labels[i], ignore_index=IGNORE_INDEX)
            assert sv.perplexity[i] == pytest.approx(math.exp(seq.item()), rel=1e-5)
    assert ((sv.rank >= 0) == sv.valid).all()
    assert (sv.rank < v).all()


def test_one_position_with_shift_has_no_target_and_is_nan():
    sv = evaluate_sequences(np.zeros((2, 1, 5)), [[1], [2]])
    assert not sv.valid.any()
    assert np.isnan(sv.token_losses).all()
    assert np.isnan(sv.perplexity).all()
    assert math.isnan(sv.loss)
    assert sv.lengths.tolist() == [0, 0]


def test_non_finite_logits_are_data():
    logits, ids = random_batch(1, 4, 6, seed=10)
    logits[0, 1] = torch.nan
    sv = evaluate_sequences(logits, ids)
    assert math.isnan(sv.token_losses[0, 1])
    assert math.isnan(sv.perplexity[0])
    assert not sv.evaluation.finite[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_ids": np.zeros((2, 4), int)}, r"input_ids has shape \(2, 4\)"),
        ({"attention_mask": np.ones((3, 4))}, r"attention_mask has shape \(3, 4\)"),
        ({"attention_mask": np.full((3, 5), 2)}, "only 0 and 1"),
        ({"input_ids": np.full((3, 5), 7)}, r"input_ids\[0, 1\] = 7 is outside the vocabulary"),
        ({"input_ids": np.full((3, 5), -1)}, r"input_ids\[0, 1\] = -1 is outside"),
        ({"input_ids": np.full((3, 5), IGNORE_INDEX)}, "-100 is outside"),
        ({"input_ids": np.full((3, 5), 7), "shift": False}, r"or -100 to leave"),
        ({"input_ids": np.zeros((3, 5))}, "must be integer token ids"),
        ({"logits": np.full((3, 5, 7), "a")}, "logits must be numbers"),
        ({"logits": [[[1.0, 2.0]], [[1.0]]]}, "rectangular"),
        ({"logits": np.zeros((3, 0, 7)), "input_ids": np.zeros((3, 0), int)}, "empty"),
        ({"logits": np.zeros((3, 7))}, r"\(batch, positions, vocabulary\)"),
        ({"temperature": 0}, "temperature"),
        ({"shift": "yes"}, "shift must be"),
    ],
)
def test_bad_input_is_a_value_error_naming_it(kwargs, message):
    args = {"logits": np.zeros((3, 5, 7)), "input_ids": np.zeros((3, 5), int), **kwargs}
    logits, ids = args.pop("logits"), args.pop("input_ids")
    with pytest.raises(ValueError, match=message):
        evaluate_sequences(logits, ids, **args)


def test_padding_ids_outside_the_vocabulary_are_never_read():
    ids = np.array([[1, 2, 3, -1]])  # a pad id of -1 at a masked position
    sv = evaluate_sequences(np.zeros((1, 4, 5)), ids, attention_mask=[[1, 1, 1, 0]])
    assert sv.lengths.tolist() == [2]


def test_a_read_only_table_is_neither_copied_nor_written():
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(1, 1024, 8000)).astype(np.float32)  # 32 MB
    logits.flags.writeable = False
    ids = rng.integers(0, 8000, (1, 1024))
    tracemalloc.start()
    try:
        sv = evaluate_sequences(logits, ids)
        _ = sv.rank
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < logits.nbytes / 4, (
        f"{peak / 1e6:.1f} MB traced for a {logits.nbytes / 1e6} MB table"
    )
    # An edited row goes to a copy, never into the caller's read-only memory.
    ev = sv.evaluation.with_rows([0], np.zeros(8000))
    assert ev.losses[0] == pytest.approx(math.log(8000), rel=1e-6)


# --------------------------------------------------------------------------------------------
# a tiny real model


class CharModel(torch.nn.Module):
    """Two layers over the embeddings of the current and previous character: causal."""

    def __init__(self, vocab, width=48):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 16)
        self.hidden = torch.nn.Linear(32, width)
        self.out = torch.nn.Linear(width, vocab)

    def forward(self, ids):
        e = self.embed(ids)
        previous = torch.cat([torch.zeros_like(e[:, :1]), e[:, :-1]], 1)
        return self.out(torch.tanh(self.hidden(torch.cat([e, previous], -1))))


def test_tiny_trained_character_model(tmp_path):
    text_file = tmp_path / "text.txt"
    text_file.write_text("the cat sat on the mat. the dog sat on the log. " * 12)
    text = text_file.read_text()
    chars = sorted(set(text))
    vocab = len(chars)
    data = torch.tensor([chars.index(c) for c in text])
    torch.manual_seed(0)
    model = CharModel(vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    windows = data[: (len(data) // 32) * 32].view(-1, 32)
    threads = torch.get_num_threads()
    # Ops this small only wait for each other on several threads (7x slower on a busy machine).
    torch.set_num_threads(1)
    try:
        for _ in range(300):
            logits = model(windows)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), windows[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)

    with torch.no_grad():
        batch = torch.stack([data[5:45], data[100:140], data[300:340]])
        mask = torch.ones_like(batch)
        mask[2, 30:] = 0  # right padding
        logits = model(batch)
    for dtype in (torch.float32, torch.bfloat16):
        sv = evaluate_sequences(logits.to(dtype), batch, attention_mask=mask)
        labels = batch.masked_fill(mask == 0, -100)
        assert sv.loss == pytest.approx(hf_loss(logits.to(dtype), labels).item(), rel=1e-5)
        for i in range(3):
            n = int(mask[i].sum())
            seq = F.cross_entropy(logits[i, : n - 1].to(dtype).float(), batch[i, 1:n])
            assert sv.perplexity[i] == pytest.approx(torch.exp(seq).item(), rel=1e-5)
        assert (sv.perplexity < vocab / 2).all()  # uniform guessing scores exactly vocab
    untrained = evaluate_sequences(CharModel(vocab)(batch).detach(), batch)
    assert (untrained.perplexity > 2 * sv.perplexity).all()


# --- target_ranks -------------------------------------------------------------------------------


def test_target_ranks_count_the_logits_strictly_above_the_target():
    from softmax_lab.core.sequences import target_ranks

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(40, 300)).astype(np.float32)
    logits[3, :] = 1.0  # every logit tied: rank 0
    logits[5, 7] = np.nan  # a NaN is never greater
    targets = rng.integers(0, 300, 40)
    targets[9] = IGNORE_INDEX
    ranks = target_ranks(logits, targets)
    for i in range(40):
        if i == 9:
            assert ranks[i] == -1
            continue
        row, y = logits[i], targets[i]
        assert ranks[i] == int(np.sum(row > row[y])), i
    assert ranks[3] == 0
    # some rows only, a read-only memory map and a bfloat16 tensor give the same ranks
    np.testing.assert_array_equal(target_ranks(logits, targets, [1, 30]), ranks[[1, 30]])
    readonly = logits.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(target_ranks(readonly, targets), ranks)
    bf16 = torch.from_numpy(logits).bfloat16()
    widened = bf16.float().numpy()
    expected = [
        -1 if t < 0 else int(np.sum(widened[i] > widened[i, t])) for i, t in enumerate(targets)
    ]
    np.testing.assert_array_equal(target_ranks(bf16, targets), expected)


def test_target_ranks_refuse_bad_arguments():
    from softmax_lab.core.sequences import target_ranks

    with pytest.raises(ValueError, match="rows, vocabulary"):
        target_ranks(np.zeros((2, 3, 4)), [0, 0])
    with pytest.raises(ValueError, match="3 targets for 2 rows"):
        target_ranks(np.zeros((2, 3)), [0, 0, 0])
    with pytest.raises(IndexError):
        target_ranks(np.zeros((2, 3)), [0, 0], rows=[2])


def test_ranks_under_a_thread_limit_are_the_same():
    from softmax_lab.core.kernels import parallel_threads, thread_limit
    from softmax_lab.core.sequences import target_ranks

    rng = np.random.default_rng(9)
    logits = rng.normal(size=(64, 50_000)).astype(np.float32)
    targets = rng.integers(0, 50_000, 64)
    full = target_ranks(logits, targets)
    with thread_limit(1):
        assert parallel_threads() == 1
        np.testing.assert_array_equal(target_ranks(logits, targets), full)
    assert parallel_threads() == torch.get_num_threads()


@pytest.mark.parametrize("temperature", [1.0, 0.4, 3.0])
def test_target_places_give_the_mass_above_and_what_a_sampler_keeps(temperature):
    from softmax_lab.core.sampling import truncate
    from softmax_lab.core.sequences import target_places

    rng = np.random.default_rng(12)
    logits = rng.normal(0, 2, size=(50, 400)).astype(np.float32)
    targets = rng.integers(0, 400, 50)
    targets[[3, 7]] = IGNORE_INDEX
    places = target_places(logits, targets, temperature)
    p = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy().astype(np.float64)
    for i in range(50):
        if targets[i] < 0:
            assert places.rank[i] == -1
            assert np.isnan(places.mass_above[i])
            continue
        above = logits[i] > logits[i, targets[i]]
        assert places.rank[i] == above.sum()
        assert places.mass_above[i] == pytest.approx(p[i][above].sum(), abs=1e-6)
    for top_k, top_p in ((5, 1.0), (1, 1.0), (0, 0.9), (0, 0.3)):
        kept = places.kept(top_k, top_p)
        for i in range(50):
            if targets[i] < 0:
                assert not kept[i]
                continue
            t = truncate(p[i], top_k or None, None if top_p >= 1 else top_p, shown=400)
            assert kept[i] == (targets[i] in t.order[: t.n_kept]), (i, top_k, top_p)
    some = target_places(logits, targets, temperature, rows=[1, 2])
    np.testing.assert_array_equal(some.rank[[1, 2]], places.rank[[1, 2]])
    assert (some.rank[[0, 4]] == -1).all()
    with pytest.raises(ValueError, match="temperature"):
        target_places(logits, targets, 0.0)


def test_target_places_of_bfloat16_logits_widen_them_exactly():
    from softmax_lab.core.sequences import target_places

    rng = np.random.default_rng(13)
    x = torch.from_numpy(rng.normal(size=(20, 300)).astype(np.float32)).bfloat16()
    targets = rng.integers(0, 300, 20)
    ours = target_places(x, targets, 0.7)
    wide = target_places(x.float().numpy(), targets, 0.7)
    np.testing.assert_array_equal(ours.rank, wide.rank)
    np.testing.assert_allclose(ours.mass_above, wide.mass_above, rtol=1e-6)
