"""The KAN attempt: train a network on the problem, prune it, snap every edge, compose.

An attempt trains a KAN (with sparsity when it has hidden layers), prunes it (node by
node for hidden layers, while the fit allows), snaps every edge to its best primitive,
refits the snapped network and composes its formula. The runners-up of the edges whose
choice was closest are tried one at a time too, so that the whole formula, judged on
held-out data, decides between close primitives.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from ...nn.network import KAN
from ...prune import attribution as kd_attribution
from ...prune import prune
from ...symbolic.compose import formula
from ...symbolic.library import Library
from ...symbolic.snap import SPLINE_FLOOR, EdgeChoice, apply_candidate, snap
from ...train import GridSchedule, fit
from ..problem import Problem
from .base import Context, Proposal, Strategy

__all__ = ["KANSearch", "SearchConfig", "trained_network"]

Hidden = tuple[int | tuple[int, int], ...]
_DRAWN_ROWS = 300  # rows of the network's inputs kept for drawing it


@dataclass(frozen=True)
class SearchConfig:
    """The KAN search space and training budget of :func:`kandiscover.discover`.

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
    structure : bool
        Whether the default plan includes structure discovery (splits found on a KAN
        surrogate, :class:`~kandiscover.search.strategies.Decompose`).
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
    structure: bool = True

    def __post_init__(self) -> None:
        for name in ("seeds", "grid", "k", "steps", "top", "max_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SearchConfig.{name} must be a positive integer, got {value!r}")
        if isinstance(self.alternatives, bool) or not isinstance(self.alternatives, int):
            raise ValueError(
                f"SearchConfig.alternatives must be an integer >= 0, got {self.alternatives!r}"
            )
        if self.alternatives < 0:
            raise ValueError(
                f"SearchConfig.alternatives must be an integer >= 0, got {self.alternatives!r}"
            )
        if not (isinstance(self.sparsity, (int, float)) and math.isfinite(self.sparsity)):
            raise ValueError(
                f"SearchConfig.sparsity must be a finite number, got {self.sparsity!r}"
            )
        if not isinstance(self.hidden, tuple) or not self.hidden:
            raise ValueError(
                "SearchConfig.hidden must be a non-empty tuple of architectures, e.g. ((), (5,)); "
                f"got {self.hidden!r}"
            )


class KANSearch(Strategy):
    """One KAN attempt per architecture and seed.

    Parameters
    ----------
    config : SearchConfig
        Architectures, seeds and training budget.
    hidden : tuple of hidden-layer specifications, optional
        Only these architectures (default: all of ``config.hidden``).
    """

    name = "kan"
    cost = 3.0
    min_seconds = 2.0
    cheap = False

    def __init__(self, config: SearchConfig | None = None, hidden: tuple | None = None) -> None:
        self.config = config or SearchConfig()
        self.hidden = tuple(self.config.hidden if hidden is None else hidden)
        self.cost = 1.0 + 2.0 * sum(1 for h in self.hidden if h)

    def applies(self, problem: Problem) -> bool:
        return problem.d >= 1 and problem.n >= 10

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        cfg = self.config
        for s in range(cfg.seeds):
            for hidden in self.hidden:
                if ctx.expired():
                    return
                try:
                    yield from _attempt(problem, hidden, ctx.seed + s, cfg, ctx)
                except (ValueError, RuntimeError, ArithmeticError):
                    continue  # one attempt failing does not end the search

    def __repr__(self) -> str:
        return f"KANSearch(hidden={list(self.hidden)})"


def _label(hidden: Hidden) -> str:
    return f"kan{list(hidden)}"


def _standardised(problem: Problem, cfg: SearchConfig, seed: int):
    rows = np.random.default_rng(seed).permutation(problem.n)[: cfg.max_rows]
    X, y = problem.X[rows], problem.y[rows]
    mu, sd = float(y.mean()), float(y.std()) or 1.0
    w = None if problem.sigma is None else problem.weights[rows] ** 2  # 1 / sigma^2
    return X, (y - mu) / sd, mu, sd, w


def trained_network(problem: Problem, hidden: Hidden, seed: int, cfg: SearchConfig, ctx: Context):
    """A trained, pruned, still numeric KAN for ``problem`` (cached per data and shape).

    Returns
    -------
    (model, X, y, mu, sd, loss, w)
        The network, the (standardised) data it was trained on, the standardisation
        ``y = mu + sd * model(X)``, its last training loss and the rows' weights
        (``1 / sigma^2``, or ``None`` without error bars).
    """
    key = "kan:" + _fingerprint(problem, hidden, seed, cfg)
    if key in ctx.cache:
        model, X, y, mu, sd, loss, w = ctx.cache[key]
        return model.clone(), X, y, mu, sd, loss, w
    X, y, mu, sd, w = _standardised(problem, cfg, seed)
    width = [X.shape[1], *hidden, 1]
    model = KAN(width, grid=cfg.grid, k=cfg.k, seed=seed, dtype=torch.float64)
    if hidden:
        fit(
            model,
            X,
            y,
            steps=cfg.steps,
            sparsity=cfg.sparsity,
            time_limit=ctx.left(),
            sample_weight=w,
        )
    model = prune(model, X)
    history = _refit(model, X, y, cfg, ctx, w)
    loss = history.train_loss[-1] if history.train_loss else math.inf
    if hidden:
        model, loss = _shrink(model, X, y, loss, cfg, ctx, w)
    ctx.cache[key] = (model.clone(), X, y, mu, sd, loss, w)
    return model, X, y, mu, sd, loss, w


def _fingerprint(problem: Problem, hidden: Hidden, seed: int, cfg: SearchConfig) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(problem.X).tobytes())
    digest.update(np.ascontiguousarray(problem.y).tobytes())
    digest.update(repr((hidden, seed, cfg.grid, cfg.k, cfg.steps, cfg.sparsity)).encode())
    return digest.hexdigest()


def _attempt(problem: Problem, hidden: Hidden, seed: int, cfg: SearchConfig, ctx: Context):
    model, X, y, mu, sd, loss, w = trained_network(problem, hidden, seed, cfg, ctx)
    # an edge cannot be matched more closely than the network matches the data: below
    # that error (noise, spline wiggles) the simplest primitive should win
    floor = min(max(3 * loss, SPLINE_FLOOR), 1e-2) if math.isfinite(loss) else 1e-2
    choices = snap(model, X, ctx.library, top=cfg.top, floor=floor)
    fit(model, X, y, steps=cfg.steps, grid_updates=None, time_limit=ctx.left(), sample_weight=w)
    names = [s.name for s in problem.symbols]
    label = _label(hidden)
    inputs = X[:_DRAWN_ROWS]
    yield Proposal(_compose(model, names, mu, sd, ctx.library, problem), label, model, inputs)
    for choice, cand in _alternatives(choices, cfg.alternatives):
        if ctx.expired():
            return
        trial = model.clone()
        apply_candidate(trial, choice.layer, choice.out, choice.inp, cand, ctx.library)
        fit(
            trial,
            X,
            y,
            steps=cfg.steps // 2,
            grid_updates=None,
            time_limit=ctx.left(),
            sample_weight=w,
        )
        yield Proposal(_compose(trial, names, mu, sd, ctx.library, problem), label, trial, inputs)


def _compose(model: KAN, names, mu: float, sd: float, library: Library, problem: Problem):
    expr = sympy.Float(sd) * formula(model, names, library) + sympy.Float(mu)
    by_name = {s.name: s for s in problem.symbols}
    return expr.xreplace({sympy.Symbol(n): by_name[n] for n in names})


def _refit(model: KAN, X: np.ndarray, y: np.ndarray, cfg: SearchConfig, ctx: Context, w=None):
    schedule = GridSchedule(every=10, until=cfg.steps)
    return fit(
        model,
        X,
        y,
        steps=cfg.steps,
        grid_updates=schedule,
        time_limit=ctx.left(),
        sample_weight=w,
    )


def _shrink(model: KAN, X, y, loss: float, cfg: SearchConfig, ctx: Context, w=None):
    """Remove the weakest hidden node while the refit loss stays within a factor of 3.

    Sparsity rarely leaves exactly the nodes a law needs; removing one node at a time and
    refitting is a cheap, direct test of whether a node is needed.
    """
    while sum(sum(w) for w in model.width[1:-1]) > len(model.width) - 2:
        if ctx.expired():
            break
        hidden = torch.cat(kd_attribution(model, X).nodes[1:-1])
        ordered = hidden.sort().values
        if len(ordered) < 2:
            break
        threshold = float(ordered[0] + ordered[1]) / 2  # between the two weakest
        smaller = prune(model, X, node_threshold=min(threshold, 0.99), prune_inputs=False)
        if sum(sum(w) for w in smaller.width) >= sum(sum(w) for w in model.width):
            break
        h = _refit(smaller, X, y, cfg, ctx, w)
        if not h.train_loss or h.train_loss[-1] > 3 * loss + 1e-12:
            break
        model, loss = smaller, h.train_loss[-1]
    return model, loss


def _alternatives(choices: list[EdgeChoice], limit: int):
    """Runner-up candidates, most promising (smallest score gap to the chosen) first."""
    alts = []
    for ch in choices:
        for cand in ch.candidates[1:]:
            if math.isfinite(cand.score):
                alts.append((cand.score - ch.chosen.score, ch, cand))
    alts.sort(key=lambda t: t[0])
    return [(ch, cand) for _, ch, cand in alts[:limit]]
