"""Workspaces (``.softmaxlab.json``): the whole state in a human-readable, versioned file.

A workspace holds the logits, labels, soft targets, class names, every option and the view
state (selected sample, sort, filter, probability view, tabs, theme, scale; version 2 — version 1
files, which had no sort or filter, still open). Non-finite numbers are written as
the strings ``"inf"``, ``"-inf"`` and ``"nan"`` so the file stays standard JSON. Tables larger
than :data:`INLINE_CELLS` keep their arrays in a sidecar ``.npz`` beside the JSON.

Every write is atomic (temporary file, then rename): a crash mid-write never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.atomic import atomic_write
from softmax_lab.core.constants import MAX_INDEX
from softmax_lab.core.document import Document, Settings
from softmax_lab.core.formatting import big_int
from softmax_lab.core.inputs import NO_INPUTS, SampleInputs
from softmax_lab.core.loaders import DataError
from softmax_lab.core.loaders._common import open_regular, read_head, read_json, short
from softmax_lab.core.settings import check_settings
from softmax_lab.core.view_state import PERSISTED, view_from_json

FORMAT = "softmax-lab-workspace"
VERSION = 2
SUFFIX = ".softmaxlab.json"
INLINE_CELLS = 200_000
MAX_BYTES = 256 * 1024 * 1024
"""A workspace's JSON: an inline table is at most INLINE_CELLS cells (a few MB); larger tables
live in the .npz beside it. Anything past this is not a workspace."""


class WorkspaceError(DataError):
    """A workspace file that cannot be opened; the message says why in plain words."""


@dataclass
class Workspace:
    logits: np.ndarray
    labels: np.ndarray
    soft_targets: np.ndarray | None  # None unless probability targets are in use
    class_names: list[str]
    settings: Settings
    view: dict[str, Any] = field(default_factory=dict)
    """The persisted view fields (``core.view_state.PERSISTED``) as JSON values."""
    inputs: SampleInputs = NO_INPUTS
    """Images, texts and metadata; kept in a sidecar ``.inputs.npz`` beside the JSON."""
    logits_b: np.ndarray | None = None
    """A second model's logits when two are compared (inline or in the arrays sidecar)."""
    model_names: tuple[str, str] = ("A", "B")
    has_labels: bool = True
    binary: bool = False
    """One score per sample, held as [0, z] (see ``Document.binary``)."""

    @classmethod
    def from_document(cls, document: Document, view: dict[str, Any] | None = None) -> Workspace:
        return cls(
            np.asarray(document.logits),
            document.labels.copy(),
            None if document.soft_targets is None else document.soft_targets.copy(),
            list(document.class_names),
            document.settings,
            dict(view or {}),
            document.inputs,
            None if document.logits_b is None else np.asarray(document.logits_b),
            document.model_names,
            document.has_labels,
            document.binary,
        )

    def to_document(self) -> Document:
        document = Document(
            self.logits,
            self.labels,
            self.class_names,
            self.soft_targets,
            self.settings,
            self.inputs,
            has_labels=self.has_labels,
            binary=self.binary,
        )
        if self.logits_b is not None:
            document.attach_model_b(self.logits_b, self.model_names)
            document.history = type(document.history)()  # opening is not an edit
        return document


def _encode(array: np.ndarray) -> list:
    """Nested lists with non-finite values as strings (JSON has no inf or NaN)."""

    def cell(v: float) -> float | str:
        if math.isfinite(v):
            return v
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")

    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 1:
        return [cell(float(v)) for v in a]
    return [[cell(float(v)) for v in row] for row in a]


def _decode(value: Any, what: str, name: str) -> np.ndarray:
    def cell(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise WorkspaceError(f"{name}: {what} holds {v!r}, which is not a number")
        try:
            return float(v)
        except ValueError:
            raise WorkspaceError(f"{name}: {what} holds {v!r}, which is not a number") from None

    if not isinstance(value, list):
        raise WorkspaceError(f"{name}: {what} must be a list")
    try:
        if value and isinstance(value[0], list):
            widths = {len(row) if isinstance(row, list) else -1 for row in value}
            if len(widths) != 1 or -1 in widths:
                raise WorkspaceError(f"{name}: the rows of {what} have different lengths")
            return np.array([[cell(v) for v in row] for row in value], dtype=np.float64)
        return np.array([cell(v) for v in value], dtype=np.float64)
    except RecursionError:
        raise WorkspaceError(f"{name}: {what} is nested too deeply") from None


def save_workspace(path: str | os.PathLike[str], workspace: Workspace) -> None:
    """Write the workspace (and its sidecar .npz for a large table) atomically."""
    path = Path(path)
    n, c = workspace.logits.shape
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "shape": [n, c],
        "class_names": list(workspace.class_names),
        "settings": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(workspace.settings).items()
        },
        "view": workspace.view,
        "has_labels": bool(workspace.has_labels),
        "binary": bool(workspace.binary),
        "model_names": list(workspace.model_names),
    }
    if n * c <= INLINE_CELLS:
        body["logits"] = _encode(workspace.logits)
        body["labels"] = [int(v) for v in workspace.labels]
        if workspace.soft_targets is not None and workspace.settings.target_mode == "probability":
            body["soft_targets"] = _encode(workspace.soft_targets)
        if workspace.logits_b is not None:
            body["logits_b"] = _encode(workspace.logits_b)
    else:
        sidecar = path.with_name(path.name.removesuffix(".json") + ".npz")
        arrays = {"logits": np.asarray(workspace.logits), "labels": workspace.labels}
        if workspace.soft_targets is not None:
            arrays["soft_targets"] = workspace.soft_targets
        if workspace.logits_b is not None:
            arrays["logits_b"] = np.asarray(workspace.logits_b)
        buffer = _npz_bytes(**arrays)
        atomic_write(sidecar, buffer)
        body["arrays"] = sidecar.name
    if not workspace.inputs.is_empty:
        inputs = workspace.inputs
        side = path.with_name(path.name.removesuffix(".json") + ".inputs.npz")
        arrays = {f"meta:{name}": values for name, values in inputs.metadata.items()}
        if inputs.images is not None:
            arrays["images"] = inputs.images
        if inputs.texts is not None:
            arrays["texts"] = np.asarray([str(t) for t in inputs.texts], dtype=str)
        atomic_write(side, _npz_bytes(**arrays))
        body["inputs"] = side.name
    atomic_write(path, (json.dumps(body, indent=1, allow_nan=False) + "\n").encode())


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy stubs: **kwds as allow_pickle
    return buffer.getvalue()


SNIFF_BYTES = 4096


def looks_like_workspace(path: str | os.PathLike[str]) -> bool:
    """Whether a ``.json`` opens as a workspace: named ``*.softmaxlab.json``, or saying its
    format in its first :data:`SNIFF_BYTES` (other .json files are logits, e.g. LLM API
    logprobs). Reads through the one opener (a FIFO is never waited on); a file that cannot be
    read counts as a workspace, so that :func:`load_workspace` says why. Reads the file: call it
    off the GUI thread."""
    if str(path).endswith(SUFFIX):
        return True
    try:
        head = read_head(Path(path), SNIFF_BYTES)
    except DataError:
        return True
    return FORMAT.encode() in head


def load_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read a workspace; any problem raises :class:`WorkspaceError` and changes nothing."""
    path = Path(path)
    name = path.name
    try:
        body = read_json(path, name, max_bytes=MAX_BYTES, what="workspace")
    except DataError as exc:  # the one opener: regular files only, size and depth bounded
        raise WorkspaceError(str(exc)) from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise WorkspaceError(f"{name}: not a Softmax Lab workspace")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise WorkspaceError(f"{name}: the workspace has no valid version number")
    if version > VERSION:
        raise WorkspaceError(
            f"{name}: written by a newer Softmax Lab (workspace version "
            f"{version}; this one reads up to {VERSION}). Update to open it."
        )
    try:
        return _parse(body, path)
    except WorkspaceError:
        raise
    except DataError as exc:
        raise WorkspaceError(str(exc)) from None
    except MemoryError:
        raise WorkspaceError(f"{name}: the workspace is too large to open") from None
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        OSError,
        AttributeError,
        OverflowError,
        RecursionError,
    ) as exc:
        raise WorkspaceError(
            f"{name}: damaged workspace ({type(exc).__name__}: {short(exc)})"
        ) from None


def _parse(body: dict, path: Path) -> Workspace:
    name = path.name
    names = body["class_names"]
    if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
        raise WorkspaceError(f"{name}: class_names must be a list of strings")
    known = {f.name for f in fields(Settings)}
    raw_settings = body.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise WorkspaceError(f"{name}: settings must be an object")
    # Options a newer version added are left out; the known ones are checked like any edit.
    settings = Settings(
        **check_settings({k: v for k, v in raw_settings.items() if k in known}, len(names))
    )
    if "arrays" in body:
        arrays = str(body["arrays"])
        if Path(arrays).name != arrays or arrays in (".", ".."):
            raise WorkspaceError(f"{name}: the arrays file must sit beside the workspace")
        sidecar = path.with_name(arrays)
        if not os.path.lexists(sidecar):
            raise WorkspaceError(f"{name}: its arrays file {sidecar.name} is missing")
        try:
            with (
                open_regular(sidecar, sidecar.name, within=path.parent) as fh,
                np.load(fh, allow_pickle=False) as data,
            ):
                logits = np.asarray(data["logits"])
                labels = np.asarray(data["labels"], dtype=np.int64)
                soft = (
                    np.asarray(data["soft_targets"], dtype=np.float64)
                    if "soft_targets" in data.files
                    else None
                )
                logits_b = np.asarray(data["logits_b"]) if "logits_b" in data.files else None
        except FileNotFoundError:
            raise WorkspaceError(f"{name}: its arrays file {sidecar.name} is missing") from None
        except DataError as exc:
            raise WorkspaceError(f"{name}: its arrays file: {exc}") from None
        except Exception as exc:
            raise WorkspaceError(
                f"{name}: its arrays file {sidecar.name} is damaged ({type(exc).__name__})"
            ) from None
    else:
        logits = _decode(body["logits"], "logits", name)
        labels_raw = body["labels"]
        if not isinstance(labels_raw, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in labels_raw
        ):
            raise WorkspaceError(f"{name}: labels must be a list of whole numbers")
        if any(not -MAX_INDEX <= v <= MAX_INDEX for v in labels_raw):
            bad = next(v for v in labels_raw if not -MAX_INDEX <= v <= MAX_INDEX)
            raise WorkspaceError(f"{name}: label {big_int(bad)} is not a class index")
        labels = np.array(labels_raw, dtype=np.int64)
        soft = (
            _decode(body["soft_targets"], "soft_targets", name) if "soft_targets" in body else None
        )
        logits_b = _decode(body["logits_b"], "logits_b", name) if "logits_b" in body else None
    view_raw = body.get("view", {})
    if not isinstance(view_raw, dict):
        raise WorkspaceError(f"{name}: view must be an object")
    try:
        view_from_json(view_raw)  # checked here, so a damaged view never reaches the window
    except ValueError as exc:
        raise WorkspaceError(f"{name}: {exc}") from None
    view = {k: v for k, v in view_raw.items() if k in PERSISTED}
    inputs = _read_inputs(body, path, int(np.asarray(logits).shape[0]))
    has_labels = body.get("has_labels", True)
    model_names = body.get("model_names", ["A", "B"])
    if not isinstance(has_labels, bool):
        raise WorkspaceError(f"{name}: has_labels must be true or false")
    binary = body.get("binary", False)
    if not isinstance(binary, bool):
        raise WorkspaceError(f"{name}: binary must be true or false")
    if not (
        isinstance(model_names, list)
        and len(model_names) == 2
        and all(isinstance(v, str) for v in model_names)
    ):
        raise WorkspaceError(f"{name}: model_names must be two names")
    try:
        document = Document(
            logits, labels, names, soft, settings, inputs, has_labels=has_labels, binary=binary
        )
        if logits_b is not None:
            document.attach_model_b(logits_b, (model_names[0], model_names[1]))
    except ValueError as exc:
        raise WorkspaceError(f"{name}: {exc}") from None
    return Workspace(
        document.logits,
        document.labels,
        document.soft_targets,
        document.class_names,
        document.settings,
        view,
        document.inputs,
        document.logits_b,
        document.model_names,
        document.has_labels,
        document.binary,
    )


def _read_inputs(body: dict, path: Path, n: int) -> SampleInputs:
    if "inputs" not in body:
        return NO_INPUTS
    name = path.name
    file = str(body["inputs"])
    if Path(file).name != file or file in (".", ".."):
        raise WorkspaceError(f"{name}: the inputs file must sit beside the workspace")
    if not os.path.lexists(path.with_name(file)):
        raise WorkspaceError(f"{name}: its inputs file {file} is missing")
    try:
        with (
            open_regular(path.with_name(file), file, within=path.parent) as fh,
            np.load(fh, allow_pickle=False) as data,
        ):
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except FileNotFoundError:
        raise WorkspaceError(f"{name}: its inputs file {file} is missing") from None
    except DataError as exc:
        raise WorkspaceError(f"{name}: its inputs file: {exc}") from None
    except Exception as exc:
        raise WorkspaceError(
            f"{name}: its inputs file {file} is damaged ({type(exc).__name__})"
        ) from None
    metadata = {k.removeprefix("meta:"): v for k, v in arrays.items() if k.startswith("meta:")}
    try:
        return SampleInputs.build(n, arrays.get("images"), arrays.get("texts"), metadata)
    except ValueError as exc:
        raise WorkspaceError(f"{name}: its inputs file {file}: {exc}") from None
