"""A formula as a torch module whose float constants are trainable parameters.

:class:`FormulaModule` compiles a SymPy formula into torch operations (no string
evaluation); every ``Float`` of the formula is one entry of ``module.constants``, an
``nn.Parameter``, so a law can be fine-tuned by gradient descent (on new data, or inside
a larger model such as a physics-informed loss) and read back with
:meth:`FormulaModule.formula`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy
import torch
from torch import Tensor, nn

from .export import torch_function
from .search.template import _parametrised

__all__ = ["FormulaModule"]

Node = Callable[[Tensor, Tensor], Tensor]  # (X, constants) -> values


class FormulaModule(nn.Module):
    """A formula of the input columns, with its float constants as parameters (each
    occurrence of a float its own, in preorder).

    Parameters
    ----------
    expr : sympy.Expr
        The formula.
    names : sequence of str
        The variables, in the column order of the input.
    dtype : torch.dtype, optional
        Of the constants (default: torch's default dtype).

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> module = FormulaModule(sympy.Float(2.5) * x**2, ["x"])
    >>> module(torch.tensor([[2.0]])).tolist()
    [10.0]
    >>> module.constants
    Parameter containing:
    tensor([2.5000], requires_grad=True)
    """

    def __init__(
        self, expr: sympy.Expr, names: Sequence[str], dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        if isinstance(names, str) or len(set(names)) != len(names):
            raise ValueError(f"names must be a sequence of distinct strings, got {names!r}")
        expr = sympy.sympify(expr)
        index = {sympy.Symbol(n): i for i, n in enumerate(names)}
        unknown = sorted(str(s) for s in expr.free_symbols if s not in index)
        if unknown:
            raise ValueError(f"the formula uses {unknown}, which are not in names={list(names)}")
        self.expr = expr
        self.names = tuple(names)
        values: list[float] = []
        params: list[sympy.Dummy] = []
        self._body = _parametrised(expr, values, params)  # every float occurrence its own
        self._params = tuple(params)
        self.constants = nn.Parameter(torch.tensor(values, dtype=dtype))
        slot = {p: k for k, p in enumerate(params)}
        self._compiled = _compile(self._body, index, slot)

    def forward(self, X: Tensor) -> Tensor:
        """Values of the formula on the rows of ``X`` (shape ``(n, len(names))``)."""
        if X.ndim != 2 or X.shape[1] != len(self.names):
            raise ValueError(f"X must have shape (n, {len(self.names)}); got {tuple(X.shape)}")
        out = self._compiled(X, self.constants.to(X.dtype))
        return out.expand(X.shape[0]) if out.ndim == 0 else out

    def formula(self) -> sympy.Expr:
        """The formula with the current values of the constants."""
        values = self.constants.detach().cpu().tolist()
        return self._body.xreplace({p: sympy.Float(v) for p, v in zip(self._params, values)})

    def extra_repr(self) -> str:
        return f"{self.expr}"


def _compile(expr: sympy.Basic, index: dict, slot: dict) -> Node:
    if expr.is_Symbol and expr in index:
        i = index[expr]
        return lambda X, c: X[:, i]
    if expr in slot:
        k = slot[expr]
        return lambda X, c: c[k]
    if expr.is_number:
        value = complex(expr)
        if value.imag != 0:
            raise ValueError(f"FormulaModule supports real constants only; got {expr}")
        return lambda X, c: torch.tensor(value.real, dtype=X.dtype, device=X.device)
    args = [_compile(a, index, slot) for a in expr.args]
    if isinstance(expr, sympy.Add):
        return lambda X, c: sum((f(X, c) for f in args[1:]), args[0](X, c))
    if isinstance(expr, sympy.Mul):

        def product(X: Tensor, c: Tensor) -> Tensor:
            out = args[0](X, c)
            for f in args[1:]:
                out = out * f(X, c)
            return out

        return product
    if isinstance(expr, sympy.Pow):
        base, exponent = args
        return lambda X, c: torch.pow(base(X, c), exponent(X, c))
    fn = torch_function(expr, "FormulaModule")
    (inner,) = args
    return lambda X, c: fn(inner(X, c))
