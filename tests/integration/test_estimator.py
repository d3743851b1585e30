"""KANRegressor keeps the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
