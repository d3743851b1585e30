"""Strategies: ways of proposing formulas for a problem, one module each.

``STRATEGIES`` maps a name to the class; every class implements
:class:`~kandiscover.search.strategies.base.Strategy` (``propose(problem, ctx)``, a
generator of formulas).
"""

from __future__ import annotations

from .base import Context as Context
from .base import Proposal as Proposal
from .base import Strategy as Strategy
from .decompose import Decompose as Decompose
from .decompose import Tree as Tree
from .exhaustive import Exhaustive as Exhaustive
from .kan import KANSearch as KANSearch
from .kan import SearchConfig as SearchConfig
from .linear import Linear as Linear
from .separable import Separable as Separable
from .sparse import SparseTerms as SparseTerms

STRATEGIES: dict[str, type[Strategy]] = {
    "linear": Linear,
    "exhaustive": Exhaustive,
    "separable": Separable,
    "sparse": SparseTerms,
    "decompose": Decompose,
    "kan": KANSearch,
}

__all__ = [
    "STRATEGIES",
    "Context",
    "Decompose",
    "Exhaustive",
    "KANSearch",
    "Linear",
    "Proposal",
    "SearchConfig",
    "Separable",
    "SparseTerms",
    "Strategy",
    "Tree",
]
