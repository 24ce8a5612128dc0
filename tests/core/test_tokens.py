"""core.tokens: token names, where rows sit, per-sequence perplexity, the chips of a sequence —
checked against evaluate_sequences and cross-entropy written out in torch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_lab.core.constants import IGNORE_INDEX, SURPRISAL_FULL_BITS
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.loaders.sequences import next_token_targets as loader_targets
from softmax_lab.core.sequences import evaluate_sequences
from softmax_lab.core.tokens import (
    POSITION_KEY,
    SEQUENCE_KEY,
    TOKEN_KEY,
    TokenTexts,
    is_sequence_table,
    sequence_layout,
    sequence_metadata,
    sequence_statistics,
    sequence_text,
    surprisal_level,
    targets_are_next_tokens,
    token_name,
    token_names,
    token_nll,
    token_text,
    top_candidates,
)

B, T, V = 3, 6, 9
RNG = np.random.default_rng(11)


def next_token_targets(ids, mask):
    """The loader's next-token targets (it takes the mask as booleans)."""
    return loader_targets(ids, None if mask is None else np.asarray(mask).astype(bool))


def lm(mask=None, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(B, T, V)).astype(np.float32)
    ids = rng.integers(0, V, size=(B, T))
    return logits, ids, mask


def flat_eval(logits, ids, mask, **options):
    targets = next_token_targets(ids, mask).reshape(-1)
    return evaluate(logits.reshape(-1, V), targets, **options)


# --- names --------------------------------------------------------------------------------------


def test_token_names_make_whitespace_visible_and_read_back():
    vocab = [" the", "\n", "\t", "a b", "", "\x00", "x\r\n"]
    names = token_names(vocab, len(vocab))
    assert names == ["␣the", "↵", "⇥", "a␣b", "∅", "\\x00", "x␍↵"]
    assert [token_text(n) for n in names] == [" the", "\n", "\t", "a b", "", "\\x00", "x\r\n"]


def test_tokens_that_read_the_same_keep_their_ids():
    vocab = ["the", " the", "the", "␣the", "a"]
    names = token_names(vocab, 5)
    assert len(set(names)) == 5
    assert names[0] == "the"
    assert names[2] == "the #2"
    assert names[1] == "␣the"
    assert names[3] == "␣the #3"


def test_a_token_whose_text_is_already_a_suffixed_name_still_gets_a_unique_name():
    names = token_names(["a #1", "a", "a"], 3)
    assert len(set(names)) == 3


def test_without_a_vocabulary_tokens_are_ids():
    assert token_names(None, 3) == ["#0", "#1", "#2"]
    with pytest.raises(ValueError, match="2 tokens for 3"):
        token_names(["a", "b"], 3)


def test_token_texts_are_computed_once_per_id():
    texts = TokenTexts(["␣a", "b"])
    assert len(texts) == 2
    assert texts[0] == " a"
    assert texts[0] is texts[0]


@given(st.text(max_size=12))
def test_token_name_never_shows_a_control_character(text):
    name = token_name(text)
    assert name
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in name)


# --- structure ----------------------------------------------------------------------------------


def test_metadata_and_layout_follow_shuffled_rows():
    ids = RNG.integers(0, V, size=(B, T))
    meta = sequence_metadata((B, T), ids)
    assert is_sequence_table(meta)
    assert not is_sequence_table({SEQUENCE_KEY: meta[SEQUENCE_KEY]})
    perm = RNG.permutation(B * T)
    shuffled = {k: v[perm] for k, v in meta.items()}
    layout = sequence_layout(shuffled)
    np.testing.assert_array_equal(layout.sequences, np.arange(B))
    for k in range(B):
        rows = layout.rows_of(k)
        np.testing.assert_array_equal(shuffled[SEQUENCE_KEY][rows], k)
        np.testing.assert_array_equal(shuffled[POSITION_KEY][rows], np.arange(T))
        np.testing.assert_array_equal(shuffled[TOKEN_KEY][rows], ids[k])
    after = layout.next_row()
    for r in range(B * T):
        b, t = shuffled[SEQUENCE_KEY][r], shuffled[POSITION_KEY][r]
        if t == T - 1:
            assert after[r] == -1
        else:
            assert (shuffled[SEQUENCE_KEY][after[r]], shuffled[POSITION_KEY][after[r]]) == (
                b,
                t + 1,
            )


def test_metadata_refuses_ids_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        sequence_metadata((2, 3), np.zeros((3, 2), dtype=int))


def test_alignment_is_detected_from_the_targets():
    logits, ids, _ = lm()
    layout = sequence_layout(sequence_metadata((B, T), ids))
    causal = next_token_targets(ids, None).reshape(-1)
    valid = causal != IGNORE_INDEX
    assert targets_are_next_tokens(layout, causal, valid)
    aligned = ids.reshape(-1).copy()
    aligned[::2] = IGNORE_INDEX  # masked-LM labels: some positions, on their own token
    assert not targets_are_next_tokens(layout, aligned, aligned != IGNORE_INDEX)
    nothing = np.full(B * T, IGNORE_INDEX)
    assert targets_are_next_tokens(layout, nothing, nothing != IGNORE_INDEX)


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_sequence_statistics_equal_evaluate_sequences(padded, temperature):
    mask = None
    if padded:
        mask = np.ones((B, T), dtype=int)
        mask[1, 4:] = 0
        mask[2, :2] = 0
    logits, ids, _ = lm(mask, seed=3)
    ev = flat_eval(logits, ids, mask, temperature=temperature)
    layout = sequence_layout(sequence_metadata((B, T), ids))
    stats = sequence_statistics(layout, token_nll(ev))
    sv = evaluate_sequences(logits, ids, attention_mask=mask, temperature=temperature)
    np.testing.assert_allclose(stats.perplexity, sv.perplexity, rtol=1e-6)
    np.testing.assert_array_equal(stats.length, sv.lengths)
    np.testing.assert_array_equal(stats.positions, T)
    np.testing.assert_allclose(stats.mean_loss, np.log(sv.perplexity), rtol=1e-6)
    # and by hand: F.cross_entropy over each sequence's counted positions
    x = torch.from_numpy(logits) / temperature
    y = torch.from_numpy(ids)
    m = torch.ones(B, T, dtype=torch.bool) if mask is None else torch.from_numpy(mask).bool()
    for b in range(B):
        keep = m[b, :-1] & m[b, 1:]
        expected = math.exp(float(F.cross_entropy(x[b, :-1][keep], y[b, 1:][keep])))
        assert stats.perplexity[b] == pytest.approx(expected, rel=1e-5)


def test_a_sequence_without_targets_has_nan_perplexity():
    logits, ids, _ = lm()
    mask = np.ones((B, T), dtype=int)
    mask[0, 1:] = 0  # one real token: nothing to predict
    ev = flat_eval(logits, ids, mask)
    stats = sequence_statistics(sequence_layout(sequence_metadata((B, T), ids)), token_nll(ev))
    assert stats.length[0] == 0
    assert math.isnan(stats.perplexity[0])
    assert np.isfinite(stats.perplexity[1:]).all()


def test_token_nll_is_the_targets_surprisal_even_with_smoothing_or_weights():
    logits, ids, _ = lm()
    plain = token_nll(flat_eval(logits, ids, None))
    for options in ({"label_smoothing": 0.2}, {"weight": np.linspace(0.5, 2, V)}):
        other = token_nll(flat_eval(logits, ids, None, **options))
        np.testing.assert_allclose(other, plain, rtol=1e-5, equal_nan=True)
    assert np.isnan(plain.reshape(B, T)[:, -1]).all()  # the last position predicts nothing


def test_surprisal_level_is_linear_in_bits_and_capped():
    bits = np.array([0.0, SURPRISAL_FULL_BITS / 2, SURPRISAL_FULL_BITS, 40.0, np.nan])
    level = surprisal_level(bits)
    np.testing.assert_allclose(level[:4], [0.0, 0.5, 1.0, 1.0])
    assert np.isnan(level[4])


def test_top_candidates_match_torch_topk():
    p = torch.softmax(torch.from_numpy(RNG.normal(size=1000)), 0)
    ids, probs = top_candidates(p.numpy(), 5)
    expected = torch.topk(p, 5)
    np.testing.assert_array_equal(ids, expected.indices.numpy())
    np.testing.assert_allclose(probs, expected.values.numpy())


# --- the chips ----------------------------------------------------------------------------------


def chips_of(logits, ids, mask, k, targets=None, vocab=None):
    meta = sequence_metadata((B, T), ids)
    flat_targets = next_token_targets(ids, mask).reshape(-1) if targets is None else targets
    ev = evaluate(logits.reshape(-1, V), flat_targets)
    layout = sequence_layout(meta)
    nll = token_nll(ev)
    names = token_names(vocab or [f"w{i}" for i in range(V)], V)
    shifted = targets_are_next_tokens(layout, ev.targets, ev.valid)
    stats = sequence_statistics(layout, nll)
    return sequence_text(layout, k, TokenTexts(names), ev, nll, stats, shifted), ev


def test_causal_chips_are_the_tokens_opened_at_the_position_before():
    logits, ids, _ = lm(seed=5)
    text, ev = chips_of(logits, ids, None, 1)
    assert text.texts[:T] == tuple(f"w{i}" for i in ids[1])
    assert text.texts[T] == "⋯"
    assert text.kinds[T] == "next"
    assert text.kinds[0] == "context"
    assert text.rows[0] == -1
    np.testing.assert_array_equal(text.rows[1:T], [1 * T + t for t in range(T - 1)])
    assert text.rows[T] == 1 * T + T - 1  # what comes after the last token
    # surprisal of token t: −log2 softmax(logits at t − 1)[token t], by hand
    log_p = torch.log_softmax(torch.from_numpy(logits[1]), -1)
    for t in range(1, T):
        expected = -float(log_p[t - 1, ids[1, t]]) / math.log(2)
        assert text.bits[t] == pytest.approx(expected, rel=1e-5)
        assert text.level[t] == pytest.approx(min(expected / SURPRISAL_FULL_BITS, 1), rel=1e-5)
    assert "perplexity" in text.heading
    assert "Sequence 2 of 3" in text.heading
    assert text.chip_of_row(1 * T + 2) == 3
    assert text.chip_of_row(0) is None


def test_right_padding_puts_what_comes_next_after_the_last_real_token():
    mask = np.ones((B, T), dtype=int)
    mask[0, 3:] = 0
    logits, ids, _ = lm(mask, seed=6)
    text, _ = chips_of(logits, ids, mask, 0)
    assert text.kinds[:4] == ("context", "scored", "scored", "next")
    assert text.rows[3] == 2  # the last real token's position predicts what follows it
    assert set(text.kinds[4:]) == {"unscored"}  # the padding
    assert np.isnan(text.level[4:]).all()


def test_aligned_labels_open_their_own_position():
    logits, ids, _ = lm(seed=7)
    labels = np.full(B * T, IGNORE_INDEX)
    labels[[T + 1, T + 4]] = [3, 5]
    text, _ = chips_of(logits, ids, None, 1, targets=labels)
    np.testing.assert_array_equal(text.rows, T + np.arange(T))
    assert list(text.kinds) == ["scored" if t in (1, 4) else "unscored" for t in range(T)]
    assert "⋯" not in text.texts


def test_without_ids_the_chips_are_the_models_top_tokens():
    logits, _, _ = lm(seed=8)
    meta = sequence_metadata((B, T))
    layout = sequence_layout(meta)
    ev = evaluate(logits.reshape(-1, V), np.full(B * T, IGNORE_INDEX))
    nll = token_nll(ev)
    text = sequence_text(
        layout, 2, TokenTexts(token_names(None, V)), ev, nll, sequence_statistics(layout, nll), True
    )
    assert text.texts == tuple(f"#{i}" for i in logits[2].argmax(-1))
    assert set(text.kinds) == {"predicted"}
    assert "no token ids" in text.note
    assert "perplexity" not in text.heading


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 5), st.integers(1, 7))
def test_statistics_match_torch_for_random_padding(seed, b, t):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(b, t, 5)).astype(np.float32)
    ids = rng.integers(0, 5, size=(b, t))
    mask = (rng.random((b, t)) > 0.2).astype(int)
    targets = next_token_targets(ids, mask).reshape(-1)
    ev = evaluate(logits.reshape(-1, 5), targets)
    stats = sequence_statistics(sequence_layout(sequence_metadata((b, t), ids)), token_nll(ev))
    x, y, m = torch.from_numpy(logits), torch.from_numpy(ids), torch.from_numpy(mask).bool()
    for i in range(b):
        keep = m[i, :-1] & m[i, 1:]
        if not keep.any():
            assert math.isnan(stats.perplexity[i])
            continue
        loss = float(F.cross_entropy(x[i, :-1][keep], y[i, 1:][keep]))
        assert stats.mean_loss[i] == pytest.approx(loss, rel=1e-5, abs=1e-6)
        assert stats.length[i] == int(keep.sum())
