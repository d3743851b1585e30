"""Snapping constants by test: a simple value is kept when the data cannot tell it apart.

For every fitted constant the candidates are the simple values (``0``, integers, small
fractions, rational multiples of ``pi``, ``sqrt(2)``, ... see
:func:`kandiscover.symbolic.constants.nice_values`) within a few standard errors of the
fit, simplest first. Fixing a set ``S`` of constants at such values ``v`` costs, in
fit, the Wald statistic

    W(S) = (theta_S - v)^T  Cov(theta_S)^-1  (theta_S - v)

(the rise of chi-square that the snap causes, to first order, with the others refit),
and saves description length: the digits a free constant needs (``log(|theta| / se)``
nats, at least BIC's ``log(n) / 2``: noise-free data pin a constant to many digits, so an
exact value such as ``1/sqrt(2 pi)`` pays for its nodes) and ``alpha`` nats per node the
formula loses, less ``log |p| + log q`` for a fraction ``p/q`` (a simple value has to be
named among the others: ``1`` is free, ``19/6`` or ``3578000`` are not). A set of snaps is
accepted when

    W(S) / 2  <  saved description length.

The covariance is the sandwich (robust) estimate of the fit, right whatever the size of
the noise row by row (relative errors are common in measured data), or the absolute
one when error bars are given. Snaps are proposed jointly first (every constant at its
simplest value; all exponents of one monomial together), then one at a time, most
confident first; a snap of a joint set that does not pay for itself is then undone, and
the remaining constants are refit once at the end.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import sympy

from ..symbolic.constants import nice_values
from .template import Fit, Template, complexity

__all__ = ["SnapResult", "description_length", "snap_by_test"]

_SIGMAS = 4.0  # a candidate value must lie within this many standard errors
_PRECISION = 1e-8  # relative uncertainty of any fitted constant (rounding, not the data)
_ROUNDING = 1e-9  # residual (in units of the weighted residuals) a fit cannot resolve
_MAX_RTOL = 0.25  # and within this relative distance
_OPTIONS = 3  # simple values tried per constant
_ROUNDS = 3  # snap, refit, and test the constants still free again


def description_length(
    rss: float, sigma2: float, nodes: int, n_free: int, n: int, alpha: float
) -> float:
    """``RSS / (2 sigma^2) + alpha * nodes + log(n) / 2 * n_free`` (nats)."""
    return rss / (2 * sigma2) + alpha * nodes + 0.5 * math.log(max(n, 2)) * n_free


@dataclass(frozen=True)
class SnapResult:
    """The snapped formula, its refit, and the constants fixed (by parameter index)."""

    expr: sympy.Expr
    fit: Fit
    fixed: dict[int, sympy.Expr]


def _options(value: float, se: float) -> list[sympy.Expr]:
    """Simple values within the constant's uncertainty, simplest first (0 first if close)."""
    tol = _SIGMAS * se if math.isfinite(se) else abs(value) * _MAX_RTOL
    tol = max(tol, 1e-12 * abs(value))
    out: list[sympy.Expr] = []
    if abs(value) <= tol:
        out.append(sympy.Integer(0))
    if value != 0:
        rtol = min(tol / abs(value), _MAX_RTOL)
        out += [v for v in nice_values(value, rtol) if v != 0][:_OPTIONS]
    return out


def _exponent_groups(template: Template) -> list[list[int]]:
    """Indices of the parameters that are the exponents of one product (a monomial)."""
    where = {p: i for i, p in enumerate(template.params)}
    groups = []
    for node in sympy.preorder_traversal(template.body):
        if isinstance(node, sympy.Mul):
            exps = {where[a.exp] for a in node.args if isinstance(a, sympy.Pow) and a.exp in where}
            if len(exps) > 1:
                groups.append(sorted(exps))
    return groups


class _Wald:
    """Chi-square cost of fixing constants, from the fit's covariance."""

    def __init__(self, fit: Fit, kind: str, rounding: float) -> None:
        self.theta = fit.theta
        free = np.flatnonzero(fit.free)
        self.position = {int(i): k for k, i in enumerate(free)}
        # noise-free data fit to rounding: no constant is known better than _PRECISION
        floor = (_PRECISION * np.abs(fit.theta[free])) ** 2
        self.cov = fit.covariance(kind, rounding) + np.diag(floor)

    def __call__(self, fixed: dict[int, sympy.Expr]) -> float:
        idx = [self.position[i] for i in fixed if i in self.position]
        if not idx:
            return 0.0
        gap = np.array([self.theta[i] - float(v) for i, v in fixed.items() if i in self.position])
        block = self.cov[np.ix_(idx, idx)]
        if not np.all(np.isfinite(block)):
            return 0.0 if np.all(np.isinf(np.diag(block))) else math.inf
        with np.errstate(all="ignore"):
            w = float(gap @ np.linalg.pinv(block) @ gap)
        return w if math.isfinite(w) else math.inf


def snap_by_test(
    template: Template,
    fit: Fit,
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    alpha: float,
    absolute: bool = False,
    deadline: float = math.inf,
    max_trials: int | None = None,
) -> SnapResult:
    """Snap the constants of a fitted template where the data cannot tell the difference.

    Parameters
    ----------
    template : Template
        The formula with its constants as parameters.
    fit : Fit
        Its least-squares fit on ``X, y`` (all constants free).
    X, y, w : ndarray
        The rows it was fitted on and their weights (``1 / sigma``).
    alpha : float
        Price of one node of the expression tree, in nats.
    absolute : bool
        Whether the weights are known error bars (absolute covariance) rather than a
        uniform scale (robust covariance).
    deadline : float
        ``time.perf_counter()`` value after which no further snap is tried.
    max_trials : int, optional
        Most proposals tried (default: ``4 * constants + 4``, at most 40).

    Returns
    -------
    SnapResult
    """
    p = template.size
    kind = "absolute" if absolute else "robust"
    half_log_n = 0.5 * math.log(max(fit.n, 2))
    base_nodes = complexity(template.expr)
    budget = min(4 * p + 4, 40) if max_trials is None else max_trials
    fixed: dict[int, sympy.Expr] = {}
    # Rounds: fixing some constants moves the others (they are correlated), so after each
    # refit the constants still free are tested again, given the ones already fixed.
    for _ in range(_ROUNDS):
        found, budget = _snap_round(
            template, fit, fixed, kind, base_nodes, half_log_n, alpha, budget, deadline
        )
        if found == fixed:
            break
        free = np.array([i not in found for i in range(p)])
        start = fit.theta.copy()
        for i, value in found.items():
            start[i] = float(value)
        refit = template.fit(X, y, w, start, free, max_nfev=100)
        if refit is None:  # the snapped formula is not finite on the data: stop here
            break
        fit, fixed = refit, found
        if budget <= 0 or time.perf_counter() > deadline or not free.any():
            break
    values = {i: sympy.Float(float(v)) for i, v in enumerate(fit.theta)}
    return SnapResult(template.with_values({**values, **fixed}), fit, fixed)


def _snap_round(
    template: Template,
    fit: Fit,
    fixed: dict[int, sympy.Expr],
    kind: str,
    base_nodes: int,
    half_log_n: float,
    alpha: float,
    budget: int,
    deadline: float,
) -> tuple[dict[int, sympy.Expr], int]:
    """One round of snapping: the constants ``fixed`` stay, the free ones are tested."""
    p = template.size
    wald = _Wald(fit, kind, _ROUNDING)
    std = np.maximum(fit.stderr(kind, _ROUNDING), _PRECISION * np.abs(fit.theta))
    # a free constant costs the digits its precision needs, at least BIC's log(n) / 2
    with np.errstate(all="ignore"):
        digits = np.log(np.abs(fit.theta) / std)
    float_cost = np.where(np.isfinite(digits), np.maximum(digits, half_log_n), half_log_n)
    values = {i: sympy.Float(float(v)) for i, v in enumerate(fit.theta)}

    def gain(trial: dict[int, sympy.Expr]) -> float:
        """Description length saved by ``trial`` (negative: the snap costs more)."""
        nodes = complexity(template.with_values({**values, **trial}))
        saved = sum(float_cost[i] - _value_cost(v) for i, v in trial.items() if i not in fixed)
        saved += alpha * (base_nodes - nodes)
        return saved - wald(trial) / 2

    open_ = [i for i in range(p) if i not in fixed and fit.free[i]]
    options = {i: _options(fit.theta[i], std[i]) for i in open_}
    chosen = dict(fixed)
    best = gain(chosen)

    def attempt(proposal: dict[int, sympy.Expr]) -> None:
        nonlocal best, chosen, budget
        if budget <= 0 or time.perf_counter() > deadline or not proposal:
            return
        budget -= 1
        trial = {**chosen, **proposal}
        g = gain(trial)
        if g > best:
            best, chosen = g, trial

    attempt({i: opts[0] for i, opts in options.items() if opts})
    for group in _exponent_groups(template):
        attempt({i: options[i][0] for i in group if i not in chosen and options.get(i)})
    order = sorted(
        (i for i in open_ if options[i]),
        key=lambda i: _distance(fit.theta[i], options[i][0], std[i]),
    )
    for i in order:
        for value in options[i]:
            if i not in chosen:
                attempt({i: value})
    for i in [k for k in chosen if k not in fixed]:  # a joint snap may carry a passenger
        fewer = {k: v for k, v in chosen.items() if k != i}
        g = gain(fewer)
        if g > best:
            best, chosen = g, fewer
    return chosen, budget


def _value_cost(value: sympy.Expr) -> float:
    """``log |p| + log q`` nats to name a value ``p/q`` (times a constant such as ``pi``):
    the digits of its numerator and denominator (``1`` is free, ``3578000`` is not)."""
    coeff = value.as_coeff_Mul()[0]
    if not isinstance(coeff, sympy.Rational) or coeff == 0:
        return 0.0
    return math.log(abs(coeff.p)) + math.log(coeff.q)


def _distance(value: float, nice: sympy.Expr, se: float) -> float:
    gap = abs(value - float(nice))
    return gap / se if math.isfinite(se) and se > 0 else gap / (abs(value) + 1e-300)
