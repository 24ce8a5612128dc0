"""The one dynamic part of the build: the installed distribution's package layout.

The checkout keeps ``core/``, ``gui/`` and ``resources/`` at the top level; installed, they are
``softmax_lab.core``, ``softmax_lab.gui`` and ``softmax_lab.resources`` (one top-level name).
Every subpackage is found automatically, so a new one can't be left out of the wheel.
Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

MAPPED = ("core", "gui", "resources")

packages = (
    ["softmax_lab"]
    # softmax_lab's own subpackages (integrations: the training frameworks' callbacks)
    + find_packages(include=["softmax_lab.*"])
    + [
        f"softmax_lab.{name}"
        for name in find_packages(include=[f"{top}{tail}" for top in MAPPED for tail in ("", ".*")])
    ]
)
setup(
    packages=packages,
    package_dir={"softmax_lab": "softmax_lab", **{f"softmax_lab.{top}": top for top in MAPPED}},
)
