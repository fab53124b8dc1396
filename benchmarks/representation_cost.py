"""Cost of each representation on the paper's Marmousi grid, and of one IG-FWI iteration over one
pixel-FWI iteration (the paper's Table 1 measured 1.91 s vs 1.89 s per epoch on an RTX 3090).

Setup (PAPER.md §4.1): 94 x 288 cells at 15 m, 13 shots 300 m apart, 8 Hz, dt 1.9 ms, 1000 samples.

    python benchmarks/representation_cost.py [--repeats 5] [--device auto] [--shots 13]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crfwi  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch's OpenMP starts)
from crfwi import representations
from crfwi.models import zoo  # noqa: E402
from crfwi.inversion.loop import Inversion, make_optimizer  # noqa: E402
from crfwi.physics.solver import WaveSolver, resolve_device  # noqa: E402
from solver_overhead import marmousi_setup, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--shots", type=int, default=13)
    args = parser.parse_args()
    device = resolve_device(args.device)
    grid, survey, true, source = marmousi_setup(args.shots)
    max_vel = float(true.max()) * 1.1
    initial = torch.as_tensor(zoo.initial_model(true.numpy(), grid, "smooth", sigma=300.0))
    bounds = (1000.0, max_vel)

    print(f"device: {device}; model: {source}; grid 94x288 @ 15 m")
    print("\nrepresentation alone: render m_θ on the grid + back-propagate a random model gradient")
    print(f"{'method':10s}{'parameters':>12s}{'forward+backward (ms)':>24s}")
    torch.manual_seed(0)
    for name in representations.available():
        model = representations.VelocityModel(representations.build(name, grid), initial, grid,
                                              bounds=bounds).to(device)
        cotangent = torch.randn(grid.shape, device=device)

        def step():
            model.zero_grad(set_to_none=True)
            model().backward(cotangent)

        step()
        ms = 1e3 * statistics.median(timed(device, step) for _ in range(max(5, 4 * args.repeats)))
        print(f"{name:10s}{model.representation.n_parameters():12,d}{ms:24.1f}")

    solver = WaveSolver(grid, survey, max_vel=max_vel, device=device)
    observed = solver.simulate(true.to(device)).detach()
    steps = {}
    for name in ("pixel", "ig"):
        model = representations.VelocityModel(representations.build(name, grid), initial, grid,
                                              bounds=bounds).to(device)
        inversion = Inversion(model, solver, observed, optimizer=make_optimizer(model))
        inversion.step()  # warm-up
        steps[name] = inversion.step
    times = {"pixel": [], "ig": []}
    for i in range(args.repeats):
        order = ("pixel", "ig") if i % 2 == 0 else ("ig", "pixel")
        for name in order:
            times[name].append(timed(device, steps[name]))
    ratios = sorted(a / b for a, b in zip(times["ig"], times["pixel"]))
    print(f"\none full-survey iteration ({survey.n_shots} shots), {args.repeats} alternating pairs:")
    print(f"  pixel FWI {statistics.median(times['pixel']):.3f} s, IG-FWI {statistics.median(times['ig']):.3f} s, "
          f"ratio IG/pixel {statistics.median(ratios):.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f})")


if __name__ == "__main__":
    main()
