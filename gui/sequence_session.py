"""Language-model logits in the window: the controller's side of the Sequence view.

A :class:`SequenceSession` is owned by the controller. It is active while the document's
metadata says where each row sits (``core.tokens``: sequence, position, token id — put there
when an LM file is opened, and carried by every edit, undo and workspace). It gives the table its
per-position columns (the input token, the rank of the target among V, the surprisal in bits),
renames the result columns for tokens (target, top-1, p(target)), and computes for the Sequence
view the chips of a sequence, per-sequence perplexity and the candidates under the mouse — all
from the document's evaluation, never a second pass over the (B·T, V) table except for the
ranks, which a background job computes (and a cell edit patches row by row).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.document import Change
from softmax_lab.core.kernels import background_threads, thread_limit
from softmax_lab.core.loaders.logprobs import is_partial
from softmax_lab.core.sequences import TargetPlaces, target_places
from softmax_lab.core.tokens import (
    LN2,
    SequenceLayout,
    SequenceStatistics,
    SequenceText,
    TokenTexts,
    is_sequence_table,
    sequence_layout,
    sequence_statistics,
    sequence_text,
    targets_are_next_tokens,
    token_nll,
    top_candidates,
)
from softmax_lab.core.view_state import TableColumn
from softmax_lab.gui.workers import yielding

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

RANK_JOB = "sequence-ranks"
HOVER_CANDIDATES = 5
PATCH_ROWS = 64
"""A logit edit touching at most this many rows re-ranks those rows at once; more re-rank all
rows in the background."""
PLACES_DELAY_MS = 250
"""After a temperature change, the masses above each target are recomputed this much later."""
COLUMN_TITLES = {"label": "target", "prediction": "top-1", "p_true": "p(target)"}


class SequenceSession(QObject):
    """See the module docstring. ``sigRanksReady`` follows each background ranking."""

    sigRanksReady = Signal()

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self._layout: SequenceLayout | None = None
        self._layout_of: tuple[Any, ...] = ()
        self._places: TargetPlaces | None = None
        self._names_version = 0
        self._tokens_column: tuple[int, Any, np.ndarray] | None = None
        self._texts: tuple[int, TokenTexts] | None = None
        controller.add_column_provider(self.columns)
        controller.sigViewChanged.connect(self._on_view_changed)
        self._places_timer = QTimer(self, singleShot=True, interval=PLACES_DELAY_MS)
        self._places_timer.timeout.connect(self._on_places_timer)

    # --- reading ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return is_sequence_table(self._c.document.inputs.metadata)

    def layout(self) -> SequenceLayout:
        """Where every row sits (recomputed only when the rows or their metadata change)."""
        metadata = self._c.document.inputs.metadata
        arrays = tuple(metadata.get(k) for k in sorted(metadata))
        if (
            self._layout is None
            or len(arrays) != len(self._layout_of)
            or any(a is not b for a, b in zip(arrays, self._layout_of, strict=False))
        ):
            self._layout = sequence_layout(metadata)
            self._layout_of = arrays
        return self._layout

    def nll(self) -> np.ndarray:
        """(N,) −log p(target) in nats at the current options; NaN where no target counts."""
        return self._c.cached("sequence:nll", lambda: token_nll(self._c.evaluation))

    def statistics(self) -> SequenceStatistics:
        return self._c.cached(
            "sequence:stats", lambda: sequence_statistics(self.layout(), self.nll())
        )

    def shifted(self) -> bool:
        """Whether targets are next tokens (causal LM) rather than aligned labels."""
        ev = self._c.evaluation
        return self._c.cached(
            "sequence:shifted",
            lambda: targets_are_next_tokens(self.layout(), ev.targets, ev.valid),
        )

    def sequence_of(self, row: int) -> int:
        """The index (into ``layout().sequences``) of the sequence holding ``row``."""
        return int(self.layout().index_of_row[row])

    def text(self, k: int) -> SequenceText:
        """The chips of the k-th sequence, coloured by the current evaluation, the tokens the
        current sampler would not draw marked."""
        kept, sampler = self.kept(), self.sampler()
        return self._c.cached(
            f"sequence:text:{k}:{sampler}:{id(self._places)}",
            lambda: sequence_text(
                self.layout(),
                k,
                self._token_texts(),
                self._c.evaluation,
                self.nll(),
                self.statistics(),
                self.shifted(),
                kept,
                sampler,
                is_partial(self._c.document.inputs.metadata),
            ),
        )

    def sampler(self) -> str:
        """The top-k / top-p sampler the view state describes ("" for none)."""
        view = self._c.view
        parts = [f"top-k {view.top_k}"] if view.top_k else []
        if view.top_p < 1.0:
            parts.append(f"top-p {fmt.short(view.top_p)}")
        return " + ".join(parts)

    def kept(self) -> np.ndarray | None:
        """(N,) whether the sampler would still draw each row's target (None: no sampler, or
        still computing). top-k and top-p are each tested alone, top-p on the full
        distribution at T; the Top-k/p tab shows the exact truncation of one position."""
        if not self.sampler() or self._places is None:
            return None
        return self._places.kept(int(self._c.view.top_k), float(self._c.view.top_p))

    def _token_texts(self) -> TokenTexts:
        if self._texts is None or self._texts[0] != self._names_version:
            self._texts = (self._names_version, TokenTexts(self._c.class_names))
        return self._texts[1]

    def ranks(self) -> np.ndarray | None:
        """(N,) rank of each row's target among V (0 = top, −1 = no target); None while the
        background job runs."""
        return None if self._places is None else self._places.rank

    def hover_text(self, row: int) -> str:
        """What the mouse over a token shows: the token the row is scored on, its probability,
        surprisal and rank, and the row's top next-token candidates."""
        key = f"sequence:hover:{row}:{self.sampler()}:{id(self._places)}"
        return self._c.cached(key, lambda: self._hover_text(row))

    def _hover_text(self, row: int) -> str:
        c = self._c
        ev = c.evaluation
        names = c.class_names
        p = c.probabilities_row(row)
        ids, probs = top_candidates(p, HOVER_CANDIDATES)
        ids, probs = ids[probs > 0], probs[probs > 0]  # a masked (−∞) token is no candidate
        if not ids.size:
            ids, probs = top_candidates(p, HOVER_CANDIDATES)
        layout = self.layout()
        position = int(c.document.inputs.metadata["position"][row])
        token = None if layout.tokens is None else int(layout.tokens[row])
        here = f"position {position}"
        if token is not None and 0 <= token < len(names):
            here += f" · “{names[token]}”" if not self.shifted() else f" · after “{names[token]}”"
        lines = []
        if ev.valid[row]:
            target = int(ev.targets[row])
            bits = float(self.nll()[row]) / LN2
            places = self._places
            rank = "…" if places is None else fmt.count(int(places.rank[row]) + 1)
            arrow = "→ next" if self.shifted() else "→ label"
            if is_partial(c.document.inputs.metadata):
                arrow = "→ the API's token"
            lines.append(f"{here} {arrow} “{names[target]}”")
            lines.append(
                f"p = {fmt.number(float(p[target]))} · {fmt.number(bits)} bits · "
                f"rank {rank} of {fmt.count(ev.n_classes)}"
            )
            kept = self.kept()
            if places is not None and not np.isnan(places.mass_above[row]):
                above = f"p of the tokens above it: {fmt.number(float(places.mass_above[row]))}"
                if kept is not None:
                    verdict = "would draw it" if kept[row] else "would never draw it"
                    above += f" · {self.sampler()} {verdict}"
                lines.append(above)
        else:
            lines.append(f"{here} · not scored")
            if p.size and float(p.max()) == float(p.min()):  # a generate() prompt: no logits
                lines.append("no logits at this position (every token equally likely)")
                return "\n".join(lines)
        lines.append(f"top {len(ids)} next tokens:")
        width = max(len(names[i]) for i in ids)
        for i, (token, prob) in enumerate(zip(ids, probs, strict=True)):
            mark = " ◂" if ev.valid[row] and token == ev.targets[row] else ""
            lines.append(f"{i + 1}. {names[token]:<{width}}  {fmt.number(float(prob))}{mark}")
        return "\n".join(lines)

    def first_row(self, k: int) -> int:
        """The row to select for the k-th sequence: its first scored position, else its first."""
        rows = self.layout().rows_of(k)
        valid = self._c.evaluation.valid[rows]
        return int(rows[np.argmax(valid)] if valid.any() else rows[0])

    # --- the table ----------------------------------------------------------------------------

    def columns(self) -> list[TableColumn]:
        if not self.active:
            return []
        layout = self.layout()
        n = self._c.document.n_samples
        out = []
        if layout.tokens is not None:
            out.append(
                TableColumn(
                    "token",
                    "token",
                    self._token_column(layout),
                    "the input token at this position (its target is the next one)",
                    "text",
                )
            )
        ranks = np.full(n, -1, dtype=np.int64)
        if self._places is not None and self._places.rank.size == n:
            ranks = np.where(self._places.rank >= 0, self._places.rank + 1, -1)
        out.append(
            TableColumn(
                "rank",
                "rank",
                ranks,
                "the target's place among all tokens by probability (1 = the model's top "
                "choice; the same at every temperature; — while it is computed)",
                "count",
            )
        )
        out.append(
            TableColumn(
                "bits",
                "bits",
                self.nll() / LN2,
                "−log₂ p(target) at temperature T: the bits the target costs",
                "number",
            )
        )
        kept = self.kept()
        if kept is not None and kept.size == n:
            out.append(
                TableColumn(
                    "sampled",
                    "sampled",
                    kept,
                    f"whether {self.sampler()} at T would still draw the target (each limit "
                    "alone; the Top-k/p tab shows one position exactly)",
                    "bool",
                )
            )
        return out

    def column_titles(self) -> dict[str, str]:
        """Result columns renamed for tokens while LM logits are open."""
        return COLUMN_TITLES if self.active else {}

    def _token_column(self, layout: SequenceLayout) -> np.ndarray:
        tokens = layout.tokens
        assert tokens is not None
        cached = self._tokens_column
        if cached is None or cached[0] != self._names_version or cached[1] is not tokens:
            names = np.asarray(self._c.class_names, dtype=object)
            inside = (tokens >= 0) & (tokens < names.size)
            values = np.full(tokens.size, "", dtype=object)
            values[inside] = names[tokens[inside]]
            self._tokens_column = cached = (self._names_version, tokens, values)
        return cached[2]

    # --- keeping up ---------------------------------------------------------------------------

    def document_changed(self, change: Change, rows: np.ndarray | None) -> None:
        """Called by the controller first thing after every document change."""
        if change & (Change.NAMES | Change.STRUCTURE | Change.INPUTS):
            self._names_version += 1
        if not self.active:
            self._places = None
            self._c.jobs.cancel(RANK_JOB)
            return
        doc = self._c.document
        temperature = float(doc.settings.temperature)
        data = change & (Change.LOGITS | Change.TARGETS | Change.STRUCTURE | Change.INPUTS)
        moved = self._places is not None and self._places.temperature != temperature
        if not data and not moved:
            return  # names and options other than T leave ranks and masses as they are
        places = self._places
        small = change == Change.LOGITS and rows is not None and len(rows) <= PATCH_ROWS
        if small and places is not None and places.rank.size == doc.n_samples and not moved:
            patch = target_places(doc.logits, doc.labels, temperature, rows)
            rank, mass = places.rank.copy(), places.mass_above.copy()
            rank[rows], mass[rows] = patch.rank[rows], patch.mass_above[rows]
            self._places = TargetPlaces(rank, mass, temperature)
            return
        labels = doc.labels.copy()
        if not ((labels >= 0) & (labels < doc.n_classes)).any():  # no targets: nothing to rank
            self._c.jobs.cancel(RANK_JOB)
            n = doc.n_samples
            self._places = TargetPlaces(np.full(n, -1, np.int64), np.full(n, np.nan), temperature)
            return
        if not data:
            # A new temperature keeps the ranks; the masses follow once the slider rests and
            # no option change is being evaluated (one background pass at a time).
            self._places_timer.start()
            return
        self._places = None
        self._start_places()

    def _on_places_timer(self) -> None:
        if self.active:
            self._start_places()

    def _start_places(self) -> None:
        if self._c.background.busy:
            self._places_timer.start()
            return
        doc = self._c.document
        logits, labels = doc.logits, doc.labels.copy()
        temperature = float(doc.settings.temperature)

        def work() -> TargetPlaces:
            with thread_limit(background_threads()):  # a thread-local limit: set in the thread
                return target_places(logits, labels, temperature)

        self._c.jobs.start(
            RANK_JOB,
            yielding,
            work,
            done=self._on_places,
            failed=lambda exc: self._c.sigMessage.emit(f"Could not rank the targets: {exc}"),
        )

    def _on_view_changed(self, fields: frozenset[str]) -> None:
        if fields & {"top_k", "top_p"} and self.active and self._places is not None:
            self._c.refresh_columns()  # the "sampled" column

    def _on_places(self, places: TargetPlaces) -> None:
        if places.rank.size != self._c.document.n_samples:
            return
        self._places = places
        if places.temperature != float(self._c.document.settings.temperature):
            self._places_timer.start()  # T moved while this pass ran
        self._c.refresh_columns()
        self.sigRanksReady.emit()
