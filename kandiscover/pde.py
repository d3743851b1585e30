"""Physics-informed training: derivatives of a KAN with respect to its inputs.

A KAN is a smooth function of its inputs, so a partial differential equation can be
imposed directly on it: the residual of the equation at sampled interior points and the
boundary condition at sampled boundary points form the loss. Derivatives come from
autograd with ``create_graph=True``, so that the loss built from them can itself be
trained.

The fused spline kernel of :class:`~kandiscover.nn.layer.KANLayer` has a first-order
backward only; :func:`gradient` and :func:`laplacian` switch it off while they run
(see :func:`second_order`).

Examples
--------
>>> import math, torch, kandiscover as kd
>>> from kandiscover import pde
>>> model = kd.KAN([2, 3, 1], seed=0, dtype=torch.float64)
>>> bounds = [(-1.0, 1.0), (-1.0, 1.0)]
>>> inner = pde.interior_points(64, bounds, seed=0, dtype=torch.float64)
>>> edge = pde.boundary_points(32, bounds, seed=1, dtype=torch.float64)
>>> source = lambda x: -2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(
...     math.pi * x[:, 1]
... )
>>> loss = lambda m: pde.poisson_loss(m, inner, edge, source)
>>> history = pde.solve(model, loss, steps=2)
>>> len(history.train_loss)
2
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.nn import Module

from .train import LBFGS, Adam, History

__all__ = [
    "boundary_points",
    "gradient",
    "interior_points",
    "laplacian",
    "poisson_loss",
    "poisson_residual",
    "second_order",
    "solve",
]

Bounds = Sequence[tuple[float, float]]
FieldFn = Callable[[Tensor], Tensor]


@contextmanager
def second_order(model: Module) -> Iterator[Module]:
    """Turn off the fused spline kernel of every layer while the block runs.

    The fused kernel is fast but differentiable once only; plain autograd supports the
    derivatives of derivatives that a PDE residual needs. The previous setting of every
    layer is restored on exit, also when the block raises.

    Examples
    --------
    >>> import torch, kandiscover as kd
    >>> model = kd.KAN([2, 1])
    >>> with second_order(model):
    ...     model.layers[0].fused
    False
    >>> model.layers[0].fused
    True
    """
    layers = [m for m in model.modules() if hasattr(m, "fused")]
    before = [layer.fused for layer in layers]
    try:
        for layer in layers:
            layer.fused = False
        yield model
    finally:
        for layer, fused in zip(layers, before, strict=True):
            layer.fused = fused


def _scalar_output(model: Module, x: Tensor) -> Tensor:
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got shape {tuple(x.shape)}")
    u = model(x)
    if u.ndim == 2 and u.shape[1] == 1:
        return u[:, 0]
    if u.ndim == 1:
        return u
    raise ValueError(
        f"derivatives need a model with one output, got output shape {tuple(u.shape)}; "
        "build it with width [..., 1]"
    )


def _leaf(x: Tensor) -> Tensor:
    return x if x.requires_grad else x.detach().requires_grad_(True)


def gradient(model: Module, x: Tensor, create_graph: bool = True) -> Tensor:
    """The gradient of the (single) model output with respect to its inputs.

    Parameters
    ----------
    model : KAN or torch.nn.Module
        A network with one output (a KAN, or any module mapping (n, d) to (n, 1)).
    x : Tensor of shape (n, d)
        Points (in the model's dtype and device).
    create_graph : bool
        Keep the graph so that a loss built from the gradient can be trained.

    Returns
    -------
    Tensor of shape (n, d)

    Raises
    ------
    ValueError
        If the model has several outputs or ``x`` is not two-dimensional.
    """
    x = _leaf(x)
    with second_order(model):
        u = _scalar_output(model, x)
        (g,) = torch.autograd.grad(u.sum(), x, create_graph=create_graph)
    return g


def laplacian(model: Module, x: Tensor, create_graph: bool = True) -> Tensor:
    """The Laplacian ``sum_j d^2 u / dx_j^2`` of the model output at every point.

    Parameters
    ----------
    model : KAN or torch.nn.Module
        A network with one output (a KAN, or any module mapping (n, d) to (n, 1)).
    x : Tensor of shape (n, d)
        Points.
    create_graph : bool
        Keep the graph so that a loss built from the Laplacian can be trained.

    Returns
    -------
    Tensor of shape (n,)

    Raises
    ------
    ValueError
        If the model has several outputs or ``x`` is not two-dimensional.
    """
    x = _leaf(x)
    with second_order(model):
        u = _scalar_output(model, x)
        (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        total = torch.zeros_like(u)
        for j in range(x.shape[1]):  # one backward pass per input dimension
            (gj,) = torch.autograd.grad(g[:, j].sum(), x, create_graph=create_graph)
            total = total + gj[:, j]
    return total


def _check_bounds(bounds: Bounds) -> list[tuple[float, float]]:
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in bounds]
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds must be a sequence of (low, high) pairs, e.g. [(-1, 1), (-1, 1)], "
            f"got {bounds!r}"
        ) from None
    if not pairs or any(
        not (math.isfinite(lo) and math.isfinite(hi) and hi > lo) for lo, hi in pairs
    ):
        raise ValueError(
            f"bounds need at least one finite (low, high) pair with high > low, got {bounds!r}"
        )
    return pairs


def _check_n(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")


def _box(n: int, bounds: Bounds, seed: int) -> tuple[torch.Generator, Tensor, Tensor]:
    """Checked arguments: a private generator and the box corners in float64."""
    _check_n(n)
    pairs = _check_bounds(bounds)
    gen = torch.Generator().manual_seed(int(seed))
    lo = torch.tensor([p[0] for p in pairs], dtype=torch.float64)
    hi = torch.tensor([p[1] for p in pairs], dtype=torch.float64)
    return gen, lo, hi


def interior_points(
    n: int,
    bounds: Bounds,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Points drawn uniformly inside the box ``bounds``.

    Parameters
    ----------
    n : int
        Number of points.
    bounds : sequence of (low, high)
        The box, one pair per dimension.
    seed : int
        Seed of a private generator (the global one is untouched).
    dtype, device : optional
        ``None`` follows torch's defaults.

    Returns
    -------
    Tensor of shape (n, d)
    """
    gen, lo, hi = _box(n, bounds, seed)
    u = torch.rand(n, len(lo), generator=gen, dtype=torch.float64)
    return (lo + u * (hi - lo)).to(dtype=dtype or torch.get_default_dtype(), device=device)


def boundary_points(
    n: int,
    bounds: Bounds,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Points drawn uniformly on the surface of the box ``bounds``.

    Each point picks a face with probability proportional to the face's area, then a
    uniform position on it: one coordinate sits exactly on ``low`` or ``high``.

    Parameters
    ----------
    n : int
        Number of points.
    bounds : sequence of (low, high)
        The box, one pair per dimension.
    seed : int
        Seed of a private generator (the global one is untouched).
    dtype, device : optional
        ``None`` follows torch's defaults.

    Returns
    -------
    Tensor of shape (n, d)
    """
    gen, lo, hi = _box(n, bounds, seed)
    widths = hi - lo
    area = torch.stack([widths.prod() / w for w in widths])  # area of the faces normal to j
    dim = torch.multinomial(area, n, replacement=True, generator=gen)
    side = torch.randint(0, 2, (n,), generator=gen)
    x = lo + torch.rand(n, len(lo), generator=gen, dtype=torch.float64) * widths
    rows = torch.arange(n)
    x[rows, dim] = torch.where(side == 1, hi[dim], lo[dim])
    return x.to(dtype=dtype or torch.get_default_dtype(), device=device)


def _field(value: float | FieldFn, x: Tensor) -> Tensor:
    if callable(value):
        out = value(x)
        return out.reshape(x.shape[0]) if out.numel() == x.shape[0] else out
    return torch.full((x.shape[0],), float(value), dtype=x.dtype, device=x.device)


def poisson_residual(model: Module, x: Tensor, source: float | FieldFn) -> Tensor:
    """``laplacian(u)(x) - source(x)`` at every point, shape (n,)."""
    return laplacian(model, x) - _field(source, x)


def poisson_loss(
    model: Module,
    x_interior: Tensor,
    x_boundary: Tensor,
    source: float | FieldFn,
    boundary_value: float | FieldFn = 0.0,
    boundary_weight: float = 100.0,
) -> Tensor:
    """Loss of the Poisson problem ``laplacian(u) = source`` with Dirichlet boundary values.

    ``mean((laplacian(u) - source)^2)`` on the interior points plus ``boundary_weight``
    times ``mean((u - boundary_value)^2)`` on the boundary points.

    Parameters
    ----------
    model : KAN or torch.nn.Module
        A network with one output (a KAN, or any module mapping (n, d) to (n, 1)).
    x_interior, x_boundary : Tensor of shape (n, d)
        Collocation points inside the domain and on its boundary.
    source : float or callable
        ``f`` of the equation, a constant or ``f(x) -> (n,)``.
    boundary_value : float or callable
        ``g`` of the condition ``u = g`` on the boundary, a constant or ``g(x) -> (n,)``.
    boundary_weight : float
        Weight of the boundary term.

    Returns
    -------
    Tensor
        A scalar that can be backpropagated to the model parameters.
    """
    if not (boundary_weight >= 0 and math.isfinite(boundary_weight)):
        raise ValueError(f"boundary_weight must be a finite number >= 0, got {boundary_weight!r}")
    interior = poisson_residual(model, x_interior, source).pow(2).mean()
    u_b = _scalar_output(model, x_boundary)
    boundary = (u_b - _field(boundary_value, x_boundary)).pow(2).mean()
    return interior + boundary_weight * boundary


def _optimizer(model: Module, spec: LBFGS | Adam) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if isinstance(spec, LBFGS):
        return torch.optim.LBFGS(
            params,
            lr=spec.lr,
            max_iter=spec.max_iter,
            history_size=spec.history_size,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-32,
            tolerance_change=1e-32,
        )
    if isinstance(spec, Adam):
        return torch.optim.Adam(params, lr=spec.lr)
    raise TypeError(f"optimizer must be kd.LBFGS(...) or kd.Adam(...), got {spec!r}")


def solve(
    model: Module,
    loss_fn: Callable[[Module], Tensor],
    steps: int = 50,
    optimizer: LBFGS | Adam | None = None,
) -> History:
    """Train ``model`` in place to minimise ``loss_fn(model)`` (e.g. a PDE loss).

    Parameters
    ----------
    model : KAN or torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(model) -> scalar tensor``, e.g. a closure over :func:`poisson_loss`.
    steps : int
        Optimiser steps (an L-BFGS step runs up to ``max_iter`` iterations).
    optimizer : LBFGS or Adam, optional
        Default :class:`~kandiscover.LBFGS`. Adam's ``batch_size`` is ignored: the loss
        function chooses its points.

    Returns
    -------
    History
        ``train_loss`` holds the loss after every step. On a non-finite loss the
        parameters of the previous step are restored and training stops.
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    opt = _optimizer(model, optimizer or LBFGS())
    history, t0 = History(), time.perf_counter()
    for s in range(steps):
        good = {k: v.detach().clone() for k, v in model.state_dict().items()}
        last = _step(model, opt, loss_fn)
        finite = math.isfinite(last) and all(
            bool(torch.isfinite(p).all()) for p in model.parameters()
        )
        if not finite:
            model.load_state_dict(good)
            history.stopped = (
                f"non-finite loss at step {s + 1}; restored the parameters of step {s}"
            )
            warnings.warn(history.stopped, RuntimeWarning, stacklevel=2)
            break
        history.train_loss.append(last)
        history.penalty.append(0.0)
        history.steps = history.best_step = s + 1
    history.seconds = time.perf_counter() - t0
    return history


def _step(model: Module, opt: torch.optim.Optimizer, loss_fn: Callable[[Module], Tensor]) -> float:
    """One optimiser step; returns the loss of its last evaluation."""
    last = [math.nan]

    def closure() -> Tensor:
        opt.zero_grad()
        loss = loss_fn(model)
        loss.backward()
        for p in model.parameters():  # einsum may leave strided gradients; L-BFGS views them
            if p.grad is not None and not p.grad.is_contiguous():
                p.grad = p.grad.contiguous()
        last[0] = float(loss.detach())
        return loss

    opt.step(closure)
    return last[0]
