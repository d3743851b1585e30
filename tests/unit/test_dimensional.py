"""Dimensional analysis: prefactor and dimensionless groups from units."""

from fractions import Fraction

import numpy as np
import pytest
import sympy

from kandiscover.search.dimensional import reduce_units
from kandiscover.units import unit_vectors

# base dimensions (m, s, kg, K, V)
MASS = [0, 0, 1, 0, 0]
SPEED = [1, -1, 0, 0, 0]
LENGTH = [1, 0, 0, 0, 0]
TIME = [0, 1, 0, 0, 0]
NONE = [0, 0, 0, 0, 0]


def test_relativistic_mass_reduces_to_one_group_of_speeds():
    red = reduce_units([MASS, SPEED, SPEED], MASS)  # m_0, v, c -> m
    assert red.n_groups == 1
    assert red.prefactor == (1, 0, 0)
    m0, v, c = sympy.symbols("m_0 v c")
    (group,) = red.group_exprs([m0, v, c])
    assert group in (v / c, c / v)


def test_product_of_powers_has_no_group_and_fractional_prefactor():
    # sqrt(gamma * pr / rho): gamma dimensionless, pressure, density -> speed
    pressure, density = [-1, -2, 1, 0, 0], [-3, 0, 1, 0, 0]
    red = reduce_units([pressure, density], SPEED)
    assert red.n_groups == 0
    assert red.prefactor == (Fraction(1, 2), Fraction(-1, 2))


def test_transform_and_inverse_agree():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, size=(50, 3))  # m_0, v, c
    y = X[:, 0] / np.sqrt(1 + (X[:, 1] / X[:, 2]) ** 2)
    red = reduce_units([MASS, SPEED, SPEED], MASS).oriented(X)
    G, r = red.transform(X, y)
    assert G.shape == (50, 1)
    # the reduced target depends on the group alone
    symbols = sympy.symbols("m_0 v c")
    _, v, c = symbols
    pi = sympy.Symbol("pi1")
    (group,) = red.group_exprs(symbols)
    g = 1 / sympy.sqrt(1 + pi**2) if group == v / c else 1 / sympy.sqrt(1 + 1 / pi**2)
    np.testing.assert_allclose(r, sympy.lambdify(pi, g)(G[:, 0]), rtol=1e-12)
    full = sympy.lambdify(symbols, red.inverse(g, [pi], symbols))
    np.testing.assert_allclose(full(*X.T), y, rtol=1e-12)


def test_groups_are_oriented_to_be_small():
    X = np.column_stack([np.ones(20), np.full(20, 1.5), np.full(20, 6.0)])  # v < c
    red = reduce_units([MASS, SPEED, SPEED], MASS).oriented(X)
    assert np.all(red.transform(X, np.ones(20))[0] < 1)


def test_inconsistent_units_give_no_reduction():
    assert reduce_units([LENGTH, TIME], MASS) is None


def test_fractional_powers_need_positive_data():
    pressure, density = [-1, -2, 1, 0, 0], [-3, 0, 1, 0, 0]
    red = reduce_units([pressure, density], SPEED)
    assert red.applies_to(np.array([[1.0, 2.0]]))
    assert not red.applies_to(np.array([[-1.0, 2.0]]))
    assert not red.applies_to(np.array([[0.0, 2.0]]))


def test_unit_vectors_by_name_or_order_and_clear_errors():
    assert unit_vectors({"a": MASS, "b": NONE}, ["b", "a"]) == [tuple(NONE), tuple(MASS)]
    assert unit_vectors([MASS, "m/s"], ["a", "b"]) == [tuple(MASS), tuple(SPEED)]
    with pytest.raises(ValueError, match="no unit for the column"):
        unit_vectors({"a": MASS}, ["a", "b"])
    with pytest.raises(ValueError, match="2 columns"):
        unit_vectors([MASS], ["a", "b"])
    with pytest.raises(ValueError, match="same length"):
        reduce_units([MASS, [1, 0]], MASS)
