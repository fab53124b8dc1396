"""Could a run on field data know when to stop? Held-out shots against the truth, iteration by
iteration, on the Chevron-style line.

On this line (elastic data inverted acoustically) the model error falls and then rises again as
the inversion keeps explaining what the acoustic equation cannot (BENCHMARKS.md §12): it
semi-converges. With real data the truth is unknown, so a stopping rule must come from the data.
The standard one is cross-validation: invert some shots, keep the others aside, and stop where
the misfit of the kept-aside shots is lowest. This script measures whether that rule would pick
a good model here.

A run of ``chevron_like.py --train-shots N`` inverts N of the line's shots (``data.shots``,
spread evenly) and keeps its model every 10 iterations (``output.models_every``). For each kept
model this script simulates the shots the run never used, with the run's own solver,
preprocessing and wavelet, and prints their relative misfit ‖d_pred − d_obs‖ / ‖d_obs‖ beside
the model's MSE and SSIM against the truth (known here only):

    OMP_NUM_THREADS=1 CRFWI_DATA_DIR=../shared/models python benchmarks/chevron_validation.py \\
        runs/chevron-like ig-train12 [siren-train12 ...] [--json FILE]
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

from crfwi.analysis import metrics
from crfwi.config import ConfigError, load_config
from crfwi.experiment import build_experiment
from crfwi.field.survey import kept_shots


def held_out_curve(folder: Path, run: Path) -> dict:
    """The held-out misfit, MSE and SSIM of every model ``run/models`` holds."""
    config = load_config(run / "config.resolved.toml")
    trained = config.data.shots
    if not trained:
        raise ValueError(f"{run.name} inverted every shot (no data.shots): nothing is held out")
    snapshots = sorted((run / "models").glob("iteration_*.npy"))
    if not snapshots:
        raise ValueError(f"{run.name} kept no models (output.models_every)")
    here = Path.cwd()
    os.chdir(folder)  # field.toml's file names are relative to the line's folder
    try:
        every_shot = load_config(run / "config.resolved.toml", overrides=["data.shots=0"])
        experiment = build_experiment(every_shot)
    finally:
        os.chdir(here)
    n_shots = experiment.survey.n_shots
    used = kept_shots(config, n_shots)
    held = [s for s in range(n_shots) if s not in used]
    observed = experiment.observed_data()[held].double()
    truth = np.load(folder / "truth_vp.npy")
    rows = []
    for path in snapshots:
        model = np.load(path)
        with torch.no_grad():
            predicted = experiment.solver.simulate(torch.as_tensor(model), held).double()
        misfit = float((predicted - observed).norm() / observed.norm())
        scores = metrics.evaluate(model, truth)
        rows.append({"iteration": int(path.stem.split("_")[1]), "held_out_misfit": misfit,
                     "mse": scores["mse"], "ssim": scores["ssim"]})
    return {"run": run.name, "trained_shots": used, "held_out_shots": held, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the make-data folder of chevron_like.py")
    parser.add_argument("runs", nargs="+", help="run names under FOLDER/runs (…-trainN)")
    parser.add_argument("--json", type=Path, help="write the curves here")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    curves = []
    for name in args.runs:
        try:
            curve = held_out_curve(folder, folder / "runs" / name)
        except (OSError, ValueError, ConfigError) as err:
            print(f"chevron_validation: {err}", file=sys.stderr)
            return 2
        curves.append(curve)
        rows = curve["rows"]
        pick = min(rows, key=lambda r: r["held_out_misfit"])
        best = min(rows, key=lambda r: r["mse"])
        print(f"{name}: held-out shots {curve['held_out_shots']}")
        print("| iteration | held-out misfit | MSE (km/s)² | SSIM |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| {r['iteration']} | {r['held_out_misfit']:.4f} | {r['mse']:.4f} | "
                  f"{r['ssim']:.3f} |")
        print(f"lowest held-out misfit at {pick['iteration']} (MSE {pick['mse']:.4f}); "
              f"lowest MSE at {best['iteration']} ({best['mse']:.4f}); start "
              f"{rows[0]['mse']:.4f}, last {rows[-1]['mse']:.4f}")
        curve.update(picked_by_held_out=pick, lowest_mse=best)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(curves, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
