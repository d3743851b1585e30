"""Fake benchmark tasks for the runner's fault tests: module-level, so that worker
processes can import them. Not a test module (pytest collects ``test_*.py`` only)."""

from __future__ import annotations

import os
import signal
import time


def task(name, seed, noise, *, sleep=0.0, slow=(), die=None, kill=None, pad=0, **options):
    """A stand-in for discovery: ``die`` exits its process, ``kill`` kills it with SIGKILL,
    names in ``slow`` sleep for a minute, the others for ``sleep`` seconds; ``pad`` makes
    the record that many characters longer."""
    if name == die:
        os._exit(3)
    if name == kill:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60.0 if name in slow else sleep)
    return {
        "name": name,
        "seed": seed,
        "noise": noise,
        "formula": "x" + " " * pad,
        "truth": "x",
        "symbolic_solution": True,
        "accuracy_solution": True,
        "r2_test": 1.0,
        "seconds": 0.01,
        "complexity": 1,
        "pid": os.getpid(),
    }
