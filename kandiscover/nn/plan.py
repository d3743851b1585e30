"""Forward and backward passes of a KAN on fixed inputs, in buffers allocated once.

Training evaluates the same network on the same inputs again and again (full-batch
L-BFGS a thousand times in a fit). A :class:`NetworkPlan` prepares that once: every
intermediate tensor (features, weights, outputs, gradients) is allocated with its views
when the plan is made, the first layer's features are computed then and kept, and a
forward or backward pass is a fixed sequence of tensor operations writing into those
buffers, with no autograd graph. The mathematics is that of :mod:`kandiscover.nn.fused`
(same polynomials, same layout of the features).

Two users:

* :class:`MSEPlan`, the mean squared error and its gradient, which :func:`kandiscover.fit`
  hands to L-BFGS (a new plan after each grid update);
* :class:`PlanPool`, through which :class:`~kandiscover.nn.network.KAN` runs repeated
  inputs: it lends a plan to one autograd node at a time (:func:`planned`).

A plan reads the parameters it was made with at every pass (their values may change,
not the tensors) and is valid while the grids, masks and shapes stay as they are.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from . import fused

if TYPE_CHECKING:
    from .network import KAN

__all__ = ["MSEPlan", "NetworkPlan", "PlanPool"]


class _Layer:
    """Buffers and views of one layer of a plan."""

    def __init__(self, args: fused.LayerArgs, batch: int, grads: list[Tensor | None]) -> None:
        self.coef, self.scales, self.bias = args.coef, args.scales, args.bias
        n_out, n_in, nb = args.coef.shape
        self.n_in, self.n_basis, self.k, self.n_mult = n_in, nb, args.k, args.n_mult
        like = args.coef
        mask = torch.ones_like(args.coef[..., 0]) if args.mask is None else args.mask
        self.mask = mask.unsqueeze(-1)  # (n_out, n_in, 1)
        self.mask_base = mask
        self.masked = like.new_empty(n_out, n_in, 2)
        self.masked_base, self.masked_spline = self.masked[..., 0], self.masked[..., 1:]
        self.w = like.new_empty(n_out, n_in, nb + 1)
        self.w2, self.w2t = self.w.view(n_out, -1), self.w.view(n_out, -1).T
        self.w_spline, self.w_base = self.w[..., :nb], self.w[..., nb]
        self.out = like.new_empty(batch, n_out)
        self.g_w = like.new_empty(n_out, n_in, nb + 1)
        self.g_w2 = self.g_w.view(n_out, -1)
        self.g_w_spline, self.g_w_base = self.g_w[..., :nb], self.g_w[..., nb]
        self.g_spline_scale = like.new_empty(n_out, n_in)
        self.product = like.new_empty(n_out, n_in, nb)
        # where the gradients go: views of the flat gradient, or scratch space
        self.g_coef, g_scales, self.g_bias = (
            g if g is not None else torch.empty_like(p)
            for g, p in zip(grads, (self.coef, self.scales, self.bias), strict=True)
        )
        self.g_base_scale, self.g_spline_scale_out = g_scales[..., 0], g_scales[..., 1]
        self.grid_ends = args.grid_ends
        self.inv_h = args.grid_ends[2]

    def features_buffers(self, batch: int) -> None:
        """Buffers for computing this layer's features every evaluation (not the first layer)."""
        k, n_in, nb = self.k, self.n_in, self.n_basis
        like = self.coef
        self.ws = fused._Workspace(batch, n_in, k, nb, like.dtype, like.device)
        self.poly = like.new_empty(2 * k + 2, batch * n_in)
        self.poly_values = self.poly[: k + 1].view(-1)
        self.slopes = self.poly[k + 1 :].view(k + 1, batch, n_in)
        self.index = torch.empty_like(self.ws.starts)
        self.index1 = self.index.view(-1)
        self.sig = like.new_empty(batch, n_in)
        self.base_slope = like.new_empty(batch, n_in)
        self.one_minus_sig = like.new_empty(batch, n_in)
        self.one = like.new_ones(())
        self.values3 = like.new_empty(batch, n_in, nb + 1)
        self.values = self.values3.view(batch, -1)
        self.values1 = self.values3.view(-1)
        self.base = self.values3[..., nb]
        self.one_output = self.w2.shape[0] == 1
        self.cols = torch.empty_like(self.ws.cols)
        self.cols1 = self.cols.view(-1)
        self.w1 = self.w.view(-1)
        self.w_base_row = self.w_base[0] if self.one_output else None
        self.g_feats = like.new_empty(batch, n_in * (nb + 1))
        self.g_feats1 = self.g_feats.view(-1)
        self.g_base = self.g_feats.view(batch, n_in, nb + 1)[..., nb]
        self.live = like.new_empty(k + 1, batch, n_in)
        self.live1 = self.live.view(-1)
        self.g_in = like.new_empty(batch, n_in)

    def compute_features(self, h: Tensor) -> None:
        ws = self.ws
        fused._fill_rows(h, self.grid_ends, ws)
        torch.mm(ws.mat, ws.rows, out=self.poly)
        torch.add(ws.starts, ws.j, out=self.index)
        self.values1.zero_()
        self.values1.scatter_(0, self.index1, self.poly_values)
        sig = torch.sigmoid(h, out=self.sig)
        torch.mul(h, sig, out=self.base)
        one_minus = torch.sub(self.one, sig, out=self.one_minus_sig)
        torch.addcmul(sig, self.base, one_minus, out=self.base_slope)  # silu'(h)

    def assemble_weights(self) -> None:
        torch.mul(self.scales, self.mask, out=self.masked)
        torch.mul(self.coef, self.masked_spline, out=self.w_spline)
        self.w_base.copy_(self.masked_base)

    def weight_grads(self, g: Tensor, values: Tensor) -> None:
        torch.mm(g.T, values, out=self.g_w2)
        torch.mul(self.g_w_spline, self.masked_spline, out=self.g_coef)
        torch.mul(self.g_w_spline, self.coef, out=self.product)
        torch.sum(self.product, -1, out=self.g_spline_scale)
        torch.mul(self.g_spline_scale, self.mask_base, out=self.g_spline_scale_out)
        torch.mul(self.g_w_base, self.mask_base, out=self.g_base_scale)
        torch.sum(g, 0, out=self.g_bias)

    def input_grad(self, g: Tensor) -> Tensor:
        if self.one_output:  # the derivative of every edge, from the weights, times g
            torch.add(self.ws.cols, self.ws.j, out=self.cols)
            torch.index_select(self.w1, 0, self.cols1, out=self.live1)
        else:
            torch.mm(g, self.w2, out=self.g_feats)
            torch.index_select(self.g_feats1, 0, self.index1, out=self.live1)
        self.live.mul_(self.slopes)
        torch.sum(self.live, 0, out=self.g_in)
        self.g_in.mul_(self.inv_h)
        if self.one_output:
            return self.g_in.addcmul_(self.w_base_row, self.base_slope).mul_(g)
        return self.g_in.addcmul_(self.g_base, self.base_slope)


class NetworkPlan:
    """Forward and backward passes of ``model`` on the fixed inputs ``x``, into buffers
    allocated once.

    Parameters
    ----------
    model : KAN
        Every layer must take the fused kernel (``model.fused_args()`` is not ``None``).
    x : Tensor of shape (batch, n_inputs)
        The inputs; their first-layer features are computed here, once.
    params : sequence of Tensor
        The parameters to differentiate, in the order of the flat gradient ``grad``;
        each must be a ``coef``, ``scales`` or ``bias`` of one of the layers.
    """

    def __init__(self, model: KAN, x: Tensor, params: Sequence[Tensor]) -> None:
        args = model.fused_args()
        if args is None:
            raise ValueError("the model has layers the fused kernel does not take")
        x = model.select_inputs(x)
        self.grad = x.new_empty(sum(p.numel() for p in params))
        views, offset = {}, 0
        for p in params:
            views[id(p)] = self.grad[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
        batch = x.shape[0]
        self.layers = []
        for l, a in enumerate(args):
            slots = [views.pop(id(p), None) for p in a[:3]]
            layer = _Layer(a, batch, slots)
            if l:
                layer.features_buffers(batch)
            self.layers.append(layer)
        if views:
            raise ValueError("params must be coef, scales or bias of the model's layers")
        first = args[0]
        self.first = fused.features(x, first.grid_ends, first.k, first.coef.shape[-1], False)
        self.values = [self.first.values] + [layer.values for layer in self.layers[1:]]

    def forward(self) -> Tensor:
        """The network's output at the current parameters (a buffer of the plan)."""
        h = None
        for l, layer in enumerate(self.layers):
            if l:
                layer.compute_features(h)
            layer.assemble_weights()
            torch.addmm(layer.bias, self.values[l], layer.w2t, out=layer.out)
            h = fused._combine(layer.out, layer.n_mult)
        return h

    def backward(self, g: Tensor) -> Tensor:
        """Fill ``grad`` from the gradient ``g`` of the output of the last :meth:`forward`
        (``g`` is only read); returns ``grad``."""
        for l in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[l]
            g = fused._uncombine(g, layer.out, layer.n_mult)
            layer.weight_grads(g, self.values[l])
            if l:
                g = layer.input_grad(g)
        return self.grad


class _Token:
    """Held by the autograd node of a forward pass that used a plan: while it lives, the
    plan's buffers belong to that pass."""


class PlanPool:
    """At most two :class:`NetworkPlan` of a model for its latest inputs, lent to
    :func:`planned` forward passes while nothing else uses them.

    A training loop evaluates the same inputs at every step; the second time the same
    inputs (same tensor, unchanged) come, a plan is built, and from then on the forward
    and backward passes run in its buffers. A plan is lent to one forward pass at a
    time: its autograd node holds a token, and the plan is free again once that node is
    gone (the graph freed), so two steps in flight use the two plans and more fall back
    to the allocating kernel. Inputs that require a gradient, large batches, a change of
    inputs, parameters, masks or grids all fall back too (and the last three drop the
    plans).

    Parameters
    ----------
    max_elements : int
        Largest plan (feature elements over all layers) worth keeping.
    """

    def __init__(self, max_elements: int = 1 << 21) -> None:
        self.max_elements = max_elements
        self.clear()

    def clear(self) -> None:
        self._x: tuple | None = None
        self._key: tuple | None = None
        self._plans: list[list] = []  # [plan, weak reference to its current token]

    def get(self, model: KAN, x: Tensor, layers: list) -> tuple[NetworkPlan, _Token] | None:
        """A free plan for ``x`` and a token to hand to the forward pass, or ``None``."""
        if x.requires_grad:
            return None
        seen = self._x
        self._x = (weakref.ref(x), x._version)
        if seen is None or seen[0]() is not x or seen[1] != x._version:
            self._plans = []  # new inputs: build plans only if they come again
            return None
        key = _layers_key(layers)
        if key != self._key:
            self._key, self._plans = key, []
            size = sum(x.shape[0] * a.coef.shape[1] * (a.coef.shape[2] + 1) for a in layers)
            if size * 4 > self.max_elements:
                self._key = None  # too large to keep: never planned
                return None
        if self._key is None:
            return None
        for entry in self._plans:
            if entry[1] is None or entry[1]() is None:
                return self._lend(entry)
        if len(self._plans) < 2:
            params = [t for a in layers for t in a[:3]]
            self._plans.append([NetworkPlan(model, x, params), None])
            return self._lend(self._plans[-1])
        return None

    @staticmethod
    def _lend(entry: list) -> tuple[NetworkPlan, _Token]:
        token = _Token()
        entry[1] = weakref.ref(token)
        return entry[0], token


def _layers_key(layers: list) -> tuple:
    """What a plan depends on: the tensors it reads (by identity) and their versions."""
    key = []
    for a in layers:
        mask_version = None if a.mask is None else a.mask._version
        key.append((*map(id, a[:5]), mask_version, a.grid_ends._version, a.k, a.n_mult))
    return tuple(key)


class _Planned(torch.autograd.Function):
    """A forward pass in a plan's buffers, as one autograd node."""

    @staticmethod
    def forward(ctx, x, plan, token, *params):
        ctx.plan, ctx.token = plan, token
        ctx.save_for_backward(*params)  # autograd checks they do not change in place
        return plan.forward().clone()

    @staticmethod
    def backward(ctx, grad):
        params = ctx.saved_tensors
        flat = ctx.plan.backward(grad.contiguous()).clone()
        grads = flat.split([p.numel() for p in params])
        return (None, None, None, *(g.view_as(p) for g, p in zip(grads, params, strict=True)))


def planned(x: Tensor, plan: NetworkPlan, token: _Token, layers: list) -> Tensor:
    """The output of the network for ``x`` through ``plan``, differentiable (once) in
    every layer's ``coef``, ``scales`` and ``bias``."""
    return _Planned.apply(x, plan, token, *(t for a in layers for t in a[:3]))


class MSEPlan(NetworkPlan):
    """Mean squared error of ``model`` on ``(x, y)`` and its gradient in ``params``
    (see :class:`NetworkPlan`); ``y`` has shape (batch, n_outputs)."""

    def __init__(self, model: KAN, x: Tensor, y: Tensor, params: Sequence[Tensor]) -> None:
        super().__init__(model, x, params)
        self.y, self.n = y, y.numel()
        self.residual = y.new_empty(y.shape)

    def __call__(self) -> tuple[float, Tensor]:
        """The loss and a new flat gradient at the current parameters."""
        with torch.no_grad():
            r = torch.sub(self.forward(), self.y, out=self.residual)
            loss = float(torch.dot(r.view(-1), r.view(-1))) / self.n
            return loss, self.backward(r.mul_(2.0 / self.n)).clone()
