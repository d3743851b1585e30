"""Speed of kandiscover against pykan 0.2.8 and a parameter-matched MLP, in one process.

Two figures:

1. Training-step time (forward + backward of the mean squared error, no optimiser step)
   for kandiscover's ``KAN``, pykan's ``KAN`` in its default mode and in its speed mode
   (``model.speed()``), and a torch MLP (Linear/SiLU) with as many trainable
   parameters as the kandiscover network. The peers take turns, each running a block
   of consecutive steps, over many rounds, so that a change of machine load hits them
   all alike. Two figures per peer:

   * steady: the median step inside the blocks (every step but the block's first),
     which is what a training loop runs: the same model step after step;
   * cold: the median first step of a block, right after the other peers ran and
     cleared the caches (what one step costs when it runs alone; the earlier versions
     of this script timed one step of each peer in turn and reported only this).
2. A whole 50-step L-BFGS fit of a [2, 5, 1] network on f(x, y) = exp(sin(pi x) + y^2):
   ``kd.fit`` against pykan's ``model.fit`` (same data, same steps, grid updates every
   5 steps up to step 50 for both). Wall time and final train RMSE.

Usage::

    python benchmarks/speed.py                 # CPU, one thread
    python benchmarks/speed.py --quick         # smoke run (a few seconds)
    python benchmarks/speed.py --device cuda

pykan is optional (``pip install -e ".[bench]"``); without it its rows are skipped.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from _common import cpu_model, in_tempdir, load_pykan, quiet
from torch import nn

import kandiscover as kd

# ----------------------------------------------------------------------------- peers


def make_pykan(PyKAN, width, grid, k, device, speed: bool):
    with in_tempdir(), quiet():
        try:
            model = PyKAN(width=list(width), grid=grid, k=k, seed=0, auto_save=False, device=device)
        except TypeError:  # an older signature without auto_save
            model = PyKAN(width=list(width), grid=grid, k=k, seed=0, device=device)
        if speed:
            model.speed()
    return model


def kd_param_count(model: nn.Module) -> int:
    """Trainable parameters of a kandiscover KAN, leaving out the symbolic affines."""
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if p.requires_grad and "sym_affine" not in name
    )


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mlp_params(n_in: int, n_out: int, h: int, depth: int) -> int:
    return (n_in + 1) * h + (depth - 1) * (h + 1) * h + (h + 1) * n_out


def matched_mlp(n_in: int, n_out: int, target: int, depth: int, device, dtype) -> nn.Sequential:
    """An MLP with ``depth`` hidden SiLU layers of equal width, parameter count ~ target."""
    h = min(
        range(1, 4 * target + 2),
        key=lambda h: (abs(mlp_params(n_in, n_out, h, depth) - target), h),
    )
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, h), nn.SiLU()]
        d = h
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers).to(device=device, dtype=dtype)


# ----------------------------------------------------------------------------- timing


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@dataclass
class Peer:
    name: str
    model: nn.Module
    params: int
    times: list[float] = field(default_factory=list)  # steps inside a block (warm)
    cold: list[float] = field(default_factory=list)  # first steps of the blocks
    target: int = 0
    block: int = 1
    note: str = ""
    error: str = ""


def train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    loss = ((model(X) - y) ** 2).mean()
    loss.backward()


def timed(fn: Callable[[], None], device: str) -> float:
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def bench_steps(peers: list[Peer], X, y, device: str, budget: float, max_reps: int, warmup: int):
    """Warm up every peer, size its blocks and repeats from a time budget, then let the
    peers take turns, one block of consecutive steps each."""
    for p in peers:
        try:
            with quiet():
                first = timed(lambda p=p: train_step(p.model, X, y), device)
                for _ in range(warmup - 1):
                    if first > 5.0:  # slow peer: one warm-up step is enough
                        break
                    first = min(first, timed(lambda p=p: train_step(p.model, X, y), device))
        except Exception as exc:  # report, keep the other peers going
            p.error = f"{type(exc).__name__}: {exc}"
            continue
        if first > 20.0:
            p.target = 1 if first > 60.0 else 2
        else:
            p.target = int(max(3, min(max_reps, budget / max(first, 1e-6))))
        p.block = int(max(2, min(10, 0.05 / max(first, 1e-6))))  # <= 0.05 s a block
    live = [p for p in peers if not p.error]
    while any(len(p.times) < p.target for p in live):
        for p in live:
            if len(p.times) >= p.target:
                continue
            with quiet():
                block = [timed(lambda p=p: train_step(p.model, X, y), device)]
                if p.target > 2:  # slow peers: one step a turn
                    block += [
                        timed(lambda p=p: train_step(p.model, X, y), device)
                        for _ in range(p.block - 1)
                    ]
            p.cold.append(block[0])
            p.times.extend(block[1:] if len(block) > 1 else block)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.1f} us"
    if s < 1.0:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.2f} s "


# ----------------------------------------------------------------------------- parts


CONFIGS = [
    # (width, grid, k, batch)
    ([4, 5, 1], 5, 3, 1000),
    ([16, 64, 64, 1], 10, 3, 16384),
]


def step_benchmark(args, PyKAN, out) -> None:
    dev, dtype = args.device, torch.get_default_dtype()
    for width, grid, k, batch in CONFIGS:
        if args.quick:
            batch = min(batch, 1024)
        gen = torch.Generator().manual_seed(0)
        X = (torch.rand(batch, width[0], generator=gen) * 2 - 1).to(dev)
        y = torch.randn(batch, width[-1], generator=gen).to(dev)
        kan = kd.KAN(width=width, grid=grid, k=k, seed=0, device=dev)
        n_kd = kd_param_count(kan)
        depth = min(2, max(1, len(width) - 2))
        mlp = matched_mlp(width[0], width[-1], n_kd, depth, dev, dtype)
        peers = [Peer("kandiscover KAN", kan, n_kd)]
        skipped = []
        if PyKAN is not None:
            for speed, name in ((False, "pykan KAN (default)"), (True, "pykan KAN (speed())")):
                try:
                    m = make_pykan(PyKAN, width, grid, k, dev, speed)
                    peers.append(Peer(name, m, param_count(m)))
                except Exception as exc:
                    skipped.append(f"{name}: could not build ({type(exc).__name__}: {exc})")
        peers.append(Peer(f"MLP {mlp_shape(mlp)}", mlp, param_count(mlp)))

        big = batch > 4096
        budget = 1.0 if args.quick else (25.0 if big else 8.0)
        max_reps = 5 if args.quick else (60 if big else 300)
        warmup = 1 if args.quick else 3
        bench_steps(peers, X, y, dev, budget, max_reps, warmup)

        title = f"width={width} grid={grid} k={k} batch={batch}"
        report_steps(peers, title, skipped, PyKAN is None, out)
        print(
            f"   params: kandiscover {n_kd} (trainable, without sym_affine), "
            f"MLP {param_count(mlp)} ({depth} hidden layer{'s' if depth > 1 else ''})",
            file=out,
        )
        out.flush()
        del peers, kan, mlp


def report_steps(peers: list[Peer], title: str, skipped: list[str], no_pykan: bool, out) -> None:
    """The table of step times and the ratios, steady (inside blocks) and cold."""
    print(f"\n-- training step (forward + backward), {title}", file=out)
    head = f"   {'peer':<26}{'params':>7}{'steady':>12}{'cold':>12}{'min':>12}{'steps':>7}"
    print(head + f"{'blocks':>7}", file=out)
    steady, cold = {}, {}
    for p in peers:
        if p.error:
            print(f"   {p.name:<26}{p.params:>7}   FAILED: {p.error}", file=out)
            continue
        steady[p.name], cold[p.name] = statistics.median(p.times), statistics.median(p.cold)
        print(
            f"   {p.name:<26}{p.params:>7}{fmt_time(steady[p.name]):>12}"
            f"{fmt_time(cold[p.name]):>12}{fmt_time(min(p.times)):>12}"
            f"{len(p.times):>7}{len(p.cold):>7}",
            file=out,
        )
    for s in skipped:
        print(f"   skipped {s}", file=out)
    if no_pykan:
        print("   pykan rows skipped (pykan not installed)", file=out)
    kd_name, mlp_name = peers[0].name, peers[-1].name
    if kd_name not in steady:
        return
    print(f"   {'ratios (of medians)':<50}{'steady':>8}{'cold':>10}", file=out)
    for name in ("pykan KAN (default)", "pykan KAN (speed())"):
        if name in steady:
            label = f"speed-up of kandiscover over {name}:"
            a, b = steady[name] / steady[kd_name], cold[name] / cold[kd_name]
            print(f"   {label:<50}{a:7.2f}x{b:9.2f}x", file=out)
    if mlp_name in steady:
        a, b = steady[kd_name] / steady[mlp_name], cold[kd_name] / cold[mlp_name]
        print(f"   {'kandiscover / MLP step time:':<50}{a:7.2f}x{b:9.2f}x", file=out)


def mlp_shape(mlp: nn.Sequential) -> str:
    lin = [m for m in mlp if isinstance(m, nn.Linear)]
    return "[" + ",".join([str(lin[0].in_features)] + [str(m.out_features) for m in lin]) + "]"


def target_fn(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(math.pi * x[:, :1]) + x[:, 1:2] ** 2)


def rmse(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(X) - y) ** 2)))


def count_forwards(model: nn.Module) -> list[int]:
    """Count calls of ``model.forward`` (pykan's fit calls it directly, so no hook)."""
    count = [0]
    inner = model.forward

    def forward(*a, **kw):
        count[0] += 1
        return inner(*a, **kw)

    model.forward = forward
    return count


FIT_WIDTH, FIT_SAMPLES = [2, 5, 1], 1000


def fit_kandiscover(X, y, steps: int, dev: str):
    """One ``kd.fit`` from a fresh model: (seconds, model, loss evaluations)."""
    model = kd.KAN(width=FIT_WIDTH, grid=5, k=3, seed=0, device=dev)
    sync(dev)
    t = time.perf_counter()
    schedule = kd.GridSchedule(every=5, until=50)
    history = kd.fit(model, X, y, steps=steps, optimizer=kd.LBFGS(), grid_updates=schedule)
    sync(dev)
    return time.perf_counter() - t, model, history.evaluations


def fit_pykan(PyKAN, dataset, steps: int, dev: str):
    """One pykan ``model.fit`` from a fresh model: (seconds, model, forward calls)."""
    with in_tempdir(), quiet():
        model = make_pykan(PyKAN, FIT_WIDTH, 5, 3, dev, speed=False)
        count = count_forwards(model)
        sync(dev)
        t = time.perf_counter()
        model.fit(
            dataset,
            opt="LBFGS",
            steps=steps,
            update_grid=True,
            grid_update_num=10,
            stop_grid_update_step=50,
        )
        sync(dev)
        return time.perf_counter() - t, model, count[0]


def fit_benchmark(args, PyKAN, out) -> None:
    dev, steps, n = args.device, (5 if args.quick else 50), FIT_SAMPLES
    gen = torch.Generator().manual_seed(1)
    X = (torch.rand(n, 2, generator=gen) * 2 - 1).to(dev)
    y = target_fn(X)
    Xt = (torch.rand(n, 2, generator=gen) * 2 - 1).to(dev)
    yt = target_fn(Xt)
    dataset = {"train_input": X, "train_label": y, "test_input": Xt, "test_label": yt}
    runners = [("kandiscover kd.fit", lambda s: fit_kandiscover(X, y, s, dev))]
    if PyKAN is not None:
        runners.append(("pykan model.fit", lambda s: fit_pykan(PyKAN, dataset, s, dev)))
    # warm-up (first-call costs: lazy imports, allocator), then round-robin repeats
    for _, fn in runners:
        fn(1)
    results: dict[str, list[tuple[float, float, float, int]]] = {n: [] for n, _ in runners}
    for _ in range(1 if args.quick else args.fit_repeats):
        for name, fn in runners:
            sec, model, evals = fn(steps)
            results[name].append((sec, rmse(model, X, y), rmse(model, Xt, yt), evals))
    report_fit(results, steps, PyKAN is None, out)


def report_fit(results: dict, steps: int, no_pykan: bool, out) -> None:
    """The table of whole fits and the ratios."""
    print(
        f"\n-- whole fit: width={FIT_WIDTH} grid=5 k=3, {FIT_SAMPLES} samples of "
        f"exp(sin(pi x) + y^2), {steps} LBFGS steps (<= 20 iterations each), grid update "
        "every 5 steps up to 50",
        file=out,
    )
    print(
        f"   {'peer':<24}{'wall (median)':>14}{'train RMSE':>12}{'test RMSE':>12}"
        f"{'evals':>10}{'per eval':>10}{'runs':>6}",
        file=out,
    )
    med, per = {}, {}
    for name, rows in results.items():
        med[name] = statistics.median(r[0] for r in rows)
        evals = rows[-1][3]
        per[name] = med[name] / max(evals, 1)
        print(
            f"   {name:<24}{med[name]:>12.2f} s{rows[-1][1]:>12.3e}{rows[-1][2]:>12.3e}"
            f"{evals:>10}{per[name] * 1e3:>7.2f} ms{len(rows):>6}",
            file=out,
        )
    print(
        "   (evals: evaluations of the loss and its gradient during one fit: kandiscover's "
        "History.evaluations, pykan's calls of model.forward with its per-step test-set "
        "evaluation; per eval: wall time / evals)",
        file=out,
    )
    if no_pykan:
        print("   pykan row skipped (pykan not installed)", file=out)
        return
    k_, p_ = med["kandiscover kd.fit"], med["pykan model.fit"]
    print(f"   speed-up of kandiscover over pykan (wall time):      {p_ / k_:8.2f}x", file=out)
    r = per["pykan model.fit"] / per["kandiscover kd.fit"]
    print(f"   speed-up of kandiscover over pykan (per evaluation): {r:8.2f}x", file=out)
    out.flush()


# ----------------------------------------------------------------------------- main


def header(args, pykan_info: str, out) -> None:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",) * 3
    print("kandiscover speed benchmark", file=out)
    print(f"date          {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", file=out)
    print(f"python        {platform.python_version()}  torch {torch.__version__}", file=out)
    print(f"kandiscover   {kd.__version__}   pykan {pykan_info}", file=out)
    print(f"device        {args.device}", end="", file=out)
    if args.device.startswith("cuda"):
        print(f" ({torch.cuda.get_device_name()})", end="", file=out)
    print(file=out)
    print(
        f"cpu           {cpu_model()}, {os.cpu_count()} logical cores, "
        f"torch threads {torch.get_num_threads()}",
        file=out,
    )
    print(
        "load average  "
        + " ".join(f"{v:.2f}" if isinstance(v, float) else v for v in load)
        + " (1, 5, 15 min; other work on the machine slows every peer)",
        file=out,
    )
    print(
        f"dtype         {torch.get_default_dtype()}   mode {'quick' if args.quick else 'full'}",
        file=out,
    )
    out.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small batches, few repeats (smoke run)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--fit-repeats", type=int, default=3, help="runs of each whole fit (median)")
    ap.add_argument("--skip-fit", action="store_true", help="only the training-step figures")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available")
    torch.set_num_threads(args.threads)
    out = sys.stdout

    PyKAN, info = load_pykan()
    header(args, info, out)
    t0 = time.perf_counter()
    step_benchmark(args, PyKAN, out)
    if not args.skip_fit:
        fit_benchmark(args, PyKAN, out)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
