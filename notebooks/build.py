"""Write the tutorial notebooks (without outputs) from the cell sources below.

Run ``python notebooks/build.py`` after editing a tutorial here; never edit the
``.ipynb`` files by hand. Every notebook reads ``KANDISCOVER_QUICK=1`` from the
environment to run at a small size (the test suite does that).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


class Md(str):
    """The text of a markdown cell (plain strings are code cells)."""


SETUP = """\
%matplotlib inline
import os

import numpy as np
import sympy
import torch
from IPython.display import Math, display

import kandiscover as kd
from kandiscover import plot

QUICK = os.environ.get("KANDISCOVER_QUICK") == "1"  # small settings for the test suite
"""

QUICKSTART = [
    Md(
        "# Quickstart: a KAN on two moons\n\n"
        "A Kolmogorov–Arnold network puts a learnable function on every edge. With one layer, "
        "`width=[2, 1]`, the network is `f(x, y) = phi_1(x) + phi_2(y) + b`: two curves we can "
        "look at and replace by formulas."
    ),
    SETUP
    + """from sklearn.datasets import make_moons

X_train, y_train = make_moons(n_samples=1000, noise=0.1, random_state=0)
X_test, y_test = make_moons(n_samples=1000, noise=0.1, random_state=1)
y_train = y_train.astype(float)""",
    Md(
        "We regress the labels (0 or 1) with the mean squared error; 0.5 is the decision "
        "threshold. Twenty L-BFGS steps on a grid of 3 intervals with cubic splines."
    ),
    """model = kd.KAN([2, 1], grid=3, k=3, seed=0, dtype=torch.float64)
history = kd.fit(model, X_train, y_train, steps=20)


def accuracy(model, X, y):
    with torch.no_grad():
        score = model(torch.as_tensor(X, dtype=torch.float64))[:, 0].numpy()
    return float(np.mean((score > 0.5) == y))


acc = accuracy(model, X_test, y_test)
print(f"train loss {history.train_loss[-1]:.4f}, test accuracy {acc:.4f}")
assert acc >= 0.99""",
    Md("Each edge is a curve over the range its input takes on the data:"),
    """plot.plot_network(model, X_train, names=["x", "y"], output_names=["score"])""",
    Md(
        "Snap every edge to its best primitive `c * f(a * x + b) + d`, refit the constants of "
        "the snapped network, and read the decision function as a formula."
    ),
    """choices = kd.snap(model, X_train)
for ch in choices:
    c = ch.chosen
    print(f"edge from input {ch.inp}: {c.primitive:8s} R^2 of the fit {c.r2:.4f}")
kd.fit(model, X_train, y_train, steps=20, grid_updates=None)
acc = accuracy(model, X_test, y_test)
print(f"snapped test accuracy {acc:.4f}")
assert acc >= 0.99
decision = kd.formula(model, ["x", "y"], digits=3)
display(Math(kd.latex(decision) + r" > 0.5"))""",
    """plot.plot_network(model, X_train, names=["x", "y"], output_names=["score"])""",
]

FEYNMAN = [
    Md(
        "# Discovering a law from the Feynman catalogue\n\n"
        "We sample equation II.3.24 of the AI Feynman catalogue, the flux of a point source, "
        "`flux = Pwr / (4 pi r^2)`, and let `kd.discover` find it from the numbers alone."
    ),
    SETUP
    + """eq = kd.get_equation("II.3.24")
data = kd.sample_equation(eq, n=400 if QUICK else 1000, seed=0)
print(eq.formula, data.names, data.X_train.shape)""",
    Md(
        "## The search\n\n`discover` tries views of the data (raw and log), a few "
        "architectures, prunes, snaps, refits the constants and keeps the Pareto front."
    ),
    """config = kd.SearchConfig(hidden=((),), steps=20) if QUICK else kd.SearchConfig()
result = kd.discover(data.X_train, data.y_train, names=data.names, seed=0, config=config)
print(result)
print("view:", result.view, "  seconds:", round(result.seconds, 1))
assert result.r2_test > 0.9999""",
    Md("The constant `0.0796` is `1/(4 pi)`; `nsimplify` says so:"),
    """law = result.formula.xreplace(
    {f: sympy.nsimplify(f, [sympy.pi]) for f in result.formula.atoms(sympy.Float)}
)
truth = sympy.sympify(eq.formula, locals={n: sympy.Symbol(n) for n in data.names})
print("recovered:", law, "   exact:", sympy.simplify(law - truth) == 0)
display(Math(kd.latex(law)))""",
    Md(
        "## Inside the network: before and after pruning\n\n"
        "In log space a product of powers is a sum, `log flux = log Pwr - 2 log r - log 4pi`. "
        "A KAN `[2, 5, 1]` trained with a sparsity penalty uses few of its edges; pruning "
        "keeps those."
    ),
    """Xl, yl = np.log(data.X_train), np.log(data.y_train)
names = ["log Pwr", "log r"]
net = kd.KAN([2, 5, 1], seed=0, dtype=torch.float64)
kd.fit(net, Xl, yl, steps=10 if QUICK else 50, sparsity=1e-2)
plot.plot_network(net, Xl, names=names, output_names=["log flux"])""",
    """pruned = kd.prune(net, Xl)
print(pruned)
kd.fit(pruned, Xl, yl, steps=10 if QUICK else 50)
kd.snap(pruned, Xl)
kd.fit(pruned, Xl, yl, steps=10 if QUICK else 50, grid_updates=None)
display(Math(kd.latex(kd.formula(pruned, names=["P", "r"], digits=4))))
plot.plot_network(pruned, Xl, names=names, output_names=["log flux"])""",
    Md(
        "## The Pareto front\n\nError against complexity of every formula the search "
        "kept; the star is the chosen law (the simplest one within 5 % of the best error)."
    ),
    """plot.plot_pareto(result)""",
    """for point in result.pareto:
    display(Math(rf"{point.complexity}:\\quad {kd.latex(point.formula)}"))""",
]

POISSON = [
    Md(
        "# Solving a PDE with a KAN, then reading the solution\n\n"
        "The Poisson problem `u_xx + u_yy = -2 pi^2 sin(pi x) sin(pi y)` on `[-1, 1]^2` with "
        "`u = 0` on the boundary has the solution `u = sin(pi x) sin(pi y)`. The loss is the "
        "mean squared residual at interior points plus the boundary error; the derivatives come "
        "from autograd through the network (`kandiscover.pde`)."
    ),
    SETUP
    + """import math

from kandiscover import pde

torch.set_num_threads(max(1, (os.cpu_count() or 1)))
box = [(-1.0, 1.0), (-1.0, 1.0)]
n_in, n_b = (300, 80) if QUICK else (2500, 400)
inner = pde.interior_points(n_in, box, seed=0, dtype=torch.float64)
edge = pde.boundary_points(n_b, box, seed=1, dtype=torch.float64)
test = pde.interior_points(4000, box, seed=2, dtype=torch.float64)


def source(x):
    return -2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])


def exact(x):
    return torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])


def loss(model):
    return pde.poisson_loss(model, inner, edge, source, boundary_weight=100.0)


def rel_l2(model):
    with torch.no_grad():
        u = model(test).reshape(-1)
    return float((u - exact(test)).norm() / exact(test).norm())""",
    Md(
        "## A `[2, 10, 1]` KAN, with grid refinement\n\n"
        "L-BFGS on grid 5, then the same function on finer grids (`model.refine`), trained on."
    ),
    """grids, steps = ((5, 10), 3) if QUICK else ((5, 10, 20), 30)
kan = kd.KAN([2, 10, 1], grid=grids[0], seed=0, dtype=torch.float64)
for g in grids:
    kan = kan if g == grids[0] else kan.refine(g)
    h = pde.solve(kan, loss, steps=steps if g != grids[-1] else 2 * steps)
    print(f"grid {g:2d}: loss {h.train_loss[-1]:.2e}, relative L2 error {rel_l2(kan):.2e}")
kan_error = rel_l2(kan)""",
    Md("## An MLP with the same number of parameters, trained the same way"),
    """def n_params(model):
    if isinstance(model, kd.KAN):  # spline coefficients, edge scales and node biases
        return sum(l.coef.numel() + l.scales.numel() + l.bias.numel() for l in model.layers)
    return sum(p.numel() for p in model.parameters())


width = int((-5 + math.sqrt(25 - 4 * (1 - n_params(kan)))) / 2)  # w^2 + 5 w + 1 params
gen = torch.Generator().manual_seed(0)
mlp = torch.nn.Sequential(
    torch.nn.Linear(2, width), torch.nn.Tanh(),
    torch.nn.Linear(width, width), torch.nn.Tanh(),
    torch.nn.Linear(width, 1),
).double()
with torch.no_grad():
    for p in mlp.parameters():
        p.uniform_(-1 / math.sqrt(p.shape[-1]), 1 / math.sqrt(p.shape[-1]), generator=gen)
steps_total = sum(steps if g != grids[-1] else 2 * steps for g in grids)
h = pde.solve(mlp, loss, steps=steps_total)
mlp_error = rel_l2(mlp)
print(f"KAN {n_params(kan)} parameters: relative L2 error {kan_error:.2e}")
print(f"MLP {n_params(mlp)} parameters: relative L2 error {mlp_error:.2e}")
if QUICK:
    print("quick mode: the 1e-3 target is checked in the full run only")
else:
    assert kan_error < 1e-3, kan_error""",
    Md(
        "## Reading the solution as a formula\n\n"
        "A sum of edge functions cannot be a product `f(x) g(y)` unless it uses a pair of "
        "cosines; the tidiest network for this solution has one product node, "
        "`width=[2, (0, 1)]`: `u = (phi_1(x) + phi_2(y)) * (phi_3(x) + phi_4(y))`. "
        "We train it on the same PDE loss, prune the edges it does not need, snap the rest "
        "and refit."
    ),
    """prod = kd.KAN([2, (0, 1)], grid=5, seed=0, dtype=torch.float64)
pde.solve(prod, loss, steps=10 if QUICK else 20)
prod = kd.prune(prod, inner)
choices = kd.snap(prod, inner)
print([(ch.inp, ch.chosen.primitive) for ch in choices])
h = pde.solve(prod, loss, steps=5 if QUICK else 10)
print(f"loss {h.train_loss[-1]:.2e}, relative L2 error {rel_l2(prod):.2e}")""",
    Md(
        "The composed formula, its constants snapped to simple values where that does not "
        "change the solution:"
    ),
    """from kandiscover.symbolic.constants import snap_constants

x, y = sympy.symbols("x y")
raw = kd.formula(prod, ["x", "y"])
with torch.no_grad():
    u_inner = prod(inner)[:, 0].numpy()
law = snap_constants(sympy.expand(raw), [x, y], inner.numpy(), u_inner)
display(Math(r"u(x, y) = " + kd.latex(law)))
truth = sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)
print("equals sin(pi x) sin(pi y):", sympy.simplify(law - truth) == 0)""",
    """plot.plot_network(prod, inner, names=["x", "y"], output_names=["u"])""",
]

REAL = [
    Md(
        "# From measured tables to laws, with units, error bars and uncertain constants\n\n"
        "Two tables copied from public repositories (see `datasets/README.md`; every table "
        "carries its units, error bars and source in `df.attrs`).\n\n"
        "## Kepler's third law from 28 orbits\n\n"
        "`kepler_orbits` holds JPL's mean orbits of the planets, Pluto, Ceres and 18 moons: "
        "semi-major axis `a` (au), the mass `M` of the body orbited plus the orbiting body "
        "(solar masses) and the period `T` (years). Newton's form of Kepler's third law is "
        "`T = a^{3/2} / sqrt(M)`."
    ),
    SETUP
    + """print(kd.list_datasets())
df = kd.load_dataset("kepler_orbits")
print("units:", df.attrs["units"])
print("source:", df.attrs["source"]["repository"], df.attrs["source"]["commit"][:10])
df.head()""",
    Md(
        "Twenty-eight rows are few: the judge cross-validates every formula, snaps exponents "
        "and prefactors to simple values only where the data cannot tell the difference, and "
        "prefers the simplest law within the noise."
    ),
    """X, y = df[["a_AU", "M_sun"]], df["T_years"]
result = kd.discover(X, y, names=["a", "M"], seed=0, time_limit=10 if QUICK else 30)
print(result, "  from:", result.view)
display(Math(r"T = " + result.latex))
a, M = sympy.symbols("a M")
assert sympy.simplify(result.formula - a ** sympy.Rational(3, 2) / sympy.sqrt(M)) == 0""",
    Md(
        "## The density of moons, with error bars: a constant with its uncertainty\n\n"
        "`moon_densities` holds 31 moons' `GM` (km^3/s^2), radius `R` (km) and mean density "
        "(g/cm^3), each with its standard error, from JPL's satellite tables. A sphere of "
        "mass `M` has `rho = 3 M / (4 pi R^3)`, so `rho = c GM / R^3` with `c = 3 / (4 pi "
        "G)` in these units. The error bars of `rho` weigh the fit (`sigma=`), the judge "
        "scores formulas by their chi-square, and the constant comes out with its standard "
        "error; the units, given as text, let dimensional analysis reduce the problem first."
    ),
    """moons = kd.load_dataset("moon_densities")
units = {"GM": moons.attrs["units"]["GM_km3_s2"], "R": moons.attrs["units"]["R_km"]}
print("units:", units, " error bars:", moons.attrs["errors"])
X = moons[["GM_km3_s2", "R_km"]].to_numpy()
rho, sigma = moons["rho_g_cm3"].to_numpy(), moons["rho_err_g_cm3"].to_numpy()
result = kd.discover(
    X,
    rho,
    names=["GM", "R"],
    sigma=sigma,
    units=units,
    target_units=moons.attrs["units"]["rho_g_cm3"],
    time_limit=10 if QUICK else 30,
)
display(Math(r"\\rho = " + result.latex))
(c,) = result.constants
print(f"c = {c}   reduced chi-square: {result.reduced_chi2:.3g}")""",
    Md(
        "The constant gives Newton's `G` with an uncertainty: `GM / R^3` is in 1/s^2 "
        "whatever the length unit, and 1 g/cm^3 is 1000 kg/m^3, so `G = 3 / (4 pi 1000 c)`."
    ),
    """G = 3 / (4 * np.pi * 1000 * c.value)
print(f"G = {kd.Constant(G, G * c.stderr / c.value)} m^3 / (kg s^2)   (CODATA: 6.6743e-11)")
assert abs(G - 6.6743e-11) < 3 * G * c.stderr / c.value + 1e-13""",
    Md(
        "One figure: the Pareto front (held-out error against complexity), the law against "
        "the data with their error bars, and the residuals."
    ),
    """result.plot(X, rho, sigma=sigma)""",
    Md("## The Pareto front as a LaTeX table (booktabs), ready for a paper"),
    """from kandiscover.latex_table import latex_table

print(latex_table(result.pareto, chosen=result.formula))""",
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_feynman_discovery.ipynb": FEYNMAN,
    "03_pde_poisson.ipynb": POISSON,
    "04_real_data.ipynb": REAL,
}


def build(cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of the given cells: :class:`Md` texts are markdown, other strings code."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for text in cells:
        nb.cells.append(new_markdown_cell(text) if isinstance(text, Md) else new_code_cell(text))
    return nb


def main() -> None:
    """Write every notebook next to this script."""
    for name, cells in NOTEBOOKS.items():
        nb = build(cells)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    main()
