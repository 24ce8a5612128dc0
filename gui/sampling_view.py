"""Top-k / top-p for the selected sample: which classes a sampler could still draw, and how
their probabilities renormalise (what Transformer Explainer shows, on the user's own logits).
The truncation itself comes from ``core.sampling`` through the controller."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import elide
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.sampling import Truncation


class SamplingPanel(QWidget):
    """Top-k and top-p controls over a bar chart of the top classes, kept vs dropped."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._names: list[str] = []
        self._temperature = 1.0
        self.truncation: Truncation | None = None

        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1_000_000)
        self.top_k.setSpecialValueText("off")
        self.top_k.setValue(0)
        self.top_k.setToolTip("keep only the k most probable classes (0 = off)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setDecimals(2)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(1.0)
        self.top_p.setSpecialValueText("off")
        self.top_p.setToolTip(
            "keep the fewest classes whose probabilities add up to p (nucleus sampling; 1.00 = off)"
        )
        controls = QHBoxLayout()
        controls.addWidget(QLabel("top-k"))
        controls.addWidget(self.top_k)
        controls.addWidget(QLabel("top-p"))
        controls.addWidget(self.top_p)
        controls.addStretch(1)
        self.summary = QLabel()
        self.summary.setWordWrap(True)

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        kit.no_si_prefix(self.plot.getAxis("left"))
        self.plot.setLabel("left", "p")
        self.original = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.renormalized = pg.BarGraphItem(x=[], height=[], width=0.35)
        self.plot.addItem(self.original)
        self.plot.addItem(self.renormalized)
        self.plot.setYRange(0, 1, padding=0.02)
        legend = self.plot.addLegend(offset=(-10, 10))
        legend.addItem(self.original, "p at temperature T (grey: dropped)")
        legend.addItem(self.renormalized, "p after top-k / top-p")

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        self.set_theme(theme)

    def set_truncation(
        self, truncation: Truncation, class_names: list[str], temperature: float
    ) -> None:
        self.truncation = truncation
        self._names = class_names
        self._temperature = temperature
        self._update()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.plot.setBackground(theme.background)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setTextPen(theme.foreground)
            self.plot.getAxis(axis).setPen(theme.foreground)
        self._update()

    def _update(self) -> None:
        t = self.truncation
        if t is None:
            return
        x = np.arange(len(t.order))
        dropped = pg.mkBrush(self._theme.ignored)
        kept = pg.mkBrush(self._theme.probability)
        self.original.setOpts(
            x=x,
            height=np.nan_to_num(t.probabilities),
            width=0.8,
            brushes=[kept if k_ else dropped for k_ in t.kept],
            pens=[pg.mkPen(None)] * len(x),
        )
        self.renormalized.setOpts(
            x=x + 0.2,
            height=t.renormalized,
            width=0.3,
            brush=pg.mkBrush(self._theme.predicted),
            pen=pg.mkPen(self._theme.foreground, width=1),
        )
        names = [self._names[i] if i < len(self._names) else str(i) for i in t.order]
        self.plot.getAxis("bottom").setTicks([[(i, elide(n)) for i, n in enumerate(names)]])
        self.plot.setXRange(-0.6, max(len(x), 1) - 0.4, padding=0)
        self.plot.setYRange(
            0, max(1e-6, float(np.nanmax(np.r_[t.renormalized, 0.0]))) * 1.08, padding=0
        )
        shown = (
            f"top {len(x)} of {t.n_classes:,} classes shown"
            if t.n_classes > len(x)
            else (f"all {t.n_classes} classes shown")
        )
        self.summary.setText(
            f"At T = {fmt.short(self._temperature)}, sampling could draw {t.n_kept:,} of "
            f"{t.n_classes:,} classes, holding {fmt.percent(t.kept_mass)} of the probability "
            f"mass before renormalising ({shown})."
        )
        self.summary.setAlignment(Qt.AlignmentFlag.AlignLeft)

    def kept_classes(self) -> list[int]:
        t = self.truncation
        return [] if t is None else [int(c) for c, k in zip(t.order, t.kept, strict=True) if k]
