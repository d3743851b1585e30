"""The Pareto front of a search as a LaTeX table (booktabs), ready for a paper."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .export import latex

__all__ = ["latex_table"]


def _number(value: float, precision: int) -> str:
    if not math.isfinite(value):
        return "--"
    text = f"{value:.{precision}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"${mantissa} \times 10^{{{int(exponent)}}}$"
    return text


def latex_table(
    points: Sequence[Any], precision: int = 3, chosen: Any = None, caption: str | None = None
) -> str:
    """A ``table`` of formulas with their complexity, held-out loss, RMSE and score.

    Parameters
    ----------
    points : sequence of ParetoPoint
        The front (``Result.pareto``), simplest first.
    precision : int
        Significant digits of numbers (in formulas and columns).
    chosen : ParetoPoint or sympy.Expr, optional
        The chosen law, marked with a dagger.
    caption : str, optional

    Returns
    -------
    str
        LaTeX that needs the ``booktabs`` package.

    Raises
    ------
    ValueError
        If ``points`` is empty or ``precision`` is not a positive int.
    """
    if not points:
        raise ValueError("latex_table needs at least one formula (points is empty)")
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise ValueError(f"precision must be a positive int, got {precision!r}")
    mark = getattr(chosen, "formula", chosen)
    lines = [
        r"\begin{table}[h]",
        r"\centering",
        r"\begin{tabular}{@{}clrrr@{}}",
        r"\toprule",
        r"Complexity & Equation & Loss & RMSE & Score \\",
        r"\midrule",
    ]
    for p in points:
        dagger = r"$^\dagger$" if mark is not None and p.formula == mark else ""
        lines.append(
            f"{p.complexity} & ${latex(p.formula, precision)}${dagger} & "
            f"{_number(p.loss, precision)} & {_number(p.rmse, precision)} & "
            f"{_number(p.score, precision)} \\\\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{caption}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
