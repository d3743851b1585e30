"""Building a SymPy expression from checked formula tokens, within fixed bounds.

:func:`kandiscover.symbolic.parse.parse_formula` checks every token; :class:`Parser`
turns them into SymPy objects by recursive descent, with Python's precedence and
associativity, without ``eval``. A sum or a product is built in one SymPy call (not one
call per operator, which costs quadratic time on long sums).

SymPy evaluates as it builds: ``2**2**2**2**2**2`` computes a 65536-bit integer and then
tries to raise 2 to it; ``sin(exp(10**60))`` would need ``exp(10**60)`` to 10**60 digits.
So before each node is built its operands are checked:

* nesting of brackets, signs, powers and calls is at most ``MAX_DEPTH`` levels, with at
  most ``MAX_UNARY`` signs in a row;
* number literals have at most ``MAX_DIGITS`` digits and a decimal exponent of at most
  ``MAX_FLOAT_EXPONENT``;
* a power whose base holds a number has a numeric exponent of at most ``MAX_EXPONENT``
  (numerator and denominator; numerators only for numbers inside a symbolic exponent),
  an exact result of at most ``MAX_BITS`` bits, and a root of at most ``MAX_ROOT_BITS``
  bits (SymPy factors what is under a root; a product merges the roots of its factors,
  so their bits add up);
* an integer power of anything but a number is at most ``MAX_INTEGER_POWER`` (SymPy
  expands integer powers of sums into polynomials when it takes absolute values), also
  where SymPy merges powers (``(x**60)**2``);
* every constant part of the formula (no free symbols), estimated in complex floating
  point as the expression is built, is zero or a finite non-zero float64 (so neither
  overflows nor underflows), and so is every floating-point number in it;

These checks give clear messages for the usual attacks; SymPy can still be slow on
inputs that pass them (``0*sinh((a+b+c+d)**8)`` takes seconds of assumption queries),
so :func:`~kandiscover.symbolic.parse.parse_formula` also runs the parser under a
deadline (:mod:`._deadline`).
"""

from __future__ import annotations

import cmath
import math
import re
import time
import tokenize
from collections.abc import Callable, Iterator

import sympy

__all__ = ["MAX_DEPTH", "Parser", "show"]

MAX_DEPTH = 50
MAX_UNARY = 8
MAX_DIGITS = 100
MAX_FLOAT_EXPONENT = 400
MAX_EXPONENT = 1_000
MAX_INTEGER_POWER = 64
MAX_BITS = 10_000
MAX_ROOT_BITS = 2_000

_INTEGER = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"([0-9]*)\.?([0-9]*)(?:[eE]([+-]?[0-9]+))?")
# what SymPy raises while evaluating, e.g. for arguments a function does not take
_EVAL_ERRORS = (
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
    NotImplementedError,
    RecursionError,
)
_CMATH: dict[type, Callable[[complex], complex]] = {
    sympy.exp: cmath.exp,
    sympy.log: cmath.log,
    sympy.sin: cmath.sin,
    sympy.cos: cmath.cos,
    sympy.tan: cmath.tan,
    sympy.asin: cmath.asin,
    sympy.acos: cmath.acos,
    sympy.atan: cmath.atan,
    sympy.sinh: cmath.sinh,
    sympy.cosh: cmath.cosh,
    sympy.tanh: cmath.tanh,
    sympy.asinh: cmath.asinh,
    sympy.acosh: cmath.acosh,
    sympy.atanh: cmath.atanh,
    sympy.Abs: lambda z: complex(abs(z)),
    sympy.sign: lambda z: z / abs(z) if z else 0j,
}


def show(text: str) -> str:
    """``repr(text)``, shortened for messages."""
    return repr(text) if len(text) <= 80 else repr(text[:60]) + f"... ({len(text)} characters)"


class Parser:
    """Recursive descent over checked tokens.

    ::

        expr   := term (("+" | "-") term)*
        term   := factor (("*" | "/") factor)*
        factor := ("+" | "-") factor | power
        power  := atom ["**" factor]
        atom   := NUMBER | NAME | NAME "(" [expr ("," expr)* [","]] ")" | "(" expr ")"

    Parameters
    ----------
    tokens : list of tokenize.TokenInfo
        The significant tokens, already checked.
    text : str
        The formula (for messages).
    names : dict
        What each name stands for: a SymPy object or a function.
    seconds : float
        Time allowed; checked before each node is accepted.
    """

    def __init__(
        self,
        tokens: list[tokenize.TokenInfo],
        text: str,
        names: dict[str, object],
        seconds: float = math.inf,
    ):
        self.tokens, self.text, self.names = tokens, text, names
        self.seconds, self.deadline = seconds, time.perf_counter() + seconds
        self.pos, self.depth = 0, 0
        self.estimates: dict[sympy.Basic, complex | None] = {}
        self.seen: set[sympy.Basic] = set()

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"cannot parse formula {show(self.text)}: {problem}")

    def refuse(self, problem: str) -> ValueError:
        return ValueError(f"formula {show(self.text)} {problem}")

    def peek(self) -> str:
        return self.tokens[self.pos].string if self.pos < len(self.tokens) else ""

    def take(self) -> tokenize.TokenInfo:
        if self.pos >= len(self.tokens):
            raise self.fail("it ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, value: str) -> None:
        got = self.take().string
        if got != value:
            raise self.fail(f"expected {value!r}, got {got!r}")

    def nest(self, step: int) -> None:
        self.depth += step
        if self.depth > MAX_DEPTH:
            raise self.refuse(
                f"nests more than {MAX_DEPTH} levels of brackets, signs, powers and calls"
            )

    def build(self, make: Callable[..., object], *args: object) -> sympy.Basic:
        """``make(*args)``, its errors as ``ValueError``, its constant value checked."""
        try:
            node = make(*args)
        except _EVAL_ERRORS as err:
            raise self.fail(f"{type(err).__name__}: {err}") from err
        if not isinstance(node, sympy.Basic):
            raise self.fail(f"{make!r} returned {type(node).__name__}, not a SymPy expression")
        return self.check(node)

    def check(self, node: sympy.Basic) -> sympy.Basic:
        """``node``, unless it is constant and not finite within float64's range, holds an
        integer power beyond the limit (SymPy merges powers), or time is up."""
        if time.perf_counter() > self.deadline:
            raise self.refuse(f"takes more than {self.seconds} s to evaluate")
        for n in _unseen(node, self.seen):
            if n.is_Float and n != 0 and not 0 < abs(float(n)) < math.inf:
                raise self.refuse("holds a number beyond float64's range")
            if n.is_Rational and _bits(n) > MAX_BITS:
                raise self.refuse(f"holds a number of more than {MAX_BITS} bits")
            power = n.is_Pow and n.exp.is_Integer and not n.base.is_Number
            if power and abs(n.exp) > MAX_INTEGER_POWER:
                raise self.refuse(
                    f"holds a power {_short(n.exp)} of an expression; integer powers of "
                    f"expressions are limited to ±{MAX_INTEGER_POWER}"
                )
        if not node.free_symbols:
            value = _estimate(node, self.estimates)
            zero = node.is_Number and node == 0
            if value is not None and not (cmath.isfinite(value) and (value or zero)):
                raise self.refuse(
                    "has a constant part that is not a finite number within float64's range "
                    "(an overflow, an underflow or a division by zero)"
                )
        return node

    # ----------------------------------------------------------------- grammar
    def parse(self) -> sympy.Basic:
        expr = self.expr()
        if self.peek() == ",":
            raise self.refuse("is not a single expression (got a tuple)")
        if self.pos < len(self.tokens):
            raise self.fail(f"unexpected {self.peek()!r}")
        return expr

    def expr(self) -> sympy.Basic:
        terms = [self.term()]
        while self.peek() in ("+", "-"):
            sign = self.take().string
            term = self.term()
            terms.append(term if sign == "+" else self.build(lambda t: -t, term))
        return terms[0] if len(terms) == 1 else self.build(sympy.Add, *terms)

    def term(self) -> sympy.Basic:
        factors = [self.factor()]
        while self.peek() in ("*", "/"):
            op = self.take().string
            factor = self.factor()
            if op == "/":
                factor = self.build(sympy.Pow, factor, sympy.S.NegativeOne)
            factors.append(factor)
        if len(factors) == 1:
            return factors[0]
        if sum(_root_bits(f) for f in factors) > MAX_ROOT_BITS:
            raise self.refuse(f"multiplies roots of integers of more than {MAX_ROOT_BITS} bits")
        return self.build(sympy.Mul, *factors)

    def factor(self) -> sympy.Basic:
        if self.peek() not in ("+", "-"):
            return self.power()
        signs = []
        while self.peek() in ("+", "-"):
            signs.append(self.take().string)
            if len(signs) > MAX_UNARY:
                raise self.refuse(f"has more than {MAX_UNARY} signs in a row")
        self.nest(len(signs))
        value = self.power()
        self.depth -= len(signs)
        if signs.count("-") % 2:
            value = self.build(lambda v: -v, value)
        return value

    def power(self) -> sympy.Basic:
        base = self.atom()
        if self.peek() != "**":
            return base
        self.take()
        self.nest(1)
        exponent = self.factor()
        self.depth -= 1
        return self.pow(base, exponent)

    def atom(self) -> sympy.Basic:
        tok = self.take()
        if tok.type == tokenize.NUMBER:
            return self.check(self.number(tok.string))
        if tok.type == tokenize.NAME:
            if self.peek() == "(":
                return self.call(tok.string)
            value = self.names[tok.string]
            if not isinstance(value, sympy.Basic):
                raise self.fail(f"{tok.string!r} is a function; call it, e.g. {tok.string}(x)")
            return value
        if tok.string == "(":
            self.nest(1)
            value = self.expr()
            self.expect(")")
            self.depth -= 1
            return value
        raise self.fail(f"unexpected {tok.string!r}")

    def call(self, name: str) -> sympy.Basic:
        self.expect("(")
        self.nest(1)
        args = []
        while self.peek() != ")":
            args.append(self.expr())
            if self.peek() != ",":
                break
            self.take()
        self.expect(")")
        self.depth -= 1
        function = self.names[name]
        if function is sympy.sqrt and len(args) == 1:
            return self.pow(args[0], sympy.S.Half)
        return self.build(function, *args)

    # ----------------------------------------------------------- the guards
    def number(self, text: str) -> sympy.Number:
        """``Integer`` or ``Float`` of a decimal literal, within the size limits."""
        clean = text.replace("_", "")
        is_integer = _INTEGER.fullmatch(clean) is not None
        match = None if is_integer else _FLOAT.fullmatch(clean)
        if match is None and not is_integer:
            raise self.refuse(f"has the number {text!r}, which is not a decimal literal")
        digits = clean if match is None else match.group(1) + match.group(2)
        exponent = "0" if match is None else (match.group(3) or "0")
        if len(digits.lstrip("0")) > MAX_DIGITS:
            raise self.refuse(f"has a number of more than {MAX_DIGITS} digits")
        if len(exponent) > 6 or abs(int(exponent)) > MAX_FLOAT_EXPONENT:
            raise self.refuse(
                f"has the number {text[:30]!r}, whose decimal exponent is beyond "
                f"±{MAX_FLOAT_EXPONENT}"
            )
        return sympy.Integer(clean) if is_integer else sympy.Float(clean)

    def pow(self, base: sympy.Basic, exponent: sympy.Basic) -> sympy.Basic:
        """``base**exponent``, refused where SymPy would compute a huge exact number."""
        numeric_base = bool(base.atoms(sympy.Number, sympy.NumberSymbol))
        if isinstance(exponent, sympy.Number) and exponent.is_finite:
            self.number_exponent(base, exponent, numeric_base)
        elif numeric_base:
            big = [n for n in exponent.atoms(sympy.Number) if _numerator(n) > MAX_EXPONENT]
            if big:
                raise self.refuse(
                    f"raises a number to a power holding {_short(big[0])}; numbers in the "
                    f"exponent of a number are limited to ±{MAX_EXPONENT}"
                )
        return self.build(sympy.Pow, base, exponent)

    def number_exponent(self, base: sympy.Basic, exponent: sympy.Number, numeric: bool) -> None:
        if exponent.is_Integer and abs(exponent) > MAX_INTEGER_POWER and not base.is_Number:
            raise self.refuse(
                f"raises an expression to the power {_short(exponent)}; integer powers of "
                f"expressions are limited to ±{MAX_INTEGER_POWER}"
            )
        if not numeric:
            return
        size = _size(exponent)
        if size > MAX_EXPONENT:
            raise self.refuse(
                f"raises a number to the power {_short(exponent)}; exponents of numbers are "
                f"limited to ±{MAX_EXPONENT} (numerator and denominator)"
            )
        bits = max((_bits(n) for n in base.atoms(sympy.Rational)), default=0)
        if bits * size > MAX_BITS:
            raise self.refuse(f"has a power whose exact value would have more than {MAX_BITS} bits")
        under = _bits(base) if base.is_Rational else _root_bits(base)
        if exponent.is_Rational and exponent.q > 1 and under > MAX_ROOT_BITS:
            raise self.refuse(f"takes a root of an integer of more than {MAX_ROOT_BITS} bits")


def _estimate(node: sympy.Basic, memo: dict[sympy.Basic, complex | None]) -> complex | None:
    """The value of a constant expression in complex floating point (``inf`` where it
    overflows), or ``None`` for a function it does not know."""
    if node in memo:
        return memo[node]
    value: complex | None
    try:
        if not node.args:  # a number, pi, E, I; zoo and nan do not convert
            value = complex(node)
        else:
            args = [_estimate(a, memo) for a in node.args]
            value = None if any(a is None for a in args) else _combine(node, args)
    except (OverflowError, ZeroDivisionError, ValueError, TypeError):
        value = complex(math.inf)
    memo[node] = value
    return value


def _combine(node: sympy.Basic, args: list[complex]) -> complex | None:
    if node.is_Add:
        return sum(args, 0j)
    if node.is_Mul:
        return math.prod(args, start=1 + 0j)
    if node.is_Pow:
        return args[0] ** args[1]
    fn = _CMATH.get(node.func)
    if fn is not None and len(args) == 1:
        return fn(args[0])
    if node.func is sympy.erf and len(args) == 1 and args[0].imag == 0:
        return complex(math.erf(args[0].real))
    return None


def _unseen(node: sympy.Basic, seen: set[sympy.Basic]) -> Iterator[sympy.Basic]:
    """The nodes of ``node`` not in ``seen`` (adding them), without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            yield n
            stack.extend(n.args)


def _numerator(n: sympy.Number) -> float:
    return abs(n.p) if n.is_Rational else _size(n)


def _size(n: sympy.Number) -> float:
    if n.is_Rational:
        return max(abs(n.p), n.q)
    return abs(float(n)) if n.is_finite else math.inf


def _root_bits(expr: sympy.Basic) -> int:
    """Bits of the rationals under the non-integer powers (roots) in ``expr``."""
    return sum(
        _bits(p.base)
        for p in expr.atoms(sympy.Pow)
        if p.base.is_Rational and p.exp.is_Rational and not p.exp.is_Integer
    )


def _bits(n: sympy.Rational) -> int:
    return max(abs(int(n.p)).bit_length(), int(n.q).bit_length())


def _short(value: sympy.Number) -> str:
    if isinstance(value, sympy.Rational) and _bits(value) > 200:
        return "(a number with more than 60 digits)"
    return str(value)
