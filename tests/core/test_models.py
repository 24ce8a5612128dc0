"""core.models against transformers itself: forward logits, the loss, greedy generate, sampling.

Every model is random-init and built here (tests/core/model_folders.py); nothing is downloaded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from model_folders import (
    classifier_folder,
    gpt2_folder,
    random_image,
    transformers,
    vit_folder,
)

from softmax_lab.core.models import ModelError, load_model, sampler_keep, sampler_marks

PROMPT = "The loss of a sentence is"


@pytest.fixture(scope="module")
def gpt2_path(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def gpt2(gpt2_path):
    return load_model(gpt2_path)


@pytest.fixture(scope="module")
def reference(gpt2_path):
    model = transformers.AutoModelForCausalLM.from_pretrained(gpt2_path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(gpt2_path)
    return model, tokenizer


def test_causal_lm_logits_equal_the_models_forward(gpt2, reference):
    model, tokenizer = reference
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = model(ids).logits[0].numpy()
    got = gpt2.logits(PROMPT)
    assert gpt2.kind == "causal-lm"
    assert got.dtype == np.float32
    assert got.shape == (ids.shape[1], len(tokenizer))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_class_names_are_token_texts_by_id(gpt2, reference):
    _, tokenizer = reference
    names = gpt2.class_names
    assert len(names) == gpt2.n_classes
    ids = tokenizer(PROMPT)["input_ids"]
    assert "".join(names[i] for i in ids) == tokenizer.decode(ids)


def test_score_perplexity_is_exp_of_the_models_loss(gpt2, reference):
    model, tokenizer = reference
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()
    scored = gpt2.score(PROMPT)
    assert scored.loss == pytest.approx(loss, rel=1e-5)
    assert scored.perplexity[0] == pytest.approx(np.exp(loss), rel=1e-5)


@pytest.mark.parametrize("how", [{"top_k": 1}, {"temperature": 0.0}])
def test_greedy_equals_transformers_greedy_generate(gpt2, reference, how):
    model, tokenizer = reference
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    steps = 12
    out = model.generate(
        ids,
        max_new_tokens=steps,
        min_new_tokens=steps,
        do_sample=False,
        output_logits=True,
        return_dict_in_generate=True,
        pad_token_id=tokenizer.eos_token_id,
    )
    g = gpt2.generate(PROMPT, steps, **how)
    np.testing.assert_array_equal(g.ids, out.sequences[0].numpy())
    raw = torch.stack(out.logits, 1)[0].numpy()
    np.testing.assert_allclose(g.logits, raw, rtol=1e-4, atol=1e-4)
    assert g.kept.sum(axis=1).tolist() == [1] * steps
    assert g.kept[np.arange(steps), g.drawn].all()


def test_sampling_same_seed_same_tokens_and_draws_only_kept(gpt2):
    a = gpt2.generate(PROMPT, 10, temperature=1.3, top_k=20, top_p=0.9, seed=7)
    b = gpt2.generate(PROMPT, 10, temperature=1.3, top_k=20, top_p=0.9, seed=7)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert a.kept[np.arange(10), a.drawn].all()
    assert (a.kept.sum(axis=1) <= 20).all()
    assert a.logits.shape == (10, gpt2.n_classes)


def test_kept_set_equals_transformers_warpers():
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    rng = np.random.default_rng(0)
    for _ in range(30):
        z = torch.tensor(rng.normal(0, 3, (2, 50)), dtype=torch.float32)
        t, k, p = float(rng.uniform(0.3, 2)), int(rng.integers(1, 50)), float(rng.uniform(0.1, 1))
        expected = z.clone()
        for warper in (TemperatureLogitsWarper(t), TopKLogitsWarper(k), TopPLogitsWarper(p)):
            expected = warper(None, expected)
        got = sampler_keep(z, temperature=t, top_k=k, top_p=p)
        assert torch.equal(torch.isfinite(got), torch.isfinite(expected))


def test_text_classifier_logits_and_id2label(tmp_path):
    path = classifier_folder(tmp_path / "bert")
    m = load_model(path)
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    texts = ["softmax turns logits into probabilities", "the loss", "greedy decoding"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = reference(**batch).logits.numpy()
    assert m.kind == "text-classification"
    assert m.class_names == ["negative", "neutral", "positive"]
    np.testing.assert_allclose(m.logits(texts), expected, rtol=1e-5, atol=1e-5)
    one = m.logits(texts[1])
    with torch.no_grad():
        alone = reference(**tokenizer(texts[1], return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(one, alone, rtol=1e-5, atol=1e-5)


def test_image_classifier_from_array_and_path(tmp_path):
    from PIL import Image

    path = vit_folder(tmp_path / "vit")
    m = load_model(path)
    reference = transformers.AutoModelForImageClassification.from_pretrained(path).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(path)
    image = random_image()
    with torch.no_grad():
        expected = reference(**processor(images=[image], return_tensors="pt")).logits.numpy()
    assert m.kind == "image-classification"
    assert m.class_names == ["cat", "dog", "bird", "fish"]
    np.testing.assert_allclose(m.logits(image), expected, rtol=1e-5, atol=1e-5)
    file = tmp_path / "x.png"
    Image.fromarray(image).save(file)
    np.testing.assert_allclose(m.logits([file, image]), np.vstack([expected, expected]), atol=1e-5)


def test_model_in_memory(reference):
    from softmax_lab.core.models import Model

    model, tokenizer = reference
    m = Model.from_objects(model, tokenizer)
    assert m.kind == "causal-lm"
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = model(ids).logits[0].numpy()
    np.testing.assert_allclose(m.logits(PROMPT), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="transformers model"):
        Model.from_objects(object())


# -- hostile folders and inputs -------------------------------------------------------------------


def test_pickled_weights_only_are_refused(tmp_path, gpt2_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((gpt2_path / name).read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(
        ModelError, match=r"pytorch_model\.bin is a pickle, and unpickling runs code"
    ):
        load_model(folder)


def test_custom_code_is_refused(tmp_path, gpt2_path):
    folder = tmp_path / "custom"
    folder.mkdir()
    for p in gpt2_path.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="auto_map"):
        load_model(folder)


def test_tokenizer_that_does_not_match_is_refused(tmp_path, gpt2_path):
    from model_folders import trained_tokenizer

    folder = tmp_path / "mismatch"
    folder.mkdir()
    for p in gpt2_path.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    for p in folder.glob("tokenizer*"):
        p.unlink()
    trained_tokenizer(vocab_size=400).save_pretrained(folder)
    with pytest.raises(ModelError, match="do not belong together"):
        load_model(folder)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: None, "no such folder"),
        (lambda p: p.mkdir(), "no config.json"),
        (lambda p: (p.mkdir(), (p / "config.json").write_text("{")), "not valid JSON"),
        (lambda p: (p.mkdir(), (p / "config.json").write_text("[1]")), "not a JSON object"),
        (lambda p: (p.mkdir(), (p / "config.json").write_text("{}")), "safetensors"),
    ],
)
def test_broken_folders_get_messages(tmp_path, make, match):
    path = tmp_path / "m"
    make(path)
    with pytest.raises(ModelError, match=match):
        load_model(str(path) + ("/" if path.exists() else ""))


def test_unknown_architecture_is_refused(tmp_path, gpt2_path):
    folder = tmp_path / "other"
    folder.mkdir()
    for p in gpt2_path.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["GPT2Model"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="not a causal LM"):
        load_model(folder)


def test_empty_and_huge_prompts_are_refused(gpt2):
    with pytest.raises(ValueError, match="empty"):
        gpt2.logits("")
    with pytest.raises(ValueError, match="characters"):
        gpt2.logits("a" * 300_000)
    with pytest.raises(ValueError, match="reads at most 128"):
        gpt2.logits("softmax " * 200)
    with pytest.raises(TypeError):
        gpt2.logits(["a list"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": -1},
        {"temperature": float("nan")},
        {"top_k": 0},
        {"top_k": 2.5},
        {"top_p": 0},
        {"top_p": 1.5},
        {"top_p": True},
    ],
)
def test_bad_sampler_settings_are_refused(gpt2, kwargs):
    with pytest.raises(ValueError):
        gpt2.generate(PROMPT, 2, **kwargs)


def test_bad_steps_are_refused(gpt2):
    with pytest.raises(ValueError, match="steps"):
        gpt2.generate(PROMPT, 0)
    with pytest.raises(TypeError, match="steps"):
        gpt2.generate(PROMPT, 2.0)
    with pytest.raises(ValueError, match="exceed"):
        gpt2.generate(PROMPT, 127)


def test_too_big_for_memory_is_refused(gpt2_path, monkeypatch):
    import softmax_lab.core.models.checks as models

    monkeypatch.setattr(models, "available_memory", lambda: 1000)
    with pytest.raises(ModelError, match=r"needs .* on cpu, which has 0 MB free"):
        load_model(gpt2_path)


def test_unknown_device_and_dtype(gpt2_path):
    with pytest.raises(ValueError, match="unknown device"):
        load_model(gpt2_path, device="tpu")
    with pytest.raises(ValueError, match="unsupported dtype"):
        load_model(gpt2_path, dtype="int8")


def test_cuda_falls_back_to_cpu_with_reason(gpt2):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "CUDA is not available" in gpt2.to("cuda")
    assert gpt2.device.type == "cpu"


def test_dtype_move_keeps_working(gpt2_path):
    m = load_model(gpt2_path, dtype="bfloat16")
    assert m.dtype == torch.bfloat16
    assert m.logits(PROMPT).dtype == np.float32
    m.to("cpu", "float32")
    assert m.dtype == torch.float32


def test_prompt_opens_as_a_language_model_file(gpt2, reference):
    from softmax_lab.core.document import Settings
    from softmax_lab.core.opening import prepare_loaded

    _, tokenizer = reference
    ids = tokenizer(PROMPT)["input_ids"]
    table = gpt2.prompt_table(PROMPT)
    prepared = prepare_loaded("prompt", table, Settings())
    assert prepared.logits.shape == (len(ids), gpt2.n_classes)
    assert prepared.labels.tolist() == [*ids[1:], -100]
    assert prepared.data.class_names[ids[1]] == gpt2.class_names[ids[1]]
    assert prepared.evaluation.loss == pytest.approx(gpt2.score(PROMPT).loss, rel=1e-6)
    assert prepared.inputs.metadata["token id"].tolist() == ids


def test_generation_table_rows_are_the_steps_that_drew_each_token(gpt2):
    prompt_logits = gpt2.logits(PROMPT)
    g = gpt2.generate(PROMPT, 5, top_k=1)
    table = gpt2.generation_table(prompt_logits, g)
    n = g.prompt_length
    assert table.logits.shape == (n - 1 + 5, gpt2.n_classes)
    np.testing.assert_array_equal(table.logits[n - 1 :], g.logits)
    np.testing.assert_allclose(table.logits[n - 1], prompt_logits[-1], atol=1e-4)
    assert table.targets[n - 1 :].tolist() == g.drawn.tolist()
    assert table.targets[: n - 1].tolist() == g.ids[1:n].tolist()


def test_step_back_step_draws_the_same_and_matches_generate(gpt2):
    run = gpt2.start_generation(PROMPT, temperature=1.5, top_p=0.95, seed=3)
    tokens = [run.step() for _ in range(6)]
    run.back()
    run.back()
    assert run.steps == 4
    again = [run.step(), run.step()]
    assert again == tokens[4:]
    whole = gpt2.generate(PROMPT, 6, temperature=1.5, top_p=0.95, seed=3)
    result = run.result()
    np.testing.assert_array_equal(result.ids, whole.ids)
    np.testing.assert_allclose(result.logits, whole.logits, atol=1e-4)
    np.testing.assert_array_equal(run.prompt_logits, gpt2.logits(PROMPT))
    table = run.table()
    assert table.logits.shape[0] == run.prompt_ids.shape[0] - 1 + 6


def test_each_step_table_is_the_copying_table_and_never_changes_after(gpt2, monkeypatch):
    """Generator.table() shares one growing buffer (no (T, V) copy a step): every table it
    handed out keeps its rows through later steps, Backs and the buffer's growth, and equals
    Model.generation_table of the run's result at that moment."""
    from softmax_lab.core.models import generation

    monkeypatch.setattr(generation, "ROWS_GROWN_BY", 2)  # grow (and copy) every few steps
    run = gpt2.start_generation(PROMPT, temperature=1.3, seed=5)
    handed: list[tuple[np.ndarray, np.ndarray]] = []

    def take() -> None:
        table = run.table()
        reference = gpt2.generation_table(run.prompt_logits, run.result())
        np.testing.assert_array_equal(table.logits, reference.logits)
        np.testing.assert_array_equal(table.targets, reference.targets)
        assert table.class_names == reference.class_names
        assert not table.logits.flags.writeable
        handed.append((table.logits, table.logits.copy()))

    for action in "ssbsssbbsssssbs":
        run.step() if action == "s" else run.back()
        take()
    for shown, copy in handed:
        np.testing.assert_array_equal(shown, copy)


def test_token_names_are_worked_out_once_and_handed_as_copies(gpt2):
    from softmax_lab.core.tokens import token_names

    names = gpt2.token_names()
    assert names == token_names(gpt2.class_names, gpt2.n_classes)
    names[0] = "changed"
    assert gpt2.token_names()[0] != "changed"
    assert gpt2.prompt_table(PROMPT).class_names == gpt2.token_names()


def test_why_this_token_rank_and_mass_above(gpt2):
    g = gpt2.generate(PROMPT, 4, temperature=2.0, seed=1)
    for step in range(4):
        why = g.why(step)
        p = torch.softmax(torch.tensor(g.logits[step], dtype=torch.float64) / 2.0, -1).numpy()
        order = np.argsort(-p, kind="stable")
        assert why.rank == int(np.nonzero(order == g.drawn[step])[0][0]) + 1
        assert why.mass_above == pytest.approx(p[p > p[g.drawn[step]]].sum())
        assert why.kept == g.kept[step].sum()
    run = gpt2.start_generation(PROMPT, temperature=2.0, seed=1)
    for _ in range(2):
        run.step()
    assert run.why(-1) == run.result().why(-1)  # the generator's own, without stacking
    assert run.why(0) == run.result().why(0)
    greedy = gpt2.generate(PROMPT, 2, top_k=1)
    assert greedy.why(0).rank == 1
    assert greedy.why(0).mass_above == 0
    with pytest.raises(IndexError):
        greedy.why(2)


@pytest.mark.parametrize(
    "sampler",
    [
        {"temperature": 1.0, "top_k": 3},
        {"temperature": 0.7, "top_p": 0.5},
        {"temperature": 1.4, "top_k": 40, "top_p": 0.8},
        {"temperature": 1.0, "top_k": 1},
        {"temperature": 0.0},
    ],
)
def test_sampler_marks_are_each_steps_kept_set(gpt2, sampler):
    """The bars' kept set of a generated step is exactly what the generator kept there; its mass
    is the kept tokens' probability under softmax(z / T) (torch the oracle)."""
    g = gpt2.generate(PROMPT, 3, seed=3, **sampler)
    t = sampler["temperature"] or 1.0
    for step in range(3):
        marks = sampler_marks(
            g.logits[step], **sampler, drawn=int(g.drawn[step]), names=gpt2.class_names
        )
        np.testing.assert_array_equal(marks.kept, g.kept[step])
        p = torch.softmax(torch.tensor(g.logits[step], dtype=torch.float64) / t, -1).numpy()
        assert marks.kept_mass == pytest.approx(p[g.kept[step]].sum())
        assert marks.n_kept == g.kept[step].sum()
        assert marks.drawn_rank == g.why(step).rank
        assert f"kept: {marks.n_kept:,} of {gpt2.n_classes:,} tokens" in marks.caption
        assert gpt2.class_names[int(g.drawn[step])].strip() in marks.caption


def test_sampler_marks_hostile_rows():
    nan = sampler_marks(np.array([0.0, np.nan, 1.0]), top_k=2)
    assert nan.n_kept == 0
    assert not nan.kept.any()
    everything = sampler_marks(np.array([1.0, 2.0, 3.0]))
    assert everything.all_kept
    assert everything.kept_mass == pytest.approx(1.0)
    assert "no top-k / top-p" in everything.caption
    assert sampler_marks(np.array([1.0, 2.0, 3.0]), top_k=10**6).all_kept  # k beyond V
    tiny = sampler_marks(np.array([1.0, 2.0, 3.0]), top_p=0.01)  # at least one is always kept
    assert tiny.kept.tolist() == [False, False, True]
    with pytest.raises(ValueError, match="outside"):
        sampler_marks(np.array([1.0, 2.0]), drawn=2)
    with pytest.raises(ValueError, match="no logits"):
        sampler_marks(np.zeros(0))
    with pytest.raises(ValueError, match="top_k"):
        sampler_marks(np.zeros(3), top_k=0)
