"""One attempt of the discovery search: a view, an architecture, a seed -> formulas.

An attempt trains a KAN on the view of the training data, sparsifies and prunes it,
snaps every edge, refits, composes the formula and maps it back to the original
variables, where its constants are refit jointly and snapped. The runners-up of each
edge's snap are tried one at a time too, so that the whole-formula error, not the
single-edge fit, decides between close primitives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from .nn.network import KAN
from .prune import attribution as kd_attribution
from .prune import prune
from .separable import product_formulas
from .symbolic.compose import formula
from .symbolic.constants import refit_constants, snap_constants
from .symbolic.equivalence import r2_score
from .symbolic.library import Library
from .symbolic.snap import SPLINE_FLOOR, EdgeChoice, apply_candidate, snap
from .train import GridSchedule, fit
from .views import View

__all__ = [
    "Attempt",
    "Candidate",
    "SearchConfig",
    "attempt_formulas",
    "complexity",
    "default_attempts",
    "score_formula",
]

Hidden = tuple[int | tuple[int, int], ...]


def complexity(expr: sympy.Expr) -> int:
    """Number of nodes of the expression tree (the SRBench measure)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


@dataclass(frozen=True)
class SearchConfig:
    """The search space and training budget of :func:`kandiscover.discover`.

    Attributes
    ----------
    hidden : tuple of hidden-layer specifications
        Architectures tried, each a tuple of hidden widths (``()`` is a one-layer KAN,
        ``(5,)`` one hidden layer of five sum nodes, ``((2, 2),)`` two sum and two
        product nodes).
    seeds : int
        Restarts per view and architecture.
    grid, k : int
        Spline grid and order.
    steps : int
        LBFGS steps of each training phase.
    sparsity : float
        Sparsity penalty of the first phase (architectures with hidden layers).
    top : int
        Candidates kept per edge.
    alternatives : int
        Runner-up primitives tried per attempt (one edge swapped at a time).
    max_rows : int
        Training rows used by the networks (a random subset of larger data sets).
    exact_rtol : float
        A test RMSE below this fraction of std(y) counts as exact and ends the search.
    """

    hidden: tuple[Hidden, ...] = ((), (5,), ((2, 2),))
    seeds: int = 1
    grid: int = 5
    k: int = 3
    steps: int = 50
    sparsity: float = 1e-2
    top: int = 3
    alternatives: int = 4
    max_rows: int = 1000
    exact_rtol: float = 1e-6

    def __post_init__(self) -> None:
        for name in ("seeds", "grid", "k", "steps", "top", "max_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SearchConfig.{name} must be a positive integer, got {value!r}")
        if not self.hidden:
            raise ValueError("SearchConfig.hidden must list at least one architecture")


@dataclass(frozen=True)
class Attempt:
    """A view, a hidden-layer specification and a seed."""

    view: View
    hidden: Hidden
    seed: int

    @property
    def label(self) -> str:
        return f"{self.view.name}:{list(self.hidden)}:seed{self.seed}"


@dataclass
class Candidate:
    """A formula in the original variables and its held-out scores."""

    expr: sympy.Expr
    complexity: int
    rmse: float
    r2: float
    view: str
    model: KAN | None = None


def default_attempts(
    views: Sequence[View], d: int, cfg: SearchConfig, seed: int
) -> Iterator[Attempt]:
    """Cheap attempts first: the one-layer KAN in every view, then deeper ones."""
    for s in range(cfg.seeds):
        for hidden in cfg.hidden:
            for view in reversed(views):  # the log view first: monomials are common
                yield Attempt(view, hidden, seed + s)


def attempt_formulas(
    att: Attempt,
    split,
    symbols: list[sympy.Symbol],
    cfg: SearchConfig,
    library: Library,
    deadline: float,
) -> list[Candidate]:
    """Run one attempt; return its formulas with their held-out scores."""
    X_train, y_train = split[:2]
    rng = np.random.default_rng(att.seed)
    rows = rng.permutation(len(y_train))[: cfg.max_rows]
    Xv, yv = att.view.transform(X_train[rows], y_train[rows])
    mu, sd = float(yv.mean()), float(yv.std()) or 1.0
    model, numeric, choices = _train_and_snap(att, Xv, (yv - mu) / sd, cfg, library, deadline)
    scorer = _Scorer(att.view, symbols, split, mu, sd, library)
    out = [scorer(model)]
    for expr in product_formulas(numeric, att.view, mu, sd, symbols, Xv, library):
        if time.perf_counter() > deadline and len(out) > 1:
            break
        out.append(scorer.score(expr, None))
    for alt in _alternatives(choices, cfg.alternatives):
        if time.perf_counter() > deadline:
            break
        trial = model.clone()
        apply_candidate(trial, alt[0].layer, alt[0].out, alt[0].inp, alt[1], library)
        fit(
            trial,
            Xv,
            (yv - mu) / sd,
            steps=cfg.steps // 2,
            grid_updates=None,
            time_limit=_left(deadline),
        )
        out.append(scorer(trial))
    return [c for c in out if c is not None]


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (at least a little, so a step can finish)."""
    return max(deadline - time.perf_counter(), 0.01)


def _train_and_snap(att: Attempt, X, y, cfg: SearchConfig, library: Library, deadline: float):
    width = [X.shape[1], *att.hidden, 1]
    model = KAN(width, grid=cfg.grid, k=cfg.k, seed=att.seed, dtype=torch.float64)
    if att.hidden:
        fit(model, X, y, steps=cfg.steps, sparsity=cfg.sparsity, time_limit=_left(deadline))
    model = prune(model, X)
    history = _refit(model, X, y, cfg, deadline)
    if att.hidden:
        model = _shrink(model, X, y, history.train_loss[-1], cfg, deadline)
    numeric = model.clone()
    # an edge cannot be matched more closely than the network matches the data: below
    # that error (noise, spline wiggles) the simplest primitive should win
    floor = min(max(3 * history.train_loss[-1], SPLINE_FLOOR), 1e-2) if history.train_loss else 1e-2
    choices = snap(model, X, library, top=cfg.top, floor=floor)
    fit(model, X, y, steps=cfg.steps, grid_updates=None, time_limit=_left(deadline))
    return model, numeric, choices


def _refit(model: KAN, X: np.ndarray, y: np.ndarray, cfg: SearchConfig, deadline: float):
    schedule = GridSchedule(every=10, until=cfg.steps)
    return fit(model, X, y, steps=cfg.steps, grid_updates=schedule, time_limit=_left(deadline))


def _shrink(model: KAN, X, y, loss: float, cfg: SearchConfig, deadline: float) -> KAN:
    """Remove the weakest hidden node while the refit loss stays within a factor of 3.

    Sparsity rarely leaves exactly the nodes a law needs; removing one node at a time and
    refitting is a cheap, direct test of whether a node is needed.
    """
    while sum(sum(w) for w in model.width[1:-1]) > len(model.width) - 2:
        if time.perf_counter() > deadline:
            break
        hidden = torch.cat(kd_attribution(model, X).nodes[1:-1])
        ordered = hidden.sort().values
        if len(ordered) < 2:
            break
        threshold = float(ordered[0] + ordered[1]) / 2  # between the two weakest
        smaller = prune(model, X, node_threshold=min(threshold, 0.99), prune_inputs=False)
        if sum(sum(w) for w in smaller.width) >= sum(sum(w) for w in model.width):
            break
        h = _refit(smaller, X, y, cfg, deadline)
        if not h.train_loss or h.train_loss[-1] > 3 * loss + 1e-12:
            break
        model, loss = smaller, h.train_loss[-1]
    return model


def _alternatives(choices: list[EdgeChoice], limit: int):
    """Runner-up candidates, most promising (smallest score gap) first."""
    alts = []
    for ch in choices:
        for cand in ch.candidates[1:]:
            if cand.r2 > 0.9:
                alts.append((cand.score - ch.chosen.score, ch, cand))
    alts.sort(key=lambda t: t[0])
    return [(ch, cand) for _, ch, cand in alts[:limit]]


class _Scorer:
    """Compose a snapped model into a formula in the original variables and score it."""

    def __init__(self, view: View, symbols, split, mu: float, sd: float, library: Library):
        self.view, self.symbols, self.split = view, symbols, split
        self.mu, self.sd, self.library = mu, sd, library

    def __call__(self, model: KAN) -> Candidate | None:
        names = [s.name for s in self.symbols]
        expr = self.sd * formula(model, names, self.library) + self.mu
        return self.score(self.view.inverse(expr, self.symbols), model)

    def score(self, expr: sympy.Expr, model: KAN | None) -> Candidate | None:
        return score_formula(expr, self.symbols, self.split, self.view.name, model)


def score_formula(
    expr: sympy.Expr, symbols, split, view: str, model: KAN | None = None
) -> Candidate | None:
    """Refit and snap the constants of a formula in the original variables; score it.

    Returns None for a formula that is undefined or not finite on the held-out data.
    """
    X_train, y_train, X_test, y_test = split
    if _infinite(expr):
        return None
    Xr, yr = X_train[:2000], y_train[:2000]
    expr = refit_constants(expr, symbols, Xr, yr)
    if _scores(expr, symbols, Xr, yr)[1] > 0.99:  # snapping only pays for good fits
        expr = snap_constants(expr, symbols, Xr, yr, time_limit=5.0)
    if _infinite(expr):
        return None
    rmse, r2 = _scores(expr, symbols, X_test, y_test)
    if not math.isfinite(rmse):
        return None
    return Candidate(expr, complexity(expr), rmse, r2, view, model)


def _infinite(expr: sympy.Expr) -> bool:
    """Whether a composition or snap produced an infinite or undefined constant."""
    return bool(expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan))


def _scores(expr: sympy.Expr, symbols, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    fn = sympy.lambdify(symbols, expr, "numpy")
    with np.errstate(all="ignore"):
        pred = np.broadcast_to(np.asarray(fn(*X.T), dtype=complex), y.shape)
    if not np.all(np.isfinite(pred)) or np.any(np.abs(pred.imag) > 1e-9 * (1 + np.abs(pred.real))):
        return math.inf, -math.inf
    pred = pred.real
    return float(np.sqrt(np.mean((pred - y) ** 2))), r2_score(y, pred)
