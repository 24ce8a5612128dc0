"""The selected sample written out: softmax and loss formulas with live numbers, and the textbook
numpy softmaxes next to torch's. Only formatting lives here; every number comes from core.explain.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette, QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from softmax_lab.core import formatting as fmt
from softmax_lab.core.constants import SHOWN_CLASSES, class_name, elide

if TYPE_CHECKING:
    from softmax_lab.core.binary import BinaryIdentity
    from softmax_lab.core.explain import SampleExplanation, SoftmaxComparison
from softmax_lab.gui.theme import LIGHT, Theme


def format_number(value: float) -> str:
    return fmt.number(value)


def class_label(class_names: Sequence[str], index: int) -> str:
    return elide(class_name(class_names, index))


def _header_row(left: list[str], right: list[str]) -> str:
    """A table header: text columns left-aligned, number columns right-aligned over their digits."""
    cells = [f"<th align='left'>{h}</th>" for h in left]
    cells += [f"<th align='right'>{h}</th>" for h in right]
    return "<tr>" + "".join(cells) + "</tr>"


LIT_ANCHOR = "lit"
LIT_AMOUNT = 0.22
"""How much of the selection colour tints a highlighted section."""
BANNER_AMOUNT = 0.18
"""How much of its verdict's colour tints the Scratch tab's banner."""


def _tint(color: str, background: str, amount: float) -> str:
    """``color`` blended into ``background``: a banner fill that reads on light and dark themes."""
    a, b = QColor(color), QColor(background)
    mix = [
        round(a_c * amount + b_c * (1 - amount))
        for a_c, b_c in ((a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue()))
    ]
    return QColor(*mix).name()


class _RichPanel(QWidget):
    """Shared plumbing: a read-only rich-text browser that follows the theme and font scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self._font_scale = 1.0
        base = self.font().pointSizeF()
        self._base_point_size = base if base > 0 else 10.0
        self._browser = QTextBrowser(self)
        self._browser.setOpenLinks(False)
        self._browser.setReadOnly(True)
        self._browser.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._browser.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)

    def set_theme(self, theme: Theme) -> None:
        """Colours from ``theme``; its ``scale`` becomes the font scale (last call wins)."""
        self._theme = theme
        self._font_scale = theme.scale
        self._apply_style()
        self._render()

    def set_font_scale(self, scale: float) -> None:
        """Presentation size: fonts at ``scale`` × the application's size."""
        if not math.isfinite(scale) or scale <= 0:
            return
        self._font_scale = float(scale)
        self._apply_style()
        self._render()

    def text(self) -> str:
        """What the panel shows, as plain text."""
        return self._browser.toPlainText()

    def _apply_style(self) -> None:
        theme = self._theme
        font = QFont(self.font())
        font.setPointSizeF(max(1.0, self._base_point_size * self._font_scale))
        self.setFont(font)
        self._browser.document().setDefaultFont(font)
        palette = self.palette()
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
            palette.setColor(role, QColor(theme.background))
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
            palette.setColor(role, QColor(theme.foreground))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        # Tight paragraphs and padded columns: a 420-px side panel should hold the whole story.
        lit = _tint(theme.selection, theme.background, LIT_AMOUNT)  # a highlighted section
        self._browser.document().setDefaultStyleSheet(
            "p { margin-top: 2px; margin-bottom: 4px; }"
            " td { padding-left: 8px; padding-right: 2px; }"
            f" th {{ padding-left: 8px; padding-right: 2px; font-weight: bold;"
            f" border-bottom: 1px solid {theme.mark(theme.ignored, lit)}; }}"
        )
        self._browser.setStyleSheet(
            f"QTextBrowser {{ background-color: {theme.background}; color: {theme.foreground};"
            f" border: none; }}"
        )

    def _render(self) -> None:
        raise NotImplementedError

    def _set_html(self, text: str) -> None:
        """``setHtml``, laid out once: the document empties before it fills, so a vertical
        scroll bar would go and come back in between and the new text be laid out twice, at
        two widths. The bar is held while the text is swapped; then it shows only if the new
        text needs it, as it would have."""
        browser = self._browser
        if not browser.verticalScrollBar().isVisible():
            browser.setHtml(text)
            return
        browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        try:
            browser.setHtml(text)
        finally:
            browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    # --- small HTML helpers ----------------------------------------------------------------------

    def _cell(self, value: float, *, bold: bool = False) -> str:
        text = format_number(value)
        style = "" if math.isfinite(value) else f" style='color:{self._ink(self._theme.incorrect)}'"
        if bold:
            text = f"<b>{text}</b>"
        return f"<td align='right'{style}>{text}</td>"

    def _muted(self, text: str) -> str:
        return f"<span style='color:{self._ink(self._theme.ignored)}'>{text}</span>"

    def _ink(self, colour: str) -> str:
        """``colour`` as text: 4.5:1 on the panel and on a highlighted section's tint."""
        theme = self._theme
        return theme.text(colour, _tint(theme.selection, theme.background, LIT_AMOUNT))

    def _warning(self, text: str) -> str:
        return (
            f"<p style='color:{self._ink(self._theme.incorrect)}'><b>⚠</b> {html.escape(text)}</p>"
        )


class FormulaPanel(_RichPanel):
    """p_i = e^(z_i/T) / Σ_j e^(z_j/T) and the loss with the selected sample's numbers in."""

    SECTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "softmax": ("softmax", "exp", "normalise", "stable_shift", "temperature"),
        "loss": ("log", "nll", "one_hot_sum", "smoothing", "weights", "ignore"),
        "reduction": ("reduction",),
        "argmax": ("argmax",),
        "gradient": ("gradient",),
    }
    """Which part of the panel each lesson highlight (``core.lessons.HIGHLIGHTS``) lights up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._explanation: SampleExplanation | None = None
        self._binary: BinaryIdentity | None = None
        self._class_names: Sequence[str] = ()
        self._highlight = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._browser)
        self._apply_style()
        self._render()

    def set_explanation(
        self,
        expl: SampleExplanation | None,
        class_names: Sequence[str],
        binary: BinaryIdentity | None = None,
    ) -> None:
        """Show ``expl`` (None clears the panel); ``binary``: the table holds one score z per
        sample as [0, z], and the panel also writes out p = σ(z/T) (``core.binary``)."""
        self._explanation = expl
        self._binary = binary
        self._class_names = class_names  # read, never written (no O(V) copy a click)
        self._render()

    def set_highlight(self, highlight: str) -> None:
        """Light up the part of the formula a lesson step is about ("" for none)."""
        if highlight != self._highlight:
            self._highlight = highlight
            self._render()

    def highlighted_section(self) -> str | None:
        return next((k for k, v in self.SECTIONS.items() if self._highlight in v), None)

    def _render(self) -> None:
        expl = self._explanation
        if expl is None:
            self._browser.setHtml(
                self._muted("Select a sample to see its softmax and loss written out.")
            )
            return
        sections = {
            "softmax": self._softmax_html(expl),
            "binary": "" if self._binary is None else self._binary_html(self._binary),
            "argmax": f"<p>{self._muted('y = target class, ŷ = predicted (the largest p)')}</p>",
            "loss": self._loss_html(expl),
            "reduction": self._reduction_html(expl),
            "gradient": self._gradient_html(expl),
        }
        lit = self.highlighted_section()
        parts = [self._lit(html_, key == lit) for key, html_ in sections.items()]
        self._set_html("".join(parts))
        self.scroll_to_highlight()

    def scroll_to_highlight(self) -> None:
        """Bring the highlighted block into view (its top at the top when it is taller)."""
        if self.highlighted_section() is not None:
            self._browser.scrollToAnchor(LIT_ANCHOR)

    def highlight_in_view(self) -> bool:
        """Whether the highlighted block is in view: all of it, or from its top when it is
        taller than the panel (False when nothing is highlighted)."""
        browser = self._browser
        start = browser.document().find("▶")
        table = start.currentTable() if not start.isNull() else None
        if table is None or not self.isVisible():
            return False
        top = browser.cursorRect(table.firstCursorPosition()).top()
        bottom = browser.cursorRect(table.lastCursorPosition()).bottom()
        height = browser.viewport().height()
        return top >= -8 and (bottom <= height + 8 or top <= 8)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.scroll_to_highlight()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.scroll_to_highlight()

    def _lit(self, section: str, on: bool) -> str:
        """A section on a tinted background with a ▶, so a highlight is not colour alone."""
        if not on:
            return section
        tint = _tint(self._theme.selection, self._theme.background, LIT_AMOUNT)
        return (
            f"<a name='{LIT_ANCHOR}'></a>"
            f"<table width='100%' cellpadding='4' bgcolor='{tint}'><tr>"
            f"<td width='1%' valign='top'><p><b>▶</b></p></td><td>{section}</td></tr></table>"
        )

    def _gradient_html(self, expl: SampleExplanation) -> str:
        one_hot = expl.target_kind != "probability" and expl.label_smoothing == 0
        if one_hot and expl.temperature == 1.0:
            # What the lesson says ("p − y"): the general form, with q = y and T = 1.
            body = "∂loss/∂z<sub>i</sub> = p<sub>i</sub> − y<sub>i</sub> " + self._muted(
                "(y = the one-hot target; in general (p − q)/T, q the target)"
            )
        else:
            body = (
                "∂loss/∂z<sub>i</sub> = (p<sub>i</sub> − q<sub>i</sub>) / T"
                f" {self._muted('(q = the target; scaled by the reduction)')}"
            )
        return f"<p style='margin-top:8px'><b>Gradient</b>: {body}</p>"

    def _binary_html(self, b: BinaryIdentity) -> str:
        """softmax([0, z]/T) = [1 − σ(z/T), σ(z/T)], and CE = BCEWithLogitsLoss, with numbers."""
        one = self._name(1)
        t = "" if b.temperature == 1.0 else "/T"
        out = [
            "<p style='margin-top:8px'><b>Binary logits</b>: one score z per sample, shown as "
            "the classes [0, z]</p>",
            f"<p style='white-space:nowrap'>p<sub>{one}</sub> = e<sup>z{t}</sup> / "
            f"(e<sup>0</sup> + e<sup>z{t}</sup>) = 1 / (1 + e<sup>−z{t}</sup>) = "
            f"σ(z{t})</p>",
            f"<p>z = z<sub>1</sub> − z<sub>0</sub> = {format_number(b.z)}"
            + ("" if not t else f", z/T = {format_number(b.scaled)}")
            + f"<br>σ(z{t}) = <b>{format_number(b.sigmoid)}</b> (torch.sigmoid) · softmax "
            f"p<sub>{one}</sub> = <b>{format_number(b.p_positive)}</b>"
            + ("" if b.agree else " " + self._muted("(they differ by rounding)"))
            + "</p>",
        ]
        if b.label is not None and b.bce is not None:
            out.append(
                f"<p>BCEWithLogitsLoss(z{t}, y = {b.label}) = −[y log σ + (1 − y) log(1 − σ)]"
                f" = <b>{format_number(b.bce)}</b>"
                + (
                    " = the cross-entropy below"
                    if b.cross_entropy is not None
                    and math.isclose(b.bce, b.cross_entropy, rel_tol=2e-3, abs_tol=1e-6)
                    else self._muted(" (the cross-entropy below adds smoothing or weights)")
                )
                + "</p>"
            )
        return "".join(out)

    def _name(self, index: int) -> str:
        return html.escape(class_label(self._class_names, index))

    def _softmax_html(self, expl: SampleExplanation) -> str:
        theme = self._theme
        t_is_one = expl.temperature == 1.0
        out = [
            f"<p><b>Sample {expl.index}</b> · T = {fmt.short(expl.temperature)}"
            f" · {html.escape(expl.dtype)}</p>"
        ]
        # Non-finite rows lead with the plain-language reason, before any NaN in the table.
        out.extend(self._warning(note) for note in expl.notes)
        # One formula per line, never broken inside: a wrapped superscript is unreadable.
        tight = "style='white-space:nowrap; margin-bottom:0px'"
        out.append(
            f"<p {tight}><b>Softmax</b>: p<sub>i</sub> = e<sup>z<sub>i</sub>/T</sup> / "
            "Σ<sub>j</sub> e<sup>z<sub>j</sub>/T</sup></p>"
            f"<p {tight}>= e<sup>z<sub>i</sub>/T − m</sup> / "
            "Σ<sub>j</sub> e<sup>z<sub>j</sub>/T − m</sup></p>"
            f"<p>m = max z/T = {format_number(expl.max_scaled)} "
            f"{self._muted('(subtracting m keeps every exp ≤ 1: no overflow)')}</p>"
        )
        head = ["z<sub>i</sub>"] + ([] if t_is_one else ["z<sub>i</sub>/T"])
        head += ["e<sup>z<sub>i</sub>/T − m</sup>", "p<sub>i</sub>"]
        rows = [_header_row(["", "class"], head)]
        shown = expl.shown_classes()
        for i in shown.indices.tolist():
            marks = []
            color = theme.foreground
            if i == expl.true_class:
                marks.append("y")
                color = self._ink(theme.true_class)
            # argmax of a NaN row is meaningless, so ŷ is only marked where p is a number.
            if i == expl.predicted_class and math.isfinite(expl.probabilities[i]):
                marks.append("ŷ")
                if i != expl.true_class:
                    color = self._ink(theme.predicted)
            cells = [
                f"<td style='color:{color}'><b>{' '.join(marks)}</b></td>",
                f"<td style='color:{color}'>{self._name(i)}</td>",
                self._cell(expl.z[i]),
            ]
            if not t_is_one:
                cells.append(self._cell(expl.scaled[i]))
            cells += [self._cell(expl.exp_terms[i]), self._cell(expl.probabilities[i], bold=True)]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        n_blank = 3 if t_is_one else 4
        rows.append(
            "<tr>"
            + "<td></td>" * (n_blank - 1)
            + "<td align='right'>Σ<sub>j</sub> =</td>"
            + self._cell(expl.exp_sum)
            + "<td></td></tr>"
        )
        out.append("<table cellspacing='0' cellpadding='1'>" + "".join(rows) + "</table>")
        if shown.n_hidden:
            out.append(
                f"<p>{self._muted(f'… and {shown.n_hidden:,} more classes (Σ p = ')}"
                f"{self._muted(format_number(shown.hidden_total) + ')')}</p>"
            )
        return "".join(out)

    def _loss_html(self, expl: SampleExplanation) -> str:
        out = ["<p style='margin-top:8px'><b>Loss</b> (cross-entropy)</p>"]
        if expl.ignored:
            out.append(
                self._warning(
                    "This sample is ignored (label = ignore_index = "
                    f"{fmt.short(expl.ignore_index)}): it adds 0 to the loss."
                )
            )
            return "".join(out)
        weighted = expl.weight is not None
        hard = expl.target_kind == "index" and not expl.smoothed
        if hard and expl.true_class is not None:
            y = expl.true_class
            p_y = format_number(expl.probabilities[y])
            name = f"y = <b>{self._name(y)}</b> (class {y})"
            if weighted:
                out.append(
                    f"<p>w<sub>y</sub> · (−log p<sub>y</sub>), {name}<br>"
                    f"= {fmt.short(expl.sample_weight)} · (−log {p_y})"
                )
            else:
                out.append(f"<p>−log p<sub>y</sub>, {name}<br>= −log {p_y}")
            out.append(f" = <b>{format_number(expl.loss)}</b></p>")
        else:
            out.append(self._soft_loss_html(expl))
        return "".join(out)

    def _soft_loss_html(self, expl: SampleExplanation) -> str:
        weighted = expl.weight is not None
        w = "w<sub>c</sub> " if weighted else ""
        out = [f"<p>−Σ<sub>c</sub> {w}q<sub>c</sub> log p<sub>c</sub>"]
        eps = fmt.short(expl.label_smoothing)
        c = f"{expl.n_classes:,}"
        if expl.target_kind == "index" and expl.true_class is not None:
            y = expl.true_class
            out.append(
                f", y = <b>{self._name(y)}</b> (class {y})<br>q = (1 − ε)·onehot(y) + ε/C,"
                f" ε = {eps}, C = {c}"
            )
        elif expl.smoothed:
            out.append(f"<br>q = (1 − ε)·target + ε/C, ε = {eps}, C = {c}")
        else:
            out.append("<br>q = the target distribution")
        out.append("</p>")
        head = ["q<sub>c</sub>"] + (["w<sub>c</sub>"] if weighted else [])
        head += ["log p<sub>c</sub>", f"−{w}q<sub>c</sub> log p<sub>c</sub>"]
        rows = [_header_row(["class"], head)]
        terms = expl.shown_loss_terms()
        for i in terms.indices.tolist():
            cells = [f"<td>{self._name(i)}</td>", self._cell(expl.target_row[i])]
            if expl.weight is not None:
                cells.append(f"<td align='right'>{fmt.short(expl.weight[i])}</td>")
            cells += [self._cell(expl.log_probabilities[i]), self._cell(expl.loss_terms[i])]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        out.append("<table cellspacing='0' cellpadding='1'>" + "".join(rows) + "</table>")
        if terms.n_hidden:
            out.append(
                f"<p>{self._muted(f'… and {terms.n_hidden:,} more terms (Σ = ')}"
                f"{self._muted(format_number(terms.hidden_total) + ')')}</p>"
            )
        if not len(terms.indices):
            out.append(f"<p>{self._muted('every term is 0 (the target gives no weight)')}</p>")
        out.append(f"<p>= <b>{format_number(expl.loss)}</b></p>")
        return "".join(out)

    def _reduction_html(self, expl: SampleExplanation) -> str:
        reduced = format_number(expl.reduced_loss) if expl.reduced_loss is not None else ""
        n = f"{expl.n_samples:,}"
        samples = "sample" if expl.n_samples == 1 else "samples"
        if expl.reduction == "mean":
            over = n if expl.n_counted == expl.n_samples else f"{expl.n_counted:,} of {n}"
            skipped = expl.n_samples - expl.n_counted
            ignored = f", {skipped:,} ignored" if skipped else ""
            denominator = fmt.short(expl.denominator)
            by = f"÷ Σ weights = {denominator}" if expl.weight is not None else f"÷ {denominator}"
            text = f"mean over {over} {samples}{ignored} ({by}) = <b>{reduced}</b>"
            if expl.denominator == 0:
                text += " (nothing to average: 0 / 0)"
        elif expl.reduction == "sum":
            text = f"sum over {n} {samples} = <b>{reduced}</b>"
        else:
            text = (
                f"none: per-sample losses, no reduction; this sample's is "
                f"<b>{format_number(expl.loss)}</b>"
            )
        return f"<p style='margin-top:8px'><b>Reduction</b>: {text}</p>"


class ScratchPanel(_RichPanel):
    """From scratch vs torch: numpy naive softmax, numpy stable softmax and torch, side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._comparison: SoftmaxComparison | None = None
        self._class_names: Sequence[str] = ()
        self._warning_shown = False
        self._title = QLabel("<b>From scratch vs torch</b>", self)
        self._banner = QLabel(self)
        self._banner.setWordWrap(True)
        self._banner.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self._title)
        layout.addWidget(self._banner)
        layout.addWidget(self._browser, 1)
        self._apply_style()
        self._render()

    def set_comparison(self, cmp: SoftmaxComparison | None, class_names: Sequence[str]) -> None:
        """Show ``cmp`` (None clears the panel)."""
        self._comparison = cmp
        self._class_names = class_names  # read, never written (no O(V) copy a click)
        self._render()

    def warning_visible(self) -> bool:
        """True while the ⚠ banner (naive softmax broke, or NaN logits) is up."""
        return self._warning_shown and self._banner.isVisibleTo(self)

    def text(self) -> str:
        """Banner and table as plain text."""
        banner = self._banner.text() if self._banner.isVisibleTo(self) else ""
        plain = QTextDocument()
        plain.setHtml(banner)
        return "\n".join(part for part in (plain.toPlainText(), super().text()) if part)

    def _apply_style(self) -> None:
        super()._apply_style()
        # A widget with its own style sheet no longer inherits font changes from its parent.
        self._banner.setFont(self.font())
        self._style_banner()

    def _style_banner(self) -> None:
        theme = self._theme
        color = theme.incorrect if self._warning_shown else theme.true_class
        self._banner.setStyleSheet(
            f"QLabel {{ background-color: {_tint(color, theme.background, BANNER_AMOUNT)};"
            f" color: {theme.foreground}; border-left: 4px solid {color};"
            f" padding: 6px; }}"
        )

    def _render(self) -> None:
        cmp = self._comparison
        if cmp is None:
            self._warning_shown = False
            self._banner.setVisible(False)
            self._browser.setHtml(
                self._muted("Select a sample to compare the from-scratch softmaxes with torch.")
            )
            return
        self._render_banner(cmp)
        self._set_html(self._table_html(cmp) + self._verdicts_html(cmp))

    def _render_banner(self, cmp: SoftmaxComparison) -> None:
        theme = self._theme
        if cmp.input_problem is not None:
            text = f"{cmp.input_problem}: every method gives NaN for this row."
            warning = True
        elif cmp.naive_failed:
            what = cmp.naive_verdict.removeprefix("naive: ")
            text = (
                f"The naive softmax broke: {what}. The stable one subtracts the max first, "
                f"so exp never sees a positive number."
            )
            warning = True
        elif not cmp.agree:
            text = f"The methods disagree: max diff {fmt.difference(cmp.max_diff)}."
            warning = True
        else:
            text = (
                f"All three agree (max diff {fmt.difference(cmp.max_diff)}). "
                f"Try logits like 1000, 999, 0 to break the naive one."
            )
            warning = False
        self._warning_shown = warning
        mark = "⚠" if warning else "✓"
        color = theme.incorrect if warning else theme.true_class
        ink = theme.text(color, _tint(color, theme.background, BANNER_AMOUNT))
        self._banner.setText(f"<span style='color:{ink}'><b>{mark}</b></span> {html.escape(text)}")
        self._style_banner()
        self._banner.setVisible(True)

    def _table_html(self, cmp: SoftmaxComparison) -> str:
        out = []
        if cmp.dtype_note:
            out.append(f"<p>{self._muted(html.escape(cmp.dtype_note))}</p>")
        t = "" if cmp.temperature == 1.0 else f"(z/T), T = {fmt.short(cmp.temperature)},"
        out.append(f"<p>softmax{t} in {html.escape(cmp.dtype)}</p>")
        rows = [_header_row(["class"], ["numpy<br>naive", "numpy<br>stable", "torch"])]
        naive = np.asarray(cmp.naive.value)  # a softmax: always a vector
        stable = np.asarray(cmp.stable.value)
        shown = cmp.shown_classes(SHOWN_CLASSES)
        for i in shown.indices.tolist():
            name = html.escape(class_label(self._class_names, i))
            rows.append(
                f"<tr><td>{name}</td>{self._cell(naive[i])}{self._cell(stable[i])}"
                f"{self._cell(cmp.torch_probabilities[i])}</tr>"
            )
        out.append("<table cellspacing='0' cellpadding='1'>" + "".join(rows) + "</table>")
        if shown.n_hidden:
            out.append(f"<p>{self._muted(f'… and {shown.n_hidden:,} more classes')}</p>")
        return "".join(out)

    def _verdicts_html(self, cmp: SoftmaxComparison) -> str:
        theme = self._theme
        lines = []
        for verdict in cmp.verdicts:
            ok = verdict.endswith(": ok")
            color = self._ink(theme.true_class if ok else theme.incorrect)
            mark = "✓" if ok else "✗"
            lines.append(f"<span style='color:{color}'>{mark}</span> {html.escape(verdict)}")
        lines.append(
            self._muted(
                f"max |naive − torch| = {fmt.difference(cmp.naive_diff)}, "
                f"max |stable − torch| = {fmt.difference(cmp.stable_diff)}"
            )
        )
        lines.append(
            self._muted(
                f"e<sup>x</sup> overflows {html.escape(cmp.compute_dtype)} above "
                f"x ≈ {fmt.short(cmp.overflow_limit)}"
            )
        )
        return "<p>" + "<br>".join(lines) + "</p>"
