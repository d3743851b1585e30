"""How noisy is the target? A Gaussian-process estimate of the noise level of the data.

The judge (:mod:`kandiscover.search.judge`) measures every formula's error in units of
the data's own noise. When the user gives error bars, those are the noise. Otherwise it
is estimated here, before any formula is known, by the marginal likelihood of a
Gaussian process: a smooth, flexible surrogate that explains the data as

    y = f(x) + e,    f ~ GP(0, s^2 exp(-|x - x'|^2_l / 2)),    e ~ N(0, sigma^2),

with one length scale per input (automatic relevance determination) on standardised
inputs and target. The maximum-likelihood ``sigma`` separates what varies smoothly with
the inputs (the law) from what does not (the noise); it is consistent for smooth laws,
and for noise-free data it falls to the floor ``NOISE_FLOOR`` (in units of ``std(y)``),
where the data are "as exact as a smooth surrogate can tell". The length scales say which
inputs matter: an input whose length scale runs to the upper bound carries no
information the surrogate can use (:func:`irrelevant_inputs` tests that by likelihood).

At most ``max_rows`` rows (a random subset) enter the estimate, so it costs about a
second on two cores at the default size.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

__all__ = [
    "NOISE_FLOOR",
    "GaussianProcess",
    "NoiseEstimate",
    "estimate_noise",
    "fit_gp",
]

#: The smallest noise the estimate reports, relative to ``std(y)``.
NOISE_FLOOR = 1e-5
_LENGTH_BOUNDS = (0.03, 300.0)  # in units of each input's standard deviation
_SIGNAL_BOUNDS = (1e-3, 1e3)  # in units of std(y)
_JITTER = 1e-10


@dataclass(frozen=True)
class NoiseEstimate:
    """The noise level of a target.

    Attributes
    ----------
    sigma : float
        Standard deviation of the noise, in the target's units (for error bars: their
        root mean square).
    relative : float
        ``sigma / std(y)``.
    method : str
        ``"error bars"`` (given), ``"gaussian process"`` (estimated) or ``"none"`` (too
        few rows or no time: then ``sigma`` is ``std(y)``, the most cautious value).
    at_floor : bool
        Whether the estimate hit :data:`NOISE_FLOOR` (noise-free as far as a smooth
        surrogate can tell).
    """

    sigma: float
    relative: float
    method: str
    at_floor: bool = False


@dataclass(frozen=True)
class GaussianProcess:
    """Fitted hyperparameters, in standardised units (inputs and target)."""

    lengthscales: np.ndarray
    signal: float
    noise: float
    nll: float
    rows: int

    @property
    def relevance(self) -> np.ndarray:
        """Per input, ``1 / lengthscale``: near ``1 / 300`` for an input that is ignored."""
        return 1.0 / self.lengthscales


def _standardise(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sx = X.std(axis=0)
    sx[sx == 0] = 1.0
    sy = float(y.std()) or 1.0
    return (X - X.mean(axis=0)) / sx, (y - y.mean()) / sy


class _Objective:
    """Negative log marginal likelihood and its gradient in the log-hyperparameters."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.y = y
        diff = X[:, None, :] - X[None, :, :]
        self.sq = np.moveaxis(diff**2, 2, 0)  # (d, m, m)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        d = self.sq.shape[0]
        ell2 = np.exp(2 * theta[:d])
        sf2, sn2 = math.exp(2 * theta[d]), math.exp(2 * theta[d + 1])
        K = sf2 * np.exp(-0.5 * np.tensordot(1.0 / ell2, self.sq, axes=1))
        m = len(self.y)
        Ky = K + (sn2 + _JITTER) * np.eye(m)
        try:
            factor = cho_factor(Ky, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve(factor, self.y, check_finite=False)
        nll = 0.5 * float(self.y @ alpha) + float(np.log(np.diag(factor[0])).sum())
        nll += 0.5 * m * math.log(2 * math.pi)
        W = cho_solve(factor, np.eye(m), check_finite=False) - np.outer(alpha, alpha)
        WK = W * K
        grad = np.empty_like(theta)
        grad[:d] = 0.5 * np.tensordot(self.sq, WK, axes=([1, 2], [0, 1])) / ell2
        grad[d] = float(WK.sum())
        grad[d + 1] = sn2 * float(np.trace(W))
        return nll, grad


def fit_gp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    max_rows: int = 256,
    max_iter: int = 150,
    time_limit: float | None = None,
) -> GaussianProcess:
    """Fit a Gaussian process with one length scale per input by maximum likelihood.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    seed : int
        Seed of the row subset.
    max_rows : int
        Rows used (a random subset of larger data).
    max_iter : int
        Iterations of L-BFGS-B per start.
    time_limit : float, optional
        Seconds; a second start is only tried while time is left.

    Returns
    -------
    GaussianProcess
        Hyperparameters in standardised units.
    """
    rows = np.random.default_rng(seed).permutation(len(y))[:max_rows]
    Xs, ys = _standardise(X[rows], y[rows])
    d = Xs.shape[1]
    objective = _Objective(Xs, ys)
    bounds = [tuple(np.log(_LENGTH_BOUNDS))] * d
    bounds += [tuple(np.log(_SIGNAL_BOUNDS)), (math.log(NOISE_FLOOR), math.log(2.0))]
    stop = math.inf if time_limit is None else time.perf_counter() + time_limit

    def check_time(intermediate_result: Any) -> None:
        if time.perf_counter() > stop:
            raise StopIteration

    best = None
    for noise0 in (0.1, 0.003):
        if best is not None and time.perf_counter() > stop:
            break
        theta0 = np.r_[np.zeros(d), 0.0, math.log(noise0)]
        sol = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter},
            callback=check_time,
        )
        if best is None or sol.fun < best.fun:
            best = sol
    theta = best.x
    return GaussianProcess(
        lengthscales=np.exp(theta[:d]),
        signal=math.exp(theta[d]),
        noise=math.exp(theta[d + 1]),
        nll=float(best.fun),
        rows=len(rows),
    )


def estimate_noise(
    X: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray | None = None,
    *,
    seed: int = 0,
    max_rows: int = 256,
    time_limit: float | None = 2.0,
) -> tuple[NoiseEstimate, GaussianProcess | None]:
    """The noise level of ``y``: the error bars if given, else a Gaussian-process estimate.

    Returns
    -------
    NoiseEstimate, GaussianProcess or None
        The estimate, and the fitted process (``None`` when none was fitted).
    """
    std = float(np.std(y)) or 1.0
    if sigma is not None:
        s = float(np.sqrt(np.mean(sigma**2)))
        return NoiseEstimate(s, s / std, "error bars"), None
    if len(y) < 5:
        return NoiseEstimate(std, 1.0, "none"), None
    gp = fit_gp(X, y, seed=seed, max_rows=max_rows, time_limit=time_limit)
    at_floor = gp.noise <= NOISE_FLOOR * 1.0001
    return NoiseEstimate(gp.noise * std, gp.noise, "gaussian process", at_floor), gp
