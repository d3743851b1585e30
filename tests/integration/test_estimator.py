"""KANRegressor keeps the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy
import torch

import kandiscover as kd

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from kandiscover.estimator import EXPECTED_FAILED_CHECKS, KANRegressor

# Small, linear and short: the checks fit dozens of times on random data, where no law
# reaches the noise floor and every search runs to its time limit.
FAST = {
    "config": kd.SearchConfig(hidden=((),), steps=5, alternatives=0, top=1, structure=False),
    "library": ("x",),
    "time_limit": 3.0,
}


@parametrize_with_checks(
    [KANRegressor(**FAST)], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_dataframe_names_and_equations():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(1, 2, size=(100, 2)), columns=["mass", "speed"])
    y = 3.0 * X["mass"] - 2.0 * X["speed"] + 1.0
    model = KANRegressor(**FAST).fit(X, y)
    assert list(model.feature_names_in_) == ["mass", "speed"]
    assert {s.name for s in model.formula_.free_symbols} <= {"mass", "speed"}
    assert {"complexity", "loss", "score", "formula", "latex", "selected"} <= set(
        model.equations_.columns
    )
    assert model.equations_["selected"].sum() == 1
    assert model.score(X, y) > 0.999
    assert "mass" in model.latex()
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-6, atol=1e-6)


def test_constant_target_gives_the_constant():
    X = np.arange(20.0).reshape(10, 2)
    model = KANRegressor(**FAST).fit(X, np.full(10, 4.0))
    assert model.formula_ == 4
    np.testing.assert_array_equal(model.predict(X[:3]), [4.0, 4.0, 4.0])


def test_predict_checks_the_number_of_features():
    X = np.random.default_rng(1).normal(size=(20, 2))
    model = KANRegressor(**FAST).fit(X, X[:, 0] - X[:, 1])
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.ones((4, 3)))


def test_library_names_or_instance():
    X = np.random.default_rng(2).uniform(1, 2, size=(40, 1))
    y = 2.0 * X[:, 0]
    by_name = KANRegressor(**FAST).fit(X, y)
    fast = {**FAST, "library": kd.DEFAULT_LIBRARY.subset(["x"])}
    by_instance = KANRegressor(**fast).fit(X, y)
    assert by_name.formula_ == by_instance.formula_
    with pytest.raises(TypeError, match="sequence of primitive names"):
        KANRegressor(**{**FAST, "library": "x"}).fit(X, y)
    with pytest.raises(ValueError, match="nope"):
        KANRegressor(**{**FAST, "library": ("nope",)}).fit(X, y)


def test_pysr_style_accessors_and_weights():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 2, size=(120, 2))
    y = 2.5 * X[:, 0] * X[:, 1] + 0.01 * rng.standard_normal(120)
    model = KANRegressor(time_limit=10).fit(
        X, y, sample_weight=np.full(120, 1e4), variable_names=["m", "a"]
    )
    m, a = sympy.symbols("m a")
    assert model.sympy() == model.formula_ and model.sympy().free_symbols == {m, a}
    chosen = int(np.flatnonzero(model.equations_["selected"])[0])
    assert model.sympy(chosen) == model.formula_
    assert model.latex(0) == kd.latex(model.sympy(0))
    table = model.latex_table()
    assert r"\begin{tabular}" in table and r"$^\dagger$" in table
    module = model.pytorch()
    np.testing.assert_allclose(
        module(torch.tensor(X)).detach().numpy(), model.predict(X), rtol=1e-10
    )
    np.testing.assert_allclose(model.predict(X, index=0), float(model.sympy(0)))
    with pytest.raises(ValueError, match="out of range"):
        model.sympy(99)
    with pytest.raises(ValueError, match="sample_weight has zeros"):
        KANRegressor(**FAST).fit(X, y, sample_weight=np.r_[0.0, np.ones(119)])


def test_units_through_the_estimator():
    data = kd.sample_equation("I.10.7", n=400, seed=0)
    model = KANRegressor(time_limit=30).fit(
        data.X_train,
        data.y_train,
        variable_names=list(data.names),
        X_units={"m_0": "kg", "v": "m/s", "c": "m/s"},
        y_units="kg",
    )
    assert kd.symbolic_solution(model.formula_, kd.get_equation("I.10.7").expr)
    with pytest.raises(ValueError, match="X_units need y_units"):
        KANRegressor(**FAST).fit(data.X_train, data.y_train, X_units=["kg", "m/s", "m/s"])
