"""Build ``equations/feynman.csv`` from the AI Feynman source tables.

Usage::

    python scripts/build_catalogue.py [--source DIR] [--unit-text FILE] [--out FILE]

``DIR`` defaults to ``../shared/data`` next to the repository and must hold
``feynman_equations.csv`` (the AI Feynman layout: Filename, Number, Output, Formula,
# variables, v1_name, v1_low, v1_high, ...) and ``feynman_units.csv`` (Variable, Units,
m, s, kg, T, V exponents; its column ``T`` is the kelvin, which kandiscover spells ``K``).
``--unit-text`` (default ``scripts/feynman_unit_text.csv``) gives every variable's SI unit
as text, written from the physics of each quantity (variable, unit, the equations where a
row applies when a name means different things, a description).

The script rewrites the catalogue in kandiscover's own format (one row per equation,
variables as JSON with their exponent vector and unit text), then checks every formula: it
must parse safely, evaluate finite over its ranges, and be dimensionally homogeneous.
Where a unit text disagrees with the public exponent vector, that is reported too (the
vector is kept: it is the source's). Problems go to stderr; they do not stop the build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sympy

from kandiscover.symbolic.parse import parse_formula
from kandiscover.units import unit_vector

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data"
DEFAULT_UNIT_TEXT = ROOT / "scripts" / "feynman_unit_text.csv"
DEFAULT_OUT = ROOT / "equations" / "feynman.csv"
SOURCE_NOTE = "AI Feynman (Udrescu & Tegmark 2020), feynman_equations.csv"
# The exponent columns of feynman_units.csv, in kandiscover's order (m, s, kg, K, V).
SOURCE_COLUMNS = ("m", "s", "kg", "T", "V")
# Known error in feynman_units.csv: in I.43.16 (v = mu_drift*q*Volt/d) mu_drift is a
# mobility, so it has the dimensions of `mob`, not those the units table lists.
UNIT_FIXES = {"mu_drift": "mob"}


def read_units(path: Path) -> dict[str, list[int]]:
    """Return ``{variable: [m, s, kg, K, V] exponents}`` with the known fixes applied."""
    table = pd.read_csv(path)
    units = {
        str(row["Variable"]).strip(): [int(row[u]) for u in SOURCE_COLUMNS]
        for _, row in table.iterrows()
    }
    for name, same_as in UNIT_FIXES.items():
        units[name] = list(units[same_as])
    return units


def read_unit_text(path: Path) -> dict[tuple[str, str], str]:
    """Return ``{(variable, equation id or ""): unit text}``; ``""`` is the default row."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    text = {}
    for _, row in table.iterrows():
        for eq in row["equations"].split() or [""]:
            text[(row["variable"].strip(), eq)] = row["unit"].strip()
    return text


def _unit_text(text: dict[tuple[str, str], str], name: str, eq: str) -> str | None:
    return text.get((name, eq), text.get((name, "")))


def convert(
    equations: pd.DataFrame, units: dict[str, list[int]], text: dict[tuple[str, str], str]
) -> pd.DataFrame:
    """Rewrite the AI Feynman table as kandiscover catalogue rows."""
    rows = []
    for _, row in equations.iterrows():
        eq = str(row["Filename"]).strip()
        variables = []
        for i in range(1, int(row["# variables"]) + 1):
            name = str(row[f"v{i}_name"]).strip()
            variables.append(
                {
                    "name": name,
                    "low": float(row[f"v{i}_low"]),
                    "high": float(row[f"v{i}_high"]),
                    "units": units.get(name),
                    "unit": _unit_text(text, name, eq),
                }
            )
        output = str(row["Output"]).strip()
        rows.append(
            {
                "id": eq,
                "number": int(row["Number"]),
                "output": output,
                "formula": str(row["Formula"]).strip(),
                "variables": json.dumps(variables),
                "output_units": json.dumps(units.get(output)),
                "source": SOURCE_NOTE,
                "output_unit": _unit_text(text, output, eq),
            }
        )
    return pd.DataFrame(rows)


def unit_text_problems(row: pd.Series) -> list[str]:
    """Where a variable's unit text disagrees with its exponent vector, say so."""
    symbols = [*json.loads(row["variables"])]
    symbols.append(
        {
            "name": row["output"],
            "units": json.loads(row["output_units"]),
            "unit": row["output_unit"],
        }
    )
    problems = []
    for v in symbols:
        if v["unit"] is None or v["units"] is None:
            problems.append(f"{v['name']}: no unit text or no exponent vector")
        elif list(unit_vector(v["unit"])) != v["units"]:
            text = [str(e) for e in unit_vector(v["unit"])]
            problems.append(
                f"{v['name']}: unit {v['unit']!r} is {text}, the source says {v['units']}"
            )
    return problems


def check_row(row: pd.Series, rng: np.random.Generator, n: int = 2000) -> list[str]:
    """Return the problems found with one catalogue row (empty when it is sound)."""
    variables = json.loads(row["variables"])
    names = [v["name"] for v in variables]
    expr = parse_formula(row["formula"], variables=names)
    func = sympy.lambdify([sympy.Symbol(x) for x in names], expr, modules="numpy")
    low = np.array([v["low"] for v in variables])
    high = np.array([v["high"] for v in variables])
    x = rng.uniform(low, high, size=(n, len(names)))
    with np.errstate(all="ignore"):
        y = np.broadcast_to(np.asarray(func(*x.T), dtype=float), (n,))
    problems = []
    if not np.all(np.isfinite(y)):
        problems.append(f"{int(np.sum(~np.isfinite(y)))}/{n} non-finite values over the ranges")
    out_units = json.loads(row["output_units"])
    if out_units is None or any(v["units"] is None for v in variables):
        return [*problems, "units unknown for some symbol"]
    # Dimensional homogeneity: rescaling every base unit must rescale y as its dimensions.
    scales = rng.uniform(0.5, 2.0, size=len(SOURCE_COLUMNS))
    factor = [np.prod(scales ** np.array(v["units"])) for v in variables]
    with np.errstate(all="ignore"):
        y_scaled = np.broadcast_to(np.asarray(func(*(x * factor).T), dtype=float), (n,))
    expected = y * np.prod(scales ** np.array(out_units))
    ok = np.isfinite(y) & np.isfinite(expected)
    if not np.allclose(y_scaled[ok], expected[ok], rtol=1e-8, atol=0.0):
        problems.append("not dimensionally homogeneous")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Build the catalogue and report problems; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--unit-text", type=Path, default=DEFAULT_UNIT_TEXT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    eq_path, units_path = args.source / "feynman_equations.csv", args.source / "feynman_units.csv"
    if not (eq_path.exists() and units_path.exists()):
        sys.stderr.write(f"source tables not found in {args.source}\n")
        return 1
    text = read_unit_text(args.unit_text)
    table = convert(pd.read_csv(eq_path).dropna(how="all"), read_units(units_path), text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, lineterminator="\n")
    rng = np.random.default_rng(0)
    n_bad = 0
    for _, row in table.iterrows():
        for problem in check_row(row, rng):
            n_bad += 1
            sys.stderr.write(f"{row['id']}: {problem}\n")
        for problem in unit_text_problems(row):
            sys.stderr.write(f"{row['id']}: unit text: {problem}\n")
    sys.stderr.write(f"wrote {len(table)} equations to {args.out} ({n_bad} problems)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
