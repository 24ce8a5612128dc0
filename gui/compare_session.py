"""Two models in one window: the controller's side of comparing model A with a model B.

The document holds B's logits (``Document.attach_model_b``) and evaluates B with A's targets and
options; :class:`CompareSession` (owned by the controller) turns that into what the window shows:

* the comparison of the current evaluations (``core.compare``), cached until either changes;
* table columns: B's prediction, p(true) and loss, Δloss = loss B − loss A, the outcome (fixed,
  broken, both right, both wrong), whether the prediction changed, and B's class columns, which
  are edited as B's logits (``Document.set_logits(..., model="b")``, one undo step each);
* the Show filters and Sort choices of compare mode, and the agreement-cell drill-down;
* B's view of the selected sample, a heading with both losses, and which model's gradient shows;
* opening B from a file off the GUI thread (``core.opening.prepare_model_b``), stopping, and
  comparing a model with itself temperature-scaled (T = 1 against the fitted T);
* the status-bar and header texts, and the dataset comparison (``core.compare.compare_dataset``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from softmax_lab.core import formatting as fmt
from softmax_lab.core.calibration import TemperatureFit, fit_temperature
from softmax_lab.core.compare import Comparison, ComparisonDataset, compare, compare_dataset
from softmax_lab.core.constants import block_rows, elide
from softmax_lab.core.display import SampleView, sample_view
from softmax_lab.core.document import Change
from softmax_lab.core.loaders import DataError
from softmax_lab.core.opening import PreparedModelB, prepare_model_b
from softmax_lab.core.parsing import parse_number
from softmax_lab.core.view_state import Filter, Sort, TableColumn

if TYPE_CHECKING:
    from softmax_lab.gui.controller import Controller

LOGIT_B = "logit_b:"
"""Key prefix of B's class columns (``logit_b:<class>``)."""
DELTA = "delta_loss"
OUTCOME = "outcome"
CHANGED = "changed"
WORST_FIRST = Sort(f"extra:{DELTA}", True)
"""Δloss, largest first: the biggest regressions of B over A at the top."""
FILTERS = (
    Filter("column", (OUTCOME, "fixed"), "fixed: A wrong, B right"),
    Filter("column", (OUTCOME, "broken"), "broken: A right, B wrong"),
    Filter("column", (CHANGED, True), "prediction changed"),
    Filter("column", (OUTCOME, "both wrong"), "both wrong"),
    Filter("column", (OUTCOME, "both right"), "both right"),
)
CELLS = {
    (False, True): FILTERS[0],
    (True, False): FILTERS[1],
    (False, False): FILTERS[3],
    (True, True): FILTERS[4],
}
"""The agreement cell (A right, B right) -> the filter that shows its samples."""
SORTS = (
    ("Δloss, biggest regression first", WORST_FIRST),
    ("Δloss, biggest improvement first", Sort(f"extra:{DELTA}", False)),
)
ROW_CACHE = 512


class ProbabilityColumnB:
    """B's probabilities of one class as an (N,) column that computes only the rows the table
    shows (a full column only when the table is sorted by it)."""

    dtype = np.dtype(np.float64)

    def __init__(self, session: CompareSession, cls: int, n: int) -> None:
        self._session, self._cls, self._n = session, cls, n

    def __len__(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int]:
        return (self._n,)

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, (int, np.integer)):
            return float(self._session.probabilities_row_b(int(row))[self._cls])
        return np.asarray(self)[row]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        ev = self._session.comparison()
        out = np.empty(self._n, dtype=np.float64)
        if ev is not None:
            step = block_rows(ev.b.n_classes)
            for s in range(0, self._n, step):
                e = min(self._n, s + step)
                out[s:e] = ev.b.probabilities_of(slice(s, e))[:, self._cls]
        return out if dtype is None else out.astype(dtype)


class CompareSession(QObject):
    """The compare mode of one controller; see the module docstring."""

    sigActiveChanged = Signal(bool)  # compare mode turned on or off
    sigGradientModelChanged = Signal(str)  # "a" or "b"
    sigCompared = Signal(str)  # a file was attached as model B (its path)
    sigCompareFailed = Signal(str)  # why a file could not be compared
    sigTemperatureReady = Signal(bool)  # a fitted temperature is there to compare with

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller
        self._active = controller.document.logits_b is not None  # a document may come with B
        # Asks whether B's binary scores in [0, 1] are probabilities (the window sets it); True
        # reads B again as probabilities. Without it they stay logits, with a notice saying so.
        self.ask_probabilities: Callable[[str], bool] | None = None
        self._gradient_model = "a"
        self._cmp: Comparison | None = None
        self._dataset: ComparisonDataset | None = None
        self._class_columns: list[TableColumn] = []
        self._class_key: tuple[Any, ...] | None = None
        self._names_key: tuple[str, ...] | None = None
        self._names = np.zeros(0, dtype=str)
        self._rows_b: dict[int, np.ndarray] = {}
        self._fit: TemperatureFit | None = None
        self._scaling = False
        controller.add_column_provider(self.columns, self.edit_column)
        # Connected before the window's views: caches are fresh when they redraw.
        controller.sigTemperatureFitted.connect(self._on_fitted)
        controller.sigViewChanged.connect(self._on_view_changed)

    # --- reading ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._c.document.logits_b is not None

    @property
    def names(self) -> tuple[str, str]:
        return self._c.document.model_names

    @property
    def gradient_model(self) -> str:
        return self._gradient_model if self.active else "a"

    @property
    def temperature_fit(self) -> TemperatureFit | None:
        """The last temperature fit of the current logits and labels, if still current."""
        return self._fit

    def comparison(self) -> Comparison | None:
        """A against B for the current evaluations (None when there is no B). After an edit of
        some rows' logits only the changed rows are compared again (``Comparison.updated``)."""
        doc = self._c.document
        ev_a, ev_b = doc.evaluation, doc.evaluation_b
        if ev_b is None:
            return None
        old = self._cmp
        if old is not None and old.a is ev_a and old.b is ev_b:
            return old
        rows = doc.changed_rows  # set while the document announces a logits edit
        if (
            old is not None
            and rows is not None
            and (old.a is ev_a or old.b is ev_b)
            and old.n_samples == ev_a.n_samples
        ):
            self._cmp = old.updated(ev_a, ev_b, rows)
        else:
            self._cmp = compare(ev_a, ev_b)
        self._dataset = None
        if old is None or old.b is not ev_b:
            self._rows_b.clear()
        return self._cmp

    def dataset(self) -> ComparisonDataset | None:
        """Both reliability diagrams, loss histograms and per-class accuracies (cached)."""
        cmp = self.comparison()
        if cmp is None:
            return None
        if self._dataset is None:
            self._dataset = compare_dataset(cmp)
        return self._dataset

    def probabilities_row_b(self, sample: int) -> np.ndarray:
        """B's probabilities of one sample, cached (a table row asks once per cell)."""
        cmp = self.comparison()
        if cmp is None:
            return np.full(self._c.document.n_classes, np.nan)
        cached = self._rows_b.get(sample)
        if cached is None:
            if len(self._rows_b) > ROW_CACHE:
                self._rows_b.clear()
            cached = self._rows_b[sample] = cmp.b.probabilities_of([sample])[0]
        return cached

    # --- table columns ------------------------------------------------------------------------

    def columns(self) -> list[TableColumn]:
        """B's results, Δloss, outcome, changed, then B's class columns (none without B)."""
        cmp = self.comparison()
        if cmp is None:
            return []
        b, valid = cmp.b, cmp.valid
        a_name, b_name = self.names
        names = self._class_name_array()
        pred = names[b.predictions]
        if not b.has_prediction.all():
            pred = np.where(b.has_prediction, pred, fmt.NAN)
        with np.errstate(invalid="ignore"):
            p_true = np.where(valid, b.p_true, np.nan)
            loss = np.where(valid, b.losses, np.nan)
        return [
            TableColumn(
                "pred_b", "pred\nB", pred, f"B ({b_name}): predicted class", "text", result=True
            ),
            TableColumn(
                "p_true_b",
                "p(true)\nB",
                p_true,
                f"B ({b_name}): probability of the true class",
                result=True,
            ),
            TableColumn(
                "loss_b", "loss\nB", loss, f"B ({b_name}): this sample's loss", result=True
            ),
            TableColumn(
                DELTA,
                "Δloss\nB − A",
                cmp.delta_loss,
                f"loss of B ({b_name}) − loss of A ({a_name}): above 0, B is worse here",
                result=True,
            ),
            TableColumn(
                OUTCOME,
                "outcome\nA → B",
                cmp.outcome,
                "fixed: A wrong, B right · broken: A right, B wrong · both right · both wrong",
                "text",
                result=True,
            ),
            TableColumn(
                CHANGED,
                "pred\nchanged",
                cmp.changed,
                "B predicts another class",
                "bool",
                result=True,
            ),
            *self._b_class_columns(),
        ]

    def _class_name_array(self) -> np.ndarray:
        names = tuple(self._c.class_names)
        if names != self._names_key:
            self._names_key = names
            self._names = np.asarray(names, dtype=str)
        return self._names

    def _b_class_columns(self) -> list[TableColumn]:
        """One column per class with B's logits (edited as B's), or B's probabilities when the
        table shows probabilities; rebuilt only when B's array, the names or the view change."""
        doc = self._c.document
        logits_b = doc.logits_b
        probabilities = bool(self._c.view.show_probabilities)
        key = (logits_b, tuple(doc.class_names), probabilities, doc.model_names[1])
        old = self._class_key
        if old is not None and old[0] is logits_b and old[1:] == key[1:]:
            return self._class_columns
        assert logits_b is not None
        n, b_name = doc.n_samples, doc.model_names[1]
        columns = []
        for c, name in enumerate(doc.class_names):
            if probabilities:
                values: Any = ProbabilityColumnB(self, c, n)
                tip = f"B ({b_name}): probability of class {name!r}"
            else:
                values = logits_b[:, c]
                tip = f"B ({b_name}): logit of class {name!r} (type to edit B's logit)"
            columns.append(
                TableColumn(f"{LOGIT_B}{c}", f"{name}\nB", values, tip, "number", not probabilities)
            )
        self._class_key, self._class_columns = key, columns
        return columns

    def edit_column(self, key: str, sample: int, text: object) -> bool | None:
        """A value typed into one of B's class columns edits B's logit (None: not ours)."""
        if not key.startswith(LOGIT_B):
            return None
        cls = int(key[len(LOGIT_B) :])
        try:
            value = parse_number(text)
        except ValueError as exc:
            self._c.sigMessage.emit(f"Not changed: {exc}")
            return False
        name = self._c.class_names[cls]
        return self._edit_b([sample], [cls], value, f"Edit z_B[{sample}, {name}]")

    def _edit_b(self, rows: list[int], cols: list[int], value: float, text: str, **kw: Any) -> bool:
        try:
            self._c.document.set_logits(rows, cols, value, text=text, model="b", **kw)
        except ValueError as exc:
            self._c.sigMessage.emit(f"Not changed: {exc}")
            return False
        return True

    def drag_logit_b(self, cls: int, value: float) -> None:
        """A bar of B's dragged on the sample plot (one undo step per drag, as for A)."""
        c = self._c
        c.set_holding(True)
        self._edit_b(
            [c.selected],
            [cls],
            round(value, 3),
            "Drag logit of B",
            merge_key=("drag b", c.drag_serial),
        )

    # --- filters, sorts, drill-down -----------------------------------------------------------

    def filters(self) -> list[Filter]:
        """The Show box's compare filters (none unless comparing)."""
        return list(FILTERS) if self.active else []

    def sorts(self) -> list[tuple[str, Sort]]:
        """The Sort box's compare sorts (none unless comparing)."""
        return list(SORTS) if self.active else []

    @staticmethod
    def filters_offered() -> list[Filter]:
        """Every compare filter, for menus that show them only while comparing."""
        return list(FILTERS)

    @staticmethod
    def sorts_offered() -> list[tuple[str, Sort]]:
        return list(SORTS)

    def show_cell(self, a_right: bool, b_right: bool) -> None:
        """The agreement-matrix drill-down: that cell's samples, the largest Δloss first."""
        if not self.active:
            return
        c = self._c
        filt = CELLS[(bool(a_right), bool(b_right))]
        c.set_filter(filt)
        c.set_sort(WORST_FIRST)
        n = c.row_count()
        c.sigMessage.emit(f"Table: {filt.label} ({n:,} samples, largest Δloss first)")
        if n:
            c.select(c.sample_at(0))

    # --- the selected sample ------------------------------------------------------------------

    def sample_view_b(self) -> SampleView | None:
        """B's view of the selected sample (None when not comparing)."""
        cmp = self.comparison()
        if cmp is None:
            return None
        row = self._c.selected
        doc = self._c.document
        assert doc.logits_b is not None
        return self._c.cached(
            f"sample_b:{row}",
            lambda: sample_view(cmp.b, doc.logits_b[row], self._c.class_names, row),
        )

    def decorate(self, view: SampleView) -> SampleView:
        """A's view of the selected sample with a heading that names both models' predictions
        and losses (unchanged when not comparing)."""
        cmp = self.comparison()
        view_b = self.sample_view_b()
        if cmp is None or view_b is None:
            return view
        row = view.index
        names = self._c.class_names
        a_name, b_name = (elide(n, 16) for n in self.names)

        def pred(v: SampleView) -> str:
            return "—" if v.predicted is None else names[v.predicted]

        head = view.heading.rsplit(" · pred ", 1)[0]
        kl = f"KL(A‖B) {fmt.number(float(cmp.kl_of([row])[0]))}"
        if not cmp.valid[row]:
            second = f"▮ A {a_name}: pred {pred(view)} · ▨ B {b_name}: pred {pred(view_b)}"
            return replace(view, heading=f"{head} · {kl}\n{second}")
        first = f"{head} · Δloss {fmt.number(float(cmp.delta_loss[row]))} · {kl}"
        # ▮ / ▨: A's solid bars and B's hatched ones (the plot colours them as the bars).
        second = (
            f"▮ A {a_name}: pred {pred(view)}, loss {fmt.number(float(cmp.a.losses[row]))} · "
            f"▨ B {b_name}: pred {pred(view_b)}, loss {fmt.number(float(cmp.b.losses[row]))}"
        )
        return replace(view, heading=f"{first}\n{second}")

    def gradient_view(self, view_a: SampleView) -> SampleView:
        """The gradient the Gradient plot shows: A's, or B's when chosen."""
        view_b = self.sample_view_b()
        return view_b if self.gradient_model == "b" and view_b is not None else view_a

    def set_gradient_model(self, model: str) -> None:
        if model not in ("a", "b"):
            raise ValueError(f"no model {model!r}")
        if model != self._gradient_model:
            self._gradient_model = model
            self.sigGradientModelChanged.emit(model)

    # --- texts --------------------------------------------------------------------------------

    def status_parts(self) -> list[str]:
        """The status bar's first words while comparing (none when not): both mean losses (as
        torch's reduction="mean" gives them) and both accuracies."""
        cmp = self.comparison()
        if cmp is None:
            return []
        a, b = cmp.a, cmp.b
        a_name, b_name = (elide(n, 12) for n in self.names)

        def mean(ev: Any) -> str:
            if not ev.denominator:
                return fmt.MISSING
            return fmt.number(float(ev.losses.sum(dtype=np.float64) / ev.denominator))

        return [
            f"mean loss: A {a_name} {mean(a)} · B {b_name} {mean(b)}",
            f"accuracy: A {a.n_correct}/{a.n_valid} · B {b.n_correct}/{b.n_valid}",
        ]

    def header(self) -> dict[str, str]:
        """What the compare bar says: both models' names and summaries, and the counts."""
        cmp = self.comparison()
        if cmp is None:
            return {}
        s = cmp.summary
        a_name, b_name = self.names

        def model(tag: str, name: str, key: str) -> str:
            return (
                f"{tag} = {name}: accuracy {fmt.percent(s['accuracy_' + key])}, mean loss "
                f"{fmt.metric(s['mean_loss_' + key])}, ECE {fmt.metric(s['ece_' + key])}"
            )

        return {
            "a": model("A", a_name, "a"),
            "b": model("B", b_name, "b"),
            "counts": (
                f"{s['fixed']:,} fixed · {s['broken']:,} broken · {s['changed']:,} changed · "
                f"{s['both_wrong']:,} both wrong · mean Δloss "
                f"{fmt.metric(s['mean_delta_loss'])}"
            ),
        }

    # --- attaching and stopping ---------------------------------------------------------------

    def open_file(
        self, path: str | Path, name_a: str = "A", as_probabilities: bool | None = None
    ) -> None:
        """Read ``path`` as model B and evaluate it off the GUI thread, then attach it (one undo
        step). A file that does not fit says why (``sigCompareFailed``) and nothing changes.
        ``as_probabilities``: see ``core.opening.prepare_model_b``; when it is None and B's
        binary scores all lie in [0, 1], ``ask_probabilities`` is asked first."""
        doc = self._c.document
        path = str(path)
        if self.active:
            name_a = self.names[0]
        self._c.jobs.start(
            "compare",
            prepare_model_b,
            path,
            doc.evaluation,
            doc.labels.copy(),
            doc.has_labels,
            as_probabilities,
            done=lambda prepared: self._on_prepared(prepared, name_a),
            failed=lambda exc: self._on_failed(path, exc),
        )
        self._c.sigMessage.emit(f"Opening {Path(path).name} to compare…")

    def cancel(self) -> None:
        self._c.jobs.cancel("compare")

    def _on_prepared(self, prepared: PreparedModelB, name_a: str) -> None:
        doc = self._c.document
        ask = self.ask_probabilities
        if prepared.offer_probabilities and ask is not None and ask(Path(prepared.path).name):
            self.open_file(prepared.path, name_a, as_probabilities=True)
            return
        try:
            doc.attach_model_b(
                prepared.logits,
                (name_a, prepared.name),
                text=f"Compare with {Path(prepared.path).name}",
                evaluation_b=prepared.evaluation,
            )
        except ValueError as exc:  # the table changed shape while the file was read
            self._on_failed(prepared.path, exc)
            return
        notes = "; ".join(prepared.notices)
        self._c.sigMessage.emit(
            f"Comparing A = {name_a} with B = {prepared.name}" + (f" — {notes}" if notes else "")
        )
        self.sigCompared.emit(prepared.path)

    def _on_failed(self, path: str, exc: BaseException) -> None:
        if isinstance(exc, (DataError, ValueError)):
            message = str(exc)
        else:  # a bug must reach the user as a message, not a dead thread
            message = f"{path}: could not compare ({type(exc).__name__}: {exc})"
        self._c.sigMessage.emit(f"Not compared: {message}")
        self.sigCompareFailed.emit(message)

    def attach(self, logits_b: Any, names: tuple[str, str] = ("A", "B")) -> bool:
        """Attach B's logits directly (scripts, tests); False with a message if they do not fit."""
        return self._c.apply_edit(self._c.document.attach_model_b, logits_b, names)

    def stop(self) -> None:
        """Stop comparing (one undo step; undo brings B back)."""
        if self.active:
            self._c.document.detach_model_b()
            self._c.sigMessage.emit("Stopped comparing; Undo brings model B back")

    # --- temperature-scaled -------------------------------------------------------------------

    def compare_temperature(self) -> None:
        """Compare the model with itself at T = 1 (A) and at the fitted T (B = logits / T), in
        one undo step. Fits T first (off the GUI thread) when no current fit is known."""
        doc = self._c.document
        if doc.settings.target_mode != "index" or not self._c.fit_ready():
            self._c.sigMessage.emit("Comparing with a fitted temperature needs class labels")
            return
        if self._fit is not None:
            self._attach_scaled(self._fit)
            return
        logits = doc.logits if not doc.logits.flags.writeable else doc.logits.copy()
        labels, s = doc.labels.copy(), doc.settings
        weight = None if s.weight is None else np.asarray(s.weight)

        def work() -> TemperatureFit:
            return fit_temperature(
                logits, labels, ignore_index=s.ignore_index, weight=weight, device=s.device
            )

        self._c.sigMessage.emit("Fitting the temperature to compare with…")
        self._c.jobs.start(
            "compare_fit",
            work,
            done=self._on_scaled_fit,
            failed=lambda exc: self._c.sigMessage.emit(f"Could not fit the temperature: {exc}"),
        )

    def _on_scaled_fit(self, fit: TemperatureFit) -> None:
        self._fit = fit
        self.sigTemperatureReady.emit(True)
        self._attach_scaled(fit)

    def _attach_scaled(self, fit: TemperatureFit) -> None:
        doc = self._c.document
        t = float(fit.temperature)
        scaled = np.asarray(doc.logits, dtype=np.float64) / t
        if doc.logits.dtype == np.float32:
            scaled = scaled.astype(np.float32)
        names = ("T = 1", f"T = {fmt.short(t)}")
        self._scaling = True  # A's logits and labels stay: the fit still holds
        try:
            ok = self._c.apply_edit(
                doc.replace_all,
                doc.logits,
                doc.labels,
                doc.class_names,
                doc.soft_targets,
                replace(doc.settings, temperature=1.0),
                text="Compare with temperature-scaled",
                inputs=doc.inputs,
                has_labels=doc.has_labels,
                logits_b=scaled,
                model_names=names,
            )
        finally:
            self._scaling = False
        if ok:
            s = self.comparison()
            assert s is not None
            self._c.sigMessage.emit(
                f"A = the model at T = 1, B = at T = {fmt.short(t)}: ECE "
                f"{fmt.metric(s.summary['ece_a'])} → {fmt.metric(s.summary['ece_b'])}, mean loss "
                f"{fmt.metric(s.summary['mean_loss_a'])} → {fmt.metric(s.summary['mean_loss_b'])}"
            )

    def _on_fitted(self, fit: TemperatureFit) -> None:
        self._fit = fit
        self.sigTemperatureReady.emit(True)

    # --- document -> caches -------------------------------------------------------------------

    def _on_view_changed(self, fields: frozenset[str]) -> None:
        if "show_probabilities" in fields and self.active:
            self._c.refresh_columns()  # B's class columns switch between logits and p

    def document_changed(self, change: Change) -> None:
        """Told by the controller after a change of the numbers, before the views draw."""
        if (
            change & (Change.LOGITS | Change.TARGETS | Change.STRUCTURE)
            and self._fit is not None
            and not self._scaling
        ):
            self._fit = None  # fitted to other logits or labels
            self.sigTemperatureReady.emit(False)
        active = self.active
        if active != self._active:
            self._active = active
            if not active:
                self._class_key, self._class_columns = None, []
            self.sigActiveChanged.emit(active)
