"""Units as text: pint strings against exponent vectors over (m, s, kg, K, V)."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pint
import pytest

from kandiscover import load_catalogue, sample_equation
from kandiscover.units import (
    BASE_DIMENSIONS,
    parse_unit_assignments,
    unit_scale,
    unit_vector,
    unit_vectors,
)

ZERO = (0, 0, 0, 0, 0)

# Where the unit of the quantity, by physics, is not the exponent vector of the public
# AI Feynman units table (which is keyed by name, so a name gets one vector everywhere):
# number densities that the table calls dimensionless, and the polarisability volume alpha
# that goes with them. Each equation stays homogeneous either way (see below).
DISAGREEMENTS = {
    ("I.40.1", "n"),
    ("I.40.1", "n_0"),
    ("II.11.17", "n"),
    ("II.11.17", "n_0"),
    ("II.35.18", "n"),
    ("II.35.18", "n_0"),
    ("II.11.27", "n"),
    ("II.11.27", "alpha"),
    ("II.11.28", "n"),
    ("II.11.28", "alpha"),
}


def _symbols(eq):
    yield from ((v.name, v.unit, v.units) for v in eq.variables)
    yield eq.output, eq.output_unit, eq.output_units


def test_base_dimensions() -> None:
    assert BASE_DIMENSIONS == ("m", "s", "kg", "K", "V")


def test_every_catalogue_unit_text_matches_its_exponent_vector() -> None:
    mismatches = set()
    checked = 0
    for eq in load_catalogue().values():
        for name, text, vector in _symbols(eq):
            assert text is not None and vector is not None, (eq.id, name)
            checked += 1
            if unit_vector(text) != tuple(vector):
                mismatches.add((eq.id, name))
    assert checked > 300
    assert mismatches == DISAGREEMENTS


@pytest.mark.parametrize("eq_id", sorted({eq for eq, _ in DISAGREEMENTS}))
def test_the_unit_texts_keep_the_disagreeing_equations_homogeneous(eq_id: str) -> None:
    eq = load_catalogue()[eq_id]
    ds = sample_equation(eq, n=200, seed=0)
    X, y = ds.X_train, eq.evaluate(ds.X_train)
    scales = np.random.default_rng(1).uniform(0.5, 2.0, size=5)

    def factor(text: str) -> float:
        return float(np.prod(scales ** np.array([float(e) for e in unit_vector(text)])))

    X_scaled = X * np.array([factor(v.unit) for v in eq.variables])
    np.testing.assert_allclose(eq.evaluate(X_scaled), y * factor(eq.output_unit), rtol=1e-9)


@pytest.mark.parametrize("text", ["", "1", " ", "rad", "sr", "dimensionless", "degree", "%"])
def test_dimensionless_spellings(text: str) -> None:
    assert unit_vector(text) == ZERO


@pytest.mark.parametrize(
    ("text", "vector"),
    [
        ("m/s", (1, -1, 0, 0, 0)),
        ("kg*m/s**2", (1, -2, 1, 0, 0)),
        ("N", (1, -2, 1, 0, 0)),
        ("eV", (2, -2, 1, 0, 0)),
        ("J/K", (2, -2, 1, -1, 0)),
        ("K", (0, 0, 0, 1, 0)),
        ("degC", (0, 0, 0, 1, 0)),  # a temperature (its difference has the same dimension)
        ("delta_degC", (0, 0, 0, 1, 0)),
        ("C", (2, -2, 1, 0, -1)),  # coulomb = J/V
        ("A", (2, -3, 1, 0, -1)),  # ampere = W/V
        ("V", (0, 0, 0, 0, 1)),
        ("mV", (0, 0, 0, 0, 1)),
        ("Ohm", (-2, 3, -1, 0, 2)),
        ("ohm", (-2, 3, -1, 0, 2)),
        ("T", (-2, 1, 0, 0, 1)),  # tesla = V s / m^2
        ("F", (2, -2, 1, 0, -2)),
        ("Hz", (0, -1, 0, 0, 0)),
        ("m^2", (2, 0, 0, 0, 0)),
        ("1/m**3", (-3, 0, 0, 0, 0)),
        ("J K^-1", (2, -2, 1, -1, 0)),
    ],
)
def test_unit_text(text: str, vector: tuple[int, ...]) -> None:
    out = unit_vector(text)
    assert out == vector
    assert all(isinstance(e, Fraction) for e in out)


def test_fractional_exponents_are_exact() -> None:
    assert unit_vector("m**0.5") == (Fraction(1, 2), 0, 0, 0, 0)
    assert unit_vector([1 / 3, 0, 0, 0, 0]) == (Fraction(1, 3), 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "scale"),
    [
        ("m", 1.0),
        ("km", 1e3),
        ("1e6 km", 1e9),
        ("eV", 1.602176634e-19),
        ("mV", 1e-3),
        ("g/cm**3", 1e3),
        ("au", 149_597_870_700.0),
        ("day", 86_400.0),
        ("delta_degC", 1.0),
        ("", 1.0),
        ("percent", 0.01),
    ],
)
def test_unit_scale(text: str, scale: float) -> None:
    assert unit_scale(text) == pytest.approx(scale, rel=1e-12)


def test_unit_scale_of_a_vector_is_one() -> None:
    assert unit_scale([1, -1, 0, 0, 0]) == 1.0


@pytest.mark.parametrize("text", ["degC", "degF"])
def test_unit_scale_refuses_an_offset(text: str) -> None:
    with pytest.raises(ValueError, match=rf"unit '{text}' has an offset.*kelvin.*delta_degC"):
        unit_scale(text)


def test_pint_objects() -> None:
    ureg = pint.UnitRegistry()
    assert unit_vector(ureg.Unit("V")) == (0, 0, 0, 0, 1)
    assert unit_vector(ureg.Quantity(3.0, "N")) == (1, -2, 1, 0, 0)
    assert unit_scale(ureg.Quantity(3.0, "km")) == pytest.approx(3000.0)
    assert unit_vector(pint.get_application_registry().Unit("J/K")) == (2, -2, 1, -1, 0)


def test_exponent_vectors_keep_working() -> None:
    assert unit_vector([1, -1, 0, 0, 0]) == (1, -1, 0, 0, 0)
    assert unit_vector((0.5, 0, 0, 0, 0)) == (Fraction(1, 2), 0, 0, 0, 0)
    assert unit_vector(np.array([0, 1, 0, 0, 0])) == (0, 1, 0, 0, 0)


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("furlongs_per_blorp", ValueError, r"unknown unit 'furlongs_per_blorp'"),
        ("m/blorp", ValueError, r"unknown unit 'blorp' in 'm/blorp'"),
        ("m/", ValueError, r"could not read the unit 'm/'"),
        ("mol", ValueError, r"unit 'mol'.*\[substance\].*\(m, s, kg, K, V\) cannot express"),
        ("cd", ValueError, r"unit 'cd'.*\[luminosity\]"),
        ([0, 0, float("nan"), 0, 0], ValueError, r"exponent of kg is nan"),
        ([0, float("inf"), 0, 0, 0], ValueError, r"exponent of s is inf"),
        ([1, -1, 0], ValueError, r"has 3 exponents; need 5.*\(m, s, kg, K, V\)"),
        ([1, -1, 0, 0, "m"], TypeError, r"exponent of V must be a number, got 'm'"),
        ([True, 0, 0, 0, 0], TypeError, r"exponent of m must be a number"),
        (3, TypeError, r"a unit must be text.*got int 3"),
        ({"m": 1}, TypeError, r"got dict"),
    ],
)
def test_bad_units(spec, error, match) -> None:
    with pytest.raises(error, match=match):
        unit_vector(spec)


def test_unit_vectors_by_name_and_in_order_mixed() -> None:
    names = ["v", "t", "F"]
    by_name = unit_vectors({"F": "N", "v": "m/s", "t": [0, 1, 0, 0, 0]}, names)
    in_order = unit_vectors(["m/s", (0, 1, 0, 0, 0), "kg*m/s**2"], names)
    assert by_name == in_order == [(1, -1, 0, 0, 0), (0, 1, 0, 0, 0), (1, -2, 1, 0, 0)]
    assert unit_vectors(None, names) is None


@pytest.mark.parametrize(
    ("units", "error", "match"),
    [
        ({"v": "m/s", "tt": "s"}, ValueError, r"not in the data: 'tt' \(did you mean 't'\?\)"),
        ({"v": "m/s"}, ValueError, r"no unit for the column\(s\) \['t'\]"),
        (["m/s"], ValueError, r"1 entries but there are 2 columns"),
        ({"v": "m/s", "t": "sec0nds"}, ValueError, r"column 't' \('sec0nds'\).*'sec0nds'"),
        (["m/s", [0, 1, 0, float("nan"), 0]], ValueError, r"column 't'.*exponent of K is nan"),
        ("m/s", TypeError, r"mapping from column name to unit, or a sequence"),
        ([1, -1], TypeError, r"column 'v' \(1\): a unit must be text"),
    ],
)
def test_unit_vectors_errors(units, error, match) -> None:
    with pytest.raises(error, match=match):
        unit_vectors(units, ["v", "t"])


def test_parse_unit_assignments() -> None:
    assert parse_unit_assignments(["v=m/s", " F = N ", "n=", "E=kg*m**2/s**2"]) == {
        "v": "m/s",
        "F": "N",
        "n": "",
        "E": "kg*m**2/s**2",
    }


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        (["v"], r"'v' must look like NAME=UNIT"),
        (["=m/s"], r"'=m/s' must look like NAME=UNIT"),
        (["v=m/s", "v=km/s"], r"column 'v' is given a unit twice \('m/s' and 'km/s'\)"),
    ],
)
def test_parse_unit_assignments_errors(entries, match) -> None:
    with pytest.raises(ValueError, match=match):
        parse_unit_assignments(entries)


def test_import_kandiscover_does_not_load_pint() -> None:
    code = "import sys, kandiscover; print('pint' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
