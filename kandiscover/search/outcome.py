"""The outcome of a search: the chosen law refit on every row, with its constants'
uncertainties, the Pareto front with the judge's scores, and extreme scales undone.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import sympy

from ..export import latex
from .judge import Assessment, Judge, Scored
from .result import Constant, Network, ParetoPoint, Result
from .strategies import Tree
from .template import Template

__all__ = ["result_of", "tame", "untamed"]


_EXTREME = 100  # decades: beyond 1e+-100 a value's square leaves float64's range


def tame(data, symbols):
    """Columns and target beyond ``1e+-100`` divided by an exact power of ten.

    Every search step, the judge included, evaluates formulas in float64; a square of
    1e300 would overflow. The formula found for the tamed data is mapped back exactly
    (:func:`untamed`). Returns the data and the powers (``None`` when nothing is extreme).
    """
    from .views import _power_of_ten

    px = [
        _power_of_ten(data.X[:, j], 10.0**-_EXTREME, 10.0**_EXTREME) for j in range(data.X.shape[1])
    ]
    py = _power_of_ten(data.y, 10.0**-_EXTREME, 10.0**_EXTREME)
    if not any(px) and not py:
        return data, None
    X = data.X / np.array([10.0**p for p in px])
    y = data.y / 10.0**py
    sigma = None if data.sigma is None else data.sigma / 10.0**py
    ten = sympy.Float(10)  # prints 3.0e-600*m**2, not a 600-digit integer
    subs = {s: s / ten**p for s, p in zip(symbols, px) if p}
    return dataclasses.replace(data, X=X, y=y, sigma=sigma), (subs, ten**py, 10.0**py)


def untamed(result: Result, extreme) -> Result:
    """A result found on tamed data, in the original units (constants without errors)."""
    subs, factor, number = extreme

    def back(expr: sympy.Expr) -> sympy.Expr:
        return factor * expr.xreplace(subs)

    formula = back(result.formula)
    points = [
        dataclasses.replace(p, formula=back(p.formula), rmse=p.rmse * number) for p in result.pareto
    ]
    return dataclasses.replace(
        result,
        formula=formula,
        latex=latex(formula),
        rmse_test=result.rmse_test * number,
        pareto=points,
        constants=(),
    )


def result_of(referee: Judge, selection: str, data, tried, stopped, t0) -> Result:
    if not referee.scored:
        raise RuntimeError(
            "no formula was found: every task failed or the time limit was too short "
            f"(tasks tried: {tried or 'none'}); raise time_limit"
        )
    a = referee.assess(selection)
    formula, constants, chi2 = _final(referee, a.chosen)
    points = _points(a, referee)
    at = a.front.index(a.chosen)
    points[at] = dataclasses.replace(points[at], formula=formula)
    return Result(
        formula=formula,
        latex=latex(formula),
        r2_test=a.chosen.r2,
        rmse_test=a.chosen.rmse,
        complexity=a.chosen.complexity,
        pareto=points,
        seconds=time.perf_counter() - t0,
        model=a.chosen.model.model if isinstance(a.chosen.model, Network) else None,
        network=a.chosen.model if isinstance(a.chosen.model, Network) else None,
        decomposition=a.chosen.model if isinstance(a.chosen.model, Tree) else None,
        names=data.names,
        view=a.chosen.source,
        attempts=tried,
        noise=referee.noise,
        constants=constants,
        approximate=a.approximate,
        at_noise_floor=referee.satisfied(selection),
        stopped=stopped,
        variables=data.variables,
        reduced_chi2=chi2,
        model_selection=selection,
    )


def _final(referee: Judge, chosen: Scored):
    """The chosen formula refit on every row, with standard errors of its constants."""
    p = referee.problem
    template = chosen.template or Template(chosen.expr, p.symbols)
    if not template.size:
        return chosen.expr, (), _chi2(referee, chosen.expr, template, None)
    fit = template.fit(p.X, p.y, referee.w)
    if fit is None:
        return chosen.expr, (), None
    stderr = fit.stderr("absolute" if p.sigma is not None else "scaled")
    expr = template.with_values(fit.theta)
    pairs = sorted(zip(fit.theta, stderr), key=lambda t: (abs(t[0]), t[0]))
    constants = tuple(Constant(float(v), float(e)) for v, e in pairs)
    return expr, constants, _chi2(referee, expr, template, fit)


def _chi2(referee: Judge, expr, template: Template, fit) -> float | None:
    p = referee.problem
    if p.sigma is None:
        return None
    theta = template.theta0 if fit is None else fit.theta
    r = template.residuals(p.X, p.y, referee.w, theta)
    dof = max(p.n - template.size, 1)
    return float(r @ r) / dof


def _points(a: Assessment, referee: Judge) -> list[ParetoPoint]:
    out = []
    previous = None
    for s, within, dl in zip(a.front, a.within_noise, a.dl):
        score = 0.0
        if previous is not None and s.complexity > previous.complexity and s.rmse > 0:
            ratio = max(s.rmse, 1e-300) / max(previous.rmse, 1e-300)
            score = -math.log(ratio) / (s.complexity - previous.complexity)
        out.append(
            ParetoPoint(
                formula=s.expr,
                complexity=s.complexity,
                rmse=s.rmse,
                r2=s.r2,
                loss=s.sse / len(s.residuals),
                score=score,
                dl=dl,
                within_noise=within,
                n_constants=s.n_constants,
                source=s.source,
            )
        )
        previous = s
    return out
