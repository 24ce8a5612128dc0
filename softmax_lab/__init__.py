"""Softmax Lab from Python: your logits, and what they are about, in a live window.

.. code-block:: python

    import softmax_lab

    viewer = softmax_lab.view(logits, labels, images=images, class_names=names)
    viewer.selected = 435           # from any thread, e.g. a training loop
    viewer.set_data(new_logits, labels)
    softmax_lab.run()               # a script's last line; not needed under IPython %gui qt

The public face only: ``view``, ``run`` and ``Viewer`` are ``gui.viewer``'s (imported when first
used, so that ``from softmax_lab import RunWriter`` in a training script needs no Qt);
``evaluate``, ``load_logits``, ``load_labels`` and ``RunWriter`` are ``core``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import RunWriter, evaluate, load_labels, load_logits

if TYPE_CHECKING:
    from gui.viewer import Viewer, run, view

__all__ = ["RunWriter", "Viewer", "evaluate", "load_labels", "load_logits", "run", "view"]

_FROM_GUI = ("Viewer", "run", "view")


def __getattr__(name: str) -> Any:
    if name in _FROM_GUI:
        from gui import viewer

        return getattr(viewer, name)
    raise AttributeError(f"module 'softmax_lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
