"""Helpers shared by the benchmark scripts: pykan as a peer, the machine's description."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import tempfile
from importlib.metadata import PackageNotFoundError, version

__all__ = ["cpu_model", "in_tempdir", "load_pykan", "quiet"]


@contextlib.contextmanager
def quiet():
    """Silence stdout and stderr (pykan prints tables and progress bars)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


@contextlib.contextmanager
def in_tempdir():
    """Run inside a fresh temporary directory (pykan writes ./model/ there)."""
    old = os.getcwd()
    path = tempfile.mkdtemp(prefix="kd_bench_pykan_")
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(old)


def load_pykan():
    """pykan's KAN class and version, or (None, reason)."""
    try:
        with quiet():
            from kan import KAN as PyKAN
    except Exception as exc:  # ImportError, or a missing dependency of pykan
        return None, f"pykan not importable ({type(exc).__name__}: {exc})"
    try:
        ver = version("pykan")
    except PackageNotFoundError:
        ver = "unknown"
    return PyKAN, ver


def cpu_model() -> str:
    """The processor's model name, for the benchmark headers."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
