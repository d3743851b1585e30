"""Draw the figures of the README: ``python docs/make_figures.py`` writes ``docs/network.png``
and ``docs/moons.png``.

``network.png``: the flagship example, ``f(x, y) = exp(sin(pi x) + y^2)`` from 1000
samples. A KAN ``[2, 5, 1]`` is trained with a sparsity penalty, pruned, refit, snapped to
primitives and refit once more; the picture shows the network that computes the formula.

``moons.png``: the figure of a discovery (``Result.plot``) on a measured table: the
density of 31 moons from their ``GM`` and radius, with the densities' error bars.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sympy
import torch

import kandiscover as kd
from kandiscover.plot import plot_network
from kandiscover.symbolic.constants import snap_constants

HERE = Path(__file__).resolve().parent


def flagship(seed: int = 0) -> tuple[kd.KAN, torch.Tensor, torch.Tensor]:
    """The snapped network of ``exp(sin(pi x) + y^2)`` and its training data."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(1000, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.exp(torch.sin(torch.pi * X[:, 0]) + X[:, 1] ** 2)
    model = kd.KAN([2, 5, 1], seed=seed, dtype=torch.float64)
    kd.fit(model, X, y, steps=50, sparsity=1e-2)
    model = kd.prune(model, X)
    kd.fit(model, X, y, steps=50)
    kd.snap(model, X)
    kd.fit(model, X, y, steps=50, grid_updates=None)
    return model, X, y


def moons(out: Path) -> None:
    """The discovery figure of the moon densities (error bars, units as text)."""
    table = kd.load_dataset("moon_densities")
    X = table[["GM_km3_s2", "R_km"]].to_numpy()
    rho, sigma = table["rho_g_cm3"].to_numpy(), table["rho_err_g_cm3"].to_numpy()
    units = table.attrs["units"]
    result = kd.discover(
        X,
        rho,
        names=["GM", "R"],
        sigma=sigma,
        units={"GM": units["GM_km3_s2"], "R": units["R_km"]},
        target_units=units["rho_g_cm3"],
        time_limit=30,
    )
    result.plot(X, rho, sigma=sigma, path=out / "moons.png")
    print(f"wrote {out / 'moons.png'}: rho = {result.formula}, constants {result.constants}")


def main() -> None:
    """Write the figures (``--out`` chooses the folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    moons(args.out)
    model, X, y = flagship()
    symbols = sympy.symbols("x y")
    law = snap_constants(kd.formula(model, ["x", "y"]), symbols, X.numpy(), y.numpy())
    fig = plot_network(model, X, names=["x", "y"], output_names=["f"])
    fig.suptitle(f"$f = {kd.latex(law)}$", fontsize=12)
    fig.savefig(args.out / "network.png", dpi=110)
    print(f"wrote {args.out / 'network.png'}: f = {law}")


if __name__ == "__main__":
    main()
