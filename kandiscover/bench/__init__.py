"""Benchmark suites: a resumable, parallel runner and its reports."""

from __future__ import annotations

from .report import EquationRow as EquationRow
from .report import Summary as Summary
from .report import load_summary as load_summary
from .report import summarize as summarize
from .report import to_markdown as to_markdown
from .runner import Task as Task
from .runner import evaluate_equation as evaluate_equation
from .runner import make_tasks as make_tasks
from .runner import read_records as read_records
from .runner import run_bench as run_bench

__all__ = [
    "EquationRow",
    "Summary",
    "Task",
    "evaluate_equation",
    "load_summary",
    "make_tasks",
    "read_records",
    "run_bench",
    "summarize",
    "to_markdown",
]
