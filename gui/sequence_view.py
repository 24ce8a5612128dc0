"""The Sequence view: a language model's text with each token coloured by its surprisal.

It draws what the controller's sequence session computes (``core.tokens.SequenceText``): a run
of token chips whose background deepens with −log₂ p (the scale and its cap come from core),
the sequence's perplexity and loss in the header, a table of every sequence to pick one, and the
selected position's candidates below. Hovering a chip asks for its top next-token candidates
(``sigHovered``), a click selects its position (``sigRowChosen``), and ← / → step through the
positions. Nothing here computes a number.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import SURPRISAL_FULL_BITS
from softmax_lab.gui.text import ZERO_WIDTH_SPACE, PlainLabel, breakable
from softmax_lab.gui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from softmax_lab.core.tokens import SequenceStatistics, SequenceText

MAX_ALPHA = 0.85
"""Background opacity of a token at SURPRISAL_FULL_BITS (and beyond)."""
PAD, GAP, MARGIN = 2.0, 1.0, 6.0


@dataclass
class _Chip:
    rect: QRectF
    shown: str
    breaks: int
    """Line breaks after the chip (its text ends in newlines)."""


def _shown(text: str) -> tuple[str, int]:
    """What a chip draws and how many line breaks follow it: a newline token shows as ↵ and
    ends the line; tabs show as spaces."""
    body = text.rstrip("\n")
    breaks = len(text) - len(body)
    if body and not body.strip(" "):  # a token of spaces alone would be an empty box
        body = "␣" * len(body)
    body = body.replace("\n", "↵").replace("\t", "    ")
    if breaks:
        body += "↵" * breaks
    return body or "∅", breaks


class TokenText(QWidget):
    """The chips of one sequence, laid out like running text and painted directly (thousands
    of tokens cost one layout pass, not thousands of widgets)."""

    sigChipClicked = Signal(int)  # the row the chip opens
    sigChipHovered = Signal(int)  # the row under the mouse, −1 when none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._theme = LIGHT
        self._text: SequenceText | None = None
        self._chips: list[_Chip] = []
        self._lines: list[tuple[float, int]] = []  # (top y, first chip) of each line
        self._tops: list[float] = []
        self._line_height = 0.0
        self._laid_out_width = -1
        self._selected = -1
        self._hovered = -1

    # --- what it shows ------------------------------------------------------------------------

    def set_text(self, text: SequenceText | None, selected_row: int) -> None:
        same_words = text is not None and self._text is not None and text.texts == self._text.texts
        self._text = text
        chip = None if text is None else text.chip_of_row(selected_row)
        self._selected = -1 if chip is None else chip
        if not same_words:  # new colours alone (another temperature) keep the layout
            self._hovered = -1
            self._laid_out_width = -1
            self._layout()
        self.update()

    def set_selected_row(self, row: int) -> None:
        """Outline the chip of ``row``: only the chips whose outline changed are repainted."""
        chip = -1 if self._text is None else self._text.chip_of_row(row)
        before, self._selected = self._selected, -1 if chip is None else chip
        if before != self._selected:
            self._update_chip(before)
            self._update_chip(self._selected)

    def _update_chip(self, i: int) -> None:
        """Repaint chip ``i`` with the room its outline's pen takes beyond it."""
        if 0 <= i < len(self._chips):
            margin = math.ceil(2.0 * self._theme.scale) + 1
            rect = self._chips[i].rect.toAlignedRect()
            self.update(rect.adjusted(-margin, -margin, margin, margin))

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        font = QFont(self.font())
        font.setPointSizeF(11 * theme.scale)
        self.setFont(font)
        self._laid_out_width = -1
        self._layout()
        self.update()

    def chip_count(self) -> int:
        return len(self._chips)

    def chip_text(self, i: int) -> str:
        return self._chips[i].shown

    def chip_rect(self, i: int) -> QRectF:
        return QRectF(self._chips[i].rect)

    def chip_background(self, i: int) -> QColor | None:
        """The colour behind chip ``i`` (None: no background): its surprisal, drawn."""
        text = self._text
        if text is None or math.isnan(float(text.level[i])):
            return None
        color = QColor(self._theme.incorrect)
        color.setAlphaF(MAX_ALPHA * float(text.level[i]))
        return color

    def chip_outside(self, i: int) -> bool:
        """Whether chip ``i`` is marked as a token the current sampler would never draw."""
        outside = None if self._text is None else self._text.outside
        return bool(outside is not None and outside[i])

    def selected_chip(self) -> int:
        return self._selected

    def chip_at(self, pos: QPoint) -> int:
        """The chip under ``pos`` (widget coordinates), −1 for none."""
        if not self._lines or self._line_height <= 0:
            return -1
        line = bisect.bisect_right(self._tops, pos.y()) - 1
        if line < 0:
            return -1
        first = self._lines[line][1]
        last = self._lines[line + 1][1] if line + 1 < len(self._lines) else len(self._chips)
        for i in range(first, last):
            if self._chips[i].rect.contains(pos.x(), pos.y()):
                return i
        return -1

    # --- layout and painting ------------------------------------------------------------------

    def _layout(self) -> None:
        width = max(80, self.width())
        if width == self._laid_out_width:
            return
        self._laid_out_width = width
        metrics = QFontMetricsF(self.font())
        self._line_height = metrics.height() + 2 * PAD + 2
        self._chips, self._lines, self._tops = [], [], []
        if self._text is None:
            self.setMinimumHeight(0)
            return
        x, y = MARGIN, MARGIN
        self._lines.append((y, 0))
        for i, raw in enumerate(self._text.texts):
            shown, breaks = _shown(raw)
            w = max(6.0, metrics.horizontalAdvance(shown)) + 2 * PAD
            if x + w > width - MARGIN and x > MARGIN:
                x, y = MARGIN, y + self._line_height
                self._lines.append((y, i))
            self._chips.append(_Chip(QRectF(x, y, w, self._line_height - 2), shown, breaks))
            x += w + GAP
            if breaks and i + 1 < len(self._text.texts):
                x, y = MARGIN, y + self._line_height * breaks  # blank lines hold no chip
                self._lines.append((y, i + 1))
        self._tops = [top for top, _ in self._lines]
        self.setMinimumHeight(int(y + self._line_height + MARGIN))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter, QRectF(event.rect()))
        finally:
            painter.end()  # before Qt ends the paint, whoever still holds a reference

    def _paint(self, painter: QPainter, exposed: QRectF) -> None:
        theme = self._theme
        painter.fillRect(self.rect(), QColor(theme.background))
        text = self._text
        if text is None or not self._lines:
            return
        painter.setFont(self.font())
        foreground, muted = QColor(theme.foreground), QColor(theme.ignored)
        italic = QFont(self.font())
        italic.setItalic(True)
        first = self._lines[max(0, bisect.bisect_right(self._tops, exposed.top()) - 1)][1]
        below = bisect.bisect_right(self._tops, exposed.bottom())
        last = self._lines[below][1] if below < len(self._lines) else len(self._chips)
        for i in range(first, last):
            chip = self._chips[i]
            if not chip.rect.intersects(exposed):
                continue
            kind = text.kinds[i]
            background = self.chip_background(i)
            if background is not None:
                painter.fillRect(chip.rect, background)
            if kind == "next":
                painter.setPen(QPen(muted, 1, Qt.PenStyle.DashLine))
                painter.drawRect(chip.rect.adjusted(0.5, 0.5, -0.5, -0.5))
            if self.chip_outside(i):  # a sampler with these limits would never draw it
                painter.setPen(QPen(foreground, 1.5 * theme.scale, Qt.PenStyle.DashLine))
                y = chip.rect.bottom() - 1
                painter.drawLine(
                    QPointF(chip.rect.left() + 1, y), QPointF(chip.rect.right() - 1, y)
                )
            painter.setFont(italic if kind == "predicted" else self.font())
            painter.setPen(foreground if kind == "scored" else muted)
            painter.drawText(
                chip.rect.adjusted(PAD, 0, -PAD, 0),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                chip.shown,
            )
        for i, color, width in (
            (self._hovered, muted, 1.0),
            (self._selected, QColor(theme.selection), 2.0 * theme.scale),
        ):
            if 0 <= i < len(self._chips):
                painter.setPen(QPen(color, width))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self._chips[i].rect.adjusted(0.5, 0.5, -0.5, -0.5))

    # --- interaction --------------------------------------------------------------------------

    def _row(self, chip: int) -> int:
        return -1 if self._text is None or chip < 0 else int(self._text.rows[chip])

    def mouseMoveEvent(self, event) -> None:
        chip = self.chip_at(event.position().toPoint())
        if chip != self._hovered:
            before, self._hovered = self._hovered, chip
            self._update_chip(before)
            self._update_chip(chip)
            self.sigChipHovered.emit(self._row(chip))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self._hovered != -1:
            before, self._hovered = self._hovered, -1
            self._update_chip(before)
            self.sigChipHovered.emit(-1)
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        row = self._row(self.chip_at(event.position().toPoint()))
        if event.button() == Qt.MouseButton.LeftButton and row >= 0:
            self.sigChipClicked.emit(row)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(event.key())
        if step is None or self._text is None:
            super().keyPressEvent(event)
            return
        rows = self._text.rows
        start = self._selected if self._selected >= 0 else (-1 if step > 0 else len(rows))
        i = start + step
        while 0 <= i < len(rows) and rows[i] < 0:
            i += step
        if 0 <= i < len(rows):
            self.sigChipClicked.emit(int(rows[i]))
        event.accept()


class SequencesModel(QAbstractTableModel):
    """Every sequence with its positions, scored tokens, perplexity and mean loss."""

    HEADERS = ("seq.", "positions", "scored", "perplexity", "loss")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._stats: SequenceStatistics | None = None

    def set_statistics(self, stats: SequenceStatistics | None) -> None:
        if (
            stats is not None
            and self._stats is not None
            and stats.sequences.size == (self._stats.sequences.size)
        ):
            self._stats = stats
            last = self.index(self.rowCount() - 1, len(self.HEADERS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._stats = stats
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._stats is None else int(self._stats.sequences.size)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def _value(self, row: int, column: int) -> float:
        s = self._stats
        assert s is not None
        return float(
            (s.sequences + 1, s.positions, s.length, s.perplexity, s.mean_loss)[column][row]
        )

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._stats is None:
            return None
        value = self._value(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() < 3:
                return fmt.count(int(value))
            return fmt.number(value) if math.isfinite(value) else fmt.MISSING
        if role == Qt.ItemDataRole.UserRole:
            return value if math.isfinite(value) else math.inf
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SequenceView(QWidget):
    """The Sequence tab. Intent signals: ``sigRowChosen(row)`` (a click or ← / →),
    ``sigHovered(row)`` (−1 when the mouse leaves the tokens), ``sigSequenceChosen(k)`` and
    ``sigTokenizerRequested``."""

    sigRowChosen = Signal(int)
    sigHovered = Signal(int)
    sigSequenceChosen = Signal(int)
    sigTokenizerRequested = Signal()

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self.header = PlainLabel()
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tokenizer_button = QPushButton("Tokenizer…")
        self.tokenizer_button.setToolTip(
            "read the token texts from a tokenizer.json, vocab.json or vocab.txt"
        )
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        legend_row = QHBoxLayout()
        legend_row.addWidget(self.legend, 1)
        legend_row.addWidget(self.tokenizer_button, 0, Qt.AlignmentFlag.AlignVCenter)

        self.tokens = TokenText()
        self.legend.setToolTip(
            "hover a token: the model's top 5 for it · click: select its position (what the "
            "model expected there, by name, in every view) · ← / →: previous / next position"
        )
        self.token_scroll = QScrollArea()
        self.token_scroll.setWidgetResizable(True)
        self.token_scroll.setWidget(self.tokens)
        self.token_scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Token texts come from the data: plain text (``&amp;`` as typed, ``<img>`` never loads).
        self.details = PlainLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hover = QLabel(self)
        self.hover.setTextFormat(Qt.TextFormat.PlainText)
        self.hover.setWordWrap(True)
        self.hover.setMaximumWidth(460)
        self.hover.setFrameShape(QFrame.Shape.Box)
        self.hover.setMargin(6)
        self.hover.hide()

        self.sequences_model = SequencesModel(self)
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self.sequences_model)
        self._proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.sequences = QTableView()
        self.sequences.setModel(self._proxy)
        self.sequences.setSortingEnabled(True)
        self.sequences.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.sequences.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sequences.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sequences.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sequences.verticalHeader().hide()
        self.sequences.setToolTip(
            "every sequence: its positions, the positions with a target, perplexity "
            "exp(mean loss) and the mean loss in nats per token; click one to read it"
        )
        # Numbers are never elided: columns fit their contents and the table scrolls instead.
        self.sequences.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.sequences.clicked.connect(
            lambda index: self.sigSequenceChosen.emit(self._proxy.mapToSource(index).row())
        )

        # The sequences table may shrink (its columns stretch); the candidates keep their room.
        self.sequences.setMinimumWidth(200)
        self.sequences.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        # The candidates change with every click: in a scroll area their new text is laid out
        # there, not up through the splitters and tabs (a label's new size hint re-lays out and
        # repaints every widget around it, the sequences table included).
        self.details_scroll = QScrollArea()
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setWidget(self.details)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setMinimumWidth(240)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.sequences)
        bottom.addWidget(self.details_scroll)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setSizes([420, 300])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.token_scroll)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([360, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(legend_row)
        layout.addWidget(self.splitter, 1)

        self.tokens.sigChipClicked.connect(self.sigRowChosen)
        self.tokens.sigChipHovered.connect(self._on_hovered)
        self.tokenizer_button.clicked.connect(self.sigTokenizerRequested)
        self._text: SequenceText | None = None
        self._sampling = False
        self.set_theme(theme)

    # --- what it shows ------------------------------------------------------------------------

    def set_sequence(
        self, text: SequenceText | None, statistics: SequenceStatistics | None, selected: int
    ) -> None:
        """Show a sequence (None: no language-model data) and the selected row in it."""
        self._text = text
        self._sampling = bool(text is not None and text.outside is not None and text.outside.any())
        self.sequences_model.set_statistics(statistics)
        self.header.setText("" if text is None else text.heading)
        self.legend.setText("" if text is None else self._legend(text.note))
        self.tokens.set_text(text, selected)
        self._show_sequence_row(text)
        self.hover.hide()

    def set_selected(self, row: int, details: str) -> None:
        """Outline the selected position's chip and write out its candidates below."""
        self.tokens.set_selected_row(row)
        self.details.setText(details)
        chip = self.tokens.selected_chip()
        if chip >= 0:
            rect = self.tokens.chip_rect(chip).toRect()
            self.token_scroll.ensureVisible(rect.center().x(), rect.center().y(), 20, 40)

    def show_hover(self, row: int, text: str) -> None:
        """The hovered chip's candidates, in a box beside it (hidden for −1)."""
        chip = -1 if self._text is None else self._text.chip_of_row(row)
        if row < 0 or chip is None or not text:
            self.hover.hide()
            return
        self.hover.setText(breakable(text))
        self.hover.adjustSize()
        rect = self.tokens.chip_rect(chip).toRect()
        anchor = self.tokens.mapTo(self, rect.bottomLeft()) + QPoint(0, 4)
        x = min(max(0, anchor.x()), max(0, self.width() - self.hover.width()))
        y = anchor.y()
        if y + self.hover.height() > self.height():
            y = self.tokens.mapTo(self, rect.topLeft()).y() - self.hover.height() - 4
        self.hover.move(x, max(0, y))
        self.hover.show()
        self.hover.raise_()

    def hover_text(self) -> str:
        return self.hover.text().replace(ZERO_WIDTH_SPACE, "") if self.hover.isVisible() else ""

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        font = QFont(self.font())
        font.setPointSizeF(10 * theme.scale)
        for widget in (self.header, self.legend, self.tokenizer_button, self.sequences):
            widget.setFont(font)
        self.sequences.verticalHeader().setDefaultSectionSize(round(22 * theme.scale))
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(9.5 * theme.scale)
        self.details.setFont(mono)
        self.hover.setFont(mono)
        self.hover.setStyleSheet(
            f"QLabel {{ background: {theme.background}; color: {theme.foreground}; "
            f"border: 1px solid {theme.ignored}; }}"
        )
        self.tokens.set_theme(theme)
        if self._text is not None:
            self.legend.setText(self._legend(self._text.note))

    # --- internals ----------------------------------------------------------------------------

    def _on_hovered(self, row: int) -> None:
        if row < 0:
            self.hover.hide()
        self.sigHovered.emit(row)

    def _legend(self, note: str) -> str:
        swatches = []
        for bits in (0, 3, 6, 9, SURPRISAL_FULL_BITS):
            color = QColor(self._theme.incorrect)
            color.setAlphaF(MAX_ALPHA * min(bits / SURPRISAL_FULL_BITS, 1.0))
            rgba = f"rgba({color.red()},{color.green()},{color.blue()},{color.alphaF():.2f})"
            label = f"≥ {fmt.short(bits)}" if bits >= SURPRISAL_FULL_BITS else fmt.short(bits)
            swatches.append(f"<span style='background:{rgba}'>&nbsp;{label}&nbsp;</span>")
        marks = " · ┄ under a token: the sampler would never draw it" if self._sampling else ""
        return f"{note} {' '.join(swatches)}{marks} · hover a token for its top 5, click it, ← / →"

    def _show_sequence_row(self, text: SequenceText | None) -> None:
        """Select the shown sequence's row in the sequences table (without emitting)."""
        selection = self.sequences.selectionModel()
        if text is None or self.sequences_model.rowCount() == 0:
            selection.clearSelection()
            return
        stats = self.sequences_model._stats
        assert stats is not None
        hits = np.flatnonzero(stats.sequences == text.sequence)
        if not hits.size:
            return
        index = self._proxy.mapFromSource(self.sequences_model.index(int(hits[0]), 0))
        selection.blockSignals(True)
        selection.select(
            index,
            selection.SelectionFlag.ClearAndSelect | selection.SelectionFlag.Rows,
        )
        selection.blockSignals(False)
        self.sequences.scrollTo(index)
