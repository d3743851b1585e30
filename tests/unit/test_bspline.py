"""The B-spline bases: partition of unity, agreement of the two evaluators, gradients."""

import pytest
import torch

from kandiscover.nn import bspline


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_uniform_closed_form_matches_cox_de_boor(k, dtype):
    lo, hi = torch.tensor([-1.0, 0.5], dtype=dtype), torch.tensor([1.0, 3.0], dtype=dtype)
    knots = bspline.uniform_grid(lo, hi, 7, k)
    x = torch.rand(400, 2, dtype=dtype, generator=torch.Generator().manual_seed(k))
    x = lo + x * (hi - lo)
    x[0], x[1] = lo, hi  # both grid ends
    fast = bspline.basis(x, knots, k, uniform=True)
    ref = bspline.bspline_basis(x, knots, k)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert fast.shape == (400, 2, 7 + k)
    torch.testing.assert_close(fast, ref, atol=tol, rtol=0)
    torch.testing.assert_close(fast.sum(-1), torch.ones(400, 2, dtype=dtype), atol=tol, rtol=0)
    assert bool((fast >= -tol).all())


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_adaptive_grid_partition_of_unity(eps):
    x = torch.randn(500, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) ** 3
    knots = bspline.adaptive_grid(x, 6, 3, eps)
    assert bool((knots.diff(dim=1) >= 0).all())
    b = bspline.bspline_basis(x, knots, 3)
    torch.testing.assert_close(b.sum(-1), torch.ones(500, 3, dtype=torch.float64))


@pytest.mark.parametrize("uniform", [True, False])
def test_basis_gradcheck(uniform):
    lo, hi = torch.tensor([-1.0]), torch.tensor([2.0])
    knots = bspline.uniform_grid(lo.double(), hi.double(), 5, 3)
    x = (torch.rand(30, 1, dtype=torch.float64) * 2.9 - 0.95).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: bspline.basis(t, knots, 3, uniform), (x,))


def test_basis_derivative_matches_finite_differences():
    knots = bspline.uniform_grid(torch.tensor([0.0]).double(), torch.tensor([1.0]).double(), 4, 3)
    x = torch.linspace(0.05, 0.95, 50, dtype=torch.float64)[:, None]
    h = 1e-6
    fd = (bspline.bspline_basis(x + h, knots, 3) - bspline.bspline_basis(x - h, knots, 3)) / (2 * h)
    torch.testing.assert_close(bspline.basis_derivative(x, knots, 3), fd, atol=1e-7, rtol=0)


def test_fit_coefficients_recovers_a_spline_and_survives_singular_data():
    knots = bspline.uniform_grid(torch.tensor([0.0]).double(), torch.tensor([1.0]).double(), 5, 3)
    x = torch.rand(200, 1, dtype=torch.float64)
    B = bspline.bspline_basis(x, knots, 3)
    true = torch.randn(2, 1, 8, dtype=torch.float64)
    y = torch.einsum("nik,oik->noi", B, true)
    torch.testing.assert_close(bspline.fit_coefficients(B, y), true, atol=1e-6, rtol=0)
    # every sample at one point: the normal equations are singular; no crash, finite result
    Bs = bspline.bspline_basis(torch.full((50, 1), 0.5, dtype=torch.float64), knots, 3)
    coef = bspline.fit_coefficients(Bs, torch.ones(50, 2, 1, dtype=torch.float64))
    assert bool(torch.isfinite(coef).all())
