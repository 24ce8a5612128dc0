"""Softmax Lab from a script, IPython or Jupyter: ``view`` opens a live window on logits (and on
what the samples are: images, texts, metadata) and returns a :class:`Viewer` handle; ``run``
blocks until every window is closed. The public face is the ``softmax_lab`` package, which
re-exports these.

As napari does it: ``view`` creates the QApplication if there is none (the app's own start-up,
:func:`gui.bootstrap.application`, so both share one settings file) and never blocks; under
IPython it turns on the Qt event loop (``%gui qt``) so that the window stays live while the
kernel stays usable. Data is checked and copied in the caller's thread
(:func:`core.viewer_data.prepare_view_data`), so bad input raises ``ValueError`` before any
window exists. ``set_data`` and every setter may be called from any thread (a training loop):
the call is queued to the GUI thread (:class:`gui.call_queue.CallQueue`), and the window never
touches Qt off its thread. A flood of calls cannot freeze the window: each kind of call
(``set_data``, ``selected``, ``close``) collapses to its latest while it waits, the queue is
drained for at most ``call_queue.DRAIN_BUDGET_S`` per event-loop turn (the window paints and its
timers run between turns), and a burst of ``set_data`` calls is one undo step until the calls
pause for ``BURST_PAUSE_MS``.
"""

from __future__ import annotations

import atexit
import inspect
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from softmax_lab.core.constants import default_class_names
from softmax_lab.core.evaluation import Evaluation
from softmax_lab.core.inputs import NO_INPUTS
from softmax_lab.core.viewer_data import (
    VIEW_DEFAULTS,
    VIEW_KEYWORDS_DOC,
    ViewData,
    ViewKeywords,
    build_document,
    prepare_view_data,
)
from softmax_lab.gui.bootstrap import application
from softmax_lab.gui.call_queue import CallQueue, on_gui_thread
from softmax_lab.gui.main_window import MainWindow
from softmax_lab.gui.qimages import to_rgba

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Viewer", "ViewerEvents", "run", "view"]

BURST_PAUSE_MS = 1000
"""``set_data`` calls closer together than this are one undo step (a training loop's burst)."""

_viewers: list[Viewer] = []
"""Open viewers: a window must outlive the expression that made it (``softmax_lab.view(x)`` as
a notebook cell's last line keeps no reference)."""
_app_ref: list[QApplication] = []


def _ipython_shell() -> Any:
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:  # an IPython without a shell, or a half-imported one
        return None


def _ipython_has_eventloop() -> bool:
    shell = _ipython_shell()
    return shell is not None and getattr(shell, "active_eventloop", None) == "qt"


def _try_enable_ipython_gui() -> None:
    """Under IPython / Jupyter, run Qt's events between cells (``%gui qt``), as napari does."""
    shell = _ipython_shell()
    if shell is None or getattr(shell, "active_eventloop", None) == "qt":
        return
    os.environ.setdefault("QT_API", "pyside6")
    try:
        shell.enable_gui("qt")
    except Exception as exc:  # no Qt support in this IPython: the window still opens
        print(f"softmax_lab: could not turn on %gui qt ({exc}); run %gui qt", file=sys.stderr)


def _application() -> QApplication:
    first = QApplication.instance() is None
    app = application()
    if first:
        _app_ref.append(app)
        atexit.register(_shut_down)
    _try_enable_ipython_gui()
    return app


def _shut_down() -> None:
    """Close every window before the interpreter tears Qt down (widgets left to garbage
    collection at exit can outlive the QApplication and crash in C++)."""
    if not on_gui_thread():
        return
    for viewer in list(_viewers):
        viewer._close_now()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


class ViewerEvents(QObject):
    """What a user can connect to, as ``viewer.events.<name>.connect(callback)``.

    Callbacks run on the GUI thread (the window's), after the change: reading the viewer in
    them gives the new state.

    Attributes
    ----------
    selected : Signal(int)
        The selected sample changed (a click in the window, a key, or ``viewer.selected = i``);
        the callback gets the sample's index.
    data : Signal()
        The table changed: an edit in the window, :meth:`Viewer.set_data`, undo or redo. Read
        ``viewer.logits``, ``viewer.labels`` or ``viewer.evaluation`` for the new values.
    """

    selected = Signal(int)
    data = Signal()


class Viewer:
    """A live window on logits; made by :func:`view`.

    Reading (``logits``, ``labels``, ``evaluation``, ``selected``) gives the current state, edits
    made in the window included. ``set_data``, ``selected = i``, ``screenshot`` and ``close`` may
    be called from any thread (see the module docstring); ``events`` says when something changed.

    Attributes
    ----------
    events : ViewerEvents
        Signals a user can connect to: ``events.selected`` and ``events.data``.
    """

    def __init__(
        self, data: ViewData | None, *, title: str | None = None, show: bool = True
    ) -> None:
        """``data`` None: an empty window (``view_model`` fills it), opened with ``title`` and
        ``show``; otherwise those come with ``data``."""
        _application()
        if not on_gui_thread():
            raise RuntimeError("softmax_lab.view must be called from the GUI (main) thread")
        self._queue = CallQueue(self._apply)  # calls from other threads, applied on the GUI's
        self._burst: object | None = None  # the merge key of the current set_data burst
        self._pause = QTimer(singleShot=True, interval=BURST_PAUSE_MS)
        self._pause.timeout.connect(self._end_burst)  # the calls paused: the burst ends
        self._applied = self._tables = 0
        document = build_document(data) if data is not None else None
        self._window: MainWindow | None = MainWindow(document)
        self._window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._window.destroyed.connect(self._forget)
        self.events = ViewerEvents()
        controller = self._window.controller
        controller.sigSelectionChanged.connect(self.events.selected)
        controller.sigHistoryChanged.connect(self.events.data)  # once per change of the table
        _viewers.append(self)
        if data is not None:
            title, show = data.title, bool(data.show)
        self._set_title(title)
        if data is not None and data.notices:
            self._window.show_message("; ".join(data.notices))
        if show:
            self._window.show()
            self._window.raise_()

    @property
    def stats(self) -> dict[str, int]:
        """What the GUI thread did: calls applied, tables swapped in, drain turns."""
        return {"applied": self._applied, "data": self._tables, "turns": self._queue.turns}

    def __repr__(self) -> str:
        if self._window is None:
            return "<softmax_lab.Viewer (closed)>"
        n, c = self._window.document.logits.shape
        return f"<softmax_lab.Viewer {n:,} samples × {c:,} classes>"

    # --- reading (the current state, edits included) --------------------------------------------

    @property
    def window(self) -> MainWindow:
        """The escape hatch: the whole ``MainWindow`` behind this viewer.

        Everything the window can do is there (``window.controller`` owns the document and the
        view state; ``window.document`` is the table). It is not part of the stable API, and it
        is Qt: touch it from the GUI thread only. Raises ``RuntimeError`` once the window is
        closed.
        """
        if self._window is None:
            raise RuntimeError("this viewer's window is closed")
        return self._window

    @property
    def logits(self) -> np.ndarray:
        """(N, C) numpy copy of the table's logits, edits included (binary scores as [0, z])."""
        return np.array(self.window.document.logits)

    @property
    def labels(self) -> np.ndarray | None:
        """(N,) int64 copy of the labels (-100 = ignored), or None for a table without labels."""
        document = self.window.document
        return np.array(document.labels) if document.has_labels else None

    @property
    def evaluation(self) -> Evaluation:
        """core's :class:`~core.evaluation.Evaluation` of the current table and options."""
        return self.window.controller.evaluation

    @property
    def selected(self) -> int:
        """The selected sample (settable, from any thread)."""
        return self.window.controller.selected

    @selected.setter
    def selected(self, sample: int) -> None:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)):
            raise ValueError(f"selected must be a sample index, not {sample!r}")
        n = self.window.document.n_samples
        if not 0 <= int(sample) < n:
            raise ValueError(f"sample {int(sample)} is not in 0..{n - 1}")
        self._queue.submit("select", int(sample))

    # --- changing it (from any thread) ----------------------------------------------------------

    def set_data(
        self,
        logits: ArrayLike,
        labels: ArrayLike | None = None,
        **keywords: Unpack[ViewKeywords],
    ) -> None:
        """Replace the data (from any thread); calls closer together than BURST_PAUSE_MS are
        one undo step.

        Parameters
        ----------
        logits : array_like
            (N, C) logits, as for :func:`view`.
        labels : array_like, optional
            (N,) class numbers or names; None: a table without labels.
        **keywords
            :func:`view`'s keywords. One left out keeps the window's value where the shape
            allows: class names (same C), images / texts / metadata and the compared model
            (same N), temperature, model names, title; ``show`` left out leaves the window as
            it is.

        Raises
        ------
        ValueError
            Bad input, named, before anything changes.
        """
        window = self.window
        shape = tuple(window.document.logits.shape)
        data = prepare_view_data(
            logits, labels, current_shape=(int(shape[0]), int(shape[1])), **keywords
        )
        self._queue.submit("data", (data, keywords.get("compare") is not None))

    def screenshot(
        self, path: str | os.PathLike[str] | None = None, size: tuple[int, int] | None = None
    ) -> np.ndarray:
        """The window as pixels, rendered even when it is not shown (from any thread).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also save the picture there as PNG.
        size : (int, int), optional
            (width, height) to resize the window to first (never below its minimum, about
            960 × 630 at scale 1).

        Returns
        -------
        numpy.ndarray
            (H, W, 4) uint8 RGBA.

        Raises
        ------
        ValueError
            A size that is not (width, height) of at least 200 × 150 pixels.
        OSError
            ``path`` could not be written.
        """
        if size is not None:
            try:
                width, height = (int(v) for v in size)
            except (TypeError, ValueError):
                raise ValueError(f"size must be (width, height), not {size!r}") from None
            if width < 200 or height < 150 or width > 10_000 or height > 10_000:
                raise ValueError(f"size must be at least 200 × 150 pixels, got {size!r}")
            size = (width, height)
        return self._queue.call(lambda: self._grab(path, size))

    def close(self) -> None:
        """Close the window (from any thread)."""
        if self._window is not None:
            self._queue.submit("close", None)

    # --- the GUI thread -------------------------------------------------------------------------

    def _end_burst(self) -> None:
        self._burst = None

    def _apply(self, kind: str, payload: Any) -> None:
        if self._window is None:
            if kind == "call":  # the window closed: whoever waits hears so at once
                payload[1].set_exception(RuntimeError("this viewer's window is closed"))
            return
        self._applied += 1
        if kind == "data":
            self._tables += 1
            self._apply_data(*payload)
        elif kind == "select":
            if payload < self._window.document.n_samples:
                self._window.controller.select(payload)
        elif kind == "close":
            self._close_now()
        elif kind == "call":
            fn, future = payload
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def _apply_data(self, data: ViewData, b: bool) -> None:
        window = self.window
        c, doc = window.controller, window.document
        n, k = data.shape
        same_rows = doc.n_samples == n
        kept = c.view.snapshot(("selected", "sort", "filter")) if same_rows else None
        names = data.class_names
        if names is None and doc.n_classes == k:
            names = list(doc.class_names)
        inputs = data.inputs
        if inputs is None:
            inputs = doc.inputs if same_rows else NO_INPUTS
        logits_b, model_names = data.logits_b, data.model_names or doc.model_names
        if not b and doc.logits_b is not None and doc.logits_b.shape == (n, k):
            logits_b = doc.logits_b  # the compared model stays while the shape does
        settings = data.settings(doc.settings)
        if doc.n_classes == k and doc.settings.weight is not None:
            settings = replace(settings, weight=doc.settings.weight)  # same classes, same weights
        if self._burst is None:
            self._burst = object()
        self._pause.start()  # the burst ends when the calls pause
        replaced = c.replace_document(
            data.logits,
            data.labels,
            names or default_class_names(k),
            text="Data from Python",
            source=data.title or "Data from Python",
            settings=settings,
            inputs=inputs,
            has_labels=data.has_labels,
            binary=data.binary,
            logits_b=logits_b,
            model_names=model_names,
            merge_key=self._burst,
        )
        if replaced and kept is not None:  # a training loop's next step: stay where one was
            c.view.update(selected=min(kept["selected"], n - 1))
            c.set_filter(kept["filter"])
            c.set_sort(kept["sort"])
        self._set_title(data.title)
        if data.show is True:
            window.show()
        elif data.show is False:
            window.hide()

    def _set_title(self, title: str | None) -> None:
        if title is not None and self._window is not None:
            self._window.setWindowTitle(f"{title}[*] — Softmax Lab")

    def _grab(self, path: Any, size: tuple[int, int] | None) -> np.ndarray:
        window = self.window
        if size is not None:
            window.resize(*size)
        if not window.isVisible():
            # Never shown: lay it out as if it were, without putting it on screen.
            window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            window.show()
            QCoreApplication.processEvents()
            image = window.grab().toImage()
            window.hide()
            window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, False)
        else:
            QCoreApplication.processEvents()
            image = window.grab().toImage()
        array = to_rgba(image)
        if path is not None and not image.save(str(Path(path))):
            raise OSError(f"could not write the screenshot to {path}")
        return array

    def _close_now(self) -> None:
        window = self._window
        if window is None:
            return
        window.close()

    def _forget(self, *_args: object) -> None:
        self._window = None
        if self in _viewers:
            _viewers.remove(self)


def view(
    logits: ArrayLike, labels: ArrayLike | None = None, **keywords: Unpack[ViewKeywords]
) -> Viewer:
    """Open a live window on ``logits`` and return its :class:`Viewer` at once (never blocks).

    Parameters
    ----------
    logits : array_like
        (N, C) logits: numpy, a torch tensor on any device, or lists. (N,) or (N, 1) binary
        scores open as the two classes [0, z].
    labels : array_like, optional
        (N,) class numbers or class names; None (the default): a table without labels.
    {keywords}

    Returns
    -------
    Viewer
        The live handle: read ``logits`` / ``labels`` / ``evaluation``, set ``selected``, call
        ``set_data``, connect to ``events``; ``window`` is the escape hatch to the whole window.

    Raises
    ------
    ValueError
        Bad input (shapes that do not match, labels out of range, non-numeric logits, images of
        the wrong count or type, ...), named, before any window opens.
    TypeError
        A keyword that is not one of the above.
    """
    return Viewer(prepare_view_data(logits, labels, **keywords))


def _show_keywords(function: Callable[..., Any], defaults: Mapping[str, Any]) -> None:
    """Spell the keywords (one list: :class:`ViewKeywords`) out in ``function``'s signature, as
    ``help()``, IPython's ``?`` and Jupyter's completion read it, and in its docstring."""
    signature = inspect.signature(function)
    head = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    keywords = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=defaults.get(name),
            annotation=getattr(hint, "__forward_arg__", hint),  # as written, not a ForwardRef
        )
        for name, hint in ViewKeywords.__annotations__.items()
    ]
    shown = signature.replace(parameters=[*head, *keywords])
    function.__signature__ = shown  # type: ignore[attr-defined]
    if function.__doc__:
        function.__doc__ = function.__doc__.replace(
            "    {keywords}", textwrap.indent(VIEW_KEYWORDS_DOC, " " * 4)
        )


_show_keywords(view, VIEW_DEFAULTS)
_show_keywords(Viewer.set_data, {})  # left out, or None: the window keeps its value


def view_model(
    path_or_model: Any,
    tokenizer: Any = None,
    *,
    text: str | None = None,
    device: str | None = None,
    title: str | None = None,
    show: bool = True,
) -> Viewer:
    """Open a window on a live model: a folder saved by ``save_pretrained`` (config.json +
    *.safetensors), or a ``transformers`` model already in memory with its ``tokenizer`` (or
    image processor). ``text`` is typed into its Model panel (a prompt, or one input per line);
    ``device`` moves it (cpu, cuda, mps). Loading and every run happen off the GUI thread;
    returns the :class:`Viewer` at once. Raises ``TypeError`` / ``ValueError`` for bad arguments.
    """
    from softmax_lab.core.devices import resolve_device
    from softmax_lab.core.models import Model

    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if device is not None:
        resolve_device(device)  # a malformed name raises ValueError before any window opens
    model = None
    if not isinstance(path_or_model, (str, os.PathLike)):
        model = Model.from_objects(path_or_model, tokenizer)
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be text, not {type(title).__name__}")
    viewer = Viewer(None, title=title, show=bool(show))
    window = viewer.window
    if device is not None:
        window.controller.document.set_settings(device=device)
        window.controller.document.mark_clean()
    if model is None:
        window.model_ui.open(os.fspath(path_or_model), text)
    else:
        if device is not None:
            model.to(device, window.controller.document.settings.dtype)
        if text is not None:
            window.model_ui.panel.set_text(text)
            window.controller.model.set_text(text)
        window.controller.model.set_model(model)
    return viewer


def run() -> None:
    """Block until every window is closed: a script's last line, as ``napari.run()``.

    Returns at once under IPython with ``%gui qt`` (its event loop already runs) or when no
    window is open.
    """
    app = QApplication.instance()
    if app is None or _ipython_has_eventloop():
        return
    if not any(v._window is not None and v._window.isVisible() for v in _viewers):
        return
    app.exec()
