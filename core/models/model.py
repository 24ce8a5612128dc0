"""A loaded model (:class:`Model`): its logits, its score, and generations, as numpy arrays and
core's own evaluations. No Qt here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.devices import resolve_device, resolve_dtype
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders import LoadedLogits
from softmax_lab.core.models.checks import (
    KINDS,
    Kind,
    ModelError,
    check_room,
    checked_text,
    kind_of,
    parameter_bytes,
    read_images,
    token_strings,
)
from softmax_lab.core.models.generation import (
    MAX_GENERATE_STEPS,
    Generation,
    Generator,
)
from softmax_lab.core.sequences import SequenceEvaluation, evaluate_sequences
from softmax_lab.core.tokens import token_names


class Model:
    """A loaded model and what turns its input into ids (tokenizer) or pixels (image processor).

    Build one with :func:`load_model` (a folder) or :meth:`from_objects` (a model in memory).
    Every method runs on the calling thread; the window calls them from a worker.
    """

    def __init__(
        self,
        model: Any,
        *,
        kind: Kind,
        tokenizer: Any = None,
        processor: Any = None,
        name: str = "model",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if kind != "image-classification" and tokenizer is None:
            raise ModelError(f"{name}: a {kind} model needs its tokenizer (tokenizer.json)")
        if kind == "image-classification" and processor is None:
            raise ModelError(f"{name}: an image classifier needs its preprocessor_config.json")
        self.model = model.eval()
        self.kind: Kind = kind
        self.tokenizer = tokenizer
        self.processor = processor
        self.name = name
        self._class_names: list[str] | None = None
        self._token_names: list[str] | None = None

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_objects(cls, model: Any, tokenizer: Any = None, *, name: str | None = None) -> Model:
        """A ``transformers`` model already in memory (and its tokenizer or image processor)."""
        if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
            raise TypeError(
                f"expected a transformers model (a torch module with .config), got {type(model)}"
            )
        kind = kind_of(model.config, name or type(model).__name__)
        is_image = kind == "image-classification"
        return cls(
            model,
            kind=kind,
            tokenizer=None if is_image else tokenizer,
            processor=tokenizer if is_image else None,
            name=name or str(getattr(model.config, "name_or_path", "") or type(model).__name__),
        )

    # -- what it is -----------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def n_classes(self) -> int:
        if self.kind == "causal-lm":
            return int(self.model.get_output_embeddings().weight.shape[0])
        return int(self.model.config.num_labels)

    @property
    def max_length(self) -> int | None:
        """The most tokens the model reads at once, where its config says."""
        config = self.model.config
        for key in ("n_positions", "max_position_embeddings", "n_ctx"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    @property
    def class_names(self) -> list[str]:
        """Classifiers: ``config.id2label`` in id order. Causal LMs: each token's text, by id."""
        if self._class_names is None:
            if self.kind == "causal-lm":
                self._class_names = token_strings(self.tokenizer, self.n_classes)
            else:
                labels = getattr(self.model.config, "id2label", None) or {}
                self._class_names = [
                    str(labels.get(i, labels.get(str(i), f"class {i}")))
                    for i in range(self.n_classes)
                ]
        return self._class_names

    def token_names(self) -> list[str]:
        """A causal LM's tokens as the table's class names (:func:`core.tokens.token_names` of
        :attr:`class_names`: whitespace made visible, clashes given their id), worked out once:
        every prompt and every Generate step's table shares them (50,257 names took ~20 ms a
        step)."""
        self._need("causal-lm")
        if self._token_names is None:
            names = self.class_names
            self._token_names = token_names(names, len(names))
        return list(self._token_names)

    def to(self, device: str = "cpu", dtype: str = "float32") -> str | None:
        """Move the weights (CPU, CUDA, MPS; float32/bfloat16/float16). Returns the reason when the
        device asked for is not there and the CPU was used; refuses a model too big for it."""
        resolved = resolve_device(device)
        torch_dtype = resolve_dtype(dtype)
        need = parameter_bytes(self.model, torch_dtype)
        check_room(self.name, need, resolved.device)
        self.model.to(device=resolved.device, dtype=torch_dtype)
        return resolved.fallback

    # -- running it -----------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """The token ids of ``text`` as the model reads it (special tokens as the tokenizer adds
        them by default)."""
        self._need("causal-lm", "text-classification")
        text = checked_text(text)
        ids = self.tokenizer(text)["input_ids"]
        if len(ids) == 0:
            raise ValueError("the prompt is empty: type some text")
        limit = self.max_length
        if limit is not None and len(ids) > limit:
            raise ValueError(
                f"the text is {count(len(ids))} tokens; {self.name} reads at most {count(limit)}"
            )
        return np.asarray(ids, dtype=np.int64)

    def token_texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        names = self.class_names
        return [names[int(i)] if 0 <= int(i) < len(names) else f"<{int(i)}>" for i in ids]

    def logits(self, x: Any) -> np.ndarray:
        """causal-lm: a str → (T, V) float32, every position's next-token logits (=
        ``model(ids).logits[0]``). text-classification: a str or list of str → (N, C).
        image-classification: an (H, W, 3) uint8 array, a path, or a list of them → (N, C)."""
        if self.kind == "causal-lm":
            if not isinstance(x, str):
                raise TypeError(f"a causal LM reads a str, got {type(x).__name__}")
            ids = torch.as_tensor(self.encode(x), device=self.device)[None]
            with torch.inference_mode():
                out = self.model(input_ids=ids).logits[0]
            return out.float().cpu().numpy()
        if self.kind == "text-classification":
            texts = [x] if isinstance(x, str) else list(x)
            if not texts or not all(isinstance(t, str) for t in texts):
                raise TypeError("a text classifier reads a str or a list of str")
            for text in texts:
                self.encode(text)  # the same checks (empty, too long) with a clear message
            batch = self.tokenizer(texts, padding=True, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                out = self.model(**batch).logits
            return out.float().cpu().numpy()
        images = read_images(x)
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            out = self.model(pixel_values=pixels.to(self.device, self.dtype)).logits
        return out.float().cpu().numpy()

    def score(self, text: str) -> SequenceEvaluation:
        """Every position of ``text`` scored on the next token (core's ``evaluate_sequences``,
        shift=True): its perplexity is ``exp(model(ids, labels=ids).loss)``."""
        self._need("causal-lm")
        ids = self.encode(text)
        logits = self.logits(text)
        return evaluate_sequences(logits[None], ids[None], shift=True)

    def generate(
        self,
        prompt: str,
        steps: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int = 0,
    ) -> Generation:
        """Draw ``steps`` tokens after ``prompt``, one forward pass per step on the cached keys and
        values. ``top_k=1`` or ``temperature=0`` is greedy (transformers' greedy ``generate``
        exactly); otherwise a token is drawn from softmax of the processed logits with a
        generator seeded by ``seed`` (same seed, same tokens)."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise TypeError(f"steps must be a whole number, got {steps!r}")
        if not 1 <= steps <= MAX_GENERATE_STEPS:
            raise ValueError(f"steps must be 1 … {MAX_GENERATE_STEPS}, got {steps}")
        run = self.start_generation(
            prompt, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, steps=steps
        )
        for _ in range(int(steps)):
            run.step()
        return run.result()

    def start_generation(
        self,
        prompt: str,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int = 0,
        steps: int = 1,
    ) -> Generator:
        """A generation to step through (Step, Back) as the window does; see :class:`Generator`."""
        self._need("causal-lm")
        return Generator(
            self, prompt, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, steps=steps
        )

    def prompt_table(self, text: str) -> LoadedLogits:
        """The prompt as the window opens a language-model file: one row per position (its
        next-token logits), the next token as the target (none at the last position), the tokens
        as class names."""
        self._need("causal-lm")
        ids = self.encode(text)
        return self.sequence_table(ids, self.logits(text), f"{self.name} · prompt")

    def generation_table(self, prompt_logits: np.ndarray, generation: Generation) -> LoadedLogits:
        """Prompt and generated tokens as one sequence: the prompt's positions from its forward
        pass, then each step's raw logits (the row that predicted the token drawn there)."""
        self._need("causal-lm")
        n = generation.prompt_length
        if prompt_logits.shape[0] != n:
            raise ValueError(f"prompt logits have {prompt_logits.shape[0]} rows, prompt {n} tokens")
        logits = np.concatenate([prompt_logits[: n - 1], generation.logits]).astype(np.float32)
        return self.sequence_table(generation.ids, logits, f"{self.name} · generated")

    def sequence_table(self, ids: np.ndarray, logits: np.ndarray, source: str) -> LoadedLogits:
        """(T, V) next-token logits of the sequence ``ids`` as the window's language-model table:
        row t's target is ``ids[t + 1]`` (none past the end), the tokens are the class names.
        ``logits`` is kept by reference when it is C-contiguous float32 (made read-only)."""
        t, v = logits.shape
        if ids.shape[0] < t:
            raise ValueError("fewer ids than logit rows")
        targets = np.full(t, IGNORE_INDEX, dtype=np.int64)
        targets[: ids.shape[0] - 1] = ids[1 : t + 1][:t]
        rows = np.ascontiguousarray(logits, dtype=np.float32)
        for array in (rows, targets):
            array.flags.writeable = False
        return LoadedLogits(
            logits=rows,
            targets=targets,
            source=source,
            sequence_shape=(1, t),
            input_ids=np.asarray(ids[:t], dtype=np.int64)[None],
            attention_mask=np.ones((1, t), dtype=bool),
            class_names=self.token_names() if v == self.n_classes else None,
            vocabulary=list(self.class_names[:v]),
        )

    def _need(self, *kinds: Kind) -> None:
        if self.kind not in kinds:
            raise ValueError(f"{self.name} is a {self.kind} model; this needs {' or '.join(kinds)}")
