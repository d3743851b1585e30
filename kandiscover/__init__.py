"""kandiscover: Kolmogorov–Arnold networks that discover the laws behind data.

The public API is re-exported here; everything else lives in modules a user need not
import.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version

from .data import Dataset as Dataset
from .data import Equation as Equation
from .data import Variable as Variable
from .data import get_equation as get_equation
from .data import load_catalogue as load_catalogue
from .data import read_table as read_table
from .data import sample_equation as sample_equation
from .export import latex as latex
from .io import load as load
from .io import save as save
from .nn.network import KAN as KAN
from .prune import Attribution as Attribution
from .prune import attribution as attribution
from .prune import prune as prune
from .search import Constant as Constant
from .search import JudgeConfig as JudgeConfig
from .search import ParetoPoint as ParetoPoint
from .search import Result as Result
from .search import SearchConfig as SearchConfig
from .search import discover as discover
from .symbolic.compose import formula as formula
from .symbolic.equivalence import symbolic_solution as symbolic_solution
from .symbolic.library import DEFAULT_LIBRARY as DEFAULT_LIBRARY
from .symbolic.library import Library as Library
from .symbolic.library import Primitive as Primitive
from .symbolic.parse import parse_formula as parse_formula
from .symbolic.snap import snap as snap
from .tables import dataset_errors as dataset_errors
from .tables import dataset_info as dataset_info
from .tables import dataset_units as dataset_units
from .tables import list_datasets as list_datasets
from .tables import load_dataset as load_dataset
from .train import LBFGS as LBFGS
from .train import Adam as Adam
from .train import GridSchedule as GridSchedule
from .train import History as History
from .train import fit as fit
from .units import BASE_DIMENSIONS as BASE_DIMENSIONS
from .units import unit_scale as unit_scale
from .units import unit_vector as unit_vector
from .units import unit_vectors as unit_vectors

try:
    __version__ = version("kandiscover")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str):
    """Import the scikit-learn face and the plotting/PDE modules only when asked for."""
    if name == "KANRegressor":
        from .estimator import KANRegressor

        return KANRegressor
    if name in ("plot", "pde"):  # submodules with heavier imports (matplotlib)
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'kandiscover' has no attribute {name!r}")


__all__ = [
    "BASE_DIMENSIONS",
    "DEFAULT_LIBRARY",
    "KAN",
    "LBFGS",
    "Adam",
    "Attribution",
    "Constant",
    "Dataset",
    "Equation",
    "GridSchedule",
    "History",
    "JudgeConfig",
    "KANRegressor",
    "Library",
    "ParetoPoint",
    "Primitive",
    "Result",
    "SearchConfig",
    "Variable",
    "__version__",
    "attribution",
    "dataset_errors",
    "dataset_info",
    "dataset_units",
    "discover",
    "fit",
    "formula",
    "get_equation",
    "latex",
    "list_datasets",
    "load",
    "load_catalogue",
    "load_dataset",
    "parse_formula",
    "prune",
    "read_table",
    "sample_equation",
    "save",
    "snap",
    "symbolic_solution",
    "unit_scale",
    "unit_vector",
    "unit_vectors",
]
