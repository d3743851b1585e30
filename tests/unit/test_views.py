"""Views of a problem: each maps the data and maps a formula found there back exactly."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from kandiscover.search.dimensional import reduce_units
from kandiscover.search.problem import Problem, make_split
from kandiscover.search.views import Chain, Log, Raw, Scale, TargetTransform, Units

m, v, r = sympy.symbols("m v r")


def _problem(n=50, seed=0, scale=(1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, size=(n, 3)) * np.array(scale)
    return Problem(X, X[:, 0] * X[:, 1] ** 2 / X[:, 2], (m, v, r))


def _agree(parent: Problem, expr: sympy.Expr) -> float:
    fn = sympy.lambdify(parent.symbols, expr, "numpy")
    return float(np.max(np.abs(fn(*parent.X.T) - parent.y) / np.abs(parent.y)))


def test_the_log_view_turns_a_monomial_into_a_line_and_back():
    p = _problem()
    bound = Log().bind(p)
    np.testing.assert_allclose(bound.problem.y, np.log(p.y))
    line = m + 2 * v - r  # the law in the log view: log y = log m + 2 log v - log r
    assert bound.inverse(line) == m * v**2 / r


def test_the_log_view_keeps_the_rows_of_the_majority_sign_and_refuses_a_sign_change():
    p = _problem(n=100)
    y = p.y.copy()
    y[:3] = -y[:3]  # noise pushed three values across zero
    noisy = Problem(p.X, y, p.symbols)
    bound = Log().bind(noisy)
    assert bound.problem.n == 97
    y[:50] = -y[:50]
    assert Log().bind(Problem(p.X, y, p.symbols)) is None


def test_scale_divides_by_powers_of_ten_and_maps_back_exactly():
    p = _problem(scale=(1e-30, 1.0, 1e20))
    bound = Scale().bind(p)
    assert 1e-2 < np.abs(bound.problem.X).max() < 1e3
    # the law on the scaled data has a constant 1e-50 times the original's
    scaled_law = bound.problem.y / (bound.problem.X[:, 0] * bound.problem.X[:, 1] ** 2)
    c = sympy.Float(float(np.median(scaled_law * bound.problem.X[:, 2])))
    assert _agree(p, bound.inverse(c * m * v**2 / r)) < 1e-12
    assert Scale().bind(_problem()).inverse(m) == m  # O(1) data are left alone


def test_units_reduce_a_product_of_powers_to_a_constant():
    p = _problem()
    kg, speed, length = [0, 0, 1, 0, 0], [1, -1, 0, 0, 0], [1, 0, 0, 0, 0]
    force = [1, -2, 1, 0, 0]
    bound = Units(reduce_units([kg, speed, length], force)).bind(p)
    assert bound.problem.d == 0
    np.testing.assert_allclose(bound.problem.y, 1.0)
    assert bound.inverse(sympy.Integer(1)) == m * v**2 / r


def test_a_chain_inverts_its_views_in_reverse_order():
    p = _problem(scale=(1e-30, 1.0, 1.0))
    chain = Chain.build(p, (Scale(), Log()))
    assert chain.name == "log"
    found = chain.problem  # log of the scaled data: log y' = log m' + 2 log v - log r + c
    coef = np.linalg.lstsq(np.column_stack([np.ones(found.n), found.X]), found.y, rcond=None)[0]
    line = sympy.Float(coef[0]) + sum(sympy.Float(c) * s for c, s in zip(coef[1:], found.symbols))
    assert _agree(p, chain.inverse(line)) < 1e-9
    assert Chain.build(Problem(p.X, p.y - p.y.mean(), p.symbols), (Log(),)) is None


def test_a_target_transform_needs_finite_varying_values():
    p = _problem()
    half = TargetTransform("y/2", lambda X, y: y / 2, lambda e: 2 * e, lambda X, t: 2 * t)
    bound = half.bind(p)
    np.testing.assert_allclose(bound.problem.y, p.y / 2)
    assert bound.inverse(m) == 2 * m
    flat = TargetTransform("0", lambda X, y: 0 * y, lambda e: e, lambda X, t: t)
    assert flat.bind(p) is None
    assert Raw().bind(p).problem is p


@pytest.mark.parametrize(("n", "folds"), [(1000, 0), (150, 5), (4, 4)])
def test_splits_hold_out_a_quarter_or_cross_validate(n, folds):
    split = make_split(n, seed=0)
    assert len(split.folds) == folds
    if folds:
        assert sorted(np.concatenate(split.folds).tolist()) == list(range(n))
    else:
        assert len(split.valid) == 250 and not set(split.train) & set(split.valid)
