"""Tests for kandiscover.symbolic.constants."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from kandiscover.symbolic.constants import refit_constants, snap_constants, snap_float, tidy

x, y = sympy.symbols("x y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0000000001, sympy.Integer(2)),
        (-3.0, sympy.Integer(-3)),
        (0.3333333333, sympy.Rational(1, 3)),
        (-0.41666666666, sympy.Rational(-5, 12)),
        (6.283185307179586, 2 * sympy.pi),
        (0.7071067811865476, sympy.sqrt(2) / 2),
        (2.718281828459045, sympy.E),
        (1e-15, sympy.Integer(0)),
    ],
)
def test_snap_float_finds_simple_values(value, expected):
    assert snap_float(value) == expected


def test_snap_float_refuses_when_nothing_is_close():
    assert snap_float(0.123456789) is None
    assert snap_float(1.01, rtol=1e-3) is None
    assert snap_float(1.01, rtol=0.02) == 1
    with pytest.raises(ValueError, match="finite value"):
        snap_float(float("nan"))
    with pytest.raises(ValueError, match="rtol must be >= 0"):
        snap_float(1.0, rtol=-1)


def _data(fn, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.5, 2.0, size=(n, 2))
    return X, fn(X[:, 0], X[:, 1])


def test_refit_recovers_constants_jointly():
    X, t = _data(lambda a, b: 2.5 * np.sin(1.3 * a) + 0.7 * b)
    guess = sympy.Float(2.0) * sympy.sin(sympy.Float(1.2) * x) + sympy.Float(0.5) * y
    fit = refit_constants(guess, [x, y], X, t)
    values = sorted(float(f) for f in fit.atoms(sympy.Float))
    np.testing.assert_allclose(values, [0.7, 1.3, 2.5], rtol=1e-8)


def test_refit_keeps_original_when_nothing_to_fit_or_worse():
    X, t = _data(lambda a, b: a * b)
    assert refit_constants(x * y, [x, y], X, t) == x * y
    bad = sympy.Float(1.0) * sympy.log(x - sympy.Float(10.0))  # NaN everywhere
    assert refit_constants(bad, [x, y], X, t) == bad


def test_refit_shape_errors():
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        refit_constants(x + y, [x, y], np.zeros((5, 3)), np.zeros(5))


def test_snap_constants_snaps_and_refits():
    X, t = _data(lambda a, b: 2 * a * b + np.pi * np.cos(b))
    expr = sympy.Float(2.0000003) * x * y + sympy.Float(3.14159) * sympy.cos(
        sympy.Float(0.99999) * y
    )
    snapped = snap_constants(expr, [x, y], X, t)
    assert sympy.simplify(snapped - (2 * x * y + sympy.pi * sympy.cos(y))) == 0


def test_snap_constants_keeps_constants_that_matter():
    X, t = _data(lambda a, b: 1.05 * a**2)
    snapped = snap_constants(sympy.Float(1.05) * x**2, [x, y], X, t)
    assert snapped.atoms(sympy.Float)
    assert abs(float(snapped.subs(x, 1.0)) - 1.05) < 1e-9


def test_snap_constants_drops_negligible_offsets():
    X, t = _data(lambda a, b: a + b)
    snapped = snap_constants(x + y + sympy.Float(1e-9), [x, y], X, t)
    assert snapped == x + y


def test_snap_constants_rejects_negative_tolerance():
    with pytest.raises(ValueError, match="rtol and snap_rtol must be >= 0"):
        snap_constants(x, [x], np.ones((3, 1)), np.ones(3), rtol=-1.0)


def test_tidy_never_grows_and_never_calls_simplify(monkeypatch):
    def hang(*args, **kwargs):
        raise AssertionError("tidy must not call sympy.simplify (it can run for minutes)")

    monkeypatch.setattr(sympy, "simplify", hang)
    assert tidy((x**2 - 1) / (x - 1)) == x + 1
    assert tidy(x**2 * x ** sympy.Rational(1, 2)) == x ** sympy.Rational(5, 2)
    assert tidy(sympy.cosh(x) * sympy.cos(x)) == sympy.cosh(x) * sympy.cos(x)
    big = sum(sympy.sin(i * x) ** 2 for i in range(1, 40))
    assert sympy.count_ops(tidy(big)) <= sympy.count_ops(big)


def test_a_tiny_shift_is_dropped_before_other_constants_are_snapped():
    x = sympy.Symbol("x")
    X = np.linspace(1, 3, 200)[:, None]
    y = 0.4 * np.exp(-(X[:, 0] ** 2) / 2)
    found = sympy.Float(0.4003) * sympy.exp(
        -((sympy.Float(1.4142) * x + sympy.Float(0.0028)) ** 2) / 4
    )
    snapped = snap_constants(found, [x], X, y)
    assert sympy.simplify(snapped - sympy.Rational(2, 5) * sympy.exp(-(x**2) / 2)) == 0


@pytest.mark.parametrize(
    ("value", "nice"),
    [
        (0.0795774715459477, 1 / (4 * sympy.pi)),
        (0.398942280401433, 1 / sympy.sqrt(2 * sympy.pi)),
        (0.318309886183791, 1 / sympy.pi),
    ],
)
def test_inverse_pi_constants_snap(value, nice):
    assert sympy.simplify(snap_float(value) - nice) == 0


def test_infinite_constants_are_never_fitted_or_accepted():
    X = np.linspace(1, 2, 20)[:, None]
    y = 2 * X[:, 0]
    bad = sympy.zoo * x + sympy.Float(1.5)
    assert refit_constants(bad, [x], X, y) == bad
    assert snap_constants(sympy.Float(2.0000001) * x, [x], X, y) == 2 * x
