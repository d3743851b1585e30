"""Safe parsing of formula strings into SymPy expressions.

``sympy.sympify`` and ``parse_expr`` both end in Python's ``eval``; a string that reaches
them unchecked can run arbitrary code. :func:`parse_formula` never calls either. It
tokenizes the text with Python's own tokenizer and accepts only numbers, arithmetic
operators, parentheses, commas and names that are either whitelisted SymPy
functions/constants or declared variables; then a small recursive-descent parser builds
the expression from those tokens (sums and products in one SymPy call each).

Untrusted text cannot make the parser run for long or use much memory: the text is at
most ``MAX_LENGTH`` characters and ``MAX_TOKENS`` tokens, :mod:`._build` bounds
nesting, literals, powers and constants before SymPy evaluates anything (see there), and
the whole evaluation has a deadline of ``MAX_SECONDS`` (wall clock) after which the
formula is refused.
"""

from __future__ import annotations

import difflib
import io
import keyword
import tokenize
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType

import sympy

from ._build import MAX_DEPTH, Parser, show
from ._deadline import DeadlineExceeded, with_deadline

__all__ = ["ALLOWED_CONSTANTS", "ALLOWED_FUNCTIONS", "parse_formula"]

MAX_LENGTH = 10_000
MAX_TOKENS = 5_000
MAX_SECONDS = 1.0

#: Functions a formula may call, by the names a formula may use (NumPy-style aliases too).
ALLOWED_FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType(
    {
        "exp": sympy.exp,
        "log": sympy.log,
        "ln": sympy.log,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "asin": sympy.asin,
        "acos": sympy.acos,
        "atan": sympy.atan,
        "arcsin": sympy.asin,
        "arccos": sympy.acos,
        "arctan": sympy.atan,
        "sinh": sympy.sinh,
        "cosh": sympy.cosh,
        "tanh": sympy.tanh,
        "asinh": sympy.asinh,
        "acosh": sympy.acosh,
        "atanh": sympy.atanh,
        "arcsinh": sympy.asinh,
        "arccosh": sympy.acosh,
        "arctanh": sympy.atanh,
        "Abs": sympy.Abs,
        "abs": sympy.Abs,
        "sign": sympy.sign,
        "erf": sympy.erf,
    }
)

#: Named constants a formula may use; a declared variable of the same name takes precedence.
ALLOWED_CONSTANTS: Mapping[str, sympy.Expr] = MappingProxyType({"pi": sympy.pi, "E": sympy.E})

_ALLOWED_OPS = frozenset({"+", "-", "*", "/", "**", "(", ")", ","})
_SKIPPED_TOKENS = frozenset(
    {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
)


def _check_name(name: str, what: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a plain, non-dunder, non-keyword identifier."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{what} {name!r} is not a valid identifier")
    if name.startswith("__"):
        raise ValueError(f"{what} {name!r} is not allowed: names starting with '__' are rejected")


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    """Tokenize ``text``, turning tokenizer failures into ``ValueError``."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(text).readline)
    except (tokenize.TokenError, SyntaxError) as err:
        raise ValueError(
            f"cannot parse formula {show(text)}: unbalanced brackets or bad syntax"
        ) from err


def _unknown(name: str, allowed: set[str], text: str, what: str = "name") -> ValueError:
    close = difflib.get_close_matches(name, sorted(allowed), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(
        f"unknown {what} {name!r} in formula {show(text)} (allowed: declared variables, "
        f"whitelisted functions and the constants pi, E){hint}"
    )


def _scan(
    text: str, allowed: set[str] | None, callables: set[str]
) -> tuple[set[str], list[tokenize.TokenInfo]]:
    """Validate every token of ``text``; return the identifiers it uses and the tokens.

    ``allowed=None`` accepts any plain identifier (it will become a Symbol); a name
    followed by ``(`` must be one of ``callables``.
    """
    names: set[str] = set()
    kept: list[tokenize.TokenInfo] = []
    previous, depth = "", 0
    for tok in _tokens(text):
        kind, value = tok.type, tok.string
        if kind in _SKIPPED_TOKENS or (kind == tokenize.ERRORTOKEN and value.isspace()):
            continue
        if value == "(" and previous and previous not in callables:
            raise _unknown(previous, callables, text, what="function")
        previous = value if kind == tokenize.NAME else ""
        depth += (value == "(") - (value == ")")
        if depth > MAX_DEPTH:
            raise ValueError(f"formula {show(text)} nests more than {MAX_DEPTH} brackets")
        kept.append(tok)
        if len(kept) > MAX_TOKENS:
            raise ValueError(f"formula {show(text)} has more than {MAX_TOKENS} tokens")
        _check_token(tok, text, allowed, names)
    return names, kept


def _check_token(tok: tokenize.TokenInfo, text: str, allowed: set[str] | None, names: set[str]):
    kind, value = tok.type, tok.string
    if kind == tokenize.NUMBER:
        if value[-1] in "jJ":
            raise ValueError(f"imaginary literal {value!r} is not allowed in formula {show(text)}")
        return
    if kind == tokenize.NAME:
        _check_name(value, "name")
        if allowed is not None and value not in allowed:
            raise _unknown(value, allowed, text)
        names.add(value)
        return
    if kind == tokenize.OP and value in _ALLOWED_OPS:
        return
    if value == ".":
        raise ValueError(f"attribute access ('.') is not allowed in formula {show(text)}")
    if value == "^":
        raise ValueError(f"token '^' is not allowed in formula {show(text)}; write powers as '**'")
    raise ValueError(f"token {value!r} is not allowed in formula {show(text)}")


def parse_formula(
    text: str,
    variables: Sequence[str] | None = None,
    functions: Mapping[str, Callable[..., sympy.Expr]] | None = None,
) -> sympy.Expr:
    """Parse a formula string into a SymPy expression without running arbitrary code.

    Parameters
    ----------
    text : str
        The formula, in Python/SymPy syntax, e.g. ``"G*m1*m2/r**2"``. Powers are ``**``.
    variables : sequence of str, optional
        The names the formula may use as variables; each becomes ``sympy.Symbol(name)``.
        Any other name that is not a whitelisted function or constant is rejected. With
        ``None`` every plain identifier that is not a function or constant becomes a Symbol.
    functions : mapping of str to callable, optional
        Extra functions the formula may call, e.g. ``{"Heaviside": sympy.Heaviside}``.

    Returns
    -------
    sympy.Expr
        The parsed (and SymPy-evaluated) expression.

    Raises
    ------
    ValueError
        If the text is empty, too long, not a single expression, or contains a token that
        is not a number, one of ``+ - * / ** ( ) ,``, a declared variable or a whitelisted
        function/constant; the message names the offending token.
    TypeError
        If ``text`` is not a string.

    Examples
    --------
    >>> parse_formula("m*c**2", variables=["m", "c"])
    c**2*m
    >>> parse_formula("arcsin(n*sin(theta2))")
    asin(n*sin(theta2))
    """
    if not isinstance(text, str):
        raise TypeError(f"formula must be a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("formula is empty")
    if len(stripped) > MAX_LENGTH:
        raise ValueError(f"formula is too long ({len(stripped)} > {MAX_LENGTH} characters)")
    if "\n" in stripped or "\r" in stripped:
        raise ValueError(f"formula must be a single line, got {text!r}")
    namespace: dict[str, object] = {**ALLOWED_CONSTANTS, **ALLOWED_FUNCTIONS}
    for name, func in (functions or {}).items():
        _check_name(name, "function name")
        namespace[name] = func
    callables = {k for k, v in namespace.items() if callable(v) and k not in ALLOWED_CONSTANTS}
    if variables is None:
        used, tokens = _scan(stripped, None, callables)
        symbols = {n: sympy.Symbol(n) for n in used if n not in namespace}
    else:
        for name in variables:
            _check_name(str(name), "variable name")
        symbols = {str(n): sympy.Symbol(str(n)) for n in variables}
        _, tokens = _scan(stripped, set(namespace) | set(symbols), callables - set(symbols))
    parser = Parser(tokens, stripped, {**namespace, **symbols}, MAX_SECONDS)
    try:  # the parser checks the clock between SymPy calls; this stops one long call
        expr = with_deadline(parser.parse, MAX_SECONDS + 0.25)
    except DeadlineExceeded:
        raise ValueError(
            f"formula {show(text)} takes more than {MAX_SECONDS} s to evaluate"
        ) from None
    if not isinstance(expr, sympy.Expr):
        raise ValueError(
            f"formula {show(text)} is not a single expression (got {type(expr).__name__})"
        )
    return expr
