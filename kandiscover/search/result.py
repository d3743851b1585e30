"""What a search returns: the law, its constants with uncertainties, the Pareto front."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from .noise import NoiseEstimate

__all__ = ["Constant", "Network", "ParetoPoint", "Result", "format_uncertain"]


def format_uncertain(value: float, stderr: float) -> str:
    """``value`` with its standard error in parentheses: ``6.674(12)e-11``.

    The uncertainty gets two significant digits and the value is rounded to match. An
    exact constant (``stderr == 0``) prints as the value; an unidentified one
    (``stderr`` infinite or larger than the value) as ``value +- stderr``.

    Examples
    --------
    >>> format_uncertain(6.67408e-11, 1.2e-13)
    '6.674(12)e-11'
    >>> format_uncertain(9.81234, 0.0123)
    '9.812(12)'
    """
    if not math.isfinite(value):
        return repr(value)
    if stderr == 0:
        return f"{value:.10g}"
    if not math.isfinite(stderr) or stderr >= abs(value) or value == 0:
        return f"{value:.4g} +- {stderr:.2g}"
    last = math.floor(math.log10(stderr)) - 1  # decimal position of the 2nd digit of stderr
    digits = round(stderr / 10.0**last)
    if digits >= 100:  # rounding 99.6 up
        last += 1
        digits = round(stderr / 10.0**last)
    exp = math.floor(math.log10(abs(value)))
    if -3 <= exp <= 4:
        decimals = max(-last, 0)
        return f"{value:.{decimals}f}({digits})"
    mantissa = value / 10.0**exp
    decimals = max(exp - last, 0)
    return f"{mantissa:.{decimals}f}({digits})e{exp:+d}".replace("e+", "e")


@dataclass(frozen=True)
class Constant:
    """A fitted constant of a law, with its standard error.

    Attributes
    ----------
    value : float
    stderr : float
        One standard error, from the Jacobian of the final least-squares fit (weighted
        by the error bars when given).
    """

    value: float
    stderr: float

    def __str__(self) -> str:
        return format_uncertain(self.value, self.stderr)


@dataclass(frozen=True)
class Network:
    """The KAN a law came from, with what is needed to draw it.

    Attributes
    ----------
    model : KAN
        The snapped network.
    inputs : ndarray
        Rows of its inputs (in its view's variables: logarithms in the log view,
        dimensionless groups with units).
    names : tuple of str
        Its input variables.
    """

    model: Any
    inputs: Any
    names: tuple[str, ...]


@dataclass(frozen=True)
class ParetoPoint:
    """One formula of the Pareto front: no simpler formula has a smaller held-out error.

    Attributes
    ----------
    formula : sympy.Expr
    complexity : int
        Nodes of the expression tree.
    rmse, r2 : float
        Held-out root mean squared error (target units) and ``R^2``.
    loss : float
        Held-out weighted mean squared error (in units of the error bars, or of
        ``std(y)``): the quantity the judge compares.
    score : float
        PySR's score: ``-d log(rmse) / d complexity`` from the previous front point
        (``0`` for the first).
    dl : float
        Description length in nats (lower is better; see :mod:`kandiscover.search.judge`).
    within_noise : bool
        Whether the data cannot tell this formula apart from the most accurate one.
    n_constants : int
        Free (float) constants.
    source : str
        The view and strategy that proposed it.
    """

    formula: sympy.Expr
    complexity: int
    rmse: float
    r2: float
    loss: float = math.nan
    score: float = 0.0
    dl: float = math.nan
    within_noise: bool = True
    n_constants: int = 0
    source: str = ""


@dataclass
class Result:
    """What :func:`kandiscover.discover` found.

    Attributes
    ----------
    formula : sympy.Expr
        The chosen law, in the variables (``variables``) of the input columns.
    latex : str
        Its LaTeX.
    r2_test, rmse_test : float
        Scores on rows the formula's constants were not fitted on (the held-out quarter,
        or out-of-fold predictions for small tables).
    complexity : int
        Expression-tree size of ``formula``.
    pareto : list of ParetoPoint
        Error against complexity, simplest first, with the judge's scores.
    seconds : float
        Wall-clock time of the search.
    model : KAN or None
        The snapped network that produced the formula (in its view's variables).
    names : tuple of str
        Input column names, in column order.
    view : str
        Where the formula came from: the views (``units``, ``log``, ...) and the strategy
        (``exhaustive``, ``kan[5]``, ``linear``, ...), e.g. ``"units+log:linear"``.
    attempts : list of str
        The tasks (views and strategy) that ran, in order.
    noise : NoiseEstimate or None
        The noise level the judge used.
    constants : tuple of Constant
        The float constants of ``formula``, one per occurrence, sorted by magnitude,
        with standard errors.
    approximate : bool
        Whether the formula is too large to be a law (chosen because nothing simpler fits
        within the noise).
    at_noise_floor : bool
        Whether its held-out error is what the noise explains.
    stopped : str
        Why the search ended: ``"noise floor"``, ``"time limit"`` or ``"exhausted"``.
    variables : tuple of str
        The identifiers of the columns in the formula (equal to ``names`` unless a
        name was not a plain identifier).
    dropped : tuple of str
        Input columns set aside as carrying no information about the target.
    reduced_chi2 : float or None
        With error bars: the chosen law's chi-square per degree of freedom on all rows.
    model_selection : str
        The rule that chose the formula among the front.
    network : Network or None
        The network the law came from, with its inputs (for :meth:`plot`).
    decomposition : Tree or None
        When the law came from structure discovery: which test split what, with its
        statistic, and the parts (``print(result.decomposition)``).
    """

    formula: sympy.Expr
    latex: str
    r2_test: float
    rmse_test: float
    complexity: int
    pareto: list[ParetoPoint]
    seconds: float
    model: Any
    names: tuple[str, ...]
    view: str = "raw"
    attempts: list[str] = field(default_factory=list)
    noise: NoiseEstimate | None = None
    constants: tuple[Constant, ...] = ()
    approximate: bool = False
    at_noise_floor: bool = False
    stopped: str = "exhausted"
    variables: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    reduced_chi2: float | None = None
    model_selection: str = "best"
    network: Network | None = None
    decomposition: Any = None

    def __post_init__(self) -> None:
        if not self.variables:
            self.variables = tuple(self.names)

    def predict(self, X: Any) -> np.ndarray:
        """Evaluate the formula on inputs of shape (n, n_inputs), in column order."""
        from ..export import to_numpy

        X = np.asarray(X, dtype=float)
        if X.ndim == 1 and len(self.variables) == 1:
            X = X[:, None]
        with np.errstate(all="ignore"):
            return to_numpy(self.formula, list(self.variables))(X)

    def plot(self, X: Any, y: Any, *, sigma: Any = None, path: Any = None):
        """One figure of the result: the Pareto front, the law against the data (predicted
        against measured, and residuals) and, when it came from a KAN, the network.

        Parameters
        ----------
        X, y : array-like
            The data (inputs in column order, target).
        sigma : array-like, optional
            Error bars of ``y``, drawn on the points.
        path : path-like, optional
            Where to save the figure (PNG, PDF, SVG... by extension).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..plot import plot_result

        fig = plot_result(self, X, y, sigma=sigma)
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig

    def __str__(self) -> str:
        kind = "approximation" if self.approximate else "law"
        return (
            f"{self.formula}  ({kind}; R^2 held out {self.r2_test:.6f}, "
            f"complexity {self.complexity})"
        )

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"
