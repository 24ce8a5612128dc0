"""Real language-model logits made on the spot, without downloads: a byte-level BPE tokenizer
(the ``tokenizers`` package) trained on a short text, and a tiny GRU language model trained on
it with torch for a second or two. ``make_lm_file`` saves the model's logits for a padded batch
with ``input_ids``, ``attention_mask`` and the ``tokenizer.json`` beside them, as a user would
after running their own model.

Test code (imported by the GUI tests and ``python tests/gui/lm_logits.py OUT_DIR``, which writes
the file used for screenshots).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

TEXT = """\
The cat sat on the mat. The dog sat on the log. The cat saw the dog and the dog saw the cat.
A small bird sang in the tall tree, and the cat looked up at the bird in the tree.
The dog ran to the river. The river was cold and the dog swam back to the cat on the mat.
Every morning the bird sang, the cat slept on the mat, and the dog ran to the river.
In the evening the sun went down behind the tall tree and the bird stopped singing.
"""

SENTENCES = (
    "The cat sat on the mat and the dog sat on the log.",
    "Every morning the bird sang in the tall tree.",
    "The dog swam in the cold river.",
    "In the evening the cat slept on the purple mat.",
)
"""The batch whose logits are saved: the last sentence has a word the text never uses."""


@dataclass
class LmFile:
    path: Path
    logits: np.ndarray  # (B, T, V) float32
    input_ids: np.ndarray  # (B, T) int64, right-padded
    attention_mask: np.ndarray  # (B, T) int64
    vocabulary: list[str]  # decoded token texts, by id
    tokenizer_path: Path
    sentences: tuple[str, ...] = SENTENCES

    def vocabulary_of(self, ids) -> list[str]:
        return [self.vocabulary[int(i)] for i in ids]


class TinyLM(nn.Module):
    def __init__(self, vocab: int, width: int = 48) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.out = nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))
        return self.out(hidden)


def train_tokenizer(folder: Path, vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([TEXT], trainer=trainer)
    path = folder / "tokenizer.json"
    tokenizer.save(str(path))
    return tokenizer, path


def make_lm_file(
    folder: Path, *, steps: int = 60, seed: int = 0, sentences: tuple[str, ...] = SENTENCES
) -> LmFile:
    """Train the tokenizer and the model, save the batch's logits to ``folder/lm.npz``."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer, tokenizer_path = train_tokenizer(folder)
    v = tokenizer.get_vocab_size()
    torch.manual_seed(seed)
    model = TinyLM(v)
    text_ids = torch.tensor(tokenizer.encode(TEXT).ids)
    windows = text_ids.unfold(0, 24, 6)  # overlapping training windows
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        logits = model(windows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, v), windows[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    encoded = [tokenizer.encode(s).ids for s in sentences]
    t = max(len(e) for e in encoded)
    pad = tokenizer.token_to_id("<pad>")
    ids = np.full((len(encoded), t), pad, dtype=np.int64)
    mask = np.zeros((len(encoded), t), dtype=np.int64)
    for b, e in enumerate(encoded):
        ids[b, : len(e)] = e
        mask[b, : len(e)] = 1
    with torch.no_grad():
        logits = model(torch.from_numpy(ids)).numpy().astype(np.float32)
    path = folder / "lm.npz"
    np.savez(path, logits=logits, input_ids=ids, attention_mask=mask)
    # What each id reads as (byte pieces that are not whole characters read as "�" here).
    vocabulary = [tokenizer.decode([i], skip_special_tokens=False) for i in range(v)]
    return LmFile(path, logits, ids, mask, vocabulary, tokenizer_path, tuple(sentences))


def torch_perplexity(lm: LmFile) -> np.ndarray:
    """Per-sequence perplexity written out by hand: shift, mask padding, cross-entropy."""
    logits = torch.from_numpy(lm.logits)
    ids = torch.from_numpy(lm.input_ids)
    mask = torch.from_numpy(lm.attention_mask).bool()
    out = []
    for b in range(ids.shape[0]):
        keep = mask[b, :-1] & mask[b, 1:]
        loss = F.cross_entropy(logits[b, :-1][keep], ids[b, 1:][keep])
        out.append(float(torch.exp(loss)))
    return np.array(out)


if __name__ == "__main__":
    made = make_lm_file(Path(sys.argv[1]))
    print(made.path, made.logits.shape, "perplexity", torch_perplexity(made).round(2))
