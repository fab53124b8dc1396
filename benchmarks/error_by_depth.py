"""Where in depth a run's model error went: RMS of m − m_true by depth band, start against end.

A whole-model number (MSE, nmse, SSIM) hides where a method helped and where it hurt; on the
3-D Overthrust stand-in ADFWI lowers its error below 2 km while raising it where the smooth start
was already close (BENCHMARKS.md §14). For each finished run folder (or a committed summary
folder: config.resolved.toml and model.npy) this rebuilds the true and initial models from the
recorded config and prints the RMS error (m/s) of the initial and the final model in each depth
band, 2-D or 3-D alike (depth is the first axis).

    CRFWI_DATA_DIR=../shared/models python benchmarks/error_by_depth.py \
        benchmarks/results/paper/overthrust3d-cpu/smooth-clean/*-seed0 [--bands 0 500 1000 2000 3000]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import crfwi  # noqa: F401  -- first: sets OMP_WAIT_POLICY before torch loads OpenMP

import numpy as np

from crfwi.config import load_config
from crfwi.experiment import build_experiment


def rms_by_band(error: np.ndarray, depth: np.ndarray, edges: list[float]) -> list[float | None]:
    """RMS of ``error`` over the rows whose depth lies in each (lo, hi] band (the first band
    includes its top); None where the grid has no row in the band."""
    out = []
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        rows = ((depth > lo) | ((depth == lo) & (k == 0))) & (depth <= hi)
        out.append(float(np.sqrt(np.mean(error[rows] ** 2))) if rows.any() else None)
    return out


def run_bands(folder: Path, edges: list[float]) -> dict:
    config = load_config(folder / "config.resolved.toml")
    exp = build_experiment(config, device="cpu")  # the recorded truth and start; no simulation
    if exp.true_model is None:
        raise SystemExit(f"{folder}: a field run without a true model has no model error")
    final = np.load(folder / "model.npy", allow_pickle=False).astype(np.float64)
    true = np.asarray(exp.true_model, np.float64)
    depth = np.arange(true.shape[0]) * exp.grid.dz
    return {"run": str(folder), "method": config.inversion.method,
            "initial": rms_by_band(np.asarray(exp.initial_model, np.float64) - true, depth, edges),
            "final": rms_by_band(final - true, depth, edges)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--bands", nargs="+", type=float, default=[0, 500, 1000, 1500, 2000, 3000],
                        help="band edges in metres (default 0 500 1000 1500 2000 3000)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    edges = sorted(args.bands)
    if len(edges) < 2:
        parser.error("--bands needs at least two edges")
    rows = [run_bands(folder, edges) for folder in args.runs]
    labels = [f"{lo / 1000:g}–{hi / 1000:g} km" for lo, hi in zip(edges[:-1], edges[1:])]
    print("| run | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))

    def cell(a, b):
        return "—" if a is None else f"{a:.0f} → {b:.0f}"

    for row in rows:
        print(f"| {row['method']} | " + " | ".join(cell(a, b) for a, b in
                                                  zip(row["initial"], row["final"])) + " |")
    if args.json:
        args.json.write_text(json.dumps({"bands_m": edges, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
