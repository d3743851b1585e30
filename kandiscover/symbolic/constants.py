"""Joint refitting and snapping of the numeric constants of a formula.

:func:`refit_constants` fits every ``Float`` of an expression at once with
``scipy.optimize.least_squares``. :func:`snap_constants` then tries to replace each float by
a simple value (integers, small rationals, rational multiples of ``pi``, ``sqrt(2)``,
``sqrt(3)``, ``e``, or ``0``) and keeps a snap only where the fit does not get worse.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence

import numpy as np
import sympy
from scipy.optimize import least_squares

__all__ = ["refit_constants", "snap_constants", "snap_float"]

# (base, extra cost, largest denominator, largest |numerator|)
_BASES = (
    (sympy.Integer(1), 0, 12, 10**6),
    (sympy.pi, 2, 12, 24),
    (1 / sympy.pi, 2, 12, 24),
    (sympy.pi**2, 3, 4, 12),
    (1 / sympy.pi**2, 3, 4, 12),
    (1 / sympy.pi**3, 4, 4, 12),
    (1 / sympy.sqrt(2 * sympy.pi), 3, 4, 12),
    (sympy.sqrt(2 * sympy.pi), 3, 4, 12),  # (the reciprocal too: 1/(sqrt(2 pi) sigma))
    (sympy.sqrt(2), 2, 4, 12),
    (sympy.sqrt(3), 2, 4, 12),
    (sympy.E, 2, 4, 12),
)
_SIMPLIFY_MAX_OPS = 25


def snap_float(value: float, rtol: float = 1e-6, atol: float = 1e-12) -> sympy.Expr | None:
    """The simplest "nice" number within ``rtol`` of ``value``, or ``None``.

    Candidates are ``0`` (when ``|value| <= atol``), integers, fractions ``p/q`` with
    ``q <= 12``, ``p*pi/q`` and ``p/(q*pi)`` with ``q <= 12, |p| <= 24``, and ``p/q``
    times ``sqrt(2)``, ``sqrt(3)``, ``e``, ``1/sqrt(2*pi)``, ``sqrt(2*pi)``, ``pi**2``,
    ``1/pi**2`` or ``1/pi**3`` with ``q <= 4, |p| <= 12``.
    Simplest means smallest denominator plus a cost for the irrational factor; ties go to
    the closest.

    Parameters
    ----------
    value : float
        The number to snap.
    rtol : float
        Largest relative difference accepted.
    atol : float
        Values this close to zero snap to ``0``.

    Returns
    -------
    sympy.Expr or None

    Raises
    ------
    ValueError
        If ``value`` is not finite or ``rtol`` is negative.

    Examples
    --------
    >>> snap_float(0.3333333333)
    1/3
    >>> snap_float(6.2831853, rtol=1e-6)
    2*pi
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"snap_float needs a finite value; got {value}")
    if rtol < 0:
        raise ValueError(f"rtol must be >= 0; got {rtol}")
    if abs(value) <= atol:
        return sympy.Integer(0)
    options = nice_values(value, rtol)
    return options[0] if options else None


def nice_values(value: float, rtol: float) -> list[sympy.Expr]:
    """Every candidate of :func:`snap_float` within ``rtol`` of ``value``, simplest first."""
    found: list[tuple[int, float, sympy.Expr]] = []
    for base, cost, max_q, max_p in _BASES:
        ratio = value / float(base)
        for q in range(1, max_q + 1):
            p = round(ratio * q)
            if p == 0 or abs(p) > max_p:
                continue
            err = abs(p / q * float(base) - value) / abs(value)
            if err <= rtol:
                found.append((q + cost, err, sympy.Rational(p, q) * base))
                break  # larger q for this base only costs more
    return [nice for _, _, nice in sorted(found, key=lambda t: t[:2])]


def _check_data(symbols: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray) -> tuple:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != len(symbols) or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X must have shape (n, {len(symbols)}) (one column per symbol) and y shape (n,); "
            f"got X {X.shape} and y {y.shape}"
        )
    return X, y


def _floats(expr: sympy.Expr) -> list[sympy.Float]:
    return sorted(expr.atoms(sympy.Float), key=lambda f: (abs(float(f)), float(f)))


def _rmse(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray, y: np.ndarray) -> float:
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):  # lambdify cannot print these
        return math.inf
    dummies = [sympy.Dummy() for _ in symbols]  # names like "exp" cannot clash
    fn = sympy.lambdify(dummies, expr.xreplace(dict(zip(symbols, dummies))), "numpy")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = np.broadcast_to(np.asarray(fn(*X.T), dtype=complex), y.shape)
    if not np.all(np.isfinite(pred)) or np.any(np.abs(pred.imag) > 1e-9 * (1 + np.abs(pred.real))):
        return math.inf
    return float(np.sqrt(np.mean((pred.real - y) ** 2)))


def refit_constants(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_nfev: int = 200,
) -> sympy.Expr:
    """Refit all ``Float`` constants of ``expr`` jointly by least squares.

    Equal floats are one parameter. Returns the original expression when there is nothing
    to fit, the optimiser fails, or the refit is not better.

    Parameters
    ----------
    expr : sympy.Expr
        The formula.
    symbols : sequence of sympy.Symbol
        The variables, in the column order of ``X``.
    X : ndarray
        Inputs, shape ``(n, len(symbols))``.
    y : ndarray
        Targets, shape ``(n,)``.
    max_nfev : int
        Budget of function evaluations for ``least_squares``.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        If the shapes of ``X`` and ``y`` do not match ``symbols``.
    """
    X, y = _check_data(symbols, X, y)
    floats = _floats(expr)
    if not floats or expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return expr
    params = [sympy.Dummy(f"k{i}") for i in range(len(floats))]
    template = expr.xreplace(dict(zip(floats, params)))
    dummies = [sympy.Dummy() for _ in symbols]  # names like "exp" cannot clash
    body = template.xreplace(dict(zip(symbols, dummies)))
    fn = sympy.lambdify([*dummies, *params], body, "numpy")
    columns = list(X.T)

    def residual(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = np.broadcast_to(np.asarray(fn(*columns, *theta), dtype=float), y.shape)
        r = pred - y
        return np.where(np.isfinite(r), r, 1e150)

    x0 = np.array([float(f) for f in floats])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = least_squares(residual, x0, max_nfev=max_nfev, x_scale="jac")
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, np.linalg.LinAlgError):
        return expr
    if not np.all(np.isfinite(sol.x)):
        return expr
    refit = template.xreplace({p: sympy.Float(float(v)) for p, v in zip(params, sol.x)})
    return refit if _rmse(refit, symbols, X, y) < _rmse(expr, symbols, X, y) else expr


def _proposals(expr: sympy.Expr, rtol: float) -> list[tuple[float, sympy.Float, sympy.Expr]]:
    """Candidate snaps ``(rank, float, value)``: near-zero constants first, then simplest."""
    out = []
    for f in _floats(expr):
        v = float(f)
        options = nice_values(v, rtol)
        if not options and abs(v) < 1e-2:
            out.append((0.0, f, sympy.Integer(0)))  # structural: try dropping it first
        out += [(1.0 + rank, f, nice) for rank, nice in enumerate(options)]
    return sorted(out, key=lambda t: t[0])


def snap_constants(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    rtol: float = 1e-2,
    snap_rtol: float = 1e-2,
    time_limit: float | None = 10.0,
) -> sympy.Expr:
    """Snap float constants to simple values where the fit does not get worse.

    Constants are tried closest-to-a-nice-value first; after each accepted snap the
    remaining floats are refit (:func:`refit_constants`). A snap is accepted when the new
    RMSE is at most ``rmse_old * (1 + rtol) + 1e-6 * std(y)``. Finally the expression is
    tidied (``simplify`` for small expressions, ``powsimp`` + ``cancel`` otherwise).

    Parameters
    ----------
    expr : sympy.Expr
        The formula (typically after :func:`refit_constants`).
    symbols : sequence of sympy.Symbol
        The variables, in the column order of ``X``.
    X : ndarray
        Inputs, shape ``(n, len(symbols))``.
    y : ndarray
        Targets, shape ``(n,)``.
    rtol : float
        Relative RMSE increase tolerated per snap.
    snap_rtol : float
        How far (relatively) a constant may be from a nice value to be tried at all.
    time_limit : float or None
        Seconds after which no further snap is tried (``None``: no limit).

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        If the shapes do not match or a tolerance is negative.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> X = np.linspace(1, 2, 50)[:, None]
    >>> snap_constants(sympy.Float(2.0000001) * x, [x], X, 2 * X[:, 0])
    2*x
    """
    X, y = _check_data(symbols, X, y)
    if rtol < 0 or snap_rtol < 0:
        raise ValueError(f"rtol and snap_rtol must be >= 0; got {rtol}, {snap_rtol}")
    slack = 1e-6 * float(np.std(y))
    current, err = expr, _rmse(expr, symbols, X, y)
    rejected: set[tuple[float, str]] = set()
    stop_at = time.perf_counter() + (math.inf if time_limit is None else time_limit)
    for _ in range(4 * len(_floats(expr)) + 1):
        accepted = False
        for _dist, f, nice in _proposals(current, snap_rtol):
            if time.perf_counter() > stop_at:
                break
            if (float(f), str(nice)) in rejected:
                continue
            trial = refit_constants(current.xreplace({f: nice}), symbols, X, y, max_nfev=50)
            trial_err = _rmse(trial, symbols, X, y)
            if trial_err <= err * (1 + rtol) + slack:
                current, err, accepted = trial, trial_err, True
                break
            rejected.add((float(f), str(nice)))
        if not accepted:
            break
    return tidy(current)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Canonical light simplification that always finishes quickly.

    ``powsimp`` merges powers; rational expressions (no functions) are also put over a
    common denominator with ``cancel``. ``sympy.simplify`` is not used: on expressions
    with trigonometric or hyperbolic functions it can run for minutes. Never returns
    something longer (by ``count_ops``) than its input.
    """
    out = sympy.powsimp(expr)
    if not out.atoms(sympy.Function) and sympy.count_ops(out) <= _SIMPLIFY_MAX_OPS:
        out = sympy.cancel(out)
    return out if sympy.count_ops(out) <= sympy.count_ops(expr) else expr
