"""The judge: the one place where a formula is scored, compared and chosen.

Every strategy hands its formulas (in the original variables) to :meth:`Judge.submit`.
The judge

1. refits all constants jointly on the fitting rows (weighted by the error bars, when
   given) and snaps them by test (:mod:`kandiscover.search.snapping`);
2. tidies the formula with the data's signs (inputs that are positive in the data are
   positive symbols, so ``sqrt(x**2/d**2)`` reads ``x/d``);
3. measures it on rows it was not fitted on: the held-out rows, or for small tables
   every row by k-fold cross-validation of the constants.

Choosing compares formulas in units of the data's noise (the error bars, or the estimate
of :mod:`kandiscover.search.noise`):

- a formula is **within noise** when its held-out squared error is not significantly
  larger than the most accurate formula's: the paired test on the per-row differences
  ``d_i = r_i(A)^2 - r_i(best)^2`` accepts ``sum(d) <= z * sqrt(m) * std(d)``; the test
  does not depend on how well the noise level is known;
- its **description length** is ``DL = chi^2 / 2 + alpha * nodes + log(n) / 2 * constants``
  ``+ sum(log |p| + log q)`` over its exact numbers ``p/q`` (their digits)
  (nats), with ``chi^2`` the held-out squared error in units of the noise;
- ``model_selection="best"`` chooses the smallest DL among the formulas within noise,
  preferring laws (at most ``max_law_nodes`` nodes: a larger formula is chosen only when
  nothing smaller is within noise, and then flagged as an approximation);
  ``"simplest"`` the fewest nodes within noise; ``"accuracy"`` the smallest error.

The search is **done** (:meth:`Judge.satisfied`) when the chosen law's held-out error is
at the noise floor: its reduced chi-square is within three standard deviations of 1.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy

from .noise import NoiseEstimate
from .problem import Problem, Split
from .snapping import description_length, snap_by_test
from .template import Template, complexity, has_infinity

__all__ = ["Assessment", "Judge", "JudgeConfig", "Scored", "readable"]

Selection = Literal["best", "simplest", "accuracy"]
SELECTIONS = ("best", "simplest", "accuracy")
_EPS = 1e-9  # relative residual below which formulas tie (rounding, not structure)
_TIDY_MAX_OPS = 120
_SNAP_SECONDS = 2.0  # most time spent snapping one formula


@dataclass(frozen=True)
class JudgeConfig:
    """The judge's few knobs.

    Attributes
    ----------
    alpha : float
        Price of one node of a formula, in nats (the description length's unit).
    z : float
        One-sided significance, in standard errors, of "worse than the most accurate".
    max_law_nodes : int
        Larger formulas are approximations: chosen only when nothing smaller is within
        noise.
    max_nodes : int
        Larger formulas are not scored at all (nobody can use them).
    snap : bool
        Whether constants are snapped to simple values (by test).
    """

    alpha: float = 1.0
    z: float = 2.0
    max_law_nodes: int = 30
    max_nodes: int = 300
    snap: bool = True

    def __post_init__(self) -> None:
        for name in ("alpha", "z"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"JudgeConfig.{name} must be a finite number >= 0, got {value!r}")
        for name in ("max_law_nodes", "max_nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"JudgeConfig.{name} must be a positive int, got {value!r}")


@dataclass(eq=False)
class Scored:
    """A formula and what the judge measured of it.

    Attributes
    ----------
    expr : sympy.Expr
        The formula, constants refit and snapped, tidied.
    complexity : int
        Nodes of its expression tree.
    n_constants : int
        Its free (float) constants.
    residuals : ndarray
        Weighted held-out residuals (in units of the error bars, or of ``std(y)``).
    rmse, r2 : float
        Held-out root mean squared error (target units) and coefficient of determination.
    fit_rss : float
        Weighted residual sum of squares on the fitting rows.
    source : str
        The view and strategy that proposed it.
    model : Any
        The network it came from, if any.
    origin : sympy.Expr
        The formula as proposed (before the refit and the snaps).
    """

    expr: sympy.Expr
    complexity: int
    n_constants: int
    residuals: np.ndarray
    rmse: float
    r2: float
    fit_rss: float
    source: str
    model: Any = None
    template: Template | None = field(default=None, repr=False)
    origin: sympy.Expr | None = field(default=None, repr=False)

    @property
    def sse(self) -> float:
        """Weighted held-out sum of squared residuals."""
        return float(self.residuals @ self.residuals)

    @functools.cached_property
    def stated(self) -> float:
        """Nats to state its exact numbers (see :func:`_stated_values`), computed once."""
        return _stated_values(self.expr)


@dataclass(frozen=True)
class Assessment:
    """The judge's verdict over every formula it has scored.

    Attributes
    ----------
    front : list of Scored
        The Pareto front of held-out error against complexity, simplest first.
    chosen : Scored
        The formula chosen by the selection rule.
    within_noise : list of bool
        Per front point, whether it is not significantly worse than the most accurate.
    dl : list of float
        Per front point, the description length (nats).
    approximate : bool
        Whether the chosen formula is larger than a law (see ``JudgeConfig``).
    """

    front: list[Scored]
    chosen: Scored
    within_noise: list[bool]
    dl: list[float]
    approximate: bool


def _stated_values(expr: sympy.Expr) -> float:
    """Nats to state the exact numbers of a formula, as snapping prices them
    (``log |p| + log q`` each): ``3578200*GM/R**3`` is not simpler than ``3.5776e6*GM/R**3``
    when the data know the constant to three digits."""
    return sum(
        math.log(abs(a.p)) + math.log(a.q)
        for a in sympy.preorder_traversal(expr)
        if isinstance(a, sympy.Rational) and a != 0
    )


def _float_nodes(expr: sympy.Expr) -> int:
    return sum(isinstance(node, sympy.Float) for node in sympy.preorder_traversal(expr))


def fewer_constants(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` without redundant float constants, where taking each sum's first
    coefficient out of it lets SymPy merge it with a factor outside.

    ``0.9997*k/(0.9997*g - 0.9997)`` has three constants for one degree of freedom; as
    ``k/(g - 1.0)`` it has one, which snapping can then fix. A sum whose terms do not all
    carry a float coefficient is left as it is, and so is the formula when nothing merges.
    """

    def split(add: sympy.Expr):
        """``(c, add / c)`` with ``c`` the first term's float coefficient, or None."""
        pairs = [term.as_coeff_Mul() for term in add.args]
        if not all(isinstance(c, sympy.Float) for c, _ in pairs):
            return None
        # the largest coefficient comes out (a tiny one would make the others huge); its
        # term keeps an exact 1 in front of it
        k = max(range(len(pairs)), key=lambda i: abs(float(pairs[i][0])))
        lead = pairs[k][0]
        if lead == 0:
            return None
        rest = [c / lead * term for i, (c, term) in enumerate(pairs) if i != k]
        return lead, sympy.Add(pairs[k][1], *rest)

    def pulled(node: sympy.Expr) -> sympy.Expr:
        if not node.args:
            return node
        node = node.func(*(pulled(a) for a in node.args))
        if not isinstance(node, sympy.Mul):
            return node
        factors = []
        for arg in node.args:  # a product's sums give their coefficient to the product
            base, exp = arg.as_base_exp()
            parts = split(base) if isinstance(base, sympy.Add) and exp.is_Rational else None
            if parts is not None and not exp.is_Integer and parts[0] < 0:
                parts = None  # (a negative number to a fractional power is not real)
            factors += [arg] if parts is None else [parts[0] ** exp, parts[1] ** exp]
        return sympy.Mul(*factors)

    try:
        candidate = pulled(expr)
    except (TypeError, ValueError, AttributeError):
        return expr
    return candidate if _float_nodes(candidate) < _float_nodes(expr) else expr


def readable(expr: sympy.Expr, symbols, positive) -> sympy.Expr:
    """Tidy ``expr`` knowing which inputs are positive, in the original (plain) symbols."""
    pos = {s: sympy.Dummy(s.name, positive=True) for s, p in zip(symbols, positive) if p}
    if not pos:
        return expr
    back = {v: k for k, v in pos.items()}
    out = expr.xreplace(pos)
    if sympy.count_ops(out) <= _TIDY_MAX_OPS:
        options = [out, sympy.powsimp(out)]
        small = sympy.count_ops(options[-1]) <= 25
        if small and not out.atoms(sympy.Function) and not out.atoms(sympy.Float):
            options.append(sympy.cancel(options[-1]))  # (it makes every coefficient a float)
        out = min(options, key=complexity)  # the shortest; the first of equals
    return out.xreplace(back)


class Judge:
    """Scores formulas for one problem, keeps them, and chooses among them.

    Parameters
    ----------
    problem : Problem
        The whole data set in the original variables (``symbols``).
    split : Split
        Fitting and judging rows.
    noise : NoiseEstimate
        The noise level of the target (used when the problem has no error bars).
    config : JudgeConfig
    deadline : float
        ``time.perf_counter()`` value after which :meth:`submit` only scores a formula if
        none has been scored yet.
    """

    def __init__(
        self,
        problem: Problem,
        split: Split,
        noise: NoiseEstimate,
        config: JudgeConfig | None = None,
        deadline: float = math.inf,
    ) -> None:
        self.problem, self.split, self.noise = problem, split, noise
        self.config = config or JudgeConfig()
        self.deadline = deadline
        self.scale = float(np.std(problem.y)) or float(np.abs(problem.y).max()) or 1.0
        bars = problem.sigma
        if bars is None:
            bars = noise.error_bars(problem.X, problem.y)
        if bars is None:
            self.w = np.full(problem.n, 1.0 / self.scale)
            self.noise2 = max((noise.sigma / self.scale) ** 2, 1e-300)
        else:  # error bars: given, or estimated for noise proportional to the target
            self.w = 1.0 / bars
            self.noise2 = 1.0
        self.scored: list[Scored] = []
        self._seen: set[str] = set()

    # ----------------------------------------------------------------- scoring
    def submit(self, expr: sympy.Expr, source: str, model: Any = None) -> Scored | None:
        """Refit, snap, tidy and measure a formula; keep it. ``None`` if it is unusable.

        ``model`` is whatever the formula came from (kept with it: a network and its
        inputs, for instance).
        """
        if self.scored and time.perf_counter() > self.deadline:
            return None
        if not isinstance(expr, sympy.Expr) or has_infinity(expr):
            return None
        if complexity(expr) > self.config.max_nodes:
            return None
        key = sympy.srepr(expr)
        if key in self._seen:
            return None
        self._seen.add(key)
        p, tr = self.problem, self.split.train
        X, y, w = p.X[tr], p.y[tr], self.w[tr]
        template = Template(fewer_constants(expr), p.symbols)
        fit = template.fit(X, y, w)
        if fit is None:
            return None
        final = template.with_values(fit.theta)
        if self.config.snap and template.size:
            budget = min(self.deadline, time.perf_counter() + _SNAP_SECONDS)
            snapped = snap_by_test(
                template,
                fit,
                X,
                y,
                w,
                alpha=self.config.alpha,
                absolute=p.sigma is not None,
                deadline=budget,
            )
            final = snapped.expr
        final = readable(final, p.symbols, p.positive)
        if has_infinity(final):
            return None
        scored = self._measure(final, source, model)
        if scored is not None:
            scored.origin = expr
        return scored

    def _measure(self, expr: sympy.Expr, source: str, model: Any) -> Scored | None:
        key = sympy.srepr(expr)
        if any(sympy.srepr(s.expr) == key for s in self.scored[-50:]):
            return None
        template = Template(expr, self.problem.symbols)
        residuals, fit_rss = self._held_out(template)
        if residuals is None:
            return None
        valid = self.split.valid
        y = self.problem.y[valid]
        raw = residuals / self.w[valid]  # back to target units
        rmse = float(np.sqrt(np.mean(raw**2)))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        r2 = 1.0 - float(raw @ raw) / ss_tot if ss_tot > 0 else -math.inf
        scored = Scored(
            expr,
            complexity(expr),
            template.size,
            residuals,
            rmse,
            r2,
            fit_rss,
            source,
            model,
            template,
        )
        self.scored.append(scored)
        return scored

    def _held_out(self, template: Template) -> tuple[np.ndarray | None, float]:
        p, split = self.problem, self.split
        tr = split.train
        r_fit = template.residuals(p.X[tr], p.y[tr], self.w[tr])
        if not np.all(np.isfinite(r_fit)):
            return None, math.inf
        fit_rss = float(r_fit @ r_fit)
        if not split.cross_validated:
            v = split.valid
            r = template.residuals(p.X[v], p.y[v], self.w[v])
            return (r if np.all(np.isfinite(r)) else None), fit_rss
        out = np.empty(p.n)
        everything = np.arange(p.n)
        for fold in split.folds:
            rest = np.setdiff1d(everything, fold, assume_unique=True)
            if template.size >= len(rest):
                return None, fit_rss  # more constants than rows to fit them on
            fit = template.fit(p.X[rest], p.y[rest], self.w[rest], max_nfev=50)
            if fit is None:  # (cannot happen: every row is finite; be safe)
                return None, fit_rss
            out[fold] = template.residuals(p.X[fold], p.y[fold], self.w[fold], fit.theta)
        return (out if np.all(np.isfinite(out)) else None), fit_rss

    # ---------------------------------------------------------------- choosing
    def assess(self, selection: Selection = "best") -> Assessment:
        """The Pareto front and the chosen formula.

        Raises
        ------
        RuntimeError
            If no formula has been scored.
        """
        if not self.scored:
            raise RuntimeError("the judge has scored no formula yet")
        pool = self.scored
        big = self.config.max_law_nodes
        best = min(pool, key=lambda s: (s.sse, s.complexity))
        laws = [s for s in pool if s.complexity <= big]
        best_law = min(laws, key=lambda s: (s.sse, s.complexity)) if laws else None
        # a law sets the bar for laws: a large formula that fits better shows that no law
        # is within noise only if the law is significantly worse than it
        law_enough = best_law is not None and self._within(best_law, best)
        reference = best_law if law_enough else best
        within = {id(s): self._within(s, reference) for s in pool}
        m = len(reference.residuals)
        noise2 = max(min(self.noise2, reference.sse / m), _EPS**2)
        n_fit = len(self.split.train)
        dl = {
            id(s): description_length(
                s.sse, noise2, s.complexity, s.n_constants, n_fit, self.config.alpha
            )
            + s.stated
            for s in pool
        }
        ok = [s for s in pool if within[id(s)] and (s.complexity <= big) == law_enough]
        ok = ok or [reference]
        if selection == "accuracy":
            chosen = best
        elif selection == "simplest":
            chosen = min(ok, key=lambda s: (s.complexity, dl[id(s)]))
        else:
            chosen = min(ok, key=lambda s: (dl[id(s)], s.complexity))
        front = _front(pool)
        if chosen not in front:
            front = sorted([*front, chosen], key=lambda s: (s.complexity, s.sse))
        return Assessment(
            front=front,
            chosen=chosen,
            within_noise=[within[id(s)] for s in front],
            dl=[dl[id(s)] for s in front],
            approximate=chosen.complexity > big,
        )

    def _within(self, cand: Scored, best: Scored) -> bool:
        """Whether ``cand`` is not significantly worse than ``best`` on the held-out rows.

        The paired test on ``d_i = r_i(cand)^2 - r_i(best)^2``; with cross-validation the
        constants' folds saw a structure chosen on every row, so a formula with more
        constants is also allowed the optimism they can buy (Mallows' ``2 p sigma^2``).
        """
        if cand is best:
            return True
        eps2 = (_EPS * self.scale * self.w[self.split.valid]) ** 2  # rounding, in weighted units
        a = np.maximum(cand.residuals**2, eps2)
        b = np.maximum(best.residuals**2, eps2)
        d = a - b
        total = float(d.sum())
        spread = math.sqrt(len(d)) * float(d.std())
        allowance = 1e-12 * float(b.sum())
        if self.split.cross_validated:
            allowance += 2.0 * max(best.n_constants - cand.n_constants, 0) * self.noise2
        return total <= self.config.z * spread + allowance

    def residual_noise(self, selection: Selection = "best") -> NoiseEstimate | None:
        """A better noise model, read from the chosen law's residuals, if there is one.

        Measured data often have errors proportional to the value (a fixed number of
        significant digits). The chosen law's residuals on the fitting rows compare, by
        likelihood, noise of one size with noise proportional to the law's value; when the
        other model than the judge's is likelier by 5 nats (about 3.2 standard
        deviations), it is returned (to judge again with it); else ``None``. Given error
        bars, a law that changes sign and exact data keep the judge's model.
        """
        if not self.scored or self.problem.sigma is not None or self.noise.at_floor:
            return None
        chosen = self.assess(selection).chosen
        p, tr = self.problem, self.split.train
        pred = chosen.template.predict(p.X)
        if not np.all(np.isfinite(pred)) or not (np.all(pred > 0) or np.all(pred < 0)):
            return None
        e, f = p.y[tr] - pred[tr], np.abs(pred[tr])
        if float(np.sqrt(np.mean(e**2))) < 1e-8 * self.scale:
            return None  # exact to rounding: there is no noise to model
        n = len(e)
        add2, rel2 = float(np.mean(e**2)), float(np.mean((e / f) ** 2))
        ll_additive = -0.5 * n * math.log(add2)
        ll_relative = -0.5 * n * math.log(rel2) - float(np.log(f).sum())
        method = "law residuals"
        if self.noise.proportional is None and ll_relative > ll_additive + 5.0:
            rel = math.sqrt(rel2)
            typical = rel * float(np.sqrt(np.mean(p.y**2)))
            law = chosen.template

            def magnitude(Xq: np.ndarray) -> np.ndarray:
                return np.abs(law.predict(Xq))

            return NoiseEstimate(typical, typical / self.scale, method, False, rel, magnitude)
        if self.noise.proportional is not None and ll_additive > ll_relative + 5.0:
            return NoiseEstimate(math.sqrt(add2), math.sqrt(add2) / self.scale, method)
        return None

    def exact(self, selection: Selection = "best") -> bool:
        """Whether the chosen law fits the held-out rows to rounding (noise-free data)."""
        if not self.scored:
            return False
        chosen = self.assess(selection).chosen
        raw = chosen.residuals / self.w[self.split.valid]
        return bool(np.sqrt(np.mean(raw**2)) <= 1e3 * _EPS * self.scale)

    def satisfied(self, selection: Selection = "best") -> bool:
        """Whether the chosen formula is a law whose held-out error is at the noise floor."""
        if not self.scored:
            return False
        a = self.assess(selection)
        if a.approximate:
            return False
        m = len(a.chosen.residuals)
        reduced = a.chosen.sse / (m * self.noise2)
        return reduced <= 1.0 + 3.0 * math.sqrt(2.0 / m)


def _front(pool: list[Scored]) -> list[Scored]:
    front: list[Scored] = []
    for s in sorted(pool, key=lambda s: (s.complexity, s.sse)):
        if not front or s.sse < front[-1].sse * (1 - 1e-12):
            front.append(s)
    return front
