"""Network, Pareto and fit plots draw to PNG without a window; the networkx graph."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import sympy
import torch
from matplotlib.figure import Figure

import kandiscover as kd
from kandiscover import plot
from kandiscover.search import ParetoPoint, Result
from kandiscover.symbolic.library import DEFAULT_LIBRARY


def _data(n: int = 200):
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1
    return X, torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2


def _model_with_a_snapped_edge() -> kd.KAN:
    model = kd.KAN([2, 2, 1], seed=0, dtype=torch.float64)
    sin = DEFAULT_LIBRARY["sin"]
    model.set_symbolic(0, 0, 0, (sin.name, sin.torch_fn), (3.0, 0.0, 1.0, 0.0))
    model.layers[0].mask[1, 1] = 0.0  # a dead edge is not drawn
    return model


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_network_draws_curves_labels_and_names(tmp_path):
    X, _ = _data()
    model = _model_with_a_snapped_edge()
    fig = plot.plot_network(model, X, names=["x", "y"], output_names=["f"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    insets = ax.child_axes
    assert len(insets) == 3 + 2  # live edges of layer 0 and layer 1
    assert all(len(inset.lines) == 1 for inset in insets)
    assert [inset.get_title() for inset in insets].count("sin") == 1
    texts = {t.get_text() for t in ax.texts}
    assert {"x", "y", "f"} <= texts
    fig.savefig(tmp_path / "network.png", dpi=60)
    assert _is_png(tmp_path / "network.png")


def test_plot_network_with_product_nodes_into_a_given_axes(tmp_path):
    X, _ = _data(50)
    model = kd.KAN([2, (1, 1), 1], seed=0, dtype=torch.float64)
    fig = Figure()
    ax = fig.add_subplot()
    assert plot.plot_network(model, X, ax=ax) is fig
    fig.savefig(tmp_path / "product.png", dpi=40)
    assert _is_png(tmp_path / "product.png")


def test_plot_network_name_errors():
    X, _ = _data(20)
    model = kd.KAN([2, 1], dtype=torch.float64)
    with pytest.raises(ValueError, match="names must give 2 input names"):
        plot.plot_network(model, X, names=["x"])
    with pytest.raises(ValueError, match="output_names must give 1"):
        plot.plot_network(model, X, output_names=["a", "b"])


def test_to_networkx_attributes():
    X, _ = _data(100)
    model = _model_with_a_snapped_edge()
    g = plot.to_networkx(model, X, names=["x", "y"])
    assert g.nodes[(0, 1)] == {"layer": 0, "index": 1, "kind": "input", "label": "y"}
    assert g.nodes[(2, 0)]["kind"] == "sum"
    edge = g.edges[(0, 0), (1, 0)]
    assert edge["primitive"] == "sin"
    assert edge["params"] == pytest.approx((3.0, 0.0, 1.0, 0.0))
    assert (edge["layer"], edge["out"], edge["inp"]) == (0, 0, 0)
    assert g.edges[(0, 1), (1, 0)]["primitive"] == "spline"
    assert g.edges[(0, 1), (1, 0)]["params"] is None
    assert not g.has_edge((0, 1), (1, 1))  # masked out
    scores = kd.attribution(model, X).edges
    assert edge["importance"] == pytest.approx(float(scores[0][0, 0]))
    assert g.number_of_edges() == 5
    assert "importance" not in plot.to_networkx(model).edges[(0, 0), (1, 0)]


def test_to_networkx_product_nodes_have_factor_nodes():
    g = plot.to_networkx(kd.KAN([2, (0, 1), 1], seed=0))
    assert g.nodes[(1, 0)]["kind"] == "product"
    assert g.nodes[(1, 0, 1)]["kind"] == "factor"
    assert g.edges[(1, 0, 0), (1, 0)] == {"kind": "factor"}
    assert g.edges[(0, 1), (1, 0, 1)]["out"] == 1
    assert g.has_edge((1, 0), (2, 0))


def _result() -> Result:
    x, y = sympy.symbols("x y")
    front = [
        ParetoPoint(x, 1, 0.5, 0.6),
        ParetoPoint(sympy.sin(x), 4, 1e-3, 0.999),
        ParetoPoint(sympy.sin(sympy.pi * x) + y**2, 9, 0.0, 1.0),
    ]
    best = front[-1]
    return Result(best.formula, "", 1.0, 0.0, 9, front, 0.1, None, ("x", "y"))


def test_plot_pareto_marks_the_chosen_formula(tmp_path):
    fig = plot.plot_pareto(_result())
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    chosen = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(chosen) == 1
    assert chosen[0].get_xdata()[0] == 9
    fig.savefig(tmp_path / "pareto.png", dpi=60)
    assert _is_png(tmp_path / "pareto.png")


def test_plot_pareto_of_a_list_and_of_nothing():
    fig = plot.plot_pareto(_result().pareto)
    assert not [line for line in fig.axes[0].lines if line.get_marker() == "*"]
    with pytest.raises(ValueError, match="Pareto front is empty"):
        plot.plot_pareto([])


def test_plot_fit(tmp_path):
    X, y = _data(100)
    fig = plot.plot_fit(_result(), X.numpy(), y.numpy())
    assert "1.000000" in fig.axes[0].get_title()
    fig.savefig(tmp_path / "fit.png", dpi=60)
    assert _is_png(tmp_path / "fit.png")
    with pytest.raises(TypeError, match="predict"):
        plot.plot_fit(object(), X, y)
    with pytest.raises(ValueError, match="values"):
        plot.plot_fit(_result(), X.numpy(), np.zeros(3))


def test_a_decomposition_tree_is_drawn_with_its_tests(tmp_path):
    from kandiscover.search.strategies.decompose import Tree
    from kandiscover.search.structure import SplitTest

    x1, x2, u = sympy.symbols("x1 x2 u1")
    test = SplitTest("difference", ((0, 1),), 0.05, 0.5)
    tree = Tree(("x1", "x2"), sympy.sqrt((x1 - x2) ** 2 + 1), (test,), (Tree(("u1",), u),))
    fig = plot.plot_decomposition(tree)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "difference [x1,x2]: 0.05" in texts
    path = tmp_path / "tree.png"
    fig.savefig(path)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="did not come from a decomposition"):
        plot.plot_decomposition(None)
