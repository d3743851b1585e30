"""Laws of one or two variables, by exhaustive search over compositions of primitives.

A problem of one variable (often what is left after dimensional analysis: ``m / m_0``
as a function of ``v / c``) is small enough to search exhaustively instead of through
a trained network. Every candidate has the form

    T^{-1}( c * f(a * h(x) + b) + d )

with ``f`` any primitive of the library (fitted by :func:`fit_edges`, all at once), ``h``
a parameter-free inner function (``x``, ``x^2``, ``1/x``, ``exp(s x)``, ...) and ``T`` a
transform of the target (:class:`~kandiscover.search.views.TargetTransform`: ``y``,
``log|y|``, ``y^2``, ``y / x^p``). So ``1/sqrt(1 - x^2)`` (``h = x^2``, ``f = 1/sqrt``),
``1/(exp(x) - 1)`` (``h = exp``, ``f = 1/x``) and ``x/sqrt(1 - x^2)`` (``T = y/x``) are
each one fit. Two variables add ``h1(a) * h2(b)`` and ``h1(a) +- h2(b)`` inside.

The fits are ranked by the description length the judge uses (in units of the best
fit's error) and the most promising are proposed, best first; the judge refits, snaps
and decides.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Sequence

import numpy as np
import sympy
import torch

from ...symbolic.edgefit import fit_edges
from ...symbolic.library import Library
from ..problem import Problem
from ..template import complexity
from ..views import TargetTransform, target_transforms
from .base import Context, Proposal, Strategy

__all__ = ["Exhaustive", "bivariate_formulas", "univariate_formulas"]

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
_CHUNK = 96  # (inner, transform) pairs screened per batch between deadline checks
_FINE_CHUNK = 8  # pairs polished per batch (each costs about 0.1 s)


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


class Exhaustive(Strategy):
    """The exhaustive search for problems of one or two variables.

    Parameters
    ----------
    max_inputs : int
        Largest number of inputs searched (1 or 2).
    keep : int
        Formulas proposed (the most promising by description length, plus the three
        most accurate).
    """

    name = "exhaustive"
    cost = 1.0
    min_seconds = 4.0

    def __init__(self, max_inputs: int = 2, keep: int = 10) -> None:
        if max_inputs not in (1, 2):
            raise ValueError(f"Exhaustive(max_inputs=...) must be 1 or 2, got {max_inputs!r}")
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"Exhaustive(keep=...) must be a positive int, got {keep!r}")
        self.max_inputs, self.keep = max_inputs, keep

    def applies(self, problem: Problem) -> bool:
        return 1 <= problem.d <= self.max_inputs and problem.n >= 3

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        args = {"keep": self.keep, "seed": ctx.seed, "deadline": ctx.deadline}
        if problem.d == 1:
            exprs = univariate_formulas(
                problem.X[:, 0], problem.y, problem.symbols[0], ctx.library, **args
            )
        else:
            exprs = bivariate_formulas(problem.X, problem.y, problem.symbols, ctx.library, **args)
        for expr in exprs:
            yield Proposal(expr, self.name)


def univariate_formulas(
    x: np.ndarray,
    y: np.ndarray,
    symbol: sympy.Symbol,
    library: Library,
    *,
    max_rows: int = 256,
    keep: int = 10,
    seed: int = 0,
    deadline: float = math.inf,
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
        Number of formulas returned.
    seed : int
        Seed of the subset.
    deadline : float
        ``time.perf_counter()`` value after which no further batch of fits is started.

    Returns
    -------
    list of sympy.Expr
        Formulas with float constants (the judge refits and snaps them).
    """
    X = np.asarray(x, float).reshape(-1, 1)
    transforms = target_transforms(np.asarray(y, float), [symbol], (1, -1, 2, -2), True)
    return _exhaustive(
        X, y, [symbol], _inners(symbol), transforms, library, max_rows, keep, seed, deadline
    )


def bivariate_formulas(
    X: np.ndarray,
    y: np.ndarray,
    symbols: Sequence[sympy.Symbol],
    library: Library,
    *,
    max_rows: int = 200,
    keep: int = 10,
    seed: int = 0,
    deadline: float = math.inf,
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
    transforms = target_transforms(np.asarray(y, float), list(symbols), (1, -1))
    return _exhaustive(
        X, y, list(symbols), inners, transforms, library, max_rows, keep, seed, deadline
    )


def _pairs(X, y, symbols, inners, transforms: list[TargetTransform]):
    """Every finite (inner values, target values) pair, with its inner and transform."""
    targets = []
    for tr in transforms:
        with np.errstate(all="ignore"):
            t = tr.forward(X, y)
        if np.all(np.isfinite(t)) and np.ptp(t) > 0:
            targets.append((tr, t))
    pairs, us, ts = [], [], []
    dummies = [sympy.Dummy() for _ in symbols]  # a column named like a function is safe
    rename = dict(zip(symbols, dummies))
    for inner in inners:
        fn = sympy.lambdify(dummies, inner.xreplace(rename), "numpy")
        with np.errstate(all="ignore"):
            u = np.broadcast_to(np.asarray(fn(*X.T), dtype=float), y.shape)
        if not np.all(np.isfinite(u)) or np.ptp(u) <= 1e-12 * (1 + np.abs(u).max()):
            continue
        for tr, t in targets:
            pairs.append((inner, tr))
            us.append(u)
            ts.append(t)
    return pairs, us, ts


def _fit_chunks(U, T, library, deadline, chunk: int = _CHUNK, **kw) -> list:
    """``fit_edges`` in batches, stopping between batches at the deadline."""
    out: list = []
    for start in range(0, len(U), chunk):
        if out and time.perf_counter() > deadline:
            break
        out += fit_edges(U[start : start + chunk], T[start : start + chunk], library, **kw)
    return out


def _exhaustive(
    X, y, symbols, inners, transforms, library, max_rows, keep, seed, deadline, shortlist=40
):
    """Fit every outer primitive to every (inner term, target transform) pair; rank them."""
    rows = np.random.default_rng(seed).permutation(len(X))[:max_rows]
    X, y = X[rows], np.asarray(y, float)[rows]
    pairs, us, ts = _pairs(X, y, symbols, inners, transforms)
    if not pairs:
        return []
    U, T = torch.tensor(np.array(us)), torch.tensor(np.array(ts))
    fits: list = []
    if len(pairs) > shortlist:  # a coarse screen first; only the best pairs are polished
        coarse = _fit_chunks(  # on a quarter of the rows: a screen, not a fit
            U[:, :64], T[:, :64], library, deadline, top=1, n_a=11, n_b=11, starts=1,
            refine_steps=8,
        )  # fmt: skip
        fits += zip(pairs, coarse, U, strict=False)  # a lucky coarse fit may be the best
        rel = _screen_errors(pairs, coarse, U[:, :64], X[:64], y[:64], library)
        best = _shortlist(pairs, coarse, rel, library, shortlist)
        pairs, U, T = [pairs[i] for i in best], U[best], T[best]
    if time.perf_counter() < deadline or not fits:
        polished = _fit_chunks(U, T, library, deadline, chunk=_FINE_CHUNK, top=2)
        fits += zip(pairs, polished, U, strict=False)
    return _ranked(fits, X, y, library, keep)


def _screen_errors(pairs, coarse, U, X, y, library) -> list[float]:
    """Each screened pair's error on the target itself (not on its transform), per std.

    A transform such as ``y * x**2`` changes the spread of the values it is fitted to, so
    errors in the transformed space are not comparable between transforms.
    """
    scale = max(float(np.std(y)), 1e-300)
    out = []
    for (_, tr), fit, u in zip(pairs, coarse, U, strict=False):
        if not fit.candidates:
            out.append(math.inf)
            continue
        with np.errstate(all="ignore"):
            pred = tr.undo(X, fit.best.evaluate(u, library).numpy())
            rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
        out.append(rmse / scale if math.isfinite(rmse) else math.inf)
    return out


def _shortlist(pairs, coarse, rel: list[float], library, size: int) -> list[int]:
    """The pairs worth polishing: half the most accurate, half the simplest that fit.

    With noise, hundreds of pairs fit the screen to the noise floor and their order by
    error alone is chance; so half the places go by a description length on the screen's
    rows (error in units of the best pair's, plus nodes and constants), which keeps the
    simple forms among them.
    """
    by_error = np.argsort(rel, kind="stable").tolist()
    finite = [r for r in rel if math.isfinite(r)]
    if not finite:
        return by_error[:size]
    ref = max(min(finite), 1e-12)
    rows = 64
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    dl = []
    for (inner, tr), fit, r in zip(pairs, coarse, rel, strict=False):
        if not math.isfinite(r) or not fit.candidates:
            dl.append(math.inf)
            continue
        key = (fit.best.primitive, tr.name)
        if key not in sizes:
            sizes[key] = _template_size(fit.best, tr, library)
        nodes, constants = sizes[key]
        size_ = nodes + complexity(inner) - 1
        dl.append(rows * (r / ref) ** 2 / 2 + size_ + 0.5 * math.log(rows) * constants)
    by_dl = np.argsort(dl, kind="stable").tolist()
    half = size // 2
    # in turns, so that a deadline that stops the polishing cuts both lists alike
    turns = [i for pair in itertools.zip_longest(by_error[: size - half], by_dl[:half])
             for i in pair if i is not None]  # fmt: skip
    return list(dict.fromkeys(turns))[:size]


def _ranked(fits, X, y, library, keep: int) -> list[sympy.Expr]:
    """The most promising formulas: smallest description length, then most accurate."""
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    inner_sizes: dict[sympy.Expr, int] = {}
    scored = []
    for (inner, tr), fit, u in fits:
        for cand in fit.candidates:
            with np.errstate(all="ignore"):
                pred = tr.undo(X, cand.evaluate(u, library).numpy())
                rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
            if not np.isfinite(rmse):
                continue
            key = (cand.primitive, tr.name)
            if key not in sizes:
                sizes[key] = _template_size(cand, tr, library)
            if inner not in inner_sizes:
                inner_sizes[inner] = complexity(inner)
            nodes, constants = sizes[key]
            scored.append((nodes + inner_sizes[inner] - 1, constants, rmse, (cand, inner, tr)))
    if not scored:
        return []
    n = len(y)
    ref = max(min(s[2] for s in scored), 1e-9 * float(np.std(y)), 1e-300)
    dl = [n * (r / ref) ** 2 / 2 + size + 0.5 * math.log(n) * k for size, k, r, _ in scored]
    by_dl = np.argsort(dl, kind="stable").tolist()
    by_error = np.argsort([s[2] for s in scored], kind="stable").tolist()
    # with noise, the errors of many formulas differ by less than chance (the RMSE of n
    # rows scatters by about 1/sqrt(2n) of itself): among those, the simplest go first
    tied = [i for i, s in enumerate(scored) if s[2] <= ref * (1 + 2 / math.sqrt(2 * n))]
    by_size = sorted(tied, key=lambda i: (scored[i][0] + 0.5 * math.log(n) * scored[i][1], i))
    chosen = list(dict.fromkeys(by_size[: max(keep // 2, 1)] + by_dl[:keep] + by_error[:3]))
    out = []
    for i in chosen:
        cand, inner, tr = scored[i][3]
        out.append(tr.inverse_expr(cand.to_sympy(inner, library)))
    return out


def _template_size(cand, tr: TargetTransform, library: Library) -> tuple[int, int]:
    """Nodes and float constants of ``T^-1(c f(a u + b) + d)`` for a placeholder ``u``."""
    u = sympy.Symbol("_u")
    expr = tr.inverse_expr(cand.to_sympy(u, library))
    return complexity(expr), len(expr.atoms(sympy.Float))
