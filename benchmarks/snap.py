"""Snapping speed: kandiscover's batched ``kd.snap`` against pykan 0.2.8's ``suggest_symbolic``.

Three figures, all on the CPU:

1. Both libraries train the KAN paper's flagship example, f(x0, x1) = exp(sin(pi x0) + x1^2)
   on 1000 points of [-1, 1]^2, with the same recipe: a [2, 5, 1] network, 50 L-BFGS steps
   with a sparsity penalty of 1e-2, prune, 50 more L-BFGS steps.
2. Every live edge of each pruned model is snapped: kandiscover fits all edges against its
   whole default library in one batched call (``kd.snap``); pykan calls
   ``model.suggest_symbolic(l, i, j)`` edge by edge with its whole default library. The
   time per edge, the total, and the primitive each side picks for each edge are shown.
3. Throughput on many edges: ``fit_edges`` on 10 synthetic edges x 1000 samples (random
   affine maps of random library primitives), ``kd.snap`` on the unpruned kandiscover
   network, and ``suggest_symbolic`` on every edge of the unpruned pykan network (a
   [2, 5, 1] network has 2*5 + 5*1 = 15 edges; when one pykan edge takes more than 10 s,
   two edges are timed and the rest extrapolated, and the output says so). Speed-ups are
   per edge, and for the whole unpruned network.

Usage::

    python benchmarks/snap.py | tee benchmarks/results/snap_cpu.txt
    python benchmarks/snap.py --quick   # smoke run: 5 steps, 1 repeat, 1 pykan edge per net

pykan is optional; without it its rows are skipped.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
from _common import cpu_model, in_tempdir, load_pykan, quiet

import kandiscover as kd
from kandiscover.symbolic.edgefit import fit_edges
from kandiscover.symbolic.library import DEFAULT_LIBRARY

N_ROWS = 1000
PYKAN_SLOW_EDGE_S = 10.0  # beyond this per edge, pykan's 10-edge figure is extrapolated


# ----------------------------------------------------------------------------- helpers


def fmt_time(s: float) -> str:
    if s >= 1.0:
        return f"{s:8.2f} s "
    if s >= 1e-3:
        return f"{s * 1e3:8.2f} ms"
    return f"{s * 1e6:8.1f} us"


def loadavg() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def target(X: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(math.pi * X[:, 0]) + X[:, 1] ** 2)


# ----------------------------------------------------------------------------- training


def train_kd(X: torch.Tensor, y: torch.Tensor, steps: int):
    """kandiscover's recipe; returns (unpruned model, pruned model, seconds)."""
    t0 = time.perf_counter()
    m = kd.KAN([2, 5, 1], seed=0, dtype=torch.float64)
    kd.fit(m, X, y, steps=steps, sparsity=1e-2)
    unpruned = m.clone()
    m = kd.prune(m, X)
    kd.fit(m, X, y, steps=steps)
    return unpruned, m, time.perf_counter() - t0


def train_pykan(PyKAN, X: torch.Tensor, y: torch.Tensor, steps: int):
    """pykan's recipe (float32, its default); returns (unpruned, pruned, seconds)."""
    width = [2, 5, 1]
    dataset = {
        "train_input": X.float(),
        "train_label": y[:, None].float(),
        "test_input": X.float(),
        "test_label": y[:, None].float(),
    }
    t0 = time.perf_counter()
    with quiet():
        model = PyKAN(width=list(width), grid=5, k=3, seed=0)
        model.fit(dataset, opt="LBFGS", steps=steps, lamb=0.01)
        with torch.no_grad():  # activations (graph-free, so the net can be deep-copied)
            model(dataset["train_input"])
        unpruned = copy.deepcopy(model)
        model = model.prune()
        model.fit(dataset, opt="LBFGS", steps=steps)
        with torch.no_grad():  # fresh activations for suggest_symbolic
            model(dataset["train_input"])
    return unpruned, model, time.perf_counter() - t0


def rmse_kd(m, X, y) -> float:
    with torch.no_grad():
        return float(((m(X)[:, 0] - y) ** 2).mean().sqrt())


def rmse_pykan(model, X, y) -> float:
    with torch.no_grad(), quiet():
        return float(((model(X.float())[:, 0].double() - y) ** 2).mean().sqrt())


def pykan_live_edges(model) -> list[tuple[int, int, int]]:
    """``(layer, in, out)`` of every live, still-numeric edge (pykan's own test)."""
    found = []
    for l in range(len(model.width_in) - 1):
        act_mask = model.act_fun[l].mask  # (in, out)
        sym_mask = model.symbolic_fun[l].mask  # (out, in)
        for i in range(model.width_in[l]):
            for j in range(model.width_out[l + 1]):
                if act_mask[i][j] > 0 and sym_mask[j, i] == 0:
                    found.append((l, i, j))
    return found


def kd_edge_label(m, layer: int, out: int, inp: int) -> str:
    if layer == 0:
        return f"x{m.input_index[inp]} -> h{out}"
    if layer == len(m.layers) - 1:
        return f"h{inp} -> y"
    return f"h{inp} -> h{out}"


def pykan_edge_label(model, layer: int, inp: int, out: int) -> str:
    if layer == 0:
        return f"x{inp} -> h{out}"
    if layer == len(model.width_in) - 2:
        return f"h{inp} -> y"
    return f"h{inp} -> h{out}"


def pykan_suggest(model, edges, *, cap_s: float | None = None, limit: int | None = None):
    """Time ``suggest_symbolic`` per edge. Returns [(edge, seconds, name)], all_timed.

    With ``cap_s``, stop after two edges once the first took longer than ``cap_s``; with
    ``limit``, time at most that many edges.
    """
    rows = []
    for n, (l, i, j) in enumerate(edges):
        if limit is not None and n >= limit:
            break
        with quiet():
            dt, res = timed(lambda l=l, i=i, j=j: model.suggest_symbolic(l, i, j))
        rows.append(((l, i, j), dt, res[0]))
        if cap_s is not None and n >= 1 and rows[0][1] > cap_s:
            break
    return rows, len(rows) == len(edges)


def kd_snap_timed(m, X, repeats: int):
    """Median time of ``kd.snap`` on fresh clones of ``m``; the choices of the last run."""
    kd.snap(m.clone(), X)  # warm-up
    times, choices = [], None
    for _ in range(repeats):
        clone = m.clone()
        dt, choices = timed(lambda clone=clone: kd.snap(clone, X))
        times.append(dt)
    return statistics.median(times), min(times), choices


# ----------------------------------------------------------------------------- synthetic


def synthetic_edges(n_edges: int, n_samples: int, seed: int = 0):
    """Random affine maps ``c f(a x + b) + d`` of random library primitives.

    ``x`` is random uniform on [-1, 1] per edge; ``a, b`` keep ``a x + b`` inside the
    primitive's domain. Returns x, y of shape (n_edges, n_samples) and the true names.
    """
    gen = torch.Generator().manual_seed(seed)

    def u(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=gen, dtype=torch.float64))

    names = [p.name for p in DEFAULT_LIBRARY if p.name != "0"]
    picks = torch.randperm(len(names), generator=gen)[:n_edges].tolist()
    xs, ys, truth = [], [], []
    for k in picks:
        p = DEFAULT_LIBRARY[names[k]]
        x = torch.rand(n_samples, generator=gen, dtype=torch.float64) * 2 - 1
        sign = 1.0 if u(0, 1) < 0.5 else -1.0
        dom = p.domain
        if dom.bounded:  # arcsin, arccos, arctanh, tan: stay strictly inside
            half = 0.5 * (dom.upper - dom.lower)
            a, b = sign * u(0.4, 0.9) * half, 0.0
        elif math.isfinite(dom.lower) or dom.excluded:  # positive / nonzero domains
            a = sign * u(0.5, 2.0)
            b = abs(a) + u(0.3, 1.0)
        else:
            a, b = sign * u(0.5, 3.0), u(-1.0, 1.0)
        c = (1.0 if u(0, 1) < 0.5 else -1.0) * u(0.5, 3.0)
        d = u(-1.0, 1.0)
        xs.append(x)
        ys.append(c * p.torch_fn(a * x + b) + d)
        truth.append(p.name)
    return torch.stack(xs), torch.stack(ys), truth


# ----------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 5 steps, 1 repeat, one pykan edge timed per net",
    )
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each kd call")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    steps = 5 if args.quick else 50
    repeats = 1 if args.quick else args.repeats
    PyKAN = print_header(args, steps)
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(N_ROWS, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = target(X)
    kd_full, kd_m, py_full, py_m = section_training(PyKAN, X, y, steps)
    section_snap(kd_m, py_m, X, repeats, args.quick)
    section_many_edges(kd_full, py_full, X, repeats, args.quick)
    print(f"\nload average  {loadavg()} (1, 5, 15 min) at end")
    return 0


def print_header(args, steps: int):
    """The run's header; returns pykan's ``KAN`` class, or ``None`` without pykan."""
    PyKAN, pykan_info = load_pykan()
    pykan_ver = pykan_info if PyKAN is not None else "n/a"
    print("kandiscover snap benchmark")
    print(f"date          {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(f"python        {platform.python_version()}  torch {torch.__version__}")
    print(f"kandiscover   {kd.__version__}   pykan {pykan_ver}")
    print(
        f"cpu           {cpu_model()}, {os.cpu_count()} logical cores, torch threads {args.threads}"
    )
    print(f"load average  {loadavg()} (1, 5, 15 min) at start")
    print(f"mode          {'quick' if args.quick else 'full'}: {steps} + {steps} L-BFGS steps")
    if PyKAN is None:
        print(f"pykan rows skipped: {pykan_info}")
    sys.stdout.flush()
    return PyKAN


def section_training(PyKAN, X, y, steps: int):
    """1. Both sides train and prune; returns the full and pruned models of each."""
    print("\n-- 1. training: [2,5,1], fit(50 steps, sparsity 1e-2), prune, fit(50 steps)")
    kd_full, kd_m, kd_train_s = train_kd(X, y, steps)
    print(
        f"   kandiscover  {kd_train_s:7.1f} s  pruned width {kd_m.width}  "
        f"train RMSE {rmse_kd(kd_m, X, y):.2e}"
    )
    py_full = py_m = None
    if PyKAN is not None:
        with in_tempdir():
            py_full, py_m, py_train_s = train_pykan(PyKAN, X, y, steps)
        print(
            f"   pykan        {py_train_s:7.1f} s  pruned width {py_m.width}  "
            f"train RMSE {rmse_pykan(py_m, X, y):.2e}"
        )
    sys.stdout.flush()

    return kd_full, kd_m, py_full, py_m


def section_snap(kd_m, py_m, X, repeats: int, quick: bool) -> None:
    """2. Snap every live edge of the pruned models."""
    print("\n-- 2. snap every live edge of the pruned model (whole default library)")
    print(
        f"   kandiscover: kd.snap(m, X), one batched call, {len(DEFAULT_LIBRARY)} primitives, "
        "400 samples per edge over the data range"
    )
    kd_med, kd_min, kd_choices = kd_snap_timed(kd_m, X, repeats)
    n_kd = len(kd_choices)
    print(
        f"   kandiscover  {n_kd} edges  total {fmt_time(kd_med)} (median of {repeats}, "
        f"min {fmt_time(kd_min).strip()})  per edge {fmt_time(kd_med / max(n_kd, 1))}"
    )
    for c in kd_choices:
        best = c.chosen
        print(
            f"      ({c.layer},{c.out},{c.inp})  {kd_edge_label(kd_m, c.layer, c.out, c.inp):10s}"
            f"  {best.primitive:8s} r2 {best.r2:.6f}"
        )
    if py_m is not None:
        edges = pykan_live_edges(py_m)
        print(
            "   pykan: model.suggest_symbolic(l, i, j) per live edge, "
            "29 primitives, its 1000 cached training activations"
        )
        with in_tempdir():
            py_rows, complete = pykan_suggest(py_m, edges, limit=1 if quick else None)
        py_per = sum(r[1] for r in py_rows) / max(len(py_rows), 1)
        py_total = py_per * len(edges)
        how = "one run" if complete else f"EXTRAPOLATED from {len(py_rows)} timed edge(s)"
        print(
            f"   pykan        {len(edges)} edges  total {fmt_time(py_total)} ({how})  "
            f"per edge {fmt_time(py_per)}"
        )
        for (l, i, j), dt, name in py_rows:
            print(
                f"      ({l},{i},{j})  {pykan_edge_label(py_m, l, i, j):10s}  {name:8s} "
                f"{fmt_time(dt)}"
            )
        kd_per = kd_med / max(n_kd, 1)
        print(f"   speed-up of kd.snap over suggest_symbolic (total):    {py_total / kd_med:8.1f}x")
        print(f"   speed-up of kd.snap over suggest_symbolic (per edge): {py_per / kd_per:8.1f}x")
    sys.stdout.flush()


def section_many_edges(kd_full, py_full, X, repeats: int, quick: bool) -> None:
    """3. Many edges at once: synthetic edges, then the unpruned networks."""
    print("\n-- 3. many edges at once, whole default library")
    xs, ys, truth = synthetic_edges(10, N_ROWS)
    fit_edges(xs, ys)  # warm-up
    times = []
    for _ in range(repeats):
        dt, fits = timed(lambda: fit_edges(xs, ys))
        times.append(dt)
    fe_med = statistics.median(times)
    fe_per = fe_med / 10
    got = [f.best.primitive for f in fits]
    hits = sum(g == t for g, t in zip(got, truth, strict=True))
    print(
        f"   fit_edges (10 synthetic edges x {N_ROWS} samples)  total {fmt_time(fe_med)} "
        f"(median of {repeats}, min {fmt_time(min(times)).strip()})  "
        f"per edge {fmt_time(fe_per)}"
    )
    print(f"      true primitive -> chosen: {hits}/10 recovered")
    for t, g in zip(truth, got, strict=True):
        print(f"         {t:8s} -> {g}")

    full_med, _, full_choices = kd_snap_timed(kd_full, X, repeats)
    kd_full_per = full_med / max(len(full_choices), 1)
    print(
        f"   kd.snap on the unpruned kandiscover [2,5,1] ({len(full_choices)} edges)  "
        f"total {fmt_time(full_med)} (median of {repeats})  per edge {fmt_time(kd_full_per)}"
    )
    print("      " + ", ".join(c.chosen.primitive for c in full_choices))
    sys.stdout.flush()
    if py_full is not None:
        edges = pykan_live_edges(py_full)
        with in_tempdir():
            rows, complete = pykan_suggest(
                py_full, edges, cap_s=PYKAN_SLOW_EDGE_S, limit=1 if quick else None
            )
        per = sum(r[1] for r in rows) / len(rows)
        total = per * len(edges)
        how = (
            "all timed, one run"
            if complete
            else f"EXTRAPOLATED from {len(rows)} timed edge(s), > {PYKAN_SLOW_EDGE_S:.0f} s/edge"
        )
        print(
            f"   pykan suggest_symbolic on the unpruned [2,5,1] ({len(edges)} edges)  "
            f"total {fmt_time(total)} ({how})  per edge {fmt_time(per)}"
        )
        print("      timed edges chose: " + ", ".join(r[2] for r in rows))
        print(f"   pykan time for 10 edges at that rate: {fmt_time(10 * per).strip()}")
        print(f"   speed-up of fit_edges over suggest_symbolic (per edge):   {per / fe_per:8.1f}x")
        print(
            f"   speed-up of kd.snap over suggest_symbolic (per edge):     "
            f"{per / kd_full_per:8.1f}x"
        )
        print(
            f"   speed-up of kd.snap over suggest_symbolic (unpruned net): {total / full_med:8.1f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
