"""Laws of one or two variables, by exhaustive search over compositions of primitives.

A problem of one variable (often what is left after dimensional analysis: ``m / m_0``
as a function of ``v / c``) is small enough to search exhaustively instead of through
a trained network. Every candidate has the form

    T^{-1}( c * f(a * h(x) + b) + d )

with ``f`` any primitive of the library (fitted by :func:`fit_edges`, all at once), ``h``
a parameter-free inner function (``x``, ``x^2``, ``1/x``, ``exp(s x)``, ...) and ``T`` a
transform of the target (``y``, ``log|y|``, ``y^2``, ``y / x^p`` for ``p = +-1, +-2``). So
``1/sqrt(1 - x^2)`` (``h = x^2``, ``f = 1/sqrt``), ``1/(exp(x) - 1)`` (``h = exp``,
``f = 1/x``) and ``x/sqrt(1 - x^2)`` (``T = y/x``) are each one fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
import torch

from .search import complexity
from .symbolic.edgefit import fit_edges
from .symbolic.library import Library
from .views import target_sign

__all__ = ["bivariate_formulas", "univariate_formulas"]

_SCALES = tuple(
    sign * s
    for s in (
        sympy.Integer(1),
        sympy.Integer(2),
        sympy.Rational(1, 2),
        sympy.pi,
        2 * sympy.pi,
        1 / sympy.pi,
        1 / (2 * sympy.pi),
    )
    for sign in (1, -1)
)


@dataclass(frozen=True)
class _Transform:
    """A transform of the target and its inverse, on formulas and on numbers."""

    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (X, y) -> t
    inverse: Callable[[sympy.Expr], sympy.Expr]  # formula for t -> formula for y
    undo: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (X, t) -> y


def _inners(x: sympy.Symbol) -> list[sympy.Expr]:
    inners = [x, x**2, x**3, 1 / x, x**-2, sympy.sqrt(x), 1 / sympy.sqrt(x), sympy.log(x)]
    for s in _SCALES:
        inners += [sympy.exp(s * x), sympy.exp(s / x)]
    return inners


def _pair_inners(a: sympy.Symbol, b: sympy.Symbol) -> list[sympy.Expr]:
    """Products and unit-weight sums of simple functions of two variables."""
    one = sympy.Integer(1)
    factors = [one, a, a**2, 1 / a, a**-2, sympy.sqrt(a), sympy.log(a), sympy.sin(a), sympy.cos(a)]
    products = {f * g.xreplace({a: b}) for f in factors for g in factors} - {one}
    terms = [a, a**2, 1 / a, sympy.sqrt(a)]
    sums = {f + s * g.xreplace({a: b}) for f in terms for g in terms for s in (1, -1)}
    return sorted(products | sums, key=sympy.default_sort_key)


def _scaled(symbol: sympy.Symbol, j: int, power: int) -> _Transform:
    """Divide the target by ``x_j ** power``."""
    return _Transform(
        f"y/{symbol}^{power}",
        lambda X, y: y / X[:, j] ** power,
        lambda e: e * symbol**power,
        lambda X, t: t * X[:, j] ** power,
    )


def _transforms(y: np.ndarray, symbols: list[sympy.Symbol], powers: tuple[int, ...]):
    out = [_Transform("y", lambda X, y: y, lambda e: e, lambda X, t: t)]
    out += [_scaled(s, j, p) for j, s in enumerate(symbols) for p in powers]
    sign = target_sign(y)
    if sign:
        out += [
            _Transform(
                "log",
                lambda X, y: np.log(sign * y),
                lambda e: sign * sympy.exp(e),
                lambda X, t: sign * np.exp(t),
            ),
            _Transform(
                "y^2",
                lambda X, y: y**2,
                lambda e: sign * sympy.sqrt(e),
                lambda X, t: sign * np.sqrt(t),
            ),
        ]
    return out


def univariate_formulas(
    x: np.ndarray,
    y: np.ndarray,
    symbol: sympy.Symbol,
    library: Library,
    *,
    max_rows: int = 256,
    keep: int = 6,
    seed: int = 0,
) -> list[sympy.Expr]:
    """Candidate formulas for ``y = g(x)``, most promising first.

    Parameters
    ----------
    x, y : ndarray of shape (n,)
        The samples.
    symbol : sympy.Symbol
        The variable of the formulas.
    library : Library
        Outer primitives ``f``.
    max_rows : int
        Samples used for the search (a random subset of larger data).
    keep : int
        Number of formulas returned: the Pareto front of error against complexity,
        trimmed to this many (the most accurate kept).
    seed : int
        Seed of the subset.

    Returns
    -------
    list of sympy.Expr
        Formulas with float constants (refit and snap them before judging).
    """
    X = np.asarray(x, float).reshape(-1, 1)
    transforms = _transforms(np.asarray(y, float), [symbol], (1, -1, 2, -2))
    return _exhaustive(X, y, [symbol], _inners(symbol), transforms, library, max_rows, keep, seed)


def bivariate_formulas(
    X: np.ndarray,
    y: np.ndarray,
    symbols: list[sympy.Symbol],
    library: Library,
    *,
    max_rows: int = 200,
    keep: int = 6,
    seed: int = 0,
) -> list[sympy.Expr]:
    """Candidate formulas for ``y = g(a, b)``: ``f`` of a product or sum of simple terms.

    The inner term is ``h1(a) * h2(b)`` or ``h1(a) +- h2(b)`` for simple ``h``
    (powers, ``log``, ``sin``, ``cos``); the target may be divided by either variable
    first, so ``b * (a - 1)`` and ``1 + b sin(a)`` are single fits. Arguments as for
    :func:`univariate_formulas`, with ``X`` of shape (n, 2).
    """
    X = np.asarray(X, float)
    a, b = sympy.Symbol("_a"), sympy.Symbol("_b")
    real = dict(zip((a, b), symbols, strict=True))
    inners = [e.xreplace(real) for e in _pair_inners(a, b)]
    transforms = _transforms(np.asarray(y, float), list(symbols), (1, -1))
    return _exhaustive(X, y, list(symbols), inners, transforms, library, max_rows, keep, seed)


def _exhaustive(
    X, y, symbols, inners, transforms, library, max_rows, keep, seed, shortlist: int = 40
):
    """Fit every outer primitive to every (inner term, target transform) pair; the front."""
    rows = np.random.default_rng(seed).permutation(len(X))[:max_rows]
    X, y = X[rows], np.asarray(y, float)[rows]
    targets = []
    for tr in transforms:
        with np.errstate(all="ignore"):
            t = tr.forward(X, y)
        if np.all(np.isfinite(t)) and np.ptp(t) > 0:
            targets.append((tr, t))
    pairs: list[tuple[sympy.Expr, _Transform]] = []
    us, ts = [], []
    for inner in inners:
        fn = sympy.lambdify(symbols, inner, "numpy")
        with np.errstate(all="ignore"):
            u = np.broadcast_to(np.asarray(fn(*X.T), dtype=float), y.shape)
        if not np.all(np.isfinite(u)) or np.ptp(u) <= 1e-12 * (1 + np.abs(u).max()):
            continue
        for tr, t in targets:
            pairs.append((inner, tr))
            us.append(u)
            ts.append(t)
    if not pairs:
        return []
    U, T = torch.tensor(np.array(us)), torch.tensor(np.array(ts))
    fits: list = []
    if len(pairs) > shortlist:  # a coarse screen first; only the best pairs are polished
        coarse = fit_edges(  # on a quarter of the rows: a screen, not a fit
            U[:, :64], T[:, :64], library, top=1, n_a=11, n_b=11, starts=1, refine_steps=8
        )
        fits += zip(pairs, coarse, U, strict=True)  # a lucky coarse fit may be the best
        rel = [f.best.rmse / max(float(t.std()), 1e-300) for f, t in zip(coarse, T, strict=True)]
        rows = sorted(np.argsort(rel, kind="stable")[:shortlist].tolist())
        pairs, U, T = [pairs[i] for i in rows], U[rows], T[rows]
    fits += zip(pairs, fit_edges(U, T, library, top=2), U, strict=True)
    scored = []
    floor = 1e-9 * float(np.std(y))  # below this, accurate formulas tie on error
    for (inner, tr), fit, u in fits:
        for cand in fit.candidates:
            with np.errstate(all="ignore"):
                pred = tr.undo(X, cand.evaluate(u, library).numpy())
                rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
            if np.isfinite(rmse):
                size = complexity(inner) + library[cand.primitive].complexity + 4 + len(tr.name)
                scored.append((size, max(rmse, floor), (cand, inner, tr)))
    front = _front(scored, keep, len(y))
    return [tr.inverse(cand.to_sympy(inner, library)) for cand, inner, tr in front]


def _front(scored: list[tuple[int, float, Any]], keep: int, n: int) -> list[Any]:
    """The error-vs-complexity front, best first by a BIC-like score, at most ``keep``.

    The score ``n log(MSE) + size log(n)`` keeps a simple formula ahead of complex ones
    that are only better by fitting noise.
    """
    front: list[tuple[int, float, Any]] = []
    for size, rmse, item in sorted(scored, key=lambda t: (t[0], t[1])):
        if not front or rmse < 0.999 * front[-1][1]:
            front.append((size, rmse, item))
    front.sort(key=lambda t: 2 * n * math.log(t[1]) + t[0] * math.log(n))
    return [item for _, _, item in front[:keep]]
