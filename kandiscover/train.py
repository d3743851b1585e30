"""Training a KAN: optimisers, the sparsity penalty, grid updates, history, safety.

``fit`` is the one entry point. Optimisers and the grid schedule are small, frozen
strategy objects that check themselves when built::

    kd.fit(model, X, y, steps=50, sparsity=1e-2)                         # LBFGS
    kd.fit(model, X, y, steps=2000, optimizer=kd.Adam(lr=1e-2, batch_size=256))
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._arrays import as_xy_tensors
from ._validate import check_integer, check_number, check_real_data, check_seed
from .lbfgs import FlatLBFGS
from .nn.network import KAN
from .nn.plan import MSEPlan

__all__ = ["LBFGS", "Adam", "GridSchedule", "History", "fit", "sparsity_penalty"]

log = logging.getLogger(__name__)

LossFn = Callable[[Tensor, Tensor], Tensor]


def _positive(name: str, value: float) -> None:
    check_number(name, value, 0.0, strict=True, what="a positive number")


def _positive_int(name: str, value: int) -> None:
    check_integer(name, value, 1, what="a positive integer")


@dataclass(frozen=True)
class LBFGS:
    """Full-batch L-BFGS with a strong-Wolfe line search.

    One step runs up to ``max_iter`` iterations (as in pykan).
    """

    lr: float = 1.0
    max_iter: int = 20
    history_size: int = 10

    def __post_init__(self) -> None:
        _positive("LBFGS.lr", self.lr)
        _positive_int("LBFGS.max_iter", self.max_iter)
        _positive_int("LBFGS.history_size", self.history_size)


@dataclass(frozen=True)
class Adam:
    """Adam on mini-batches of ``batch_size`` rows (``None``: the whole training set)."""

    lr: float = 1e-2
    batch_size: int | None = None

    def __post_init__(self) -> None:
        _positive("Adam.lr", self.lr)
        if self.batch_size is not None:
            _positive_int("Adam.batch_size", self.batch_size)


@dataclass(frozen=True)
class GridSchedule:
    """Move the grids to the data every ``every`` steps, up to step ``until``.

    ``eps`` mixes a uniform grid over the data range (1) with grid points at the
    sample quantiles (0).
    """

    every: int = 5
    until: int = 50
    eps: float = 1.0

    def __post_init__(self) -> None:
        _positive_int("GridSchedule.every", self.every)
        check_integer("GridSchedule.until", self.until, 0)
        if not 0.0 <= check_number("GridSchedule.eps", self.eps, what="in [0, 1]") <= 1.0:
            raise ValueError(f"GridSchedule.eps must be in [0, 1], got {self.eps!r}")


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes
    ----------
    train_loss, val_loss : list of float
        Mean squared error (or the given loss) after every step; ``val_loss`` is empty
        without validation data.
    penalty : list of float
        The sparsity penalty after every step (0 without sparsity).
    steps : int
        Steps taken.
    best_step : int
        Step whose parameters the model holds at the end (the best validation loss
        with validation data, else the last step).
    stopped : str or None
        Why training ended early (early stopping, a non-finite loss), else ``None``.
    seconds : float
        Wall-clock time.
    evaluations : int
        Evaluations of the loss and its gradient (L-BFGS makes several per step).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    steps: int = 0
    best_step: int = 0
    stopped: str | None = None
    seconds: float = 0.0
    evaluations: int = 0


def sparsity_penalty(
    edge_values: list[Tensor], layer_inputs: list[Tensor], entropy: float = 0.5
) -> Tensor:
    """L1 of the edge scales plus the entropy of their distribution, summed over layers.

    The scale of an edge is the spread (standard deviation) of its output over the batch
    relative to the spread of its input, so that a constant edge costs nothing and the
    penalty does not depend on how the layers scale their signals. The entropy terms
    (over each node's incoming and outgoing edges) push a node to keep few strong edges
    rather than many weak ones.
    """
    total = edge_values[0].new_zeros(())
    for vals, x in zip(edge_values, layer_inputs, strict=True):
        scale = vals.std(0) / (x.std(0) + 0.1)  # (out, in)
        total = total + scale.sum()
        if entropy:
            total = total + entropy * (_entropy(scale, 1) + _entropy(scale, 0))
    return total


def _entropy(mag: Tensor, dim: int) -> Tensor:
    p = mag / (mag.sum(dim, keepdim=True) + 1e-8)
    return -(p * torch.log(p + 1e-4)).sum(dim).mean()


def _forward(model: KAN, x: Tensor, with_edges: bool) -> tuple[Tensor, list[list[Tensor]]]:
    """Network output and, when asked, every layer's edge outputs and inputs (for the penalty)."""
    if not with_edges:
        return model(x), []
    x = model.select_inputs(x)
    edges, inputs = [], []
    for l, layer in enumerate(model.layers):
        out, vals = layer.forward_with_edges(x)
        edges.append(vals)
        inputs.append(x)
        x = model.combine_nodes(l, out)
    return x, [edges, inputs]


def _mse(pred: Tensor, target: Tensor) -> Tensor:
    return torch.mean((pred - target) ** 2)


def fit(
    model: KAN,
    X: Any,
    y: Any,
    *,
    steps: int = 50,
    sparsity: float = 0.0,
    entropy: float = 0.5,
    optimizer: LBFGS | Adam | None = None,
    grid_updates: GridSchedule | None = GridSchedule(),
    validation: tuple[Any, Any] | None = None,
    patience: int | None = None,
    loss: LossFn | None = None,
    seed: int = 0,
    progress: bool = False,
    time_limit: float | None = None,
    sample_weight: Any = None,
) -> History:
    """Train ``model`` in place on ``(X, y)``.

    Parameters
    ----------
    model : KAN
        The network; its dtype and device decide where the data goes.
    X, y : array-like
        Inputs (n, n_inputs) and targets (n,) or (n, n_outputs): NumPy, torch or pandas.
    steps : int
        Optimiser steps.
    sparsity : float
        Weight of the sparsity penalty (0 turns it off).
    entropy : float
        Weight of the entropy part of the penalty relative to its L1 part.
    optimizer : LBFGS or Adam, optional
        Default :class:`LBFGS`.
    grid_updates : GridSchedule or None
        When to move the grids to the data; ``None`` never.
    validation : (X_val, y_val), optional
        Held-out data; its loss is recorded, drives early stopping and the best
        parameters are restored at the end.
    patience : int, optional
        Stop after this many steps without a better validation loss.
    loss : callable, optional
        ``loss(pred, target) -> scalar``; mean squared error by default.
    seed : int
        Seed of the mini-batch order (Adam).
    progress : bool
        Show a progress bar.
    time_limit : float, optional
        Stop after this many seconds (the current step finishes first).
    sample_weight : array-like of shape (n,), optional
        Weights of the rows in the mean squared error (``1 / sigma^2`` for error bars);
        positive and finite. Not combined with a custom ``loss``.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        For bad data (NaN, inf, wrong shapes, mismatched lengths, empty, a single row with
        ``sparsity``) or settings out of range.
    TypeError
        For settings of the wrong type, complex or boolean data, or a ``model`` that is
        not a KAN.
    """
    _check_fit_args(model, steps, sparsity, entropy, optimizer, grid_updates, validation)
    _check_run_args(patience, loss, seed, time_limit)
    for name, data in (("X", X), ("y", y), *_named_validation(validation)):
        check_real_data(data, name)
    param = next(model.parameters())
    kw = {"dtype": param.dtype, "device": param.device, "n_outputs": model.n_outputs}
    X, y = as_xy_tensors(X, y, **kw)
    model.select_inputs(X)  # checks the number of columns
    val = as_xy_tensors(*validation, **kw) if validation is not None else None
    batch = getattr(optimizer, "batch_size", None) or X.shape[0]
    if sparsity > 0 and min(batch, X.shape[0]) < 2:
        raise ValueError(
            "sparsity > 0 needs batches of at least 2 rows (the penalty measures the spread "
            f"of each edge over the batch); got {X.shape[0]} row(s) and batch_size={batch}"
        )
    weights = _weights(sample_weight, X, loss)
    if weights is not None:
        loss = None
    run = _Run(model, X, y, val, optimizer or LBFGS(), loss, sparsity, entropy, seed, weights)
    return run.train(steps, grid_updates, patience, progress, time_limit)


def _weights(sample_weight: Any, X: Tensor, loss: LossFn | None) -> Tensor | None:
    """Row weights as an ``(n, 1)`` tensor of mean 1, or ``None`` (no weights)."""
    if sample_weight is None:
        return None
    if loss is not None:
        raise ValueError(
            "sample_weight weighs the mean squared error; it cannot weigh a custom loss"
        )
    check_real_data(sample_weight, "sample_weight")
    w = torch.as_tensor(np.asarray(sample_weight, dtype=float), dtype=X.dtype, device=X.device)
    w = w.reshape(-1)
    if w.shape[0] != X.shape[0]:
        raise ValueError(f"sample_weight has {w.shape[0]} values but X has {X.shape[0]} rows")
    if not bool(torch.all(torch.isfinite(w))) or bool(torch.any(w <= 0)):
        raise ValueError("sample_weight must be positive and finite")
    return (w / w.mean())[:, None]


class _Run:
    """State of one call of :func:`fit`."""

    def __init__(self, model, X, y, val, opt, loss, sparsity, entropy, seed, w=None) -> None:
        self.model, self.X, self.y, self.val = model, X, y, val
        self.opt_spec, self.sparsity, self.entropy = opt, sparsity, entropy
        self.w = w
        self.loss = loss or _mse
        self.plain_mse = loss is None and w is None
        self.gen = torch.Generator().manual_seed(int(seed))
        self.history = History()
        self.optimizer = self._make_optimizer()

    def _make_optimizer(self) -> FlatLBFGS | torch.optim.Optimizer:
        self.release()
        params = self.params = _trainable_parameters(self.model)
        if not params:
            raise ValueError("the model has no trainable parameters (all are frozen)")
        self.plan = None
        if not isinstance(self.opt_spec, LBFGS):
            return torch.optim.Adam(params, lr=self.opt_spec.lr)
        opt = FlatLBFGS(
            params,
            lr=self.opt_spec.lr,
            max_iter=self.opt_spec.max_iter,
            history_size=self.opt_spec.history_size,
            tolerance_grad=1e-32,
            tolerance_change=1e-32,
        )
        self.plan = self._make_plan()  # after FlatLBFGS moved the parameters
        return opt

    def _make_plan(self) -> MSEPlan | None:
        """The evaluation plan of a plain MSE fit on fused layers, else ``None``."""
        if self.plain_mse and not self.sparsity and _plan_applies(self.model, self.X, self.params):
            return MSEPlan(self.model, self.X, self.y, self.params)
        return None

    def _after_grid_update(self) -> None:
        """L-BFGS keeps its history across a grid update (as pykan's fit does: a fresh
        history would restart from gradient steps); the evaluation plan is rebuilt."""
        opt = getattr(self, "optimizer", None)
        same = [id(p) for p in _trainable_parameters(self.model)] == [id(p) for p in self.params]
        if not isinstance(opt, FlatLBFGS) or not same:
            self.optimizer = self._make_optimizer()
            return
        opt.adopt()
        self.plan = self._make_plan()

    def release(self) -> None:
        """Give the parameters back their own storage (L-BFGS keeps them in one vector)."""
        if isinstance(getattr(self, "optimizer", None), FlatLBFGS):
            self.optimizer.release()

    def objective(self, x: Tensor, y: Tensor, w: Tensor | None = None) -> tuple:
        pred, edges = _forward(self.model, x, with_edges=self.sparsity > 0)
        data = self.loss(pred, y) if w is None else torch.mean(w * (pred - y) ** 2)
        if not edges:  # no penalty: the objective is the data loss itself
            return data, data, data.new_zeros(())
        pen = sparsity_penalty(*edges, self.entropy)
        return data + self.sparsity * pen, data, pen

    def _batch(self) -> tuple[Tensor, Tensor, Tensor | None]:
        bs = getattr(self.opt_spec, "batch_size", None)
        if bs is None or bs >= self.X.shape[0]:
            return self.X, self.y, self.w
        idx = torch.randperm(self.X.shape[0], generator=self.gen)[:bs].to(self.X.device)
        return self.X[idx], self.y[idx], None if self.w is None else self.w[idx]

    def step(self) -> tuple[Tensor, Tensor, Tensor]:
        """One optimiser step; returns the losses of its last evaluation."""
        x, y, w = self._batch()
        last: list[tuple[Tensor, Tensor, Tensor]] = []
        plan = self.plan

        def objective() -> Tensor:
            for p in self.params:
                p.grad = None
            terms = self.objective(x, y, w)
            terms[0].backward()
            last[:] = [terms]
            self.history.evaluations += 1
            return terms[0]

        def loss_and_grad() -> tuple[Tensor | float, Tensor]:
            if plan is not None:
                data, grad = plan()
                last[:] = [data]
                self.history.evaluations += 1
                return data, grad
            with torch.enable_grad():
                loss = objective()
            grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in self.params]
            return loss.detach(), torch.cat([g.reshape(-1) for g in grads])

        if isinstance(self.optimizer, FlatLBFGS):
            self.optimizer.step(loss_and_grad)
        else:
            self.optimizer.step(objective)
        if plan is not None:
            data = self.y.new_tensor(last[0])
            return data, data, torch.zeros_like(data)
        return tuple(t.detach() for t in last[0])

    def train(self, steps, schedule, patience, progress, time_limit) -> History:
        try:
            return self._train(steps, schedule, patience, progress, time_limit)
        finally:
            self.release()

    def _train(self, steps, schedule, patience, progress, time_limit) -> History:
        h, t0 = self.history, time.perf_counter()
        stop_at = math.inf if time_limit is None else t0 + time_limit
        good = _snapshot(self.model)
        best = (math.inf, good)
        bar = _progress(steps, progress)
        for s in range(steps):
            if schedule is not None and s % schedule.every == 0 and s < schedule.until:
                self.model.update_grid(self.X, schedule.eps)
                self._after_grid_update()
            if not self._record(s, good, self.step()):
                break
            good = _snapshot(self.model)
            if self.val is not None and h.val_loss[-1] < best[0]:
                best = (h.val_loss[-1], good)
                h.best_step = s + 1
            elif self.val is None:
                h.best_step = s + 1
            if patience is not None and self.val is not None and s + 1 - h.best_step >= patience:
                h.stopped = f"early stopping: no better validation loss for {patience} steps"
                break
            bar.update(1)
            bar.set_postfix(loss=f"{h.train_loss[-1]:.3e}")
            if time.perf_counter() > stop_at:
                h.stopped = f"time limit of {time_limit} s reached"
                break
        bar.close()
        if self.val is not None and best[0] < math.inf:
            self.model.load_state_dict(best[1])
        h.seconds = time.perf_counter() - t0
        return h

    @torch.no_grad()
    def _record(self, s: int, good: dict, terms: tuple[Tensor, Tensor, Tensor]) -> bool:
        """Log the losses; on a non-finite loss restore ``good`` and return False."""
        h = self.history
        total, data, pen = terms
        params_ok = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not (torch.isfinite(total) and params_ok):
            self.model.load_state_dict(good)
            h.stopped = (
                f"non-finite loss at step {s + 1}; restored the parameters of step {s} "
                "(try a smaller learning rate or sparsity)"
            )
            warnings.warn(h.stopped, RuntimeWarning, stacklevel=4)
            return False
        h.steps = s + 1
        h.train_loss.append(float(data))
        h.penalty.append(float(pen))
        if self.val is not None:
            h.val_loss.append(float(self.loss(self.model(self.val[0]), self.val[1])))
        log.debug("step %d loss %.3e penalty %.3e", s + 1, float(data), float(pen))
        return True


def _plan_applies(model: KAN, X: Tensor, params: list[Tensor]) -> bool:
    """Whether :class:`MSEPlan` can evaluate the fit: every layer on the fused kernel, no
    symbolic edge, inputs without gradient, only coefficients, scales and biases to train."""
    if X.requires_grad or model.fused_args() is None:
        return False
    kinds = {id(p) for layer in model.layers for p in (layer.coef, layer.scales, layer.bias)}
    return all(id(p) in kinds for p in params)


def _trainable_parameters(model: KAN) -> list[Tensor]:
    """The parameters that can move: those requiring a gradient, less the symbolic affines
    ``(a, b, c, d)`` of layers without symbolic edges (their gradient is always zero)."""
    idle = {
        id(layer.sym_affine)
        for layer in model.layers
        if not bool((layer.sym_mask * layer.mask).any())
    }
    return [p for p in model.parameters() if p.requires_grad and id(p) not in idle]


def _snapshot(model: KAN) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(steps: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="fit")


def _check_fit_args(model, steps, sparsity, entropy, optimizer, grid_updates, validation):
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a kandiscover KAN, got {type(model).__name__}")
    check_integer("steps", steps, 0)
    check_number("sparsity", sparsity, 0.0)
    check_number("entropy", entropy, 0.0)
    if optimizer is not None and not isinstance(optimizer, (LBFGS, Adam)):
        raise TypeError(f"optimizer must be kd.LBFGS(...), kd.Adam(...) or None, got {optimizer!r}")
    if grid_updates is not None and not isinstance(grid_updates, GridSchedule):
        raise TypeError(
            f"grid_updates must be a kd.GridSchedule(...) or None, got {grid_updates!r}"
        )
    if validation is not None and (
        isinstance(validation, (str, bytes))
        or not isinstance(validation, Sequence)
        or len(validation) != 2
    ):
        raise TypeError(f"validation must be a pair (X_val, y_val) or None, got {validation!r}")


def _check_run_args(patience, loss, seed, time_limit) -> None:
    if patience is not None:
        check_integer("patience", patience, 1, what="a positive integer or None")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be a function loss(pred, target) or None, got {loss!r}")
    check_seed(seed)
    if time_limit is not None:
        what = "a positive number of seconds or None"
        check_number("time_limit", time_limit, 0.0, strict=True, what=what)


def _named_validation(validation) -> list[tuple[str, Any]]:
    if validation is None:
        return []
    return [("validation[0] (X_val)", validation[0]), ("validation[1] (y_val)", validation[1])]
