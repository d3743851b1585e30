"""Derivatives through the KAN, collocation points and a tiny Poisson solve."""

from __future__ import annotations

import math

import pytest
import torch

import kandiscover as kd
from kandiscover import pde
from kandiscover.symbolic.library import DEFAULT_LIBRARY

BOX = [(-1.0, 1.0), (-0.5, 2.0)]


def _snapped_model() -> kd.KAN:
    """``u(x, y) = 1.5 * sin(2 x + 0.3) + 0.7 * y^2`` as a one-layer KAN of snapped edges."""
    model = kd.KAN([2, 1], seed=0, dtype=torch.float64)
    sin, square = DEFAULT_LIBRARY["sin"], DEFAULT_LIBRARY["x^2"]
    model.set_symbolic(0, 0, 0, (sin.name, sin.torch_fn), (2.0, 0.3, 1.5, 0.0))
    model.set_symbolic(0, 0, 1, (square.name, square.torch_fn), (1.0, 0.0, 0.7, 0.0))
    return model


def test_laplacian_of_a_snapped_model_is_exact():
    x = pde.interior_points(50, BOX, seed=3, dtype=torch.float64)
    lap = pde.laplacian(_snapped_model(), x)
    expected = -1.5 * 4.0 * torch.sin(2.0 * x[:, 0] + 0.3) + 2 * 0.7
    torch.testing.assert_close(lap, expected, atol=1e-12, rtol=0)


def test_gradient_of_a_snapped_model_is_exact():
    x = pde.interior_points(50, BOX, seed=4, dtype=torch.float64)
    g = pde.gradient(_snapped_model(), x)
    expected = torch.stack([3.0 * torch.cos(2.0 * x[:, 0] + 0.3), 1.4 * x[:, 1]], 1)
    torch.testing.assert_close(g, expected, atol=1e-12, rtol=0)


def _finite_difference_laplacian(model: kd.KAN, x: torch.Tensor, h: float = 1e-4):
    with torch.no_grad():
        u0 = model(x)[:, 0]
        total = torch.zeros_like(u0)
        for j in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[:, j] = h
            total += (model(x + e)[:, 0] - 2 * u0 + model(x - e)[:, 0]) / h**2
    return total


def test_laplacian_of_a_spline_model_matches_finite_differences():
    model = kd.KAN([2, 3, 1], seed=1, dtype=torch.float64)
    x = pde.interior_points(40, [(-0.9, 0.9), (-0.9, 0.9)], seed=5, dtype=torch.float64)
    torch.testing.assert_close(
        pde.laplacian(model, x), _finite_difference_laplacian(model, x), atol=1e-5, rtol=1e-5
    )


def test_gradient_passes_gradcheck_and_is_trainable():
    model = kd.KAN([2, 2, 1], seed=2, dtype=torch.float64)
    x = pde.interior_points(6, [(-0.9, 0.9), (-0.9, 0.9)], seed=6, dtype=torch.float64)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: pde.gradient(model, z), (x,))
    pde.gradient(model, x).pow(2).sum().backward()  # second-order backward to the parameters
    assert model.layers[0].coef.grad is not None
    assert torch.isfinite(model.layers[0].coef.grad).all()


def test_second_order_restores_the_fused_setting_on_error():
    model = kd.KAN([2, 2, 1])
    model.layers[1].fused = False
    with pytest.raises(RuntimeError, match="boom"), pde.second_order(model):
        assert not any(layer.fused for layer in model.layers)
        raise RuntimeError("boom")
    assert [layer.fused for layer in model.layers] == [True, False]


def test_points_lie_in_the_box_and_on_its_boundary():
    inner = pde.interior_points(500, BOX, seed=0, dtype=torch.float64)
    edge = pde.boundary_points(500, BOX, seed=0, dtype=torch.float64)
    lo = torch.tensor([b[0] for b in BOX], dtype=torch.float64)
    hi = torch.tensor([b[1] for b in BOX], dtype=torch.float64)
    assert inner.shape == edge.shape == (500, 2)
    assert ((inner > lo) & (inner < hi)).all()
    assert ((edge >= lo) & (edge <= hi)).all()
    on_face = (edge == lo) | (edge == hi)
    assert (on_face.sum(1) >= 1).all()
    assert on_face[:, 0].any() and on_face[:, 1].any()


def test_points_are_reproducible_and_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    a = pde.boundary_points(20, BOX, seed=7)
    b = pde.boundary_points(20, BOX, seed=7)
    assert torch.equal(a, b)
    assert not torch.equal(a, pde.boundary_points(20, BOX, seed=8))
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("bounds", [[], [(1.0, 0.0)], [(0.0, math.inf)], "box"])
def test_bad_bounds_are_explained(bounds):
    with pytest.raises(ValueError, match="bounds"):
        pde.interior_points(10, bounds)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        pde.boundary_points(0, BOX)
    with pytest.raises(ValueError, match="one output"):
        pde.laplacian(kd.KAN([2, 2]), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="shape"):
        pde.gradient(kd.KAN([2, 1]), torch.zeros(3))
    with pytest.raises(TypeError, match="optimizer"):
        pde.solve(kd.KAN([2, 1]), lambda m: m(torch.zeros(2, 2)).sum(), optimizer="lbfgs")


def test_a_tiny_poisson_solve_reduces_the_loss():
    box = [(-1.0, 1.0), (-1.0, 1.0)]
    inner = pde.interior_points(200, box, seed=0, dtype=torch.float64)
    edge = pde.boundary_points(80, box, seed=1, dtype=torch.float64)

    def source(x):
        return -2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])

    model = kd.KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    before = float(pde.poisson_loss(model, inner, edge, source).detach())
    history = pde.solve(model, lambda m: pde.poisson_loss(m, inner, edge, source), steps=3)
    assert history.steps == 3
    assert history.train_loss[-1] < 0.1 * before
    assert all(layer.fused for layer in model.layers)


def test_solve_with_adam_and_a_boundary_function():
    box = [(0.0, 1.0)]
    inner = pde.interior_points(50, box, seed=0, dtype=torch.float64)
    edge = pde.boundary_points(10, box, seed=1, dtype=torch.float64)
    model = kd.KAN([1, 2, 1], seed=0, dtype=torch.float64)

    def loss(m):
        return pde.poisson_loss(m, inner, edge, 2.0, boundary_value=lambda x: x[:, 0] ** 2)

    before = float(loss(model).detach())
    history = pde.solve(model, loss, steps=20, optimizer=kd.Adam(lr=1e-2))
    assert history.train_loss[-1] < before
