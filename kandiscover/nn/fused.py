"""Hand-written forward and backward passes of KAN layers on uniform grids.

Autograd would record some forty small operations per layer (weight assembly, basis,
extension, base function, contraction); for the small networks KANs are used with, their
fixed cost dominates a training step. Here a whole stack of layers is one autograd node
whose backward is written out:

* the features of a layer are ``(batch, n_in, G + k + 1)``: the ``G + k`` spline basis
  functions, continued outside the grid as the straight line that touches them at the
  grid end, and the SiLU base function. On a uniform grid only ``k + 1`` basis functions
  live at a point, each a fixed polynomial of the position ``u`` in its grid interval,
  so all of them come from one small matrix product and one scatter. Beyond the grid
  the polynomials are continued by their tangent at the end (``P(1) + (u - 1) P'(1)``),
  which is the linear extension of :meth:`KANLayer.features`;
* the weights ``[coef * spline_scale, base_scale]``, masked, make the forward pass one
  matrix product per layer and the backward pass two;
* the derivative of the features in the input, needed to pass the gradient down a layer,
  comes from the same polynomial product: the slopes of the live functions and of the
  base function, gathered where the features were scattered.

The same two functions, :func:`network_forward` and :func:`network_backward`, serve the
autograd node (:func:`uniform_network`) and the L-BFGS fast path of :func:`kandiscover.fit`,
which keeps the first layer's features for a whole optimiser run (the inputs and grids do
not change between its evaluations).

The backward is first order only. Code that differentiates twice through the inputs
(physics-informed losses) switches the layers to the plain autograd path
(see ``KANLayer.fused``).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from . import bspline

__all__ = [
    "FeatureCache",
    "LayerArgs",
    "network_backward",
    "network_forward",
    "uniform_network",
]


class LayerArgs(NamedTuple):
    """What the fused passes need of one layer."""

    coef: Tensor  # (n_out, n_in, G + k) spline coefficients
    scales: Tensor  # (n_out, n_in, 2) base and spline scale of every edge
    bias: Tensor  # (n_out,)
    mask: Tensor | None  # (n_out, n_in) 1 for the numeric edges that are on; None: all
    grid_ends: Tensor  # (3, n_in) left grid end, right grid end, 1 / knot spacing
    k: int  # spline order
    n_mult: int  # product nodes fed by the last 2 * n_mult outputs


class Features(NamedTuple):
    """The features of one layer's inputs and what the backward pass needs of them."""

    values: Tensor  # (batch, n_in * (G + k + 1))
    index: Tensor | None  # (k + 1, batch, n_in) live basis functions: flat positions in
    # ``values``, or their columns (``values[b]``) for a layer with one output
    slopes: Tensor | None  # (k + 1, batch, n_in) their derivatives in u (knot spacings)
    base_slope: Tensor | None  # (batch, n_in) derivative of the base function in x
    inv_h: Tensor | None  # (n_in,) 1 / knot spacing: d/dx = inv_h * d/du


@functools.lru_cache(maxsize=64)
def _polynomials(k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Matrix that turns the rows ``[1, u_c, ..., u_c^k, d, d u_c, ..., d u_c^(k-1)]``
    (``u_c`` the position clamped to its grid interval, ``d = u - u_c``) into the values
    ``P(u_c) + d P'(u_c)`` (first ``k + 1`` rows) and the slopes ``P'(u_c)`` (last
    ``k + 1``) of the ``k + 1`` live functions, shape (2k + 2, 2k + 1)."""
    piece = bspline._piece_matrix(k, torch.float64, torch.device("cpu"))  # [power, function]
    deriv = piece[1:] * torch.arange(1, k + 1, dtype=torch.float64)[:, None]  # of P', by power
    mat = torch.zeros(2 * k + 1, 2 * k + 2, dtype=torch.float64)
    mat[0] = torch.cat([piece[0], deriv[0]])  # constant terms
    mat[1 : k + 1, : k + 1] = piece[1:]  # P(u_c)
    mat[k + 1 :, : k + 1] = deriv  # d * P'(u_c)
    mat[1:k, k + 1 :] = deriv[1:]  # P'(u_c), non-constant powers
    return mat.T.contiguous().to(dtype=dtype, device=device)


_KEEP_LIMIT = 1 << 18  # elements: workspaces of larger batches are not kept


class _Workspace:
    """What :func:`features` needs besides its results, for one shape: the temporaries
    nothing keeps, their views, the polynomial constants and the flat positions of the
    features; kept between calls for small batches."""

    def __init__(self, batch, n_in, k, n_basis, dtype, device) -> None:
        n_feats = n_basis + 1
        like = torch.empty(0, dtype=dtype, device=device)
        self.t = like.new_empty(batch, n_in)
        itype = torch.long  # what scatter_ takes without converting
        self.j = torch.empty(batch, n_in, dtype=itype, device=device)
        self.last = n_basis - k - 1  # the last grid interval
        rows = like.new_empty(2 * k + 1, batch, n_in)
        rows[0] = 1.0  # the constant terms, so that the polynomials are one product
        row = rows.unbind(0)[1:]
        self.uc, self.du = row[0], row[k]
        self.products = [(row[p - 1], row[p]) for p in range(1, k)]
        self.products += [(row[k + p - 1], row[k + p]) for p in range(1, k)]
        self.rows = rows.view(2 * k + 1, -1)
        self.mat = _polynomials(k, dtype, device)
        self.mat_values, self.mat_slopes = self.mat[: k + 1], self.mat[k + 1 :]
        self.live = like.new_empty(k + 1, batch * n_in)
        self.index = torch.empty(k + 1, batch, n_in, dtype=itype, device=device)
        # columns of the live functions of interval 0 in a sample's features, and their
        # flat positions in the feature tensor, both (k + 1, batch, n_in): add the interval
        offsets = torch.arange(k + 1, device=device, dtype=itype).view(-1, 1, 1)
        cols = torch.arange(n_in, device=device, dtype=itype) * n_feats + offsets
        samples = torch.arange(batch, device=device, dtype=itype).view(1, -1, 1)
        self.starts = cols + samples * (n_in * n_feats)
        self.cols = cols.expand(self.starts.shape).contiguous()
        self.shape = (batch, n_in, n_feats)
        self.slopes_shape = (k + 1, batch, n_in)


@functools.lru_cache(maxsize=16)
def _kept_workspace(batch, n_in, k, n_basis, dtype, device) -> _Workspace:
    return _Workspace(batch, n_in, k, n_basis, dtype, device)


def _workspace(batch, n_in, k, n_basis, dtype, device) -> _Workspace:
    if batch * n_in * (2 * k + 2) <= _KEEP_LIMIT:
        return _kept_workspace(batch, n_in, k, n_basis, dtype, device)
    return _Workspace(batch, n_in, k, n_basis, dtype, device)


def _interval(t: Tensor, out: Tensor, last: int) -> Tensor:
    """Grid interval of every position ``t`` (in knot spacings from the left end), into
    the integer tensor ``out``: truncation is the floor for ``t >= 0``, and clamping maps
    everything else (below the grid, above it, NaN) to an end interval."""
    return out.copy_(t).clamp_(0, last)


def _fill_rows(x: Tensor, grid_ends: Tensor, ws: _Workspace) -> None:
    """The grid interval ``ws.j`` of every input and the rows ``ws.rows`` (powers of the
    position in it) that :func:`_polynomials` turns into the live functions."""
    t, j, uc = ws.t, ws.j, ws.uc
    torch.sub(x, grid_ends[0], out=t).mul_(grid_ends[2])  # grid position in knot spacings
    _interval(t, j, ws.last)
    t.sub_(j)  # position in the interval
    torch.clamp(t, 0.0, 1.0, out=uc)
    torch.sub(t, uc, out=ws.du)  # beyond the grid: distance past its end
    for lower, higher in ws.products:
        torch.mul(lower, uc, out=higher)


def features(
    x: Tensor, grid_ends: Tensor, k: int, n_basis: int, with_slopes: bool, columns: bool = False
) -> Features:
    """Features of the inputs ``x`` (batch, n_in) of a layer on a uniform grid.

    ``with_slopes`` keeps what the input gradient needs, the live functions by their flat
    positions in the features, or by their columns (``columns``, for one output).
    """
    ws = _workspace(*x.shape, k, n_basis, x.dtype, x.device)
    _fill_rows(x, grid_ends, ws)
    j = ws.j
    live = torch.mm(ws.mat_values, ws.rows, out=ws.live)
    if with_slopes and not columns:
        index = kept = ws.starts + j
    else:
        index = torch.add(ws.starts, j, out=ws.index)
        kept = ws.cols + j if with_slopes else None
    values = x.new_zeros(ws.shape)
    values.view(-1).scatter_(0, index.view(-1), live.view(-1))
    sig = torch.sigmoid(x)
    silu = torch.mul(x, sig, out=values.select(2, n_basis))
    values = values.view(x.shape[0], -1)
    if not with_slopes:
        return Features(values, None, None, None, None)
    base_slope = torch.addcmul(sig, silu, 1.0 - sig)
    slopes = torch.mm(ws.mat_slopes, ws.rows).view(ws.slopes_shape)
    return Features(values, kept, slopes, base_slope, grid_ends[2])


def _input_grad(g: Tensor, w: Tensor, f: Features) -> Tensor:
    """Gradient of the inputs from that of the outputs ``g`` (batch, n_out) and the
    weights ``w`` (n_out, n_in * F)."""
    batch, n_in = f.base_slope.shape
    if g.shape[1] == 1:  # one output: the derivative of every edge, times g
        live = w.view(-1).index_select(0, f.index.view(-1)).view(f.index.shape)
        d = live.mul_(f.slopes).sum(0).mul_(f.inv_h)
        return d.addcmul_(w.view(n_in, -1)[:, -1], f.base_slope).mul_(g)
    g_feats = g @ w
    live = g_feats.view(-1).index_select(0, f.index.view(-1)).view(f.index.shape)
    g_in = live.mul_(f.slopes).sum(0).mul_(f.inv_h)
    return g_in.addcmul_(g_feats.view(batch, n_in, -1)[..., -1], f.base_slope)


def weights(coef: Tensor, scales: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """The weights ``[coef * spline_scale, base_scale] * mask``, shape (n_out, n_in * F),
    and the masked scales (n_out, n_in, 2)."""
    masked = scales if mask is None else scales * mask.unsqueeze(-1)
    w = torch.cat([coef * masked[..., 1:], masked[..., :1]], dim=2)
    return w.view(coef.shape[0], -1), masked


def weight_grads(
    g_w: Tensor, coef: Tensor, masked: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Gradients of the coefficients and the scales from that of the weights."""
    g_w = g_w.view(*coef.shape[:2], -1)
    g_spline = g_w[..., :-1]
    g_coef = g_spline * masked[..., 1:]
    g_scale = (g_spline * coef).sum(-1)
    g_scales = torch.stack([g_w[..., -1], g_scale], dim=-1)
    return g_coef, g_scales if mask is None else g_scales.mul_(mask.unsqueeze(-1))


def _combine(sub: Tensor, n_mult: int) -> Tensor:
    if not n_mult:
        return sub
    n_sum = sub.shape[1] - 2 * n_mult
    pairs = sub[:, n_sum:]
    return torch.cat([sub[:, :n_sum], pairs[:, 0::2] * pairs[:, 1::2]], dim=1)


def _uncombine(g: Tensor, sub: Tensor, n_mult: int) -> Tensor:
    if not n_mult:
        return g
    n_sum = sub.shape[1] - 2 * n_mult
    out = torch.empty_like(sub)
    out[:, :n_sum] = g[:, :n_sum]
    torch.mul(g[:, n_sum:], sub[:, n_sum + 1 :: 2], out=out[:, n_sum::2])
    torch.mul(g[:, n_sum:], sub[:, n_sum::2], out=out[:, n_sum + 1 :: 2])
    return out


class Tape(NamedTuple):
    """What :func:`network_backward` needs of a forward pass, per layer."""

    features: list[Features]
    weights: list[Tensor]
    masked: list[Tensor]
    outputs: list[Tensor]


def network_forward(
    x: Tensor, layers: Sequence[LayerArgs], input_grad: bool, first: Features | None = None
) -> tuple[Tensor, Tape]:
    """Output of the stack of layers for ``x`` (batch, n_in), and the tape of the pass.

    ``input_grad`` prepares the gradient of ``x``; ``first`` gives the first layer's
    features when they are known already.
    """
    tape = Tape([], [], [], [])
    h = x
    for l, a in enumerate(layers):
        if l == 0 and first is not None:
            f = first
        else:
            n_out, n_basis = a.coef.shape[0], a.coef.shape[-1]
            f = features(h, a.grid_ends, a.k, n_basis, input_grad or l > 0, n_out == 1)
        w, masked = weights(a.coef, a.scales, a.mask)
        sub = torch.addmm(a.bias, f.values, w.T)
        tape.features.append(f)
        tape.weights.append(w)
        tape.masked.append(masked)
        tape.outputs.append(sub)
        h = _combine(sub, a.n_mult)
    return h, tape


def network_backward(
    g: Tensor, layers: Sequence[LayerArgs], tape: Tape, input_grad: bool
) -> tuple[Tensor | None, list[tuple[Tensor, Tensor, Tensor]]]:
    """Gradients of the input and of every layer's ``(coef, scales, bias)`` from the
    gradient ``g`` of the output."""
    grads: list[tuple[Tensor, Tensor, Tensor]] = [None] * len(layers)  # type: ignore[list-item]
    for l in range(len(layers) - 1, -1, -1):
        a, f = layers[l], tape.features[l]
        g = _uncombine(g, tape.outputs[l], a.n_mult)
        g_coef, g_scales = weight_grads(g.T @ f.values, a.coef, tape.masked[l], a.mask)
        grads[l] = (g_coef, g_scales, g.sum(0))
        if l == 0 and not input_grad:
            return None, grads
        g = _input_grad(g, tape.weights[l], f)
    return g, grads


class _Network(torch.autograd.Function):
    """A stack of layers as one autograd node with a first-order backward.

    The trainable tensors of the layers are passed one by one, for autograd to route
    their gradients. They and the tape of the forward pass are saved with
    ``save_for_backward``: autograd checks that no parameter changed in place before the
    backward pass, and frees the tape as soon as the backward pass is done (so that the
    next step reuses warm memory), unless the graph is retained.
    """

    @staticmethod
    def forward(ctx, x, layers, first, *params):
        input_grad = ctx.needs_input_grad[0]
        out, tape = network_forward(x, layers, input_grad, first)
        n = len(layers)
        items = [*params, *(t for f in tape.features for t in f)]
        items += tape.weights + tape.masked + tape.outputs
        keep = [t is not None for t in items]
        for l, a in enumerate(layers):  # what the backward pass does not read
            keep[8 * n + l] &= l > 0 or input_grad  # weights: for the input gradient
            keep[9 * n + l] &= a.mask is not None  # masked scales: else the scales
            keep[10 * n + l] &= a.n_mult > 0  # outputs: for product nodes
        ctx.layers, ctx.input_grad, ctx.keep = layers, input_grad, keep
        ctx.save_for_backward(*(t for t, k in zip(items, keep, strict=True) if k))
        return out

    @staticmethod
    def backward(ctx, grad):
        n, saved = len(ctx.layers), iter(ctx.saved_tensors)
        items = [next(saved) if k else None for k in ctx.keep]
        layers = [
            a._replace(coef=items[3 * l], scales=items[3 * l + 1], bias=items[3 * l + 2])
            for l, a in enumerate(ctx.layers)
        ]
        features = [Features(*items[3 * n + 5 * l : 3 * n + 5 * l + 5]) for l in range(n)]
        masked = [m if m is not None else a.scales for m, a in zip(items[9 * n : 10 * n], layers)]
        tape = Tape(features, items[8 * n : 9 * n], masked, items[10 * n :])
        gx, grads = network_backward(grad, layers, tape, ctx.input_grad)
        return (gx, None, None, *(g for layer_grads in grads for g in layer_grads))


def uniform_network(
    x: Tensor, layers: Sequence[LayerArgs], first: Features | None = None
) -> Tensor:
    """The output of a stack of layers on uniform grids with SiLU bases, (batch, n_out).

    Differentiable (once) in ``x`` and in every layer's ``coef``, ``scales`` and ``bias``.
    ``first``: the first layer's features of ``x`` when they are known already (they
    must then carry their slopes if ``x`` requires a gradient).
    """
    params = [t for a in layers for t in a[:3]]
    return _Network.apply(x, layers, first, *params)


class FeatureCache:
    """The first layer's features of the last input seen, for as long as that input and
    the layer's grid stay as they are.

    Full-batch training evaluates the same inputs at every step, and the first layer's
    features depend on nothing else: keeping them saves a third of a small network's
    step. The input is held by a weak reference and checked by identity and version
    counter, so an input changed in place or a new grid is a miss, never a stale hit.
    Inputs that require a gradient are not cached.

    Parameters
    ----------
    max_elements : int
        Largest feature tensor kept (elements); larger inputs are recomputed every time.
    """

    def __init__(self, max_elements: int = 1 << 24) -> None:
        self.max_elements = max_elements
        self._key: tuple | None = None
        self._features: Features | None = None

    def clear(self) -> None:
        self._key = self._features = None

    def get(self, x: Tensor, a: LayerArgs) -> Features | None:
        """The features of ``x`` in layer ``a`` (computed and kept on a miss), or ``None``
        when ``x`` requires a gradient or is too large to keep."""
        if x.requires_grad or x.numel() * (a.coef.shape[-1] + 1) > self.max_elements:
            return None
        key = self._key
        if (
            key is not None
            and key[0]() is x
            and key[1] == x._version
            and key[2]() is a.grid_ends
            and key[3] == a.grid_ends._version
            and key[4] == a.k
        ):
            return self._features
        self._features = features(x, a.grid_ends, a.k, a.coef.shape[-1], False)
        grid = a.grid_ends
        self._key = (weakref.ref(x), x._version, weakref.ref(grid), grid._version, a.k)
        return self._features
