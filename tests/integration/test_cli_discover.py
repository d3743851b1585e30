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
