"""Composition: the formula equals the network, for random networks and for real snaps."""

import math

import numpy as np
import pytest
import sympy
import torch

import kandiscover as kd
from kandiscover.symbolic.compose import NumericEdgeError

# primitives defined on the whole real line, so any inner value is valid
SAFE = ["0", "x", "x^2", "x^3", "sin", "cos", "tanh", "sigmoid", "gaussian", "arctan", "abs", "exp"]


def _randomly_snapped(seed: int) -> kd.KAN:
    g = torch.Generator().manual_seed(seed)
    widths = [[2, 3, 1], [3, (2, 1), 2], [2, (1, 2), (2, 1), 1], [4, 1]]
    model = kd.KAN(widths[seed % len(widths)], seed=seed, dtype=torch.float64)
    lib = kd.DEFAULT_LIBRARY
    for l, layer in enumerate(model.layers):
        layer.bias.data = torch.randn(layer.n_out, generator=g, dtype=torch.float64)
        for o in range(layer.n_out):
            for i in range(layer.n_in):
                if torch.rand(1, generator=g) < 0.2:
                    layer.mask[o, i] = 0  # a pruned edge
                    continue
                name = SAFE[int(torch.randint(len(SAFE), (1,), generator=g))]
                a, b, c, d = (torch.rand(4, generator=g, dtype=torch.float64) - 0.5).tolist()
                p = lib[name]
                model.set_symbolic(l, o, i, (p.name, p.torch_fn), [2 * a, b, 2 * c, d])
    return model


@pytest.mark.parametrize("seed", range(12))
def test_formula_equals_network_for_random_snaps(seed):
    model = _randomly_snapped(seed)
    names = [f"v{i}" for i in range(model.n_inputs)]
    exprs = kd.formula(model, names)
    exprs = exprs if isinstance(exprs, list) else [exprs]
    X = np.random.default_rng(seed).uniform(-2, 2, size=(300, model.n_inputs))
    with torch.no_grad():
        net = model(torch.from_numpy(X)).numpy()
    for j, e in enumerate(exprs):
        f = sympy.lambdify(sympy.symbols(names), e, "numpy")
        got = np.broadcast_to(f(*X.T), (300,))
        np.testing.assert_allclose(got, net[:, j], rtol=1e-6, atol=1e-9)


def test_formula_equals_network_after_a_real_snap():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(500, 3, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(2 * X[:, :1]) + X[:, 1:2] ** 2 - 0.5 * X[:, 2:]
    model = kd.KAN([3, 1], seed=0, dtype=torch.float64)
    kd.fit(model, X, y, steps=30)
    kd.snap(model, X)
    e = kd.formula(model, ["a", "b", "c"])
    f = sympy.lambdify(sympy.symbols("a b c"), e, "numpy")
    with torch.no_grad():
        np.testing.assert_allclose(f(*X.numpy().T), model(X)[:, 0].numpy(), rtol=1e-6, atol=1e-9)


def test_numeric_edges_are_refused_with_their_positions():
    model = kd.KAN([2, 2, 1])
    with pytest.raises(NumericEdgeError, match=r"6 live edge\(s\) are still splines: \(layer 0"):
        kd.formula(model)


def test_names_must_match_the_inputs():
    model = kd.KAN([2, 1])
    for i in range(2):
        model.set_symbolic(0, 0, i, ("x", lambda t: t), [1, 0, 1, 0])
    with pytest.raises(ValueError, match="names must give 2 input names"):
        kd.formula(model, ["only_one"])
    assert kd.formula(model).free_symbols == set(sympy.symbols("x_1 x_2"))


def test_flagship_law_comes_out_exactly():
    g = torch.Generator().manual_seed(1)
    X = torch.rand(1000, 2, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.exp(torch.sin(math.pi * X[:, :1]) + X[:, 1:] ** 2)
    model = kd.KAN([2, 5, 1], grid=5, k=3, seed=0, dtype=torch.float64)
    kd.fit(model, X, y, steps=50, sparsity=1e-2)
    model = kd.prune(model, X)
    kd.fit(model, X, y, steps=50)
    choices = kd.snap(model, X)
    assert sorted(c.chosen.primitive for c in choices) == ["exp", "sin", "x^2"]
    h = kd.fit(model, X, y, steps=50, grid_updates=None)
    assert h.train_loss[-1] < 1e-20
    from kandiscover.symbolic.constants import snap_constants

    x, yv = sympy.symbols("x y")
    expr = snap_constants(kd.formula(model, ["x", "y"]), [x, yv], X.numpy(), y[:, 0].numpy())
    assert sympy.simplify(expr - sympy.exp(sympy.sin(sympy.pi * x) + yv**2)) == 0


def test_snapped_edges_are_seen_by_edge_values_attribution_and_prune():
    model = _randomly_snapped(0)
    X = torch.rand(50, model.n_inputs, dtype=torch.float64)
    layer = model.layers[0]
    vals = layer.edge_values(X)
    torch.testing.assert_close(vals.sum(-1) + layer.bias, layer(X))
    vals.sum().backward()  # differentiable through the symbolic edges
    assert layer.sym_affine.grad is not None
    pruned = kd.prune(model, X, node_threshold=0.0, edge_threshold=0.0)
    torch.testing.assert_close(pruned(X), model(X))
