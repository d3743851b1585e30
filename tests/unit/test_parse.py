"""Safe formula parsing: what is accepted, and every way a string is rejected."""

from __future__ import annotations

import pytest
import sympy

from kandiscover.symbolic.parse import parse_formula

x, y = sympy.symbols("x y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x*y**2", x * y**2),
        ("1/2*x", x / 2),
        ("exp(-x**2/2)/sqrt(2*pi)", sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi)),
        ("arcsin(x) + ln(y)", sympy.asin(x) + sympy.log(y)),
        ("Abs(x) + abs(y)", sympy.Abs(x) + sympy.Abs(y)),
        ("1.5e3*x", sympy.Float(1500) * x),
        ("E**x", sympy.exp(x)),
        ("  x + y  ", x + y),
    ],
)
def test_accepts_formulas(text: str, expected: sympy.Expr) -> None:
    assert sympy.simplify(parse_formula(text) - expected) == 0


def test_rationals_stay_exact() -> None:
    assert parse_formula("1/3*x") == sympy.Rational(1, 3) * x


def test_declared_variables_shadow_sympy_names() -> None:
    expr = parse_formula("gamma*beta + I + E", variables=["gamma", "beta", "I", "E"])
    assert expr.free_symbols == set(sympy.symbols("gamma beta I E"))


def test_free_mode_makes_symbols() -> None:
    assert parse_formula("theta1 + m_0").free_symbols == set(sympy.symbols("theta1 m_0"))


def test_extra_functions() -> None:
    expr = parse_formula("H(x)", variables=["x"], functions={"H": sympy.Heaviside})
    assert expr == sympy.Heaviside(x)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("__import__('os').system('true')", "'__import__' is not allowed"),
        ("().__class__", r"attribute access \('.'\) is not allowed"),
        ("x.real", "attribute access"),
        ("x^2", r"write powers as '\*\*'"),
        ("'abc'", "token \"'abc'\" is not allowed"),
        ("x = 1", "token '=' is not allowed"),
        ("x; y", "token ';' is not allowed"),
        ("[x]", r"token '\[' is not allowed"),
        ("x # note", "token '# note' is not allowed"),
        ("x @ y", "token '@' is not allowed"),
        ("lambda: 1", "'lambda' is not a valid identifier"),
        ("1j*x", "imaginary literal '1j'"),
        ("(x", "unbalanced brackets"),
        ("x, y", "not a single expression"),
        ("f(x)", "unknown function 'f'"),
        ("expp(x)", "did you mean 'exp'"),
        ("", "formula is empty"),
        ("   ", "formula is empty"),
        ("x\ny", "must be a single line"),
        ("x" * 10_001, "too long"),
    ],
)
def test_rejects(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_formula(text)


def test_rejects_undeclared_name_with_suggestion() -> None:
    with pytest.raises(ValueError, match=r"unknown name 'thetaa'.*did you mean 'theta'"):
        parse_formula("thetaa + 1", variables=["theta"])


def test_rejects_declared_variable_called_as_function() -> None:
    with pytest.raises(ValueError, match="unknown function 'x'"):
        parse_formula("x(y)", variables=["x", "y"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variables": ["__x"]}, "variable name '__x' is not allowed"),
        ({"variables": ["a b"]}, "variable name 'a b' is not a valid identifier"),
        ({"functions": {"import": sympy.exp}}, "function name 'import' is not a valid"),
    ],
)
def test_rejects_bad_declarations(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_formula("1", **kwargs)


def test_rejects_non_string() -> None:
    with pytest.raises(TypeError, match="formula must be a str, got int"):
        parse_formula(3)  # type: ignore[arg-type]
