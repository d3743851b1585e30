"""Tests for kandiscover.symbolic.library."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kandiscover.symbolic.library import (
    DEFAULT_LIBRARY,
    Domain,
    Library,
    Primitive,
    get_primitive,
)

REQUIRED = [
    "0",
    "x",
    "x^2",
    "x^3",
    "x^4",
    "x^5",
    "1/x",
    "1/x^2",
    "1/x^3",
    "sqrt",
    "1/sqrt",
    "x^1.5",
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
    "arctanh",
    "abs",
    "gaussian",
    "sigmoid",
]


def _domain_points(domain: Domain) -> torch.Tensor:
    grid = torch.linspace(-6, 6, 241, dtype=torch.float64)
    if domain.bounded:
        grid = torch.linspace(domain.lower, domain.upper, 241, dtype=torch.float64)
    return grid[domain.valid(grid)]


def test_default_library_has_required_primitives():
    assert set(REQUIRED) <= set(DEFAULT_LIBRARY.names)
    assert DEFAULT_LIBRARY["0"].complexity == 0
    assert DEFAULT_LIBRARY["x"].complexity == 1
    assert DEFAULT_LIBRARY["x^2"].complexity == 2
    assert DEFAULT_LIBRARY["sin"].complexity < DEFAULT_LIBRARY["arcsin"].complexity


@pytest.mark.parametrize("name", REQUIRED)
def test_torch_form_equals_sympy_form_on_domain(name):
    p = DEFAULT_LIBRARY[name]
    z = _domain_points(p.domain)
    assert z.numel() > 100
    sym = sympy.Symbol("z")
    fn = sympy.lambdify(sym, p.sympy_fn(sym), "numpy")
    expected = np.broadcast_to(np.asarray(fn(z.numpy()), dtype=float), z.shape)
    got = p.torch_fn(z).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_form_and_gradient_are_finite_everywhere(name, dtype):
    big = float(torch.finfo(dtype).max) / 10
    values = [-big, -1e30, -100.0, -2.0, -1.0, -math.pi / 2, -0.5, -1e-30, 0.0, 1e-30]
    values += [0.5, 1.0, math.pi / 2, 2.0, 100.0, 1e30, big]
    z = torch.tensor(values, dtype=dtype, requires_grad=True)
    out = DEFAULT_LIBRARY[name].torch_fn(z)
    assert torch.isfinite(out).all()
    (grad,) = torch.autograd.grad(out.sum(), z)
    assert not torch.isnan(grad).any()
    assert torch.isfinite(grad).all()


def test_domain_valid_and_interval():
    d = Domain(0.0, 1.0, lower_open=False, upper_open=True)
    z = torch.tensor([-0.1, 0.0, 0.5, 1.0, math.nan], dtype=torch.float64)
    assert d.valid(z).tolist() == [False, True, True, False, False]
    nz = Domain(excluded=(0.0,))
    ok = nz.contains_interval(torch.tensor([-1.0, 0.5]), torch.tensor([1.0, 2.0]))
    assert ok.tolist() == [False, True]
    assert nz.contains(nz.interior_point())
    assert d.contains(d.interior_point()) and d.bounded and not nz.bounded


def test_domain_rejects_bad_bounds():
    with pytest.raises(ValueError, match="lower < upper"):
        Domain(1.0, 0.0)


def test_library_lookup_did_you_mean():
    with pytest.raises(ValueError, match="Did you mean 'sin'"):
        DEFAULT_LIBRARY["sinn"]
    with pytest.raises(ValueError, match="Unknown primitive 'zzzz'"):
        get_primitive("zzzz")
    assert get_primitive("cos") is DEFAULT_LIBRARY["cos"]
    assert "cos" in DEFAULT_LIBRARY and "nope" not in DEFAULT_LIBRARY


def test_library_is_immutable_and_ordered():
    lib = DEFAULT_LIBRARY.subset(["sin", "x"])
    assert lib.names == ("sin", "x")
    assert [p.name for p in lib] == ["sin", "x"]
    assert len(lib) == 2
    with pytest.raises(AttributeError, match="immutable"):
        lib.extra = 1
    assert lib == DEFAULT_LIBRARY.subset(["sin", "x"]) and hash(lib)
    assert "sin" in repr(lib)


def test_with_primitive_returns_new_library():
    bessel = Primitive(
        "j0", torch.special.bessel_j0, lambda z: sympy.besselj(0, z), 4, inner="affine"
    )
    lib = DEFAULT_LIBRARY.with_primitive(bessel)
    assert "j0" in lib and "j0" not in DEFAULT_LIBRARY
    assert len(lib) == len(DEFAULT_LIBRARY) + 1
    with pytest.raises(ValueError, match="already has a primitive named 'j0'"):
        lib.with_primitive(bessel)
    cheaper = Primitive("j0", torch.special.bessel_j0, lambda z: sympy.besselj(0, z), 2)
    swapped = lib.with_primitive(cheaper, replace=True)
    assert swapped["j0"].complexity == 2 and swapped.names == lib.names


def test_library_construction_errors():
    sin = DEFAULT_LIBRARY["sin"]
    with pytest.raises(ValueError, match="two primitives named 'sin'"):
        Library([sin, sin])
    with pytest.raises(ValueError, match="at least one primitive"):
        Library([])
    with pytest.raises(TypeError, match="must be Primitive"):
        Library(["sin"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": ""}, ValueError, "non-empty string"),
        ({"torch_fn": 3}, TypeError, "must be callable"),
        ({"complexity": 1.5}, TypeError, "complexity must be an int"),
        ({"complexity": -1}, ValueError, "complexity must be >= 0"),
        ({"domain": "all"}, TypeError, "domain must be a Domain"),
        ({"inner": "full"}, ValueError, "inner must be one of"),
        ({"period": -1.0}, ValueError, "period must be a positive"),
    ],
)
def test_primitive_validation(kwargs, error, match):
    base = {"name": "f", "torch_fn": torch.sin, "sympy_fn": sympy.sin, "complexity": 3}
    with pytest.raises(error, match=match):
        Primitive(**{**base, **kwargs})


def test_primitive_repr():
    assert repr(DEFAULT_LIBRARY["sin"]) == "Primitive('sin', complexity=3)"
