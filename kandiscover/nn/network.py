"""The KAN: layers of edge functions joined by sum nodes and product nodes.

``width`` lists the nodes of every layer, inputs first and outputs last. An entry is
either an integer (that many sum nodes) or a pair ``(n_sum, n_mult)``: ``n_mult`` product
nodes follow the sum nodes, and each multiplies two consecutive outputs of the layer
below. So the layer that feeds a ``(n_sum, n_mult)`` node layer has
``n_sum + 2 * n_mult`` outputs ("subnodes").
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._validate import check_integer, check_number, check_seed
from . import bspline
from .fused import FeatureCache, LayerArgs, uniform_network
from .layer import _BASE_FUNCTIONS as _BASES
from .layer import KANLayer, SymbolicFunction
from .plan import PlanPool, planned

__all__ = ["KAN", "normalize_width"]

Width = Sequence[int | Sequence[int]]


def normalize_width(width: Width) -> list[tuple[int, int]]:
    """Turn a width specification into ``[(n_sum, n_mult), ...]``, checking it.

    Raises
    ------
    ValueError
        For fewer than two layers, a negative or empty layer, or product nodes on the
        inputs.
    TypeError
        For an entry that is neither an integer nor a pair of integers (e.g. ``1.5``).
    """
    if isinstance(width, (str, bytes)) or not isinstance(width, Sequence) or len(width) < 2:
        raise ValueError(f"width must list at least an input and an output layer, got {width!r}")
    out = []
    for pos, entry in enumerate(width):
        accepted = f"width[{pos}] must be an int or a pair (n_sum, n_mult) of ints >= 0"
        if _is_int(entry):
            pair = (int(entry), 0)
        elif isinstance(entry, Sequence) and not isinstance(entry, (str, bytes)):
            pair = tuple(entry)
        else:
            raise TypeError(f"{accepted}, got {entry!r} ({type(entry).__name__})")
        if len(pair) == 2 and not all(_is_int(v) for v in pair):
            raise TypeError(f"{accepted}, got {entry!r}")
        if len(pair) != 2 or not all(v >= 0 for v in pair):
            raise ValueError(f"{accepted}, got {entry!r}")
        pair = (int(pair[0]), int(pair[1]))
        if sum(pair) < 1:
            raise ValueError(f"width[{pos}] has no nodes: {entry!r}")
        if pos == 0 and pair[1]:
            raise ValueError(f"the input layer cannot have product nodes, got width[0]={entry!r}")
        out.append(pair)
    return out


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_args(grid, k, seed, grid_range, base, noise_scale, dtype) -> dict:
    """The checked configuration of a :class:`KAN` (plain Python numbers)."""
    bad_range = f"grid_range must be (low, high) with high > low, got {grid_range!r}"
    if isinstance(grid_range, (str, bytes)) or not isinstance(grid_range, Sequence):
        raise TypeError(bad_range)
    if len(grid_range) != 2:
        raise ValueError(bad_range)
    lo, hi = (
        check_number("grid_range", v, what="(low, high) of finite numbers") for v in grid_range
    )
    if not hi > lo:
        raise ValueError(bad_range)
    if base not in _BASES:
        raise ValueError(f"base must be one of {sorted(_BASES)}, got {base!r}")
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(
            f"dtype must be None or a floating-point torch.dtype (e.g. torch.float64), "
            f"got {dtype!r}"
        )
    return {
        "grid": check_integer("grid", grid, 1, what="a positive integer"),
        "k": check_integer("k (the spline order)", k, 1),
        "seed": check_seed(seed),
        "grid_range": (lo, hi),
        "base": base,
        "noise_scale": check_number("noise_scale", noise_scale, 0.0),
    }


class KAN(nn.Module):
    """A Kolmogorov–Arnold network.

    Parameters
    ----------
    width : sequence of int or (int, int)
        Nodes per layer, e.g. ``[2, 5, 1]`` or ``[2, (0, 1), 1]`` (one product node).
    grid : int
        Grid intervals of every spline.
    k : int
        Spline order.
    seed : int
        Seed of the initial parameters (a private generator; global state is untouched).
    grid_range : (float, float)
        Initial grid of every input; grids follow the data after :func:`update_grid`.
    base : {"silu", "identity", "zero"}
        Residual base function of every edge.
    noise_scale : float
        Scale of the random initial spline coefficients.
    dtype, device : optional
        ``None`` follows torch's defaults.

    Raises
    ------
    TypeError
        For an argument of the wrong type (``seed=1.5``, ``grid="5"``, ``width=[2, 1.5]``,
        an integer ``dtype``).
    ValueError
        For a value out of range (``grid=0``, ``k=-1``, ``noise_scale=nan``,
        ``grid_range=(1, 0)``, an unknown ``base``, a bad ``width``).

    Examples
    --------
    >>> model = KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
    >>> model(torch.zeros(4, 2)).shape
    torch.Size([4, 1])
    """

    def __init__(
        self,
        width: Width,
        grid: int = 5,
        k: int = 3,
        seed: int = 0,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        base: str = "silu",
        noise_scale: float = 0.3,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.width = normalize_width(width)
        self.config = _check_args(grid, k, seed, grid_range, base, noise_scale, dtype)
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg["seed"])
        self.layers = nn.ModuleList(
            KANLayer(
                sum(self.width[l]),
                self.width[l + 1][0] + 2 * self.width[l + 1][1],
                grid=cfg["grid"],
                k=cfg["k"],
                grid_range=cfg["grid_range"],
                base=base,
                noise_scale=cfg["noise_scale"],
                generator=gen,
                dtype=dtype,
                device=device,
            )
            for l in range(len(self.width) - 1)
        )
        n_in = self.width[0][0]
        self.input_index: tuple[int, ...] = tuple(range(n_in))
        self.n_source_inputs = n_in
        self._first_features = FeatureCache()
        self._plans = PlanPool()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """As :meth:`torch.nn.Module.zero_grad`; walks the layers directly (the generic
        walk through the module tree costs as much as a small network's backward pass)."""
        plain = not self._parameters and list(self._modules) == ["layers"]
        if not plain or any(layer._modules for layer in self.layers):
            super().zero_grad(set_to_none)  # a subclass added parameters or modules
            return
        for layer in self.layers:
            for p in layer._parameters.values():
                if p is None or p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_first_features"] = FeatureCache()  # never copy or pickle cached features
        state["_plans"] = PlanPool()
        return state

    # ------------------------------------------------------------------ shape
    @property
    def n_inputs(self) -> int:
        """Number of inputs the first layer reads."""
        return self.width[0][0]

    @property
    def n_outputs(self) -> int:
        """Number of network outputs."""
        return sum(self.width[-1])

    def select_inputs(self, x: Tensor) -> Tensor:
        """Accept either the model's own inputs or the original, wider input table.

        A pruned model that dropped inputs keeps the column indices it reads
        (``input_index``), so it can be called with the data it was trained on.
        """
        if x.ndim != 2:
            raise ValueError(f"expected inputs of shape (n, n_inputs), got shape {tuple(x.shape)}")
        if x.shape[1] == self.n_inputs:
            return x
        if x.shape[1] == self.n_source_inputs:
            return x[:, list(self.input_index)]
        raise ValueError(
            f"the model takes {self.n_inputs} input columns"
            + (
                f" (or the original {self.n_source_inputs})"
                if self.n_source_inputs != self.n_inputs
                else ""
            )
            + f", got {x.shape[1]}"
        )

    # ---------------------------------------------------------------- forward
    def combine_nodes(self, l: int, sub: Tensor) -> Tensor:
        """Turn the outputs of layer ``l`` into the nodes of layer ``l + 1``."""
        n_sum, n_mult = self.width[l + 1]
        if not n_mult:
            return sub
        pairs = sub[:, n_sum:]
        return torch.cat([sub[:, :n_sum], pairs[:, 0::2] * pairs[:, 1::2]], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """Evaluate the network, ``x`` of shape (batch, n_inputs) -> (batch, n_outputs)."""
        x = self.select_inputs(x)
        fused = self.fused_args()
        if fused is not None:
            lent = self._plans.get(self, x, fused)
            if lent is not None:
                return planned(x, *lent, fused)
            return uniform_network(x, fused, self._first_features.get(x, fused[0]))
        for l, layer in enumerate(self.layers):
            x = self.combine_nodes(l, layer(x))
        return x

    def fused_args(self) -> list[LayerArgs] | None:
        """Every layer as the fused kernel takes it, or ``None`` unless all qualify and
        none has symbolic edges."""
        out = []
        for l, layer in enumerate(self.layers):
            args = None if layer.sym_functions else layer.fused_args(self.width[l + 1][1])
            if args is None:
                return None
            out.append(args)
        return out

    def layer_inputs(self, x: Tensor) -> list[Tensor]:
        """The input of every layer, then the output: ``len(layers) + 1`` tensors."""
        x = self.select_inputs(x)
        acts = [x]
        for l, layer in enumerate(self.layers):
            x = self.combine_nodes(l, layer(x))
            acts.append(x)
        return acts

    def edge_values(self, x: Tensor) -> list[Tensor]:
        """Every edge's output per layer, each of shape (batch, n_out, n_in)."""
        acts = self.layer_inputs(x)
        return [layer.edge_values(a) for layer, a in zip(self.layers, acts[:-1], strict=False)]

    # ------------------------------------------------------------------- grids
    @torch.no_grad()
    def update_grid(self, x: Tensor, eps: float = 1.0) -> None:
        """Move every grid to the range of the data and refit the splines to keep them.

        Parameters
        ----------
        x : Tensor of shape (n, n_inputs)
            Samples of the inputs; each layer's grid follows its own inputs.
        eps : float
            1 for uniform grids over the data range, 0 for grids at the sample quantiles.
        """
        x = self.select_inputs(x)
        for l, layer in enumerate(self.layers):
            knots = bspline.adaptive_grid(x, layer.grid_size, layer.k, eps)
            _refit_to_knots(layer, x, knots, uniform=eps >= 1.0)
            x = self.combine_nodes(l, layer(x))

    @torch.no_grad()
    def refine(self, grid: int) -> KAN:
        """A copy of the model on finer (or coarser) grids computing the same function.

        Going from ``G`` to a multiple of ``G`` intervals is exact up to rounding; other
        sizes are least-squares approximations.
        """
        if not isinstance(grid, int) or grid < 1:
            raise ValueError(f"grid must be a positive integer, got {grid!r}")
        new = self.clone()
        new.config["grid"] = grid
        for layer in new.layers:
            n = max(40 * (grid + layer.k), 400)
            u = torch.linspace(0, 1, n, dtype=layer.knots.dtype, device=layer.knots.device)
            inner = layer.knots[:, layer.k : layer.k + layer.grid_size + 1]
            x = _interp_rows(inner, u)  # (n_in, n): dense samples on the old inner grid
            knots = _refined_knots(inner, grid, layer.k)
            _refit_to_knots(layer, x.T, knots, uniform=layer.uniform)
        return new

    # ---------------------------------------------------------------- symbolic
    def set_symbolic(
        self, l: int, out_idx: int, in_idx: int, function: SymbolicFunction, affine
    ) -> None:
        """Fix edge ``(l, out_idx, in_idx)`` to ``c * f(a * x + b) + d``."""
        self.layers[l].set_symbolic(out_idx, in_idx, function, affine)

    def clone(self) -> KAN:
        """A deep copy (parameters, grids, masks and symbolic edges)."""
        new = KAN.__new__(KAN)
        nn.Module.__init__(new)
        new.width = list(self.width)
        new.config = dict(self.config)
        new.layers = nn.ModuleList(
            layer.subset(range(layer.n_out), range(layer.n_in)) for layer in self.layers
        )
        new.input_index = self.input_index
        new.n_source_inputs = self.n_source_inputs
        new._first_features = FeatureCache()
        new._plans = PlanPool()
        return new

    def extra_repr(self) -> str:
        w = [a if not b else (a, b) for a, b in self.width]
        return f"width={w}, grid={self.config['grid']}, k={self.config['k']}"


def _interp_rows(inner: Tensor, u: Tensor) -> Tensor:
    """Piecewise-linear map of ``u`` in [0, 1] onto each row's knot positions."""
    m = inner.shape[1]
    pos = u * (m - 1)
    j = pos.floor().long().clamp(max=m - 2)
    w = pos - j
    return inner[:, j] * (1 - w) + inner[:, j + 1] * w


def _refined_knots(inner: Tensor, grid: int, k: int) -> Tensor:
    """Knots with ``grid`` intervals following the old inner knots, extended by ``k``."""
    u = torch.linspace(0, 1, grid + 1, dtype=inner.dtype, device=inner.device)
    new_inner = _interp_rows(inner, u)
    h_l = (new_inner[:, 1] - new_inner[:, 0])[:, None]
    h_r = (new_inner[:, -1] - new_inner[:, -2])[:, None]
    ext = torch.arange(1, k + 1, dtype=inner.dtype, device=inner.device)
    return torch.cat(
        [new_inner[:, :1] - h_l * ext.flip(0), new_inner, new_inner[:, -1:] + h_r * ext], 1
    )


def _refit_to_knots(layer: KANLayer, x: Tensor, knots: Tensor, uniform: bool) -> None:
    """Put ``layer`` on ``knots`` and refit its splines to their values at ``x``."""
    feats = layer.features(x)[..., :-1]  # basis and extrapolation features, no base
    slopes = torch.einsum("oik,eik->oie", layer.coef, layer.end_derivs)
    old = torch.einsum("bif,oif->boi", feats, torch.cat([layer.coef, slopes], -1))
    layer.set_knots(knots, uniform)
    xc = torch.clamp(x, layer.lo, layer.hi)
    new_basis = bspline.basis(xc, layer.knots, layer.k, layer.uniform)
    layer.coef.data = bspline.fit_coefficients(new_basis, old).to(layer.coef)
