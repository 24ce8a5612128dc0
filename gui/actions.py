"""The window's menus and keyboard shortcuts. Each action sends an intent to the controller (or
to the window's files); checkable actions render the view state they stand for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from superqt.utils import signals_blocked

from softmax_lab.core.display import PlotId
from softmax_lab.core.view_state import ALL, SORT_CHOICES, Filter, Sort
from softmax_lab.gui.bind import bind
from softmax_lab.gui.help import AboutBox, ShortcutsSheet, versions
from softmax_lab.gui.plots import PLOT_NAMES

if TYPE_CHECKING:
    from softmax_lab.core.document import Document
    from softmax_lab.gui.main_window import MainWindow


class Actions(QObject):
    """Builds the menu bar of ``window``; see each menu below."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._w = window
        self._c = window.controller
        self._files = window.files
        bar = window.menuBar()
        self._file_menu(bar.addMenu("&File"))
        self._edit_menu(bar.addMenu("&Edit"))
        self._table_menu(bar.addMenu("&Table"))
        self._view_menu(bar.addMenu("&View"))
        self._run_menu(bar.addMenu("&Run"))
        self._presets_menu(bar.addMenu("&Presets"))
        self._help_menu(bar.addMenu("&Help"))
        app = QApplication.instance()
        if isinstance(app, QApplication):  # a clicker's PgDn steps a lesson whatever has focus
            app.focusChanged.connect(self._watch_focus)

    def _watch_focus(self, old: QWidget | None, new: QWidget | None) -> None:
        """Only the focus widget is watched (Qt asks it first whether it claims a key)."""
        if old is not None:
            old.removeEventFilter(self)
        if new is not None and new.window() is self._w:
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While a lesson is open, PgDn/PgUp (what a presenter's clicker sends) step it whatever
        widget of this window has the focus: no widget may claim them (the table pages its rows
        with them, a slider moves, a text panel scrolls). Other keys stay theirs."""
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)  # type: ignore[attr-defined]
            and event.modifiers() == Qt.KeyboardModifier.NoModifier  # type: ignore[attr-defined]
            and self._c.lessons.active
            and isinstance(watched, QWidget)
            and watched.window() is self._w
        ):
            event.ignore()
            return True  # not claimed: the window's Next/Previous example shortcut runs
        return False

    def _action(self, menu: QMenu, text: str, slot=None, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self._w)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _toggle(
        self, menu: QMenu, text: str, field: str, shortcut, tip: str = "", on=True, off=False
    ) -> QAction:
        """A checkable action bound to a view-state field: checked while it is ``on``."""
        c = self._c
        action = self._action(menu, text, None, shortcut, tip)
        action.setCheckable(True)
        bind(
            action,
            c.view,
            field,
            write=lambda value: c.update_view(**{field: value}),
            to_widget=lambda value: value == on,
            from_widget=lambda checked: on if checked else off,
        )
        return action

    def _check_while(
        self, action: QAction, field: str, value: Any, choose, *, uncheck: bool = True
    ) -> None:
        """Bind one of a group's checkable actions to a view-state field: checked while the
        field is ``value`` (else unchecked, or left to the group), and ``choose(value)`` when
        triggered."""
        bind(
            action,
            self._c.view,
            field,
            write=lambda _on: choose(value),
            to_widget=lambda current: current == value or (False if uncheck else None),
        )

    def _file_menu(self, menu: QMenu) -> None:
        f, w = self._files, self._w
        self._action(
            menu,
            "&Open logits…",
            f.open_dialog,
            QKeySequence.StandardKey.Open,
            tip=(
                "Open .npy, .npz, .pt or .csv logits, or LLM API logprobs (.json / .jsonl; "
                "drag and drop works too)"
            ),
        )
        self._action(
            menu,
            "Open r&un…",
            f.open_run_dialog,
            "Ctrl+Alt+O",
            tip="A training run recorded with RunWriter (its folder): steps, data map, live",
        )
        self._action(
            menu,
            "Open &model…",
            w.model_ui.open_dialog,
            "Ctrl+Alt+M",
            tip="A model folder (config.json + *.safetensors): type and watch its logits",
        )
        w.preferences.recent_menu = menu.addMenu("Open &recent")
        w.preferences.rebuild_recent_menu()
        menu.addSeparator()
        self._compare_file_actions(menu)
        menu.addSeparator()
        self._action(
            menu,
            "&Save workspace",
            f.save_workspace_action,
            QKeySequence.StandardKey.Save,
            tip="Everything — data, options, view — in a .softmaxlab.json file",
        )
        self._action(menu, "Save workspace as…", f.save_workspace_dialog)
        self._action(
            menu,
            "Save logits &as…",
            f.save_logits_dialog,
            QKeySequence.StandardKey.SaveAs,
            tip="Logits and labels to .npz or .csv",
        )
        self._action(
            menu,
            "&Export results table…",
            f.export_results_dialog,
            tip="Per-sample loss, prediction, confidence… as CSV",
        )
        self._action(menu, "Save &screenshot…", f.save_screenshot_dialog, tip="The window as a PNG")
        export = menu.addMenu("Export &plot")
        for plot, name in zip(w.plots(), PLOT_NAMES, strict=True):
            self._action(
                export, f"{name}…", lambda _=False, p=plot, n=name: f.export_plot_dialog(p, n)
            )
        menu.addSeparator()
        # Not StandardKey.Quit: platforms without a desktop theme bind it to nothing.
        self._action(menu, "&Quit", w.close, "Ctrl+Q")

    def _edit_menu(self, menu: QMenu) -> None:
        c, table = self._c, self._w.table
        self.undo_action = self._action(menu, "&Undo", c.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(menu, "&Redo", c.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        menu.addSeparator()
        self._action(menu, "&Copy", table.copy_selection, QKeySequence.StandardKey.Copy)
        self._action(
            menu,
            "&Paste",
            lambda: table.paste(QGuiApplication.clipboard().text()),
            QKeySequence.StandardKey.Paste,
        )
        self._action(
            menu,
            "Copy as PyTorch &code",
            self.copy_pytorch_code,
            "Ctrl+Shift+C",
            tip="A runnable script that rebuilds this table and prints the same loss",
        )
        self._action(
            menu,
            "Copy table as &Markdown",
            lambda: self._files.copy_text(c.results_text("markdown"), "Markdown table"),
        )
        self._action(
            menu,
            "Copy table as &LaTeX",
            lambda: self._files.copy_text(c.results_text("latex"), "LaTeX table"),
        )
        menu.addSeparator()
        self._action(
            menu,
            "Add sample",
            c.add_sample,
            "Ctrl+Return",
            tip="Add a sample below the selected one",
        )
        self._action(menu, "Duplicate sample", c.duplicate_sample, "Ctrl+D")
        self._action(
            menu,
            "Remove sample",
            lambda: c.remove_samples(table.selected_samples()),
            "Ctrl+Backspace",
        )
        menu.addSeparator()
        self._action(
            menu, "Add class", lambda: c.add_class(table.current_class()), "Ctrl+Shift+Return"
        )
        self._action(
            menu,
            "Duplicate class",
            lambda: c.duplicate_class(table.current_class()),
            "Ctrl+Shift+D",
        )
        self._action(
            menu,
            "Remove class",
            lambda: c.remove_class(table.current_class()),
            "Ctrl+Shift+Backspace",
        )
        self._action(
            menu, "Rename class…", lambda: table.rename_dialog(table.current_class()), "F2"
        )
        menu.addSeparator()
        self._action(menu, "Randomize logits", lambda: c.randomize(), "Ctrl+R")
        self._action(menu, "Reset to the notebook example", lambda: c.apply_preset(0))
        for action in menu.actions():
            # The table has its own copy/paste key handling; avoid ambiguous shortcuts.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _table_menu(self, menu: QMenu) -> None:
        """Sort and Show, as in the boxes above the table (they render the same state)."""
        c = self._c
        self.sort_actions: list[tuple[QAction, Sort | None]] = []
        sort_menu = menu.addMenu("&Sort by")
        group = QActionGroup(self._w)
        for text, sort in SORT_CHOICES:
            action = QAction(text, self._w, checkable=True)
            group.addAction(action)
            sort_menu.addAction(action)
            self.sort_actions.append((action, sort))
        self.compare_sorts = self._choices(sort_menu, group, c.compare.sorts_offered())
        self.sort_actions += self.compare_sorts
        self.filter_actions: list[tuple[QAction, Filter]] = []
        show_menu = menu.addMenu("S&how")
        group = QActionGroup(self._w)
        for filt in (ALL, Filter("wrong"), Filter("non-finite")):
            action = QAction(filt.describe([]), self._w, checkable=True)
            group.addAction(action)
            show_menu.addAction(action)
            self.filter_actions.append((action, filt))
        offered = [(filt.label, filt) for filt in c.compare.filters_offered()]
        self.compare_filters = self._choices(show_menu, group, offered)
        self.filter_actions += self.compare_filters
        c.sigCompareChanged.connect(self._render_compare)
        self._render_compare(c.comparing)
        # Each action is checked while the view state's sort or filter is its own.
        for field, actions, choose in (
            ("sort", self.sort_actions, c.set_sort),
            ("filter", self.filter_actions, c.set_filter),
        ):
            for action, value in actions:
                self._check_while(action, field, value, choose)

    def _compare_file_actions(self, menu: QMenu) -> None:
        """Comparing a second model: File › Compare with…, with itself temperature-scaled, stop."""
        session = self._c.compare
        self._action(
            menu,
            "Co&mpare with…",
            self._files.compare_dialog,
            "Ctrl+Shift+O",
            tip="A second model's logits for the same samples, side by side with these",
        )
        self._action(
            menu,
            "Compare with &temperature-scaled",
            session.compare_temperature,
            tip="The model at T = 1 against itself at the fitted temperature",
        )
        self.stop_compare_action = self._action(menu, "Stop comparing", session.stop)

    def _choices(self, menu: QMenu, group: QActionGroup, choices) -> list:
        """Checkable actions for compare mode's sorts or filters (shown while comparing)."""
        menu.addSeparator()
        out = []
        for text, value in choices:
            action = QAction(text, self._w, checkable=True)
            group.addAction(action)
            menu.addAction(action)
            out.append((action, value))
        return out

    def _render_compare(self, active: bool) -> None:
        self.stop_compare_action.setEnabled(active)
        for action, _ in (*self.compare_sorts, *self.compare_filters):
            action.setVisible(active)

    def _view_menu(self, menu: QMenu) -> None:
        c = self._c
        self.probabilities_action = self._toggle(
            menu, "Show &probabilities in the table", "show_probabilities", "Ctrl+P"
        )
        menu.addSeparator()
        self.presentation_action = self._toggle(
            menu,
            "&Presentation mode",
            "presentation",
            "F11",
            tip="Full screen, larger type, side panel hidden; PgUp/PgDn step presets",
        )
        self.side_panel_action = self._toggle(menu, "Show side &panel", "side_panel", "Ctrl+H")
        self.dark_action = self._toggle(
            menu, "&Dark theme", "theme", "Ctrl+Shift+T", on="dark", off="light"
        )
        self._action(menu, "&Bigger", lambda: c.step_scale(1), QKeySequence.StandardKey.ZoomIn)
        self._action(menu, "&Smaller", lambda: c.step_scale(-1), QKeySequence.StandardKey.ZoomOut)
        self._action(menu, "Actual size", lambda: c.set_scale(1.0), "Ctrl+0")
        self._action(
            menu,
            "Fit &axes",
            self._w.fit_axes,
            "Ctrl+Shift+F",
            tip="Fit every plot's axes to its data (they hold still while stepping and on stage)",
        )
        menu.addSeparator()
        self.play_action = self._action(
            menu,
            "&Play temperature",
            lambda on: c.temperature.set_playing(bool(on)),
            "Ctrl+Space",
            tip="Sweep T from 0.1 to 10 and back, live",
        )
        self.play_action.setCheckable(True)
        c.sigAnimating.connect(lambda _on: self._render_play())
        focus = menu.addMenu("&Focus one plot")
        for plot in PlotId:
            self._action(
                focus,
                plot.title,
                lambda _=False, plot=plot: c.update_view(plot_focus=plot),
                f"Alt+{plot + 1}",
            )
        self._action(focus, "All plots", lambda: c.update_view(plot_focus=None), "Alt+0")

    def _run_menu(self, menu: QMenu) -> None:
        """A recorded run's steps (see gui.runs_session), shown while a run is open; without
        one the menu offers to open one."""
        runs = self._c.runs
        self.open_run_action = self._action(
            menu,
            "No run open: &Open a run…",
            self._files.open_run_dialog,
            tip="A training run recorded with RunWriter (its folder); also File › Open run…",
        )
        self.run_actions = [
            self._action(menu, "&Previous step", lambda: runs.step_by(-1), "Alt+Left"),
            self._action(menu, "&Next step", lambda: runs.step_by(1), "Alt+Right"),
            self._action(menu, "&First step", lambda: runs.go_to_index(0), "Alt+Home"),
            self._action(
                menu, "&Latest step", lambda: runs.go_to_index(len(runs.steps) - 1), "Alt+End"
            ),
        ]
        self.play_steps_action = self._action(
            menu,
            "P&lay steps",
            lambda on: runs.set_playing(bool(on)),
            "Ctrl+Shift+Space",
            tip="Move through the run's steps, every view following",
        )
        self.follow_action = self._action(
            menu,
            "F&ollow latest",
            lambda on: runs.set_follow(bool(on)),
            tip="Move to each new step of a run being written as it arrives",
        )
        for action in (self.play_steps_action, self.follow_action):
            action.setCheckable(True)
            self.run_actions.append(action)

        def render() -> None:
            for action in self.run_actions:
                action.setVisible(runs.run is not None)
            self.open_run_action.setVisible(runs.run is None)
            for action, on in (
                (self.play_steps_action, runs.playing),
                (self.follow_action, runs.follow),
            ):
                with signals_blocked(action):
                    action.setChecked(on)

        for signal in (runs.sigRunChanged, runs.sigPlayingChanged, runs.sigFollowChanged):
            signal.connect(lambda *_: render())
        render()

    def _presets_menu(self, menu: QMenu) -> None:
        c = self._c
        group = QActionGroup(self._w)
        self.preset_actions: list[QAction] = []
        for i, (name, description) in enumerate(c.presets()):
            action = QAction(name, self._w, checkable=True)
            action.setStatusTip(description)
            group.addAction(action)
            menu.addAction(action)
            self.preset_actions.append(action)
            # Checked while it is the view state's preset (the group unchecks the rest).
            self._check_while(action, "preset_index", i, c.apply_preset, uncheck=False)
        menu.addSeparator()
        self._action(
            menu,
            "Next example",
            lambda: c.step_example(1),
            "PgDown",
            tip="The next lesson step while a lesson is open, else the next preset",
        )
        self._action(menu, "Previous example", lambda: c.step_example(-1), "PgUp")
        menu.addSeparator()
        lessons = menu.addMenu("&Lesson")
        for path in c.lessons.builtin():
            self._action(lessons, f"Teach: {path.stem}", lambda _=False, p=path: c.lessons.open(p))
        self._action(lessons, "Open lesson file…", self._open_lesson_dialog)
        self._action(lessons, "Close lesson", c.lessons.close)

    def _help_menu(self, menu: QMenu) -> None:
        self._help_windows: dict[str, QWidget] = {}
        self._action(
            menu,
            "&Keyboard shortcuts",
            self.show_shortcuts,
            "F1",
            tip="Every shortcut of the window, searchable",
        )
        self._action(menu, "&About Softmax Lab", self.show_about, tip="Versions and the device")

    def show_shortcuts(self) -> ShortcutsSheet:
        sheet = self._help_windows.get("shortcuts")
        if not isinstance(sheet, ShortcutsSheet):
            sheet = self._help_windows["shortcuts"] = ShortcutsSheet(self._w)
        sheet.reload()
        sheet.show()
        sheet.raise_()
        sheet.search.setFocus()
        return sheet

    def show_about(self) -> AboutBox:
        s = self._c.document.settings
        box = AboutBox(versions(s.device, s.dtype, self._c.devices()), self._w)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        return box

    def _open_lesson_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self._w, "Open lesson", "", "Lessons (*.json)")
        if path:
            self._c.lessons.open(path)

    # --- state -> actions -----------------------------------------------------------------------

    def _render_play(self) -> None:
        with signals_blocked(self.play_action):
            self.play_action.setChecked(self._c.temperature.playing)

    def render_history(self, doc: Document) -> None:
        self.undo_action.setEnabled(doc.can_undo)
        self.undo_action.setText(f"&Undo {doc.undo_text}".rstrip())
        self.redo_action.setEnabled(doc.can_redo)
        self.redo_action.setText(f"&Redo {doc.redo_text}".rstrip())

    def copy_pytorch_code(self) -> str:
        try:
            code = self._c.pytorch_code()
        except ValueError as exc:
            self._c.sigMessage.emit(str(exc))
            return ""
        self._files.copy_text(code, "PyTorch code")
        return code
