"""A model on disk, run for its logits: causal LMs, text and image classifiers (transformers).

``load_model(path)`` opens a folder as ``save_pretrained`` writes it (``config.json`` plus
``*.safetensors``, with its tokenizer or image processor) and returns a :class:`Model` whose
``logits`` / ``score`` / ``generate`` give numpy arrays and core's own evaluations, so every view
of the window can show a live model's numbers exactly as it shows a file's.

Safety: weights are read only from ``*.safetensors`` (a ``pytorch_model.bin`` is a pickle, and
unpickling runs code); ``trust_remote_code`` is never used and a config that needs custom code
(``auto_map``) is refused. Nothing is downloaded unless the caller names a hub model that is not
in the local cache, and then the message says so. ``transformers`` is an optional dependency
(``pip install "softmax-lab[models]"``), imported on first use. No Qt here.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.devices import resolve_device, resolve_dtype
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders import DataError, LoadedLogits
from softmax_lab.core.loaders._common import available_memory, read_json
from softmax_lab.core.sequences import SequenceEvaluation, evaluate_sequences

Kind = Literal["causal-lm", "text-classification", "image-classification"]
KINDS: tuple[Kind, ...] = ("causal-lm", "text-classification", "image-classification")

# A config.json larger than this is not a config (real ones are a few KB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# The longest prompt or text accepted, in characters (tokenizing more would take seconds).
MAX_TEXT_CHARS = 200_000
# Generated steps kept at once (each keeps a (V,) row of raw logits).
MAX_GENERATE_STEPS = 4096

_ARCHITECTURE_KINDS: tuple[tuple[str, Kind], ...] = (
    ("ForCausalLM", "causal-lm"),
    ("LMHeadModel", "causal-lm"),
    ("ForSequenceClassification", "text-classification"),
    ("ForImageClassification", "image-classification"),
)
DOWNLOADED: set[str] = set()
"""Hub names this process fetched because they were not in the local cache (messages say so)."""
_PICKLED = ("pytorch_model.bin", "model.pt", "model.pth", "pytorch_model.bin.index.json")


class ModelError(DataError):
    """A model folder (or hub name) could not be used. The message is meant for the user."""


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:  # an optional extra
        raise ModelError(
            'running a model needs the transformers package: pip install "softmax-lab[models]"'
        ) from exc
    return transformers


@dataclass(frozen=True)
class Generation:
    """What :meth:`Model.generate` drew: the ids, and at each step the raw logits and the set the
    sampler could draw from at (T, k, p)."""

    ids: np.ndarray
    """(T_prompt + steps,) int64 token ids: the prompt's, then one per step."""
    logits: np.ndarray
    """(steps, V) float32 raw logits at each step (before temperature, top-k, top-p)."""
    kept: np.ndarray
    """(steps, V) bool: the tokens the sampler at (T, k, p) could draw at each step."""
    prompt_length: int
    temperature: float
    top_k: int | None
    top_p: float | None

    @property
    def steps(self) -> int:
        return int(self.logits.shape[0])

    @property
    def drawn(self) -> np.ndarray:
        """(steps,) the token drawn at each step."""
        return self.ids[self.prompt_length :]

    def why(self, step: int) -> TokenChoice:
        """Why step ``step`` drew its token: its rank and probability under softmax(z / T), the
        probability of the tokens ranked above it, and how many tokens the sampler kept."""
        if not -self.steps <= step < self.steps:
            raise IndexError(f"step {step} of {self.steps}")
        z = torch.as_tensor(self.logits[step], dtype=torch.float64)
        t = self.temperature if self.temperature > 0 else 1.0
        p = (z / t).softmax(-1)
        token = int(self.drawn[step])
        above = p > p[token]
        return TokenChoice(
            token=token,
            rank=int(above.sum()) + 1,
            probability=float(p[token]),
            mass_above=float(p[above].sum()),
            kept=int(self.kept[step].sum()),
        )


@dataclass(frozen=True)
class TokenChoice:
    """One generated token: 1-based rank, p at the generation's T, the mass ranked above it."""

    token: int
    rank: int
    probability: float
    mass_above: float
    kept: int


def sampler_keep(
    logits: np.ndarray | torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """The processed logits of one or more rows as transformers' sampler sees them: divided by T,
    then everything outside the top k set to −inf, then outside the smallest set whose
    probability reaches p (the order and tie rules of its TemperatureLogitsWarper,
    TopKLogitsWarper and TopPLogitsWarper). ``isfinite`` of the result is the kept set."""
    check_sampler(temperature, top_k, top_p)
    z = torch.as_tensor(logits, dtype=torch.float32)
    z = z / temperature if temperature > 0 else z.clone()
    filler = -float("inf")
    if top_k is not None and top_k < z.shape[-1]:
        kth = torch.topk(z, top_k, dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, filler)
    if top_p is not None and top_p < 1.0:
        sorted_z, order = torch.sort(z, descending=False, dim=-1)
        cumulative = sorted_z.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False  # keep at least one
        remove = remove_sorted.scatter(-1, order, remove_sorted)
        z = z.masked_fill(remove, filler)
    return z


def check_sampler(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise ``ValueError`` for a sampler setting that means nothing."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number, got {temperature!r}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be ≥ 0 (0 = always the most likely), got {temperature}")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
    ):
        raise ValueError(f"top_k must be a whole number ≥ 1 or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool)
        or not isinstance(top_p, (int, float))
        or not np.isfinite(top_p)
        or not 0 < top_p <= 1
    ):
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p!r}")


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

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_objects(cls, model: Any, tokenizer: Any = None, *, name: str | None = None) -> Model:
        """A ``transformers`` model already in memory (and its tokenizer or image processor)."""
        if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
            raise TypeError(
                f"expected a transformers model (a torch module with .config), got {type(model)}"
            )
        kind = _kind_of(model.config, name or type(model).__name__)
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
                self._class_names = _token_strings(self.tokenizer, self.n_classes)
            else:
                labels = getattr(self.model.config, "id2label", None) or {}
                self._class_names = [
                    str(labels.get(i, labels.get(str(i), f"class {i}")))
                    for i in range(self.n_classes)
                ]
        return self._class_names

    def to(self, device: str = "cpu", dtype: str = "float32") -> str | None:
        """Move the weights (CPU, CUDA, MPS; float32/bfloat16/float16). Returns the reason when the
        device asked for is not there and the CPU was used; refuses a model too big for it."""
        resolved = resolve_device(device)
        torch_dtype = resolve_dtype(dtype)
        need = _parameter_bytes(self.model, torch_dtype)
        _check_room(self.name, need, resolved.device)
        self.model.to(device=resolved.device, dtype=torch_dtype)
        return resolved.fallback

    # -- running it -----------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """The token ids of ``text`` as the model reads it (special tokens as the tokenizer adds
        them by default)."""
        self._need("causal-lm", "text-classification")
        text = _checked_text(text)
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
        images = _images(x)
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
        return self._sequence_table(ids, self.logits(text), f"{self.name} · prompt")

    def generation_table(self, prompt_logits: np.ndarray, generation: Generation) -> LoadedLogits:
        """Prompt and generated tokens as one sequence: the prompt's positions from its forward
        pass, then each step's raw logits (the row that predicted the token drawn there)."""
        self._need("causal-lm")
        n = generation.prompt_length
        if prompt_logits.shape[0] != n:
            raise ValueError(f"prompt logits have {prompt_logits.shape[0]} rows, prompt {n} tokens")
        logits = np.concatenate([prompt_logits[: n - 1], generation.logits]).astype(np.float32)
        return self._sequence_table(generation.ids, logits, f"{self.name} · generated")

    def _sequence_table(self, ids: np.ndarray, logits: np.ndarray, source: str) -> LoadedLogits:
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
            vocabulary=list(self.class_names[:v]),
        )

    def _need(self, *kinds: Kind) -> None:
        if self.kind not in kinds:
            raise ValueError(f"{self.name} is a {self.kind} model; this needs {' or '.join(kinds)}")


class Generator:
    """A generation in progress: the prompt's forward pass once (its logits are
    ``prompt_logits``), then one forward pass of the newest token per :meth:`step` on the cached
    keys and values. :meth:`back` takes the last step back and restores the sampler's random
    state, so Step after Back draws the same token again."""

    def __init__(
        self,
        model: Model,
        prompt: str,
        *,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
        seed: int,
        steps: int = 1,
    ) -> None:
        check_sampler(temperature, top_k, top_p)
        self._model = model
        self.prompt_ids = model.encode(prompt)
        limit = model.max_length
        if limit is not None and len(self.prompt_ids) + steps > limit:
            raise ValueError(
                f"the prompt ({count(len(self.prompt_ids))} tokens) and {count(steps)} steps "
                f"exceed the {count(limit)} tokens {model.name} reads"
            )
        self.temperature = float(temperature)
        self.top_k = top_k
        self.top_p = top_p
        self._random = torch.Generator(device="cpu").manual_seed(int(seed))
        # transformers ≥ 5 names the key/value cache `cache`; earlier versions `past_key_values`.
        parameters = inspect.signature(model.model.forward).parameters
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"
        self._drawn: list[int] = []
        self._raw: list[torch.Tensor] = []
        self._kept: list[torch.Tensor] = []
        self._states: list[torch.Tensor] = []
        self._cache: Any = None
        self._next: torch.Tensor | None = None
        self.prompt_logits = self._prefill(self.prompt_ids)

    @property
    def steps(self) -> int:
        return len(self._drawn)

    @property
    def greedy(self) -> bool:
        """top-k 1 or T = 0: always the most likely token."""
        return self.top_k == 1 or self.temperature == 0

    def _forward(self, ids: np.ndarray | list[int], cache: Any) -> Any:
        device = self._model.device
        kwargs = {self._cache_arg: cache} if cache is not None else {}
        with torch.inference_mode():
            out = self._model.model(
                input_ids=torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)[None],
                use_cache=True,
                **kwargs,
            )
        self._cache = out["cache"] if "cache" in out else out["past_key_values"]
        self._next = out.logits[0, -1].float()
        return out

    def _prefill(self, ids: np.ndarray) -> np.ndarray:
        out = self._forward(ids, None)
        return np.asarray(out.logits[0].float().cpu().numpy())

    def step(self) -> int:
        """Draw the next token; returns it."""
        limit = self._model.max_length
        if limit is not None and len(self.prompt_ids) + self.steps >= limit:
            raise ValueError(f"{self._model.name} reads at most {count(limit)} tokens")
        if self.steps >= MAX_GENERATE_STEPS:
            raise ValueError(f"at most {MAX_GENERATE_STEPS} steps are kept")
        if self._next is None:
            if self._cache is None:  # after Back: the whole sequence once more
                self._prefill(np.concatenate([self.prompt_ids, np.asarray(self._drawn)]))
            else:
                self._forward([self._drawn[-1]], self._cache)
        assert self._next is not None
        raw = self._next
        self._states.append(self._random.get_state())
        if self.greedy:
            token = int(torch.argmax(raw))
            kept = torch.zeros_like(raw, dtype=torch.bool)
            kept[token] = True
        else:
            processed = sampler_keep(
                raw, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p
            )
            kept = torch.isfinite(processed)
            token = int(torch.multinomial(processed.softmax(-1).cpu(), 1, generator=self._random))
        self._drawn.append(token)
        self._raw.append(raw.cpu())
        self._kept.append(kept.cpu())
        self._next = None
        return token

    def back(self) -> None:
        """Take the last step back (nothing to take back: nothing happens)."""
        if not self._drawn:
            return
        self._drawn.pop()
        self._raw.pop()
        self._kept.pop()
        self._random.set_state(self._states.pop())
        self._cache = None
        self._next = None

    def result(self) -> Generation:
        v = int(self.prompt_logits.shape[1])
        return Generation(
            ids=np.concatenate([self.prompt_ids, np.asarray(self._drawn, dtype=np.int64)]),
            logits=torch.stack(self._raw).numpy() if self._raw else np.zeros((0, v), np.float32),
            kept=torch.stack(self._kept).numpy() if self._kept else np.zeros((0, v), bool),
            prompt_length=len(self.prompt_ids),
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
        )

    def table(self) -> LoadedLogits:
        """The prompt and what was drawn so far, as the window's language-model table."""
        return self._model.generation_table(self.prompt_logits, self.result())


def load_model(
    path: str | os.PathLike[str], *, device: str = "cpu", dtype: str = "float32"
) -> Model:
    """Open a model saved by ``save_pretrained`` (a folder with ``config.json`` and
    ``*.safetensors``, plus ``tokenizer.json`` / ``tokenizer_config.json`` or
    ``preprocessor_config.json``), or a hub name already in the local cache.

    Raises :class:`ModelError` (a ``DataError``) with a message for the user for every problem:
    no safetensors (pickled weights are never loaded), custom code, an unknown architecture, a
    model too large for the device, a hub name that is not cached.
    """
    transformers = _transformers()
    folder, name = _locate(path)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{name}: no config.json — not a model folder saved by save_pretrained")
    config = _read_config(config_path, name)
    if "auto_map" in config:
        raise ModelError(
            f"{name}: this model needs its own Python code (config.json has auto_map); running "
            "code from a model folder is never done here"
        )
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickled = [p.name for p in folder.iterdir() if p.name in _PICKLED or p.suffix == ".bin"]
        if pickled:
            raise ModelError(
                f"{name}: {', '.join(sorted(pickled))} is a pickle, and unpickling runs code: "
                "weights are read only from *.safetensors (save_pretrained(folder, "
                "safe_serialization=True) writes them)"
            )
        raise ModelError(f"{name}: no *.safetensors weights in the folder")
    kind = _kind_of_config(config, name)
    resolved = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    size = sum(p.stat().st_size for p in weights)
    stored = _stored_itemsize(config)
    _check_room(name, size * torch_dtype.itemsize // max(stored, 1), resolved.device)
    auto = {
        "causal-lm": transformers.AutoModelForCausalLM,
        "text-classification": transformers.AutoModelForSequenceClassification,
        "image-classification": transformers.AutoModelForImageClassification,
    }[kind]
    options = {"local_files_only": True, "trust_remote_code": False}
    try:
        model = auto.from_pretrained(
            str(folder), use_safetensors=True, dtype=torch_dtype, **options
        )
    except Exception as exc:
        raise ModelError(f"{name}: could not be loaded as a {kind} model: {exc}") from exc
    model.to(resolved.device)
    tokenizer = processor = None
    try:
        if kind == "image-classification":
            processor = transformers.AutoImageProcessor.from_pretrained(str(folder), **options)
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **options)
    except Exception as exc:
        what = "image processor" if kind == "image-classification" else "tokenizer"
        raise ModelError(f"{name}: its {what} could not be loaded: {exc}") from exc
    if tokenizer is not None:
        _check_tokenizer_fits(tokenizer, model, kind, name)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
    return Model(model, kind=kind, tokenizer=tokenizer, processor=processor, name=name)


# -- helpers ------------------------------------------------------------------------------------


def _locate(path: str | os.PathLike[str]) -> tuple[Path, str]:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a folder path or a hub name, got {type(path).__name__}")
    folder = Path(path).expanduser()
    if folder.is_dir():
        return folder, folder.name or str(folder)
    text = os.fspath(path)
    looks_like_hub = text.count("/") <= 1 and not text.startswith((".", "/", "~"))
    if folder.exists():
        raise ModelError(f"{text}: not a folder; a model is a folder saved by save_pretrained")
    if not looks_like_hub:
        raise ModelError(f"{text}: no such folder")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelError(f"{text}: no such folder") from exc
    patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
    try:
        local = snapshot_download(text, allow_patterns=patterns, local_files_only=True)
    except Exception:
        try:
            local = snapshot_download(text, allow_patterns=patterns)
            DOWNLOADED.add(text)
        except Exception as exc:
            raise ModelError(
                f"{text}: not a local folder, and not in the Hugging Face cache; downloading "
                f"it from the hub failed ({type(exc).__name__}). Pass a folder saved with "
                "save_pretrained"
            ) from exc
    return Path(local), text


def _read_config(path: Path, name: str) -> dict[str, Any]:
    try:  # the one opener: a regular file (a FIFO would block), a config's size and depth
        data = read_json(path, f"{name}: config.json", max_bytes=MAX_CONFIG_BYTES, what="config")
    except DataError as exc:
        raise ModelError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{name}: config.json is not a JSON object")
    return data


def _kind_of_config(config: dict[str, Any], name: str) -> Kind:
    architectures = config.get("architectures") or []
    if isinstance(architectures, list):
        for arch in architectures:
            for suffix, kind in _ARCHITECTURE_KINDS:
                if isinstance(arch, str) and arch.endswith(suffix):
                    return kind
    raise ModelError(
        f"{name}: config.json's architectures {architectures!r} is not a causal LM, a text "
        "classifier or an image classifier (…ForCausalLM, …LMHeadModel, "
        "…ForSequenceClassification, …ForImageClassification)"
    )


def _kind_of(config: Any, name: str) -> Kind:
    architectures = list(getattr(config, "architectures", None) or [])
    try:
        return _kind_of_config({"architectures": architectures or [name]}, name)
    except ModelError:
        if name != "model":
            return _kind_of_config({"architectures": [name]}, name)
        raise


def _stored_itemsize(config: dict[str, Any]) -> int:
    stored = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    try:
        return resolve_dtype(stored).itemsize
    except ValueError:
        return 4


def _parameter_bytes(model: Any, dtype: torch.dtype) -> int:
    return sum(p.numel() for p in model.parameters()) * dtype.itemsize


def _check_room(name: str, need: int, device: torch.device) -> None:
    free: int | None
    if device.type == "cuda":
        free = int(torch.cuda.mem_get_info(device)[0])
    elif device.type == "cpu":
        free = available_memory()
    else:
        return
    if free is not None and need > free:
        raise ModelError(
            f"{name}: needs {_size(need)} on {device}, which has {_size(int(free))} free"
        )


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _check_tokenizer_fits(tokenizer: Any, model: Any, kind: Kind, name: str) -> None:
    vocabulary = int(model.get_input_embeddings().weight.shape[0])
    if len(tokenizer) > vocabulary:
        raise ModelError(
            f"{name}: the tokenizer has {count(len(tokenizer))} tokens but the model's embedding "
            f"has {count(vocabulary)}; they do not belong together"
        )


def _token_strings(tokenizer: Any, n: int) -> list[str]:
    """Each id's text as it reads in a sentence (byte-level pieces decoded), by id."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(n, len(tokenizer)))))
    names: list[str] = []
    converter = getattr(tokenizer, "convert_tokens_to_string", None)
    for i, piece in enumerate(pieces):
        if piece is None:
            names.append(f"<{i}>")
            continue
        try:
            names.append(converter([piece]) if converter is not None else str(piece))
        except Exception:
            names.append(str(piece))
    names += [f"<{i}>" for i in range(len(names), n)]
    return names


def _checked_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected text (a str), got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"the text is {count(len(text))} characters; at most {count(MAX_TEXT_CHARS)} are read"
        )
    return text


def _images(x: Any) -> list[Any]:
    items = x if isinstance(x, list) else [x]
    if not items:
        raise ValueError("no image given")
    out = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            out.append(_read_image(Path(item)))
            continue
        array = np.asarray(item)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                f"an image is an (H, W, 3) uint8 array or a path, got {array.dtype} "
                f"{tuple(array.shape)}"
            )
        out.append(array)
    return out


def _read_image(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ModelError(f"{path.name}: reading image files needs Pillow") from exc
    if not path.is_file():
        raise ModelError(f"{path.name}: no such image file")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as exc:
        raise ModelError(f"{path.name}: not an image ({exc})") from exc
