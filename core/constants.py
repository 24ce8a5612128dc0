"""Numbers the whole app agrees on, each defined here once and imported everywhere else."""

from __future__ import annotations

from collections.abc import Sequence

IGNORE_INDEX = -100
"""Label meaning "leave this sample out" (torch's ``CrossEntropyLoss`` default ``ignore_index``)."""

MAX_INDEX = 2**31 - 1
"""The largest whole number a file or an API call may give as a label, ``ignore_index``, step
index, sample index or count of a view field: Qt's widgets and torch's kernels take 32-bit
indices, and a 10^30 would otherwise pass validation and overflow later (issue 21)."""

TEMPERATURE_MIN = 0.01
TEMPERATURE_MAX = 100.0
"""The temperatures the window offers and the temperature fit searches (Guo et al. 2017 fit T
well inside this range). ``evaluate`` itself takes any T > 0."""

CPU_BLOCK_ELEMENTS = 1 << 18
"""Elements per row block of a streamed pass on the CPU: 1 MB of float32, so a block and its
scratch copy stay in cache between passes (measured: 2**16..2**20 are within noise, 2**22 is
slower)."""

STREAM_BLOCK_ELEMENTS = 1 << 19
"""Elements per row block of a pass that reads a recorded run's steps block by block
(``core.dynamics``): 2 MB of float32 per block, read into a buffer and exp'd into another, per
thread. Measured on a 50,000 x 100 run: 2**19 and 2**20 take 0.65-0.75x the time of 2**18
(fewer numpy calls per step); 2**19 keeps two threads' buffers at 8 MB."""

ACCELERATOR_BLOCK_ELEMENTS = 1 << 27
"""Elements per row block on CUDA / MPS, where a launch costs more than memory traffic."""

MAX_CONFUSION_CLASSES = 4096
"""Above this many classes no confusion matrix is built (4,096² int64 is 128 MB)."""

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
DTYPE_NAMES: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")
TARGET_MODES: tuple[str, ...] = ("index", "probability")
"""Class indices, or a probability row per sample (soft labels)."""

SHOWN_CLASSES = 12
"""How many classes the formula panels write out; the rest are summed into one line."""

TABLE_CLASS_COLUMNS = 2_048
"""The table shows a logit column per class up to this many classes; beyond (a language
model's 32k–256k vocabulary) it shows the result and extra columns only, and says so: 128k
columns are unreadable, and Qt lays out every header section."""

HEATMAP_CLASSES = 1_024
"""The probability heatmap shows every class up to this many; beyond, only the classes that are
the target or the prediction of a shown row (the tokens in play), at most this many."""

BACKGROUND_SETTINGS_CELLS = 16_000_000
"""Tables with more cells than this re-evaluate after an option change (temperature, smoothing,
...) off the GUI thread: one pass over 2,048 x 128,256 float32 takes ~0.5 s on two cores."""

SURPRISAL_FULL_BITS = 12.0
"""The surprisal at which a token's background reaches full colour (p = 1/4,096); 0 bits is no
colour, and the scale is linear in bits in between."""

NAME_CHARS = 14
"""Class names longer than this are elided wherever space is tight (axes, formula columns);
hover texts and tooltips show them in full."""


def block_rows(n_classes: int, accelerator: bool = False) -> int:
    """Rows per block of a streamed pass over an (N, ``n_classes``) table."""
    budget = ACCELERATOR_BLOCK_ELEMENTS if accelerator else CPU_BLOCK_ELEMENTS
    return max(1, budget // max(1, n_classes))


def elide(name: str, limit: int = NAME_CHARS) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis: the one elision rule for names."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


SCALES: tuple[float, ...] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
"""The presentation scales View › Larger / Smaller steps through (type, line widths, markers)."""

PLOT_TICK_PX = 11
"""The plots' tick type at 1x, in pixels (it grows with the scale): the em of the plots' layout
rules (``core.display.stage_plots_width``)."""

SCALE_RANGE = (SCALES[0], SCALES[-1])
"""The scales a user, a workspace or presentation mode may choose: 3x is the largest (a projector
at 4K still fits the sample's bars and the loss)."""


def default_class_names(n_classes: int, start: int = 0) -> list[str]:
    """The names classes get when none are given: ``class 0``, ``class 1``, …"""
    return [f"class {i}" for i in range(start, start + n_classes)]


def class_name(class_names: Sequence[str], index: int) -> str:
    """Class ``index``'s name, or its default name where ``class_names`` has none for it."""
    return class_names[index] if 0 <= index < len(class_names) else default_class_names(1, index)[0]
