"""``python -m softmax_lab`` and the ``softmax-lab`` command: start the window."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from softmax_lab.gui.app import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
