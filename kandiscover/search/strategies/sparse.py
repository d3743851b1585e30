"""Sparse sums of simple terms: ``t(y) = c_0 + c_1 term_1 + ... + c_k term_k``.

Many laws are a short linear combination of simple terms that no split separates
(``x1*y1 + x2*y2 + x3*y3``, ``m (u^2 + v^2 + w^2) / 2``, a product term plus a
trigonometric term) or become one after a transform of the target (``1/y = 1/d1 +
n/d2``). This strategy builds a library of candidate terms (powers, reciprocals, roots,
logarithms and trigonometric functions of each input; their products across two and,
for few inputs, three inputs; pairwise differences and ratios), and finds the best
combinations of one to ``max_terms`` of them by least squares: greedy forward selection
(orthogonal matching pursuit) for the whole path, and exhaustive search over the
pairs and triples of the most promising terms, as best-subset selection does for small
term counts (the approach of SINDy's and FFX's sparse fits). Every sparse model is handed
to the judge, which refits, snaps and chooses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import sympy

from ..problem import Problem
from ..template import complexity
from .base import Context, Proposal, Strategy

__all__ = ["SparseTerms", "term_library"]

_MAX_TERMS_IN_LIBRARY = 4000
_MAX_DIVIDED = 5  # the target is divided by each input only for problems this small
_DENOMINATORS = 80  # terms a rational model's denominator may be made of
_PAST_DEADLINE = 2  # models proposed although the deadline has passed: the work is done


def _unary(x: sympy.Symbol, column: np.ndarray) -> list[sympy.Expr]:
    """Simple functions of one input that are finite on its data."""
    out = [x, x**2, x**3]
    nonzero = bool(np.all(column != 0))
    positive = bool(np.all(column > 0))
    if nonzero:
        out += [1 / x, x**-2]
    if positive:
        out += [sympy.sqrt(x), 1 / sympy.sqrt(x), sympy.log(x)]
    out += [sympy.sin(x), sympy.cos(x), sympy.sin(x) ** 2, sympy.exp(-x)]  # (cos^2 = 1 - sin^2)
    return out


def term_library(
    problem: Problem, max_order: int | None = None
) -> tuple[list[sympy.Expr], np.ndarray]:
    """Candidate terms and their values on the problem's rows.

    Parameters
    ----------
    problem : Problem
    max_order : int, optional
        Largest number of distinct inputs in one product (default: 3 for up to four
        inputs, else 2); ``1`` gives the terms of additive models only (no products, no
        differences or ratios).

    Returns
    -------
    terms : list of sympy.Expr
    values : ndarray of shape (n, len(terms))
        Finite, non-constant columns only.
    """
    d = problem.d
    order = max_order if max_order is not None else (3 if d <= 4 else 2)
    unary = []  # per input: (expression, values) of its simple functions
    for j, s in enumerate(problem.symbols):
        exprs, cols = _evaluate(_unary(s, problem.X[:, j]), problem)
        unary.append(list(zip(exprs, cols.T)))
    terms = [e for u in unary for e, _ in u]
    columns = [v for u in unary for _, v in u]
    for k in range(2, order + 1):
        for group in itertools.combinations(range(d), k):
            pools = [unary[j] if k == 2 or d <= 3 else _plain(unary[j]) for j in group]
            for combo in itertools.product(*pools):
                terms.append(sympy.Mul(*(e for e, _ in combo)))
                columns.append(np.prod([v for _, v in combo], axis=0))
            if len(terms) > _MAX_TERMS_IN_LIBRARY:
                break
    pairs = []
    for i, j in itertools.combinations(range(d), 2) if order > 1 else ():
        a, b = problem.symbols[i], problem.symbols[j]
        pairs += [a - b, (a - b) ** 2, a / b]
    extra, extra_values = _evaluate(pairs, problem)
    terms += extra
    columns += list(extra_values.T)
    keep, seen = [], set()
    for i, (term, v) in enumerate(zip(terms, columns)):
        if term in seen or not (
            np.all(np.isfinite(v)) and np.ptp(v) > 1e-12 * (1 + np.abs(v).max())
        ):
            continue
        seen.add(term)
        keep.append(i)
    keep = keep[:_MAX_TERMS_IN_LIBRARY]
    values = np.column_stack([columns[i] for i in keep]) if keep else np.empty((problem.n, 0))
    return [terms[i] for i in keep], values


def _plain(pool):
    """The power functions of a pool (no sin, log...): triple products stay simple."""
    return [(e, v) for e, v in pool if not e.atoms(sympy.Function)]


def _evaluate(terms: Sequence[sympy.Expr], problem: Problem):
    variables = [sympy.Dummy() for _ in problem.symbols]
    rename = dict(zip(problem.symbols, variables))
    kept, columns = [], []
    for term in terms:
        fn = sympy.lambdify(variables, term.xreplace(rename), "numpy")
        with np.errstate(all="ignore"):
            v = np.broadcast_to(np.asarray(fn(*problem.X.T), dtype=float), (problem.n,))
        if np.all(np.isfinite(v)) and np.ptp(v) > 1e-12 * (1 + np.abs(v).max()):
            kept.append(term)
            columns.append(v)
    values = np.column_stack(columns) if columns else np.empty((problem.n, 0))
    return kept, values


class SparseTerms(Strategy):
    """Best sparse combinations of library terms, for the target and simple transforms.

    Parameters
    ----------
    max_terms : int
        Largest number of terms in one model.
    transforms : sequence of {"y", "1/y", "y^2", "y/x", "rational"}
        Transforms of the target fitted (``1/y`` needs ``y != 0``, ``y^2`` a target of
        one sign; ``"y/x"`` divides by each input in turn, so ``m (u^2 + v^2) / 2`` is a
        sum of two terms; ``"rational"`` fits ratios of two sparse sums).
    max_rows : int
        Rows used for the fits (a random subset of larger data; the judge refits).
    keep : int
        Models proposed: the most promising by description length (in units of the
        best model's error), plus the three most accurate.
    """

    name = "sparse"
    cost = 2.0
    min_seconds = 4.0

    def __init__(
        self,
        max_terms: int = 4,
        transforms: Sequence[str] = ("y", "1/y", "y^2", "y/x", "rational"),
        max_rows: int = 400,
        keep: int = 12,
    ) -> None:
        if isinstance(max_terms, bool) or not isinstance(max_terms, int) or max_terms < 1:
            raise ValueError(
                f"SparseTerms(max_terms=...) must be a positive int, got {max_terms!r}"
            )
        unknown = set(transforms) - {"y", "1/y", "y^2", "y/x", "rational"}
        if unknown:
            raise ValueError(
                "SparseTerms(transforms=...) accepts 'y', '1/y', 'y^2', 'y/x', 'rational'; "
                f"got {sorted(unknown)}"
            )
        self.max_terms, self.transforms = max_terms, tuple(transforms)
        self.max_rows, self.keep = max_rows, keep

    def applies(self, problem: Problem) -> bool:
        return problem.d >= 1 and problem.n >= 8

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        if problem.n > self.max_rows:
            rows = np.random.default_rng(ctx.seed).permutation(problem.n)[: self.max_rows]
            problem = problem.rows(np.sort(rows))
        # additive models (one input per term) apart: products cannot crowd them out
        libraries = [term_library(problem, max_order=1)]
        if problem.d > 1:
            libraries.append(term_library(problem))
        w = problem.weights
        models = []
        for terms, values in libraries:
            if not terms:
                continue
            for name, t, back, undo in _targets(problem, self.transforms):
                if ctx.expired():
                    break
                for chosen, coef in _sparse_models(values, t, w, self.max_terms, problem.n):
                    with np.errstate(all="ignore"):
                        pred = undo(coef[0] + values[:, list(chosen)] @ coef[1:])
                    error = float(np.sqrt(np.mean((w * (pred - problem.y)) ** 2)))
                    if math.isfinite(error):
                        body = _sum(coef, terms, chosen)
                        models.append((error, len(chosen), back(body), name))
        if "rational" in self.transforms and not ctx.expired():
            models += _rational_models(problem, libraries[-1], self.max_terms, ctx)
        for k, (_, _, expr, name) in enumerate(_ranked(models, problem.n, self.keep)):
            if k >= _PAST_DEADLINE and ctx.expired():
                return  # (the most promising are proposed even when time is up)
            yield Proposal(expr, f"{self.name}:{name}")


def _sum(coef: np.ndarray, terms: Sequence[sympy.Expr], chosen) -> sympy.Expr:
    return sympy.Float(float(coef[0])) + sum(
        sympy.Float(float(c)) * terms[i] for c, i in zip(coef[1:], chosen)
    )


def _rational_models(problem: Problem, library, max_terms: int, ctx: Context) -> list:
    """Ratios ``(c_0 + sum a_i p_i) / (1 + b q)`` of a sparse sum and a one-term denominator.

    ``y (1 + b q) = c_0 + sum a_i p_i`` is linear in the coefficients (as SINDy-PI uses
    for rational laws, such as the relativistic addition of velocities
    ``(u + v) / (1 + u v)``): for each candidate ``q`` the column ``-y q`` is forced into
    the model and the numerator's terms are found by the beam search. (Letting the
    search pick denominator terms freely finds degenerate fits ``y (1 + ...) ~ 0``.)
    """
    terms, values = library
    if not terms or problem.d > 3:
        return []
    den_terms, den_values = term_library(problem, max_order=2 if problem.d <= 2 else 1)
    varies = np.std(den_values, axis=0) > 0.1 * np.abs(den_values.mean(axis=0))
    y, w = problem.y, problem.weights
    out = []
    candidates = [(t, q) for t, q, v in zip(den_terms, den_values.T, varies) if v]
    candidates.sort(key=lambda pair: complexity(pair[0]))  # the simplest denominators
    for q_term, q in candidates[:_DENOMINATORS]:
        if ctx.expired():
            break
        forced = -y * q
        for chosen, coef in _sparse_models(values, y, w, max_terms - 1, problem.n, forced):
            b, numerator_coef = coef[-1], coef[:-1]
            with np.errstate(all="ignore"):
                numerator = numerator_coef[0] + values[:, list(chosen)] @ numerator_coef[1:]
                denominator = 1 + b * q
                pred = numerator / denominator
            if float(np.min(np.abs(denominator))) < 0.05 * float(np.max(np.abs(denominator))):
                continue  # a pole inside the data
            error = float(np.sqrt(np.mean((w * (pred - y)) ** 2)))
            if math.isfinite(error):
                expr = _sum(numerator_coef, terms, chosen) / (1 + sympy.Float(float(b)) * q_term)
                out.append((error, len(chosen) + 1, expr, "rational"))
    return out


def _ranked(models: list, n: int, keep: int) -> list:
    """The most promising models: smallest description length, then most accurate."""
    if not models:
        return []
    ref = max(min(m[0] for m in models), 1e-12)
    # a term costs about four nodes and one constant (see the judge's description length)
    dl = [n * (m[0] / ref) ** 2 / 2 + (4 + 0.5 * math.log(n)) * (m[1] + 1) for m in models]
    by_dl = np.argsort(dl, kind="stable").tolist()
    by_error = np.argsort([m[0] for m in models], kind="stable").tolist()
    return [models[i] for i in dict.fromkeys(by_dl[:keep] + by_error[:3])]


def _targets(problem: Problem, names: Sequence[str]):
    """``(name, t, inverse on formulas, inverse on numbers)`` per transform of the target."""
    y = problem.y
    out = []
    if "y" in names:
        out.append(("y", y, lambda e: e, lambda t: t))
    if "1/y" in names and np.all(y != 0):
        out.append(("1/y", 1.0 / y, lambda e: 1 / e, lambda t: 1.0 / t))
    sign = 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)
    if "y^2" in names and sign:
        out.append(
            (
                "y^2",
                y**2,
                lambda e, s=int(sign): s * sympy.sqrt(e),
                lambda t, s=sign: s * np.sqrt(t),
            )
        )
    if "y/x" in names and problem.d <= _MAX_DIVIDED:
        for j, x in enumerate(problem.symbols):
            column = problem.X[:, j]
            if np.all(column != 0):
                out.append((f"y/{x}", y / column, lambda e, x=x: x * e, lambda t, c=column: t * c))
    return out


def _sparse_models(
    values: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    max_terms: int,
    n: int,
    forced: np.ndarray | None = None,
):
    """The best models of each size, by a beam search over subsets of terms.

    ``forced`` is a column every model contains (its coefficient comes last).
    """
    if len(t) < 4 or not np.all(np.isfinite(t)) or max_terms < 1:
        return []
    sw = w / np.sqrt(np.mean(w**2))
    A = values * sw[:, None]
    b = t * sw
    # the intercept (and the forced column) are free: project them out of every column
    basis = [sw] if forced is None else [sw, forced * sw]
    Q, _ = np.linalg.qr(np.column_stack(basis))
    Z = A - Q @ (Q.T @ A)
    norms = np.linalg.norm(Z, axis=0)
    usable = norms > 1e-12 * (np.abs(A).max(axis=0) * math.sqrt(len(t)) + 1e-300)
    Z = np.where(usable, Z / np.where(usable, norms, 1.0), 0.0)
    bc = b - Q @ (Q.T @ b)
    limit = min(max_terms, max(1, n // 3 - 1))
    out = []
    for size, subsets in enumerate(_beam(Z, bc, limit), start=1):
        for subset in subsets[: 3 if size <= 2 else 2]:
            out.append((subset, _coefficients(values, t, w, subset, forced)))
    return out


def _beam(Z: np.ndarray, b: np.ndarray, limit: int, width: int = 12) -> list[list[tuple]]:
    """Per model size, the best subsets (smallest residual) found by a beam search.

    Each subset of the beam is extended by every term at once: with ``Q`` an orthonormal
    basis of the subset's columns and ``r`` its residual, adding column ``z`` lowers the
    residual sum of squares by ``(q^T r)^2 / |q|^2`` with ``q = z - Q Q^T z``.
    """
    beam: list[tuple[float, tuple[int, ...]]] = [(float(b @ b), ())]
    levels = []
    for level in range(limit):
        options: dict[tuple[int, ...], float] = {}
        if level == 1:  # every pair of the most promising terms, as best-subset would
            options.update(_pairs(Z, b, float(b @ b)))
        for rss, subset in beam:
            if subset:
                Q, _ = np.linalg.qr(Z[:, list(subset)])
                r = b - Q @ (Q.T @ b)
                q = Z - Q @ (Q.T @ Z)
            else:
                r, q = b, Z
            qq = np.einsum("ij,ij->j", q, q)
            drop = np.where(qq > 1e-10, (q.T @ r) ** 2 / np.maximum(qq, 1e-300), 0.0)
            drop[list(subset)] = 0.0
            for j in np.argsort(-drop)[:width]:
                new = tuple(sorted((*subset, int(j))))
                if new not in options and drop[j] > 0:
                    options[new] = rss - float(drop[j])
        if not options:
            break
        beam = sorted(((v, k) for k, v in options.items()))[:width]
        levels.append([k for _, k in beam])
    return levels


def _pairs(Z: np.ndarray, b: np.ndarray, total: float, top: int = 300, keep: int = 64):
    """The best pairs among the ``top`` single terms (all of them in a small library).

    For unit columns ``z_i, z_j`` with ``r = Z^T b`` and ``g = z_i^T z_j``, the pair
    removes ``(r_i^2 + r_j^2 - 2 r_i r_j g) / (1 - g^2)``: two terms that each explain
    little can together explain everything (``(u + v) / (1 + u v)``).
    """
    r = Z.T @ b
    best = np.argsort(-np.abs(r))[:top]
    G = Z[:, best].T @ Z[:, best]
    ri = r[best]
    with np.errstate(all="ignore"):
        drop = (ri[:, None] ** 2 + ri[None, :] ** 2 - 2 * np.outer(ri, ri) * G) / (1 - G**2)
    drop = np.where((np.abs(G) < 1 - 1e-9) & np.isfinite(drop), drop, -np.inf)
    drop = np.triu(drop, k=1) + np.tril(np.full_like(drop, -np.inf))
    flat = np.argsort(-drop, axis=None)[:keep]
    out = {}
    for a, c in zip(*np.unravel_index(flat, drop.shape)):
        if np.isfinite(drop[a, c]):
            out[tuple(sorted((int(best[a]), int(best[c]))))] = total - float(drop[a, c])
    return out


def _coefficients(values, t, w, subset, forced=None) -> np.ndarray:
    """Intercept and coefficients of ``t ~ c0 + sum c_i values[:, i] (+ b forced)``."""
    columns = [np.ones(len(t)), *values[:, list(subset)].T]
    if forced is not None:
        columns.append(forced)
    M = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(M * w[:, None], t * w, rcond=None)
    return coef
