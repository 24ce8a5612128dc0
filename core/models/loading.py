"""Opening a model folder saved by ``save_pretrained`` (:func:`load_model`). No Qt here."""

from __future__ import annotations

import os

from softmax_lab.core.devices import resolve_device, resolve_dtype
from softmax_lab.core.models.checks import (
    PICKLED,
    ModelError,
    check_room,
    check_tokenizer_fits,
    kind_of_config,
    locate,
    read_config,
    stored_itemsize,
    transformers_module,
)
from softmax_lab.core.models.model import Model


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
    transformers = transformers_module()
    folder, name = locate(path)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{name}: no config.json — not a model folder saved by save_pretrained")
    config = read_config(config_path, name)
    if "auto_map" in config:
        raise ModelError(
            f"{name}: this model needs its own Python code (config.json has auto_map); running "
            "code from a model folder is never done here"
        )
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickled = [p.name for p in folder.iterdir() if p.name in PICKLED or p.suffix == ".bin"]
        if pickled:
            raise ModelError(
                f"{name}: {', '.join(sorted(pickled))} is a pickle, and unpickling runs code: "
                "weights are read only from *.safetensors (save_pretrained(folder, "
                "safe_serialization=True) writes them)"
            )
        raise ModelError(f"{name}: no *.safetensors weights in the folder")
    kind = kind_of_config(config, name)
    resolved = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    size = sum(p.stat().st_size for p in weights)
    stored = stored_itemsize(config)
    check_room(name, size * torch_dtype.itemsize // max(stored, 1), resolved.device)
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
        check_tokenizer_fits(tokenizer, model, kind, name)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
    return Model(model, kind=kind, tokenizer=tokenizer, processor=processor, name=name)
