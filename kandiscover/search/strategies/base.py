"""The interface every strategy implements, and what it may use besides its problem."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sympy

from ...symbolic.library import DEFAULT_LIBRARY, Library
from ..problem import Problem

__all__ = ["Context", "Proposal", "Strategy"]


@dataclass(frozen=True)
class Proposal:
    """A formula a strategy proposes, in the symbols of the problem it searched.

    Attributes
    ----------
    expr : sympy.Expr
        The formula (float constants are refit and snapped by the judge).
    label : str
        What produced it (e.g. ``"kan[5]"``), recorded with the formula.
    model : Any
        The network it came from, if any.
    inputs : ndarray, optional
        Rows of the inputs the network saw (for drawing it).
    """

    expr: sympy.Expr
    label: str
    model: Any = None
    inputs: Any = None


@dataclass
class Context:
    """What a strategy may use besides its problem.

    Attributes
    ----------
    deadline : float
        ``time.perf_counter()`` value by which the strategy should have returned.
    seed : int
        Seed of everything random in the strategy.
    library : Library
        Primitives for edges and exhaustive searches.
    cache : dict
        Shared between the strategies of one search (e.g. trained surrogate networks).
    """

    deadline: float = math.inf
    seed: int = 0
    library: Library = DEFAULT_LIBRARY
    cache: dict[str, Any] = field(default_factory=dict)

    def left(self) -> float:
        """Seconds until the deadline (at least a little, so a step can finish)."""
        return max(self.deadline - time.perf_counter(), 0.01)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.perf_counter() > self.deadline


class Strategy(ABC):
    """A way of proposing formulas for a problem.

    Subclasses set ``name``, ``cost`` (a relative share of the time budget) and
    ``min_seconds`` (the time it gets, when that much is left, even if its share is
    smaller: cheap strategies finish instead of being cut short by a share that load on
    the machine made too small) and ``cheap`` (every cheap strategy runs before the
    search may stop at the noise floor), and implement :meth:`propose`, a generator: the search
    scores each proposal as it comes, so a strategy interrupted by the deadline has still
    contributed.
    """

    name: str = "strategy"
    cost: float = 1.0
    min_seconds: float = 1.0
    cheap: bool = True

    def applies(self, problem: Problem) -> bool:
        """Whether the strategy can search this problem (default: always)."""
        return True

    @abstractmethod
    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        """Yield formulas for ``problem``, most promising first, until ``ctx.deadline``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
