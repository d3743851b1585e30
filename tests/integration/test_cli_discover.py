"""End to end through the command line: discover from a CSV, bench, Dask, report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy

from kandiscover.bench import read_records
from kandiscover.cli import main
from kandiscover.symbolic.equivalence import symbolic_solution
from kandiscover.symbolic.parse import parse_formula


def test_progress_off_a_terminal_is_one_plain_line_per_task(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.uniform(1, 3, 200), "b": rng.uniform(1, 3, 200)})
    frame["y"] = 3 * frame["a"] + frame["b"]
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    assert main(["discover", str(data), "--target", "y", "--time-limit", "10"]) == 0
    err = capsys.readouterr().err  # (captured: not a terminal)
    assert "\r" not in err
    lines = [x for x in err.splitlines() if "best:" in x]
    assert lines and lines[-1].split("  ", 1)[1].startswith("y: done  best: ")
    assert all(x.split()[0].endswith("/10") for x in lines)


def test_discover_recovers_a_product(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"mass": rng.uniform(1, 3, 300), "speed": rng.uniform(1, 3, 300)})
    frame["force"] = 2.5 * frame["mass"] * frame["speed"]
    data, out = tmp_path / "data.csv", tmp_path / "result.json"
    frame.to_csv(data, index=False)
    code = main(
        ["discover", str(data), "--target", "force", "--time-limit", "60", "--json", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "force = " in printed
    assert "LaTeX: " in printed
    result = json.loads(out.read_text())
    assert set(result) >= {"formula", "latex", "r2_test", "complexity", "seconds", "pareto"}
    found = parse_formula(result["formula"], variables=["mass", "speed"])
    mass, speed = sympy.symbols("mass speed")
    assert symbolic_solution(found, 2.5 * mass * speed)
    assert result["r2_test"] > 0.999999
    assert all({"formula", "complexity", "rmse", "r2"} <= set(p) for p in result["pareto"])


def test_discover_with_units_finds_the_relativistic_mass(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"m0": rng.uniform(1, 5, 400), "v": rng.uniform(1, 2, 400)})
    frame["c"] = rng.uniform(3, 10, 400)
    frame["m"] = frame["m0"] / np.sqrt(1 - frame["v"] ** 2 / frame["c"] ** 2)
    mass, speed = [0, 0, 1, 0, 0], [1, -1, 0, 0, 0]
    units = tmp_path / "units.json"
    units.write_text(json.dumps({"m0": mass, "v": speed, "c": speed, "m": mass}))
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    argv = ["discover", str(data), "--target", "m", "--units", str(units), "--time-limit", "60"]
    assert main(argv) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("m = "))
    found = parse_formula(line[4:], variables=["m0", "v", "c"])
    m0, v, c = sympy.symbols("m0 v c")
    assert symbolic_solution(found, m0 / sympy.sqrt(1 - v**2 / c**2))


def test_units_file_must_name_every_column(tmp_path, capsys):
    frame = pd.DataFrame({"a": np.arange(1.0, 21.0), "b": np.arange(21.0, 1.0, -1) ** 2})
    data, units = tmp_path / "data.csv", tmp_path / "units.json"
    frame.to_csv(data, index=False)
    units.write_text(json.dumps({"a": [1, 0]}))
    assert main(["discover", str(data), "--target", "b", "--units", str(units)]) == 2
    assert "no units for the column(s) ['b']" in capsys.readouterr().err


def test_bench_writes_a_solved_record_and_resumes(tmp_path, capsys):
    out = tmp_path / "bench.jsonl"
    argv = ["bench", "--equations", "I.12.1", "--out", str(out), "--n", "300"]
    argv += ["--time-limit", "60"]
    assert main(argv) == 0
    (record,) = read_records(out)
    assert record["name"] == "I.12.1"
    assert record["symbolic_solution"] is True
    assert record["accuracy_solution"] is True
    assert {"formula", "truth", "r2_test", "seconds", "complexity", "seed", "noise"} <= set(record)
    assert record["view"] and record["attempts"]
    assert main(argv) == 0  # resumed: nothing left to run
    assert len(read_records(out)) == 1
    assert "0 run(s) written" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    assert "symbolic solution rate: 100.0%" in capsys.readouterr().out


def test_bench_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    out = tmp_path / "dask.jsonl"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        argv = ["bench", "--equations", "I.12.1", "--out", str(out), "--n", "300"]
        assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    (record,) = read_records(out)
    assert record["symbolic_solution"] is True
