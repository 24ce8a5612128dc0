"""Files: opening logits, runs and workspaces, saving workspaces, autosave and every export.

:class:`Files` talks to the controller only (and shows its dialogs over the window it is given);
reading and evaluating a file runs off the GUI thread through the controller's jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from softmax_lab.core.constants import default_class_names
from softmax_lab.core.document import Settings
from softmax_lab.core.exports import results_columns
from softmax_lab.core.loaders import DataError, load_vocabulary, save_logits, save_results_csv
from softmax_lab.core.opening import PreparedFile, prepare_file
from softmax_lab.core.runs import MANIFEST, run_not_started
from softmax_lab.core.tokens import token_names
from softmax_lab.core.view_state import view_from_json
from softmax_lab.core.workspace import (
    SUFFIX,
    Workspace,
    load_workspace,
    looks_like_workspace,
    save_workspace,
)
from softmax_lab.gui.autosave import AutosaveSession, Orphan, is_autosave
from softmax_lab.gui.controller import Controller
from softmax_lab.gui.plotkit import export_widget

AUTOSAVE_DELAY_MS = 500
AUTOSAVE_MAX_CELLS = 50_000_000
"""Larger tables (200 MB of float32 and up) are not autosaved: see ``Files.write_autosave``."""
OPEN_FILTER = (
    "Logits or workspace (*.npy *.npz *.pt *.pth *.csv *.tsv *.txt *.parquet *.json *.jsonl)"
    ";;All files (*)"
)


def state_dir(create: bool = True) -> Path:
    """Where autosave lives: $SOFTMAX_LAB_STATE_DIR, else the platform's app-data folder."""
    folder = os.environ.get("SOFTMAX_LAB_STATE_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.AppDataLocation
    )
    path = Path(folder or Path.home() / ".softmax-lab")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def is_autosave_path(path: str | Path) -> bool:
    return is_autosave(state_dir(create=False), path)


def is_run(path: str | Path) -> bool:
    """A recorded run: a folder (a run folder or not: opening says which), its run.json, or a
    missing path without an extension (a run whose writer has not started: it is waited for)."""
    path = Path(path)
    return path.is_dir() or path.name == MANIFEST or run_not_started(path)


def read_file(path: str, settings: Settings, as_probabilities: bool) -> PreparedFile | Workspace:
    """What Open, a drop and the recent files read, in a job's thread (never on the GUI
    thread: even telling a workspace from logits reads the file): a workspace for a .json that
    is one, else the prepared logits file."""
    if path.endswith(".json") and looks_like_workspace(path):
        return load_workspace(path)
    return prepare_file(path, settings, as_probabilities)


Done = Callable[[bool], None]
"""Told whether an opening ended with the file in the window (False: refused, cancelled or
replaced by a newer opening)."""


class Files(QObject):
    """File handling for one window. ``autosave`` and the close question are on in the app and
    off by default, so that tests and embedding code get no files written and no dialogs.
    Each window with autosave has its own session file (gui.autosave), locked while it lives."""

    sigFileLoaded = Signal(str)
    sigLoadFailed = Signal(str)
    sigTitleChanged = Signal(str)  # the file or workspace the window shows
    sigOpened = Signal(str)  # a file, run or workspace the user opened (for the recent files)

    def __init__(self, controller: Controller, window: QWidget, *, autosave: bool = False) -> None:
        super().__init__(window)
        self._c = controller
        self._window = window
        self._autosave = autosave
        self.session = AutosaveSession(state_dir()) if autosave else None
        self.workspace_path: Path | None = None
        self.file_name = ""
        self.file_path = ""  # the open logits file (its folder is where file dialogs start)
        """The logits file the window shows (its name is model A's when comparing)."""
        self._progress: QProgressDialog | None = None
        self._ask_probabilities = True
        self._autosave_skipped: object = None  # the table whose autosave was last skipped
        self._then: Done | None = None  # told how the workspace being opened ends
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.write_autosave)
        controller.sigHistoryChanged.connect(self._on_history_changed)
        controller.compare.sigCompared.connect(lambda _path: self._close_progress())
        controller.compare.sigCompareFailed.connect(self._compare_failed)
        controller.compare.ask_probabilities = self._ask_b_probabilities
        controller.runs.sigOpened.connect(self._on_run_opened)
        controller.runs.sigOpenFailed.connect(self._failed)
        controller.runs.sigWaiting.connect(self._on_run_waiting)
        controller.runs.sigWaitingEnded.connect(self._close_progress)

    def folder(self) -> str:
        """Where a file dialog for this table starts: the open file's (or workspace's) folder,
        else "" (Qt's choice)."""
        for path in (self.file_path, self.workspace_path):
            if path and Path(path).parent.is_dir():
                return str(Path(path).parent)
        return ""

    def _message(self, text: str) -> None:
        self._c.sigMessage.emit(text)

    # --- opening --------------------------------------------------------------------------------

    def load_file(self, path: str | Path, as_probabilities: bool | None = None) -> None:
        """Open a logits file without blocking the window; emits sigFileLoaded or sigLoadFailed.

        A file whose rows are already probabilities asks whether to take their log (unless
        ``as_probabilities`` says). A failed load shows why and leaves the table as it was.
        """
        path = str(path)
        if is_run(path):
            self.open_run(path)
            return
        self._ask_probabilities = as_probabilities is None
        self._start_load(
            path,
            read_file,
            path,
            self._c.document.settings,
            bool(as_probabilities),
        )

    def _start_load(self, path: str, work: Callable[..., object], *args: object) -> None:
        """Read ``path`` in the one "load" job (a newer opening or Cancel drops it): the window
        stays responsive and the progress dialog offers Cancel; a refusal keeps the table."""
        self._settle(False)  # an opening still under way is replaced by this one
        for kind in ("labels", "tokenizer"):  # read for the table this one replaces
            self._c.jobs.cancel(kind)
        self._c.jobs.start(
            "load",
            work,
            *args,
            done=partial(self._on_read, path),
            failed=partial(self._on_load_failed, path),
        )
        self._message(f"Opening {path}…")
        self._show_progress(Path(path).name)

    def _on_read(self, path: str, result: PreparedFile | Workspace) -> None:
        if isinstance(result, Workspace):
            self._apply_workspace(path, result)
        else:
            self._on_loaded(result)

    def _show_progress(self, name: str) -> None:
        if self._progress is None:
            self._progress = QProgressDialog("", "Cancel", 0, 0, self._window)
            self._progress.setWindowTitle("Softmax Lab")
            self._progress.setMinimumDuration(400)
            self._progress.setWindowModality(Qt.WindowModality.WindowModal)
            self._progress.canceled.connect(self.cancel_load)
        self._progress.setLabelText(f"Opening {name}…")
        self._progress.reset()
        self._progress.setRange(0, 0)
        self._progress.setValue(0)

    def cancel_load(self) -> None:
        self._c.jobs.cancel("load")
        self._settle(False)
        self._c.compare.cancel()
        self._c.runs.stop_waiting()
        self._close_progress()
        self._message("Opening cancelled; nothing changed")

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.reset()
            self._progress.hide()

    def _on_loaded(self, prepared: PreparedFile) -> None:
        self._close_progress()
        data = prepared.data
        name = Path(prepared.path).name
        if data.looks_like_probabilities and self._ask_probabilities:
            answer = QMessageBox.question(
                self._window,
                "Probabilities, not logits?",
                f"Every row of {name} is in [0, 1] and sums to 1: these look like "
                "probabilities. Take their log and use that as logits? (softmax(log p) = p)",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.load_file(prepared.path, as_probabilities=True)
                return
        names = data.class_names or default_class_names(data.logits.shape[1])
        if not self._c.replace_document(
            prepared.logits,
            prepared.labels,
            names,
            settings=prepared.settings,
            evaluation=prepared.evaluation,
            text=f"Open {name}",
            source=name,
            inputs=prepared.inputs,
            **prepared.document_options,
        ):
            self._failed(f"{name}: could not be used")
            return
        self.sigOpened.emit(str(prepared.path))
        self.workspace_path = None
        self.file_name = name
        self.file_path = str(prepared.path)
        self._c.document.mark_clean()  # just opened: nothing of the user's to lose yet
        self._c.sigHistoryChanged.emit()
        self.sigTitleChanged.emit(name)
        n, c = data.logits.shape
        notes = "; ".join(prepared.notices)
        self._message(f"Opened {name}: {n:,} × {c:,}" + (f" — {notes}" if notes else ""))
        self.sigFileLoaded.emit(prepared.path)

    def _on_load_failed(self, path: str, exc: BaseException) -> None:
        self._settle(False)
        if isinstance(exc, DataError):
            self._failed(str(exc))
        else:  # a bug must reach the user as a message, not a dead thread
            self._failed(f"{path}: could not open ({type(exc).__name__}: {exc})")

    def _failed(self, message: str) -> None:
        self._close_progress()
        self._message(f"Not opened: {message}")
        self.sigLoadFailed.emit(message)
        if self._window.isVisible() and QGuiApplication.platformName() != "offscreen":
            QMessageBox.warning(self._window, "Could not open the file", message)

    # --- comparing ------------------------------------------------------------------------------

    def compare_file(self, path: str | Path) -> None:
        """Open ``path`` as model B, off the GUI thread (``controller.compare``); a file that
        does not match the table says why and changes nothing."""
        name_a = Path(self.file_name).stem if self.file_name else "A"
        self._c.compare.open_file(path, name_a)
        self._show_progress(Path(path).name)

    def _ask_b_probabilities(self, name: str) -> bool:
        """Whether model B's binary scores, all in [0, 1], are probabilities (as for model A)."""
        self._close_progress()
        answer = QMessageBox.question(
            self._window,
            "Probabilities, not logits?",
            f"Every score of {name} is in [0, 1]: these may be probabilities p(class 1) "
            "rather than logits z. Read them as probabilities (loss = −log p)? No keeps them as "
            "logits (p = σ(z)).",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._show_progress(name)
            return True
        return False

    def _compare_failed(self, message: str) -> None:
        self._close_progress()
        if self._window.isVisible() and QGuiApplication.platformName() != "offscreen":
            QMessageBox.warning(self._window, "Could not compare", message)

    def compare_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._window, "Compare with a second model's logits", "", OPEN_FILTER
        )
        if path:
            self.compare_file(path)

    def open_run(self, path: str | Path) -> None:
        """Open a recorded run (a folder with a run.json) off the GUI thread, at its latest step;
        emits sigFileLoaded or sigLoadFailed as a file does."""
        self._c.runs.open(path)
        self._message(f"Opening run {path}…")
        self._show_progress(Path(path).name)

    def _on_run_opened(self, path: str) -> None:
        self._close_progress()
        self.sigOpened.emit(path)
        self._c.document.mark_clean()  # the table is the run's: nothing to save yet
        self._c.sigHistoryChanged.emit()
        self.workspace_path = None
        self.sigTitleChanged.emit(Path(path).name)
        self.sigFileLoaded.emit(path)

    def _on_run_waiting(self, path: str, message: str) -> None:
        # Not an error: the run opens by itself at its first step. Not loaded yet, either. The
        # dialog's Cancel stops waiting.
        self._show_progress(Path(path).name)
        assert self._progress is not None
        self._progress.setLabelText(f"{message}…")
        self._progress.show()
        self.sigLoadFailed.emit(message)

    def open_run_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self._window, "Open a recorded run (its folder)")
        if path:
            self.open_run(path)

    def choose_tokenizer_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._window,
            "Choose a tokenizer",
            "",
            "Tokenizer (tokenizer.json vocab.json vocab.txt *.json *.txt);;All files (*)",
        )
        if path:
            self.attach_tokenizer(path)

    def attach_tokenizer(self, path: str | Path) -> None:
        """Name the classes after a tokenizer's tokens (one undo step), the file read in the
        "tokenizer" job; a file that is not a tokenizer, or whose vocabulary size is not the
        logits' V (or a table that changed meanwhile), changes nothing and says why."""
        doc = self._c.document
        name = Path(path).name
        asked = doc.n_classes
        self._c.jobs.start(
            "tokenizer",
            partial(load_vocabulary, size=doc.n_classes),
            str(path),
            done=partial(self._attach_vocabulary, name, asked),
            failed=partial(self._tokenizer_failed, name),
        )
        self._message(f"Reading the tokenizer {name}…")

    def _attach_vocabulary(self, name: str, asked: int, vocabulary: list[str]) -> None:
        doc = self._c.document
        if asked != doc.n_classes:
            self._message(f"Tokenizer not used: the table changed while {name} was read")
            return
        self._c.set_class_names(token_names(vocabulary, doc.n_classes), text=f"Tokenizer {name}")

    def _tokenizer_failed(self, name: str, exc: BaseException) -> None:
        if isinstance(exc, DataError):
            self._message(f"Tokenizer not used: {exc}")
        else:  # a bug reaches the user as a message, not a dead thread
            self._message(f"Tokenizer not used: {name} ({type(exc).__name__}: {exc})")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Open logits", "", OPEN_FILTER)
        if path:
            self.load_file(path)

    # --- workspaces and autosave ----------------------------------------------------------------

    def _workspace(self) -> Workspace:
        return Workspace.from_document(self._c.document, self._c.view.to_json())

    def save_workspace(self, path: str | Path) -> None:
        """Write the whole state (data, options, view) to a .softmaxlab.json file, atomically."""
        save_workspace(path, self._workspace())
        self.workspace_path = Path(path)
        self._c.document.mark_clean()
        self._c.sigHistoryChanged.emit()
        self.sigTitleChanged.emit(Path(path).name)

    def open_workspace(self, path: str | Path, then: Done | None = None) -> None:
        """Restore a workspace exactly, read off the GUI thread (Cancel-able like any opening);
        emits sigFileLoaded or sigLoadFailed, and ``then(opened)`` follows. A bad file shows why
        and changes nothing."""
        self._start_load(str(path), load_workspace, str(path))
        self._then = then

    def _settle(self, opened: bool) -> None:
        then, self._then = self._then, None
        if then is not None:
            then(opened)

    def _apply_workspace(self, path: str, ws: Workspace) -> None:
        """The workspace read by a job goes into the window (on the GUI thread)."""
        self._close_progress()
        name = Path(path).name
        if not self._c.replace_document(
            ws.logits,
            ws.labels,
            ws.class_names,
            settings=ws.settings,
            soft_targets=ws.soft_targets,
            text=f"Open {name}",
            inputs=ws.inputs,
            has_labels=ws.has_labels,
            logits_b=ws.logits_b,
            model_names=ws.model_names,
            binary=ws.binary,
        ):
            self._settle(False)
            self._failed(f"{name}: could not be used")
            return
        view = view_from_json(ws.view)
        view["selected"] = min(int(view.get("selected", 0)), self._c.document.n_samples - 1)
        self._c.update_view(**view)
        self.workspace_path = Path(path)
        if not is_autosave_path(path):
            self.sigOpened.emit(str(path))
            self._c.document.mark_clean()
            self._c.sigHistoryChanged.emit()
        self.sigTitleChanged.emit(name)
        self._message(f"Opened workspace {name}")
        self._settle(True)
        self.sigFileLoaded.emit(str(path))

    def _on_history_changed(self) -> None:
        if self._autosave:
            self._autosave_timer.start()

    def write_autosave(self) -> None:
        """Save the current state for crash recovery (atomic; at most ~0.5 s behind).

        Not for tables above AUTOSAVE_MAX_CELLS: writing a language model's 1 GB of logits on
        the GUI thread after every change (each step of the temperature slider) would freeze the
        window for seconds. The status bar says so once per table. A document with nothing
        unsaved (just opened or saved) keeps no file: a crash then offers nothing."""
        session = self.session
        if session is None:
            return
        doc = self._c.document
        if not doc.is_modified:  # saved, just opened, or undone to either: nothing to lose
            session.remove()
            return
        if doc.n_samples * doc.n_classes > AUTOSAVE_MAX_CELLS:
            session.remove()  # an older, smaller state would mislead
            if self._autosave_skipped is not doc.logits:
                self._autosave_skipped = doc.logits
                self._message(
                    f"Autosave is off for tables over {AUTOSAVE_MAX_CELLS:,} cells: save a "
                    "workspace (Ctrl+S) to keep your work"
                )
            return
        try:
            session.write(self._workspace())
        except (OSError, DataError) as exc:
            self._message(f"Autosave failed: {exc}")

    def recover(self, orphan: Orphan, then: Done | None = None) -> None:
        """Open the work a window that did not close left behind (off the GUI thread); once
        this window's own autosave holds it, the orphan's file goes. Refused or cancelled, the
        orphan stays for the next start. ``then(restored)`` follows."""

        def opened(ok: bool) -> None:
            restored = False
            if ok:
                self._autosave_timer.stop()
                self.write_autosave()
                restored = self.session is not None and self.session.path.exists()
            if restored:
                orphan.discard()
            else:
                orphan.keep()
            if then is not None:
                then(ok)

        self.open_workspace(orphan.path, opened)

    def save_workspace_action(self) -> None:
        if self.workspace_path is not None and not is_autosave_path(self.workspace_path):
            self.apply_edit(self.save_workspace, str(self.workspace_path))
        else:
            self.save_workspace_dialog()

    def save_workspace_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._window,
            "Save workspace",
            f"softmax-lab{SUFFIX}",
            f"Softmax Lab workspace (*{SUFFIX})",
        )
        if path:
            if not path.endswith(".json"):
                path += SUFFIX
            self.apply_edit(self.save_workspace, path)

    def confirm_close(self, ask: bool) -> bool:
        """Whether the window may close: with unsaved changes (and ``ask``), ask to save first.
        A clean close removes this window's autosave (never another window's), so the next start
        offers nothing of it to restore."""
        if ask and self._c.document.is_modified:
            answer = QMessageBox.question(
                self._window,
                "Unsaved changes",
                "Save your work as a workspace before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Save:
                self.save_workspace_action()
                if self._c.document.is_modified:
                    return False
        if self._autosave:
            self._autosave_timer.stop()
            if self.session is not None:
                self.session.release()
        return True

    # --- exports --------------------------------------------------------------------------------

    def apply_edit(self, action, path: str) -> None:
        try:
            action(path)
        except (DataError, OSError) as exc:
            self._message(f"Not saved: {exc}")
            return
        self._message(f"Saved {path}")

    def save_logits(self, path: str | Path) -> None:
        """Logits and labels to .npz or .csv (raises DataError with a message on failure)."""
        doc = self._c.document
        save_logits(path, doc.logits, doc.labels, doc.class_names)

    def export_results(self, path: str | Path) -> None:
        """The per-sample results table as CSV."""
        save_results_csv(path, results_columns(self._c.evaluation, self._c.class_names))

    def save_logits_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save logits", "logits.npz", "NumPy archive (*.npz);;CSV (*.csv)"
        )
        if path:
            self.apply_edit(self.save_logits, path)

    def export_results_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Export results", "results.csv", "CSV (*.csv)"
        )
        if path:
            self.apply_edit(self.export_results, path)

    def export_plot(self, widget, title: str, path: str | Path, scale: float = 1.0) -> None:
        export_widget(widget, path, scale, title)

    def export_plot_dialog(self, widget, title: str) -> None:
        name = title.lower().replace(" ", "-")
        path, _ = QFileDialog.getSaveFileName(
            self._window,
            f"Export {title}",
            f"{name}.png",
            "PNG image, 2x (*.png);;SVG vector (*.svg)",
        )
        if path:
            self.apply_edit(lambda p: self.export_plot(widget, title, p, scale=2.0), path)

    def save_screenshot(self, path: str | Path, scale: float = 1.0) -> bool:
        """The whole window as PNG; ``scale`` > 1 renders at a higher pixel density."""
        window = self._window
        if scale == 1.0:
            return window.grab().save(str(path))
        pixmap = QPixmap(window.size() * scale)
        pixmap.setDevicePixelRatio(scale)
        window.render(pixmap)
        return pixmap.save(str(path))

    def save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save screenshot", "softmax-lab.png", "PNG image (*.png)"
        )
        if path:
            ok = self.save_screenshot(path)
            self._message(f"Saved {path}" if ok else f"Could not save {path}")

    def copy_text(self, text: str, what: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self._message(f"Copied the {what} to the clipboard")
