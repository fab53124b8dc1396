"""deepwave's internal time step (``physics.courant_number``) measured on a preset's gradient.

deepwave splits each recording step ``survey.dt`` into internal steps that keep the Courant number
at or below a target (0.6 by default; the scheme's critical number at accuracy 8 is 0.784). A
larger target can mean fewer internal steps — where it crosses a whole step count — hence a
faster forward and backward pass, and a slightly different discretisation. For each preset this
script prints, alternating the two settings in one process (so the load is shared):

* the internal steps per ``survey.dt`` under each target;
* the median time ratio (courant / default) of one mini-batch gradient over ``--repeats`` pairs;
* ‖g_c − g_0‖ / ‖g_0‖ of the model gradients at the initial model, each setting fitting data
  simulated by its own solver (as a run does), and the relative difference of the simulated data.

A preset whose step count does not change is bit-identical and is reported without timing.

    CRFWI_DATA_DIR=../shared/models python benchmarks/speed_options.py \\
        --presets bp2004,openfwi,marmousi --courant 0.7 --repeats 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

from crfwi.config import config_from_dict
from crfwi.experiment import build_experiment


def _gradient(experiment, velocity, observed, shots):
    leaf = velocity.detach().clone().requires_grad_(True)
    predicted = experiment.solver.simulate(leaf, shots)
    loss = 0.5 * ((predicted - observed[shots]) ** 2).sum()
    loss.backward()
    return leaf.grad.detach(), predicted.detach()


def measure(preset: str, scale: str, courant: float, repeats: int, shots: list[int]) -> dict:
    experiments = {}
    for label, value in (("default", 0.0), ("courant", courant)):
        config = config_from_dict({"preset": preset, "scale": scale,
                                   "physics": {"courant_number": value}})
        experiments[label] = build_experiment(config, device="cpu")
    steps = {k: e.solver.time_substeps for k, e in experiments.items()}
    row = {"preset": f"{preset}-{scale}", "courant": courant, "steps_default": steps["default"],
           "steps_courant": steps["courant"]}
    base = experiments["default"]
    # Each setting fits data simulated by its own solver, as a run does (a run's observed data
    # come from its own solver): the difference is then the discretisation's alone.
    observed = {}
    with torch.no_grad():
        for label, e in experiments.items():
            observed[label] = e.solver.simulate(torch.as_tensor(e.true_model))
    velocity = torch.as_tensor(base.initial_model)
    g0, d0 = _gradient(base, velocity, observed["default"], shots)
    g1, d1 = _gradient(experiments["courant"], velocity, observed["courant"], shots)
    row["gradient_difference"] = float((g1 - g0).norm() / g0.norm())
    row["data_difference"] = float((d1 - d0).norm() / d0.norm())
    if steps["default"] == steps["courant"]:
        row["time_ratio"] = 1.0  # the same internal steps: the same computation
        return row
    times = {"default": [], "courant": []}
    for _ in range(repeats):
        for label in ("default", "courant"):
            start = time.perf_counter()
            _gradient(experiments[label], velocity, observed[label], shots)
            times[label].append(time.perf_counter() - start)
    ratios = [c / d for c, d in zip(times["courant"], times["default"])]
    row.update(time_ratio=statistics.median(ratios), seconds_default=statistics.median(times["default"]),
               seconds_courant=statistics.median(times["courant"]))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="bp2004,openfwi,marmousi")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--courant", type=float, default=0.7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shots", default="0,1", help="shot indices of the gradient's batch")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    shots = [int(s) for s in args.shots.split(",")]
    rows = [measure(p, args.scale, args.courant, args.repeats, shots)
            for p in args.presets.split(",")]
    print(f"| preset | internal steps per dt (0.6 → {args.courant:g}) | time ratio | "
          "gradient difference | data difference |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['steps_default']} → {r['steps_courant']} | "
              f"{r['time_ratio']:.3f} | {r['gradient_difference']:.2e} | {r['data_difference']:.2e} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
