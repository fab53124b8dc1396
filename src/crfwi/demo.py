"""The main job (``crfwi demo`` / ``make demo``): conventional FWI and IG-FWI on an embedded model.

No downloads: the true model is the seeded ``faulted`` generator of :mod:`crfwi.models.zoo` on a
1 km × 3 km section. Three runs, each an ordinary run folder below the demo folder (metrics,
history, figures, checkpoint — all there to inspect or resume):

1. conventional FWI (pixel) from a smooth initial model: the method working;
2. conventional FWI from a poor, laterally invariant (linear-in-depth) initial model;
3. IG-FWI (the paper's hybrid) from the same poor model, the same shots and iterations.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .config import config_from_dict, merge_config
from .runner import run_inversion

__all__ = ["DEMO_CONFIG", "DEMO_RUNS", "run_demo"]

# 40 x 120 cells at 25 m, 8 shots, 6 Hz: 9 points per wavelength at the slowest velocity the
# run may reach; one iteration (4 random shots, 400 samples) costs ~0.7 s on 2 CPU cores.
DEMO_CONFIG = {
    "name": "demo",
    "seed": 0,
    "model": {"name": "faulted", "nz": 40, "nx": 120, "spacing": 25.0},
    "survey": {"n_shots": 8, "freq": 6.0, "dt": 0.004, "nt": 400},
    "initial": {"kind": "smooth", "sigma": 300.0},
    "inversion": {"method": "pixel", "iterations": 80, "shots_per_iteration": 4,
                  "fix_water": True},
    "output": {"metrics_every": 10, "checkpoint_every": 25},
}

# (folder name, label, overrides of DEMO_CONFIG)
DEMO_RUNS = [
    ("pixel-smooth", "conventional FWI (pixel), smooth start", {}),
    ("pixel-linear", "conventional FWI (pixel), linear start", {"initial": {"kind": "linear"}}),
    ("ig-linear", "IG-FWI, linear start", {"initial": {"kind": "linear"}, "inversion": {"method": "ig"}}),
]


def _comparison_figure(root: Path, results: list, base: dict) -> Path:
    """True model, each distinct initial model and each run's result on one colour scale."""
    import numpy as np

    from . import plotting
    from .physics.geometry import Grid

    panels = {"true": np.load(results[0][1].folder / "true.npy")}
    for label, result in results:
        initial = np.load(result.folder / "initial.npy")
        if not any(np.array_equal(initial, p) for p in panels.values()):
            panels[f"initial: {label.split(', ')[-1].replace(' start', '')}"] = initial
        panels[label] = np.load(result.folder / "model.npy")
    g = base["model"]
    grid = Grid(g["nz"], g["nx"], g["spacing"])
    return plotting.plot_models(panels, grid, root / "comparison.png", title="crfwi demo")


def run_demo(*, out: str | Path | None = None, device: str = "auto", progress: bool = True,
             runs: list[tuple[str, str, dict]] | None = None, base: dict | None = None) -> int:
    """Run the demo inversions into ``out`` and print their metrics side by side."""
    root = Path(out) if out else Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    results = []
    start = time.perf_counter()
    for folder, label, overrides in runs or DEMO_RUNS:
        config = config_from_dict(merge_config(base or DEMO_CONFIG, overrides))
        print(f"== {label}", flush=True)
        results.append((label, run_inversion(config, root / folder, device=device, progress=progress)))
    wall = time.perf_counter() - start
    comparison = _comparison_figure(root, results, base or DEMO_CONFIG)

    out_stream = sys.stdout
    print(f"\n{'run':40s}{'SSIM':>16s}{'MSE (km/s)^2':>18s}{'MAE (km/s)':>16s}", file=out_stream)
    print(f"{'':40s}{'start -> final':>16s}{'start -> final':>18s}{'start -> final':>16s}", file=out_stream)
    for label, result in results:
        m0, m = result.initial_metrics, result.metrics
        print(f"{label:40s}{m0['ssim']:7.3f} -> {m['ssim']:5.3f}{m0['mse']:9.4f} -> {m['mse']:6.4f}"
              f"{m0['mae']:7.3f} -> {m['mae']:5.3f}", file=out_stream)
    print("\nSSIM in the ADFWI convention (3x3 window, km/s); 'start' is the run's initial model.",
          file=out_stream)
    print(f"figures ({wall:.0f} s in all):", file=out_stream)
    print(f"  {comparison}", file=out_stream)
    for _, result in results:
        for figure in sorted((result.folder / "figures").glob("*.png")):
            print(f"  {figure}", file=out_stream)
    return 0
