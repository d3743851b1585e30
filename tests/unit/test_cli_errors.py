"""Bad input to the command line: one clear line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kandiscover.cli import main


def _csv(tmp_path, frame: pd.DataFrame, name: str = "data.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _table(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, size=n)
    return pd.DataFrame({"x": x, "z": rng.uniform(1, 2, size=n), "y": 2 * x})


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("kandiscover: error: ")
    return line


def test_nonfinite_rows_are_counted(tmp_path, capsys):
    frame = _table()
    frame.loc[[2, 5], "x"] = np.nan
    frame.loc[7, "y"] = np.inf
    line = _error(capsys, ["discover", _csv(tmp_path, frame), "--target", "y"])
    assert "3 row(s) contain NaN or inf" in line


def test_drop_nonfinite_reports_the_dropped_rows(tmp_path, capsys):
    frame = _table(4)
    frame.loc[[0, 1], "z"] = np.nan  # 2 rows remain: too few, so the search never starts
    path = _csv(tmp_path, frame)
    assert main(["discover", path, "--target", "y", "--drop-nonfinite"]) == 2
    err = capsys.readouterr().err
    assert "dropped 2 row(s)" in err
    assert "too few rows: 2" in err


def test_constant_target(tmp_path, capsys):
    frame = _table().assign(y=3.0)
    line = _error(capsys, ["discover", _csv(tmp_path, frame), "--target", "y"])
    assert "constant" in line


def test_non_numeric_column(tmp_path, capsys):
    frame = _table().assign(label="a")
    line = _error(capsys, ["discover", _csv(tmp_path, frame), "--target", "y"])
    assert "non-numeric column(s) ['label']" in line


def test_unknown_target_suggests(tmp_path, capsys):
    line = _error(capsys, ["discover", _csv(tmp_path, _table()), "--target", "Y"])
    assert "target column 'Y' not found" in line
    assert "did you mean 'y'" in line


def test_too_few_rows(tmp_path, capsys):
    line = _error(capsys, ["discover", _csv(tmp_path, _table(2)), "--target", "y"])
    assert "too few rows: 2" in line


def test_a_few_rows_give_a_law_and_a_warning(tmp_path, capsys):
    with pytest.warns(UserWarning, match="only 6 rows"):
        code = main(["discover", _csv(tmp_path, _table(6)), "--target", "y", "--quiet"])
    assert code == 0
    assert "y = 2*x" in capsys.readouterr().out


def test_missing_file(tmp_path, capsys):
    line = _error(capsys, ["discover", str(tmp_path / "nope.csv"), "--target", "y"])
    assert "no such CSV file" in line


def test_unknown_equation_in_demo(capsys):
    line = _error(capsys, ["demo", "--equation", "I.6.2x"])
    assert "unknown equation id 'I.6.2x'" in line
    assert "did you mean" in line


def test_unknown_equation_in_bench(tmp_path, capsys):
    out = str(tmp_path / "r.jsonl")
    line = _error(capsys, ["bench", "--equations", "I.12.1,II.99", "--out", out])
    assert "unknown equation id 'II.99'" in line


def test_unknown_suite(tmp_path, capsys):
    out = str(tmp_path / "r.jsonl")
    line = _error(capsys, ["bench", "--suite", "feynmann", "--out", out])
    assert "unknown catalogue 'feynmann'" in line


def test_negative_noise(tmp_path, capsys):
    out = str(tmp_path / "r.jsonl")
    line = _error(capsys, ["bench", "--equations", "I.12.1", "--noise=-0.1", "--out", out])
    assert "noise levels must be finite and >= 0" in line


def test_report_of_a_missing_file(tmp_path, capsys):
    line = _error(capsys, ["report", str(tmp_path / "nope.jsonl")])
    assert "no such results file" in line


def test_report_of_an_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    line = _error(capsys, ["report", str(path)])
    assert "no benchmark records" in line


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["discover", "data.csv"],  # --target is required
        ["discover", "data.csv", "--target", "y", "--time-limit", "-1"],
        ["bench", "--out", "r.jsonl", "--jobs", "0"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: kandiscover" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "discover" in capsys.readouterr().out
