"""Worker processes for the benchmark: one task at a time each, deaths and Ctrl-C handled.

``concurrent.futures.ProcessPoolExecutor`` fails every pending task when one worker
dies, and on Ctrl-C waits for the running tasks before it exits. :class:`WorkerPool`
keeps its own processes, each with a pipe, so it knows which task each one runs:

* a worker that dies while running a task (killed for memory, ``os._exit``) fails only
  that task, and a new worker takes its place;
* a worker that dies before it is ready (it could not import the task function, say)
  gives its task back; when that happens three times in a row the pool gives up with a
  ``RuntimeError`` rather than fail every task;
* on ``KeyboardInterrupt`` the results already sent are handed over, the workers are
  terminated at once and the interrupt goes on. Workers ignore SIGINT (the terminal
  sends it to the whole process group): the parent decides.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from typing import Any

__all__ = ["WorkerPool"]

Record = dict[str, Any]
RunTask = Callable[[Any, Callable[..., Record], dict[str, Any]], Record]
Failure = Callable[[Any, BaseException, float], Record]
OnResult = Callable[[Record], None]

_READY = "ready"
_START_FAILURES = 3


def _serve(conn: Any, run_task: RunTask, failure: Failure, evaluate: Callable, options: dict):
    """A worker: say it is ready, then receive a task and send its record, until the
    pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(1)
    conn.send(_READY)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        t0 = time.perf_counter()
        record = run_task(task, evaluate, options)
        try:
            conn.send(record)
        except Exception as err:  # a record that does not pickle fails its task only
            conn.send(failure(task, err, time.perf_counter() - t0))


class _Worker:
    def __init__(self, context: Any, args: tuple) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, *args), name="bench-worker")
        self.process.start()
        child.close()
        self.ready = False
        self.task: Any = None
        self.started = 0.0

    def give(self, task: Any) -> None:
        self.task, self.started = task, time.perf_counter()
        self.conn.send(task)

    def receive(self) -> tuple[Any, bool]:
        """A message if one is waiting, and whether the pipe has closed (the worker died)."""
        try:
            return (self.conn.recv(), False) if self.conn.poll() else (None, False)
        except (EOFError, OSError):
            return None, True

    def terminate(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()

    def join(self) -> None:
        self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class WorkerPool:
    """``jobs`` worker processes that run ``run_task(task, evaluate, options)``.

    Parameters
    ----------
    jobs : int
        Number of worker processes.
    run_task : callable
        Module-level function ``run_task(task, evaluate, options) -> record``.
    failure : callable
        Module-level function ``failure(task, error, seconds) -> record``.
    evaluate, options
        Passed to ``run_task`` in the workers (they must pickle).
    died : callable
        ``died(task, exitcode, seconds) -> record``: the record of a task whose worker
        died while running it.
    """

    def __init__(
        self,
        jobs: int,
        run_task: RunTask,
        failure: Failure,
        evaluate: Callable[..., Record],
        options: dict[str, Any],
        died: Callable[[Any, int | None, float], Record],
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        self.jobs, self.died = jobs, died
        self.args = (run_task, failure, evaluate, options)
        self.workers: list[_Worker] = []
        self.received: list[Record] = []  # read from a pipe, not yet handed over
        self.start_failures = 0

    def run(self, tasks: Sequence[Any], on_result: OnResult) -> None:
        """Run every task, calling ``on_result(record)`` as each finishes.

        Raises
        ------
        KeyboardInterrupt
            After handing over the results already sent and terminating the workers.
        RuntimeError
            If workers die before they are ready three times in a row.
        """
        pending = deque(tasks)
        try:
            while pending or any(w.task is not None for w in self.workers):
                self._assign(pending)
                self._collect(pending, on_result)
        except KeyboardInterrupt:
            self._hand_over_sent(on_result)
            raise
        finally:
            for worker in self.workers:
                worker.terminate()
            for worker in self.workers:
                worker.join()
            self.workers = []

    def _assign(self, pending: deque) -> None:
        self.workers = [w for w in self.workers if w.task is not None or w.process.is_alive()]
        while len(self.workers) < min(self.jobs, len(pending) + len(self.workers)):
            self.workers.append(_Worker(self.context, self.args))
        for worker in self.workers:
            if worker.task is None and pending:
                worker.give(pending.popleft())

    def _collect(self, pending: deque, on_result: OnResult) -> None:
        busy = [w for w in self.workers if w.task is not None]
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
        for worker in busy:
            message, closed = worker.receive()
            if message == _READY:
                worker.ready, self.start_failures = True, 0
            elif message is not None:
                worker.task = None
                self._hand_over(message, on_result)
            elif closed or not worker.process.is_alive():
                self._bury(worker, pending, on_result)

    def _bury(self, worker: _Worker, pending: deque, on_result: OnResult) -> None:
        """A worker died: fail its task, or give it back if the worker never got ready."""
        worker.terminate()
        worker.join()
        self.workers.remove(worker)
        code = worker.process.exitcode
        if not worker.ready:
            pending.appendleft(worker.task)
            self.start_failures += 1
            if self.start_failures >= _START_FAILURES:
                raise RuntimeError(
                    f"benchmark worker processes die before they are ready (exit code {code}, "
                    f"{self.start_failures} times in a row); their output above says why"
                )
            return
        self._hand_over(
            self.died(worker.task, code, time.perf_counter() - worker.started), on_result
        )

    def _hand_over(self, record: Record, on_result: OnResult) -> None:
        self.received.append(record)
        on_result(record)
        self.received.remove(record)

    def _hand_over_sent(self, on_result: OnResult) -> None:
        """After an interrupt: pass on what was received or sent but not yet passed on
        (a record may then be written twice; reading de-duplicates)."""
        for worker in self.workers:
            while worker.task is not None:
                message, _ = worker.receive()
                if message is None:
                    break
                if message != _READY:
                    self.received.append(message)
                    worker.task = None
        for record in list(self.received):
            on_result(record)
        self.received = []
