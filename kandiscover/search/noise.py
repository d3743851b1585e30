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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

__all__ = [
    "NOISE_FLOOR",
    "GaussianProcess",
    "NoiseEstimate",
    "Surrogates",
    "estimate_noise",
    "fit_gp",
    "irrelevant_inputs",
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
    proportional : float or None
        For noise proportional to the target (``sigma_i = proportional * |y_i|``, found
        likelier than noise of one size), the proportionality; else ``None``.
    magnitude : callable, optional
        ``X -> |y|`` estimated smoothly (a process fitted to ``log|y|``, or a law), for
        proportional noise.
    """

    sigma: float
    relative: float
    method: str
    at_floor: bool = False
    proportional: float | None = None
    magnitude: Callable[[np.ndarray], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    def error_bars(self, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """Per-row noise for proportional noise (``None`` for additive noise).

        The noise is proportional to the law's magnitude, estimated smoothly
        (``magnitude(X)``: a weight taken from the observed ``|y|`` would favour the rows
        noise pushed towards zero, and bias every constant), else from ``|y|``.
        """
        if self.proportional is None:
            return None
        size = np.abs(y) if self.magnitude is None else self.magnitude(X)
        floor = 1e-3 * float(np.median(np.abs(y))) or 1e-300
        return self.proportional * np.maximum(size, floor)


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


def _input_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which columns to take in logarithm, and the means and spreads that standardise
    them: a positive input that spans more than a decade and a half is taken in logarithm
    (a stationary process cannot follow a law over several decades of its input, such as
    Kepler's ``a^1.5`` from the Moon to Pluto)."""
    logged = np.all(X > 0, axis=0) & (X.max(axis=0) > 30 * X.min(axis=0))
    Z = np.where(logged, np.log(np.where(logged, X, 1.0)), X)
    sx = Z.std(axis=0)
    sx[sx == 0] = 1.0
    return logged, Z.mean(axis=0), sx


def _scaled(X: np.ndarray, scaling: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    logged, mean, sx = scaling
    with np.errstate(divide="ignore", invalid="ignore"):
        Z = np.where(logged, np.log(np.where(logged, np.abs(X), 1.0)), X)
    return (Z - mean) / sx


def _standardise(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (see :func:`_input_scaling`) and target to zero mean and unit variance."""
    X = np.asarray(X, dtype=float)
    sy = float(y.std()) or 1.0
    return _scaled(X, _input_scaling(X)), (y - y.mean()) / sy


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

    def loo(self, theta: np.ndarray) -> float:
        """Leave-one-out predictive log-likelihood (closed form), ``-inf`` if singular."""
        d = self.sq.shape[0]
        K = math.exp(2 * theta[d]) * np.exp(
            -0.5 * np.tensordot(np.exp(-2 * theta[:d]), self.sq, axes=1)
        )
        K[np.diag_indices_from(K)] += math.exp(2 * theta[d + 1]) + _JITTER
        try:
            factor = cho_factor(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return -math.inf
        inv = cho_solve(factor, np.eye(len(self.y)), check_finite=False)
        alpha = inv @ self.y
        var = 1.0 / np.diag(inv)
        return float(np.sum(-0.5 * np.log(var) - 0.5 * alpha**2 * var))


def fit_gp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    max_rows: int = 256,
    max_iter: int = 150,
    time_limit: float | None = None,
    start: GaussianProcess | None = None,
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
    start : GaussianProcess, optional
        Hyperparameters to start from (one start only).

    Notes
    -----
    Two starts (much and little noise) are each optimised for the marginal likelihood;
    the one that predicts left-out rows best (leave-one-out likelihood) is kept. With few
    rows and inputs that do not matter, the likelihood can prefer a process that
    explains the noise as variation along those inputs; it predicts left-out rows badly.

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

    if start is not None:
        starts = [np.log(np.r_[start.lengthscales, start.signal, start.noise])]
    else:
        ell0 = 0.5 * math.log(max(d, 1))  # unit correlation over a typical distance
        starts = [np.r_[np.full(d, ell0), 0.0, math.log(noise0)] for noise0 in (0.1, 0.003)]
    best = None
    for theta0 in starts:
        if best is not None and time.perf_counter() > stop:
            break
        sol = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter},
            callback=check_time,
        )
        score = objective.loo(sol.x)
        if best is None or score > best[0]:
            best = (score, sol)
    sol = best[1]
    theta = sol.x
    return GaussianProcess(
        lengthscales=np.exp(theta[:d]),
        signal=math.exp(theta[d]),
        noise=math.exp(theta[d + 1]),
        nll=float(sol.fun),
        rows=len(rows),
    )


@dataclass(frozen=True)
class Surrogates:
    """The processes fitted while estimating the noise, for later tests of the inputs.

    Attributes
    ----------
    rows : ndarray of int
        The rows they were fitted on.
    fits : tuple of (ndarray, GaussianProcess)
        Each target they explain (``y``, and ``log|y|`` for a target of one sign spanning
        a range) on those rows, with its process.
    """

    rows: np.ndarray
    fits: tuple[tuple[np.ndarray, GaussianProcess], ...]


def estimate_noise(
    X: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray | None = None,
    *,
    seed: int = 0,
    max_rows: int = 256,
    time_limit: float | None = 2.0,
) -> tuple[NoiseEstimate, Surrogates | None]:
    """The noise level of ``y``: the error bars if given, else a Gaussian-process estimate.

    For a target of one sign spanning more than a factor of three, a process is fitted
    to ``log|y|`` as well: noise proportional to ``|y|`` (a measurement quoted to a fixed
    number of digits) is additive noise of ``log|y|``, and the likelier of the two (by
    leave-one-out predictive likelihood in ``y``, the logarithm's Jacobian included, with
    a margin of 2 nats for the simpler additive model) gives the noise model.

    Returns
    -------
    NoiseEstimate, Surrogates or None
        The estimate, and the processes fitted (``None`` when none was).
    """
    std = float(np.std(y)) or 1.0
    if sigma is not None:
        s = float(np.sqrt(np.mean(sigma**2)))
        return NoiseEstimate(s, s / std, "error bars"), None
    if len(y) < 5:
        return NoiseEstimate(std, 1.0, "none"), None
    each = None if time_limit is None else time_limit / 2
    rows = np.random.default_rng(seed).permutation(len(y))[:max_rows]
    Xr, yr = X[rows], y[rows]
    gp = fit_gp(Xr, yr, seed=seed, max_rows=max_rows, time_limit=each)
    at_floor = gp.noise <= NOISE_FLOOR * 1.0001
    additive = NoiseEstimate(gp.noise * std, gp.noise, _GP, at_floor)
    sign = 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)
    span = float(np.abs(y).max() / max(np.abs(y).min(), 1e-300)) if sign else 0.0
    if span < 3.0:  # relative and additive noise look alike on a narrow range
        return additive, Surrogates(rows, ((yr, gp),))
    logy = np.log(sign * yr)
    log_gp = fit_gp(Xr, logy, seed=seed, max_rows=max_rows, time_limit=each)
    surrogates = Surrogates(rows, ((yr, gp), (logy, log_gp)))
    if at_floor:
        return additive, surrogates
    ll_add = _loo(Xr, yr, gp) - len(yr) * math.log(float(np.std(yr)) or 1.0)
    ll_rel = _loo(Xr, logy, log_gp) - len(yr) * math.log(float(np.std(logy)) or 1.0)
    ll_rel -= float(logy.sum()) if sign > 0 else float(np.log(-yr).sum())
    if ll_rel <= ll_add + 2.0:
        return additive, surrogates
    rel = log_gp.noise * (float(np.std(logy)) or 1.0)
    typical = rel * float(np.sqrt(np.mean(y**2)))
    floor = log_gp.noise <= NOISE_FLOOR * 1.0001

    def magnitude(Xq: np.ndarray) -> np.ndarray:
        return np.exp(_posterior_mean(Xr, logy, log_gp, Xq))

    return NoiseEstimate(typical, typical / std, _GP, floor, rel, magnitude), surrogates


_GP = "gaussian process"


def _posterior_mean(X: np.ndarray, y: np.ndarray, gp: GaussianProcess, Xq: np.ndarray):
    """The process's mean at new points ``Xq`` (fitted on ``X, y``), in ``y``'s units."""
    scaling = _input_scaling(np.asarray(X, dtype=float))
    A, B = _scaled(X, scaling), _scaled(np.asarray(Xq, dtype=float), scaling)
    ys = (y - y.mean()) / (float(y.std()) or 1.0)

    def kernel(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
        d2 = (((P[:, None, :] - Q[None, :, :]) / gp.lengthscales) ** 2).sum(-1)
        return gp.signal**2 * np.exp(-0.5 * d2)

    K = kernel(A, A)
    K[np.diag_indices_from(K)] += gp.noise**2 + _JITTER
    alpha = cho_solve(cho_factor(K, lower=True, check_finite=False), ys, check_finite=False)
    out = np.empty(len(B))
    for start in range(0, len(B), 2048):  # the cross-kernel in blocks: bounded memory
        out[start : start + 2048] = kernel(B[start : start + 2048], A) @ alpha
    return y.mean() + (float(y.std()) or 1.0) * out


def _loo(X: np.ndarray, y: np.ndarray, gp: GaussianProcess) -> float:
    """Leave-one-out predictive log-likelihood of a fitted process (standardised units)."""
    Xs, ys = _standardise(X, y)
    theta = np.log(np.r_[gp.lengthscales, gp.signal, gp.noise])
    return _Objective(Xs, ys).loo(theta)


def irrelevant_inputs(
    X: np.ndarray,
    surrogates: Surrogates,
    *,
    seed: int = 0,
    threshold: float = 3.0,
    time_limit: float | None = 2.0,
) -> tuple[list[int], float]:
    """Inputs that carry no information about the target, by a likelihood-ratio test.

    For each process of ``surrogates`` (fitted to ``y``, and to ``log|y|`` when it
    was), the candidates are the inputs the process all but ignores (length scale above
    5, then above 20 standard deviations of the input: the target hardly varies along
    them); the process is refit without them, and they are irrelevant to it when the
    log-likelihood drops by less than ``threshold`` nats (about a 99 % test for one input,
    stricter for several). An input is set aside only when it is irrelevant to every
    process: a target that varies along an input, even weakly but beyond the noise, in
    ``y`` or in ``log|y|``, keeps it.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The rows the noise was estimated on (``surrogates.rows`` index them).

    Returns
    -------
    indices, drop : list of int, float
        The irrelevant inputs (empty when the test keeps them all) and the largest fall
        of the log-likelihood when they are left out.
    """
    d = X.shape[1]
    Xr = X[surrogates.rows]
    common: set[int] | None = None
    worst = 0.0
    each = None if time_limit is None else time_limit / len(surrogates.fits)
    for t, gp in surrogates.fits:
        found, drop = _irrelevant_to(Xr, t, gp, seed, threshold, each)
        common = set(found) if common is None else common & set(found)
        worst = max(worst, drop)
        if not common:
            return [], worst
    indices = sorted(common or ())
    return (indices, worst) if len(indices) < d else ([], worst)


def _irrelevant_to(X, y, gp: GaussianProcess, seed, threshold, time_limit):
    d = X.shape[1]
    drop, tried = 0.0, set()
    for cutoff in (5.0, 20.0):  # the widest candidate set first, then the clearest ones
        candidates = sorted(j for j in range(d) if gp.lengthscales[j] > cutoff)
        if not candidates or len(candidates) == d or tuple(candidates) in tried:
            continue
        tried.add(tuple(candidates))
        keep = [j for j in range(d) if j not in candidates]
        start = GaussianProcess(gp.lengthscales[keep], gp.signal, gp.noise, gp.nll, gp.rows)
        reduced = fit_gp(X[:, keep], y, seed=seed, time_limit=time_limit, start=start)
        drop = reduced.nll - gp.nll
        if drop < threshold:
            return candidates, drop
    return [], drop
