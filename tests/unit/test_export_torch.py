"""A law as a torch module with trainable constants, and the Pareto front as LaTeX."""

from __future__ import annotations

import pytest
import sympy
import torch

from kandiscover.export_torch import FormulaModule
from kandiscover.latex_table import latex_table
from kandiscover.search import ParetoPoint

x, y = sympy.symbols("x y")


def test_constants_are_parameters_that_can_be_fine_tuned():
    module = FormulaModule(sympy.Float(1.0) * sympy.exp(sympy.Float(-0.2) * x) + y, ["x", "y"])
    assert module.constants.requires_grad and module.constants.numel() == 2
    X = torch.rand(200, 2, dtype=torch.float64) * 2
    target = 3.0 * torch.exp(-0.7 * X[:, 0]) + X[:, 1]
    module = module.double()
    opt = torch.optim.LBFGS(module.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((module(X) - target) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    values = sorted(float(f) for f in module.formula().atoms(sympy.Float))
    assert values == pytest.approx([-0.7, 3.0], abs=1e-4)


def test_a_module_refuses_unknown_names_and_functions():
    with pytest.raises(ValueError, match=r"uses \['y'\]"):
        FormulaModule(x + y, ["x"])
    with pytest.raises(ValueError, match="FormulaModule cannot translate"):
        FormulaModule(sympy.gamma(x), ["x"])
    with pytest.raises(ValueError, match="X must have shape"):
        FormulaModule(x, ["x"])(torch.zeros(3, 2))


def test_the_latex_table_marks_the_chosen_law():
    points = [
        ParetoPoint(sympy.Integer(3), 1, 2.0, 0.1, loss=4.0),
        ParetoPoint(sympy.Float(2.0) * x, 3, 1e-5, 1.0, loss=1e-10, score=2.3),
    ]
    text = latex_table(points, chosen=points[1].formula)
    assert r"\toprule" in text and r"$2 x$$^\dagger$" in text
    assert r"$1 \times 10^{-10}$" in text
    with pytest.raises(ValueError, match="empty"):
        latex_table([])
