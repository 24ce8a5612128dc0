"""The bare-pyqtgraph floor: what any pyqtgraph window showing the app's views costs to update.

No app code: the same plot types as the app's views (the selected sample's logit and
probability bars with each bar's value at its end, the per-sample loss bars with their mean,
the gradient bars, the probability heatmap with the true classes marked, the -log p curve with
every sample on it) and a table of the logits, each widget at the size and place the app's
window gives its view (:func:`geometry_of`). An update computes the numbers with numpy (the
notebook's stable softmax), pushes them with ``setData`` / ``setOpts`` / ``setImage``, tells
the table its edited row changed, and the caller waits until every view has painted: the least
a window that shows these views can do per edit. ``bench/probe.py`` times the app's edit
against it in the same process; ``bench/runs.py`` pans a bare scatter of the data map's size
(:class:`BareScatter`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

VIEW_NAMES = ("sample_plot", "loss_plot", "gradient_plot", "heatmap", "curve_plot", "table")


def floor_numbers(logits: np.ndarray, labels: np.ndarray, selected: int) -> dict[str, np.ndarray]:
    """The numbers the floor's views show, the notebook way: a max-shifted float64 softmax,
    p(true), -log p(true), argmax of the logits == label, and the selected sample's gradient
    (p - onehot) / N."""
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    n = len(x)
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    p_true = p[np.arange(n), y]
    with np.errstate(divide="ignore"):
        losses = -np.log(p_true)
    gradient = p[selected].copy()
    gradient[y[selected]] -= 1.0
    gradient /= n
    return {
        "p": p,
        "p_true": p_true,
        "losses": losses,
        "correct": x.argmax(1) == y,
        "gradient": gradient,
    }


def geometry_of(window: Any, names: tuple[str, ...] = VIEW_NAMES) -> dict[str, tuple[int, ...]]:
    """Each named view's rectangle (x, y, width, height) within ``window``, as shown."""
    out = {}
    for name in names:
        view = getattr(window, name)
        corner = view.mapTo(window, view.rect().topLeft())
        out[name] = (corner.x(), corner.y(), view.width(), view.height())
    return out


def _table_model(logits: np.ndarray):
    from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

    class Model(QAbstractTableModel):
        def __init__(self) -> None:
            super().__init__()
            self.values = logits

        def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else self.values.shape[0]

        def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else self.values.shape[1]

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{self.values[index.row(), index.column()]:.4g}"
            return None

    return Model()


class BareFloor:
    """The floor's window: six pyqtgraph views and a table laid out as ``geometry`` says
    (from :func:`geometry_of` of the app's window), in a window of ``size``."""

    def __init__(
        self,
        logits: np.ndarray,
        labels: np.ndarray,
        geometry: dict[str, tuple[int, ...]],
        size: tuple[int, int],
    ) -> None:
        import pyqtgraph as pg
        from PySide6.QtWidgets import QTableView, QWidget

        self.logits = np.array(logits, dtype=np.float32)
        self.labels = np.asarray(labels)
        n, c = self.logits.shape
        self.window = QWidget()
        self.window.resize(*size)
        self.window.setWindowTitle("bare pyqtgraph floor")
        sample = pg.GraphicsLayoutWidget(parent=self.window)
        self.logit_plot = sample.addPlot(row=0, col=0, title="Logits")
        self.prob_plot = sample.addPlot(row=0, col=1, title="Softmax probabilities")
        self.logit_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.prob_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.logit_plot.addItem(self.logit_bars)
        self.logit_plot.addItem(pg.InfiniteLine(pos=0.0, angle=0))
        self.prob_plot.addItem(self.prob_bars)
        self.prob_plot.setYRange(0, 1)
        # Each bar's value at its end, as the app labels the selected sample's bars.
        self.logit_labels = [pg.TextItem(anchor=(0.5, 1)) for _ in range(c)]
        self.prob_labels = [pg.TextItem(anchor=(0.5, 1)) for _ in range(c)]
        for label in self.logit_labels:
            self.logit_plot.addItem(label)
        for label in self.prob_labels:
            self.prob_plot.addItem(label)
        loss = pg.PlotWidget(parent=self.window, title="Per-sample loss")
        self.loss_bars = pg.BarGraphItem(x=[], height=[], width=0.85)
        self.mean_line = pg.InfiniteLine(angle=0)
        loss.addItem(self.loss_bars)
        loss.addItem(self.mean_line)
        gradient = pg.PlotWidget(parent=self.window, title="Gradient of the loss")
        self.gradient_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        gradient.addItem(self.gradient_bars)
        gradient.addItem(pg.InfiniteLine(pos=0.0, angle=0))
        heatmap = pg.PlotWidget(parent=self.window, title="Probabilities")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.true_marks = pg.ScatterPlotItem(pxMode=True, symbol="o", size=7)
        heatmap.addItem(self.image)
        heatmap.addItem(self.true_marks)
        heatmap.getViewBox().invertY(True)
        curve = pg.PlotWidget(parent=self.window, title="Loss curve -log p")
        grid = np.unique(np.concatenate([np.logspace(-6, -1, 200), np.linspace(0.1, 1.0, 200)]))
        curve.addItem(pg.PlotDataItem(grid, -np.log(grid)))
        self.points = pg.ScatterPlotItem(pxMode=True, size=7)
        curve.addItem(self.points)
        self.model = _table_model(self.logits)
        table = QTableView(self.window)
        table.setModel(self.model)
        self.widgets = {
            "sample_plot": sample,
            "loss_plot": loss,
            "gradient_plot": gradient,
            "heatmap": heatmap,
            "curve_plot": curve,
            "table": table,
        }
        for name, widget in self.widgets.items():
            widget.setGeometry(*geometry[name])
        self.views = list(self.widgets.values())
        green, red = pg.mkBrush("#2ca02c"), pg.mkBrush("#d62728")
        self._brushes = (red, green)
        self._blue, self._orange = pg.mkBrush("#1f77b4"), pg.mkBrush("#ff7f0e")
        self.classes = np.arange(c, dtype=np.float64)
        self.rows = np.arange(n, dtype=np.float64)
        self.selected = 0
        self.update(0)

    def edit(self, row: int, col: int, value: float) -> None:
        """Set one logit and update every view, as the app does for an edit."""
        self.logits[row, col] = value
        self.selected = row
        self.update(row)

    def update(self, row: int) -> None:
        d = floor_numbers(self.logits, self.labels, self.selected)
        correct = d["correct"]
        brushes = [self._brushes[int(k)] for k in correct]
        self.logit_bars.setOpts(x=self.classes, height=self.logits[self.selected], brush=self._blue)
        self.prob_bars.setOpts(x=self.classes, height=d["p"][self.selected], brush=self._orange)
        self.loss_bars.setOpts(x=self.rows, height=d["losses"], brushes=brushes)
        for k, (a, b) in enumerate(zip(self.logit_labels, self.prob_labels, strict=True)):
            z, q = float(self.logits[self.selected, k]), float(d["p"][self.selected, k])
            a.setText(f"{z:.3g}")
            a.setPos(k, max(z, 0.0))
            b.setText(f"{q:.3f}")
            b.setPos(k, q)
        self.mean_line.setValue(float(np.mean(d["losses"])))
        g = d["gradient"]
        self.gradient_bars.setOpts(
            x=self.classes, height=g, brushes=[self._brushes[int(v <= 0)] for v in g]
        )
        self.image.setImage(d["p"], levels=(0.0, 1.0))
        self.true_marks.setData(x=self.labels + 0.5, y=self.rows + 0.5)
        self.points.setData(x=d["p_true"], y=d["losses"], brush=brushes)
        last = self.model.columnCount() - 1
        self.model.dataChanged.emit(self.model.index(row, 0), self.model.index(row, last))

    def show(self) -> None:
        self.window.show()

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()


class BareScatter:
    """The data map's floor: one pyqtgraph scatter of ``n`` points (confidence against
    variability, four shades as the map draws them) in a plot of ``size``, panned with the view
    box as the app's pan is."""

    def __init__(self, n: int, size: tuple[int, int], seed: int = 0) -> None:
        import pyqtgraph as pg

        rng = np.random.default_rng(seed)
        self.widget = pg.PlotWidget(title="bare data map")
        self.widget.resize(*size)
        x, y = rng.uniform(0, 0.5, n), rng.uniform(0, 1, n)
        shade = rng.integers(0, 4, n)
        colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
        for k, colour in enumerate(colours):
            item = pg.ScatterPlotItem(pxMode=True, size=5, brush=pg.mkBrush(colour), pen=None)
            item.setData(x=x[shade == k], y=y[shade == k])
            self.widget.addItem(item)
        self.view_box = self.widget.getPlotItem().getViewBox()
        self.views = [self.widget]
        self._shift = 0.0005

    def pan(self) -> None:
        self._shift = -self._shift
        self.view_box.translateBy(x=self._shift)

    def show(self) -> None:
        self.widget.show()

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


def sequence_geometry(window: Any) -> dict[str, tuple[int, ...]]:
    """Where the Sequence tab's token strip (its scroll area), the table and the Formula tab's
    text are in ``window``, as (x, y, width, height)."""
    views = {
        "tokens": window.sequence_view.token_scroll,
        "table": window.table,
        "formula": window.formula_panel._browser,
    }
    out = {}
    for name, view in views.items():
        corner = view.mapTo(window, view.rect().topLeft())
        out[name] = (corner.x(), corner.y(), view.width(), view.height())
    return out


class BareSequence:
    """The token click's floor: a strip that paints the same chips (text, place, colour) with
    QPainter in a scroll area, a table of as many rows that selects the clicked row, and a text
    browser that is given the Formula tab's HTML again; laid out as ``geometry`` says (from
    :func:`sequence_geometry`). A click finds the chip under the mouse, selects it and its row
    and sets the HTML: what any Qt window showing these three must do per click."""

    def __init__(
        self,
        chips: list[tuple[str, Any, Any]],
        strip_size: tuple[int, int],
        table_shape: tuple[int, int],
        html: str,
        geometry: dict[str, tuple[int, ...]],
        size: tuple[int, int],
    ) -> None:
        from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
        from PySide6.QtGui import QColor, QPainter
        from PySide6.QtWidgets import QScrollArea, QTableView, QTextBrowser, QWidget

        self.chips = chips
        self.html = html
        self.selected = -1
        outer = self

        class Strip(QWidget):
            def paintEvent(self, event) -> None:
                painter = QPainter(self)
                exposed = event.rect()
                painter.fillRect(exposed, QColor("white"))
                for i, (text, rect, colour) in enumerate(outer.chips):
                    if not rect.toRect().intersects(exposed):
                        continue
                    if colour is not None:
                        painter.fillRect(rect, colour)
                    if i == outer.selected:
                        painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
                painter.end()

            def mousePressEvent(self, event) -> None:
                outer.click_at(event.position())

        class Model(QAbstractTableModel):
            def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
                return 0 if parent.isValid() else table_shape[0]

            def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
                return 0 if parent.isValid() else table_shape[1]

            def data(self, index, role=Qt.ItemDataRole.DisplayRole):
                if role == Qt.ItemDataRole.DisplayRole:
                    return f"{(index.row() * 31 + index.column() * 7) % 1000 / 97:.4f}"
                return None

        self.window = QWidget()
        self.window.resize(*size)
        self.window.setWindowTitle("bare sequence floor")
        self.strip = Strip()
        self.strip.setFixedSize(*strip_size)
        self.scroll = QScrollArea(self.window)
        self.scroll.setWidget(self.strip)
        self.model = Model()
        self.table = QTableView(self.window)
        self.table.setModel(self.model)
        self.browser = QTextBrowser(self.window)
        self.browser.setHtml(html)
        for name, widget in (
            ("tokens", self.scroll),
            ("table", self.table),
            ("formula", self.browser),
        ):
            widget.setGeometry(*geometry[name])
        self.views = [self.strip, self.table.viewport(), self.browser.viewport()]

    def click_at(self, pos: Any) -> None:
        """The chip under ``pos`` (strip coordinates) selected, with its row and the HTML."""
        hit = next((i for i, (_, r, _) in enumerate(self.chips) if r.contains(pos)), -1)
        if hit < 0:
            return
        before, self.selected = self.selected, hit
        for i in (before, hit):
            if i >= 0:
                self.strip.update(self.chips[i][1].toAlignedRect())
        row = min(hit, self.model.rowCount() - 1)
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        self.browser.setHtml(self.html)

    def show(self) -> None:
        self.window.show()

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
