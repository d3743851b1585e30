"""The wheel carries the catalogue and the tables, and finds them once installed."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("hatchling", reason="building the wheel needs hatchling (dev extras)")

CHECK = """
import pathlib, sys
import kandiscover
here = pathlib.Path(kandiscover.__file__).parent
assert pathlib.Path(sys.argv[1]) in here.parents, here
assert (here / "equations" / "feynman.csv").is_file()
eq = kandiscover.get_equation("I.12.1")
assert str(eq.expr) == "Nn*mu" and eq.variables[0].unit is not None
frame = kandiscover.load_dataset("orbits")
assert frame.loc["Io", "primary"] == "Jupiter" and frame.attrs["units"]["a_km"] == "km"
assert len(kandiscover.load_dataset("kepler_orbits")) == len(frame)
print("ok", here)
"""


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _build(kind: str, out: Path) -> Path:
    if kind == "wheel":
        _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "-w", str(out), str(ROOT), cwd=out)  # fmt: skip
        return next(out.glob("kandiscover-*.whl"))
    _run(sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(out), cwd=ROOT)
    return next(out.glob("kandiscover-*.tar.gz"))


def test_wheel_and_sdist_carry_the_data(tmp_path: Path) -> None:
    wheel = set(zipfile.ZipFile(_build("wheel", tmp_path)).namelist())
    assert {"kandiscover/equations/feynman.csv", "kandiscover/datasets/orbits.json"} <= wheel
    assert not any(name.startswith(("equations/", "datasets/")) for name in wheel)
    with tarfile.open(_build("sdist", tmp_path)) as archive:
        sdist = archive.getnames()
    assert any(n.endswith("/equations/feynman.csv") for n in sdist)
    assert any(n.endswith("/datasets/supernovae.csv") for n in sdist)


@pytest.mark.slow
def test_installed_wheel_finds_the_catalogue_and_the_tables(tmp_path: Path) -> None:
    wheel = _build("wheel", tmp_path)
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                     cwd=tmp_path).strip())  # fmt: skip
    _run(sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site),
         str(wheel), cwd=tmp_path)  # fmt: skip
    # The dependencies (torch, sympy, ...) come from this environment, appended after the
    # fresh site-packages; a .pth line adds a path without reading the .pth files there,
    # so an editable install of the checkout is not picked up.
    (site / "_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    out = _run(str(python), "-c", CHECK, str(site), cwd=run_dir, env=env)
    assert out.startswith("ok")
