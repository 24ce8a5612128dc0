"""The selected sample: its raw logits (left) and softmax probabilities (right), named above.

Dragging a logit bar vertically edits that logit live (``sigLogitDragged``); ``sigDragFinished``
follows on release. Comparing two models (``set_sample(view, names, other=view_b)``), each class
gets two bars side by side: model A's solid on the left, model B's hatched in another colour on
the right; dragging one of B's bars sends ``sigLogitBDragged``.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QWidget

from core import formatting as fmt
from core.constants import elide
from core.display import MAX_BARS, SampleView, drawable_heights, shown_classes
from gui import plotkit as kit
from gui.theme import LIGHT, Theme

OFFSET = 0.2
"""Comparing two models: A's bar is centred this far left of its class's slot, B's right."""
BAR_B = 0.38


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
        # Model B (comparing): None, or its logits, probabilities and prediction.
        self._logits_b: np.ndarray | None = None
        self._probabilities_b = np.zeros(0)
        self._predicted_b: int | None = None
        self._heights_b = np.zeros(0)
        self._clamped_b = np.zeros(0, dtype=bool)
        self._model_names = ("A", "B")
        self._ranged = False
        self._heading = "Selected sample"

        self.heading = self.addLabel(self._heading, row=0, col=0, colspan=2)
        self._logit_vb = kit.InteractiveViewBox()
        self._logit_axis = kit.CategoryAxis("bottom")
        self.logit_plot: pg.PlotItem = self.addPlot(
            row=1, col=0, viewBox=self._logit_vb, axisItems={"bottom": self._logit_axis}
        )
        self._prob_axis = kit.CategoryAxis("bottom")
        self.probability_plot: pg.PlotItem = self.addPlot(
            row=1, col=1, axisItems={"bottom": self._prob_axis}
        )
        self.probability_plot.setXLink(self.logit_plot)
        self._prob_vb: pg.ViewBox = self.probability_plot.getViewBox()
        self._prob_vb.setMouseEnabled(x=True, y=False)
        self._prob_vb.setRange(yRange=(0.0, 1.0), padding=0.03, disableAutoRange=True)
        self._logit_vb.disableAutoRange()
        for plot in (self.logit_plot, self.probability_plot):
            plot.hideButtons()

        self.logit_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.probability_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.logit_plot.addItem(self.logit_bars)
        self.probability_plot.addItem(self.probability_bars)
        # Model B's bars: created once, empty unless two models are compared.
        self.logit_bars_b = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        self.probability_bars_b = pg.BarGraphItem(x=[], height=[], width=BAR_B)
        self.logit_plot.addItem(self.logit_bars_b)
        self.probability_plot.addItem(self.probability_bars_b)
        self._logit_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.logit_plot.addItem(self._logit_zero, ignoreBounds=True)
        self.logit_marks = kit.MarkPool(self.logit_plot, MAX_BARS)
        self.probability_marks = kit.MarkPool(self.probability_plot, MAX_BARS)
        self.logit_marks_b = kit.MarkPool(self.logit_plot, MAX_BARS)
        self.probability_marks_b = kit.MarkPool(self.probability_plot, MAX_BARS)
        # "true" / "pred" labels at the bar ends, one pair per plot ("pred_b": model B's).
        self._end_labels = {
            (plot_key, role): pg.TextItem(anchor=(0.5, 1))
            for plot_key in ("logit", "prob")
            for role in ("true", "pred", "pred_b")
        }
        # Which bars are A's and which B's: a row under the plots, there only while comparing.
        self.legend = pg.LabelItem("", justify="center")
        self._legend_text = ""
        for (plot_key, _), label in self._end_labels.items():
            label.setZValue(30)
            label.hide()
            plot = self.logit_plot if plot_key == "logit" else self.probability_plot
            plot.addItem(label, ignoreBounds=True)

        self.hover = kit.Hover(
            self, [(self._logit_vb, self.hover_text_at), (self._prob_vb, self.hover_text_at)]
        )
        self._logit_vb.set_handlers(
            drag_start=self._on_drag_start,
            drag_move=self._on_drag_move,
            drag_finish=self._on_drag_finish,
        )
        for vb in (self._logit_vb, self._prob_vb):
            vb.sigRangeChanged.connect(self._place_end_labels)
            vb.sigResized.connect(self._place_end_labels)
        self.set_theme(theme)

    # ---- data ------------------------------------------------------------------------------

    def set_sample(
        self,
        view: SampleView,
        class_names: list[str],
        other: SampleView | None = None,
        names: tuple[str, str] = ("A", "B"),
    ) -> None:
        """Show one sample (see ``core.display.SampleView``) with the current class names;
        ``other`` is model B's view of the same sample when two models are compared (``names``:
        what the legend calls them), None otherwise."""
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
        self._model_names = (str(names[0]), str(names[1]))
        self._logits_b = None if other is None else other.logits
        self._probabilities_b = np.zeros(0) if other is None else other.probabilities
        self._predicted_b = None if other is None else other.predicted
        # Mid-drag the shown classes stay put: re-ranking would move the bar out from under the
        # mouse. The ranking is refreshed when the drag ends.
        if self._drag_slot is None or self._shown.size == 0 or self._shown.max() >= n:
            self._shown = shown_classes(self._ranking())
        self._redraw()
        if self._drag_slot is None:
            self._fit_logit_range(force=not self._ranged)
            self._ranged = True

    def set_names(self, class_names: list[str], heading: str) -> None:
        """Class names changed (a rename): relabel, nothing else."""
        self._names = list(class_names)
        self._heading = heading
        self._update_axes()
        self._update_titles()

    def shown_classes(self) -> np.ndarray:
        """Class indices of the bars, left to right."""
        return self._shown.copy()

    @property
    def comparing(self) -> bool:
        return self._logits_b is not None

    def legend_text(self) -> str | None:
        """What the legend row says (None when there is none: one model)."""
        return self._legend_text or None

    def _ranking(self) -> np.ndarray:
        """What picks the shown classes of a wide vocabulary: p, or the larger p of A and B."""
        if self._logits_b is None:
            return self._probabilities
        a = np.where(np.isnan(self._probabilities), -np.inf, self._probabilities)
        b = np.where(np.isnan(self._probabilities_b), -np.inf, self._probabilities_b)
        return np.maximum(a, b)

    def heading_text(self) -> str:
        return self._heading

    def hover_text_at(self, x: float, y: float) -> str | None:
        """Hover text for a point in view coordinates of either plot (they share x): the class
        under x with its exact logit and probability, or None off the bars."""
        slot = self._slot_at(x)
        if slot is None:
            return None
        cls = int(self._shown[slot])
        if self._logits_b is not None:
            a, b = self._model_names
            lines = [
                f"{self._names[cls]}  (class {cls})",
                f"A ({a}): logit = {fmt.precise(self._logits[cls])}, "
                f"p = {fmt.precise(self._probabilities[cls])}",
                f"B ({b}): logit = {fmt.precise(self._logits_b[cls])}, "
                f"p = {fmt.precise(self._probabilities_b[cls])}",
            ]
            roles = [
                r
                for r, c in (
                    ("true", self._true),
                    ("predicted by A", self._predicted),
                    ("predicted by B", self._predicted_b),
                )
                if c == cls
            ]
        else:
            lines = [
                f"{self._names[cls]}  (class {cls})",
                f"logit = {fmt.precise(self._logits[cls])}",
                f"p = {fmt.precise(self._probabilities[cls])}",
            ]
            roles = [
                r for r, c in (("true", self._true), ("predicted", self._predicted)) if c == cls
            ]
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
        comparing = self._logits_b is not None
        # Comparing, A's bar sits left of the class's slot and B's right of it.
        x = slots - OFFSET if comparing else slots
        width = BAR_B if comparing else 0.8
        logits = self._logits[shown]
        if comparing:
            assert self._logits_b is not None
            # One clamping scale for both models, so their off-scale bars line up.
            both, bad = drawable_heights(np.concatenate([logits, self._logits_b[shown]]))
            self._heights, self._heights_b = both[: shown.size], both[shown.size :]
            self._clamped, self._clamped_b = bad[: shown.size], bad[shown.size :]
        else:
            self._heights, self._clamped = drawable_heights(logits)
            self._heights_b, self._clamped_b = np.zeros(0), np.zeros(0, dtype=bool)
        probabilities = self._probabilities[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        kit.set_bars(self.logit_bars, pens, brushes, x=x, height=self._heights, width=width)
        kit.set_bars(
            self.probability_bars, prob_pens, prob_brushes, x=x, height=prob_heights, width=width
        )
        self.logit_marks.show(kit.bar_marks(x, self._heights, logits, self._clamped))
        self.probability_marks.show(kit.bar_marks(x, prob_heights, probabilities, prob_bad))
        self._redraw_b(slots + OFFSET)
        self._update_axes()
        self._logit_vb.setXRange(-0.6, shown.size - 0.4, padding=0)
        self._update_titles()
        self._place_end_labels()

    def _redraw_b(self, x: np.ndarray) -> None:
        """Model B's bars and marks (emptied when not comparing)."""
        if self._logits_b is None:
            for bars in (self.logit_bars_b, self.probability_bars_b):
                bars.setOpts(x=[], height=[])
            self.logit_marks_b.show([])
            self.probability_marks_b.show([])
            self._set_legend("")
            return
        shown = self._shown
        logits = self._logits_b[shown]
        probabilities = self._probabilities_b[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles_b()
        kit.set_bars(self.logit_bars_b, pens, brushes, x=x, height=self._heights_b, width=BAR_B)
        kit.set_bars(
            self.probability_bars_b, prob_pens, prob_brushes, x=x, height=prob_heights, width=BAR_B
        )
        self.logit_marks_b.show(kit.bar_marks(x, self._heights_b, logits, self._clamped_b))
        self.probability_marks_b.show(kit.bar_marks(x, prob_heights, probabilities, prob_bad))
        a, b = self._model_names
        self._set_legend(f"▮ A: {elide(a)} (solid, left)     ▨ B: {elide(b)} (hatched, right)")

    def _set_legend(self, text: str) -> None:
        """Show the legend row with ``text``, or take the row away ("")."""
        if text == self._legend_text:
            return
        shown = bool(self._legend_text)
        self._legend_text = text
        if text and not shown:
            self.addItem(self.legend, row=2, col=0, colspan=2)
        elif not text and shown:
            self.removeItem(self.legend)
        self._style_legend()

    def _style_legend(self) -> None:
        t = self._theme
        a, _, b = self._legend_text.partition("     ")
        if not self._legend_text:
            return
        # The swatches carry the models' colours; the words say solid / hatched as well.
        self.legend.setText(
            f"<span style='color:{t.probability}'>{html.escape(a[:1])}</span>"
            f"{html.escape(a[1:])}&nbsp;&nbsp;&nbsp;&nbsp;"
            f"<span style='color:{t.model_b}'>{html.escape(b[:1])}</span>{html.escape(b[1:])}",
            color=t.foreground,
            size=f"{t.px(9)}pt",
        )

    def _update_axes(self) -> None:
        names = [self._names[int(c)] for c in self._shown]
        for axis in (self._logit_axis, self._prob_axis):
            axis.set_names(names)

    def _bar_styles(self) -> tuple[list, list, list, list]:
        """Per-bar pens and brushes: true class solid outline, predicted dashed, clamped hatched."""
        t = self._theme
        plain = QPen(Qt.PenStyle.NoPen)
        true_pen = kit.make_pen(t.true_class, t.px(3))
        pred_pen = kit.make_pen(t.predicted, t.px(3), Qt.PenStyle.DashLine)
        logit_brush = pg.mkBrush(t.logit)
        hatched = QBrush(kit.qcolor(t.logit), Qt.BrushStyle.BDiagPattern)
        prob_brush = pg.mkBrush(t.probability)
        pens = []
        for cls in self._shown:
            if cls == self._true:
                pens.append(true_pen)
            elif cls == self._predicted:
                pens.append(pred_pen)
            else:
                pens.append(plain)
        clamped_pen = kit.make_pen(t.logit, 1)
        logit_pens = [
            clamped_pen if bad and pen is plain else pen
            for pen, bad in zip(pens, self._clamped, strict=True)
        ]
        brushes = [hatched if bad else logit_brush for bad in self._clamped]
        return logit_pens, brushes, pens, [prob_brush] * len(pens)

    def _bar_styles_b(self) -> tuple[list, list, list, list]:
        """Model B's bars: the model-B colour, hatched, with a thin outline of it (so that the
        two models differ by pattern as well as colour); the true class outlined solid and B's
        prediction dashed, as for A; a clamped logit cross-hatched."""
        t = self._theme
        outline = kit.make_pen(t.model_b, t.px(1.5))
        true_pen = kit.make_pen(t.true_class, t.px(3))
        pred_pen = kit.make_pen(t.predicted, t.px(3), Qt.PenStyle.DashLine)
        brush = QBrush(kit.qcolor(t.model_b), Qt.BrushStyle.FDiagPattern)
        clamped = QBrush(kit.qcolor(t.model_b), Qt.BrushStyle.DiagCrossPattern)
        pens = []
        for cls in self._shown:
            if cls == self._true:
                pens.append(true_pen)
            elif cls == self._predicted_b:
                pens.append(pred_pen)
            else:
                pens.append(outline)
        brushes = [clamped if bad else brush for bad in self._clamped_b]
        return pens, brushes, pens, [brush] * len(pens)

    def _update_titles(self) -> None:
        n = self._logits.size
        suffix = f" · top {self._shown.size} of {n:,}" if self._shown.size < n else ""
        if self._true is not None and self._true not in self._shown:
            suffix += f" · true #{self._true} not shown"
        kit.set_title(self.logit_plot, self._theme, f"Logits z{suffix}")
        prob_title = "Probabilities p = softmax(z / T)"
        shown_p = self._ranking()[self._shown]
        shown_p = shown_p[np.isfinite(shown_p)]
        if shown_p.size and shown_p.max() < 0.02:
            # On a fixed [0, 1] axis such bars are invisible; say why the plot looks empty.
            prob_title += f" · max p = {fmt.short(shown_p.max())}"
        kit.set_title(self.probability_plot, self._theme, prob_title)
        # A second line (comparing: each model's prediction and loss) is a line break.
        self.heading.setText(
            html.escape(self._heading).replace("\n", "<br>"),
            color=self._theme.foreground,
            size=f"{self._theme.px(11)}pt",
            bold=True,
        )

    def _place_end_labels(self) -> None:
        slots = {int(c): i for i, c in enumerate(self._shown)}
        for (plot_key, role), label in self._end_labels.items():
            spec = self._end_label(role)
            slot = slots.get(spec[1]) if spec is not None else None
            if spec is None or slot is None:
                label.hide()
                continue
            text, _cls, offsets = spec
            label.setText(text)
            x = slot + float(np.mean(offsets))
            vb = self._logit_vb if plot_key == "logit" else self._prob_vb
            kit.place_end_label(label, vb, x, self._label_y(plot_key, slot, offsets))
            self._keep_inside(label, vb, x)
            label.show()

    @staticmethod
    def _keep_inside(label: pg.TextItem, vb: pg.ViewBox, x: float) -> None:
        """A label over the first or last bar is aligned to the view's edge, not cut by it."""
        (lo, hi), _ = vb.viewRange()
        half = 0.5 * label.boundingRect().width() * (vb.viewPixelSize()[0] or 0.0)
        anchor_y = float(label.anchor[1])
        if x + half > hi and x - 2 * half >= lo:
            label.setAnchor((1, anchor_y))
            label.setPos(hi, label.pos().y())
        elif x - half < lo and x + 2 * half <= hi:
            label.setAnchor((0, anchor_y))
            label.setPos(lo, label.pos().y())

    def _end_label(self, role: str) -> tuple[str, int, tuple[float, ...]] | None:
        """(text, class, x offsets of the bars it names) of one end label, or None. One model:
        "true" and "pred" ("true = pred" when they agree). Two: "true", "pred A" and "pred B",
        merged where they name the same class ("true = pred B", "pred A = pred B")."""
        true, a = self._true, self._predicted
        if self._logits_b is None:
            same = true is not None and true == a
            if role == "true" and true is not None:
                return ("true = pred" if same else "true", true, (0.0,))
            if role == "pred" and a is not None and not same:
                return ("pred", a, (0.0,))
            return None
        b = self._predicted_b
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
                ends.append(float((self._heights_b if b else self._heights)[slot]))
            else:
                p = float((self._probabilities_b if b else self._probabilities)[self._shown[slot]])
                ends.append(float(np.clip(p, 0.0, 1.0)) if math.isfinite(p) else 0.0)
        return max(ends, key=abs)

    def _fit_logit_range(self, *, force: bool) -> None:
        if self._heights.size == 0:
            return
        heights = np.concatenate([self._heights, self._heights_b])
        lo = min(0.0, float(heights.min()))
        hi = max(0.0, float(heights.max()))
        kit.fit_axis(self._logit_vb, 1, lo, hi, force=force)

    # ---- dragging --------------------------------------------------------------------------

    def _on_drag_start(self, pos: QPointF) -> bool:
        slot = self._slot_at(pos.x())
        if slot is None:
            return False
        # Comparing, the right half of a class's slot is model B's bar.
        b = self._logits_b is not None and pos.x() > slot
        height = float((self._heights_b if b else self._heights)[slot])
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
            self._heights_b[self._drag_slot] = value
            self.logit_bars_b.setOpts(height=self._heights_b)
        else:
            self._heights[self._drag_slot] = value
            self.logit_bars.setOpts(height=self._heights)
        self._place_end_labels()
        (self.sigLogitBDragged if self._drag_b else self.sigLogitDragged).emit(cls, value)

    def _on_drag_finish(self, pos: QPointF) -> None:
        if self._drag_slot is None:
            return
        self._on_drag_move(pos)
        cls = int(self._shown[self._drag_slot])
        self._drag_slot = None
        self._drag_b = False
        self._shown = shown_classes(self._ranking())
        self._redraw()
        self._fit_logit_range(force=True)
        self.sigDragFinished.emit(cls)

    @property
    def dragging(self) -> bool:
        return self._drag_slot is not None

    # ---- theme -----------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        kit.style_plot(self.logit_plot, theme, y_label="raw logit")
        kit.style_plot(self.probability_plot, theme, y_label="p")
        self._logit_zero.setPen(pg.mkPen(theme.foreground, width=1))
        for marks in (
            self.logit_marks,
            self.probability_marks,
            self.logit_marks_b,
            self.probability_marks_b,
        ):
            marks.apply_theme(theme)
        for (_, role), label in self._end_labels.items():
            kit.style_text(
                label, theme, 11, theme.true_class if role == "true" else theme.predicted
            )
        self._style_legend()
        self.hover.apply_theme(theme)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        kit.set_bars(self.logit_bars, pens, brushes)
        kit.set_bars(self.probability_bars, prob_pens, prob_brushes)
        if self._logits_b is not None:
            pens, brushes, prob_pens, prob_brushes = self._bar_styles_b()
            kit.set_bars(self.logit_bars_b, pens, brushes)
            kit.set_bars(self.probability_bars_b, prob_pens, prob_brushes)
        self._update_titles()
