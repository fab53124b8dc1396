"""How far is the Chevron-style line from what an acoustic inversion can explain?

`crfwi make-data` simulates elastic data (deepwave.elastic, 30 m cells at cpu scale, Vs by
Castagna, density by Gardner); the field run inverts them with the constant-density acoustic
solver on a 75 m grid. Even the true Vp, simulated that way, does not reproduce the data; this
script splits that modelling error into its steps, each simulated from the same sources and
receivers, and prints the relative L2 difference of each step and, for the whole chain, the
best amplitude scale:

1. elastic (the line's clean data, re-simulated) → fluid (Vs = 0, Gardner density kept);
   with ``--vs-min V`` also the elastic data under another Vs floor against the fluid and
   against the line's (is the floor the cause?);
2. fluid → constant density (1000 kg/m³ everywhere: the acoustic wave equation, on 30 m cells);
3. 30 m cells → the inversion's 75 m grid (crfwi's field solver at ``truth_vp.npy``, the run's
   wavelet file).

    OMP_NUM_THREADS=1 CRFWI_DATA_DIR=../shared/models python benchmarks/chevron_modelling_error.py \\
        runs/chevron-like
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import numpy as np
import torch

from crfwi.config import ConfigError, load_config
from crfwi.experiment import build_experiment
from crfwi.field import make_data as md


def _difference(a: np.ndarray, b: np.ndarray) -> dict:
    scale = float((a * b).sum() / (a * a).sum())
    return {"relative": float(np.linalg.norm(a - b) / np.linalg.norm(b)),
            "best_scale": scale,
            "relative_after_scale": float(np.linalg.norm(scale * a - b) / np.linalg.norm(b))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a `crfwi make-data` folder")
    parser.add_argument("--vs-min", type=float, default=None,
                        help="also simulate the elastic data with this Vs floor (m/s; 0 = "
                             "Castagna's Vs everywhere, however slow) and compare both with the "
                             "fluid: how much of step 1 the line's floor causes")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    try:
        record = json.loads((folder / "make_data.json").read_text())
        earth = np.load(folder / "elastic_model.npz")
    except (OSError, ValueError) as err:
        print(f"chevron_modelling_error: {folder} is not a make-data folder ({err})",
              file=sys.stderr)
        return 2
    spec = md.spec_for(record["spec"]["scale"], **{k: v for k, v in record["spec"].items()
                                                   if k != "scale"})
    vp, vs, rho, water = (earth[k] for k in ("vp", "vs", "rho", "water"))
    grid_width = (vp.shape[1] - 1) * spec.spacing
    sx, rx = md.streamer(spec, grid_width)
    wavelet = md.airgun_wavelet(spec.dt, spec.nt, spec.f_low, spec.f_high, spec.bubble_period,
                                spec.bubble_ratio)
    v_water = float(vp[water].max())
    steps = {}
    # max_vel None: deepwave's density-aware bound, as make-data's own run (each step may take
    # its own internal time step; the differences that makes are far below those measured here)
    elastic, _ = md._simulate(vp, vs, rho, spec, sx, rx, wavelet, v_water, "cpu")
    fluid, _ = md._simulate(vp, 0 * vs, rho, spec, sx, rx, wavelet, v_water, "cpu")
    steps["1 elastic -> fluid (Vs = 0)"] = _difference(fluid, elastic)
    if args.vs_min is not None:
        vs_other, _, facts = md.elastic_parameters(vp, water, args.vs_min)
        other, _ = md._simulate(vp, vs_other, rho, spec, sx, rx, wavelet, v_water, "cpu")
        share = facts["rock_cells_raised_to_vs_min"]
        steps[f"1b elastic, Vs floor {args.vs_min:g} m/s ({share:.1%} of the rock raised) -> "
              "fluid"] = _difference(fluid, other)
        steps[f"1c elastic, the line's floor -> floor {args.vs_min:g} m/s"] = _difference(
            other, elastic)
    constant, _ = md._simulate(vp, 0 * vs, np.full_like(rho, md.WATER_DENSITY), spec, sx, rx,
                               wavelet, v_water, "cpu")
    steps["2 fluid -> constant density"] = _difference(constant, fluid)
    here = Path.cwd()
    os.chdir(folder)  # field.toml names its files relative to its folder
    try:
        experiment = build_experiment(load_config("field.toml"))
    except ConfigError as err:
        print(f"chevron_modelling_error: {err}", file=sys.stderr)
        return 2
    finally:
        os.chdir(here)
    with torch.no_grad():
        coarse = experiment.solver.raw(torch.as_tensor(np.load(folder / "truth_vp.npy")))
    coarse = coarse.double().cpu().numpy()
    steps["3 30 m -> 75 m grid (the run's solver)"] = _difference(coarse, constant)
    steps["all: the run's solver at the truth vs elastic"] = _difference(coarse, elastic)
    print("| step | relative difference | best amplitude scale | after scaling |")
    print("|---|---|---|---|")
    for name, d in steps.items():
        print(f"| {name} | {d['relative']:.3f} | {d['best_scale']:.3f} | "
              f"{d['relative_after_scale']:.3f} |")
    (folder / "modelling_error.json").write_text(json.dumps(steps, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
