"""Running a pure-Python computation with a wall-clock deadline.

SymPy evaluates expressions as it builds them, and some evaluations (assumption queries
that expand integer powers of sums, for instance) take seconds on small inputs. The
limits of :mod:`._build` keep the common cases fast, and the parser checks the clock
between the SymPy calls it makes; :func:`with_deadline` bounds a single call that runs
long: a watcher thread asks the interpreter to raise :class:`DeadlineExceeded` in the
computing thread (``PyThreadState_SetAsyncExc``, the way Ctrl-C raises
``KeyboardInterrupt``) once the deadline has passed, and again every 50 ms until the
computation has stopped. The exception arrives between bytecodes, so it cannot stop one
long call into C (which the limits of :mod:`._build` keep short).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["DeadlineExceeded", "with_deadline"]

T = TypeVar("T")
_REPEAT = 0.05

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


class DeadlineExceeded(BaseException):
    """Raised in the computing thread when its deadline has passed; a ``BaseException``
    (as ``KeyboardInterrupt``), so that ``except Exception`` in the computation does not
    swallow it."""


def with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """``fn()``, or :class:`DeadlineExceeded` raised inside it once ``seconds`` have passed.

    No exception is left pending for the caller: the watcher cannot raise once ``fn`` has
    returned, and a request not yet delivered is withdrawn.
    """
    thread = threading.get_ident()
    lock = threading.Lock()
    stop = threading.Event()
    running = [True]

    def watch() -> None:
        delay = seconds
        while not stop.wait(delay):
            with lock:
                if not running[0]:
                    return
                _set_async_exc(thread, DeadlineExceeded)
            delay = _REPEAT

    watcher = threading.Thread(target=watch, name="kandiscover-deadline", daemon=True)
    watcher.start()
    try:
        return fn()
    finally:
        with lock:
            running[0] = False
        stop.set()
        _set_async_exc(thread, ctypes.py_object())  # withdraw a request not yet delivered
        watcher.join()
