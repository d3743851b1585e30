"""Summaries of benchmark records: solution rates, median time, a per-equation table.

The symbolic-solution rate and the accuracy-solution rate are always reported side by
side and never mixed (DESIGN.md, "Measuring recovery"). Only valid records count (a
solution is the boolean ``true``, never a string such as ``"yes"``); invalid ones are
skipped with a warning that counts them. Runs made with different options (their
``"options"`` fingerprint) are summarized separately (:func:`load_summaries`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._store import problem
from .runner import read_records

__all__ = [
    "EquationRow",
    "Summary",
    "group_by_options",
    "load_summaries",
    "load_summary",
    "summarize",
    "to_markdown",
]


@dataclass(frozen=True)
class EquationRow:
    """The runs of one equation at one noise level."""

    name: str
    noise: float
    runs: int
    symbolic: int
    accuracy: int
    errors: int
    median_r2: float | None
    median_seconds: float | None
    formula: str | None


@dataclass(frozen=True)
class Summary:
    """Rates and times over all records, and one row per (equation, noise)."""

    runs: int
    symbolic_rate: float
    accuracy_rate: float
    errors: int
    median_seconds: float | None
    rows: tuple[EquationRow, ...]
    by_noise: Mapping[float, tuple[float, float, int]]


def _median(values: Iterable[Any]) -> float | None:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return statistics.median(finite) if finite else None


def _rates(records: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    if not records:
        return math.nan, math.nan
    n = len(records)
    symbolic = sum(r.get("symbolic_solution") is True for r in records) / n
    accuracy = sum(r.get("accuracy_solution") is True for r in records) / n
    return symbolic, accuracy


def _row(name: str, noise: float, records: list[Mapping[str, Any]]) -> EquationRow:
    solved = [r for r in records if r.get("symbolic_solution") is True]
    shown = (solved or records)[0].get("formula")
    return EquationRow(
        name=name,
        noise=noise,
        runs=len(records),
        symbolic=sum(r.get("symbolic_solution") is True for r in records),
        accuracy=sum(r.get("accuracy_solution") is True for r in records),
        errors=sum("error" in r for r in records),
        median_r2=_median(r.get("r2_test") for r in records),
        median_seconds=_median(r.get("seconds") for r in records),
        formula=shown,
    )


def summarize(records: Sequence[Mapping[str, Any]]) -> Summary:
    """Summarize benchmark records (as written by :func:`~kandiscover.bench.run_bench`).

    Invalid records (see :func:`~kandiscover.bench.read_records`) are skipped with a
    warning that counts them.

    Raises
    ------
    ValueError
        If there are no valid records.
    """
    invalid = [r for r in records if problem(r) is not None]
    if invalid:
        warnings.warn(
            f"skipped {len(invalid)} invalid benchmark record(s): {problem(invalid[0])}",
            RuntimeWarning,
            stacklevel=2,
        )
        records = [r for r in records if problem(r) is None]
    if not records:
        raise ValueError("no benchmark records to summarize (is the JSONL file empty?)")
    groups: dict[tuple[str, float], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((str(r.get("name")), float(r.get("noise", 0.0))), []).append(r)
    noises: dict[float, list[Mapping[str, Any]]] = {}
    for r in records:
        noises.setdefault(float(r.get("noise", 0.0)), []).append(r)
    symbolic, accuracy = _rates(records)
    return Summary(
        runs=len(records),
        symbolic_rate=symbolic,
        accuracy_rate=accuracy,
        errors=sum("error" in r for r in records),
        median_seconds=_median(r.get("seconds") for r in records),
        rows=tuple(_row(n, v, rs) for (n, v), rs in groups.items()),
        by_noise={v: (*_rates(rs), len(rs)) for v, rs in sorted(noises.items())},
    )


def group_by_options(
    records: Sequence[Mapping[str, Any]],
) -> list[tuple[dict[str, Any], list[Mapping[str, Any]]]]:
    """The records split by their ``"options"`` fingerprint, in order of first appearance."""
    groups: dict[str, tuple[dict[str, Any], list[Mapping[str, Any]]]] = {}
    for r in records:
        options = r.get("options") if isinstance(r.get("options"), dict) else {}
        key = json.dumps(options, sort_keys=True)
        groups.setdefault(key, (options, []))[1].append(r)
    return list(groups.values())


def load_summaries(path: str | os.PathLike[str]) -> list[tuple[dict[str, Any], Summary]]:
    """Read a benchmark JSONL file and summarize each set of run options on its own.

    Raises
    ------
    ValueError
        If the file holds no valid records.
    """
    groups = group_by_options(read_records(path))
    if not groups:
        raise ValueError("no benchmark records to summarize (is the JSONL file empty?)")
    return [(options, summarize(records)) for options, records in groups]


def load_summary(path: str | os.PathLike[str]) -> Summary:
    """Read a benchmark JSONL file (skipping truncated and invalid lines) and summarize it.

    Raises
    ------
    ValueError
        If the file holds no valid records, or runs made with different options (use
        :func:`load_summaries`).
    """
    summaries = load_summaries(path)
    if len(summaries) > 1:
        raise ValueError(
            f"{os.fspath(path)} holds runs made with {len(summaries)} different sets of "
            "options; summarize each with load_summaries()"
        )
    return summaries[0][1]


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _cell(text: str | None) -> str:
    return "–" if text is None else "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def to_markdown(summary: Summary, title: str = "Benchmark report") -> str:
    """The summary as Markdown: headline rates, rates per noise level, per-equation table."""
    lines = [
        f"# {title}",
        "",
        f"- runs: {summary.runs} ({summary.errors} crashed)",
        f"- symbolic solution rate: {summary.symbolic_rate:.1%}",
        f"- accuracy solution rate (R² > 0.999): {summary.accuracy_rate:.1%}",
        f"- median time: {_fmt(summary.median_seconds, '.1f')} s",
        "",
    ]
    if len(summary.by_noise) > 1:
        lines += ["| noise | runs | symbolic | accuracy |", "|---:|---:|---:|---:|"]
        for noise, (sym, acc, n) in summary.by_noise.items():
            lines.append(f"| {noise:g} | {n} | {sym:.1%} | {acc:.1%} |")
        lines.append("")
    lines += [
        "| equation | noise | runs | symbolic | accuracy | median R² | median s | formula |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in summary.rows:
        lines.append(
            f"| {row.name} | {row.noise:g} | {row.runs} | {row.symbolic}/{row.runs} "
            f"| {row.accuracy}/{row.runs} | {_fmt(row.median_r2, '.6f')} "
            f"| {_fmt(row.median_seconds, '.1f')} | {_cell(row.formula)} |"
        )
    return "\n".join(lines) + "\n"
