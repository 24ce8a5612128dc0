"""``load_logits``: one call from a path to a checked ``LoadedLogits``, whatever the format.

Dispatches on the extension (.npy/.npz on the content too) and guarantees the contract: every
problem ends in a ``DataError`` whose message starts with the file name; nothing else escapes.
"""

from __future__ import annotations

import os
from pathlib import Path

from softmax_lab.core.loaders._common import (
    NUMPY_EXTENSIONS,
    SUPPORTED,
    TEXT_EXTENSIONS,
    TORCH_EXTENSIONS,
    DataError,
    LoadedLogits,
    check_readable_file,
    display_name,
    wrap_unexpected,
)

# LLM API logprobs (core.loaders.logprobs) and generate() outputs (core.loaders.generated).
LOGPROBS_EXTENSIONS = frozenset({".json", ".jsonl"})


def load_logits(path: str | os.PathLike[str], *, mmap: bool = True) -> LoadedLogits:
    """Read logits (and labels, class names, inputs, metadata, token ids...) from ``path``.

    * .npz archives and dicts saved with torch.save: the entries' names say what they are
      (``logits``, ``labels``, ``class_names``, ``images``, ``texts``, ``input_ids``,
      ``attention_mask``, ``vocab``; see ``core.loaders.members``); other 1-D entries with one
      value per sample become ``metadata``.
    * .csv/.tsv/.txt: an optional header, a ``label`` column, and text columns kept as
      ``metadata`` (``texts`` for a column named ``text``) by the rule in
      ``core.loaders.text_files``: a column with a non-numeric header is text when more than half
      of its non-empty cells are not numbers; any other junk cell is an error naming its row.
    * .parquet (``DataFrame.to_parquet``; needs pyarrow): the same column rules as a CSV file,
      the DataFrame's index is never a class, and a column of per-sample lists can hold the
      logits (see ``core.loaders.parquet_files``).
    * One score per sample, (N,) or (N, 1), loads as binary logits [0, z] (``binary``).
    * (B, T, V) logits are flattened to (B*T, V) and ``sequence_shape`` is (B, T); token ids
      without labels give next-token targets (see ``core.loaders.sequences``), and a
      tokenizer.json or vocab.txt beside the file gives ``vocabulary``.

    * .json / .jsonl: LLM API responses with logprobs (OpenAI Chat Completions and Responses,
      legacy Completions, vLLM, llama.cpp, SGLang): partial distributions, one row per token,
      the unreported probability as one class (see ``core.loaders.logprobs``).
    * A dict with ``sequences`` beside (B, G, V) ``logits`` / ``scores`` is a ``generate()``
      output: the prompt is shown unscored and step t scores ``sequences[:, P + t]`` (see
      ``core.loaders.generated``).

    ``mmap``: when true, the logits of a .npy file and of an uncompressed .npz archive (and the
    images of the latter) are returned as read-only memory maps instead of being read into
    memory; .pt/.pth files in torch's zip format are always memory-mapped.

    Raises ``DataError`` for every problem with the file; no other exception escapes.
    """
    source, name = display_name(path)
    try:
        return _load(Path(source), name, source, mmap)
    except DataError:
        raise
    except Exception as exc:  # the contract: DataError, never anything else
        raise wrap_unexpected(name, exc) from exc


def _load(path: Path, name: str, source: str, mmap: bool) -> LoadedLogits:
    check_readable_file(path, name)
    ext = path.suffix.lower()
    if ext in LOGPROBS_EXTENSIONS:
        from softmax_lab.core.loaders.logprobs import load_logprobs_file

        return load_logprobs_file(path, name, source, ext)
    if ext in NUMPY_EXTENSIONS | TORCH_EXTENSIONS:
        from softmax_lab.core.loaders.generated import load_generated

        generated = load_generated(path, name, source, ext)
        if generated is not None:
            return generated
    if ext in NUMPY_EXTENSIONS:
        from softmax_lab.core.loaders.numpy_files import load_numpy_file

        return load_numpy_file(path, name, source, ext, mmap)
    if ext in TORCH_EXTENSIONS:
        from softmax_lab.core.loaders.torch_files import load_torch_file

        return load_torch_file(path, name, source)
    if ext in TEXT_EXTENSIONS:
        from softmax_lab.core.loaders.text_files import load_text_file

        return load_text_file(path, name, source, ext)
    from softmax_lab.core.loaders.parquet_files import PARQUET_EXTENSIONS

    if ext in PARQUET_EXTENSIONS:
        from softmax_lab.core.loaders.parquet_files import load_parquet_file

        return load_parquet_file(path, name, source)
    kind = f"'{ext}'" if ext else "files without an extension"
    raise DataError(
        f"{name}: unsupported file type {kind} (Softmax Lab reads {SUPPORTED}, and LLM API "
        "logprobs as .json / .jsonl)"
    )
