"""The discovery pipeline: data in, a law out.

For each view of the data (raw, log) and each architecture of a small search space,
one *attempt* runs the pipeline of DESIGN.md: fit with sparsity, prune, refit, snap
every edge to a primitive, refit the snapped network, compose the formula, map it back
to the original variables, refit its constants jointly and snap them to simple values.
Alternative primitives of each edge (the runners-up of the snap) are tried too. Every
formula is scored on held-out data; the Pareto front of error against complexity is
kept, and the simplest formula whose error is close to the best one is the answer.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from .data import check_xy
from .dimensional import Reduction, as_unit_vectors, reduce_units
from .exhaustive import bivariate_formulas, univariate_formulas
from .nn.network import KAN
from .search import (
    Candidate,
    SearchConfig,
    attempt_formulas,
    complexity,
    default_attempts,
    score_formula,
)
from .symbolic.library import DEFAULT_LIBRARY, Library
from .views import available_views

__all__ = ["ParetoPoint", "Result", "SearchConfig", "complexity", "discover"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParetoPoint:
    """One formula of the Pareto front: no simpler formula has a smaller test error."""

    formula: sympy.Expr
    complexity: int
    rmse: float
    r2: float


@dataclass
class Result:
    """What :func:`discover` found.

    Attributes
    ----------
    formula : sympy.Expr
        The chosen law, in the input names.
    latex : str
        Its LaTeX.
    r2_test, rmse_test : float
        Scores on the held-out quarter of the data.
    complexity : int
        Expression-tree size of ``formula``.
    pareto : list of ParetoPoint
        Error against complexity, simplest first.
    seconds : float
        Wall-clock time of the search.
    model : KAN or None
        The snapped network that produced the formula (in its view's variables).
    names : tuple of str
        Input names, in column order.
    view : str
        Where the formula came from: ``"raw"`` or ``"log"`` (a KAN in that view),
        ``"exhaustive"`` (the search for one or two variables), and with a ``"units+"``
        prefix the same in dimensionless groups (``"units"`` alone: a product of powers).
    """

    formula: sympy.Expr
    latex: str
    r2_test: float
    rmse_test: float
    complexity: int
    pareto: list[ParetoPoint]
    seconds: float
    model: KAN | None
    names: tuple[str, ...]
    view: str = "raw"
    attempts: list[str] = field(default_factory=list)

    def predict(self, X: Any) -> np.ndarray:
        """Evaluate the formula on inputs of shape (n, n_inputs)."""
        from .export import to_numpy

        X = np.asarray(X, dtype=float)
        return to_numpy(self.formula, list(self.names))(X)

    def __str__(self) -> str:
        return f"{self.formula}  (R^2 test {self.r2_test:.6f}, complexity {self.complexity})"

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"


def discover(
    X: Any,
    y: Any,
    names: Sequence[str] | None = None,
    units: Any = None,
    time_limit: float | None = None,
    seed: int = 0,
    *,
    config: SearchConfig | None = None,
    library: Library = DEFAULT_LIBRARY,
    target_units: Any = None,
) -> Result:
    """Find a formula for ``y`` as a function of the columns of ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Inputs: NumPy, torch or a pandas DataFrame (whose column names become symbols).
    y : array-like of shape (n,)
        Target.
    names : sequence of str, optional
        Input names (default: DataFrame columns, else ``x_1, ..., x_d``).
    units : mapping or sequence, optional
        Units of the inputs, as exponent vectors over fixed base dimensions (for SI:
        m, s, kg, K, V), by input name or in column order. With ``target_units`` they
        turn on dimensional analysis: the search first looks for ``y = prefactor *
        g(dimensionless groups)``, which has fewer variables (see
        :mod:`kandiscover.dimensional`), then for laws in the raw inputs.
    time_limit : float, optional
        Seconds; the search stops starting new attempts after it.
    seed : int
        Seed of the split and of the networks.
    config : SearchConfig, optional
        The search space and training budget.
    library : Library
        Primitives for the edges.
    target_units : sequence of float, optional
        Units of the target, over the same base dimensions as ``units``.

    Returns
    -------
    Result

    Raises
    ------
    ValueError
        For bad data (NaN, inf, a constant target, too few rows, mismatched lengths).
    """
    t0 = time.perf_counter()
    names = _names(X, names)
    Xn, yn = check_xy(X, y)
    if Xn.shape[1] != len(names):
        raise ValueError(f"names has {len(names)} entries but X has {Xn.shape[1]} columns")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    cfg = config or SearchConfig()
    split = _split(Xn, yn, seed)
    symbols = [sympy.Symbol(n) for n in names]
    deadline = math.inf if time_limit is None else t0 + time_limit
    found: list[Candidate] = []
    tried: list[str] = []
    reduction = _reduction(units, target_units, names, Xn)
    if reduction is not None:
        # the reduced problem gets half the time: it is smaller, but not every law is
        # simpler in dimensionless groups (a sum of products becomes a sum of ratios)
        share = t0 + (deadline - t0) / 2 if math.isfinite(deadline) else deadline
        found, tried = _search_reduced(reduction, split, symbols, cfg, library, seed, share)
    if not _has_exact(found, split[3], cfg):
        more, also = _search(split, symbols, cfg, library, seed, deadline)
        found, tried = found + more, tried + also
    return _result(found, split, symbols, names, tried, time.perf_counter() - t0)


def _names(X: Any, names: Sequence[str] | None) -> tuple[str, ...]:
    if names is not None:
        return tuple(str(n) for n in names)
    if hasattr(X, "columns"):
        return tuple(str(c) for c in X.columns)
    d = np.shape(X)[1] if np.ndim(X) == 2 else 1
    return tuple(f"x_{i + 1}" for i in range(d))


def _split(X: np.ndarray, y: np.ndarray, seed: int, test_size: float = 0.25):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = max(1, round(test_size * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def _search(split, symbols, cfg: SearchConfig, library, seed, deadline):
    X_train, y_train, _, y_test = split
    views = available_views(X_train, y_train)
    found: list[Candidate] = []
    tried: list[str] = []
    if X_train.shape[1] <= 2:  # small enough to search exhaustively first
        tried.append("exhaustive")
        found += _exhaustive(split, symbols, cfg, library, seed, deadline)
        if _has_exact(found, y_test, cfg):
            return found, tried
    for att in default_attempts(views, X_train.shape[1], cfg, seed):
        if time.perf_counter() > deadline:
            break
        tried.append(att.label)
        try:
            cands = attempt_formulas(att, split, symbols, cfg, library, deadline)
        except (ValueError, RuntimeError, ArithmeticError) as err:  # one attempt failing
            log.info("attempt %s failed: %s", att.label, err)
            continue
        found += cands
        if _has_exact(found, y_test, cfg):
            break  # an exact law; more attempts cannot do better
    return found, tried


def _exhaustive(split, symbols, cfg, library, seed, deadline) -> list[Candidate]:
    """Score the exhaustive search's formulas, most promising first, until one is exact."""
    X_train, y_train = split[:2]
    if len(symbols) == 1:
        exprs = univariate_formulas(X_train[:, 0], y_train, symbols[0], library, seed=seed)
    else:
        exprs = bivariate_formulas(X_train, y_train, symbols, library, seed=seed)
    out: list[Candidate] = []
    for expr in exprs:
        if time.perf_counter() > deadline:
            break
        cand = score_formula(expr, symbols, split, "exhaustive")
        if cand is not None:
            out.append(cand)
            if _has_exact([cand], split[3], cfg):
                break
    return out


def _has_exact(found: list[Candidate], y_test: np.ndarray, cfg: SearchConfig) -> bool:
    return any(c.rmse <= cfg.exact_rtol * np.std(y_test) for c in found)


def _reduction(units, target_units, names, X: np.ndarray) -> Reduction | None:
    """The dimensional reduction to search first, if units are given and it helps."""
    if units is None and target_units is None:
        return None
    if units is None or target_units is None:
        raise ValueError("dimensional analysis needs both units (inputs) and target_units")
    vectors = as_unit_vectors(units, names)
    if vectors is None:
        return None
    reduction = reduce_units(vectors, target_units)
    if reduction is None or not reduction.applies_to(X):
        log.info("units give no usable dimensional reduction")
        return None
    if reduction.n_groups >= X.shape[1]:
        return None  # nothing gained: every input is dimensionless already
    return reduction.oriented(X)


def _search_reduced(reduction: Reduction, split, symbols, cfg, library, seed, deadline):
    """Search ``y / prefactor = g(groups)``; return formulas in the original inputs."""
    X_train, y_train, X_test, y_test = split
    prefactor = reduction.prefactor_expr(symbols)
    if reduction.n_groups == 0:  # a product of powers: only the constant is unknown
        y_red = reduction.transform(X_train, y_train)[1]
        guess = sympy.Float(float(np.median(y_red)))
        cand = score_formula(guess * prefactor, symbols, split, "units")
        return ([] if cand is None else [cand]), ["units:constant"]
    taken = {s.name for s in symbols}
    group_symbols = [sympy.Symbol(_fresh(f"pi{j + 1}", taken)) for j in range(reduction.n_groups)]
    G_train, r_train = reduction.transform(X_train, y_train)
    G_test, r_test = reduction.transform(X_test, y_test)
    reduced = (G_train, r_train, G_test, r_test)
    if not (np.all(np.isfinite(G_train)) and np.all(np.isfinite(r_train))):
        return [], []
    found, tried = _search(reduced, group_symbols, cfg, library, seed, deadline)
    out: list[Candidate] = []
    if not found:
        return out, [f"units:{t}" for t in tried]
    front = _pareto(found)
    best = _choose(front)
    rest = sorted((c for c in front if c is not best), key=lambda c: c.rmse)
    for c in [best, *rest][:4]:
        expr = reduction.inverse(c.expr, group_symbols, symbols)
        cand = score_formula(expr, symbols, split, f"units+{c.view}", c.model)
        if cand is not None:
            out.append(cand)
        if _has_exact(out, y_test, cfg):
            break
    return out, [f"units:{t}" for t in tried]


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name = "_" + name
    return name


def _pareto(found: list[Candidate]) -> list[Candidate]:
    front: list[Candidate] = []
    for c in sorted(found, key=lambda c: (c.complexity, c.rmse)):
        if not front or c.rmse < front[-1].rmse:
            front.append(c)
    return front


def _choose(front: list[Candidate], tolerance: float = 0.05) -> Candidate:
    best = min(c.rmse for c in front)
    return next(c for c in front if c.rmse <= best * (1 + tolerance) + 1e-300)


def _result(found, split, symbols, names, tried, seconds) -> Result:
    from .export import latex

    if not found:
        raise RuntimeError(
            "no formula was found: every attempt failed or the time limit was too short "
            f"(attempts tried: {tried or 'none'})"
        )
    front = _pareto(found)
    best = _choose(front)
    return Result(
        formula=best.expr,
        latex=latex(best.expr),
        r2_test=best.r2,
        rmse_test=best.rmse,
        complexity=best.complexity,
        pareto=[ParetoPoint(c.expr, c.complexity, c.rmse, c.r2) for c in front],
        seconds=seconds,
        model=best.model,
        names=tuple(names),
        view=best.view,
        attempts=tried,
    )
