"""Recorded training runs: logits of the same samples at many steps, written and read safely.

A run is a folder::

    run.json            manifest: format, version, N, C, dtype, class names, sidecars, steps
    labels.npy          (N,) int64, IGNORE_INDEX marks an ignored sample      (if given)
    images.npy          (N, ...) numbers                                       (if given)
    texts.json          N strings                                              (if given)
    step-000012.npy     (N, C) float32 or float64 logits of step 12, one file per step

Every file is written with :func:`core.atomic.atomic_write`, and the manifest is rewritten after
the step file it lists is in place, so the steps a manifest lists are always complete files: a
reader polling a live run, or opening one whose writer was killed, sees whole steps only (the
last one the manifest names). This module owns :class:`RunWriter` (the training loop's side)
and :func:`load_run` / :class:`Run` (the window's side); the format, the manifest and its bounds
are :mod:`core.run_format` (its public names are importable from here too). It never evaluates
logits: that is ``core.dynamics``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.atomic import atomic_write
from softmax_lab.core.constants import default_class_names
from softmax_lab.core.formatting import big_int
from softmax_lab.core.loaders import DataError
from softmax_lab.core.loaders._common import (
    check_readable_file,
    open_regular,
    read_json,
    short,
)
from softmax_lab.core.run_format import (
    _STEP_NAME,
    _TEMP_NAME,
    FORMAT,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MAX_PROBLEMS,
    MAX_SIDECAR_TEXT_BYTES,
    MAX_STEP,
    VERSION,
    _as_array,
    _as_logits,
    _check_label_range,
    _check_labels,
    _is_int,
    _Manifest,
    _n_of,
    _read_manifest,
    _step_offset,
    _strings,
    step_file_name,
)

__all__ = [
    "FORMAT",
    "MANIFEST",
    "MAX_MANIFEST_BYTES",
    "MAX_PROBLEMS",
    "MAX_SIDECAR_TEXT_BYTES",
    "MAX_STEP",
    "VERSION",
    "Run",
    "RunStep",
    "RunWriter",
    "load_run",
    "run_not_started",
    "step_file_name",
]


# --- reading ----------------------------------------------------------------------------------


class Run:
    """A recorded run as read from its folder (see :func:`load_run`).

    ``n_samples``/``n_classes`` are 0 and ``dtype`` is "" while a live run has recorded no step
    and was given nothing that fixes them. ``steps`` only lists steps whose files are whole and
    match the manifest; the others are described in ``problems``. ``refresh`` replaces
    ``steps`` by a new list rather than appending, so a thread iterating a snapshot of it is safe.
    """

    def __init__(self, folder: Path, manifest: _Manifest) -> None:
        self.path = folder
        self.steps: list[int] = []
        self.problems: list[str] = []
        self.problem_count = 0  # every problem noted; ``problems`` keeps the first MAX_PROBLEMS
        self._problem_set: set[str] = set()
        self.n_samples = self.n_classes = 0
        self.dtype = ""
        self.class_names: list[str] = []
        self.labels: np.ndarray | None = None
        self.images: np.ndarray | None = None
        self.texts: list[str] | None = None
        self._files: dict[int, tuple[Path, int]] = {}
        self._listed: int | None = None  # the last step the manifest listed, good or bad
        self._sidecars_read = False
        self._seen: tuple[int, int, int] | None = None  # the manifest's (inode, size, mtime)
        self._apply(manifest)

    def __repr__(self) -> str:
        return (
            f"Run({str(self.path)!r}, {len(self.steps)} steps, {self.n_samples} x "
            f"{self.n_classes} {self.dtype or '?'}, {len(self.problems)} problems)"
        )

    def logits(self, step: int) -> np.ndarray:
        """The (N, C) logits of ``step``: a read-only memory map of its file."""
        file, offset = self._file(step)
        try:
            return np.memmap(
                file, self.dtype, "r", offset=offset, shape=(self.n_samples, self.n_classes)
            )
        except (ValueError, OSError) as exc:
            raise DataError(f"{self.path.name}/{file.name}: could not be read ({exc})") from exc

    def read_rows(self, step: int, start: int, out: np.ndarray) -> np.ndarray:
        """Rows ``start:start + len(out)`` of ``step`` read into ``out`` (C-contiguous, the run's
        dtype) without mapping the file, so that a streamed pass holds one block in memory."""
        file, offset = self._file(step)
        rows = out.shape[0]
        if not (
            out.flags.c_contiguous
            and out.dtype == np.dtype(self.dtype)
            and out.shape[1:] == (self.n_classes,)
            and 0 <= start <= start + rows <= self.n_samples
        ):
            raise ValueError(
                f"cannot read rows {start}..{start + rows} into {out.shape} {out.dtype}"
            )
        view = memoryview(out).cast("B")  # type: ignore[arg-type]
        done = 0
        with open_regular(file, f"{self.path.name}/{file.name}", buffering=0) as fh:
            fh.seek(offset + start * self.n_classes * out.itemsize)
            while done < len(view):
                got = fh.readinto(view[done:])  # type: ignore[attr-defined]  # a raw FileIO
                if not got:
                    raise DataError(f"{self.path.name}/{file.name}: the step file is truncated")
                done += got
        return out

    def refresh(self) -> list[int]:
        """Re-read the manifest; the steps that appeared since (the window polls this to follow
        a live run). A manifest that cannot be read now is noted in ``problems``. An unchanged
        manifest (same inode, size and modification time: the writer replaces it by a rename,
        so every write makes a new inode) is not read again, so polling costs one ``stat``."""
        try:
            info = (self.path / MANIFEST).stat()
            seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        except OSError:
            seen = None
        if seen is not None and seen == self._seen:
            return []
        try:
            manifest = _read_manifest(self.path)
        except DataError as exc:
            self._note(str(exc))
            return []
        self._seen = seen
        return self._apply(manifest)

    def _file(self, step: int) -> tuple[Path, int]:
        try:
            return self._files[step]
        except KeyError:
            raise KeyError(f"step {step} is not a readable step of {self.path.name}") from None

    def _note(self, problem: str) -> None:
        # A set, not a scan of the list: 100,000 missing step files stay linear to open.
        if problem in self._problem_set:
            return
        self._problem_set.add(problem)
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("… more problems: only the first ones are listed")

    def _apply(self, m: _Manifest) -> list[int]:
        shape = (m.n_samples or 0, m.n_classes or 0)
        if self.dtype and (shape != (self.n_samples, self.n_classes) or m.dtype != self.dtype):
            self._note(f"{self.path.name}/{MANIFEST}: the run's shape or dtype changed; ignored")
            return []
        self.n_samples, self.n_classes, self.dtype = shape[0], shape[1], m.dtype or ""
        if m.class_names is not None:
            self.class_names = list(m.class_names)
        if not self._sidecars_read and (self.n_samples or m.steps):
            self._sidecars_read = True
            self._read_sidecars(m)
        elif self.labels is not None and self.n_classes:
            self._check_labels_fit()
        new: list[int] = []
        fresh = [(s, f) for s, f in m.steps if self._listed is None or s > self._listed]
        present = None
        if len(fresh) > 64:  # one listing instead of a stat per step: opening stays linear
            try:
                present = set(os.listdir(self.path))
            except OSError:
                present = None
        for step, file in fresh:
            found = _step_offset(self.path, file, shape, self.dtype, present)
            if isinstance(found, str):
                self._note(found)
            else:
                self._files[step] = (self.path / file, found)
                new.append(step)
            self._listed = step
        if new:
            # Only now, with a step file that holds N x C numbers, is the manifest's class count
            # more than a claim: a 116-byte run.json saying 10^7 classes builds no 10^7 names.
            if len(self.class_names) != self.n_classes:
                self.class_names = default_class_names(self.n_classes)
            self.steps = self.steps + new
        return new

    def _read_sidecars(self, m: _Manifest) -> None:
        n = self.n_samples
        labels = self._sidecar(
            m.labels,
            self._load_npy,
            lambda a: a.shape == (n,) and a.dtype.kind in "iu",
            f"{n} integer labels",
        )
        if labels is not None:
            self.labels = labels.astype(np.int64)
            self.labels.flags.writeable = False
            self._check_labels_fit()
        self.images = self._sidecar(
            m.images,
            lambda path: self._load_npy(path, mmap=True),
            lambda a: a.ndim >= 2 and a.shape[0] == n and a.dtype.kind in "biuf",
            f"{n} images",
        )
        self.texts = self._sidecar(
            m.texts,
            lambda path: read_json(
                path,
                f"{self.path.name}/{path.name}",
                max_bytes=MAX_SIDECAR_TEXT_BYTES,
                within=self.path,
                max_depth=2,
            ),
            lambda t: isinstance(t, list) and len(t) == n and all(isinstance(s, str) for s in t),
            f"a list of {n} texts",
        )

    def _sidecar(
        self,
        name: str | None,
        read: Callable[[Path], Any],
        fits: Callable[[Any], bool],
        what: str,
    ) -> Any:
        """The sidecar file ``name`` read, or None (with a problem noted if it is unusable)."""
        if name is None:
            return None
        try:
            value = read(self.path / name)
        except DataError as exc:  # the opener's refusal names the file already
            self._note(str(exc))
            return None
        except (ValueError, OSError, EOFError, MemoryError) as exc:
            self._note(f"{self.path.name}/{name}: could not be read ({short(exc)})")
            return None
        if not fits(value):
            self._note(f"{self.path.name}/{name}: does not hold {what}")
            return None
        return value

    def _load_npy(self, path: Path, mmap: bool = False) -> np.ndarray:
        """A sidecar .npy through the one opener (a regular file inside the run folder)."""
        where = f"{self.path.name}/{path.name}"
        if mmap:
            check_readable_file(path, where, within=self.path)
            array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
            return array
        with open_regular(path, where, within=self.path) as fh:
            array = np.load(fh, allow_pickle=False)
        return array

    def _check_labels_fit(self) -> None:
        try:
            _check_label_range(self.labels, self.n_classes or None)  # type: ignore[arg-type]
        except ValueError as exc:
            self._note(f"{self.path.name}/labels: {exc}")
            self.labels = None


@dataclass(frozen=True, eq=False)
class RunStep:
    """Step ``step`` of ``run``: where a table's logits came from (``Document.source``)."""

    run: Run
    step: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunStep) and other.run is self.run and other.step == self.step

    def __hash__(self) -> int:
        return hash((id(self.run), self.step))


def run_not_started(path: str | Path) -> bool:
    """Whether ``path`` is where a run will be: a missing folder or an empty one (the user opened
    it right after starting the training script, before its writer made the folder or wrote
    its manifest). Such a run is waited for, not refused."""
    folder = Path(path)
    if folder.name == MANIFEST:
        return False
    if not folder.exists():
        return not folder.suffix  # runs/exp1, not a missing logits.npy
    if not folder.is_dir():
        return False
    try:
        return next(folder.iterdir(), None) is None
    except OSError:
        return False


def load_run(path: str | Path) -> Run:
    """Open the run in folder ``path`` (or the folder of the ``run.json`` given).

    Raises ``DataError`` naming the file when the manifest is absent, damaged, from a newer
    version or names files outside the folder, and when it lists steps none of which is
    readable. Otherwise the readable steps open and each unreadable one is in ``problems``.
    A run with no step yet (a live run that just started) opens with ``steps == []``.
    """
    folder = Path(path)
    if folder.name == MANIFEST and folder.is_file():
        folder = folder.parent
    if not folder.exists():
        raise DataError(f"{folder.name or folder}: not found ({folder})")
    if not folder.is_dir():
        raise DataError(f"{folder.name}: not a run folder")
    manifest = _read_manifest(folder)
    run = Run(folder, manifest)
    if manifest.steps and not run.steps:
        shown = "; ".join(run.problems[:3]) + ("; …" if len(run.problems) > 3 else "")
        raise DataError(f"{folder.name}: no step of the run is readable: {shown}")
    return run


# --- writing ----------------------------------------------------------------------------------


class RunWriter:
    """Records a run: ``with RunWriter(path, labels=y) as run: run.add(epoch, logits)``.

    ``labels`` (N,) with ``IGNORE_INDEX`` for ignored samples, ``class_names``, ``images``
    (N, ...) and ``texts`` (N strings) are optional and written once, at construction. ``add``
    takes a numpy array or a torch tensor on any device (detached and copied to the CPU);
    float16/bfloat16 and integers are stored as float32, float64 stays float64, and the first
    step fixes the run's N, C and dtype (later steps are cast to it). NaN and infinities are
    data. Every bad argument raises ``ValueError`` naming the problem before anything is written.

    A folder that exists and is not empty is refused (``FileExistsError``) unless ``resume`` is
    true: then it must hold a run, which is continued after its last step (given labels, class
    names, images and texts must equal the recorded ones; leftovers of a killed writer, i.e.
    temporary files and step files the manifest does not list, are deleted).
    """

    def __init__(
        self,
        path: str | Path,
        labels: Any = None,
        class_names: Sequence[str] | None = None,
        images: Any = None,
        texts: Sequence[str] | None = None,
        *,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self._closed = False
        names = _strings(class_names, "class_names")
        label_array = _check_labels(labels, None if names is None else len(names))
        image_array = None if images is None else _as_array(images, "images")
        if image_array is not None and image_array.ndim < 2:
            raise ValueError(f"images must be (N, ...) with N >= 1, got shape {image_array.shape}")
        text_list = _strings(texts, "texts")
        n = _n_of(labels=label_array, images=image_array, texts=text_list)
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"{self.path}: exists and is not a folder")
        busy = self.path.is_dir() and any(self.path.iterdir())
        if busy and not resume:
            raise FileExistsError(
                f"{self.path}: the folder is not empty; pass resume=True to continue the run in "
                "it, or choose an empty folder"
            )
        if busy:
            self._m = self._resume(label_array, names, image_array, text_list)
            return
        self.path.mkdir(parents=True, exist_ok=True)
        m = _Manifest(n, None if names is None else len(names), None, names)
        if label_array is not None:
            m.labels = self._save("labels.npy", label_array)
        if image_array is not None:
            m.images = self._save("images.npy", np.ascontiguousarray(image_array))
        if text_list is not None:
            m.texts = "texts.json"
            atomic_write(self.path / m.texts, json.dumps(text_list, ensure_ascii=False))
        atomic_write(self.path / MANIFEST, m.to_json())  # last: a manifest names files on disk
        self._m = m
        self._labels = label_array

    @property
    def steps(self) -> list[int]:
        return [s for s, _ in self._m.steps]

    @property
    def n_samples(self) -> int | None:
        return self._m.n_samples

    @property
    def n_classes(self) -> int | None:
        return self._m.n_classes

    def add(self, step: int, logits: Any) -> None:
        """Record the (N, C) ``logits`` of ``step`` (an integer above the last one recorded)."""
        if self._closed:
            raise ValueError(f"{self.path}: the run writer is closed")
        if not (_is_int(step) or isinstance(step, np.integer)):
            raise ValueError(f"step must be an integer, got {step!r}")
        step = int(step)
        if not -MAX_STEP <= step <= MAX_STEP:
            raise ValueError(f"step must be within ±{MAX_STEP:,}, got {big_int(step)}")
        m = self._m
        if m.steps and step <= m.steps[-1][0]:
            raise ValueError(
                f"step {step} does not follow the last recorded step {m.steps[-1][0]}: "
                "steps must strictly increase"
            )
        array = _as_logits(logits)
        n, c = array.shape
        if m.n_samples is not None and n != m.n_samples:
            raise ValueError(f"logits have {n} samples; this run has {m.n_samples}")
        if m.n_classes is not None and c != m.n_classes:
            raise ValueError(f"logits have {c} classes; this run has {m.n_classes}")
        if m.dtype is None and self._labels is not None:
            _check_label_range(self._labels, c)
        dtype = m.dtype or array.dtype.name
        file = step_file_name(step)
        self._save(file, array.astype(dtype, copy=False))
        new = _Manifest(**{**vars(m), "n_samples": n, "n_classes": c, "dtype": dtype})
        new.steps = (*m.steps, (step, file))
        atomic_write(self.path / MANIFEST, new.to_json())
        self._m = new  # only once both files are in place

    def close(self) -> None:
        """Nothing is buffered (every step is on disk when ``add`` returns); refuses more adds."""
        self._closed = True

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _save(self, name: str, array: np.ndarray) -> str:
        atomic_write(self.path / name, lambda fh: np.save(fh, array, allow_pickle=False))
        return name

    def _resume(self, labels: Any, names: Any, images: Any, texts: Any) -> _Manifest:
        """The recorded run's manifest, once what was given is checked against it."""
        m = _read_manifest(self.path)
        run = Run(self.path, m)
        recorded = run.labels if m.labels else None
        if labels is not None and (recorded is None or not np.array_equal(labels, recorded)):
            raise ValueError(f"{self.path}: the labels differ from the recorded run's")
        if names is not None and names != m.class_names:
            raise ValueError(f"{self.path}: the class names differ from the recorded run's")
        if images is not None and (run.images is None or not np.array_equal(images, run.images)):
            raise ValueError(f"{self.path}: the images differ from the recorded run's")
        if texts is not None and texts != run.texts:
            raise ValueError(f"{self.path}: the texts differ from the recorded run's")
        listed = {f for _, f in m.steps}
        for entry in self.path.iterdir():
            name = entry.name
            orphan = _STEP_NAME.fullmatch(name) and name not in listed
            if (orphan or _TEMP_NAME.fullmatch(name)) and entry.is_file():
                entry.unlink()
        self._labels = recorded
        return m
