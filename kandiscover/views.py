"""Views of a data set: transforms under which a law may become simpler for a KAN.

A view maps ``(X, y)`` to ``(X', y')`` and maps a formula found on the transformed data
back to the original variables. The raw view is the identity. The log view takes the
logarithm of every positive column and of a sign-definite target: a product of powers
(most physical laws) becomes a sum of straight lines, which a one-layer KAN finds
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

__all__ = ["View", "available_views", "target_sign"]


@dataclass(frozen=True)
class View:
    """A transform of the data and its inverse on formulas.

    Attributes
    ----------
    name : str
        ``"raw"`` or ``"log"``.
    log_inputs : tuple of bool
        Per input column, whether it is replaced by its logarithm.
    log_target : bool
        Whether the target is replaced by ``log(sign * y)``.
    sign : float
        Sign of the target (``1`` or ``-1``) in the log view.
    """

    name: str
    log_inputs: tuple[bool, ...]
    log_target: bool = False
    sign: float = 1.0

    def transform(self, X: np.ndarray, y: np.ndarray | None = None):
        """Apply the view to inputs (and a target)."""
        Xt = X.copy()
        for j, take_log in enumerate(self.log_inputs):
            if take_log:
                Xt[:, j] = np.log(X[:, j])
        if y is None:
            return Xt
        return Xt, (np.log(self.sign * y) if self.log_target else y)

    def inverse(self, expr: sympy.Expr, symbols: list[sympy.Symbol]) -> sympy.Expr:
        """The formula in the original variables, given one found in the view."""
        subs = {s: sympy.log(s) for s, take in zip(symbols, self.log_inputs, strict=True) if take}
        out = expr.xreplace(subs)
        if self.log_target:
            out = self.sign * sympy.exp(out)
            out = sympy.powsimp(sympy.expand_log(sympy.expand(out), force=True), force=True)
        return out


def available_views(X: np.ndarray, y: np.ndarray) -> list[View]:
    """The raw view, plus the log view when the target has one sign.

    In the log view every positive input is replaced by its logarithm too; the others
    stay as they are (``log y = sin(pi x) + y^2`` is as welcome as a monomial).
    """
    raw = View("raw", tuple(False for _ in range(X.shape[1])))
    positive = tuple(bool(np.all(X[:, j] > 0)) for j in range(X.shape[1]))
    views = [raw]
    sign = target_sign(y)
    if sign:
        views.append(View("log", positive, log_target=True, sign=sign))
    return views


def target_sign(y: np.ndarray) -> float:
    """``1`` if every value is positive, ``-1`` if every value is negative, else ``0``."""
    return 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)
