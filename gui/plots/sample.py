"""The selected sample: its raw logits (left) and softmax probabilities (right), named above.

Dragging a logit bar vertically edits that logit live (``sigLogitDragged``); ``sigDragFinished``
follows on release. Comparing two models (``set_sample(view, names, other=view_b)``), each class
gets two bars side by side: model A's solid on the left, model B's hatched in another colour on
the right; dragging one of B's bars sends ``sigLogitBDragged``.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.display import MAX_BARS, SampleView, drawable_heights, shown_classes
from softmax_lab.gui import plotkit as kit
from softmax_lab.gui import plotmarks as marks
from softmax_lab.gui.plots.sample_b import BAR_B, OFFSET, ModelB
from softmax_lab.gui.plots.sample_kept import KeptMarks
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.models import SamplerMarks

PROBABILITY_PADDING = 0.03


class SamplePlot(pg.GraphicsLayoutWidget):
    """Logits and probabilities of one sample, with its true and predicted class marked."""

    sigLogitDragged = Signal(int, float)  # real class index, new raw logit (y under the mouse)
    sigLogitBDragged = Signal(int, float)  # the same for model B's bar (comparing two models)
    sigDragFinished = Signal(int)  # real class index

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        kit.set_min_size(self)
        self._theme = theme
        self._logits = np.zeros(0)
        self._probabilities = np.zeros(0)
        self._names: list[str] = []
        self._true: int | None = None
        self._predicted: int | None = None
        self._shown = np.zeros(0, dtype=np.int64)
        self._heights = np.zeros(0)
        self._clamped = np.zeros(0, dtype=bool)
        self._drag_slot: int | None = None
        self._drag_b = False  # the bar being dragged is model B's
        self._last_dragged: float | None = None
        self._ranged = False
        self._holding = False
        self._heading = "Selected sample"

        self.heading = kit.WrappingLabel(self._heading, justify="center")
        self.addItem(self.heading, row=0, col=0, colspan=2)
        self._logit_vb = kit.InteractiveViewBox()
        self._logit_axis = kit.CategoryAxis("bottom")
        self.logit_plot: pg.PlotItem = self.addPlot(
            row=1, col=0, viewBox=self._logit_vb, axisItems={"bottom": self._logit_axis}
        )
        self._prob_axis = kit.CategoryAxis("bottom")
        self.probability_plot: pg.PlotItem = self.addPlot(
            row=1, col=1, axisItems={"bottom": self._prob_axis, "left": kit.BoundedAxis("left", 1)}
        )
        self.probability_plot.setXLink(self.logit_plot)
        self._prob_vb: pg.ViewBox = self.probability_plot.getViewBox()
        self._prob_vb.setMouseEnabled(x=True, y=False)
        self._prob_vb.setRange(
            yRange=(0.0, 1.0), padding=PROBABILITY_PADDING, disableAutoRange=True
        )
        self._logit_vb.disableAutoRange()
        for col, plot in enumerate((self.logit_plot, self.probability_plot)):
            plot.hideButtons()
            # Half the width each: left to their titles' widths, the probabilities (a longer
            # title) took more and squeezed the logits, the plot a user drags.
            plot.setPreferredWidth(1)
            self.ci.layout.setColumnStretchFactor(col, 1)

        self.logit_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.probability_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.logit_plot.addItem(self.logit_bars)
        self.probability_plot.addItem(self.probability_bars)
        # The true / predicted outlines, cased: a gap in the background colour between the bar's
        # fill and the outline, so the outline reads at 3:1 whatever the fill (WCAG marks).
        self.logit_casing = kit.CasedOutline(self.logit_plot)
        self.probability_casing = kit.CasedOutline(self.probability_plot)
        self.b = ModelB(self.logit_plot, self.probability_plot, theme)
        """Model B's bars, empty unless two models are compared."""
        self._logit_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.logit_plot.addItem(self._logit_zero, ignoreBounds=True)
        self.logit_marks = marks.MarkPool(self.logit_plot, MAX_BARS)
        self.probability_marks = marks.MarkPool(self.probability_plot, MAX_BARS)
        # Each bar's value (and the true / predicted class's role) at its end.
        self.logit_labels = marks.BarLabels(self.logit_plot, MAX_BARS)
        self.probability_labels = marks.BarLabels(self.probability_plot, MAX_BARS)
        self.logit_labels.bars = self.logit_bars
        self.probability_labels.bars = self.probability_bars
        self._logit_vb.sigResized.connect(lambda _vb: self._fit_logit_range(force=True))
        self._prob_vb.sigResized.connect(self._fit_probability_range)
        # A live model's sampler: which bars it could draw, the cut, the token drawn.
        self.kept = KeptMarks(self.probability_plot, self.ci, (2, 0), theme)

        self.hover = kit.Hover(
            self, [(self._logit_vb, self.hover_text_at), (self._prob_vb, self.hover_text_at)]
        )
        self._logit_vb.set_handlers(
            drag_start=self._on_drag_start,
            drag_move=self._on_drag_move,
            drag_finish=self._on_drag_finish,
        )
        self.set_theme(theme)

    # ---- data ------------------------------------------------------------------------------

    def set_sample(
        self,
        view: SampleView,
        class_names: list[str],
        other: SampleView | None = None,
        names: tuple[str, str] = ("A", "B"),
        marks: SamplerMarks | None = None,
    ) -> None:
        """Show one sample (see ``core.display.SampleView``) with the current class names;
        ``other`` is model B's view of the same sample when two models are compared (``names``:
        what the legend calls them), None otherwise; ``marks``: what a live model's sampler
        could draw from this row (None: no sampler to show)."""
        n = view.logits.size
        if len(class_names) != n:
            raise ValueError(f"{len(class_names)} class names for {n} logits")
        if other is not None and other.logits.size != n:
            raise ValueError(f"model B has {other.logits.size} logits, model A {n}")
        self._logits = view.logits
        self._probabilities = view.probabilities
        self._names = list(class_names)
        self._true = view.true_class
        self._predicted = view.predicted
        self._heading = view.heading
        self.b.set(other, names)
        self.kept.set_marks(None if other is not None else marks)
        # Mid-drag the shown classes stay put: re-ranking would move the bar out from under the
        # mouse. The ranking is refreshed when the drag ends.
        if self._drag_slot is None or self._shown.size == 0 or self._shown.max() >= n:
            self._shown = shown_classes(self.b.ranking(self._probabilities))
        self._redraw()
        self._fit_probability_range()
        if self._drag_slot is None:
            self._fit_logit_range(force=not self._ranged)
            self._ranged = True

    def set_marks(self, marks: SamplerMarks | None) -> None:
        """The sampler's kept set changed (top-k / top-p moved): restyle the probability bars."""
        self.kept.set_marks(None if self.b.active else marks)
        if self._shown.size == 0:
            return
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        kit.set_bars(self.probability_bars, prob_pens, prob_brushes)
        self.kept.place(self._shown, self._bar_x())

    def kept_classes(self) -> list[int]:
        """The classes whose probability bar is drawn as kept by the sampler, left to right (every
        shown class when no sampler is shown)."""
        return [int(c) for c, k in zip(self._shown, self.kept.kept_slots, strict=True) if k]

    def set_names(self, class_names: list[str], heading: str) -> None:
        """Class names changed (a rename): relabel, nothing else."""
        self._names = list(class_names)
        self._heading = heading
        self._update_axes()
        self._update_titles()

    def shown_classes(self) -> np.ndarray:
        """Class indices of the bars, left to right."""
        return self._shown.copy()

    def heading_text(self) -> str:
        return self._heading

    def hover_text_at(self, x: float, y: float) -> str | None:
        """Hover text for a point in view coordinates of either plot (they share x): the class
        under x with its exact logit and probability, or None off the bars."""
        slot = self._slot_at(x)
        if slot is None:
            return None
        cls = int(self._shown[slot])
        if self.b.active:
            lines, roles = self.b.hover(
                cls, self._names, self._logits, self._probabilities, self._true, self._predicted
            )
        else:
            lines = [
                f"{self._names[cls]}  (class {cls})",
                f"logit = {fmt.precise(self._logits[cls])}",
                f"p = {fmt.precise(self._probabilities[cls])}",
            ]
            roles = [
                r for r, c in (("true", self._true), ("predicted", self._predicted)) if c == cls
            ]
            sampler = self.kept.hover_line(cls)
            if sampler is not None:
                lines.append(sampler)
        if roles:
            lines.append(" · ".join(roles))
        return "\n".join(lines)

    def _slot_at(self, x: float) -> int | None:
        if not math.isfinite(x):
            return None
        slot = math.floor(x + 0.5)
        return slot if 0 <= slot < self._shown.size else None

    def _redraw(self) -> None:
        shown = self._shown
        slots = np.arange(shown.size, dtype=np.float64)
        b = self.b
        comparing = b.logits is not None
        # Comparing, A's bar sits left of the class's slot and B's right of it.
        x = slots - OFFSET if comparing else slots
        width = BAR_B if comparing else 0.8
        logits = self._logits[shown]
        if b.logits is not None:
            # One clamping scale for both models, so their off-scale bars line up.
            both, bad = drawable_heights(np.concatenate([logits, b.logits[shown]]))
            self._heights, b.heights = both[: shown.size], both[shown.size :]
            self._clamped, b.clamped = bad[: shown.size], bad[shown.size :]
        else:
            self._heights, self._clamped = drawable_heights(logits)
            b.heights, b.clamped = np.zeros(0), np.zeros(0, dtype=bool)
        probabilities = self._probabilities[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        kit.set_bars(self.logit_bars, pens, brushes, x=x, height=self._heights, width=width)
        kit.set_bars(
            self.probability_bars, prob_pens, prob_brushes, x=x, height=prob_heights, width=width
        )
        self._case()
        self.logit_marks.show(marks.bar_marks(x, self._heights, logits, self._clamped))
        self.probability_marks.show(marks.bar_marks(x, prob_heights, probabilities, prob_bad))
        b.redraw(slots + OFFSET, shown, self._true)
        self._update_axes()
        self._logit_vb.setXRange(-0.6, shown.size - 0.4, padding=0)
        self._update_titles()
        self._place_end_labels()
        self.kept.place(shown, x)

    def _bar_x(self) -> np.ndarray:
        slots = np.arange(self._shown.size, dtype=np.float64)
        return slots - OFFSET if self.b.active else slots

    def _update_axes(self) -> None:
        names = [self._names[int(c)] for c in self._shown]
        for axis in (self._logit_axis, self._prob_axis):
            axis.set_names(names)

    def _case(self) -> None:
        """Draw the true / predicted outlines over the bars as they are now."""
        roles = self._roles()
        for bars, casing in (
            (self.logit_bars, self.logit_casing),
            (self.probability_bars, self.probability_casing),
        ):
            x, height = bars.opts.get("x"), bars.opts.get("height")
            if x is None or height is None or len(x) != len(roles):
                continue
            casing.set(self._theme, x, height, float(bars.opts.get("width", 0.8)), roles)

    def _roles(self) -> list[str | None]:
        """Each shown bar's role: "true", "pred" or None."""
        return [
            "true" if cls == self._true else "pred" if cls == self._predicted else None
            for cls in self._shown
        ]

    def _bar_styles(self) -> tuple[list, list, list, list]:
        """Per-bar pens and brushes: clamped bars hatched; the true class's solid outline and the
        predicted class's dashed one are drawn around the bars (``kit.CasedOutline``)."""
        t = self._theme
        plain = QPen(Qt.PenStyle.NoPen)
        logit_brush = pg.mkBrush(t.logit)
        hatched = QBrush(kit.qcolor(t.logit), Qt.BrushStyle.BDiagPattern)
        prob_brush = pg.mkBrush(t.probability)
        pens = [plain] * len(self._shown)
        clamped_pen = kit.make_pen(t.logit, 1)
        logit_pens = [
            clamped_pen if bad and pen is plain else pen
            for pen, bad in zip(pens, self._clamped, strict=True)
        ]
        brushes = [hatched if bad else logit_brush for bad in self._clamped]
        return logit_pens, brushes, pens, self.kept.brushes(self._shown, prob_brush)

    def _update_titles(self) -> None:
        n = self._logits.size
        suffix = f" · top {self._shown.size} of {n:,}" if self._shown.size < n else ""
        if self._true is not None and self._true not in self._shown:
            suffix += f" · true #{self._true} not shown"
        kit.set_title(self.logit_plot, self._theme, f"Logits z{suffix}")
        prob_title = "Probabilities p = softmax(z / T)"
        shown_p = self.b.ranking(self._probabilities)[self._shown]
        shown_p = shown_p[np.isfinite(shown_p)]
        if shown_p.size and shown_p.max() < 0.02:
            # On a fixed [0, 1] axis such bars are invisible; say why the plot looks empty.
            prob_title += f" · max p = {fmt.number(shown_p.max())}"
        kit.set_title(self.probability_plot, self._theme, prob_title)
        # A second line (comparing: each model's prediction and loss) is a line break.
        self.heading.setText(
            self.swatches(html.escape(self._heading).replace("\n", "<br>")),
            color=self._theme.foreground,
            size=f"{self._theme.px(11)}pt",
            bold=True,
        )

    # ---- model B (comparing) ---------------------------------------------------------------

    @property
    def comparing(self) -> bool:
        return self.b.active

    @property
    def logit_bars_b(self) -> pg.BarGraphItem:
        return self.b.logit_bars

    @property
    def probability_bars_b(self) -> pg.BarGraphItem:
        return self.b.probability_bars

    @property
    def logit_marks_b(self) -> marks.MarkPool:
        return self.b.logit_marks

    @property
    def probability_marks_b(self) -> marks.MarkPool:
        return self.b.probability_marks

    def swatches(self, heading_html: str) -> str:
        """The heading (HTML) with its model glyphs coloured as the bars are: ▮ in A's colour
        (solid bars), ▨ in B's (hatched bars). The heading names the models after them."""
        t = self._theme
        return heading_html.replace("▮", f"<span style='color:{t.probability}'>▮</span>").replace(
            "▨", f"<span style='color:{t.model_b}'>▨</span>"
        )

    def _end_label(self, role: str) -> tuple[str, int, tuple[float, ...]] | None:
        """(text, class, x offsets of the bars it names) of one end label, or None. One model:
        "true" and "pred" ("true = pred" when they agree). Two: "true", "pred A" and "pred B",
        merged where they name the same class ("true = pred B", "pred A = pred B")."""
        true, a = self._true, self._predicted
        if not self.b.active:
            same = true is not None and true == a
            if role == "true" and true is not None:
                return ("true = pred" if same else "true", true, (0.0,))
            if role == "pred" and a is not None and not same:
                return ("pred", a, (0.0,))
            return None
        b = self.b.predicted
        owners = {"true": true, "pred": a, "pred_b": b}
        cls = owners[role]
        if cls is None:
            return None
        # The first role naming a class shows the merged label; the others stay hidden.
        first = next(r for r in ("true", "pred", "pred_b") if owners[r] == cls)
        if role != first:
            return None
        words = {"true": "true", "pred": "pred A", "pred_b": "pred B"}
        named = [r for r in ("true", "pred", "pred_b") if owners[r] == cls]
        offsets = {"true": (-OFFSET, OFFSET), "pred": (-OFFSET,), "pred_b": (OFFSET,)}
        spots = tuple(sorted({o for r in named for o in offsets[r]}))
        return (" = ".join(words[r] for r in named), cls, spots)

    def _label_y(self, plot_key: str, slot: int, offsets: tuple[float, ...]) -> float:
        """Where a label over these bars goes: the end of the longest of them."""
        ends = []
        for offset in offsets:
            b = offset > 0
            if plot_key == "logit":
                ends.append(float((self.b.heights if b else self._heights)[slot]))
            else:
                p = float((self.b.probabilities if b else self._probabilities)[self._shown[slot]])
                ends.append(float(np.clip(p, 0.0, 1.0)) if math.isfinite(p) else 0.0)
        return max(ends, key=abs)

    def _place_end_labels(self) -> None:
        t = self._theme
        x = np.arange(self._shown.size, dtype=np.float64)
        if self.comparing:
            # Two models: only the roles ("true", "pred A", "pred B", merged where they name the
            # same class), over the bars they name; the values are one hover away.
            slots = {int(c): i for i, c in enumerate(self._shown)}
            logit_entries, prob_entries = [], []
            for role in ("true", "pred", "pred_b"):
                spec = self._end_label(role)
                slot = slots.get(spec[1]) if spec is not None else None
                if spec is None or slot is None:
                    continue
                text, _cls, offsets = spec
                at = slot + float(np.mean(offsets))
                colour = t.text(t.true_class if role == "true" else t.predicted)
                logit_entries.append((at, self._label_y("logit", slot, offsets), text, colour))
                prob_entries.append((at, self._label_y("prob", slot, offsets), text, colour))
            self.logit_labels.set(logit_entries)
            self.probability_labels.set(prob_entries)
            return
        same = self._true is not None and self._true == self._predicted
        roles: dict[int, tuple[str, str]] = {}
        if self._predicted is not None and not same:
            roles[self._predicted] = ("pred", t.text(t.predicted))
        if self._true is not None:
            roles[self._true] = ("true = pred" if same else "true", t.text(t.true_class))
        probabilities = self._probabilities[self._shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_ends = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        self.logit_labels.set(
            marks.bar_label_entries(
                x, self._heights, self._logits[self._shown], self._shown, roles, self._clamped
            )
        )
        self.probability_labels.set(
            marks.bar_label_entries(x, prob_ends, probabilities, self._shown, roles, prob_bad)
        )

    def _fit_logit_range(self, *, force: bool) -> None:
        if self._heights.size == 0:
            return
        heights = np.concatenate([self._heights, self.b.heights])
        lo = min(0.0, float(heights.min()))
        hi = max(0.0, float(heights.max()))
        # Room beyond the longest bars for their value labels (outside the bars, never on them).
        lo, hi = self.logit_labels.fit_range(lo, hi)
        force = force or not self.logit_labels.have_room()  # a held axis, too tight for them
        kit.fit_axis(self._logit_vb, 1, lo, hi, force=force, hold=self._holding)

    def _fit_probability_range(self, *_args: object) -> None:
        """0 to 1, and room above 1 for a label over a bar of p = 1 (its ticks stop at 1): the
        same whatever the probabilities, so the axis holds still while T plays."""
        _lo, top = self.probability_labels.fit_range(0.0, 1.0, padding=PROBABILITY_PADDING)
        self._prob_vb.setYRange(0.0, top, padding=PROBABILITY_PADDING)

    def hold_axes(self, hold: bool) -> None:
        """While something animates or is stepped through, the logit axis only grows (shrinks
        only when the data use under a tenth of it); on release it fits again."""
        self._holding = hold
        if not hold:
            self._fit_logit_range(force=True)

    # ---- dragging --------------------------------------------------------------------------

    def _on_drag_start(self, pos: QPointF) -> bool:
        slot = self._slot_at(pos.x())
        if slot is None:
            return False
        # Comparing, the right half of a class's slot is model B's bar.
        b = self.b.active and pos.x() > slot
        height = float((self.b.heights if b else self._heights)[slot])
        tolerance = self._theme.px(10) * (self._logit_vb.viewPixelSize()[1] or 0.0)
        if not min(0.0, height) - tolerance <= pos.y() <= max(0.0, height) + tolerance:
            return False
        self._drag_slot = slot
        self._drag_b = b
        self._last_dragged = None
        return True

    def _on_drag_move(self, pos: QPointF) -> None:
        if self._drag_slot is None:
            return
        value = float(pos.y())
        if value == self._last_dragged:
            return
        self._last_dragged = value
        cls = int(self._shown[self._drag_slot])
        # Preview: the bar follows the mouse even before the owner publishes recomputed data.
        if self._drag_b:
            self.b.heights[self._drag_slot] = value
            self.b.logit_bars.setOpts(height=self.b.heights)
        else:
            self._heights[self._drag_slot] = value
            self.logit_bars.setOpts(height=self._heights)
            self._case()
        self._place_end_labels()
        (self.sigLogitBDragged if self._drag_b else self.sigLogitDragged).emit(cls, value)

    def _on_drag_finish(self, pos: QPointF) -> None:
        if self._drag_slot is None:
            return
        self._on_drag_move(pos)
        cls = int(self._shown[self._drag_slot])
        self._drag_slot = None
        self._drag_b = False
        self._shown = shown_classes(self.b.ranking(self._probabilities))
        self._redraw()
        self._fit_logit_range(force=True)
        self.sigDragFinished.emit(cls)

    # ---- theme -----------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.logit_plot, theme, y_label="raw logit")
        kit.style_plot(self.probability_plot, theme, y_label="p")
        self._logit_zero.setPen(pg.mkPen(theme.foreground, width=1))
        for pool in (self.logit_marks, self.probability_marks):
            pool.apply_theme(theme)
        self.logit_labels.bar_colours = (theme.logit, theme.logit)
        self.probability_labels.bar_colours = (theme.probability, theme.probability)
        for labels in (self.logit_labels, self.probability_labels):
            labels.apply_theme(theme)
        self._place_end_labels()
        self._fit_probability_range()  # the labels' room at the new type size
        self.hover.apply_theme(theme)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        kit.set_bars(self.logit_bars, pens, brushes)
        kit.set_bars(self.probability_bars, prob_pens, prob_brushes)
        self._case()
        self.b.restyle(theme, self._shown, self._true)
        self.kept.set_theme(theme)
        self.kept.place(self._shown, self._bar_x())
        self._update_titles()
