"""L-BFGS on one flat parameter vector, with a strong-Wolfe line search.

The algorithm is the classical one (Nocedal & Wright, algorithms 7.4 and 3.5/3.6), with
the choices of ``torch.optim.LBFGS`` (first step ``min(1, 1/|g|_1)``, at most
``1.25 max_iter`` evaluations per step, cubic interpolation, the same tolerances), so a
fit behaves the same. What differs is the bookkeeping. ``torch.optim.LBFGS`` gathers and
scatters every parameter tensor at every evaluation and runs the two-loop recursion as
some eighty tensor operations; for the small networks KANs are fitted with, that costs as
much as the network itself. Here the parameters are views into one vector, and the
two-loop recursion runs on scalars: its inner products all come from the matrices
``S Y^T``, ``Y Y^T`` (kept up to date one row at a time) and the products ``S g``,
``Y g``, so that one iteration is a handful of vector operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["FlatLBFGS"]

Closure = Callable[[], tuple[Tensor, Tensor]]


class FlatLBFGS:
    """Full-batch L-BFGS over ``params``, which become views into one vector.

    Parameters
    ----------
    params : sequence of Tensor
        Leaf tensors, all of one dtype and device. While the optimiser is alive they
        share one storage; :meth:`release` gives each its own again.
    lr, max_iter, history_size : as in ``torch.optim.LBFGS``
    tolerance_grad, tolerance_change : float
        Stop a step when the largest gradient entry, or the change of the loss or of
        the parameters, falls below these.

    Notes
    -----
    ``step(closure)``: the closure returns the loss and the flat gradient (a tensor of
    ``numel`` entries in the order of ``params``) at the current parameters.
    """

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float = 1.0,
        max_iter: int = 20,
        history_size: int = 10,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
    ) -> None:
        self.params = list(params)
        self.lr, self.max_iter, self.max_eval = lr, max_iter, max_iter * 5 // 4
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        with torch.no_grad():
            self.x = torch.cat([p.detach().reshape(-1) for p in self.params])
            offset = 0
            for p in self.params:
                p.data = self.x[offset : offset + p.numel()].view_as(p)
                offset += p.numel()
        m, n = history_size, self.x.numel()
        self.history = self.x.new_zeros(2 * m, n)  # rows 0..m-1: s, rows m..2m-1: y
        self.history_rows = self.history.unbind(0)
        self.new = self.x.new_zeros(3, n)  # the newest y, s and g
        self.new_y, self.new_s, self.new_g = self.new.unbind(0)
        self.sy = [[0.0] * m for _ in range(m)]  # s_i . y_j
        self.yy = [[0.0] * m for _ in range(m)]  # y_i . y_j
        self.rho = [0.0] * m
        self.order: list[int] = []  # history rows, oldest first
        self.m = m
        self.n_iter = 0
        self.d: Tensor | None = None
        self.t = 0.0
        self.g_prev: Tensor | None = None
        self.h_diag = 1.0

    def adopt(self) -> None:
        """Take the parameters' current values (code that replaced their ``data``, such as
        a grid update, broke their link to the flat vector); the history is kept."""
        with torch.no_grad():
            offset = 0
            for p in self.params:
                view = self.x[offset : offset + p.numel()].view_as(p)
                if p.data.data_ptr() != view.data_ptr():
                    view.copy_(p.data)
                    p.data = view
                offset += p.numel()

    def release(self) -> None:
        """Give every parameter its own storage again (the optimiser is done)."""
        with torch.no_grad():
            for p in self.params:
                p.data = p.data.clone()

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, closure: Closure) -> float:
        """Up to ``max_iter`` iterations; returns the loss at the first evaluation."""
        loss_t, g = closure()
        loss = first_loss = float(loss_t)
        evals = 1
        if _max_abs(g) <= self.tolerance_grad:
            return first_loss
        for it in range(self.max_iter):
            self.n_iter += 1
            d = self._direction(g)
            self.g_prev = g
            loss_prev = loss
            t = self.lr
            if self.n_iter == 1:
                t *= min(1.0, 1.0 / float(g.abs().sum()))
            gtd = float(g.dot(d))
            if gtd > -self.tolerance_change:
                break
            d_norm = _max_abs(d)
            budget = self.max_eval - evals  # evaluations left in this step
            loss, g, t, ls_evals = self._line_search(closure, t, d, d_norm, loss, g, gtd, budget)
            self.d, self.t = d, t
            evals += ls_evals
            if it + 1 == self.max_iter or evals >= self.max_eval:
                break
            if _max_abs(g) <= self.tolerance_grad:
                break
            if d_norm * abs(t) <= self.tolerance_change:
                break
            if abs(loss - loss_prev) < self.tolerance_change:
                break
        return first_loss

    # ------------------------------------------------------------- direction
    def _direction(self, g: Tensor) -> Tensor:
        """``-H g`` from the history (the two-loop recursion, on scalars)."""
        if self.n_iter == 1:
            return g.neg()
        y, s = self.new_y, self.new_s
        torch.sub(g, self.g_prev, out=y)
        torch.mul(self.d, self.t, out=s)
        self.new_g.copy_(g)
        ys = float(y.dot(s))
        if ys > 1e-10:
            prods = self._remember(ys)
        elif self.order:
            prods = (self.history @ g).tolist()
        else:
            return g.neg()
        m, order, h = self.m, self.order, self.h_diag
        sy, yy, rho = self.sy, self.yy, self.rho
        # prods[i]: s_i . g, prods[m + i]: y_i . g
        # first loop, newest first: alpha_i = rho_i s_i . (g - sum_{j newer} alpha_j y_j)
        alpha = [0.0] * m
        done: list[int] = []
        for i in reversed(order):
            acc, row = prods[i], sy[i]
            for j in done:
                acc -= alpha[j] * row[j]
            alpha[i] = rho[i] * acc
            done.append(i)
        # second loop, oldest first, on r = h q + sum_{j older} c_j s_j, q = g - Y^T alpha:
        # c_i = alpha_i - rho_i y_i . r
        coef = [0.0] * (2 * m)  # r = S^T coef[:m] + h (g - Y^T alpha); returned: -r
        done = []
        for i in order:
            acc, row = prods[m + i], yy[i]
            for j in order:
                acc -= alpha[j] * row[j]
            acc *= h
            for j in done:
                acc -= coef[j] * sy[j][i]
            coef[i] = -(alpha[i] - rho[i] * acc)
            coef[m + i] = h * alpha[i]
            done.append(i)
        a = torch.tensor(coef, dtype=g.dtype, device=g.device)
        return torch.addmv(g, self.history.T, a, beta=-h)

    def _remember(self, ys: float) -> list[float]:
        """Add the newest pair to the history; returns ``s_i . g`` and ``y_i . g``."""
        m = self.m
        row = self.order.pop(0) if len(self.order) == m else len(self.order)
        self.history_rows[row].copy_(self.new_s)
        self.history_rows[m + row].copy_(self.new_y)
        self.order.append(row)
        dots = (self.history @ self.new.T).tolist()  # rows: (. y_new, . s_new, . g)
        for i in self.order:
            self.sy[i][row] = dots[i][0]  # s_i . y_new
            self.sy[row][i] = dots[m + i][1]  # s_new . y_i
            self.yy[i][row] = self.yy[row][i] = dots[m + i][0]
        self.rho[row] = 1.0 / ys
        self.h_diag = ys / dots[m + row][0]
        return [r[2] for r in dots]

    # ----------------------------------------------------------- line search
    def _evaluate(self, closure: Closure, x0: Tensor, t: float, d: Tensor):
        torch.add(x0, d, alpha=t, out=self.x)
        loss, g = closure()
        return float(loss), g, float(g.dot(d))

    def _line_search(self, closure, t, d, d_norm, f, g, gtd, max_ls, c1=1e-4, c2=0.9, tol=1e-9):
        """Strong-Wolfe line search along ``d``; leaves the parameters at the accepted
        point. Returns its loss, gradient, step and the evaluations made.

        ``max_ls``: at most this many evaluations after the first. ``tol``: the bracket
        is small enough when it moves no parameter by more than this (fixed, as in
        ``torch.optim.LBFGS``, whatever ``tolerance_change`` is)."""
        x0 = self.x.clone()
        f_new, g_new, gtd_new = self._evaluate(closure, x0, t, d)
        evals = 1
        prev = (0.0, f, g, gtd)
        bracket = None
        for ls_iter in range(max_ls):  # widen the step until a bracket or a Wolfe point
            point = (t, f_new, g_new, gtd_new)
            if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= prev[1]):
                bracket = [prev, point]
                break
            if abs(gtd_new) <= -c2 * gtd:
                return self._accept(x0, d, point, evals)
            if gtd_new >= 0:
                bracket = [prev, point]
                break
            lo, hi = t + 0.01 * (t - prev[0]), t * 10
            t = _cubic_min(prev[0], prev[1], prev[3], t, f_new, gtd_new, lo, hi)
            prev = point
            f_new, g_new, gtd_new = self._evaluate(closure, x0, t, d)
            evals += 1
        if bracket is None:  # no bracket within max_ls evaluations
            bracket = [(0.0, f, g, gtd), (t, f_new, g_new, gtd_new)]
        search = (closure, x0, d, d_norm, f, gtd, c1, c2, tol)
        point, evals = self._zoom(search, bracket, evals, max_ls)
        return self._accept(x0, d, point, evals)

    def _zoom(self, search, bracket, evals, max_ls):
        """Shrink ``bracket`` (two points ``(t, f, g, g.d)``) until a point satisfies
        the strong Wolfe conditions; returns the lowest point and the evaluations made."""
        closure, x0, d, d_norm, f, gtd, c1, c2, tol = search
        insufficient = False
        low = 0 if bracket[0][1] <= bracket[1][1] else 1
        while evals <= max_ls:
            (t0, f0, _, gtd0), (t1, f1, _, gtd1) = bracket
            if abs(t1 - t0) * d_norm < tol:
                break
            b_lo, b_hi = min(t0, t1), max(t0, t1)
            t = _cubic_min(t0, f0, gtd0, t1, f1, gtd1, b_lo, b_hi)
            t, insufficient = _inwards(t, b_lo, b_hi, insufficient)
            f_new, g_new, gtd_new = self._evaluate(closure, x0, t, d)
            evals += 1
            point = (t, f_new, g_new, gtd_new)
            if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
                bracket[1 - low] = point
                low = 0 if bracket[0][1] <= bracket[1][1] else 1
            else:
                wolfe = abs(gtd_new) <= -c2 * gtd
                if not wolfe and gtd_new * (bracket[1 - low][0] - bracket[low][0]) >= 0:
                    bracket[1 - low] = bracket[low]
                bracket[low] = point
                if wolfe:
                    break
            if abs(bracket[1][0] - bracket[0][0]) * d_norm < tol:
                break
        return bracket[low], evals

    def _accept(self, x0, d, point, evals):
        t, f_new, g_new, _ = point
        torch.add(x0, d, alpha=t, out=self.x)
        return f_new, g_new, t, evals


def _inwards(t: float, lo: float, hi: float, insufficient: bool) -> tuple[float, bool]:
    """Keep a trial step off the ends of the bracket ``[lo, hi]``: one within a tenth of
    an end is moved to that tenth when the previous step was too close as well, or when
    it lies on an end; returns the step and whether it was too close."""
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) >= eps:
        return t, False
    if insufficient or t >= hi or t <= lo:
        return (hi - eps if abs(t - hi) < abs(t - lo) else lo + eps), False
    return t, True


def _max_abs(v: Tensor) -> float:
    return float(torch.linalg.vector_norm(v, math.inf))


def _cubic_min(x1, f1, g1, x2, f2, g2, lo, hi) -> float:
    """Minimiser of the cubic through two points with slopes, clamped to ``[lo, hi]``."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(x, lo), hi)
    return (lo + hi) / 2
