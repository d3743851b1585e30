"""Bad arguments to KAN and fit: a TypeError or ValueError naming the argument and value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import kandiscover as kd


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"width": [2, 1.5, 1]}, TypeError, r"width\[1\] must be an int or a pair .* got 1\.5"),
        ({"width": [2, (1.5, 0), 1]}, TypeError, r"width\[1\] .* got \(1\.5, 0\)"),
        ({"width": [2, "3", 1]}, TypeError, r"width\[1\] .* got '3'"),
        ({"width": [2, True]}, TypeError, r"width\[1\] .* got True"),
        ({"width": [2, (1, 2, 3)]}, ValueError, r"width\[1\] .* got \(1, 2, 3\)"),
        ({"width": []}, ValueError, r"at least an input and an output layer, got \[\]"),
        ({"width": [3]}, ValueError, r"at least an input and an output layer, got \[3\]"),
        ({"seed": 1.5}, TypeError, r"seed must be an integer in \[.*\], got 1\.5 \(float\)"),
        ({"seed": "a"}, TypeError, r"seed must be an integer .* got 'a' \(str\)"),
        ({"seed": True}, TypeError, r"seed must be an integer .* got True \(bool\)"),
        ({"seed": 2**64}, ValueError, r"seed must be an integer in .* got 18446744073709551616"),
        ({"grid": 0}, ValueError, "grid must be a positive integer, got 0"),
        ({"grid": 2.0}, TypeError, r"grid must be a positive integer, got 2\.0"),
        ({"grid": True}, TypeError, "grid must be a positive integer, got True"),
        ({"k": -1}, ValueError, r"k \(the spline order\) must be an integer >= 1, got -1"),
        ({"k": "3"}, TypeError, r"k \(the spline order\) must be an integer >= 1, got '3'"),
        ({"noise_scale": float("nan")}, ValueError, "noise_scale must be a finite number >= 0"),
        ({"noise_scale": -0.1}, ValueError, "noise_scale must be a finite number >= 0, got -0.1"),
        ({"noise_scale": "0.3"}, TypeError, "noise_scale must be a finite number >= 0, got '0.3'"),
        ({"grid_range": (1, 0)}, ValueError, r"grid_range must be \(low, high\) with high > low"),
        ({"grid_range": (0, float("inf"))}, ValueError, "grid_range must be"),
        ({"grid_range": (0, 1, 2)}, ValueError, r"grid_range must be .* got \(0, 1, 2\)"),
        ({"grid_range": "ab"}, TypeError, "grid_range must be"),
        ({"grid_range": ("a", 1)}, TypeError, "grid_range must be"),
        ({"base": "foo"}, ValueError, r"base must be one of \['identity', 'silu', 'zero'\]"),
        ({"dtype": torch.int64}, TypeError, "dtype must be None or a floating-point torch.dtype"),
        ({"dtype": "float64"}, TypeError, "dtype must be None or a floating-point"),
    ],
    ids=lambda v: str(v)[:30] if not isinstance(v, type) else "",
)
def test_bad_kan_arguments(kwargs, error, match):
    kwargs = {"width": [2, 3, 1], **kwargs}
    with pytest.raises(error, match=match):
        kd.KAN(**kwargs)


def test_valid_arguments_in_other_types_build_the_same_model():
    a = kd.KAN([2, 3, 1], grid=5, seed=3, noise_scale=0.3, grid_range=(-1, 1))
    b = kd.KAN(
        [np.int64(2), (np.int64(3), 0), 1], grid=np.int64(5), seed=np.int64(3),
        noise_scale=np.float64(0.3), grid_range=[np.float32(-1), 1.0],
    )  # fmt: skip
    assert a.width == b.width and a.config == b.config
    assert all(type(v) in (int, float, tuple, str) for v in b.config.values())
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def _data(n=20):
    X = np.linspace(-1, 1, n)[:, None]
    return X, X[:, 0] ** 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": "10"}, TypeError, "steps must be an integer >= 0, got '10' \\(str\\)"),
        ({"steps": 2.5}, TypeError, "steps must be an integer >= 0, got 2.5"),
        ({"steps": -1}, ValueError, "steps must be an integer >= 0, got -1"),
        ({"steps": True}, TypeError, "steps must be an integer >= 0, got True"),
        ({"sparsity": float("nan")}, ValueError, "sparsity must be a finite number >= 0, got nan"),
        ({"sparsity": "0.1"}, TypeError, "sparsity must be a finite number >= 0, got '0.1'"),
        ({"entropy": -1.0}, ValueError, "entropy must be a finite number >= 0, got -1.0"),
        ({"time_limit": "x"}, TypeError, "time_limit must be a positive number of seconds or None"),
        ({"time_limit": -1}, ValueError, "time_limit must be a positive number .*, got -1"),
        ({"time_limit": 0}, ValueError, "time_limit must be a positive number .*, got 0"),
        ({"time_limit": float("nan")}, ValueError, "time_limit must be a positive number"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"patience": 0}, ValueError, "patience must be a positive integer or None, got 0"),
        ({"optimizer": "adam"}, TypeError, r"optimizer must be kd\.LBFGS\(...\), kd\.Adam"),
        ({"grid_updates": 5}, TypeError, r"grid_updates must be a kd\.GridSchedule"),
        ({"loss": "mse"}, TypeError, r"loss must be a function loss\(pred, target\)"),
        ({"validation": np.zeros(3)}, TypeError, r"validation must be a pair \(X_val, y_val\)"),
        ({"validation": (np.zeros(2),)}, TypeError, r"validation must be a pair"),
    ],
    ids=lambda v: str(v)[:30] if not isinstance(v, type) else "",
)
def test_bad_fit_settings(kwargs, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        kd.fit(kd.KAN([1, 1]), X, y, **kwargs)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones((5, 1)) * (1 + 1j), np.ones(5), r"X holds complex numbers \(dtype complex128\)"),
        (np.ones((5, 1)), np.ones(5) * 1j, r"y holds complex numbers"),
        (torch.ones(5, 1, dtype=torch.complex64), torch.ones(5), r"dtype torch.complex64"),
        (np.ones((5, 1), dtype=bool), np.ones(5), r"X holds booleans \(dtype bool\)"),
        (torch.ones(5, 1, dtype=torch.bool), torch.ones(5), r"X holds booleans \(dtype torch.bool"),
        (np.ones((5, 1)), np.ones(5, dtype=bool), r"y holds booleans"),
        (pd.DataFrame({"a": [True, False, True]}), np.ones(3), "X holds booleans"),
        ([[1 + 2j], [3]], [1, 2], "X holds complex numbers"),
    ],
)
def test_complex_and_boolean_data_are_refused(X, y, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way
        with pytest.raises(TypeError, match=match):
            kd.fit(kd.KAN([1, 1]), X, y, steps=1)


def test_complex_validation_data_is_refused():
    X, y = _data()
    with pytest.raises(TypeError, match=r"validation\[0\] \(X_val\) holds complex"):
        kd.fit(kd.KAN([1, 1]), X, y, steps=1, validation=(X * 1j, y))


@pytest.mark.parametrize(
    ("n", "optimizer"), [(1, None), (10, kd.Adam(batch_size=1))], ids=["1 row", "batch 1"]
)
def test_sparsity_needs_two_rows_per_batch(n, optimizer):
    X, y = _data(n)
    with pytest.raises(ValueError, match="sparsity > 0 needs batches of at least 2 rows"):
        kd.fit(kd.KAN([1, 2, 1]), X, y, steps=1, sparsity=1e-2, optimizer=optimizer)


def test_fit_refuses_a_model_that_is_not_a_kan():
    X, y = _data()
    with pytest.raises(TypeError, match="model must be a kandiscover KAN, got Linear"):
        kd.fit(torch.nn.Linear(1, 1), X, y)


@pytest.mark.parametrize("n", [1, 2])
def test_tiny_data_without_sparsity_trains(n):
    X, y = _data(n)
    history = kd.fit(kd.KAN([1, 2, 1]), X, y, steps=2)
    assert history.steps == 2


def test_zero_steps_is_a_no_op():
    """``steps=0`` stays valid: the search calls ``fit(steps=cfg.steps // 2)``."""
    model = kd.KAN([1, 2, 1], seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = _data()
    assert kd.fit(model, X, y, steps=0).steps == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: kd.GridSchedule(eps="x"), TypeError, r"GridSchedule\.eps must be in \[0, 1\]"),
        (lambda: kd.GridSchedule(eps=1.5), ValueError, r"GridSchedule\.eps must be in \[0, 1\]"),
        (lambda: kd.GridSchedule(until=True), TypeError, "GridSchedule.until must be an integer"),
        (lambda: kd.GridSchedule(every=0), ValueError, "GridSchedule.every must be a positive"),
        (lambda: kd.Adam(lr=float("inf")), ValueError, "Adam.lr must be a positive number"),
        (lambda: kd.Adam(batch_size=2.0), TypeError, "Adam.batch_size must be a positive integer"),
        (lambda: kd.LBFGS(max_iter=True), TypeError, "LBFGS.max_iter must be a positive integer"),
    ],
)
def test_bad_strategy_objects(make, error, match):
    with pytest.raises(error, match=match):
        make()
