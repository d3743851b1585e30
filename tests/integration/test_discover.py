"""End-to-end discovery of easy laws (the ones pykan's recipe crashed on or took minutes)."""

import math

import numpy as np
import pandas as pd
import pytest
import sympy

import kandiscover as kd

EASY = ["I.6.2a", "I.12.1", "I.14.3", "I.25.13", "I.39.1", "II.3.24"]


@pytest.mark.parametrize("eq_id", EASY)
def test_recovers_easy_catalogue_laws(eq_id):
    eq = kd.get_equation(eq_id)
    data = kd.sample_equation(eq, n=1000, seed=0)
    result = kd.discover(data.X_train, data.y_train, names=data.names, seed=0, time_limit=60)
    assert kd.symbolic_solution(result.formula, eq.expr), (result.formula, eq.expr)
    assert result.r2_test > 0.999999
    pred = result.predict(data.X_test)
    assert np.corrcoef(pred, data.y_test)[0, 1] > 0.999999


def test_recovers_the_kan_paper_flagship_from_a_dataframe():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(-1, 1, size=(1000, 2)), columns=["x", "y"])
    target = np.exp(np.sin(np.pi * frame["x"]) + frame["y"] ** 2)
    result = kd.discover(frame, target, seed=0, time_limit=60)
    x, y = sympy.symbols("x y")
    assert kd.symbolic_solution(result.formula, sympy.exp(sympy.sin(sympy.pi * x) + y**2))
    assert result.names == ("x", "y")
    assert result.pareto[-1].rmse <= result.pareto[0].rmse
    assert "e^{" in result.latex


@pytest.mark.parametrize("noise", [0.01, 0.05])
def test_a_simple_law_from_noisy_data_is_the_law_and_found_early(noise):
    # the README's first example: 500 rows, relative noise, no units
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, size=(500, 3))
    F = X[:, 0] * X[:, 1] ** 2 / X[:, 2] * (1 + noise * rng.standard_normal(500))
    result = kd.discover(X, F, names=["m", "v", "r"], time_limit=20)
    m, v, r = sympy.symbols("m v r")
    assert sympy.simplify(result.formula - m * v**2 / r) == 0, result.formula
    assert result.stopped == "noise floor"  # it knew it was done (not the time limit)
    assert not result.approximate


def test_time_limit_is_honoured_and_bad_input_is_named():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 2, size=(200, 3))
    y = np.sin(X[:, 0] * X[:, 1]) / X[:, 2] + np.cos(X[:, 2] ** 2)
    result = kd.discover(X, y, time_limit=5)
    assert len(result.attempts) >= 1 and math.isfinite(result.rmse_test)
    with pytest.raises(ValueError, match="constant"):
        kd.discover(X, np.ones(200))
    with pytest.raises(ValueError, match="NaN"):
        kd.discover(np.where(X > 1.99, np.nan, X), y)
    with pytest.raises(ValueError, match="time_limit"):
        kd.discover(X, y, time_limit=0)


@pytest.mark.parametrize("eq_id", ["I.10.7", "III.4.33"])
def test_units_reduce_relativistic_and_planck_laws_to_one_variable(eq_id):
    eq = kd.get_equation(eq_id)
    data = kd.sample_equation(eq, n=1000, seed=0)
    units = {name: data.units[name] for name in data.names}
    result = kd.discover(
        data.X_train,
        data.y_train,
        names=data.names,
        units=units,
        target_units=data.units[data.target],
        time_limit=60,
    )
    assert kd.symbolic_solution(result.formula, eq.expr), (result.formula, eq.expr)
    assert result.view.startswith("units")
    assert result.attempts[0].startswith("units:")


def test_units_without_target_units_are_refused():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(100, 2))
    with pytest.raises(ValueError, match="target_units"):
        kd.discover(X, X[:, 0] * X[:, 1], units=[[1, 0], [0, 1]])
