"""The scikit-learn face of :func:`kandiscover.discover`: :class:`KANRegressor`.

scikit-learn is an optional dependency: ``import kandiscover`` never imports this module;
``from kandiscover.estimator import KANRegressor`` needs scikit-learn installed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sympy

from .export import latex, to_numpy, to_sympy_string
from .search import ParetoPoint, Result, SearchConfig, discover
from .symbolic.library import DEFAULT_LIBRARY, Library

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as err:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "KANRegressor needs scikit-learn >= 1.6; install it with `pip install scikit-learn` "
        "(or `pip install 'kandiscover[dev]'`)"
    ) from err

__all__ = ["EXPECTED_FAILED_CHECKS", "KANRegressor"]

#: scikit-learn estimator checks that KANRegressor is known to fail, with the reason.
#: Pass it as ``expected_failed_checks`` to ``parametrize_with_checks``. Empty: every
#: check of ``parametrize_with_checks`` passes (see ``tests/integration/test_estimator.py``).
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


class KANRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression with Kolmogorov–Arnold networks, as a scikit-learn estimator.

    ``fit`` runs :func:`kandiscover.discover`; ``predict`` evaluates the formula it found.

    Parameters
    ----------
    time_limit : float, optional
        Seconds; the search stops starting new attempts after it.
    seed : int, default 0
        Seed of the internal train/validation split and of the networks.
    config : SearchConfig, optional
        Search space and training budget (default ``SearchConfig()``).
    library : Library or sequence of str, optional
        Primitives for the edges: a :class:`~kandiscover.Library`, or names of primitives
        of :data:`kandiscover.DEFAULT_LIBRARY` such as ``("x", "x^2", "sin")`` (default:
        the whole default library). Names are the scikit-learn-friendly choice: they
        clone and pickle, which a ``Library`` instance currently does not.

    Attributes
    ----------
    formula_ : sympy.Expr
        The law found, in the feature names (``feature_names_in_`` for a DataFrame with
        string column names, else ``x_1, ..., x_d``).
    equations_ : pandas.DataFrame
        The Pareto front, simplest first: columns ``complexity``, ``rmse``, ``r2``,
        ``formula`` (a SymPy string) and ``latex``.
    result_ : Result
        Everything :func:`kandiscover.discover` returned (a pickled estimator keeps it
        without the network: ``result_.model`` is ``None`` after unpickling).
    n_features_in_ : int
        Number of features seen by ``fit``.
    feature_names_in_ : numpy.ndarray of str
        Column names of a DataFrame given to ``fit`` (only then).

    Notes
    -----
    A constant target is not an error here (scikit-learn's contract requires fitting it):
    the formula is that constant, found without a search. ``discover`` itself rejects a
    constant target. The estimator passes every check of scikit-learn's
    ``parametrize_with_checks`` (``EXPECTED_FAILED_CHECKS`` is empty); the checks run
    with a small ``config`` and a linear ``library`` to stay fast.

    Examples
    --------
    >>> import numpy as np
    >>> from kandiscover.estimator import KANRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(1, 2, size=(200, 2))
    >>> model = KANRegressor().fit(X, 2.5 * X[:, 0] * X[:, 1])  # doctest: +SKIP
    >>> model.formula_  # doctest: +SKIP
    2.5*x_1*x_2
    """

    def __init__(
        self,
        time_limit: float | None = None,
        seed: int = 0,
        config: SearchConfig | None = None,
        library: Library | Sequence[str] | None = None,
    ) -> None:
        self.time_limit = time_limit
        self.seed = seed
        self.config = config
        self.library = library

    def fit(self, X: Any, y: Any) -> KANRegressor:
        """Discover a formula for ``y`` from the columns of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs; a DataFrame's string column names become the formula's symbols.
        y : array-like of shape (n_samples,)
            Target.

        Returns
        -------
        KANRegressor
            ``self``, fitted.

        Raises
        ------
        ValueError
            For NaN/inf, empty or mismatched inputs, a non-numeric target, or an
            unknown primitive name in ``library``.
        TypeError
            If ``library`` is a single string.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        names = self._names()
        if np.ptp(y) == 0:
            result = _constant_result(float(y[0]), names)
        else:
            result = discover(
                X,
                y,
                names=names,
                time_limit=self.time_limit,
                seed=self.seed,
                config=self.config,
                library=self._library(),
            )
        self.result_ = result
        self.formula_ = result.formula
        self.equations_ = _equations_frame(result)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Evaluate the formula on the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            If ``X`` has a different number of features than in ``fit``.
        """
        check_is_fitted(self, "formula_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with np.errstate(all="ignore"):
            return to_numpy(self.formula_, list(self.result_.names))(X)

    def latex(self, precision: int = 4) -> str:
        """LaTeX of the fitted formula, floats rounded to ``precision`` significant digits."""
        check_is_fitted(self, "formula_")
        return latex(self.formula_, precision)

    def __getstate__(self) -> dict[str, Any]:
        # The network holds torch callables that do not pickle; the formula is kept.
        state = super().__getstate__()
        if isinstance(state.get("result_"), Result):
            state["result_"] = dataclasses.replace(state["result_"], model=None)
        return state

    def _library(self) -> Library:
        if self.library is None:
            return DEFAULT_LIBRARY
        if isinstance(self.library, Library):
            return self.library
        if isinstance(self.library, str):
            raise TypeError(
                f"library must be a Library or a sequence of primitive names, got the string "
                f"{self.library!r}; write ({self.library!r},)"
            )
        return DEFAULT_LIBRARY.subset(self.library)

    def _names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(n) for n in self.feature_names_in_]
        return [f"x_{i + 1}" for i in range(self.n_features_in_)]


def _constant_result(value: float, names: list[str]) -> Result:
    t0 = time.perf_counter()
    expr = sympy.Integer(int(value)) if value.is_integer() else sympy.Float(value)
    return Result(
        formula=expr,
        latex=latex(expr),
        r2_test=1.0,
        rmse_test=0.0,
        complexity=1,
        pareto=[ParetoPoint(expr, 1, 0.0, 1.0)],
        seconds=time.perf_counter() - t0,
        model=None,
        names=tuple(names),
        view="constant",
    )


def _equations_frame(result: Result) -> pd.DataFrame:
    rows = [
        {
            "complexity": p.complexity,
            "rmse": p.rmse,
            "r2": p.r2,
            "formula": to_sympy_string(p.formula),
            "latex": latex(p.formula),
        }
        for p in result.pareto
    ]
    return pd.DataFrame(rows, columns=["complexity", "rmse", "r2", "formula", "latex"])
