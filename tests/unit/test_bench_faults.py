"""The benchmark runner under faults: Ctrl-C, dead workers, other options, two writers,
invalid records. Worker processes run the fake task of ``bench_tasks`` (importable)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import types

import bench_tasks
import pytest

import kandiscover as kd
from kandiscover.bench import (
    Task,
    group_by_options,
    load_summaries,
    load_summary,
    options_fingerprint,
    read_records,
    run_bench,
    summarize,
)
from kandiscover.cli import main


def _tasks(names) -> list[Task]:
    return [Task(n, 0, 0.0) for n in names]


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _interrupt_when(path, n_lines: int, sent: list) -> threading.Thread:
    """Send SIGINT to the main thread once ``path`` holds ``n_lines`` lines."""
    main_thread = threading.main_thread().ident

    def watch() -> None:
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            if path.exists() and len(path.read_text().splitlines()) >= n_lines:
                time.sleep(0.3)  # the workers are now inside the slow tasks
                sent.append(time.perf_counter())
                signal.pthread_kill(main_thread, signal.SIGINT)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_workers_at_once_and_a_rerun_loses_nothing(tmp_path):
    out = tmp_path / "r.jsonl"
    fast, slow, rest = [f"F{i}" for i in range(6)], ["S1", "S2"], ["G1", "G2", "G3"]
    tasks = _tasks(fast + slow + rest)
    options = {"sleep": 0.02, "slow": slow}
    sent: list[float] = []
    watcher = _interrupt_when(out, len(fast), sent)
    with pytest.raises(KeyboardInterrupt):
        run_bench(tasks, out, evaluate=bench_tasks.task, options=options, jobs=2)
    stopped = time.perf_counter()
    watcher.join()
    assert sent and stopped - sent[0] < 3.0  # not the minute the slow tasks would take
    records = read_records(out)
    assert sorted(r["name"] for r in records) == fast  # every finished result, nothing else
    for pid in {r["pid"] for r in records}:  # the workers are gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    written = run_bench(tasks, out, evaluate=bench_tasks.task, options={"sleep": 0.0})
    assert sorted(r["name"] for r in written) == sorted(slow + rest)
    assert sorted(r["name"] for r in _lines(out)) == sorted(fast + slow + rest)  # once each


@pytest.mark.timeout(120)
def test_a_dead_worker_fails_only_its_own_task_and_a_rerun_retries_it(tmp_path):
    out = tmp_path / "r.jsonl"
    tasks = _tasks("BACED")  # B dies first (a new worker goes on), D last
    options = {"die": "B", "kill": "D", "sleep": 0.02}
    written = run_bench(tasks, out, evaluate=bench_tasks.task, options=options, jobs=2)
    by_name = {r["name"]: r for r in written}
    assert sorted(by_name) == list("ABCDE")
    assert by_name["B"]["error_kind"] == "worker_died" and "exit code 3" in by_name["B"]["error"]
    assert by_name["D"]["error_kind"] == "worker_died" and "signal 9" in by_name["D"]["error"]
    assert all("error" not in by_name[n] for n in "ACE")
    assert by_name["B"]["symbolic_solution"] is False
    retried = run_bench(tasks, out, evaluate=bench_tasks.task, options={"sleep": 0.0})
    assert sorted(r["name"] for r in retried) == ["B", "D"]
    records = read_records(out)  # the real results replace the crash records
    assert sorted(r["name"] for r in records) == list("ABCDE")
    assert all("error" not in r for r in records)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_workers_that_cannot_start_stop_the_run(tmp_path, monkeypatch):
    ghost = types.FunctionType(bench_tasks.task.__code__, bench_tasks.task.__globals__, "ghost")
    ghost.__qualname__, ghost.__module__ = "ghost", "bench_tasks"
    monkeypatch.setattr(bench_tasks, "ghost", ghost, raising=False)  # not in the workers
    with pytest.raises(RuntimeError, match="die before they are ready"):
        run_bench(_tasks("AB"), tmp_path / "r.jsonl", evaluate=ghost, jobs=2)
    assert read_records(tmp_path / "r.jsonl") == []  # nothing recorded: a rerun runs all


def test_the_options_that_change_a_result_are_part_of_the_key(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    tasks = _tasks("AB")
    assert len(run_bench(tasks, out, evaluate=bench_tasks.task, options={"n": 5})) == 2
    assert len(run_bench(tasks, out, evaluate=bench_tasks.task, options={"n": 6})) == 2
    assert run_bench(tasks, out, evaluate=bench_tasks.task, options={"n": 5, "sleep": 0}) == []
    groups = group_by_options(read_records(out))
    assert [options for options, _ in groups] == [{"n": 5}, {"n": 6}]
    assert [len(records) for _, records in groups] == [2, 2]
    assert [s.runs for _, s in load_summaries(out)] == [2, 2]
    with pytest.raises(ValueError, match=r"2 different sets of options; .*load_summaries"):
        load_summary(out)
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(n=5)" in text and "(n=6)" in text


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({}, {"n": 1000, "suite": "feynman", "use_units": True}, True),
        ({"time_limit": 60}, {"time_limit": 60.0}, True),
        ({"n": 300}, {}, False),
        ({"use_units": False}, {}, False),
        ({"time_limit": 4.0}, {}, False),
        ({"config": kd.SearchConfig(steps=5)}, {}, False),
        ({"suite": "other"}, {}, False),
    ],
)
def test_options_fingerprint_of_the_default_evaluate(a, b, same):
    assert (options_fingerprint(a) == options_fingerprint(b)) is same


@pytest.mark.timeout(60)
def test_two_runs_appending_to_one_file_are_safe(tmp_path):
    out = tmp_path / "r.jsonl"
    tasks = _tasks([f"T{i}" for i in range(60)])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_bench(tasks, out, evaluate=bench_tasks.task, options={"pad": 200_000})
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    lines = _lines(out)  # every line whole: no two records mixed
    assert 60 <= len(lines) <= 120
    assert sorted(r["name"] for r in read_records(out)) == sorted(t.name for t in tasks)


def _valid(name="A", **fields) -> dict:
    record = bench_tasks.task(name, 0, 0.0)
    record.update(fields)
    return record


def test_report_counts_only_valid_records(tmp_path, capsys):
    records = [
        _valid("A"),
        _valid("B", symbolic_solution=False),
        _valid("C", symbolic_solution="yes"),
        _valid("D", accuracy_solution=1),
        _valid("E", seed="0"),
        _valid("F", r2_test="high"),
        _valid("G", options=[]),
        {"seed": 0, "noise": 0.0, "symbolic_solution": True, "accuracy_solution": True},
        ["not", "a", "record"],
    ]
    path = tmp_path / "r.jsonl"
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in records) + '{"name": "H", "noise": NaN}\n'
    )
    with pytest.warns(RuntimeWarning, match=r"skipped 8 invalid line\(s\) \(line 3: bad or miss"):
        summary = load_summary(path)
    assert summary.runs == 2 and summary.symbolic_rate == 0.5
    with pytest.warns(RuntimeWarning, match="skipped 1 invalid benchmark record"):
        assert summarize([_valid("A"), _valid("C", symbolic_solution="yes")]).symbolic_rate == 1.0
    assert main(["report", str(path)]) == 0
    captured = capsys.readouterr()
    assert "symbolic solution rate: 50.0%" in captured.out
    assert "kandiscover: warning: " in captured.err and "skipped 8 invalid" in captured.err


def test_duplicates_are_read_once_and_a_real_result_replaces_a_dead_worker(tmp_path):
    died = _valid("A", symbolic_solution=False, error="WorkerDied", error_kind="worker_died")
    path = tmp_path / "r.jsonl"
    lines = [died, _valid("B"), _valid("A", seconds=2.0), _valid("B", seconds=3.0)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    records = read_records(path)
    assert [(r["name"], r["seconds"], r.get("error_kind")) for r in records] == [
        ("A", 2.0, None),
        ("B", 0.01, None),
    ]
