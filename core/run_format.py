"""The recorded-run format: its folder layout, the manifest (read, validated and bounded) and
the checks on what a training loop hands :class:`core.runs.RunWriter`.

A run is a folder::

    run.json            manifest: format, version, N, C, dtype, class names, sidecars, steps
    labels.npy          (N,) int64, IGNORE_INDEX marks an ignored sample      (if given)
    images.npy          (N, ...) numbers                                       (if given)
    texts.json          N strings                                              (if given)
    step-000012.npy     (N, C) float32 or float64 logits of step 12, one file per step

Every number a manifest claims is bounded here (sizes within ``MAX_INDEX``, steps within
±``MAX_STEP``, names plain files of the folder), and a step file's header is checked against
the manifest's shape and dtype before any of its data is used (:func:`_step_offset`). Reading
the steps is :mod:`core.runs`; evaluating them is :mod:`core.dynamics`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Sequence, Sized
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from softmax_lab.core.constants import IGNORE_INDEX, MAX_INDEX
from softmax_lab.core.formatting import big_int
from softmax_lab.core.loaders import DataError
from softmax_lab.core.loaders._common import open_regular, read_json, short

FORMAT = "softmax-lab-run"
VERSION = 1
MANIFEST = "run.json"
_DTYPES = ("float32", "float64")
# Names a manifest may point at: a plain file in the run folder, never a path (no "/", "\\",
# "..", drive letters) and never hidden (the atomic writer's temporary files start with ".").
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""A manifest lists one step a line (~40 bytes): 64 MB is over a million steps."""
MAX_STEP = 2**53
"""Steps are whole numbers within ±2^53 (exact as float64, which the plots use)."""
MAX_PROBLEMS = 100
"""``Run.problems`` keeps this many descriptions; ``problem_count`` counts them all."""
MAX_SIDECAR_TEXT_BYTES = 1024 * 1024 * 1024
"""texts.json: a gigabyte of text is far past any run's samples."""
_STEP_NAME = re.compile(r"step-m?\d+\.npy")
_TEMP_NAME = re.compile(
    r"\.(step-m?\d+\.npy|run\.json|labels\.npy|images\.npy|texts\.json)\..*\.tmp"
)


def step_file_name(step: int) -> str:
    """``step-000012.npy``; negative steps get an ``m`` (``step-m000001.npy``)."""
    return f"step-{step:06d}.npy" if step >= 0 else f"step-m{-step:06d}.npy"


# --- checking what a training loop hands us ---------------------------------------------------


def _as_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a numpy array on the CPU: a torch tensor (any device) is detached and copied
    to the host; half types become float32 (numpy has no bfloat16)."""
    torch = sys.modules.get("torch")  # a tensor can only exist if torch is imported already
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.float()
        if tensor.is_complex() or tensor.dtype == torch.bool:
            raise ValueError(f"{what} must be real numbers, not {tensor.dtype}")
        return tensor.resolve_conj().resolve_neg().numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} must be a rectangular array of numbers ({exc})") from exc
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be real numbers, not {array.dtype}")
    return array


def _as_logits(value: Any) -> np.ndarray:
    array = _as_array(value, "logits")
    if array.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples x classes), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"logits are empty (shape {array.shape})")
    if array.dtype != np.float64:
        array = array.astype(np.float32, copy=False)  # float16, integers: stored as float32
    return np.ascontiguousarray(array)


def _check_labels(labels: Any, n_classes: int | None) -> np.ndarray | None:
    if labels is None:
        return None
    array = _as_array(labels, "labels")
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {array.shape}")
    if array.dtype.kind == "f" and not (np.isfinite(array) & (array == np.round(array))).all():
        raise ValueError("labels must be whole numbers")
    array = array.astype(np.int64)
    _check_label_range(array, n_classes)
    return array


def _check_label_range(labels: np.ndarray, n_classes: int | None) -> None:
    high = math.inf if n_classes is None else n_classes
    bad = ((labels < 0) | (labels >= high)) & (labels != IGNORE_INDEX)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        classes = "classes are 0 and up" if n_classes is None else f"classes are 0..{high - 1}"
        raise ValueError(
            f"label {int(labels[row])} at row {row} is out of range: {classes} "
            f"(or {IGNORE_INDEX} to ignore the row)"
        )


def _strings(values: Sequence[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    items = list(values)
    if not items or not all(isinstance(v, str) for v in items):
        raise ValueError(f"{what} must be a non-empty list of strings")
    return items


def _n_of(**given: Sized | None) -> int | None:
    sizes = {k: len(v) for k, v in given.items() if v is not None}
    if len(set(sizes.values())) > 1:
        got = ", ".join(f"{v} {k}" for k, v in sizes.items())
        raise ValueError(f"labels, images and texts must have one entry per sample; got {got}")
    return next(iter(sizes.values()), None)


# --- the manifest -----------------------------------------------------------------------------


@dataclass
class _Manifest:
    n_samples: int | None = None
    n_classes: int | None = None
    dtype: str | None = None
    class_names: list[str] | None = None
    labels: str | None = None
    images: str | None = None
    texts: str | None = None
    steps: tuple[tuple[int, str], ...] = ()

    def to_json(self) -> str:
        """One top-level key per line and one step per line: readable, and small to rewrite."""
        body = {"format": FORMAT, "version": VERSION, **asdict(self)}
        steps = body.pop("steps")
        lines = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in body.items()]
        entries = ",\n  ".join(json.dumps({"step": s, "file": f}) for s, f in steps)
        lines.append(f'"steps": [\n  {entries}\n ]' if steps else '"steps": []')
        return "{\n " + ",\n ".join(lines) + "\n}\n"


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_manifest(folder: Path) -> _Manifest:
    """The manifest of ``folder``, validated; every way it can be wrong is a ``DataError``."""
    where = f"{folder.name}/{MANIFEST}"
    if not os.path.lexists(folder / MANIFEST):
        raise DataError(f"{folder.name}: not a Softmax Lab run (it has no {MANIFEST})")
    # The one opener: a regular file inside the run folder (a FIFO would block, a link could
    # lead anywhere), of a manifest's size, JSON of a manifest's depth.
    body = read_json(folder / MANIFEST, where, max_bytes=MAX_MANIFEST_BYTES, within=folder)
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise DataError(f"{where}: not a Softmax Lab run manifest")
    version = body.get("version")
    if not _is_int(version) or version < 1:
        raise DataError(f"{where}: the manifest has no valid version number")
    if version > VERSION:
        raise DataError(
            f"{where}: written by a newer Softmax Lab (run format version {version}; this one "
            f"reads up to {VERSION}). Update to open it."
        )

    def bad(field: str) -> DataError:
        value = body.get(field)
        shown = big_int(value) if _is_int(value) else f"{value!r:.80}"
        return DataError(f"{where}: damaged (bad {field!r}: {shown})")

    m = _Manifest()
    for key in ("n_samples", "n_classes"):
        value = body.get(key)
        if value is not None and not (_is_int(value) and 1 <= value <= MAX_INDEX):
            raise bad(key)
        setattr(m, key, value)
    if body.get("dtype") not in (None, *_DTYPES):
        raise bad("dtype")
    m.dtype = body.get("dtype")
    m.class_names = names = body.get("class_names")
    if names is not None and not (
        isinstance(names, list) and names and all(isinstance(n, str) for n in names)
    ):
        raise bad("class_names")
    if names is not None and len(names) != (m.n_classes or len(names)):
        raise bad("class_names")
    for key in ("labels", "images", "texts"):
        value = body.get(key)
        if value is not None and not _safe_name(value):
            raise bad(key)
        setattr(m, key, value)
    steps = body.get("steps")
    if not isinstance(steps, list):
        raise bad("steps")
    entries: list[tuple[int, str]] = []
    for entry in steps:
        if not (
            isinstance(entry, dict)
            and _is_int(entry.get("step"))
            and -MAX_STEP <= entry["step"] <= MAX_STEP
            and _safe_name(entry.get("file"))
            and (not entries or entry["step"] > entries[-1][0])
        ):
            if isinstance(entry, dict) and _is_int(entry.get("step")):
                shown = f"step {big_int(entry['step'])}, file {entry.get('file')!r:.60}"
                if not -MAX_STEP <= entry["step"] <= MAX_STEP:
                    shown += f"; steps are whole numbers within ±{MAX_STEP:,}"
            else:
                shown = f"{entry!r:.80}"
            raise DataError(f"{where}: damaged (bad step entry: {shown})")
        entries.append((entry["step"], entry["file"]))
    if len({f for _, f in entries}) != len(entries):
        raise DataError(f"{where}: damaged (two steps name the same file)")
    if entries and None in (m.n_samples, m.n_classes, m.dtype):
        raise DataError(f"{where}: damaged (steps are listed but the shape or dtype is not)")
    m.steps = tuple(entries)
    return m


def _safe_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_SAFE_NAME.fullmatch(name)) and name != MANIFEST


def _step_offset(
    folder: Path, file: str, shape: tuple[int, int], dtype: str, present: set[str] | None = None
) -> int | str:
    """Where the data of a step file starts, or a problem naming the file. ``present``: the
    folder's names, listed once for many steps (a missing file then costs no system call)."""
    where = f"{folder.name}/{file}"
    fmt = np.lib.format
    if (file not in present) if present is not None else not os.path.lexists(folder / file):
        return f"{where}: the step file is missing"
    try:
        with open_regular(folder / file, where, within=folder) as fh:
            version = fmt.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                return f"{where}: unsupported .npy format version {version}"
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            file_shape, fortran, file_dtype = read(fh)
            offset = fh.tell()
            size = fh.seek(0, 2)
    except DataError as exc:  # not a regular file, a link out of the folder, unreadable
        return str(exc)
    except FileNotFoundError:
        return f"{where}: the step file is missing"
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, MemoryError) as exc:
        return f"{where}: the step file is damaged ({short(exc)})"
    if tuple(file_shape) != shape:
        return f"{where}: holds a {tuple(file_shape)} array; the manifest says {shape}"
    if np.dtype(file_dtype) != np.dtype(dtype) or fortran:
        order = " in Fortran order" if fortran else ""
        return f"{where}: holds {np.dtype(file_dtype)}{order}; the manifest says {dtype}"
    needed = offset + shape[0] * shape[1] * np.dtype(dtype).itemsize
    if size < needed:
        return f"{where}: the step file is truncated ({size} bytes of {needed})"
    return offset
