"""A generation stepped through (:class:`Generator`), what it drew (:class:`Generation`), and the
sampler's kept set (:func:`sampler_keep`) in transformers' own order and tie rules. No Qt here."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from softmax_lab.core import formatting as fmt
from softmax_lab.core.formatting import count
from softmax_lab.core.loaders import LoadedLogits

if TYPE_CHECKING:
    from softmax_lab.core.models.model import Model

# Generated steps kept at once (each keeps a (V,) row of raw logits).
MAX_GENERATE_STEPS = 4096
ROWS_GROWN_BY = 32
"""Room for this many more steps' rows whenever the generation's table buffer is grown."""


@dataclass(frozen=True)
class Generation:
    """What :meth:`Model.generate` drew: the ids, and at each step the raw logits and the set the
    sampler could draw from at (T, k, p)."""

    ids: np.ndarray
    """(T_prompt + steps,) int64 token ids: the prompt's, then one per step."""
    logits: np.ndarray
    """(steps, V) float32 raw logits at each step (before temperature, top-k, top-p)."""
    kept: np.ndarray
    """(steps, V) bool: the tokens the sampler at (T, k, p) could draw at each step."""
    prompt_length: int
    temperature: float
    top_k: int | None
    top_p: float | None

    @property
    def steps(self) -> int:
        return int(self.logits.shape[0])

    @property
    def drawn(self) -> np.ndarray:
        """(steps,) the token drawn at each step."""
        return self.ids[self.prompt_length :]

    def why(self, step: int) -> TokenChoice:
        """Why step ``step`` drew its token: its rank and probability under softmax(z / T), the
        probability of the tokens ranked above it, and how many tokens the sampler kept."""
        if not -self.steps <= step < self.steps:
            raise IndexError(f"step {step} of {self.steps}")
        return token_choice(
            self.logits[step], int(self.drawn[step]), int(self.kept[step].sum()), self.temperature
        )


def token_choice(
    logits: np.ndarray | torch.Tensor, token: int, kept: int, temperature: float
) -> TokenChoice:
    """A drawn token's rank and probability under softmax(z / T) and the mass ranked above it."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    t = temperature if temperature > 0 else 1.0
    p = (z / t).softmax(-1)
    above = p > p[token]
    return TokenChoice(
        token=token,
        rank=int(above.sum()) + 1,
        probability=float(p[token]),
        mass_above=float(p[above].sum()),
        kept=kept,
    )


@dataclass(frozen=True)
class TokenChoice:
    """One generated token: 1-based rank, p at the generation's T, the mass ranked above it."""

    token: int
    rank: int
    probability: float
    mass_above: float
    kept: int


def sampler_keep(
    logits: np.ndarray | torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """The processed logits of one or more rows as transformers' sampler sees them: divided by T,
    then everything outside the top k set to −inf, then outside the smallest set whose
    probability reaches p (the order and tie rules of its TemperatureLogitsWarper,
    TopKLogitsWarper and TopPLogitsWarper). ``isfinite`` of the result is the kept set."""
    check_sampler(temperature, top_k, top_p)
    z = torch.as_tensor(logits, dtype=torch.float32)
    z = z / temperature if temperature > 0 else z.clone()
    filler = -float("inf")
    if top_k is not None and top_k < z.shape[-1]:
        kth = torch.topk(z, top_k, dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, filler)
    if top_p is not None and top_p < 1.0:
        sorted_z, order = torch.sort(z, descending=False, dim=-1)
        cumulative = sorted_z.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False  # keep at least one
        remove = remove_sorted.scatter(-1, order, remove_sorted)
        z = z.masked_fill(remove, filler)
    return z


@dataclass(frozen=True, eq=False)
class SamplerMarks:
    """What the sampler at (T, k, p) could draw from one distribution, for the probability bars:
    the kept set, its mass, where the cut falls, and the token drawn there (if one was)."""

    kept: np.ndarray
    """(V,) bool: the tokens the sampler could draw (as :attr:`Generation.kept` for a step)."""
    n_kept: int
    kept_mass: float
    """The probability of the kept tokens under softmax(z / T), before renormalising."""
    drawn: int | None
    """The token drawn from this distribution (a generated step), None where none was."""
    drawn_rank: int | None
    """The drawn token's 1-based rank under softmax(z / T) (None when none was drawn)."""
    caption: str
    """"kept: 12 of 50,257 tokens, 90.1 % of the mass (top-k 3)", then "drew ' the', rank 2"
    on a second line for a generated step."""

    @property
    def all_kept(self) -> bool:
        """No truncation at all: every token could be drawn (nothing to grey out)."""
        return self.n_kept == int(self.kept.shape[0])


def kept_set(
    raw: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The kept set of one row of raw logits as :class:`Generator` draws from it, and the processed
    logits to sample from (None when greedy: top-k 1 or T = 0 keep only the argmax)."""
    if top_k == 1 or temperature == 0:
        kept = torch.zeros_like(raw, dtype=torch.bool)
        kept[int(torch.argmax(raw))] = True
        return kept, None
    processed = sampler_keep(raw, temperature=temperature, top_k=top_k, top_p=top_p)
    return torch.isfinite(processed), processed


def sampler_marks(
    logits: np.ndarray,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    drawn: int | None = None,
    names: Sequence[str] | None = None,
) -> SamplerMarks:
    """The kept set of one (V,) row of raw logits at (T, k, p) — exactly what :meth:`Generator.step`
    keeps for that row — with its probability mass under softmax(z / T) and, for a generated
    step, the token drawn (``names`` spell it in the caption)."""
    check_sampler(temperature, top_k, top_p)
    row = torch.as_tensor(np.asarray(logits, dtype=np.float32).reshape(-1))
    v = int(row.shape[0])
    if v == 0:
        raise ValueError("no logits")
    if drawn is not None and not 0 <= int(drawn) < v:
        raise ValueError(f"drawn token {drawn} outside the {v:,} logits")
    if not bool(torch.isfinite(row).all()):
        kept = torch.zeros(v, dtype=torch.bool)  # NaN / ±inf logits: the sampler draws nothing
    else:
        kept, _ = kept_set(row, temperature, top_k, top_p)
    t = temperature if temperature > 0 else 1.0
    p = (row.double() / t).softmax(-1)
    n_kept = int(kept.sum())
    mass = float(p[kept].sum()) if n_kept else 0.0
    limits = [
        f"{name} {fmt.short(value)}"
        for name, value in (("top-k", top_k), ("top-p", top_p))
        if value is not None
    ]
    if top_k == 1 or temperature == 0:
        limits = ["greedy"]
    caption = (
        f"kept: {fmt.count(n_kept)} of {fmt.count(v)} tokens, {fmt.percent(mass)} of the mass"
        + (f" ({', '.join(limits)})" if limits else " (no top-k / top-p)")
    )
    rank = None
    if drawn is not None:
        drawn = int(drawn)
        rank = int((p > p[drawn]).sum()) + 1
        name = names[drawn] if names is not None and drawn < len(names) else f"<{drawn}>"
        caption += f"\ndrew {name!r}, rank {fmt.count(rank)}"
    return SamplerMarks(
        kept=kept.numpy(),
        n_kept=n_kept,
        kept_mass=mass,
        drawn=drawn,
        drawn_rank=rank,
        caption=caption,
    )


def check_sampler(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise ``ValueError`` for a sampler setting that means nothing."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number, got {temperature!r}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be ≥ 0 (0 = always the most likely), got {temperature}")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
    ):
        raise ValueError(f"top_k must be a whole number ≥ 1 or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool)
        or not isinstance(top_p, (int, float))
        or not np.isfinite(top_p)
        or not 0 < top_p <= 1
    ):
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p!r}")


class Generator:
    """A generation in progress: the prompt's forward pass once (its logits are
    ``prompt_logits``), then one forward pass of the newest token per :meth:`step` on the cached
    keys and values. :meth:`back` takes the last step back and restores the sampler's random
    state, so Step after Back draws the same token again."""

    def __init__(
        self,
        model: Model,
        prompt: str,
        *,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
        seed: int,
        steps: int = 1,
    ) -> None:
        check_sampler(temperature, top_k, top_p)
        self._model = model
        self.prompt_ids = model.encode(prompt)
        limit = model.max_length
        if limit is not None and len(self.prompt_ids) + steps > limit:
            raise ValueError(
                f"the prompt ({count(len(self.prompt_ids))} tokens) and {count(steps)} steps "
                f"exceed the {count(limit)} tokens {model.name} reads"
            )
        self.temperature = float(temperature)
        self.top_k = top_k
        self.top_p = top_p
        self._random = torch.Generator(device="cpu").manual_seed(int(seed))
        # transformers ≥ 5 names the key/value cache `cache`; earlier versions `past_key_values`.
        parameters = inspect.signature(model.model.forward).parameters
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"
        self._drawn: list[int] = []
        self._raw: list[torch.Tensor] = []
        self._kept: list[torch.Tensor] = []
        self._states: list[torch.Tensor] = []
        self._cache: Any = None
        self._next: torch.Tensor | None = None
        self.prompt_logits = self._prefill(self.prompt_ids)
        # The table's rows (the prompt's but its last position, then one per step), grown in
        # place: each table() is a read-only view of its first rows, so a step costs one row,
        # not a copy of the whole (T, V) table, and the tables of earlier steps (the window's
        # undo history) share its memory. Rows a table was handed are never written again:
        # after Back the next step writes into a fresh copy.
        self._rows = np.array(self.prompt_logits[: len(self.prompt_ids) - 1], dtype=np.float32)
        self._used = self._rows.shape[0]
        self._rows_shared = False

    @property
    def steps(self) -> int:
        return len(self._drawn)

    @property
    def drawn(self) -> list[int]:
        """The tokens drawn so far, in order."""
        return list(self._drawn)

    @property
    def greedy(self) -> bool:
        """top-k 1 or T = 0: always the most likely token."""
        return self.top_k == 1 or self.temperature == 0

    def _forward(self, ids: np.ndarray | list[int], cache: Any) -> Any:
        device = self._model.device
        kwargs = {self._cache_arg: cache} if cache is not None else {}
        with torch.inference_mode():
            out = self._model.model(
                input_ids=torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)[None],
                use_cache=True,
                **kwargs,
            )
        self._cache = out["cache"] if "cache" in out else out["past_key_values"]
        self._next = out.logits[0, -1].float()
        return out

    def _prefill(self, ids: np.ndarray) -> np.ndarray:
        out = self._forward(ids, None)
        return np.asarray(out.logits[0].float().cpu().numpy())

    def step(self) -> int:
        """Draw the next token; returns it."""
        limit = self._model.max_length
        if limit is not None and len(self.prompt_ids) + self.steps >= limit:
            raise ValueError(f"{self._model.name} reads at most {count(limit)} tokens")
        if self.steps >= MAX_GENERATE_STEPS:
            raise ValueError(f"at most {MAX_GENERATE_STEPS} steps are kept")
        if self._next is None:
            if self._cache is None:  # after Back: the whole sequence once more
                self._prefill(np.concatenate([self.prompt_ids, np.asarray(self._drawn)]))
            else:
                self._forward([self._drawn[-1]], self._cache)
        assert self._next is not None
        raw = self._next
        self._states.append(self._random.get_state())
        kept, processed = kept_set(raw, self.temperature, self.top_k, self.top_p)
        if processed is None:  # greedy
            token = int(torch.argmax(raw))
        else:
            token = int(torch.multinomial(processed.softmax(-1).cpu(), 1, generator=self._random))
        self._drawn.append(token)
        self._raw.append(raw.cpu())
        self._kept.append(kept.cpu())
        self._append_row(self._raw[-1].numpy())
        self._next = None
        return token

    def _append_row(self, row: np.ndarray) -> None:
        used = self._used
        if self._rows_shared or used == self._rows.shape[0]:
            room = len(self.prompt_ids) - 1 + MAX_GENERATE_STEPS
            size = min(max(2 * used, used + ROWS_GROWN_BY), room)
            grown = np.empty((size, row.shape[0]), np.float32)
            grown[:used] = self._rows[:used]
            self._rows = grown
            self._rows_shared = False
        self._rows[used] = row
        self._used = used + 1

    def why(self, step: int = -1) -> TokenChoice:
        """:meth:`Generation.why` of a step drawn so far (without stacking every step's logits)."""
        if not -self.steps <= step < self.steps:
            raise IndexError(f"step {step} of {self.steps}")
        return token_choice(
            self._raw[step], self._drawn[step], int(self._kept[step].sum()), self.temperature
        )

    def back(self) -> None:
        """Take the last step back (nothing to take back: nothing happens)."""
        if not self._drawn:
            return
        self._drawn.pop()
        self._raw.pop()
        self._kept.pop()
        self._random.set_state(self._states.pop())
        self._cache = None
        self._next = None
        self._used -= 1
        self._rows_shared = True  # a table handed out holds the row taken back

    def result(self) -> Generation:
        v = int(self.prompt_logits.shape[1])
        return Generation(
            ids=np.concatenate([self.prompt_ids, np.asarray(self._drawn, dtype=np.int64)]),
            logits=torch.stack(self._raw).numpy() if self._raw else np.zeros((0, v), np.float32),
            kept=torch.stack(self._kept).numpy() if self._kept else np.zeros((0, v), bool),
            prompt_length=len(self.prompt_ids),
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
        )

    def table(self) -> LoadedLogits:
        """The prompt and what was drawn so far, as the window's language-model table (what
        :meth:`Model.generation_table` gives for :meth:`result`, without copying the rows)."""
        rows = self._rows[: self._used].view()
        ids = np.concatenate([self.prompt_ids, np.asarray(self._drawn, dtype=np.int64)])
        return self._model.sequence_table(ids, rows, f"{self._model.name} · generated")
