"""Hugging Face ``Trainer``: ``Trainer(..., callbacks=[RunCallback("runs/exp1")])``.

Each evaluation writes one step of a run (step = the trainer's global step): the logits of the
whole eval set in dataset order, the labels, the class names from ``model.config.id2label`` and
the eval set's texts when it has a ``text`` / ``sentence`` column. The logits are the ones the
evaluation loop computed: the callback wraps the trainer's ``compute_metrics`` (calling yours
unchanged) so that the loop keeps its predictions — no extra forward pass. Only the main process
(``state.is_world_process_zero``) writes. ``live=True`` also opens a window on the latest step.

Importing this module imports neither Qt nor the window.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback

from softmax_lab.integrations._recorder import MAX_TEXTS, Recorder, log, to_numpy

__all__ = ["RunCallback"]

TEXT_COLUMNS = ("text", "sentence", "texts")


class RunCallback(TrainerCallback):
    """Records every evaluation's logits as a step of the run at ``path``.

    ``live``: also show the latest step in a window. ``class_names``: instead of the model's
    ``id2label``. ``resume``: continue a run recorded before (its folder must hold one).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        live: bool = False,
        class_names: Sequence[str] | None = None,
        resume: bool = False,
    ) -> None:
        self.recorder = Recorder(path, live=live, class_names=class_names, resume=resume)
        self.trainer: Trainer | None = None
        self._pending: tuple[Any, Any] | None = None
        self._batches: list[tuple[Any, Any]] = []

    @property
    def path(self) -> Path:
        return self.recorder.path

    # --- finding the trainer: the callback API passes the model, not the trainer --------------

    def attach(self, trainer: Trainer) -> None:
        """Wrap ``trainer.compute_metrics`` (done by itself when the trainer is built or starts
        training; call it for a trainer that evaluates before either)."""
        if self.trainer is trainer:
            return
        self.trainer = trainer
        original: Callable[..., Any] | None = trainer.compute_metrics

        def compute_metrics(eval_prediction: Any, **kwargs: Any) -> Any:
            self._keep(eval_prediction, kwargs)
            if original is None:
                return {}
            return original(eval_prediction, **kwargs)

        compute_metrics.__wrapped__ = original  # type: ignore[attr-defined]
        trainer.compute_metrics = compute_metrics

    def _find_trainer(self) -> None:
        frame = inspect.currentframe()
        try:
            while frame is not None:
                candidate = frame.f_locals.get("self")
                if isinstance(candidate, Trainer) and self in getattr(
                    candidate.callback_handler, "callbacks", ()
                ):
                    self.attach(candidate)
                    return
                frame = frame.f_back
        finally:
            del frame

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._find_trainer()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.trainer is None:
            self._find_trainer()

    # --- recording ------------------------------------------------------------------------------

    def _keep(self, eval_prediction: Any, kwargs: dict[str, Any]) -> None:
        predictions = eval_prediction.predictions
        if isinstance(predictions, (tuple, list)):
            predictions = predictions[0]  # the logits; the rest are hidden states, attentions
        labels = eval_prediction.label_ids
        if isinstance(labels, (tuple, list)):
            labels = labels[0] if labels else None
        if "compute_result" in kwargs:  # batch_eval_metrics: one call per batch
            self._batches.append(
                (to_numpy(predictions), None if labels is None else to_numpy(labels))
            )
            if not kwargs["compute_result"]:
                return
            import numpy as np

            parts, self._batches = self._batches, []
            predictions = np.concatenate([p for p, _ in parts])
            labels = None if parts[0][1] is None else np.concatenate([y for _, y in parts])
        self._pending = (predictions, labels)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            if self.trainer is None:
                log.warning(
                    "softmax_lab: RunCallback found no Trainer to read predictions from; call "
                    "callback.attach(trainer)"
                )
            return
        if not state.is_world_process_zero:
            return
        logits, labels = pending
        self.recorder.record(
            int(state.global_step),
            logits,
            labels,
            class_names=self._class_names(kwargs.get("model")),
            texts=self._texts(),
        )

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any, **kwargs: Any) -> None:
        self._pending = None  # trainer.predict is not an evaluation: nothing is recorded

    def _class_names(self, model: Any) -> list[str] | None:
        config = getattr(model, "config", None)
        id2label = getattr(config, "id2label", None)
        if not isinstance(id2label, dict) or not id2label:
            return None
        try:
            return [str(id2label[i]) for i in range(len(id2label))]
        except KeyError:
            return None

    def _texts(self) -> list[str] | None:
        """The eval set's texts, when it is a dataset with a text column (cheap to keep)."""
        if self.recorder.writer is not None or self.trainer is None:
            return None
        dataset = self.trainer.eval_dataset
        if isinstance(dataset, dict) or dataset is None:
            return None
        try:
            n = len(dataset)
        except TypeError:
            return None
        if n > MAX_TEXTS:
            return None
        columns = getattr(dataset, "column_names", None)
        if isinstance(columns, list):
            key = next((c for c in TEXT_COLUMNS if c in columns), None)
            values = None if key is None else dataset[key]
        else:
            try:
                first = dataset[0]
            except Exception:  # a dataset we cannot index: no texts
                return None
            key = (
                next((c for c in TEXT_COLUMNS if isinstance(first.get(c), str)), None)
                if isinstance(first, dict)
                else None
            )
            values = None if key is None else [dataset[i][key] for i in range(n)]
        if values is None or not all(isinstance(v, str) for v in values):
            return None
        return list(values)
