"""Laws of one variable, by exhaustive search over compositions of two primitives.

A problem of one variable (often what is left after dimensional analysis: ``m / m_0``
as a function of ``v / c``) is small enough to search exhaustively instead of through
a trained network. Every candidate has the form

    T^{-1}( c * f(a * h(x) + b) + d )

with ``f`` any primitive of the library (fitted by :func:`fit_edges`, all at once), ``h``
a parameter-free inner function (``x``, ``x^2``, ``1/x``, ``exp(s x)``, ...) and ``T`` a
transform of the target (``y``, ``log|y|``, ``y^2``, ``y/x``, ``x y``). So
``1/sqrt(1 - x^2)`` (``h = x^2``, ``f = 1/sqrt``), ``1/(exp(x) - 1)`` (``h = exp``,
``f = 1/x``) and ``x/sqrt(1 - x^2)`` (``T = y/x``) are each one fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
import torch

from .symbolic.edgefit import fit_edges
from .symbolic.library import Library

__all__ = ["univariate_formulas"]

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
    """A transform of the target and its inverse on formulas."""

    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    inverse: Callable[[sympy.Expr, sympy.Symbol], sympy.Expr]
    undo: Callable[[np.ndarray, np.ndarray], np.ndarray]  # numeric inverse: (x, t) -> y


def _inners(x: sympy.Symbol) -> list[sympy.Expr]:
    inners = [x, x**2, x**3, 1 / x, x**-2, sympy.sqrt(x), 1 / sympy.sqrt(x), sympy.log(x)]
    for s in _SCALES:
        inners += [sympy.exp(s * x), sympy.exp(s / x)]
    return inners


def _transforms(y: np.ndarray) -> list[_Transform]:
    out = [
        _Transform("y", lambda x, y: y, lambda e, x: e, lambda x, t: t),
        _Transform("y/x", lambda x, y: y / x, lambda e, x: x * e, lambda x, t: x * t),
        _Transform("x*y", lambda x, y: x * y, lambda e, x: e / x, lambda x, t: t / x),
    ]
    sign = 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)
    if sign:
        out += [
            _Transform(
                "log",
                lambda x, y: np.log(sign * y),
                lambda e, x: sign * sympy.exp(e),
                lambda x, t: sign * np.exp(t),
            ),
            _Transform(
                "y^2",
                lambda x, y: y**2,
                lambda e, x: sign * sympy.sqrt(e),
                lambda x, t: sign * np.sqrt(t),
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
    rows = np.random.default_rng(seed).permutation(len(x))[:max_rows]
    x, y = np.asarray(x, float)[rows], np.asarray(y, float)[rows]
    pairs: list[tuple[sympy.Expr, _Transform]] = []
    us, ts = [], []
    for inner in _inners(symbol):
        fn = sympy.lambdify(symbol, inner, "numpy")
        with np.errstate(all="ignore"):
            u = np.broadcast_to(np.asarray(fn(x), dtype=float), x.shape)
        if not np.all(np.isfinite(u)) or np.ptp(u) <= 1e-12 * (1 + np.abs(u).max()):
            continue
        for tr in _transforms(y):
            with np.errstate(all="ignore"):
                t = tr.forward(x, y)
            if not np.all(np.isfinite(t)) or np.ptp(t) == 0:
                continue
            pairs.append((inner, tr))
            us.append(u)
            ts.append(t)
    if not pairs:
        return []
    U = torch.tensor(np.array(us))
    fits = fit_edges(
        U, torch.tensor(np.array(ts)), library, top=2, n_a=21, n_b=21, starts=2, refine_steps=12
    )
    scored = []
    floor = 1e-9 * float(np.std(y))  # below this, accurate formulas tie on error
    for (inner, tr), fit, u in zip(pairs, fits, U, strict=True):
        for cand in fit.candidates:
            with np.errstate(all="ignore"):
                pred = tr.undo(x, cand.evaluate(u, library).numpy())
            rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
            if np.isfinite(rmse):
                size = _size(inner) + library[cand.primitive].complexity + 4 + len(tr.name)
                scored.append((size, max(rmse, floor), (cand, inner, tr)))
    front = _front(scored, keep)
    return [tr.inverse(cand.to_sympy(inner, library), symbol) for cand, inner, tr in front]


def _size(expr: sympy.Expr) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


def _front(scored: list[tuple[int, float, Any]], keep: int) -> list[Any]:
    """The error-vs-complexity front, most accurate first, at most ``keep`` entries."""
    front: list[tuple[int, float, Any]] = []
    for size, rmse, item in sorted(scored, key=lambda t: (t[0], t[1])):
        if not front or rmse < 0.999 * front[-1][1]:
            front.append((size, rmse, item))
    front.sort(key=lambda t: t[1])
    return [item for _, _, item in front[:keep]]
