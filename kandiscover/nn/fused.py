"""A fused forward/backward for the numeric part of a layer on a uniform grid.

Autograd would record about twenty small operations per layer (basis, extension,
base function, contraction); for the small networks KANs are used with, their fixed
overhead dominates a training step. This function does the same mathematics with a
hand-written backward: one matrix product forward, two backward, and a handful of
element-wise operations.

Its backward is first order only. Code that differentiates twice through the inputs
(physics-informed losses) switches the layer to the plain autograd path (see
``KANLayer.fused``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import bspline

__all__ = ["uniform_spline_linear"]


def _features(x: Tensor, lo: Tensor, hi: Tensor, inv_h: Tensor, k: int, n_basis: int):
    """Features of :meth:`KANLayer.features`, feature-major: shape (G + k + 3, batch, n_in).

    Also returns the position ``u`` inside the grid interval and the basis index of
    every local value, which the backward pass needs.
    """
    n_int = n_basis - k
    t = ((x - lo) * inv_h).clamp_(0.0, float(n_int))
    j = t.floor().clamp_(max=n_int - 1)
    u = t - j
    powers = [u]
    for _ in range(k - 1):
        powers.append(powers[-1] * u)
    rows = bspline._piece_matrix(k, x.dtype, x.device)  # (k + 1 powers, k + 1 functions)
    local = torch.addmm(rows[0][:, None], rows[1:].T, torch.stack(powers).view(k, -1))
    index = j.long() + bspline._arange(k + 1, x.device)[:, None, None]
    feats = x.new_empty(n_basis + 3, *x.shape)
    feats[:n_basis].zero_().scatter_(0, index, local.view(k + 1, *x.shape))
    torch.clamp_max(x - lo, 0.0, out=feats[n_basis])
    torch.clamp_min(x - hi, 0.0, out=feats[n_basis + 1])
    feats[n_basis + 2] = torch.nn.functional.silu(x)
    return feats, u, index


class _UniformSplineLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, lo, hi, inv_h, k):
        n_basis = weight.shape[-1] - 3
        feats, u, index = _features(x, lo, hi, inv_h, k, n_basis)
        w = weight.permute(2, 1, 0)  # (F, n_in, n_out)
        out = torch.bmm(feats, w).sum(0).add_(bias)
        ctx.save_for_backward(x, w, feats, u, index, lo, hi, inv_h)
        ctx.k = k
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, feats, u, index, lo, hi, inv_h = ctx.saved_tensors
        gx = gw = gb = None
        g = grad.expand(w.shape[0], *grad.shape)
        if ctx.needs_input_grad[1]:
            gw = torch.bmm(feats.transpose(1, 2), g).permute(2, 1, 0)
        if ctx.needs_input_grad[2]:
            gb = grad.sum(0)
        if ctx.needs_input_grad[0]:
            gf = torch.bmm(g, w.transpose(1, 2))  # (F, batch, n_in)
            gx = _grad_input(ctx.k, gf, x, u, index, lo, hi, inv_h)
        return gx, gw, gb, None, None, None, None


def _grad_input(k, gf, x, u, index, lo, hi, inv_h) -> Tensor:
    """Gradient with respect to the layer inputs, from the feature gradients ``gf``."""
    n_basis = gf.shape[0] - 3
    rows = bspline._piece_matrix(k, x.dtype, x.device)
    drows = rows[1:] * torch.arange(1, k + 1, dtype=x.dtype, device=x.device)[:, None]
    dlocal = drows[k - 1][:, None, None].expand(k + 1, *x.shape)
    for p in range(k - 2, -1, -1):
        dlocal = torch.addcmul(drows[p][:, None, None], dlocal, u)
    inside = (x >= lo) & (x <= hi)
    g_spline = (gf[:n_basis].gather(0, index) * dlocal).sum(0) * inv_h * inside
    sig = torch.sigmoid(x)
    g_base = gf[n_basis + 2] * sig * (1 + x * (1 - sig))
    g_ext = gf[n_basis] * (x < lo) + gf[n_basis + 1] * (x > hi)
    return g_spline + g_base + g_ext


def uniform_spline_linear(x: Tensor, weight: Tensor, bias: Tensor, ends: Tensor, k: int) -> Tensor:
    """``bias + features(x) @ weight`` for a uniform grid with a SiLU base.

    Parameters
    ----------
    x : Tensor of shape (batch, n_in)
    weight : Tensor of shape (n_out, n_in, G + k + 3)
        Basis, below-grid slope, above-grid slope and base weights of every edge.
    bias : Tensor of shape (n_out,)
    ends : Tensor of shape (3, n_in)
        Left grid end, right grid end and inverse knot spacing of every input.
    k : int
        Spline order.
    """
    lo, hi, inv_h = ends.unbind(0)
    return _UniformSplineLinear.apply(x, weight, bias, lo, hi, inv_h, k)
