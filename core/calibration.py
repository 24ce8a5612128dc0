"""Temperature scaling (Guo et al. 2017): the one T that minimises the NLL of ``logits / T``,
found by a bounded Brent search over log T with the logits streamed in row blocks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from softmax_lab.core.constants import IGNORE_INDEX, TEMPERATURE_MAX, TEMPERATURE_MIN
from softmax_lab.core.devices import resolve_device
from softmax_lab.core.metrics import _as_tensor, _block_rows, _labels, _vector, reliability

__all__ = ["TemperatureFit", "fit_temperature"]

_LOG_T_TOL = 1e-4  # |Δ log T| at which the search stops: T to about 1e-4 relative


@dataclass(frozen=True)
class TemperatureFit:
    """The temperature T minimising the mean NLL of ``logits / T`` (Guo et al. 2017)."""

    temperature: float
    nll_before: float
    """Mean NLL at T = 1 over the rows used."""
    nll_after: float
    """Mean NLL at the fitted T; never above nll_before (T = 1 is kept if nothing is better)."""
    ece_before: float
    ece_after: float
    iterations: int
    """NLL evaluations, each one pass over the logits (T = 1 and the fitted T included)."""
    n_used: int
    excluded: int
    """Labelled rows left out because their logits hold NaN or +inf, or give the label −inf."""
    at_bound: bool
    """True when the optimum lies at the edge of the search interval (``core.constants``'
    TEMPERATURE_MIN, TEMPERATURE_MAX)."""


class _Objective:
    """NLL(T) of the usable rows, streamed over row blocks: mean(w·(logsumexp(z/T) − z_y/T))."""

    def __init__(
        self,
        x: torch.Tensor,
        labels: torch.Tensor,
        labelled: torch.Tensor,
        w_class: torch.Tensor | None,
        compute: torch.dtype,
        block_rows: int,
    ) -> None:
        n = int(x.shape[0])
        self.x, self.labels, self.compute, self.block_rows = x, labels, compute, block_rows
        self.use = labelled.clone()
        w = torch.ones(n, dtype=torch.float64, device=x.device)
        if w_class is not None:
            w = w_class[labels]
        self.w_row = torch.where(labelled, w, 0.0)
        self.weight_sum = 0.0
        self.evaluations = 0

    def _blocks(self):
        n = self.x.shape[0]
        for s in range(0, n, self.block_rows):
            e = min(n, s + self.block_rows)
            yield s, e, self.x[s:e].to(self.compute)

    def first_pass(self, confidence: np.ndarray, correct: np.ndarray) -> float:
        """NLL at T = 1, and with it which rows have an NLL at all (no NaN or +inf, label not
        −inf), which are correct, and their confidence."""
        self.evaluations += 1
        total = 0.0
        with torch.inference_mode():
            for s, e, z in self._blocks():
                # max propagates NaN and +inf, and is −inf for a row of only −inf: one reduction
                # tells whether the row is usable.
                mx, am = z.max(1)
                z_y = z.gather(1, self.labels[s:e, None])[:, 0]
                lse = torch.logsumexp(z, dim=1)
                use = self.use[s:e] & torch.isfinite(mx) & torch.isfinite(z_y)
                self.use[s:e] = use
                nll = torch.where(use, lse - z_y, 0.0).to(torch.float64)
                total += float((nll * self.w_row[s:e]).sum())
                correct[s:e] = (use & (am == self.labels[s:e])).cpu().numpy()
                confidence[s:e] = torch.where(use, torch.exp(mx - lse), torch.nan).cpu().numpy()
        self.w_row = torch.where(self.use, self.w_row, 0.0)
        self.weight_sum = float(self.w_row.sum())
        return total / self.weight_sum if self.weight_sum > 0 else math.nan

    def __call__(self, temperature: float, confidence: np.ndarray | None = None) -> float:
        """Mean NLL at `temperature`; fills `confidence` (N,) with max softmax when given."""
        self.evaluations += 1
        beta = 1.0 / temperature
        total = 0.0
        with torch.inference_mode():
            for s, e, block in self._blocks():
                z = block * beta
                lse = torch.logsumexp(z, dim=1)
                z_y = z.gather(1, self.labels[s:e, None])[:, 0]
                use = self.use[s:e]
                # where(), not multiply: an excluded row's NaN must not leak into the sum.
                nll = torch.where(use, lse - z_y, 0.0).to(torch.float64)
                total += float((nll * self.w_row[s:e]).sum())
                if confidence is not None:
                    conf = torch.exp(z.amax(1) - lse)
                    confidence[s:e] = torch.where(use, conf, torch.nan).cpu().numpy()
        return total / self.weight_sum


def _bounded_minimum(
    func: Callable[[float], float], lo: float, hi: float, xtol: float, max_evals: int
) -> tuple[float, float]:
    """Brent's bounded scalar minimisation (golden section with parabolic steps), as in
    Forsythe, Malcolm & Moler and scipy's ``fminbound``: deterministic, no derivatives, and
    never worse than golden section on a unimodal function."""
    sqrt_eps = math.sqrt(2.2e-16)
    golden = 0.5 * (3.0 - math.sqrt(5.0))
    a, b = lo, hi
    v = w = x = a + golden * (b - a)
    fv = fw = fx = func(x)
    evals = 1
    d = e = 0.0
    while evals < max_evals:
        m = 0.5 * (a + b)
        tol1 = sqrt_eps * abs(x) + xtol / 3.0
        tol2 = 2.0 * tol1
        if abs(x - m) <= tol2 - 0.5 * (b - a):
            break
        use_golden = True
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            e_prev, e = e, d
            if abs(p) < abs(0.5 * q * e_prev) and q * (a - x) < p < q * (b - x):
                d = p / q
                u = x + d
                if (u - a) < tol2 or (b - u) < tol2:
                    d = tol1 if m >= x else -tol1
                use_golden = False
        if use_golden:
            e = (a - x) if x >= m else (b - x)
            d = golden * e
        u = x + (d if abs(d) >= tol1 else math.copysign(tol1, d if d else 1.0))
        fu = func(u)
        evals += 1
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v in (x, w):
                v, fv = u, fu
    return x, fx


def fit_temperature(
    logits: Any,
    targets: Any,
    *,
    ignore_index: int = IGNORE_INDEX,
    weight: Any = None,
    device: str | torch.device = "cpu",
    max_iter: int = 100,
) -> TemperatureFit:
    """Fit one temperature T > 0 that minimises ``F.cross_entropy(logits / T, targets, weight)``.

    The NLL is convex in 1/T, so it has one minimum along log T; a bounded Brent search over
    log T over [TEMPERATURE_MIN, TEMPERATURE_MAX] finds it. Each evaluation streams the logits
    in row blocks (the
    logits are the only (N, C) tensor). ``-inf`` logits mask classes; labelled rows holding NaN
    or +inf, or giving their label −inf, are left out and counted in ``excluded``.
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 3:
        raise ValueError(f"max_iter must be an integer >= 3, got {max_iter!r}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
    resolved = resolve_device(device).device
    x = _as_tensor(logits, "logits")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"logits must be a non-empty (N, C) table, got shape {tuple(x.shape)}")
    n, c = int(x.shape[0]), int(x.shape[1])
    t = _labels(targets, "targets", n)
    labelled = t != ignore_index
    bad = labelled & ((t < 0) | (t >= c))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"label {t[row]} at row {row} is out of range: classes are 0..{c - 1} "
            f"(or {ignore_index} to ignore the row)"
        )
    w_class = None
    if weight is not None:
        w_class = _vector(np.asarray(weight, dtype=np.float64).reshape(-1), "weight", c)
        if not np.all(np.isfinite(w_class)) or np.any(w_class < 0):
            raise ValueError("class weights must be finite and >= 0")

    compute = torch.float64 if x.dtype == torch.float64 else torch.float32
    x = x.to(resolved)  # no copy when it is already there
    labels = torch.from_numpy(np.where(labelled, t, 0)).to(resolved)
    objective = _Objective(
        x,
        labels,
        torch.from_numpy(labelled).to(resolved),
        None if w_class is None else torch.from_numpy(w_class).to(resolved),
        compute,
        _block_rows(c, resolved),
    )
    conf_before = np.full(n, np.nan)
    correct = np.zeros(n, dtype=bool)
    nll_before = objective.first_pass(conf_before, correct)
    usable = objective.use.cpu().numpy()
    excluded = int((labelled & ~usable).sum())
    if not usable.any() or objective.weight_sum <= 0:
        raise ValueError("no labelled row with finite logits (and non-zero weight) to fit on")

    log_t, nll = _bounded_minimum(
        lambda u: objective(math.exp(u)),
        math.log(TEMPERATURE_MIN),
        math.log(TEMPERATURE_MAX),
        _LOG_T_TOL,
        int(max_iter),
    )
    temperature = math.exp(log_t)
    nll_after, conf_after = nll_before, conf_before
    if nll < nll_before:
        conf = np.full(n, np.nan)
        value = objective(temperature, conf)
        if value <= nll_before:
            nll_after, conf_after = value, conf
    if conf_after is conf_before:
        # A flat objective (every row uniform) or rounding: T = 1 is as good, and is no change.
        temperature = 1.0
    margin = 1e-3  # 0.1 % of T: the search creeps towards an edge but never evaluates it
    at_bound = (
        log_t - math.log(TEMPERATURE_MIN) < margin or math.log(TEMPERATURE_MAX) - log_t < margin
    )
    return TemperatureFit(
        temperature=temperature,
        nll_before=nll_before,
        nll_after=nll_after,
        ece_before=reliability(conf_before, correct, usable).ece,
        ece_after=reliability(conf_after, correct, usable).ece,
        iterations=objective.evaluations,
        n_used=int(usable.sum()),
        excluded=excluded,
        at_bound=bool(at_bound and temperature != 1.0),
    )
