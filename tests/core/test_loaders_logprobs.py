"""LLM API logprobs files: the documented response shapes, written here, read as partial
distributions (known top-k plus one "everything else" class); torch is the oracle."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from loader_files import write

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.document import Settings
from softmax_lab.core.loaders import DataError, load_logits
from softmax_lab.core.loaders.logprobs import (
    KNOWN_COLUMN,
    MAX_CELLS,
    REST_COLUMN,
    REST_NAME,
    is_partial,
)
from softmax_lab.core.opening import prepare_file
from softmax_lab.core.tokens import (
    POSITION_KEY,
    TOKEN_KEY,
    sequence_layout,
    sequence_statistics,
    token_nll,
)


def distribution(rng: np.random.Generator, k: int) -> tuple[list[str], np.ndarray]:
    """k candidate words and their (partial) probabilities, summing to less than 1."""
    words = [f" w{int(i)}" for i in rng.choice(200, size=k, replace=False)]
    p = rng.dirichlet(np.ones(k + 1))[:k]  # one share stays unreported
    order = np.argsort(-p)
    return [words[i] for i in order], p[order]


def chat_item(token: str, logprob: float, tops: list[tuple[str, float]]) -> dict:
    def entry(t: str, lp: float) -> dict:
        return {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}

    return {**entry(token, logprob), "top_logprobs": [entry(t, lp) for t, lp in tops]}


def chat_response(items: list[dict], n_choices: int = 1) -> dict:
    """An OpenAI Chat Completions response (logprobs=true, top_logprobs=N)."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [
            {
                "index": c,
                "message": {"role": "assistant", "content": "…"},
                "logprobs": {"content": items, "refusal": None},
                "finish_reason": "stop",
            }
            for c in range(n_choices)
        ],
    }


def random_items(rng: np.random.Generator, n: int, k: int = 5) -> list[dict]:
    items = []
    for _ in range(n):
        words, p = distribution(rng, k)
        chosen = int(rng.integers(0, k))
        lps = [float(math.log(x)) for x in p]
        items.append(chat_item(words[chosen], lps[chosen], list(zip(words, lps, strict=True))))
    return items


def test_chat_completion_is_a_partial_distribution(tmp_path):
    rng = np.random.default_rng(0)
    items = random_items(rng, 12)
    data = load_logits(write(tmp_path / "chat.json", json.dumps(chat_response(items))))
    assert data.class_names[-1] == REST_NAME
    assert any("approximation" in n for n in data.notices)
    assert is_partial(data.metadata)
    x = torch.from_numpy(np.array(data.logits))
    y = torch.from_numpy(np.array(data.targets))
    losses = F.cross_entropy(x, y, reduction="none").numpy()
    chosen = np.array([it["logprob"] for it in items])
    np.testing.assert_allclose(losses, -chosen, rtol=1e-5, atol=1e-6)  # surprisal is exact
    p = torch.softmax(x, 1).numpy()
    for r, item in enumerate(items):
        known = {t["token"]: math.exp(t["logprob"]) for t in item["top_logprobs"]}
        names = [data.class_names[c] for c in np.flatnonzero(p[r] > 0)]
        assert set(names) == {*(n.replace(" ", "␣") for n in known), REST_NAME}
        rest = 1 - sum(known.values())
        assert p[r, -1] == pytest.approx(rest, rel=1e-4)  # one bar, never a made-up spread
        assert data.metadata[REST_COLUMN][r] == pytest.approx(rest)
        assert data.metadata[KNOWN_COLUMN][r] == 5
    np.testing.assert_array_equal(data.metadata[POSITION_KEY], np.arange(12))
    np.testing.assert_array_equal(data.metadata[TOKEN_KEY], data.targets)


def test_perplexity_is_exp_of_minus_mean_logprob(tmp_path):
    rng = np.random.default_rng(1)
    items = random_items(rng, 30, k=3)
    path = write(tmp_path / "chat.json", json.dumps(chat_response(items)))
    prepared = prepare_file(str(path), Settings(), False)
    nll = token_nll(prepared.evaluation)
    layout = sequence_layout(prepared.inputs.metadata)
    stats = sequence_statistics(layout, nll)
    expected = math.exp(-np.mean([it["logprob"] for it in items]))
    assert stats.perplexity[0] == pytest.approx(expected, rel=1e-5)


def test_multibyte_characters_join_from_bytes(tmp_path):
    smile = "😀".encode()  # four bytes, split over two tokens as the API does
    first, second = list(smile[:2]), list(smile[2:])
    items = [
        {"token": "Hi", "logprob": -0.1, "bytes": list(b"Hi"), "top_logprobs": []},
        {"token": "bytes:\\xf0\\x9f", "logprob": -0.5, "bytes": first, "top_logprobs": []},
        {"token": "\\x98\\x80", "logprob": -0.01, "bytes": second, "top_logprobs": []},
        {"token": " é", "logprob": -2.0, "bytes": list(" é".encode()), "top_logprobs": []},
    ]
    data = load_logits(write(tmp_path / "emoji.json", json.dumps(chat_response(items))))
    from softmax_lab.core.tokens import token_text

    text = "".join(token_text(data.class_names[i]) for i in data.metadata[TOKEN_KEY])
    assert text == "Hi😀 é"
    # The `token` field would have given the escaped junk instead.
    assert "\\x" not in text


def test_jsonl_many_responses_and_choices_are_sequences(tmp_path):
    rng = np.random.default_rng(2)
    lines = [
        json.dumps(chat_response(random_items(rng, 4), n_choices=2)),
        json.dumps(chat_response(random_items(rng, 7))),
    ]
    data = load_logits(write(tmp_path / "batch.jsonl", "\n".join(lines) + "\n"))
    layout = sequence_layout(data.metadata)
    assert layout.sequences.tolist() == [0, 1, 2]
    assert np.diff(layout.starts).tolist() == [4, 4, 7]  # no padding rows
    assert (data.targets != IGNORE_INDEX).all()


def test_batch_api_output_line_is_unwrapped(tmp_path):
    rng = np.random.default_rng(3)
    line = {
        "id": "batch_req_1",
        "custom_id": "a",
        "response": {"status_code": 200, "body": chat_response(random_items(rng, 3))},
    }
    data = load_logits(write(tmp_path / "out.jsonl", json.dumps(line) + "\n"))
    assert data.logits.shape[0] == 3


def test_responses_api(tmp_path):
    rng = np.random.default_rng(4)
    items = random_items(rng, 5)
    body = {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": []},
            {
                "type": "message",
                "content": [
                    {"type": "output_text", "text": "…", "annotations": [], "logprobs": items}
                ],
            },
        ],
    }
    data = load_logits(write(tmp_path / "resp.json", json.dumps(body)))
    losses = F.cross_entropy(
        torch.from_numpy(np.array(data.logits)),
        torch.from_numpy(np.array(data.targets)),
        reduction="none",
    )
    np.testing.assert_allclose(losses.numpy(), [-it["logprob"] for it in items], rtol=1e-5)
    assert "Responses" in data.notices[0]


def test_responses_api_without_logprobs_says_how_to_ask(tmp_path):
    body = {
        "object": "response",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
    }
    with pytest.raises(DataError, match=r"include=.*logprobs"):
        load_logits(write(tmp_path / "resp.json", json.dumps(body)))


def test_legacy_completions_with_echoed_prompt(tmp_path):
    body = {
        "object": "text_completion",
        "choices": [
            {
                "text": "The cat sat",
                "logprobs": {
                    "tokens": ["The", " cat", " sat"],
                    "token_logprobs": [None, -3.2, -0.7],
                    "top_logprobs": [None, {" cat": -3.2, " dog": -1.1}, {" sat": -0.7}],
                    "text_offset": [0, 3, 7],
                },
            }
        ],
    }
    data = load_logits(write(tmp_path / "legacy.json", json.dumps(body)))
    assert data.targets[0] == IGNORE_INDEX  # the first echoed token has no logprob
    assert any("no logprob of their own" in n for n in data.notices)
    p = torch.softmax(torch.from_numpy(np.array(data.logits[1])), 0).numpy()
    named = dict(zip(data.class_names, p, strict=True))
    assert named["␣dog"] == pytest.approx(math.exp(-1.1), rel=1e-5)
    assert named[REST_NAME] == pytest.approx(1 - math.exp(-1.1) - math.exp(-3.2), rel=1e-4)


def test_llama_cpp_both_shapes(tmp_path):
    new = {
        "content": "ab",
        "completion_probabilities": [
            {
                "id": 1,
                "token": "a",
                "bytes": [97],
                "logprob": -0.2,
                "top_logprobs": [{"id": 1, "token": "a", "bytes": [97], "logprob": -0.2}],
            },
            {"id": 2, "token": "b", "bytes": [98], "logprob": -1.5, "top_logprobs": []},
        ],
    }
    data = load_logits(write(tmp_path / "llama.json", json.dumps(new)))
    assert data.logits.shape[0] == 2
    old = {
        "content": "ab",
        "completion_probabilities": [
            {
                "content": "a",
                "probs": [{"tok_str": "a", "prob": 0.8}, {"tok_str": "c", "prob": 0.1}],
            },
            {"content": "b", "probs": [{"tok_str": "x", "prob": 0.9}]},
        ],
    }
    data = load_logits(write(tmp_path / "llama_old.json", json.dumps(old)))
    assert data.targets[0] != IGNORE_INDEX
    assert data.targets[1] == IGNORE_INDEX
    p = torch.softmax(torch.from_numpy(np.array(data.logits[0])), 0).numpy()
    assert p[data.targets[0]] == pytest.approx(0.8, rel=1e-5)


def test_sglang_native(tmp_path):
    body = {
        "text": "hi",
        "meta_info": {
            "output_token_logprobs": [[-0.3, 5, "h"], [-0.9, 7, "i"]],
            "output_top_logprobs": [[[-0.3, 5, "h"], [-2.0, 8, "x"]], [[-0.9, 7, "i"]]],
        },
    }
    data = load_logits(write(tmp_path / "sglang.json", json.dumps(body)))
    losses = F.cross_entropy(
        torch.from_numpy(np.array(data.logits)),
        torch.from_numpy(np.array(data.targets)),
        reduction="none",
    )
    np.testing.assert_allclose(losses.numpy(), [0.3, 0.9], rtol=1e-5)


# --- hostile files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"token": "a", "bytes": [97]}, "no 'logprob'"),
        ({"token": "a", "logprob": 0.5}, r"0\.5 > 0"),
        ({"token": "a", "logprob": "high"}, "must be a number"),
        ({"logprob": -1.0}, "neither 'token' text nor 'bytes'"),
        ({"token": "a", "logprob": -1.0, "bytes": [300]}, "byte values"),
        ({"token": "a", "logprob": -1.0, "top_logprobs": {"a": -1}}, "must be a list"),
        ({"token": "a", "logprob": -1.0, "top_logprobs": [{"token": "b"}]}, "needs a 'logprob'"),
        ("a", "must be an object"),
    ],
)
def test_hostile_items_name_the_place(tmp_path, item, message):
    good = chat_item("x", -0.1, [])
    path = write(tmp_path / "bad.json", json.dumps(chat_response([good, item])))
    with pytest.raises(DataError, match=message) as info:
        load_logits(path)
    assert str(info.value).startswith("bad.json (choice 1, token 2")


def test_nan_logprob_is_refused(tmp_path):
    text = json.dumps(chat_response([chat_item("a", -0.1, [])])).replace("-0.1", "NaN")
    with pytest.raises(DataError, match="NaN"):
        load_logits(write(tmp_path / "nan.json", text))


def test_tiny_positive_logprob_is_rounding(tmp_path):
    data = load_logits(
        write(tmp_path / "r.json", json.dumps(chat_response([chat_item("a", 1e-7, [])])))
    )
    assert float(data.logits[0, data.targets[0]]) == 0.0


def test_disagreeing_top_logprobs_get_a_notice_and_the_own_logprob(tmp_path):
    items = [
        chat_item("a", -0.5, [("a", -2.0), ("b", -1.5)]),
        chat_item("c", -0.1, [("d", -3.0)]),  # chosen missing though more probable than "d"
    ]
    data = load_logits(write(tmp_path / "d.json", json.dumps(chat_response(items))))
    assert any("another logprob than its own" in n for n in data.notices)
    assert any("missing from top_logprobs" in n for n in data.notices)
    assert float(data.logits[0, data.targets[0]]) == pytest.approx(-0.5)


def test_probabilities_over_one_get_a_notice(tmp_path):
    items = [chat_item("a", math.log(0.7), [("a", math.log(0.7)), ("b", math.log(0.6))])]
    data = load_logits(write(tmp_path / "o.json", json.dumps(chat_response(items))))
    assert any("more than 1" in n for n in data.notices)
    assert np.isneginf(data.logits[0, -1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"choices": [{"message": {}, "logprobs": None}]}, "logprobs=true"),
        ({"choices": []}, "'choices' is empty"),
        ({"foo": 1}, "expected an LLM API response"),
        ([1, 2], "expected an LLM API response"),
        ({"error": {"message": "rate limited"}}, "rate limited"),
        ({"choices": [{"logprobs": {"content": []}}]}, "hold no tokens"),
    ],
)
def test_hostile_documents(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        load_logits(write(tmp_path / "x.json", json.dumps(body)))


def test_not_json_and_bad_jsonl_line(tmp_path):
    with pytest.raises(DataError, match="not valid JSON"):
        load_logits(write(tmp_path / "x.json", "{'choices': "))
    good = json.dumps(chat_response([chat_item("a", -1.0, [])]))
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_logits(write(tmp_path / "x.jsonl", good + "\n{oops\n"))


def test_100000_tokens_load_with_a_notice(tmp_path):
    rng = np.random.default_rng(7)
    picks = rng.integers(0, 20_000, size=(100_000, 5))
    template = '{"token": " t%d", "logprob": -1.0, "top_logprobs": [%s]}'
    items = ",".join(
        template
        % (
            row[0],
            ",".join(
                f'{{"token": " t{j}", "logprob": -{1 + r}.0}}'
                for r, j in enumerate(dict.fromkeys(row.tolist()))
            ),
        )
        for row in picks
    )
    text = json.dumps(chat_response([])).replace('"content": []', f'"content": [{items}]')
    data = load_logits(write(tmp_path / "long.json", text))
    n, v = data.logits.shape
    assert n * v <= MAX_CELLS
    assert 0 < n < 100_000
    assert any("100,000 tokens; the first" in x for x in data.notices)
    np.testing.assert_array_equal(data.logits[np.arange(n), data.targets], -1.0)


@settings(max_examples=30)
@given(
    st.lists(
        st.tuples(
            st.lists(st.floats(0.001, 1.0), min_size=1, max_size=6),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_random_responses_softmax_gives_back_the_reported_probabilities(rows):
    import tempfile
    from pathlib import Path

    items = []
    for weights, pick in rows:
        p = np.array(weights) / (sum(weights) * 1.25)  # a fifth unreported
        tops = [(f"t{j}", float(np.log(x))) for j, x in enumerate(p)]
        chosen = tops[pick % len(tops)]
        items.append(chat_item(chosen[0], chosen[1], tops))
    with tempfile.TemporaryDirectory() as folder:
        data = load_logits(write(Path(folder) / "h.json", json.dumps(chat_response(items))))
    probs = torch.softmax(torch.from_numpy(np.array(data.logits, dtype=np.float64)), 1).numpy()
    for r, item in enumerate(items):
        for top in item["top_logprobs"]:
            c = data.class_names.index(top["token"])
            assert probs[r, c] == pytest.approx(math.exp(top["logprob"]), rel=1e-4)
        assert probs[r, -1] == pytest.approx(0.2, rel=1e-3)
