"""A live model in a window: open it, run it on what the user types, step a generation through.

Owned by the controller; knows no widget. Every model call runs in a background job (loading,
each prompt, each generated step, moving to another device), stale results are dropped by the
jobs' generation counter, and a newer prompt supersedes an older one. What a run produces is a
table opened through ``core.opening.prepare_loaded``, exactly as a file is, so every view shows
the model's numbers with no code of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders import DataError, LoadedLogits
from softmax_lab.core.models import (
    DOWNLOADED,
    Generator,
    Model,
    SamplerMarks,
    load_model,
    sampler_marks,
)
from softmax_lab.core.opening import PreparedFile, prepare_loaded

if TYPE_CHECKING:
    from softmax_lab.core.document import Document
    from softmax_lab.core.evaluation import Evaluation
    from softmax_lab.core.settings import Settings
    from softmax_lab.core.view_state import ViewState
    from softmax_lab.gui.workers import Jobs

DEBOUNCE_MS = 150
PLAY_INTERVAL_MS = 60
PLAY_STEPS = 64
"""A Play draws at most this many tokens (the logits of each are kept)."""


@dataclass(frozen=True)
class Sampler:
    """Temperature, top-k (None = off) and top-p (None = off) of the next generation."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None


class ModelSession(QObject):
    """One window's model: the loaded model, the text it reads, the generation stepped through.

    ``apply(prepared, text)`` swaps a prepared table into the document (one undo step each time
    the text settles or a step is drawn) and returns whether it was taken; ``settings()`` gives
    the document's current settings; ``sampler()`` the live T / top-k / top-p.
    """

    sigModelChanged = Signal(str, str)  # name, kind ("" when the model was closed)
    sigMessage = Signal(str)
    sigBusy = Signal(bool)
    sigGenerationChanged = Signal(int, bool)  # steps drawn, playing
    sigWhy = Signal(str)  # why the last token was drawn ("" when nothing was)
    sigRan = Signal()  # a run's table is in the document
    sigFailed = Signal(str)

    def __init__(
        self,
        jobs: Jobs,
        *,
        settings: Callable[[], Settings],
        sampler: Callable[[], Sampler],
        apply: Callable[[PreparedFile, str], bool],
        labels_of: Callable[[], dict[str, int]],
        shown: Callable[[], Evaluation],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._settings = settings
        self._sampler = sampler
        self._apply = apply
        self._labels_of = labels_of
        self._shown = shown
        # The generator, its step count and the evaluation the last Step put in the document:
        # while the document still shows it, the next Step evaluates only its new row.
        self._stepped: tuple[Generator, int, Evaluation] | None = None
        self.model: Model | None = None
        self.text = ""
        self._generator: Generator | None = None
        self._rows: dict[str, np.ndarray] = {}  # classifier: the logits of each line already run
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._run_text)
        self._play = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._play.timeout.connect(self._play_step)
        self._stepping = False
        jobs.sigBusy.connect(self._on_busy)

    # --- the model -------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.model.kind if self.model is not None else ""

    @property
    def name(self) -> str:
        return self.model.name if self.model is not None else ""

    def open(self, path: str, *, device: str = "cpu", dtype: str = "float32") -> None:
        """Load a model folder in the background; the previous model stays until it is in."""
        self.cancel()
        self.sigMessage.emit(f"Loading the model {path}…")
        self._jobs.start(
            "model-load",
            _load,
            str(path),
            device,
            dtype,
            done=self._on_loaded,
            failed=lambda exc: self._failed("Model not opened", exc),
        )

    def set_model(self, model: Model) -> None:
        """A model already built (``view_model`` with a transformers model in memory)."""
        self.cancel()
        self._on_loaded(model)

    def _on_loaded(self, model: Model) -> None:
        self.model = model
        self._rows.clear()
        self._generator = None
        self.sigModelChanged.emit(model.name, model.kind)
        fetched = " (downloaded: it was not in the local cache)" if model.name in DOWNLOADED else ""
        self.sigMessage.emit(
            f"Model {model.name}{fetched}: {model.kind}, {model.n_classes:,} "
            f"{'tokens' if model.kind == 'causal-lm' else 'classes'}, on {model.device}"
        )
        self.sigGenerationChanged.emit(0, False)
        if self.text:
            self._run_text()

    def close_model(self) -> None:
        self.cancel()
        self.model = None
        self._generator = None
        self._rows.clear()
        self.sigModelChanged.emit("", "")

    def move(self, device: str, dtype: str) -> None:
        """Move the weights to the device and dtype the Options say (in the background)."""
        model = self.model
        if model is None:
            return
        self._jobs.start(
            "model-move",
            model.to,
            device,
            dtype,
            done=lambda fallback: self.sigMessage.emit(
                fallback or f"Model {model.name} on {model.device} · {_dtype(model)}"
            ),
            failed=lambda exc: self._failed("could not move the model", exc),
        )

    def cancel(self) -> None:
        """Drop every pending run (closing the window, switching model)."""
        self._debounce.stop()
        self._play.stop()
        for kind in ("model-load", "model-run", "model-step", "model-move"):
            self._jobs.cancel(kind)
        self._stepping = False

    # --- what the user types ---------------------------------------------------------------------

    def set_text(self, text: str) -> None:
        """The prompt (a causal LM) or one input per line (a text classifier) changed: run the
        model once the typing pauses."""
        if text == self.text:
            return
        self.text = text
        self._generator = None
        self._play.stop()
        self.sigGenerationChanged.emit(0, False)
        if self.model is not None:
            self._debounce.start()

    def _run_text(self) -> None:
        model = self.model
        if model is None or model.kind == "image-classification":
            return
        if not self.text.strip():
            self.sigMessage.emit("Type a prompt to see the model's logits")
            return
        if model.kind == "causal-lm":
            work: Callable[..., Any] = _prompt_work
            args: tuple[Any, ...] = (model, self.text, self._settings())
        else:
            lines = [line for line in self.text.splitlines() if line.strip()]
            args = (model, lines, dict(self._rows), self._labels_of(), self._settings())
            work = _lines_work
        self._jobs.start(
            "model-run",
            work,
            *args,
            done=self._on_ran,
            failed=lambda exc: self._failed("the model could not read that", exc),
        )

    def _on_ran(self, result: tuple[PreparedFile, dict[str, np.ndarray]]) -> None:
        prepared, rows = result
        self._rows.update(rows)
        self._apply(prepared, "Model output")
        self.sigRan.emit()

    def set_images(self, images: list[Any], names: list[str]) -> None:
        """Dropped images for an image classifier: one row each."""
        model = self.model
        if model is None or model.kind != "image-classification":
            self.sigMessage.emit("Images need an image-classification model")
            return

        def done(prepared: Any) -> None:
            self._apply(prepared, "Model output")
            self.sigRan.emit()

        self._jobs.start(
            "model-run",
            _images_work,
            model,
            images,
            names,
            self._settings(),
            done=done,
            failed=lambda exc: self._failed("the model could not read those images", exc),
        )

    # --- generation ------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return self._generator.steps if self._generator is not None else 0

    @property
    def playing(self) -> bool:
        return self._play.isActive()

    def step(self) -> None:
        """Draw one token at the live T / top-k / top-p (the first step starts the generation)."""
        model = self.model
        if model is None or model.kind != "causal-lm" or self._stepping:
            return
        if not self.text.strip():
            self.sigMessage.emit("Type a prompt first")
            self.set_playing(False)
            return
        self._stepping = True
        self._jobs.start(
            "model-step",
            _step_work,
            model,
            self._generator,
            self.text,
            self._sampler(),
            self._settings(),
            self._known(),
            done=self._on_stepped,
            failed=lambda exc: self._failed("could not draw a token", exc),
        )

    def _known(self) -> Evaluation | None:
        """The document's evaluation if it is still the one of the generator's table as it is
        now (no edit, undo or settings change since the last Step): the next table extends it."""
        if self._stepped is None:
            return None
        generator, steps, evaluation = self._stepped
        if generator is not self._generator or steps != generator.steps:
            return None
        # Detached: the Step's worker reads it while an edit meanwhile may patch it in place.
        return evaluation.detached() if self._shown() is evaluation else None

    def back(self) -> None:
        generator = self._generator
        if generator is None or generator.steps == 0 or self._stepping:
            return
        self.set_playing(False)
        generator.back()
        prepared = prepare_loaded(self.name, generator.table(), self._settings())
        self._apply(prepared, "Generate: back")
        self.sigGenerationChanged.emit(generator.steps, False)
        self.sigWhy.emit("")

    def set_playing(self, on: bool) -> None:
        if on == self.playing:
            return
        if on:
            self._play.start()
        else:
            self._play.stop()
        self.sigGenerationChanged.emit(self.steps, on)

    def _play_step(self) -> None:
        if self.steps >= PLAY_STEPS:
            self.set_playing(False)
            return
        self.step()

    def _on_stepped(self, result: tuple[Generator, PreparedFile, str]) -> None:
        self._stepping = False
        generator, prepared, token = result
        self._generator = generator
        applied = self._apply(prepared, f"Generate: {token!r}")
        self._stepped = (generator, generator.steps, prepared.evaluation) if applied else None
        self.sigGenerationChanged.emit(generator.steps, self.playing)
        self.sigWhy.emit(why_text(generator, token))
        self.sigRan.emit()

    # --- what the sampler could draw ------------------------------------------------------------

    def sampler_marks(
        self, document: Document, row: int, top_k: int, top_p: float
    ) -> SamplerMarks | None:
        """The kept set of ``row`` of the document at the Options' T and this top-k / top-p (0
        and 1: off), as Step would keep it, with the token drawn there if ``row`` is a generated
        step. None unless the document is this causal LM's prompt or generation."""
        model = self.model
        if model is None or model.kind != "causal-lm" or document.source != Path(model.name).name:
            return None
        logits = document.logits
        if logits.ndim != 2 or logits.shape[1] != model.n_classes or not 0 <= row < len(logits):
            return None
        drawn = None
        generator = self._generator
        if generator is not None:
            first = len(generator.prompt_ids) - 1  # the row that drew the first token
            drawn_ids = generator.drawn
            if len(logits) == first + len(drawn_ids) and row >= first:
                token = int(drawn_ids[row - first])
                # The table's target at a generated row is the token drawn there.
                drawn = token if int(document.labels[row]) == token else None
        settings = document.settings
        try:
            return sampler_marks(
                logits[row],
                temperature=float(settings.temperature),
                top_k=int(top_k) or None,
                top_p=float(top_p) if top_p < 1 else None,
                drawn=drawn,
                names=model.class_names,
            )
        except ValueError:
            return None

    # --- status ----------------------------------------------------------------------------------

    def _on_busy(self, kind: str, busy: bool) -> None:
        if kind.startswith("model-"):
            self.sigBusy.emit(busy)

    def _failed(self, what: str, exc: BaseException) -> None:
        self._stepping = False
        self.set_playing(False)
        if isinstance(exc, (DataError, ValueError, TypeError)):
            message = f"{what}: {exc}"
        else:
            message = f"{what}: {type(exc).__name__}: {exc}"
        self.sigMessage.emit(message)
        self.sigFailed.emit(message)


def sampler_of(settings: Settings, view: ViewState) -> Sampler:
    """The live sampler: the Options' T and the Top-k/p tab's k and p (0 and 1 mean off)."""
    return Sampler(
        temperature=float(settings.temperature),
        top_k=int(view.top_k) or None,
        top_p=float(view.top_p) if view.top_p < 1 else None,
    )


def labels_by_text(document: Document) -> dict[str, int]:
    """The labels the user typed for each text row, so a re-run of the lines keeps them."""
    texts = document.inputs.texts
    if texts is None or len(texts) != len(document.labels):
        return {}
    return {
        str(text): int(label)
        for text, label in zip(texts, document.labels, strict=True)
        if label != IGNORE_INDEX
    }


# --- the jobs (worker threads) ------------------------------------------------------------------


def why_text(generator: Generator, token: str) -> str:
    """ "drew ‘ the’: rank 3 of 17 kept · p = 0.1204 · 0.4170 ranked above it" for the last step."""
    why = generator.why(-1)
    mode = "greedy" if generator.greedy else f"{fmt.count(why.kept)} kept"
    return (
        f"drew {token!r}: rank {fmt.count(why.rank)} ({mode}) · p = {fmt.number(why.probability)}"
        f" · {fmt.number(why.mass_above)} of the probability ranked above it"
    )


def _dtype(model: Model) -> str:
    return str(model.dtype).removeprefix("torch.")


def _load(path: str, device: str, dtype: str) -> Model:
    model = load_model(path, device="cpu", dtype=dtype)
    model.to(device, dtype)
    return model


def _prompt_work(
    model: Model, text: str, settings: Settings
) -> tuple[PreparedFile, dict[str, np.ndarray]]:
    return prepare_loaded(model.name, model.prompt_table(text), settings), {}


def _lines_work(
    model: Model,
    lines: list[str],
    known: dict[str, np.ndarray],
    labels: dict[str, int],
    settings: Settings,
) -> tuple[PreparedFile, dict[str, np.ndarray]]:
    """One row per line; only lines not run before go through the model."""
    new = [line for line in dict.fromkeys(lines) if line not in known]
    rows = dict(zip(new, model.logits(new), strict=True)) if new else {}
    table = np.stack([rows[line] if line in rows else known[line] for line in lines])
    targets = np.asarray([labels.get(line, IGNORE_INDEX) for line in lines], dtype=np.int64)
    loaded = LoadedLogits(
        logits=table.astype(np.float32),
        targets=targets if (targets != IGNORE_INDEX).any() else None,
        class_names=list(model.class_names),
        source=model.name,
        texts=list(lines),
    )
    return prepare_loaded(model.name, loaded, settings), rows


def _images_work(
    model: Model, images: list[Any], names: list[str], settings: Settings
) -> PreparedFile:
    loaded = LoadedLogits(
        logits=model.logits(images).astype(np.float32),
        class_names=list(model.class_names),
        source=model.name,
        texts=list(names),
    )
    return prepare_loaded(model.name, loaded, settings)


def _step_work(
    model: Model,
    generator: Generator | None,
    text: str,
    sampler: Sampler,
    settings: Settings,
    known: Evaluation | None = None,
) -> tuple[Generator, PreparedFile, str]:
    if generator is None:
        generator = model.start_generation(
            text, temperature=sampler.temperature, top_k=sampler.top_k, top_p=sampler.top_p
        )
    else:
        generator.temperature = sampler.temperature
        generator.top_k = sampler.top_k
        generator.top_p = sampler.top_p
    token = generator.step()
    prepared = prepare_loaded(model.name, generator.table(), settings, known=known)
    return generator, prepared, model.token_texts([token])[0]
