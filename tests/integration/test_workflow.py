"""A scientist's workflow: units as text, error bars, uncertainties, several outputs,
irrelevant columns, progress and the figure."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sympy

import kandiscover as kd
from kandiscover.cli import main
from kandiscover.search import Task
from kandiscover.search.strategies import Linear
from kandiscover.search.template import Template
from kandiscover.search.views import Log, Scale

LINES = [Task((Scale(),), Linear())]  # a plan of straight lines: fast and deterministic


def test_units_as_text_reduce_the_relativistic_mass_to_one_variable():
    data = kd.sample_equation("I.10.7", n=600, seed=0)
    units = {"m_0": "kg", "v": "m/s", "c": "km/s"}  # a prefix is only a constant
    result = kd.discover(
        data.X_train, data.y_train, names=data.names, units=units, target_units="g", time_limit=30
    )
    assert kd.symbolic_solution(result.formula, kd.get_equation("I.10.7").expr), result.formula
    assert result.view.startswith("units")


def test_error_bars_weigh_the_fit():
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 5, size=200)
    sigma = np.where(np.arange(200) < 20, 0.01, 2.0)  # a few precise rows, many poor ones
    y = 2.5 * x + 1 + sigma * rng.standard_normal(200)
    X = x[:, None]
    errors = []
    for bars in (None, sigma):
        r = kd.discover(X, y, sigma=bars, plan=LINES, time_limit=10, select_inputs=False)
        slope = float(sympy.Poly(r.formula, sympy.Symbol("x_1")).coeffs()[0])
        errors.append(abs(slope - 2.5))
    assert errors[1] < errors[0] / 3
    r = kd.discover(X, y, sigma=sigma, plan=LINES, time_limit=10, select_inputs=False)
    assert r.noise.method == "error bars" and 0.5 < r.reduced_chi2 < 2.0


def test_standard_errors_agree_with_a_monte_carlo_estimate():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 2, size=150)  # not positive: the log view keeps x, logs y
    truth = 3.17 * np.exp(-0.713 * x)
    noise = 0.05
    y = truth + noise * rng.standard_normal(150)
    plan = [Task((Scale(), Log()), Linear())]  # log y = a + b x: an exponential
    unsnapped = kd.JudgeConfig(snap=False)  # (19/6 and 7/pi^2 are within the noise)
    result = kd.discover(x[:, None], y, names=["x"], plan=plan, time_limit=10, judge=unsnapped)
    floats = sorted(result.formula.atoms(sympy.Float), key=lambda f: abs(float(f)))
    assert len(floats) == len(result.constants) >= 2
    template = Template(result.formula, [sympy.Symbol("x")])
    fits = []
    for _ in range(300):  # the same law refit on fresh noise
        fresh = truth + noise * rng.standard_normal(150)
        fit = template.fit(x[:, None], fresh, np.ones(150))
        fits.append(sorted(fit.theta, key=lambda v: (abs(v), v)))  # the constants' order
    spread = np.std(np.array(fits), axis=0)
    reported = np.array([c.stderr for c in result.constants])
    np.testing.assert_allclose(reported, spread, rtol=0.2)
    assert "(" in str(result.constants[0])  # 3.012(34) style


def test_two_targets_give_one_law_each_and_the_estimator_follows():
    rng = np.random.default_rng(2)
    X = rng.uniform(1, 2, size=(120, 2))
    Y = np.column_stack([X[:, 0] * X[:, 1], X[:, 0] + 2 * X[:, 1]])
    results = kd.discover(X, Y, names=["a", "b"], time_limit=10)
    assert [str(r.formula) for r in results] == ["a*b", "a + 2*b"]
    from kandiscover.estimator import KANRegressor

    model = KANRegressor(time_limit=10).fit(X, Y)
    assert model.predict(X).shape == (120, 2)
    assert len(model.equations_) == 2 and len(model.sympy()) == 2


def test_columns_without_information_are_set_aside():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.uniform(1, 3, size=(300, 5)), columns=["m", "a", "j1", "j2", "j3"])
    y = frame["m"] * frame["a"] * (1 + 0.01 * rng.standard_normal(300))
    result = kd.discover(frame, y, time_limit=20)
    assert set(result.dropped) == {"j1", "j2", "j3"}
    assert {s.name for s in result.formula.free_symbols} == {"m", "a"}
    assert np.allclose(result.predict(frame.to_numpy()), frame["m"] * frame["a"], rtol=0.05)


def test_the_figure_is_written(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 2, size=(60, 2))
    y = X[:, 0] / X[:, 1]
    result = kd.discover(X, y, time_limit=10)
    path = tmp_path / "result.png"
    fig = result.plot(X, y, sigma=np.full(60, 0.01), path=path)
    assert path.stat().st_size > 10_000 and len(fig.axes) >= 3


def _table(tmp_path) -> str:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.uniform(1, 2, 40), "z": rng.uniform(1, 2, 40)})
    frame["y"] = 3 * frame["x"] * frame["z"]
    frame["w"] = frame["x"] - frame["z"]
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_the_command_line_is_quiet_when_asked_and_writes_two_laws(tmp_path, capsys):
    out = tmp_path / "laws.json"
    plot = tmp_path / "law.png"
    argv = ["discover", _table(tmp_path), "--target", "y,w", "--time-limit", "10", "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*argv, "--json", str(out), "--plot", str(plot)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "y = 3*x*z" in captured.out and "w = x - z" in captured.out
    assert (tmp_path / "law_y.png").stat().st_size > 0
    assert (tmp_path / "law_w.png").stat().st_size > 0
    assert out.read_text().count('"formula"') >= 2


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_command_line_shows_progress_on_a_terminal(tmp_path):
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "kandiscover", "discover", _table(tmp_path)]
    command += ["--target", "y", "--time-limit", "10"]
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "best:" in text and "/10 s" in text
    assert "y = 3*x*z" in text
