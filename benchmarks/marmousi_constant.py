"""Quality benchmark: pixel FWI vs CR-FWI from a constant initial model on Marmousi (CPU scale).

Protocol (the paper's Marmousi geometry at half resolution, kept in proportion):
  Marmousi window 0–1.41 km deep, 2.40–6.69 km along the model, resampled to 47 x 144 cells at
  30 m; 13 surface shots 300 m apart, receivers on every column, 4 Hz Ricker, dt 3.8 ms,
  500 samples (1.9 s), free surface on top, PML 20, 8th order; velocity bounds 1400–5600 m/s;
  water layer fixed; constant initial model (default: the water velocity, 1500 m/s, in every
  cell below the water).
The paper's Table 4 (constant start, 94 x 288 at 15 m, 8 Hz): SSIM ADFWI 0.0549, IFWI 0.5252,
IG-FWI 0.6773; MSE 1.1522, 0.9474, 0.2961.

Each run is an ordinary run folder under --out (complete runs are reused, interrupted or shorter
ones continued to --iterations), so every number traces to a folder.

    CRFWI_DATA_DIR=../shared/models python benchmarks/marmousi_constant.py \
        --methods pixel,siren,ig --iterations 300 --out results/marmousi-constant
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crfwi.config import config_from_dict, merge_config  # noqa: E402
from crfwi.io import RunFolder  # noqa: E402
from crfwi.runner import resume_inversion, run_inversion  # noqa: E402

PAPER_TABLE4_CONSTANT = {  # PAPER.md §5, Table 4, "Constant" column: (SSIM, MSE, MAE)
    "pixel": (0.0549, 1.1522, 0.8866), "siren": (0.5252, 0.9474, 0.5568),
    "gabor": (0.5617, 0.4689, 0.3979), "lowrank": (0.5917, 0.2893, 0.3149),
    "hashgrid": (0.1888, 2.2266, 1.1312), "ig": (0.6773, 0.2961, 0.2989),
}
PAPER_NAMES = {"pixel": "ADFWI", "siren": "IFWI", "gabor": "WinFWI", "lowrank": "LR-FWI",
               "hashgrid": "MPE-FWI", "ig": "IG-FWI", "lrg": "LRG-FWI"}


def protocol(method: str, iterations: int, seed: int, shots_per_iteration: int,
             extra: dict | None = None) -> dict:
    config = {
        "name": f"marmousi-constant-{method}", "seed": seed,
        "model": {"name": "marmousi", "nz": 47, "nx": 144, "spacing": 30.0, "origin": [0.0, 2400.0]},
        "survey": {"n_shots": 13, "shot_spacing": 300.0, "freq": 4.0, "dt": 0.0038, "nt": 500},
        "initial": {"kind": "constant", "value": 1500.0},
        "inversion": {"method": method, "iterations": iterations, "vmin": 1400.0, "vmax": 5600.0,
                      "fix_water": True, "shots_per_iteration": shots_per_iteration},
        "output": {"metrics_every": 10, "checkpoint_every": 10, "progress": False},
    }
    return merge_config(config, extra or {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="pixel,siren,ig")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--shots-per-iteration", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/marmousi-constant")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON",
                        help="extra config field for every run, e.g. inversion.grid_lr=0.01")
    args = parser.parse_args()
    extra: dict = {}
    for item in args.set:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        extra.setdefault(section, {})[name] = json.loads(value)

    rows = []
    for method in args.methods.split(","):
        folder = Path(args.out) / f"{method}-seed{args.seed}"
        config = config_from_dict(protocol(method, args.iterations, args.seed,
                                           args.shots_per_iteration, extra))
        run = RunFolder(folder)
        if run.holds_run():
            # Complete runs are reused; shorter ones are continued (same shot batches and Adam
            # state as one uninterrupted run of --iterations).
            result = resume_inversion(folder, overrides=[f"inversion.iterations={args.iterations}"],
                                      device=args.device, progress=False)
        else:
            result = run_inversion(config, folder, device=args.device, progress=False)
        m = result.metrics
        rows.append((method, m, result.initial_metrics))
        print(f"{method}: SSIM {m['ssim']:.4f} MSE {m['mse']:.4f} MAE {m['mae']:.4f} "
              f"({m['seconds_per_iteration']:.2f} s/it) -> {folder}", flush=True)

    print(f"\n| method | paper name | SSIM (paper) | MSE (paper) | MAE (paper) | s/it | run folder |")
    print("|---|---|---|---|---|---|---|")
    initial = rows[0][2]
    print(f"| initial model | – | {initial['ssim']:.4f} | {initial['mse']:.4f} | {initial['mae']:.4f} | – | – |")
    for method, m, _ in rows:
        paper = PAPER_TABLE4_CONSTANT.get(method)
        fmt = (lambda ours, i: f"{ours:.4f} ({paper[i]:.4f})") if paper else (lambda ours, i: f"{ours:.4f}")
        print(f"| {method} | {PAPER_NAMES.get(method, method)} | {fmt(m['ssim'], 0)} | {fmt(m['mse'], 1)} | "
              f"{fmt(m['mae'], 2)} | {m['seconds_per_iteration']:.2f} | `{Path(args.out) / f'{method}-seed{args.seed}'}` |")


if __name__ == "__main__":
    main()
