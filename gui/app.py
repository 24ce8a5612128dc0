"""Command line and application start-up for Softmax Lab."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


def build_parser() -> argparse.ArgumentParser:
    from softmax_lab.core.view_state import VIEW_TABS

    parser = argparse.ArgumentParser(
        prog="softmax-lab",
        description="See and touch softmax, cross-entropy and logits.",
    )
    parser.add_argument(
        "file",
        nargs="?",
        help="a logits file to open (.npy .npz .pt .csv .parquet) or a run folder",
    )
    parser.add_argument(
        "--compare",
        metavar="FILE_B",
        help="compare FILE with a second model's logits for the same samples (FILE_B's labels, "
        "if it has any, must be FILE's)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="render the main window off screen, save it and exit",
    )
    parser.add_argument(
        "--size",
        metavar="WxH",
        help="window size, e.g. 1280x800 or 1024x640 (default: where you left it, or 90%% of "
        "the screen, centred; 1280x800 with --screenshot)",
    )
    parser.add_argument("--device", help="compute device: cpu, cuda, cuda:1, mps")
    parser.add_argument(
        "--dtype", choices=["float16", "bfloat16", "float32", "float64"], help="compute dtype"
    )
    parser.add_argument("--theme", choices=["light", "dark"], default="light")
    parser.add_argument("--preset", metavar="NAME", help="start on a preset (see the menu)")
    parser.add_argument(
        "--presentation",
        action="store_true",
        help="start full screen with large type (F11 toggles)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        metavar="S",
        help="font, line and marker scale, 1 to 3 (presentation size)",
    )
    parser.add_argument(
        "--lesson",
        metavar="NAME|FILE",
        help="start teaching a lesson: a built-in one by name (e.g. notebook) or a lesson file",
    )
    parser.add_argument("--step", type=int, default=1, metavar="N", help="the lesson step")
    parser.add_argument(
        "--tab",
        choices=VIEW_TABS,
        help="start on this tab; training and sequence are there once FILE is a run or "
        "language-model logits",
    )
    parser.add_argument(
        "--model",
        metavar="FOLDER",
        help="open a model saved by save_pretrained (config.json + *.safetensors) and run it live",
    )
    parser.add_argument("--prompt", metavar="TEXT", help="with --model: the text it reads first")
    parser.add_argument(
        "--no-restore",
        action="store_true",
        help="do not offer to restore unsaved work after a crash",
    )
    return parser


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size must look like 1280x800, not {text!r}") from None
    return w, h


def offer_recovery(window) -> int:
    """Windows that did not close normally (their process is gone) left work behind: offer each
    one, oldest first, until one is restored; No discards that one. Work of windows still open
    (in this process or another) is never listed. Returns how many were offered."""
    from PySide6.QtWidgets import QMessageBox

    from softmax_lab.gui.autosave import orphaned_sessions
    from softmax_lab.gui.files import state_dir

    orphans = orphaned_sessions(state_dir())
    offered = 0
    for i, orphan in enumerate(orphans):
        if window.files.session is not None and window.files.session.path.exists():
            orphan.keep()  # this window already holds restored work: offered at the next start
            continue
        offered += 1
        of = f" ({i + 1} of {len(orphans)})" if len(orphans) > 1 else ""
        answer = QMessageBox.question(
            window,
            "Restore unsaved work?",
            f"A Softmax Lab window did not close normally{of}. Restore the work it autosaved "
            f"at {orphan.when}? (No deletes it.)",
        )
        if answer == QMessageBox.StandardButton.Yes:
            _recover_and_wait(window, orphan)
        else:
            orphan.discard()
    return offered


def _recover_and_wait(window, orphan) -> bool:
    """Restore ``orphan`` (read off the GUI thread, the window painting and its Cancel working
    meanwhile) and wait until it is in, refused or cancelled: the next orphan is offered only
    then."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: list[bool] = []

    def ended(restored: bool) -> None:
        outcome.append(restored)
        loop.quit()

    window.files.recover(orphan, ended)
    if not outcome:
        loop.exec()
    return outcome == [True]


def _open_lesson_and_wait(controller, path, step: int) -> bool:
    """Open a lesson (read in a job) and wait until it is in or refused."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: list[bool] = []

    def ended(opened: bool) -> None:
        outcome.append(opened)
        loop.quit()

    controller.lessons.open(path, step, ended)
    if not outcome:
        loop.exec()
    return outcome == [True]


def _outcome() -> tuple[
    list[bool], Callable[[object], None], Callable[[str], None], Callable[[], None]
]:
    """A success / failure pair of slots and a wait that blocks until one of them was called
    (returning at once if one already was); the outcome list records which."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: list[bool] = []

    def succeeded(_what: object) -> None:
        outcome.append(True)
        loop.quit()

    def failed(message: str) -> None:
        outcome.append(False)
        print(message, file=sys.stderr)
        loop.quit()

    def wait() -> None:
        if not outcome:
            loop.exec()

    return outcome, succeeded, failed, wait


def _open_and_wait(window, path: str, wait: bool) -> bool:
    """Start opening ``path``; with ``wait`` (a screenshot), block until it is in or failed."""
    if not wait:
        window.load_file(path)
        return True
    outcome, succeeded, failed, wait_for_outcome = _outcome()
    window.sigFileLoaded.connect(succeeded)
    window.sigLoadFailed.connect(failed)
    window.load_file(path, as_probabilities=False)
    wait_for_outcome()
    return outcome == [True]


def _compare_and_wait(window, path: str) -> bool:
    """Open ``path`` as model B and block until it is attached or refused."""
    session = window.controller.compare
    outcome, succeeded, failed, wait_for_outcome = _outcome()
    session.sigCompared.connect(succeeded)
    session.sigCompareFailed.connect(failed)
    window.files.compare_file(path)
    wait_for_outcome()
    return outcome == [True]


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.compare and not args.file:
        parser.error("--compare needs FILE, the first model's logits")
    size = _size(args.size) if args.size else (1280, 800) if args.screenshot else None
    if args.screenshot:
        # A screenshot needs no screen: render with the offscreen platform unless told otherwise.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from softmax_lab.gui.bootstrap import application

    app = application(sys.argv[:1])

    from softmax_lab.core.presets import PRESETS
    from softmax_lab.gui.main_window import MainWindow

    interactive = not args.screenshot
    window = MainWindow(autosave=interactive, confirm_close=interactive)
    window.preferences.remember = interactive  # a screenshot writes nothing but its PNG
    controller = window.controller
    if interactive:
        window.preferences.restore_preferences()
        if not args.no_restore and not args.file:
            offer_recovery(window)
    if "--theme" in argv or args.scale:
        controller.update_view(theme=args.theme, scale=args.scale or controller.view.scale)
    if args.preset:
        names = [p.name.lower() for p in PRESETS]
        if args.preset.lower() not in names:
            print(f"unknown preset {args.preset!r}; presets: {', '.join(names)}", file=sys.stderr)
            _shut_down(app, window)
            return 2
        controller.apply_preset(names.index(args.preset.lower()))
        controller.document.mark_clean()
    changes = {k: v for k, v in (("device", args.device), ("dtype", args.dtype)) if v}
    if changes:
        try:
            controller.document.set_settings(**changes)
        except ValueError as exc:
            print(f"softmax-lab: {exc}", file=sys.stderr)
            _shut_down(app, window)
            return 2
        controller.document.mark_clean()
    if args.lesson:
        from softmax_lab.core.lessons import builtin_lessons

        named = {p.stem: p for p in builtin_lessons()}
        path = named.get(args.lesson, args.lesson)
        said: list[str] = []  # the lesson checker's reason, as the status bar gets it

        def note(message: str) -> None:
            said.append(message)

        controller.sigMessage.connect(note)
        opened = _open_lesson_and_wait(controller, path, args.step - 1)
        controller.sigMessage.disconnect(note)
        if not opened:
            reason = said[-1].removeprefix("Not opened: ") if said else "not a lesson"
            print(
                f"softmax-lab: could not open the lesson {args.lesson!r}: {reason}", file=sys.stderr
            )
            _shut_down(app, window)
            return 2
        controller.document.mark_clean()
    if args.tab and args.file:
        from PySide6.QtCore import QTimer

        # Chosen once the file is in and the window has picked its own tab (a run: Training).
        window.sigFileLoaded.connect(
            lambda _path: QTimer.singleShot(0, lambda: controller.update_view(view_tab=args.tab))
        )
    elif args.tab:
        controller.update_view(view_tab=args.tab)
    if size is None:
        window.preferences.place_window()  # the user's last place, or most of this screen
    else:
        window.resize(*size)
    window.stage.keep_size = bool(args.screenshot)
    window.stage.fit_to_window()
    if args.presentation:
        controller.update_view(presentation=True)
    window.show()
    wait = bool(args.screenshot or args.compare)  # B is compared with the file once it is in
    opened = not args.file or _open_and_wait(window, args.file, wait=wait)
    if opened and args.model:
        opened = _open_model(window, args.model, args.prompt, wait=bool(args.screenshot))
    if not opened or (args.compare and not _compare_and_wait(window, args.compare)):
        _shut_down(app, window)  # every way out destroys the window first (see _shut_down)
        return 1
    if args.screenshot:
        app.processEvents()
        if controller.view.view_tab == "dataset":
            controller.refresh_summary()  # now, not after the pause an interactive edit gets
            app.processEvents()
        ok = window.files.save_screenshot(args.screenshot)
        print(
            f"saved {args.screenshot}" if ok else f"could not write {args.screenshot}",
            file=sys.stdout if ok else sys.stderr,
        )
        rc = 0 if ok else 1
    else:
        rc = app.exec()
    _shut_down(app, window)
    return rc


def _open_model(window, path: str, prompt: str | None, *, wait: bool) -> bool:
    """Open a model (and type ``prompt``); with ``wait`` (a screenshot), block until its first
    table is in or it failed, and say why it failed."""
    from PySide6.QtCore import QEventLoop

    session = window.controller.model
    outcome: list[str] = []
    loop = QEventLoop()

    def finish(message: str = "") -> None:
        outcome.append(message)
        loop.quit()

    if wait:
        session.sigFailed.connect(finish)
        session.sigRan.connect(finish)
        if not prompt:
            session.sigModelChanged.connect(lambda _name, _kind: finish())
    window.model_ui.open(path, prompt)
    if not wait:
        return True
    if not outcome:
        loop.exec()
    if outcome[0]:
        print(f"softmax-lab: {outcome[0]}", file=sys.stderr)
        return False
    return True


def _shut_down(app, window) -> None:
    """Destroy the window before the interpreter tears Qt down.

    Left to garbage collection at exit, widgets can outlive the QApplication and crash in C++.
    """
    from PySide6.QtCore import QCoreApplication, QEvent

    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
