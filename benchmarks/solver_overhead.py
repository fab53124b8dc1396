"""crfwi's simulation and gradient cost over a raw deepwave call, on the paper's Marmousi setup.

Setup (PAPER.md §4.1): 94 x 288 cells at 15 m, 13 surface shots 300 m apart, receivers on every
column, 8 Hz Ricker, dt 1.9 ms, 1000 samples, free surface on top, PML 20, 8th-order accuracy.

Measured side by side in one process, alternating raw / crfwi to share the machine's state:
  forward   deepwave.scalar(...) vs WaveSolver.simulate(...)
  gradient  forward + L2 misfit + backward: raw deepwave vs one crfwi Inversion.step (pixel),
            which also renders m = clamp(m0 + δ), checks it, and takes the Adam step.
Prints median times, their ratios (target <= 1.03), and the peak memory of one gradient for each
deepwave storage option crfwi exposes (physics.storage, storage_compression,
gradient_sampling_interval, checkpoint_segments).

    python benchmarks/solver_overhead.py [--repeats 3] [--device auto] [--shots 13]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import crfwi  # noqa: E402  (sets OMP_WAIT_POLICY before torch's OpenMP starts)
import deepwave  # noqa: E402
from crfwi.models import zoo  # noqa: E402
from crfwi.physics.geometry import Grid, Survey  # noqa: E402
from crfwi.inversion.loop import Inversion, make_optimizer  # noqa: E402
from crfwi.physics.solver import SolverOptions, WaveSolver, resolve_device  # noqa: E402
from crfwi.representations import VelocityModel, build  # noqa: E402


def marmousi_setup(n_shots: int):
    grid = Grid(94, 288, 15.0)
    try:
        true, _ = zoo.load_model("marmousi", grid, origin=(0.0, 2000.0))
        source = "marmousi (data directory), window from x = 2 km"
    except ValueError:
        true, _ = zoo.load_model("faulted", grid, seed=0)
        source = "procedural 'faulted' stand-in (no data directory)"
    survey = Survey.surface(grid, n_shots=n_shots, shot_spacing=300.0, freq=8.0, dt=0.0019, nt=1000)
    return grid, survey, torch.as_tensor(true), source


def peak_memory_reset(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS), Linux >= 4.0


def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device: torch.device, fn) -> float:
    """Wall time of ``fn()`` in seconds, with the device synchronised before and after."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--shots", type=int, default=13)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    grid, survey, true, source = marmousi_setup(args.shots)
    max_vel = float(true.max()) * 1.1
    solver = WaveSolver(grid, survey, max_vel=max_vel, device=device)
    observed = solver.simulate(true.to(device)).detach()
    initial = torch.as_tensor(zoo.initial_model(true.numpy(), grid, "smooth", sigma=300.0))

    # The raw call: exactly what a hand-written deepwave script would pass.
    src_amp = survey.wavelet().float().reshape(1, 1, -1).repeat(survey.n_shots, 1, 1).to(device)
    src_loc = survey.source_locations(grid).to(device)
    rec_loc = survey.receiver_locations(grid).to(device)
    raw_kwargs = dict(source_amplitudes=src_amp, source_locations=src_loc,
                      receiver_locations=rec_loc, accuracy=8, pml_width=[0, 20, 20, 20],
                      boundary=["free", "pml", "pml", "pml"], pml_freq=survey.freq, max_vel=max_vel)

    def raw_forward():
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            deepwave.scalar(initial.to(device), 15.0, survey.dt, **raw_kwargs)

    v_raw = initial.clone().to(device).requires_grad_()
    opt_raw = torch.optim.Adam([v_raw], lr=5.0)

    def raw_gradient():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt_raw.zero_grad()
            d = deepwave.scalar(v_raw, 15.0, survey.dt, **raw_kwargs).receiver_amplitudes
            loss = 0.5 * (d - observed).square().sum()
            loss.backward()
            opt_raw.step()

    def crfwi_forward():
        with torch.no_grad():
            solver.simulate(initial.to(device))

    model = VelocityModel(build("pixel", grid), initial, grid, bounds=(1000.0, max_vel)).to(device)
    inversion = Inversion(model, solver, observed, optimizer=make_optimizer(model))

    def crfwi_gradient():
        inversion.step()

    # Warm-up (allocations, OpenMP pools, CUDA context) is not part of either number.
    for fn in (raw_forward, crfwi_forward, raw_gradient, crfwi_gradient):
        fn()
    # Pairs alternate which side runs first, so drift and order effects cancel; the ratio is the
    # median of per-pair ratios (robust to a noisy, shared machine).
    pairs = {"forward": (raw_forward, crfwi_forward), "gradient": (raw_gradient, crfwi_gradient)}
    results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    for i in range(args.repeats):
        for name, (raw_fn, ours_fn) in pairs.items():
            if i % 2 == 0:
                raw_t, ours_t = timed(device, raw_fn), timed(device, ours_fn)
            else:
                ours_t, raw_t = timed(device, ours_fn), timed(device, raw_fn)
            results[name][0].append(raw_t)
            results[name][1].append(ours_t)

    print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU, %d threads' % torch.get_num_threads()})")
    print(f"torch {torch.__version__}, deepwave {deepwave.__version__}, crfwi {crfwi.__version__}")
    print(f"model: {source}; grid 94x288 @ 15 m, {survey.n_shots} shots, 8 Hz, dt 1.9 ms, 1000 samples")
    print(f"repeats: {args.repeats} alternating pairs\n")
    print(f"{'':10s}{'raw deepwave (s)':>18s}{'crfwi (s)':>12s}{'ratio (median, quartiles)':>30s}")
    for name, (raw_times, our_times) in results.items():
        ratios = sorted(o / r for o, r in zip(our_times, raw_times))
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(f"{name:10s}{statistics.median(raw_times):18.3f}{statistics.median(our_times):12.3f}"
              f"{statistics.median(ratios):12.3f} ({q[0]:.3f}–{q[2]:.3f})")

    # crfwi's own work per iteration, outside deepwave: render m = clamp(m0 + δ), check it,
    # Adam step and projection. Timed alone it is precise where the pair ratios are noisy.
    def own_work():
        v = model()
        solver.check_velocity(v)
        v.backward(torch.ones_like(v))
        inversion.optimizer.step()
        model.project_()

    own = statistics.median(timed(device, own_work) for _ in range(50))
    print(f"crfwi's own work per iteration (render, check, Adam, projection): {1e3 * own:.2f} ms = "
          f"{100 * own / statistics.median(results['gradient'][0]):.3f} % of a raw gradient")

    if args.skip_memory:
        return
    print("\npeak memory of one full-survey gradient by storage option:")
    variants = [
        ("storage=device (default)", SolverOptions()),
        ("storage=cpu", SolverOptions(storage="cpu")),
        ("storage_compression=true", SolverOptions(storage_compression=True)),
        ("gradient_sampling_interval=2", SolverOptions(gradient_sampling_interval=2)),
        ("checkpoint_segments=4", SolverOptions(checkpoint_segments=4)),
    ]
    baseline = None
    for label, options in variants:
        s = WaveSolver(grid, survey, max_vel=max_vel, options=options, device=device)
        leaf = initial.clone().to(device).requires_grad_()
        peak_memory_reset(device)
        t = time.perf_counter()
        loss = 0.5 * (s.simulate(leaf) - observed).square().sum()
        loss.backward()
        sync(device)
        seconds = time.perf_counter() - t
        grad = leaf.grad.detach()
        baseline = grad if baseline is None else baseline
        diff = float((grad - baseline).norm() / baseline.norm())
        kind = "GPU allocated" if device.type == "cuda" else "process peak RSS"
        print(f"  {label:30s} {peak_memory_mib(device):9.0f} MiB ({kind}), {seconds:6.2f} s, "
              f"gradient rel. diff {diff:.2e}")
        del leaf, loss, grad


if __name__ == "__main__":
    main()
