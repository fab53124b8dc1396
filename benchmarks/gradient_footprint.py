"""Where the first gradient of a preset points: ∂J/∂m at m0 by depth, in 2-D and in 3-D.

Why (issue 15): on the 3-D Overthrust stand-in with a near-surface low-velocity layer (the
stand-in's default until stop 26, now ``model.options.low_velocity_layer``) the networks fit the
data better than ADFWI and end further from the truth at cpu scale; their models first shift as
a whole (IG-FWI: −150 m/s in 16 iterations on a coarse copy of the preset, BENCHMARKS.md §14).
A network's parameters are shared by all cells, and its kernel's leading mode is nearly
uniform, so a gradient that is
concentrated in a few rows and mostly of one sign moves the whole volume; a pixel model under
Adam scales each cell's step by that cell's own gradient and does not. This script measures the
premise on each preset's cpu scale with the L2 misfit of the runs (crfwi's own loop,
``Inversion.model_gradient``):

* the share of |∂J/∂m| in each tenth of the depth;
* its one-sidedness, Σ ∂J/∂m / Σ |∂J/∂m| (1: every cell wants to move the same way);
* the correlation of −∂J/∂m with the true update m_true − m0, and that update's mean by tenth.

    CRFWI_DATA_DIR=../shared/models OMP_NUM_THREADS=1 python benchmarks/gradient_footprint.py \
        [--presets overthrust overthrust3d] [--shots3d 4] [--out benchmarks/results/gradient_footprint.json]
    # the layer: --presets overthrust3d --set model.options.low_velocity_layer=true \
    #     --out benchmarks/results/gradient_footprint_lvl.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import numpy as np
import torch

from crfwi.config import load_config
from crfwi.experiment import build_experiment
from crfwi.inversion.loop import Inversion
from crfwi.physics.signal import decimate_shots


def spread(n_shots: int, count: int) -> list[int]:
    """``count`` shot indices spread evenly over 0..n_shots−1 (all when count is 0 or ≥ n), by
    the rule of the sparse surveys (:func:`crfwi.physics.signal.decimate_shots`)."""
    if not count or count >= n_shots:
        return list(range(n_shots))
    return decimate_shots(n_shots, count)


def footprint(preset: str, scale: str, shots_wanted: int, overrides: list[str] = ()) -> dict:
    """The measures above for ``preset`` at ``scale`` (``overrides``: config KEY=VALUE strings)."""
    config = load_config(None, [f"preset={preset}", f"scale={scale}", "inversion.method=pixel",
                                *overrides])
    exp = build_experiment(config, device="cpu")
    shots = spread(exp.survey.n_shots, shots_wanted)
    with torch.no_grad():
        observed = exp.solver.simulate(torch.as_tensor(exp.true_model), shots)
    m0 = torch.as_tensor(exp.initial_model, dtype=torch.float32)
    start = time.perf_counter()
    inversion = Inversion(exp.velocity_model(), exp.solver, observed, observed_shots=shots)
    _, grad = inversion.model_gradient(m0, shots)
    g = grad.double().numpy()
    update = np.asarray(exp.true_model, np.float64) - np.asarray(exp.initial_model, np.float64)
    tenths = np.array_split(np.arange(g.shape[0]), 10)
    depth_axes = tuple(range(1, g.ndim))
    row_abs = np.abs(g).sum(axis=depth_axes)
    return {
        "preset": preset, "scale": scale, "grid": list(g.shape), "shots": shots,
        "seconds": round(time.perf_counter() - start, 1),
        "abs_share_by_tenth": [float(row_abs[t].sum() / row_abs.sum()) for t in tenths],
        "one_sidedness": float(g.sum() / np.abs(g).sum()),
        "correlation_with_true_update": float(np.corrcoef(-g.ravel(), update.ravel())[0, 1]),
        "true_update_mean_by_tenth_m_s": [float(update[t].mean()) for t in tenths],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["overthrust", "overthrust3d"])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--shots3d", type=int, default=4,
                        help="3-D shots, spread evenly (a 3-D shot costs ~15 s on one thread)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change every preset's config (e.g. a coarser grid)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gradient_footprint.json"))
    args = parser.parse_args(argv)
    rows = []
    for preset in args.presets:
        wanted = args.shots3d if preset.endswith("3d") else 0
        row = footprint(preset, args.scale, wanted, args.set)
        rows.append(row)
        print(f"{preset}-{args.scale} {row['grid']}, {len(row['shots'])} shots: "
              f"top tenth {row['abs_share_by_tenth'][0]:.0%} of |g|, top three tenths "
              f"{sum(row['abs_share_by_tenth'][:3]):.0%}; one-sidedness {row['one_sidedness']:.2f}; "
              f"corr(-g, m_true - m0) {row['correlation_with_true_update']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": "python benchmarks/gradient_footprint.py "
                                    f"--presets {' '.join(args.presets)} --scale {args.scale} "
                                    f"--shots3d {args.shots3d}"
                                    + "".join(f" --set {o}" for o in args.set), "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
