"""A model folder before anything in it runs: where it is, what its config says, whether its
weights are safe to read and fit the device, and the checks on what the model is given to read.

Safety: weights are read only from ``*.safetensors`` (a ``pytorch_model.bin`` is a pickle, and
unpickling runs code); a config that needs custom code (``auto_map``) is refused. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from softmax_lab.core.devices import resolve_dtype
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders import DataError
from softmax_lab.core.loaders._common import available_memory, read_json

Kind = Literal["causal-lm", "text-classification", "image-classification"]
KINDS: tuple[Kind, ...] = ("causal-lm", "text-classification", "image-classification")

# A config.json larger than this is not a config (real ones are a few KB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# The longest prompt or text accepted, in characters (tokenizing more would take seconds).
MAX_TEXT_CHARS = 200_000

_ARCHITECTURE_KINDS: tuple[tuple[str, Kind], ...] = (
    ("ForCausalLM", "causal-lm"),
    ("LMHeadModel", "causal-lm"),
    ("ForSequenceClassification", "text-classification"),
    ("ForImageClassification", "image-classification"),
)
DOWNLOADED: set[str] = set()
"""Hub names this process fetched because they were not in the local cache (messages say so)."""
PICKLED = ("pytorch_model.bin", "model.pt", "model.pth", "pytorch_model.bin.index.json")


class ModelError(DataError):
    """A model folder (or hub name) could not be used. The message is meant for the user."""


def transformers_module() -> Any:
    try:
        import transformers
    except ImportError as exc:  # an optional extra
        raise ModelError(
            'running a model needs the transformers package: pip install "softmax-lab[models]"'
        ) from exc
    return transformers


def locate(path: str | os.PathLike[str]) -> tuple[Path, str]:
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


def read_config(path: Path, name: str) -> dict[str, Any]:
    try:  # the one opener: a regular file (a FIFO would block), a config's size and depth
        data = read_json(path, f"{name}: config.json", max_bytes=MAX_CONFIG_BYTES, what="config")
    except DataError as exc:
        raise ModelError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{name}: config.json is not a JSON object")
    return data


def kind_of_config(config: dict[str, Any], name: str) -> Kind:
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


def kind_of(config: Any, name: str) -> Kind:
    architectures = list(getattr(config, "architectures", None) or [])
    try:
        return kind_of_config({"architectures": architectures or [name]}, name)
    except ModelError:
        if name != "model":
            return kind_of_config({"architectures": [name]}, name)
        raise


def stored_itemsize(config: dict[str, Any]) -> int:
    stored = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    try:
        return resolve_dtype(stored).itemsize
    except ValueError:
        return 4


def parameter_bytes(model: Any, dtype: torch.dtype) -> int:
    return sum(p.numel() for p in model.parameters()) * dtype.itemsize


def check_room(name: str, need: int, device: torch.device) -> None:
    free: int | None
    if device.type == "cuda":
        free = int(torch.cuda.mem_get_info(device)[0])
    elif device.type == "cpu":
        free = available_memory()
    else:
        return
    if free is not None and need > free:
        raise ModelError(
            f"{name}: needs {human_size(need)} on {device}, which has {human_size(int(free))} free"
        )


def human_size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_tokenizer_fits(tokenizer: Any, model: Any, kind: Kind, name: str) -> None:
    vocabulary = int(model.get_input_embeddings().weight.shape[0])
    if len(tokenizer) > vocabulary:
        raise ModelError(
            f"{name}: the tokenizer has {count(len(tokenizer))} tokens but the model's embedding "
            f"has {count(vocabulary)}; they do not belong together"
        )


def token_strings(tokenizer: Any, n: int) -> list[str]:
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


def checked_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected text (a str), got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"the text is {count(len(text))} characters; at most {count(MAX_TEXT_CHARS)} are read"
        )
    return text


def read_images(x: Any) -> list[Any]:
    items = x if isinstance(x, list) else [x]
    if not items:
        raise ValueError("no image given")
    out = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            out.append(read_image(Path(item)))
            continue
        array = np.asarray(item)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                f"an image is an (H, W, 3) uint8 array or a path, got {array.dtype} "
                f"{tuple(array.shape)}"
            )
        out.append(array)
    return out


def read_image(path: Path) -> np.ndarray:
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
