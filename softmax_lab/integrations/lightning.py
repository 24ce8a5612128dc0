"""Lightning: ``L.Trainer(callbacks=[RunCallback("runs/exp1")])`` (``pytorch_lightning``).

Each validation epoch writes one step of a run (step = the epoch; ``step="global_step"`` for
runs that validate more than once an epoch): the logits of the whole validation set in dataset
order and its labels, taken from what ``validation_step`` returns — no extra forward pass. The
step may return the logits (a tensor), or a dict with ``logits`` and optionally ``labels``
(``y`` / ``targets``); labels not returned are read from the batch (``(x, y)`` or a dict with
``labels``). The sanity check is not recorded. In a distributed run every process's outputs are
gathered and the main process writes. ``live=True`` also opens a window on the latest step.

Importing this module imports neither Qt nor the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The callback must come from the package the Trainer comes from: pytorch_lightning (the extra
# installs it) first, the unified ``lightning`` package's copy when only that is installed.
try:
    import pytorch_lightning as pl
except ImportError:
    import lightning.pytorch as pl  # type: ignore[no-redef]

from softmax_lab.integrations._recorder import Recorder, log, to_numpy

__all__ = ["RunCallback"]

LOGIT_KEYS = ("logits", "preds", "predictions", "outputs")
LABEL_KEYS = ("labels", "label", "y", "targets", "target")


class RunCallback(pl.Callback):
    """Records every validation epoch's logits as a step of the run at ``path``.

    ``live``: also show the latest step in a window. ``class_names``: the classes' names.
    ``step``: ``"epoch"`` (default) or ``"global_step"``. ``resume``: continue a recorded run.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        live: bool = False,
        class_names: Sequence[str] | None = None,
        step: str = "epoch",
        resume: bool = False,
    ) -> None:
        if step not in ("epoch", "global_step"):
            raise ValueError(f"step must be 'epoch' or 'global_step', not {step!r}")
        self.recorder = Recorder(path, live=live, class_names=class_names, resume=resume)
        self.step = step
        self._logits: list[Any] = []
        self._labels: list[Any] = []
        self._warned = False

    @property
    def path(self) -> Path:
        return self.recorder.path

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._logits, self._labels = [], []

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if trainer.sanity_checking or dataloader_idx != 0:
            return
        logits, labels = _split(outputs)
        if logits is None:
            if not self._warned:
                log.warning(
                    "softmax_lab: validation_step returned no logits; return them (or a dict "
                    "with 'logits') to record the run"
                )
                self._warned = True
            return
        if labels is None:
            labels = _batch_labels(batch)
        self._logits.append(logits.detach())
        self._labels.append(None if labels is None else labels.detach())

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or not self._logits:
            return
        import torch

        logits = torch.cat(self._logits)
        labels = None if any(y is None for y in self._labels) else torch.cat(self._labels)
        self._logits, self._labels = [], []
        if trainer.world_size > 1:
            logits, labels = _gathered(pl_module, logits, labels, trainer)
        if not trainer.is_global_zero:
            return
        step = trainer.current_epoch if self.step == "epoch" else trainer.global_step
        self.recorder.record(
            int(step), to_numpy(logits), None if labels is None else to_numpy(labels)
        )


def _split(outputs: Any) -> tuple[Any, Any]:
    import torch

    if isinstance(outputs, torch.Tensor):
        return (outputs if outputs.ndim >= 1 else None), None
    if isinstance(outputs, dict):
        logits = next(
            (outputs[k] for k in LOGIT_KEYS if isinstance(outputs.get(k), torch.Tensor)), None
        )
        labels = next(
            (outputs[k] for k in LABEL_KEYS if isinstance(outputs.get(k), torch.Tensor)), None
        )
        return logits, labels
    if isinstance(outputs, (tuple, list)) and outputs and isinstance(outputs[0], torch.Tensor):
        labels = outputs[1] if len(outputs) > 1 and isinstance(outputs[1], torch.Tensor) else None
        return outputs[0], labels
    return None, None


def _batch_labels(batch: Any) -> Any:
    import torch

    if isinstance(batch, dict):
        return next((batch[k] for k in LABEL_KEYS if isinstance(batch.get(k), torch.Tensor)), None)
    if isinstance(batch, (tuple, list)) and len(batch) >= 2 and isinstance(batch[1], torch.Tensor):
        return batch[1]
    return None


def _gathered(pl_module: Any, logits: Any, labels: Any, trainer: Any) -> tuple[Any, Any]:
    """Every process's validation outputs in dataset order: a DistributedSampler deals sample
    i to process i % world, so the gathered (world, n, ...) are interleaved back, and the
    samples it repeated to even out the processes are dropped."""
    gathered = pl_module.all_gather(logits)  # (world, n, C)
    merged = gathered.transpose(0, 1).reshape(-1, *logits.shape[1:])
    merged_labels = None
    if labels is not None:
        merged_labels = pl_module.all_gather(labels).transpose(0, 1).reshape(-1, *labels.shape[1:])
    total = _dataset_length(trainer)
    if total is not None and total <= merged.shape[0]:
        merged = merged[:total]
        merged_labels = None if merged_labels is None else merged_labels[:total]
    return merged, merged_labels


def _dataset_length(trainer: Any) -> int | None:
    loaders = trainer.val_dataloaders
    loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None
