"""The reliability monkey at a large size: ``python bench/monkey.py [--steps 100000] [--seed S]``.

Drives the real window (offscreen) through random user actions, checking every ``--check-every``
steps that the table, the plots and ``core.evaluate`` agree, then undoes everything and checks
the starting state came back. Prints the action counts and the outcome; exits 1 on a fault.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "gui"))  # the monkey is test code, not the app's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check-every", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from monkey import Monkey

    from softmax_lab.gui import MainWindow

    window = MainWindow()
    window.show()
    started = time.perf_counter()

    def progress(step: int) -> None:
        if step % 5000 == 0:
            print(f"{step:,} steps, {time.perf_counter() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        monkey = Monkey(window, args.seed, Path(folder), check_every=args.check_every)
        try:
            report = monkey.run(args.steps, progress)
        except Exception as exc:  # report where it broke, then fail
            print(f"FAULT after {monkey.report.steps:,} steps: {type(exc).__name__}: {exc}")
            return 1
        finally:
            window.close()
            app.processEvents()
    print(
        f"{report.steps:,} steps in {report.seconds:.0f} s, {report.rejected:,} inputs refused, "
        f"undone to the start: {report.undone_to_start}"
    )
    for name, count in report.actions.most_common():
        print(f"  {name:22} {count:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
