"""The hand-written passes: network kernel, first-layer cache, fit plan, flat L-BFGS."""

import pytest
import torch

import kandiscover as kd
from kandiscover.lbfgs import FlatLBFGS
from kandiscover.nn.plan import MSEPlan
from kandiscover.train import _trainable_parameters


def _data(n, d, seed=0, scale=1.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, d, generator=g, dtype=dtype) * 2 - 1) * scale


def _plain(model, on):
    for layer in model.layers:
        layer.fused = on


@pytest.mark.parametrize("width", [[3, 4, 2], [2, (1, 2), 1], [2, 3, 3, 1]])
def test_network_kernel_matches_autograd_with_product_nodes_and_masks(width):
    model = kd.KAN(width, seed=4, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].mask[0, 1] = 0.0  # a pruned edge
    x = _data(50, width[0], scale=1.6).requires_grad_(True)  # partly outside the grid

    def run(fused):
        _plain(model, fused)
        model.zero_grad()
        x.grad = None
        out = model(x)
        (out.cos() * torch.arange(1.0, out.shape[1] + 1, dtype=out.dtype)).sum().backward()
        return [out.detach(), x.grad.clone()] + [
            p.grad.clone() for p in model.parameters() if p.grad is not None
        ]

    fused, plain = run(True), run(False)
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_nan_inputs_give_nan_outputs_not_an_error():
    model = kd.KAN([2, 3, 1], seed=0, dtype=torch.float64)
    x = _data(4, 2)
    x[1, 0] = float("nan")
    out = model(x)
    assert torch.isnan(out[1]).all() and torch.isfinite(out[[0, 2, 3]]).all()


def test_first_layer_cache_hits_only_for_the_same_unchanged_input():
    model = kd.KAN([2, 4, 1], seed=1, dtype=torch.float64)
    x = _data(30, 2, scale=1.3)
    first = model(x)
    cached = model._first_features._features
    assert cached is not None
    second = model(x)
    assert model._first_features._features is cached  # a hit
    torch.testing.assert_close(first, second, atol=0, rtol=0)
    with torch.no_grad():
        x.mul_(0.5)  # changed in place: the cache must not answer
    expected = model.clone()(x.clone())
    torch.testing.assert_close(model(x), expected, atol=1e-13, rtol=0)
    assert model._first_features._features is not cached
    model.update_grid(x)  # a new grid: a miss again
    torch.testing.assert_close(model(x), model.clone()(x.clone()), atol=1e-13, rtol=0)


def test_cached_features_do_not_travel_with_copies():
    import copy
    import pickle

    model = kd.KAN([2, 3, 1], seed=0)
    model(_data(8, 2, dtype=torch.float32))
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model)), model.clone()):
        assert other._first_features._features is None


@pytest.mark.parametrize("width", [[2, 5, 1], [3, (2, 1), 2], [2, 3, 2, 1]])
def test_mse_plan_matches_autograd(width):
    model = kd.KAN(width, seed=2, dtype=torch.float64)
    with torch.no_grad():
        model.layers[-1].mask[0, 0] = 0.0
    model.layers[0].bias.requires_grad_(False)  # a frozen parameter has no gradient slot
    x = _data(40, width[0], scale=1.5)
    y = torch.sin(x.sum(1, keepdim=True)).expand(-1, model.n_outputs) * 0.7
    params = _trainable_parameters(model)
    plan = MSEPlan(model, x, y, params)
    for _ in range(2):  # the buffers are reused: a second evaluation must agree too
        loss, grad = plan()
        model.zero_grad()
        ref = torch.mean((model(x) - y) ** 2)
        ref.backward()
        assert abs(loss - float(ref.detach())) < 1e-13
        torch.testing.assert_close(
            grad, torch.cat([p.grad.reshape(-1) for p in params]), atol=1e-12, rtol=0
        )
        with torch.no_grad():
            model.layers[0].coef.add_(0.01)


def _problem():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(30, 8, generator=g, dtype=torch.float64)
    b = torch.randn(30, generator=g, dtype=torch.float64)

    def f(w1, w2):
        z = A @ w1 + torch.tanh(A[:, :3] @ w2)
        return ((z - b) ** 2).mean() + 0.01 * (w1**4).sum()

    def start():
        return (
            torch.zeros(8, dtype=torch.float64, requires_grad=True),
            torch.full((3,), 0.1, dtype=torch.float64, requires_grad=True),
        )

    return f, start


def _flat_closure(f, params):
    """The loss ``f(*params)`` and its flat gradient, as :class:`FlatLBFGS` takes them."""

    def closure():
        for p in params:
            p.grad = None
        with torch.enable_grad():
            loss = f(*params)
            loss.backward()
        return loss.detach(), torch.cat([p.grad for p in params])

    return closure


@pytest.mark.parametrize("history, max_iter, steps", [(10, 20, 1), (10, 7, 3), (3, 7, 4)])
def test_flat_lbfgs_follows_torch_lbfgs(history, max_iter, steps):
    # (long runs drift apart at roundoff level along this problem's flat valley)
    f, start = _problem()
    kw = dict(max_iter=max_iter, history_size=history, tolerance_grad=1e-32, tolerance_change=1e-32)
    w = start()
    ref = torch.optim.LBFGS(list(w), line_search_fn="strong_wolfe", **kw)

    def closure():
        ref.zero_grad()
        loss = f(*w)
        loss.backward()
        return loss

    for _ in range(steps):
        ref.step(closure)
    v = start()
    opt = FlatLBFGS(list(v), **kw)
    for _ in range(steps):
        opt.step(_flat_closure(f, v))
    assert v[0].data_ptr() == opt.x.data_ptr()  # the parameters live in the flat vector
    opt.release()
    assert v[0].data_ptr() != opt.x.data_ptr()
    got, want = torch.cat([p.detach() for p in v]), torch.cat([p.detach() for p in w])
    assert float((got - want).abs().max()) < 1e-6
    with torch.no_grad():
        assert abs(float(f(*v)) - float(f(*w))) < 1e-10


def test_fit_leaves_parameters_with_their_own_storage():
    model = kd.KAN([2, 3, 1], seed=0)
    x = _data(100, 2, dtype=torch.float32)
    kd.fit(model, x, x[:, :1] * x[:, 1:], steps=3)
    ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert len(ptrs) == len(list(model.parameters()))


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_clears_every_gradient(set_to_none):
    model = kd.KAN([2, 3, 1], seed=0)
    model(_data(5, 2, dtype=torch.float32)).sum().backward()
    assert all(layer.coef.grad is not None for layer in model.layers)
    model.zero_grad(set_to_none=set_to_none)
    for p in model.parameters():
        assert p.grad is None if set_to_none else (p.grad is None or not p.grad.any())


def test_parameters_changed_in_place_before_backward_are_an_error():
    model = kd.KAN([2, 3, 1], seed=0)
    out = model(_data(5, 2, dtype=torch.float32)).sum()
    with torch.no_grad():
        model.layers[1].coef.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def _grads(model):
    return [
        p.grad.clone() for layer in model.layers for p in (layer.coef, layer.scales, layer.bias)
    ]


def test_repeated_inputs_run_in_a_plan_with_the_same_results():
    model = kd.KAN([3, (2, 1), 2], seed=5, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].mask[1, 2] = 0.0
    x = _data(60, 3, scale=1.4)

    def step():
        model.zero_grad()
        out = model(x)
        (out.sin() * torch.tensor([1.0, -2.0], dtype=out.dtype)).sum().backward()
        return out.detach(), _grads(model)

    reference = step()  # first call: the allocating kernel
    assert not model._plans._plans
    for _ in range(3):  # then the plan (built on the second call)
        got = step()
        assert model._plans._plans
        torch.testing.assert_close(got[0], reference[0], atol=1e-13, rtol=0)
        for a, b in zip(got[1], reference[1], strict=True):
            torch.testing.assert_close(a, b, atol=1e-13, rtol=0)


def test_plans_are_lent_to_one_live_graph_each():
    model = kd.KAN([2, 3, 1], seed=0, dtype=torch.float64)
    x = _data(20, 2)
    model(x)  # remembers x
    outs = [model(x) for _ in range(3)]  # three graphs alive: two plans, then the kernel
    assert len(model._plans._plans) == 2
    expected = outs[2].detach()
    for out in outs:
        torch.testing.assert_close(out.detach(), expected, atol=1e-13, rtol=0)
    first = torch.autograd.grad(outs[0].sum(), model.layers[1].coef, retain_graph=True)[0]
    again = torch.autograd.grad(outs[0].sum(), model.layers[1].coef)[0]  # retained graph
    last = torch.autograd.grad(outs[2].sum(), model.layers[1].coef)[0]
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    torch.testing.assert_close(first, last, atol=1e-13, rtol=0)


def test_plans_follow_changed_grids_masks_and_inputs():
    model = kd.KAN([2, 4, 1], seed=3, dtype=torch.float64)
    x = _data(50, 2, scale=1.2)
    for _ in range(3):
        model(x)
    model.update_grid(x)
    with torch.no_grad():
        model.layers[1].mask[0, 2] = 0.0
        x.mul_(0.7)
    for _ in range(3):
        out = model(x)
    torch.testing.assert_close(out, model.clone()(x.clone()), atol=1e-13, rtol=0)


def test_fit_without_trainable_parameters_is_a_clear_error():
    model = kd.KAN([2, 3, 1], seed=0)
    for p in model.parameters():
        p.requires_grad_(False)
    x = _data(20, 2, dtype=torch.float32)
    with pytest.raises(ValueError, match="no trainable parameters"):
        kd.fit(model, x, x[:, :1], steps=2)


def test_fit_counts_its_evaluations():
    model = kd.KAN([2, 3, 1], seed=0)
    x = _data(64, 2, dtype=torch.float32)
    history = kd.fit(model, x, x[:, :1] * x[:, 1:], steps=3, grid_updates=None)
    assert 3 <= history.evaluations <= 3 * 25  # at least one per step, max_eval per step


def test_flat_lbfgs_adopts_replaced_parameter_data():
    f, start = _problem()
    w = start()
    opt = FlatLBFGS(list(w), max_iter=3)
    closure = _flat_closure(f, w)
    opt.step(closure)
    history = list(opt.order)
    w[1].data = torch.full_like(w[1], 0.25)  # as a grid update does to the coefficients
    opt.adopt()
    assert w[1].data_ptr() == opt.x[8:].data_ptr() and bool((opt.x[8:] == 0.25).all())
    assert opt.order == history  # the history is kept
    opt.step(closure)
    assert float(f(*w).detach()) < float(f(torch.zeros(8, dtype=torch.float64), w[1].detach()))
