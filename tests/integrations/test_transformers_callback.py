"""``RunCallback`` in a real Hugging Face ``Trainer``: a random-init tiny BERT classifier, a tiny
in-memory data set, 2 epochs; the run's logits are the trainer's own predictions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from softmax_lab.core.runs import load_run  # noqa: E402
from softmax_lab.integrations.transformers import RunCallback  # noqa: E402

N_TRAIN, N_EVAL, T, V = 24, 10, 6, 30
NAMES = {0: "negative", 1: "neutral", 2: "positive"}


class Texts(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, V, (n, T), generator=g)
        self.labels = self.ids[:, 0] % 3

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(T, dtype=torch.long),
            "labels": self.labels[i],
            "text": " ".join(f"w{int(t)}" for t in self.ids[i]),
        }


def tiny_model():
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=V,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=3,
        id2label=NAMES,
        label2id={v: k for k, v in NAMES.items()},
    )
    return transformers.BertForSequenceClassification(config)


def trainer_for(tmp_path, callback, **extra):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        eval_strategy="epoch",
        per_device_train_batch_size=8,
        per_device_eval_batch_size=4,
        learning_rate=1e-2,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        logging_strategy="no",
        dataloader_num_workers=0,
        seed=0,
    )
    return transformers.Trainer(
        model=tiny_model(),
        args=args,
        train_dataset=Texts(N_TRAIN, 1),
        eval_dataset=Texts(N_EVAL, 2),
        callbacks=[callback],
        **extra,
    )


def test_each_evaluation_is_a_step_of_the_trainers_predictions(tmp_path):
    calls = []

    def accuracy(p):
        calls.append(p.predictions.shape)
        return {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())}

    callback = RunCallback(tmp_path / "run")
    trainer = trainer_for(tmp_path, callback, compute_metrics=accuracy)
    forwards = []
    trainer.model.register_forward_hook(lambda *a: forwards.append(1))
    trainer.train()
    run = load_run(tmp_path / "run")
    steps_per_epoch = N_TRAIN // 8
    assert run.steps == [steps_per_epoch, 2 * steps_per_epoch]  # the global step
    assert calls == [(N_EVAL, 3), (N_EVAL, 3)]  # the user's metrics still ran, unchanged
    # no extra forward pass: one per train batch and one per eval batch, nothing else
    assert len(forwards) == 2 * steps_per_epoch + 2 * -(-N_EVAL // 4)
    expected = trainer.predict(trainer.eval_dataset).predictions
    np.testing.assert_allclose(run.logits(run.steps[-1]), expected, rtol=1e-6)
    np.testing.assert_array_equal(run.labels, Texts(N_EVAL, 2).labels.numpy())
    assert run.class_names == ["negative", "neutral", "positive"]
    assert run.texts == [Texts(N_EVAL, 2)[i]["text"] for i in range(N_EVAL)]
    assert not np.allclose(run.logits(run.steps[0]), run.logits(run.steps[1]))


def test_without_compute_metrics_the_predictions_are_kept_all_the_same(tmp_path):
    callback = RunCallback(tmp_path / "run")
    trainer = trainer_for(tmp_path, callback)
    trainer.train()
    metrics = trainer.evaluate()  # the same global step again: not a second step
    assert "eval_loss" in metrics
    run = load_run(tmp_path / "run")
    assert len(run.steps) == 2
    np.testing.assert_allclose(
        run.logits(run.steps[-1]), trainer.predict(trainer.eval_dataset).predictions, rtol=1e-6
    )


def test_a_busy_folder_is_refused_before_training_starts(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        RunCallback(tmp_path / "run")
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


QT = ("PySide6", "pyqtgraph", "softmax_lab.gui")


@pytest.mark.parametrize("module", ["transformers", "lightning"])
def test_importing_a_callback_imports_no_qt(module):
    pytest.importorskip({"transformers": "transformers", "lightning": "pytorch_lightning"}[module])
    code = (
        f"import sys; import softmax_lab.integrations.{module}; "
        f"bad = [m for m in sys.modules if m.startswith({QT!r})]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_batch_eval_metrics_are_joined_into_one_step(tmp_path):
    seen = []

    def per_batch(p, compute_result):
        seen.append(compute_result)
        return {"n": 1.0} if compute_result else None

    callback = RunCallback(tmp_path / "run")
    trainer = trainer_for(tmp_path, callback, compute_metrics=per_batch)
    trainer.args.batch_eval_metrics = True
    trainer.args.num_train_epochs = 1
    trainer.train()
    run = load_run(tmp_path / "run")
    assert seen == [False, False, True]  # the user's function saw every batch, as before
    np.testing.assert_allclose(
        run.logits(run.steps[-1]), trainer.predict(trainer.eval_dataset).predictions, rtol=1e-6
    )
