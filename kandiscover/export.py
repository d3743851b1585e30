"""Formula export: LaTeX, SymPy strings, NumPy and torch callables, JSON.

The torch callable is built by walking the expression tree into torch operations (no
string evaluation), so it is differentiable and follows the dtype and device of its input.
JSON stores the formula as a SymPy string (floats at full double precision) and reads it
back with the safe parser :func:`kandiscover.symbolic.parse.parse_formula`.

Variable names are free-form: the NumPy and torch callables replace the variables by
generated symbols (``_kd_arg_0``, ...) before printing or walking the tree, and JSON
writes a stand-in identifier for a name that cannot stand for itself in a formula
string, so names such as ``pi``, ``exp``, ``lambda`` or ``a b`` work everywhere.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy
import torch
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter
from torch import Tensor

__all__ = ["from_json", "latex", "to_json", "to_numpy", "to_sympy_string", "to_torch"]

_FORMAT = "kandiscover.formula"
# names SymPy's string printer writes for constants; a variable may not look like them
_PRINTED_NAMES = frozenset({"I", "oo", "zoo", "nan", "E", "pi"})


class KanLatexPrinter(LatexPrinter):
    """LaTeX printer that rounds floats to ``precision`` significant digits.

    Symbol names follow SymPy's conventions: ``theta_1`` prints as ``\\theta_{1}``,
    ``x_12`` as ``x_{12}`` and ``m1`` as ``m_{1}``.
    """

    def __init__(self, precision: int = 4, **settings: Any) -> None:
        super().__init__(settings)
        self._precision = precision

    def _print_Float(self, expr: sympy.Float) -> str:
        text = f"{float(expr):.{self._precision}g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
        return text


def latex(expr: sympy.Expr, precision: int = 4) -> str:
    """LaTeX for ``expr`` with floats rounded to ``precision`` significant digits.

    Raises
    ------
    ValueError
        If ``precision`` is not a positive int.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> latex(sympy.Float(3.14159265) * x)
    '3.142 x'
    """
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise ValueError(f"precision must be a positive int; got {precision!r}")
    return KanLatexPrinter(precision).doprint(sympy.sympify(expr))


class _FullPrecisionPrinter(StrPrinter):
    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))


def to_sympy_string(expr: sympy.Expr) -> str:
    """A SymPy-syntax string of ``expr`` with floats at full double precision."""
    return _FullPrecisionPrinter().doprint(sympy.sympify(expr))


def _check_names(names: Sequence[str], what: str = "names") -> list[str]:
    """``names`` as a list of strings, or a ``ValueError`` naming what is wrong."""
    try:
        listed = None if isinstance(names, (str, bytes)) else list(names)
    except TypeError:
        listed = None
    if listed is None:
        raise ValueError(f"{what} must be a sequence of distinct strings; got {names!r}")
    names = listed
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValueError(f"{what} must be a sequence of distinct strings; {bad!r} are not strings")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"{what} must be a sequence of distinct strings; {repeated!r} appear more than once"
        )
    return names


def _arguments(n: int) -> list[sympy.Symbol]:
    """``n`` symbols whose names are identifiers no printer namespace holds. (Not
    ``sympy.Dummy``: lambdify renames each Dummy argument in turn, in quadratic time.)"""
    return [sympy.Symbol(f"_kd_arg_{i}") for i in range(n)]


def _check_free(expr: sympy.Expr, names: Sequence[str]) -> None:
    unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in set(names))
    if unknown:
        raise ValueError(f"expression uses {unknown} which are not in names={list(names)}")


def _by_name(expr: sympy.Expr, names: list[str], new: list[sympy.Symbol]) -> sympy.Expr:
    """``expr`` with each symbol named ``names[i]`` replaced by ``new[i]``.

    Callables are built from such a copy with generated symbols (:func:`_arguments`), so
    that no name a user chooses (``pi``, ``exp``, ``lambda``, ``a b``) can meet a name of
    the printer.
    """
    position = {n: i for i, n in enumerate(names)}
    return expr.xreplace({s: new[position[str(s)]] for s in expr.free_symbols})


def to_numpy(expr: sympy.Expr, names: Sequence[str]) -> Callable[..., np.ndarray]:
    """A NumPy function of ``X`` with shape ``(n, d)`` (columns in ``names`` order) or of
    keyword arrays ``f(x=..., y=...)``; returns shape ``(n,)``.

    Raises
    ------
    ValueError
        If ``expr`` uses a symbol not in ``names``, or (when called) the input does not
        match ``names``.
    """
    names = _check_names(names)
    expr = sympy.sympify(expr)
    _check_free(expr, names)
    symbols = _arguments(len(names))
    fn = sympy.lambdify(symbols, _by_name(expr, names, symbols), "numpy")

    def evaluate(X: np.ndarray | None = None, **columns: np.ndarray) -> np.ndarray:
        if X is not None:
            X = np.asarray(X, dtype=float)
            if X.ndim != 2 or X.shape[1] != len(symbols):
                raise ValueError(f"X must have shape (n, {len(symbols)}); got {X.shape}")
            args = list(X.T)
        else:
            if set(columns) != set(names):
                raise ValueError(
                    f"pass X or exactly the keywords {list(names)}; got {list(columns)}"
                )
            args = [np.asarray(columns[n], dtype=float) for n in names]
        shape = np.broadcast_shapes(*(a.shape for a in args)) if args else ()
        return np.broadcast_to(np.asarray(fn(*args), dtype=float), shape).copy()

    return evaluate


_TORCH_FUNCTIONS: dict[type, Callable[[Tensor], Tensor]] = {
    sympy.sin: torch.sin,
    sympy.cos: torch.cos,
    sympy.tan: torch.tan,
    sympy.exp: torch.exp,
    sympy.log: torch.log,
    sympy.tanh: torch.tanh,
    sympy.sinh: torch.sinh,
    sympy.cosh: torch.cosh,
    sympy.asin: torch.asin,
    sympy.acos: torch.acos,
    sympy.atan: torch.atan,
    sympy.asinh: torch.asinh,
    sympy.acosh: torch.acosh,
    sympy.atanh: torch.atanh,
    sympy.Abs: torch.abs,
    sympy.sign: torch.sign,
    sympy.erf: torch.erf,
}


def _torch_node(expr: sympy.Basic, index: dict[sympy.Symbol, int]) -> Callable[[Tensor], Tensor]:
    """Compile one node of the tree into a function of the input matrix ``X``."""
    if expr.is_Symbol:
        i = index[expr]
        return lambda X: X[:, i]
    if expr.is_number:
        value = complex(expr)
        if value.imag != 0:
            raise ValueError(f"to_torch supports real constants only; got {expr}")
        return lambda X: torch.full((X.shape[0],), value.real, dtype=X.dtype, device=X.device)
    args = [_torch_node(a, index) for a in expr.args]
    if isinstance(expr, sympy.Add):
        return lambda X: sum((f(X) for f in args[1:]), args[0](X))
    if isinstance(expr, sympy.Mul):
        return lambda X: _product([f(X) for f in args])
    if isinstance(expr, sympy.Pow):
        base, exponent = args
        if expr.exp.is_number:
            e = float(expr.exp)
            if e == 0.5:
                return lambda X: torch.sqrt(base(X))
            return lambda X: torch.pow(base(X), e)
        return lambda X: torch.pow(base(X), exponent(X))
    fn = torch_function(expr, "to_torch")
    (inner,) = args
    return lambda X: fn(inner(X))


def torch_function(expr: sympy.Basic, who: str) -> Callable[[Tensor], Tensor]:
    """The torch function of a one-argument SymPy function node (``sin`` -> ``torch.sin``).

    Raises
    ------
    ValueError
        Naming ``who`` and what is supported, for a function with no torch counterpart.
    """
    fn = _TORCH_FUNCTIONS.get(expr.func)
    if fn is None or len(expr.args) != 1:
        known = sorted(f.__name__ for f in _TORCH_FUNCTIONS)
        raise ValueError(
            f"{who} cannot translate {expr.func.__name__}; supported: Add, Mul, Pow, "
            f"numbers, symbols and {', '.join(known)}"
        )
    return fn


def _product(factors: list[Tensor]) -> Tensor:
    out = factors[0]
    for f in factors[1:]:
        out = out * f
    return out


def to_torch(expr: sympy.Expr, names: Sequence[str]) -> Callable[[Tensor], Tensor]:
    """A torch function of ``X`` with shape ``(n, d)`` (columns in ``names`` order).

    Built by walking the tree (no ``eval``); differentiable; dtype and device follow ``X``.

    Raises
    ------
    ValueError
        If ``expr`` uses a symbol not in ``names`` or a function with no torch
        counterpart, or (when called) ``X`` has the wrong shape.
    """
    names = _check_names(names)
    expr = sympy.sympify(expr)
    _check_free(expr, names)
    symbols = _arguments(len(names))
    index = {s: i for i, s in enumerate(symbols)}
    compiled = _torch_node(_by_name(expr, names, symbols), index)

    def evaluate(X: Tensor) -> Tensor:
        if X.ndim != 2 or X.shape[1] != len(symbols):
            raise ValueError(f"X must have shape (n, {len(symbols)}); got {tuple(X.shape)}")
        return compiled(X)

    return evaluate


def _plain(name: str) -> bool:
    """Whether ``name`` can stand for itself in a formula string that the safe parser
    reads back: an identifier, not a keyword, not starting with ``_`` (kept for the
    stand-ins below), and not a function or constant the parser or SymPy's printer knows."""
    from kandiscover.symbolic.parse import ALLOWED_CONSTANTS, ALLOWED_FUNCTIONS

    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in ALLOWED_FUNCTIONS
        and name not in ALLOWED_CONSTANTS
        and name not in _PRINTED_NAMES
    )


def to_json(expr: sympy.Expr, names: Sequence[str], **metadata: Any) -> str:
    """Serialise a formula, its variable names and JSON-compatible metadata.

    Any names round-trip. A name that cannot stand for itself in the formula string (not
    an identifier, such as ``"a b"``; a keyword; one of the parser's functions or
    constants, such as ``"exp"`` or ``"pi"``; or one starting with ``_``) is written as a
    stand-in ``_v<i>`` (``i`` its position in ``names``) and the record, then of version
    2, lists in ``"symbols"`` the identifier that stands for each variable. Records whose
    names are all plain are of version 1, as before.

    Raises
    ------
    ValueError
        If ``names`` are not distinct strings or ``expr`` uses a symbol not in ``names``.
    TypeError
        If the metadata cannot be written as JSON.
    """
    names = _check_names(names)
    expr = sympy.sympify(expr)
    _check_free(expr, names)
    stand_ins = [n if _plain(n) else f"_v{i}" for i, n in enumerate(names)]
    record: dict[str, Any] = {
        "format": _FORMAT,
        "version": 1 if stand_ins == names else 2,
        "formula": to_sympy_string(_by_name(expr, names, [sympy.Symbol(v) for v in stand_ins])),
        "variables": names,
    }
    if stand_ins != names:
        record["symbols"] = stand_ins
    record["metadata"] = metadata
    try:
        return json.dumps(record, allow_nan=True)
    except TypeError as err:
        raise TypeError(f"metadata must be JSON-serialisable: {err}") from None


def from_json(text: str) -> tuple[sympy.Expr, list[str], dict[str, Any]]:
    """Read what :func:`to_json` wrote; the formula goes through the safe parser.

    Nothing in the record is ever run: the formula is parsed by
    :func:`~kandiscover.symbolic.parse.parse_formula` with only the declared symbols, and
    variable names are only ever the names of SymPy symbols.

    Raises
    ------
    ValueError
        If the text is not such a record (wrong types of fields, repeated names, an
        unknown version) or the formula is rejected by the parser.
    """
    from kandiscover.symbolic.parse import parse_formula

    if not isinstance(text, (str, bytes, bytearray)):
        raise ValueError(f"from_json: expected a JSON string, got {type(text).__name__}")
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"from_json: not valid JSON ({err})") from None
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise ValueError(f"from_json: not a {_FORMAT!r} record")
    version = record.get("version")
    if version not in (1, 2) or isinstance(version, bool):
        raise ValueError(f"from_json: unsupported version {version!r}")
    names = _check_names(_field(record, "variables", list), "from_json: variables")
    symbols = names
    if version == 2:
        symbols = _check_names(_field(record, "symbols", list), "from_json: symbols")
        if len(symbols) != len(names):
            raise ValueError("from_json: 'symbols' and 'variables' differ in length")
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"from_json: 'metadata' must be an object, got {type(metadata).__name__}")
    expr = parse_formula(_field(record, "formula", str), variables=symbols)
    return _by_name(expr, symbols, [sympy.Symbol(n) for n in names]), names, dict(metadata)


def _field(record: dict[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    if not isinstance(value, kind):
        raise ValueError(
            f"from_json: {key!r} must be a {kind.__name__}, got {type(value).__name__}"
        )
    return value
