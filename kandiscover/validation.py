"""Checking what a user hands in, once, at the entry points.

Every public entry (:func:`kandiscover.discover`, the estimator, the command line,
:func:`kandiscover.fit`) turns its arguments into a canonical form here, so nothing below
validates again. Each failure is a ``TypeError`` (wrong kind of value) or a ``ValueError``
(right kind, wrong value) whose message names the argument, the value received and what
would be accepted.
"""

from __future__ import annotations

import keyword
import math
import numbers
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Inputs",
    "as_float_array",
    "check_choice",
    "check_inputs",
    "check_names",
    "check_seed",
    "check_time_limit",
]

#: Names a formula string cannot use for a variable: the safe parser reads them as
#: functions or constants (``kandiscover.symbolic.parse``). Such columns are renamed.
RESERVED_NAMES = frozenset(
    {
        "exp", "log", "ln", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin",
        "arccos", "arctan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "arcsinh",
        "arccosh", "arctanh", "Abs", "abs", "sign", "erf", "pi", "E",
        "Integer", "Float", "Rational",
    }
)  # fmt: skip

_PREVIEW = 60


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


def as_float_array(value: Any, name: str, *, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """``value`` as a float64 NumPy array, refusing what would be silently wrong.

    Accepts NumPy arrays, pandas objects, torch tensors and (non-ragged) nested lists of
    real numbers.

    Raises
    ------
    TypeError
        For complex, boolean, text or object data (the message says how to convert it).
    ValueError
        For ragged rows or a number of dimensions outside ``ndim``.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, lazily
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):  # pandas
        value = value.to_numpy()
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got the string {_preview(value)}")
    try:
        arr = np.asarray(value)
    except ValueError as err:  # numpy >= 1.24 refuses ragged nested sequences
        raise ValueError(f"{name} is ragged: its rows have different lengths ({err})") from None
    if arr.dtype == object:
        arr = _object_to_float(arr, name)
    if np.iscomplexobj(arr):
        raise TypeError(
            f"{name} holds complex numbers; kandiscover fits real data: pass {name}.real, "
            f"abs({name}) or both parts as separate columns"
        )
    if arr.dtype == bool:
        raise TypeError(
            f"{name} is boolean; pass {name}.astype(float) if 0/1 values are meant as numbers"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    if arr.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}")
    return np.array(arr, dtype=np.float64)


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    flat = arr.ravel()
    for i, item in enumerate(flat):
        if isinstance(item, (list, tuple, np.ndarray)):
            raise ValueError(f"{name} is ragged: element {i} is itself a sequence")
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{name} holds booleans (element {i}); convert them to numbers")
        if isinstance(item, complex):
            raise TypeError(f"{name} holds complex numbers (element {i}: {item!r})")
        if not isinstance(item, numbers.Real):
            raise TypeError(f"{name} must hold numbers; element {i} is {_preview(item)}")
    return arr.astype(np.float64)


def _check_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    kind = "NaN" if np.isnan(arr).any() else "infinite"
    where = ""
    if arr.ndim == 2:
        cols = np.flatnonzero(bad.any(axis=0))[:5].tolist()
        where = f" (columns {cols}, {int(bad.any(axis=1).sum())} of {arr.shape[0]} rows)"
    raise ValueError(f"{name} contains {int(bad.sum())} {kind} value(s){where}; clean or drop them")


def check_time_limit(value: Any, name: str = "time_limit") -> float | None:
    """``None`` or a positive finite number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number of seconds or None, got {type(value).__name__} "
            f"{_preview(value)}"
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def check_seed(value: Any, name: str = "seed") -> int:
    """A non-negative integer (NumPy integers accepted; floats and booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a non-negative integer, got {type(value).__name__} {_preview(value)}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (a string)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {_preview(value)}")
    return value


_INVALID = re.compile(r"\W+")


def _safe_name(name: str) -> str:
    """An identifier close to ``name`` that the formula parser reads as a variable."""
    safe = name if name.isidentifier() else _INVALID.sub("_", name.strip()).strip("_")
    if safe.startswith("__"):  # dunder names never reach a formula
        safe = safe.lstrip("_")
    if not safe.strip("_"):
        safe = "x"
    if safe[0].isdigit():
        safe = "x_" + safe
    if keyword.iskeyword(safe) or safe in RESERVED_NAMES:
        safe += "_"
    return safe


def check_names(names: Sequence[Any], d: int, what: str = "names") -> tuple[tuple[str, ...], ...]:
    """Validate column names; return ``(names, variables)``.

    ``variables`` are the identifiers the formulas use: equal to the names where those are
    plain identifiers, else a readable safe spelling (``"mass (kg)"`` -> ``mass_kg``,
    ``"pi"`` -> ``pi_``), with a warning that lists every renamed column.

    Raises
    ------
    TypeError
        If ``names`` is a single string or holds something other than strings.
    ValueError
        For the wrong number of names, empty or duplicate names.
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(
            f"{what} must be a sequence of strings (one per column), got {_preview(names)}"
        )
    names = list(names)
    if len(names) != d:
        raise ValueError(f"{what} has {len(names)} entries but X has {d} columns")
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what} must hold strings; got {_preview(n)} ({type(n).__name__})")
        if not n.strip():
            raise ValueError(f"{what} holds an empty name: {names}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{what} must be distinct; repeated: {dupes}")
    variables: list[str] = []
    for n in names:
        v = _safe_name(n)
        while v in variables or (v != n and v in names):
            v += "_"
        variables.append(v)
    renamed = {n: v for n, v in zip(names, variables) if n != v}
    if renamed:
        warnings.warn(
            f"column names that are not plain identifiers or that the formula syntax "
            f"reserves were renamed in formulas: {renamed}",
            UserWarning,
            stacklevel=3,
        )
    return tuple(names), tuple(variables)


@dataclass(frozen=True)
class Inputs:
    """Checked data: float64 arrays, column names and the identifiers formulas use.

    Attributes
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,) or (n, k)
    names : tuple of str
        The column names as given (or ``x_1 ... x_d``).
    variables : tuple of str
        The identifiers of the columns in formulas (see :func:`check_names`).
    sigma : ndarray or None
        Error bars of ``y`` (same shape), if given.
    """

    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    variables: tuple[str, ...]
    sigma: np.ndarray | None = None


def check_inputs(
    X: Any,
    y: Any,
    names: Sequence[str] | None = None,
    sigma: Any = None,
    *,
    multi_output: bool = False,
    allow_constant: bool = False,
    min_rows: int = 3,
) -> Inputs:
    """Validate a data set for a search; return it in canonical form.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Inputs (NumPy, pandas, torch, nested lists). A 1-D ``X`` is one column. A
        DataFrame's column names are the default ``names``.
    y : array-like of shape (n,) or (n, k)
        Target(s); ``(n, 1)`` becomes ``(n,)``; ``(n, k)`` needs ``multi_output``.
    names : sequence of str, optional
        Column names (default: DataFrame columns, else ``x_1, ..., x_d``).
    sigma : float or array-like of shape (n,) or like ``y``, optional
        Error bars (standard deviations) of ``y``: positive and finite.
    multi_output : bool
        Whether a 2-D ``y`` is accepted.
    allow_constant : bool
        Whether a constant target is accepted.
    min_rows : int
        The fewest rows accepted.

    Raises
    ------
    TypeError, ValueError
        Naming the argument and the problem (see :func:`as_float_array`).
    """
    if names is None and hasattr(X, "columns"):
        names = [str(c) for c in X.columns]
    Xa = as_float_array(X, "X")
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    ya = as_float_array(y, "y")
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya[:, 0]
    if ya.ndim == 2 and not multi_output:
        raise ValueError(
            f"y must be 1-D (n_samples,), got shape {ya.shape}; pass one column at a time"
        )
    if Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"X is empty (shape {Xa.shape}); need at least one row and one column")
    if Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}; they must match")
    if Xa.shape[0] < min_rows:
        raise ValueError(f"too few rows: {Xa.shape[0]} (need at least {min_rows})")
    _check_finite(Xa, "X")
    _check_finite(ya, "y")
    if not allow_constant:
        columns = ya.reshape(len(ya), -1)
        flat = [j for j in range(columns.shape[1]) if np.ptp(columns[:, j]) == 0]
        if flat:
            where = "" if ya.ndim == 1 else f" (column(s) {flat})"
            raise ValueError(
                f"y is constant{where} (every value is {columns[0, flat[0]]}); "
                "there is nothing to learn"
            )
    if names is None:
        names = [f"x_{i + 1}" for i in range(Xa.shape[1])]
    names_t, variables = check_names(names, Xa.shape[1])
    return Inputs(Xa, ya, names_t, variables, _check_sigma(sigma, ya))


def _check_sigma(sigma: Any, y: np.ndarray) -> np.ndarray | None:
    if sigma is None:
        return None
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        s = np.full(y.shape, float(sigma))
    else:
        s = as_float_array(sigma, "sigma")
        if s.ndim == 2 and s.shape[1] == 1 and y.ndim == 1:
            s = s[:, 0]
        if s.shape != y.shape:
            if y.ndim == 2 and s.ndim == 1 and s.shape[0] == y.shape[0]:
                s = np.repeat(s[:, None], y.shape[1], axis=1)
            else:
                raise ValueError(f"sigma must have the shape of y {y.shape}, got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        bad = int(np.sum(~(np.isfinite(s) & (s > 0))))
        raise ValueError(
            f"sigma (error bars) must be positive and finite; {bad} value(s) are not "
            "(drop those rows or give them a large error)"
        )
    return s
