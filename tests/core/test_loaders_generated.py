"""generate() outputs: {"sequences", "logits" / "scores"} saved as .pt or .npz, checked against
a random-init GPT-2's real ``generate`` (greedy and sampled) with torch as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from loader_files import npz_bytes, pt_bytes, write

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError, load_logits
from softmax_lab.core.tokens import POSITION_KEY, SEQUENCE_KEY, TOKEN_KEY

transformers = pytest.importorskip("transformers")

V, PROMPT, NEW = 48, 5, 6


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        vocab_size=V,
        n_positions=64,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
    )
    return transformers.GPT2LMHeadModel(config).eval()


def generate(model, sample: bool):
    torch.manual_seed(3)
    prompt = torch.randint(1, V, (3, PROMPT))
    kwargs = {"do_sample": True, "top_k": 10, "temperature": 0.7} if sample else {}
    return model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=NEW,
        output_logits=True,
        output_scores=True,
        return_dict_in_generate=True,
        **kwargs,
    )


@pytest.mark.parametrize("sample", [False, True])
@pytest.mark.parametrize("fmt", ["pt", "npz"])
def test_generate_output_scores_each_generated_token(tmp_path, model, sample, fmt):
    out = generate(model, sample)
    logits = torch.stack(out.logits, 1)
    entries = {"sequences": out.sequences, "logits": logits}
    if fmt == "pt":
        path = write(tmp_path / "gen.pt", pt_bytes(entries))
    else:
        path = write(tmp_path / "gen.npz", npz_bytes(**{k: v.numpy() for k, v in entries.items()}))
    data = load_logits(path)
    b, total = out.sequences.shape
    prompt = total - logits.shape[1]
    assert prompt == PROMPT
    assert data.sequence_shape == (b, total)
    targets = data.targets.reshape(b, total)
    assert (targets[:, :prompt] == IGNORE_INDEX).all()  # the prompt is not scored
    np.testing.assert_array_equal(targets[:, prompt:], out.sequences[:, prompt:].numpy())
    np.testing.assert_array_equal(data.metadata[TOKEN_KEY], out.sequences.reshape(-1).numpy())
    np.testing.assert_array_equal(data.metadata[SEQUENCE_KEY], np.repeat(np.arange(b), total))
    np.testing.assert_array_equal(data.metadata[POSITION_KEY], np.tile(np.arange(total), b))
    rows = np.flatnonzero(data.targets != IGNORE_INDEX)
    ours = F.cross_entropy(
        torch.from_numpy(np.array(data.logits[rows])),
        torch.from_numpy(data.targets[rows]),
        reduction="none",
    )
    oracle = F.cross_entropy(
        logits.reshape(-1, V), out.sequences[:, prompt:].reshape(-1), reduction="none"
    )
    torch.testing.assert_close(ours, oracle)
    if not sample:
        assert (logits.argmax(-1) == out.sequences[:, prompt:]).all()


def test_scores_alone_stand_in_with_a_notice(tmp_path, model):
    out = generate(model, True)
    scores = torch.stack(out.scores, 1)  # -inf outside the top-k: the chosen token is inside
    data = load_logits(
        write(tmp_path / "s.pt", pt_bytes({"sequences": out.sequences, "scores": scores}))
    )
    assert any("only 'scores'" in n for n in data.notices)
    rows = data.targets != IGNORE_INDEX
    assert np.isfinite(np.array(data.logits)[rows, data.targets[rows]]).all()


def test_both_logits_and_scores_show_the_raw_ones(tmp_path, model):
    out = generate(model, True)
    entries = {
        "sequences": out.sequences,
        "logits": torch.stack(out.logits, 1),
        "scores": torch.stack(out.scores, 1),
    }
    data = load_logits(write(tmp_path / "both.pt", pt_bytes(entries)))
    assert any("raw 'logits' are shown" in n for n in data.notices)
    np.testing.assert_array_equal(
        np.array(data.logits).reshape(3, -1, V)[:, PROMPT:], entries["logits"].numpy()
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"sequences": np.zeros((2, 3), int), "logits": np.zeros((2, 5, 4), np.float32)},
            "sequences must hold the prompt",
        ),
        (
            {"sequences": np.zeros((3, 8), int), "logits": np.zeros((2, 5, 4), np.float32)},
            "'sequences' has shape",
        ),
        (
            {"sequences": np.full((2, 8), 9), "logits": np.zeros((2, 5, 4), np.float32)},
            r"token ids in 0\.\.3",
        ),
        (
            {"sequences": np.zeros((2, 8), np.float32), "logits": np.zeros((2, 5, 4), np.float32)},
            "must be token ids",
        ),
        (
            {"sequences": np.zeros((2, 8), int), "logits": np.zeros((2, 5, 4, 1), np.float32)},
            "batch, steps, vocabulary",
        ),
    ],
)
def test_hostile_generate_files(tmp_path, entries, message):
    with pytest.raises(DataError, match=message):
        load_logits(write(tmp_path / "bad.npz", npz_bytes(**entries)))


def test_ordinary_files_are_not_taken_for_generate_outputs(tmp_path):
    logits = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    data = load_logits(
        write(tmp_path / "plain.npz", npz_bytes(logits=logits, labels=np.arange(4) % 3))
    )
    np.testing.assert_array_equal(data.logits, logits)
    assert data.sequence_shape is None


def test_processed_scores_beside_the_raw_logits(tmp_path, model):
    from softmax_lab.core.loaders.generated import PROCESSED_KEPT, PROCESSED_P

    out = generate(model, True)  # top-k 10 at T = 0.7
    scores = torch.stack(out.scores, 1)
    entries = {"sequences": out.sequences, "logits": torch.stack(out.logits, 1), "scores": scores}
    data = load_logits(write(tmp_path / "both.pt", pt_bytes(entries)))
    p = data.metadata[PROCESSED_P].reshape(3, -1)
    kept = data.metadata[PROCESSED_KEPT].reshape(3, -1)
    assert np.isnan(p[:, :PROMPT]).all()
    assert (kept[:, :PROMPT] == -1).all()
    oracle = torch.softmax(scores.double(), -1).gather(-1, out.sequences[:, PROMPT:, None])[..., 0]
    np.testing.assert_allclose(p[:, PROMPT:], oracle.numpy(), rtol=1e-6)
    assert (kept[:, PROMPT:] == 10).all()  # top-k 10 left ten tokens drawable
    bad = {**entries, "scores": scores[:, :2]}
    with pytest.raises(DataError, match=r"same \(batch, steps, vocabulary\) shape"):
        load_logits(write(tmp_path / "bad.pt", pt_bytes(bad)))
