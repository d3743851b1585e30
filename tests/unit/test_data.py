"""Catalogue, sampling and input validation (the measured tables: test_tables.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy

from kandiscover.data import (
    Dataset,
    Equation,
    Variable,
    check_xy,
    get_equation,
    load_catalogue,
    read_table,
    sample_equation,
)

BASE_UNITS = 5


# --- catalogue ---------------------------------------------------------------------------


def test_catalogue_has_100_equations() -> None:
    catalogue = load_catalogue()
    assert len(catalogue) == 100
    eq = catalogue["I.6.2a"]
    assert eq.output == "f" and eq.names == ("theta",) and eq.number == 1
    assert "AI Feynman" in eq.source


def test_load_catalogue_returns_a_fresh_dict() -> None:
    load_catalogue().clear()
    assert len(load_catalogue()) == 100


def test_every_formula_parses_and_is_finite_over_its_ranges() -> None:
    rng = np.random.default_rng(0)
    for eq in load_catalogue().values():
        assert eq.expr.free_symbols <= {sympy.Symbol(n) for n in eq.names}, eq.id
        low, high = np.array([(v.low, v.high) for v in eq.variables]).T
        y = eq.evaluate(rng.uniform(low, high, size=(200, len(low))))
        assert np.all(np.isfinite(y)), eq.id


def test_every_equation_is_dimensionally_homogeneous() -> None:
    """Rescaling each base unit must rescale the output by its dimensions."""
    rng = np.random.default_rng(1)
    for eq in load_catalogue().values():
        low, high = np.array([(v.low, v.high) for v in eq.variables]).T
        X = rng.uniform(low, high, size=(50, len(low)))
        scales = rng.uniform(0.5, 2.0, size=BASE_UNITS)
        factor = np.array([np.prod(scales ** np.array(v.units)) for v in eq.variables])
        expected = eq.evaluate(X) * np.prod(scales ** np.array(eq.output_units))
        np.testing.assert_allclose(eq.evaluate(X * factor), expected, rtol=1e-8, err_msg=eq.id)


def test_mu_drift_has_the_units_of_mobility() -> None:
    variables = {v.name: v.units for v in get_equation("I.43.16").variables}
    mobility = {v.name: v.units for v in get_equation("I.43.31").variables}["mob"]
    assert variables["mu_drift"] == mobility == (0, 1, -1, 0, 0)


def test_equation_expr_and_func_agree() -> None:
    eq = get_equation("I.12.1")
    assert eq.expr == sympy.Symbol("mu") * sympy.Symbol("Nn")
    assert eq.func(2.0, 3.0) == 6.0
    np.testing.assert_array_equal(eq.evaluate(np.array([[2.0, 3.0], [1.0, 1.0]])), [6.0, 1.0])


def test_evaluate_broadcasts_constant_formulas() -> None:
    eq = Equation("c", "y", "2", (Variable("x", 0.0, 1.0),))
    np.testing.assert_array_equal(eq.evaluate(np.zeros((3, 1))), [2.0, 2.0, 2.0])


def test_evaluate_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\) for I.12.1"):
        get_equation("I.12.1").evaluate(np.zeros((3, 3)))


def test_unknown_equation_suggests() -> None:
    with pytest.raises(ValueError, match=r"unknown equation id 'I.6.2c'.*did you mean 'I.6.2"):
        get_equation("I.6.2c")


def test_unknown_catalogue() -> None:
    with pytest.raises(ValueError, match=r"unknown catalogue 'feynmann'.*did you mean 'feynman'"):
        load_catalogue("feynmann")


def test_variable_checks_range() -> None:
    with pytest.raises(ValueError, match=r"variable 'x': need finite low < high, got \[2.0, 1.0\]"):
        Variable("x", 2.0, 1.0)


def test_equation_formula_is_parsed_safely() -> None:
    eq = Equation("bad", "y", "__import__('os').system('true')", (Variable("x", 0.0, 1.0),))
    with pytest.raises(ValueError, match="'__import__' is not allowed"):
        _ = eq.expr


# --- sampling ----------------------------------------------------------------------------


def test_sample_equation_split_ranges_and_provenance() -> None:
    ds = sample_equation("I.12.1", n=100, seed=3)
    assert ds.X_train.shape == (75, 2) and ds.X_test.shape == (25, 2)
    assert ds.names == ("mu", "Nn") and ds.target == "F" and ds.equation == "I.12.1"
    X = np.vstack([ds.X_train, ds.X_test])
    eq = get_equation("I.12.1")
    for j, v in enumerate(eq.variables):
        assert v.low <= X[:, j].min() and X[:, j].max() <= v.high
    np.testing.assert_allclose(ds.y_test, eq.evaluate(ds.X_test))
    np.testing.assert_allclose(ds.y_train, eq.evaluate(ds.X_train))
    assert ds.units is not None and ds.units["F"] == (1, -2, 1, 0, 0)


def test_sample_equation_is_reproducible_and_leaves_global_state_alone() -> None:
    state = np.random.get_state()[1].copy()
    a, b = sample_equation("I.6.2", seed=5), sample_equation("I.6.2", seed=5)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, sample_equation("I.6.2", seed=6).X_train)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_noise_only_on_training_targets() -> None:
    eq = get_equation("I.14.3")
    ds = sample_equation(eq, n=4000, noise=0.1, seed=0)
    np.testing.assert_allclose(ds.y_test, eq.evaluate(ds.X_test))
    residual = ds.y_train - eq.evaluate(ds.X_train)
    rms = np.sqrt(np.mean(eq.evaluate(ds.X_train) ** 2))
    assert residual.std() == pytest.approx(0.1 * rms, rel=0.05)
    assert ds.noise == 0.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1}, "n must be an integer >= 2, got 1"),
        ({"n": 10.5}, "n must be an integer >= 2"),
        ({"noise": -0.1}, "noise must be a finite number >= 0"),
        ({"test_size": 1.0}, r"test_size must be in \(0, 1\), got 1.0"),
        ({"n": 3, "test_size": 0.1}, "leaves an empty split for n=3"),
    ],
)
def test_sample_equation_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sample_equation("I.6.2a", **kwargs)


def test_sample_equation_rejects_nonfinite_equation() -> None:
    eq = Equation("log", "y", "log(x)", (Variable("x", -2.0, -1.0),))
    with pytest.raises(ValueError, match="equation log gives non-finite values"):
        sample_equation(eq)


# --- Dataset -----------------------------------------------------------------------------


def test_dataset_to_frame_and_from_arrays() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    ds = Dataset.from_arrays(X, X[:, 0] + X[:, 1], names=["a", "b"], target="c", seed=1)
    frame = ds.to_frame()
    assert list(frame.columns) == ["a", "b", "c", "split"]
    assert (frame["split"] == "train").sum() == 30 and (frame["split"] == "test").sum() == 10
    np.testing.assert_allclose(frame["c"], frame["a"] + frame["b"])


def test_dataset_default_names_and_checks() -> None:
    ds = Dataset.from_arrays(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    assert ds.names == ("x0", "x1")
    with pytest.raises(ValueError, match="names has 1 entries but X has 2 columns"):
        Dataset.from_arrays(np.arange(20.0).reshape(10, 2), np.arange(10.0), names=["a"])
    with pytest.raises(ValueError, match=r"X_train must be \(n, 2\) for 2 names"):
        Dataset(np.zeros((3, 1)), np.zeros(3), np.zeros((1, 2)), np.zeros(1), ("a", "b"))


# --- check_xy ----------------------------------------------------------------------------


def test_check_xy_accepts_pandas_torch_and_column_y() -> None:
    torch = pytest.importorskip("torch")
    X, y = check_xy(pd.DataFrame({"a": [1, 2, 3]}), torch.tensor([[1.0], [2.0], [4.0]]))
    assert X.dtype == y.dtype == np.float64 and X.shape == (3, 1) and y.shape == (3,)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.arange(3.0), np.arange(3.0), r"X must be 2-D.*X.reshape\(-1, 1\)"),
        (np.zeros((2, 2, 2)), np.arange(2.0), r"X must be 2-D .* got shape \(2, 2, 2\)"),
        (np.zeros((3, 1)), np.zeros((3, 2)), r"y must be 1-D \(n_samples,\), got shape \(3, 2\)"),
        (np.zeros((0, 1)), np.zeros(0), "X is empty"),
        (np.zeros((3, 1)), np.arange(4.0), "X has 3 rows but y has 4"),
        ([[1.0], [np.nan], [2.0]], [1.0, 2.0, 3.0], "X contains 1 NaN"),
        ([[1.0], [2.0], [3.0]], [1.0, np.inf, 3.0], "y contains 1 infinite"),
        ([[1.0], [2.0], [3.0]], [5.0, 5.0, 5.0], "y is constant"),
    ],
)
def test_check_xy_rejects(X: object, y: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_xy(X, y)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        ([["a"], ["b"]], "X must hold numbers"),
        (np.array([[1 + 2j], [3j]]), "X holds complex numbers"),
        (np.array([[True], [False]]), "X is boolean"),
    ],
)
def test_check_xy_refuses_what_would_be_silently_wrong(X: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        check_xy(X, [1.0, 2.0])


# --- read_table --------------------------------------------------------------------------


def _table(n: int = 12) -> pd.DataFrame:
    a = np.linspace(1.0, 2.0, n)
    return pd.DataFrame({"a": a, "b": a**2, "y": 3 * a})


def test_read_table_from_frame_and_csv(tmp_path) -> None:
    X, y, names = read_table(_table(), "y")
    assert names == ["a", "b"] and X.shape == (12, 2) and y.shape == (12,)
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    X2, y2, names2 = read_table(path, "y")
    np.testing.assert_allclose(X2, X) and np.testing.assert_allclose(y2, y)
    assert names2 == names


def test_read_table_drops_nonfinite_rows_with_warning() -> None:
    frame = _table(14)
    frame.loc[0, "a"], frame.loc[1, "y"] = np.nan, np.inf
    with pytest.warns(UserWarning, match=r"dropped 2 row\(s\) with NaN or inf"):
        X, _, _ = read_table(frame, "y", drop_nonfinite=True)
    assert X.shape == (12, 2)


@pytest.mark.parametrize(
    ("change", "target", "match"),
    [
        (lambda f: f, "Y", "target column 'Y' not found.*did you mean 'y'"),
        (lambda f: f[["y"]], "y", "no feature columns"),
        (lambda f: f.assign(name="x"), "y", r"non-numeric column\(s\) \['name'\]"),
        (lambda f: f.head(2), "y", r"too few rows: 2 \(need at least 3\)"),
        (lambda f: f.assign(y=1.0), "y", "y is constant"),
        (lambda f: f.assign(b=np.r_[np.nan, f["b"][1:]]), "y", r"1 row\(s\) .*\['b'\]"),
    ],
)
def test_read_table_rejects(change, target: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_table(change(_table()), target)


def test_read_table_bad_sources(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such CSV file"):
        read_table(tmp_path / "missing.csv", "y")
    with pytest.raises(TypeError, match="source must be a CSV path or a pandas DataFrame"):
        read_table(42, "y")  # type: ignore[arg-type]
