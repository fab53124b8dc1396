"""Learning-rate / output-scale / budget calibration: one base problem, several variants, start →
final metrics of each (cheap problems: minutes per run on 2 cores).

The base is the demo (crfwi.demo.DEMO_CONFIG) or, with ``--preset``, a preset at ``--scale``;
``--set SECTION.KEY=VALUE`` changes the base for every variant; a variant is
LABEL:SECTION.KEY=VALUE:… . ``--summary FILE`` writes every run's start / final metrics as JSON.

    python benchmarks/calibrate.py --init linear --iterations 150 --out results/calibration \\
        pixel:inversion.method=pixel ig-1e-4:inversion.method=ig \\
        ig-1e-4-g1e-2:inversion.method=ig:inversion.grid_lr=0.01 \\
        ig-1e-3:inversion.method=ig:inversion.lr=0.001 siren-1e-4:inversion.method=siren

Each run's summary row also keeps its MSE and SSIM along the run (``along``, every
``output.metrics_every`` iterations) and the lowest MSE with its iteration, from which a budget is
chosen. Table 2's OpenFWI settings were chosen this way on calibration maps outside the table's sample
(BENCHMARKS.md §13; the command is there).
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
from crfwi.report.sections.convergence import history_series  # noqa: E402
from crfwi.runner import run_inversion  # noqa: E402


def _settings(items: list[str]) -> dict:
    """``SECTION.KEY=VALUE`` strings as nested dicts (values read as JSON when they parse)."""
    out: dict = {}
    for setting in items:
        key, _, value = setting.partition("=")
        if not value or "." not in key:
            raise SystemExit(f"calibrate: {setting!r} is not SECTION.KEY=VALUE")
        section, _, name = key.partition(".")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(section, {})[name] = parsed
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="LABEL:SECTION.KEY=VALUE")
    parser.add_argument("--preset", help="base on this preset instead of the demo")
    parser.add_argument("--scale", default="cpu", help="the preset's scale")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change the base for every variant (repeatable)")
    parser.add_argument("--init", default=None,
                        help="initial.kind (default: linear for the demo, the preset's own)")
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--out", default="results/calibration")
    parser.add_argument("--summary", type=Path, help="write the metrics of every run here (JSON)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    base = {"preset": args.preset, "scale": args.scale} if args.preset else dict(DEMO_CONFIG)
    init = args.init or (None if args.preset else "linear")
    common = merge_config(base, _settings(args.set))
    rows = []
    print("| run | MSE start → final | SSIM start → final | MAE final | s/it |\n|---|---|---|---|---|")
    for variant in args.variants:
        label, *settings = variant.split(":")
        overrides = merge_config({"inversion": {"iterations": args.iterations},
                                  "output": {"progress": False}}, _settings(settings))
        if init:
            overrides = merge_config({"initial": {"kind": init}}, overrides)
        config = config_from_dict(merge_config(common, overrides))
        result = run_inversion(config, Path(args.out) / label, device=args.device, progress=False)
        m, m0 = result.metrics, result.initial_metrics
        # The metrics along the run (every output.metrics_every iterations): a budget is chosen
        # from these the way a rate is chosen from the finals.
        history = Path(args.out) / label / "history.csv"
        along = {key: dict(zip(*(map(int, xs), ys)))
                 for key in ("mse", "ssim") for xs, ys in [history_series(history, key)]}
        lowest = min(along["mse"].items(), key=lambda kv: kv[1], default=(None, None))
        rows.append({"run": label, "settings": settings, "initial": m0, "final": m,
                     "lowest_mse": {"iteration": lowest[0], "mse": lowest[1]}, "along": along})
        print(f"| {label} | {m0['mse']:.4f} → {m['mse']:.4f} | {m0['ssim']:.3f} → {m['ssim']:.3f} | "
              f"{m['mae']:.3f} | {m['seconds_per_iteration']:.2f} | lowest MSE {lowest[1]} at "
              f"{lowest[0]} |", flush=True)
        if args.summary:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            args.summary.write_text(json.dumps({"base": common, "iterations": args.iterations,
                                                "runs": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
