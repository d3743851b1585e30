"""Views of a problem: transforms under which a law may become simpler to find.

A :class:`View` is a recipe; :meth:`View.bind` applies it to a :class:`Problem` and
returns a :class:`Bound` view: the transformed problem a strategy searches, and the map
of a formula found there back to the problem's own variables. Views compose into a
:class:`Chain` (``units`` then ``log``, say), whose inverse runs the maps backwards.

The implementations:

- :class:`Raw` -- the identity;
- :class:`Scale` -- columns and target whose magnitude is far from 1 (SI values such as
  ``1e-30``) are divided by a power of ten, so every strategy sees O(1) numbers; the
  formula is mapped back exactly (scale is not structure);
- :class:`Log` -- the logarithm of every positive input and of a sign-definite target: a
  product of powers becomes a sum of straight lines;
- :class:`Units` -- dimensional analysis: the target divided by a prefactor with its
  units, as a function of dimensionless groups (:mod:`kandiscover.search.dimensional`);
- :class:`TargetTransform` -- ``y / x_j^p``, ``log|y|``, ``y^2``: transforms of the
  target alone, with a numeric inverse, that the exhaustive search fits in one batch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from .dimensional import Reduction
from .problem import Problem

_EXPAND_MAX_OPS = 40  # the log view expands exp(sum) into a product only below this size

__all__ = [
    "Bound",
    "Chain",
    "Log",
    "Raw",
    "Scale",
    "TargetTransform",
    "Units",
    "View",
    "target_sign",
]


def target_sign(y: np.ndarray) -> float:
    """``1`` if every value is positive, ``-1`` if every value is negative, else ``0``."""
    return 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)


@dataclass(frozen=True)
class Bound:
    """A view applied to one problem.

    Attributes
    ----------
    name : str
        The view's name.
    problem : Problem
        The transformed problem.
    inverse : callable
        Maps a formula in ``problem.symbols`` to the parent problem's symbols.
    """

    name: str
    problem: Problem
    inverse: Callable[[sympy.Expr], sympy.Expr]


class View(ABC):
    """A transform of a problem and the inverse map of formulas."""

    name: str = "view"

    @abstractmethod
    def bind(self, problem: Problem) -> Bound | None:
        """Apply the view; ``None`` where it does not apply to this problem."""


class Raw(View):
    """The problem as it is."""

    name = "raw"

    def bind(self, problem: Problem) -> Bound:
        return Bound(self.name, problem, lambda e: e)


def _power_of_ten(values: np.ndarray, low: float, high: float) -> int:
    """The power of ten that brings the root mean square of ``values`` into [low, high]."""
    top = float(np.abs(values).max())
    if top == 0 or not math.isfinite(top):
        return 0
    rms = float(np.sqrt(np.mean(np.square(values / top)))) * top  # no overflow on the way
    if rms == 0 or low <= rms <= high:
        return 0
    return round(math.log10(rms))


class Scale(View):
    """Divide columns (and the target) far from unit magnitude by a power of ten.

    Parameters
    ----------
    low, high : float
        Magnitudes (root mean square) left alone.
    """

    name = "scale"

    def __init__(self, low: float = 1e-2, high: float = 1e2) -> None:
        self.low, self.high = low, high

    def bind(self, problem: Problem) -> Bound:
        px = [_power_of_ten(problem.X[:, j], self.low, self.high) for j in range(problem.d)]
        py = _power_of_ten(problem.y, self.low, self.high)
        if not any(px) and not py:
            return Bound(self.name, problem, lambda e: e)
        X = problem.X / np.array([10.0**p for p in px])
        y = problem.y / 10.0**py
        sigma = None if problem.sigma is None else problem.sigma / 10.0**py
        scaled = Problem(X, y, problem.symbols, sigma)
        ten = sympy.Integer(10)
        subs = {s: s / ten**p for s, p in zip(problem.symbols, px) if p}

        def inverse(expr: sympy.Expr) -> sympy.Expr:
            return ten**py * expr.xreplace(subs)

        return Bound(self.name, scaled, inverse)


class Log(View):
    """The logarithm of every positive input and of a target of one sign.

    The other inputs stay as they are (``log y = sin(pi x) + y^2`` is as welcome as a
    monomial). When noise has pushed a few values of the target across zero (at most
    ``tolerance`` of the rows), the view keeps the rows of the majority sign; it does not
    apply to a target that really changes sign.
    """

    name = "log"

    def __init__(self, tolerance: float = 0.05) -> None:
        self.tolerance = tolerance

    def bind(self, problem: Problem) -> Bound | None:
        positive = float(np.mean(problem.y > 0))
        negative = float(np.mean(problem.y < 0))
        sign = (
            1.0
            if positive >= 1 - self.tolerance
            else (-1.0 if negative >= 1 - self.tolerance else 0.0)
        )
        if not sign:
            return None
        keep = sign * problem.y > 0
        if not keep.all():
            problem = problem.rows(np.flatnonzero(keep))
        logged = problem.positive
        X = problem.X.copy()
        for j, take in enumerate(logged):
            if take:
                X[:, j] = np.log(X[:, j])
        y = np.log(sign * problem.y)
        sigma = None if problem.sigma is None else problem.sigma / np.abs(problem.y)
        view = Problem(X, y, problem.symbols, sigma)
        subs = {s: sympy.log(s) for s, take in zip(problem.symbols, logged) if take}
        unit = sympy.Integer(int(sign))  # exact: a float 1.0 would be a constant to fit

        def inverse(expr: sympy.Expr) -> sympy.Expr:
            inner = expr.xreplace(subs)
            if sympy.count_ops(inner) > _EXPAND_MAX_OPS:  # expanding would only bloat it
                return unit * sympy.exp(inner)
            out = unit * sympy.exp(inner)
            return sympy.powsimp(sympy.expand_log(sympy.expand(out), force=True), force=True)

        return Bound(self.name, view, inverse)


class Units(View):
    """Dimensional analysis: ``y / prefactor`` as a function of dimensionless groups.

    Parameters
    ----------
    reduction : Reduction
        The prefactor and groups (see :func:`kandiscover.search.dimensional.reduce_units`).
    """

    name = "units"

    def __init__(self, reduction: Reduction) -> None:
        self.reduction = reduction

    def bind(self, problem: Problem) -> Bound | None:
        red = self.reduction
        if not red.applies_to(problem.X):
            return None
        red = red.oriented(problem.X)
        G, r = red.transform(problem.X, problem.y)
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(r))):
            return None
        taken = {s.name for s in problem.symbols}
        group_symbols = tuple(sympy.Symbol(_fresh(f"pi{j + 1}", taken)) for j in range(G.shape[1]))
        sigma = None
        if problem.sigma is not None:  # y / prefactor: the error bars scale alike
            with np.errstate(all="ignore"):
                prefactor = _power_product_abs(red, problem.X)
            sigma = problem.sigma / prefactor
        reduced = Problem(G, r, group_symbols, sigma)
        symbols = problem.symbols

        def inverse(expr: sympy.Expr) -> sympy.Expr:
            return red.inverse(expr, group_symbols, symbols)

        return Bound(self.name, reduced, inverse)


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name = "_" + name
    return name


def _power_product_abs(reduction: Reduction, X: np.ndarray) -> np.ndarray:
    """``|prefactor|`` of a reduction on the rows of ``X``."""
    out = np.ones(len(X))
    for j, p in enumerate(reduction.prefactor):
        if p != 0:
            out = out * np.abs(X[:, j]) ** float(p)
    return out


class TargetTransform(View):
    """A transform of the target alone, with a numeric inverse.

    Parameters
    ----------
    name : str
        Label, e.g. ``"y/x^2"``.
    forward : callable
        ``(X, y) -> t``.
    inverse_expr : callable
        A formula for ``t`` -> a formula for ``y``.
    undo : callable
        ``(X, t) -> y``, numerically.
    """

    def __init__(
        self,
        name: str,
        forward: Callable[[np.ndarray, np.ndarray], np.ndarray],
        inverse_expr: Callable[[sympy.Expr], sympy.Expr],
        undo: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> None:
        self.name = name
        self.forward, self.inverse_expr, self.undo = forward, inverse_expr, undo

    def bind(self, problem: Problem) -> Bound | None:
        with np.errstate(all="ignore"):
            t = self.forward(problem.X, problem.y)
        if not (np.all(np.isfinite(t)) and np.ptp(t) > 0):
            return None
        return Bound(self.name, problem.with_data(problem.X, t), self.inverse_expr)


def target_transforms(
    y: np.ndarray,
    symbols: Sequence[sympy.Symbol],
    powers: Sequence[int],
    reciprocal: bool = False,
) -> list[TargetTransform]:
    """``y``, ``y / x_j^p`` for the given powers; ``log|y|`` and ``y^2`` for a one-sign
    ``y``, and with ``reciprocal`` also ``1/y`` and ``1/y^2``."""
    out = [TargetTransform("y", lambda X, y: y, lambda e: e, lambda X, t: t)]
    for j, s in enumerate(symbols):
        for p in powers:
            out.append(
                TargetTransform(
                    f"y/{s}^{p}",
                    lambda X, y, j=j, p=p: y / X[:, j] ** p,
                    lambda e, s=s, p=p: e * s**p,
                    lambda X, t, j=j, p=p: t * X[:, j] ** p,
                )
            )
    sign = target_sign(y)
    if sign:
        out.append(
            TargetTransform(
                "log",
                lambda X, y: np.log(sign * y),
                lambda e: sympy.Integer(int(sign)) * sympy.exp(e),
                lambda X, t: sign * np.exp(t),
            )
        )
        out.append(
            TargetTransform(
                "y^2",
                lambda X, y: y**2,
                lambda e: sympy.Integer(int(sign)) * sympy.sqrt(e),
                lambda X, t: sign * np.sqrt(t),
            )
        )
        if reciprocal:  # laws that are simple for 1/y (lenses, resistors in parallel)
            # or 1/y^2 (1/sqrt(1 - v^2/c^2))
            out.append(
                TargetTransform("1/y", lambda X, y: 1 / y, lambda e: 1 / e, lambda X, t: 1 / t)
            )
            out.append(
                TargetTransform(
                    "1/y^2",
                    lambda X, y: y**-2.0,
                    lambda e: sympy.Integer(int(sign)) / sympy.sqrt(e),
                    lambda X, t: sign / np.sqrt(t),
                )
            )
    return out


@dataclass(frozen=True)
class Chain:
    """Views applied one after the other; the inverse runs them backwards."""

    links: tuple[Bound, ...]

    @property
    def name(self) -> str:
        names = [b.name for b in self.links if b.name not in ("raw", "scale")]
        return "+".join(names) or "raw"

    @property
    def problem(self) -> Problem:
        return self.links[-1].problem

    def inverse(self, expr: sympy.Expr) -> sympy.Expr:
        for link in reversed(self.links):
            expr = link.inverse(expr)
        return expr

    @staticmethod
    def build(problem: Problem, views: Sequence[View]) -> Chain | None:
        """Bind ``views`` in order; ``None`` if one of them does not apply."""
        links = []
        current = problem
        for view in views:
            bound = view.bind(current)
            if bound is None:
                return None
            links.append(bound)
            current = bound.problem
        return Chain(tuple(links))
