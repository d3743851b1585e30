"""Exports work for any variable names; JSON never runs code; compose validates digits."""

from __future__ import annotations

import builtins
import json
import keyword
import math

import numpy as np
import pytest
import sympy
import torch

import kandiscover as kd
from kandiscover.export import from_json, to_json, to_numpy, to_torch
from kandiscover.symbolic.compose import formula

HOSTILE = "__import__('os').system('echo hi')"
NAMES = [
    "pi", "exp", "sin", "log", "sum", "max", "e", "E", "I", "lambda", "None", "True",
    "a b", "c+d", "x.y", "1x", "", " ", "numpy", "np", "math", "builtins", "_Dummy_1",
    "_v0", "__class__", "oo", "zoo", "nan", "θ", "x_1", HOSTILE,
]  # fmt: skip


def test_a_variable_named_pi_is_not_numpys_pi():
    v = sympy.Symbol("pi")
    np.testing.assert_allclose(to_numpy(v * sympy.pi, ["pi"])(np.array([[2.0]])), [2 * math.pi])


@pytest.mark.parametrize("name", NAMES)
def test_any_name_works_in_every_export(name):
    v = sympy.Symbol(name)
    expr = 2 * v + 1 + sympy.sin(v) + sympy.pi
    X = np.array([[0.5], [2.0]])
    expected = 2 * X[:, 0] + 1 + np.sin(X[:, 0]) + np.pi
    np.testing.assert_allclose(to_numpy(expr, [name])(X), expected, rtol=1e-14)
    np.testing.assert_allclose(to_numpy(expr, [name])(**{name: X[:, 0]}), expected, rtol=1e-14)
    got = to_torch(expr, [name])(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-14)
    back, names, _ = from_json(to_json(expr, [name]))
    assert names == [name] and back == expr


def _namespace_names() -> list[str]:
    every = set(dir(np)) | set(dir(math)) | set(dir(sympy)) | set(dir(builtins))
    return sorted({n for n in every if n.isidentifier()} | set(keyword.kwlist))


@pytest.mark.timeout(60)
def test_every_name_of_numpy_math_sympy_and_builtins_as_a_variable():
    names = _namespace_names()
    assert len(names) > 1000
    symbols = [sympy.Symbol(n) for n in names]
    weights = np.arange(1, len(names) + 1) % 7 + 1.0
    terms = [int(2 * w) * s for w, s in zip(weights, symbols)]  # one Add: linear time
    terms += [sympy.exp(-(symbols[0] ** 2)), sympy.sin(symbols[1]), sympy.log(1 + symbols[2] ** 2)]
    expr = sympy.Add(*terms, int(weights.sum()))
    X = np.random.default_rng(0).uniform(-1, 1, size=(5, len(names)))
    expected = (2 * X + 1) @ weights
    expected += np.exp(-(X[:, 0] ** 2)) + np.sin(X[:, 1]) + np.log(1 + X[:, 2] ** 2)
    np.testing.assert_allclose(to_numpy(expr, names)(X), expected, rtol=1e-12)
    got = to_torch(expr, names)(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@pytest.mark.timeout(60)
def test_every_namespace_name_round_trips_through_json():
    names = _namespace_names()
    X = np.random.default_rng(1).uniform(-1, 1, size=(3, 200))
    for start in range(0, len(names), 200):  # a formula string is at most 10,000 characters
        batch = names[start : start + 200]
        expr = sympy.Add(*[(i % 5 + 1) * sympy.Symbol(n) for i, n in enumerate(batch)])
        back, got_names, _ = from_json(to_json(expr, batch))
        assert got_names == batch and back == expr
        np.testing.assert_allclose(
            to_numpy(back, batch)(X[:, : len(batch)]), to_numpy(expr, batch)(X[:, : len(batch)])
        )


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["x", "y", "x"], r"\['x'\] appear more than once"),
        (["exp", "a b", "exp", "a b"], r"\['a b', 'exp'\] appear more than once"),
        ([1, "x"], r"\[1\] are not strings"),
        ("xy", "must be a sequence of distinct strings; got 'xy'"),
        (None, "must be a sequence of distinct strings; got None"),
    ],
)
@pytest.mark.parametrize("export", [to_numpy, to_torch, to_json])
def test_bad_names_are_a_clear_error(export, names, match):
    with pytest.raises(ValueError, match=match):
        export(sympy.Symbol("x"), names)


def _record(**fields) -> str:
    record = json.loads(to_json(sympy.Symbol("x") + 1, ["x"]))
    record.update(fields)
    return json.dumps(record)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_record(variables=[HOSTILE], formula="x"), "is not a valid identifier"),
        (_record(formula=HOSTILE), "not allowed"),
        (_record(version=2, symbols=[HOSTILE]), "is not a valid identifier"),
        (_record(version=2, symbols=["a", "b"]), "differ in length"),
        (_record(version=2), "'symbols' must be a list, got NoneType"),
        (_record(version=True), "unsupported version True"),
        (_record(version=3), "unsupported version 3"),
        (_record(variables="x"), "'variables' must be a list, got str"),
        (_record(variables=["x", "x"]), r"\['x'\] appear more than once"),
        (_record(variables=[{"a": 1}]), "are not strings"),
        (_record(formula=3), "'formula' must be a str, got int"),
        (_record(metadata=[1]), "'metadata' must be an object"),
        (_record(formula="2**2**2**2**2**2"), "raises a number to the power"),
        ("[" * 100_000, "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (3, "expected a JSON string, got int"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_from_json_rejects_bad_records(text, match):
    with pytest.raises(ValueError, match=match):
        from_json(text)


def test_hostile_names_are_data_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    expr = sympy.Symbol(hostile) * 2 + sympy.exp(sympy.Symbol("exp"))
    text = to_json(expr, [hostile, "exp"])
    assert hostile not in json.loads(text)["formula"]
    back, names, _ = from_json(text)
    assert names == [hostile, "exp"] and back == expr
    to_numpy(back, names)(np.ones((2, 2)))
    to_torch(back, names)(torch.ones(2, 2))
    assert not marker.exists()


def test_plain_names_keep_the_version_1_record():
    record = json.loads(to_json(sympy.Symbol("m") * sympy.Symbol("c") ** 2, ["m", "c"]))
    assert record["version"] == 1 and "symbols" not in record
    assert record["formula"] == "c**2*m"


def _snapped_model() -> kd.KAN:
    model = kd.KAN([1, 1], seed=0, dtype=torch.float64)
    model.layers[0].set_symbolic(0, 0, ("sin", torch.sin), [1.23456, 0.5, 2.0, 0.0])
    return model


@pytest.mark.parametrize("digits", [0, -1, 1.5, True, "3"])
def test_formula_digits_must_be_a_positive_int(digits):
    with pytest.raises(ValueError, match=f"digits must be a positive int or None, got {digits!r}"):
        formula(_snapped_model(), digits=digits)


def test_formula_digits_round():
    expr = formula(_snapped_model(), digits=2)
    assert "1.2*x_1" in str(expr) and "0.e" not in str(expr)
