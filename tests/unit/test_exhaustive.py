"""The exhaustive search over laws of one variable."""

import numpy as np
import pytest
import sympy

from kandiscover.search.strategies.exhaustive import univariate_formulas
from kandiscover.symbolic.equivalence import symbolic_solution
from kandiscover.symbolic.library import DEFAULT_LIBRARY

x = sympy.Symbol("x")
CASES = [
    (1 / sympy.sqrt(1 - x**2), (0.1, 0.7)),  # inner x^2, outer 1/sqrt
    (1 / (sympy.exp(x / (2 * sympy.pi)) - 1), (1.0, 5.0)),  # inner exp(x/2pi), outer 1/x
    (x / sympy.sqrt(1 - x**2), (0.1, 0.7)),  # target divided by x
    (sympy.sin(3 * x), (0.0, 2.0)),  # one primitive
]


@pytest.mark.parametrize("truth, bounds", CASES, ids=[str(c[0]) for c in CASES])
def test_compositions_of_two_primitives_are_found(truth, bounds):
    rng = np.random.default_rng(0)
    xs = rng.uniform(*bounds, size=300)
    ys = sympy.lambdify(x, truth)(xs)
    found = univariate_formulas(xs, ys, x, DEFAULT_LIBRARY)
    assert found
    best = sympy.lambdify(x, found[0])(xs)
    assert np.max(np.abs(best - ys)) < 1e-6 * np.max(np.abs(ys))
    assert any(symbolic_solution(_rounded(f), truth) for f in found), found


def test_no_candidates_for_a_constant_input():
    assert univariate_formulas(np.ones(20), np.arange(20.0), x, DEFAULT_LIBRARY) == []


def _rounded(expr):
    """Constants within 1e-6 of a simple value replaced by it (what the pipeline snaps)."""
    reps = {}
    for f in expr.atoms(sympy.Float):
        simple = sympy.nsimplify(f, [sympy.pi], tolerance=1e-6, rational=False)
        reps[f] = simple
    return expr.xreplace(reps)
