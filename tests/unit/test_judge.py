"""The judge: noise estimate, snapping by test, choosing within the noise (no training)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import sympy

from kandiscover.search.judge import Judge, JudgeConfig, fewer_constants
from kandiscover.search.noise import NoiseEstimate, estimate_noise
from kandiscover.search.problem import Problem, make_split

m, v, r, x = sympy.symbols("m v r x")


def _judge(X, y, symbols, noise=None, sigma=None, seed=0, **config):
    problem = Problem(X, y, tuple(symbols), sigma)
    split = make_split(problem.n, seed)
    if noise is None:
        noise, _ = estimate_noise(X[split.train], y[split.train], None if sigma is None else sigma)
    return Judge(problem, split, noise, JudgeConfig(**config))


def _centripetal(n=500, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, size=(n, 3))
    y = X[:, 0] * X[:, 1] ** 2 / X[:, 2]
    return X, y * (1 + noise * rng.standard_normal(n))


# --- the noise estimate ------------------------------------------------------------------


@pytest.mark.parametrize(
    "law",
    [
        lambda X: np.sin(X[:, 0]),
        lambda X: X[:, 0] * X[:, 1] ** 2 / X[:, 2],
        lambda X: np.exp(-X[:, 0] / 2) + X[:, 1],
    ],
    ids=["sin", "monomial", "exp-plus-line"],
)
@pytest.mark.parametrize("level", [0.01, 0.05, 0.2])
def test_noise_estimate_is_within_a_factor_1_5_of_the_truth(law, level):
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 4, size=(400, 3))
    clean = law(X)
    sigma = level * float(np.std(clean))
    est, _ = estimate_noise(X, clean + rng.normal(0, sigma, len(clean)))
    assert est.method == "gaussian process"
    assert 1 / 1.5 < est.sigma / sigma < 1.5, est


def test_noise_free_data_have_a_tiny_noise_estimate_and_error_bars_are_the_noise():
    rng = np.random.default_rng(2)
    X = rng.uniform(1, 4, size=(300, 2))
    est, _ = estimate_noise(X, X[:, 0] * np.sin(X[:, 1]))
    assert est.relative < 1e-3
    bars = np.full(300, 0.3)
    given, surrogates = estimate_noise(X, X[:, 0], bars)
    assert given.method == "error bars" and given.sigma == pytest.approx(0.3)
    assert surrogates is None


# --- snapping by test --------------------------------------------------------------------


def test_prefactor_and_exponents_snap_together_to_the_law():
    X, y = _centripetal()
    judge = _judge(X, y, (m, v, r))
    wrong = sympy.Float(1.013) * m ** sympy.Float(0.991) * v ** sympy.Float(2.004)
    scored = judge.submit(wrong / r ** sympy.Float(1.004), "hand")
    assert scored.expr == m * v**2 / r
    assert not scored.expr.atoms(sympy.Float)


def test_one_never_becomes_ten_over_pi_squared():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 5, size=(60, 1))
    y = X[:, 0] * (1 + 0.02 * rng.standard_normal(60))
    scored = _judge(X, y, (x,)).submit(sympy.Float(10 / math.pi**2) * x, "hand")
    assert scored.expr == x


def test_a_constant_the_data_pin_down_is_not_snapped():
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 5, size=(400, 1))
    y = 1.05 * X[:, 0] ** 2 + rng.normal(0, 0.01, 400)
    scored = _judge(X, y, (x,)).submit(sympy.Float(1.0) * x**2, "hand")
    (c,) = scored.expr.atoms(sympy.Float)
    assert float(c) == pytest.approx(1.05, rel=1e-3)


def test_noise_free_constants_snap_to_exact_values():
    rng = np.random.default_rng(5)
    X = rng.uniform(-2, 2, size=(300, 1))
    y = np.exp(-(X[:, 0] ** 2) / 2) / np.sqrt(2 * np.pi)
    guess = sympy.Float(0.3989) * sympy.exp(sympy.Float(-0.49999) * x**2) + sympy.Float(1e-9)
    scored = _judge(X, y, (x,)).submit(guess, "hand")
    assert sympy.simplify(scored.expr - sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi)) == 0


# --- choosing ----------------------------------------------------------------------------


def _noise_fitting_polynomial(X, y, split, degree=12):
    """A degree-12 polynomial fitted to the fitting rows: it follows their noise."""
    coef = np.polyfit(X[split.train, 0], y[split.train], degree)
    return sum(sympy.Float(c) * x ** (degree - i) for i, c in enumerate(coef))


def test_a_simple_law_is_chosen_over_one_that_fits_the_noise():
    rng = np.random.default_rng(6)
    X = rng.uniform(1, 3, size=(400, 1))
    y = 2 * X[:, 0] + 1 + rng.normal(0, 0.2, 400)
    judge = _judge(X, y, (x,), snap=False)
    law = judge.submit(sympy.Float(2.0) * x + sympy.Float(1.0), "line")
    monster = judge.submit(_noise_fitting_polynomial(X, y, judge.split), "polynomial")
    assert monster.fit_rss < law.fit_rss  # the monster fits the fitting rows better
    assessment = judge.assess()
    assert assessment.chosen is law and not assessment.approximate
    assert judge.assess("accuracy").chosen in (law, monster)
    assert judge.satisfied()


def test_a_formula_significantly_worse_than_the_best_is_not_within_noise():
    X, y = _centripetal()
    judge = _judge(X, y, (m, v, r))
    law = judge.submit(m * v**2 / r, "law")
    cheap = judge.submit(sympy.Float(3.0) * m * v, "cheap")
    a = judge.assess()
    assert a.chosen is law
    assert a.within_noise[a.front.index(law)] and not a.within_noise[a.front.index(cheap)]
    assert judge.assess("simplest").chosen is law


def test_large_formulas_are_approximations_and_are_only_chosen_alone():
    rng = np.random.default_rng(7)
    X = rng.uniform(1, 3, size=(300, 1))
    y = np.sin(3 * X[:, 0]) * np.exp(X[:, 0] / 3)
    judge = _judge(X, y, (x,), snap=False)
    judge.submit(_noise_fitting_polynomial(X, y, judge.split, degree=9), "polynomial")
    a = judge.assess()
    assert a.chosen.complexity > 30 and a.approximate
    assert not judge.satisfied()


def test_error_bars_make_a_chi_square_and_small_tables_are_cross_validated():
    rng = np.random.default_rng(8)
    X = rng.uniform(1, 5, size=(30, 3))
    sigma = 0.05 * X[:, 0] * X[:, 1] ** 2 / X[:, 2]
    y = X[:, 0] * X[:, 1] ** 2 / X[:, 2] + sigma * rng.standard_normal(30)
    judge = _judge(X, y, (m, v, r), sigma=sigma)
    assert judge.split.cross_validated and judge.noise2 == 1.0
    law = judge.submit(sympy.Float(0.98) * m * v**2 / r, "law")
    assert law.expr == m * v**2 / r
    assert len(law.residuals) == 30  # every row predicted out of its fold
    assert judge.satisfied()


def test_the_judge_scores_nothing_new_after_its_deadline():
    X, y = _centripetal(n=100)
    problem = Problem(X, y, (m, v, r))
    judge = Judge(problem, make_split(100, 0), NoiseEstimate(0.1, 0.01, "given"), deadline=0.0)
    assert judge.submit(m * v**2 / r, "first") is not None  # the first is always scored
    assert judge.submit(m * v, "late") is None
    assert time.perf_counter() > judge.deadline


def test_unusable_formulas_are_refused():
    X, y = _centripetal(n=100)
    judge = _judge(X, y, (m, v, r))
    assert judge.submit(sympy.zoo * m, "infinite") is None
    assert judge.submit(sympy.log(m - 10), "undefined") is None
    assert judge.submit(m * v**2 / r, "law") is not None
    assert judge.submit(m * v**2 / r, "again") is None  # scored once
    with pytest.raises(ValueError, match="alpha"):
        JudgeConfig(alpha=-1)


def test_redundant_constants_merge_before_the_fit():
    k, v, g, x = sympy.symbols("k v g x")
    F = sympy.Float
    redundant = F(0.9997) * k * v / (F(0.9997) * g - F(0.99971))
    merged = fewer_constants(redundant)
    assert sum(isinstance(a, sympy.Float) for a in sympy.preorder_traversal(merged)) == 2
    point = {k: 1.3, v: 0.7, g: 2.9}
    assert math.isclose(float(merged.subs(point)), float(redundant.subs(point)), rel_tol=1e-12)
    # no redundancy: the formula is kept as it is
    assert fewer_constants(F(2.5) * x + F(0.7)) == F(2.5) * x + F(0.7)
    assert fewer_constants((F(2.0) * x + F(4.0)) * sympy.exp(F(0.5) * x)) == (
        (F(2.0) * x + F(4.0)) * sympy.exp(F(0.5) * x)
    )
    # the largest coefficient comes out: a negligible one does not blow the others up
    c, v = sympy.symbols("c v")
    tiny = F(2.0) * c * (F(1e-15) + F(1.0) / sympy.sqrt(1 - v**2))
    out = fewer_constants(tiny)
    assert max(abs(float(a)) for a in out.atoms(sympy.Float)) < 10, out
    # never a complex number from a negative coefficient under a root
    root = F(2.0) * sympy.sqrt(F(-1.0) + F(3.0) * x)
    assert not fewer_constants(root).has(sympy.I)
