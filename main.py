"""Start Softmax Lab from a checkout: ``python main.py [FILE] [--screenshot OUT.png] ...``.

Installed, the same command is ``softmax-lab`` (``softmax_lab.__main__``) or
``python -m softmax_lab``.
"""

from __future__ import annotations

import sys

from softmax_lab.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
