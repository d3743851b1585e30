"""Tests for kandiscover.symbolic.equivalence (tolerance: snapping at rtol=1e-3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from kandiscover.symbolic.equivalence import (
    accuracy_solution,
    r2_score,
    snap_model,
    structure_solution,
    symbolic_solution,
)

x, y, z = sympy.symbols("x y z")
F = sympy.Float


@pytest.mark.parametrize(
    ("model", "truth"),
    [
        (x * y * F(2.0000001), 2 * x * y),
        (x + 3, x),  # constant difference
        (F(1.5) * sympy.sin(x), sympy.sin(x)),  # constant ratio
        (sympy.sin(F(1.0000001) * x) * F(0.3), sympy.sin(x)),  # snapped inside
        (x ** F(2.0) * y / z, x**2 * y / z),
        (sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi), sympy.exp(-(x**2) / 2)),
        (F(6.2831853) * x, 2 * sympy.pi * x),
        (sympy.log(x * y), sympy.log(x) + sympy.log(y) + 5),
    ],
)
def test_positive_cases(model, truth):
    assert symbolic_solution(model, truth)


@pytest.mark.parametrize(
    ("model", "truth"),
    [
        (x ** F(2.01), x**2),  # 2.01 is 0.5% from 2: not snapped at rtol=1e-3
        (sympy.sin(F(1.01) * x), sympy.sin(x)),
        (x * y + x, x * y),
        (F(1.5) * sympy.sin(x) + x, sympy.sin(x)),
        (sympy.Integer(0) * x, x),  # zero model: the ratio is zero, not a nonzero constant
        (x + y, x * y),
    ],
)
def test_negative_cases(model, truth):
    assert not symbolic_solution(model, truth)


def test_large_expressions_use_the_numeric_verdict():
    truth = sum(sympy.sin(i * x) for i in range(1, 30))
    assert symbolic_solution(truth + 1, truth, max_ops=10)
    assert not symbolic_solution(truth + x, truth, max_ops=10)


def test_snap_model_and_type_errors():
    assert snap_model(F(0.49999) * x, rtol=1e-3) == x / 2
    assert snap_model(F(0.4) * x + F(0.123456), rtol=1e-6) == sympy.Rational(2, 5) * x + F(0.123456)
    with pytest.raises(TypeError, match="must be SymPy expressions"):
        symbolic_solution("x", x)


def test_r2_and_accuracy_solution():
    t = np.linspace(0, 1, 50)
    assert r2_score(t, t) == 1.0
    assert r2_score(t, np.full_like(t, t.mean())) == pytest.approx(0.0)
    assert r2_score(np.ones(3), np.ones(3)) == 1.0
    assert r2_score(np.ones(3), np.zeros(3)) == -math.inf
    assert accuracy_solution(t, t + 1e-4)
    assert not accuracy_solution(t, t + 0.1)
    assert not accuracy_solution(t, np.full_like(t, np.nan))
    with pytest.raises(ValueError, match="equal shapes"):
        r2_score(t, t[:-1])


def test_formulas_undefined_on_real_points_are_decided_numerically(monkeypatch):
    # sqrt of a mostly negative argument is NaN on real random points; complex points
    # decide it without SymPy's simplify (which can run for minutes)
    monkeypatch.setattr(sympy, "simplify", lambda e: pytest.fail("simplify was called"))
    x, c = sympy.symbols("x c")
    truth = sympy.sqrt(x**2 / c**2 - 10)
    assert symbolic_solution(sympy.Float(3.0) * sympy.sqrt(x**2 / c**2 - 10), truth)
    assert not symbolic_solution(sympy.sqrt(x**2 / c**2 - 9), truth)


def test_si_magnitudes_are_judged_in_the_data_ranges():
    lam, N, T, V = sympy.symbols("lam N T V")
    ranges = {"lam": (4e-7, 7e-7), "N": (1e22, 1e24), "T": (200.0, 400.0), "V": (1e-3, 1e-1)}
    # a tiny constant is a constant, not a zero
    assert symbolic_solution(sympy.Float(1.982e-25) / lam, sympy.Float(1.986e-25) / lam)
    # at unit points 1.4e-23 * N * T / V is negligible next to an offset; in the data's
    # ranges it is the law, and the offset model is no solution
    offset = sympy.Float(1.3625e-23) * N * T / V + sympy.Float(1309.6)
    truth = sympy.Float(1.381e-23) * N * T / V
    assert not symbolic_solution(offset, truth, ranges=ranges)
    assert symbolic_solution(sympy.Float(1.3807e-23) * N * T / V, truth, ranges=ranges)
    with pytest.raises(ValueError, match="missing"):
        symbolic_solution(offset, truth, ranges={"N": (1.0, 2.0)})


def test_the_structure_is_judged_up_to_the_fitted_constants():
    T, L = sympy.symbols("T L")
    F = sympy.Float
    arrhenius = F(1.2e13) * sympy.exp(-9000 / T)
    fitted = F(1.1925e13) * sympy.exp(-8996 / T)  # constants estimated from noisy data
    assert not symbolic_solution(fitted, arrhenius, ranges={"T": (280.0, 400.0)})
    assert structure_solution(fitted, arrhenius, {"T": (280.0, 400.0)})
    wrong = F(1.01e8) * sympy.exp(-F(1.729e6) / T**2)  # accurate on the range, not the law
    assert not structure_solution(wrong, arrhenius, {"T": (280.0, 400.0)})
    pendulum = F(2.006) * sympy.sqrt(L)
    assert structure_solution(2 * sympy.sqrt(L), pendulum, {"L": (0.1, 2.0)})  # the scale
    assert not structure_solution(2 * L, pendulum, {"L": (0.1, 2.0)})
    with pytest.raises(ValueError, match="missing"):
        structure_solution(fitted, arrhenius, {})
