"""Language-model files as Hugging Face's libraries make them: a one-token vocabulary, a stray
tokenizer beside the logits, and left padding against transformers' own loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Settings
from softmax_lab.core.evaluating import evaluate
from softmax_lab.core.loaders import DataError, load_logits
from softmax_lab.core.opening import prepare_file
from softmax_lab.core.sequences import evaluate_sequences

tokenizers = pytest.importorskip("tokenizers")

TEXTS = ["the cat sat", "a dog ran far away", "the end"]


def word_level(vocab: dict[str, int]):
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer.enable_padding(pad_id=0, pad_token="<unk>")
    return tokenizer


def test_a_one_token_vocabulary_is_one_class_never_binary_scores(tmp_path):
    # Every word is the one token <unk> (id 0): each target has log p = 0, so the loss is 0
    # (torch agrees); read as binary scores [0, z] it was 0.756 on such a file.
    tokenizer = word_level({"<unk>": 0})
    encodings = tokenizer.encode_batch(TEXTS)
    ids = np.array([e.ids for e in encodings])
    mask = np.array([e.attention_mask for e in encodings])
    b, t = ids.shape
    logits = np.random.default_rng(0).normal(size=(b, t, 1)).astype(np.float32)
    np.savez(tmp_path / "lm.npz", logits=logits, input_ids=ids, attention_mask=mask)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    data = load_logits(tmp_path / "lm.npz")
    assert not data.binary
    assert data.logits.shape == (b * t, 1)
    assert data.vocabulary == ["<unk>"]
    ev = evaluate(np.asarray(data.logits), np.asarray(data.targets))
    scored = np.asarray(data.targets) != IGNORE_INDEX
    torch_loss = F.cross_entropy(
        torch.tensor(np.asarray(data.logits)[scored]), torch.tensor(data.targets[scored])
    )
    assert ev.loss == torch_loss.item() == 0.0
    sv = evaluate_sequences(logits, ids, attention_mask=mask)
    assert sv.loss == 0.0
    # Token id 1 does not exist with V = 1.
    ids[0, 1] = 1
    np.savez(tmp_path / "bad.npz", logits=logits, input_ids=ids)
    with pytest.raises(DataError, match=r"token ids in 0\.\.0"):
        load_logits(tmp_path / "bad.npz")


def test_a_stray_tokenizer_of_another_size_does_not_block_a_bare_npy(tmp_path):
    tokenizer = word_level({"<unk>": 0, "the": 1, "cat": 2})  # 3 tokens; the logits have 7
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    logits = np.random.default_rng(1).normal(size=(2, 4, 7)).astype(np.float32)
    np.save(tmp_path / "logits.npy", logits)
    prepared = prepare_file(str(tmp_path / "logits.npy"), Settings(), False)
    np.testing.assert_array_equal(prepared.logits, logits.reshape(8, 7))
    assert prepared.data.vocabulary is None
    said = " ".join(prepared.notices)
    assert "tokenizer.json: has 3 tokens but the logits have 7 classes" in said
    assert "it was not used" in said


def test_left_padding_scores_one_token_fewer_per_padded_sequence_than_transformers():
    """The README's number: Hugging Face's loss with left padding also scores each first real
    token from a padding position; we do not, so each left-padded sequence has one scored
    token fewer, and without those tokens the two losses are equal."""
    transformers = pytest.importorskip("transformers")
    tokenizer = word_level(
        {"<unk>": 0, **{w: i + 1 for i, w in enumerate(sorted(set(" ".join(TEXTS).split())))}}
    )
    tokenizer.enable_padding(pad_id=0, pad_token="<unk>", direction="left")
    encodings = tokenizer.encode_batch(TEXTS)
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    padded = int((mask[:, 0] == 0).sum())
    assert padded == 2  # two of the three sequences are shorter than the longest
    config = transformers.GPT2Config(
        vocab_size=tokenizer.get_vocab_size(), n_positions=16, n_embd=16, n_layer=1, n_head=2
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
    sv = evaluate_sequences(out.logits, ids, attention_mask=mask)
    hf_tokens = int((labels[:, 1:] != -100).sum())
    assert int(sv.lengths.sum()) == hf_tokens - padded
    assert sv.loss != pytest.approx(out.loss.item(), rel=1e-6)
    # Leaving out the first real token of each padded sequence gives Hugging Face our loss.
    for i in range(len(TEXTS)):
        labels[i, int((mask[i] == 0).sum())] = -100
    with torch.no_grad():
        again = model(input_ids=ids, attention_mask=mask, labels=labels)
    assert sv.loss == pytest.approx(again.loss.item(), rel=1e-5)
