"""The reliability monkey at a large size: ``python bench/monkey.py [--steps 100000] [--seed S]``.

Drives two real windows at once (offscreen) through random user actions while a thread feeds a
third window through the viewer API (set_data, selected, screenshot), as a training loop does;
checks every ``--check-every`` steps that each window's table, plots and ``core.evaluate``
agree; at the end that each window's own autosave holds its table and the API window shows the
last table sent; then undoes everything and checks the starting states came back. Prints the
action counts and the outcome; exits 1 on a fault. ``--one-window``: the single-window monkey.
Autosave goes to a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "gui"))  # the monkey is test code, not the app's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check-every", type=int, default=10)
    parser.add_argument("--one-window", action="store_true", help="one window, no API thread")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from monkey import Monkey, Troop

    from softmax_lab.gui import MainWindow

    started = time.perf_counter()

    def progress(step: int) -> None:
        if step % 5000 == 0:
            print(f"{step:,} steps, {time.perf_counter() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        os.environ["SOFTMAX_LAB_STATE_DIR"] = str(Path(folder) / "state")
        if args.one_window:
            window = MainWindow()
            window.show()
            monkey = Monkey(window, args.seed, Path(folder), check_every=args.check_every)
            try:
                report = monkey.run(args.steps, progress)
            except Exception as exc:  # report where it broke, then fail
                print(f"FAULT after {monkey.report.steps:,} steps: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                return 1
            finally:
                window.close()
                app.processEvents()
            reports = [report]
        else:
            troop = Troop(args.seed, Path(folder), check_every=args.check_every)
            try:
                troop_report = troop.run(args.steps, progress)
            except Exception as exc:
                done = sum(m.report.steps for m in troop.monkeys)
                print(f"FAULT after {done:,} steps: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                return 1
            finally:
                troop.close()
            reports = troop_report.monkeys
            print(
                f"{troop_report.seconds:.0f} s; API thread: {troop_report.api_calls:,} calls, "
                f"{troop_report.api_tables:,} tables shown, "
                f"{troop_report.api_undo_steps:,} undo steps; "
                f"{troop_report.autosaves_checked} autosaves held their own window's table"
            )
    for i, report in enumerate(reports):
        print(
            f"window {i + 1}: {report.steps:,} steps, "
            f"{report.rejected:,} inputs refused, undone to the start: {report.undone_to_start}"
        )
        for name, count in report.actions.most_common():
            print(f"  {name:22} {count:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
