"""Fit ``y = c * f(a * x + b) + d`` for many edges and every primitive at once.

For fixed ``(a, b)`` the best ``c, d`` is a 1-D linear regression with a closed form, so a
grid over ``(a, b)`` for all edges is one batched tensor computation per primitive. The best
few grid points per edge are polished with batched Levenberg-Marquardt on all four
parameters, then ranked with :func:`~kandiscover.symbolic.select.selection_score`.

Everything runs in float64 on the device of the input. Inputs are standardised internally
(``x`` to ``[-1, 1]``, ``y`` to zero mean and unit variance); the grid ranges below are in
those standardised units, so they do not depend on the scale of the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
import torch
from torch import Tensor

from kandiscover.symbolic._lm import closed_form_cd, refine
from kandiscover.symbolic.library import DEFAULT_LIBRARY, Library, Primitive
from kandiscover.symbolic.select import DEFAULT_FLOOR, selection_score

__all__ = ["Candidate", "EdgeFit", "fit_edges"]

_MEMORY_BUDGET = 256 * 2**20  # bytes for one grid chunk of z / f temporaries
_MAX_ABS = 1e100  # |f| beyond this counts as numerically invalid


@dataclass(frozen=True)
class Candidate:
    """One fitted primitive on one edge: ``y ~ c * f(a * x + b) + d``.

    Attributes
    ----------
    primitive : str
        Name of the primitive ``f`` in the library used for the fit.
    a, b, c, d : float
        Fitted parameters in the original units of ``x`` and ``y``. For primitives whose
        inner map is not fully identifiable they are normalised: ``"shift"`` primitives
        have ``a = +-1``, ``"scale"`` ones ``b = 0``, ``"none"`` ones ``a = 1, b = 0``, and
        the zero primitive has ``c = 0`` and ``d = mean(y)``; sign-free ``"shift"``
        primitives have ``a = +1``; periodic ones have ``b`` in ``[-period/2, period/2]``.
    r2 : float
        Coefficient of determination on the samples (``1.0`` for an exact fit of a constant).
    rmse : float
        Root mean squared error on the samples.
    complexity : int
        The primitive's complexity.
    score : float
        Selection score (lower is better), see :func:`selection_score`.
    """

    primitive: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    rmse: float
    complexity: int
    score: float

    def evaluate(self, x: Tensor, library: Library = DEFAULT_LIBRARY) -> Tensor:
        """``c * f(a * x + b) + d`` evaluated with the torch form of the primitive."""
        f = library[self.primitive].torch_fn
        return self.c * f(self.a * x + self.b) + self.d

    def to_sympy(self, x: sympy.Expr, library: Library = DEFAULT_LIBRARY) -> sympy.Expr:
        """``c * f(a * x + b) + d`` as a SymPy expression in ``x`` (floats as ``Float``)."""
        f = library[self.primitive].sympy_fn
        inner = sympy.Float(self.a) * x + sympy.Float(self.b)
        return sympy.Float(self.c) * f(inner) + sympy.Float(self.d)


@dataclass(frozen=True)
class EdgeFit:
    """The ranked candidates for one edge, best (lowest score) first.

    Attributes
    ----------
    candidates : tuple of Candidate
        At most ``top`` candidates, one per primitive, ranked by score.
    """

    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate:
        """The best candidate.

        Raises
        ------
        ValueError
            If no primitive fits the edge with a finite error (its samples are too large
            for every primitive).
        """
        if not self.candidates:
            raise ValueError("no primitive fits this edge with a finite error")
        return self.candidates[0]


def fit_edges(
    x: Tensor,
    y: Tensor,
    library: Library = DEFAULT_LIBRARY,
    *,
    a_range: tuple[float, float] = (0.1, 20.0),
    n_a: int = 41,
    n_b: int = 41,
    top: int = 3,
    starts: int = 3,
    refine_steps: int = 20,
    grid_samples: int = 128,
    weight: float = 1.0,
    floor: float = DEFAULT_FLOOR,
) -> list[EdgeFit]:
    """Fit every primitive of ``library`` to every edge and rank them.

    Parameters
    ----------
    x, y : Tensor
        Samples of shape ``(E, N)``: row ``e`` holds the inputs and outputs of edge ``e``.
        Must be finite; ``N >= 2``.
    library : Library
        Primitives to try.
    a_range : (float, float)
        Range of slope magnitudes ``|a|`` searched (log-spaced), in standardised units:
        ``a = 1`` maps the observed range of ``x`` onto an interval of length 2.
    n_a : int
        Number of slope magnitudes (both signs are tried unless the primitive is sign-free).
    n_b : int
        Number of offsets per slope (and of endpoints for bounded domains).
    top : int
        Number of candidates returned per edge.
    starts : int
        Number of grid points per edge and primitive polished by Levenberg-Marquardt.
    refine_steps : int
        Levenberg-Marquardt iterations (``0`` keeps the grid result with exact ``c, d``).
    grid_samples : int
        Samples per edge (spread over the sorted ``x``, extremes included) for the grid.
    weight : float
        The selection knob: price of one unit of complexity (see ``selection_score``).
    floor : float
        Relative MSE below which a fit counts as exact.

    Returns
    -------
    list of EdgeFit
        One per row of ``x``, in order.

    Raises
    ------
    ValueError
        If the shapes or options are invalid or the samples are not finite.

    Examples
    --------
    >>> x = torch.linspace(-2, 2, 200)[None]
    >>> fit_edges(x, 3 * torch.sin(2 * x) + 1)[0].best.primitive
    'sin'
    """
    _check_inputs(x, y, a_range, n_a, n_b, top, starts, refine_steps, grid_samples)
    with torch.inference_mode(False):
        x64 = x.detach().to(torch.float64).clone()
        y64 = y.detach().to(torch.float64).clone()
        data = _Standardised.from_samples(x64, y64, grid_samples)
        opts = (a_range, n_a, n_b, starts, refine_steps)
        fits = _fit_all(library, data, opts)
        return _rank(library, fits, y64, top, weight, floor)


def _check_inputs(
    x: Tensor,
    y: Tensor,
    a_range: tuple[float, float],
    n_a: int,
    n_b: int,
    top: int,
    starts: int,
    refine_steps: int,
    grid_samples: int,
) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(
            f"x and y must be torch tensors; got {type(x).__name__}, {type(y).__name__}"
        )
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(
            f"x and y must both have shape (E, N); got {tuple(x.shape)} and {tuple(y.shape)} "
            "(for one edge use x[None], y[None])"
        )
    if x.shape[1] < 2:
        raise ValueError(f"need N >= 2 samples per edge; got N={x.shape[1]}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("x and y must be finite (found NaN or inf); drop those samples first")
    lo, hi = a_range
    if not 0 < lo <= hi < math.inf:
        raise ValueError(f"a_range must be (low, high) with 0 < low <= high; got {a_range}")
    for name, value, least in (
        ("n_a", n_a, 1),
        ("n_b", n_b, 2),
        ("top", top, 1),
        ("starts", starts, 1),
        ("refine_steps", refine_steps, 0),
        ("grid_samples", grid_samples, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int >= {least}; got {value!r}")


@dataclass(frozen=True)
class _Standardised:
    """Samples mapped to ``x' in [-1, 1]`` and ``y'`` with mean 0 and variance 1."""

    x: Tensor  # (E, N) standardised inputs
    y: Tensor  # (E, N) standardised targets
    xs: Tensor  # (E, Ns) grid subsample, sorted
    ys: Tensor  # (E, Ns) grid subsample targets, centred
    x_mid: Tensor  # (E,)
    x_half: Tensor  # (E,)
    y_mean: Tensor  # (E,)
    y_std: Tensor  # (E,)

    @classmethod
    def from_samples(cls, x: Tensor, y: Tensor, grid_samples: int) -> _Standardised:
        lo, hi = x.min(dim=1).values, x.max(dim=1).values
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        half = torch.where(half > 1e-300 * (1 + mid.abs()), half, torch.ones_like(half))
        ym, ysd = y.mean(dim=1), y.std(dim=1, correction=0)
        ysd = torch.where(ysd > 1e-300, ysd, torch.ones_like(ysd))
        xn = (x - mid[:, None]) / half[:, None]
        yn = (y - ym[:, None]) / ysd[:, None]
        n = x.shape[1]
        order = torch.argsort(xn, dim=1)
        pick = torch.linspace(0, n - 1, min(grid_samples, n), dtype=torch.float64)
        idx = order[:, pick.round().long().to(x.device)]
        xs, ys = torch.gather(xn, 1, idx).clamp(-1, 1), torch.gather(yn, 1, idx)
        return cls(xn, yn, xs, ys - ys.mean(dim=1, keepdim=True), mid, half, ym, ysd)


def _inner_grid(p: Primitive, opts: tuple, like: Tensor) -> tuple[Tensor, Tensor]:
    """Grid of standardised ``(a', b')`` pairs for one primitive, flattened to ``(G,)``."""
    a_range, n_a, n_b = opts[0], opts[1], opts[2]
    kw = {"dtype": torch.float64, "device": like.device}
    signs = torch.tensor([1.0] if p.sign_free else [1.0, -1.0], **kw)
    if p.inner == "none":
        return torch.ones(1, **kw), torch.zeros(1, **kw)
    if p.inner == "scale":
        mags = torch.logspace(math.log10(a_range[0]) - 1, math.log10(a_range[1]), 2 * n_a, **kw)
        a = (signs[:, None] * mags).reshape(-1)
        return a, torch.zeros_like(a)
    if p.inner == "shift":
        far = 1 + torch.logspace(-4, 2.5, n_b, **kw)
        b = torch.cat([torch.linspace(-2, 2, n_b, **kw), far, -far])
        a = signs.repeat_interleave(b.numel())
        return a, b.repeat(signs.numel())
    if p.domain.bounded:
        return _endpoint_grid(p, n_b, kw)
    mags = torch.logspace(math.log10(a_range[0]), math.log10(a_range[1]), n_a, **kw)
    a = (signs[:, None] * mags).reshape(-1)
    t = torch.linspace(-1, 1, n_b, **kw)
    if p.period is not None:
        b = 0.5 * p.period * t[None, :] * torch.ones_like(a)[:, None]
    else:
        b = torch.clamp(1.5 * a.abs(), min=3.0)[:, None] * t[None, :]
    return a.repeat_interleave(n_b), b.reshape(-1)


def _endpoint_grid(p: Primitive, n: int, kw: dict) -> tuple[Tensor, Tensor]:
    """Pairs ``(z_lo, z_hi)`` of points of a bounded domain as the image of ``[-1, 1]``."""
    lo, hi = p.domain.lower, p.domain.upper
    k = torch.arange(n, **kw)
    if p.domain.lower_open or p.domain.upper_open:
        pts = lo + (hi - lo) * (k + 1) / (n + 1)
    else:
        pts = lo + (hi - lo) * k / (n - 1)
    i, j = torch.triu_indices(n, n, offset=1, device=kw["device"])
    if not p.sign_free:
        i, j = torch.cat([i, j]), torch.cat([j, i])
    z_start, z_end = pts[i], pts[j]
    return 0.5 * (z_end - z_start), 0.5 * (z_end + z_start)


def _grid_search(p: Primitive, data: _Standardised, a: Tensor, b: Tensor, starts: int) -> Tensor:
    """Best ``starts`` grid points per edge as parameters ``(E, S, 4)`` = (a', b', c', d').

    Since the subsample spans exactly ``[-1, 1]``, the domain check of a grid point is an
    interval test on ``b' -+ |a'|``; non-finite values show up in the sums.
    """
    e, ns = data.xs.shape
    g = a.numel()
    inside = p.domain.contains_interval(b - a.abs(), b + a.abs())  # (G,)
    chunk = max(1, _MEMORY_BUDGET // (g * ns * 8 * 3))
    k = min(starts, g)
    best_sse, best_idx, best_c, best_d = [], [], [], []
    for lo in range(0, e, chunk):
        xs, ys = data.xs[lo : lo + chunk], data.ys[lo : lo + chunk]
        f = p.torch_fn(torch.addcmul(b[None, :, None], a[None, :, None], xs[:, None, :]))
        fm = f.mean(dim=-1)
        sff = torch.einsum("egn,egn->eg", f, f) - ns * fm * fm
        sfy = torch.bmm(f, ys[..., None])[..., 0]
        ok = inside & torch.isfinite(sff) & torch.isfinite(sfy) & (fm.abs() < _MAX_ABS)
        usable = ok & (sff > 1e-12 * (sff + ns * fm * fm) + 1e-300)
        c = torch.where(usable, sfy / torch.where(usable, sff, torch.ones_like(sff)), 0 * sff)
        sse = (ys * ys).sum(dim=-1, keepdim=True) - torch.where(usable, c * sfy, 0 * sff)
        sse = torch.where(ok, sse, torch.full_like(sse, math.inf))
        top_sse, idx = torch.topk(sse, k, dim=-1, largest=False)
        best_sse.append(top_sse)
        best_idx.append(idx)
        best_c.append(torch.gather(c, 1, idx))
        best_d.append(-torch.gather(torch.where(ok, c * fm, 0 * fm), 1, idx))
    idx = torch.cat(best_idx)
    params = torch.stack([a[idx], b[idx], torch.cat(best_c), torch.cat(best_d)], dim=-1)
    ok = torch.isfinite(torch.cat(best_sse))
    return torch.where(ok[..., None], params, torch.full_like(params, math.nan))


_FREE = {"affine": (1, 1, 1, 1), "shift": (0, 1, 1, 1), "scale": (1, 0, 1, 1)}


def _fit_all(library: Library, data: _Standardised, opts: tuple) -> list[tuple[Tensor, Tensor]]:
    """Grid search every primitive, polish them together, return per-primitive results."""
    starts = [_grid_search(p, data, *_inner_grid(p, opts, data.x), opts[3]) for p in library]
    polish = [i for i, p in enumerate(library) if p.inner != "none"]
    steps = opts[4]
    if polish and steps > 0:
        prims = [list(library)[i] for i in polish]
        free = torch.tensor([_FREE[p.inner] for p in prims], device=data.x.device)
        params = torch.stack([starts[i] for i in polish])  # (P, E, S, 4)
        params, sse = refine(prims, data.xs, data.ys, params, free, steps)
        if data.xs.shape[1] < data.x.shape[1]:  # polish the best start on all samples
            sse, best = sse.min(dim=-1, keepdim=True)  # (P, E, 1)
            params = params.gather(2, best[..., None].expand(-1, -1, -1, 4))
            # only fits within a factor 100 of the best primitive of their edge compete
            hopeful = sse <= 100 * sse.amin(dim=0, keepdim=True) + 1e-12 * data.xs.shape[1]
            params, _ = refine(prims, data.x, data.y, params, free, steps, hopeful)
        for k, i in enumerate(polish):
            starts[i] = params[k]
    return [_to_original(p, prm, data) for p, prm in zip(library, starts)]


def _to_original(p: Primitive, params: Tensor, data: _Standardised) -> tuple[Tensor, Tensor]:
    """Pick the best start, undo the standardisation and normalise ``(a, b)``."""
    s, m = data.x_half[:, None], data.x_mid[:, None]
    a = params[..., 0] / s
    b = params[..., 1] - params[..., 0] * m / s
    if p.inner == "shift":
        a, b = torch.sign(a), b / a.abs()
    elif p.inner == "scale":
        b = torch.zeros_like(b)
    elif p.inner == "none":
        a, b = torch.ones_like(a), torch.zeros_like(b)
    if p.period is not None:  # one representative phase
        b = b - p.period * torch.round(b / p.period)
    x = data.x * data.x_half[:, None] + data.x_mid[:, None]
    y = data.y * data.y_std[:, None] + data.y_mean[:, None]
    c, d, sse, ok = closed_form_cd(p, x, y, a, b)
    best = torch.argmin(torch.where(ok, sse, torch.full_like(sse, math.inf)), dim=1, keepdim=True)
    out = torch.stack([a, b, c, d, sse], dim=-1).gather(1, best[..., None].expand(-1, -1, 5))
    return out[:, 0], ok.gather(1, best)[:, 0]


def _rank(
    library: Library,
    fits: list[tuple[Tensor, Tensor]],
    y: Tensor,
    top: int,
    weight: float,
    floor: float,
) -> list[EdgeFit]:
    """Score all (edge, primitive) fits and keep the ``top`` best per edge."""
    n = y.shape[1]
    params = torch.stack([f[0] for f in fits], dim=1)  # (E, P, 5)
    ok = torch.stack([f[1] for f in fits], dim=1)  # (E, P)
    var = y.var(dim=1, correction=0)  # a constant target is measured against roundoff:
    var_ref = torch.maximum(var, 1e-20 * (y * y).mean(dim=1)).clamp(min=1e-300)[:, None]
    sse = torch.where(ok, params[..., 4], torch.full_like(params[..., 4], math.inf))
    mse = sse / n
    complexity = torch.tensor([p.complexity for p in library], dtype=torch.float64)
    score = selection_score(mse, var_ref, n, complexity.to(y.device), weight=weight, floor=floor)
    r2 = torch.where(torch.isfinite(mse), 1 - mse / var_ref, torch.full_like(mse, -math.inf))
    # scores equal to 1e-6 nats are ties (sin and a shifted cos fit the same curve, their
    # scores differ by roundoff): ties go to the simpler primitive, then to library order
    key = torch.round(score * 1e6) / 1e6 + 1e-9 * complexity.to(y.device)
    order = torch.argsort(key, dim=1, stable=True)[:, :top]
    names = library.names
    rows = torch.stack([params[..., 0], params[..., 1], params[..., 2], params[..., 3]], -1)
    table = zip(order.tolist(), rows.tolist(), r2.tolist(), mse.tolist(), score.tolist())
    result = []
    for idx, prm, r2_e, mse_e, score_e in table:
        cands = tuple(
            Candidate(
                names[j],
                *prm[j],
                r2_e[j],
                math.sqrt(mse_e[j]),
                library[names[j]].complexity,
                score_e[j],
            )
            for j in idx
            if math.isfinite(score_e[j])
        )
        result.append(EdgeFit(cands))
    return result
