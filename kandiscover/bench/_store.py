"""The JSONL results file of a benchmark: locked appends, validated and de-duplicated reads.

Each record is one line, written with a single ``write`` call on a file opened for
appending, under an exclusive ``fcntl.flock`` lock (where the platform has one), then
flushed to disk. So two runs may append to one file at once: their lines never mix, and
a task both ran is read back once. Reading skips blank, truncated and malformed lines
and records whose fields have the wrong types (a string ``"yes"`` is not a solution),
with one warning that counts them.

A record's identity is its task key ``(name, seed, noise)`` and its ``options``: the
fingerprint of the run options that change a result (see
:func:`~kandiscover.bench.runner.options_fingerprint`). Records written before
fingerprints existed read as ``options = {}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import numbers
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not locked
    fcntl = None

__all__ = ["WORKER_DIED", "ResultsFile", "identity", "read_records"]

log = logging.getLogger(__name__)

Record = dict[str, Any]
WORKER_DIED = "worker_died"

_OPTIONAL = {
    "formula": str,
    "truth": str,
    "r2_test": numbers.Real,
    "seconds": numbers.Real,
    "error": str,
    "error_kind": str,
    "options": dict,
}


def identity(record: Record) -> tuple[str, int, float, str]:
    """The key under which a record is resumed and de-duplicated."""
    options = json.dumps(record.get("options", {}), sort_keys=True)
    return (record["name"], int(record["seed"]), float(record["noise"]), options)


def problem(record: Any) -> str | None:
    """Why ``record`` is not a valid benchmark record, or ``None``."""
    if not isinstance(record, dict):
        return f"a {type(record).__name__}, not an object"
    checks = [
        ("name", isinstance(record.get("name"), str)),
        ("seed", _integer(record.get("seed"))),
        ("noise", _real(record.get("noise")) and math.isfinite(record["noise"])),
        ("symbolic_solution", isinstance(record.get("symbolic_solution"), bool)),
        ("accuracy_solution", isinstance(record.get("accuracy_solution"), bool)),
    ]
    for key, kind in _OPTIONAL.items():
        value = record.get(key)
        ok = value is None or (_real(value) if kind is numbers.Real else isinstance(value, kind))
        checks.append((key, ok))
    bad = [key for key, ok in checks if not ok]
    return f"bad or missing {', '.join(bad)}" if bad else None


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """The valid records of a JSONL file, one per identity, in file order.

    Blank, truncated or malformed lines and invalid records are skipped, with a warning
    that counts them. When a task appears more than once (two runs on one file), the
    first record is kept, except that a record of a dead worker gives way to a real
    result. A missing file holds no records.
    """
    if not os.path.exists(path):
        return []
    best: dict[tuple, Record] = {}
    skipped: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                skipped.append(f"line {number}: malformed or truncated")
                continue
            why = problem(record)
            if why is not None:
                skipped.append(f"line {number}: {why}")
                continue
            key = identity(record)
            if key not in best or (_died(best[key]) and not _died(record)):
                best[key] = record
    if skipped:
        shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        warnings.warn(
            f"{os.fspath(path)}: skipped {len(skipped)} invalid line(s) ({shown})",
            RuntimeWarning,
            stacklevel=2,
        )
    return list(best.values())


def _died(record: Record) -> bool:
    return record.get("error_kind") == WORKER_DIED


class ResultsFile:
    """A results file opened for appending records.

    Parameters
    ----------
    path : path-like
        Created if missing; a truncated last line (a run killed mid-write) is removed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        with self._locked():
            self._repair_tail()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _repair_tail(self) -> None:
        """End the file with a newline, cutting a truncated last line if there is one."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        tail = os.pread(self._fd, min(size, 1 << 20), max(0, size - (1 << 20)))
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n") + 1
        try:
            json.loads(tail[cut:])
        except ValueError:  # killed mid-write: drop the partial line
            os.ftruncate(self._fd, size - (len(tail) - cut))
        else:  # a complete record without its newline
            os.write(self._fd, b"\n")

    def append(self, record: Record) -> Record:
        """Write ``record`` (non-finite floats as ``null``) as one line; return it."""
        record = _clean(record)
        data = (json.dumps(record, allow_nan=False, default=_json_default) + "\n").encode()
        with self._locked():
            view = memoryview(data)
            while view:  # one call in practice; a short write is finished under the lock
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        return record


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _clean(record: Record) -> Record:
    """Non-finite floats become None (JSON has no NaN or infinity)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }
