"""How far a trained network's unbounded model m0 + s·F_θ strays outside the velocity bounds.

For each run folder (with ``checkpoint.pt``) of a network method: the fraction of cells whose
unbounded value lies outside ``[vmin, vmax]`` at the end, its range, the bound the run used and
its final MSE. The straight-through bound let LR-FWI run away on the salt stand-in (79 % of the
cells outside, −58 to +390 km/s); the inward bound does not (BENCHMARKS.md §10.8).

    python benchmarks/bound_audit.py results/paper-others/*/constant-clean/* results/ablations/*/constant-inward-bound/*
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

from crfwi import io
from crfwi.config import load_config
from crfwi.experiment import build_experiment

BASELINES = ("pixel", "adfwi-tv", "weci-fwi", "ms-fwi")


def audit(run: Path) -> dict | None:
    config = load_config(run / "config.resolved.toml")
    if config.inversion.method in BASELINES:
        return None  # pixel FWI projects its cells; nothing lies outside
    experiment = build_experiment(config, device="cpu")
    model = experiment.velocity_model()
    model.load_state_dict(io.load_checkpoint(run / "checkpoint.pt")["model"])
    with torch.no_grad():
        unbounded = model.unbounded()
    low, high = experiment.bounds
    metrics = run / "metrics.json"
    return {"run": str(run), "bound_gradient": config.inversion.bound_gradient,
            "outside": float(((unbounded < low) | (unbounded > high)).double().mean()),
            "unbounded_min": float(unbounded.min()), "unbounded_max": float(unbounded.max()),
            "bounds": [low, high],
            "mse": json.loads(metrics.read_text())["mse"] if metrics.is_file() else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rows = [r for r in (audit(run) for run in args.runs if (run / "checkpoint.pt").is_file()) if r]
    print("| run | bound | cells outside | unbounded range (m/s) | MSE |")
    print("|---|---|---|---|---|")
    for r in rows:
        mse = "–" if r["mse"] is None else f"{r['mse']:.4f}"
        print(f"| `{r['run']}` | {r['bound_gradient']} | {100 * r['outside']:.2f} % | "
              f"{r['unbounded_min']:.0f} … {r['unbounded_max']:.0f} | {mse} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
