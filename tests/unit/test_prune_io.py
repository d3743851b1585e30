"""Pruning (attribution, smaller models, dropped inputs) and saving without pickle."""

import math
import zipfile

import numpy as np
import pytest
import torch

import kandiscover as kd


def _flagship(n=1000, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1
    return X, torch.exp(torch.sin(math.pi * X[:, :1]) + X[:, 1:] ** 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flagship_prunes_to_2_1_1(seed):
    X, y = _flagship()
    model = kd.KAN([2, 5, 1], grid=5, k=3, seed=seed, dtype=torch.float64)
    kd.fit(model, X, y, steps=50, sparsity=1e-2)
    pruned = kd.prune(model, X)
    assert pruned.width == [(2, 0), (1, 0), (1, 0)]
    assert model.width == [(2, 0), (5, 0), (1, 0)]  # the original is untouched


def test_pruned_model_is_the_original_minus_removed_variation():
    X, _ = _flagship(300)
    model = kd.KAN([2, 4, 1], seed=0, dtype=torch.float64)
    with torch.no_grad():
        model.layers[1].scales[0, 1:] *= 1e-6  # hidden nodes 1..3 barely matter
        model.layers[1].coef[0, 1:] *= 1e-6
    pruned = kd.prune(model, X)
    assert pruned.width[1] == (1, 0)
    edges = model.edge_values(X)[1][:, 0, 1:]
    expected = model(X)[:, 0] - (edges - edges.mean(0)).sum(1)
    torch.testing.assert_close(pruned(X)[:, 0], expected, atol=1e-12, rtol=0)


def test_dead_inputs_are_dropped_and_the_model_still_takes_the_full_table():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(500, 3, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(2 * X[:, 2:])
    model = kd.KAN([3, 3, 1], seed=0, dtype=torch.float64)
    kd.fit(model, X, y, steps=40, sparsity=1e-2)
    pruned = kd.prune(model, X)
    assert pruned.n_inputs == 1 and pruned.input_index == (2,)
    torch.testing.assert_close(pruned(X), pruned(X[:, 2:]))
    assert float(((pruned(X) - y) ** 2).mean().detach()) < 1e-3


def test_prune_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="edge_threshold"):
        kd.prune(kd.KAN([1, 1]), np.zeros((3, 1)), edge_threshold=2.0)


def test_save_load_round_trip(tmp_path):
    X, y = _flagship(200)
    model = kd.KAN([2, (2, 1), 1], grid=4, seed=3, dtype=torch.float64)
    kd.fit(model, X, y, steps=3)
    model = kd.prune(model, X, node_threshold=0.0)
    model.layers[0].set_symbolic(0, 1, ("sin", torch.sin), [2.0, 0.5, 1.5, -1.0])
    path = tmp_path / "model.kd"
    kd.save(model, path)
    loaded = kd.load(path)
    assert loaded.width == model.width and loaded.input_index == model.input_index
    assert loaded.layers[0].symbolic_edge(0, 1) == model.layers[0].symbolic_edge(0, 1)
    torch.testing.assert_close(loaded(X), model(X), atol=0, rtol=0)
    with zipfile.ZipFile(path) as z:  # no pickle anywhere in the file
        assert all(not n.endswith(".pkl") for n in z.namelist())


def test_load_reports_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.kd"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable kandiscover model"):
        kd.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a readable kandiscover model|not a kandiscover"):
        kd.load(other)


def test_load_names_a_missing_primitive(tmp_path):
    model = kd.KAN([1, 1])
    model.layers[0].set_symbolic(0, 0, ("my_bessel", torch.special.bessel_j0), [1, 0, 1, 0])
    kd.save(model, tmp_path / "m.kd")
    with pytest.raises(ValueError, match="my_bessel"):
        kd.load(tmp_path / "m.kd")
