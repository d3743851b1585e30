"""Benchmark suites: a resumable, parallel runner and its reports."""

from __future__ import annotations

from .report import EquationRow as EquationRow
from .report import Summary as Summary
from .report import group_by_options as group_by_options
from .report import load_summaries as load_summaries
from .report import load_summary as load_summary
from .report import summarize as summarize
from .report import to_markdown as to_markdown
from .runner import Task as Task
from .runner import evaluate_equation as evaluate_equation
from .runner import make_tasks as make_tasks
from .runner import options_fingerprint as options_fingerprint
from .runner import read_records as read_records
from .runner import run_bench as run_bench

__all__ = [
    "EquationRow",
    "Summary",
    "Task",
    "evaluate_equation",
    "group_by_options",
    "load_summaries",
    "load_summary",
    "make_tasks",
    "options_fingerprint",
    "read_records",
    "run_bench",
    "summarize",
    "to_markdown",
]
