"""The controller's side of what samples are about, and of tables without labels.

:class:`InputsSession` is owned by the :class:`gui.controller.Controller` (as
``controller.inputs_session``) and, like it, knows no widget. It turns the document's inputs
into what views draw — thumbnails made on demand for the rows a view asks for and cached (a
table of 50,000 images converts only what is on screen), full-size images, one-line texts,
metadata as text, thumbnail-grid items — and it answers the filter box (``column == value`` or
a text search, parsed by :mod:`core.filtering`), the no-labels Dataset view
(:func:`core.metrics.summarize_predictions`), the Formula tab's sigmoid identity for binary
logits (:mod:`core.binary`) and File › Open labels… (:func:`core.loaders.load_labels`, read in
the controller's "labels" job and attached as one undo step).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QImage

from softmax_lab.core import formatting as fmt
from softmax_lab.core.binary import BinaryIdentity, binary_identity
from softmax_lab.core.filtering import filter_choices, filter_text, parse_filter
from softmax_lab.core.loaders import DataError, load_labels
from softmax_lab.core.metrics import PredictionSummary, summarize_predictions
from softmax_lab.core.thumbnails import rgba, snippet, thumbnail
from softmax_lab.gui.qimages import to_qimage

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

THUMBNAIL_CACHE = 4096
"""Thumbnails kept (LRU): a few screens of table rows and grids; 96 × 96 RGBA is 36 KB each."""
GRID_LIMIT = 120
"""Samples a thumbnail grid shows (worst first); the table lists the rest."""
SNIPPET_CHARS = 140


@dataclass(frozen=True)
class GridItem:
    """One tile of a thumbnail grid: its sample, picture or text, and a caption."""

    sample: int
    image: QImage | None
    text: str
    caption: str
    tooltip: str = ""


class InputsSession:
    """See the module docstring. Every method runs on the GUI thread (reading a file is a job's)."""

    def __init__(self, controller: Controller) -> None:
        self._c = controller
        self._thumbs: OrderedDict[int, QImage] = OrderedDict()
        self._images: np.ndarray | None = None  # the array the cache was made from
        self._choices: tuple[object, list[str]] = (None, [])

    # --- what the document has ------------------------------------------------------------------

    @property
    def _inputs(self):
        return self._c.document.inputs

    @property
    def has_images(self) -> bool:
        return self._inputs.images is not None

    @property
    def has_texts(self) -> bool:
        return self._inputs.texts is not None

    @property
    def has_inputs(self) -> bool:
        """Something to show beside the logits (an image, a text or metadata)."""
        return not self._inputs.is_empty

    @property
    def has_labels(self) -> bool:
        return bool(self._c.document.has_labels)

    @property
    def binary(self) -> bool:
        """The table holds one binary score per sample as [0, z] (and still two classes)."""
        doc = self._c.document
        return bool(doc.binary) and doc.n_classes == 2

    # --- pictures and texts ---------------------------------------------------------------------

    def thumbnail(self, sample: int) -> QImage | None:
        """``sample``'s image at most THUMBNAIL_PIXELS a side, made when first asked for."""
        images = self._inputs.images
        if images is not self._images:
            self._thumbs.clear()
            self._images = images
        if images is None or not 0 <= sample < images.shape[0]:
            return None
        cached = self._thumbs.get(sample)
        if cached is not None:
            self._thumbs.move_to_end(sample)
            return cached
        image = to_qimage(thumbnail(images[sample]))
        self._thumbs[sample] = image
        if len(self._thumbs) > THUMBNAIL_CACHE:
            self._thumbs.popitem(last=False)
        return image

    def image(self, sample: int) -> QImage | None:
        """``sample``'s image at full size (the selected sample's view)."""
        images = self._inputs.images
        if images is None or not 0 <= sample < images.shape[0]:
            return None
        return to_qimage(rgba(images[sample]))

    def text(self, sample: int) -> str | None:
        texts = self._inputs.texts
        if texts is None or not 0 <= sample < len(texts):
            return None
        return str(texts[sample])

    def metadata(self, sample: int) -> list[tuple[str, str]]:
        """(name, value as text) of every metadata column for ``sample``."""
        out = []
        for name, values in self._inputs.metadata.items():
            if 0 <= sample < len(values):
                value = values[sample]
                if values.dtype.kind == "f":
                    text = fmt.short(float(value), 6)
                elif values.dtype.kind == "b":
                    text = "true" if bool(value) else "false"
                else:
                    text = str(value)
                out.append((str(name), text))
        return out

    def caption(self, sample: int) -> str:
        """ "Sample 435 · label 7 · pred 1" for the selected sample's input view."""
        doc, ev = self._c.document, self._c.evaluation
        names = doc.class_names
        parts = [f"Sample {sample}"]
        if not doc.has_labels:
            parts.append("no label")
        elif ev.valid[sample] and ev.target_kind == "index":
            parts.append(f"label {names[int(ev.targets[sample])]}")
        elif not ev.valid[sample]:
            parts.append("ignored")
        if ev.has_prediction[sample]:
            parts.append(f"pred {names[int(ev.predictions[sample])]}")
        return " · ".join(parts)

    def grid_items(self, samples: np.ndarray, captions: list[str] | None = None) -> list[GridItem]:
        """Tiles for ``samples`` (at most GRID_LIMIT), in the order given."""
        items = []
        for k, sample in enumerate(np.asarray(samples, dtype=np.int64)[:GRID_LIMIT].tolist()):
            text = self.text(sample)
            caption = captions[k] if captions is not None else self._short_caption(sample)
            items.append(
                GridItem(
                    sample,
                    self.thumbnail(sample),
                    "" if text is None else snippet(text, SNIPPET_CHARS),
                    caption,
                    f"{self.caption(sample)}\n{snippet(text, 600)}" if text else "",
                )
            )
        return items

    def _short_caption(self, sample: int) -> str:
        doc, ev = self._c.document, self._c.evaluation
        names = doc.class_names
        pred = names[int(ev.predictions[sample])]
        if doc.has_labels and ev.valid[sample] and ev.target_kind == "index":
            return f"#{sample} {names[int(ev.targets[sample])]}→{pred}"
        return f"#{sample} →{pred}"

    def drill_down(self) -> tuple[str, np.ndarray]:
        """The confusion cell the table shows (title, its samples in table order: worst first),
        or ("", nothing) when the table is not filtered to a confusion cell."""
        c = self._c
        filt = c.view.filter
        if filt.kind != "confusion":
            return "", np.zeros(0, dtype=np.int64)
        order = c.order
        samples = np.arange(c.document.n_samples) if order is None else order
        sort = c.view.sort
        how = "table order" if sort is None else sort.describe(c.class_names)
        title = f"{filt.describe(c.class_names)} · {len(samples):,} samples · {how}"
        return title, samples

    # --- the filter box -------------------------------------------------------------------------

    def filter_columns(self) -> dict[str, np.ndarray]:
        """The table's extra columns a filter can test (every kind but pictures)."""
        return {col.key: col.values for col in self._c.table_columns() if col.kind != "image"}

    def filter_choices(self) -> list[str]:
        """``column == value`` choices of the columns with few values (remade when columns do)."""
        columns = self._c.table_columns()
        if self._choices[0] is not columns:
            self._choices = (columns, filter_choices(self.filter_columns()))
        return self._choices[1]

    def filter_text(self) -> str:
        return filter_text(self._c.view.filter)

    def apply_filter_text(self, text: str) -> bool:
        """Filter the table by what the box says; a bad filter changes nothing and says why."""
        try:
            filt = parse_filter(text, self.filter_columns())
        except ValueError as exc:
            self._c.sigMessage.emit(f"Not filtered: {exc}")
            return False
        self._c.set_filter(filt)
        if filt.kind in ("column", "search"):
            shown = self._c.row_count()
            self._c.sigMessage.emit(
                f"Table: {filt.describe(self._c.class_names)} "
                f"({fmt.plural(shown, 'sample')} of {self._c.document.n_samples:,})"
            )
        return True

    # --- no labels, binary scores ---------------------------------------------------------------

    def prediction_summary(self) -> PredictionSummary:
        """Confidence, entropy, predicted counts and the most uncertain samples, cached until
        the document changes."""
        return self._c.cached("predictions", lambda: summarize_predictions(self._c.evaluation))

    def binary_identity(self) -> BinaryIdentity | None:
        """The selected sample's σ identity when the table holds binary scores, else None."""
        if not self.binary:
            return None
        row = self._c.selected
        return binary_identity(self._c.evaluation, self._c.document.logits[row], row)

    def attach_labels_file(self, path: str | Path) -> None:
        """Read labels for every sample from ``path`` (class numbers or names) in the "labels"
        job, then attach them as one undo step; a bad file, or a table that changed while the
        file was read, changes nothing and says why."""
        doc = self._c.document
        name = Path(path).name
        asked = (doc.n_samples, tuple(doc.class_names))
        self._c.jobs.start(
            "labels",
            load_labels,
            str(path),
            doc.n_samples,
            list(doc.class_names),
            done=partial(self._attach_labels, name, asked),
            failed=partial(self._labels_failed, name),
        )
        self._c.sigMessage.emit(f"Reading labels from {name}…")

    def _attach_labels(self, name: str, asked: tuple, labels: np.ndarray) -> None:
        doc = self._c.document
        if asked != (doc.n_samples, tuple(doc.class_names)):
            self._c.sigMessage.emit(
                f"Labels not attached: the table changed while {name} was read; open it again"
            )
            return
        try:
            doc.attach_labels(labels, text=f"Attach labels from {name}")
        except (DataError, ValueError) as exc:
            self._labels_failed(name, exc)
            return
        ev = self._c.evaluation
        self._c.sigMessage.emit(
            f"Attached {fmt.plural(ev.n_valid, 'label')} from {name}: "
            f"accuracy {fmt.percent(ev.accuracy)}"
            if ev.n_valid
            else f"Attached the labels of {name}: every sample is ignored"
        )

    def _labels_failed(self, name: str, exc: BaseException) -> None:
        if isinstance(exc, (DataError, ValueError)):
            self._c.sigMessage.emit(f"Labels not attached: {exc}")
        else:  # a bug reaches the user as a message, not a dead thread
            self._c.sigMessage.emit(
                f"Labels not attached: {name} could not be read ({type(exc).__name__}: {exc})"
            )
