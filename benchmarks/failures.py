"""List the Feynman equations that were not recovered, and a first reason for each.

Usage::

    python benchmarks/failures.py benchmarks/results/feynman_noise0.jsonl \
        benchmarks/results/feynman_noise0.01.jsonl > benchmarks/results/feynman_failures.md

The reason is read from the record, not guessed from the equation's name:

- ``crash``: discovery raised (the message is shown);
- ``accurate, not exact``: test R^2 > 0.999 but not a symbolic solution: the structure
  is close, a constant was not snapped or a primitive is only approximately right;
- ``wrong structure``: R^2 below 0.999 (the search found no formula of the right form);
- ``time limit`` is added when the run used its whole time budget.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _reason(rec: dict, limit: float) -> str:
    if rec.get("error"):
        return f"crash: {rec['error'][:80]}"
    r2 = rec.get("r2_test")
    why = "accurate, not exact" if r2 is not None and r2 > 0.999 else "wrong structure"
    if rec.get("seconds", 0) >= 0.95 * limit:
        why += "; time limit"
    return why


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--time-limit", type=float, default=25.0)
    args = parser.parse_args()
    print("# Feynman equations not recovered\n")
    for path in args.files:
        records = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
        failed = [r for r in records if not r.get("symbolic_solution")]
        print(f"## {Path(path).name}: {len(failed)} of {len(records)} not recovered\n")
        print("| equation | truth | found | R^2 test | reason |")
        print("|---|---|---|---|---|")
        for r in failed:
            r2 = r.get("r2_test")
            found = (r.get("formula") or "").replace("|", "\\|")
            found = found if len(found) < 90 else found[:87] + "..."
            r2s = f"{r2:.6f}" if isinstance(r2, (int, float)) else "-"
            why = _reason(r, args.time_limit)
            print(f"| {r['name']} | `{r.get('truth', '')}` | `{found}` | {r2s} | {why} |")
        print()


if __name__ == "__main__":
    main()
