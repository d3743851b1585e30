"""Run a benchmark suite: one discovery per (equation, seed, noise), resumable.

Every finished task is appended to a JSONL file at once (one locked write, flushed to
disk, see :mod:`._store`), so a run that dies or is interrupted loses nothing; a rerun
skips the tasks the file already holds *for the same options* (each record stores the
fingerprint of the options that change a result: a rerun with other options is a new
run in the same file, reported separately). A task that crashes is recorded as that
task's failure (with its ``error``) and the run goes on; a worker process that dies
fails only its own task, with ``"error_kind": "worker_died"``, which a rerun retries.
Tasks run in this process, in local worker processes (:mod:`._pool`: Ctrl-C stops them
at once) or on a Dask distributed cluster.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import get_equation, load_catalogue, sample_equation
from ..export import to_sympy_string
from ..search import SearchConfig, discover
from ..symbolic.equivalence import (
    accuracy_solution,
    r2_score,
    structure_solution,
    symbolic_solution,
)
from ._pool import WorkerPool
from ._store import WORKER_DIED, ResultsFile, identity, read_records

__all__ = [
    "RESULT_OPTIONS",
    "Task",
    "evaluate_equation",
    "make_tasks",
    "options_fingerprint",
    "read_records",
    "run_bench",
]

log = logging.getLogger(__name__)

Record = dict[str, Any]
Evaluate = Callable[..., Record]

#: The options of ``evaluate`` that change a result, and so belong to a record's identity.
RESULT_OPTIONS = ("suite", "n", "time_limit", "use_units", "config")


@dataclass(frozen=True)
class Task:
    """One benchmark run: an equation of a suite, a seed and a noise level."""

    name: str
    seed: int
    noise: float

    @property
    def key(self) -> tuple[str, int, float]:
        """The identity under which the run is recorded (and skipped on resume)."""
        return (str(self.name), int(self.seed), float(self.noise))


def make_tasks(
    suite: str = "feynman",
    equations: Sequence[str] | None = None,
    seeds: Iterable[int] = (0,),
    noises: Iterable[float] = (0.0,),
) -> list[Task]:
    """All (equation, seed, noise) combinations, equations in catalogue order.

    Raises
    ------
    ValueError
        For an unknown suite or equation id (with suggestions), or a negative noise.
    """
    noises = [float(v) for v in noises]
    bad = [v for v in noises if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError(f"noise levels must be finite and >= 0, got {bad}")
    if equations is None:
        names = list(load_catalogue(suite))
    else:
        names = [get_equation(e, suite).id for e in equations]
    return [Task(n, int(s), v) for n in names for s in seeds for v in noises]


def evaluate_equation(
    name: str,
    seed: int = 0,
    noise: float = 0.0,
    *,
    suite: str = "feynman",
    n: int = 1000,
    time_limit: float | None = None,
    config: SearchConfig | None = None,
    use_units: bool = True,
) -> Record:
    """Sample a catalogue equation, discover a law on its training part, judge it.

    With ``use_units`` (the default) the catalogue's SI units of the inputs and of the
    target are passed to :func:`discover`, which then tries dimensional analysis first
    (as AI Feynman does); ``use_units=False`` gives the data alone.

    Returns
    -------
    dict
        ``name, seed, noise, formula, truth, symbolic_solution, structure_solution
        (the law up to its fitted constants), accuracy_solution,
        r2_test, seconds, complexity, view, attempts, stopped, approximate,
        decomposition``. ``r2_test`` is measured on the test part of the sampled data set
        (noise-free targets); ``view`` says where the formula came from (e.g.
        ``"units:exhaustive"``), ``attempts`` what was tried, ``stopped`` why the search
        ended, ``decomposition`` the splits that built the law (if any).
    """
    eq = get_equation(name, suite)
    ds = sample_equation(eq, n=n, noise=noise, seed=seed)
    units = ds.units if use_units else None
    res = discover(
        ds.X_train,
        ds.y_train,
        names=ds.names,
        units=None if units is None else [units[n] for n in ds.names],
        target_units=None if units is None else units[ds.target],
        time_limit=time_limit,
        seed=seed,
        config=config,
    )
    with np.errstate(all="ignore"):
        pred = res.predict(ds.X_test)
    finite = bool(np.all(np.isfinite(pred)))
    return {
        "name": eq.id,
        "seed": int(seed),
        "noise": float(noise),
        "formula": to_sympy_string(res.formula),
        "truth": to_sympy_string(eq.expr),
        "symbolic_solution": bool(symbolic_solution(res.formula, eq.expr, ranges=_ranges(eq))),
        "structure_solution": bool(structure_solution(res.formula, eq.expr, _ranges(eq))),
        "accuracy_solution": bool(accuracy_solution(ds.y_test, pred)),
        "r2_test": _finite_or_none(r2_score(ds.y_test, pred)) if finite else None,
        "seconds": float(res.seconds),
        "complexity": int(res.complexity),
        "view": res.view,
        "attempts": list(res.attempts),
        "stopped": res.stopped,
        "approximate": bool(res.approximate),
        "decomposition": None if res.decomposition is None else str(res.decomposition),
    }


def _ranges(eq) -> dict[str, tuple[float, float]]:
    """The sampling range of every variable of a catalogue equation (for the judge)."""
    return {v.name: (v.low, v.high) for v in eq.variables}


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _failure(task: Task, err: BaseException | str, seconds: float, kind: str = "") -> Record:
    record = {
        "name": task.name,
        "seed": task.seed,
        "noise": task.noise,
        "formula": None,
        "truth": None,
        "symbolic_solution": False,
        "accuracy_solution": False,
        "r2_test": None,
        "seconds": float(seconds),
        "error": err if isinstance(err, str) else f"{type(err).__name__}: {err}",
    }
    if kind:
        record["error_kind"] = kind
    return record


def _died(task: Task, exitcode: int | None, seconds: float) -> Record:
    """The record of a task whose worker process died; a rerun retries it."""
    how = f"killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"
    log.warning("task %s: its worker process died (%s)", task.key, how)
    return _failure(task, f"WorkerDied: the worker process died ({how})", seconds, WORKER_DIED)


def _run_task(task: Task, evaluate: Evaluate, options: dict[str, Any]) -> Record:
    """Evaluate one task; any exception becomes the task's failure record."""
    t0 = time.perf_counter()
    try:
        record = evaluate(task.name, task.seed, task.noise, **options)
    except Exception as err:  # one equation crashing must not stop the run
        log.warning("task %s failed: %s", task.key, err)
        return _failure(task, err, time.perf_counter() - t0)
    return {**record, "name": task.name, "seed": task.seed, "noise": task.noise}


def _worker(task: Task, evaluate: Evaluate, options: dict[str, Any]) -> Record:
    """Entry point on a Dask worker: one thread per task."""
    import torch

    torch.set_num_threads(1)
    return _run_task(task, evaluate, options)


def options_fingerprint(
    options: dict[str, Any] | None, evaluate: Evaluate = evaluate_equation
) -> dict[str, Any]:
    """The options of a run that change its results (:data:`RESULT_OPTIONS`), with the
    defaults of ``evaluate`` filled in, as plain JSON values (``config`` by its repr).

    Examples
    --------
    >>> options_fingerprint({"n": 300})
    {'suite': 'feynman', 'n': 300, 'time_limit': None, 'use_units': True, 'config': None}
    """
    defaults = {
        name: p.default
        for name, p in inspect.signature(evaluate).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    merged = {**defaults, **(options or {})}
    return {k: _plain(merged[k]) for k in RESULT_OPTIONS if k in merged}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return int(number) if number.is_integer() else number
    return repr(value)


def _results_dask(
    tasks: list[Task], evaluate: Evaluate, options: dict[str, Any], scheduler: Any
) -> Iterator[Record]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ImportError(
            "--scheduler needs Dask distributed; install it with "
            "`pip install 'kandiscover[dask]'` (or `pip install 'dask[distributed]'`)"
        ) from err
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {client.submit(_worker, t, evaluate, options, pure=False): t for t in tasks}
        try:
            for future in as_completed(futures):
                yield _outcome(futures[future], future)
        finally:  # interrupted or done: nothing may go on running for this call
            client.cancel(list(futures))
    finally:
        if client is not scheduler:
            client.close()


def _outcome(task: Task, future: Any) -> Record:
    try:
        return future.result()
    except Exception as err:  # the worker itself died (e.g. killed for memory)
        return _failure(task, err, math.nan, WORKER_DIED)


def run_bench(
    tasks: Sequence[Task],
    out: str | os.PathLike[str],
    *,
    evaluate: Evaluate = evaluate_equation,
    options: dict[str, Any] | None = None,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = False,
) -> list[Record]:
    """Run the tasks not yet recorded in ``out`` and append one record per task.

    Parameters
    ----------
    tasks : sequence of Task
        What to run. A task is skipped when ``out`` holds a record of it (its key
        ``(name, seed, noise)``) written with the same :func:`options_fingerprint`,
        unless that record is of a dead worker.
    out : path
        The JSONL file (created if missing). A truncated last line is removed first.
        Several runs may append to one file at once.
    evaluate : callable
        ``evaluate(name, seed, noise, **options) -> dict``; the default samples, discovers
        and judges a catalogue equation. Must be picklable for ``jobs > 1`` or Dask.
    options : dict, optional
        Keyword arguments of ``evaluate`` (``n``, ``time_limit``, ``config``...); those in
        :data:`RESULT_OPTIONS` are stored with every record as ``"options"``.
    jobs : int
        Worker processes (1 runs in this process, where a task that kills its process
        kills the run).
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler address (or client); tasks are submitted to that cluster.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    list of dict
        The records written by this call, in order of completion.

    Raises
    ------
    ValueError
        If ``jobs`` is not a positive integer.
    ImportError
        If ``scheduler`` is given and Dask distributed is not installed.
    KeyboardInterrupt
        On Ctrl-C, after every finished result is written and the workers are stopped.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    options = dict(options or {})
    fingerprint = options_fingerprint(options, evaluate)
    with ResultsFile(out) as results:
        done = {identity(r) for r in read_records(out) if r.get("error_kind") != WORKER_DIED}
        mine = {t.key: t for t in tasks if identity(_stamp(t, fingerprint)) not in done}
        pending = list(mine.values())
        log.info("%d task(s) to run, %d already recorded", len(pending), len(tasks) - len(pending))
        writer = _Writer(results, fingerprint, len(pending), progress)
        try:
            if scheduler is not None:
                for record in _results_dask(pending, evaluate, options, scheduler):
                    writer(record)
            elif jobs == 1:
                for task in pending:
                    writer(_run_task(task, evaluate, options))
            else:
                WorkerPool(jobs, _run_task, _failure, evaluate, options, _died).run(pending, writer)
        finally:
            writer.close()
    return writer.written


def _stamp(task: Task, fingerprint: dict[str, Any]) -> Record:
    return {"name": task.name, "seed": task.seed, "noise": task.noise, "options": fingerprint}


class _Writer:
    """Appends each record (with the run's options) to the file, with a progress bar."""

    def __init__(self, results: ResultsFile, fingerprint: dict, total: int, progress: bool):
        from tqdm.auto import tqdm

        self.results, self.fingerprint, self.written = results, fingerprint, []
        self.bar = tqdm(total=total, disable=not progress, desc="bench", unit="eq")

    def __call__(self, record: Record) -> None:
        record = self.results.append({**record, "options": self.fingerprint})
        self.written.append(record)
        self.bar.set_postfix_str(f"{record['name']} {'ok' if record['symbolic_solution'] else '-'}")
        self.bar.update()

    def close(self) -> None:
        self.bar.close()
