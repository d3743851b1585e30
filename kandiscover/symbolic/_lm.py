"""Batched least-squares kernels for ``y = c * f(a * x + b) + d`` (private).

All functions work on a batch of edges ``E`` times starts ``S``: parameters have shape
``(E, S, 4)`` (``a, b, c, d``), samples ``(E, N)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from kandiscover.symbolic.library import Primitive

__all__ = ["closed_form_cd", "refine"]

_MAX_ABS = 1e100


def _evaluate(p: Primitive, x: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``z = a x + b`` ``(E, S, N)``, ``f(z)`` (zeroed where invalid) and validity ``(E, S)``."""
    z = a[..., None] * x[:, None, :] + b[..., None]
    f = p.torch_fn(z)
    ok = (p.domain.valid(z) & (f.abs() < _MAX_ABS)).all(dim=-1)
    ok = ok & torch.isfinite(a) & torch.isfinite(b)
    return z, torch.where(ok[..., None], f, torch.zeros_like(f)), ok


def closed_form_cd(
    p: Primitive, x: Tensor, y: Tensor, a: Tensor, b: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Least-squares ``c, d`` for fixed ``a, b`` ``(E, S)``; also the SSE and validity.

    Invalid ``(a, b)`` get ``c = 0``, ``d = 0`` and ``sse = inf``.
    """
    _, f, ok = _evaluate(p, x, a, b)
    n = x.shape[-1]
    fm = f.mean(dim=-1)
    fc = f - fm[..., None]
    ym = y.mean(dim=-1, keepdim=True)
    yc = y - ym
    sff = (fc * fc).sum(dim=-1)
    sfy = torch.einsum("esn,en->es", fc, yc)
    usable = sff > 1e-13 * (sff + n * fm * fm) + 1e-300
    c = torch.where(usable, sfy / torch.where(usable, sff, torch.ones_like(sff)), 0.0 * sff)
    d = ym - c * fm
    r = y[:, None, :] - c[..., None] * f - d[..., None]
    sse = (r * r).sum(dim=-1)
    inf = torch.full_like(sse, math.inf)
    zero = torch.zeros_like(sse)
    return torch.where(ok, c, zero), torch.where(ok, d, zero), torch.where(ok, sse, inf), ok


def _derivative(fn: Callable[[Tensor], Tensor], z: Tensor) -> tuple[Tensor, Tensor]:
    """``f(z)`` and ``f'(z)`` elementwise, by autograd or (if that fails) central differences."""
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        f = fn(zz)
        if f.requires_grad:
            (fp,) = torch.autograd.grad(f.sum(), zz)
            return f.detach(), fp
    h = 1e-6 * (1 + z.abs())
    return f.detach(), (fn(z + h) - fn(z - h)) / (2 * h)


def _evaluate_all(
    prims: Sequence[Primitive],
    x: Tensor,
    params: Tensor,
    previous: tuple[Tensor, Tensor, Tensor] | None = None,
    todo: Sequence[bool] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``f`` and ``f'`` ``(P, E, S, N)`` at ``params`` ``(P, E, S, 4)``, and validity.

    Primitives with ``todo[i]`` false are copied from ``previous`` instead.
    """
    fs, fps, oks = [], [], []
    for i, p in enumerate(prims):
        if previous is not None and todo is not None and not todo[i]:
            fs.append(previous[0][i])
            fps.append(previous[1][i])
            oks.append(previous[2][i])
            continue
        z = torch.addcmul(params[i, ..., 1:2], params[i, ..., 0:1], x[:, None, :])
        finite = torch.isfinite(z)
        f, fp = _derivative(p.torch_fn, torch.where(finite, z, torch.zeros_like(z)))
        good = p.domain.valid(z) & (f.abs() < _MAX_ABS) & torch.isfinite(fp)
        ok = good.all(dim=-1)
        fs.append(torch.where(ok[..., None], f, torch.zeros_like(f)))
        fps.append(torch.where(ok[..., None], fp, torch.zeros_like(fp)))
        oks.append(ok)
    return torch.stack(fs), torch.stack(fps), torch.stack(oks)


def _sse(y: Tensor, params: Tensor, f: Tensor, ok: Tensor) -> Tensor:
    r = y[:, None, :] - params[..., 2:3] * f - params[..., 3:4]
    sse = (r * r).sum(dim=-1)
    return torch.where(ok & torch.isfinite(sse), sse, torch.full_like(sse, math.inf))


def refine(
    prims: Sequence[Primitive],
    x: Tensor,
    y: Tensor,
    params: Tensor,
    free: Tensor,
    steps: int,
    active: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Batched Levenberg-Marquardt for several primitives at once.

    Parameters
    ----------
    prims : sequence of Primitive
        ``P`` primitives.
    x, y : Tensor
        Samples ``(E, N)``.
    params : Tensor
        Starts ``(P, E, S, 4)`` (``a, b, c, d``); starts containing NaN are left alone.
    free : Tensor
        ``(P, 4)`` with 1 for the parameters that may move, 0 for fixed ones.
    steps : int
        Maximum number of iterations.
    active : Tensor, optional
        ``(P, E, S)`` booleans; problems marked false are not refined.

    Returns
    -------
    params, sse : Tensor
        Polished parameters ``(P, E, S, 4)`` and their SSE ``(P, E, S)`` (``inf`` if
        invalid). A step is accepted per problem only where it lowers the SSE inside the
        domain, so the result is never worse than the start.
    """
    mask = free.to(x.dtype)[:, None, None, None, :]  # (P, 1, 1, 1, 4)
    f, fp, ok = _evaluate_all(prims, x, params)
    sse = _sse(y, params, f, ok)
    lam = torch.full_like(sse, 1e-3)
    active = torch.isfinite(sse) if active is None else active & torch.isfinite(sse)
    tiny = 1e-28 * (y * y).sum(dim=-1)[:, None]
    xb = x[:, None, :]
    for _ in range(steps):
        active = active & (lam < 1e10) & (sse > tiny)
        if not bool(active.any()):
            break
        c, d = params[..., 2:3], params[..., 3:4]
        cfp = c * fp
        jac = torch.stack([cfp * xb, cfp, f, torch.ones_like(f)], dim=-1) * mask
        r = y[:, None, :] - c * f - d
        jtj = torch.einsum("pesni,pesnj->pesij", jac, jac)
        jtr = torch.einsum("pesni,pesn->pesi", jac, r)
        diag = jtj.diagonal(dim1=-2, dim2=-1)
        damp = lam[..., None] * (diag + 1e-12 * diag.amax(dim=-1, keepdim=True) + 1e-300)
        system = jtj + torch.diag_embed(damp + (1 - mask[:, :, :, 0]))
        step, info = torch.linalg.solve_ex(system, jtr[..., None])
        keep = active & (info == 0) & torch.isfinite(step).all(dim=-2)[..., 0]
        trial = params + torch.where(keep[..., None], step[..., 0], torch.zeros_like(params))
        todo = active.flatten(1).any(dim=1).tolist()
        f_t, fp_t, ok_t = _evaluate_all(prims, x, trial, (f, fp, ok), todo)
        trial_sse = _sse(y, trial, f_t, ok_t)
        better = keep & (trial_sse < sse)
        active = active & ~(better & (sse - trial_sse <= 1e-12 * sse))
        params = torch.where(better[..., None], trial, params)
        f = torch.where(better[..., None], f_t, f)
        fp = torch.where(better[..., None], fp_t, fp)
        sse = torch.where(better, trial_sse, sse)
        lam = torch.where(better, lam * 0.3, lam * 10).clamp(min=1e-12)
    return params, sse
