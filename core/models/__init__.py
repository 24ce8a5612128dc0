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

The parts: ``checks`` (the folder, its config and weights, the room on the device, what the model
is given to read), ``loading`` (:func:`load_model`), ``model`` (:class:`Model`) and
``generation`` (:class:`Generator`, :class:`Generation`, :func:`sampler_keep`).
"""

from softmax_lab.core.models.checks import (
    DOWNLOADED,
    KINDS,
    MAX_CONFIG_BYTES,
    MAX_TEXT_CHARS,
    Kind,
    ModelError,
)
from softmax_lab.core.models.generation import (
    MAX_GENERATE_STEPS,
    Generation,
    Generator,
    SamplerMarks,
    TokenChoice,
    check_sampler,
    sampler_keep,
    sampler_marks,
)
from softmax_lab.core.models.loading import load_model
from softmax_lab.core.models.model import Model

__all__ = [
    "DOWNLOADED",
    "KINDS",
    "MAX_CONFIG_BYTES",
    "MAX_GENERATE_STEPS",
    "MAX_TEXT_CHARS",
    "Generation",
    "Generator",
    "Kind",
    "Model",
    "ModelError",
    "SamplerMarks",
    "TokenChoice",
    "check_sampler",
    "load_model",
    "sampler_keep",
    "sampler_marks",
]
