"""The discovery pipeline: data in, a law out.

:func:`discover` validates its input once, estimates the noise, and runs a plan of
*tasks* — a chain of views (:mod:`kandiscover.search.views`) and a strategy
(:mod:`kandiscover.search.strategies`) — cheapest first, each with a fair share of the
time left. Every formula a strategy proposes is mapped back to the original variables
and handed to the judge (:mod:`kandiscover.search.judge`), the one place formulas are
scored and chosen. The search stops when the chosen law's error is at the noise floor
(nothing cheaper is left to try), or at the time limit, and returns the best it found.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from ..nn.network import KAN
from ..symbolic.library import DEFAULT_LIBRARY, Library
from ..validation import check_choice, check_inputs, check_seed, check_time_limit
from .dimensional import Reduction, reduce_units
from .judge import SELECTIONS, Judge, JudgeConfig
from .noise import NoiseEstimate, estimate_noise, irrelevant_inputs
from .outcome import result_of, tame, untamed
from .problem import HOLDOUT_MIN_ROWS, Problem, make_split
from .result import Network, Result
from .strategies import (
    Context,
    Decompose,
    Exhaustive,
    KANSearch,
    Linear,
    SearchConfig,
    Separable,
    SparseTerms,
    Strategy,
)
from .views import Chain, Log, Scale, Units, View

__all__ = ["DEFAULT_TIME_LIMIT", "Progress", "Task", "default_plan", "discover"]

#: Seconds a search takes when no time limit is given.
DEFAULT_TIME_LIMIT = 60.0
_RESERVE = 0.1  # fraction of the time limit kept for wrapping up


@dataclass(frozen=True)
class Task:
    """A chain of views and the strategy that searches the transformed problem."""

    views: tuple[View, ...]
    strategy: Strategy

    @property
    def label(self) -> str:
        names = [v.name for v in self.views if v.name not in ("raw", "scale")]
        return f"{'+'.join(names) or 'raw'}:{self.strategy.name}"


@dataclass(frozen=True)
class Progress:
    """A report on a running search, passed to ``discover(..., progress=...)``.

    Attributes
    ----------
    task : str
        The task starting (views and strategy), or ``"done"``.
    elapsed : float
        Seconds since the search began.
    time_limit : float or None
    best : str or None
        The formula the judge would choose now.
    """

    task: str
    elapsed: float
    time_limit: float | None
    best: str | None


def default_plan(d: int, config: SearchConfig, reduction: Reduction | None = None) -> list[Task]:
    """The tasks of a search, cheapest first.

    The cheap tier: lines (raw and log view), the exhaustive search (one or two
    variables), sparse sums of terms, separable products; then structure discovery
    (splits found on a KAN surrogate, solved recursively); then the KAN attempts of
    ``config`` (log view first: monomials are common). With units, each tier searches
    the dimensionless problem first.
    """
    one = tuple(h for h in config.hidden if not h)
    deep = tuple(h for h in config.hidden if h)

    def cheap(prefix: tuple[View, ...]) -> list[Task]:
        return [
            Task((*prefix, Scale()), Linear()),
            Task((*prefix, Scale(), Log()), Linear()),
            Task((*prefix, Scale()), Exhaustive()),
            Task((*prefix, Scale()), SparseTerms()),
            Task((*prefix, Scale()), Separable(config)),
        ]

    def networks(prefix: tuple[View, ...]) -> list[Task]:
        out = []
        for hidden in ([one] if one else []) + [(h,) for h in deep]:
            out.append(Task((*prefix, Scale(), Log()), KANSearch(config, hidden)))
            out.append(Task((*prefix, Scale()), KANSearch(config, hidden)))
        return out

    def splits(prefix: tuple[View, ...]) -> list[Task]:
        return [Task((*prefix, Scale()), Decompose())] if config.structure else []

    prefixes = [(Units(reduction),), ()] if reduction is not None else [()]
    # splits show best in the raw inputs (a difference of coordinates becomes a ratio of
    # them in dimensionless groups): the raw problem is split first
    return [
        *(t for p in prefixes for t in cheap(p)),
        *(t for p in prefixes[::-1] for t in splits(p)),
        *(t for p in prefixes for t in networks(p)),
    ]


def discover(
    X: Any,
    y: Any,
    names: Sequence[str] | None = None,
    units: Any = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    *,
    config: SearchConfig | None = None,
    library: Library = DEFAULT_LIBRARY,
    target_units: Any = None,
    sigma: Any = None,
    model_selection: str = "best",
    judge: JudgeConfig | None = None,
    plan: Sequence[Task] | None = None,
    progress: Callable[[Progress], None] | None = None,
    select_inputs: bool = True,
) -> Result | list[Result]:
    """Find a formula for ``y`` as a function of the columns of ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Inputs: NumPy, torch or a pandas DataFrame (whose column names become symbols).
    y : array-like of shape (n,) or (n, k)
        Target; a 2-D ``y`` gives one law per column (a list of results; ``sigma`` and
        ``target_units`` then per column, and ``time_limit`` per column).
    names : sequence of str, optional
        Input names (default: DataFrame columns, else ``x_1, ..., x_d``). Names that are
        not plain identifiers (``"mass (kg)"``) or that formulas reserve (``pi``,
        ``exp``) get a safe spelling in formulas (``Result.variables``), with a warning.
    units : mapping or sequence, optional
        Units of the inputs, by column name or in column order: text such as ``"m/s"``,
        ``"kg*m/s**2"``, ``"N"``, ``"eV"``, ``"J/K"`` or ``""`` (a pure number), read by
        pint, or exponent vectors over the base dimensions (m, s, kg, K, V). With
        ``target_units`` they turn on dimensional analysis: the search first looks for
        ``y = prefactor * g(dimensionless groups)``, which has fewer variables.
    time_limit : float or None, default 60
        Seconds. The search returns within this limit (+10 %, +1 s) with the best law
        found so far; ``None`` searches until every task has run.
    seed : int
        Seed of the split and of the networks.
    config : SearchConfig, optional
        The KAN search space and training budget.
    library : Library
        Primitives for the edges and the exhaustive search.
    target_units : str or sequence of float, optional
        Units of the target, in the same form as ``units``.
    sigma : float or array-like of shape (n,), optional
        Error bars (standard deviations) of ``y``: the fits are weighted by ``1/sigma^2``
        and the judge measures formulas by their chi-square instead of against an
        estimated noise level.
    model_selection : {"best", "simplest", "accuracy"}
        How the law is chosen among the Pareto front (see :mod:`kandiscover.search.judge`):
        the smallest description length within noise, the simplest formula within noise,
        or the most accurate.
    judge : JudgeConfig, optional
        The judge's knobs.
    plan : sequence of Task, optional
        The tasks to run, in order (default :func:`default_plan`).
    progress : callable, optional
        Called with a :class:`Progress` before each task and at the end (the library
        itself never prints).
    select_inputs : bool, default True
        Set aside, before the search, the inputs that carry no information about the
        target (a likelihood-ratio test on the noise estimate's Gaussian process, see
        :func:`kandiscover.search.noise.irrelevant_inputs`); they are listed in
        ``Result.dropped`` and the law never mentions them.

    Returns
    -------
    Result, or list of Result for a 2-D ``y``

    Raises
    ------
    ValueError, TypeError
        For bad data (NaN, inf, a constant target, too few rows, mismatched lengths) or
        arguments, naming the argument.
    """
    t0 = time.perf_counter()
    _check_parts(library, judge, plan, progress, select_inputs)
    data = check_inputs(X, y, names, sigma, multi_output=True)
    if data.y.ndim == 2:
        k = data.y.shape[1]
        if target_units is not None and (isinstance(target_units, str) or len(target_units) != k):
            raise ValueError(f"y has {k} columns: give target_units as a sequence of {k} units")
        return [
            discover(
                data.X,
                data.y[:, j],
                data.names,
                units,
                time_limit,
                seed,
                config=config,
                library=library,
                target_units=None if target_units is None else target_units[j],
                sigma=None if data.sigma is None else data.sigma[:, j],
                model_selection=model_selection,
                judge=judge,
                plan=plan,
                progress=progress,
                select_inputs=select_inputs,
            )
            for j in range(k)
        ]
    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    model_selection = check_choice(model_selection, "model_selection", SELECTIONS)
    config = _check_config(config)
    symbols = tuple(sympy.Symbol(v) for v in data.variables)
    data, extreme = tame(data, symbols)
    root = Problem(data.X, data.y, symbols, data.sigma)
    split = make_split(root.n, seed)
    end = math.inf if time_limit is None else t0 + time_limit * (1 - _RESERVE)
    _warn_if_small(root)
    train = root.rows(split.train)
    rows = 128 if _short(time_limit) else 256
    noise, surrogates = estimate_noise(train.X, train.y, train.sigma, seed=seed, max_rows=rows)
    dropped: list[int] = []
    if select_inputs and surrogates is not None and root.d > 1:
        dropped, _ = irrelevant_inputs(train.X, surrogates, seed=seed)
    keep = [j for j in range(root.d) if j not in dropped]
    if dropped:  # the search never sees columns that carry no information
        noise = _on_columns(noise, keep, np.median(train.X, axis=0))
        root = Problem(root.X[:, keep], root.y, tuple(symbols[j] for j in keep), root.sigma)
        train = root.rows(split.train)
    referee = Judge(root, split, noise, judge, end)
    names_kept = [data.names[j] for j in keep]
    reduction = _reduction(_kept_units(units, keep, data.names), target_units, names_kept, root.X)
    tasks = list(plan) if plan is not None else default_plan(root.d, config, reduction)
    tried, stopped = _run(
        tasks, train, referee, library, seed, end, t0, time_limit, progress, model_selection
    )
    referee = _rejudged(referee, model_selection, judge, t0, time_limit)
    result = result_of(referee, model_selection, data, tried, stopped, t0)
    result.dropped = tuple(data.names[j] for j in dropped)
    if extreme is not None:
        result = untamed(result, extreme)
    if progress is not None:
        progress(Progress("done", time.perf_counter() - t0, time_limit, str(result.formula)))
    return result


def _warn_if_small(problem: Problem) -> None:
    if problem.n < max(20, 5 * problem.d):
        how = "by cross-validation" if problem.n < HOLDOUT_MIN_ROWS else "on a held-out quarter"
        warnings.warn(
            f"only {problem.n} rows for {problem.d} input(s): formulas are judged {how}, "
            "and a law with several constants may be underdetermined",
            UserWarning,
            stacklevel=3,
        )


def _on_columns(noise: NoiseEstimate, keep: list[int], fill: np.ndarray) -> NoiseEstimate:
    """``noise`` whose magnitude takes only the kept columns (the others at ``fill``)."""
    if noise.magnitude is None:
        return noise
    full = noise.magnitude

    def magnitude(Xq: np.ndarray) -> np.ndarray:
        X = np.tile(fill, (len(Xq), 1))
        X[:, keep] = Xq
        return full(X)

    return dataclasses.replace(noise, magnitude=magnitude)


def _kept_units(units: Any, keep: list[int], names: Sequence[str]) -> Any:
    """The units of the kept columns only (a mapping by name, or a sequence in order)."""
    if units is None or len(keep) == len(names):
        return units
    if isinstance(units, Mapping):
        kept = {names[j] for j in keep}
        return {k: u for k, u in units.items() if k in kept}
    return [units[j] for j in keep]


def _short(time_limit: float | None) -> bool:
    return time_limit is not None and time_limit < 10


def _check_parts(library: Any, judge: Any, plan: Any, progress: Any, select_inputs: Any) -> None:
    """Type checks of the arguments that configure the search, naming each."""
    if not isinstance(library, Library):
        raise TypeError(
            f"library must be a kandiscover Library (e.g. kd.DEFAULT_LIBRARY), got "
            f"{type(library).__name__} {library!r:.60}"
        )
    if judge is not None and not isinstance(judge, JudgeConfig):
        raise TypeError(
            f"judge must be a JudgeConfig or None, got {type(judge).__name__} {judge!r:.60}"
        )
    if plan is not None:
        if isinstance(plan, (str, bytes)) or not isinstance(plan, Sequence):
            raise TypeError(f"plan must be a sequence of Task, got {type(plan).__name__}")
        bad = [t for t in plan if not isinstance(t, Task)]
        if bad:
            raise TypeError(
                f"plan must hold Task objects, got {type(bad[0]).__name__} {bad[0]!r:.60}"
            )
        if not plan:
            raise ValueError("plan is empty: give at least one Task, or None for the default")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be a callable taking a Progress, or None; got "
            f"{type(progress).__name__} {progress!r:.60}"
        )
    if not isinstance(select_inputs, (bool, np.bool_)):
        raise TypeError(
            f"select_inputs must be True or False, got {type(select_inputs).__name__} "
            f"{select_inputs!r:.60}"
        )


def _check_config(config: Any) -> SearchConfig:
    if config is None:
        return SearchConfig()
    if not isinstance(config, SearchConfig):
        raise TypeError(
            f"config must be a kandiscover.SearchConfig, got {type(config).__name__} "
            f"{config!r:.60}; build one with SearchConfig(hidden=((),), steps=20, ...)"
        )
    return config


def _run(
    tasks, train, referee: Judge, library, seed, end, t0, time_limit, progress, selection="best"
):
    """Run the tasks in order, each with its share of the time; stop at the noise floor."""
    chains: dict[tuple[int, ...], Chain | None] = {}
    ready = []
    for task in tasks:
        key = tuple(id(v) for v in task.views)
        if key not in chains:
            chains[key] = Chain.build(train, task.views)
        chain = chains[key]
        if chain is not None and task.strategy.applies(chain.problem):
            ready.append((task, chain))
    cache: dict[str, Any] = {}
    tried: list[str] = []
    for i, (task, chain) in enumerate(ready):
        now = time.perf_counter()
        if now > end and referee.scored:
            return tried, "time limit"
        if progress is not None:
            best = str(referee.assess().chosen.expr) if referee.scored else None
            progress(Progress(task.label, now - t0, time_limit, best))
        weight = sum(t.strategy.cost for t, _ in ready[i:])
        share = now + max((end - now) * task.strategy.cost / weight, task.strategy.min_seconds)
        share = min(share, end)
        ctx = Context(deadline=share, seed=seed, library=library, cache=cache)
        tried.append(task.label)
        _search(task, chain, ctx, referee)
        cheap_left = any(t.strategy.cheap for t, _ in ready[i + 1 :])
        if referee.satisfied(selection) and (not cheap_left or referee.exact(selection)):
            return tried, "noise floor"
    return tried, "exhausted"


def _search(task: Task, chain: Chain, ctx: Context, referee: Judge) -> None:
    """Hand every proposal of one task to the judge, until the task's deadline."""
    label = chain.name
    try:
        for proposal in task.strategy.propose(chain.problem, ctx):
            expr = chain.inverse(proposal.expr)
            origin = proposal.model  # a decomposition tree, a network, or nothing
            if isinstance(origin, KAN):
                names = tuple(s.name for s in chain.problem.symbols)
                origin = Network(origin, proposal.inputs, names)
            referee.submit(expr, f"{label}:{proposal.label}", origin)
            if ctx.expired():
                break
    except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError):
        return  # one strategy failing does not end the search


def _rejudged(referee: Judge, selection, config, t0: float, time_limit) -> Judge:
    """The formulas judged again with a better noise model, when the residuals show one.

    The search weighs rows by the noise model estimated before any formula was known;
    when the chosen law's residuals show that the noise grows with the value (or does not,
    although the estimate said so; see :meth:`Judge.residual_noise`), the most promising
    formulas are refit, snapped and compared again, within the time kept in reserve.
    """
    noise = referee.residual_noise(selection) if referee.scored else None
    if noise is None:
        return referee
    stop = math.inf if time_limit is None else t0 + time_limit * (1 - _RESERVE / 3)
    again = Judge(referee.problem, referee.split, noise, config, stop)
    a = referee.assess(selection)
    first = [a.chosen, *sorted(referee.scored, key=lambda s: s.sse)]
    for s in list({id(s): s for s in first}.values())[:20]:
        again.submit(s.origin if s.origin is not None else s.expr, s.source, s.model)
    return again if again.scored else referee


def _reduction(units, target_units, names, X: np.ndarray) -> Reduction | None:
    """The dimensional reduction to search first, if units are given and it helps.

    Units are text (``"m/s"``, ``"N"``) or exponent vectors, by column name or in column
    order (see :mod:`kandiscover.units`); a column whose unit is ``None`` is unknown, and
    then no reduction is made.
    """
    from ..units import unit_vector, unit_vectors

    if units is None and target_units is None:
        return None
    if units is None or target_units is None:
        raise ValueError("dimensional analysis needs both units (inputs) and target_units")
    specs = list(units.values()) if isinstance(units, Mapping) else units
    if target_units is None or any(u is None for u in specs):
        return None
    vectors = unit_vectors(units, names)
    reduction = reduce_units(vectors, unit_vector(target_units))
    if reduction is None or not reduction.applies_to(X):
        return None
    if reduction.n_groups >= X.shape[1]:
        return None  # nothing gained: every input is dimensionless already
    return reduction
