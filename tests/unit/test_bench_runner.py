"""The benchmark runner resumes, records crashes, and its report keeps rates apart."""

from __future__ import annotations

import json

import pytest

from kandiscover.bench import Task, load_summary, read_records, run_bench, summarize, to_markdown
from kandiscover.bench.runner import make_tasks


def fake_evaluate(name: str, seed: int, noise: float, **options) -> dict:
    """A fast stand-in for discovery; 'I.12.1' crashes when asked to."""
    if options.get("crash") == name:
        raise ArithmeticError(f"boom in {name}")
    return {
        "name": name,
        "seed": seed,
        "noise": noise,
        "formula": "x",
        "truth": "x",
        "symbolic_solution": True,
        "accuracy_solution": True,
        "r2_test": 1.0,
        "seconds": 0.5,
        "complexity": 1,
    }


def _lines(path) -> list[str]:
    return path.read_text().splitlines()


def test_resume_skips_recorded_tasks_and_drops_a_truncated_line(tmp_path):
    out = tmp_path / "r.jsonl"
    done = fake_evaluate("I.6.2a", 0, 0.0)
    out.write_text(json.dumps(done) + "\n" + '{"name": "I.12.1", "seed": 0, "no')
    tasks = [Task("I.6.2a", 0, 0.0), Task("I.12.1", 0, 0.0), Task("I.12.1", 1, 0.0)]
    written = run_bench(tasks, out, evaluate=fake_evaluate)
    assert [(r["name"], r["seed"]) for r in written] == [("I.12.1", 0), ("I.12.1", 1)]
    lines = _lines(out)
    assert len(lines) == 3  # the truncated line is gone, two records appended
    assert [json.loads(line)["name"] for line in lines] == ["I.6.2a", "I.12.1", "I.12.1"]
    assert run_bench(tasks, out, evaluate=fake_evaluate) == []  # all done: nothing to run
    assert len(_lines(out)) == 3


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(fake_evaluate("I.6.2a", 0, 0.0)))
    run_bench([Task("I.6.2a", 0, 0.0), Task("I.12.1", 0, 0.0)], out, evaluate=fake_evaluate)
    assert [json.loads(line)["name"] for line in _lines(out)] == ["I.6.2a", "I.12.1"]


def test_noise_and_seed_are_part_of_the_key(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(fake_evaluate("I.6.2a", 0, 0.0)) + "\n")
    tasks = [Task("I.6.2a", 0, 0.0), Task("I.6.2a", 0, 0.01), Task("I.6.2a", 1, 0.0)]
    assert len(run_bench(tasks, out, evaluate=fake_evaluate)) == 2


def test_a_crash_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "r.jsonl"
    tasks = [Task("I.12.1", 0, 0.0), Task("I.6.2a", 0, 0.0)]
    run_bench(tasks, out, evaluate=fake_evaluate, options={"crash": "I.12.1"})
    crashed, fine = read_records(out)
    assert crashed["name"] == "I.12.1"
    assert crashed["error"] == "ArithmeticError: boom in I.12.1"
    assert crashed["symbolic_solution"] is False
    assert crashed["accuracy_solution"] is False
    assert fine["name"] == "I.6.2a"
    assert "error" not in fine
    # a crash counts as done: a rerun does not retry it
    assert run_bench(tasks, out, evaluate=fake_evaluate) == []


def test_process_pool(tmp_path):
    out = tmp_path / "r.jsonl"
    tasks = [Task("I.12.1", s, 0.0) for s in range(3)]
    run_bench(tasks, out, evaluate=fake_evaluate, jobs=2, options={"crash": "none"})
    assert sorted(r["seed"] for r in read_records(out)) == [0, 1, 2]


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="jobs must be a positive integer, got 0"):
        run_bench([], tmp_path / "r.jsonl", evaluate=fake_evaluate, jobs=0)


def test_make_tasks():
    tasks = make_tasks("feynman", ["I.12.1", "I.6.2a"], seeds=range(2), noises=[0, 0.1])
    assert len(tasks) == 8
    assert tasks[0] == Task("I.12.1", 0, 0.0)
    assert len(make_tasks()) > 10  # the whole catalogue
    with pytest.raises(ValueError, match="did you mean"):
        make_tasks("feynman", ["I.12.l"])


def _record(name, seed, symbolic, accuracy, seconds, noise=0.0, **extra) -> dict:
    return {
        "name": name,
        "seed": seed,
        "noise": noise,
        "formula": "x",
        "truth": "x",
        "symbolic_solution": symbolic,
        "accuracy_solution": accuracy,
        "r2_test": 0.99,
        "seconds": seconds,
        **extra,
    }


def test_report_rates_are_separate(tmp_path):
    records = [
        _record("A", 0, True, True, 1.0),
        _record("A", 1, False, True, 3.0),
        _record("B", 0, False, True, 2.0),
        _record("B", 1, False, False, 10.0, error="RuntimeError: x"),
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"trunc')
    summary = load_summary(path)
    assert summary.runs == 4
    assert summary.symbolic_rate == pytest.approx(0.25)
    assert summary.accuracy_rate == pytest.approx(0.75)
    assert summary.errors == 1
    assert summary.median_seconds == pytest.approx(2.5)
    rows = {r.name: r for r in summary.rows}
    assert (rows["A"].symbolic, rows["A"].accuracy, rows["A"].runs) == (1, 2, 2)
    assert rows["B"].errors == 1
    text = to_markdown(summary)
    assert "symbolic solution rate: 25.0%" in text
    assert "accuracy solution rate (R² > 0.999): 75.0%" in text
    assert "| A | 0 | 2 | 1/2 | 2/2 |" in text


def test_report_by_noise_level():
    records = [_record("A", 0, True, True, 1.0), _record("A", 0, False, False, 1.0, noise=0.1)]
    summary = summarize(records)
    assert summary.by_noise == {0.0: (1.0, 1.0, 1), 0.1: (0.0, 0.0, 1)}
    assert "| 0.1 | 1 | 0.0% | 0.0% |" in to_markdown(summary)


def test_report_cli(tmp_path, capsys):
    from kandiscover.cli import main

    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_record("A", 0, True, False, 4.0)) + "\n")
    md = tmp_path / "r.md"
    assert main(["report", str(path), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "symbolic solution rate: 100.0%" in out
    assert "accuracy solution rate (R² > 0.999): 0.0%" in out
    assert "median time: 4.0 s" in out
    assert md.read_text().startswith("# Benchmark report")
