"""Units as text: turn ``"m/s"``, ``"N"`` or ``"eV"`` into exponents of the base dimensions.

kandiscover describes a physical quantity by its exponents over five base dimensions,
:data:`BASE_DIMENSIONS` = (m, s, kg, K, V): metre, second, kilogram, kelvin and volt. This is
the convention of the AI Feynman database, whose catalogue ships with the package: electric
quantities are expressed through the volt instead of the ampere, so a coulomb is
``J/V = kg m^2 s^-2 V^-1`` and an ampere ``kg m^2 s^-3 V^-1``.

Unit text is read by `pint <https://pint.readthedocs.io>`_, imported only when a string or a
pint object has to be read (``import kandiscover`` does not load it). Dimensions that the
five bases cannot express (amount of substance, luminous intensity, currency, ...) are an
error that names the unit: the base vector is kept at five so that every unit vector can be
compared with the catalogue's.

Examples
--------
>>> unit_vector("N")
(Fraction(1, 1), Fraction(-2, 1), Fraction(1, 1), Fraction(0, 1), Fraction(0, 1))
>>> [int(e) for e in unit_vector("C")]
[2, -2, 1, 0, -1]
>>> unit_scale("km")
1000.0
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "BASE_DIMENSIONS",
    "parse_unit_assignments",
    "unit_scale",
    "unit_vector",
    "unit_vectors",
]

BASE_DIMENSIONS: tuple[str, ...] = ("m", "s", "kg", "K", "V")
"""The base dimensions of every unit vector: metre, second, kilogram, kelvin, volt."""

UnitVector = tuple[Fraction, ...]

_BASES_TEXT = "(" + ", ".join(BASE_DIMENSIONS) + ")"
# pint's dimensions that the five bases express; the ampere is kg m^2 s^-3 V^-1.
_PINT_DIMENSIONS = ("[length]", "[time]", "[mass]", "[temperature]", "[current]")
_SI_UNITS = ("meter", "second", "kilogram", "kelvin", "ampere")
# Spellings physicists use that pint's default registry does not define.
_ALIASES = ("Ohm = ohm",)
_MAX_DENOMINATOR = 1000


@functools.cache
def _registry() -> Any:
    try:
        import pint
    except ImportError as err:  # pragma: no cover - pint is a dependency
        raise ImportError("reading units as text needs pint: pip install 'pint>=0.24'") from err
    registry = pint.UnitRegistry()
    for alias in _ALIASES:
        registry.define(alias)
    return registry


def _fraction(value: float) -> Fraction:
    exact = Fraction(value)
    close = exact.limit_denominator(_MAX_DENOMINATOR)
    return close if abs(float(close) - value) <= 1e-9 * max(1.0, abs(value)) else exact


def _is_pint(spec: Any) -> bool:
    return type(spec).__module__.split(".")[0] == "pint" and hasattr(spec, "dimensionality")


def _parse_text(text: str) -> Any:
    """Return a pint Quantity for ``text`` (a unit, optionally with a numeric prefactor)."""
    registry = _registry()
    import pint

    try:
        try:
            return registry.Quantity(1, registry.parse_units(text))
        except ValueError as err:  # "1e6 km": a scaling factor needs an expression
            if "scaling factor" not in str(err):
                raise
            quantity = registry.parse_expression(text)
            return quantity if hasattr(quantity, "dimensionality") else registry.Quantity(quantity)
    except pint.UndefinedUnitError as err:
        unknown = ", ".join(repr(name) for name in err.args) or repr(text)
        raise ValueError(
            f"unknown unit {unknown} in {text!r}; write units the way pint reads them, "
            "e.g. 'm/s', 'kg*m/s**2', 'N', 'eV', 'J/K', 'C', 'A', 'ohm', 'T', 'K', '' "
            "(dimensionless)"
        ) from None
    except (pint.PintError, AssertionError, SyntaxError, TypeError, ValueError) as err:
        detail = str(err) or "the expression is incomplete"
        raise ValueError(f"could not read the unit {text!r}: {detail}") from None


def _pint_vector(quantity: Any, label: str) -> UnitVector:
    dims = dict(quantity.dimensionality)
    extra = sorted(d for d, e in dims.items() if d not in _PINT_DIMENSIONS and e != 0)
    if extra:
        raise ValueError(
            f"unit {label} has the dimension(s) {', '.join(extra)}, which the base dimensions "
            f"{_BASES_TEXT} cannot express; supported are length, time, mass, temperature and "
            "electric quantities (through the volt)"
        )
    length, time, mass, temperature, current = (
        _fraction(float(dims.get(d, 0))) for d in _PINT_DIMENSIONS
    )
    # Replace the ampere by kg m^2 s^-3 V^-1.
    return (length + 2 * current, time - 3 * current, mass + current, temperature, -current)


def _sequence_vector(spec: Sequence[Any] | np.ndarray) -> UnitVector:
    values = list(np.asarray(spec, dtype=object).ravel()) if isinstance(spec, np.ndarray) else spec
    if len(values) != len(BASE_DIMENSIONS):
        raise ValueError(
            f"unit vector {list(values)!r} has {len(values)} exponents; need "
            f"{len(BASE_DIMENSIONS)}, one per base dimension {_BASES_TEXT}"
        )
    out = []
    for base, value in zip(BASE_DIMENSIONS, values):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"unit vector {list(values)!r}: the exponent of {base} must be a number, "
                f"got {value!r}"
            )
        if not math.isfinite(float(value)):
            raise ValueError(
                f"unit vector {list(values)!r}: the exponent of {base} is {value}; exponents "
                "must be finite numbers"
            )
        out.append(value if isinstance(value, Fraction) else _fraction(float(value)))
    return tuple(Fraction(v) for v in out)


def _as_quantity(spec: Any) -> tuple[Any, str]:
    """Return a pint Quantity for a text or pint spec, and a label naming it in messages."""
    if isinstance(spec, str):
        return _parse_text(spec.strip()), repr(spec)
    quantity = spec if hasattr(spec, "magnitude") else 1 * spec  # a Unit
    return quantity, repr(str(spec))


def unit_vector(spec: Any) -> UnitVector:
    """Return the exponents of a unit over :data:`BASE_DIMENSIONS` (m, s, kg, K, V).

    Parameters
    ----------
    spec : str, sequence of numbers, or pint Unit/Quantity
        Unit text as pint reads it (``"m/s"``, ``"kg*m/s**2"``, ``"N"``, ``"eV"``,
        ``"J/K"``, ``"C"``, ``"A"``, ``"Ohm"``, ``"T"`` for tesla, ``"K"``, ``"degC"``
        (its dimension, a temperature), ``""``, ``"1"``, ``"rad"`` or ``"dimensionless"``
        for a pure number; a numeric prefactor such as ``"1e6 km"`` is allowed); an
        exponent vector of five finite numbers; or a pint ``Unit`` or ``Quantity``.

    Returns
    -------
    tuple of fractions.Fraction
        Five exponents; floats in a vector become the nearest fraction with a denominator
        up to 1000 when they are that close to one.

    Raises
    ------
    ValueError
        For an unknown unit (named in the message), unreadable text, a dimension the five
        bases cannot express (mol, candela, ...), or a vector of the wrong length or with
        NaN/inf entries.
    TypeError
        For anything else (a number, a dict, a vector holding text).

    Examples
    --------
    >>> [int(e) for e in unit_vector("J/K")]
    [2, -2, 1, -1, 0]
    >>> unit_vector("rad") == unit_vector("") == (0, 0, 0, 0, 0)
    True
    """
    if isinstance(spec, (list, tuple, np.ndarray)):
        return _sequence_vector(spec)
    if isinstance(spec, str) or _is_pint(spec):
        quantity, label = _as_quantity(spec)
        return _pint_vector(quantity, label)
    raise TypeError(
        "a unit must be text such as 'm/s', a vector of exponents of "
        f"{_BASES_TEXT}, or a pint Unit/Quantity; got {type(spec).__name__} {spec!r}"
    )


def unit_scale(spec: Any) -> float:
    """Return the factor that converts a value in unit ``spec`` to SI (m, s, kg, K, V).

    A value ``x`` measured in ``spec`` is ``unit_scale(spec) * x`` in SI units: a law
    fitted to kilometres and electronvolts differs from one in metres and joules by these
    constants. An exponent vector is SI by definition (scale 1).

    Raises
    ------
    ValueError
        As :func:`unit_vector`, and for a unit with an offset (``"degC"``, ``"degF"``),
        whose conversion is not a factor: convert such a column to kelvin, or write a
        temperature difference as ``"delta_degC"``.

    Examples
    --------
    >>> unit_scale("eV")
    1.602176634e-19
    >>> unit_scale("1e6 km")
    1000000000.0
    """
    if isinstance(spec, (list, tuple, np.ndarray)):
        _sequence_vector(spec)
        return 1.0
    unit_vector(spec)  # validates the spec and its dimensions
    quantity, label = _as_quantity(spec)
    if np.ndim(quantity.magnitude) != 0:
        raise ValueError(f"unit {label} must be a single quantity, not an array of values")
    dims = dict(quantity.dimensionality)
    powers = [(u, float(dims.get(d, 0))) for u, d in zip(_SI_UNITS, _PINT_DIMENSIONS)]
    target = "*".join(f"{u}**{e:g}" for u, e in powers if e != 0) or "dimensionless"
    zero = type(quantity)(0, quantity.units).to(target).magnitude
    if zero != 0:
        raise ValueError(
            f"unit {label} has an offset from SI (0 {quantity.units:~} is {float(zero):g} "
            "in SI), so no single factor converts it; convert the column to kelvin, or "
            "write a temperature difference as 'delta_degC'"
        )
    return float(quantity.to(target).magnitude)


def _close(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def _column_vector(spec: Any, column: str) -> UnitVector:
    try:
        return unit_vector(spec)
    except (TypeError, ValueError) as err:
        raise type(err)(f"unit of column {column!r} ({spec!r}): {err}") from None


def unit_vectors(
    units: Mapping[str, Any] | Sequence[Any] | None, names: Sequence[str]
) -> list[UnitVector] | None:
    """Return the unit vector of every column in ``names``, in that order.

    Parameters
    ----------
    units : mapping, sequence or None
        Units by column name (every name in ``names``, no other), or a sequence in column
        order. Each entry is anything :func:`unit_vector` accepts; text and vectors can
        be mixed. ``None`` gives ``None`` (no units).
    names : sequence of str
        The column names, in order.

    Raises
    ------
    ValueError
        For a missing or unknown column name (with suggestions), a sequence of the wrong
        length, or a unit that cannot be read (the message names the unit and the column).
    TypeError
        When ``units`` is neither a mapping nor a sequence, or an entry is not a unit.

    Examples
    --------
    >>> vectors = unit_vectors({"v": "m/s", "t": [0, 1, 0, 0, 0]}, ["v", "t"])
    >>> [[int(e) for e in v] for v in vectors]
    [[1, -1, 0, 0, 0], [0, 1, 0, 0, 0]]
    """
    if units is None:
        return None
    names = [str(n) for n in names]
    if isinstance(units, Mapping):
        keys = [str(k) for k in units]
        missing = [n for n in names if n not in keys]
        extra = [k for k in keys if k not in names]
        if extra:
            listed = ", ".join(f"{k!r}{_close(k, names)}" for k in extra)
            raise ValueError(
                f"units name column(s) not in the data: {listed}; the columns are {names}"
            )
        if missing:
            raise ValueError(
                f"units give no unit for the column(s) {missing}; give one for every column "
                "('' for a pure number)"
            )
        lookup = {str(k): v for k, v in units.items()}
        return [_column_vector(lookup[n], n) for n in names]
    if isinstance(units, (str, bytes)) or not isinstance(units, (Sequence, np.ndarray)):
        raise TypeError(
            "units must be a mapping from column name to unit, or a sequence of units in "
            f"column order; got {type(units).__name__} {units!r}"
        )
    if len(units) != len(names):
        raise ValueError(
            f"units has {len(units)} entries but there are {len(names)} columns {names}; "
            "give one unit per column, in order, or a mapping by name"
        )
    return [_column_vector(spec, n) for spec, n in zip(units, names)]


def parse_unit_assignments(entries: Iterable[str]) -> dict[str, str]:
    """Read ``NAME=UNIT`` texts (the command line's ``--unit``) into ``{name: unit}``.

    The unit is everything after the first ``=`` (``"x="`` is a pure number); it is read
    later, with the column names known, by :func:`unit_vectors`.

    Raises
    ------
    ValueError
        For an entry without ``=``, with an empty name, or a name given twice.

    Examples
    --------
    >>> parse_unit_assignments(["v=m/s", "F = N"])
    {'v': 'm/s', 'F': 'N'}
    """
    out: dict[str, str] = {}
    for entry in entries:
        name, sep, unit = str(entry).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(
                f"unit assignment {entry!r} must look like NAME=UNIT, e.g. 'v=m/s' or 'F=N'"
            )
        if name in out:
            raise ValueError(
                f"column {name!r} is given a unit twice ({out[name]!r} and {unit.strip()!r})"
            )
        out[name] = unit.strip()
    return out
