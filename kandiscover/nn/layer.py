"""One KAN layer: a learnable function on every (output, input) edge, summed per output.

Every edge computes

    phi(x) = scale_base * base(x) + scale_spline * spline(x)       (numeric edge)
    phi(x) = c * f(a * x + b) + d                                  (symbolic edge)

and output ``o`` is ``bias[o] + sum_i mask[o, i] * phi_{o,i}(x_i)``. Outside its grid a
spline continues as the straight line that touches it at the grid end.

The numeric part of the forward pass is one feature tensor contracted with one weight
tensor: a single matrix product. On a uniform grid with the SiLU base (the default) it
runs in the hand-written kernel of :mod:`kandiscover.nn.fused` (the ``k + 1`` live basis
functions, continued by their tangents beyond the grid, and the base function: ``G + k +
1`` features); otherwise :meth:`KANLayer.features` builds ``(batch, n_in, G + k + 3)``
features (the basis, two extrapolation features and the base function) for autograd.
Symbolic edges are evaluated grouped by primitive, never one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from . import bspline
from .fused import LayerArgs, uniform_network

__all__ = ["KANLayer", "SymbolicFunction"]

SymbolicFunction = tuple[str, Callable[[Tensor], Tensor]]

_BASE_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "silu": torch.nn.functional.silu,
    "zero": torch.zeros_like,
    "identity": lambda x: x,
}


class KANLayer(nn.Module):
    """A layer of ``n_out x n_in`` learnable edge functions.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and outputs.
    grid : int
        Number of grid intervals ``G``.
    k : int
        Spline order (1 = piecewise linear, 3 = cubic).
    grid_range : tuple of float
        Initial inner interval of every input.
    base : {"silu", "identity", "zero"}
        Residual base function.
    noise_scale : float
        Scale of the random initial spline coefficients.
    generator : torch.Generator, optional
        Source of randomness for the initial parameters.
    dtype, device : optional
        Where the parameters live; ``None`` follows torch's defaults.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        grid: int = 5,
        k: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        base: str = "silu",
        noise_scale: float = 0.3,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        _check_layer_args(n_in, n_out, grid, k, grid_range, base)
        self.n_in, self.n_out, self.grid_size, self.k, self.base = n_in, n_out, grid, k, base
        kw = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        lo = torch.full((n_in,), float(grid_range[0]), **kw)
        hi = torch.full((n_in,), float(grid_range[1]), **kw)
        self.register_buffer("knots", bspline.uniform_grid(lo, hi, grid, k))
        self.register_buffer("end_derivs", self._basis_derivs_at_ends())
        self.register_buffer("grid_ends", self._grid_ends())
        self.uniform = True
        n_basis = grid + k
        noise = torch.rand(n_out, n_in, n_basis, generator=generator, dtype=torch.float64) - 0.5
        self.coef = nn.Parameter((noise * noise_scale / grid).to(**kw))
        sb = (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) / n_in**0.5
        scales = torch.stack([sb, torch.full_like(sb, 1.0)], dim=-1)
        self.scales = nn.Parameter(scales.to(**kw))  # (..., 0) base, (..., 1) spline
        self.bias = nn.Parameter(torch.zeros(n_out, **kw))
        self.register_buffer("mask", torch.ones(n_out, n_in, **kw))
        self.register_buffer("sym_mask", torch.zeros(n_out, n_in, **kw))
        self.register_buffer("sym_index", torch.zeros(n_out, n_in, dtype=torch.long, device=device))
        affine = torch.tensor([1.0, 0.0, 1.0, 0.0], **kw).expand(n_out, n_in, 4).clone()
        self.sym_affine = nn.Parameter(affine)  # a, b, c, d of c * f(a * x + b) + d
        self.sym_functions: tuple[SymbolicFunction, ...] = ()
        self.fused = True  # False: plain autograd, needed for higher-order derivatives

    # ------------------------------------------------------------------ grid
    @property
    def lo(self) -> Tensor:
        """Left end of each input's grid, shape (n_in,)."""
        return self.knots[:, self.k]

    @property
    def hi(self) -> Tensor:
        """Right end of each input's grid, shape (n_in,)."""
        return self.knots[:, self.k + self.grid_size]

    def spline_basis(self, x: Tensor) -> Tensor:
        """Basis values at ``x`` clamped to the grid, shape (batch, n_in, G + k)."""
        xc = torch.clamp(x, self.lo, self.hi)
        return bspline.basis(xc, self.knots, self.k, self.uniform)

    def _basis_derivs_at_ends(self) -> Tensor:
        """Derivative of every basis function at both grid ends, shape (2, n_in, G + k)."""
        return bspline.basis_derivative(torch.stack([self.lo, self.hi]), self.knots, self.k)

    def _grid_ends(self) -> Tensor:
        """``lo``, ``hi`` and ``1 / h`` (uniform spacing) of each input, shape (3, n_in)."""
        lo, hi = self.lo, self.hi
        return torch.stack([lo, hi, self.grid_size / (hi - lo)])

    def set_knots(self, knots: Tensor, uniform: bool) -> None:
        """Replace the knots (shape (n_in, G + 2k + 1)); coefficients are left as they are."""
        self.grid_size = knots.shape[1] - 2 * self.k - 1
        self.knots = knots.to(self.knots)
        self.uniform = uniform
        self.end_derivs = self._basis_derivs_at_ends()
        self.grid_ends = self._grid_ends()

    # --------------------------------------------------------------- forward
    def features(self, x: Tensor) -> Tensor:
        """Per-input features whose weighted sum gives every numeric edge.

        Returns
        -------
        Tensor of shape (batch, n_in, G + k + 3)
            The spline basis, the distances below and above the grid (for the linear
            extension) and the base function.
        """
        lo, hi = self.lo, self.hi
        below = (x - lo).clamp_max(0.0)
        above = (x - hi).clamp_min(0.0)
        base = _BASE_FUNCTIONS[self.base](x)
        extra = torch.stack([below, above, base], dim=-1)
        return torch.cat([self.spline_basis(x), extra], dim=-1)

    def weights(self) -> Tensor:
        """Weights matching :meth:`features`, masked, shape (n_out, n_in, G + k + 3)."""
        coef = self.coef * self.scales[..., 1:2]
        slopes = torch.einsum("oik,eik->oie", coef, self.end_derivs)
        w = torch.cat([coef, slopes, self.scales[..., 0:1]], dim=-1)
        return w * self._numeric_mask().unsqueeze(-1)

    def _numeric_mask(self) -> Tensor:
        """1 for the edges computed by their spline and base function, shape (n_out, n_in)."""
        return torch.addcmul(self.mask, self.mask, self.sym_mask, value=-1.0)

    def fused_args(self, n_mult: int = 0) -> LayerArgs | None:
        """The layer as the fused kernel takes it, or ``None`` where the kernel does not
        apply (non-uniform grid, a base other than SiLU, ``fused`` off)."""
        if not (self.fused and self.uniform and self.base == "silu"):
            return None
        mask = self._fused_mask()
        return LayerArgs(self.coef, self.scales, self.bias, mask, self.grid_ends, self.k, n_mult)

    def _fused_mask(self) -> Tensor | None:
        """The numeric mask, or ``None`` when every edge is numeric and on; checked again
        only when the masks change (their version counters move)."""
        mask, sym = self.mask, self.sym_mask
        key = (id(mask), mask._version, id(sym), sym._version, bool(self.sym_functions))
        cached = getattr(self, "_fused_mask_cache", None)
        if cached is None or cached[0] != key:
            numeric = self._numeric_mask() if self.sym_functions else mask
            cached = self._fused_mask_cache = (key, None if bool(numeric.all()) else numeric)
        return cached[1]

    def forward(self, x: Tensor) -> Tensor:
        """Evaluate the layer, ``x`` of shape (batch, n_in) -> (batch, n_out)."""
        args = self.fused_args()
        if args is not None:
            out = uniform_network(x, [args])
        else:
            feats = self.features(x).reshape(x.shape[0], -1)
            out = torch.addmm(self.bias, feats, self.weights().reshape(self.n_out, -1).T)
        if self.sym_functions:
            out = out + self._symbolic_sum(x)
        return out

    def forward_with_edges(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The layer output and every edge's output, as ``forward`` and ``edge_values``."""
        vals = self.edge_values(x)
        return vals.sum(-1) + self.bias, vals

    def edge_values(self, x: Tensor) -> Tensor:
        """Every edge's output, masked, shape (batch, n_out, n_in)."""
        vals = torch.einsum("bif,oif->boi", self.features(x), self.weights())
        if self.sym_functions:
            vals = vals + self._symbolic_edges(x)
        return vals

    # -------------------------------------------------------------- symbolic
    def _symbolic_groups(self):
        """Yield ``(function, out_idx, in_idx, affine)`` for each primitive in use."""
        live = (self.sym_mask * self.mask) > 0
        for p, (_, fn) in enumerate(self.sym_functions):
            o, i = torch.nonzero(live & (self.sym_index == p), as_tuple=True)
            if o.numel():
                yield fn, o, i, self.sym_affine[o, i]

    def _symbolic_edges(self, x: Tensor) -> Tensor:
        vals = x.new_zeros(x.shape[0], self.n_out, self.n_in)
        for fn, o, i, p in self._symbolic_groups():
            vals[:, o, i] = _affine_eval(fn, x[:, i], p)
        return vals

    def _symbolic_sum(self, x: Tensor) -> Tensor:
        out = x.new_zeros(x.shape[0], self.n_out)
        for fn, o, i, p in self._symbolic_groups():
            out = out.index_add(1, o, _affine_eval(fn, x[:, i], p))
        return out

    def set_symbolic(
        self,
        out_idx: int,
        in_idx: int,
        function: SymbolicFunction,
        affine: Sequence[float],
    ) -> None:
        """Fix edge ``(out_idx, in_idx)`` to ``c * f(a * x + b) + d``.

        Parameters
        ----------
        function : (name, torch function)
            The primitive; functions are shared by name within the layer.
        affine : sequence of 4 floats
            ``(a, b, c, d)``.
        """
        names = [n for n, _ in self.sym_functions]
        if function[0] in names:
            p = names.index(function[0])
        else:
            self.sym_functions = (*self.sym_functions, function)
            p = len(self.sym_functions) - 1
        with torch.no_grad():
            self.sym_index[out_idx, in_idx] = p
            self.sym_mask[out_idx, in_idx] = 1.0
            self.sym_affine[out_idx, in_idx] = torch.as_tensor(
                [float(v) for v in affine], dtype=self.sym_affine.dtype
            )

    def unset_symbolic(self, out_idx: int, in_idx: int) -> None:
        """Return edge ``(out_idx, in_idx)`` to its numeric spline."""
        with torch.no_grad():
            self.sym_mask[out_idx, in_idx] = 0.0

    def symbolic_edge(self, out_idx: int, in_idx: int) -> tuple[str, list[float]] | None:
        """The primitive name and ``(a, b, c, d)`` of a symbolic edge, or ``None``."""
        if self.sym_mask[out_idx, in_idx] == 0:
            return None
        name = self.sym_functions[int(self.sym_index[out_idx, in_idx])][0]
        return name, [float(v) for v in self.sym_affine[out_idx, in_idx].detach()]

    # ------------------------------------------------------------ structure
    def subset(self, out_idx: Sequence[int], in_idx: Sequence[int]) -> KANLayer:
        """A new layer keeping only the given outputs and inputs."""
        o = torch.as_tensor(list(out_idx), dtype=torch.long, device=self.knots.device)
        i = torch.as_tensor(list(in_idx), dtype=torch.long, device=self.knots.device)
        new = KANLayer.__new__(KANLayer)
        nn.Module.__init__(new)
        new.n_in, new.n_out = len(i), len(o)
        new.grid_size, new.k, new.base, new.uniform = (
            self.grid_size,
            self.k,
            self.base,
            self.uniform,
        )
        new.sym_functions = self.sym_functions
        new.fused = self.fused
        with torch.no_grad():
            new.register_buffer("knots", self.knots[i].clone())
            new.register_buffer("end_derivs", self.end_derivs[:, i].clone())
            new.register_buffer("grid_ends", self.grid_ends[:, i].clone())
            for name in ("coef", "scales", "sym_affine"):
                setattr(new, name, nn.Parameter(getattr(self, name)[o][:, i].clone()))
            new.bias = nn.Parameter(self.bias[o].clone())
            for name in ("mask", "sym_mask", "sym_index"):
                new.register_buffer(name, getattr(self, name)[o][:, i].clone())
        return new

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, grid={self.grid_size}, k={self.k}"


def _affine_eval(fn: Callable[[Tensor], Tensor], x: Tensor, p: Tensor) -> Tensor:
    """``c * f(a * x + b) + d`` for a batch of edges; ``p`` has shape (n_edges, 4)."""
    return p[:, 2] * fn(p[:, 0] * x + p[:, 1]) + p[:, 3]


def _check_layer_args(n_in, n_out, grid, k, grid_range, base) -> None:
    for name, value in (("n_in", n_in), ("n_out", n_out), ("grid", grid)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (the spline order) must be an integer >= 1, got {k!r}")
    lo, hi = grid_range
    if not hi > lo:
        raise ValueError(f"grid_range must be (low, high) with high > low, got {grid_range!r}")
    if base not in _BASE_FUNCTIONS:
        raise ValueError(f"base must be one of {sorted(_BASE_FUNCTIONS)}, got {base!r}")
