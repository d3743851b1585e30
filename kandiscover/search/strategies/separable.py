"""Multiplicatively separable laws: ``y = C * h_1(x_1) * ... * h_d(x_d)``.

A one-layer KAN trained in the log view computes ``log|y| = b + sum_i g_i(z_i)``, with
``z_i = log x_i`` for positive inputs. Exponentiating each edge gives one factor
``h_i(x_i) = exp(g_i(z_i))`` as a function of the *original* variable, and each factor
is snapped on its own. So ``sin(theta) * q / r**2`` comes out although ``log(sin)`` is
in no library: only ``sin`` is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import sympy
import torch

from ...nn.network import KAN
from ...symbolic.edgefit import fit_edges
from ...symbolic.library import Library
from ...symbolic.snap import edge_samples
from ..problem import Problem
from ..views import Log
from .base import Context, Proposal, Strategy
from .kan import SearchConfig, trained_network

__all__ = ["Separable", "product_formulas"]


class Separable(Strategy):
    """Products of one-variable factors, read from a one-layer KAN in the log view.

    Parameters
    ----------
    config : SearchConfig
        Training budget of the network (shared with the KAN attempts: the network is
        trained once).
    """

    name = "separable"
    cost = 1.0
    min_seconds = 2.0

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()

    def applies(self, problem: Problem) -> bool:
        return problem.d >= 2 and problem.n >= 10

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        bound = Log().bind(problem)
        if bound is None:
            return
        model, X, _, mu, sd, _, _ = trained_network(bound.problem, (), ctx.seed, self.config, ctx)
        kept = problem.rows(np.flatnonzero(np.sign(problem.y) == np.sign(np.median(problem.y))))
        sign = float(np.sign(np.median(problem.y)))  # the view's sign: the majority's
        for k, expr in enumerate(
            product_formulas(model, kept.positive, sign, mu, sd, problem.symbols, X, ctx.library)
        ):
            if k >= 1 and ctx.expired():
                return  # (the best product is proposed even when time is up)
            yield Proposal(expr, self.name)


@torch.no_grad()
def product_formulas(
    model: KAN,
    logged: Sequence[bool],
    sign: float,
    mu: float,
    sd: float,
    symbols: list[sympy.Symbol],
    X_view: np.ndarray,
    library: Library,
    top: int = 2,
) -> list[sympy.Expr]:
    """Candidate product formulas from a numeric one-layer KAN trained in a log view.

    Parameters
    ----------
    model : KAN
        Width ``[d, 1]``, still numeric (not snapped), trained on the standardised
        ``log|y|``: ``log|y| = mu + sd * model(z)``.
    logged : sequence of bool
        Per input, whether the network saw its logarithm.
    sign : float
        Sign of the target (the network saw ``log(sign * y)``).
    mu, sd : float
        Standardisation of the view's target.
    symbols : list of sympy.Symbol
        The original input variables.
    X_view : ndarray
        Training inputs in the view (they define each edge's range).
    library : Library
        Primitives for the factors.
    top : int
        The best formula, then one formula per runner-up factor (at most ``top - 1``
        runners-up per factor).

    Returns
    -------
    list of sympy.Expr
        Formulas in the original variables (constants not yet refit).
    """
    factors_ = _factors(model, logged, sign, mu, sd, X_view)
    if factors_ is None:
        return []
    live, xs, hs, const = factors_
    fits = fit_edges(torch.stack(xs), torch.stack(hs), library, top=max(top + 1, _SHORTLIST))
    factors = [
        [c.to_sympy(symbols[model.input_index[i]], library) for c in f.candidates]
        for i, f in zip(live, fits, strict=True)
    ]
    best = [f[0] for f in factors]
    out = [const * sympy.Mul(*best)]
    # the network's edges are approximations: a factor's best fit may be a near-line
    # (29 sqrt(94 - 0.12 u) - 284) where a line fits as well; so the product of the
    # simplest adequate fits of every factor is proposed too (the judge refits on the data)
    simplest = [c.to_sympy(symbols[model.input_index[i]], library) for i, c in
                zip(live, (_simplest_adequate(f) for f in fits), strict=True)]  # fmt: skip
    out.append(const * sympy.Mul(*simplest))
    for k, options in enumerate(factors):
        for alt in options[1:top]:
            out.append(const * sympy.Mul(*best[:k], alt, *best[k + 1 :]))
    return list(dict.fromkeys(out))


def _factors(model: KAN, logged, sign: float, mu: float, sd: float, X_view: np.ndarray):
    """The live inputs, each one's samples and factor values, and the constant in front."""
    if len(model.layers) != 1:
        return None
    layer = model.layers[0]
    z, values = edge_samples(model, X_view)[0]
    live = [i for i in range(layer.n_in) if layer.mask[0, i] > 0]
    if not live:
        return None
    xs, hs = [], []
    for i in live:
        col = model.input_index[i]
        u = torch.exp(z[:, i]) if logged[col] else z[:, i]
        g = sd * values[:, 0, i]
        xs.append(u)
        hs.append(torch.exp(g - g.mean()))  # a factor, scaled to be near 1
    const = sympy.Integer(int(sign)) * sympy.exp(sympy.Float(mu + sd * float(layer.bias[0])))
    const *= sympy.exp(sympy.Float(sum(float((sd * values[:, 0, i]).mean()) for i in live)))
    return live, xs, hs, const


_SHORTLIST = 6  # candidates fitted per factor
_ADEQUATE = 1e-4  # unexplained variance a network edge's own error can account for


def _simplest_adequate(fit):
    """The simplest candidate whose fit is about as good as the best's."""
    worst = 1.0 - (4.0 * (1.0 - fit.best.r2) + _ADEQUATE)
    adequate = [c for c in fit.candidates if c.r2 >= worst]
    return min(adequate, key=lambda c: (c.complexity, c.score))
