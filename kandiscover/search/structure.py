"""Where does a law split? Tests on a trained KAN surrogate.

A KAN fitted to the data is a smooth, cheap oracle for the law: it can be evaluated at
points the data never visited. Each test below compares two evaluations of the
surrogate that must agree when the law has some structure, and decides against the
surrogate's own error (its held-out RMSE ``eps``): a violation within ``KAPPA * eps`` of
zero is what a surrogate that good cannot tell from none. The tests (after AI Feynman,
Udrescu & Tegmark 2020, and KAN 2.0, Liu et al. 2024):

- **additive separability** ``T(f) = g(x_A) + h(x_B)``: for two rows ``a, b``,
  ``T f(a_A, a_B) - T f(a_A, b_B) - T f(b_A, a_B) + T f(b_A, b_B) = 0``, with an output
  transform ``T`` (``y``, ``y^2``, ``1/y``, ``sqrt(y)``) where it makes the structure
  appear; multiplicative separability ``f = g(x_A) h(x_B)`` is the same test on
  ``log|f|`` (a surrogate trained in the log view);
- **symmetry in a pair**: ``f`` depends on ``x_i - x_j`` (or ``x_i + x_j``, ``x_i x_j``,
  ``x_i / x_j``) only when moving both inputs along that invariant leaves ``f`` unchanged
  while moving one of them does not;
- **generalized symmetry (composition)** ``f = F(h(x_i, x_j), rest)``: then the direction
  of ``f``'s gradient in ``(x_i, x_j)`` is that of ``h``'s, whatever the other inputs
  (AI Feynman 2.0): the ratio ``df/dx_i / df/dx_j`` of the surrogate (central
  differences) is matched against the ratios of ``h = x_i^p + c x_j^q`` and
  ``h = x_i^r x_j`` (small rational powers; ``c`` and ``r`` read off the ratio itself).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from ..nn.network import KAN
from ..train import GridSchedule, fit

__all__ = [
    "KAPPA",
    "SplitTest",
    "Surrogate",
    "compositions",
    "pair_symmetries",
    "separability",
    "train_surrogate",
]

#: A violation below this many surrogate errors is taken for none.
KAPPA = 4.0
_FLOOR = 1e-4  # relative error below which a surrogate is not trusted to be better
_PAIRS = 256  # pairs of rows per separability test
_STEP = 0.5  # moves of the symmetry tests, in standard deviations of the input
_OUTPUTS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "y": (lambda f: f, "any"),
    "y^2": (lambda f: f**2, "any"),
    "1/y": (lambda f: 1.0 / f, "nonzero"),
    "sqrt(y)": (lambda f: np.sqrt(f), "positive"),
}


@dataclass
class Surrogate:
    """A KAN fitted to a problem's data, evaluated on new points in NumPy.

    Attributes
    ----------
    model : KAN
    error : float
        Held-out root mean squared error, in the target's units.
    scale : float
        Standard deviation of the target.
    """

    model: KAN
    error: float
    scale: float
    mu: float
    sd: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.model(torch.as_tensor(X, dtype=torch.float64))[:, 0].numpy()
        return self.mu + self.sd * out

    @property
    def relative_error(self) -> float:
        """Held-out RMSE over the target's standard deviation (at least 1e-4)."""
        return max(self.error / max(self.scale, 1e-300), _FLOOR)


def train_surrogate(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    hidden: int | None = None,
    steps: int = 60,
    restarts: int = 2,
    time_limit: float | None = None,
    max_rows: int = 1000,
) -> Surrogate:
    """Fit a ``[d, hidden, 1]`` KAN to ``(X, y)``; measure it on a fifth held out.

    Parameters
    ----------
    X, y : ndarray
    seed : int
    hidden : int, optional
        Hidden sum nodes (default ``2 d + 1``, Kolmogorov's count, at most 9).
    steps : int
        L-BFGS steps.
    restarts : int
        Networks trained from different initialisations; the one with the smallest
        held-out error is kept (a network can settle several times worse than another).
    time_limit : float, optional
        Seconds for all the fits.
    max_rows : int
        Rows used (a random subset of larger data).
    """
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(y))[:max_rows]
    cut = max(int(0.8 * len(rows)), 1)
    fit_rows, test_rows = rows[:cut], rows[cut:]
    held = test_rows if len(test_rows) >= 5 else fit_rows
    mu, sd = float(y[fit_rows].mean()), float(y[fit_rows].std()) or 1.0
    d = X.shape[1]
    width = [d, hidden if hidden is not None else min(2 * d + 1, 9), 1]
    each = None if time_limit is None else time_limit / restarts
    best: Surrogate | None = None
    for r in range(restarts):
        model = KAN(width, grid=5, k=3, seed=seed + r, dtype=torch.float64)
        fit(
            model,
            X[fit_rows],
            (y[fit_rows] - mu) / sd,
            steps=steps,
            grid_updates=GridSchedule(every=10, until=steps // 2),
            time_limit=each,
        )
        surrogate = Surrogate(model, math.inf, float(np.std(y)) or 1.0, mu, sd)
        error = float(np.sqrt(np.mean((surrogate(X[held]) - y[held]) ** 2)))
        surrogate.error = error if math.isfinite(error) else math.inf
        if best is None or surrogate.error < best.error:
            best = surrogate
        if best.relative_error <= 10 * _FLOOR:
            break  # good enough: another start would not change a test
    return best


@dataclass(frozen=True)
class SplitTest:
    """The outcome of one test on a surrogate.

    Attributes
    ----------
    kind : str
        ``"additive"``, ``"multiplicative"``, ``"difference"``, ``"sum"``, ``"product"``
        or ``"ratio"``.
    groups : tuple of tuple of int
        The input columns: the two groups of a separation, or the pair of a symmetry.
    statistic : float
        The violation, relative to the target's spread (0 for an exact structure).
    threshold : float
        ``KAPPA`` surrogate errors: the test passes below it.
    output : str
        The transform of the target the structure is in (``"y"``, ``"y^2"``, ...).
    form : tuple of float
        A composition's invariant: ``(p, q, c)`` for ``x_i^p + c x_j^q``, ``(r,)`` for
        ``x_i^r x_j``.
    """

    kind: str
    groups: tuple[tuple[int, ...], ...]
    statistic: float
    threshold: float
    output: str = "y"
    form: tuple[float, ...] = ()

    @property
    def passed(self) -> bool:
        return self.statistic <= self.threshold

    @property
    def margin(self) -> float:
        """``statistic / threshold``: the smaller, the clearer the structure."""
        return self.statistic / max(self.threshold, 1e-300)

    def describe(self, names: Sequence[str]) -> str:
        parts = [",".join(names[i] for i in g) for g in self.groups]
        where = f" of {self.output}" if self.output != "y" else ""
        if self.kind == "composition":
            ((i, j),) = self.groups
            where = f" through {composed(self.form, names[i], names[j])}"
        verdict = "passed" if self.passed else "failed"
        return (
            f"{self.kind}{where} [{' | '.join(parts)}]: {self.statistic:.2g} "
            f"(threshold {self.threshold:.2g}, {verdict})"
        )


def _bipartitions(d: int, limit: int = 8) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every split of the inputs in two groups (one input against the rest above ``limit``)."""
    everything = tuple(range(d))
    if d > limit:
        for j in everything:
            yield (j,), tuple(i for i in everything if i != j)
        return
    for k in range(1, d // 2 + 1):
        for group in itertools.combinations(everything, k):
            rest = tuple(i for i in everything if i not in group)
            if k == d - k and group > rest:
                continue
            yield group, rest


def _recombined(X: np.ndarray, A: list[int], rng: np.random.Generator, m: int):
    """Four point sets ``(a_A, a_B), (a_A, b_B), (b_A, a_B), (b_A, b_B)`` for random rows."""
    a = X[rng.integers(0, len(X), m)]
    b = X[rng.integers(0, len(X), m)]
    a_then_b, b_then_a = b.copy(), a.copy()
    a_then_b[:, A] = a[:, A]
    b_then_a[:, A] = b[:, A]
    return a, a_then_b, b_then_a, b


def separability(
    surrogate: Surrogate,
    X: np.ndarray,
    *,
    kind: str = "additive",
    seed: int = 0,
    outputs: Sequence[str] = ("y",),
) -> list[SplitTest]:
    """Additive separability of ``T(f)`` over every split of the inputs in two groups.

    ``kind="multiplicative"`` is meant for a surrogate of ``log|y|`` (the same test,
    read as a product). Returns the tests of every split and output transform, the
    clearest first.
    """
    rng = np.random.default_rng(seed)
    out = []
    base = surrogate(X)
    for A, B in _bipartitions(X.shape[1]):
        points = _recombined(X, list(A), rng, _PAIRS)
        values = [surrogate(p) for p in points]
        for name in outputs:
            transform, domain = _OUTPUTS[name]
            if not _admits(base, domain):
                continue
            with np.errstate(all="ignore"):
                t = [transform(v) for v in values]
                spread = float(np.std(transform(base)))
            violation = t[0] - t[1] - t[2] + t[3]
            if not (np.all(np.isfinite(violation)) and spread > 0):
                continue
            statistic = float(np.sqrt(np.mean(violation**2))) / spread
            # four evaluations, each off by about the surrogate's error (propagated)
            eps = surrogate.relative_error * _gain(transform, base, surrogate)
            out.append(SplitTest(kind, (A, B), statistic, KAPPA * 2 * eps, name))
    return sorted(out, key=lambda t: t.margin)


def _admits(values: np.ndarray, domain: str) -> bool:
    if domain == "positive":
        return bool(np.all(values > 0))
    if domain == "nonzero":
        return bool(np.all(np.abs(values) > 1e-12 * np.abs(values).max()))
    return True


def _gain(transform, base: np.ndarray, surrogate: Surrogate) -> float:
    """How much a transform amplifies the surrogate's relative error (a derivative)."""
    h = surrogate.relative_error * surrogate.scale
    with np.errstate(all="ignore"):
        slope = (transform(base + h) - transform(base - h)) / (2 * h)
        spread = float(np.std(transform(base)))
    gain = float(np.sqrt(np.mean(slope**2))) * surrogate.scale / max(spread, 1e-300)
    return gain if math.isfinite(gain) and gain > 0 else 1.0


_MOVES: dict[str, Callable] = {
    "difference": lambda xi, xj, s: (xi + s, xj + s),
    "sum": lambda xi, xj, s: (xi + s, xj - s),
    "product": lambda xi, xj, s: (xi * (1 + s), xj / (1 + s)),
    "ratio": lambda xi, xj, s: (xi * (1 + s), xj * (1 + s)),
}


def pair_symmetries(surrogate: Surrogate, X: np.ndarray, *, seed: int = 0) -> list[SplitTest]:
    """Does ``f`` depend on a pair of inputs only through their difference, sum, product
    or ratio? Every pair and kind, the clearest first.

    Moving both inputs along the invariant (``x_i + s, x_j + s`` for a difference) must
    leave ``f`` unchanged, while moving ``x_i`` alone by as much changes it; the
    statistic is the first change over the second.
    """
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(0, len(X), _PAIRS)]
    base = surrogate(rows)
    out = []
    for i, j in itertools.combinations(range(X.shape[1]), 2):
        positive = bool(np.all(X[:, i] > 0) and np.all(X[:, j] > 0))
        for kind, move in _MOVES.items():
            if kind in ("product", "ratio") and not positive:
                continue
            step = _STEP if kind in ("product", "ratio") else _STEP * float(np.std(X[:, i]))
            if step == 0:
                continue
            both, alone = rows.copy(), rows.copy()
            both[:, i], both[:, j] = move(rows[:, i], rows[:, j], step)
            alone[:, i] = move(rows[:, i], rows[:, j], step)[0]
            change = float(np.sqrt(np.mean((surrogate(alone) - base) ** 2)))
            if change <= 0:
                continue
            statistic = float(np.sqrt(np.mean((surrogate(both) - base) ** 2))) / change
            threshold = KAPPA * 2 * surrogate.error / change
            out.append(SplitTest(kind, ((i, j),), statistic, threshold))
    return sorted(out, key=lambda t: t.margin)


# ------------------------------------------------------------------ compositions
_POWERS = (1.0, 2.0, -1.0, -2.0, 0.5, -0.5, 3.0)  # of x_i^p + c x_j^q
_RATIONALS = (2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1.5, -1.5, 1 / 3, -1 / 3)  # of x_i^r x_j
# the median |log| mismatch of the gradient ratio accepted: KAPPA * 2 surrogate errors
# (a derivative of the surrogate is about as good as its values), within these bounds
_DIRECTION_MIN, _DIRECTION_MAX = 0.02, 0.1


def composed(form: Sequence[float], a, b):
    """The invariant ``h`` of a composition's ``form`` for inputs ``a, b``: arrays, SymPy
    expressions (exact rational exponents, the coefficient a float), or names (text)."""
    if isinstance(a, str):
        return str(composed(form, sympy.Symbol(a), sympy.Symbol(b)))
    if isinstance(a, sympy.Basic):
        powers = [sympy.nsimplify(v) for v in form[:2]]
        if len(form) == 1:
            return a ** powers[0] * b
        return a ** powers[0] + sympy.Float(form[2]) * b ** powers[1]
    if len(form) == 1:
        return a ** form[0] * b
    p, q, c = form
    return a**p + c * b**q


def compositions(surrogate: Surrogate, X: np.ndarray, *, seed: int = 0) -> list[SplitTest]:
    """Pairs of inputs through which ``f`` depends on one function ``h(x_i, x_j)`` only.

    For every pair, the surrogate's gradient ratio ``f_i / f_j`` on random rows is matched
    against each candidate invariant's; the statistic is the median absolute log mismatch
    (0 for an exact composition), the threshold ``KAPPA`` twice the surrogate's relative
    error (between 0.02 and 0.1). Pairs along which the
    surrogate barely changes are skipped (their ratio is the surrogate's error). The
    forms that :func:`pair_symmetries` already covers (``x_i +- x_j``, ``x_i x_j``,
    ``x_i / x_j``) are not repeated. Returns the best form per pair, the clearest first.
    """
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(0, len(X), _PAIRS)]
    grads = _gradient(surrogate, rows, X)
    threshold = min(max(KAPPA * 2 * surrogate.relative_error, _DIRECTION_MIN), _DIRECTION_MAX)
    out = []
    for i, j in itertools.combinations(range(X.shape[1]), 2):
        gi, gj = grads[:, i], grads[:, j]
        noise = 10 * surrogate.error
        if not (
            np.median(np.abs(gi)) * np.std(X[:, i]) > noise
            and np.median(np.abs(gj)) * np.std(X[:, j]) > noise
        ):
            continue
        with np.errstate(all="ignore"):
            ratio = gi / gj
        a, b = rows[:, i], rows[:, j]
        best: tuple[float, tuple[float, ...]] | None = None
        for form in _candidate_forms(a, b, ratio, X[:, i], X[:, j]):
            mismatch = _mismatch(form, a, b, ratio)
            if best is None or mismatch < best[0]:
                best = (mismatch, form)
        if best is not None and math.isfinite(best[0]):
            out.append(SplitTest("composition", ((i, j),), best[0], threshold, form=best[1]))
    return sorted(out, key=lambda t: t.margin)


def _gradient(surrogate: Surrogate, rows: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Central differences of the surrogate at ``rows``, a step of 1e-3 spreads."""
    out = np.empty_like(rows)
    for k in range(rows.shape[1]):
        h = 1e-3 * (float(np.std(X[:, k])) or 1.0)
        up, down = rows.copy(), rows.copy()
        up[:, k] += h
        down[:, k] -= h
        out[:, k] = (surrogate(up) - surrogate(down)) / (2 * h)
    return out


def _candidate_forms(a, b, ratio, col_a, col_b):
    """Invariants with their free constant read off the observed ratio (a median)."""
    positive_a, positive_b = bool(np.all(col_a > 0)), bool(np.all(col_b > 0))
    nonzero_a, nonzero_b = bool(np.all(col_a != 0)), bool(np.all(col_b != 0))
    with np.errstate(all="ignore"):
        for p in _POWERS:
            if not _allowed(p, positive_a, nonzero_a):
                continue
            for q in _POWERS:
                if not _allowed(q, positive_b, nonzero_b) or (p == 1 and q == 1):
                    continue
                # h = a^p + c b^q: ratio = p a^(p-1) / (c q b^(q-1))
                implied = p * a ** (p - 1) / (q * b ** (q - 1) * ratio)
                c = float(np.median(implied[np.isfinite(implied)])) if implied.size else 0.0
                if math.isfinite(c) and c != 0:
                    yield (p, q, c)
        if positive_a and positive_b:
            # h = a^r b: ratio = r b / a
            r = float(np.median(ratio * a / b))
            if math.isfinite(r) and r != 0:
                snapped = min(_RATIONALS, key=lambda v: abs(v - r))
                if abs(snapped - r) <= 0.05 * abs(snapped) and snapped not in (1.0, -1.0):
                    yield (snapped,)


def _allowed(p: float, positive: bool, nonzero: bool) -> bool:
    if p != int(p):
        return positive
    return p > 0 or nonzero


def _mismatch(form, a, b, ratio) -> float:
    with np.errstate(all="ignore"):
        if len(form) == 1:
            predicted = form[0] * b / a
        else:
            p, q, c = form
            predicted = p * a ** (p - 1) / (c * q * b ** (q - 1))
        log_gap = np.abs(np.log(np.abs(predicted / ratio)))
        same_sign = np.sign(predicted) == np.sign(ratio)
    if np.mean(same_sign) < 0.95:
        return math.inf
    gap = log_gap[same_sign & np.isfinite(log_gap)]
    return float(np.median(gap)) if gap.size else math.inf
