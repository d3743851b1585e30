"""Run a benchmark suite: one discovery per (equation, seed, noise), resumable.

Every finished task is appended to a JSONL file at once (flushed and fsynced), so a run
that dies loses nothing; a rerun skips the tasks the file already holds. A task that
crashes is recorded as that task's failure (with its ``error``) and the run goes on. Tasks
run in this process, in a local process pool, or on a Dask distributed cluster.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import get_equation, load_catalogue, sample_equation
from ..export import to_sympy_string
from ..search import SearchConfig, discover
from ..symbolic.equivalence import accuracy_solution, r2_score, symbolic_solution

__all__ = [
    "Task",
    "evaluate_equation",
    "make_tasks",
    "read_records",
    "run_bench",
]

log = logging.getLogger(__name__)

Record = dict[str, Any]
Evaluate = Callable[..., Record]


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
        ``name, seed, noise, formula, truth, symbolic_solution, accuracy_solution,
        r2_test, seconds, complexity, view, attempts``. ``r2_test`` is measured on the
        test part of the sampled data set (noise-free targets); ``view`` says where the
        formula came from (e.g. ``"units+exhaustive"``), ``attempts`` what was tried.
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
        "symbolic_solution": bool(symbolic_solution(res.formula, eq.expr)),
        "accuracy_solution": bool(accuracy_solution(ds.y_test, pred)),
        "r2_test": _finite_or_none(r2_score(ds.y_test, pred)) if finite else None,
        "seconds": float(res.seconds),
        "complexity": int(res.complexity),
        "view": res.view,
        "attempts": list(res.attempts),
    }


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _failure(task: Task, err: BaseException, seconds: float) -> Record:
    return {
        "name": task.name,
        "seed": task.seed,
        "noise": task.noise,
        "formula": None,
        "truth": None,
        "symbolic_solution": False,
        "accuracy_solution": False,
        "r2_test": None,
        "seconds": float(seconds),
        "error": f"{type(err).__name__}: {err}",
    }


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
    """Entry point in a pool process or a Dask worker: one thread per task."""
    import torch

    torch.set_num_threads(1)
    return _run_task(task, evaluate, options)


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """The records of a JSONL file; blank, truncated or malformed lines are skipped.

    A missing file holds no records.
    """
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping a malformed (truncated?) line", path, number)
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def _key(record: Record) -> tuple[str, int, float] | None:
    try:
        return (str(record["name"]), int(record["seed"]), float(record["noise"]))
    except (KeyError, TypeError, ValueError):
        return None


def _repair_tail(path: str | os.PathLike[str]) -> None:
    """Make the file end with a newline, cutting off a truncated last line if there is one."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        try:
            json.loads(data[cut:])
        except ValueError:  # killed mid-write: drop the partial line
            fh.truncate(cut)
        else:  # a complete record without its newline
            fh.write(b"\n")


def _append(fh: Any, record: Record) -> None:
    fh.write(json.dumps(record, allow_nan=False, default=_json_default) + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _clean(record: Record) -> Record:
    """Non-finite floats become None (JSON has no NaN or infinity)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }


def _results_local(
    tasks: list[Task], evaluate: Evaluate, options: dict[str, Any], jobs: int
) -> Iterator[Record]:
    if jobs == 1:
        for task in tasks:
            yield _run_task(task, evaluate, options)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_worker, t, evaluate, options): t for t in tasks}
        for future in cf.as_completed(futures):
            yield _outcome(futures[future], future)


def _outcome(task: Task, future: Any) -> Record:
    try:
        return future.result()
    except Exception as err:  # the worker itself died (e.g. killed for memory)
        return _failure(task, err, math.nan)


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
        for future in as_completed(futures):
            yield _outcome(futures[future], future)
    finally:
        if client is not scheduler:
            client.close()


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
        What to run; tasks whose key ``(name, seed, noise)`` is in ``out`` are skipped.
    out : path
        The JSONL file (created if missing). A truncated last line is removed first.
    evaluate : callable
        ``evaluate(name, seed, noise, **options) -> dict``; the default samples, discovers
        and judges a catalogue equation. Must be picklable for ``jobs > 1`` or Dask.
    options : dict, optional
        Keyword arguments of ``evaluate`` (``n``, ``time_limit``, ``config``...).
    jobs : int
        Worker processes (1 runs in this process).
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
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    _repair_tail(out)
    done = {_key(r) for r in read_records(out)}
    pending = list({t.key: t for t in tasks if t.key not in done}.values())
    log.info("%d task(s) to run, %d already recorded", len(pending), len(tasks) - len(pending))
    options = dict(options or {})
    if scheduler is not None:
        results = _results_dask(pending, evaluate, options, scheduler)
    else:
        results = _results_local(pending, evaluate, options, jobs)
    return _write_all(results, out, len(pending), progress)


def _write_all(results: Iterator[Record], out: Any, total: int, progress: bool) -> list[Record]:
    from tqdm.auto import tqdm

    written = []
    with (
        open(out, "a", encoding="utf-8") as fh,
        tqdm(total=total, disable=not progress, desc="bench", unit="eq") as bar,
    ):
        for record in results:
            record = _clean(record)
            _append(fh, record)
            written.append(record)
            bar.set_postfix_str(f"{record['name']} {'ok' if record['symbolic_solution'] else '-'}")
            bar.update()
    return written
