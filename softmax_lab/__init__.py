"""Softmax Lab from Python: your logits, and what they are about, in a live window.

.. code-block:: python

    import softmax_lab

    viewer = softmax_lab.view(logits, labels, images=images, class_names=names)
    viewer.selected = 435           # from any thread, e.g. a training loop
    viewer.set_data(new_logits, labels)
    softmax_lab.run()               # a script's last line; not needed under IPython %gui qt

Installed, this is the distribution's one top-level name: the computation is
``softmax_lab.core``, the window ``softmax_lab.gui``, the shipped files ``softmax_lab.resources``.
In a checkout those live in the repository's top-level ``core/``, ``gui/`` and ``resources/``
folders, which this package's search path then includes (so the same imports work in both).

Every public name is imported when first used: ``from softmax_lab import RunWriter`` in a training
script imports neither Qt nor torch; ``view``, ``run`` and ``Viewer`` bring the window.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"


def _checkout_root() -> Path | None:
    """The repository folder when this package runs from a checkout (not an installed wheel)."""
    here = Path(__file__).resolve().parent
    if (here / "core").is_dir():
        return None
    root = here.parent
    if (root / "core" / "__init__.py").is_file() and (root / "gui" / "__init__.py").is_file():
        return root
    return None


_ROOT = _checkout_root()
if _ROOT is not None:
    # softmax_lab.core -> <checkout>/core, softmax_lab.gui -> <checkout>/gui, ... (the wheel maps
    # the same folders with setuptools' package-dir).
    __path__.append(str(_ROOT))

if TYPE_CHECKING:
    from softmax_lab.core import RunWriter, evaluate, load_labels, load_logits
    from softmax_lab.core.models import load_model
    from softmax_lab.gui.viewer import Viewer, run, view, view_model

_WHERE = {
    "RunWriter": "softmax_lab.core.runs",
    "evaluate": "softmax_lab.core.evaluating",
    "load_labels": "softmax_lab.core.loaders",
    "load_logits": "softmax_lab.core.loaders",
    "load_model": "softmax_lab.core.models",
    "Viewer": "softmax_lab.gui.viewer",
    "run": "softmax_lab.gui.viewer",
    "view": "softmax_lab.gui.viewer",
    "view_model": "softmax_lab.gui.viewer",
}

__all__ = [
    "RunWriter",
    "Viewer",
    "__version__",
    "evaluate",
    "load_labels",
    "load_logits",
    "load_model",
    "run",
    "view",
    "view_model",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'softmax_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
