"""Ready-made tables: every example of the tutorial notebook plus the classic edge cases."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from softmax_lab.core.document import Document, Settings

CLASS3 = ("class 0", "class 1", "class 2")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    logits: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...] | None = None
    soft_targets: tuple[tuple[float, ...], ...] | None = None
    class_names: tuple[str, ...] = CLASS3
    settings: dict = field(default_factory=dict)

    def apply(self, document: Document) -> None:
        """Load this preset into the document as one undoable step."""
        target_mode = "probability" if self.soft_targets is not None else "index"
        settings = Settings(
            **{
                "target_mode": target_mode,
                "device": document.settings.device,
                "dtype": document.settings.dtype,
                **self.settings,
            }
        )
        document.replace_all(
            np.array(self.logits, dtype=np.float64),
            self.labels,
            self.class_names,
            self.soft_targets,
            settings,
            text=f"Preset: {self.name}",
        )

    def new_document(self) -> Document:
        target_mode = "probability" if self.soft_targets is not None else "index"
        return Document(
            np.array(self.logits, dtype=np.float64),
            self.labels,
            self.class_names,
            self.soft_targets,
            Settings(target_mode=target_mode, **self.settings),
        )


_LOG_GOOD = tuple(float(np.log(p)) for p in (0.7, 0.2, 0.1))
_LOG_BAD = tuple(float(np.log(p)) for p in (0.1, 0.3, 0.6))

PRESETS: tuple[Preset, ...] = (
    Preset(
        "Batch, good predictions",
        "Three samples, labels [2, 0, 1], every prediction right: mean loss 0.3018.",
        ((0.1, 1.0, 2.1), (2.0, 1.0, 0.1), (0.1, 3.0, 0.1)),
        (2, 0, 1),
    ),
    Preset(
        "Batch, bad predictions",
        "The same labels, two of three predictions wrong: mean loss 1.6242.",
        ((2.1, 1.0, 0.1), (0.1, 1.0, 2.1), (0.1, 3.0, 0.1)),
        (2, 0, 1),
    ),
    Preset(
        "Single sample, good",
        "Logits [2.0, 1.0, 0.1] for true class 0: softmax 0.6590 / 0.2424 / 0.0986, loss 0.4170.",
        ((2.0, 1.0, 0.1),),
        (0,),
    ),
    Preset(
        "Single sample, bad",
        "Logits [0.5, 2.0, 0.3] for true class 0: predicted class 1, loss 1.8406.",
        ((0.5, 2.0, 0.3),),
        (0,),
    ),
    Preset(
        "One-hot target, good probabilities",
        "Probabilities [0.7, 0.2, 0.1] against one-hot [1, 0, 0]: −Σ y log p = 0.3567. "
        "The logits are log p, so softmax gives p back.",
        (_LOG_GOOD,),
        soft_targets=((1.0, 0.0, 0.0),),
    ),
    Preset(
        "One-hot target, bad probabilities",
        "Probabilities [0.1, 0.3, 0.6] against one-hot [1, 0, 0]: loss 2.3026.",
        (_LOG_BAD,),
        soft_targets=((1.0, 0.0, 0.0),),
    ),
    Preset(
        "Huge logits (overflow)",
        "exp(1000) overflows: the naive softmax gives NaN, the stable one and torch do not.",
        ((1000.0, 999.0, 0.0), (0.0, 1000.0, 500.0)),
        (0, 2),
    ),
    Preset(
        "Uniform",
        "All logits equal: every class gets 1/C and the loss is log C = 1.6094 for C = 5.",
        ((0.0,) * 5,) * 4,
        (0, 1, 2, 3),
        class_names=("class 0", "class 1", "class 2", "class 3", "class 4"),
    ),
    Preset(
        "Confident and wrong",
        "Very confident wrong predictions: the loss grows without bound as p(true) -> 0.",
        ((8.0, 0.0, 0.0), (0.0, 9.0, 0.5), (0.2, 0.1, 7.0)),
        (1, 2, 0),
    ),
    Preset(
        "Masked class (-inf)",
        "A logit of -inf removes its class: probability exactly 0, the others renormalise.",
        ((2.0, float("-inf"), 1.0), (0.5, float("-inf"), 3.0), (1.0, 1.0, float("-inf"))),
        (0, 2, 1),
    ),
)

DEFAULT_PRESET = PRESETS[0]


def random_table(
    n_samples: int, n_classes: int, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edit › Randomize: logits ~ N(0, 2²) rounded to 2 decimals (easy to read and retype) and
    uniformly random labels."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(n_samples, n_classes)).round(2)
    return logits, rng.integers(0, n_classes, n_samples)


def preset_by_name(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)
