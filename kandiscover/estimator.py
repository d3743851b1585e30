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
from .latex_table import latex_table
from .search import DEFAULT_TIME_LIMIT, ParetoPoint, Result, SearchConfig, discover
from .search.judge import SELECTIONS
from .symbolic.library import DEFAULT_LIBRARY, Library
from .validation import check_choice, check_names

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as err:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "KANRegressor needs scikit-learn >= 1.6; install it with `pip install scikit-learn` "
        "(or `pip install 'kandiscover[dev]'`)"
    ) from err

__all__ = ["EXPECTED_FAILED_CHECKS", "KANRegressor"]

#: scikit-learn estimator checks that KANRegressor is known to fail, with the reason.
#: Pass it as ``expected_failed_checks`` to ``parametrize_with_checks``.
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight are inverse variances of error bars (1/sigma^2), as in PySR: a row "
        "of weight 2 is a more precise measurement, not two measurements, so the search "
        "(its split, its noise estimate) differs from one on duplicated rows"
    ),
}

_COLUMNS = [
    "complexity",
    "loss",
    "score",
    "rmse",
    "r2",
    "dl",
    "within_noise",
    "n_constants",
    "selected",
    "formula",
    "latex",
    "sympy_format",
    "source",
]


class KANRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression with Kolmogorov–Arnold networks, as a scikit-learn estimator.

    ``fit`` runs :func:`kandiscover.discover` (once per target column); ``predict``
    evaluates the law it found.

    Parameters
    ----------
    time_limit : float or None, default 60
        Seconds per target column.
    seed : int, default 0
        Seed of the internal train/validation split and of the networks.
    config : SearchConfig, optional
        KAN search space and training budget (default ``SearchConfig()``).
    library : Library or sequence of str, optional
        Primitives for the edges: a :class:`~kandiscover.Library`, or names of primitives
        of :data:`kandiscover.DEFAULT_LIBRARY` such as ``("x", "x^2", "sin")`` (default:
        the whole default library). Names clone and pickle, a ``Library`` does not.
    model_selection : {"best", "simplest", "accuracy"}, default "best"
        How the law is chosen among the Pareto front (see :func:`kandiscover.discover`).

    Attributes
    ----------
    formula_ : sympy.Expr or list of sympy.Expr
        The law found (one per target column for a 2-D ``y``), in the feature names.
    equations_ : pandas.DataFrame or list of DataFrame
        The Pareto front, simplest first: ``complexity``, ``loss`` (held-out weighted
        mean squared error), ``score`` (PySR's ``-d log(rmse) / d complexity``),
        ``rmse``, ``r2``, ``dl`` (description length, nats), ``within_noise``,
        ``n_constants``, ``selected`` (the chosen law), ``formula`` (a SymPy string),
        ``latex``, ``sympy_format`` (the expression) and ``source``.
    result_ : Result or list of Result
        Everything :func:`kandiscover.discover` returned (a pickled estimator keeps it
        without the network).
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of str
        Column names of a DataFrame given to ``fit`` (only then).

    Notes
    -----
    A constant target is not an error here (scikit-learn's contract requires fitting
    it): the formula is that constant, found without a search.

    Examples
    --------
    >>> import numpy as np
    >>> from kandiscover.estimator import KANRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(1, 2, size=(200, 2))
    >>> model = KANRegressor().fit(X, 2.5 * X[:, 0] * X[:, 1])  # doctest: +SKIP
    >>> model.formula_  # doctest: +SKIP
    5*x_1*x_2/2
    """

    def __init__(
        self,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        seed: int = 0,
        config: SearchConfig | None = None,
        library: Library | Sequence[str] | None = None,
        model_selection: str = "best",
    ) -> None:
        self.time_limit = time_limit
        self.seed = seed
        self.config = config
        self.library = library
        self.model_selection = model_selection

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        variable_names: Sequence[str] | None = None,
        X_units: Any = None,
        y_units: Any = None,
    ) -> KANRegressor:
        """Discover a law for each column of ``y`` from the columns of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs; a DataFrame's string column names become the formula's symbols.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s); one law per column.
        sample_weight : array-like of shape (n_samples,), optional
            Inverse variances ``1 / sigma^2`` of the targets' error bars (uniform weights
            are the same as none).
        variable_names : sequence of str, optional
            Names of the features (default: the DataFrame's columns, else ``x_1...``).
        X_units : mapping or sequence, optional
            Units of the features (text such as ``"m/s"`` or exponent vectors), by name
            or in column order; with ``y_units``, dimensional analysis is used.
        y_units : unit or sequence of units, optional
            Units of the target (one per column for a 2-D ``y``).

        Returns
        -------
        KANRegressor
            ``self``, fitted.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        selection = check_choice(self.model_selection, "model_selection", SELECTIONS)
        names = self._names(variable_names)
        sigma = self._sigma(sample_weight, X)
        columns = y.reshape(len(y), -1)
        units = self._target_units(y_units, columns.shape[1], X_units)
        results = []
        for k in range(columns.shape[1]):
            target = columns[:, k]
            if np.ptp(target) == 0:
                results.append(_constant_result(float(target[0]), names))
                continue
            results.append(
                discover(
                    X,
                    target,
                    names=names,
                    units=X_units,
                    target_units=units[k],
                    time_limit=self.time_limit,
                    seed=self.seed,
                    config=self.config,
                    library=self._library(),
                    sigma=sigma,
                    model_selection=selection,
                )
            )
        self._multi = y.ndim == 2
        self.result_ = results if self._multi else results[0]
        self.formula_ = [r.formula for r in results] if self._multi else results[0].formula
        frames = [_equations_frame(r) for r in results]
        self.equations_ = frames if self._multi else frames[0]
        return self

    def predict(self, X: Any, index: int | Sequence[int] | None = None) -> np.ndarray:
        """Evaluate the law (or the ``index``-th row of ``equations_``) on ``X``.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "formula_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        exprs = self._exprs(index)
        with np.errstate(all="ignore"):
            out = [to_numpy(e, list(r.variables))(X) for e, r in zip(exprs, self._results())]
        return np.column_stack(out) if self._multi else out[0]

    def sympy(self, index: int | Sequence[int] | None = None) -> sympy.Expr | list[sympy.Expr]:
        """The chosen law, or the ``index``-th row of ``equations_`` (a SymPy expression)."""
        check_is_fitted(self, "formula_")
        exprs = self._exprs(index)
        return exprs if self._multi else exprs[0]

    def latex(self, index: int | Sequence[int] | None = None, precision: int = 4):
        """LaTeX of the law (or of the ``index``-th equation), floats to ``precision`` digits."""
        check_is_fitted(self, "formula_")
        texts = [latex(e, precision) for e in self._exprs(index)]
        return texts if self._multi else texts[0]

    def latex_table(self, precision: int = 3) -> str | list[str]:
        """The Pareto front as a LaTeX table (booktabs); the chosen law is marked."""
        check_is_fitted(self, "formula_")
        tables = [latex_table(r.pareto, precision, chosen=r.formula) for r in self._results()]
        return tables if self._multi else tables[0]

    def pytorch(self, index: int | Sequence[int] | None = None):
        """The law as a torch module whose float constants are trainable parameters."""
        from .export_torch import FormulaModule

        check_is_fitted(self, "formula_")
        modules = [
            FormulaModule(e, list(r.variables)) for e, r in zip(self._exprs(index), self._results())
        ]
        return modules if self._multi else modules[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def __getstate__(self) -> dict[str, Any]:
        # The network holds torch callables that do not pickle; the formula is kept.
        state = super().__getstate__()
        results = state.get("result_")
        if isinstance(results, Result):
            state["result_"] = dataclasses.replace(results, model=None, network=None)
        elif isinstance(results, list):
            state["result_"] = [dataclasses.replace(r, model=None, network=None) for r in results]
        return state

    # ----------------------------------------------------------------- helpers
    def _results(self) -> list[Result]:
        return self.result_ if self._multi else [self.result_]

    def _exprs(self, index: int | Sequence[int] | None) -> list[sympy.Expr]:
        results = self._results()
        if index is None:
            return [r.formula for r in results]
        indices = [index] * len(results) if isinstance(index, (int, np.integer)) else index
        if isinstance(indices, str) or len(indices) != len(results):
            raise ValueError(
                f"index must be an int or one int per target ({len(results)}), got {index!r}"
            )
        out = []
        for i, r in zip(indices, results):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"index must be an int (a row of equations_), got {i!r}")
            if not -len(r.pareto) <= i < len(r.pareto):
                raise ValueError(f"index {i} is out of range: equations_ has {len(r.pareto)} rows")
            out.append(r.pareto[i].formula)
        return out

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

    def _names(self, variable_names: Sequence[str] | None) -> list[str]:
        if variable_names is not None:
            return list(check_names(variable_names, self.n_features_in_, "variable_names")[0])
        if hasattr(self, "feature_names_in_"):
            return [str(n) for n in self.feature_names_in_]
        return [f"x_{i + 1}" for i in range(self.n_features_in_)]

    @staticmethod
    def _sigma(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if np.ptp(w) == 0:
            return None  # uniform weights: no information about the noise
        if np.any(w == 0):
            raise ValueError(
                "sample_weight has zeros: a zero weight is an infinite error bar; drop "
                "those rows instead"
            )
        return 1.0 / np.sqrt(w)

    @staticmethod
    def _target_units(y_units: Any, k: int, X_units: Any) -> list[Any]:
        if y_units is None:
            if X_units is not None:
                raise ValueError("X_units need y_units too (dimensional analysis uses both)")
            return [None] * k
        if k == 1:
            return [y_units]
        if isinstance(y_units, str) or len(y_units) != k:
            raise ValueError(f"y has {k} columns: give y_units as a sequence of {k} units")
        return list(y_units)


def _constant_result(value: float, names: list[str]) -> Result:
    t0 = time.perf_counter()
    expr = sympy.Integer(int(value)) if value.is_integer() else sympy.Float(value)
    return Result(
        formula=expr,
        latex=latex(expr),
        r2_test=1.0,
        rmse_test=0.0,
        complexity=1,
        pareto=[ParetoPoint(expr, 1, 0.0, 1.0, loss=0.0)],
        seconds=time.perf_counter() - t0,
        model=None,
        names=tuple(names),
        view="constant",
        variables=tuple(names),
    )


def _equations_frame(result: Result) -> pd.DataFrame:
    rows = [
        {
            "complexity": p.complexity,
            "loss": p.loss,
            "score": p.score,
            "rmse": p.rmse,
            "r2": p.r2,
            "dl": p.dl,
            "within_noise": p.within_noise,
            "n_constants": p.n_constants,
            "selected": bool(p.formula == result.formula),
            "formula": to_sympy_string(p.formula),
            "latex": latex(p.formula),
            "sympy_format": p.formula,
            "source": p.source,
        }
        for p in result.pareto
    ]
    return pd.DataFrame(rows, columns=_COLUMNS)
