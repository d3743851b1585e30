"""The ``kandiscover discover`` command: a law for a column of a CSV file.

It reads the table (one or more targets, an optional error-bar column, units as text),
runs :func:`kandiscover.discover` with a progress line on stderr (``--quiet`` silences
it), prints the law with its constants' uncertainties and goodness of fit, and writes
JSON (``--json``) and a figure (``--plot``) when asked.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from .search import DEFAULT_TIME_LIMIT

__all__ = ["add_arguments", "run"]


def add_arguments(d: argparse.ArgumentParser, positive_float: Any) -> None:
    """The options of ``kandiscover discover``."""
    d.add_argument("data", help="CSV file with a header row")
    d.add_argument(
        "--target", required=True, help="the column to explain; several, comma-separated"
    )
    d.add_argument("--seed", type=int, default=0)
    d.add_argument(
        "--time-limit",
        type=positive_float,
        default=DEFAULT_TIME_LIMIT,
        metavar="S",
        help=f"seconds per target (default {DEFAULT_TIME_LIMIT:g}); the best law found by "
        "then is returned",
    )
    d.add_argument(
        "--sigma", default=None, metavar="COLUMN", help="the column holding the target's error bars"
    )
    d.add_argument(
        "--exclude",
        default="",
        metavar="A,B",
        help="columns that are neither inputs nor targets (comma-separated)",
    )
    d.add_argument(
        "--model-selection",
        default="best",
        choices=("best", "simplest", "accuracy"),
        help="how the law is chosen among the Pareto front (default best)",
    )
    d.add_argument("--json", default=None, metavar="OUT", help="write the result as JSON")
    d.add_argument("--plot", default=None, metavar="OUT.png", help="draw the result")
    d.add_argument("--quiet", action="store_true", help="no progress line while searching")
    d.add_argument("--drop-nonfinite", action="store_true", help="drop rows with NaN or inf")
    d.add_argument(
        "--units",
        default=None,
        metavar="UNITS.json",
        help="units of the columns, target included, as text or exponent vectors, e.g. "
        '{"v": "m/s", "F": "N", "t": [0, 1, 0, 0, 0]} (text as pint reads it; vectors are '
        "exponents of m, s, kg, K, V); every column needs one: turns on dimensional analysis",
    )
    d.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="NAME=UNIT",
        help="the unit of one column, e.g. --unit v=m/s --unit F=N (repeatable; adds to "
        "or overrides --units)",
    )


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _read(args: argparse.Namespace):
    from .data import read_columns

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return read_columns(
                args.data,
                _names(args.target),
                sigma=args.sigma,
                exclude=_names(args.exclude),
                drop_nonfinite=args.drop_nonfinite,
            )
        finally:  # report dropped rows even when the rest of the table is rejected
            for w in caught:
                print(f"kandiscover: {w.message}", file=sys.stderr)


def read_units(
    path: str | None,
    assignments: Sequence[str],
    columns: list[str],
    table: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """Unit specs (text or exponent vectors) by column, from ``--units`` and ``--unit``.

    Every column of ``columns`` (inputs and targets) must have one; a unit may also be
    given for another column of the ``table`` (an error-bar column, say), and is then
    ignored; a name that is no column at all is an error. ``--unit NAME=UNIT`` entries
    add to or override the JSON file. Each spec is read once here, so a bad one is an
    error naming the column.
    """
    from .units import parse_unit_assignments, unit_vectors

    if path is None and not assignments:
        return None
    units: dict[str, Any] = {}
    if path is not None:
        with open(path, encoding="utf-8") as fh:
            try:
                units = json.load(fh)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid JSON: {err}") from err
        if not isinstance(units, dict):
            raise ValueError(
                f"{path} must hold a JSON object mapping column names to units "
                '(text such as "m/s" or exponent vectors)'
            )
    units = {**units, **parse_unit_assignments(assignments)}
    missing = [c for c in columns if c not in units]
    if missing:
        where = f"{path} and --unit give" if path else "--unit gives"
        raise ValueError(
            f"{where} no units for the column(s) {missing}; add --unit NAME=UNIT for each "
            "('' for a pure number)"
        )
    known = list(table) if table is not None else list(columns)
    if any(c not in known for c in units):
        unit_vectors(units, known)  # raises: a name that is no column, with a suggestion
    units = {c: units[c] for c in columns}
    unit_vectors(units, columns)  # every spec must be readable
    return units


class _ProgressLine:
    """A tqdm line on stderr: the task running, seconds used of the limit, the best law.

    Off a terminal (a pipe, a log file) a line that redraws itself is a jumble of
    carriage returns, so there each task gets a plain line of its own instead.
    """

    def __init__(self, target: str, limit: float | None, quiet: bool) -> None:
        self.target, self.limit = target, limit
        self.plain = not quiet and not _is_terminal(sys.stderr)
        if self.plain:
            self.bar = None
            return
        import shutil

        from tqdm.auto import tqdm

        size = shutil.get_terminal_size()
        self.bar = tqdm(
            ncols=max(size.columns, 60),  # a fresh pseudo-terminal may report 0 x 0,
            nrows=max(size.lines, 5),  # and tqdm hides a bar below the last row
            total=round(limit, 1) if limit else None,
            disable=quiet,
            file=sys.stderr,
            desc=target,
            unit="s",
            bar_format="{n:.1f}/{total:.0f} s |{bar:12}| {desc}",
            leave=False,
        )

    def __call__(self, event: Any) -> None:
        best = event.best if event.best is None or len(event.best) < 60 else event.best[:57] + "..."
        text = f"{self.target}: {event.task}  best: {best or '-'}"
        if self.plain:
            limit = f"/{self.limit:.0f}" if self.limit else ""
            print(f"{event.elapsed:.1f}{limit} s  {text}", file=sys.stderr, flush=True)
            return
        total = self.bar.total or event.elapsed
        self.bar.n = min(event.elapsed, total)
        self.bar.set_description_str(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _report(target: str, result: Any) -> None:
    print(f"{target} = {result.formula}")
    if result.approximate:
        print(
            "  note: an approximation, not a law: nothing simpler than this "
            f"{result.complexity}-node formula fits within the noise"
        )
    if result.constants:
        listed = ", ".join(str(c) for c in result.constants)
        print(f"  constants (1 standard error): {listed}")
    if result.reduced_chi2 is not None:
        print(f"  reduced chi-square: {result.reduced_chi2:.3g} (error bars given)")
    else:
        noise = result.noise
        estimated = f"{noise.sigma:.3g}" if noise is not None else "unknown"
        print(f"  R^2 (held out): {result.r2_test:.6f}   noise (estimated): {estimated}")
    print(f"  LaTeX: {result.latex}")
    if result.dropped:
        print(f"  columns set aside (no information about {target}): {list(result.dropped)}")
    renamed = {n: v for n, v in zip(result.names, result.variables) if n != v}
    if renamed:
        print(f"  columns renamed in the formula: {renamed}")
    print(
        f"  complexity: {result.complexity}   time: {result.seconds:.1f} s   "
        f"(stopped: {result.stopped})"
    )


def _payload(target: str, result: Any) -> dict[str, Any]:
    from .export import to_sympy_string

    noise = result.noise
    return {
        "target": target,
        "names": list(result.names),
        "variables": list(result.variables),
        "formula": to_sympy_string(result.formula),
        "latex": result.latex,
        "approximate": bool(result.approximate),
        "constants": [
            {"value": c.value, "stderr": _finite(c.stderr), "text": str(c)}
            for c in result.constants
        ],
        "r2_test": _finite(result.r2_test),
        "rmse_test": _finite(result.rmse_test),
        "reduced_chi2": _finite(result.reduced_chi2),
        "noise": None if noise is None else {"sigma": noise.sigma, "method": noise.method},
        "complexity": result.complexity,
        "seconds": result.seconds,
        "stopped": result.stopped,
        "dropped": list(result.dropped),
        "pareto": [
            {
                "formula": to_sympy_string(p.formula),
                "complexity": p.complexity,
                "rmse": _finite(p.rmse),
                "r2": _finite(p.r2),
                "loss": _finite(p.loss),
                "score": _finite(p.score),
                "dl": _finite(p.dl),
                "within_noise": bool(p.within_noise),
            }
            for p in result.pareto
        ],
    }


def run(args: argparse.Namespace) -> int:
    """Run ``kandiscover discover``; return the exit status."""
    from .search import discover

    table = _read(args)
    columns = [*table.names, *table.targets]
    units = read_units(args.units, args.unit, columns, [*columns, *table.others])
    results = []
    columns = table.y.reshape(len(table.y), -1)
    for k, target in enumerate(table.targets):
        progress = _ProgressLine(target, args.time_limit, args.quiet)
        try:
            result = discover(
                table.X,
                columns[:, k],
                names=table.names,
                units=None if units is None else [units[n] for n in table.names],
                target_units=None if units is None else units[target],
                time_limit=args.time_limit,
                seed=args.seed,
                sigma=table.sigma,
                model_selection=args.model_selection,
                progress=progress,
            )
        finally:
            progress.close()
        _report(target, result)
        results.append((target, result))
        if args.plot:
            path = args.plot if len(table.targets) == 1 else _suffixed(args.plot, target)
            result.plot(table.X, columns[:, k], sigma=table.sigma, path=path)
            print(f"wrote {path}")
    if args.json:
        payloads = [_payload(t, r) for t, r in results]
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payloads[0] if len(payloads) == 1 else payloads, fh, indent=2)
            fh.write("\n")
        print(f"wrote {args.json}")
    return 0


def _suffixed(path: str, target: str) -> str:
    stem, dot, ext = path.rpartition(".")
    return f"{stem}_{target}.{ext}" if dot else f"{path}_{target}"
