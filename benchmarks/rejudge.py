"""Judge recorded runs again with the current symbolic-solution test.

Usage::

    python benchmarks/rejudge.py benchmarks/results/realistic_n40.jsonl [--suite realistic]

Each record's ``formula`` is parsed (safely) and compared with its equation's truth by
:func:`kandiscover.symbolic.equivalence.symbolic_solution` and ``structure_solution``
(the law up to its fitted constants), in the catalogue's variable ranges; the file is
rewritten with the two verdicts, the records whose symbolic verdict changed are listed,
and the rates printed. Nothing else in a record changes (the search is not rerun).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kandiscover.data import get_equation
from kandiscover.symbolic.equivalence import structure_solution, symbolic_solution
from kandiscover.symbolic.parse import parse_formula


def rejudge(path: Path, suite: str) -> list[tuple[str, float, int, bool, bool]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    out, changed = [], []
    for line in lines:
        rec = json.loads(line)
        formula = rec.get("formula")
        if formula:
            eq = get_equation(rec["name"], suite)
            names = [v.name for v in eq.variables]
            model = parse_formula(formula, names)
            ranges = {v.name: (v.low, v.high) for v in eq.variables}
            verdict = bool(symbolic_solution(model, eq.expr, ranges=ranges))
            rec["structure_solution"] = bool(structure_solution(model, eq.expr, ranges))
            old = rec.get("symbolic_solution")
            if verdict != old:
                changed.append((rec["name"], rec["noise"], rec["seed"], old, verdict))
            rec["symbolic_solution"] = verdict
        out.append(json.dumps(rec))
    path.write_text("\n".join(out) + "\n")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--suite", default="feynman")
    args = parser.parse_args()
    for path in args.files:
        changed = rejudge(path, args.suite)
        records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        rates = {
            key: sum(bool(r.get(key)) for r in records) / max(len(records), 1)
            for key in ("symbolic_solution", "structure_solution", "accuracy_solution")
        }
        print(f"{path}: {len(changed)} verdicts changed; " + ", ".join(
            f"{k.split('_')[0]} {100 * v:.0f} %" for k, v in rates.items()
        ))  # fmt: skip
        for name, noise, seed, old, new in changed:
            print(f"  {name} noise {noise} seed {seed}: {old} -> {new}")


if __name__ == "__main__":
    main()
