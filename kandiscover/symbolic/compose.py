"""The network with its snapped edges, as one SymPy expression.

Composition reads exactly what the forward pass reads: the edge masks, the symbolic
masks, each symbolic edge's primitive and ``(a, b, c, d)``, the node biases and the
product nodes. An edge that is alive but still numeric (a spline) has no formula, and
composing refuses it by default rather than silently dropping it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy
import torch

from ..nn.network import KAN
from .library import DEFAULT_LIBRARY, Library

__all__ = ["NumericEdgeError", "formula", "numeric_edges"]


class NumericEdgeError(ValueError):
    """Raised when a live edge has not been snapped to a primitive."""


def numeric_edges(model: KAN) -> list[tuple[int, int, int]]:
    """``(layer, out, in)`` of every live edge that is still a spline."""
    found = []
    for l, layer in enumerate(model.layers):
        live = (layer.mask > 0) & (layer.sym_mask == 0)
        found += [(l, int(o), int(i)) for o, i in torch.nonzero(live).tolist()]
    return found


def _symbols(model: KAN, names: Sequence[str] | None) -> list[sympy.Symbol]:
    n = model.n_source_inputs
    if names is None:
        names = [f"x_{i + 1}" for i in range(n)]
    names = list(names)
    if len(names) != n:
        raise ValueError(
            f"names must give {n} input names (one per input column), got {len(names)}"
        )
    syms = [sympy.Symbol(s) for s in names]
    return [syms[i] for i in model.input_index]


def formula(
    model: KAN,
    names: Sequence[str] | None = None,
    library: Library = DEFAULT_LIBRARY,
    digits: int | None = None,
) -> sympy.Expr | list[sympy.Expr]:
    """The function the network computes, as SymPy (one expression per output).

    Parameters
    ----------
    model : KAN
        Every live edge must be symbolic (see :func:`kandiscover.snap`).
    names : sequence of str, optional
        Names of the original input columns (default ``x_1, x_2, ...``).
    library : Library
        Where the SymPy form of each primitive is looked up by name.
    digits : int, optional
        Round every constant to this many significant digits (for display only: the
        exact formula is the one that equals the network).

    Returns
    -------
    sympy.Expr, or a list of them for several outputs.

    Raises
    ------
    NumericEdgeError
        If a live edge is still a spline; the message lists the edges.
    ValueError
        If ``digits`` is not a positive int or None.
    """
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int)):
        raise ValueError(f"digits must be a positive int or None, got {digits!r}")
    if digits is not None and digits < 1:
        raise ValueError(f"digits must be a positive int or None, got {digits!r}")
    with torch.no_grad():
        return _formula(model, names, library, digits)


def _formula(model, names, library, digits):
    pending = numeric_edges(model)
    if pending:
        shown = ", ".join(f"(layer {l}, out {o}, in {i})" for l, o, i in pending[:6])
        more = f" and {len(pending) - 6} more" if len(pending) > 6 else ""
        raise NumericEdgeError(
            f"{len(pending)} live edge(s) are still splines: {shown}{more}; "
            "call kd.snap(model, X) first, or prune them"
        )
    nodes: list[sympy.Expr] = list(_symbols(model, names))
    for l, layer in enumerate(model.layers):
        sub = [_node_sum(layer, o, nodes, library) for o in range(layer.n_out)]
        nodes = _combine(model, l, sub)
    if digits is not None:
        nodes = [_round(e, digits) for e in nodes]
    return nodes[0] if len(nodes) == 1 else nodes


def _node_sum(layer, o: int, inputs: list[sympy.Expr], library: Library) -> sympy.Expr:
    total: sympy.Expr = sympy.Float(float(layer.bias[o]))
    for i, x in enumerate(inputs):
        edge = layer.symbolic_edge(o, i)
        if edge is None or layer.mask[o, i] == 0:
            continue
        name, (a, b, c, d) = edge
        f = library[name].sympy_fn
        total += sympy.Float(c) * f(sympy.Float(a) * x + sympy.Float(b)) + sympy.Float(d)
    return total


def _combine(model: KAN, l: int, sub: list[sympy.Expr]) -> list[sympy.Expr]:
    n_sum, n_mult = model.width[l + 1]
    pairs = sub[n_sum:]
    return sub[:n_sum] + [pairs[2 * m] * pairs[2 * m + 1] for m in range(n_mult)]


def _round(expr: sympy.Expr, digits: int) -> sympy.Expr:
    return expr.xreplace({f: sympy.Float(f, digits) for f in expr.atoms(sympy.Float)})
