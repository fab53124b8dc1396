"""The main job (``crfwi demo`` / ``make demo``): FWI on an embedded procedural model.

No downloads: the true model is the seeded ``faulted`` generator of :mod:`crfwi.zoo` on a
1 km × 3 km section. Each demo run is one ordinary run folder below the demo folder, so everything
``crfwi invert`` writes (metrics, history, figures, checkpoint) is there to inspect or resume.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .config import config_from_dict
from .runner import run_inversion

__all__ = ["DEMO_CONFIG", "DEMO_RUNS", "run_demo"]

# 40 x 120 cells at 25 m, 8 shots, 6 Hz: 9 points per wavelength at the slowest velocity the
# run may reach, and one iteration (4 random shots) costs ~0.3 s on 2 CPU cores.
DEMO_CONFIG = {
    "name": "demo",
    "seed": 0,
    "model": {"name": "faulted", "nz": 40, "nx": 120, "spacing": 25.0},
    "survey": {"n_shots": 8, "freq": 6.0, "dt": 0.004, "nt": 500},
    "initial": {"kind": "smooth", "sigma": 300.0},
    "inversion": {"method": "pixel", "iterations": 150, "shots_per_iteration": 4,
                  "fix_water": True},
    "output": {"metrics_every": 10, "checkpoint_every": 25},
}

# (folder name, label, overrides of DEMO_CONFIG)
DEMO_RUNS = [
    ("pixel-smooth", "conventional FWI (pixel), smooth start", {}),
]


def _merge(base: dict, overrides: dict) -> dict:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for section, values in overrides.items():
        merged.setdefault(section, {}).update(values)
    return merged


def run_demo(*, out: str | Path | None = None, device: str = "auto", progress: bool = True,
             runs: list[tuple[str, str, dict]] | None = None, base: dict | None = None) -> int:
    """Run the demo inversions into ``out`` and print their metrics side by side."""
    root = Path(out) if out else Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    results = []
    start = time.perf_counter()
    for folder, label, overrides in runs or DEMO_RUNS:
        config = config_from_dict(_merge(base or DEMO_CONFIG, overrides))
        print(f"== {label}", flush=True)
        results.append((label, run_inversion(config, root / folder, device=device, progress=progress)))
    wall = time.perf_counter() - start

    out_stream = sys.stdout
    print(f"\n{'run':44s}{'SSIM':>8s}{'MSE':>9s}{'MAE':>8s}{'PSNR':>8s}", file=out_stream)
    first = results[0][1]
    print(f"{'initial model (' + first.metrics['method'] + ' run)':44s}"
          f"{first.initial_metrics['ssim']:8.3f}{first.initial_metrics['mse']:9.4f}"
          f"{first.initial_metrics['mae']:8.3f}{first.initial_metrics['psnr']:8.2f}", file=out_stream)
    for label, result in results:
        m = result.metrics
        print(f"{label:44s}{m['ssim']:8.3f}{m['mse']:9.4f}{m['mae']:8.3f}{m['psnr']:8.2f}",
              file=out_stream)
    print("\nMSE and MAE in (km/s)^2 and km/s; SSIM in the ADFWI convention (3x3 window, km/s).",
          file=out_stream)
    print(f"figures and run folders ({wall:.0f} s in all):", file=out_stream)
    for _, result in results:
        for figure in sorted((result.folder / "figures").glob("*.png")):
            print(f"  {figure}", file=out_stream)
    return 0
