"""Pictures of a KAN and of a discovery: the network, the Pareto front, the fit.

Every function draws on a :class:`matplotlib.figure.Figure` built through the object API
(never pyplot), so nothing opens a window and nothing touches global state; pass ``ax``
to draw into an axes of your own figure. :func:`to_networkx` gives the same network as a
graph for further analysis.

Node layers are drawn bottom (inputs) to top (outputs). Every live edge is shown as its
learned function, drawn over the range its input takes on the data, in a small inset
between its two nodes; the stronger the edge (its attribution score), the darker it is
drawn. Edges fixed to a primitive are drawn in colour and labelled with its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._arrays import as_tensor_2d
from .nn.network import KAN
from .prune import attribution
from .symbolic.snap import edge_samples

__all__ = [
    "plot_decomposition",
    "plot_fit",
    "plot_network",
    "plot_pareto",
    "plot_result",
    "to_networkx",
]

_SPLINE_COLOR = "black"
_SYMBOLIC_COLOR = "tab:red"


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


# ------------------------------------------------------------------ structure
def _target_node(model: KAN, l: int, o: int) -> tuple[int, int | None]:
    """The node of layer ``l + 1`` fed by output ``o`` of layer ``l``, and the factor.

    The factor is ``None`` for a sum node, else 0 or 1 (which factor of the product).
    """
    n_sum = model.width[l + 1][0]
    if o < n_sum:
        return o, None
    return n_sum + (o - n_sum) // 2, (o - n_sum) % 2


def _live_edges(model: KAN) -> list[tuple[int, int, int]]:
    """``(layer, out, in)`` of every edge whose mask is on, in drawing order."""
    edges = []
    for l, layer in enumerate(model.layers):
        live = torch.nonzero(layer.mask > 0).tolist()
        edges += [(l, o, i) for o, i in sorted(live, key=lambda p: (p[1], p[0]))]
    return edges


def _edge_kind(model: KAN, l: int, o: int, i: int) -> tuple[str, list[float] | None]:
    with torch.no_grad():
        sym = model.layers[l].symbolic_edge(o, i)
    return ("spline", None) if sym is None else (sym[0], sym[1])


def _node_names(
    model: KAN, names: Sequence[str] | None, output_names: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    n_src, n_out = model.n_source_inputs, model.n_outputs
    src = list(names) if names is not None else [f"x_{j + 1}" for j in range(n_src)]
    outs = list(output_names) if output_names is not None else ["y" if n_out == 1 else ""] * n_out
    if len(src) != n_src:
        raise ValueError(f"names must give {n_src} input names (one per column), got {len(src)}")
    if len(outs) != n_out:
        raise ValueError(f"output_names must give {n_out} names, got {len(outs)}")
    if n_out > 1 and output_names is None:
        outs = [f"y_{j + 1}" for j in range(n_out)]
    return [src[j] for j in model.input_index], outs


def to_networkx(
    model: KAN,
    X: Any = None,
    names: Sequence[str] | None = None,
) -> nx.DiGraph:
    """The network as a directed graph.

    Nodes are named ``(layer, index)`` (layer 0 holds the inputs) with the attributes
    ``layer``, ``index``, ``kind`` (``"input"``, ``"sum"`` or ``"product"``) and
    ``label`` (the input name on the inputs). Each product node has two factor nodes,
    ``(layer, index, 0)`` and ``(layer, index, 1)`` of kind ``"factor"``, joined to it by
    edges of kind ``"factor"``.

    Every live edge of the KAN is an edge of kind ``"edge"`` with the attributes
    ``layer``, ``out``, ``inp`` (its position in the KAN), ``primitive`` (the snapped
    primitive's name, or ``"spline"``), ``params`` (``(a, b, c, d)`` of
    ``c * f(a * x + b) + d``, or ``None`` for a spline) and, when ``X`` is given,
    ``importance`` (the attribution score, see :func:`kandiscover.attribution`).

    Parameters
    ----------
    model : KAN
        The network.
    X : array-like of shape (n, n_inputs), optional
        Data for the importance scores.
    names : sequence of str, optional
        Names of the original input columns.

    Returns
    -------
    networkx.DiGraph
    """
    inputs, _ = _node_names(model, names, None)
    g = nx.DiGraph()
    for j, name in enumerate(inputs):
        g.add_node((0, j), layer=0, index=j, kind="input", label=name)
    for l, (n_sum, n_mult) in enumerate(model.width[1:], start=1):
        for j in range(n_sum + n_mult):
            kind = "sum" if j < n_sum else "product"
            g.add_node((l, j), layer=l, index=j, kind=kind, label=f"{kind} {j}")
            for f in (0, 1) if kind == "product" else ():
                g.add_node((l, j, f), layer=l, index=j, kind="factor", label=f"factor {f}")
                g.add_edge((l, j, f), (l, j), kind="factor")
    scores = attribution(model, X).edges if X is not None else None
    for l, o, i in _live_edges(model):
        node, factor = _target_node(model, l, o)
        target = (l + 1, node) if factor is None else (l + 1, node, factor)
        primitive, params = _edge_kind(model, l, o, i)
        attrs: dict[str, Any] = {"kind": "edge", "layer": l, "out": o, "inp": i}
        attrs.update(primitive=primitive, params=None if params is None else tuple(params))
        if scores is not None:
            attrs["importance"] = float(scores[l][o, i])
        g.add_edge((l, i), target, **attrs)
    return g


# -------------------------------------------------------------------- network
def _node_x(n: int) -> np.ndarray:
    return np.array([0.5]) if n == 1 else np.linspace(0.08, 0.92, n)


def _edge_alpha(score: float) -> float:
    return float(np.clip(np.tanh(4.0 * score), 0.08, 1.0))


def plot_network(
    model: KAN,
    X: Any,
    names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw the network with every live edge's learned function.

    Parameters
    ----------
    model : KAN
        The network.
    X : array-like of shape (n, n_inputs)
        Data: each edge is drawn over the range its input takes on it, and its opacity
        follows its attribution score on it.
    names : sequence of str, optional
        Names of the original input columns (default ``x_1, x_2, ...``).
    output_names : sequence of str, optional
        Names of the outputs (default ``y``).
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    p = next(model.parameters())
    x = as_tensor_2d(X, "X", p.dtype, p.device)
    inputs, outputs = _node_names(model, names, output_names)
    edges = _live_edges(model)
    per_layer = [sum(1 for e in edges if e[0] == l) for l in range(len(model.layers))]
    wide = max([*per_layer, *(sum(w) for w in model.width), 1])
    fig, ax = _new_axes(ax, (max(4.0, 0.9 * wide + 1.5), 2.4 * len(model.layers) + 0.8))
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.35, len(model.layers) + 0.35)
    ax.set_axis_off()
    _draw_nodes(ax, model, inputs, outputs)
    samples = edge_samples(model, x, n=100)
    scores = attribution(model, x).edges
    for l in range(len(model.layers)):
        layer_edges = [e for e in edges if e[0] == l]
        slots = _node_x(len(layer_edges))
        width = min(0.8 / max(len(layer_edges), 1), 0.16)
        for (l_, o, i), sx in zip(layer_edges, slots, strict=True):
            score = float(scores[l_][o, i])
            xs = samples[l_][0][:, i].cpu().numpy()
            ys = samples[l_][1][:, o, i].cpu().numpy()
            _draw_edge(ax, model, (l_, o, i), sx, width, _edge_alpha(score), (xs, ys))
    return fig


def _draw_nodes(ax: Axes, model: KAN, inputs: list[str], outputs: list[str]) -> None:
    """Sum nodes as dots, product nodes as crosses; names under the inputs, over the outputs."""
    last = len(model.width) - 1
    text = {"textcoords": "offset points", "ha": "center", "fontsize": 11}
    for l, (n_sum, n_mult) in enumerate(model.width):
        for j, x in enumerate(_node_x(n_sum + n_mult)):
            product = j >= n_sum
            style = ("X", 9, "tab:blue") if product else ("o", 7, "black")
            ax.plot([x], [l], marker=style[0], markersize=style[1], color=style[2], zorder=3)
            if l == 0:
                ax.annotate(inputs[j], (x, l), xytext=(0, -14), va="top", **text)
            elif l == last:
                ax.annotate(outputs[j], (x, l), xytext=(0, 10), va="bottom", **text)


def _draw_edge(ax: Axes, model: KAN, edge, sx: float, width: float, alpha: float, curve) -> None:
    """One edge: a line from its input node to its inset and from the inset onwards."""
    l, o, i = edge
    node, factor = _target_node(model, l, o)
    x_in = _node_x(sum(model.width[l]))[i]
    x_out = _node_x(sum(model.width[l + 1]))[node]
    if factor is not None:
        x_out += (factor - 0.5) * 0.04
    primitive, _ = _edge_kind(model, l, o, i)
    color = _SPLINE_COLOR if primitive == "spline" else _SYMBOLIC_COLOR
    height = 0.34
    y0, y1 = l + 0.5 - height / 2, l + 0.5 + height / 2
    kw = {"color": color, "alpha": alpha, "linewidth": 1.0, "zorder": 1}
    ax.plot([x_in, sx], [l, y0], **kw)
    ax.plot([sx, x_out], [y1, l + 1], **kw)
    inset = ax.inset_axes((sx - width / 2, y0, width, height), transform=ax.transData)
    inset.plot(*curve, color=color, alpha=alpha, linewidth=1.5)
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_alpha(max(alpha, 0.2))
    if primitive != "spline":
        inset.set_title(primitive, fontsize=8, color=color, pad=2)


# --------------------------------------------------------------------- pareto
def plot_pareto(result: Any, ax: Axes | None = None) -> Figure:
    """Test error against complexity of the formulas on the Pareto front.

    Parameters
    ----------
    result : Result or sequence of ParetoPoint
        A discovery result (its chosen formula is marked) or a front of your own.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the front is empty.
    """
    points = list(getattr(result, "pareto", result))
    if not points:
        raise ValueError("the Pareto front is empty: nothing to plot")
    cx = np.array([pt.complexity for pt in points], dtype=float)
    err = np.array([pt.rmse for pt in points], dtype=float)
    positive = err[err > 0]
    floor = positive.min() / 10 if positive.size else 1e-16
    err = np.maximum(err, floor)
    fig, ax = _new_axes(ax, (5.5, 3.8))
    ax.step(cx, err, where="post", color="0.6", linewidth=1, zorder=1)
    ax.plot(cx, err, "o", color="tab:blue", zorder=2, label="Pareto front")
    if hasattr(result, "complexity") and hasattr(result, "rmse_test"):
        chosen = max(float(result.rmse_test), floor)
        ax.plot(
            [result.complexity],
            [chosen],
            "*",
            color="tab:red",
            markersize=16,
            zorder=3,
            label=f"chosen: {_short(result.formula)}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("complexity (expression tree size)")
    ax.set_ylabel("held-out RMSE")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def _short(expr: Any, limit: int = 48) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------ fit
def plot_fit(result: Any, X: Any, y: Any, ax: Axes | None = None) -> Figure:
    """Predicted against measured values, with the identity line and R^2.

    Parameters
    ----------
    result : Result or any object with ``predict(X)``
        The discovered law (or a fitted estimator).
    X : array-like of shape (n, d)
        Inputs.
    y : array-like of shape (n,)
        Measured values.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(result, "predict"):
        raise TypeError(f"result must have a predict(X) method, got {type(result).__name__}")
    y = np.asarray(y, dtype=float).reshape(-1)
    pred = np.asarray(result.predict(X), dtype=float).reshape(-1)
    if pred.shape != y.shape:
        raise ValueError(f"y has {y.size} values but the prediction has {pred.size}")
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2)) or 1.0
    fig, ax = _new_axes(ax, (4.2, 4.0))
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=1, label="identity")
    ax.plot(y, pred, ".", color="tab:blue", alpha=0.6, label="data")
    ax.set_xlabel("measured")
    ax.set_ylabel("predicted")
    ax.set_title(f"$R^2$ = {1 - ss_res / ss_tot:.6f}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return fig


# --------------------------------------------------------------------- result
def plot_result(result: Any, X: Any, y: Any, *, sigma: Any = None) -> Figure:
    """One figure of a discovery: Pareto front, law against data, residuals, network.

    Parameters
    ----------
    result : Result
        What :func:`kandiscover.discover` returned.
    X, y : array-like
        The data the law should explain.
    sigma : array-like, optional
        Error bars of ``y``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y = np.asarray(y, dtype=float).reshape(-1)
    with np.errstate(all="ignore"):
        pred = np.asarray(result.predict(X), dtype=float).reshape(-1)
    if pred.shape != y.shape:
        raise ValueError(f"y has {y.size} values but the prediction has {pred.size}")
    network = getattr(result, "network", None)
    rows = 3 if network is not None else 2
    fig = Figure(figsize=(10.0, 3.8 * rows), layout="constrained")
    grid = fig.add_gridspec(rows, 2)
    plot_pareto(result, ax=fig.add_subplot(grid[0, :]))
    errors = None if sigma is None else np.broadcast_to(np.asarray(sigma, float), y.shape)
    _measured(fig.add_subplot(grid[1, 0]), y, pred, errors)
    _residuals(fig.add_subplot(grid[1, 1]), y, pred, errors)
    if network is not None:
        plot_network(network.model, network.inputs, names=list(network.names),
                     ax=fig.add_subplot(grid[2, :]))  # fmt: skip
    kind = "approximation" if getattr(result, "approximate", False) else "law"
    shown = result.formula.evalf(5) if hasattr(result.formula, "evalf") else result.formula
    fig.suptitle(f"{kind}: {_short(shown, 90)}", fontsize=10)
    FigureCanvasAgg(fig)
    return fig


def _measured(ax: Axes, y: np.ndarray, pred: np.ndarray, errors: np.ndarray | None) -> None:
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=1, label="identity")
    if errors is None:
        ax.plot(y, pred, ".", color="tab:blue", alpha=0.6, label="data")
    else:
        ax.errorbar(y, pred, xerr=errors, fmt=".", color="tab:blue", alpha=0.6, label="data")
    ax.set_xlabel("measured")
    ax.set_ylabel("law")
    ax.legend(fontsize=8, loc="upper left")


def _residuals(ax: Axes, y: np.ndarray, pred: np.ndarray, errors: np.ndarray | None) -> None:
    resid = y - pred
    if errors is None:
        ax.plot(pred, resid, ".", color="tab:blue", alpha=0.6)
        ax.set_ylabel("measured - law")
    else:
        ax.errorbar(pred, resid, yerr=errors, fmt=".", color="tab:blue", alpha=0.6)
        ax.set_ylabel("measured - law (error bars)")
    ax.axhline(0.0, color="0.5", linewidth=1)
    ax.set_xlabel("law")


# -------------------------------------------------------------- decomposition
def plot_decomposition(tree: Any, ax: Axes | None = None) -> Figure:
    """Draw a decomposition tree: each node's formula, each split's test and statistic.

    Parameters
    ----------
    tree : Tree or Result
        ``Result.decomposition`` (or the result itself).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the result came from no decomposition.
    """
    tree = getattr(tree, "decomposition", tree)
    if tree is None or not hasattr(tree, "children"):
        raise ValueError("nothing to draw: the law did not come from a decomposition")
    leaves: list[Any] = []
    depth = _tree_depth(tree)
    positions: dict[int, tuple[float, float]] = {}

    def place(node: Any, level: int) -> float:
        if not node.children:
            x = float(len(leaves))
            leaves.append(node)
        else:
            xs = [place(child, level + 1) for child in node.children]
            x = sum(xs) / len(xs)
        positions[id(node)] = (x, -level)
        return x

    place(tree, 0)
    width = max(len(leaves), 1)
    fig, ax = _new_axes(ax, (max(6.0, 3.2 * width), 1.6 * (depth + 1) + 0.6))
    ax.set_axis_off()
    ax.set_xlim(-0.8, width - 0.2)
    ax.set_ylim(-depth - 0.6, 0.6)
    _draw_tree(ax, tree, positions)
    return fig


def _test_label(test: Any, names: Sequence[str]) -> str:
    groups = " | ".join(",".join(names[i] for i in g) for g in test.groups)
    where = "" if test.output == "y" else f" of {test.output}"
    return f"{test.kind}{where} [{groups}]: {test.statistic:.2g}"


def _tree_depth(node: Any) -> int:
    return 1 + max((_tree_depth(c) for c in node.children), default=-1)


def _draw_tree(ax: Axes, node: Any, positions: dict) -> None:
    x, y = positions[id(node)]
    ax.text(x, y, _short(node.formula, 40), ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.5"})  # fmt: skip
    if node.tests:
        label = "\n".join(_test_label(t, node.names) for t in node.tests)
        ax.text(x, y - 0.32, label, ha="center", va="top", fontsize=7, color="tab:red")
    for child in node.children:
        cx, cy = positions[id(child)]
        ax.annotate("", xy=(cx, cy + 0.18), xytext=(x, y - 0.18),
                    arrowprops={"arrowstyle": "->", "color": "0.5"})  # fmt: skip
        _draw_tree(ax, child, positions)
