"""A search problem: the data a strategy sees, and how rows are held out for judging.

:class:`Problem` is the typed form of "inputs, target, error bars and the symbols of the
columns" that every view and strategy takes and returns (it replaces the untyped
``(X_train, y_train, X_test, y_test)`` tuple of earlier versions). :class:`Split` says
which rows the strategies and the constant refits may use and which rows judge the
formulas: one held-out quarter for large tables, k-fold cross-validation for small ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

__all__ = ["HOLDOUT_MIN_ROWS", "Problem", "Split", "make_split"]

#: Below this many rows the judge cross-validates instead of holding out a quarter.
HOLDOUT_MIN_ROWS = 200


@dataclass(frozen=True)
class Problem:
    """Inputs, target and optional error bars, with one symbol per input column.

    Attributes
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    symbols : tuple of sympy.Symbol
        The variable of each column, in the formulas found for this problem.
    sigma : ndarray of shape (n,) or None
        Error bars (standard deviations) of ``y``, if known.
    """

    X: np.ndarray
    y: np.ndarray
    symbols: tuple[sympy.Symbol, ...]
    sigma: np.ndarray | None = None
    _positive: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.y.ndim != 1 or self.X.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"Problem needs X of shape (n, d) and y of shape (n,); got {self.X.shape} "
                f"and {self.y.shape}"
            )
        if self.X.shape[1] != len(self.symbols):
            raise ValueError(
                f"Problem has {self.X.shape[1]} columns but {len(self.symbols)} symbols"
            )
        positive = tuple(bool(np.all(self.X[:, j] > 0)) for j in range(self.X.shape[1]))
        object.__setattr__(self, "_positive", positive)

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of input columns."""
        return int(self.X.shape[1])

    @property
    def positive(self) -> tuple[bool, ...]:
        """Per column, whether every value is positive."""
        return self._positive

    @property
    def weights(self) -> np.ndarray:
        """``1 / sigma`` (ones without error bars): residuals are multiplied by these."""
        return np.ones(self.n) if self.sigma is None else 1.0 / self.sigma

    def rows(self, index: np.ndarray) -> Problem:
        """The same problem restricted to some rows."""
        sigma = None if self.sigma is None else self.sigma[index]
        return Problem(self.X[index], self.y[index], self.symbols, sigma)

    def with_data(
        self, X: np.ndarray, y: np.ndarray, symbols: tuple[sympy.Symbol, ...] | None = None
    ) -> Problem:
        """A problem on the same rows with other columns or another target."""
        return Problem(X, y, self.symbols if symbols is None else symbols, self.sigma)


@dataclass(frozen=True)
class Split:
    """Which rows fit a formula's constants and which rows judge it.

    Attributes
    ----------
    train : ndarray of int
        Rows the strategies search on and the constants are fitted on.
    valid : ndarray of int
        Rows a formula is judged on: held out (``folds`` empty), or every row, each
        predicted by constants fitted without its fold (``folds`` given).
    folds : tuple of ndarray of int
        The folds of k-fold cross-validation; empty for a held-out split.
    """

    train: np.ndarray
    valid: np.ndarray
    folds: tuple[np.ndarray, ...] = ()

    @property
    def cross_validated(self) -> bool:
        """Whether the judge cross-validates (small tables)."""
        return bool(self.folds)


def make_split(
    n: int, seed: int, *, test_size: float = 0.25, k: int = 5, holdout_min: int = HOLDOUT_MIN_ROWS
) -> Split:
    """A held-out quarter for ``n >= holdout_min`` rows, else ``k``-fold cross-validation.

    With fewer than ``k`` rows every row is its own fold (leave-one-out).
    """
    order = np.random.default_rng(seed).permutation(n)
    if n >= holdout_min:
        n_test = max(1, round(test_size * n))
        return Split(np.sort(order[n_test:]), np.sort(order[:n_test]))
    folds = tuple(np.sort(f) for f in np.array_split(order, min(k, n)) if len(f))
    everything = np.arange(n)
    return Split(everything, everything, folds)
