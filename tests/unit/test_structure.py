"""Structure discovery: the tests on a surrogate, and splitting and recombining a law."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy

from kandiscover.search.problem import Problem
from kandiscover.search.strategies.base import Context
from kandiscover.search.strategies.decompose import (
    Decompose,
    Tree,
    _recombine,
    _remainder,
)
from kandiscover.search.structure import (
    SplitTest,
    composed,
    compositions,
    pair_symmetries,
    separability,
    train_surrogate,
)


class Exact:
    """A perfect surrogate of a known function (the tests' decisions, without training)."""

    def __init__(self, fn, error=1e-6, scale=1.0):
        self.fn, self.error, self.scale = fn, error, scale

    def __call__(self, X):
        return self.fn(X)

    @property
    def relative_error(self):
        return max(self.error / self.scale, 1e-4)


def _data(d, n=400, seed=0, low=1.0, high=3.0):
    return np.random.default_rng(seed).uniform(low, high, size=(n, d))


def _best_decomposition(X, y, symbols, seconds=30):
    """The proposal of Decompose closest to the data, with its largest relative error."""
    ctx = Context(deadline=time.perf_counter() + seconds)
    found = []
    for proposal in Decompose().propose(Problem(X, y, symbols), ctx):
        predicted = sympy.lambdify(symbols, proposal.expr)(*X.T)
        found.append((float(np.max(np.abs(predicted - y)) / np.std(y)), proposal))
    assert found, "Decompose proposed nothing"
    return min(found, key=lambda t: t[0])


def _first(tests, kind, groups=None, output="y"):
    for t in tests:
        if t.kind == kind and t.output == output and (groups is None or t.groups == groups):
            return t
    raise AssertionError(f"no {kind} test of {output} for {groups}")


# --- additive and multiplicative separability --------------------------------------------


def test_an_additive_law_separates_and_a_coupled_one_does_not():
    X = _data(3)
    sep = separability(Exact(lambda X: X[:, 0] ** 2 + np.sin(X[:, 1]) * X[:, 2]), X)
    assert _first(sep, "additive", ((0,), (1, 2))).passed
    assert not _first(sep, "additive", ((1,), (0, 2))).passed
    coupled = separability(Exact(lambda X: np.sin(X[:, 0] * X[:, 1]) + X[:, 2]), X)
    assert not _first(coupled, "additive", ((0,), (1, 2))).passed


def test_a_transform_of_the_target_can_make_a_law_separable():
    X = _data(2)
    distance = Exact(lambda X: np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 3))
    tests = separability(distance, X, outputs=("y", "y^2"))
    assert _first(tests, "additive", ((0,), (1,)), "y^2").passed
    assert not _first(tests, "additive", ((0,), (1,)), "y").passed


def test_a_product_separates_in_the_log_view():
    X = _data(3)
    log_law = Exact(lambda X: np.log(X[:, 0] * np.exp(-X[:, 1]) / X[:, 2] ** 2))
    tests = separability(log_law, X, kind="multiplicative")
    assert all(t.kind == "multiplicative" for t in tests)
    assert _first(tests, "multiplicative", ((0,), (1, 2))).passed


def test_separability_holds_on_a_surrogate_trained_on_noisy_data():
    X = _data(3, n=600, seed=1)
    rng = np.random.default_rng(2)
    y = X[:, 0] ** 2 + np.cos(X[:, 1]) + X[:, 1] * X[:, 2]
    y = y + 0.01 * np.std(y) * rng.standard_normal(len(y))
    surrogate = train_surrogate(X, y, seed=0, time_limit=10)
    tests = separability(surrogate, X)
    assert _first(tests, "additive", ((0,), (1, 2))).passed
    assert not _first(tests, "additive", ((1,), (0, 2))).passed


# --- symmetries in pairs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "law"),
    [
        ("difference", lambda X: np.exp(-((X[:, 0] - X[:, 1]) ** 2)) * X[:, 2]),
        ("sum", lambda X: np.sin(X[:, 0] + X[:, 1]) + X[:, 2]),
        ("product", lambda X: np.log(X[:, 0] * X[:, 1]) * X[:, 2]),
        ("ratio", lambda X: np.sqrt(X[:, 0] / X[:, 1]) + X[:, 2] ** 2),
    ],
)
def test_each_pair_symmetry_is_found_and_not_confused(kind, law):
    X = _data(3)
    tests = pair_symmetries(Exact(law), X)
    assert _first(tests, kind, ((0, 1),)).statistic < 1e-6
    others = [t for t in tests if t.kind == kind and t.groups != ((0, 1),)]
    assert others and all(t.statistic > 0.1 for t in others)


def test_a_symmetry_is_found_on_a_surrogate_of_noisy_data():
    X = _data(3, n=600, seed=3)
    rng = np.random.default_rng(4)
    y = np.sqrt((X[:, 0] - X[:, 1]) ** 2 + 1.0) * X[:, 2]
    y = y + 0.01 * np.std(y) * rng.standard_normal(len(y))
    surrogate = train_surrogate(X, y, seed=0, time_limit=10)
    tests = pair_symmetries(surrogate, X)
    best = min((t for t in tests if t.kind == "difference"), key=lambda t: t.statistic)
    assert best.groups == ((0, 1),)


# --- generalized symmetry (composition) ------------------------------------------------


@pytest.mark.parametrize(
    ("law", "form"),
    [
        (lambda X: np.exp(-(X[:, 0] ** 2 + X[:, 1] ** 2) / 5) * X[:, 2], (2.0, 2.0, 1.0)),
        (lambda X: 1 / (1 / X[:, 0] + 1 / X[:, 1]) + X[:, 2], (-1.0, -1.0, 1.0)),
        (lambda X: np.sqrt(X[:, 0] + 2.5 * X[:, 1] ** 2) * X[:, 2], (1.0, 2.0, 2.5)),
        (lambda X: np.sin(X[:, 0] ** 2 * X[:, 1] / 5) * X[:, 2], (2.0,)),
    ],
)
def test_a_composition_is_found_with_its_invariant(law, form):
    X = _data(3)
    tests = compositions(Exact(law), X)
    best = tests[0]
    assert best.passed and best.groups == ((0, 1),)
    np.testing.assert_allclose(best.form, form, rtol=1e-5)
    assert all(not t.passed for t in tests[1:])  # (x_i, x_3) is no composition


def test_no_composition_is_claimed_for_a_coupled_law():
    X = _data(3)
    law = Exact(lambda X: np.sin(X[:, 0] * X[:, 1] + X[:, 1] ** 2) * X[:, 2] + X[:, 0] ** 2)
    assert not any(t.passed for t in compositions(law, X))


def test_a_composition_is_found_on_a_surrogate_of_noisy_data():
    X = _data(3, n=600, seed=1)
    rng = np.random.default_rng(2)
    y = np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2) * X[:, 2]
    y = y + 0.01 * np.std(y) * rng.standard_normal(len(y))
    surrogate = train_surrogate(X, y, seed=0, time_limit=5)
    best = compositions(surrogate, X)[0]
    assert best.passed and best.groups == ((0, 1),)
    assert best.form[:2] == (2.0, 2.0) and abs(best.form[2] - 1) < 0.05


def test_a_composition_names_its_invariant():
    a, b = sympy.symbols("a b")
    assert composed((2.0, 2.0, 1.0), a, b) == a**2 + 1.0 * b**2
    assert composed((0.5,), a, b) == sympy.sqrt(a) * b
    test = SplitTest("composition", ((0, 1),), 0.001, 0.02, form=(-1.0, -1.0, 1.0))
    assert test.describe(["a", "b"]).startswith("composition through 1.0/b + 1/a [a,b]")


@pytest.mark.slow
def test_decompose_replaces_a_composed_pair_by_its_invariant():
    rng = np.random.default_rng(6)
    X = rng.uniform(1, 3, size=(600, 3))
    y = X[:, 2] / (X[:, 0] ** 2 + X[:, 1] ** 2 + X[:, 2])
    residual, best = _best_decomposition(X, y, sympy.symbols("a b c"))
    assert residual < 1e-2, best.expr
    assert isinstance(best.model, Tree) and best.model.tests[0].kind == "composition"


# --- recombination -----------------------------------------------------------------------


def test_the_second_part_comes_from_the_data_once_the_first_is_taken_out():
    X = _data(3)
    a, b, c = sympy.symbols("a b c")
    y = 2 * X[:, 0] * np.exp(-X[:, 1]) * X[:, 2]
    problem = Problem(X, y, (a, b, c))
    test = SplitTest("multiplicative", ((0,), (1, 2)), 0.0, 1.0)
    rest = _remainder(problem, (0,), (1, 2), test, 3 * a)
    np.testing.assert_allclose(rest.y, 2 / 3 * np.exp(-X[:, 1]) * X[:, 2])
    assert rest.symbols == (b, c)
    whole = _recombine(test, 3 * a, sympy.Rational(2, 3) * sympy.exp(-b) * c, 1.0)
    assert sympy.simplify(whole - 2 * a * sympy.exp(-b) * c) == 0
    additive = SplitTest("additive", ((0,), (1,)), 0.0, 1.0, output="y^2")
    assert _recombine(additive, a**2, b**2, 1.0) == sympy.sqrt(a**2 + b**2)
    inverse = SplitTest("additive", ((0,), (1,)), 0.0, 1.0, output="1/y")
    assert _recombine(inverse, 1 / a, b, 1.0) == 1 / (1 / a + b)


def test_a_tree_prints_the_splits_with_their_statistics():
    test = SplitTest("difference", ((0, 1),), 0.01, 0.2)
    tree = Tree(("x1", "x2"), sympy.Symbol("x1") - sympy.Symbol("x2"), (test,))
    text = str(tree)
    assert "difference [x1,x2]: 0.01 (threshold 0.2, passed)" in text


@pytest.mark.slow
def test_decompose_recovers_a_distance_law_by_two_differences():
    rng = np.random.default_rng(5)
    X = rng.uniform(1, 5, size=(600, 4))
    y = np.sqrt((X[:, 0] - X[:, 1]) ** 2 + (X[:, 2] - X[:, 3]) ** 2)
    residual, best = _best_decomposition(X, y, sympy.symbols("x1 x2 y1 y2"))
    assert residual < 1e-2, best.expr
    assert isinstance(best.model, Tree) and best.model.tests[0].kind == "difference"


def test_decompose_refuses_bad_options():
    with pytest.raises(ValueError, match="max_depth"):
        Decompose(max_depth=0)
