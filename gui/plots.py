"""The pyqtgraph views of Softmax Lab: the selected sample, per-sample losses, the probability
heatmap, the −log p curve and the logit gradient.

Views only draw numbers that `core` computed. Every plot item is created once in ``__init__`` and
updated in place; the only transforms here are for display (top-k selection, clamping values that
cannot be drawn, formatting).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsItem, QWidget

from gui.theme import LIGHT, Theme

__all__ = [
    "MAX_BARS",
    "TOP_K",
    "GradientPlot",
    "LossCurvePlot",
    "LossPlot",
    "ProbabilityHeatmap",
    "SamplePlot",
]

MAX_BARS = 40  # above this many classes a bar chart shows only the TOP_K most relevant ones
TOP_K = 30
BAR_CURVE_LIMIT = 2000  # above this many samples LossPlot draws one step curve instead of bars
CURVE_BINS = 2048  # columns of that curve: the maximum loss of each run of samples
POINT_LIMIT = 4000  # above this many points the loss curve draws one marker per screen cell
# Finite values beyond this are drawn clamped, like ±inf: Qt geometry and axis tick maths lose
# precision (or overflow) long before float64 does.
DRAW_LIMIT = 1e9
LOSS_CURVE_MAX_Y = 12.0
_NAME_CHARS = 14  # class names longer than this are elided on axes (hover shows them in full)
_MIN_SIZE = (260, 180)


# --------------------------------------------------------------------------------------------
# formatting and display transforms


def format_value(value: float | None) -> str:
    """A value as the hover text shows it: 6 significant digits, and −∞ / +∞ / NaN spelled out."""
    if value is None:
        return "—"
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+∞" if v > 0 else "−∞"
    return f"{v:.6g}"


def _short(value: float) -> str:
    """A value for on-plot labels, where space is tight."""
    v = float(value)
    if not math.isfinite(v):
        return format_value(v)
    return f"{v:.4g}"


def _elide(name: str, limit: int = _NAME_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first; NaN ranks last, ties by lower index."""
    ranked = np.where(np.isnan(scores), -np.inf, scores)
    n = ranked.size
    if n > k:
        # argpartition keeps 50k-class vocabularies cheap; the exact order is sorted afterwards.
        candidates = np.argpartition(-ranked, k - 1)[:k]
        # Scores equal to the k-th may sit outside the partition; widen so ties break by index.
        kth = ranked[candidates].min()
        candidates = np.union1d(candidates, np.flatnonzero(ranked == kth))
    else:
        candidates = np.arange(n)
    order = np.lexsort((candidates, -ranked[candidates]))
    return candidates[order][:k].astype(np.int64)


def _drawable_heights(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bar heights that can be drawn, and a mask of the bars whose value could not be drawn as is.

    NaN becomes a zero-height bar; ±inf and values beyond DRAW_LIMIT are drawn a little beyond the
    finite data, so they read as "off the scale" without stretching the axis to infinity.
    """
    values = np.asarray(values, dtype=np.float64)
    drawable = np.isfinite(values) & (np.abs(values) <= DRAW_LIMIT)
    lo = min(0.0, float(values[drawable].min())) if drawable.any() else 0.0
    hi = max(0.0, float(values[drawable].max())) if drawable.any() else 0.0
    span = (hi - lo) or 1.0
    heights = np.where(drawable, values, 0.0)
    heights[~drawable & (values > 0)] = hi + 0.15 * span
    heights[~drawable & (values < 0)] = lo - 0.15 * span
    return heights, ~drawable


def _as_vector(values: object, n: int, dtype: type, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=dtype).reshape(-1)
    if array.size != n:
        raise ValueError(f"{name} has {array.size} entries, expected {n}")
    return array


def _nice_stride(minimum: float) -> int:
    """The smallest of 1, 2, 3, 4, 5, 10, 20, 50, 100, ... that is at least `minimum`."""
    if not math.isfinite(minimum) or minimum <= 1:
        return 1
    if minimum <= 5:
        return math.ceil(minimum)
    magnitude = 10 ** math.floor(math.log10(minimum))
    for step in (1, 2, 5, 10):
        if step * magnitude >= minimum:
            return int(step * magnitude)
    return int(10 * magnitude)


def qcolor(hex_color: str, alpha: int = 255) -> QColor:
    """A QColor from a hex string with an alpha (shared by every plot module)."""
    color = QColor(hex_color)
    color.setAlpha(alpha)
    return color


def make_pen(color: str | QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = pg.mkPen(color, width=width)
    pen.setStyle(style)
    return pen


def scaled_font(theme: Theme, size: float) -> QFont:
    font = QFont()
    font.setPixelSize(theme.px(size))
    return font


def _fit_axis(vb: pg.ViewBox, axis: int, lo: float, hi: float, *, force: bool) -> None:
    """Set one axis of `vb` to show [lo, hi] when forced, when the data left the current range, or
    when the data shrank to under a third of it; otherwise leave it, so live edits do not jitter."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return
    if hi - lo <= 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    cur_lo, cur_hi = vb.viewRange()[axis]
    too_loose = (hi - lo) < 0.3 * (cur_hi - cur_lo)
    if force or lo < cur_lo or hi > cur_hi or too_loose:
        if axis == 0:
            vb.setXRange(lo, hi, padding=0.04)
        else:
            vb.setYRange(lo, hi, padding=0.1)


# --------------------------------------------------------------------------------------------
# shared plot pieces


class _InteractiveViewBox(pg.ViewBox):
    """A ViewBox that offers left clicks and left drags to its owner before it pans or zooms.

    The owner's `drag_start` decides from the press position (view coordinates) whether a drag is
    its own; only then are `drag_move` / `drag_finish` called and the default pan skipped.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._handlers: dict[str, weakref.WeakMethod] = {}
        self._owner_drag = False

    def set_handlers(self, **handlers: Callable[[QPointF], object]) -> None:
        """click / drag_start return True to claim the event; drag_move / drag_finish follow.

        Held weakly: the handlers are bound methods of the widget that owns this view box, and a
        strong reference would make a Python-level cycle through a Qt-owned object.
        """
        self._handlers = {name: weakref.WeakMethod(method) for name, method in handlers.items()}

    def _call(self, name: str, pos: QPointF) -> object:
        ref = self._handlers.get(name)
        method = ref() if ref is not None else None
        return None if method is None else method(pos)

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self._call(
            "click", self.mapToView(ev.pos())
        ):
            ev.accept()
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: MouseDragEvent, axis: int | None = None) -> None:
        if axis is None and ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                claimed = self._call("drag_start", self.mapToView(ev.buttonDownPos()))
                self._owner_drag = bool(claimed)
            if self._owner_drag:
                ev.accept()
                pos = self.mapToView(ev.pos())
                if ev.isFinish():
                    self._owner_drag = False
                    self._call("drag_finish", pos)
                else:
                    self._call("drag_move", pos)
                return
        super().mouseDragEvent(ev, axis)


class _CategoryAxis(pg.AxisItem):
    """An axis that labels integer positions (classes, samples), thinning labels so they never
    overlap: the label stride adapts to zoom and widget size at every repaint."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        # The first and last labels may reach past the axis ends by half a label (elided names
        # are at most ~80 px wide); pyqtgraph would hide them otherwise.
        self.setStyle(hideOverlappingLabels=45)
        self._count = 0
        self._label: Callable[[int], str] = str
        self._widest = ""

    def set_categories(
        self, count: int, label: Callable[[int], str] = str, widest: str | None = None
    ) -> None:
        widest = widest if widest is not None else (label(count - 1) if count else "")
        # Labels are compared in full for up to a few hundred categories (renamed classes must
        # show), by their ends beyond: re-rendering the axis picture costs ~2 ms per update.
        shown = range(count) if count <= 400 else (0, count - 1)
        key = (count, widest, tuple(label(i) for i in shown))
        if key == getattr(self, "_key", None):
            return
        self._key = key
        self._count = count
        self._label = label
        self._widest = widest
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        lo_v, hi_v = sorted((minVal, maxVal))
        if self._count == 0 or size <= 0 or hi_v <= lo_v:
            return []
        lo = max(0, math.ceil(lo_v))
        hi = min(self._count - 1, math.floor(hi_v))
        if hi < lo:
            return []
        metrics = QFontMetricsF(self.style["tickFont"] or QFont())
        if self.orientation in ("bottom", "top"):
            needed = metrics.horizontalAdvance(self._widest) + 10
        else:
            needed = metrics.height() + 4
        stride = _nice_stride(needed / (size / (hi_v - lo_v)))
        first = lo + (-lo) % stride
        return [(float(stride), list(range(first, hi + 1, stride)))]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [self._label(int(v)) if 0 <= int(v) < self._count else "" for v in values]


class HoverLabel:
    """A text box that follows the mouse inside one ViewBox.

    It is parented to the ViewBox itself (pixel coordinates), not to the data, so it never pans or
    scales, and it flips its anchor to stay inside the box.
    """

    def __init__(self, vb: pg.ViewBox) -> None:
        self.vb = vb
        self.item = pg.TextItem(anchor=(0, 0))
        self.item.setParentItem(vb)
        self.item.setZValue(1e6)
        self.item.hide()

    def show_at(self, scene_pos: QPointF, text: str) -> None:
        local = self.vb.mapFromScene(scene_pos)
        rect = self.vb.boundingRect()
        right = local.x() > rect.center().x()
        below = local.y() > rect.center().y()
        self.item.setText(text)
        self.item.setAnchor((1 if right else 0, 1 if below else 0))
        self.item.setPos(local + QPointF(-12 if right else 12, -12 if below else 12))
        self.item.show()

    def hide(self) -> None:
        self.item.hide()

    def apply_theme(self, theme: Theme) -> None:
        self.item.setColor(theme.foreground)
        self.item.setFont(scaled_font(theme, 12))
        self.item.fill = pg.mkBrush(qcolor(theme.background, 235))
        self.item.border = pg.mkPen(theme.foreground, width=1)
        self.item.update()


class _MarkPool:
    """Text marks ("−∞", "NaN", "1e+30") for bars whose value could not be drawn as is.

    A bar chart never shows more than MAX_BARS bars, so a fixed pool of MAX_BARS hidden text items
    is created once and reused; nothing is created or removed per update.
    """

    def __init__(self, plot: pg.PlotItem, size: int = MAX_BARS) -> None:
        self.items = [pg.TextItem(anchor=(0.5, 1)) for _ in range(size)]
        for item in self.items:
            item.setZValue(20)
            item.hide()
            plot.addItem(item, ignoreBounds=True)

    def show(self, marks: Sequence[tuple[float, float, str, bool]]) -> None:
        """marks: (x, y, text, hang_below) for each bar to label; the rest are hidden."""
        for i, item in enumerate(self.items):
            if i < len(marks):
                x, y, text, hang_below = marks[i]
                item.setText(text)
                item.setAnchor((0.5, 0 if hang_below else 1))
                item.setPos(x, y)
                item.show()
            else:
                item.hide()

    def texts(self) -> list[str]:
        return [item.toPlainText() for item in self.items if item.isVisible()]

    def apply_theme(self, theme: Theme) -> None:
        for item in self.items:
            item.setColor(theme.foreground)
            item.setFont(scaled_font(theme, 11))
            item.fill = pg.mkBrush(qcolor(theme.background, 210))
            item.update()


def _bar_marks(x: np.ndarray, heights: np.ndarray, values: np.ndarray, mask: np.ndarray) -> list:
    """Marks for the masked bars: inside the clamped bar's end, or just above 0 for NaN."""
    marks = []
    for slot in np.flatnonzero(mask):
        height = float(heights[slot])
        # Hang the text inside a clamped bar's far end so it never leaves the view.
        marks.append((float(x[slot]), height, format_value(values[slot]), height > 0))
    return marks


def _set_title(plot: pg.PlotItem, theme: Theme, title: str) -> None:
    key = (title, theme.foreground, theme.px(10))
    if getattr(plot, "_softmax_lab_title", None) == key:
        return  # re-laying out a label costs more than the rest of a small plot's update
    plot._softmax_lab_title = key
    plot.setTitle(title, color=theme.foreground, size=f"{theme.px(10)}pt")
    # PlotItem hard-codes a 30 px title row; larger presentation scales need more.
    plot.layout.setRowFixedHeight(0, theme.px(26))
    plot.titleLabel.setMaximumHeight(theme.px(26))


def _set_bars(bars: pg.BarGraphItem, pens: list, brushes: list, **data: object) -> None:
    """Update a BarGraphItem in place. Empty pen lists are left out: BarGraphItem cannot take
    them (it reads the last pen of the list)."""
    if pens:
        data.update(pens=pens, brushes=brushes)
    if data:
        bars.setOpts(**data)


def _style_plot(
    plot: pg.PlotItem,
    theme: Theme,
    x_label: str | None = None,
    y_label: str | None = None,
) -> None:
    """Colours, fonts and grid of one PlotItem, all scaled by the theme."""
    tick_font = scaled_font(theme, 11)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.foreground, width=1))
        axis.setTextPen(pg.mkPen(theme.foreground))
        axis.setTickFont(tick_font)
        if name in ("bottom", "top"):
            # pyqtgraph grows a bottom axis only after it has drawn text, and at presentation
            # scales the labels never fit the 1x height to begin with: reserve their height.
            axis.setStyle(
                autoExpandTextSpace=False, tickTextHeight=round(tick_font.pixelSize() * 1.3)
            )
        # Axes repaint from a cached pixmap unless their ticks change (measured ~8 ms per edit).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Auto SI prefixes turn a loss of 0.4 into "400 (x0.001)": never what a learner wants.
        # pyqtgraph 0.14's enableAutoSIPrefix(False) still rescales when the label is visible,
        # so also leave it no value range in which to apply a prefix.
        axis.setSIPrefixEnableRanges(())
        axis.enableAutoSIPrefix(False)
    label_style = {"color": theme.foreground, "font-size": f"{theme.px(9)}pt"}
    if x_label is not None:
        plot.setLabel("bottom", x_label, **label_style)
    if y_label is not None:
        plot.setLabel("left", y_label, **label_style)
    plot.showGrid(x=False, y=True, alpha=theme.grid_alpha)


def _place_end_label(label: pg.TextItem, vb: pg.ViewBox, x: float, y_end: float) -> None:
    """Put a bar's label just beyond its end when there is room in the view, else inside it."""
    _, (view_lo, view_hi) = vb.viewRange()
    pixel_h = vb.viewPixelSize()[1] or 1.0
    needed = 22 * pixel_h  # one line of label text, in data units
    if y_end >= 0:
        outside = y_end + needed <= view_hi
        label.setAnchor((0.5, 1 if outside else 0))
    else:
        outside = y_end - needed >= view_lo
        label.setAnchor((0.5, 0 if outside else 1))
    label.setPos(x, y_end)


# --------------------------------------------------------------------------------------------
# 1. the selected sample


class SamplePlot(pg.GraphicsLayoutWidget):
    """Raw logits (left) and softmax probabilities (right) of the selected sample.

    Dragging a logit bar vertically edits that logit live (`sigLogitDragged`), and `sigDragFinished`
    follows on release.
    """

    sigLogitDragged = Signal(int, float)  # real class index, new raw logit (y under the mouse)
    sigDragFinished = Signal(int)  # real class index

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumSize(*_MIN_SIZE)
        self._theme = theme
        self._logits = np.zeros(0)
        self._probabilities = np.zeros(0)
        self._names: list[str] = []
        self._true: int | None = None
        self._predicted = -1
        self._shown = np.zeros(0, dtype=np.int64)
        self._heights = np.zeros(0)
        self._clamped = np.zeros(0, dtype=bool)
        self._drag_slot: int | None = None
        self._last_dragged: float | None = None
        self._ranged = False

        self._logit_vb = _InteractiveViewBox()
        self._logit_axis = _CategoryAxis("bottom")
        self.logit_plot: pg.PlotItem = self.addPlot(
            row=0, col=0, viewBox=self._logit_vb, axisItems={"bottom": self._logit_axis}
        )
        self._prob_axis = _CategoryAxis("bottom")
        self.probability_plot: pg.PlotItem = self.addPlot(
            row=0, col=1, axisItems={"bottom": self._prob_axis}
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
        self._logit_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.logit_plot.addItem(self._logit_zero, ignoreBounds=True)
        self.logit_marks = _MarkPool(self.logit_plot)
        self.probability_marks = _MarkPool(self.probability_plot)
        # "true" / "pred" labels at the bar ends, one pair per plot.
        self._end_labels = {
            (plot_key, role): pg.TextItem(anchor=(0.5, 1))
            for plot_key in ("logit", "prob")
            for role in ("true", "pred")
        }
        for (plot_key, _), label in self._end_labels.items():
            label.setZValue(30)
            label.hide()
            plot = self.logit_plot if plot_key == "logit" else self.probability_plot
            plot.addItem(label, ignoreBounds=True)

        self._hover = {
            self._logit_vb: HoverLabel(self._logit_vb),
            self._prob_vb: HoverLabel(self._prob_vb),
        }
        self._logit_vb.set_handlers(
            drag_start=self._on_drag_start,
            drag_move=self._on_drag_move,
            drag_finish=self._on_drag_finish,
        )
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        for vb in (self._logit_vb, self._prob_vb):
            vb.sigRangeChanged.connect(self._place_end_labels)
            vb.sigResized.connect(self._place_end_labels)
        self.set_theme(theme)

    # ---- data ------------------------------------------------------------------------------

    def set_sample(
        self,
        logits: np.ndarray,
        probabilities: np.ndarray,
        class_names: list[str],
        true_class: int | None,
        predicted: int,
    ) -> None:
        """Show one sample: raw logits (C,), probabilities (C,), the class names, the true class
        (None for ignored rows or soft targets) and the predicted class."""
        logits = np.array(logits, dtype=np.float64).reshape(-1)
        n = logits.size
        self._logits = logits
        self._probabilities = _as_vector(probabilities, n, np.float64, "probabilities").copy()
        if len(class_names) != n:
            raise ValueError(f"{len(class_names)} class names for {n} logits")
        self._names = list(class_names)
        self._true = None if true_class is None else int(true_class)
        self._predicted = int(predicted)
        # Mid-drag the shown classes stay put: re-ranking would move the bar out from under the
        # mouse. The ranking is refreshed when the drag ends.
        if self._drag_slot is None or self._shown.size == 0 or self._shown.max() >= n:
            self._shown = self._choose_shown()
        self._redraw()
        if self._drag_slot is None:
            self._fit_logit_range(force=not self._ranged)
            self._ranged = True

    def shown_classes(self) -> np.ndarray:
        """Class indices of the bars, left to right."""
        return self._shown.copy()

    def hover_text_at(self, x: float, y: float) -> str | None:
        """Hover text for a point in view coordinates of either plot (they share x): the class
        under x with its exact logit and probability, or None off the bars."""
        slot = self._slot_at(x)
        if slot is None:
            return None
        cls = int(self._shown[slot])
        lines = [f"{self._names[cls]}  (class {cls})"]
        lines.append(f"logit = {format_value(self._logits[cls])}")
        lines.append(f"p = {format_value(self._probabilities[cls])}")
        roles = [r for r, c in (("true", self._true), ("predicted", self._predicted)) if c == cls]
        if roles:
            lines.append(" · ".join(roles))
        return "\n".join(lines)

    def _choose_shown(self) -> np.ndarray:
        n = self._logits.size
        if n > MAX_BARS:
            return _top_k(self._probabilities, TOP_K)
        return np.arange(n, dtype=np.int64)

    def _slot_at(self, x: float) -> int | None:
        if not math.isfinite(x):
            return None
        slot = math.floor(x + 0.5)
        return slot if 0 <= slot < self._shown.size else None

    def _redraw(self) -> None:
        shown = self._shown
        x = np.arange(shown.size, dtype=np.float64)
        logits = self._logits[shown]
        self._heights, self._clamped = _drawable_heights(logits)
        probabilities = self._probabilities[shown]
        prob_bad = ~np.isfinite(probabilities)
        prob_heights = np.clip(np.where(prob_bad, 0.0, probabilities), 0.0, 1.0)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        _set_bars(self.logit_bars, pens, brushes, x=x, height=self._heights, width=0.8)
        _set_bars(self.probability_bars, prob_pens, prob_brushes, x=x, height=prob_heights)
        self.logit_marks.show(_bar_marks(x, self._heights, logits, self._clamped))
        self.probability_marks.show(_bar_marks(x, prob_heights, probabilities, prob_bad))

        names = [self._names[int(c)] for c in shown]
        widest = max((_elide(s) for s in names), key=len, default="")
        for axis in (self._logit_axis, self._prob_axis):
            axis.set_categories(len(names), lambda i, names=names: _elide(names[i]), widest)
        self._logit_vb.setXRange(-0.6, shown.size - 0.4, padding=0)
        self._update_titles()
        self._place_end_labels()

    def _bar_styles(self) -> tuple[list, list, list, list]:
        """Per-bar pens and brushes: true class solid outline, predicted dashed, clamped hatched."""
        t = self._theme
        plain = QPen(Qt.PenStyle.NoPen)
        true_pen = make_pen(t.true_class, t.px(3))
        pred_pen = make_pen(t.predicted, t.px(3), Qt.PenStyle.DashLine)
        logit_brush = pg.mkBrush(t.logit)
        hatched = QBrush(qcolor(t.logit), Qt.BrushStyle.BDiagPattern)
        prob_brush = pg.mkBrush(t.probability)
        pens = []
        for cls in self._shown:
            if cls == self._true:
                pens.append(true_pen)
            elif cls == self._predicted:
                pens.append(pred_pen)
            else:
                pens.append(plain)
        clamped_pen = make_pen(t.logit, 1)
        logit_pens = [
            clamped_pen if bad and pen is plain else pen
            for pen, bad in zip(pens, self._clamped, strict=True)
        ]
        brushes = [hatched if bad else logit_brush for bad in self._clamped]
        return logit_pens, brushes, pens, [prob_brush] * len(pens)

    def _update_titles(self) -> None:
        n = self._logits.size
        suffix = f" · top {self._shown.size} of {n:,}" if self._shown.size < n else ""
        if self._true is not None and self._true not in self._shown:
            suffix += f" · true #{self._true} not shown"
        _set_title(self.logit_plot, self._theme, f"Logits{suffix}")
        prob_title = "Softmax probabilities"
        shown_p = self._probabilities[self._shown]
        shown_p = shown_p[np.isfinite(shown_p)]
        if shown_p.size and shown_p.max() < 0.02:
            # On a fixed [0, 1] axis such bars are invisible; say why the plot looks empty.
            prob_title += f" · max p = {_short(shown_p.max())}"
        _set_title(self.probability_plot, self._theme, prob_title)

    def _place_end_labels(self) -> None:
        slots = {int(c): i for i, c in enumerate(self._shown)}
        same = self._true is not None and self._true == self._predicted
        roles = {"true": self._true, "pred": None if same else self._predicted}
        for (plot_key, role), label in self._end_labels.items():
            slot = slots.get(roles[role]) if roles[role] is not None else None
            if slot is None:
                label.hide()
                continue
            label.setText("true = pred" if same and role == "true" else role)
            if plot_key == "logit":
                _place_end_label(label, self._logit_vb, slot, float(self._heights[slot]))
            else:
                p = self._probabilities[self._shown[slot]]
                height = float(np.clip(p, 0.0, 1.0)) if math.isfinite(p) else 0.0
                _place_end_label(label, self._prob_vb, slot, height)
            label.show()

    def _fit_logit_range(self, *, force: bool) -> None:
        if self._heights.size == 0:
            return
        lo = min(0.0, float(self._heights.min()))
        hi = max(0.0, float(self._heights.max()))
        _fit_axis(self._logit_vb, 1, lo, hi, force=force)

    # ---- dragging --------------------------------------------------------------------------

    def _on_drag_start(self, pos: QPointF) -> bool:
        slot = self._slot_at(pos.x())
        if slot is None:
            return False
        height = float(self._heights[slot])
        tolerance = self._theme.px(10) * (self._logit_vb.viewPixelSize()[1] or 0.0)
        if not min(0.0, height) - tolerance <= pos.y() <= max(0.0, height) + tolerance:
            return False
        self._drag_slot = slot
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
        self._heights[self._drag_slot] = value
        self.logit_bars.setOpts(height=self._heights)
        self._place_end_labels()
        self.sigLogitDragged.emit(cls, value)

    def _on_drag_finish(self, pos: QPointF) -> None:
        if self._drag_slot is None:
            return
        self._on_drag_move(pos)
        cls = int(self._shown[self._drag_slot])
        self._drag_slot = None
        self._shown = self._choose_shown()
        self._redraw()
        self._fit_logit_range(force=True)
        self.sigDragFinished.emit(cls)

    # ---- hover and theme -------------------------------------------------------------------

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        for vb, label in self._hover.items():
            text = None
            if vb.sceneBoundingRect().contains(scene_pos):
                view = vb.mapSceneToView(scene_pos)
                text = self.hover_text_at(view.x(), view.y())
            if text is None:
                label.hide()
            else:
                label.show_at(scene_pos, text)

    def leaveEvent(self, ev: QEvent) -> None:
        for label in self._hover.values():
            label.hide()
        super().leaveEvent(ev)

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        _style_plot(self.logit_plot, theme, y_label="raw logit")
        _style_plot(self.probability_plot, theme, y_label="p")
        self._logit_zero.setPen(pg.mkPen(theme.foreground, width=1))
        for marks in (self.logit_marks, self.probability_marks):
            marks.apply_theme(theme)
        for (_, role), label in self._end_labels.items():
            label.setColor(theme.true_class if role == "true" else theme.predicted)
            label.setFont(scaled_font(theme, 11))
        for label in self._hover.values():
            label.apply_theme(theme)
        pens, brushes, prob_pens, prob_brushes = self._bar_styles()
        _set_bars(self.logit_bars, pens, brushes)
        _set_bars(self.probability_bars, prob_pens, prob_brushes)
        self._update_titles()


# --------------------------------------------------------------------------------------------
# 2. per-sample losses


class _HoverMixin:
    """Shows ``hover_text_at`` under the mouse in a plot with one view box (``self._vb``) and
    one hover label (``self._hover``); hides it when the mouse leaves."""

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        text = None
        if self._vb.sceneBoundingRect().contains(scene_pos):
            view = self._vb.mapSceneToView(scene_pos)
            text = self.hover_text_at(view.x(), view.y())
        if text is None:
            self._hover.hide()
        else:
            self._hover.show_at(scene_pos, text)

    def leaveEvent(self, ev: QEvent) -> None:
        self._hover.hide()
        super().leaveEvent(ev)


class LossPlot(_HoverMixin, pg.PlotWidget):
    """Per-sample loss bars (a filled step curve above BAR_CURVE_LIMIT samples) with the reduced
    loss; correct / incorrect differ by colour and by marker shape ('o' / 'x')."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        vb, axis = _InteractiveViewBox(), _CategoryAxis("bottom")
        super().__init__(parent=parent, viewBox=vb, axisItems={"bottom": axis})
        self._vb, self._axis = vb, axis
        self.setMinimumSize(*_MIN_SIZE)
        self._theme = theme
        self._losses = np.zeros(0)
        self._correct = np.zeros(0, dtype=bool)
        self._valid = np.zeros(0, dtype=bool)
        self._bad = np.zeros(0, dtype=bool)  # loss not drawable as is (NaN, ±inf, huge)
        self._heights = np.zeros(0)
        self._reduced: float | None = None
        self._reduction = "none"
        self._selected = -1
        self._title = "Per-sample loss"
        self._ranged_count = -1  # sample count the x range was last fitted to
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0.0)
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.curve.hide()
        self.marks = pg.ScatterPlotItem(pxMode=True)
        self.marks.setZValue(10)
        self.selection_line = pg.InfiniteLine(angle=90, movable=False)
        self.selection_line.setZValue(-5)
        self.reduced_line = pg.InfiniteLine(
            angle=0,
            movable=False,
            label="mean = {value:.4g}",
            labelOpts={"position": 0.97, "anchors": [(1, 1), (1, 0)]},
        )
        self.reduced_line.setZValue(15)
        self.reduced_line.hide()
        # "sum = X" (or a non-finite mean) lives in the ViewBox's pixel space, top right.
        self.reduced_text = pg.TextItem(anchor=(1, 0))
        self.reduced_text.setParentItem(self._vb)
        self.reduced_text.setZValue(40)
        self.reduced_text.hide()
        for item in (self.bars, self.curve, self.marks):
            plot.addItem(item)
        plot.addItem(self.selection_line, ignoreBounds=True)
        plot.addItem(self.reduced_line, ignoreBounds=True)

        self._hover = HoverLabel(self._vb)
        self._vb.set_handlers(click=self._on_click)
        self._vb.sigResized.connect(self._place_reduced_text)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_theme(theme)

    def set_losses(
        self,
        losses: np.ndarray,
        correct: np.ndarray,
        valid: np.ndarray,
        finite: np.ndarray,
        reduced: float | None,
        reduction: str,
        selected: int,
    ) -> None:
        """Show per-sample losses (N,) with their correct / valid / finite flags (N,), the reduced
        loss under `reduction` ("mean", "sum" or "none") and the selected sample."""
        losses = np.array(losses, dtype=np.float64).reshape(-1)
        n = losses.size
        self._losses = losses
        self._correct = _as_vector(correct, n, bool, "correct")
        self._valid = _as_vector(valid, n, bool, "valid")
        finite_flags = _as_vector(finite, n, bool, "finite")
        self._heights, bad = _drawable_heights(losses)
        self._bad = bad | ~finite_flags
        self._reduced = None if reduced is None else float(reduced)
        self._reduction = reduction
        self._selected = int(selected)

        use_curve = n > BAR_CURVE_LIMIT
        if use_curve:
            # The outline of per-bin maxima: no screen shows more than ~2,000 columns, and a
            # 50,000-step path costs ~40 ms to rebuild on every edit.
            bins = min(n, CURVE_BINS)
            bounds = np.linspace(0, n, bins + 1).round().astype(np.int64)
            peaks = np.maximum.reduceat(self._heights, bounds[:-1])
            self.curve.setData(x=bounds.astype(np.float64) - 0.5, y=peaks)
            # The hidden bars drop their data so they cost nothing.
            self.bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        else:
            self.curve.setData(x=np.zeros(0), y=np.zeros(0))
            pens, brushes = self._bar_styles()
            _set_bars(
                self.bars, pens, brushes, x=np.arange(n, dtype=np.float64), height=self._heights
            )
        self.curve.setVisible(use_curve)
        self.bars.setVisible(not use_curve)
        self._update_marks()
        self._update_reduced()
        self.selection_line.setVisible(0 <= self._selected < n)
        if 0 <= self._selected < n:
            self.selection_line.setValue(self._selected)
        self._axis.set_categories(n)
        self._update_title()
        self._fit_range()

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The sample under x (view coordinates) with its exact loss, or None."""
        i = self._index_at(x)
        if i is None:
            return None
        if not self._valid[i]:
            state = "ignored"
        else:
            state = "✓ correct" if self._correct[i] else "✗ incorrect"
        return f"sample {i} · {state}\nloss = {format_value(self._losses[i])}"

    def _index_at(self, x: float) -> int | None:
        if not math.isfinite(x):
            return None
        i = math.floor(x + 0.5)
        return i if 0 <= i < self._losses.size else None

    def _on_click(self, pos: QPointF) -> bool:
        i = self._index_at(pos.x())
        if i is None:
            return False
        self.sigSampleClicked.emit(i)
        return True

    def _codes(self) -> np.ndarray:
        """0 correct, 1 incorrect, 2 ignored, 3 not drawable (non-finite / huge)."""
        codes = np.where(self._correct, 0, 1)
        codes[~self._valid] = 2
        codes[self._bad & self._valid] = 3
        return codes

    def _bar_styles(self) -> tuple[list, list]:
        t = self._theme
        brushes = [
            pg.mkBrush(t.correct),
            pg.mkBrush(t.incorrect),
            pg.mkBrush(qcolor(t.ignored, 150)),
            QBrush(qcolor(t.incorrect), Qt.BrushStyle.BDiagPattern),
        ]
        no_pen = QPen(Qt.PenStyle.NoPen)
        pens = [no_pen, no_pen, no_pen, make_pen(t.incorrect, 1)]
        codes = self._codes()
        pen_list = [pens[c] for c in codes]
        if 0 <= self._selected < codes.size:
            pen_list[self._selected] = make_pen(t.selection, t.px(3))
        return pen_list, [brushes[c] for c in codes]

    def _update_marks(self) -> None:
        """Second cue next to colour: 'o' correct, 'x' incorrect, '_' ignored at the baseline, and
        a hollow '▲' on bars that are off the scale. In curve mode only the off-scale ones."""
        t = self._theme
        n = self._losses.size
        codes = self._codes()
        idx = np.flatnonzero(codes == 3) if n > BAR_CURVE_LIMIT else np.arange(n)
        codes = codes[idx]
        symbols = np.array(["o", "x", "_", "t1"])[codes]
        y = np.where(codes == 2, 0.0, self._heights[idx])
        size = t.px(8) if n <= 100 else t.px(5)
        pens = [
            pg.mkPen(t.correct, width=t.px(1)),
            pg.mkPen(t.incorrect, width=t.px(2)),
            pg.mkPen(t.ignored, width=t.px(2)),
            pg.mkPen(t.incorrect, width=t.px(2)),
        ]
        brushes = [pg.mkBrush(t.correct), pg.mkBrush(None), pg.mkBrush(None), pg.mkBrush(None)]
        self.marks.setData(
            x=idx.astype(np.float64),
            y=y,
            symbol=symbols,
            size=size,
            pen=[pens[c] for c in codes],
            brush=[brushes[c] for c in codes],
            data=idx,
        )

    def _update_reduced(self) -> None:
        reduced = self._reduced
        # A non-finite (or absurdly large) mean cannot be a line on the axis: it becomes text.
        show_line = self._reduction == "mean" and reduced is not None and abs(reduced) <= DRAW_LIMIT
        self.reduced_line.setVisible(show_line)
        if show_line:
            self.reduced_line.setValue(reduced)
        show_text = self._reduction != "none" and reduced is not None and not show_line
        if show_text:
            self.reduced_text.setText(f"{self._reduction} = {_short(reduced)}")
            self._place_reduced_text()
        self.reduced_text.setVisible(show_text)

    def _place_reduced_text(self) -> None:
        rect = self._vb.boundingRect()
        self.reduced_text.setPos(rect.right() - 6, rect.top() + 4)

    def _update_title(self) -> None:
        n = self._losses.size
        title = f"Per-sample loss · {n:,} samples"
        if n > BAR_CURVE_LIMIT:
            title += " (step curve)"
        bad = int((self._bad & self._valid).sum())
        if bad:
            title += f" · {bad} non-finite ▲"
        self._title = title
        _set_title(self.getPlotItem(), self._theme, title)

    def _fit_range(self) -> None:
        n = self._losses.size
        if n == 0:
            return
        lo = min(0.0, float(self._heights.min()))
        hi = max(0.0, float(self._heights.max()))
        if self.reduced_line.isVisible():
            hi = max(hi, float(self._reduced))
        if hi - lo <= 1e-12:
            hi = lo + 1.0
        force = n != self._ranged_count
        if force:
            self._vb.setXRange(-0.5, n - 0.5, padding=0.02)
            self._ranged_count = n
        _fit_axis(self._vb, 1, lo, hi, force=force)

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        plot = self.getPlotItem()
        _style_plot(plot, theme, x_label="sample", y_label="loss")
        _set_title(plot, theme, self._title)
        self.curve.setPen(pg.mkPen(theme.probability, width=theme.px(1)))
        self.curve.setBrush(pg.mkBrush(qcolor(theme.probability, 110)))
        self.selection_line.setPen(make_pen(theme.selection, theme.px(2), Qt.PenStyle.DashLine))
        self.reduced_line.setPen(make_pen(theme.reduced_line, theme.px(2), Qt.PenStyle.DashLine))
        for text in (self.reduced_line.label, self.reduced_text):
            text.setColor(theme.foreground)
            text.setFont(scaled_font(theme, 12))
            text.fill = pg.mkBrush(qcolor(theme.background, 220))
            text.update()
        self._hover.apply_theme(theme)
        if self._losses.size:
            if self.bars.isVisible():
                pens, brushes = self._bar_styles()
                _set_bars(self.bars, pens, brushes)
            self._update_marks()


# --------------------------------------------------------------------------------------------
# 3. probability heatmap


class ProbabilityHeatmap(_HoverMixin, pg.PlotWidget):
    """Samples (rows, downwards) x classes (columns) of probabilities on a fixed [0, 1] colour
    scale, with each row's true class marked and the selected row outlined."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        vb, x_axis, y_axis = _InteractiveViewBox(), _CategoryAxis("bottom"), _CategoryAxis("left")
        super().__init__(parent=parent, viewBox=vb, axisItems={"bottom": x_axis, "left": y_axis})
        self._vb, self._x_axis, self._y_axis = vb, x_axis, y_axis
        self._title = "Probabilities"
        self.setMinimumSize(*_MIN_SIZE)
        self._theme = theme
        self._values = np.zeros((0, 0))  # as given, for hover
        self._bad = np.zeros((0, 0), dtype=bool)
        self._rows = np.zeros(0, dtype=np.int64)
        self._targets = np.zeros(0, dtype=np.int64)
        self._valid = np.zeros(0, dtype=bool)
        self._names: list[str] = []
        self._selected = -1
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.invertY(True)
        self._vb.disableAutoRange()

        self.image = pg.ImageItem(axisOrder="row-major")
        # NaN / ±inf cells: drawn as 0 underneath, then painted in a distinct flat colour on top.
        self.nan_overlay = pg.ImageItem(axisOrder="row-major")
        self.nan_overlay.setZValue(1)
        self.true_markers = pg.ScatterPlotItem(pxMode=True, symbol="o")
        self.true_markers.setZValue(5)
        # The selected row's outline: a closed 5-point curve (a pyqtgraph item, so it restyles
        # and is owned like every other plot item).
        self.selection_outline = pg.PlotDataItem()
        self.selection_outline.setZValue(6)
        self.selection_outline.hide()
        plot.addItem(self.image)
        plot.addItem(self.nan_overlay)
        plot.addItem(self.true_markers)
        plot.addItem(self.selection_outline, ignoreBounds=True)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0), interactive=False, colorMapMenu=False, width=14
        )
        self.colorbar.setImageItem(self.image, insert_in=plot)

        self._hover = HoverLabel(self._vb)
        self._vb.set_handlers(click=self._on_click)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_theme(theme)

    def set_probabilities(
        self,
        probabilities: np.ndarray,
        targets: np.ndarray,
        valid: np.ndarray,
        class_names: list[str],
        selected: int,
        rows: np.ndarray | None = None,
    ) -> None:
        """Show the display matrix (R, C). `rows` (R,) maps display rows to sample indices when
        the caller shows a subset (None = row r is sample r); `targets`/`valid` are per shown row;
        `selected` is a sample index."""
        # float64, so that huge entries stay exact for hover instead of overflowing a float32 cast.
        values = np.array(probabilities, dtype=np.float64, ndmin=2)
        if values.ndim != 2:
            raise ValueError(f"probabilities must be 2-D, got shape {values.shape}")
        r, c = values.shape
        if len(class_names) != c:
            raise ValueError(f"{len(class_names)} class names for {c} columns")
        old_shape = self._values.shape
        self._values = values
        self._bad = ~np.isfinite(values)
        self._rows = (
            np.arange(r, dtype=np.int64) if rows is None else _as_vector(rows, r, np.int64, "rows")
        )
        self._targets = _as_vector(targets, r, np.int64, "targets")
        self._valid = _as_vector(valid, r, bool, "valid")
        self._names = list(class_names)
        self._selected = int(selected)

        if r and c:
            shown = np.clip(np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
            self.image.setImage(shown.astype(np.float32), autoLevels=False, levels=(0.0, 1.0))
            self.image.setRect(QRectF(-0.5, -0.5, c, r))
            self._draw_overlay()
            self.nan_overlay.setRect(QRectF(-0.5, -0.5, c, r))
        self.image.setVisible(bool(r and c))
        self.nan_overlay.setVisible(bool(r and c and self._bad.any()))

        marked = self._valid & (self._targets >= 0) & (self._targets < c)
        rows_marked = np.flatnonzero(marked)
        self.true_markers.setData(
            x=self._targets[rows_marked].astype(np.float64),
            y=rows_marked.astype(np.float64),
            data=rows_marked,
        )
        self._update_selection()

        names = list(class_names)
        self._x_axis.set_categories(
            c, lambda i: _elide(names[i]), max((_elide(s) for s in names), key=len, default="")
        )
        sample_of = self._rows
        widest_row = str(sample_of.max(initial=0))
        self._y_axis.set_categories(r, lambda i: str(int(sample_of[i])), widest_row)
        title = f"Probabilities · {r:,} × {c:,}"
        if rows is not None:
            title += " (rows subsampled)"
        if self._bad.any():
            title += " · grey = NaN/∞"
        self._title = title
        _set_title(self.getPlotItem(), self._theme, title)
        if (r, c) != old_shape and r and c:
            self._vb.setRange(xRange=(-0.5, c - 0.5), yRange=(-0.5, r - 0.5), padding=0)

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The cell under (x, y) in view coordinates: sample, class and exact probability."""
        cell = self._cell_at(x, y)
        if cell is None:
            return None
        row, col = cell
        sample = int(self._rows[row])
        text = f"sample {sample} · {self._names[col]} (class {col})\n"
        text += f"p = {format_value(self._values[row, col])}"
        if self._valid[row] and self._targets[row] == col:
            text += "\ntrue class"
        return text

    def _cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        col, row = math.floor(x + 0.5), math.floor(y + 0.5)
        r, c = self._values.shape
        return (row, col) if 0 <= row < r and 0 <= col < c else None

    def _on_click(self, pos: QPointF) -> bool:
        cell = self._cell_at(pos.x(), pos.y())
        if cell is None:
            return False
        self.sigSampleClicked.emit(int(self._rows[cell[0]]))
        return True

    def _draw_overlay(self) -> None:
        r, c = self._bad.shape
        rgba = np.zeros((r, c, 4), dtype=np.uint8)
        if self._bad.any():
            color = qcolor(self._theme.ignored)
            rgba[self._bad] = (color.red(), color.green(), color.blue(), 255)
        self.nan_overlay.setImage(rgba, autoLevels=False, levels=(0, 255))

    def _update_selection(self) -> None:
        hits = np.flatnonzero(self._rows == self._selected)
        r, c = self._values.shape
        if hits.size == 0 or c == 0:
            self.selection_outline.hide()
            return
        row = int(hits[0])
        left, right, top, bottom = -0.5, c - 0.5, row - 0.5, row + 0.5
        self.selection_outline.setData(
            x=[left, right, right, left, left], y=[top, top, bottom, bottom, top]
        )
        self.selection_outline.show()

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colour map, colours, fonts; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        plot = self.getPlotItem()
        _style_plot(plot, theme, x_label="class", y_label="sample")
        _set_title(plot, theme, self._title)
        plot.showGrid(x=False, y=False)
        self.colorbar.setColorMap(pg.colormap.get(theme.heatmap))
        for name in ("left", "right", "top", "bottom"):
            self.colorbar.getAxis(name).setPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTextPen(pg.mkPen(theme.foreground))
        self.colorbar.axis.setTickFont(scaled_font(theme, 10))
        self.true_markers.setPen(pg.mkPen(theme.true_class, width=theme.px(2)))
        self.true_markers.setBrush(pg.mkBrush(255, 255, 255, 230))
        self.true_markers.setSize(theme.px(8))
        pen = make_pen(theme.selection, theme.px(3))
        self.selection_outline.setPen(pen)
        self._hover.apply_theme(theme)
        if self._bad.size:
            self._draw_overlay()


# --------------------------------------------------------------------------------------------
# 4. the −log p curve


class LossCurvePlot(_HoverMixin, pg.PlotWidget):
    """The curve loss = −log p over p in (0, 1] with every sample placed on it at its p(true)."""

    sigSampleClicked = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumSize(*_MIN_SIZE)
        self._theme = theme
        self._vb: pg.ViewBox = self.getPlotItem().getViewBox()
        self._p = np.zeros(0)
        self._correct = np.zeros(0, dtype=bool)
        self._valid = np.zeros(0, dtype=bool)
        self._selected = -1
        self._index = np.zeros(0, dtype=np.int64)  # sample index of each placed point
        self._xy = np.zeros((0, 2))
        self._clamped = np.zeros(0, dtype=bool)
        self._y_top = 5.0
        self._title = "Loss curve"
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        # Dense near 0, where the curve is steep; this is the curve's shape, not anyone's loss.
        p = np.unique(np.concatenate([np.logspace(-6, -1, 200), np.linspace(0.1, 1.0, 200)]))
        self.curve = pg.PlotDataItem(p, -np.log(p))
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.setZValue(10)
        self.selected_marker = pg.ScatterPlotItem(pxMode=True, symbol="o")
        self.selected_marker.setZValue(20)
        plot.addItem(self.curve)
        plot.addItem(self.points)
        plot.addItem(self.selected_marker)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.selected_marker.sigClicked.connect(self._on_points_clicked)
        self._hover = HoverLabel(self._vb)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, self._y_top), padding=0.04)
        self.set_theme(theme)

    def set_points(
        self, p_true: np.ndarray, correct: np.ndarray, valid: np.ndarray, selected: int
    ) -> None:
        """Place each sample at (p_true, −log p_true). NaN / ignored rows are omitted; p = 0 goes to
        the left edge and anything off the chart to its border, drawn as a hollow triangle."""
        p = np.array(p_true, dtype=np.float64).reshape(-1)
        n = p.size
        self._p = p
        self._correct = _as_vector(correct, n, bool, "correct")
        self._valid = _as_vector(valid, n, bool, "valid")
        self._selected = int(selected)

        placed = self._valid & ~np.isnan(p)
        index = np.flatnonzero(placed)
        px = p[index]
        x = np.clip(px, 0.0, 1.0)
        y = np.full(index.size, np.inf)
        positive = px > 0
        # Where each point sits on the drawn curve (p > 0 only, so log never sees 0).
        y[positive] = -np.log(np.minimum(px[positive], 1.0))
        finite_y = y[np.isfinite(y)]
        top = max(5.0, float(finite_y.max()) * 1.05) if finite_y.size else 5.0
        top = min(top, LOSS_CURVE_MAX_Y)
        # Grow at once, shrink only when clearly too tall, so live edits do not make it jump.
        rescale = top > self._y_top or top < 0.7 * self._y_top
        if rescale:
            self._y_top = top
        clamped = (px <= 0) | (px > 1) | (y > self._y_top)
        y = np.minimum(y, self._y_top)
        self._index = index
        self._xy = np.column_stack([x, y])
        self._clamped = clamped
        self._draw_points()
        if rescale:
            self._vb.setRange(xRange=(0.0, 1.0), yRange=(0.0, self._y_top), padding=0.04)
        title = f"Loss curve · {index.size:,} of {n:,} samples"
        if clamped.any():
            title += f" · {int(clamped.sum())} off-chart △"
        self._title = title
        _set_title(self.getPlotItem(), self._theme, title)

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The placed point nearest (x, y) in view coordinates, within a few pixels, with its
        exact p(true); None when no point is near."""
        i = self._nearest(x, y)
        if i is None:
            return None
        sample = int(self._index[i])
        state = "✓ correct" if self._correct[sample] else "✗ incorrect"
        p = self._p[sample]
        text = f"sample {sample} · {state}\np(true) = {format_value(p)}"
        if p > 0:
            text += f"\n−log p = {format_value(-math.log(min(p, 1.0)))}"
        else:
            text += "\n−log p = +∞ (drawn at the edge)"
        return text

    def _nearest(self, x: float, y: float) -> int | None:
        if self._xy.shape[0] == 0 or not (math.isfinite(x) and math.isfinite(y)):
            return None
        px_w, px_h = self._vb.viewPixelSize()
        if not (px_w > 0 and px_h > 0):
            px_w, px_h = 0.002, 0.01  # no geometry yet (never shown): a nominal pixel size
        dx = (self._xy[:, 0] - x) / px_w
        dy = (self._xy[:, 1] - y) / px_h
        dist = np.hypot(dx, dy)
        i = int(np.argmin(dist))
        return i if dist[i] <= self._theme.px(10) else None

    def _on_points_clicked(self, _item: object, points: Sequence, _ev: object) -> None:
        if len(points):
            self.sigSampleClicked.emit(int(points[0].data()))

    def _draw_points(self) -> None:
        t = self._theme
        index = self._index
        correct = self._correct[index]
        clamped = self._clamped
        codes = np.where(correct, 0, 1) + np.where(clamped, 2, 0)
        xy = self._xy
        shown = np.arange(len(index))
        if len(index) > POINT_LIMIT:
            # One marker per (screen cell, style): 50,000 per-point pens cost ~290 ms per edit.
            # Hover and clicks still search every point (self._xy).
            cells = (np.clip(xy[:, 0], 0, 1) * 800).astype(np.int64) * 1_000_000 + (
                np.minimum(xy[:, 1] / max(self._y_top, 1e-9), 1) * 400
            ).astype(np.int64) * 4
            _, shown = np.unique(cells + codes, return_index=True)
        index, codes, xy = index[shown], codes[shown], xy[shown]
        symbols = np.array(["o", "x", "t1", "t1"])[codes]
        pens = [
            pg.mkPen(t.correct, width=t.px(1)),
            pg.mkPen(t.incorrect, width=t.px(2)),
            pg.mkPen(t.correct, width=t.px(2)),
            pg.mkPen(t.incorrect, width=t.px(2)),
        ]
        brushes = [
            pg.mkBrush(qcolor(t.correct, 200)),
            pg.mkBrush(None),
            pg.mkBrush(None),
            pg.mkBrush(None),
        ]
        self.points.setData(
            x=xy[:, 0],
            y=xy[:, 1],
            symbol=symbols,
            size=t.px(8),
            pen=[pens[c] for c in codes],
            brush=[brushes[c] for c in codes],
            data=index,
        )
        hit = np.flatnonzero(self._index == self._selected)
        if hit.size:
            xy = self._xy[hit[:1]]
            self.selected_marker.setData(x=xy[:, 0], y=xy[:, 1], data=self._index[hit[:1]])
        else:
            self.selected_marker.setData(x=np.zeros(0), y=np.zeros(0))

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts, marker sizes; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        _style_plot(self.getPlotItem(), theme, x_label="p(true class)", y_label="loss = −log p")
        _set_title(self.getPlotItem(), theme, self._title)
        self.curve.setPen(pg.mkPen(theme.foreground, width=theme.px(2)))
        self.selected_marker.setPen(pg.mkPen(theme.selection, width=theme.px(3)))
        self.selected_marker.setBrush(pg.mkBrush(None))
        self.selected_marker.setSize(theme.px(18))
        self._hover.apply_theme(theme)
        if self._index.size:
            self._draw_points()


# --------------------------------------------------------------------------------------------
# 5. logit gradient of the selected sample


class GradientPlot(_HoverMixin, pg.PlotWidget):
    """d(loss)/d(logits) of the selected sample as bars: positive and negative in different
    colours, a zero line, and the true class outlined."""

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        self._axis = _CategoryAxis("bottom")
        super().__init__(parent=parent, axisItems={"bottom": self._axis})
        self.setMinimumSize(*_MIN_SIZE)
        self._theme = theme
        self._vb: pg.ViewBox = self.getPlotItem().getViewBox()
        self._gradient = np.zeros(0)
        self._names: list[str] = []
        self._true: int | None = None
        self._shown = np.zeros(0, dtype=np.int64)
        self._heights = np.zeros(0)
        self._clamped = np.zeros(0, dtype=bool)
        self._ranged = False
        self._title = "Gradient ∂loss/∂logits"
        plot = self.getPlotItem()
        plot.hideButtons()
        self._vb.disableAutoRange()

        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.zero_line = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.marks = _MarkPool(plot)
        self._true_label = pg.TextItem("true", anchor=(0.5, 1))
        self._true_label.setZValue(30)
        self._true_label.hide()
        plot.addItem(self.bars)
        plot.addItem(self.zero_line, ignoreBounds=True)
        plot.addItem(self._true_label, ignoreBounds=True)
        self._hover = HoverLabel(self._vb)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._vb.sigRangeChanged.connect(self._place_true_label)
        self._vb.sigResized.connect(self._place_true_label)
        self.set_theme(theme)

    def set_gradient(
        self, gradient: np.ndarray, class_names: list[str], true_class: int | None
    ) -> None:
        """Show the gradient (C,) of the selected sample's loss with respect to its logits."""
        gradient = np.array(gradient, dtype=np.float64).reshape(-1)
        n = gradient.size
        if len(class_names) != n:
            raise ValueError(f"{len(class_names)} class names for {n} gradient entries")
        self._gradient = gradient
        self._names = list(class_names)
        self._true = None if true_class is None else int(true_class)
        if n > MAX_BARS:
            magnitude = np.abs(np.where(np.isnan(gradient), 0.0, gradient))
            self._shown = _top_k(magnitude, TOP_K)
        else:
            self._shown = np.arange(n, dtype=np.int64)
        x = np.arange(self._shown.size, dtype=np.float64)
        values = gradient[self._shown]
        self._heights, self._clamped = _drawable_heights(values)
        pens, brushes = self._bar_styles()
        _set_bars(self.bars, pens, brushes, x=x, height=self._heights)
        self.marks.show(_bar_marks(x, self._heights, values, self._clamped))
        names = [self._names[int(c)] for c in self._shown]
        widest = max((_elide(s) for s in names), key=len, default="")
        self._axis.set_categories(len(names), lambda i: _elide(names[i]), widest)
        self._update_title()
        self._vb.setXRange(-0.6, self._shown.size - 0.4, padding=0)
        if self._heights.size:
            lo = min(0.0, float(self._heights.min()))
            hi = max(0.0, float(self._heights.max()))
            _fit_axis(self._vb, 1, lo, hi, force=not self._ranged)
            self._ranged = True
        self._place_true_label()

    def shown_classes(self) -> np.ndarray:
        """Class indices of the bars, left to right."""
        return self._shown.copy()

    def hover_text_at(self, x: float, y: float) -> str | None:
        """The class under x (view coordinates) with its exact gradient entry, or None."""
        if not math.isfinite(x):
            return None
        slot = math.floor(x + 0.5)
        if not 0 <= slot < self._shown.size:
            return None
        cls = int(self._shown[slot])
        text = f"{self._names[cls]}  (class {cls})\n∂loss/∂logit = "
        text += format_value(self._gradient[cls])
        if cls == self._true:
            text += "\ntrue class"
        return text

    def _bar_styles(self) -> tuple[list, list]:
        t = self._theme
        # Descent moves each logit against its gradient: positive bars are pushed down.
        positive, negative = pg.mkBrush(t.incorrect), pg.mkBrush(t.correct)
        hatched = QBrush(qcolor(t.foreground), Qt.BrushStyle.BDiagPattern)
        plain = QPen(Qt.PenStyle.NoPen)
        true_pen = make_pen(t.true_class, t.px(3))
        pens, brushes = [], []
        for slot, cls in enumerate(self._shown):
            bad = bool(self._clamped[slot])
            if bad:
                brushes.append(hatched)
            else:
                brushes.append(positive if self._heights[slot] > 0 else negative)
            if cls == self._true:
                pens.append(true_pen)
            else:
                pens.append(make_pen(t.foreground, 1) if bad else plain)
        return pens, brushes

    def _update_title(self) -> None:
        n = self._gradient.size
        title = "Gradient ∂loss/∂logits"
        if self._shown.size < n:
            title += f" · top {self._shown.size} of {n:,} by |g|"
        if self._true is not None and self._true not in self._shown:
            title += f" · true #{self._true} not shown"
        self._title = title
        _set_title(self.getPlotItem(), self._theme, title)

    def _place_true_label(self) -> None:
        hits = np.flatnonzero(self._shown == self._true) if self._true is not None else []
        if len(hits) == 0:
            self._true_label.hide()
            return
        slot = int(hits[0])
        _place_end_label(self._true_label, self._vb, slot, float(self._heights[slot]))
        self._true_label.show()

    def set_theme(self, theme: Theme) -> None:
        """Restyle in place: colours, fonts and line widths; the data is not touched."""
        self._theme = theme
        self.setBackground(theme.background)
        _style_plot(self.getPlotItem(), theme, y_label="∂loss/∂logit")
        _set_title(self.getPlotItem(), theme, self._title)
        self.zero_line.setPen(pg.mkPen(theme.foreground, width=1))
        self._true_label.setColor(theme.true_class)
        self._true_label.setFont(scaled_font(theme, 11))
        self.marks.apply_theme(theme)
        self._hover.apply_theme(theme)
        pens, brushes = self._bar_styles()
        _set_bars(self.bars, pens, brushes)
