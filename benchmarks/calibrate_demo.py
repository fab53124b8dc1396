"""Learning-rate / output-scale calibration on the demo problem (cheap: ~2 min per run on 2 cores).

Runs the demo's configuration (crfwi.demo.DEMO_CONFIG) with a chosen initial model and iteration
count, once per variant, and prints start → final metrics. A variant is LABEL:SECTION.KEY=VALUE…

    python benchmarks/calibrate_demo.py --init linear --iterations 150 --out results/calibration \
        pixel:inversion.method=pixel ig-1e-4:inversion.method=ig \
        ig-1e-4-g1e-2:inversion.method=ig:inversion.grid_lr=0.01 \
        ig-1e-3:inversion.method=ig:inversion.lr=0.001 siren-1e-4:inversion.method=siren
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crfwi.config import config_from_dict  # noqa: E402
from crfwi.config import merge_config  # noqa: E402
from crfwi.demo import DEMO_CONFIG  # noqa: E402
from crfwi.runner import run_inversion  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="LABEL:SECTION.KEY=VALUE")
    parser.add_argument("--init", default="linear")
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--out", default="results/calibration")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(f"| run | MSE start → final | SSIM start → final | MAE final | s/it |\n|---|---|---|---|---|")
    for variant in args.variants:
        label, *settings = variant.split(":")
        overrides: dict = {"initial": {"kind": args.init}, "inversion": {"iterations": args.iterations},
                           "output": {"progress": False}}
        for setting in settings:
            key, _, value = setting.partition("=")
            section, _, name = key.partition(".")
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = value
            overrides.setdefault(section, {})[name] = parsed
        config = config_from_dict(merge_config(DEMO_CONFIG, overrides))
        result = run_inversion(config, Path(args.out) / label, device=args.device, progress=False)
        m, m0 = result.metrics, result.initial_metrics
        print(f"| {label} | {m0['mse']:.4f} → {m['mse']:.4f} | {m0['ssim']:.3f} → {m['ssim']:.3f} | "
              f"{m['mae']:.3f} | {m['seconds_per_iteration']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
