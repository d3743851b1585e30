"""B-spline bases on per-input knot vectors, and least-squares coefficient fits.

A layer with ``n_in`` inputs, ``G`` grid intervals and spline order ``k`` keeps one knot
vector of ``G + 2k + 1`` knots per input: ``k`` extra knots on each side of the ``G + 1``
grid points. That gives ``G + k`` basis functions per input, which form a partition of
unity on the inner interval ``[knots[k], knots[G + k]]``.

Two evaluators share that layout:

* :func:`uniform_basis` is closed form (truncated powers) for equally spaced knots: a
  fixed, small number of tensor operations whatever ``k`` and ``G`` are.
* :func:`bspline_basis` is the Cox–de Boor recursion, valid for any non-decreasing knots
  (the data-adaptive grids).

Both expect inputs already clamped to the inner interval; the layer extends the spline
linearly outside it.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch
from torch import Tensor

__all__ = [
    "adaptive_grid",
    "basis",
    "basis_derivative",
    "bspline_basis",
    "fit_coefficients",
    "uniform_basis",
    "uniform_grid",
]


def uniform_grid(lo: Tensor, hi: Tensor, n_intervals: int, k: int) -> Tensor:
    """Equally spaced knots covering ``[lo, hi]`` per input.

    Parameters
    ----------
    lo, hi : Tensor of shape (n_in,)
        Inner interval of each input; ``hi > lo`` is enforced by widening degenerate ones.
    n_intervals : int
        Number of grid intervals ``G``.
    k : int
        Spline order (degree).

    Returns
    -------
    Tensor of shape (n_in, G + 2k + 1)
    """
    lo, hi = _widen(lo, hi)
    h = (hi - lo) / n_intervals
    steps = torch.arange(-k, n_intervals + k + 1, dtype=lo.dtype, device=lo.device)
    return lo[:, None] + h[:, None] * steps


def adaptive_grid(x: Tensor, n_intervals: int, k: int, eps: float) -> Tensor:
    """Knots that mix sample quantiles with a uniform grid over the sample range.

    ``eps = 1`` gives the uniform grid, ``eps = 0`` puts the grid points at the sample
    quantiles. The outer ``k`` knots on each side keep the spacing of the end intervals.

    Parameters
    ----------
    x : Tensor of shape (n, n_in)
        Samples of the layer inputs.
    n_intervals, k : int
        Grid intervals and spline order.
    eps : float
        Weight of the uniform grid, in [0, 1].
    """
    lo, hi = _widen(x.min(0).values, x.max(0).values)
    if eps >= 1.0:
        return uniform_grid(lo, hi, n_intervals, k)
    q = torch.linspace(0, 1, n_intervals + 1, dtype=x.dtype, device=x.device)
    quant = torch.quantile(x, q, dim=0).T
    unif = lo[:, None] + (hi - lo)[:, None] * q
    inner = eps * unif + (1 - eps) * quant
    inner = torch.cummax(inner, dim=1).values  # quantiles of tied data may not increase
    h_left = (inner[:, 1] - inner[:, 0]).clamp_min(1e-8 * (hi - lo))
    h_right = (inner[:, -1] - inner[:, -2]).clamp_min(1e-8 * (hi - lo))
    ext = torch.arange(1, k + 1, dtype=x.dtype, device=x.device)
    left = inner[:, :1] - h_left[:, None] * ext.flip(0)
    right = inner[:, -1:] + h_right[:, None] * ext
    return torch.cat([left, inner, right], dim=1)


def _widen(lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Give a zero-width interval a small positive width."""
    width = hi - lo
    pad = torch.where(width > 0, torch.zeros_like(width), 0.5 * (lo.abs() + 1.0) * 1e-3)
    return lo - pad, hi + pad


def uniform_basis(t: Tensor, n_basis: int, k: int) -> Tensor:
    """Closed-form B-spline basis on a uniform grid.

    Parameters
    ----------
    t : Tensor of shape (..., n_in)
        Position on the grid in units of the knot spacing, measured from the first inner
        knot: ``t = (x - lo) / h``, in ``[0, G]``.
    n_basis : int
        ``G + k``.
    k : int
        Spline order.

    Returns
    -------
    Tensor of shape (..., n_in, n_basis)

    Notes
    -----
    On grid interval ``j`` only the basis functions ``j, ..., j + k`` are non-zero, and
    each is a fixed polynomial of the position ``u = t - j`` inside the interval. So the
    ``k + 1`` values are one small matrix product of ``[1, u, ..., u^k]``, scattered into
    the dense basis: the work is ``O(k^2)`` per input, whatever the grid size.
    """
    n_int = n_basis - k
    j = t.detach().floor().clamp(0, n_int - 1)
    u = (t - j).unsqueeze(-1)
    rows = _piece_matrix(k, t.dtype, t.device)
    local = rows[k].expand(*t.shape, k + 1)  # Horner: values of the k + 1 live functions
    for p in range(k - 1, -1, -1):
        local = torch.addcmul(rows[p], local, u)
    index = j.long().unsqueeze(-1) + _arange(k + 1, t.device)
    return t.new_zeros(*t.shape, n_basis).scatter(-1, index, local)


@functools.lru_cache(maxsize=64)
def _arange(n: int, device: torch.device) -> Tensor:
    return torch.arange(n, device=device)


@functools.lru_cache(maxsize=32)
def _piece_fractions(k: int) -> tuple[tuple[Fraction, ...], ...]:
    """Coefficients ``P[p][r]`` of ``u^p`` in basis ``j + r`` on interval ``j`` (exact)."""
    # basis j + r at local position u is the cardinal B-spline N_k(u + k - r), i.e. its
    # polynomial piece m = k - r: N_k(u + m) = sum_{i<=m} (-1)^i C(k+1, i) (u + m - i)^k / k!
    rows = [[Fraction(0)] * (k + 1) for _ in range(k + 1)]
    for r in range(k + 1):
        m = k - r
        for i in range(m + 1):
            w = Fraction((-1) ** i * math.comb(k + 1, i), math.factorial(k))
            shift = m - i
            for p in range(k + 1):  # (u + shift)^k = sum_p C(k, p) u^p shift^(k-p)
                rows[p][r] += w * math.comb(k, p) * shift ** (k - p)
    return tuple(tuple(row) for row in rows)


@functools.lru_cache(maxsize=64)
def _piece_matrix(k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    rows = _piece_fractions(k)
    return torch.tensor([[float(v) for v in row] for row in rows], dtype=dtype, device=device)


def bspline_basis(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """Cox–de Boor B-spline basis for arbitrary non-decreasing knots.

    Parameters
    ----------
    x : Tensor of shape (n, n_in)
        Points inside the inner interval of each input (the last inner knot included).
    knots : Tensor of shape (n_in, G + 2k + 1)
    k : int
        Spline order.

    Returns
    -------
    Tensor of shape (n, n_in, G + k)
    """
    return _cox_de_boor(x, knots, k, k)


def _cox_de_boor(x: Tensor, knots: Tensor, order: int, k: int) -> Tensor:
    """Basis of order ``order`` on knots laid out for order ``k`` (``order <= k``).

    The inner interval is the one of the order-``k`` layout, and its last interval is
    closed so that the right end of the grid is covered.
    """
    n_inner = knots.shape[1] - 2 * k - 1
    xe = x.unsqueeze(-1)
    b = ((xe >= knots[:, :-1]) & (xe < knots[:, 1:])).to(x.dtype)
    last = k + n_inner - 1
    at_end = (x == knots[:, k + n_inner]).unsqueeze(-1)
    b = torch.where(at_end, (torch.arange(b.shape[-1], device=x.device) == last).to(x.dtype), b)
    for p in range(1, order + 1):
        t0, t1 = knots[:, : -(p + 1)], knots[:, p:-1]
        u0, u1 = knots[:, 1:-p], knots[:, p + 1 :]
        b = _safe_div(xe - t0, t1 - t0) * b[..., :-1] + _safe_div(u1 - xe, u1 - u0) * b[..., 1:]
    return b


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with 0 where two knots coincide."""
    ok = den != 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), 0.0)


def basis(x: Tensor, knots: Tensor, k: int, uniform: bool) -> Tensor:
    """Evaluate the basis on clamped inputs, picking the closed form when possible."""
    if not uniform:
        return bspline_basis(x, knots, k)
    lo = knots[:, k]
    h = knots[:, 1] - knots[:, 0]
    return uniform_basis((x - lo) / h, knots.shape[1] - k - 1, k)


def basis_derivative(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """Derivative of every basis function with respect to ``x``.

    Uses ``B'_{k,j} = k B_{k-1,j} / (t_{j+k} - t_j) - k B_{k-1,j+1} / (t_{j+k+1} - t_{j+1})``
    with the order ``k - 1`` basis on the same knots.

    Returns
    -------
    Tensor of shape (n, n_in, G + k)
    """
    if k == 0:
        return torch.zeros(*x.shape, knots.shape[1] - 1, dtype=x.dtype, device=x.device)
    lower = _cox_de_boor(x, knots, k - 1, k)
    t = knots
    a = _safe_div(torch.full_like(t[:, k:-1], float(k)), t[:, k:-1] - t[:, : -k - 1])
    c = _safe_div(torch.full_like(t[:, k + 1 :], float(k)), t[:, k + 1 :] - t[:, 1:-k])
    return a * lower[..., :-1] - c * lower[..., 1:]


def fit_coefficients(basis_values: Tensor, targets: Tensor, ridge: float | None = None) -> Tensor:
    """Least-squares spline coefficients for every (input, output) edge at once.

    Solves ``min_c ||B_i c_{o,i} - y_{o,i}||^2 + ridge * scale * ||c_{o,i}||^2`` for all
    edges with one batched Cholesky factorisation per input. A failed factorisation falls
    back to the pseudo-inverse, so the call never raises on ill-conditioned data.

    Parameters
    ----------
    basis_values : Tensor of shape (n, n_in, n_basis)
    targets : Tensor of shape (n, n_out, n_in)

    Returns
    -------
    Tensor of shape (n_out, n_in, n_basis)
    """
    if ridge is None:  # just enough to keep the factorisation positive definite
        ridge = 100 * torch.finfo(basis_values.dtype).eps
    a = basis_values.transpose(0, 1)  # (in, n, K)
    y = targets.permute(2, 0, 1)  # (in, n, out)
    gram = a.transpose(1, 2) @ a  # (in, K, K)
    rhs = a.transpose(1, 2) @ y  # (in, K, out)
    scale = gram.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-30)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    gram = gram + (ridge * scale)[:, None, None] * eye
    chol, info = torch.linalg.cholesky_ex(gram)
    if bool((info == 0).all()):
        coef = torch.cholesky_solve(rhs, chol)
    else:
        coef = torch.linalg.pinv(gram) @ rhs
    coef = torch.nan_to_num(coef, nan=0.0, posinf=0.0, neginf=0.0)
    return coef.permute(2, 0, 1)
