"""Model selection: one score that trades accuracy against complexity.

The score is a Bayesian-information-criterion / description-length form,

.. math::

    S = N \\log\\frac{\\max(\\mathrm{MSE}, \\epsilon\\,\\mathrm{Var}(y))}{\\mathrm{Var}(y)}
        + w \\, C \\log N,

lower is better. The first term is the code length of the residuals relative to a constant
model (the zero primitive scores exactly ``0`` there); the floor ``epsilon`` keeps exact fits
finite, so among exact fits the complexity ``C`` decides. The single knob ``w`` (``weight``)
scales the price of complexity: ``w = 1`` is BIC with complexity counted as parameters;
larger ``w`` prefers simpler primitives.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["DEFAULT_FLOOR", "selection_score"]

DEFAULT_FLOOR = 1e-12
"""Relative MSE floor: errors below ``DEFAULT_FLOOR * Var(y)`` count as exact."""


def selection_score(
    mse: Tensor,
    var: Tensor,
    n: int,
    complexity: Tensor | float,
    *,
    weight: float = 1.0,
    floor: float = DEFAULT_FLOOR,
) -> Tensor:
    """Accuracy-vs-complexity score (lower is better).

    Parameters
    ----------
    mse : Tensor
        Mean squared error of each candidate (``inf`` for invalid candidates).
    var : Tensor
        Variance of the target, broadcastable against ``mse``. A target with zero variance
        is measured against an absolute floor of ``1e-300``, so every candidate fits it
        exactly and complexity alone decides (the zero primitive wins).
    n : int
        Number of samples.
    complexity : Tensor or float
        Complexity of each candidate, broadcastable against ``mse``.
    weight : float
        Price of one unit of complexity in units of ``log(n)`` nats.
    floor : float
        Relative MSE floor (see :data:`DEFAULT_FLOOR`).

    Returns
    -------
    Tensor
        Scores, ``inf`` where ``mse`` is not finite.

    Raises
    ------
    ValueError
        If ``n < 1``, ``weight < 0`` or ``floor`` is not in ``(0, 1)``.
    """
    if n < 1:
        raise ValueError(f"selection_score needs n >= 1 samples; got n={n}")
    if not (weight >= 0 and math.isfinite(weight)):
        raise ValueError(f"weight must be a finite number >= 0; got {weight}")
    if not 0 < floor < 1:
        raise ValueError(f"floor must lie in (0, 1); got {floor}")
    var = torch.clamp(torch.as_tensor(var, dtype=mse.dtype, device=mse.device), min=1e-300)
    rel = torch.clamp(mse / var, min=floor)
    score = n * torch.log(rel) + weight * torch.as_tensor(complexity, dtype=mse.dtype) * math.log(
        max(n, 2)
    )
    return torch.where(torch.isfinite(mse), score, torch.full_like(score, math.inf))
