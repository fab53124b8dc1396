"""Science check of the wave-based NTK (issue 5): the paper's 1-D study (Fig. 5a–c) and the
eigenvalue decay on a 2-D Marmousi crop, against the paper's Observation 2 (PAPER.md §2.3):
conventional FWI decays slowest, then MPE (hash grid), IG between MPE and INR, INR fastest.

    python benchmarks/ntk_study.py [--out benchmarks/results/ntk] [--seeds 10] [--k 20] [--quick]

Needs the Marmousi file ($CRFWI_DATA_DIR, e.g. ../shared/models). Default size, CPU-affordable
(~10 min on 2 shared cores):

* 1-D (crfwi.analysis.ntk1d): the Marmousi trace at x = 5 km, 15 m spacing (201 cells), 8 Hz Ricker,
  dt 1.9 ms, 1000 samples, one surface source and receiver; initial model = the trace smoothed by
  a 150 m Gaussian. (a) ‖Θ‖_F at initialisation for the eq. 5 network, widths 10…10⁵, 10 seeds;
  (b) ‖Θ(τ) − Θ(0)‖_F/‖Θ(0)‖_F during 100 gradient-descent steps (η = 1/λ_max(Θ(0))), widths
  10², 10³, 10⁵; (c) the full non-zero spectrum (201 values) for pixel, siren, hashgrid, lowrank,
  ig at their registered defaults and the eq. 5 network (width 10⁵).
* 2-D (crfwi.ntk_command.run_ntk): Marmousi crop 48 × 96 cells at 20 m from (z, x) = (0, 4 km),
  4 shots, receivers on every cell, 8 Hz, dt 2 ms, 600 samples, smooth initial model; top-20
  eigenvalues of Θ and Θ_m for pixel, siren, hashgrid, lowrank, ig (matrix-free Lanczos).

Writes ``ntk1d.json``, ``fig5a_norm_vs_width.png``, ``fig5b_relative_change.png``,
``fig5c_decay.png``, ``fig5c_decay_without_mean.png``, ``decay_table.csv`` and
``marmousi2d/spectrum.json`` (+ PNGs) into ``--out``, and prints the tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import crfwi  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch's OpenMP starts)
import torch  # noqa: E402
from scipy.ndimage import gaussian_filter1d  # noqa: E402

from crfwi import ntk_command, representations  # noqa: E402
from crfwi.analysis import ntk, ntk1d  # noqa: E402
from crfwi.config import config_from_dict  # noqa: E402
from crfwi.plotting import _new_figure, _save  # noqa: E402

METHODS = ("pixel", "siren", "hashgrid", "lowrank", "ig")
PAPER_ORDER = "pixel (slowest) < hashgrid < ig < siren (fastest); lowrank 'moderate'"
BOUNDS = (1400.0, 5800.0)


def _velocity_model(rep, m0, grid):
    # start="raw": the 1-D study is about Theorem 4.1, whose kernel is random at initialisation
    # *because* m_θ0 = m0 + F_θ0 is a Gaussian process around m0; a centred start would remove
    # that randomness from J_G (crfwi's inversions start centred, BENCHMARKS.md §10).
    return representations.VelocityModel(rep, torch.as_tensor(m0)[:, None], grid, bounds=BOUNDS,
                                         start="raw").double()


def study_1d(out: Path, *, seeds: int, widths_a, widths_b, steps: int, width_c: int) -> dict:
    true, grid = ntk1d.marmousi_trace()
    m0 = gaussian_filter1d(true, 150.0 / grid.dz, mode="nearest")
    solver = ntk1d.Solver1D(grid.nz)
    observed = solver.simulate(torch.as_tensor(true))
    result: dict = {"setup": {"nz": grid.nz, "dz": grid.dz, "nt": solver.nt, "dt": solver.dt, "freq": 8.0,
                              "receivers": "one, at the source (surface)", "initial": "150 m Gaussian",
                              "eq5_output_scale_m_per_s": ntk1d.ShallowNTKNet.output_scale,
                              "bounds": BOUNDS, "trace_x_m": 5000.0}}

    # (a) Frobenius norm at initialisation vs width
    t0 = time.perf_counter()
    rows = []
    for width in widths_a:
        norms, tnorms = [], []
        for seed in range(seeds):
            vm = _velocity_model(ntk1d.ShallowNTKNet(grid, width=width, seed=seed), m0, grid)
            k = ntk1d.wave_ntk_1d(vm, solver)
            norms.append(float(k["kernel"].norm()))
            tnorms.append(float(k["theta_m"].norm()))
        rows.append({"width": width, "kernel_fro_mean": float(np.mean(norms)),
                     "kernel_fro_std": float(np.std(norms)), "theta_m_fro_mean": float(np.mean(tnorms)),
                     "theta_m_fro_std": float(np.std(tnorms))})
        print(f"(a) width {width:>6d}: ‖Θ‖_F = {rows[-1]['kernel_fro_mean']:.3e} ± {rows[-1]['kernel_fro_std']:.2e}"
              f"   ‖Θ_m‖_F = {rows[-1]['theta_m_fro_mean']:.3e} ± {rows[-1]['theta_m_fro_std']:.2e}", flush=True)
    result["a"] = {"rows": rows, "seeds": seeds, "seconds": round(time.perf_counter() - t0, 1),
                   "born_solves": len(widths_a) * seeds * grid.nz}
    fig = _new_figure(5.5, 4.0)
    ax = fig.subplots()
    w = [r["width"] for r in rows]
    for key, label in (("kernel_fro", "‖Θ‖_F (wave-based NTK)"), ("theta_m_fro", "‖Θ_m‖_F (model NTK)")):
        mean = np.array([r[f"{key}_mean"] for r in rows])
        std = np.array([r[f"{key}_std"] for r in rows])
        ax.errorbar(w, mean / mean[-1], yerr=std / mean[-1], capsize=3, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("width n")
    ax.set_ylabel("Frobenius norm / mean at largest width")
    ax.set_title(f"1-D: norm at initialisation ({seeds} seeds, mean ± std)")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, out / "fig5a_norm_vs_width.png", 120)

    # (b) relative change during training
    t0 = time.perf_counter()
    tracks = {}
    for width in widths_b:
        vm = _velocity_model(ntk1d.ShallowNTKNet(grid, width=width, seed=0), m0, grid)
        tracks[width] = ntk1d.train_and_track(vm, solver, observed.double(), steps=steps, every=max(1, steps // 5))
        tr = tracks[width]
        print(f"(b) width {width:>6d}: ΔΘ = {tr['relative_change'][-1]:.3f}, ΔΘ_m = {tr['theta_m_relative_change'][-1]:.2e}, "
              f"loss {tr['loss'][0]:.3e} → {tr['loss'][-1]:.3e}", flush=True)
    result["b"] = {"steps": steps, "optimizer": "gradient descent, lr = 1/λ_max(Θ(0))",
                   "tracks": {str(k): v for k, v in tracks.items()},
                   "seconds": round(time.perf_counter() - t0, 1)}
    fig = _new_figure(5.5, 4.0)
    ax = fig.subplots()
    for width, tr in tracks.items():
        ax.plot(tr["step"], tr["relative_change"], "o-", label=f"Θ, n = {width}")
        ax.plot(tr["step"], tr["theta_m_relative_change"], "x--", label=f"Θ_m, n = {width}")
    ax.set_xlabel("gradient-descent step τ")
    ax.set_ylabel("‖K(τ) − K(0)‖_F / ‖K(0)‖_F")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_title("1-D: kernel change during training")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    _save(fig, out / "fig5b_relative_change.png", 120)

    # (c) decay for the methods
    t0 = time.perf_counter()
    spectra, costs = {}, {}
    entries = [(m, None) for m in METHODS] + [(f"eq5 (n={width_c})", width_c)]
    for name, width in entries:
        start = time.perf_counter()
        torch.manual_seed(0)
        rep = ntk1d.ShallowNTKNet(grid, width=width, seed=0) if width else representations.build(name, grid)
        vm = _velocity_model(rep, m0, grid)
        k = ntk1d.wave_ntk_1d(vm, solver)
        spectra[name] = ntk1d.nonzero_spectrum(k["J_G"], k["theta_m"])
        costs[name] = {"seconds": round(time.perf_counter() - start, 2), "born_solves": grid.nz,
                       "network_vjps": grid.nz if not width else 0}
    result["c"] = {"spectra": {k: v.tolist() for k, v in spectra.items()}, "costs": costs,
                   "summary": {k: ntk.decay_summary(v) for k, v in spectra.items()},
                   "seconds": round(time.perf_counter() - t0, 1)}
    from crfwi.plotting import plot_spectra

    plot_spectra(spectra, out / "fig5c_decay.png", title="1-D: Θ eigenvalues / λ1")
    plot_spectra({k: v[1:] for k, v in spectra.items()}, out / "fig5c_decay_without_mean.png",
                 title="1-D: Θ, leading mode removed (λk / λ2)")
    return result


def ratios(values, ks) -> dict:
    v = np.sort(np.asarray(values))[::-1]
    return {f"l{k}/l2": float(v[k - 1] / v[1]) for k in ks if k <= v.size}


def study_2d(out: Path, *, k: int, quick: bool) -> dict:
    config = config_from_dict({
        "name": "marmousi-crop", "seed": 0,
        "model": {"name": "marmousi", "nz": 24 if quick else 48, "nx": 48 if quick else 96, "spacing": 20.0,
                  "origin": [0.0, 4000.0]},
        "survey": {"n_shots": 2 if quick else 4, "freq": 8.0, "dt": 0.002, "nt": 300 if quick else 600},
        "initial": {"kind": "smooth", "sigma": 200.0},
        "inversion": {"method": "pixel"},
    })
    return ntk_command.run_ntk(config, out, methods=METHODS, k=k, tol=1e-6, device="cpu")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "ntk"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="toy sizes (a smoke test, minutes→seconds)")
    parser.add_argument("--skip-1d", action="store_true")
    parser.add_argument("--skip-2d", action="store_true")
    args = parser.parse_args(argv)
    if not os.environ.get("CRFWI_DATA_DIR"):
        shared = Path(__file__).resolve().parents[2] / "shared" / "models"
        if (shared / "models.json").exists():
            os.environ["CRFWI_DATA_DIR"] = str(shared)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if not args.skip_1d:
        if args.quick:
            res = study_1d(out, seeds=2, widths_a=(10, 100), widths_b=(100,), steps=4, width_c=100)
        else:
            res = study_1d(out, seeds=args.seeds, widths_a=(10, 100, 1000, 10000, 100000),
                           widths_b=(100, 1000, 100000), steps=100, width_c=100000)
        (out / "ntk1d.json").write_text(json.dumps(res, indent=1))
    if not args.skip_2d:
        study_2d(out / "marmousi2d", k=args.k, quick=args.quick)
    # The table is built from the saved results, so a partial rerun (--skip-1d / --skip-2d)
    # keeps the other study's rows.
    table = []
    if (out / "ntk1d.json").is_file():
        res = json.loads((out / "ntk1d.json").read_text())
        for name, vals in res["c"]["spectra"].items():
            s = res["c"]["summary"][name]
            table.append({"study": "1-D", "method": name, "lambda1/lambda2": s["lambda1_over_lambda2"],
                          **ratios(vals, (10, 20, 50, 100)), "slope_without_mean(k=2..201)": s["slope_without_mean"],
                          "seconds": res["c"]["costs"][name]["seconds"],
                          "wave_solves": res["c"]["costs"][name]["born_solves"]})
    if (out / "marmousi2d" / "spectrum.json").is_file():
        payload = json.loads((out / "marmousi2d" / "spectrum.json").read_text())
        k = payload["k"]
        for name, recs in payload["methods"].items():
            r = recs[0]
            table.append({"study": "2-D", "method": name, "lambda1/lambda2": r["decay"]["lambda1_over_lambda2"],
                          **ratios(r["eigenvalues"], (10, 20)),
                          f"slope_without_mean(k=2..{k})": r["decay"]["slope_without_mean"],
                          "seconds": r["info"]["seconds"], "wave_solves": r["info"]["wave_solves"],
                          "space": r["info"]["space"], "matvecs": r["info"]["matvecs"]})
    keys = []
    for row in table:
        keys += [k for k in row if k not in keys]
    with open(out / "decay_table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(table)
    print(f"\npaper's Observation 2: {PAPER_ORDER}")
    for row in table:
        print("  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
