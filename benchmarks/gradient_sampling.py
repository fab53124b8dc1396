"""What deepwave's model-gradient sampling interval saves on a preset's mini-batch gradient.

deepwave can record the wavefield for the model gradient every k-th time step
(``physics.gradient_sampling_interval = k``): less storage and work in the backward pass, at the
price of a gradient that is no longer exactly the adjoint of the discrete forward model. This
script measures both on the study's protocol — one gradient of the L2 misfit over a batch of
shots at a preset's initial model — alternating k = 1 and k = K in one process:

* the median time ratio (K over 1) over ``--repeats`` alternating pairs;
* the relative difference ‖g_K − g_1‖ / ‖g_1‖ of the model gradients.

    CRFWI_DATA_DIR=../shared/models python benchmarks/gradient_sampling.py \\
        --preset marmousi --scale cpu --init constant --interval 2 --shots 3,9 --repeats 7
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

import crfwi  # noqa: F401  (sets OMP_WAIT_POLICY before torch's OpenMP starts)
from crfwi.config import config_from_dict
from crfwi.experiment import build_experiment
from crfwi.physics.solver import WaveSolver


def measure(preset: str, scale: str, init: str, interval: int, shots: list[int],
            repeats: int) -> dict:
    def experiment_with(k: int):
        return build_experiment(config_from_dict({
            "preset": preset, "scale": scale, "initial": {"kind": init},
            "physics": {"gradient_sampling_interval": k}}), device="cpu")

    experiment = experiment_with(1)
    every_step, sampled = experiment.solver, experiment_with(interval).solver
    observed = experiment.clean_data()[shots]
    start_model = torch.as_tensor(experiment.initial_model, dtype=torch.float32)

    def gradient(solver: WaveSolver) -> tuple[float, torch.Tensor]:
        model = start_model.clone().requires_grad_(True)
        tic = time.perf_counter()
        residual = solver.simulate(model, shots=shots) - observed
        residual.square().sum().backward()
        return time.perf_counter() - tic, model.grad

    times: dict[int, list[float]] = {1: [], interval: []}
    grads: dict[int, torch.Tensor] = {}
    for _ in range(repeats):
        for k, solver in ((1, every_step), (interval, sampled)):
            seconds, grads[k] = gradient(solver)
            times[k].append(seconds)
    ratios = [b / a for a, b in zip(times[1], times[interval])]
    return {"preset": preset, "scale": scale, "init": init, "interval": interval, "shots": shots,
            "seconds_every_step": statistics.median(times[1]),
            f"seconds_every_{interval}": statistics.median(times[interval]),
            "time_ratio_median": statistics.median(ratios),
            "time_ratio_range": (min(ratios), max(ratios)),
            "gradient_relative_difference": float((grads[interval] - grads[1]).norm()
                                                  / grads[1].norm())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="marmousi")
    parser.add_argument("--scale", default="cpu", choices=("cpu", "paper"))
    parser.add_argument("--init", default="constant", choices=("smooth", "linear", "constant"))
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--shots", default="3,9", help="comma-separated shot indices of the batch")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.interval < 2:
        parser.error("--interval must be >= 2 (1 is the reference)")
    result = measure(args.preset, args.scale, args.init, args.interval,
                     [int(s) for s in args.shots.split(",")], args.repeats)
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
