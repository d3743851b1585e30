"""The command line's units: ``--units FILE`` with text or vectors, ``--unit NAME=UNIT``."""

from __future__ import annotations

import json

import pytest

from kandiscover.cli import _parser, main
from kandiscover.cli_discover import read_units as _read_units


def _units_file(tmp_path, content) -> str:
    path = tmp_path / "units.json"
    path.write_text(json.dumps(content))
    return str(path)


def test_units_file_holds_text_and_vectors(tmp_path) -> None:
    path = _units_file(tmp_path, {"v": "m/s", "t": [0, 1, 0, 0, 0], "x": "km", "extra": "s"})
    with pytest.raises(ValueError, match=r"not in the data: 'extra'"):
        _read_units(path, [], ["v", "t", "x"])
    path = _units_file(tmp_path, {"v": "m/s", "t": [0, 1, 0, 0, 0], "x": "km"})
    assert _read_units(path, [], ["x", "v", "t"]) == {"x": "km", "v": "m/s", "t": [0, 1, 0, 0, 0]}


def test_unit_options_complement_and_override_the_file(tmp_path) -> None:
    path = _units_file(tmp_path, {"v": "km/s", "t": "s"})
    units = _read_units(path, ["v=m/s", "x=m"], ["v", "t", "x"])
    assert units == {"v": "m/s", "t": "s", "x": "m"}
    assert _read_units(None, ["F=N", "m=kg", "a=m/s**2"], ["m", "a", "F"]) == {
        "m": "kg",
        "a": "m/s**2",
        "F": "N",
    }
    assert _read_units(None, [], ["m"]) is None


@pytest.mark.parametrize(
    ("file_units", "options", "match"),
    [
        (None, ["v=m/s"], r"--unit gives no units for the column\(s\) \['t'\].*--unit NAME=UNIT"),
        ({"v": "m/s"}, [], r"units.json and --unit give no units for the column\(s\) \['t'\]"),
        (None, ["v=m/s", "t=s", "tt=s"], r"not in the data: 'tt' \(did you mean 't'\?\)"),
        (None, ["v=m/s", "t=sec0nd"], r"column 't' \('sec0nd'\).*unknown unit 'sec0nd'"),
        ({"v": "m/s", "t": [0, 1, 0]}, [], r"column 't'.*has 3 exponents; need 5"),
        (None, ["v:m/s"], r"'v:m/s' must look like NAME=UNIT"),
        ([1, 2], [], r"must hold a JSON object mapping column names to units"),
    ],
)
def test_unit_errors(tmp_path, file_units, options, match) -> None:
    path = None if file_units is None else _units_file(tmp_path, file_units)
    with pytest.raises(ValueError, match=match):
        _read_units(path, options, ["v", "t"])


def test_bad_unit_is_a_one_line_error_before_the_search(tmp_path, capsys) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(12)))
    argv = ["discover", str(data), "--target", "y", "--unit", "x=m", "--unit", "y=blorp"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("kandiscover: error: unit of column 'y' ('blorp')")
    assert err.count("\n") == 1


def test_help_shows_units_as_text() -> None:
    discover = _parser()._subparsers._group_actions[0].choices["discover"]
    text = discover.format_help()
    assert "--unit NAME=UNIT" in text and '"m/s"' in text and "m, s, kg, K, V" in text
    args = _parser().parse_args(["discover", "d.csv", "--target", "y", "--unit", "a=m"])
    assert args.unit == ["a=m"] and args.units is None
