"""What both callbacks share: one step of evaluation logits into a run, and the live window.

A :class:`Recorder` creates the run's folder at its first step (the labels, class names and
texts are known then), skips a step that does not follow the last one (an evaluation repeated
at the same step), and with ``live=True`` opens a viewer on the latest step or updates it. Qt is
imported only then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.runs import RunWriter

log = logging.getLogger("softmax_lab.integrations")

MAX_TEXTS = 200_000
"""Texts are kept with the run up to this many samples (they are written once, as JSON)."""


class Recorder:
    """Writes evaluation logits as the steps of a run at ``path`` (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        live: bool = False,
        class_names: Sequence[str] | None = None,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.live = bool(live)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.resume = bool(resume)
        self.writer: RunWriter | None = None
        self.viewer: Any = None
        self.steps: list[int] = []
        busy = self.path.is_dir() and any(self.path.iterdir())
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"{self.path}: exists and is not a folder")
        if busy and not self.resume:  # before training starts, not at its first evaluation
            raise FileExistsError(
                f"{self.path}: the folder is not empty; pass resume=True to continue the run in "
                "it, or choose an empty folder"
            )

    def record(
        self,
        step: int,
        logits: Any,
        labels: Any = None,
        *,
        class_names: Sequence[str] | None = None,
        texts: Sequence[str] | None = None,
    ) -> bool:
        """Write one step; False (and a log line) when it was skipped."""
        array, targets = flatten(logits, labels)
        if self.writer is None:
            names = self.class_names or (None if class_names is None else list(class_names))
            if names is not None and len(names) != array.shape[1]:
                log.warning(
                    "softmax_lab: %d class names for %d classes; the run has none",
                    len(names),
                    array.shape[1],
                )
                names = None
            if texts is not None and (len(texts) != array.shape[0] or len(texts) > MAX_TEXTS):
                texts = None
            self.writer = RunWriter(
                self.path, labels=targets, class_names=names, texts=texts, resume=self.resume
            )
            self._names = names
        if self.writer.steps and step <= self.writer.steps[-1]:
            log.info("softmax_lab: step %d is already recorded in %s; skipped", step, self.path)
            return False
        self.writer.add(int(step), array)
        self.steps.append(int(step))
        if self.live:
            self._show(array, targets, step)
        return True

    def _show(self, logits: np.ndarray, labels: np.ndarray | None, step: int) -> None:
        from softmax_lab.gui.viewer import view  # Qt only here, for live=True

        title = f"{self.path.name} · step {step}"
        if self.viewer is None:
            self.viewer = view(logits, labels, class_names=self._names, title=title)
        else:
            self.viewer.set_data(logits, labels, title=title)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def to_numpy(value: Any) -> np.ndarray:
    """A tensor (any device) or array as numpy; half types as float32."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) in ("torch.float16", "torch.bfloat16"):
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def flatten(logits: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, C) logits and (N,) labels; (N, T, C) token logits (token classification, LM) become
    one row per position, labels −100 where a position is not scored."""
    array = to_numpy(logits)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim > 2:
        array = array.reshape(-1, array.shape[-1])
    targets = None
    if labels is not None:
        raw = to_numpy(labels)
        if raw.dtype.kind in "iu" and raw.size == array.shape[0]:
            targets = raw.reshape(-1).astype(np.int64)
            targets[(targets < 0) | (targets >= array.shape[1])] = IGNORE_INDEX
    return array, targets
