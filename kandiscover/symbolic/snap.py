"""Snapping: replace every live spline edge by its best-fitting primitive.

Each edge is sampled densely over the real range of its input (the range the data
reaches in that layer), never from the last batch that happened to pass through. All
edges of all layers are then fitted against the whole library in one batched call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .._arrays import as_tensor_2d
from ..nn.network import KAN
from .compose import numeric_edges
from .edgefit import Candidate, fit_edges
from .library import DEFAULT_LIBRARY, Library

__all__ = ["EdgeChoice", "edge_samples", "snap"]

#: Relative error below which a spline edge counts as matched exactly: a spline is
#: itself only an approximation, so among candidates this good the simplest wins.
SPLINE_FLOOR = 1e-5


@dataclass(frozen=True)
class EdgeChoice:
    """The candidates of one edge and the one it was fixed to.

    Attributes
    ----------
    layer, out, inp : int
        Position of the edge.
    candidates : tuple of Candidate
        Ranked best first (see :func:`kandiscover.symbolic.edgefit.fit_edges`).
    chosen : Candidate
        The candidate the edge now computes.
    """

    layer: int
    out: int
    inp: int
    candidates: tuple[Candidate, ...]
    chosen: Candidate


@torch.no_grad()
def edge_samples(model: KAN, X: Any, n: int = 400) -> list[tuple[Tensor, Tensor]]:
    """Dense samples of every edge over the range its input takes on ``X``.

    Returns
    -------
    list of (x, values)
        Per layer: ``x`` of shape (n, n_in), evenly spaced over each input's range, and
        the edge outputs at those points, shape (n, n_out, n_in).
    """
    p = next(model.parameters())
    acts = model.layer_inputs(as_tensor_2d(X, "X", p.dtype, p.device))
    out = []
    for layer, a in zip(model.layers, acts[:-1], strict=False):
        lo, hi = a.min(0).values, a.max(0).values
        u = torch.linspace(0, 1, n, dtype=a.dtype, device=a.device)[:, None]
        x = lo + u * (hi - lo)
        out.append((x, layer.edge_values(x)))
    return out


def snap(
    model: KAN,
    X: Any,
    library: Library = DEFAULT_LIBRARY,
    *,
    weight: float = 1.0,
    floor: float = SPLINE_FLOOR,
    top: int = 3,
    edges: Sequence[tuple[int, int, int]] | None = None,
    n_samples: int = 400,
) -> list[EdgeChoice]:
    """Fix every live spline edge of ``model`` (in place) to its best primitive.

    Parameters
    ----------
    model : KAN
        The trained (usually pruned) network.
    X : array-like of shape (n, n_inputs)
        Inputs that define the range of every edge.
    library : Library
        Primitives to choose from.
    weight : float
        Price of one unit of complexity in the selection score (the one knob).
    floor : float
        Relative error under which fits count as exact (then the simplest wins).
    top : int
        Candidates kept per edge, for the pipeline to try combinations.
    edges : sequence of (layer, out, in), optional
        Only these edges (default: every live spline edge).
    n_samples : int
        Samples per edge.

    Returns
    -------
    list of EdgeChoice
    """
    todo = list(edges) if edges is not None else numeric_edges(model)
    if not todo:
        return []
    samples = edge_samples(model, X, n_samples)
    xs = torch.stack([samples[l][0][:, i] for l, _, i in todo])
    ys = torch.stack([samples[l][1][:, o, i] for l, o, i in todo])
    fits = fit_edges(xs, ys, library, top=top, weight=weight, floor=floor)
    choices = []
    for (l, o, i), fit in zip(todo, fits, strict=True):
        if not fit.candidates:  # nothing fits it finitely: the edge stays a spline
            continue
        best = fit.best
        apply_candidate(model, l, o, i, best, library)
        choices.append(EdgeChoice(l, o, i, fit.candidates, best))
    return choices


def apply_candidate(
    model: KAN, l: int, o: int, i: int, cand: Candidate, library: Library = DEFAULT_LIBRARY
) -> None:
    """Make edge ``(l, o, i)`` compute ``cand``."""
    prim = library[cand.primitive]
    model.set_symbolic(l, o, i, (prim.name, prim.torch_fn), (cand.a, cand.b, cand.c, cand.d))
