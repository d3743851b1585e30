"""The cheapest laws: a constant, and straight lines in the inputs.

Always run first: it takes milliseconds, so a search cut short still returns a formula,
and in the log view a straight line is a product of powers (``log y = a + sum b_j log
x_j`` is ``y = e^a prod x_j^b_j``), whose exponents the judge then snaps together. A
line in every single input is proposed too, and the line in all of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import sympy

from ..problem import Problem
from .base import Context, Proposal, Strategy

__all__ = ["Linear"]


class Linear(Strategy):
    """A constant, ``a + b x_j`` for each input, and ``a + sum_j b_j x_j``."""

    name = "linear"
    cost = 0.1
    min_seconds = 0.5

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        w = problem.weights
        yield Proposal(sympy.Float(float(np.average(problem.y, weights=w**2))), "constant")
        if problem.d == 0:
            return
        columns = [[j] for j in range(problem.d)] if problem.d > 1 else []
        columns.append(list(range(problem.d)))
        for cols in columns:
            if len(cols) + 1 >= problem.n:
                continue
            A = np.column_stack([np.ones(problem.n), problem.X[:, cols]])
            coef, *_ = np.linalg.lstsq(A * w[:, None], problem.y * w, rcond=None)
            if not np.all(np.isfinite(coef)):
                continue
            expr = sympy.Float(float(coef[0])) + sum(
                sympy.Float(float(c)) * problem.symbols[j] for c, j in zip(coef[1:], cols)
            )
            yield Proposal(expr, self.name)
