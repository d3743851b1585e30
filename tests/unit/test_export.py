"""Tests for kandiscover.export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
import torch

from kandiscover.export import from_json, latex, to_json, to_numpy, to_sympy_string, to_torch

x, y = sympy.symbols("x y")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (sympy.exp(sympy.sin(sympy.pi * x) + y**2), r"e^{y^{2} + \sin{\left(\pi x \right)}}"),
        (sympy.Symbol("theta_1") ** 2, r"\theta_{1}^{2}"),
        (sympy.Symbol("x_12") + sympy.Symbol("m1"), r"m_{1} + x_{12}"),
        (sympy.Float(3.14159265) * x, r"3.142 x"),
        (sympy.Float(1.23456e-7) * x, r"1.235 \cdot 10^{-7} x"),
        (sympy.Float(2.0) * sympy.sqrt(x) / y, r"\frac{2 \sqrt{x}}{y}"),
    ],
)
def test_latex_golden_strings(expr, expected):
    assert latex(expr) == expected


def test_latex_precision_and_error():
    assert latex(sympy.Float(3.14159265) * x, precision=2) == "3.1 x"
    with pytest.raises(ValueError, match="precision must be a positive int"):
        latex(x, precision=0)


EXPRS = [
    sympy.Float(1.2345678901234567) * sympy.sin(x) + y**2,
    sympy.exp(-(x**2)) * sympy.Abs(y) + sympy.sqrt(x),
    sympy.log(x) / y + sympy.atan(x * y) - sympy.Rational(1, 3),
    sympy.tanh(x) ** -2 + sympy.pi * sympy.cos(y) ** 3,
    1 / (1 + sympy.exp(-x)) + sympy.asin(y / 3) + sympy.atanh(y / 4),
]


def _points():
    rng = np.random.default_rng(0)
    return rng.uniform(0.5, 2.0, size=(30, 2))


@pytest.mark.parametrize("expr", EXPRS)
def test_numpy_and_torch_callables_agree_with_sympy(expr):
    X = _points()
    ref = np.array([float(expr.subs({x: a, y: b})) for a, b in X])
    np.testing.assert_allclose(to_numpy(expr, ["x", "y"])(X), ref, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(expr, ["x", "y"])(x=X[:, 0], y=X[:, 1]), ref, rtol=1e-12)
    got = to_torch(expr, ["x", "y"])(torch.tensor(X))
    assert got.dtype == torch.float64 and got.shape == (30,)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


def test_torch_callable_is_differentiable_and_follows_dtype():
    f = to_torch(x**2 * y + 3, ["x", "y"])
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = f(X)
    assert out.dtype == torch.float32
    out.sum().backward()
    torch.testing.assert_close(X.grad, torch.tensor([[4.0, 1.0], [24.0, 9.0]]))
    const = to_torch(sympy.Integer(2), ["x"])(torch.zeros(4, 1))
    assert const.tolist() == [2.0] * 4


def test_callable_errors():
    with pytest.raises(ValueError, match="not in names"):
        to_torch(x + y, ["x"])
    with pytest.raises(ValueError, match="cannot translate gamma"):
        to_torch(sympy.gamma(x), ["x"])
    with pytest.raises(ValueError, match="distinct strings"):
        to_numpy(x, ["x", "x"])
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        to_torch(x + y, ["x", "y"])(torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 1\)"):
        to_numpy(x, ["x"])(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="exactly the keywords"):
        to_numpy(x, ["x"])(z=np.zeros(3))
    with pytest.raises(ValueError, match="real constants only"):
        to_torch(x + sympy.I, ["x"])


def test_sympy_string_keeps_full_precision():
    expr = sympy.Float(0.1) * x + sympy.Float(1 / 3)
    text = to_sympy_string(expr)
    assert "0.1" in text and "0.3333333333333333" in text


@pytest.mark.parametrize("expr", EXPRS)
def test_json_round_trip(expr):
    pytest.importorskip("kandiscover.symbolic.parse")
    text = to_json(expr, ["x", "y"], r2=0.999, source="test")
    back, names, meta = from_json(text)
    assert names == ["x", "y"] and meta == {"r2": 0.999, "source": "test"}
    X = _points()
    np.testing.assert_allclose(
        to_numpy(back, names)(X), to_numpy(expr, ["x", "y"])(X), rtol=1e-13, atol=0
    )


def test_json_errors():
    with pytest.raises(TypeError, match="JSON-serialisable"):
        to_json(x, ["x"], bad=object())
    with pytest.raises(ValueError, match="not valid JSON"):
        from_json("{")
    with pytest.raises(ValueError, match=r"not a 'kandiscover\.formula' record"):
        from_json("[]")
    record = json.loads(to_json(x, ["x"]))
    record["version"] = 99
    with pytest.raises(ValueError, match="unsupported version 99"):
        from_json(json.dumps(record))
    record["version"] = 1
    record["formula"] = "__import__('os')"
    with pytest.raises(ValueError):
        from_json(json.dumps(record))
