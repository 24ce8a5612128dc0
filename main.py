"""Start Softmax Lab: ``python main.py [FILE] [--screenshot OUT.png] ...``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from gui.app import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
