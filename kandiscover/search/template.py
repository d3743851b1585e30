"""A formula as a numeric template: its float constants become parameters.

:class:`Template` compiles a SymPy formula once (variables replaced by dummies, so a
column named ``pi`` or ``exp`` cannot clash with NumPy's names) with every distinct
``Float`` as a parameter. Refitting constants, testing snaps and cross-validating are
then operations on a parameter vector — no SymPy work and no recompilation per trial.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.optimize import least_squares

__all__ = ["Fit", "Template", "complexity", "has_infinity"]

_BAD = 1e150  # residual given to a row where the formula is not finite


def complexity(expr: sympy.Expr) -> int:
    """Number of nodes of the expression tree (the SRBench measure)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def has_infinity(expr: sympy.Expr) -> bool:
    """Whether ``expr`` holds an infinite or undefined number."""
    return bool(expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan))


@dataclass(frozen=True)
class Fit:
    """Fitted parameters with what a least-squares fit says of them.

    Attributes
    ----------
    theta : ndarray
        All parameters (fixed ones included).
    free : ndarray of bool
        Which parameters were fitted.
    rss : float
        Weighted residual sum of squares on the rows fitted.
    n : int
        Rows fitted.
    jac : ndarray of shape (n, free parameters)
        Jacobian of the weighted residuals in the free parameters, at ``theta``.
    residuals : ndarray of shape (n,)
        Weighted residuals at ``theta``.
    """

    theta: np.ndarray
    free: np.ndarray
    rss: float
    n: int
    jac: np.ndarray
    residuals: np.ndarray

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    def covariance(self, kind: str = "scaled", rounding: float = 0.0) -> np.ndarray:
        """Covariance of the free parameters.

        ``"scaled"``: ``(J^T J)^-1 rss / (n - p)`` (noise estimated from the residuals);
        ``"absolute"``: ``(J^T J)^-1`` (residuals already in units of known error bars);
        ``"robust"``: the sandwich ``(J^T J)^-1 J^T diag(r^2) J (J^T J)^-1 n / (n - p)``,
        right whatever the noise's size row by row. ``rounding`` is a residual size (in
        the units of the weighted residuals) below which the fit cannot tell: it is added
        to every residual in quadrature, so an exact fit does not claim infinite precision.
        """
        p = self.n_free
        if self.n <= p:
            return np.full((p, p), np.inf)
        with np.errstate(all="ignore"):
            inv = _inverse(self.jac.T @ self.jac)
            if kind == "absolute":
                return inv
            if kind == "scaled":
                return inv * ((self.rss + self.n * rounding**2) / (self.n - p))
            meat = self.jac.T @ (self.jac * (self.residuals[:, None] ** 2 + rounding**2))
            return inv @ meat @ inv * (self.n / (self.n - p))

    def stderr(self, kind: str = "scaled", rounding: float = 0.0) -> np.ndarray:
        """Standard errors of all parameters (``0`` for fixed ones, ``inf`` if unknown)."""
        out = np.zeros(len(self.free))
        cov = self.covariance(kind, rounding)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.clip(np.diag(cov), 0, None)) if cov.size else np.zeros(0)
        out[self.free] = np.where(np.isfinite(se), se, np.inf)
        return out


def _parametrised(expr: sympy.Basic, values: list[float], params: list) -> sympy.Basic:
    """``expr`` with each float (in preorder) replaced by a new parameter; the floats'
    values and the parameters are appended to ``values`` and ``params``."""
    if isinstance(expr, sympy.Float):
        values.append(float(expr))
        params.append(sympy.Dummy(f"k{len(params)}"))
        return params[-1]
    if not expr.args or not expr.has(sympy.Float):
        return expr
    return expr.func(*(_parametrised(a, values, params) for a in expr.args))


def _inverse(A: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive semi-definite matrix; a direction the data do not
    determine (a redundant constant) gets a huge variance, not zero."""
    if not A.size:
        return A
    values, vectors = np.linalg.eigh(A)
    floor = max(float(values.max()), 1e-300) * 1e-12
    return (vectors / np.maximum(values, floor)) @ vectors.T


class Template:
    """A formula with each of its ``Float`` constants as a parameter.

    Every occurrence of a float is its own parameter (``1.0*x + 1.0*y`` has two), in the
    order of a preorder walk of the tree.

    Parameters
    ----------
    expr : sympy.Expr
        The formula, in ``symbols``.
    symbols : sequence of sympy.Symbol
        The variables, in the column order of the data.
    """

    def __init__(self, expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> None:
        self.expr = expr
        self.symbols = tuple(symbols)
        values: list[float] = []
        params: list[sympy.Dummy] = []
        self.body = _parametrised(expr, values, params)
        self.params = tuple(params)
        self.theta0 = np.array(values, dtype=float)
        variables = tuple(sympy.Dummy(f"v{i}") for i in range(len(self.symbols)))
        body = self.body.xreplace(dict(zip(self.symbols, variables)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fn = sympy.lambdify([*variables, *self.params], body, "numpy")

    def with_values(self, values: dict[int, sympy.Expr] | np.ndarray) -> sympy.Expr:
        """The formula with parameter ``i`` replaced by ``values[i]`` (an array: floats)."""
        if isinstance(values, np.ndarray):
            values = {i: sympy.Float(float(v)) for i, v in enumerate(values)}
        return self.body.xreplace({self.params[i]: v for i, v in values.items()})

    @property
    def size(self) -> int:
        """Number of parameters."""
        return len(self.params)

    def predict(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Values on the rows of ``X`` (NaN where the formula is undefined)."""
        theta = self.theta0 if theta is None else theta
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = self._fn(*X.T, *theta)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError, AttributeError):
                return np.full(X.shape[0], np.nan)
            out = np.asarray(out)
            if np.iscomplexobj(out):
                bad = np.abs(out.imag) > 1e-9 * (1 + np.abs(out.real))
                out = np.where(bad, np.nan, out.real)
            return np.broadcast_to(out.astype(float, copy=False), (X.shape[0],)).copy()

    def residuals(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray | None = None
    ) -> np.ndarray:
        """Weighted residuals ``w * (f(X) - y)``; ``inf`` where the formula is undefined."""
        r = w * (self.predict(X, theta) - y)
        return np.where(np.isfinite(r), r, np.inf)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        w: np.ndarray,
        theta: np.ndarray | None = None,
        free: np.ndarray | None = None,
        *,
        max_nfev: int = 200,
        max_evaluations: int = 4000,
    ) -> Fit | None:
        """Least-squares refit of the free parameters (all by default), jointly.

        ``max_nfev`` bounds the optimiser's iterations and ``max_evaluations`` the
        evaluations of the formula (each finite-difference Jacobian costs one per free
        parameter), so a formula with many constants stays affordable. Returns ``None``
        when the formula is not finite on the rows at the start point. A refit that does
        not improve keeps the start point.
        """
        theta = (self.theta0 if theta is None else theta).astype(float).copy()
        free = np.ones(self.size, bool) if free is None else np.asarray(free, bool)
        start = self.residuals(X, y, w, theta)
        if not np.all(np.isfinite(start)):
            return None
        idx = np.flatnonzero(free)

        def residual(p: np.ndarray) -> np.ndarray:
            full = theta.copy()
            full[idx] = p
            r = self.residuals(X, y, w, full)
            return np.where(np.isfinite(r), r, _BAD)

        best, r_best = theta, start
        if len(idx) and len(y):
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    nfev = max(3, min(max_nfev, max_evaluations // (len(idx) + 1)))
                    sol = least_squares(residual, theta[idx], x_scale="jac", max_nfev=nfev)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError, np.linalg.LinAlgError):
                sol = None
            if sol is not None and np.all(np.isfinite(sol.x)):
                trial = theta.copy()
                trial[idx] = sol.x
                r = self.residuals(X, y, w, trial)
                if np.all(np.isfinite(r)) and float(r @ r) < float(start @ start):
                    best, r_best = trial, r
        jac = _jacobian(residual, best[idx], r_best) if len(idx) else np.zeros((len(y), 0))
        return Fit(best, free, float(r_best @ r_best), len(y), jac, r_best)


def _jacobian(residual, p: np.ndarray, r0: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``residual`` at ``p`` (relative steps)."""
    jac = np.empty((len(r0), len(p)))
    for j in range(len(p)):
        h = 1e-6 * max(abs(p[j]), 1e-8)
        up, down = p.copy(), p.copy()
        up[j] += h
        down[j] -= h
        jac[:, j] = (residual(up) - residual(down)) / (2 * h)
    bad = ~np.isfinite(jac) | (np.abs(jac) >= _BAD / 1e6)
    jac[bad] = 0.0
    return jac
