"""A fused forward/backward for the numeric part of a layer on a uniform grid.

Autograd would record about forty small operations per layer (weight assembly, basis,
extension, base function, contraction); for the small networks KANs are used with,
their fixed overhead dominates a training step. This function does the same
mathematics with a hand-written backward:

* the weights of :meth:`KANLayer.weights` are assembled inside, from the spline
  coefficients, the scales, the mask and the basis derivatives at the grid ends;
* the features of :meth:`KANLayer.features` are built feature-major and batch-last,
  shape ``(G + k + 3, n_in, batch)``, so that the forward pass is one matrix product
  and the backward pass two;
* when the inputs need a gradient, the derivative of every feature is built in the same
  pass (one scatter for both), so that the input gradient is a product and a sum.

Its backward is first order only. Code that differentiates twice through the inputs
(physics-informed losses) switches the layer to the plain autograd path (see
``KANLayer.fused``).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from . import bspline

__all__ = ["uniform_spline_linear"]


@functools.lru_cache(maxsize=64)
def _value_and_slope_matrix(k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Polynomials in ``u`` of the ``k + 1`` live basis functions, then of their
    derivatives in ``u``: row ``r`` holds the coefficients of ``1, u, ..., u^k``, shape
    (2k + 2, k + 1)."""
    rows = bspline._piece_matrix(k, dtype, device)  # (k + 1 powers, k + 1 functions)
    slopes = torch.zeros_like(rows)
    slopes[:-1] = rows[1:] * torch.arange(1, k + 1, dtype=dtype, device=device)[:, None]
    return torch.cat([rows, slopes], dim=1).T.contiguous()


def _local_basis(u: Tensor, k: int, with_slopes: bool) -> Tensor:
    """Values (and slopes in ``u``) of the live basis functions at ``u``.

    Returns
    -------
    Tensor of shape (1 or 2, k + 1, *u.shape)
    """
    coef = _value_and_slope_matrix(k, u.dtype, u.device)[: (2 if with_slopes else 1) * (k + 1)]
    powers = [u]
    for _ in range(k - 1):
        powers.append(powers[-1] * u)
    stacked = torch.stack(powers).view(k, -1)  # u, u^2, ..., u^k
    return torch.addmm(coef[:, :1], coef[:, 1:], stacked).view(-1, k + 1, *u.shape)


def _features(x: Tensor, ends: Tensor, k: int, n_basis: int, with_slopes: bool) -> Tensor:
    """Features of :meth:`KANLayer.features`, feature-major and batch-last.

    Returns
    -------
    Tensor of shape (1 or 2, G + k + 3, n_in, batch)
        ``[0]`` the features; ``[1]`` (with ``with_slopes``) their derivatives in ``x``.
    """
    xt = x.T.contiguous()  # (n_in, batch)
    ends = ends.unsqueeze(-1)
    dist = xt - ends[:2]  # distances to both grid ends
    n_int = n_basis - k
    t = (dist[0] * ends[2]).clamp_(0.0, float(n_int))
    j = t.floor().clamp_max_(n_int - 1)  # grid interval, the last one closed
    local = _local_basis(t - j, k, with_slopes)  # (S, k + 1, n_in, batch)
    index = j.long() + bspline._arange(k + 1, x.device).view(-1, 1, 1)
    out = x.new_zeros(local.shape[0], n_basis + 3, *xt.shape)
    ext, base = out[0, n_basis:].split(2)
    torch.clamp(dist, *_extension_bounds(x.dtype, x.device), out=ext)  # below, above
    sig = torch.sigmoid(xt)
    torch.mul(xt, sig, out=base[0])  # SiLU
    if with_slopes:
        d_ext, d_base = out[1, n_basis:].split(2)
        torch.ne(ext, 0.0, out=d_ext)  # 1 outside the grid, on the side it left
        torch.addcmul(sig, base[0], 1.0 - sig, out=d_base[0])
        inside_slope = torch.addcmul(ends[2], d_ext.sum(0), ends[2], value=-1.0)
        local[1].mul_(inside_slope)  # the clamped basis is flat outside the grid
    out.scatter_(1, index.expand(local.shape[0], *index.shape), local)
    return out


@functools.lru_cache(maxsize=64)
def _extension_bounds(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """Clamp bounds that turn the distances to the grid ends into ``min(x - lo, 0)`` and
    ``max(x - hi, 0)``: shape (2, 1, 1) each."""
    inf = float("inf")
    lower = torch.tensor([-inf, 0.0], dtype=dtype, device=device).view(2, 1, 1)
    upper = torch.tensor([0.0, inf], dtype=dtype, device=device).view(2, 1, 1)
    return lower, upper


def _weights(coef: Tensor, masked_scales: Tensor, end_derivs: Tensor) -> Tensor:
    """The weights of :meth:`KANLayer.weights`, feature-major: shape (n_out, G + k + 3, n_in).

    ``masked_scales`` are the scales times the mask, shape (n_out, 2, n_in).
    """
    base_scale, spline_scale = masked_scales.split(1, dim=1)
    spline = coef.transpose(1, 2) * spline_scale  # (out, basis, in)
    slopes = (spline.unsqueeze(1) * end_derivs.transpose(1, 2)).sum(2)  # (out, 2, in)
    return torch.cat([spline, slopes, base_scale], dim=1)


def _weight_grads(gw, coef, masked_scales, mask, end_derivs) -> tuple[Tensor, Tensor]:
    """Gradients of the coefficients and the scales from the gradient ``gw`` of the weights."""
    n_basis = coef.shape[-1]
    g_basis, g_ends, g_base = gw.split([n_basis, 2, 1], dim=1)
    g_spline = g_basis + (g_ends.unsqueeze(2) * end_derivs.transpose(1, 2)).sum(1)
    g_coef = (g_spline * masked_scales[:, 1:]).transpose(1, 2)
    g_spline_scale = (g_spline * coef.transpose(1, 2)).sum(1, keepdim=True)
    g_scales = torch.cat([g_base, g_spline_scale], dim=1).transpose(1, 2) * mask.unsqueeze(-1)
    return g_coef, g_scales


def _contract(w: Tensor, bias: Tensor, feats: Tensor) -> Tensor:
    """``bias + features @ weights``: (n_out, F, n_in) and (F, n_in, batch) -> (batch, n_out)."""
    out = torch.addmm(bias.unsqueeze(1), w.view(w.shape[0], -1), feats.view(-1, feats.shape[-1]))
    return out.T.contiguous()


class _UniformSplineLinear(torch.autograd.Function):
    """Weights, features and their contraction in one node, with a first-order backward."""

    @staticmethod
    def forward(ctx, x, coef, scales, bias, mask, ends, end_derivs, k, with_dx):
        masked_scales = (scales * mask.unsqueeze(-1)).transpose(1, 2)
        w = _weights(coef, masked_scales, end_derivs)
        feats = _features(x, ends, k, coef.shape[-1], with_dx)
        ctx.save_for_backward(coef, masked_scales, mask, end_derivs, w, feats)
        return _contract(w, bias, feats[0])

    @staticmethod
    def backward(ctx, grad):
        coef, masked_scales, mask, end_derivs, w, feats = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = g_coef = g_scales = gb = None
        g_t = grad.T  # (n_out, batch)
        w_flat = w.view(w.shape[0], -1)
        if need[0]:
            gf = (w_flat.T @ g_t).view(feats.shape[1:])  # (F, n_in, batch)
            gx = (gf * feats[1]).sum(0).T
        if need[1] or need[2]:
            gw = (g_t @ feats[0].view(w_flat.shape[1], -1).T).view(w.shape)
            g_coef, g_scales = _weight_grads(gw, coef, masked_scales, mask, end_derivs)
        if need[3]:
            gb = grad.sum(0)
        return gx, g_coef, g_scales, gb, None, None, None, None, None


def uniform_spline_linear(
    x: Tensor,
    coef: Tensor,
    scales: Tensor,
    bias: Tensor,
    mask: Tensor,
    ends: Tensor,
    end_derivs: Tensor,
    k: int,
) -> Tensor:
    """``bias + features(x) @ weights`` of a layer on a uniform grid with a SiLU base.

    Parameters
    ----------
    x : Tensor of shape (batch, n_in)
    coef : Tensor of shape (n_out, n_in, G + k)
        Spline coefficients.
    scales : Tensor of shape (n_out, n_in, 2)
        Base and spline scale of every edge.
    bias : Tensor of shape (n_out,)
    mask : Tensor of shape (n_out, n_in)
        1 for the numeric edges that are on, else 0.
    ends : Tensor of shape (3, n_in)
        Left grid end, right grid end and inverse knot spacing of every input.
    end_derivs : Tensor of shape (2, n_in, G + k)
        Derivative of every basis function at both grid ends (the extrapolation slopes).
    k : int
        Spline order.

    Returns
    -------
    Tensor of shape (batch, n_out)
    """
    with_dx = x.requires_grad and torch.is_grad_enabled()
    args = (x, coef, scales, bias, mask, ends, end_derivs, k, with_dx)
    return _UniformSplineLinear.apply(*args)
