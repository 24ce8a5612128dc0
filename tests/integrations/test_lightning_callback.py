"""``RunCallback`` in a real Lightning ``Trainer``: a random-init tiny classifier on a tiny
in-memory data set, 2 epochs; the run's logits are what ``trainer.predict`` gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pl = pytest.importorskip("pytorch_lightning")

from softmax_lab.core.runs import load_run  # noqa: E402
from softmax_lab.integrations.lightning import RunCallback  # noqa: E402

# Lightning's own warnings (its use of torch's pytree, its advice on dataloader workers) are not
# about this code.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:pytorch_lightning.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:lightning_fabric.*"),
]

N, D, C = 20, 5, 3


class Tiny(pl.LightningModule):
    def __init__(self, returns: str = "dict") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(D, 8), torch.nn.ReLU(), torch.nn.Linear(8, C)
        )
        self.returns = returns
        self.forwards = 0

    def forward(self, x):
        self.forwards += 1
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        return {"logits": logits} if self.returns == "dict" else logits

    def predict_step(self, batch, batch_idx):
        return self(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


def loaders():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(N, D, generator=g), torch.randint(0, C, (N,), generator=g)
    data = torch.utils.data.TensorDataset(x, y)
    train = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, generator=g)
    val = torch.utils.data.DataLoader(data, batch_size=6)
    return train, val, y


def trainer_for(callback, epochs=2):
    return pl.Trainer(
        max_epochs=epochs,
        callbacks=[callback],
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


@pytest.mark.parametrize("returns", ["dict", "tensor"])
def test_each_validation_epoch_is_a_step(tmp_path, returns):
    train, val, y = loaders()
    model = Tiny(returns)
    trainer = trainer_for(RunCallback(tmp_path / "run", class_names=["a", "b", "c"]))
    trainer.fit(model, train, val)
    run = load_run(tmp_path / "run")
    assert run.steps == [0, 1]  # the epochs; the sanity check is not a step
    # no extra forward pass: the sanity check's 2 batches, 3 train and 4 val batches an epoch
    assert model.forwards == 2 + 2 * (3 + 4)
    predicted = torch.cat(trainer.predict(model, val)).numpy()
    np.testing.assert_allclose(run.logits(1), predicted, rtol=1e-6)
    np.testing.assert_array_equal(run.labels, y.numpy())
    assert run.class_names == ["a", "b", "c"]
    assert not np.allclose(run.logits(0), run.logits(1))


def test_global_step_and_bad_arguments(tmp_path):
    train, val, _ = loaders()
    trainer = trainer_for(RunCallback(tmp_path / "run", step="global_step"))
    trainer.fit(Tiny(), train, val)
    assert load_run(tmp_path / "run").steps == [3, 6]
    with pytest.raises(ValueError, match="'epoch' or 'global_step'"):
        RunCallback(tmp_path / "other", step="batch")


def test_live_opens_a_window_on_the_latest_step(qtbot, tmp_path):
    train, val, y = loaders()
    callback = RunCallback(tmp_path / "run", live=True)
    trainer_for(callback).fit(Tiny(), train, val)
    viewer = callback.recorder.viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.window.document.n_samples == N)
    run = load_run(tmp_path / "run")
    qtbot.waitUntil(lambda: np.allclose(viewer.logits, run.logits(1)))
    np.testing.assert_array_equal(viewer.labels, y.numpy())
    assert "step 1" in viewer.window.windowTitle()
    viewer.window.document.mark_clean()
    viewer.close()
