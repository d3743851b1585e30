"""Bad input to discover and the estimator: a clear error naming it, or the right answer."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
import sympy

import kandiscover as kd
from kandiscover.search import Task
from kandiscover.search.strategies import Linear
from kandiscover.search.views import Scale

LINES = [Task((Scale(),), Linear())]


def _data(n=60, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 2, size=(n, d))
    return X, 2 * X[:, 0] + 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"time_limit": "x"}, TypeError, r"time_limit must be a number of seconds.*'x'"),
        ({"time_limit": -1}, ValueError, "time_limit must be a positive number"),
        ({"time_limit": math.nan}, ValueError, "time_limit must be a positive number"),
        ({"seed": 1.5}, TypeError, r"seed must be a non-negative integer, got float 1.5"),
        ({"seed": True}, TypeError, "seed must be a non-negative integer"),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer, got -3"),
        ({"config": {}}, TypeError, "config must be a kandiscover.SearchConfig"),
        ({"model_selection": "fast"}, ValueError, r"model_selection must be one of \['best'"),
        ({"names": ["a", "a"]}, ValueError, r"names must be distinct; repeated: \['a'\]"),
        ({"names": ["a"]}, ValueError, "names has 1 entries but X has 2 columns"),
        ({"names": "ab"}, TypeError, "names must be a sequence of strings"),
        ({"names": ["a", 3]}, TypeError, "names must hold strings"),
        ({"sigma": -1.0}, ValueError, "sigma .* must be positive and finite"),
        ({"sigma": np.ones(5)}, ValueError, r"sigma must have the shape of y \(60,\)"),
        ({"units": [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]}, ValueError, "needs both units"),
        ({"library": "default"}, TypeError, "library must be a kandiscover Library"),
        ({"judge": {"alpha": 1}}, TypeError, "judge must be a JudgeConfig or None, got dict"),
        ({"plan": "lines"}, TypeError, "plan must be a sequence of Task, got str"),
        ({"plan": [Linear()]}, TypeError, "plan must hold Task objects, got Linear"),
        ({"plan": []}, ValueError, "plan is empty"),
        ({"progress": 3}, TypeError, "progress must be a callable taking a Progress"),
        ({"select_inputs": "yes"}, TypeError, "select_inputs must be True or False, got str"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        kd.discover(X, y, **{"time_limit": 5, **kwargs})


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (np.array([[1 + 1j], [2], [3], [4]]), np.arange(4.0), TypeError, "X holds complex"),
        (np.array([[True], [False], [True]]), np.arange(3.0), TypeError, "X is boolean"),
        ([[1.0, 2.0], [3.0], [4.0, 5.0]], [1.0, 2.0, 3.0], ValueError, "X is ragged"),
        (np.zeros((0, 2)), np.zeros(0), ValueError, "X is empty"),
        (np.ones((2, 1)), np.array([1.0, 2.0]), ValueError, r"too few rows: 2 \(need at least 3\)"),
        (np.ones((4, 1)), np.array([1.0, np.nan, 2, 3]), ValueError, "y contains 1 NaN"),
        (np.ones((4, 1)), np.ones(4), ValueError, "y is constant"),
        (np.ones((4, 1)), np.arange(5.0), ValueError, "X has 4 rows but y has 5"),
        ("abc", [1.0], TypeError, "X must be an array of numbers, got the string"),
        ([["a"], ["b"], ["c"]], [1.0, 2.0, 3.0], TypeError, "X must hold numbers"),
    ],
)
def test_bad_data_is_named(X, y, error, match):
    with pytest.raises(error, match=match):
        kd.discover(X, y, time_limit=5)


@pytest.mark.timeout(120)
def test_every_numpy_math_and_sympy_name_can_be_a_column():
    import builtins
    import keyword
    import math as math_module

    names = sorted(
        {
            n
            for module in (np, math_module, sympy, builtins)
            for n in dir(module)
            if n.isidentifier()
        }
        | set(keyword.kwlist)
    )
    rng = np.random.default_rng(1)
    width = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # renamed columns and few rows are reported
        for start in range(0, len(names), width):
            chunk = names[start : start + width]
            X = rng.uniform(1, 2, size=(50, len(chunk)))
            y = 2 * X[:, 0] + 1
            r = kd.discover(X, y, names=chunk, plan=LINES, time_limit=5, select_inputs=False)
            np.testing.assert_allclose(r.predict(X), y, rtol=1e-6, err_msg=str(chunk))
            assert r.names == tuple(chunk)
            used = {s.name for s in r.formula.free_symbols}
            assert used == {r.variables[0]}, (chunk[0], r.formula)


def test_hostile_column_names_never_reach_a_formula_as_code():
    X, y = _data()
    hostile = ["__import__('os').system('echo hi')", "a b"]
    with pytest.warns(UserWarning, match="renamed"):
        r = kd.discover(X, y, names=hostile, plan=LINES, time_limit=5)
    assert all(v.isidentifier() and not v.startswith("__") for v in r.variables)
    assert kd.parse_formula(str(r.formula), variables=list(r.variables)) == r.formula


def test_a_short_time_limit_returns_the_best_formula_in_time():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, size=(400, 1))
    for limit in (0.5, 2.0):
        t0 = time.perf_counter()
        r = kd.discover(X, 3 * X[:, 0] ** 2, time_limit=limit)
        assert time.perf_counter() - t0 <= 1.1 * limit + 1.0
        assert math.isfinite(r.rmse_test)


def test_three_rows_give_a_formula_and_a_warning():
    X = np.array([[1.0], [2.0], [3.0]])
    with pytest.warns(UserWarning, match="only 3 rows"):
        r = kd.discover(X, 2 * X[:, 0], time_limit=5)
    assert r.formula == 2 * sympy.Symbol("x_1") and math.isfinite(r.r2_test)


def test_fifty_columns_and_two_that_matter():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 5, size=(200, 50))
    y = 2 * X[:, 0] + X[:, 7]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = kd.discover(X, y, time_limit=20)
    assert r.formula == 2 * sympy.Symbol("x_1") + sympy.Symbol("x_8")
    assert len(r.dropped) == 48


@pytest.mark.parametrize(
    ("sx", "sy"), [(1e-30, 1.0), (1e30, 1.0), (1.0, 1e-30), (1e-30, 1e30), (1e300, 1.0)]
)
def test_a_law_is_found_at_any_physical_scale(sx, sy):
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 5, size=(300, 2))
    y = 3 * X[:, 0] ** 2 * X[:, 1] * sy
    r = kd.discover(X * np.array([sx, 1.0]), y, names=["m", "v"], time_limit=10)
    m, v = sympy.symbols("m v")
    ratio = sympy.simplify(r.formula / (m**2 * v))
    expected = 3 * sympy.Float(sy) / sympy.Float(sx) ** 2  # 3e-600 is no float64
    assert ratio.is_number and abs(ratio / expected - 1) < 1e-9


def test_cross_validation_with_a_short_limit_never_fails():
    pytest.importorskip("sklearn")
    from sklearn.model_selection import cross_val_score

    from kandiscover.estimator import KANRegressor

    rng = np.random.default_rng(5)
    X = rng.uniform(1, 2, size=(120, 2))
    scores = cross_val_score(KANRegressor(time_limit=2), X, X[:, 0] * X[:, 1], cv=3)
    assert np.all(scores > 0.99)
