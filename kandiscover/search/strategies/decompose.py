"""Structure discovery: split a law into smaller laws, solve those, recombine.

A KAN surrogate of the data (:mod:`kandiscover.search.structure`) says where the law
splits: a pair of inputs that enters only as a difference, sum, product or ratio, or
through one function of the two (a composition, ``x^2 + y^2`` or ``1/x + 1/y``; the
pair becomes one new input; the data stay exact), or two groups of inputs that are
additively (or, in the log view, multiplicatively) separable, possibly after a transform
of the target (the surrogate gives each group's part on the data's rows, the other group
held at a reference point). Each part is a smaller problem, solved by the cheap
strategies (lines, the exhaustive search, sparse sums) and, when it still has three or
more inputs, by further splits; the best few formulas of the parts are recombined, and
every recombination goes to the judge, which refits all constants jointly on the
original data. The tests only rank the splits: a wrong split gives formulas the judge
rejects. The decomposition tree of each proposal (which test split what, with its
statistic) travels with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from ..judge import Judge, JudgeConfig
from ..noise import estimate_noise
from ..problem import Problem, make_split
from ..structure import (
    SplitTest,
    Surrogate,
    composed,
    compositions,
    pair_symmetries,
    separability,
    train_surrogate,
)
from ..views import Chain, Log, Scale
from .base import Context, Proposal, Strategy
from .exhaustive import Exhaustive
from .kan import SearchConfig, _attempt
from .linear import Linear
from .sparse import SparseTerms

__all__ = ["Decompose", "Tree"]

_SYMMETRY_MAX = 0.15  # a pair symmetry is tried below this relative change
_SYMMETRY_OUTLIER = 0.3  # ... and below this fraction of the median over all pairs
_SEPARATION_MAX = 0.08  # a separation is tried below this relative violation
_PARTS = 2  # formulas kept per part for recombination


@dataclass(frozen=True)
class Tree:
    """How a formula was built: the split at this node and the trees of its parts.

    Attributes
    ----------
    names : tuple of str
        The variables of this node's problem.
    formula : sympy.Expr
        The formula proposed for it.
    tests : tuple of SplitTest
        The split made here (several symmetric pairs are replaced at once; empty for a
        part solved directly).
    children : tuple of Tree
    how : str
        What solved this node when it was not split further (``"kan[d,2,1,1]"``: a KAN
        of the shape the split asked for).
    """

    names: tuple[str, ...]
    formula: sympy.Expr
    tests: tuple[SplitTest, ...] = ()
    children: tuple[Tree, ...] = ()
    how: str = ""

    def lines(self, indent: int = 0) -> list[str]:
        pad = "  " * indent
        out = [f"{pad}{self.formula}" + (f"   ({self.how})" if self.how else "")]
        out += [f"{pad}  <- {t.describe(self.names)}" for t in self.tests]
        return out + [line for c in self.children for line in c.lines(indent + 1)]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class Decompose(Strategy):
    """Splits found on a KAN surrogate, solved recursively.

    Parameters
    ----------
    max_depth : int
        Levels of splits.
    splits : int
        Splits tried per level (the clearest first).
    """

    name = "decompose"
    cost = 20.0
    min_seconds = 10.0
    cheap = False

    def __init__(self, max_depth: int = 3, splits: int = 3) -> None:
        for label, value in (("max_depth", max_depth), ("splits", splits)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Decompose({label}=...) must be a positive int, got {value!r}")
        self.max_depth, self.splits = max_depth, splits

    def applies(self, problem: Problem) -> bool:
        return problem.d >= 2 and problem.n >= 20

    def propose(self, problem: Problem, ctx: Context) -> Iterator[Proposal]:
        for expr, tree in _Solver(self, ctx).splits(problem, depth=0):
            yield Proposal(expr, self.name, tree)


class _Solver:
    def __init__(self, strategy: Decompose, ctx: Context) -> None:
        self.strategy, self.ctx = strategy, ctx

    def _left(self, deadline: float | None = None) -> float:
        return (self.ctx.deadline if deadline is None else deadline) - time.perf_counter()

    # ---------------------------------------------------------- the splits of one node
    def splits(
        self, problem: Problem, depth: int, deadline: float | None = None
    ) -> Iterator[tuple[sympy.Expr, Tree]]:
        """Formulas for ``problem`` from its clearest splits (each with its tree)."""
        deadline = self.ctx.deadline if deadline is None else deadline
        if depth >= self.strategy.max_depth or problem.d < 2 or self._left(deadline) <= 0:
            return
        seed = self.ctx.seed + depth
        budget = min(3.0, max(self._left(deadline) / 4, 0.2))
        raw = train_surrogate(problem.X, problem.y, seed=seed, time_limit=budget)
        surrogates = [raw]
        one_sign = bool(np.all(problem.y > 0) or np.all(problem.y < 0))

        def add_log_view() -> None:  # often smoother; needed for the product separations
            logy = np.log(np.abs(problem.y))
            surrogates.append(train_surrogate(problem.X, logy, seed=seed, time_limit=budget))

        symmetric = self._symmetric(problem, surrogates, seed)
        if not symmetric and one_sign:  # the log view may show what the raw one does not
            add_log_view()
            symmetric = self._symmetric(problem, surrogates, seed)
        if symmetric:  # every disjoint pair at once: the data stay exact
            found = False
            for expr, tree in self._symmetries(problem, symmetric, depth, deadline):
                found = True
                yield expr, tree
            if found:
                return
        if one_sign and len(surrogates) == 1 and self._left(deadline) > 0:
            add_log_view()
        outputs = ("y", "y^2", "1/y", "sqrt(y)")
        tests = [(t, raw) for t in separability(raw, problem.X, seed=seed, outputs=outputs)]
        if len(surrogates) > 1:
            found = separability(surrogates[1], problem.X, kind="multiplicative", seed=seed)
            tests += [(t, surrogates[1]) for t in found]
        tests = [(t, s) for t, s in tests if t.statistic < _SEPARATION_MAX or t.passed]
        tests.sort(key=lambda pair: (not pair[0].passed, pair[0].margin))
        for test, surrogate in tests[: self.strategy.splits]:
            if self._left(deadline) <= 0:
                return
            yield from self._separate(problem, test, surrogate, depth, deadline)

    @staticmethod
    def _symmetric(problem: Problem, surrogates: list[Surrogate], seed: int) -> list[SplitTest]:
        """The disjoint symmetric pairs and compositions the surrogates show."""
        return _disjoint(
            _clearest(pair_symmetries(s, problem.X, seed=seed) for s in surrogates)
            + _passed(compositions(s, problem.X, seed=seed) for s in surrogates)
        )

    def _separate(self, problem, test: SplitTest, surrogate: Surrogate, depth: int, deadline):
        """Solve one group on the surrogate's values (the other group held at a reference
        row), then the other group on what the data leave once the first part is taken out
        (``T(y) - g`` or ``y / g``: exact data); both orders."""
        names = tuple(s.name for s in problem.symbols)
        for order in (test.groups, test.groups[::-1]):
            first, second = order
            if self._left(deadline) <= 0:
                return
            share = time.perf_counter() + self._left(deadline) / 4
            sub = _part(problem, first, test, surrogate)
            for g, tree_g in self.solve(sub, depth + 1, share) if sub is not None else []:
                rest = _remainder(problem, first, second, test, g)
                if rest is None or self._left(deadline) <= 0:
                    continue
                share = time.perf_counter() + self._left(deadline) / 4
                for h, tree_h in self.solve(rest, depth + 1, share):
                    expr = _recombine(test, g, h, np.sign(problem.y[0]))
                    yield expr, Tree(names, expr, (test,), (tree_g, tree_h))
        if (test.kind == "multiplicative" or test.output != "y") and self._left(deadline) > 0:
            yield from self._shaped_network(problem, test, deadline)

    def _shaped_network(self, problem: Problem, test: SplitTest, deadline: float):
        """A KAN of the shape the split says, ``F(g(x_A) + h(x_B))``: ``[d, 2, 1, 1]``.

        Two hidden nodes (one per group), their sum, and one output edge for ``F`` (the
        inverse of the transform, ``exp`` for a product). Its snapped formula is proposed
        like the recombined ones.
        """
        names = tuple(s.name for s in problem.symbols)
        ctx = Context(deadline=deadline, seed=self.ctx.seed, library=self.ctx.library)
        config = SearchConfig(hidden=((2, 1),), alternatives=0)
        try:
            for proposal in _attempt(problem, (2, 1), self.ctx.seed, config, ctx):
                yield proposal.expr, Tree(names, proposal.expr, (test,), (), "kan[d,2,1,1]")
        except (ValueError, RuntimeError, ArithmeticError):
            return

    def _symmetries(self, problem: Problem, tests: list[SplitTest], depth: int, deadline):
        """Replace each symmetric pair by its invariant; solve the smaller problem."""
        taken = {s.name for s in problem.symbols}
        columns, symbols, back, used = [], [], {}, set()
        for test in tests:
            ((i, j),) = test.groups
            a, b = problem.symbols[i], problem.symbols[j]
            u = sympy.Symbol(_fresh("u", taken))
            taken.add(u.name)
            combined = _invariant(test, a, b)
            with np.errstate(all="ignore"):
                column = _invariant(test, problem.X[:, i], problem.X[:, j])
            if not np.all(np.isfinite(column)):
                return
            columns.append(column)
            symbols.append(u)
            back[u] = combined
            used.update((i, j))
        keep = [k for k in range(problem.d) if k not in used]
        X = np.column_stack([*columns, *(problem.X[:, k] for k in keep)])
        sub = Problem(X, problem.y, (*symbols, *(problem.symbols[k] for k in keep)), problem.sigma)
        names = tuple(s.name for s in problem.symbols)
        for expr, child in self.solve(sub, depth + 1, deadline):
            whole = expr.xreplace(back)
            yield whole, Tree(names, whole, tuple(tests), (child,))

    # ----------------------------------------------------------- solving one problem
    def solve(self, problem: Problem, depth: int, deadline: float) -> list[tuple[sympy.Expr, Tree]]:
        """The best few formulas for a (smaller) problem, judged on its own data."""
        if self._left(deadline) <= 0:
            return []
        split = make_split(problem.n, self.ctx.seed)
        train = problem.rows(split.train)
        noise, _ = estimate_noise(train.X, train.y, train.sigma, seed=self.ctx.seed, time_limit=0.5)
        judge = Judge(problem, split, noise, JudgeConfig(), deadline)
        names = tuple(s.name for s in problem.symbols)
        trees: dict[int, Tree] = {}
        direct = time.perf_counter() + 0.4 * self._left(deadline)
        for chain, strategy in self._direct(train):
            ctx = Context(deadline=direct, seed=self.ctx.seed, library=self.ctx.library)
            for proposal in strategy.propose(chain.problem, ctx):
                judge.submit(chain.inverse(proposal.expr), strategy.name)
                if time.perf_counter() > direct:
                    break
            if judge.satisfied():  # a cheaper strategy already explains the part
                break
        if problem.d >= 3 and not judge.exact():
            for expr, tree in self.splits(train, depth, deadline):
                scored = judge.submit(expr, "decompose")
                if scored is not None:
                    trees[id(scored)] = tree
        if not judge.scored:
            return []
        return [(s.expr, trees.get(id(s), Tree(names, s.expr))) for s in _best(judge)]

    def _direct(self, problem: Problem):
        tasks = [((Scale(),), Linear()), ((Scale(), Log()), Linear()), ((Scale(),), Exhaustive())]
        if problem.d <= 5:
            tasks.append(((Scale(),), SparseTerms()))
        for views, strategy in tasks:
            chain = Chain.build(problem, views)
            if chain is not None and strategy.applies(chain.problem):
                yield chain, strategy


_INVARIANTS = {
    "difference": lambda a, b: a - b,
    "sum": lambda a, b: a + b,
    "product": lambda a, b: a * b,
    "ratio": lambda a, b: a / b,
}


def _invariant(test: SplitTest, a, b):
    """The new input that replaces a symmetric pair (symbols or columns)."""
    if test.kind == "composition":
        return composed(test.form, a, b)
    return _INVARIANTS[test.kind](a, b)


def _passed(groups) -> list[SplitTest]:
    """The compositions that passed, per pair the clearest over the surrogates."""
    best: dict[tuple, SplitTest] = {}
    for tests in groups:
        for t in tests:
            if t.passed and (t.groups not in best or t.statistic < best[t.groups].statistic):
                best[t.groups] = t
    return list(best.values())


def _clearest(groups) -> list[SplitTest]:
    """The pair symmetries that stand out: per pair and kind the surrogate that saw it
    best, kept when its statistic is small both absolutely and against the median of all
    pairs (true symmetries sit far below the bulk; a coarse surrogate lifts the bulk)."""
    best: dict[tuple, SplitTest] = {}
    for tests in groups:
        for t in tests:
            key = (t.kind, t.groups)
            if key not in best or t.statistic < best[key].statistic:
                best[key] = t
    if not best:
        return []
    median = float(np.median([t.statistic for t in best.values()]))
    cut = min(_SYMMETRY_MAX, _SYMMETRY_OUTLIER * median)
    return [t for t in best.values() if t.statistic < cut]


def _disjoint(tests) -> list[SplitTest]:
    """The clearest symmetric pairs that share no input (the simple symmetries first)."""
    chosen, used = [], set()
    for test in sorted(tests, key=lambda t: (t.kind == "composition", t.statistic)):
        ((i, j),) = test.groups
        if i not in used and j not in used:
            chosen.append(test)
            used.update((i, j))
    return chosen


def _best(judge: Judge) -> list:
    """The chosen formula and the next best laws by description length."""
    a = judge.assess()
    ranked = sorted(
        (s for s, ok in zip(a.front, a.within_noise) if ok and s is not a.chosen),
        key=lambda s: a.dl[a.front.index(s)],
    )
    return [a.chosen, *ranked][:_PARTS]


def _fresh(name: str, taken: set[str]) -> str:
    k = 1
    while f"{name}{k}" in taken:
        k += 1
    return f"{name}{k}"


def _reference_row(problem: Problem) -> np.ndarray:
    return np.median(problem.X, axis=0)


def _part(problem: Problem, group: Sequence[int], test: SplitTest, surrogate: Surrogate):
    """The problem of one group's part: its inputs, the others at the reference row."""
    X = np.repeat(_reference_row(problem)[None, :], problem.n, axis=0)
    X[:, list(group)] = problem.X[:, list(group)]
    values = surrogate(X)
    with np.errstate(all="ignore"):
        t = _transform(test, values)
    if not (np.all(np.isfinite(t)) and np.ptp(t) > 0):
        return None
    symbols = tuple(problem.symbols[k] for k in group)
    return Problem(problem.X[:, list(group)], t, symbols)


def _transform(test: SplitTest, values: np.ndarray) -> np.ndarray:
    if test.kind == "multiplicative":
        return np.exp(values)  # the surrogate is of log|y|: each part is a factor
    return {"y": values, "y^2": values**2, "1/y": 1 / values, "sqrt(y)": np.sqrt(values)}[
        test.output
    ]


def _remainder(problem: Problem, first, second, test: SplitTest, g: sympy.Expr):
    """The second group's part, from the data: ``T(y) - g(x_first)`` or ``y / g``."""
    symbols = [problem.symbols[k] for k in first]
    dummies = [sympy.Dummy() for _ in symbols]
    fn = sympy.lambdify(dummies, g.xreplace(dict(zip(symbols, dummies))), "numpy")
    with np.errstate(all="ignore"):
        part = np.broadcast_to(np.asarray(fn(*problem.X[:, list(first)].T), float), (problem.n,))
        if test.kind == "multiplicative":
            t = np.abs(problem.y) / part
        else:
            t = _transform(test, problem.y) - part
    if not (np.all(np.isfinite(t)) and np.ptp(t) > 0):
        return None
    symbols_second = tuple(problem.symbols[k] for k in second)
    return Problem(problem.X[:, list(second)], t, symbols_second)


def _recombine(test: SplitTest, g, h, sign: float) -> sympy.Expr:
    """The whole formula from its two parts (constants are refit by the judge)."""
    if test.kind == "multiplicative":
        return sympy.Integer(1 if sign >= 0 else -1) * g * h
    t = g + h
    return {
        "y": t,
        "y^2": sympy.sqrt(t) if sign >= 0 else -sympy.sqrt(t),
        "1/y": 1 / t,
        "sqrt(y)": t**2,
    }[test.output]
