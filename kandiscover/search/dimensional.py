"""Dimensional analysis: fewer variables when the units are known.

A physical law cannot depend on the choice of units, so (Buckingham's pi theorem) a law
``y = f(x_1, ..., x_d)`` whose inputs span ``r`` independent dimensions can be written

    y = x_1^p_1 ... x_d^p_d * g(pi_1, ..., pi_{d-r})

where the prefactor carries the units of ``y`` and each ``pi_j`` is a dimensionless
product of powers of the inputs. Discovering ``g`` is easier: it has ``r`` fewer
variables, and a law that is a product of powers (``r = d``) is left with no variable
at all, only a constant.

Among the many valid choices, :func:`reduce_units` picks the prefactor and groups with
the smallest exponents (``v/c`` rather than ``v**2 * m / (c**2 * m)``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

__all__ = ["Reduction", "reduce_units", "units_matrix"]

Exponents = tuple[Fraction, ...]


@dataclass(frozen=True)
class Reduction:
    """A prefactor and dimensionless groups that carry a law's units.

    Attributes
    ----------
    prefactor : tuple of Fraction
        Exponent of each input in the prefactor ``prod x_i ** p_i`` (same units as y).
    groups : tuple of tuple of Fraction
        Exponents of each input in each dimensionless group.
    """

    prefactor: Exponents
    groups: tuple[Exponents, ...]

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def applies_to(self, X: np.ndarray) -> bool:
        """Whether every power is defined on the data (no zero; fractions need x > 0)."""
        for exps in (self.prefactor, *self.groups):
            for j, p in enumerate(exps):
                if p == 0:
                    continue
                column = X[:, j]
                if np.any(column == 0) or (p.denominator != 1 and np.any(column < 0)):
                    return False
        return True

    def transform(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The groups (n, n_groups) and the target divided by the prefactor."""
        with np.errstate(all="ignore"):
            groups = np.empty((len(X), self.n_groups))
            for j, g in enumerate(self.groups):
                groups[:, j] = _power_product(X, g)
            return groups, y / _power_product(X, self.prefactor)

    def oriented(self, X: np.ndarray) -> Reduction:
        """The same reduction with each group of several inputs turned to be small.

        ``v/c`` and ``c/v`` are equally valid; laws are usually simpler in the one that
        is below 1 on the data (the small parameter of an expansion), so a group whose
        median magnitude exceeds 1 is inverted.
        """
        groups = []
        for g in self.groups:
            several = sum(e != 0 for e in g) > 1
            with np.errstate(all="ignore"):
                big = np.median(np.abs(_power_product(X, g))) > 1
            groups.append(tuple(-e for e in g) if several and big else g)
        return Reduction(self.prefactor, tuple(groups))

    def prefactor_expr(self, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
        """The prefactor as a SymPy product of the input symbols."""
        return _power_expr(symbols, self.prefactor)

    def group_exprs(self, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
        """Each group as a SymPy product of the input symbols."""
        return [_power_expr(symbols, g) for g in self.groups]

    def inverse(
        self,
        expr: sympy.Expr,
        group_symbols: Sequence[sympy.Symbol],
        symbols: Sequence[sympy.Symbol],
    ) -> sympy.Expr:
        """``prefactor * expr`` with each group symbol replaced by its product of inputs."""
        subs = dict(zip(group_symbols, self.group_exprs(symbols), strict=True))
        return self.prefactor_expr(symbols) * expr.xreplace(subs)


def units_matrix(units: Sequence[Sequence[float]]) -> sympy.Matrix:
    """Dimensions x inputs matrix of exponents, as exact rationals."""
    rows = [[sympy.Rational(Fraction(float(u)).limit_denominator(100)) for u in v] for v in units]
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"all unit vectors must have the same length, got lengths {lengths}")
    return sympy.Matrix(rows).T


def reduce_units(
    units: Sequence[Sequence[float]], target_units: Sequence[float], max_inputs: int = 12
) -> Reduction | None:
    """The simplest prefactor and dimensionless groups for the given units.

    Parameters
    ----------
    units : sequence of unit vectors
        SI exponents of each input (any fixed set of base dimensions).
    target_units : unit vector
        SI exponents of the target.
    max_inputs : int
        Above this many inputs the choice of groups is not searched (the first
        independent inputs carry the units).

    Returns
    -------
    Reduction or None
        ``None`` when the target's units cannot be made from the inputs' (the units are
        inconsistent, or a dimensional constant is missing from the data).
    """
    A = units_matrix(units)
    b = units_matrix([target_units])
    if A.shape[0] != b.shape[0]:
        raise ValueError(
            f"target units have {b.shape[0]} dimensions but the inputs' have {A.shape[0]}"
        )
    d, r = A.shape[1], A.rank()
    subsets = itertools.combinations(range(d), r)
    if d > max_inputs:
        subsets = iter([tuple(A.rref()[1])])
    best: tuple[Fraction, Reduction] | None = None
    for pivots in subsets:
        candidate = _reduction(A, b, list(pivots))
        if candidate is None:
            continue
        size = _size(candidate)
        if best is None or size < best[0]:
            best = (size, candidate)
    return None if best is None else best[1]


def _reduction(A: sympy.Matrix, b: sympy.Matrix, pivots: list[int]) -> Reduction | None:
    """Prefactor and groups with the inputs ``pivots`` carrying all the units."""
    basis = A[:, pivots]
    if basis.rank() < len(pivots):
        return None
    d = A.shape[1]
    prefactor = _solve(basis, b)
    if prefactor is None:
        return None
    groups = []
    for j in (j for j in range(d) if j not in pivots):
        q = _solve(basis, -A[:, j])
        if q is None:  # cannot happen for a full-rank basis; be safe
            return None
        exps = [Fraction(0)] * d
        for i, p in zip(pivots, q, strict=True):
            exps[i] = p
        exps[j] = Fraction(1)
        scale = math.lcm(*(e.denominator for e in exps))  # integer powers in each group
        groups.append(tuple(e * scale for e in exps))
    full = [Fraction(0)] * d
    for i, p in zip(pivots, prefactor, strict=True):
        full[i] = p
    return Reduction(tuple(full), tuple(groups))


def _solve(basis: sympy.Matrix, rhs: sympy.Matrix) -> list[Fraction] | None:
    try:
        sol, params = basis.gauss_jordan_solve(rhs)
    except ValueError:  # inconsistent
        return None
    if params.shape[0]:
        sol = sol.subs({p: 0 for p in params})
    return [Fraction(int(sympy.fraction(v)[0]), int(sympy.fraction(v)[1])) for v in sol]


def _size(red: Reduction) -> Fraction:
    """Total size of the exponents (the simpler the groups, the smaller)."""
    return sum(abs(e) for exps in (red.prefactor, *red.groups) for e in exps)


def _power_product(X: np.ndarray, exps: Exponents) -> np.ndarray:
    out = np.ones(len(X))
    for j, p in enumerate(exps):
        if p != 0:
            out = out * X[:, j] ** float(p)
    return out


def _power_expr(symbols: Sequence[sympy.Symbol], exps: Exponents) -> sympy.Expr:
    out = sympy.Integer(1)
    for s, p in zip(symbols, exps, strict=True):
        if p != 0:
            out = out * s ** sympy.Rational(p.numerator, p.denominator)
    return out
