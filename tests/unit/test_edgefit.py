"""Tests for kandiscover.symbolic.edgefit and kandiscover.symbolic.select."""

from __future__ import annotations

import math

import pytest
import sympy
import torch

from kandiscover.symbolic.edgefit import Candidate, EdgeFit, fit_edges
from kandiscover.symbolic.library import DEFAULT_LIBRARY, Primitive
from kandiscover.symbolic.select import selection_score

# name: (a, b, x_low, x_high) with a*x + b inside the domain on [x_low, x_high]
TRUTH = {
    "x": (1.0, 0.0, -1.0, 2.0),
    "x^2": (1.0, 0.3, -1.0, 2.0),
    "x^3": (1.0, 0.3, -1.0, 2.0),
    "x^4": (1.0, -0.3, -1.0, 2.0),
    "x^5": (1.0, 0.3, -1.0, 2.0),
    "1/x": (1.0, 2.5, -1.0, 2.0),
    "1/x^2": (1.0, 2.5, -1.0, 2.0),
    "1/x^3": (1.0, 2.5, -1.5, 1.0),
    "sqrt": (1.0, 1.5, -1.0, 2.0),
    "1/sqrt": (1.0, 1.5, -1.0, 2.0),
    "x^1.5": (-1.0, 2.5, -1.0, 2.0),
    "log": (1.0, 1.5, -1.0, 2.0),
    "exp": (0.8, 0.0, -1.0, 2.0),
    "sin": (2.0, 0.3, -1.0, 1.5),
    "cos": (2.5, -0.4, -1.0, 1.5),
    "tan": (0.6, 0.1, -1.0, 1.0),
    "tanh": (1.5, -0.3, -1.0, 2.0),
    "arctan": (2.5, 0.4, -1.0, 2.0),
    "sigmoid": (3.0, -0.3, -1.0, 2.0),
    "gaussian": (1.5, -0.3, -1.0, 2.0),
    "arcsin": (0.7, 0.1, -1.0, 1.0),
    "arccos": (0.5, -0.2, -1.0, 1.0),
    "arctanh": (0.7, 0.1, -1.0, 1.0),
    "abs": (1.0, 0.3, -1.0, 2.0),
}
EQUIVALENT = {"sin": {"cos"}, "cos": {"sin"}, "sigmoid": {"tanh"}, "arccos": {"arcsin"}}
C, D = 1.7, -0.4


def _samples(name, n=400, seed=0):
    a, b, lo, hi = TRUTH[name]
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, n, generator=gen, dtype=torch.float64) * (hi - lo) + lo
    return x, C * DEFAULT_LIBRARY[name].torch_fn(a * x + b) + D


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_recovers_known_parameters(name):
    x, y = _samples(name)
    fit = fit_edges(x, y, DEFAULT_LIBRARY.subset([name]))[0].best
    assert fit.primitive == name
    scale = y.abs().max()
    assert ((fit.evaluate(x) - y).abs().max() / scale).item() < 1e-6
    assert fit.r2 > 1 - 1e-10
    a, b, *_ = TRUTH[name]
    if name in ("sin", "cos"):  # identifiable up to sign of c and b modulo pi
        assert abs(abs(fit.a) - a) < 1e-6 * a
        assert abs(abs(fit.c) - C) < 1e-6 * C and abs(fit.d - D) < 1e-6
    else:
        got = torch.tensor([fit.a, fit.b, fit.c, fit.d], dtype=torch.float64)
        want = torch.tensor([a, b, C, D], dtype=torch.float64)
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_full_library_ranks_truth_first(name):
    x, y = _samples(name, seed=1)
    best = fit_edges(x, y)[0].best.primitive
    assert best == name or best in EQUIVALENT.get(name, set())


def test_batched_edges_match_single_fits():
    names = ["sin", "x^2", "log", "gaussian"]
    xs, ys = zip(*(_samples(n, seed=i) for i, n in enumerate(names)))
    fits = fit_edges(torch.cat(xs), torch.cat(ys), top=2)
    assert len(fits) == 4 and all(isinstance(f, EdgeFit) for f in fits)
    for fit, x, y in zip(fits, xs, ys):
        single = fit_edges(x, y, top=2)[0]
        assert fit.best.primitive == single.best.primitive
        assert abs(fit.best.score - single.best.score) < 1e-6 * abs(single.best.score)


def test_zero_never_beats_clear_signal():
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(1, 300, generator=gen, dtype=torch.float64) * 6 - 3
    signal = torch.sin(1.3 * x)
    noise = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    y = signal + 0.1 * signal.std() * noise  # R^2 about 0.99
    fit = fit_edges(x, y, top=30)[0]
    names = [c.primitive for c in fit.candidates]
    assert names[0] == "sin"
    assert 0.98 < fit.best.r2 < 0.999
    assert names.index("0") > names.index("sin")


def test_constant_edge_selects_zero():
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)[None].repeat(2, 1)
    y = torch.full_like(x, 0.1)
    y[1] = 0.0
    for fit in fit_edges(x, y):
        assert fit.best.primitive == "0"
        assert fit.best.c == 0.0 and fit.best.r2 == pytest.approx(1.0)
    assert fit_edges(x, y)[0].best.d == pytest.approx(0.1)


def test_constant_input_is_handled():
    x = torch.ones(1, 20, dtype=torch.float64)
    y = torch.linspace(0, 1, 20, dtype=torch.float64)[None]
    fit = fit_edges(x, y)[0]
    assert fit.best.primitive == "0"
    assert all(math.isfinite(v) for c in fit.candidates for v in (c.a, c.b, c.c, c.d, c.score))


def test_results_are_finite_for_hard_data():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 200, generator=gen) * 100
    y = torch.stack([1 / (x[0] - 0.001), torch.sign(x[1]), torch.randn(200, generator=gen)])
    for fit in fit_edges(x, y, top=25):
        for c in fit.candidates:
            assert all(math.isfinite(v) for v in (c.a, c.b, c.c, c.d, c.r2, c.rmse, c.score))


def test_candidates_sorted_and_top_respected():
    x, y = _samples("tanh")
    cands = fit_edges(x, y, top=5)[0].candidates
    assert len(cands) == 5 and len({c.primitive for c in cands}) == 5
    assert [c.score for c in cands] == sorted(c.score for c in cands)
    assert all(c.complexity == DEFAULT_LIBRARY[c.primitive].complexity for c in cands)


def test_weight_trades_accuracy_for_simplicity():
    x = torch.linspace(-1, 1, 200, dtype=torch.float64)[None]
    y = torch.sin(0.1 * x)  # almost a line
    assert fit_edges(x, y, weight=0.0)[0].best.primitive == "sin"
    assert fit_edges(x, y, weight=300.0)[0].best.primitive == "x"
    assert fit_edges(x, y, weight=1e4)[0].best.primitive == "0"


def test_float32_inference_mode_and_zero_refine():
    x32, y32 = (t.float() for t in _samples("exp"))
    with torch.inference_mode():
        fit = fit_edges(x32, y32)[0].best
    assert fit.primitive == "exp" and isinstance(fit.a, float)
    assert fit_edges(x32, y32, refine_steps=0)[0].best.r2 > 0.999


def test_user_primitive_without_autograd():
    def j0(z):  # a non-differentiable torch form: the fitter falls back to differences
        return torch.special.bessel_j0(z.detach())

    lib = DEFAULT_LIBRARY.subset(["x", "sin"]).with_primitive(
        Primitive("j0", j0, lambda z: sympy.besselj(0, z), 4)
    )
    x = torch.linspace(0, 3, 300, dtype=torch.float64)[None]
    y = 2 * torch.special.bessel_j0(2 * x + 0.5) - 1
    best = fit_edges(x, y, lib)[0].best
    assert best.primitive == "j0"
    assert (best.evaluate(x, lib) - y).abs().max() < 1e-6


def test_candidate_to_sympy_matches_evaluate():
    x, y = _samples("gaussian")
    best = fit_edges(x, y)[0].best
    s = sympy.Symbol("x")
    fn = sympy.lambdify(s, best.to_sympy(s), "numpy")
    torch.testing.assert_close(torch.as_tensor(fn(x.numpy())), best.evaluate(x))
    assert isinstance(best, Candidate)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": [[1.0, 2.0]]}, TypeError, "must be torch tensors"),
        ({"x": torch.zeros(5)}, ValueError, r"shape \(E, N\)"),
        ({"x": torch.zeros(1, 1), "y": torch.zeros(1, 1)}, ValueError, "N >= 2"),
        ({"y": torch.tensor([[1.0, math.nan, 0.0]])}, ValueError, "must be finite"),
        ({"a_range": (0.0, 1.0)}, ValueError, "a_range must be"),
        ({"n_b": 1}, ValueError, "n_b must be an int >= 2"),
        ({"top": 0}, ValueError, "top must be an int >= 1"),
        ({"refine_steps": 1.5}, ValueError, "refine_steps must be an int >= 0"),
    ],
)
def test_fit_edges_errors(kwargs, error, match):
    args = {"x": torch.zeros(1, 3), "y": torch.zeros(1, 3), **kwargs}
    with pytest.raises(error, match=match):
        fit_edges(**args)


def test_selection_score_properties_and_errors():
    mse = torch.tensor([1.0, 0.01, 0.0, math.inf], dtype=torch.float64)
    score = selection_score(mse, torch.tensor(1.0), 100, torch.tensor([0.0, 3, 3, 1]))
    assert score[0] == 0 and score[1] < 0 and math.isfinite(score[2]) and score[3] == math.inf
    assert score[2] < score[1]
    with pytest.raises(ValueError, match="n >= 1"):
        selection_score(mse, torch.tensor(1.0), 0, 1.0)
    with pytest.raises(ValueError, match="weight must be"):
        selection_score(mse, torch.tensor(1.0), 10, 1.0, weight=-1.0)
    with pytest.raises(ValueError, match="floor must lie"):
        selection_score(mse, torch.tensor(1.0), 10, 1.0, floor=0.0)
