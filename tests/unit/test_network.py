"""The KAN layer and network: shapes, extrapolation, fused kernel, grids, product nodes."""

import pytest
import torch

import kandiscover as kd


def _data(n, d, dtype=torch.float64, seed=0, scale=1.0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return ((torch.rand(n, d, generator=g, dtype=dtype) * 2 - 1) * scale).to(device)


def test_forward_shapes_dtype_device(dtype, device):
    model = kd.KAN([3, (4, 2), 2], grid=4, k=3, seed=1, dtype=dtype, device=device)
    y = model(_data(17, 3, dtype, device=device))
    assert y.shape == (17, 2) and y.dtype == dtype and y.device.type == device.type
    edges = model.edge_values(_data(5, 3, dtype, device=device))
    assert [e.shape for e in edges] == [(5, 8, 3), (5, 2, 6)]


def test_edges_sum_to_the_layer_output(dtype):
    model = kd.KAN([3, 5, 2], seed=2, dtype=dtype)
    x = _data(64, 3, dtype, scale=1.5)  # partly outside the grid
    layer = model.layers[0]
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(
        layer.edge_values(x).sum(-1) + layer.bias, layer(x), atol=tol, rtol=0
    )


def test_linear_extrapolation_outside_the_grid():
    layer = kd.KAN([1, 1], seed=0, dtype=torch.float64).layers[0]
    x = torch.tensor([[1.5], [2.0], [2.5], [-2.0], [-3.0], [-4.0]], dtype=torch.float64)
    with torch.no_grad():
        base = layer.scales[0, 0, 0] * torch.nn.functional.silu(x[:, 0])
        spline_only = layer.edge_values(x)[:, 0, 0] - base
    d = spline_only.diff()
    assert abs(float(d[1] - d[0])) < 1e-12 and abs(float(d[4] - d[3])) < 1e-12
    assert abs(float(d[0])) > 0  # not clamped to a constant


def test_fused_kernel_matches_autograd_path():
    model = kd.KAN([3, 4, 2], seed=3, dtype=torch.float64)
    x = _data(40, 3, scale=1.4).requires_grad_(True)

    def run(fused):
        for layer in model.layers:
            layer.fused = fused
        model.zero_grad()
        x.grad = None
        y = model(x)
        (y.sin().sum()).backward()
        return [y.detach(), x.grad.clone()] + [
            p.grad.clone() for p in model.parameters() if p.grad is not None
        ]

    for a, b in zip(run(True), run(False)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert torch.autograd.gradcheck(
        lambda t: run_plain(model, t), (x.detach().requires_grad_(True),)
    )


def run_plain(model, x):
    for layer in model.layers:
        layer.fused = True
    return model(x)


def test_update_grid_follows_the_data_and_keeps_the_function():
    model = kd.KAN([2, 3, 1], grid=8, seed=0, dtype=torch.float64)
    x = _data(500, 2, scale=0.5)
    before = model(x)
    model.update_grid(x)
    lo, hi = model.layers[0].lo, model.layers[0].hi
    assert torch.allclose(lo, x.min(0).values, atol=1e-3) and torch.allclose(
        hi, x.max(0).values, atol=1e-3
    )
    assert float((model(x) - before).detach().abs().max()) < 1e-3


@pytest.mark.parametrize("uniform", [True, False])
def test_refine_preserves_the_function(uniform):
    model = kd.KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    x = _data(300, 2)
    model.update_grid(x, eps=1.0 if uniform else 0.5)
    fine = model.refine(10)
    assert fine.layers[0].grid_size == 10 and model.layers[0].grid_size == 5
    xt = _data(1000, 2, seed=1, scale=1.3)
    assert float((fine(xt) - model(xt)).detach().abs().max()) < 1e-6


def test_product_node_multiplies_two_subnodes():
    model = kd.KAN([2, (1, 1), 1], seed=0, dtype=torch.float64)
    x = _data(10, 2)
    sub = model.layers[0](x)
    nodes = model.layer_inputs(x)[1]
    torch.testing.assert_close(nodes[:, 1], sub[:, 1] * sub[:, 2])


@pytest.mark.parametrize(
    ("width", "match"),
    [
        ([3], "at least an input"),
        ([2, 0], "has no nodes"),
        ([(2, 1), 1], "input layer"),
        ([2, -1], "int or a pair"),
    ],
)
def test_bad_width(width, match):
    with pytest.raises(ValueError, match=match):
        kd.KAN(width)


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="spline order"):
        kd.KAN([2, 1], k=0)
    with pytest.raises(ValueError, match="grid must be a positive integer"):
        kd.KAN([2, 1], grid=0)
    with pytest.raises(ValueError, match="grid_range"):
        kd.KAN([2, 1], grid_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="takes 2 input columns"):
        kd.KAN([2, 1])(torch.zeros(3, 4))


def test_construction_is_deterministic_and_leaves_global_state_alone():
    state = torch.random.get_rng_state()
    a, b = kd.KAN([2, 3, 1], seed=5), kd.KAN([2, 3, 1], seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(a.layers[0].coef, kd.KAN([2, 3, 1], seed=6).layers[0].coef)
