"""The ``kandiscover`` command: discover, demo, bench and report.

Bad input ends with one line, ``kandiscover: error: <message>``, and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from .cli_discover import add_arguments as add_discover_arguments
from .search import DEFAULT_TIME_LIMIT

__all__ = ["main"]

DEMO_EQUATION = "II.3.24"


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def _str_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kandiscover",
        description="Find the law behind a table of numbers with Kolmogorov–Arnold networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("discover", help="discover a law for a column of a CSV file")
    add_discover_arguments(d, _positive_float)
    m = sub.add_parser("demo", help="rediscover a built-in catalogue equation")
    m.add_argument("--equation", default=DEMO_EQUATION, help=f"(default {DEMO_EQUATION})")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument(
        "--time-limit",
        type=_positive_float,
        default=DEFAULT_TIME_LIMIT,
        metavar="S",
        help=f"seconds (default {DEFAULT_TIME_LIMIT:g})",
    )
    b = sub.add_parser("bench", help="benchmark a suite of equations (resumable)")
    b.add_argument("--suite", default="feynman", help="equation catalogue (default feynman)")
    b.add_argument("--noise", type=_float_list, default=[0.0], help="levels, e.g. 0,0.01")
    b.add_argument("--seeds", type=_positive_int, default=1, help="number of seeds (0..N-1)")
    b.add_argument("--jobs", type=_positive_int, default=1, help="worker processes")
    b.add_argument("--out", required=True, metavar="F.jsonl", help="results, appended")
    b.add_argument("--equations", type=_str_list, default=None, help="ids, e.g. I.6.2a,I.12.1")
    b.add_argument("--time-limit", type=_positive_float, default=None, metavar="S")
    b.add_argument("--n", type=_positive_int, default=1000, help="samples per equation")
    b.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler")
    b.add_argument(
        "--no-units", action="store_true", help="do not pass the catalogue's units (ablation)"
    )
    b.add_argument(
        "--no-structure",
        action="store_true",
        help="no structure discovery (splits on a KAN surrogate): an ablation",
    )
    r = sub.add_parser("report", help="summarize a benchmark JSONL file")
    r.add_argument("results", metavar="F.jsonl")
    r.add_argument("--markdown", default=None, metavar="OUT.md", help="write the report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when no formula was found, 2 for bad input or usage.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse already printed the usage and the error
        return exit_.code if isinstance(exit_.code, int) else 2
    commands = {"discover": _discover, "demo": _demo, "bench": _bench, "report": _report}
    try:
        return commands[args.command](args)
    except (ValueError, OSError, ImportError) as err:
        print(f"kandiscover: error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # the search ran but found nothing
        print(f"kandiscover: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kandiscover: interrupted", file=sys.stderr)
        return 130


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _discover(args: argparse.Namespace) -> int:
    from .cli_discover import run

    return run(args)


def _demo(args: argparse.Namespace) -> int:
    from .data import get_equation, sample_equation
    from .search import discover
    from .symbolic.equivalence import r2_score, symbolic_solution

    eq = get_equation(args.equation)
    ds = sample_equation(eq, n=1000, seed=args.seed)
    print(f"equation {eq.id}: {eq.output} = {eq.expr}  ({eq.source})".replace("  ()", ""))
    print(f"sampled {len(ds.y_train)} training and {len(ds.y_test)} test points; searching...")
    t0 = time.perf_counter()
    result = discover(
        ds.X_train, ds.y_train, names=ds.names, time_limit=args.time_limit, seed=args.seed
    )
    seconds = time.perf_counter() - t0
    solved = symbolic_solution(result.formula, eq.expr)
    print(f"truth: {eq.output} = {eq.expr}")
    print(f"found: {eq.output} = {result.formula}")
    print(f"LaTeX: {result.latex}")
    print(f"R^2 on held-out data: {r2_score(ds.y_test, result.predict(ds.X_test)):.6f}")
    verdict = "recovered exactly (symbolic solution)" if solved else "not the exact law"
    print(f"verdict: {verdict}; {seconds:.1f} s")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench.report import summarize
    from .bench.runner import make_tasks, options_fingerprint, read_records, run_bench

    tasks = make_tasks(args.suite, args.equations, range(args.seeds), args.noise)
    options = {"suite": args.suite, "n": args.n, "time_limit": args.time_limit}
    if args.no_units:
        options["use_units"] = False
    if args.no_structure:
        from .search import SearchConfig

        options["config"] = SearchConfig(structure=False)
    before = len(tasks)
    with _warnings_to_stderr():
        written = run_bench(
            tasks,
            args.out,
            options=options,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=True,
        )
        print(
            f"{len(written)} run(s) written to {args.out} ({before - len(written)} already there)"
        )
        keys, fingerprint = {t.key for t in tasks}, options_fingerprint(options)
        records = read_records(args.out)
    mine = [r for r in records if _record_key(r) in keys and r.get("options") == fingerprint]
    if mine:
        s = summarize(mine)
        print(
            f"symbolic solution rate: {s.symbolic_rate:.1%}   "
            f"accuracy solution rate: {s.accuracy_rate:.1%}   ({s.runs} runs, {s.errors} crashed)"
        )
    return 0


def _record_key(record: dict[str, Any]) -> tuple[str, int, float] | None:
    try:
        return (str(record["name"]), int(record["seed"]), float(record["noise"]))
    except (KeyError, TypeError, ValueError):
        return None


@contextlib.contextmanager
def _warnings_to_stderr():
    """Show the library's warnings (e.g. skipped invalid records) as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                print(f"kandiscover: warning: {w.message}", file=sys.stderr)


def _report(args: argparse.Namespace) -> int:
    import os

    from .bench.report import load_summaries, to_markdown

    if not os.path.exists(args.results):
        raise FileNotFoundError(f"no such results file: {args.results!r}")
    with _warnings_to_stderr():
        summaries = load_summaries(args.results)
    title = f"Benchmark report: {args.results}"
    if len(summaries) == 1:
        text = to_markdown(summaries[0][1], title=title)
    else:  # runs with other options are reported separately
        text = "\n".join(
            to_markdown(summary, title=f"{title} ({_describe(options)})")
            for options, summary in summaries
        )
    print(text, end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.markdown}")
    return 0


def _describe(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "no options recorded"
