"""Data: catalogue equations, sampled and measured data sets, and input validation.

Every equation is written once, as a SymPy string with its variables, ranges and units
(``equations/*.csv`` at the top of the repository, ``kandiscover/equations/`` inside an
installed wheel); its SymPy expression and NumPy callable are derived from that string.
Real measured data sets ship in ``datasets/`` (``kandiscover/datasets/`` when installed).
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import sympy

from kandiscover._resources import data_dir, did_you_mean, list_files
from kandiscover.symbolic.parse import parse_formula
from kandiscover.validation import as_float_array, check_inputs

__all__ = [
    "Dataset",
    "Equation",
    "Variable",
    "check_xy",
    "get_equation",
    "load_catalogue",
    "read_table",
    "sample_equation",
]

Units = tuple[int, ...]
MIN_ROWS = 3


def _as_units(value: Any) -> Units | None:
    return None if value is None else tuple(int(u) for u in value)


@dataclass(frozen=True)
class Variable:
    """An equation's input: name, sampling range and units.

    ``units`` holds the exponents of the base dimensions (m, s, kg, K, V) or None;
    ``unit`` the same unit as text (e.g. ``"J/K"``), when known.
    """

    name: str
    low: float
    high: float
    units: Units | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"variable {self.name!r}: need finite low < high, got [{self.low}, {self.high}]"
            )


@dataclass(frozen=True)
class Equation:
    """A known law: a formula string, its variables with ranges and units, and a source.

    ``expr`` (SymPy) and ``func`` (NumPy) are derived from ``formula`` on first use.

    Examples
    --------
    >>> eq = get_equation("I.12.1")
    >>> eq.expr
    Nn*mu
    >>> float(eq.func(2.0, 3.0))
    6.0
    """

    id: str
    output: str
    formula: str
    variables: tuple[Variable, ...]
    output_units: Units | None = None
    source: str = ""
    number: int | None = None
    output_unit: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names, in the order ``func`` takes them."""
        return tuple(v.name for v in self.variables)

    @cached_property
    def expr(self) -> sympy.Expr:
        """The formula as a SymPy expression (parsed safely, see ``parse_formula``)."""
        return parse_formula(self.formula, variables=self.names)

    @cached_property
    def func(self) -> Callable[..., np.ndarray]:
        """A NumPy callable ``func(*columns)`` taking the variables in ``names`` order."""
        symbols = [sympy.Symbol(n) for n in self.names]
        return sympy.lambdify(symbols, self.expr, modules="numpy")

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the formula on the rows of ``X`` (shape ``(n, len(names))``)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.variables):
            raise ValueError(
                f"X must have shape (n, {len(self.variables)}) for {self.id}, got {X.shape}"
            )
        y = self.func(*X.T)
        return np.broadcast_to(np.asarray(y, dtype=np.float64), (X.shape[0],)).copy()


def _equation_from_row(row: Mapping[str, Any]) -> Equation:
    variables = tuple(
        Variable(
            v["name"], float(v["low"]), float(v["high"]), _as_units(v.get("units")), v.get("unit")
        )
        for v in json.loads(row["variables"])
    )
    return Equation(
        id=str(row["id"]),
        output=str(row["output"]),
        formula=str(row["formula"]),
        variables=variables,
        output_units=_as_units(json.loads(row["output_units"])),
        source=str(row["source"]),
        number=int(row["number"]),
        output_unit=None if row.get("output_unit") is None else str(row["output_unit"]),
    )


@functools.cache
def _catalogue(name: str) -> Mapping[str, Equation]:
    available = list_files("equations", ".csv")
    if name not in available:
        raise ValueError(
            f"unknown catalogue {name!r}; available: {available}{did_you_mean(name, available)}"
        )
    with data_dir("equations").joinpath(f"{name}.csv").open(encoding="utf-8") as fh:
        # "" is a unit (a pure number), not a missing value
        table = pd.read_csv(fh, dtype={"id": str, "output_unit": str}, keep_default_na=False)
    return {eq.id: eq for eq in map(_equation_from_row, table.to_dict("records"))}


def load_catalogue(name: str = "feynman") -> dict[str, Equation]:
    """Return the equations, by id, of the catalogue ``equations/<name>.csv``.

    The parsed catalogue is cached; each call returns a fresh dict. Raises ``ValueError``
    for a catalogue that does not ship with the package.
    """
    return dict(_catalogue(name))


def get_equation(id: str, catalogue: str = "feynman") -> Equation:
    """Return the catalogue equation with identifier ``id`` (e.g. ``"I.6.2a"``).

    Raises
    ------
    ValueError
        If the id is unknown; the message suggests close matches.
    """
    equations = _catalogue(catalogue)
    if id not in equations:
        hint = did_you_mean(str(id), list(equations))
        raise ValueError(f"unknown equation id {id!r} in catalogue {catalogue!r}{hint}")
    return equations[id]


@dataclass(frozen=True)
class Dataset:
    """A train/test split of a regression problem, with names and provenance.

    ``X_*`` are float64 arrays of shape ``(n, len(names))``, ``y_*`` of shape ``(n,)``.
    ``units`` maps feature and target names to SI exponents of (m, s, kg, K, V) when known;
    ``noise`` is the relative noise level of the training targets; ``seed`` produced the
    sample and split; ``equation`` is the catalogue id of the generating law, if any.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    names: tuple[str, ...]
    target: str = "y"
    units: Mapping[str, Units | None] | None = field(default=None, compare=False)
    noise: float = 0.0
    seed: int | None = None
    equation: str | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            d = len(self.names)
            if X.ndim != 2 or y.ndim != 1 or X.shape != (y.shape[0], d):
                raise ValueError(
                    f"X_{split} must be (n, {d}) for {d} names and y_{split} (n,), "
                    f"got {X.shape} and {y.shape}"
                )

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any,
        names: tuple[str, ...] | list[str] | None = None,
        target: str = "y",
        test_size: float = 0.25,
        seed: int = 0,
    ) -> Dataset:
        """Validate ``X, y`` with :func:`check_xy` and split them at random.

        Names default to ``x0, x1, ...``.
        """
        X, y = check_xy(X, y)
        names = tuple(names) if names is not None else tuple(f"x{i}" for i in range(X.shape[1]))
        if len(names) != X.shape[1]:
            raise ValueError(f"names has {len(names)} entries but X has {X.shape[1]} columns")
        n_test = _n_test(len(y), test_size)
        order = np.random.default_rng(seed).permutation(len(y))
        train, test = order[n_test:], order[:n_test]
        return cls(X[train], y[train], X[test], y[test], names, target, seed=seed)

    def to_frame(self) -> pd.DataFrame:
        """Return all rows as one DataFrame with a ``split`` column ("train"/"test")."""
        frames = []
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            frame = pd.DataFrame(X, columns=list(self.names))
            frame[self.target] = y
            frame["split"] = split
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _n_test(n: int, test_size: float) -> int:
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    n_test = round(n * test_size)
    if n_test < 1 or n_test >= n:
        raise ValueError(f"test_size={test_size} leaves an empty split for n={n} samples")
    return n_test


def sample_equation(
    eq_or_id: Equation | str,
    n: int = 1000,
    noise: float = 0.0,
    seed: int = 0,
    test_size: float = 0.25,
) -> Dataset:
    """Sample a catalogue equation uniformly over its variable ranges.

    Parameters
    ----------
    eq_or_id : Equation or str
        The equation, or its catalogue id.
    n : int, default 1000
        Total number of samples (train + test).
    noise : float, default 0.0
        Gaussian noise of standard deviation ``noise * RMS(y_train)`` is added to the
        training targets only; test targets stay exact.
    seed : int, default 0
        Seed of the ``numpy.random.default_rng`` used for sampling and noise.
    test_size : float, default 0.25
        Fraction of the samples held out for testing.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For ``n < 2``, negative noise, a bad ``test_size``, an unknown id, or an equation
        that is not finite over its ranges.

    Examples
    --------
    >>> ds = sample_equation("I.6.2a", n=100, seed=1)
    >>> ds.X_train.shape, ds.X_test.shape
    ((75, 1), (25, 1))
    """
    eq = get_equation(eq_or_id) if isinstance(eq_or_id, str) else eq_or_id
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    n_test = _n_test(int(n), test_size)
    rng = np.random.default_rng(seed)
    low, high = np.array([(v.low, v.high) for v in eq.variables]).T
    X = rng.uniform(low, high, size=(int(n), len(low)))
    with np.errstate(all="ignore"):
        y = eq.evaluate(X)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"equation {eq.id} gives non-finite values over its ranges")
    X_train, X_test, y_train, y_test = X[n_test:], X[:n_test], y[n_test:], y[:n_test]
    if noise > 0:
        scale = noise * np.sqrt(np.mean(y_train**2))
        y_train = y_train + rng.normal(0.0, scale, size=y_train.shape)
    units = {v.name: v.units for v in eq.variables} | {eq.output: eq.output_units}
    return Dataset(
        X_train, y_train, X_test, y_test, eq.names, eq.output, units, float(noise), seed, eq.id
    )


def check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate features and target and return them as float64 NumPy arrays.

    The checks of :func:`kandiscover.validation.check_inputs`, with ``X`` strictly 2-D.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy array, pandas object, torch tensor or nested lists; likewise ``y``.
    y : array-like of shape (n_samples,) or (n_samples, 1)

    Returns
    -------
    X, y : numpy.ndarray of shapes (n_samples, n_features) and (n_samples,)

    Raises
    ------
    ValueError
        Naming the argument, for wrong dimensions, mismatched lengths, empty data, NaN or
        infinite values, or a constant target.
    TypeError
        For complex, boolean or non-numeric data.
    """
    Xa = as_float_array(X, "X", ndim=(0, 1, 2, 3, 4))
    if Xa.ndim != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if Xa.ndim == 1 else ""
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {Xa.shape}{hint}")
    data = check_inputs(Xa, y, min_rows=1)
    return data.X, data.y


def _check_csv_shape(path: str | os.PathLike[str], max_rows: int = 10_000_000) -> None:
    """Refuse ragged rows and repeated header names, which pandas would mend silently."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{os.fspath(path)!r} is empty: a header row is needed")
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            raise ValueError(f"{os.fspath(path)!r} repeats the column name(s) {repeated}")
        for number, row in enumerate(reader, start=2):
            if number > max_rows:
                raise ValueError(f"{os.fspath(path)!r} has more than {max_rows} rows")
            if row and len(row) != len(header):
                raise ValueError(
                    f"{os.fspath(path)!r} line {number} has {len(row)} fields but the header "
                    f"has {len(header)}: the table is ragged"
                )


def _read_frame(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise FileNotFoundError(f"no such CSV file: {os.fspath(source)!r}")
        _check_csv_shape(source)
        try:
            return pd.read_csv(source)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            raise ValueError(f"cannot read {os.fspath(source)!r} as CSV: {err}") from None
    raise TypeError(f"source must be a CSV path or a pandas DataFrame, got {type(source)}")


def _nonfinite_rows(frame: pd.DataFrame, drop: bool) -> pd.DataFrame:
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    rows = bad.any(axis=1)
    if not rows.any():
        return frame
    columns = [str(c) for c, b in zip(frame.columns, bad.any(axis=0)) if b]
    if not drop:
        raise ValueError(
            f"{int(rows.sum())} row(s) contain NaN or inf (in columns {columns}); clean "
            "them or pass drop_nonfinite=True to drop them"
        )
    warnings.warn(
        f"dropped {int(rows.sum())} row(s) with NaN or inf (in columns {columns})", stacklevel=3
    )
    return frame.loc[~rows]


@dataclass(frozen=True)
class Table:
    """Columns read by :func:`read_columns`.

    Attributes
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,) or (n, k)
        One column per target (1-D for one target).
    names : list of str
        Feature names.
    targets : list of str
    sigma : ndarray or None
        The error bars of the target(s), when a column holds them.
    others : list of str
        The columns read as neither inputs nor targets (error bars, excluded).
    """

    X: np.ndarray
    y: np.ndarray
    names: list[str]
    targets: list[str]
    sigma: np.ndarray | None = None
    others: list[str] = field(default_factory=list)


def _column(name: str, columns: list[str], what: str) -> str:
    if name not in columns:
        raise ValueError(
            f"{what} column {name!r} not found; columns are {columns}"
            f"{did_you_mean(str(name), columns)}"
        )
    return name


def read_columns(
    source: str | os.PathLike[str] | pd.DataFrame,
    target: str | list[str] | tuple[str, ...],
    *,
    sigma: str | None = None,
    exclude: tuple[str, ...] | list[str] = (),
    drop_nonfinite: bool = False,
    min_rows: int = MIN_ROWS,
) -> Table:
    """Read features, one or more targets and optional error bars from a table.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV file with a header row, or a DataFrame (its index is ignored).
    target : str or list of str
        The column(s) to explain.
    sigma : str, optional
        The column holding the target's error bars (standard deviations).
    exclude : sequence of str
        Columns that are neither features nor targets.
    drop_nonfinite : bool
        Drop rows holding NaN or inf (with a warning) instead of raising.
    min_rows : int
        The fewest rows accepted (after dropping).

    Raises
    ------
    ValueError
        For an unknown column (with suggestions), a ragged CSV, repeated column names,
        no feature columns, non-numeric columns (named), NaN/inf rows, or too few rows.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    frame = _read_frame(source).rename(columns=str)
    columns = list(frame.columns)
    targets = [target] if isinstance(target, str) else list(target)
    if not targets:
        raise ValueError("target must name at least one column")
    for t in targets:
        _column(t, columns, "target")
    if sigma is not None:
        _column(sigma, columns, "error-bar (sigma)")
        if len(targets) != 1:
            raise ValueError("an error-bar column (sigma) needs exactly one target column")
    for c in exclude:
        _column(c, columns, "excluded")
    skip = {*targets, *exclude, *([sigma] if sigma else [])}
    names = [c for c in columns if c not in skip]
    if not names:
        raise ValueError(f"no feature columns: the table has only {sorted(skip)}")
    used = [*names, *targets, *([sigma] if sigma else [])]
    text = [c for c in used if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ValueError(f"non-numeric column(s) {text}; drop or encode them as numbers")
    frame = _nonfinite_rows(frame[used], drop_nonfinite)
    if len(frame) < min_rows:
        raise ValueError(f"too few rows: {len(frame)} (need at least {min_rows})")
    X = frame[names].to_numpy(np.float64)
    y = frame[targets].to_numpy(np.float64)
    errors = None if sigma is None else frame[sigma].to_numpy(np.float64)
    others = [*([sigma] if sigma else []), *exclude]
    return Table(X, y[:, 0] if len(targets) == 1 else y, names, targets, errors, others)


def read_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    target: str,
    drop_nonfinite: bool = False,
    min_rows: int = MIN_ROWS,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read features and target from a CSV file or a DataFrame.

    Every column except ``target`` is a feature (see :func:`read_columns` for several
    targets, error bars and excluded columns).

    Returns
    -------
    X, y, names : numpy.ndarray (n, d), numpy.ndarray (n,), list of str

    Raises
    ------
    ValueError
        For an unknown target (with suggestions), no feature columns, non-numeric columns
        (named), NaN/inf rows, too few rows, or a constant target.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    table = read_columns(source, target, drop_nonfinite=drop_nonfinite, min_rows=min_rows)
    X, y = check_xy(table.X, table.y)
    return X, y, table.names


_TABLES = ("list_datasets", "load_dataset", "dataset_units", "dataset_errors", "dataset_info")


def __getattr__(name: str) -> Any:
    """The measured tables live in :mod:`kandiscover.tables`; keep the old names working."""
    if name in _TABLES:
        from kandiscover import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
