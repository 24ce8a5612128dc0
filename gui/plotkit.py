"""The plotting kit every plot and dataset view is built from: styling, titles, category axes,
hover labels, view boxes that offer clicks and drags to their owner, export (the labels and
marks on bars are in ``gui.plotmarks``).

One copy of each, so that a plot in the Dataset tab and one on the Sample tab look, elide and
answer the mouse the same way. Only display logic lives here; what to draw comes from
``core.display`` and the controller.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QSizeF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QTextOption
from PySide6.QtWidgets import QGraphicsItem, QWidget

from softmax_lab.core.constants import PLOT_TICK_PX, elide
from softmax_lab.core.display import nice_stride
from softmax_lab.gui.theme import Theme

MIN_PLOT_SIZE = (260, 150)  # three rows of plots fit a 1024 x 640 screen


# --- colours, pens, fonts ------------------------------------------------------------------------


def qcolor(hex_color: str, alpha: int = 255) -> QColor:
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


def style_text(item: pg.TextItem, theme: Theme, size: float = 11, color: str | None = None) -> None:
    """A text item in the theme: its colour, scaled font and a halo (a translucent background
    box) so it stays readable over bars and grid lines in both themes."""
    item.setColor(color or theme.foreground)
    item.setFont(scaled_font(theme, size))
    item.fill = halo(theme)
    item.update()


HALO_ALPHA = 215
"""The opacity of the background box behind on-plot text."""


def halo(theme: Theme) -> QBrush:
    return pg.mkBrush(qcolor(theme.background, HALO_ALPHA))


# --- plot items ----------------------------------------------------------------------------------


def style_legend(legend: pg.LegendItem, theme: Theme) -> None:
    """A legend in the theme, its existing labels re-set at the scaled size."""
    size = f"{theme.px(9)}pt"
    legend.setLabelTextColor(theme.foreground)
    legend.setLabelTextSize(size)
    legend.setBrush(pg.mkBrush(qcolor(theme.background, 215)))
    legend.setPen(pg.mkPen(qcolor(theme.foreground, 80)))
    for _sample, label in legend.items:
        label.setText(label.text, color=theme.foreground, size=size)
    legend.updateSize()


def set_legend_text(
    legend: pg.LegendItem, item: pg.GraphicsObject, text: str, theme: Theme
) -> None:
    """Show ``item`` in ``legend`` as ``text`` (adding it when absent), sized to fit."""
    label = legend.getLabel(item)
    if label is None:
        legend.addItem(item, text)
        label = legend.getLabel(item)
    label.setText(text, color=theme.foreground, size=f"{theme.px(9)}pt")
    legend.updateSize()


def style_plot(
    plot: pg.PlotItem, theme: Theme, x_label: str | None = None, y_label: str | None = None
) -> None:
    """Colours, fonts and grid of one PlotItem, all scaled by the theme."""
    tick_font = scaled_font(theme, PLOT_TICK_PX)
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
        no_si_prefix(axis)
        if isinstance(axis, CategoryAxis):
            axis.fit_width()
        elif name == "left":
            # As wide as "−0.0000" plus the rotated axis label: pyqtgraph's own estimate lags
            # behind a font change, and ticks then run into the label.
            metrics = QFontMetricsF(tick_font)
            axis.setWidth(round(metrics.horizontalAdvance("−0.0000") + 2.2 * metrics.height() + 8))
    label_style = {"color": theme.foreground, "font-size": f"{theme.px(9)}pt"}
    if x_label is not None:
        plot.setLabel("bottom", x_label, **label_style)
    if y_label is not None:
        plot.setLabel("left", y_label, **label_style)
    plot.showGrid(x=False, y=True, alpha=theme.grid_alpha)


def no_si_prefix(axis: pg.AxisItem) -> None:
    """Auto SI prefixes turn a loss of 0.4 into "400 (x0.001)": never what a learner wants.
    pyqtgraph 0.14's enableAutoSIPrefix(False) still rescales when the label is visible, so the
    axis is also left no value range in which to apply a prefix."""
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


class WrappingLabel(pg.LabelItem):
    """A heading that wraps onto more lines when its widget is narrower than its text, instead
    of demanding the text's width (a LabelItem's way) and pushing the plots out of the widget."""

    def __init__(self, text: str = "", **kwargs: object) -> None:
        super().__init__(text, **kwargs)
        option = QTextOption(Qt.AlignmentFlag.AlignCenter)
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.item.document().setDefaultTextOption(option)

    def setText(self, text: str, **args: object) -> None:
        super().setText(text, **args)
        self._wrap(self.width())

    def updateMin(self) -> None:
        super().updateMin()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, self.minimumHeight())

    def resizeEvent(self, ev) -> None:
        self._wrap(self.width() if ev is None else ev.newSize().width())
        super().resizeEvent(ev)

    def _wrap(self, width: float) -> None:
        before = self.item.textWidth()
        self.item.setTextWidth(-1)
        if 0 < width < self.item.boundingRect().width():
            self.item.setTextWidth(width)
        if self.item.textWidth() != before:
            self.updateMin()  # fewer or more lines: the height it asks for follows


class PlotTitle(pg.LabelItem):
    """A plot's title that gives way: elided to the width it is given (the tooltip has it whole)
    in a row as tall as the theme's scale asks. pyqtgraph's own title label demands its text's
    width, so a long title would push the plot (and its colour bar) out of a narrow widget."""

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__("", parent=plot)
        self.title = ""
        self._style: tuple[str, str, int] = ("", "", 0)
        self._set: tuple[str, str, str] = ("", "", "")  # what setText was last given
        self.geometryChanged.connect(self.fit)

    def show_title(self, title: str, color: str, size_pt: int, height: int) -> None:
        """Show ``title`` (re-laid out only when something changed: that costs more than the
        rest of a small plot's update)."""
        if (title, (color, f"{size_pt}pt", height)) == (self.title, self._style):
            return
        self.title, self._style = title, (color, f"{size_pt}pt", height)
        self.setMaximumHeight(height)
        self.setToolTip(title)
        self.fit()

    def fit(self) -> None:
        """Elide the title to the room the layout gave this label (before the first layout, the
        plot's width)."""
        color, size, _ = self._style
        if not size:
            return
        font = QFont()
        font.setPointSizeF(float(size[:-2]))
        parent = self.parentWidget()
        given = self.geometry().width()
        if given <= 0 and parent is not None:
            given = parent.geometry().width()
        room = given - 6
        width = room
        for _ in range(4):  # the label's own font may measure a little wider than this one
            text = QFontMetricsF(font).elidedText(
                self.title, Qt.TextElideMode.ElideRight, max(width, 24)
            )
            # The same text at another size (Ctrl − after Ctrl +) is set again: comparing the
            # text alone left a 3x title on the plot back at 1.5x.
            if (text, color, size) != self._set:
                self._set = (text, color, size)
                self.setText(text, color=color, size=size)
            if self.item.boundingRect().width() <= room or width <= 24:
                break
            width -= 12

    def updateMin(self) -> None:
        super().updateMin()
        self.setMinimumWidth(0)

    def sizeHint(self, hint: Qt.SizeHint, constraint: QSizeF | None = None) -> QSizeF:
        size = super().sizeHint(hint, constraint)
        if hint == Qt.SizeHint.MinimumSize:
            return QSizeF(0, size.height())  # any width will do: the text is elided to fit
        return size


def set_title(plot: pg.PlotItem, theme: Theme, title: str) -> None:
    """Show ``title`` over ``plot`` in a :class:`PlotTitle` (made the first time)."""
    label = plot.titleLabel
    if not isinstance(label, PlotTitle):
        plot.layout.removeItem(label)
        label.hide()
        label.setParentItem(None)
        if label.scene() is not None:
            label.scene().removeItem(label)
        label = PlotTitle(plot)
        plot.layout.addItem(label, 0, 1)
        plot.titleLabel = label
    # PlotItem's title row is 30 px tall; larger presentation scales need more. Set only when it
    # changes: setting it, even to the same height, lays the whole plot out again (every edit).
    height = theme.px(26)
    layout = plot.layout
    if layout.rowMinimumHeight(0) != height or layout.rowMaximumHeight(0) != height:
        layout.setRowFixedHeight(0, height)
    label.show_title(title, theme.foreground, theme.px(10), theme.px(26))


def title_of(plot: pg.PlotItem) -> str:
    """The whole title :func:`set_title` gave ``plot`` (the label may show it elided)."""
    label = plot.titleLabel
    return label.title if isinstance(label, PlotTitle) else ""


def fit_axis(
    vb: pg.ViewBox, axis: int, lo: float, hi: float, *, force: bool, hold: bool = False
) -> None:
    """Set one axis of ``vb`` to show [lo, hi] when forced, when the data left the current range,
    or when the data shrank to under a third of it; otherwise leave it, so live edits do not
    jitter. ``hold`` (while something animates, is dragged or stepped through) shrinks only when
    the data use under a tenth of the range: a bar that shrinks is seen to shrink."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return
    if hi - lo <= 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    cur_lo, cur_hi = vb.viewRange()[axis]
    too_loose = (hi - lo) < (0.1 if hold else 0.3) * (cur_hi - cur_lo)
    if force or lo < cur_lo or hi > cur_hi or too_loose:
        if axis == 0:
            vb.setXRange(lo, hi, padding=0.04)
        else:
            vb.setYRange(lo, hi, padding=0.1)


def headroom(vb: pg.ViewBox, item: pg.GraphicsObject, lo: float, hi: float) -> float:
    """The top of a y range over [lo, hi] that leaves ``item`` (a label pinned to the top of the
    view box) a band of its own height above the data."""
    share = min(0.5, (item.boundingRect().height() + 10) / max(1.0, float(vb.height())))
    return hi + (hi - lo) * share / (1.0 - share) * 1.25


def set_bars(bars: pg.BarGraphItem, pens: list, brushes: list, **data: object) -> None:
    """Update a BarGraphItem in place. Empty pen lists are left out: BarGraphItem cannot take
    them (it reads the last pen of the list)."""
    if pens:
        data.update(pens=pens, brushes=brushes)
    if data:
        bars.setOpts(**data)


class CasedOutline:
    """The true / predicted class's outline over a bar chart, drawn a few pixels outside the bar
    in the role's mark colour (``Theme.mark``): it sits on the background, at 3:1 whatever the
    bar's fill (a dashed orange on a yellow bar would not read), and leaves the bar's top where
    its value is."""

    GAP = 3  # px of background between the bar and its outline

    def __init__(self, plot: pg.PlotItem) -> None:
        self._vb = plot.getViewBox()
        self.outlines = pg.BarGraphItem(x=[], height=[], width=0.8, brush=None)
        self.outlines.setZValue(2)
        plot.addItem(self.outlines, ignoreBounds=True)
        self._data: tuple | None = None
        self._vb.sigRangeChanged.connect(self._layout)
        self._vb.sigResized.connect(self._layout)

    def set(
        self,
        theme: Theme,
        x: Sequence[float],
        heights: Sequence[float],
        width: float,
        roles: Sequence[str | None],
    ) -> None:
        """``roles``: "true", "pred" or None per bar; only the role bars are outlined."""
        keep = [i for i, role in enumerate(roles) if role is not None]
        pens = [
            make_pen(theme.mark(theme.true_class), theme.px(3))
            if roles[i] == "true"
            else make_pen(theme.mark(theme.predicted), theme.px(3), Qt.PenStyle.DashLine)
            for i in keep
        ]
        xs = [float(x[i]) for i in keep]
        hs = [float(heights[i]) for i in keep]
        self._data = (xs, hs, width, pens, theme.px(3) / 2 + self.GAP)
        self._layout()

    def _layout(self, *_args: object) -> None:
        if self._data is None:
            return
        xs, hs, width, pens, out_px = self._data
        if not xs:
            # every per-bar option goes: pyqtgraph keeps the last y0 and would add it to []
            self.outlines.setOpts(x=[], y0=[], height=[], width=width, pens=None, brushes=None)
            return
        px_w, px_h = self._vb.viewPixelSize()
        dx, dy = out_px * (px_w or 0.0), out_px * (px_h or 0.0)
        y0 = [-dy if h >= 0 else dy for h in hs]
        height = [h + 2 * dy if h >= 0 else h - 2 * dy for h in hs]
        none = [QBrush(Qt.BrushStyle.NoBrush)] * len(xs)
        self.outlines.setOpts(
            x=xs, y0=y0, height=height, width=width + 2 * dx, pens=pens, brushes=none
        )


def place_end_label(
    label: pg.TextItem, vb: pg.ViewBox, x: float, y_end: float, margin_px: float = 0.0
) -> bool:
    """Put a bar's label just beyond its end when it fits in the view there, else inside it;
    slid sideways, when the bar is near an edge, so the text never leaves the plot. True when
    it went outside the bar. ``margin_px``: room left outside the bar's end (its outline)."""
    (x_lo, x_hi), (view_lo, view_hi) = vb.viewRange()
    pixel_w, pixel_h = vb.viewPixelSize()
    pixel_h = pixel_h or 1.0
    half = (label.boundingRect().width() / 2 + 2) * (pixel_w or 0.0)  # data units
    x = max(x_lo + half, min(x, x_hi - half)) if x_hi - x_lo > 2 * half else (x_lo + x_hi) / 2
    needed = (label.boundingRect().height() + 2 + margin_px) * pixel_h  # in data units
    margin = margin_px * pixel_h
    if y_end >= 0:
        outside = y_end + needed <= view_hi
        _anchor_at(label, (0.5, 1 if outside else 0), x, y_end + margin if outside else y_end)
    else:
        outside = y_end - needed >= view_lo
        _anchor_at(label, (0.5, 0 if outside else 1), x, y_end - margin if outside else y_end)
    return outside


def _anchor_at(label: pg.TextItem, anchor: tuple[float, float], x: float, y: float) -> None:
    """``setAnchor`` and ``setPos``, each only when it changes something: an edit re-places
    every bar label, and most stay where they were (each call re-laid out the item)."""
    if label.anchor != pg.Point(anchor):
        label.setAnchor(anchor)
    position = label.pos()
    if position.x() != x or position.y() != y:
        label.setPos(x, y)


# --- view boxes and axes -------------------------------------------------------------------------


class InteractiveViewBox(pg.ViewBox):
    """A ViewBox that offers left clicks and left drags to its owner before it pans or zooms.

    The owner's ``drag_start`` decides from the press position (view coordinates) whether a drag
    is its own; only then are ``drag_move`` / ``drag_finish`` called and the default pan skipped.
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


class BoundedAxis(pg.AxisItem):
    """A value axis whose ticks stop at ``top``: a probability's axis reaches past 1 only to
    leave its bars' labels room, and shows no tick for a p that cannot be."""

    def __init__(self, orientation: str, top: float) -> None:
        super().__init__(orientation)
        self._top = float(top)

    def tickValues(self, minVal, maxVal, size):
        limit = self._top + 1e-9
        return [
            (spacing, [v for v in values if v <= limit])
            for spacing, values in super().tickValues(minVal, maxVal, size)
        ]


class CategoryAxis(pg.AxisItem):
    """An axis that labels integer positions (classes, samples) with names elided by the one rule
    (``core.constants.elide``), thinning labels so they never overlap: the stride adapts to zoom
    and widget size at every repaint. A vertical one is as wide as its widest label."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        # The first and last labels may reach past the axis ends by half a label (elided names
        # are at most ~80 px wide); pyqtgraph would hide them otherwise.
        self.setStyle(hideOverlappingLabels=45)
        self._count = 0
        self._label: Callable[[int], str] = str
        self._widest = ""
        self._key: object = None

    def set_names(self, names: Sequence[str]) -> None:
        """Label position i with ``names[i]`` (elided)."""
        shown = [elide(str(n)) for n in names]
        self.set_categories(len(shown), shown.__getitem__, max(shown, key=len, default=""))

    def set_categories(
        self, count: int, label: Callable[[int], str] = str, widest: str | None = None
    ) -> None:
        widest = widest if widest is not None else (label(count - 1) if count else "")
        # Labels are compared in full for up to a few hundred categories (renamed classes must
        # show), by their ends beyond: re-rendering the axis picture costs ~2 ms per update.
        shown = range(count) if count <= 400 else (0, count - 1)
        key = (count, widest, tuple(label(i) for i in shown))
        if key == self._key:
            return
        self._key = key
        self._count = count
        self._label = label
        self._widest = widest
        self.fit_width()
        self.picture = None
        self.update()

    def labels(self) -> list[str]:
        return [self._label(i) for i in range(self._count)]

    def fit_width(self) -> None:
        """A vertical axis as wide as its widest label: pyqtgraph hides labels that do not fit."""
        if self.orientation in ("left", "right") and self._widest:
            metrics = QFontMetricsF(self.style["tickFont"] or QFont())
            label_room = 2 * metrics.height()  # the rotated axis title
            self.setWidth(round(metrics.horizontalAdvance(self._widest) + label_room + 8))

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
        stride = nice_stride(needed / (size / (hi_v - lo_v)))
        first = lo + (-lo) % stride
        return [(float(stride), list(range(first, hi + 1, stride)))]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [self._label(int(v)) if 0 <= int(v) < self._count else "" for v in values]


# --- hover ---------------------------------------------------------------------------------------


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

    def text(self) -> str | None:
        return self.item.toPlainText() if self.item.isVisible() else None

    def apply_theme(self, theme: Theme) -> None:
        self.item.setColor(theme.foreground)
        self.item.setFont(scaled_font(theme, 12))
        self.item.fill = pg.mkBrush(qcolor(theme.background, 235))
        self.item.border = pg.mkPen(theme.foreground, width=1)
        self.item.update()


class Hover(QObject):
    """Hover texts for one graphics widget: for each (view box, text_at(x, y)) pair, a label that
    shows ``text_at`` of the point under the mouse (view coordinates), hidden elsewhere and when
    the mouse leaves the widget."""

    def __init__(
        self,
        widget: pg.GraphicsView,
        targets: Sequence[tuple[pg.ViewBox, Callable[[float, float], str | None]]],
    ) -> None:
        super().__init__(widget)
        self.labels = [HoverLabel(vb) for vb, _ in targets]
        self._targets = list(targets)
        widget.scene().sigMouseMoved.connect(self._moved)
        widget.installEventFilter(self)

    def _moved(self, scene_pos: QPointF) -> None:
        for (vb, text_at), label in zip(self._targets, self.labels, strict=True):
            text = None
            if vb.sceneBoundingRect().contains(scene_pos):
                view = vb.mapSceneToView(scene_pos)
                text = text_at(view.x(), view.y())
            if text is None:
                label.hide()
            else:
                label.show_at(scene_pos, text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            for label in self.labels:
                label.hide()
        return False

    def apply_theme(self, theme: Theme) -> None:
        for label in self.labels:
            label.apply_theme(theme)


# --- export --------------------------------------------------------------------------------------


def export_widget(widget: pg.GraphicsView, path: str | Path, scale: float, title: str) -> None:
    """A plot widget to .png (``scale`` × its size on screen, pyqtgraph's exporter) or .svg."""
    import pyqtgraph.exporters as exporters

    path = str(path)
    if path.lower().endswith(".svg"):
        # pyqtgraph 0.14.0's SVGExporter fails on the closed paths newer Qt writes
        # (pyqtgraph issue #3495); Qt's own SVG generator renders the same scene as vectors.
        from PySide6.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setFileName(path)
        generator.setSize(widget.size())
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        generator.setTitle(title)
        generator.setDescription("Softmax Lab")
        painter = QPainter(generator)
        try:
            widget.render(painter)
        finally:
            painter.end()
        return
    exporter = exporters.ImageExporter(widget.scene())
    exporter.parameters()["width"] = max(1, round(widget.width() * scale))
    exporter.export(path)


def set_min_size(widget: QWidget) -> None:
    widget.setMinimumSize(*MIN_PLOT_SIZE)
