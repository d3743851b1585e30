"""Symbolic primitives and immutable libraries of them.

A :class:`Primitive` is plain data: a name, a torch form, a SymPy form, a complexity and the
:class:`Domain` on which both forms agree. A :class:`Library` is an ordered, immutable
collection of primitives; :data:`DEFAULT_LIBRARY` is the one used when none is given. To add
a function (for example a Bessel function), build a new library with
:meth:`Library.with_primitive`; nothing global changes.

The torch forms are finite everywhere and have finite gradients everywhere: outside the
domain they return a continuous extension where one exists and ``0`` otherwise (the
"double where" pattern keeps NaN out of the backward pass).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import sympy
import torch
from torch import Tensor

__all__ = ["DEFAULT_LIBRARY", "Domain", "Library", "Primitive", "get_primitive"]

Inner = Literal["affine", "shift", "scale", "none"]
_INNER_CHOICES = ("affine", "shift", "scale", "none")


@dataclass(frozen=True)
class Domain:
    """An interval of the real line, possibly open, minus a few excluded points.

    Parameters
    ----------
    lower, upper : float
        Interval bounds (``-inf`` / ``inf`` for unbounded sides).
    lower_open, upper_open : bool
        Whether the bound itself is excluded. Infinite bounds are always open.
    excluded : tuple of float
        Isolated points removed from the interval (e.g. ``(0.0,)`` for ``1/x``).

    Raises
    ------
    ValueError
        If a bound is NaN or ``lower >= upper``.
    """

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = True
    upper_open: bool = True
    excluded: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if math.isnan(self.lower) or math.isnan(self.upper) or not self.lower < self.upper:
            raise ValueError(
                f"Domain needs lower < upper (both not NaN); got lower={self.lower}, "
                f"upper={self.upper}"
            )
        object.__setattr__(self, "excluded", tuple(float(e) for e in self.excluded))

    @property
    def bounded(self) -> bool:
        """Whether both bounds are finite."""
        return math.isfinite(self.lower) and math.isfinite(self.upper)

    def valid(self, z: Tensor) -> Tensor:
        """Boolean tensor, ``True`` where ``z`` lies in the domain.

        Parameters
        ----------
        z : Tensor
            Points to test (any shape).

        Returns
        -------
        Tensor
            Boolean tensor of the same shape; NaN is never valid.
        """
        ok = torch.isfinite(z)
        if math.isfinite(self.lower):
            ok = ok & ((z > self.lower) if self.lower_open else (z >= self.lower))
        if math.isfinite(self.upper):
            ok = ok & ((z < self.upper) if self.upper_open else (z <= self.upper))
        for point in self.excluded:
            ok = ok & (z != point)
        return ok

    def contains_interval(self, low: Tensor, high: Tensor) -> Tensor:
        """Boolean tensor, ``True`` where the closed interval ``[low, high]`` lies in the domain.

        Parameters
        ----------
        low, high : Tensor
            Interval ends (broadcastable, ``low <= high``).

        Returns
        -------
        Tensor
            Boolean tensor of the broadcast shape.
        """
        ok = self.valid(low) & self.valid(high)
        for point in self.excluded:
            ok = ok & ~((low <= point) & (point <= high))
        return ok

    def contains(self, value: float) -> bool:
        """Whether the scalar ``value`` lies in the domain."""
        return bool(self.valid(torch.tensor([float(value)], dtype=torch.float64))[0])

    def interior_point(self) -> float:
        """A point safely inside the domain (used as a stand-in outside it)."""
        if self.bounded:
            point = 0.5 * (self.lower + self.upper)
        elif math.isfinite(self.lower):
            point = self.lower + 1.0
        elif math.isfinite(self.upper):
            point = self.upper - 1.0
        else:
            point = 0.0
        while point in self.excluded or not self.contains(point):
            point = 0.5 * (point + (self.upper if math.isfinite(self.upper) else point + 2.0))
        return point


ALL = Domain()
POSITIVE = Domain(0.0, math.inf, lower_open=True)
NONNEGATIVE = Domain(0.0, math.inf, lower_open=False)
NONZERO = Domain(excluded=(0.0,))
CLOSED_UNIT = Domain(-1.0, 1.0, lower_open=False, upper_open=False)
OPEN_UNIT = Domain(-1.0, 1.0)
HALF_PERIOD = Domain(-math.pi / 2, math.pi / 2)


@dataclass(frozen=True)
class Primitive:
    """One symbolic building block ``f`` used as ``c * f(a * x + b) + d``.

    Parameters
    ----------
    name : str
        Unique name within a library (e.g. ``"sin"``, ``"x^2"``).
    torch_fn : callable
        Elementwise torch form. It must agree with ``sympy_fn`` on ``domain``, and should
        be finite (with finite gradient) everywhere.
    sympy_fn : callable
        Maps a SymPy expression ``z`` to the SymPy expression ``f(z)``.
    complexity : int
        Cost of using this primitive in a formula (``0`` for the zero function).
    domain : Domain
        Where ``f`` is defined.
    inner : {"affine", "shift", "scale", "none"}
        Which parts of the inner map ``a*x + b`` are identifiable: ``"affine"`` both;
        ``"shift"`` only ``b`` and the sign of ``a`` (``f(l*z)`` is affine in ``f(z)`` for
        ``l > 0``, e.g. powers, ``log``); ``"scale"`` only ``a`` (``f(z + t)`` is affine in
        ``f(z)``, e.g. ``exp``); ``"none"`` neither (``x`` and ``0``).
    sign_free : bool
        ``True`` when ``f(-z)`` is an affine function of ``f(z)`` (odd, even, sigmoid), so
        the sign of ``a`` is redundant.
    period : float or None
        The period of ``f`` if it is periodic (lets a fitter search ``b`` over one period).

    Raises
    ------
    ValueError
        If ``name`` is empty, ``complexity`` is negative or ``inner`` is unknown.
    TypeError
        If a form is not callable or ``domain`` is not a :class:`Domain`.
    """

    name: str
    torch_fn: Callable[[Tensor], Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    domain: Domain = ALL
    inner: Inner = "affine"
    sign_free: bool = False
    period: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Primitive name must be a non-empty string; got {self.name!r}")
        if not callable(self.torch_fn) or not callable(self.sympy_fn):
            raise TypeError(f"Primitive {self.name!r}: torch_fn and sympy_fn must be callable")
        if isinstance(self.complexity, bool) or not isinstance(self.complexity, int):
            raise TypeError(
                f"Primitive {self.name!r}: complexity must be an int; got {self.complexity!r}"
            )
        if self.complexity < 0:
            raise ValueError(
                f"Primitive {self.name!r}: complexity must be >= 0; got {self.complexity}"
            )
        if not isinstance(self.domain, Domain):
            raise TypeError(
                f"Primitive {self.name!r}: domain must be a Domain; got {type(self.domain)}"
            )
        if self.inner not in _INNER_CHOICES:
            raise ValueError(
                f"Primitive {self.name!r}: inner must be one of {_INNER_CHOICES}; "
                f"got {self.inner!r}"
            )
        if self.period is not None and not (math.isfinite(self.period) and self.period > 0):
            raise ValueError(
                f"Primitive {self.name!r}: period must be a positive finite float or None; "
                f"got {self.period!r}"
            )

    def __repr__(self) -> str:
        return f"Primitive({self.name!r}, complexity={self.complexity})"


class Library:
    """An immutable, ordered collection of primitives with unique names.

    Parameters
    ----------
    primitives : iterable of Primitive
        The members, in order.

    Raises
    ------
    TypeError
        If a member is not a :class:`Primitive`.
    ValueError
        If two members share a name or the library is empty.

    Examples
    --------
    >>> lib = DEFAULT_LIBRARY.subset(["x", "sin"])
    >>> lib.names
    ('x', 'sin')
    """

    __slots__ = ("_index", "_primitives")

    def __init__(self, primitives: Iterable[Primitive]) -> None:
        members = tuple(primitives)
        for p in members:
            if not isinstance(p, Primitive):
                raise TypeError(f"Library members must be Primitive; got {type(p).__name__}")
        if not members:
            raise ValueError("Library needs at least one primitive; got none")
        index: dict[str, Primitive] = {}
        for p in members:
            if p.name in index:
                raise ValueError(f"Library has two primitives named {p.name!r}")
            index[p.name] = p
        object.__setattr__(self, "_primitives", members)
        object.__setattr__(self, "_index", index)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Library is immutable; use with_primitive() or subset()")

    def __getitem__(self, name: str) -> Primitive:
        try:
            return self._index[name]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(name), list(self._index), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(
                f"Unknown primitive {name!r}.{hint} Known primitives: {', '.join(self.names)}"
            ) from None

    def __iter__(self) -> Iterator[Primitive]:
        return iter(self._primitives)

    def __len__(self) -> int:
        return len(self._primitives)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Library) and self._primitives == other._primitives

    def __hash__(self) -> int:
        return hash(self._primitives)

    def __repr__(self) -> str:
        return f"Library({list(self.names)})"

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the members, in order."""
        return tuple(p.name for p in self._primitives)

    def subset(self, names: Iterable[str]) -> Library:
        """A new library with only the named members, in the order given.

        Raises
        ------
        ValueError
            If a name is unknown (with a did-you-mean suggestion).
        """
        return Library(self[name] for name in names)

    def with_primitive(self, primitive: Primitive, *, replace: bool = False) -> Library:
        """A new library with ``primitive`` appended (or replacing a same-named member).

        Raises
        ------
        ValueError
            If the name is taken and ``replace`` is false.
        """
        if primitive.name in self._index and not replace:
            raise ValueError(
                f"Library already has a primitive named {primitive.name!r}; "
                "pass replace=True to swap it"
            )
        if primitive.name in self._index:
            return Library(primitive if p.name == primitive.name else p for p in self)
        return Library((*self._primitives, primitive))


def get_primitive(name: str, library: Library | None = None) -> Primitive:
    """Look up a primitive by name (in :data:`DEFAULT_LIBRARY` unless ``library`` is given).

    Raises
    ------
    ValueError
        If the name is unknown (with a did-you-mean suggestion).
    """
    return (DEFAULT_LIBRARY if library is None else library)[name]


# ---------------------------------------------------------------- guarded torch forms


def _tiny(z: Tensor) -> float:
    return float(torch.finfo(z.dtype).tiny) ** 0.2 if z.is_floating_point() else 1e-30


def _power(n: int) -> Callable[[Tensor], Tensor]:
    def fn(z: Tensor) -> Tensor:
        bound = (
            float(torch.finfo(z.dtype).max) ** (1.0 / (n + 1)) if z.is_floating_point() else 1e30
        )
        return torch.clamp(z, -bound, bound) ** n

    return fn


def _inverse_power(n: int) -> Callable[[Tensor], Tensor]:
    def fn(z: Tensor) -> Tensor:
        nonzero = z != 0
        magnitude = torch.clamp(torch.abs(z), min=_tiny(z))
        safe = torch.where(nonzero, torch.where(z > 0, magnitude, -magnitude), torch.ones_like(z))
        return torch.where(nonzero, safe ** (-n), torch.zeros_like(z))

    return fn


def _positive(fn: Callable[[Tensor], Tensor], at_zero: float | None) -> Callable[[Tensor], Tensor]:
    """Guard a function of ``z > 0``; ``at_zero`` is its continuous value at 0, if any."""

    def guarded(z: Tensor) -> Tensor:
        positive = z > 0
        safe = torch.where(positive, torch.clamp(z, min=_tiny(z)), torch.ones_like(z))
        outside = torch.zeros_like(z) if at_zero is None else torch.full_like(z, at_zero)
        return torch.where(positive, fn(safe), outside)

    return guarded


def _exp(z: Tensor) -> Tensor:
    top = math.log(float(torch.finfo(z.dtype).max)) - 1.0 if z.is_floating_point() else 700.0
    return torch.exp(torch.clamp(z, max=top))


def _unit(fn: Callable[[Tensor], Tensor], low: float, high: float) -> Callable[[Tensor], Tensor]:
    """Guard a function of ``|z| < 1``, extended by the constants ``low``/``high`` beyond."""

    def guarded(z: Tensor) -> Tensor:
        inside = torch.abs(z) < 1
        safe = torch.where(inside, z, torch.zeros_like(z))
        edge = torch.where(z > 0, torch.full_like(z, high), torch.full_like(z, low))
        return torch.where(inside, fn(safe), edge)

    return guarded


def _open_interval(fn: Callable[[Tensor], Tensor], half: float) -> Callable[[Tensor], Tensor]:
    def guarded(z: Tensor) -> Tensor:
        inside = torch.abs(z) < half
        zero = torch.zeros_like(z)
        return torch.where(inside, fn(torch.where(inside, z, zero)), zero)

    return guarded


def _gaussian(z: Tensor) -> Tensor:
    zc = torch.clamp(z, -40.0, 40.0)
    return torch.exp(-zc * zc)


def _zero(z: Tensor) -> Tensor:
    return 0 * torch.where(torch.isfinite(z), z, torch.zeros_like(z))


def _pow15(z: Tensor) -> Tensor:
    zc = torch.clamp(z, max=float(torch.finfo(z.dtype).max) ** 0.4)
    return zc * torch.sqrt(zc)


def _default_primitives() -> tuple[Primitive, ...]:
    s = sympy
    half = sympy.Rational(1, 2)
    prims = [
        Primitive("0", _zero, lambda z: s.Integer(0), 0, ALL, "none", True),
        Primitive("x", lambda z: z, lambda z: z, 1, ALL, "none", True),
    ]
    for n, cost in ((2, 2), (3, 3), (4, 3), (5, 4)):
        prims.append(Primitive(f"x^{n}", _power(n), lambda z, n=n: z**n, cost, ALL, "shift", True))
    for n, cost in ((1, 2), (2, 3), (3, 3)):
        name = "1/x" if n == 1 else f"1/x^{n}"
        prims.append(
            Primitive(
                name, _inverse_power(n), lambda z, n=n: z ** (-n), cost, NONZERO, "shift", True
            )
        )
    prims += [
        Primitive("sqrt", _positive(torch.sqrt, 0.0), s.sqrt, 2, NONNEGATIVE, "shift"),
        Primitive(
            "1/sqrt", _positive(torch.rsqrt, None), lambda z: 1 / s.sqrt(z), 3, POSITIVE, "shift"
        ),
        Primitive(
            "x^1.5",
            _positive(_pow15, 0.0),
            lambda z: z ** (3 * half),
            3,
            NONNEGATIVE,
            "shift",
        ),
        Primitive("exp", _exp, s.exp, 3, ALL, "scale"),
        Primitive("log", _positive(torch.log, None), s.log, 3, POSITIVE, "shift"),
        Primitive("sin", torch.sin, s.sin, 3, ALL, "affine", True, 2 * math.pi),
        Primitive("cos", torch.cos, s.cos, 3, ALL, "affine", True, 2 * math.pi),
        Primitive(
            "tan", _open_interval(torch.tan, math.pi / 2), s.tan, 4, HALF_PERIOD, "affine", True
        ),
        Primitive("tanh", torch.tanh, s.tanh, 4, ALL, "affine", True),
        Primitive(
            "arcsin",
            _unit(torch.asin, -math.pi / 2, math.pi / 2),
            s.asin,
            5,
            CLOSED_UNIT,
            "affine",
            True,
        ),
        Primitive(
            "arccos", _unit(torch.acos, math.pi, 0.0), s.acos, 5, CLOSED_UNIT, "affine", True
        ),
        Primitive("arctan", torch.atan, s.atan, 4, ALL, "affine", True),
        Primitive(
            "arctanh", _open_interval(torch.atanh, 1.0), s.atanh, 5, OPEN_UNIT, "affine", True
        ),
        Primitive("abs", torch.abs, s.Abs, 2, ALL, "shift", True),
        Primitive("gaussian", _gaussian, lambda z: s.exp(-(z**2)), 4, ALL, "affine", True),
        Primitive("sigmoid", torch.sigmoid, lambda z: 1 / (1 + s.exp(-z)), 4, ALL, "affine", True),
    ]
    return tuple(prims)


DEFAULT_LIBRARY: Library = Library(_default_primitives())
"""The default primitives: ``0, x, x^2..x^5, 1/x..1/x^3, sqrt, 1/sqrt, x^1.5, exp, log, sin,
cos, tan, tanh, arcsin, arccos, arctan, arctanh, abs, gaussian, sigmoid``."""
