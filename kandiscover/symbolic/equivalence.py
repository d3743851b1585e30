"""Is a found formula the true law? The SRBench verdicts.

A model is a **symbolic solution** of the truth when, after its float constants are snapped
to simple values within a relative tolerance (default ``1e-3``, see :func:`snap_float`),
``truth - model`` simplifies to a constant or ``model / truth`` to a nonzero constant.
Numbers are checked first, on random points in three ranges: when that check decides, its
answer is final; ``simplify`` (which can run for minutes on trigonometric expressions) is
only used when the expressions cannot be evaluated there. Variables are taken as
positive while simplifying (physical quantities; this lets ``log(x*y)`` equal
``log(x) + log(y)``). Expressions too large for
``simplify`` (more than ``max_ops`` operations) are judged by the numeric test alone.

An **accuracy solution** has ``R^2`` above a threshold (default ``0.999``) on test data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import sympy

from kandiscover.symbolic.constants import snap_float

__all__ = [
    "accuracy_solution",
    "r2_score",
    "snap_model",
    "structure_solution",
    "symbolic_solution",
]

_N_POINTS = 24


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    A constant ``y_true`` gives ``1.0`` for an exact prediction and ``-inf`` otherwise.

    Raises
    ------
    ValueError
        If the shapes differ or the arrays are empty.
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty with equal shapes; got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else -math.inf
    return 1.0 - ss_res / ss_tot


def accuracy_solution(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.999) -> bool:
    """Whether ``r2_score(y_true, y_pred) > threshold`` (NaN predictions fail)."""
    y_pred = np.asarray(y_pred, dtype=float)
    if not np.all(np.isfinite(y_pred)):
        return False
    return r2_score(y_true, y_pred) > threshold


def snap_model(expr: sympy.Expr, rtol: float = 1e-3) -> sympy.Expr:
    """Replace every float of ``expr`` by :func:`snap_float` of it where one exists."""
    mapping = {}
    for f in expr.atoms(sympy.Float):
        # no absolute tolerance: 1.98e-25 (h c in J m) is a constant, not a zero
        nice = snap_float(float(f), rtol=rtol, atol=0.0)
        if nice is not None:
            mapping[f] = nice
    return expr.xreplace(mapping)


def _numeric_constancy(
    expr: sympy.Expr, symbols: list, rng: np.random.Generator, bounds: np.ndarray | None = None
) -> bool | None:
    """Whether ``expr`` is constant on random points; ``None`` if it cannot be evaluated.

    ``bounds`` (one ``(low, high)`` row per symbol): the points are drawn there first."""
    if not symbols:
        return True
    dummies = [sympy.Dummy() for _ in symbols]  # names like "exp" cannot clash
    fn = sympy.lambdify(dummies, expr.xreplace(dict(zip(symbols, dummies))), "numpy")
    # real points first; then the same points as complex numbers, so that sqrt or log of
    # a negative value continues analytically instead of giving NaN on both sides
    ranges = ((0.5, 2.0, float), (0.1, 0.9, float), (-2.0, 2.0, float), (0.5, 2.0, complex))
    if bounds is not None:  # inside the data's ranges (as real and as complex numbers)
        ranges = ((bounds[:, :1], bounds[:, 1:], float), (bounds[:, :1], bounds[:, 1:], complex))
    for low, high, kind in ranges:
        pts = rng.uniform(low, high, size=(len(symbols), _N_POINTS)).astype(kind)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                vals = np.broadcast_to(np.asarray(fn(*pts), dtype=complex), (_N_POINTS,))
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                return None
        vals = vals[np.isfinite(vals)]
        if vals.size >= _N_POINTS // 2:
            spread = np.max(np.abs(vals - vals[0]))
            return bool(spread <= 1e-8 * max(1.0, float(np.max(np.abs(vals)))))
    return None


def _is_constant(expr: sympy.Expr, nonzero: bool) -> bool:
    value = sympy.simplify(expr)
    if value.free_symbols:
        return False
    return not (nonzero and (value == 0 or value.is_zero))


def symbolic_solution(
    model_expr: sympy.Expr,
    truth_expr: sympy.Expr,
    rtol: float = 1e-3,
    *,
    max_ops: int = 80,
    seed: int = 0,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> bool:
    """SRBench symbolic-solution test.

    Parameters
    ----------
    model_expr, truth_expr : sympy.Expr
        Found and true formulas (same symbols).
    rtol : float
        Relative tolerance for snapping the model's floats (``1.01`` is not ``1`` at the
        default ``1e-3``; ``2.0000001`` is ``2``).
    max_ops : int
        Larger expressions skip ``simplify`` and are judged numerically.
    seed : int
        Seed of the random evaluation points.
    ranges : mapping of name to (low, high), optional
        Where the variables live (the data's ranges). The numeric test then draws its
        points there, so that a term of ``1.4e-23 * N`` with ``N ~ 1e23`` is not taken
        for a negligible one (at unit points it is); without ranges the points lie
        around 1.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        If an argument is not a SymPy expression.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> symbolic_solution(sympy.Float(1.5) * sympy.sin(x) + 3, sympy.sin(x))
    False
    >>> symbolic_solution(sympy.Float(1.5) * sympy.sin(x), sympy.sin(x))
    True
    """
    if not isinstance(model_expr, sympy.Basic) or not isinstance(truth_expr, sympy.Basic):
        raise TypeError(
            "model_expr and truth_expr must be SymPy expressions; got "
            f"{type(model_expr).__name__} and {type(truth_expr).__name__}"
        )
    model = snap_model(sympy.sympify(model_expr), rtol)
    truth = sympy.sympify(truth_expr)
    symbols = sorted(model.free_symbols | truth.free_symbols, key=str)
    rng = np.random.default_rng(seed)
    if model == 0 or truth == 0:
        return bool(model == truth)
    diff, ratio = truth - model, model / truth
    bounds = None
    if ranges is not None:
        missing = [str(v) for v in symbols if str(v) not in ranges]
        if missing:
            raise ValueError(f"ranges must give every variable's range; missing {missing}")
        bounds = np.array([[float(ranges[str(v)][0]), float(ranges[str(v)][1])] for v in symbols])
    numeric = [_numeric_constancy(e, symbols, rng, bounds) for e in (diff, ratio)]
    if None not in numeric or sympy.count_ops(model) + sympy.count_ops(truth) > max_ops:
        # decided on random points in three ranges (1e-8 relative); simplify, which can
        # run for minutes on trigonometric expressions, is kept for undecided cases
        return any(numeric)
    positive = {s: sympy.Dummy(s.name, positive=True) for s in symbols}
    diff, ratio = diff.xreplace(positive), ratio.xreplace(positive)
    return _is_constant(diff, nonzero=False) or _is_constant(ratio, nonzero=True)


_SMALL = 12  # numerators and denominators of the fractions a law states exactly


def structure_solution(
    model_expr: sympy.Expr,
    truth_expr: sympy.Expr,
    ranges: Mapping[str, tuple[float, float]],
    *,
    rtol: float = 1e-6,
    seed: int = 0,
) -> bool:
    """Whether the model is the true law up to the values of its float constants.

    A law fitted to noisy data has constants that are only estimates (``11925e9 *
    exp(-8996/T)`` for ``1.2e13 * exp(-9000/T)``); SRBench's symbolic test fails it as soon
    as a constant sits inside a nonlinearity. Here the model's floats, its numbers beyond
    small fractions (numerator or denominator above 12) and an overall factor are refit
    by least squares to the noise-free truth on 200 points in ``ranges``; the model has
    the right structure when the refit matches the truth to ``rtol`` (relative RMS).
    """
    from ..search.template import Template  # (the search builds on this module)

    truth = sympy.sympify(truth_expr)
    symbols = sorted(sympy.sympify(model_expr).free_symbols | truth.free_symbols, key=str)
    missing = [str(v) for v in symbols if str(v) not in ranges]
    if missing:
        raise ValueError(f"ranges must give every variable's range; missing {missing}")
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(*map(float, ranges[str(v)]), size=200) for v in symbols])
    dummies = [sympy.Dummy() for _ in symbols]
    fn = sympy.lambdify(dummies, truth.xreplace(dict(zip(symbols, dummies))), "numpy")
    with np.errstate(all="ignore"):
        y = np.broadcast_to(np.asarray(fn(*X.T), dtype=float), (len(X),))
    if not np.all(np.isfinite(y)):
        return False
    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    model = sympy.sympify(model_expr)
    # numbers beyond small fractions are estimates too (snapping may have made 8996 of
    # -8996.3); and the overall scale is free, as in SRBench's ratio test
    estimates = {
        a: sympy.Float(float(a))
        for a in model.atoms(sympy.Rational)
        if abs(a.p) > _SMALL or a.q > _SMALL
    }
    template = Template(sympy.Float(1.0) * model.xreplace(estimates), tuple(symbols))
    w = np.full(len(y), 1.0 / scale)
    if template.size == 0:
        residuals = template.residuals(X, y, w, template.theta0)
    else:
        fit = template.fit(X, y, w)
        if fit is None:
            return False
        residuals = fit.residuals
    return bool(np.all(np.isfinite(residuals)) and np.sqrt(np.mean(residuals**2)) <= rtol)
